//! Reactions over real HTTP and sockets: adding and removing are idempotent, messages
//! show counts with `me` for the caller, a change (and only a change) reaches the
//! participants and viewers as `reaction`; emoji validation, the distinct-emoji limit
//! and who may react.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    groups::group,
    helpers::{error_code, spawn_app, spawn_node, Client, Layer},
    permissions::call,
};

on_both_layers!(reactions_are_idempotent_counted_per_caller_and_announced_once);

/// The path of `emoji` on a message; reqwest percent-encodes what needs it.
fn reaction_path(conversation: &str, message: &Value, emoji: &str) -> String {
    format!(
        "/api/chat/conversations/{conversation}/messages/{}/reactions/{emoji}/",
        message["id"].as_str().unwrap()
    )
}

async fn react(client: &mut Client, method: Method, path: &str) -> (StatusCode, Value) {
    call(client, method, path, None).await
}

/// The message's reactions as `client` reads them in the history and alone.
async fn reactions_seen_by(client: &mut Client, conversation: &str, message: &Value) -> Value {
    let history = client.messages(conversation, "").await;
    let listed = history.iter().find(|m| m["id"] == message["id"]).unwrap()["reactions"].clone();
    let path = format!(
        "/api/chat/conversations/{conversation}/messages/{}/",
        message["id"].as_str().unwrap()
    );
    let (status, single) = client.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{single}");
    assert_eq!(single["reactions"], listed, "one message reads as in the history");
    listed
}

fn group_id(conversation: Value) -> String {
    conversation["id"].as_str().unwrap().to_string()
}

async fn reactions_are_idempotent_counted_per_caller_and_announced_once(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let zed = app.member(&acme, "Zed", Role::Write).await;
    let id = group_id(group(&mut ana, &[bruno.user_id], json!({"visibility": "tenant"})).await);
    let sent = ana.say(&id, "ship it?").await;
    assert_eq!(sent["reactions"], json!([]));
    let mut ana_tab = ana.socket().await;
    let mut bruno_socket = bruno.socket().await;
    let mut zed_socket = zed.socket().await;
    zed_socket
        .send_json(json!({"type": "open", "conversation_id": id}))
        .await;
    assert_eq!(zed_socket.expect("opened").await["member"], false);

    let thumbs = reaction_path(&id, &sent, "👍");
    let heart = reaction_path(&id, &sent, "❤️");
    for _ in 0..2 {
        assert_eq!(react(&mut bruno, Method::PUT, &thumbs).await.0, StatusCode::NO_CONTENT);
    }
    assert_eq!(react(&mut ana, Method::PUT, &heart).await.0, StatusCode::NO_CONTENT);
    let expected = |emoji: &str, user: uuid::Uuid, added: bool| {
        json!({"type": "reaction", "conversation_id": id, "message_id": sent["id"],
               "emoji": emoji, "user_id": user, "added": added})
    };
    for socket in [&mut ana_tab, &mut bruno_socket, &mut zed_socket] {
        assert_eq!(socket.expect("reaction").await, expected("👍", bruno.user_id, true));
        // Bruno's second 👍 changed nothing, so the next event is already Ana's ❤️.
        assert_eq!(socket.expect("reaction").await, expected("❤️", ana.user_id, true));
    }
    assert_eq!(
        reactions_seen_by(&mut ana, &id, &sent).await,
        json!([{"emoji": "👍", "count": 1, "me": false}, {"emoji": "❤️", "count": 1, "me": true}])
    );
    assert_eq!(react(&mut ana, Method::PUT, &thumbs).await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        reactions_seen_by(&mut bruno, &id, &sent).await,
        json!([{"emoji": "👍", "count": 2, "me": true}, {"emoji": "❤️", "count": 1, "me": false}])
    );

    for _ in 0..2 {
        assert_eq!(
            react(&mut bruno, Method::DELETE, &thumbs).await.0,
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(react(&mut ana, Method::DELETE, &heart).await.0, StatusCode::NO_CONTENT);
    for socket in [&mut ana_tab, &mut bruno_socket, &mut zed_socket] {
        assert_eq!(socket.expect("reaction").await, expected("👍", ana.user_id, true));
        assert_eq!(socket.expect("reaction").await, expected("👍", bruno.user_id, false));
        assert_eq!(socket.expect("reaction").await, expected("❤️", ana.user_id, false));
    }
    assert_eq!(
        reactions_seen_by(&mut bruno, &id, &sent).await,
        json!([{"emoji": "👍", "count": 1, "me": false}])
    );
}

#[sqlx::test]
async fn anything_but_one_emoji_is_refused_and_a_message_holds_twenty(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = group_id(group(&mut ana, &[bruno.user_id], json!({})).await);
    let sent = ana.say(&id, "vote").await;
    let stacked = format!("😀{}", "\u{301}".repeat(20));
    let bad = [
        "abc",
        "a",
        "é",
        "1",
        "+",
        "%20",
        "%07",
        "%E2%80%8B",
        "👍👍",
        "👍%20",
        &stacked,
    ];
    for emoji in bad {
        let (status, body) = react(&mut ana, Method::PUT, &reaction_path(&id, &sent, emoji)).await;
        assert_eq!(
            error_code(status, &body, StatusCode::BAD_REQUEST),
            "validation_error",
            "{emoji:?}"
        );
        assert_eq!(body["field"], "emoji", "{emoji:?}: {body}");
    }
    assert_eq!(reactions_seen_by(&mut ana, &id, &sent).await, json!([]));

    let twenty = [
        "😀", "😂", "😍", "😎", "😢", "😡", "👍", "👎", "👏", "🙏", "🔥", "🎉", "❤️", "💯", "✅", "❌", "🚀", "👀",
        "🤔", "🇵🇹",
    ];
    for emoji in twenty {
        let (status, body) = react(&mut ana, Method::PUT, &reaction_path(&id, &sent, emoji)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{emoji}: {body}");
    }
    let (status, body) = react(&mut bruno, Method::PUT, &reaction_path(&id, &sent, "👨‍👩‍👧‍👦")).await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");
    // Another user may still add one of the twenty.
    let (status, _) = react(&mut bruno, Method::PUT, &reaction_path(&id, &sent, "🇵🇹")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let seen = reactions_seen_by(&mut bruno, &id, &sent).await;
    assert_eq!(seen.as_array().unwrap().len(), 20);
    assert_eq!(seen[19], json!({"emoji": "🇵🇹", "count": 2, "me": true}));
    assert_eq!(seen[0], json!({"emoji": "😀", "count": 1, "me": false}));
}

#[sqlx::test]
async fn only_participants_with_write_access_react_and_tombstones_take_none(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    let mut sam = app.member(&acme, "Sam", Role::Write).await;
    let mut callers = Vec::new();
    for (name, tenant, role) in [
        ("Mia", &acme, Role::Write),
        ("Rita", &acme, Role::Read),
        ("Zed", &acme, Role::Write),
        ("Ada", &acme, Role::Admin),
        ("Eve", &globex, Role::Admin),
    ] {
        callers.push((name, app.member(tenant, name, role).await));
    }
    let (mia, rita) = (callers[0].1.user_id, callers[1].1.user_id);
    let private = group_id(group(&mut sam, &[mia, rita], json!({})).await);
    let shared = group_id(group(&mut sam, &[mia], json!({"visibility": "tenant"})).await);
    let in_private = sam.say(&private, "private").await;
    let in_shared = sam.say(&shared, "shared").await;
    let cells = [
        ("Rita", &private, &in_private, 403, "write_permission_required"),
        ("Zed", &private, &in_private, 403, "not_a_participant"),
        ("Zed", &shared, &in_shared, 403, "not_a_participant"),
        ("Ada", &private, &in_private, 403, "not_a_participant"),
        ("Eve", &private, &in_private, 404, "not_found"),
        ("Mia", &shared, &in_private, 404, "not_found"),
        ("Mia", &private, &in_private, 204, ""),
    ];
    for (name, conversation, message, status, code) in cells {
        let caller = &mut callers.iter_mut().find(|(n, _)| *n == name).unwrap().1;
        for method in [Method::PUT, Method::DELETE] {
            let (got, body) = react(caller, method.clone(), &reaction_path(conversation, message, "👍")).await;
            assert_eq!(got.as_u16(), status, "{name} {method}: {body}");
            if !code.is_empty() {
                assert_eq!(body["error"], code, "{name} {method}: {body}");
            }
        }
    }
    let mut mia = callers.swap_remove(0).1;

    // A deleted message drops its reactions and takes no new ones; removing stays harmless.
    let thumbs = reaction_path(&private, &in_private, "👍");
    assert_eq!(react(&mut mia, Method::PUT, &thumbs).await.0, StatusCode::NO_CONTENT);
    let message = format!(
        "/api/chat/conversations/{private}/messages/{}/",
        in_private["id"].as_str().unwrap()
    );
    assert_eq!(sam.delete(&message).await.0, StatusCode::NO_CONTENT);
    assert_eq!(reactions_seen_by(&mut mia, &private, &in_private).await, json!([]));
    let (status, body) = react(&mut mia, Method::PUT, &reaction_path(&private, &in_private, "🎉")).await;
    assert_eq!(error_code(status, &body, StatusCode::CONFLICT), "message_deleted");
    assert_eq!(react(&mut mia, Method::DELETE, &thumbs).await.0, StatusCode::NO_CONTENT);
}
