//! The operator's command line, run as the real binary against the test's database.

use std::process::{Command, Output};

use sqlx::PgPool;

pub fn tenantchat(pool: &PgPool, args: &[&str]) -> Output {
    tenantchat_with_env(pool, args, &[])
}

/// `tenantchat` with these environment variables besides the database's.
pub fn tenantchat_with_env(pool: &PgPool, args: &[&str], env: &[(&str, String)]) -> Output {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let database = pool.connect_options().get_database().unwrap().to_string();
    let mut url = url_without_database(&base);
    url.push_str(&database);
    Command::new(env!("CARGO_BIN_EXE_tenantchat"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(name, value)| (name, value)))
        .output()
        .unwrap()
}

pub(crate) fn url_without_database(url: &str) -> String {
    let (before_query, _) = url.split_once('?').unwrap_or((url, ""));
    let cut = before_query.rfind('/').unwrap();
    before_query[..=cut].to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).trim().to_string()
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn tenant_and_user_create_print_ids_and_refuse_bad_input_with_exit_2(pool: PgPool) {
    let out = tenantchat(&pool, &["tenant", "create", "--slug", "acme", "--name", "Acme Inc"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let tenant_id: uuid::Uuid = stdout(&out).parse().expect("prints the tenant id");

    let user = [
        "user",
        "create",
        "--tenant",
        "acme",
        "--email",
        "ana@acme.test",
        "--name",
        "Ana",
        "--password",
        "s3cret-enough",
        "--role",
        "admin",
    ];
    let out = tenantchat(&pool, &user);
    assert!(out.status.success(), "{}", stderr(&out));
    let user_id: uuid::Uuid = stdout(&out).parse().expect("prints the user id");
    let row: (uuid::Uuid, String) = sqlx::query_as("SELECT tenant_id, role FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(row, (tenant_id, "admin".to_string()));

    let refused: [&[&str]; 6] = [
        &[
            "user",
            "create",
            "--tenant",
            "acme",
            "--email",
            "ANA@acme.test",
            "--name",
            "Dup",
            "--password",
            "s3cret-enough",
            "--role",
            "write",
        ],
        &[
            "user",
            "create",
            "--tenant",
            "nope",
            "--email",
            "x@acme.test",
            "--name",
            "X",
            "--password",
            "s3cret-enough",
            "--role",
            "write",
        ],
        &[
            "user",
            "create",
            "--tenant",
            "acme",
            "--email",
            "y@acme.test",
            "--name",
            "Y",
            "--password",
            "s3cret-enough",
            "--role",
            "owner",
        ],
        &[
            "user",
            "create",
            "--tenant",
            "acme",
            "--email",
            "z@acme.test",
            "--name",
            "Z",
            "--password",
            "short",
            "--role",
            "write",
        ],
        &["tenant", "create", "--slug", "acme", "--name", "Again"],
        &["tenant", "create", "--slug", "Bad Slug", "--name", "X"],
    ];
    for args in refused {
        let out = tenantchat(&pool, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty(), "{args:?} explains itself on stderr");
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
    assert_eq!(count(&pool, "users").await, 1, "nothing half-written");
    assert_eq!(count(&pool, "tenants").await, 1);
}

#[sqlx::test]
async fn demo_is_idempotent(pool: PgPool) {
    let first = tenantchat(&pool, &["demo"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stdout(&first).contains("ana@demo.test"), "prints how to log in");
    let counts = (
        count(&pool, "users").await,
        count(&pool, "conversations").await,
        count(&pool, "messages").await,
    );
    assert_eq!(counts.0, 4);
    assert!(counts.1 >= 2 && counts.2 >= 2);
    // The support desk is there to try: an agent, canned replies, a conversation waiting.
    assert!(stdout(&first).contains("diego@demo.test"), "names the agent");
    let desk: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM users WHERE is_agent),
                (SELECT count(*) FROM support_conversations WHERE status = 'open'),
                (SELECT jsonb_array_length(settings->'canned_replies')::bigint FROM tenants)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(desk, (1, 1, 3));

    let second = tenantchat(&pool, &["demo"]);
    assert!(second.status.success(), "{}", stderr(&second));
    let again = (
        count(&pool, "users").await,
        count(&pool, "conversations").await,
        count(&pool, "messages").await,
    );
    assert_eq!(again, counts);
}

/// `tenantchat serve` on a free port against the test's database and Redis, with the
/// given log level and further environment; waits until it answers.
pub async fn spawn_binary(pool: &PgPool, log_level: &str, env: &[(&str, &str)]) -> (tokio::process::Child, String) {
    let (server, base) = start_binary(pool, log_level, env, std::process::Stdio::inherit());
    wait_until_up(&base).await;
    (server, base)
}

/// `spawn_binary` with the server's log captured: the task's output once the server has
/// stopped. The log is read as it comes, from the start: a pipe nobody reads stops the
/// server once it is full, and at debug level the start-up alone fills it.
pub async fn spawn_binary_logging(
    pool: &PgPool,
    log_level: &str,
    env: &[(&str, &str)],
) -> (tokio::process::Child, String, tokio::task::JoinHandle<String>) {
    use tokio::io::AsyncReadExt;

    let (mut server, base) = start_binary(pool, log_level, env, std::process::Stdio::piped());
    let mut stderr = server.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut logs = String::new();
        stderr.read_to_string(&mut logs).await.unwrap();
        logs
    });
    wait_until_up(&base).await;
    (server, base, logs)
}

fn start_binary(
    pool: &PgPool,
    log_level: &str,
    env: &[(&str, &str)],
    stderr: std::process::Stdio,
) -> (tokio::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let database = pool.connect_options().get_database().unwrap().to_string();
    let server = tokio::process::Command::new(env!("CARGO_BIN_EXE_tenantchat"))
        .arg("serve")
        .env(
            "DATABASE_URL",
            url_without_database(&std::env::var("DATABASE_URL").unwrap()) + &database,
        )
        .env("REDIS_URL", crate::helpers::redis_url())
        .env("REDIS_PREFIX", format!("test-{}", uuid::Uuid::new_v4()))
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", log_level)
        .envs(env.iter().copied())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    (server, base)
}

async fn wait_until_up(base: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while reqwest::get(format!("{base}/api/openapi.json")).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Even at debug level the logs hold no message text, password, cookie or token.
#[sqlx::test]
async fn logs_never_contain_secrets_or_message_bodies(pool: PgPool) {
    use tenantchat::domain::Role;

    let (mut server, base, logs) = spawn_binary_logging(&pool, "debug", &[]).await;
    let app = crate::helpers::TestApp::external(&base, pool);
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let secret_text = "the-launch-code-is-0451";
    ana.say(&id, secret_text).await;
    let (_, token) = ana.post("/api/auth/tokens/", serde_json::json!({"name": "bot"})).await;
    let token = token["token"].as_str().unwrap().to_string();
    let mut socket = bruno.socket().await;
    socket.send_json(serde_json::json!({"type": "ping"})).await;
    socket.expect("pong").await;
    let session = ana.cookie_header();
    let session = session
        .split("sessionid=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();

    server.start_kill().unwrap();
    let logs = logs.await.unwrap();
    assert!(logs.contains("DEBUG"), "debug logging was on");
    for secret in [
        secret_text,
        crate::helpers::PASSWORD,
        &token,
        &session,
        ana.csrf.as_deref().unwrap(),
    ] {
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
    }
}

/// The real binary, as an operator runs it: `serve` on the multi-threaded runtime with
/// the Redis channel layer delivers events, and SIGTERM closes sockets with 1012.
#[sqlx::test]
async fn serve_delivers_events_through_redis_and_closes_sockets_with_1012_on_sigterm(pool: PgPool) {
    use tenantchat::domain::Role;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    let (mut server, base) = spawn_binary(&pool, "warn", &[]).await;
    let app = crate::helpers::TestApp::external(&base, pool);
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let mut socket = bruno.socket().await;
    ana.say(&id, "through the real binary").await;
    assert_eq!(
        socket.expect("message_created").await["message"]["content"],
        "through the real binary"
    );

    let pid = server.id().unwrap().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert_eq!(socket.closed().await, Some(CloseCode::Restart));
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), server.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}
