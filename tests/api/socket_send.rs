//! Sending over the socket: a `send` frame is answered with `send_ok` or `send_error`
//! (carrying its `client_id`) and behaves as the REST send does — the same checks,
//! idempotency and per-user budget — while `message_created` reaches everyone.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;
use uuid::Uuid;

use crate::{
    helpers::{error_code, spawn_app, spawn_configured, spawn_node, Client, Layer},
    sockets::Socket,
};

/// Long enough for an event that should not come to have arrived had it been sent.
const QUIET: Duration = Duration::from_millis(500);

fn send(conversation: &str, content: &str, client_id: &str) -> Value {
    json!({"type": "send", "conversation_id": conversation, "content": content, "client_id": client_id})
}

/// Sends `frame` and waits for its answer (`send_ok` or `send_error`), skipping events.
async fn answer(socket: &mut Socket, frame: Value) -> Value {
    socket.send_json(frame).await;
    let mut seen = socket
        .until(|f| ["send_ok", "send_error", "error"].contains(&f["type"].as_str().unwrap_or_default()))
        .await;
    seen.pop().unwrap()
}

/// The `send_error` code of an answer, after checking it names `client_id`.
fn refused(answer: &Value, client_id: Option<&str>) -> String {
    assert_eq!(answer["type"], "send_error", "{answer}");
    assert_eq!(answer["client_id"], json!(client_id), "{answer}");
    assert!(answer["message"].is_string(), "{answer}");
    answer["error"].as_str().unwrap().to_string()
}

on_both_layers!(
    a_send_is_answered_and_reaches_the_other_member_and_the_senders_other_tab,
    a_retry_with_the_same_client_id_answers_the_original_and_creates_nothing,
);

async fn a_send_is_answered_and_reaches_the_other_member_and_the_senders_other_tab(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let mut tab = ana.socket().await;
    let mut other_tab = ana.socket().await;
    let mut bruno_socket = bruno.socket().await;

    let ok = answer(&mut tab, send(&id, "  over the socket ", "k-1")).await;
    assert_eq!(ok["type"], "send_ok", "{ok}");
    assert_eq!(ok["client_id"], "k-1");
    let message = &ok["message"];
    assert_eq!(message["content"], "over the socket", "trimmed as REST does");
    assert_eq!(message["sender_id"], ana.user_id.to_string());
    assert_eq!(message["seq"], 1);
    assert_eq!(message["status"], "sent");

    for socket in [&mut bruno_socket, &mut other_tab, &mut tab] {
        let created = socket.expect("message_created").await;
        assert_eq!(created["conversation_id"], id);
        assert_eq!(created["message"]["id"], message["id"]);
    }
    let stored = ana.messages(&id, "").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["id"], message["id"]);
}

async fn a_retry_with_the_same_client_id_answers_the_original_and_creates_nothing(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let mut socket = ana.socket().await;
    let mut bruno_socket = bruno.socket().await;

    let first = answer(&mut socket, send(&id, "once", "same")).await;
    let retry = answer(&mut socket, send(&id, "once", "same")).await;
    assert_eq!(retry["type"], "send_ok", "{retry}");
    assert_eq!(retry["client_id"], "same");
    assert_eq!(retry["message"]["id"], first["message"]["id"]);

    // A REST retry with the socket's client_id finds the same message: the widget's
    // fallback relies on it.
    let (status, body) = ana
        .post(
            &format!("/api/chat/conversations/{id}/messages/"),
            json!({"content": "once", "client_id": "same"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], first["message"]["id"]);

    let created = bruno_socket.expect("message_created").await;
    assert_eq!(created["message"]["id"], first["message"]["id"]);
    assert!(
        bruno_socket.expect_within("message_created", QUIET).await.is_none(),
        "one message_created for three sends"
    );
    assert_eq!(ana.messages(&id, "").await.len(), 1);
}

#[sqlx::test]
async fn each_refusal_is_a_send_error_with_the_rest_code(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let other = app.tenant("other").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.user(&acme, "Carla", Role::Write).await;
    let rita = app.member(&acme, "Rita", Role::Read).await;
    let mut olga = app.member(&other, "Olga", Role::Write).await;
    let oskar = app.user(&other, "Oskar", Role::Write).await;
    let ours = ana.start_with(rita.user_id).await;
    let theirs = bruno.start_with(carla).await;
    let foreign = olga.start_with(oskar).await;
    let mut socket = ana.socket().await;
    let mut rita_socket = rita.socket().await;

    let unknown = Uuid::new_v4().to_string();
    for conversation in [&unknown, &foreign] {
        let refusal = answer(&mut socket, send(conversation, "hi", "a")).await;
        assert_eq!(refused(&refusal, Some("a")), "not_found", "{conversation}");
    }
    let refusal = answer(&mut socket, send(&theirs, "let me in", "b")).await;
    assert_eq!(refused(&refusal, Some("b")), "not_a_participant");
    let refusal = answer(&mut rita_socket, send(&ours, "may I?", "c")).await;
    assert_eq!(refused(&refusal, Some("c")), "write_permission_required");
    assert_eq!(refusal["required_permission"], "write");

    let too_long = "x".repeat(5001);
    for (content, field) in [("   ", "content"), (too_long.as_str(), "content")] {
        let refusal = answer(&mut socket, send(&ours, content, "d")).await;
        assert_eq!(refused(&refusal, Some("d")), "validation_error");
        assert_eq!(refusal["field"], field);
    }
    let refusal = answer(&mut socket, send(&ours, "hi", &"k".repeat(65))).await;
    assert_eq!(refusal["field"], "client_id", "{refusal}");
    let without_key = json!({"type": "send", "conversation_id": ours, "content": "hi"});
    let refusal = answer(&mut socket, without_key).await;
    assert_eq!(refused(&refusal, None), "validation_error");
    assert_eq!(refusal["field"], "client_id");
    // Not a send at all: the frame is answered as any malformed frame is.
    let shapeless = answer(&mut socket, json!({"type": "send", "client_id": "e"})).await;
    assert_eq!(shapeless["type"], "error", "{shapeless}");
    assert_eq!(shapeless["error"], "invalid_frame");

    assert!(ana.messages(&ours, "").await.is_empty(), "nothing was stored");

    // Refused for role or membership, like the same refusal over REST: audited.
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let (status, page) = admin
        .get("/api/admin/audit-log/?action=chat.permission_denied&limit=200")
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut rows: Vec<(String, String, String)> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            assert_eq!(row["details"]["frame"], "send", "{row}");
            (
                row["actor"].as_str().unwrap().to_string(),
                row["details"]["code"].as_str().unwrap().to_string(),
                row["resource_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    rows.sort();
    let mut expected = vec![
        (ana.user_id.to_string(), "not_a_participant".to_string(), theirs),
        (rita.user_id.to_string(), "write_permission_required".to_string(), ours),
    ];
    expected.sort();
    assert_eq!(rows, expected);
}

#[sqlx::test]
async fn socket_and_rest_sends_share_one_budget(pool: PgPool) {
    let app = spawn_configured(pool, |c| {
        // Two at once, then one a minute.
        c.rate_send_per_minute = 1;
        c.rate_send_burst = 2;
    })
    .await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno).await;
    let mut socket = ana.socket().await;

    ana.say(&id, "over REST").await;
    let ok = answer(&mut socket, send(&id, "over the socket", "k-1")).await;
    assert_eq!(ok["type"], "send_ok", "{ok}");
    let refusal = answer(&mut socket, send(&id, "one too many", "k-2")).await;
    assert_eq!(refused(&refusal, Some("k-2")), "rate_limited");
    assert!(refusal["retry_after"].as_u64().unwrap() >= 1, "{refusal}");
    let (status, body) = rest_send(&mut ana, &id, "and over REST").await;
    assert_eq!(error_code(status, &body, StatusCode::TOO_MANY_REQUESTS), "rate_limited");
    assert_eq!(ana.messages(&id, "").await.len(), 2);
}

#[sqlx::test]
async fn a_send_past_the_sockets_frame_budget_is_a_send_error_it_can_match(pool: PgPool) {
    // A burst of 5 frames, then one every 10 s.
    let app = spawn_configured(pool, |c| c.rate_ws_frames_per_minute = 6).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno).await;
    let mut socket = ana.socket().await;

    let mut answers = Vec::new();
    for i in 0..6 {
        answers.push(answer(&mut socket, send(&id, "hi", &format!("k-{i}"))).await);
    }
    let last = answers.pop().unwrap();
    assert!(answers.iter().all(|a| a["type"] == "send_ok"), "{answers:?}");
    assert_eq!(refused(&last, Some("k-5")), "rate_limited");
    assert_eq!(ana.messages(&id, "").await.len(), 5);
}

async fn rest_send(client: &mut Client, conversation: &str, content: &str) -> (StatusCode, Value) {
    client
        .post(
            &format!("/api/chat/conversations/{conversation}/messages/"),
            json!({"content": content}),
        )
        .await
}

/// A reply with mentions and metadata sent over the socket is stored and announced as
/// the REST send would store it; what does not hold is refused naming its field.
#[sqlx::test]
async fn a_reply_with_mentions_and_metadata_goes_over_the_socket_too(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let mut tab = ana.socket().await;
    let first = answer(&mut tab, send(&id, "lunch?", "k-1")).await;
    let first_id = first["message"]["id"].as_str().unwrap().to_string();

    let mut reply = send(&id, "yes", "k-2");
    reply["reply_to"] = json!(first_id);
    reply["mentions"] = json!([bruno.user_id]);
    reply["metadata"] = json!({"mood": "hungry"});
    let ok = answer(&mut tab, reply).await;
    assert_eq!(ok["type"], "send_ok", "{ok}");
    assert_eq!(ok["message"]["reply_to"]["id"], first_id.as_str());
    assert_eq!(ok["message"]["mentions"], json!([bruno.user_id]));
    assert_eq!(ok["message"]["metadata"], json!({"mood": "hungry"}));
    let stored = ana.messages(&id, "").await;
    assert_eq!(stored[1]["reply_to"]["id"], first_id.as_str(), "stored as sent");

    let mut not_an_object = send(&id, "x", "k-3");
    not_an_object["metadata"] = json!(["a list"]);
    let answer_ = answer(&mut tab, not_an_object).await;
    assert_eq!(refused(&answer_, Some("k-3")), "validation_error");
    assert_eq!(answer_["field"], "metadata");
    let mut stranger = send(&id, "x", "k-4");
    stranger["mentions"] = json!([Uuid::new_v4()]);
    let answer_ = answer(&mut tab, stranger).await;
    assert_eq!(refused(&answer_, Some("k-4")), "validation_error");
    assert_eq!(answer_["field"], "mentions");
    assert_eq!(ana.messages(&id, "").await.len(), 2, "nothing stored for the refusals");
}
