//! Several nodes behind one Redis, and a Redis that goes away and comes back.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use tenantchat::domain::Role;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::{
    helpers::{spawn_with_redis, two_redis_nodes, Client, Layer, TestApp},
    sockets::Socket,
};

#[sqlx::test]
async fn two_nodes_share_messages_and_presence_through_redis(pool: PgPool) {
    let (node_a, node_b) = two_redis_nodes(pool).await;
    let (mut ana, mut bruno, id) = ana_on_a_talks_to_bruno_on_b(&node_a, &node_b).await;

    let mut bruno_socket = bruno.socket().await;
    let ana_socket = ana.socket().await;
    let seen = bruno_socket
        .until(|e| e["type"] == "presence" && e["user_id"] == ana.user_id.to_string())
        .await;
    assert_eq!(seen.last().unwrap()["is_online"], true, "presence crosses nodes");
    let online = |list: &serde_json::Value| {
        list.as_array().unwrap().iter().find(|u| u["name"] == "Ana").unwrap()["is_online"].clone()
    };
    let (_, list) = bruno.get("/api/chat/conversations/presence/").await;
    assert_eq!(online(&list), json!(true), "node B sees Ana's socket on node A");

    let sent = ana.say(&id, "from node A").await;
    let event = bruno_socket.expect("message_created").await;
    assert_eq!(event["message"]["id"], sent["id"]);

    // Node A stops: its sockets close with 1012 and Ana goes offline for node B too.
    node_a.realtime().shutdown();
    let mut ana_socket = ana_socket;
    assert_eq!(ana_socket.closed().await, Some(CloseCode::Restart));
    let seen = bruno_socket
        .until(|e| e["type"] == "presence" && e["is_online"] == false)
        .await;
    assert_eq!(seen.last().unwrap()["user_id"], ana.user_id.to_string());
    let (_, list) = bruno.get("/api/chat/conversations/presence/").await;
    assert_eq!(online(&list), json!(false));
}

/// Ana, signed in on node A, and Bruno, on node B, in a 1-to-1 conversation of tenant acme.
async fn ana_on_a_talks_to_bruno_on_b(node_a: &TestApp, node_b: &TestApp) -> (Client, Client, String) {
    let acme = node_a.tenant("acme").await;
    let mut ana = node_a.member(&acme, "Ana", Role::Write).await;
    let bruno_id = node_a.user(&acme, "Bruno", Role::Write).await;
    let bruno = node_b.login(&acme, "Bruno", bruno_id).await;
    let id = ana.start_with(bruno_id).await;
    (ana, bruno, id)
}

#[sqlx::test]
async fn presence_across_nodes_changes_only_when_the_user_as_a_whole_does(pool: PgPool) {
    let (node_a, node_b) = two_redis_nodes(pool).await;
    let acme = node_a.tenant("acme").await;
    let ana_on_a = node_a.member(&acme, "Ana", Role::Write).await;
    let ana_on_b = node_b.login(&acme, "Ana", ana_on_a.user_id).await;
    let bruno = node_b.member(&acme, "Bruno", Role::Write).await;
    let carla = node_a.member(&acme, "Carla", Role::Write).await;
    let mut watcher = bruno.socket().await;
    watcher
        .send_json(json!({"type": "presence_subscribe", "user_ids": [ana_on_a.user_id, carla.user_id]}))
        .await;
    watcher.expect("presence_state").await;

    let tab_a = ana_on_a.socket().await;
    let tab_b = ana_on_b.socket().await;
    let seen = watcher.presence_of(ana_on_a.user_id, true).await;
    assert_eq!(seen, [(ana_on_a.user_id.to_string(), true)]);
    tab_a.close().await;
    // Carla is the sentinel: Ana's socket on node B keeps her online, so nothing of her comes first.
    let _carla_socket = carla.socket().await;
    let seen = watcher.presence_of(carla.user_id, true).await;
    assert_eq!(
        seen,
        [(carla.user_id.to_string(), true)],
        "Ana went from 2 sockets to 1"
    );
    tab_b.close().await;
    let seen = watcher.presence_of(ana_on_a.user_id, false).await;
    assert_eq!(
        seen,
        [(ana_on_a.user_id.to_string(), false)],
        "her last socket, on the other node"
    );
}

#[sqlx::test]
async fn a_message_to_a_large_group_reaches_its_sockets_on_every_node_in_order(pool: PgPool) {
    // 20 members: over the count from which an event crosses Redis as one fan-out
    // message for every node instead of one message per member.
    let (node_a, node_b) = two_redis_nodes(pool).await;
    let acme = node_a.tenant("acme").await;
    let mut ana = node_a.member(&acme, "Ana", Role::Write).await;
    let bruno_id = node_a.user(&acme, "Bruno", Role::Write).await;
    let bruno = node_b.login(&acme, "Bruno", bruno_id).await;
    let carla = node_a.member(&acme, "Carla", Role::Write).await;
    let mut members = vec![bruno_id, carla.user_id];
    for i in 0..17 {
        members.push(node_a.user(&acme, &format!("Member{i}"), Role::Write).await);
    }
    let group = crate::groups::group(&mut ana, &members, json!({})).await;
    let id = group["id"].as_str().unwrap().to_string();

    let mut on_b = bruno.socket().await;
    let mut on_a = carla.socket().await;
    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(ana.say(&id, &format!("to all {i}")).await["id"].clone());
    }
    for socket in [&mut on_a, &mut on_b] {
        let mut received = Vec::new();
        for _ in 0..3 {
            received.push(socket.expect("message_created").await["message"]["id"].clone());
        }
        assert_eq!(received, sent, "every message, once, in order");
    }
}

/// A `redis-server` of the test's own, on a free port, killed on drop.
pub struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    pub fn start() -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = OwnRedis { port, child: None };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn say_until_delivered(ana: &mut Client, socket: &mut Socket, id: &str) {
    // A socket says `connected` only once subscribed, but right after Redis returns the
    // sender's node may still be reconnecting its command pool: a message whose publish
    // failed is in the history, not live. Send until one arrives.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let sent = ana.say(id, "are events back?").await;
        if let Some(event) = socket
            .expect_within("message_created", Duration::from_millis(500))
            .await
        {
            assert_eq!(event["message"]["conversation"], sent["conversation"]);
            return;
        }
        assert!(
            Instant::now() < deadline,
            "events did not flow again after Redis came back"
        );
    }
}

#[sqlx::test]
async fn the_app_survives_a_redis_outage_and_events_flow_again(pool: PgPool) {
    let mut redis = OwnRedis::start();
    let app: TestApp = spawn_with_redis(pool, Some(redis.url()), Layer::redis()).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let mut bruno_socket = bruno.socket().await;
    say_until_delivered(&mut ana, &mut bruno_socket, &id).await;

    redis.stop();
    // What is published while the node is not subscribed never reaches it: the socket is
    // told so (1013) and its client catches up over REST, instead of a silent gap.
    assert_eq!(bruno_socket.closed().await, Some(CloseCode::Again));
    let sent = ana.say(&id, "while redis is down").await;
    let history = bruno.messages(&id, "").await;
    assert_eq!(
        history.last().unwrap()["id"],
        sent["id"],
        "REST works and nothing acknowledged is lost"
    );
    let (status, _) = bruno.get("/api/chat/conversations/presence/").await;
    assert_eq!(status, StatusCode::OK);

    redis.restart();
    let mut bruno_socket = bruno.socket().await;
    say_until_delivered(&mut ana, &mut bruno_socket, &id).await;
}

/// Sets `maxmemory` of a test's own Redis: at 1 byte, with `noeviction`, Redis refuses
/// every command that would store something, so the ordered publish of a message (a
/// script that records the conversation's last seq) fails, while plain PUBLISH still
/// works and the nodes stay subscribed.
async fn redis_maxmemory(url: &str, bytes: u64) {
    let client = redis::Client::open(url).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    for (name, value) in [
        ("maxmemory-policy", "noeviction".to_string()),
        ("maxmemory", bytes.to_string()),
    ] {
        redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .query_async::<()>(&mut redis)
            .await
            .unwrap();
    }
}

#[sqlx::test]
async fn an_event_one_node_could_not_publish_closes_the_sockets_waiting_for_it_on_every_node(pool: PgPool) {
    let redis = OwnRedis::start();
    let layer = Layer::redis();
    let node_a = spawn_with_redis(pool.clone(), Some(redis.url()), layer.clone()).await;
    let node_b = spawn_with_redis(pool, Some(redis.url()), layer).await;
    let (mut ana, mut bruno, id) = ana_on_a_talks_to_bruno_on_b(&node_a, &node_b).await;
    let mut bruno_socket = bruno.socket().await;
    say_until_delivered(&mut ana, &mut bruno_socket, &id).await;

    redis_maxmemory(&redis.url(), 1).await;
    let sent = ana.say(&id, "committed on node A, never published").await;
    // Node B never received the event: without node A's `missed` marker its socket
    // would carry on with a gap. It is told (1013), and its client catches up.
    assert_eq!(bruno_socket.closed().await, Some(CloseCode::Again));
    redis_maxmemory(&redis.url(), 0).await;
    let history = bruno.messages(&id, "").await;
    assert_eq!(
        history.last().unwrap()["id"],
        sent["id"],
        "the message is in the history"
    );
    let mut bruno_socket = bruno.socket().await;
    say_until_delivered(&mut ana, &mut bruno_socket, &id).await;
}

/// A request to `base` with a credential captured earlier (the client's own cookie jar
/// forgets a session at logout; a thief's copy does not).
async fn status_with(base: &str, path: &str, credential: (&str, &str)) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header(credential.0, credential.1)
        .send()
        .await
        .unwrap()
        .status()
}

/// Each node keeps the sessions and tokens it checked for a few seconds. Whatever ends
/// or changes a credential on one node ends it on every node at once, however warm the
/// other node's cache is.
#[sqlx::test]
async fn logout_deactivation_role_change_and_revocation_on_one_node_count_at_once_on_the_other(pool: PgPool) {
    let (node_a, node_b) = two_redis_nodes(pool).await;
    let acme = node_a.tenant("acme").await;
    let mut admin = node_a.member(&acme, "Ada", Role::Admin).await;
    let me = "/api/auth/me/";

    // Logout on A: the same cookie, just used on B, is refused on B.
    let mut ana = node_a.member(&acme, "Ana", Role::Write).await;
    let ana_cookie = ana.cookie_header();
    let ana_session = ("Cookie", ana_cookie.as_str());
    for _ in 0..2 {
        assert_eq!(status_with(&node_b.base, me, ana_session).await, StatusCode::OK);
    }
    let (status, _) = ana.post("/api/auth/logout/", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        status_with(&node_b.base, me, ana_session).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_with(&node_a.base, me, ana_session).await,
        StatusCode::UNAUTHORIZED
    );

    // Revoking a token on A: B refuses the token.
    let mut bruno = node_a.member(&acme, "Bruno", Role::Write).await;
    let (_, token) = bruno.post("/api/auth/tokens/", json!({"name": "script"})).await;
    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
    let bruno_token = ("Authorization", bearer.as_str());
    assert_eq!(status_with(&node_b.base, me, bruno_token).await, StatusCode::OK);
    let (status, _) = bruno
        .delete(&format!("/api/auth/tokens/{}/", token["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        status_with(&node_b.base, me, bruno_token).await,
        StatusCode::UNAUTHORIZED
    );

    // A role change on A: B applies the new role to the next request.
    let carla_id = node_a.user(&acme, "Carla", Role::Write).await;
    let mut carla = node_b.login(&acme, "Carla", carla_id).await;
    let id = carla.start_with(bruno.user_id).await;
    carla.say(&id, "still a writer").await;
    let req = admin
        .request(reqwest::Method::PATCH, &format!("/api/admin/users/{carla_id}/"))
        .json(&json!({"role": "read"}));
    let (status, body) = admin.send(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = carla
        .post(
            &format!("/api/chat/conversations/{id}/messages/"),
            json!({"content": "now?"}),
        )
        .await;
    assert_eq!(
        crate::helpers::error_code(status, &body, StatusCode::FORBIDDEN),
        "write_permission_required"
    );

    // Deactivation on A: B refuses the session.
    let dora_id = node_a.user(&acme, "Dora", Role::Write).await;
    let dora = node_b.login(&acme, "Dora", dora_id).await;
    let dora_cookie = dora.cookie_header();
    let dora_session = ("Cookie", dora_cookie.as_str());
    assert_eq!(status_with(&node_b.base, me, dora_session).await, StatusCode::OK);
    let (status, _) = admin.delete(&format!("/api/admin/users/{dora_id}/")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        status_with(&node_b.base, me, dora_session).await,
        StatusCode::UNAUTHORIZED
    );
}
