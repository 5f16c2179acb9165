//! Tenant webhooks (message, member and conversation events) and the tenancy of every
//! integration endpoint.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    groups::group,
    helpers::error_code,
    receiver::Receiver,
    webhooks::{create_bot, spawn_with_hooks},
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
    let mut events = std::collections::HashMap::new();
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
    assert!(hook.next_within(std::time::Duration::from_millis(500)).await.is_none());

    let (status, body) = ana
        .post(
            "/api/admin/webhooks/",
            json!({"url": hook.url, "events": ["message_deleted"]}),
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
    let (_, webhook) = ana
        .post(
            "/api/admin/webhooks/",
            json!({"url": hook.url, "events": ["message_created"]}),
        )
        .await;
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
