//! Edits and deletions over real WebSockets on both channel layers: `message_updated`
//! with the new state reaches every participant (the editor's other tabs too) and the
//! viewers of a tenant-visible conversation; `message_created` carries replies,
//! mentions and metadata.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    groups::group,
    helpers::{spawn_node, Layer},
    permissions::call,
};

on_both_layers!(
    edits_and_deletions_reach_members_and_viewers_as_message_updated,
    a_reply_arrives_with_its_quote_mentions_and_metadata,
);

async fn edits_and_deletions_reach_members_and_viewers_as_message_updated(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let rita = app.member(&acme, "Rita", Role::Read).await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let id = group(&mut ana, &[bruno.user_id], json!({"visibility": "tenant"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sent = ana.say(&id, "draft").await;
    let mut ana_tab = ana.socket().await;
    let mut bruno_socket = bruno.socket().await;
    let mut rita_socket = rita.socket().await;
    rita_socket
        .send_json(json!({"type": "open", "conversation_id": id}))
        .await;
    assert_eq!(rita_socket.expect("opened").await["member"], false);

    let path = format!(
        "/api/chat/conversations/{id}/messages/{}/",
        sent["id"].as_str().unwrap()
    );
    let (status, edited) = call(&mut ana, Method::PATCH, &path, Some(&json!({"content": "final"}))).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    for socket in [&mut ana_tab, &mut bruno_socket, &mut rita_socket] {
        let event = socket.expect("message_updated").await;
        assert_eq!(event["conversation_id"], id);
        let message = &event["message"];
        assert_eq!(
            (
                message["id"].clone(),
                message["seq"].clone(),
                message["content"].clone()
            ),
            (sent["id"].clone(), json!(1), json!("final"))
        );
        assert_eq!(
            (message["is_edited"].clone(), message["edited_at"].clone()),
            (json!(true), edited["edited_at"].clone())
        );
    }

    let (status, _) = call(&mut admin, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for socket in [&mut ana_tab, &mut bruno_socket, &mut rita_socket] {
        let message = socket.expect("message_updated").await["message"].clone();
        assert_eq!(
            (
                message["id"].clone(),
                message["deleted"].clone(),
                message["content"].clone()
            ),
            (sent["id"].clone(), json!(true), json!(""))
        );
        assert_eq!(message["seq"], 1, "a tombstone keeps its seq");
    }

    // One event per change: none more before the next message.
    ana.say(&id, "after").await;
    for socket in [&mut ana_tab, &mut bruno_socket, &mut rita_socket] {
        let seen: Vec<Value> = socket
            .until(|e| e["type"] == "message_created" && e["message"]["content"] == "after")
            .await;
        assert!(!seen.iter().any(|e| e["type"] == "message_updated"), "{seen:?}");
    }
}

async fn a_reply_arrives_with_its_quote_mentions_and_metadata(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let question = ana.say(&id, "lunch?").await;
    let mut ana_socket = ana.socket().await;
    let (status, sent) = bruno
        .post(
            &format!("/api/chat/conversations/{id}/messages/"),
            json!({"content": "sure", "reply_to": question["id"], "mentions": [ana.user_id],
                   "metadata": {"mood": "hungry"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let event = ana_socket.expect("message_created").await;
    let message = &event["message"];
    assert_eq!(
        message["reply_to"],
        json!({"id": question["id"], "seq": 1, "sender_name": "Ana", "excerpt": "lunch?", "deleted": false})
    );
    assert_eq!(message["mentions"], json!([ana.user_id]));
    assert_eq!(message["metadata"], json!({"mood": "hungry"}));
}
