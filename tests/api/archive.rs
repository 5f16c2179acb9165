//! `tenantchat tenant export` and `tenant import`: a tenant with every kind of data
//! survives the trip through an archive into an empty database, as its users see it.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::{Connection, PgPool};
use tenantchat::domain::Role;
use uuid::Uuid;

use crate::{
    attachments::{download, image, media_root, upload},
    cli::url_without_database,
    groups::group,
    helpers::{spawn_app, spawn_configured, Client, TestApp},
};

/// The binary against `database` on the test's server, with `media` as MEDIA_ROOT.
fn tenantchat(database: &str, media: &Path, args: &[&str]) -> Output {
    let base = url_without_database(&std::env::var("DATABASE_URL").expect("DATABASE_URL"));
    Command::new(env!("CARGO_BIN_EXE_tenantchat"))
        .args(args)
        .env("DATABASE_URL", format!("{base}{database}"))
        .env("MEDIA_ROOT", media)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn succeeded(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn database_of(pool: &PgPool) -> String {
    pool.connect_options().get_database().unwrap().to_string()
}

/// An empty database beside the test's own (dropped by `drop_database`).
async fn empty_database(pool: &PgPool) -> (String, PgPool) {
    let name = format!("tc_import_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(pool)
        .await
        .unwrap();
    let base = url_without_database(&std::env::var("DATABASE_URL").unwrap());
    let other = PgPool::connect(&format!("{base}{name}")).await.unwrap();
    (name, other)
}

async fn drop_database(pool: &PgPool, name: &str, other: PgPool) {
    other.close().await;
    let base = url_without_database(&std::env::var("DATABASE_URL").unwrap());
    let mut admin = sqlx::PgConnection::connect(&format!("{base}{}", database_of(pool)))
        .await
        .unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
}

/// Everything the three users can see, in a fixed order of requests (fetching history
/// moves delivery marks, so both apps are asked the same things in the same order).
/// Presence (`is_online`, `last_seen`) is left out: it is about now, not the data.
async fn views(users: &mut [Client]) -> Value {
    let mut all = Vec::new();
    for user in users.iter_mut() {
        let (_, me) = user.get("/api/auth/me/").await;
        let (_, conversations) = user.get("/api/chat/conversations/?archived=true").await;
        let mut threads = Vec::new();
        for conversation in conversations.as_array().unwrap() {
            let id = conversation["id"].as_str().unwrap();
            let history = user.messages(id, "?limit=200").await;
            let (_, members) = user.get(&format!("/api/chat/conversations/{id}/participants/")).await;
            let mut files = Vec::new();
            for message in &history {
                for attachment in message["attachments"].as_array().unwrap() {
                    let response = download(user, attachment["url"].as_str().unwrap()).await;
                    assert_eq!(response.status(), StatusCode::OK);
                    files.push(hex_digest(&response.bytes().await.unwrap()));
                }
            }
            threads.push(json!({"history": history, "members": members, "files": files}));
        }
        let (_, mentions) = user.get("/api/chat/mentions/").await;
        let (_, inbox) = user.get("/api/chat/support/inbox/?status=open").await;
        all.push(
            json!({"me": me, "conversations": conversations, "threads": threads, "mentions": mentions,
                        "support_inbox": inbox}),
        );
    }
    let (_, users_list) = users[0].get("/api/admin/users/").await;
    all.push(users_list);
    let mut all = Value::Array(all);
    forget_presence(&mut all);
    all
}

fn hex_digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

fn forget_presence(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("is_online");
            map.remove("last_seen");
            map.values_mut().for_each(forget_presence);
        }
        Value::Array(items) => items.iter_mut().for_each(forget_presence),
        _ => {}
    }
}

async fn log_in_all(app: &TestApp, tenant: &crate::helpers::Tenant, users: &[(&str, Uuid)]) -> Vec<Client> {
    let mut clients = Vec::new();
    for (name, id) in users {
        clients.push(app.login(tenant, name, *id).await);
    }
    clients
}

#[sqlx::test]
async fn a_tenant_exported_and_imported_into_an_empty_database_looks_the_same(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let acme = app.tenant("acme").await;
    let other = app.tenant("globex").await;
    app.member(&other, "Gus", Role::Write).await; // not in the archive
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.user(&acme, "Carla", Role::Write).await;

    // A 1-to-1 with an edit, a reply, a reaction and files; a group with a mention.
    let direct = ana.start_with(bruno.user_id).await;
    let question = ana.say(&direct, "Is the checklist final?").await;
    let id = question["id"].as_str().unwrap();
    let (status, _) = ana
        .send(
            ana.request(
                reqwest::Method::PATCH,
                &format!("/api/chat/conversations/{direct}/messages/{id}/"),
            )
            .json(&json!({"content": "Is the checklist final now?"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = bruno
        .post(
            &format!("/api/chat/conversations/{direct}/messages/"),
            json!({"content": "Yes", "reply_to": id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let react = bruno.request(
        reqwest::Method::PUT,
        &format!("/api/chat/conversations/{direct}/messages/{id}/reactions/👍/"),
    );
    assert!(bruno.send(react).await.0.is_success());
    let files = vec![
        (
            "plan.png".to_string(),
            image(image::ImageFormat::Png, 1000, 500),
            "image/png".to_string(),
        ),
        (
            "data.csv".to_string(),
            b"name,qty\napples,3\n".to_vec(),
            "text/csv".to_string(),
        ),
    ];
    let (status, body) = upload(&mut ana, &direct, "see attached", files).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let launch = group(&mut ana, &[bruno.user_id, carla], json!({"title": "Launch"})).await;
    let launch = launch["id"].as_str().unwrap();
    let (status, _) = bruno
        .post(
            &format!("/api/chat/conversations/{launch}/messages/"),
            json!({"content": "@Carla can you check?", "mentions": [carla]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    ana.patch(&format!("/api/chat/conversations/{launch}/mute/")).await;
    // A support conversation: Bruno is an agent, Carla asks for help.
    let (status, body) = ana
        .send(
            ana.request(reqwest::Method::PATCH, &format!("/api/admin/users/{}/", bruno.user_id))
                .json(&json!({"is_agent": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut carla_client = app.login(&acme, "Carla", carla).await;
    let (status, body) = carla_client.post("/api/chat/support/", json!({})).await;
    assert!(status.is_success(), "{status} {body}");
    ana.post("/api/admin/widget-secret/", json!({})).await; // an audited act

    let dir = tempfile_dir();
    let archive = dir.join("acme.jsonl");
    let archive_arg = archive.to_str().unwrap();
    let media = media_root(&app);
    let exported = succeeded(&tenantchat(
        &database_of(&pool),
        &media,
        &["tenant", "export", "--slug", "acme", "--out", archive_arg],
    ));
    assert!(exported.contains("3 files (0 missing)"), "{exported}");
    let text = std::fs::read_to_string(&archive).unwrap();
    assert!(
        !text.contains("globex") && !text.contains("Gus"),
        "only the tenant's rows"
    );
    for record in [
        "tenant",
        "user",
        "conversation",
        "member",
        "support_conversation",
        "message",
        "message_edit",
        "mention",
        "reaction",
        "attachment",
        "audit",
    ] {
        assert!(text.contains(&format!(r#""type":"{record}""#)), "a {record} record");
    }
    // Running it again replaces the archive whole.
    succeeded(&tenantchat(
        &database_of(&pool),
        &media,
        &["tenant", "export", "--slug", "acme", "--out", archive_arg],
    ));
    assert_eq!(
        std::fs::read_to_string(&archive).unwrap().lines().count(),
        text.lines().count()
    );

    let (name, imported_pool) = empty_database(&pool).await;
    tenantchat::migrate(&imported_pool).await.unwrap();
    let media2 = dir.join("media2");
    let imported = succeeded(&tenantchat(&name, &media2, &["tenant", "import", "--in", archive_arg]));
    assert!(imported.starts_with("imported acme:"), "{imported}");
    let again = tenantchat(&name, &media2, &["tenant", "import", "--in", archive_arg]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let verified = succeeded(&tenantchat(&name, &media2, &["audit", "verify", "--tenant", "acme"]));
    assert!(verified.contains("chain intact"), "{verified}");

    let people = [("Ana", ana.user_id), ("Bruno", bruno.user_id), ("Carla", carla)];
    let before = views(&mut log_in_all(&app, &acme, &people).await).await;
    let copy = spawn_configured(imported_pool.clone(), |c| c.media_root = media2.clone()).await;
    let acme_copy = crate::helpers::Tenant {
        id: acme.id,
        slug: acme.slug.clone(),
    };
    let after = views(&mut log_in_all(&copy, &acme_copy, &people).await).await;
    let seen = before.to_string();
    for expected in [
        "Is the checklist final now?",
        "👍",
        "@Carla can you check?",
        "plan.png",
        "data.csv",
    ] {
        assert!(seen.contains(expected), "the views show {expected}");
    }
    assert_eq!(
        before, after,
        "the same history, members, reactions, mentions and file bytes"
    );

    drop(copy);
    drop_database(&pool, &name, imported_pool).await;
    std::fs::remove_dir_all(dir).ok();
}

#[sqlx::test]
async fn a_broken_archive_imports_nothing_and_says_which_line(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let direct = ana.start_with(bruno).await;
    ana.say(&direct, "hello").await;
    let dir = tempfile_dir();
    let archive = dir.join("acme.jsonl");
    let media = media_root(&app);
    succeeded(&tenantchat(
        &database_of(&pool),
        &media,
        &["tenant", "export", "--slug", "acme", "--out", archive.to_str().unwrap()],
    ));

    // The last line (a message) is cut short, as by a full disk.
    let text = std::fs::read_to_string(&archive).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = format!(
        "{}\n{}",
        lines[..lines.len() - 1].join("\n"),
        &lines[lines.len() - 1][..20]
    );
    let broken = dir.join("broken.jsonl");
    std::fs::write(&broken, cut).unwrap();
    let (name, imported_pool) = empty_database(&pool).await;
    tenantchat::migrate(&imported_pool).await.unwrap();
    let out = tenantchat(
        &name,
        &dir.join("m"),
        &["tenant", "import", "--in", broken.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("line {}", lines.len())), "{stderr}");
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(&imported_pool)
        .await
        .unwrap();
    assert_eq!(tenants, 0, "one transaction: nothing was written");
    drop_database(&pool, &name, imported_pool).await;
    std::fs::remove_dir_all(dir).ok();
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tenantchat-archive-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[sqlx::test]
async fn every_table_of_a_tenant_is_in_the_archive(pool: PgPool) {
    // A migration that adds a tenant's table must add it to `archive::TABLES` too (in
    // an order import can insert in), or the export would silently leave it behind.
    let with_tenant: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND column_name = 'tenant_id' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let archived: Vec<&str> = tenantchat::archive::TABLES.iter().map(|t| t.table).collect();
    for table in with_tenant {
        assert!(archived.contains(&table.as_str()), "{table} is not in archive::TABLES");
    }
}
