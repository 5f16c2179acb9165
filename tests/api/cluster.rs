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
    helpers::{spawn_node, spawn_with_redis, Layer, TestApp},
    sockets::Socket,
};

#[sqlx::test]
async fn two_nodes_share_messages_and_presence_through_redis(pool: PgPool) {
    let layer = Layer::redis();
    let node_a = spawn_node(pool.clone(), layer.clone()).await;
    let node_b = spawn_node(pool, layer).await;
    let acme = node_a.tenant("acme").await;
    let mut ana = node_a.member(&acme, "Ana", Role::Write).await;
    let bruno_id = node_a.user(&acme, "Bruno", Role::Write).await;
    let mut bruno = node_b.login(&acme, "Bruno", bruno_id).await;
    let id = ana.start_with(bruno_id).await;

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

/// A `redis-server` of the test's own, on a free port, killed on drop.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn start() -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = OwnRedis { port, child: None };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
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

    fn stop(&mut self) {
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

async fn say_until_delivered(ana: &mut crate::helpers::Client, socket: &mut Socket, id: &str) {
    // After Redis returns, the node resubscribes with backoff; a message sent before
    // that is not live-delivered (it is in the history). Send until one arrives.
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
    say_until_delivered(&mut ana, &mut bruno_socket, &id).await;
}
