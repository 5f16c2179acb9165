//! What keeps power in check: chat permission denials in the audit log (capped per user),
//! a rate limit on the admin API, and a shorter idle lifetime for admins' sessions.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::helpers::{error_code, spawn_app, spawn_configured, Client};

/// The tenant's `chat.permission_denied` rows, newest first, as its admin lists them.
async fn denials(admin: &mut Client) -> Vec<Value> {
    let (status, page) = admin
        .get("/api/admin/audit-log/?action=chat.permission_denied&limit=200")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["results"].as_array().unwrap().clone()
}

#[sqlx::test]
async fn a_chat_permission_denial_is_audited_and_another_tenants_id_is_not(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let other = app.tenant("other").await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.user(&acme, "Carla", Role::Write).await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut olga = app.member(&other, "Olga", Role::Write).await;
    let oskar = app.user(&other, "Oskar", Role::Write).await;
    let theirs = bruno.start_with(carla).await;
    let foreign = olga.start_with(oskar).await;

    let path = format!("/api/chat/conversations/{theirs}/messages/");
    let (status, body) = ana.post(&path, json!({"content": "let me in"})).await;
    assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "not_a_participant");
    let (status, _) = ana
        .post(
            &format!("/api/chat/conversations/{foreign}/messages/"),
            json!({"content": "hi"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let rows = denials(&mut admin).await;
    assert_eq!(rows.len(), 1, "one row, and none for the other tenant's id: {rows:?}");
    let row = &rows[0];
    assert_eq!(row["actor"], ana.user_id.to_string());
    assert_eq!(row["resource_type"], "conversation");
    assert_eq!(row["resource_id"], theirs);
    assert_eq!(row["details"]["code"], "not_a_participant");
    assert_eq!(
        row["details"]["route"],
        format!("POST /api/chat/conversations/{theirs}/messages")
    );
    assert!(row["ip"].is_string(), "{row}");
}

#[sqlx::test]
async fn denials_are_audited_at_most_n_per_user_and_minute(pool: PgPool) {
    let app = spawn_configured(pool, |c| c.audit_denials_per_minute = 3).await;
    let acme = app.tenant("acme").await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.user(&acme, "Carla", Role::Write).await;
    let mut rita = app.member(&acme, "Rita", Role::Read).await;
    let theirs = bruno.start_with(carla).await;
    let mine = bruno.start_with(rita.user_id).await;

    for i in 0..9 {
        // A reader posting to its own conversation, and to another one.
        let target = if i % 2 == 0 { &mine } else { &theirs };
        let (status, _) = rita
            .post(
                &format!("/api/chat/conversations/{target}/messages/"),
                json!({"content": "no"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let rows = denials(&mut admin).await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[2]["details"]["code"], "write_permission_required");
}

#[sqlx::test]
async fn a_refused_socket_frame_is_audited(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.user(&acme, "Carla", Role::Write).await;
    let ana = app.member(&acme, "Ana", Role::Write).await;
    let theirs = bruno.start_with(carla).await;

    let mut socket = ana.socket().await;
    socket
        .send_json(json!({"type": "typing", "conversation_id": theirs}))
        .await;
    let error = socket.expect("error").await;
    assert_eq!(error["error"], "not_a_participant");

    let rows = denials(&mut admin).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["actor"], ana.user_id.to_string());
    assert_eq!(rows[0]["resource_id"], theirs);
    assert_eq!(rows[0]["details"]["code"], "not_a_participant");
    assert_eq!(rows[0]["details"]["frame"], "typing");
}

#[sqlx::test]
async fn the_admin_api_is_rate_limited_per_admin(pool: PgPool) {
    let app = spawn_configured(pool, |c| c.rate_admin_per_minute = 3).await;
    let acme = app.tenant("acme").await;
    let mut ada = app.member(&acme, "Ada", Role::Admin).await;
    let mut otto = app.member(&acme, "Otto", Role::Admin).await;
    for _ in 0..3 {
        assert_eq!(ada.get("/api/admin/users/").await.0, StatusCode::OK);
    }
    let resp = ada.request(Method::GET, "/api/admin/settings/").send().await.unwrap();
    let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_code(status, &body, StatusCode::TOO_MANY_REQUESTS), "rate_limited");
    assert_eq!(otto.get("/api/admin/users/").await.0, StatusCode::OK, "per admin");
}

/// With a two-second admin idle lifetime: an admin's session left alone is over, a
/// writer's session of the same age is not, and a writer made admin lives by the admin's
/// rule from its next request on.
#[sqlx::test]
async fn an_admin_session_left_idle_ends_sooner(pool: PgPool) {
    let idle = Duration::from_secs(2);
    let app = spawn_configured(pool, |c| c.admin_session_idle_seconds = 2).await;
    let acme = app.tenant("acme").await;
    let mut walt = app.member(&acme, "Walt", Role::Write).await;
    let mut wanda = app.member(&acme, "Wanda", Role::Write).await;
    let mut otto = app.member(&acme, "Otto", Role::Admin).await;
    let (_, token) = otto.post("/api/auth/tokens/", json!({"name": "admin script"})).await;
    otto.bearer = Some(token["token"].as_str().unwrap().to_string());
    // Ada signs in last and is checked at once: each sign-in hashes a password, and on a
    // loaded machine the others' could outlast her idle lifetime before this first check.
    let mut ada = app.member(&acme, "Ada", Role::Admin).await;
    for client in [&mut ada, &mut walt, &mut wanda] {
        assert_eq!(client.get("/api/auth/me/").await.0, StatusCode::OK);
    }

    // Each try leaves the session alone for longer than the idle lifetime first.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        tokio::time::sleep(idle + Duration::from_millis(300)).await;
        if ada.get("/api/auth/me/").await.0 == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(Instant::now() < deadline, "the idle admin session still works");
    }
    assert_eq!(
        walt.get("/api/auth/me/").await.0,
        StatusCode::OK,
        "a writer's session lives on"
    );

    let req = otto
        .request(Method::PATCH, &format!("/api/admin/users/{}/", wanda.user_id))
        .json(&json!({"role": "admin"}));
    assert_eq!(otto.send(req).await.0, StatusCode::OK);
    assert_eq!(
        wanda.get("/api/auth/me/").await.0,
        StatusCode::UNAUTHORIZED,
        "promoted, and idle longer than an admin may be"
    );
}
