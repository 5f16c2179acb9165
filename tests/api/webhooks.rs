//! Bots and tenant webhooks over the delivery engine, against fake receivers on
//! 127.0.0.1 (allowed by `WEBHOOK_ALLOWED_HOSTS`, as an operator would for local bots).

use std::{sync::Arc, time::Duration};

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::PgPool;
use tenantchat::{domain::Role, Config};

use crate::{
    groups::group,
    helpers::{error_code, spawn_configured, Client, TestApp},
    receiver::{Received, Receiver},
};

/// An app whose delivery engine runs, with 127.0.0.1 allowed and `adjust` applied.
pub async fn spawn_with_hooks(pool: PgPool, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let app = spawn_configured(pool, |config| {
        config.webhook_allowed_hosts = vec!["127.0.0.1".into()];
        adjust(config);
    })
    .await;
    app.state.as_ref().unwrap().webhooks.spawn();
    app
}

/// Creates a bot pointing at `url`; returns (bot id, token, secret).
pub async fn create_bot(admin: &mut Client, url: &str) -> (String, String, String) {
    let (status, bot) = admin
        .post("/api/admin/bots/", json!({"name": "Helper", "webhook_url": url}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bot}");
    let text = |k: &str| bot[k].as_str().unwrap().to_string();
    (text("id"), text("token"), text("secret"))
}

/// A group of `admin`, `member` and the bot; returns its id.
pub async fn group_with_bot(admin: &mut Client, member: uuid::Uuid, bot_id: &str) -> String {
    let bot = bot_id.parse().expect("a bot id");
    group(admin, &[member, bot], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Creates a tenant webhook for `events` pointing at `url`; returns it as created.
pub async fn create_webhook(admin: &mut Client, url: &str, events: &[&str]) -> Value {
    let (status, webhook) = admin
        .post("/api/admin/webhooks/", json!({"url": url, "events": events}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{webhook}");
    webhook
}

/// A bot's delivery whose one attempt was answered `status`, past its retry window (no
/// automatic retry: only an admin's), and the admin who can read its log.
pub struct FailedDelivery {
    /// Kept alive with the rest.
    pub app: TestApp,
    pub ana: Client,
    /// Answers `status` once, then 200.
    pub hook: Receiver,
    pub bot_id: String,
    /// The bot's admin path, `/api/admin/bots/{id}/`.
    pub path: String,
    /// The delivery as its log shows it.
    pub failed: Value,
}

pub async fn failed_delivery(pool: PgPool, status: u16) -> FailedDelivery {
    let app = spawn_with_hooks(pool, |c| c.webhook_retry_for_seconds = 0).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let mut hook = Receiver::start(Arc::new(move |n| (if n == 0 { status } else { 200 }, String::new()))).await;
    let (bot_id, _, _) = create_bot(&mut ana, &hook.url).await;
    let id = group_with_bot(&mut ana, bruno.user_id, &bot_id).await;
    ana.say(&id, "hello").await;
    hook.next().await;
    let path = format!("/api/admin/bots/{bot_id}/");
    let failed = log_until(&mut ana, &path, |d| d["status"] == "failed").await;
    FailedDelivery {
        app,
        ana,
        hook,
        bot_id,
        path,
        failed,
    }
}

/// What a receiver checks: the signature over the raw body, and a recent timestamp
/// equal in the header and the body.
pub fn verify(received: &Received, secret: &str) {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&received.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(received.header("x-tenantchat-signature"), expected);
    let body = received.json();
    let ts = body["timestamp"].as_i64().unwrap();
    assert_eq!(received.header("x-tenantchat-timestamp"), ts.to_string());
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 300, "a fresh timestamp");
    assert_eq!(received.header("x-tenantchat-delivery"), body["id"].as_str().unwrap());
}

async fn deliveries(admin: &mut Client, path: &str) -> Vec<Value> {
    let (status, log) = admin.get(&format!("{path}deliveries/")).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    log.as_array().unwrap().clone()
}

/// Reads the delivery log until `done` holds for the newest entry (the engine records
/// an outcome just after the receiver answers).
pub async fn log_until(admin: &mut Client, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..600 {
        if let Some(newest) = deliveries(admin, path).await.first().filter(|d| done(d)) {
            return newest.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the delivery log never showed the expected state");
}

#[sqlx::test]
async fn a_bot_gets_signed_messages_of_its_conversations_and_answers_as_kind_bot(pool: PgPool) {
    let app = spawn_with_hooks(pool, |_| {}).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let mut hook = Receiver::ok().await;
    let (bot_id, token, secret) = create_bot(&mut ana, &hook.url).await;
    let conversation = group(&mut ana, &[bruno.user_id], json!({})).await;
    let id = conversation["id"].as_str().unwrap().to_string();
    ana.say(&id, "before the bot joined").await;
    let (status, body) = ana
        .post(
            &format!("/api/chat/conversations/{id}/participants/"),
            json!({"user_ids": [bot_id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut socket = bruno.socket().await;
    let asked_at = std::time::Instant::now();
    let sent = ana.say(&id, "bot, what time is it?").await;

    let received = hook.next().await;
    verify(&received, &secret);
    let body = received.json();
    assert_eq!(body["event"], "message_created");
    assert_eq!(body["data"]["message"]["id"], sent["id"]);
    assert_eq!(body["data"]["message"]["content"], "bot, what time is it?");
    assert_eq!(body["data"]["message"]["sender"]["kind"], "person");

    // The bot answers with its token; everyone sees a `kind: bot` message.
    let mut bot = app.anonymous();
    bot.bearer = Some(token);
    let answered_at = std::time::Instant::now();
    let reply = bot.say(&id, "It is tea time.").await;
    assert_eq!(reply["kind"], "bot");
    let seen = socket
        .until(|f| f["type"] == "message_created" && f["message"]["kind"] == "bot")
        .await;
    let event = seen.last().unwrap();
    assert_eq!(event["message"]["content"], "It is tea time.");
    println!(
        "bot round trip: webhook received {:?} after the send; the reply reached a socket {:?} after the bot answered",
        received.at - asked_at,
        answered_at.elapsed()
    );
    // Its own message is not sent back to it; the message before it joined never was.
    assert!(hook.next_within(Duration::from_millis(300)).await.is_none());
    let log = log_until(&mut ana, &format!("/api/admin/bots/{bot_id}/"), |d| {
        d["status"] == "delivered"
    })
    .await;
    assert_eq!(log["attempts"], 1);
    assert_eq!(log["last_status"], 200);
    assert_eq!(
        deliveries(&mut ana, &format!("/api/admin/bots/{bot_id}/")).await.len(),
        1
    );

    let (_, users) = ana.get("/api/admin/users/").await;
    let listed = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == bot_id.as_str())
        .unwrap();
    assert_eq!(listed["kind"], "bot");
    let (_, bots) = ana.get("/api/admin/bots/").await;
    assert_eq!(bots[0]["webhook_url"], hook.url.as_str());
    assert!(bots[0].get("secret").is_none() && bots[0].get("token").is_none());
}

#[sqlx::test]
async fn failed_deliveries_are_retried_with_growing_delays_until_delivered(pool: PgPool) {
    let app = spawn_with_hooks(pool, |c| c.webhook_retry_base_ms = 200).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let mut hook = Receiver::start(Arc::new(|n| (if n < 2 { 500 } else { 200 }, String::new()))).await;
    let (bot_id, _, secret) = create_bot(&mut ana, &hook.url).await;
    let id = group_with_bot(&mut ana, bruno.user_id, &bot_id).await;
    ana.say(&id, "are you there?").await;

    let tries = [hook.next().await, hook.next().await, hook.next().await];
    let ids: Vec<&str> = tries.iter().map(|t| t.header("x-tenantchat-delivery")).collect();
    assert!(
        ids.iter().all(|d| *d == ids[0]),
        "one delivery id across retries: {ids:?}"
    );
    for t in &tries {
        verify(t, &secret);
    }
    // Backoff: the first retry waits at least half the base (jitter), the second at
    // least half of twice the base.
    assert!(tries[1].at - tries[0].at >= Duration::from_millis(100));
    assert!(tries[2].at - tries[1].at >= Duration::from_millis(200));
    let log = log_until(&mut ana, &format!("/api/admin/bots/{bot_id}/"), |d| {
        d["status"] == "delivered"
    })
    .await;
    assert_eq!(log["attempts"], 3);
    assert!(log["next_attempt_at"].is_null());
}

#[sqlx::test]
async fn a_delivery_past_its_retry_window_fails_and_an_admin_can_retry_it(pool: PgPool) {
    let FailedDelivery {
        app: _app,
        mut ana,
        mut hook,
        bot_id,
        path,
        failed,
    } = failed_delivery(pool, 503).await;
    assert_eq!(failed["last_status"], 503);
    assert_eq!(failed["last_error"], "HTTP 503 Service Unavailable");

    let delivery = failed["id"].as_str().unwrap();
    let (status, retried) = ana
        .post(&format!("{path}deliveries/{delivery}/retry/"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(retried["status"], "pending");
    assert_eq!(hook.next().await.header("x-tenantchat-delivery"), delivery);
    let done = log_until(&mut ana, &path, |d| d["status"] == "delivered").await;
    assert_eq!(done["attempts"], 2);

    // The retry is in the tenant's audit log, like every admin act.
    let (_, audit) = ana.get("/api/admin/audit-log/?action=delivery.retry").await;
    assert_eq!(audit["count"], 1, "{audit}");
    let entry = &audit["results"][0];
    assert_eq!(entry["actor"], ana.user_id.to_string());
    assert_eq!(entry["resource_type"], "webhook_delivery");
    assert_eq!(entry["resource_id"], delivery);
    assert_eq!(entry["details"], json!({"bot": bot_id, "event": "message_created"}));

    let (status, body) = ana
        .post(&format!("{path}deliveries/{}/retry/", uuid::Uuid::new_v4()), json!({}))
        .await;
    assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "not_found");
    let (_, audit) = ana.get("/api/admin/audit-log/?action=delivery.retry").await;
    assert_eq!(audit["count"], 1, "a retry of nothing is not recorded");
}

#[sqlx::test]
async fn redirects_are_not_followed(pool: PgPool) {
    let app = spawn_with_hooks(pool, |_| {}).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let mut elsewhere = Receiver::ok().await;
    let location = format!("location: {}\r\n", elsewhere.url);
    let mut hook = Receiver::start(Arc::new(move |_| (302, location.clone()))).await;
    let (bot_id, _, _) = create_bot(&mut ana, &hook.url).await;
    let id = group_with_bot(&mut ana, bruno.user_id, &bot_id).await;
    ana.say(&id, "follow me").await;
    hook.next().await;
    let log = log_until(&mut ana, &format!("/api/admin/bots/{bot_id}/"), |d| {
        !d["last_status"].is_null()
    })
    .await;
    assert_eq!(log["last_status"], 302);
    assert_eq!(log["status"], "pending", "a redirect is a failure, retried later");
    assert!(elsewhere.next_within(Duration::from_millis(500)).await.is_none());
}

#[sqlx::test]
async fn private_and_loopback_webhook_urls_are_refused_unless_allowed(pool: PgPool) {
    let app = spawn_configured(pool, |_| {}).await;
    app.state.as_ref().unwrap().webhooks.spawn();
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let hook = Receiver::ok().await;
    for url in [
        hook.url.clone(),
        format!("http://localhost:{}/hook", hook.port),
        "http://10.0.0.8/hook".into(),
        format!("https://localhost:{}/hook", hook.port),
        "https://10.0.0.8/hook".into(),
        "http://169.254.169.254/latest/meta-data/".into(),
        "http://[::1]/hook".into(),
        "ftp://example.com/hook".into(),
        "not a url".into(),
    ] {
        let (status, body) = ana
            .post("/api/admin/bots/", json!({"name": "Sneaky", "webhook_url": url}))
            .await;
        assert_eq!(
            error_code(status, &body, StatusCode::BAD_REQUEST),
            "validation_error",
            "{url}"
        );
        assert_eq!(body["field"], "webhook_url");
        let (status, body) = ana
            .post(
                "/api/admin/webhooks/",
                json!({"url": url, "events": ["message_created"]}),
            )
            .await;
        assert_eq!(
            error_code(status, &body, StatusCode::BAD_REQUEST),
            "validation_error",
            "{url}"
        );
    }
    let (_, bots) = ana.get("/api/admin/bots/").await;
    assert_eq!(bots, json!([]), "nothing half-written");
    let (_, users) = ana.get("/api/admin/users/").await;
    assert_eq!(users.as_array().unwrap().len(), 1);

    // A host that resolved elsewhere when it was vetted and now resolves to loopback
    // (DNS rebinding) is refused at delivery time: the check sits in the resolver.
    let mut hook = hook;
    let webhook = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret)
         VALUES ($1, $2, $3, '{message_created}', 'whsec_x')",
    )
    .bind(webhook)
    .bind(acme.id)
    .bind(format!("http://localhost:{}/hook", hook.port))
    .execute(&app.pool)
    .await
    .unwrap();
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno).await;
    ana.say(&id, "to a rebound host").await;
    let path = format!("/api/admin/webhooks/{webhook}/");
    let log = log_until(&mut ana, &path, |d| !d["last_error"].is_null()).await;
    let error = log["last_error"].as_str().unwrap();
    assert!(error.contains("WEBHOOK_ALLOWED_HOSTS"), "{error}");
    assert!(hook.next_within(Duration::from_millis(300)).await.is_none());
}
