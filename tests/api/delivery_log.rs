//! The delivery log as the console reads it: filtered by status, before and after a
//! manual retry (its audit row: webhooks.rs).

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::{
    helpers::{error_code, Client},
    webhooks::{failed_delivery, log_until, FailedDelivery},
};

async fn ids(admin: &mut Client, path: &str) -> Vec<Value> {
    let (status, log) = admin.get(path).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    log.as_array().unwrap().iter().map(|d| d["id"].clone()).collect()
}

#[sqlx::test]
async fn the_log_filters_by_status(pool: PgPool) {
    // No automatic retry: the one failed attempt ends the window, only the admin retries.
    let FailedDelivery {
        app: _app,
        mut ana,
        mut hook,
        path,
        failed,
        ..
    } = failed_delivery(pool, 500).await;

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
