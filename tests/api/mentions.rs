//! Mentions over real HTTP and sockets: the `mention` event reaches only the mentioned
//! (a muted conversation included, never the sender); `mention_count` counts the unread
//! ones and reading clears it; `GET /api/chat/mentions/` lists them, newest first, from
//! the conversations the caller is still in.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;
use uuid::Uuid;

use crate::{
    groups::group,
    helpers::{spawn_app, spawn_node, Client, Layer},
    permissions::call,
};

on_both_layers!(only_the_mentioned_get_mention_even_in_a_muted_conversation);

/// Sends `text` mentioning `who`; returns the message.
async fn mention(sender: &mut Client, conversation: &str, text: &str, who: &[Uuid]) -> Value {
    let (status, body) = sender
        .post(
            &format!("/api/chat/conversations/{conversation}/messages/"),
            json!({"content": text, "mentions": who}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn only_the_mentioned_get_mention_even_in_a_muted_conversation(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let mut carla = app.member(&acme, "Carla", Role::Write).await;
    let id = group(&mut ana, &[bruno.user_id, carla.user_id], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = call(
        &mut bruno,
        Method::PATCH,
        &format!("/api/chat/conversations/{id}/mute/"),
        None,
    )
    .await;
    assert!(status.is_success(), "{status}");
    let mut ana_socket = ana.socket().await;
    let mut bruno_socket = bruno.socket().await;
    let mut carla_socket = carla.socket().await;

    let first = mention(&mut ana, &id, "@Bruno look", &[bruno.user_id]).await;
    let me = ana.user_id;
    let second = mention(&mut ana, &id, "@Carla and me", &[carla.user_id, me]).await;
    let third = mention(&mut carla, &id, "@Ana done", &[ana.user_id]).await;
    let fourth = mention(&mut carla, &id, "@Bruno too", &[bruno.user_id]).await;
    // Each socket's first `mention` is the first message that mentions its user, so
    // nobody got one for a message that did not mention them, nor for their own.
    let expected = |message: &Value| (json!("mention"), json!(id), message["id"].clone());
    let seen = |event: Value| {
        (
            event["type"].clone(),
            event["conversation_id"].clone(),
            event["message"]["id"].clone(),
        )
    };
    let told = bruno_socket.expect("mention").await;
    assert_eq!(told["message"]["content"], "@Bruno look", "the whole message: {told}");
    assert_eq!(seen(told), expected(&first), "muted, still told");
    assert_eq!(seen(bruno_socket.expect("mention").await), expected(&fourth));
    assert_eq!(seen(carla_socket.expect("mention").await), expected(&second));
    assert_eq!(seen(ana_socket.expect("mention").await), expected(&third));
}

async fn mention_count(client: &mut Client, id: &str) -> (i64, i64) {
    let conversation = client.conversation(id).await;
    let (status, list) = client.get("/api/chat/conversations/").await;
    assert_eq!(status, StatusCode::OK);
    let listed = list.as_array().unwrap().iter().find(|c| c["id"] == id).unwrap();
    assert_eq!(listed["mention_count"], conversation["mention_count"]);
    (
        conversation["mention_count"].as_i64().unwrap(),
        conversation["unread_count"].as_i64().unwrap(),
    )
}

async fn mentions_of(client: &mut Client, query: &str) -> Vec<Value> {
    let (status, body) = client.get(&format!("/api/chat/mentions/{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().iter().map(|m| m["content"].clone()).collect()
}

#[sqlx::test]
async fn unread_mentions_are_counted_cleared_by_reading_and_listed(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let mut carla = app.member(&acme, "Carla", Role::Write).await;
    let mut eve = app.member(&globex, "Eve", Role::Write).await;
    let id = group(&mut ana, &[bruno.user_id, carla.user_id], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    mention(&mut ana, &id, "one", &[bruno.user_id]).await;
    ana.say(&id, "two").await;
    let three = mention(&mut ana, &id, "three", &[bruno.user_id, carla.user_id]).await;
    assert_eq!(mention_count(&mut bruno, &id).await, (2, 3));
    assert_eq!(mention_count(&mut carla, &id).await, (1, 3));
    assert_eq!(mention_count(&mut ana, &id).await, (0, 0));

    let (status, _) = call(
        &mut bruno,
        Method::POST,
        &format!("/api/chat/conversations/{id}/mark_read/"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mention_count(&mut bruno, &id).await, (0, 0));
    mention(&mut ana, &id, "four", &[bruno.user_id]).await;
    assert_eq!(mention_count(&mut bruno, &id).await, (1, 1));

    assert_eq!(mentions_of(&mut bruno, "").await, ["four", "three", "one"]);
    assert_eq!(mentions_of(&mut bruno, "?limit=1&offset=1").await, ["three"]);
    assert_eq!(mentions_of(&mut carla, "").await, ["three"]);
    assert!(mentions_of(&mut ana, "").await.is_empty());
    assert!(mentions_of(&mut eve, "").await.is_empty());

    // A deleted message mentions nobody any more.
    let path = format!(
        "/api/chat/conversations/{id}/messages/{}/",
        three["id"].as_str().unwrap()
    );
    assert_eq!(ana.delete(&path).await.0, StatusCode::NO_CONTENT);
    assert_eq!(mentions_of(&mut bruno, "").await, ["four", "one"]);
    assert!(mentions_of(&mut carla, "").await.is_empty());
    assert_eq!(mention_count(&mut carla, &id).await.0, 0);

    // Leaving takes the conversation's mentions out of the list.
    let (status, _) = call(
        &mut bruno,
        Method::POST,
        &format!("/api/chat/conversations/{id}/leave/"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(mentions_of(&mut bruno, "").await.is_empty());
}

#[sqlx::test]
async fn mentioning_oneself_is_accepted_and_dropped(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = group(&mut ana, &[bruno.user_id], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let me = ana.user_id;
    let only_me = mention(&mut ana, &id, "@Ana note to self", &[me]).await;
    assert_eq!(only_me["mentions"], json!([]));
    let both = mention(&mut ana, &id, "@Ana @Bruno", &[me, bruno.user_id, me]).await;
    assert_eq!(both["mentions"], json!([bruno.user_id]));
    // History shows what was stored.
    let history = ana.messages(&id, "").await;
    let stored = |sent: &Value| history.iter().find(|m| m["id"] == sent["id"]).unwrap()["mentions"].clone();
    assert_eq!(stored(&only_me), json!([]));
    assert_eq!(stored(&both), json!([bruno.user_id]));
    assert_eq!(mention_count(&mut ana, &id).await.0, 0);
    assert!(mentions_of(&mut ana, "").await.is_empty());
}
