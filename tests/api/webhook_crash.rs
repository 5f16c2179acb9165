//! At least once across a crash: the real binary is killed with SIGKILL in the middle of
//! delivering, restarted, and the receiver still sees every delivery.

use std::{collections::HashSet, sync::Arc, time::Duration};

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use tenantchat::domain::Role;
use uuid::Uuid;

use crate::{cli::spawn_binary, groups::group, helpers::TestApp, receiver::Receiver, webhooks::create_bot};

const MESSAGES: usize = 30;

#[sqlx::test]
async fn no_delivery_is_lost_when_the_server_is_killed_mid_delivery(pool: PgPool) {
    // Slow answers and two requests at a time: the deliveries take seconds, so the kill
    // lands in the middle. A one-second timeout keeps the lease of the dead node's
    // claims (what the restarted node waits out) at a few seconds.
    let env = [
        ("WEBHOOK_ALLOWED_HOSTS", "127.0.0.1"),
        ("WEBHOOK_TIMEOUT_SECONDS", "1"),
        ("WEBHOOK_CONCURRENCY", "2"),
        ("WEBHOOK_CONCURRENCY_PER_ENDPOINT", "2"),
        ("WEBHOOK_RETRY_BASE_MS", "100"),
        ("RATE_SEND_PER_MINUTE", "100000"),
        ("RATE_SEND_BURST", "1000"),
    ];
    let (mut first, base) = spawn_binary(&pool, "warn", &env).await;
    let mut hook = Receiver::start_slow(Arc::new(|_| (200, String::new())), Duration::from_millis(300)).await;
    let app = TestApp::external(&base, pool.clone());
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let (bot_id, _, _) = create_bot(&mut ana, &hook.url).await;
    let bot: Uuid = bot_id.parse().unwrap();
    let id = group(&mut ana, &[bot], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for n in 0..MESSAGES {
        ana.say(&id, &format!("message {n}")).await;
    }

    let mut seen = HashSet::new();
    seen.insert(hook.next().await.header("x-tenantchat-delivery").to_string());
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    let written: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM webhook_deliveries")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(written.len(), MESSAGES, "one outbox row per message, committed with it");
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(pending > 0, "the kill came before the end of the deliveries");

    let (_second, base) = spawn_binary(&pool, "warn", &env).await;
    while seen.len() < MESSAGES {
        seen.insert(hook.next().await.header("x-tenantchat-delivery").to_string());
    }
    let expected: HashSet<String> = written.iter().map(Uuid::to_string).collect();
    assert_eq!(seen, expected, "every delivery id reached the receiver");
    let mut ana = TestApp::external(&base, pool).login(&acme, "Ana", ana.user_id).await;
    let (status, _) = ana.get(&format!("/api/admin/bots/{bot_id}/deliveries/")).await;
    assert_eq!(status, StatusCode::OK);
}
