//! The delivery log as the console reads it: filtered by status, before and after a
//! manual retry (its audit row: webhooks.rs).

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    groups::group,
    helpers::{error_code, Client},
    receiver::Receiver,
    webhooks::{create_bot, log_until, spawn_with_hooks},
};

async fn ids(admin: &mut Client, path: &str) -> Vec<Value> {
    let (status, log) = admin.get(path).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    log.as_array().unwrap().iter().map(|d| d["id"].clone()).collect()
}

#[sqlx::test]
async fn the_log_filters_by_status(pool: PgPool) {
    // No automatic retry: the one failed attempt ends the window, only the admin retries.
    let app = spawn_with_hooks(pool, |c| c.webhook_retry_for_seconds = 0).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let mut hook = Receiver::start(Arc::new(|n| (if n == 0 { 500 } else { 200 }, String::new()))).await;
    let (bot_id, _, _) = create_bot(&mut ana, &hook.url).await;
    let id = group(&mut ana, &[bruno.user_id, bot_id.parse().unwrap()], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ana.say(&id, "hello").await;
    hook.next().await;
    let path = format!("/api/admin/bots/{bot_id}/");
    let failed = log_until(&mut ana, &path, |d| d["status"] == "failed").await;

    let log = format!("{path}deliveries/");
    assert_eq!(
        ids(&mut ana, &format!("{log}?status=failed")).await,
        vec![failed["id"].clone()]
    );
    assert!(ids(&mut ana, &format!("{log}?status=delivered")).await.is_empty());
    assert!(ids(&mut ana, &format!("{log}?status=pending")).await.is_empty());
    let (status, body) = ana.get(&format!("{log}?status=lost")).await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");

    let delivery = failed["id"].as_str().unwrap();
    let (status, retried) = ana.post(&format!("{log}{delivery}/retry/"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    hook.next().await;
    log_until(&mut ana, &path, |d| d["status"] == "delivered").await;
    assert_eq!(
        ids(&mut ana, &format!("{log}?status=delivered")).await,
        vec![failed["id"].clone()]
    );
    assert!(ids(&mut ana, &format!("{log}?status=failed")).await.is_empty());
}
