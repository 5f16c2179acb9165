//! No silent loss at tenant scale: after a mass disconnect and reconnect of the same
//! users, a group fan-out reaches every socket that said `connected` — or the server
//! closed that socket with 1013 so its client catches up. Runs on both channel layers.

use std::future::Future;

use futures::{stream, StreamExt};
use serde_json::json;
use sqlx::PgPool;
use tenantchat::auth::tokens;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use uuid::Uuid;

use crate::{
    helpers::{spawn_node, Layer, Tenant, TestApp},
    sockets::Socket,
};

/// Users (and sockets) in the one tenant, as in the issue; twice as many fds in this
/// process, server side included.
const USERS: usize = 1000;
/// Messages sent to the group of all of them right after they reconnect.
const MESSAGES: usize = 10;
/// Handshakes in flight at once.
const CONNECTING: usize = 100;

#[sqlx::test]
async fn memory(pool: PgPool) {
    a_group_fan_out_right_after_a_mass_reconnect_reaches_every_socket_or_closes_it(pool, Layer::Memory).await
}

#[sqlx::test]
async fn redis(pool: PgPool) {
    a_group_fan_out_right_after_a_mass_reconnect_reaches_every_socket_or_closes_it(pool, Layer::redis()).await
}

async fn a_group_fan_out_right_after_a_mass_reconnect_reaches_every_socket_or_closes_it(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let users = users_with_tokens(&app, &acme, USERS).await;
    let mut sender = app.anonymous();
    sender.bearer = Some(users[0].1.clone());
    let others: Vec<Uuid> = users[1..].iter().map(|(id, _)| *id).collect();
    let (status, group) = sender
        .post(
            "/api/chat/conversations/",
            json!({"participant_ids": others, "title": "everyone"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{group}");
    let group = group["id"].as_str().unwrap().to_string();

    // Everyone online, then everyone gone at once (no close handshake, like closed
    // laptops), and at once back: the server unsubscribes and resubscribes the same users.
    // Every socket is read from the moment it opens, as a browser would.
    let before = open_all(&app, &users, drain).await;
    for socket in &before {
        socket.abort();
    }
    let readers = open_all(&app, &users, count_messages).await;

    for i in 0..MESSAGES {
        sender.say(&group, &format!("to everyone {i}")).await;
    }
    let mut closed_for_catch_up = 0;
    for (index, reader) in readers.into_iter().enumerate() {
        let outcome = reader
            .await
            .unwrap_or_else(|_| panic!("socket {index}: a delivery never came, and the socket stayed open"));
        match outcome {
            (received, None) => assert_eq!(received, MESSAGES, "socket {index}"),
            (_, Some(CloseCode::Again)) => closed_for_catch_up += 1,
            (received, Some(code)) => panic!("socket {index} got {received} of {MESSAGES}, then closed with {code}"),
        }
    }
    println!("{closed_for_catch_up} of {USERS} sockets were closed with 1013 to catch up");
}

/// `count` users of `tenant` with one API token each, written in bulk (one password
/// hash for all: hashing is what login costs, not what this test is about).
async fn users_with_tokens(app: &TestApp, tenant: &Tenant, count: usize) -> Vec<(Uuid, String)> {
    let first = app.user(tenant, "User0", tenantchat::domain::Role::Write).await;
    let ids: Vec<Uuid> = std::iter::once(first)
        .chain((1..count).map(|_| Uuid::new_v4()))
        .collect();
    let rest: Vec<Uuid> = ids[1..].to_vec();
    let names: Vec<String> = (1..count).map(|i| format!("User{i}")).collect();
    let emails: Vec<String> = names
        .iter()
        .map(|name| format!("{}@{}.test", name.to_lowercase(), tenant.slug))
        .collect();
    sqlx::query(
        "INSERT INTO users (id, tenant_id, email, name, password_hash, role)
         SELECT u.id, $2, u.email, u.name, first.password_hash, 'write'
         FROM unnest($1::uuid[], $3::text[], $4::text[]) AS u(id, email, name), users first
         WHERE first.id = $5",
    )
    .bind(&rest)
    .bind(tenant.id)
    .bind(&emails)
    .bind(&names)
    .bind(first)
    .execute(&app.pool)
    .await
    .unwrap();
    let generated: Vec<(String, Vec<u8>)> = ids.iter().map(|_| tokens::generate()).collect();
    let token_ids: Vec<Uuid> = ids.iter().map(|_| Uuid::new_v4()).collect();
    let hashes: Vec<&[u8]> = generated.iter().map(|(_, hash)| hash.as_slice()).collect();
    sqlx::query(
        "INSERT INTO api_tokens (id, tenant_id, user_id, name, token_hash)
         SELECT id, $2, user_id, 'test', hash FROM unnest($1::uuid[], $3::uuid[], $4::bytea[]) AS t(id, user_id, hash)",
    )
    .bind(&token_ids)
    .bind(tenant.id)
    .bind(&ids)
    .bind(&hashes)
    .execute(&app.pool)
    .await
    .unwrap();
    ids.into_iter()
        .zip(generated.into_iter().map(|(token, _)| token))
        .collect()
}

/// One socket per user, each past its `connected` frame and then handed to `read`.
async fn open_all<F, T>(app: &TestApp, users: &[(Uuid, String)], read: fn(Socket) -> F) -> Vec<JoinHandle<T>>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    stream::iter(users)
        .map(|(_, token)| Socket::open(&app.base, "", None, Some(token)))
        .buffer_unordered(CONNECTING)
        .map(|socket| tokio::spawn(read(socket)))
        .collect()
        .await
}

/// Reads until the socket is dropped.
async fn drain(mut socket: Socket) {
    while socket.next_text_or_close().await.is_ok() {}
}

/// Counts `message_created` events until all `MESSAGES` came (no close code) or the
/// server closed the socket (its code).
async fn count_messages(mut socket: Socket) -> (usize, Option<CloseCode>) {
    let mut received = 0;
    while received < MESSAGES {
        match socket.next_text_or_close().await {
            Ok(text) if text.contains(r#""type":"message_created""#) => received += 1,
            Ok(_) => {}
            Err(code) => return (received, Some(code.unwrap_or(CloseCode::Abnormal))),
        }
    }
    (received, None)
}
