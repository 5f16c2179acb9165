//! Conversations that live, over real WebSockets on both channel layers: system messages
//! and `conversation_updated`, `conversation_deleted`, a removed member who hears no
//! more, and viewers who follow a shared conversation while they have it open.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    groups::group,
    helpers::{error_code, spawn_node, two_redis_nodes, Layer},
    permissions::call,
    sockets::Socket,
};

/// Reads until the `message_created` of `content`; the events before it, in order.
pub(crate) async fn until_message(socket: &mut Socket, content: &str) -> Vec<Value> {
    let mut seen = socket
        .until(|e| e["type"] == "message_created" && e["message"]["content"] == content)
        .await;
    seen.pop();
    seen
}

/// Whether any of `events` is a `message_created` of conversation `id`.
pub(crate) fn any_message_of(events: &[Value], id: &str) -> bool {
    events
        .iter()
        .any(|e| e["type"] == "message_created" && e["conversation_id"] == id)
}

on_both_layers!(
    changes_reach_members_as_system_messages_and_conversation_updated,
    a_removed_member_stops_receiving_the_conversation_at_once,
    deleting_tells_members_and_viewers,
    viewers_follow_a_shared_conversation_while_it_is_open,
);

async fn changes_reach_members_as_system_messages_and_conversation_updated(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.member(&acme, "Carla", Role::Write).await;
    let id = group(&mut ana, &[bruno.user_id], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ana_socket = ana.socket().await;
    let mut bruno_socket = bruno.socket().await;
    let mut carla_socket = carla.socket().await;

    let path = format!("/api/chat/conversations/{id}/");
    let (status, _) = call(&mut ana, Method::PATCH, &path, Some(&json!({"title": "Renamed"}))).await;
    assert_eq!(status, StatusCode::OK);
    let created = bruno_socket.expect("message_created").await;
    assert_eq!(created["conversation_id"], id);
    let message = &created["message"];
    assert_eq!(
        (message["kind"].clone(), message["seq"].clone()),
        (json!("system"), json!(1))
    );
    assert_eq!(
        message["metadata"],
        json!({"event": "title_changed", "title": "Renamed", "by": ana.user_id})
    );
    let updated = bruno_socket.expect("conversation_updated").await;
    let conversation = &updated["conversation"];
    assert_eq!(conversation["title"], "Renamed");
    assert_eq!(
        (conversation["my_role"].clone(), conversation["unread_count"].clone()),
        (json!("member"), json!(1))
    );
    assert_eq!(conversation["last_message"]["id"], message["id"]);
    let own = ana_socket.expect("conversation_updated").await;
    assert_eq!(
        (
            own["conversation"]["my_role"].clone(),
            own["conversation"]["unread_count"].clone()
        ),
        (json!("owner"), json!(0)),
        "each member gets the conversation as they see it"
    );

    let (status, _) = ana
        .post(&format!("{path}participants/"), json!({"user_ids": [carla.user_id]}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let added = carla_socket.expect("message_created").await;
    assert_eq!(added["message"]["metadata"]["event"], "member_added");
    let welcome = carla_socket.expect("conversation_updated").await;
    assert_eq!(
        (
            welcome["conversation"]["my_role"].clone(),
            welcome["conversation"]["member_count"].clone()
        ),
        (json!("member"), json!(3))
    );
    let next = bruno_socket.expect("message_created").await;
    assert_eq!(
        next["message"]["seq"], 2,
        "the system messages of one conversation arrive in seq order"
    );
}

async fn a_removed_member_stops_receiving_the_conversation_at_once(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.user(&acme, "Carla", Role::Write).await;
    let id = group(&mut ana, &[bruno.user_id, carla], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let direct = ana.start_with(bruno.user_id).await;
    let mut socket = bruno.socket().await;

    let path = format!("/api/chat/conversations/{id}/participants/{}/", bruno.user_id);
    let (status, _) = call(&mut ana, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let farewell = socket.expect("conversation_updated").await;
    assert_eq!(farewell["conversation"]["id"], id);
    assert_eq!(farewell["conversation"]["my_role"], Value::Null, "no longer a member");
    ana.say(&id, "after Bruno left").await;
    let (status, _) = ana
        .post(&format!("/api/chat/conversations/{id}/typing/"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    ana.say(&direct, "sentinel").await;
    let before = until_message(&mut socket, "sentinel").await;
    assert!(
        !any_message_of(&before, &id),
        "nothing of the group after the removal: {before:?}"
    );
    assert!(!before.iter().any(|e| e["type"] == "typing"), "{before:?}");
    let (status, body) = bruno.get(&format!("/api/chat/conversations/{id}/messages/")).await;
    assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "not_a_participant");
}

async fn deleting_tells_members_and_viewers(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let rita = app.member(&acme, "Rita", Role::Read).await;
    let id = group(&mut ana, &[bruno.user_id], json!({"visibility": "tenant"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bruno_socket = bruno.socket().await;
    let mut rita_socket = rita.socket().await;
    rita_socket
        .send_json(json!({"type": "open", "conversation_id": id}))
        .await;
    rita_socket.expect("opened").await;

    let (status, _) = call(
        &mut ana,
        Method::DELETE,
        &format!("/api/chat/conversations/{id}/"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for socket in [&mut bruno_socket, &mut rita_socket] {
        let deleted = socket.expect("conversation_deleted").await;
        assert_eq!(deleted, json!({"type": "conversation_deleted", "conversation_id": id}));
    }
}

async fn viewers_follow_a_shared_conversation_while_it_is_open(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let rita = app.member(&acme, "Rita", Role::Read).await;
    let id = group(&mut ana, &[bruno.user_id], json!({"visibility": "tenant"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let to_rita = ana.start_with(rita.user_id).await;
    let to_bruno = ana.start_with(bruno.user_id).await;
    let mut rita_socket = rita.socket().await;
    let mut bruno_socket = bruno.socket().await;

    ana.say(&id, "before opening").await;
    rita_socket
        .send_json(json!({"type": "open", "conversation_id": id}))
        .await;
    let opened = rita_socket.expect("opened").await;
    assert_eq!(
        opened,
        json!({"type": "opened", "conversation_id": id, "member": false})
    );
    bruno_socket
        .send_json(json!({"type": "open", "conversation_id": id}))
        .await;
    assert_eq!(bruno_socket.expect("opened").await["member"], true);

    ana.say(&id, "news").await;
    let seen = until_message(&mut rita_socket, "news").await;
    assert!(!any_message_of(&seen, &id), "nothing from before opening: {seen:?}");
    ana.say(&to_bruno, "sentinel").await;
    let seen = until_message(&mut bruno_socket, "sentinel").await;
    let copies = seen
        .iter()
        .filter(|e| e["type"] == "message_created" && e["message"]["content"] == "news")
        .count();
    assert_eq!(copies, 1, "a member who opens a conversation gets its events once");

    let path = format!("/api/chat/conversations/{id}/");
    let (status, _) = call(&mut ana, Method::PATCH, &path, Some(&json!({"visibility": "private"}))).await;
    assert_eq!(status, StatusCode::OK);
    let updated = rita_socket.expect("conversation_updated").await;
    assert_eq!(
        (
            updated["conversation"]["visibility"].clone(),
            updated["conversation"]["my_role"].clone()
        ),
        (json!("private"), Value::Null),
        "the viewer learns the conversation closed to it"
    );
    ana.say(&id, "members only").await;
    ana.say(&to_rita, "sentinel").await;
    let seen = until_message(&mut rita_socket, "sentinel").await;
    assert!(
        !any_message_of(&seen, &id),
        "a private conversation reaches no viewer: {seen:?}"
    );

    rita_socket
        .send_json(json!({"type": "open", "conversation_id": id}))
        .await;
    let refused = rita_socket.expect("error").await;
    assert_eq!(refused["error"], "not_a_participant");
    rita_socket
        .send_json(json!({"type": "open", "conversation_id": null}))
        .await;
    let closed = rita_socket.expect("opened").await;
    assert_eq!(closed["conversation_id"], Value::Null);
}

#[sqlx::test]
async fn removal_and_viewing_hold_across_nodes(pool: PgPool) {
    let (node_a, node_b) = two_redis_nodes(pool).await;
    let acme = node_a.tenant("acme").await;
    let mut ana = node_a.member(&acme, "Ana", Role::Write).await;
    let bruno_id = node_a.user(&acme, "Bruno", Role::Write).await;
    let bruno = node_b.login(&acme, "Bruno", bruno_id).await;
    let rita_id = node_a.user(&acme, "Rita", Role::Read).await;
    let rita = node_b.login(&acme, "Rita", rita_id).await;
    let id = group(&mut ana, &[bruno_id], json!({"visibility": "tenant"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let direct = ana.start_with(bruno_id).await;
    let mut bruno_socket = bruno.socket().await;
    let mut rita_socket = rita.socket().await;
    rita_socket
        .send_json(json!({"type": "open", "conversation_id": id}))
        .await;
    rita_socket.expect("opened").await;

    ana.say(&id, "from node A").await;
    until_message(&mut rita_socket, "from node A").await;
    until_message(&mut bruno_socket, "from node A").await;

    let path = format!("/api/chat/conversations/{id}/participants/{bruno_id}/");
    let (status, _) = call(&mut ana, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    ana.say(&id, "Bruno is gone").await;
    until_message(&mut rita_socket, "Bruno is gone").await;
    ana.say(&direct, "sentinel").await;
    let seen = until_message(&mut bruno_socket, "sentinel").await;
    assert!(
        !any_message_of(&seen, &id),
        "removed on node A, silent on node B: {seen:?}"
    );
}
