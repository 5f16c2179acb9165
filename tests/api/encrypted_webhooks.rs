//! Encryption at rest covers the webhook outbox (docs/encryption.md): a receiver reads
//! the texts as sent while the pending deliveries hold none in plaintext, and `keys
//! rotate` moves them to the new key with the rest.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use tenantchat::{domain::Role, Config};

use crate::{
    encryption::{edit, key},
    receiver::Receiver,
    webhooks::{create_webhook, spawn_with_hooks},
};

#[sqlx::test]
async fn webhook_payloads_are_sealed_in_the_outbox_and_rotate_with_the_rest(pool: PgPool) {
    // Every attempt answered 503 but the manual retry at the end: the deliveries stay
    // pending (the next automatic attempt is minutes away) while the keys change.
    let mut hook = Receiver::start(Arc::new(|n| (if n < 2 { 503 } else { 200 }, String::new()))).await;
    let (k1, k2) = (key("k1", 1), key("k2", 2));
    let slow_retries = |c: &mut Config| c.webhook_retry_base_ms = 600_000;
    let app = spawn_with_hooks(pool.clone(), |c| {
        c.encryption_key = Some(k1.clone());
        slow_retries(c);
    })
    .await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let webhook = create_webhook(&mut ana, &hook.url, &["message_created", "message_updated"]).await;
    let chat = ana.start_with(bruno).await;
    let sent = ana.say(&chat, "the vault code is 4711").await;
    edit(&mut ana, &chat, &sent, "the vault code is 1147").await;

    // The receiver reads the texts; the database holds neither.
    let mut texts: Vec<String> = Vec::new();
    for _ in 0..2 {
        let body = hook.next().await.json();
        texts.push(body["data"]["message"]["content"].as_str().unwrap().to_string());
    }
    texts.sort();
    assert_eq!(texts, ["the vault code is 1147", "the vault code is 4711"]);
    let raw_payloads = || async {
        let rows: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT payload::text, content_key_id FROM webhook_deliveries ORDER BY created_at")
                .fetch_all(&pool)
                .await
                .unwrap();
        rows
    };
    for (payload, key_id) in raw_payloads().await {
        assert!(!payload.contains("vault"), "readable in the outbox: {payload}");
        assert_eq!(key_id.as_deref(), Some("k1"));
    }

    // Rotation moves the payloads to the new key; a server with only that key sends them.
    let out = crate::cli::tenantchat_with_env(
        &pool,
        &["keys", "rotate"],
        &[
            ("CHAT_ENCRYPTION_KEY", k2.clone()),
            ("CHAT_ENCRYPTION_OLD_KEYS", k1.clone()),
        ],
    );
    let rotated = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(rotated.contains("2 webhook payloads"), "{rotated}");
    assert!(rotated.contains("OLD_KEYS): k1"), "{rotated}");
    for (payload, key_id) in raw_payloads().await {
        assert!(!payload.contains("vault"), "{payload}");
        assert_eq!(key_id.as_deref(), Some("k2"));
    }
    drop(app);
    let app = spawn_with_hooks(pool.clone(), |c| {
        c.encryption_key = Some(k2.clone());
        slow_retries(c);
    })
    .await;
    let mut ana = app.login(&acme, "Ana", ana.user_id).await;
    let path = format!("/api/admin/webhooks/{}/deliveries/", webhook["id"].as_str().unwrap());
    let (_, log) = ana.get(&path).await;
    let edited = log
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["event"] == "message_updated")
        .unwrap();
    let (status, _) = ana
        .post(&format!("{path}{}/retry/", edited["id"].as_str().unwrap()), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let body = hook.next().await.json();
    assert_eq!(body["event"], "message_updated");
    assert_eq!(body["data"]["message"]["content"], "the vault code is 1147");
}
