//! `/api/admin/`: role checks with the structured 403, tenant isolation, deactivation
//! that bites at once, and a tamper-evident audit log of every change and read.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::{
    helpers::{error_code, spawn_app, Client},
    sockets::Socket,
};

async fn call(client: &mut Client, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = client.request(method, path);
    if let Some(body) = body {
        req = req.json(&body);
    }
    client.send(req).await
}

#[sqlx::test]
async fn every_admin_endpoint_is_for_admins_of_the_same_tenant_only(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let mut writer = app.member(&acme, "Will", Role::Write).await;
    let mut reader = app.member(&acme, "Rita", Role::Read).await;
    let globex = app.tenant("globex").await;
    let mut foreign_admin = app.member(&globex, "Olga", Role::Admin).await;
    let conversation = admin.start_with(writer.user_id).await;
    let user = writer.user_id;

    let endpoints: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/admin/users/".into(), None),
        (
            Method::POST,
            "/api/admin/users/".into(),
            Some(json!({"email": "new@acme.test", "name": "New", "password": "long enough", "role": "read"})),
        ),
        (Method::GET, format!("/api/admin/users/{user}/"), None),
        (
            Method::PATCH,
            format!("/api/admin/users/{user}/"),
            Some(json!({"name": "Will Smith"})),
        ),
        (Method::GET, "/api/admin/attachments/".into(), None),
        (Method::GET, "/api/admin/audit-log/".into(), None),
        (Method::GET, "/api/admin/settings/".into(), None),
        (
            Method::PUT,
            "/api/admin/settings/".into(),
            Some(json!({"widget_title": "Support"})),
        ),
        (Method::GET, "/api/admin/analytics/".into(), None),
        (Method::GET, "/api/admin/conversations/".into(), None),
        (
            Method::GET,
            format!("/api/admin/conversations/{conversation}/messages/"),
            None,
        ),
    ];
    for (method, path, body) in &endpoints {
        for (client, role) in [(&mut writer, "write"), (&mut reader, "read")] {
            let (status, resp) = call(client, method.clone(), path, body.clone()).await;
            assert_eq!(
                error_code(status, &resp, StatusCode::FORBIDDEN),
                "admin_permission_required",
                "{method} {path}"
            );
            assert_eq!(resp["required_permission"], "admin");
            assert_eq!(resp["user_permission"], role);
        }
        let (status, resp) = call(&mut admin, method.clone(), path, body.clone()).await;
        assert!(status.is_success(), "{method} {path}: {status} {resp}");
    }
    // Another tenant's ids look missing, and its lists hold nothing of Acme.
    for (method, path, body) in [
        (Method::GET, format!("/api/admin/users/{user}/"), None),
        (
            Method::PATCH,
            format!("/api/admin/users/{user}/"),
            Some(json!({"role": "read"})),
        ),
        (Method::DELETE, format!("/api/admin/users/{user}/"), None),
        (
            Method::GET,
            format!("/api/admin/conversations/{conversation}/messages/"),
            None,
        ),
    ] {
        let (status, resp) = call(&mut foreign_admin, method.clone(), &path, body).await;
        assert_eq!(
            error_code(status, &resp, StatusCode::NOT_FOUND),
            "not_found",
            "{method} {path}"
        );
    }
    let (_, users) = foreign_admin.get("/api/admin/users/").await;
    assert_eq!(users.as_array().unwrap().len(), 1);
    let (_, conversations) = foreign_admin.get("/api/admin/conversations/").await;
    assert_eq!(conversations, json!([]));
    let (_, writer_now) = admin.get(&format!("/api/admin/users/{user}/")).await;
    assert_eq!(
        (writer_now["name"].clone(), writer_now["role"].clone()),
        (json!("Will Smith"), json!("write"))
    );
}

#[sqlx::test]
async fn deactivation_ends_sessions_tokens_and_sockets_at_once(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let conversation = admin.start_with(bruno.user_id).await;
    bruno.say(&conversation, "my history stays").await;
    let (_, token) = bruno.post("/api/auth/tokens/", json!({"name": "bot"})).await;
    let mut socket = bruno.socket().await;
    let mut token_socket = Socket::open(&app.base, "", None, token["token"].as_str()).await;

    let (status, _) = admin.delete(&format!("/api/admin/users/{}/", bruno.user_id)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(socket.closed().await, Some(CloseCode::from(4401)));
    assert_eq!(token_socket.closed().await, Some(CloseCode::from(4401)));
    let (status, _) = bruno.get("/api/auth/me/").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the session is dead");
    let mut bot = app.anonymous();
    bot.bearer = token["token"].as_str().map(String::from);
    assert_eq!(
        bot.get("/api/auth/me/").await.0,
        StatusCode::UNAUTHORIZED,
        "the token is revoked"
    );
    let (_, presence) = admin.get("/api/chat/conversations/presence/").await;
    assert!(presence
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["id"] != bruno.user_id.to_string()));
    assert_eq!(
        admin.messages(&conversation, "").await[0]["content"],
        "my history stays"
    );
    let (_, listed) = admin.get(&format!("/api/admin/users/{}/", bruno.user_id)).await;
    assert_eq!(listed["is_active"], false);

    let (status, body) = admin.delete(&format!("/api/admin/users/{}/", admin.user_id)).await;
    assert_eq!(
        error_code(status, &body, StatusCode::CONFLICT),
        "self_lockout",
        "no locking yourself out"
    );
}

#[sqlx::test]
async fn settings_are_validated_and_take_effect(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let (_, defaults) = admin.get("/api/admin/settings/").await;
    assert_eq!(defaults["max_upload_bytes"], 10 * 1024 * 1024);
    assert_eq!(defaults["allowed_types"].as_array().unwrap().len(), 15);

    for (bad, field) in [
        (json!({"max_upload_bytes": 20 * 1024 * 1024}), "max_upload_bytes"),
        (json!({"allowed_types": ["application/x-msdownload"]}), "allowed_types"),
        (json!({"widget_color": "red"}), "widget_color"),
        (json!({"widget_title": ""}), "widget_title"),
    ] {
        let req = admin.request(Method::PUT, "/api/admin/settings/").json(&bad);
        let (status, body) = admin.send(req).await;
        assert_eq!(
            error_code(status, &body, StatusCode::BAD_REQUEST),
            "validation_error",
            "{bad}"
        );
        assert_eq!(body["field"], field);
    }
    let update = json!({"max_upload_bytes": 2048, "allowed_types": ["text/plain", "image/png"], "widget_color": "#0F766E", "widget_title": "Support"});
    let req = admin.request(Method::PUT, "/api/admin/settings/").json(&update);
    let (status, saved) = admin.send(req).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["allowed_types"], json!(["image/png", "text/plain"]));
    let (_, analytics) = admin.get("/api/admin/analytics/").await;
    assert_eq!(analytics["users"], 1);
    assert_eq!(analytics["messages_per_day"].as_array().unwrap().len(), 30);
}

#[sqlx::test]
async fn every_change_and_compliance_read_is_audited_in_a_verifiable_chain(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let acme = app.tenant("acme").await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let mut writer = app.member(&acme, "Will", Role::Write).await;
    let conversation = writer.start_with(admin.user_id).await;

    let (_, created) = admin
        .post(
            "/api/admin/users/",
            json!({"email": "x@acme.test", "name": "X", "password": "long enough", "role": "read"}),
        )
        .await;
    let x = created["id"].as_str().unwrap().to_string();
    let req = admin
        .request(Method::PATCH, &format!("/api/admin/users/{x}/"))
        .json(&json!({"role": "write"}));
    admin.send(req).await;
    admin.delete(&format!("/api/admin/users/{x}/")).await;
    let req = admin
        .request(Method::PUT, "/api/admin/settings/")
        .json(&json!({"widget_title": "Help"}));
    admin.send(req).await;
    admin
        .get(&format!("/api/admin/conversations/{conversation}/messages/"))
        .await;
    writer.get("/api/admin/users/").await;

    let (_, log) = admin.get("/api/admin/audit-log/?limit=200").await;
    let actions: Vec<&str> = log["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "user.create",
        "user.update",
        "user.deactivate",
        "settings.update",
        "conversation.read",
        "admin.denied",
    ] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    let denied = log["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "admin.denied")
        .unwrap();
    assert_eq!(denied["actor"], writer.user_id.to_string());
    assert!(denied["ip"].as_str().unwrap().starts_with("127."));
    let (_, filtered) = admin.get("/api/admin/audit-log/?action=user.update").await;
    assert_eq!(filtered["count"], 1);
    assert_eq!(
        filtered["results"][0]["details"]["role"],
        json!({"from": "read", "to": "write"})
    );

    // The database refuses to rewrite history.
    let refused = sqlx::query("UPDATE audit_log SET action = 'nothing'")
        .execute(&pool)
        .await;
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    assert!(sqlx::query("DELETE FROM audit_log").execute(&pool).await.is_err());

    let verify = |pool: &PgPool| crate::cli::tenantchat(pool, &["audit", "verify", "--tenant", "acme"]);
    let clean = verify(&pool);
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stderr));
    assert!(String::from_utf8_lossy(&clean.stdout).contains("chain intact"));

    // A superuser edits a row behind the trigger's back: verify names that row.
    let victim: i64 = sqlx::query_scalar("SELECT id FROM audit_log WHERE action = 'user.update'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET details = '{\"role\": \"nothing to see\"}' WHERE id = $1")
        .bind(victim)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let broken = verify(&pool);
    assert!(!broken.status.success());
    let message = String::from_utf8_lossy(&broken.stderr).to_string();
    assert!(message.contains(&format!("row {victim} ")), "{message}");
}

#[sqlx::test]
async fn retention_removes_old_messages_and_their_files(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let acme = app.tenant("acme").await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = admin.start_with(bruno.user_id).await;
    let form = reqwest::multipart::Form::new().part(
        "attachments",
        reqwest::multipart::Part::bytes(b"old notes".to_vec())
            .file_name("old.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let req = admin
        .request(Method::POST, &format!("/api/chat/conversations/{id}/messages/"))
        .multipart(form);
    let (_, old) = admin.send(req).await;
    admin.say(&id, "recent").await;
    sqlx::query("UPDATE messages SET created_at = now() - interval '3 days' WHERE id = $1")
        .bind(uuid::Uuid::parse_str(old["id"].as_str().unwrap()).unwrap())
        .execute(&pool)
        .await
        .unwrap();
    let req = admin
        .request(Method::PUT, "/api/admin/settings/")
        .json(&json!({"retention_days": 2}));
    let (status, saved) = admin.send(req).await;
    assert_eq!((status, saved["retention_days"].clone()), (StatusCode::OK, json!(2)));

    let media_root = app.state.as_ref().unwrap().config.media_root.clone();
    let stored: String = sqlx::query_scalar("SELECT storage_path FROM attachments")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(media_root.join(&stored).is_file());
    let removed = tenantchat::chat::retention::purge(&pool, &media_root).await.unwrap();
    assert_eq!(removed, 1);
    let left: Vec<String> = admin
        .messages(&id, "")
        .await
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["recent"]);
    assert!(!media_root.join(&stored).exists(), "the file went with its message");
    let (_, log) = admin.get("/api/admin/audit-log/?action=retention.purge").await;
    assert_eq!(log["results"][0]["details"]["messages"], 1);
    assert_eq!(admin.conversation(&id).await["last_message"]["content"], "recent");
}
