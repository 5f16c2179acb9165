//! Tenant webhooks (message, member and conversation events) and the tenancy of every
//! integration endpoint.

use std::{collections::HashMap, time::Duration};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    groups::group,
    helpers::error_code,
    receiver::Receiver,
    webhooks::{create_bot, create_webhook, spawn_with_hooks},
};

#[sqlx::test]
async fn a_tenant_webhook_gets_the_events_it_subscribed_to(pool: PgPool) {
    let app = spawn_with_hooks(pool, |_| {}).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.user(&acme, "Carla", Role::Write).await;
    let mut hook = Receiver::ok().await;
    let (status, created) = ana
        .post(
            "/api/admin/webhooks/",
            json!({"url": hook.url, "events": ["member_added", "message_created", "conversation_created", "member_added"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["events"],
        json!(["member_added", "message_created", "conversation_created"])
    );
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));

    let id = group(&mut ana, &[bruno.user_id], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = ana
        .post(
            &format!("/api/chat/conversations/{id}/participants/"),
            json!({"user_ids": [carla]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    ana.say(&id, "welcome, Carla").await;
    // Title changes were not asked for.
    let (status, _) = ana
        .send(
            ana.request(reqwest::Method::PATCH, &format!("/api/chat/conversations/{id}/"))
                .json(&json!({"title": "New"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Deliveries run side by side: they may arrive in any order.
    let mut events = HashMap::new();
    for _ in 0..3 {
        let body = hook.next().await.json();
        events.insert(body["event"].as_str().unwrap().to_string(), body["data"].clone());
    }
    let opened = &events["conversation_created"];
    assert_eq!(opened["conversation_id"], id.as_str());
    assert_eq!(opened["change"]["kind"], "group");
    assert_eq!(events["member_added"]["conversation_id"], id.as_str());
    assert_eq!(events["member_added"]["change"]["user_ids"], json!([carla]));
    assert_eq!(events["message_created"]["message"]["content"], "welcome, Carla");
    assert!(hook.next_within(Duration::from_millis(500)).await.is_none());

    let (status, body) = ana
        .post(
            "/api/admin/webhooks/",
            json!({"url": hook.url, "events": ["message_exploded"]}),
        )
        .await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");
    assert_eq!(body["field"], "events");
    let webhook = created["id"].as_str().unwrap();
    let (status, _) = ana.delete(&format!("/api/admin/webhooks/{webhook}/")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = ana.get("/api/admin/webhooks/").await;
    assert_eq!(list, json!([]));
}

#[sqlx::test]
async fn admins_reach_only_their_own_tenants_bots_webhooks_and_deliveries(pool: PgPool) {
    let app = spawn_with_hooks(pool, |_| {}).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let mut gus = app.member(&globex, "Gus", Role::Admin).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let hook = Receiver::ok().await;
    let (bot_id, token, _) = create_bot(&mut ana, &hook.url).await;
    let webhook = create_webhook(&mut ana, &hook.url, &["message_created"]).await;
    let webhook = webhook["id"].as_str().unwrap().to_string();

    let (_, bots) = gus.get("/api/admin/bots/").await;
    assert_eq!(bots, json!([]));
    let (_, hooks) = gus.get("/api/admin/webhooks/").await;
    assert_eq!(hooks, json!([]));
    let nobody = uuid::Uuid::new_v4();
    for path in [
        format!("/api/admin/bots/{bot_id}/deliveries/"),
        format!("/api/admin/webhooks/{webhook}/deliveries/"),
    ] {
        let (status, body) = gus.get(&path).await;
        assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "not_found");
        let (status, body) = gus.post(&format!("{path}{nobody}/retry/"), json!({})).await;
        assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "not_found");
    }
    for path in [
        format!("/api/admin/bots/{bot_id}/"),
        format!("/api/admin/webhooks/{webhook}/"),
    ] {
        let (status, body) = gus.delete(&path).await;
        assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "not_found");
    }
    // Not an admin: 403 everywhere.
    let (status, body) = bruno.get("/api/admin/bots/").await;
    assert_eq!(
        error_code(status, &body, StatusCode::FORBIDDEN),
        "admin_permission_required"
    );
    let (status, body) = bruno
        .post(
            "/api/admin/webhooks/",
            json!({"url": hook.url, "events": ["message_created"]}),
        )
        .await;
    assert_eq!(
        error_code(status, &body, StatusCode::FORBIDDEN),
        "admin_permission_required"
    );

    // The owner deletes its bot: gone from the list, its token dead.
    let (status, _) = ana.delete(&format!("/api/admin/bots/{bot_id}/")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, bots) = ana.get("/api/admin/bots/").await;
    assert_eq!(bots, json!([]));
    let mut bot = app.anonymous();
    bot.bearer = Some(token);
    let (status, body) = bot.get("/api/chat/conversations/").await;
    assert_eq!(error_code(status, &body, StatusCode::UNAUTHORIZED), "not_authenticated");
}

/// The next `n` deliveries by event name (they run side by side, in any order).
async fn by_event(hook: &mut Receiver, n: usize) -> HashMap<String, Value> {
    let mut events = HashMap::new();
    for _ in 0..n {
        let body = hook.next().await.json();
        events.insert(body["event"].as_str().unwrap().to_string(), body["data"].clone());
    }
    events
}

#[sqlx::test]
async fn edits_deletions_and_a_deleted_conversation_reach_the_webhooks_that_asked(pool: PgPool) {
    let app = spawn_with_hooks(pool, |_| {}).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let mut carla = app.member(&acme, "Carla", Role::Write).await;
    let mut hook = Receiver::ok().await;
    let events = [
        "message_created",
        "message_updated",
        "message_deleted",
        "conversation_deleted",
    ];
    create_webhook(&mut ana, &hook.url, &events).await;
    let id = group(&mut ana, &[bruno.user_id, carla.user_id], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sent = bruno.say(&id, "see you at 10").await;
    let message = sent["id"].as_str().unwrap().to_string();
    let path = format!("/api/chat/conversations/{id}/messages/{message}/");
    let created = by_event(&mut hook, 1).await.remove("message_created").unwrap();

    // Another member may not edit it: refused, nothing is queued. A tenant admin may
    // (audited); the same content again changes nothing and queues nothing.
    let (status, _) = carla
        .send(
            carla
                .request(Method::PATCH, &path)
                .json(&json!({"content": "hijacked"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = ana
        .send(ana.request(Method::PATCH, &path).json(&json!({"content": "hijacked"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = ana
        .send(ana.request(Method::PATCH, &path).json(&json!({"content": "hijacked"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let admin_edit = by_event(&mut hook, 1).await.remove("message_updated").unwrap();
    assert_eq!(admin_edit["by"], ana.user_id.to_string());
    assert_eq!(admin_edit["message"]["content"], "hijacked");
    let (status, _) = bruno
        .send(
            bruno
                .request(Method::PATCH, &path)
                .json(&json!({"content": "see you at 11"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let edited = by_event(&mut hook, 1).await.remove("message_updated").unwrap();
    assert_eq!(edited["conversation_id"], id.as_str());
    assert_eq!(edited["by"], bruno.user_id.to_string());
    let message_object = &edited["message"];
    assert_eq!(message_object["content"], "see you at 11");
    assert!(message_object["edited_at"].is_string());
    // The message object is the one `message_created` carries, plus `edited_at`.
    let mut keys: Vec<&String> = message_object.as_object().unwrap().keys().collect();
    keys.retain(|k| *k != "edited_at");
    let created_keys: Vec<&String> = created["message"].as_object().unwrap().keys().collect();
    assert_eq!(keys, created_keys);
    for same in ["id", "seq", "sender", "created_at", "kind"] {
        assert_eq!(message_object[same], created["message"][same], "{same}");
    }

    let (status, _) = bruno.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let deleted = by_event(&mut hook, 1).await.remove("message_deleted").unwrap();
    assert_eq!(
        deleted,
        json!({"conversation_id": id, "message_id": message, "seq": sent["seq"], "by": bruno.user_id})
    );
    let (status, _) = bruno.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "deleting a tombstone changes nothing");

    // A refused deletion of the conversation (not an owner) queues nothing; the owner's does.
    let conversation = format!("/api/chat/conversations/{id}/");
    let (status, _) = bruno.delete(&conversation).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = ana.delete(&conversation).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let gone = by_event(&mut hook, 1).await.remove("conversation_deleted").unwrap();
    assert_eq!(gone["conversation_id"], id.as_str());
    assert_eq!(gone["change"]["event"], "conversation_deleted");
    assert_eq!(gone["change"]["by"], ana.user_id.to_string());
    assert_eq!(gone["change"]["kind"], "group");
    assert_eq!(gone["change"]["title"], "Launch");
    assert!(hook.next_within(Duration::from_millis(500)).await.is_none());
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        queued, 5,
        "one delivery per committed change, none for the refused or idle ones"
    );
}

/// The payload of the next notification on `listener`.
async fn heard(listener: &mut sqlx::postgres::PgListener) -> String {
    let notification = tokio::time::timeout(Duration::from_secs(30), listener.recv());
    notification
        .await
        .expect("a notification")
        .unwrap()
        .payload()
        .to_string()
}

/// PostgreSQL commits the transactions that notify one at a time, so a message must not
/// notify, even when it makes a delivery (its node rings its own engine); the rarer
/// events still do, which wakes every node. Notifications arrive in commit order: a
/// marker sent after the message is the first one heard only if the message sent none.
#[sqlx::test]
async fn a_message_does_not_notify_through_postgresql_an_edit_does(pool: PgPool) {
    let app = spawn_with_hooks(pool.clone(), |_| {}).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno).await;
    let mut hook = Receiver::ok().await;
    create_webhook(&mut ana, &hook.url, &["message_created", "message_updated"]).await;
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await.unwrap();
    listener.listen("webhook_deliveries").await.unwrap();

    let sent = ana.say(&id, "one delivery, no notification").await;
    sqlx::query("SELECT pg_notify('webhook_deliveries', 'marker')")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(heard(&mut listener).await, "marker");
    assert_eq!(hook.next().await.json()["event"], "message_created");

    let path = format!(
        "/api/chat/conversations/{id}/messages/{}/",
        sent["id"].as_str().unwrap()
    );
    let (status, _) = ana
        .send(ana.request(Method::PATCH, &path).json(&json!({"content": "edited"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(heard(&mut listener).await, "");
    assert_eq!(hook.next().await.json()["event"], "message_updated");
}

/// A message's delivery goes out when the message commits: with the engine's poll an
/// hour apart, only the ring of the sending node can have started it.
#[sqlx::test]
async fn a_messages_delivery_goes_out_without_waiting_for_the_poll(pool: PgPool) {
    let app = spawn_with_hooks(pool, |config| config.webhook_poll_ms = 3_600_000).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno).await;
    let mut hook = Receiver::ok().await;
    create_webhook(&mut ana, &hook.url, &["message_created"]).await;

    ana.say(&id, "rung, not polled").await;
    let delivered = hook.next().await.json();
    assert_eq!(delivered["data"]["message"]["content"], "rung, not polled");
}
