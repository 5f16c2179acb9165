//! Content safety: a tenant's forbidden topics refuse messages (REST, socket, edits) and
//! its PII mode redacts personal data before anyone sees it, or flags it for admins.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::helpers::{error_code, spawn_app, spawn_node, Client, Layer};

async fn put_settings(admin: &mut Client, settings: Value) -> (StatusCode, Value) {
    let req = admin.request(Method::PUT, "/api/admin/settings/").json(&settings);
    admin.send(req).await
}

async fn post_message(client: &mut Client, conversation: &str, content: &str) -> (StatusCode, Value) {
    client
        .post(
            &format!("/api/chat/conversations/{conversation}/messages/"),
            json!({"content": content}),
        )
        .await
}

async fn edit_message(client: &mut Client, conversation: &str, id: &Value, content: &str) -> (StatusCode, Value) {
    let path = format!(
        "/api/chat/conversations/{conversation}/messages/{}/",
        id.as_str().unwrap()
    );
    let req = client.request(Method::PATCH, &path).json(&json!({"content": content}));
    client.send(req).await
}

#[sqlx::test]
async fn forbidden_topics_and_pii_mode_are_validated_settings(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let (_, defaults) = admin.get("/api/admin/settings/").await;
    assert_eq!(defaults["forbidden_topics"], json!([]));
    assert_eq!(defaults["pii_mode"], "off");

    let too_many: Vec<String> = (0..201).map(|i| format!("topic {i}")).collect();
    for (bad, field) in [
        (json!({"forbidden_topics": too_many}), "forbidden_topics"),
        (json!({"forbidden_topics": ["x".repeat(101)]}), "forbidden_topics"),
        (json!({"forbidden_topics": ["   "]}), "forbidden_topics"),
        (json!({"forbidden_topics": ["?!"]}), "forbidden_topics"),
        (json!({"pii_mode": "shout"}), "pii_mode"),
    ] {
        let (status, body) = put_settings(&mut admin, bad.clone()).await;
        assert_eq!(
            error_code(status, &body, StatusCode::BAD_REQUEST),
            "validation_error",
            "{bad}"
        );
        assert_eq!(body["field"], field, "{bad}");
    }
    let (status, saved) = put_settings(
        &mut admin,
        json!({"forbidden_topics": [" Salary review ", "salary REVIEW", "café"], "pii_mode": "redact"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        saved["forbidden_topics"],
        json!(["Salary review", "café"]),
        "trimmed, duplicates dropped"
    );
    let (_, read) = admin.get("/api/admin/settings/").await;
    assert_eq!(
        (&read["forbidden_topics"], &read["pii_mode"]),
        (&saved["forbidden_topics"], &json!("redact"))
    );
}

#[sqlx::test]
async fn a_forbidden_topic_is_refused_over_rest_the_socket_and_edits_and_nothing_is_stored(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    // Sent before the rule exists: this node has the old rules from now on.
    let before = ana.say(&id, "Café at ten?").await;

    put_settings(&mut admin, json!({"forbidden_topics": ["cafe", "salary review"]})).await;
    let (status, body) = post_message(&mut ana, &id, "Another CAFÉ, then our salary-review").await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "forbidden_topic");
    assert_eq!(body["phrase"], "cafe", "the first phrase found, as the admin wrote it");
    assert!(body["message"].as_str().unwrap().contains("cafe"), "{body}");
    ana.say(&id, "The cafeteria is closed").await;

    let mut socket = ana.socket().await;
    let frame = json!({"type": "send", "conversation_id": id, "content": "salary review", "client_id": "k-1"});
    socket.send_json(frame).await;
    let answer = socket.expect("send_error").await;
    assert_eq!(
        (&answer["error"], &answer["phrase"], &answer["client_id"]),
        (&json!("forbidden_topic"), &json!("salary review"), &json!("k-1"))
    );

    let (status, body) = edit_message(&mut ana, &id, &before["id"], "Salary review at ten?").await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "forbidden_topic");

    let contents: Vec<Value> = ana
        .messages(&id, "")
        .await
        .iter()
        .map(|m| m["content"].clone())
        .collect();
    assert_eq!(
        contents,
        vec![json!("Café at ten?"), json!("The cafeteria is closed")],
        "nothing refused was stored"
    );
}

#[sqlx::test]
async fn with_pii_mode_redact_personal_data_never_reaches_the_other_member(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    put_settings(&mut admin, json!({"pii_mode": "redact"})).await;
    let mut bruno_socket = bruno.socket().await;

    let sent = ana
        .say(&id, "Mail ana@example.com or call +44 20 7946 0958 (order 2024-0042)")
        .await;
    let redacted = "Mail [redacted:email] or call [redacted:phone] (order 2024-0042)";
    assert_eq!(sent["content"], redacted);
    let event = bruno_socket.expect("message_created").await;
    assert_eq!(event["message"]["content"], redacted);
    assert_eq!(bruno.messages(&id, "").await[0]["content"], redacted);

    let (status, edited) = edit_message(&mut ana, &id, &sent["id"], "CPF 529.982.247-25").await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["content"], "CPF [redacted:cpf]");
    let updated = bruno_socket.expect("message_updated").await;
    assert_eq!(updated["message"]["content"], "CPF [redacted:cpf]");
}

#[sqlx::test]
async fn with_pii_mode_flag_admins_list_flagged_messages_and_members_see_no_counts(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    put_settings(&mut admin, json!({"pii_mode": "flag"})).await;

    let text = "Card 4111 1111 1111 1111, mail ana@example.com and bruno@example.com";
    let flagged = ana.say(&id, text).await;
    ana.say(&id, "Nothing personal, version 1.2.3 on 2024-01-15").await;
    assert_eq!(flagged["content"], text, "stored as sent");
    for message in bruno.messages(&id, "").await {
        assert!(
            message["metadata"].get("pii").is_none(),
            "members see no counts: {message}"
        );
    }

    let (status, list) = admin.get("/api/admin/flagged-messages/").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "only the message with personal data: {list:?}");
    assert_eq!(list[0]["id"], flagged["id"]);
    assert_eq!(list[0]["pii"], json!({"card": 1, "email": 2}));
    assert_eq!(list[0]["metadata"]["pii"], list[0]["pii"]);
    assert_eq!(list[0]["sender_name"], "Ana");

    let (status, body) = bruno.get("/api/admin/flagged-messages/").await;
    assert_eq!(
        error_code(status, &body, StatusCode::FORBIDDEN),
        "admin_permission_required"
    );

    // Edited to say nothing personal, it is no longer flagged.
    let (status, _) = edit_message(&mut ana, &id, &flagged["id"], "never mind").await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = admin.get("/api/admin/flagged-messages/").await;
    assert_eq!(list, json!([]));
}

#[sqlx::test]
async fn a_rule_set_on_one_node_holds_for_the_next_send_on_another(pool: PgPool) {
    let node_a = spawn_node(pool.clone(), Layer::Memory).await;
    let node_b = spawn_node(pool, Layer::Memory).await;
    let acme = node_a.tenant("acme").await;
    let mut admin = node_a.member(&acme, "Ada", Role::Admin).await;
    let bruno = node_a.user(&acme, "Bruno", Role::Write).await;
    let ana_id = node_a.user(&acme, "Ana", Role::Write).await;
    let mut ana = node_b.login(&acme, "Ana", ana_id).await;
    let id = ana.start_with(bruno).await;
    // Node B compiles the tenant's rules (none yet) and keeps them.
    ana.say(&id, "mail me at ana@example.com").await;

    put_settings(
        &mut admin,
        json!({"forbidden_topics": ["merger"], "pii_mode": "redact"}),
    )
    .await;
    let (status, body) = post_message(&mut ana, &id, "About the merger").await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "forbidden_topic");
    let sent = ana.say(&id, "mail me at ana@example.com").await;
    assert_eq!(sent["content"], "mail me at [redacted:email]");
}
