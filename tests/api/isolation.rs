//! Another tenant's ids must look exactly like ids that do not exist: 404, never data.

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::helpers::{error_code, spawn_app};

#[sqlx::test]
async fn every_endpoint_answers_404_for_another_tenants_conversation(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let mut mallory = app.member(&globex, "Mallory", Role::Admin).await;
    let id = ana.start_with(bruno).await;
    let message = ana.say(&id, "acme secret").await;

    let unknown = uuid::Uuid::new_v4();
    for target in [id.clone(), unknown.to_string()] {
        let attempts: Vec<(Method, String)> = vec![
            (Method::GET, format!("/api/chat/conversations/{target}/")),
            (Method::GET, format!("/api/chat/conversations/{target}/messages/")),
            (Method::POST, format!("/api/chat/conversations/{target}/messages/")),
            (Method::POST, format!("/api/chat/conversations/{target}/mark_read/")),
            (Method::PATCH, format!("/api/chat/conversations/{target}/archive/")),
            (Method::PATCH, format!("/api/chat/conversations/{target}/unarchive/")),
            (Method::PATCH, format!("/api/chat/conversations/{target}/mute/")),
            (Method::PATCH, format!("/api/chat/conversations/{target}/unmute/")),
        ];
        for (method, path) in attempts {
            let req = mallory.request(method.clone(), &path).json(&json!({"content": "x"}));
            let (status, body) = mallory.send(req).await;
            assert_eq!(
                error_code(status, &body, StatusCode::NOT_FOUND),
                "not_found",
                "{method} {path}"
            );
            assert!(!body.to_string().contains("acme"), "{body}");
        }
    }

    let (status, body) = mallory
        .post("/api/chat/conversations/start/", json!({"participant_id": bruno}))
        .await;
    assert_eq!(
        error_code(status, &body, StatusCode::NOT_FOUND),
        "participant_not_found"
    );
    let (_, list) = mallory.get("/api/chat/conversations/").await;
    assert_eq!(list, json!([]));
    let (status, _) = mallory
        .get(&format!(
            "/api/chat/conversations/{id}/messages/?since_id={}",
            message["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Nothing changed for Acme.
    let conversation = ana.conversation(&id).await;
    assert_eq!(conversation["is_archived"], false);
    assert_eq!(conversation["last_message"]["content"], "acme secret");
}

#[sqlx::test]
async fn the_same_email_in_two_tenants_is_two_separate_users(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    let mut in_acme = app.member(&acme, "Sam", Role::Write).await;
    let email = "sam@acme.test";
    let globex_sam = tenantchat::accounts::create_user(
        &app.pool,
        globex.id,
        tenantchat::accounts::NewUser {
            email,
            name: "Other Sam",
            password: "a different password",
            role: Role::Write,
        },
    )
    .await
    .unwrap();
    assert_ne!(globex_sam, in_acme.user_id);

    let (_, me) = in_acme.get("/api/auth/me/").await;
    assert_eq!(me["tenant"]["slug"], "acme");
    let mut client = app.anonymous();
    let (status, body) = client
        .post(
            "/api/auth/login/",
            json!({"tenant": "globex", "email": email, "password": "a different password"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["user"]["name"], "Other Sam");
    assert_eq!(body["user"]["tenant"]["slug"], "globex");
}
