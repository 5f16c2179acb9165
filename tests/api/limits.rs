//! Rate limits: per user and action, shared by every node through Redis, answered with
//! 429 `rate_limited` and `Retry-After` (an `error` frame on the socket).

use reqwest::{
    multipart::{Form, Part},
    Method, StatusCode,
};
use serde_json::json;
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::helpers::{error_code, spawn_configured, spawn_node_with, Layer};

fn assert_limited(status: StatusCode, body: &serde_json::Value) {
    assert_eq!(error_code(status, body, StatusCode::TOO_MANY_REQUESTS), "rate_limited");
    assert!(body["retry_after"].as_u64().unwrap() >= 1, "{body}");
}

#[sqlx::test]
async fn sending_past_the_burst_answers_429_with_retry_after(pool: PgPool) {
    let app = spawn_configured(pool, |c| {
        c.rate_send_per_minute = 60;
        c.rate_send_burst = 3;
    })
    .await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno).await;
    for i in 0..3 {
        ana.say(&id, &format!("m{i}")).await;
    }
    let resp = ana
        .request(Method::POST, &format!("/api/chat/conversations/{id}/messages/"))
        .json(&json!({"content": "one too many"}))
        .send()
        .await
        .unwrap();
    let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    let status = resp.status();
    assert_limited(status, &resp.json().await.unwrap());
    assert_eq!(
        ana.messages(&id, "").await.len(),
        3,
        "the refused message was not stored"
    );
}

#[sqlx::test]
async fn two_nodes_share_one_budget_through_redis(pool: PgPool) {
    let layer = Layer::redis();
    let limit = |c: &mut tenantchat::Config| {
        c.rate_send_per_minute = 60;
        c.rate_send_burst = 2;
    };
    let node_a = spawn_node_with(pool.clone(), layer.clone(), limit).await;
    let node_b = spawn_node_with(pool, layer, limit).await;
    let acme = node_a.tenant("acme").await;
    let mut on_a = node_a.member(&acme, "Ana", Role::Write).await;
    let mut on_b = node_b.login(&acme, "Ana", on_a.user_id).await;
    let bruno = node_a.user(&acme, "Bruno", Role::Write).await;
    let id = on_a.start_with(bruno).await;
    on_a.say(&id, "one").await;
    on_a.say(&id, "two").await;
    let (status, body) = on_b
        .post(
            &format!("/api/chat/conversations/{id}/messages/"),
            json!({"content": "three"}),
        )
        .await;
    assert_limited(status, &body);
}

#[sqlx::test]
async fn conversations_typing_uploads_and_socket_frames_are_limited(pool: PgPool) {
    let app = spawn_configured(pool, |c| {
        c.rate_conversations_per_minute = 2;
        c.rate_typing_per_minute = 2;
        c.rate_upload_mb_per_minute = 1;
        c.rate_ws_frames_per_minute = 60;
    })
    .await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let others = [
        app.user(&acme, "B", Role::Write).await,
        app.user(&acme, "C", Role::Write).await,
        app.user(&acme, "D", Role::Write).await,
    ];
    let id = ana.start_with(others[0]).await;
    ana.start_with(others[1]).await;
    let (status, body) = ana
        .post("/api/chat/conversations/start/", json!({"participant_id": others[2]}))
        .await;
    assert_limited(status, &body);

    let typing = format!("/api/chat/conversations/{id}/typing/");
    ana.post(&typing, json!({})).await;
    ana.post(&typing, json!({})).await;
    let (status, body) = ana.post(&typing, json!({})).await;
    assert_limited(status, &body);

    let upload = |size: usize| {
        let form = Form::new().part(
            "attachments",
            Part::bytes(vec![b'a'; size])
                .file_name("a.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
        ana.request(Method::POST, &format!("/api/chat/conversations/{id}/messages/"))
            .multipart(form)
    };
    let first = upload(700_000).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let second = upload(700_000).send().await.unwrap();
    let status = second.status();
    assert_limited(status, &second.json().await.unwrap());

    // A socket that floods gets error frames and stays open.
    let mut socket = ana.socket().await;
    for _ in 0..20 {
        socket.send_json(json!({"type": "ping"})).await;
    }
    let seen = socket.until(|e| e["type"] == "error").await;
    assert_eq!(seen.last().unwrap()["error"], "rate_limited");
    assert!(
        seen.iter().filter(|e| e["type"] == "pong").count() >= 5,
        "the burst went through"
    );
}

#[sqlx::test]
async fn a_tenant_may_lower_its_send_rate_within_the_servers(pool: PgPool) {
    let app = spawn_configured(pool, |c| {
        c.rate_send_per_minute = 60;
        c.rate_send_burst = 10;
    })
    .await;
    let acme = app.tenant("acme").await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let req = admin
        .request(Method::PUT, "/api/admin/settings/")
        .json(&json!({"send_per_minute": 61}));
    let (status, body) = admin.send(req).await;
    assert_eq!(
        error_code(status, &body, StatusCode::BAD_REQUEST),
        "validation_error",
        "not above the server's limit"
    );
    let req = admin
        .request(Method::PUT, "/api/admin/settings/")
        .json(&json!({"send_per_minute": 2}));
    assert_eq!(admin.send(req).await.0, StatusCode::OK);
    let id = admin.start_with(bruno).await;
    admin.say(&id, "one").await;
    admin.say(&id, "two").await;
    let (status, body) = admin
        .post(
            &format!("/api/chat/conversations/{id}/messages/"),
            json!({"content": "three"}),
        )
        .await;
    assert_limited(status, &body);
}
