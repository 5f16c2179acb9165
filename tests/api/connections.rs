//! Connections under clients that do not play fair: heads and bodies that stop halfway,
//! one address holding every connection, and the keep-alive request that must not be
//! lost after an answer that left its body unread. The timeouts are lowered to 1 s;
//! every test waits for the event itself (a close, an answer), never for a time.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    helpers::{spawn_configured, TestApp},
    raw::Raw,
    sockets::WAIT,
};

#[sqlx::test]
async fn a_half_sent_head_and_an_idle_keep_alive_connection_are_closed(pool: PgPool) {
    let app = spawn_configured(pool, |c| c.http_header_timeout_seconds = 1).await;

    let mut stalled = Raw::connect(&app.base).await;
    stalled.write(b"GET /api/auth/me/ HTTP/1.1\r\nHost: x\r\n").await;
    assert!(stalled.closed().await, "closed without an answer");

    let mut idle = Raw::connect(&app.base).await;
    let head = idle.head("GET", "/api/auth/me/", &[]);
    idle.write(head.as_bytes()).await;
    let answered = idle.response().await.expect("an answer");
    assert_eq!(answered.status, 401);
    assert!(!answered.closes(), "kept alive at first");
    assert!(idle.closed().await, "closed once idle for the header timeout");
}

#[sqlx::test]
async fn a_stalled_body_answers_408_and_closes_the_connection(pool: PgPool) {
    let app = spawn_configured(pool, |c| c.http_body_timeout_seconds = 1).await;
    let mut raw = Raw::connect(&app.base).await;
    let head = raw.head(
        "POST",
        "/api/auth/login/",
        &[("Content-Type", "application/json"), ("Content-Length", "100")],
    );
    raw.write(head.as_bytes()).await;
    raw.write(br#"{"tenant": "#).await;
    let answer = raw.response().await.expect("an answer");
    assert_eq!(answer.status, 408, "{answer:?}");
    assert_eq!(answer.json()["error"], "request_timeout");
    assert!(answer.closes(), "{answer:?}");
    assert!(raw.closed().await);
}

/// Holds `cap` connections open (each has been answered, so the server counts it), sees
/// one more closed without an answer, then lets go: a normal request works again.
async fn refused_past_the_cap(app: &TestApp, cap: usize) {
    let mut held = Vec::new();
    for _ in 0..cap {
        let mut raw = Raw::connect(&app.base).await;
        let head = raw.head("GET", "/api/auth/me/", &[]);
        raw.write(head.as_bytes()).await;
        assert_eq!(raw.response().await.expect("within the cap").status, 401);
        held.push(raw);
    }
    let mut refused = Raw::connect(&app.base).await;
    let head = refused.head("GET", "/api/auth/me/", &[]);
    refused.write(head.as_bytes()).await;
    assert!(refused.response().await.is_none(), "closed without an answer");

    drop(held);
    let client = app.anonymous();
    let deadline = Instant::now() + WAIT;
    loop {
        // The server sees the held connections close as soon as it reads their end.
        let status = client
            .request(reqwest::Method::GET, "/api/auth/me/")
            .send()
            .await
            .map(|r| r.status());
        if status.as_ref().is_ok_and(|s| *s == StatusCode::UNAUTHORIZED) {
            break;
        }
        assert!(Instant::now() < deadline, "still refused after letting go: {status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[sqlx::test]
async fn one_address_past_its_connection_cap_is_closed_at_once(pool: PgPool) {
    let app = spawn_configured(pool, |c| c.max_connections_per_ip = 3).await;
    refused_past_the_cap(&app, 3).await;
}

#[sqlx::test]
async fn connections_past_the_process_cap_are_closed_at_once(pool: PgPool) {
    let app = spawn_configured(pool, |c| {
        c.max_connections = 3;
        c.max_connections_per_ip = 0;
    })
    .await;
    refused_past_the_cap(&app, 3).await;
}

#[sqlx::test]
async fn a_chat_socket_outlives_the_header_timeout(pool: PgPool) {
    let app = spawn_configured(pool, |c| c.http_header_timeout_seconds = 1).await;
    let acme = app.tenant("acme").await;
    let ana = app.member(&acme, "Ana", Role::Write).await;
    let mut socket = ana.socket().await;
    // A connection opened after the socket, closed by the header timeout: the socket has
    // been open longer than that.
    let mut stalled = Raw::connect(&app.base).await;
    stalled.write(b"GET / HTTP/1.1\r\n").await;
    assert!(stalled.closed().await);
    socket.send_json(json!({"type": "ping"})).await;
    assert_eq!(socket.next_json().await["type"], "pong");
}

/// An answer decided from the head alone (here 404, for a route that does not exist)
/// leaves the body unread. The next request on that connection must still be answered:
/// either the server said `Connection: close` and the client opens a new connection, as
/// clients do, or the connection is still good.
#[sqlx::test]
async fn a_request_after_an_unread_body_is_always_answered(pool: PgPool) {
    let app = spawn_configured(pool, |_| {}).await;
    let body = vec![b'x'; 2000];
    let mut raw = Raw::connect(&app.base).await;
    for _ in 0..100 {
        let length = body.len().to_string();
        let head = raw.head(
            "POST",
            "/api/no-such-thing/",
            &[("Content-Type", "application/json"), ("Content-Length", &length)],
        );
        raw.write(head.as_bytes()).await;
        // The body follows the answer, as a body late on the wire would.
        let first = raw.response().await.expect("an answer to the first request");
        assert_eq!(first.status, 404);
        if first.closes() {
            raw = Raw::connect(&app.base).await;
            continue;
        }
        raw.write(&body).await;
        let head = raw.head("GET", "/api/auth/me/", &[]);
        raw.write(head.as_bytes()).await;
        let second = raw.response().await;
        assert_eq!(
            second.map(|r| r.status),
            Some(401),
            "the second request on a kept-alive connection went unanswered"
        );
    }
}
