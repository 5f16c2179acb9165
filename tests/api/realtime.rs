//! `/ws/chat/` and the channel layer. Every scenario runs twice: on the in-memory layer
//! and on real Redis (a unique key prefix per test).

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use tenantchat::domain::Role;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::{
    helpers::{spawn_node, spawn_node_with, Layer},
    sockets::{Socket, WAIT},
};

on_both_layers!(
    message_created_reaches_the_recipient_and_every_tab_of_the_sender,
    typing_reaches_the_others_but_not_the_typist,
    acks_and_reads_tick_the_senders_messages,
    unauthenticated_sockets_are_closed_with_4401,
    a_foreign_origin_is_refused,
    a_malformed_frame_gets_an_error_frame_and_the_socket_stays_usable,
    events_of_a_conversation_arrive_in_seq_order_under_concurrent_sends,
    a_client_that_stops_reading_for_a_while_then_gets_every_event_whole_and_in_order,
    a_reconnecting_client_catches_up_with_after_seq,
    logout_and_token_revocation_close_their_sockets,
    a_new_conversation_is_announced_to_its_members,
    shutdown_closes_sockets_with_1012,
    a_user_past_the_socket_cap_is_closed_with_1008,
);

async fn message_created_reaches_the_recipient_and_every_tab_of_the_sender(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let mut ana_tab1 = ana.socket().await;
    let mut ana_tab2 = ana.socket().await;
    let mut bruno_socket = bruno.socket().await;

    let sent = ana.say(&id, "hello live").await;
    for socket in [&mut bruno_socket, &mut ana_tab1, &mut ana_tab2] {
        let event = socket.expect("message_created").await;
        assert_eq!(event["conversation_id"], id);
        assert_eq!(
            event["message"], sent,
            "the event carries the message as REST returned it"
        );
    }
}

async fn typing_reaches_the_others_but_not_the_typist(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let mut ana_socket = ana.socket().await;
    let mut bruno_socket = bruno.socket().await;

    ana_socket
        .send_json(json!({"type": "typing", "conversation_id": id}))
        .await;
    let typing = bruno_socket.expect("typing").await;
    assert_eq!(
        typing,
        json!({"type": "typing", "conversation_id": id, "user_id": ana.user_id, "user_name": "Ana"})
    );

    let (status, body) = ana
        .post(&format!("/api/chat/conversations/{id}/typing/"), json!({}))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    assert_eq!(bruno_socket.expect("typing").await["user_id"], ana.user_id.to_string());

    // Ana's own socket: the next event she gets is her message, with no typing before it.
    ana.say(&id, "sentinel").await;
    let seen = ana_socket.until(|e| e["type"] == "message_created").await;
    assert!(
        seen.iter().all(|e| e["type"] != "typing"),
        "typing echoed to the typist: {seen:?}"
    );
}

async fn acks_and_reads_tick_the_senders_messages(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let mut ana_socket = ana.socket().await;
    let mut bruno_socket = bruno.socket().await;
    ana.say(&id, "one").await;
    ana.say(&id, "two").await;
    bruno_socket.expect("message_created").await;

    bruno_socket
        .send_json(json!({"type": "ack", "conversation_id": id, "seq": 2}))
        .await;
    let tick = ana_socket.expect("message_status").await;
    assert_eq!(
        tick,
        json!({"type": "message_status", "conversation_id": id, "seq": 2, "status": "delivered"})
    );
    assert_eq!(ana.messages(&id, "").await[1]["status"], "delivered");

    bruno_socket
        .send_json(json!({"type": "read", "conversation_id": id, "seq": 1}))
        .await;
    let read = ana_socket.expect("read").await;
    assert_eq!(
        read,
        json!({"type": "read", "conversation_id": id, "user_id": bruno.user_id, "seq": 1})
    );
    let tick = ana_socket.expect("message_status").await;
    assert_eq!((tick["seq"].clone(), tick["status"].clone()), (json!(1), json!("read")));
    let statuses: Vec<_> = ana
        .messages(&id, "")
        .await
        .iter()
        .map(|m| m["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("read"), json!("delivered")]);
    assert_eq!(
        bruno.conversation(&id).await["unread_count"],
        1,
        "reading up to seq 1 leaves one unread"
    );

    // REST mark_read ticks the rest.
    bruno
        .post(&format!("/api/chat/conversations/{id}/mark_read/"), json!({}))
        .await;
    let tick = ana_socket.expect("message_status").await;
    assert_eq!((tick["seq"].clone(), tick["status"].clone()), (json!(2), json!("read")));
}

async fn unauthenticated_sockets_are_closed_with_4401(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let mut anonymous = Socket::connect(&app.base, "", Some(&app.base), None).await.unwrap();
    assert_eq!(anonymous.closed().await, Some(CloseCode::from(4401)));
    let mut forged = Socket::connect(&app.base, "sessionid=forged", Some(&app.base), None)
        .await
        .unwrap();
    assert_eq!(forged.closed().await, Some(CloseCode::from(4401)));
    let mut bad_token = Socket::connect(&app.base, "", None, Some("tc_nope")).await.unwrap();
    assert_eq!(bad_token.closed().await, Some(CloseCode::from(4401)));
}

async fn a_foreign_origin_is_refused(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let refused = Socket::connect(&app.base, &ana.cookie_header(), Some("https://evil.example"), None).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 403),
        other => panic!("expected a refused handshake, got {:?}", other.map(|_| "a socket")),
    }
    // A cookie without any Origin is not a browser on our page either.
    let mut no_origin = Socket::connect(&app.base, &ana.cookie_header(), None, None)
        .await
        .unwrap();
    assert_eq!(no_origin.closed().await, Some(CloseCode::from(4401)));
    // A script with a token needs no Origin.
    let (_, token) = ana.post("/api/auth/tokens/", json!({"name": "bot"})).await;
    Socket::open(&app.base, "", None, token["token"].as_str()).await;
}

async fn a_malformed_frame_gets_an_error_frame_and_the_socket_stays_usable(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let ana = app.member(&acme, "Ana", Role::Write).await;
    let mut socket = ana.socket().await;
    for bad in [
        "not json".to_string(),
        json!({"type": "dance"}).to_string(),
        json!({"type": "ack", "conversation_id": "nope", "seq": 1}).to_string(),
    ] {
        socket.send_text(bad.clone()).await;
        let error = socket.expect("error").await;
        assert_eq!(error["error"], "invalid_frame", "{bad}: {error}");
        assert!(error["message"].is_string());
    }
    socket
        .send_json(json!({"type": "typing", "conversation_id": uuid::Uuid::new_v4()}))
        .await;
    assert_eq!(socket.expect("error").await["error"], "not_found");
    socket.send_json(json!({"type": "ping"})).await;
    assert_eq!(socket.expect("pong").await, json!({"type": "pong"}));

    // Frames over 64 KB close the socket. The server refuses the frame by its header and
    // closes without reading the rest; a client still writing the 70 KB then meets a TCP
    // reset (the kernel's answer to closing with unread data) instead of the 1009 close
    // frame. Either way the socket is over; when the write finished first, the close
    // frame says why.
    if socket.try_send_text("x".repeat(70 * 1024)).await {
        let code = socket.closed().await;
        assert!(
            matches!(code, Some(CloseCode::Size) | None),
            "frames over 64 KB close the socket with 1009 (or a reset), got {code:?}"
        );
    }
}

/// Events are written to a waiting socket by the dispatch itself; when the client does
/// not read (a busy tab, a slow link), the writes back up part-way through a frame, and
/// what is left must go out before anything else, whole, once the client reads again.
async fn a_client_that_stops_reading_for_a_while_then_gets_every_event_whole_and_in_order(pool: PgPool, layer: Layer) {
    // About 6 MB of events: more than the kernel holds between the two ends (a sender's
    // buffer grows to 4 MB at most), far fewer events than the socket's queue takes.
    const MESSAGES: usize = 300;
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let mut narrow = Socket::open_narrow(&bruno.base, &bruno.cookie_header(), &bruno.base).await;

    // The longest content allowed, in 4-byte characters: frames of 20 KB.
    let content = |i: usize| format!("{i:04} {}", "😀".repeat(4_995));
    for i in 0..MESSAGES {
        ana.say(&id, &content(i)).await;
    }
    for i in 0..MESSAGES {
        let event = narrow.expect("message_created").await;
        assert_eq!(event["message"]["seq"], i + 1);
        assert_eq!(event["message"]["content"], content(i));
    }
}

async fn events_of_a_conversation_arrive_in_seq_order_under_concurrent_sends(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.member(&acme, "Carla", Role::Write).await;
    let (_, group) = ana
        .post(
            "/api/chat/conversations/",
            json!({"title": "G", "participant_ids": [bruno.user_id, carla.user_id]}),
        )
        .await;
    let id = group["id"].as_str().unwrap().to_string();
    let mut watcher = carla.socket().await;

    let path = format!("/api/chat/conversations/{id}/messages/");
    let sends = (0..40).map(|i| {
        let sender = if i % 2 == 0 { &ana } else { &bruno };
        sender
            .request(Method::POST, &path)
            .json(&json!({"content": format!("m{i}")}))
            .send()
    });
    for resp in join_all(sends).await {
        assert_eq!(resp.unwrap().status(), StatusCode::CREATED);
    }
    let mut seqs = Vec::new();
    while seqs.len() < 40 {
        seqs.push(
            watcher.expect("message_created").await["message"]["seq"]
                .as_i64()
                .unwrap(),
        );
    }
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
}

async fn a_reconnecting_client_catches_up_with_after_seq(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let mut socket = bruno.socket().await;
    ana.say(&id, "before").await;
    let last_seen = socket.expect("message_created").await["message"]["seq"]
        .as_i64()
        .unwrap();
    socket.close().await;

    ana.say(&id, "while away 1").await;
    ana.say(&id, "while away 2").await;

    let mut socket = bruno.socket().await;
    let missed = bruno.messages(&id, &format!("?after_seq={last_seen}")).await;
    let contents: Vec<_> = missed.iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["while away 1", "while away 2"]);
    ana.say(&id, "after").await;
    assert_eq!(socket.expect("message_created").await["message"]["content"], "after");
}

async fn logout_and_token_revocation_close_their_sockets(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut other_session = app.login(&acme, "Ana", ana.user_id).await;
    let (_, token) = ana.post("/api/auth/tokens/", json!({"name": "bot"})).await;
    let mut session_socket = ana.socket().await;
    let mut other_socket = other_session.socket().await;
    let mut token_socket = Socket::open(&app.base, "", None, token["token"].as_str()).await;

    let (status, _) = ana.post("/api/auth/logout/", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(session_socket.closed().await, Some(CloseCode::from(4401)));

    let token_id = token["id"].as_str().unwrap();
    let (status, _) = other_session.delete(&format!("/api/auth/tokens/{token_id}/")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(token_socket.closed().await, Some(CloseCode::from(4401)));

    // The other session's socket was not touched.
    other_socket.send_json(json!({"type": "ping"})).await;
    assert_eq!(other_socket.expect("pong").await["type"], "pong");
}

async fn a_new_conversation_is_announced_to_its_members(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.member(&acme, "Carla", Role::Write).await;
    let mut bruno_socket = bruno.socket().await;
    let mut carla_socket = carla.socket().await;

    let id = ana.start_with(bruno.user_id).await;
    let update = bruno_socket.expect("conversation_updated").await;
    assert_eq!(update["conversation"]["id"], id);
    assert_eq!(update["conversation"]["title"], "Ana", "titled for the recipient");

    let (_, group) = ana
        .post(
            "/api/chat/conversations/",
            json!({"participant_ids": [bruno.user_id, carla.user_id]}),
        )
        .await;
    let update = carla_socket.expect("conversation_updated").await;
    assert_eq!(update["conversation"]["id"], group["id"]);
    assert_eq!(
        update["conversation"]["title"], "Ana, Bruno",
        "an untitled group names the others"
    );
    assert_eq!(update["conversation"]["participants"].as_array().unwrap().len(), 3);
}

async fn shutdown_closes_sockets_with_1012(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let ana = app.member(&acme, "Ana", Role::Write).await;
    let mut socket = ana.socket().await;
    app.realtime().shutdown();
    assert_eq!(socket.closed().await, Some(CloseCode::Restart));
}

/// One user's sockets on a node are capped: the next one is closed with 1008 `too many
/// sockets`, other users are not affected, and closing one lets a new one in.
async fn a_user_past_the_socket_cap_is_closed_with_1008(pool: PgPool, layer: Layer) {
    let app = spawn_node_with(pool, layer, |c| c.ws_max_sockets_per_user = 2).await;
    let acme = app.tenant("acme").await;
    let ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let cookie = ana.cookie_header();
    let connect = || Socket::connect(&ana.base, &cookie, Some(&ana.base), None);
    let first = ana.socket().await;
    let _second = ana.socket().await;
    let mut third = connect().await.unwrap();
    assert_eq!(
        third.closed_with_reason().await,
        Some((CloseCode::Policy, "too many sockets".to_string()))
    );
    let _bruno = bruno.socket().await;

    first.close().await;
    // The node gives the place back once it has seen the close.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        match connect().await.unwrap().next_text_or_close().await {
            Ok(text) => {
                assert!(text.contains("\"connected\""), "{text}");
                break;
            }
            Err(Some(CloseCode::Policy)) if std::time::Instant::now() < deadline => {}
            Err(other) => panic!("no place after closing a socket: {other:?}"),
        }
    }
}
