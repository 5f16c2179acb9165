use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::helpers::{error_code, spawn_app, PASSWORD};

fn set_cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn cookie_value(cookies: &[String], name: &str) -> String {
    cookies
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap().to_string())
        .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"))
}

async fn raw_login(base: &str, tenant: &str, email: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/auth/login/"))
        .json(&json!({"tenant": tenant, "email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

#[sqlx::test]
async fn login_sets_http_only_session_and_readable_csrf_cookies(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let ana = app.user(&acme, "Ana", Role::Write).await;

    let resp = raw_login(&app.base, "acme", "ANA@acme.test", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let cookies = set_cookies(&resp);
    let session = cookies.iter().find(|c| c.starts_with("sessionid=")).unwrap();
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    assert!(
        !session.contains("Secure"),
        "plain http must not get Secure cookies: {session}"
    );
    let csrf = cookies.iter().find(|c| c.starts_with("csrftoken=")).unwrap();
    assert!(!csrf.contains("HttpOnly"), "JS must read the CSRF cookie: {csrf}");

    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["user"]["id"], ana.to_string());
    assert_eq!(body["user"]["email"], "ana@acme.test");
    assert_eq!(body["user"]["role"], "write");
    assert_eq!(body["user"]["tenant"]["slug"], "acme");
    assert_eq!(body["user"]["tenant"]["id"], acme.id.to_string());
    assert!(body["user"].get("password_hash").is_none());
}

#[sqlx::test]
async fn me_needs_a_session(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Read).await;
    let (status, body) = ana.get("/api/auth/me/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "Ana");
    assert_eq!(body["role"], "read");

    let (status, body) = app.anonymous().get("/api/auth/me/").await;
    assert_eq!(error_code(status, &body, StatusCode::UNAUTHORIZED), "not_authenticated");
}

#[sqlx::test]
async fn wrong_password_unknown_tenant_unknown_email_and_inactive_user_look_the_same(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let ana = app.user(&acme, "Ana", Role::Write).await;
    app.user(&acme, "Gone", Role::Write).await;
    sqlx::query("UPDATE users SET is_active = false WHERE email = 'gone@acme.test'")
        .execute(&app.pool)
        .await
        .unwrap();

    let attempts = [
        ("acme", "ana@acme.test", "wrong password"),
        ("nope", "ana@acme.test", PASSWORD),
        ("acme", "nobody@acme.test", PASSWORD),
        ("acme", "gone@acme.test", PASSWORD),
    ];
    let mut bodies = Vec::new();
    for (tenant, email, password) in attempts {
        let resp = raw_login(&app.base, tenant, email, password).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{tenant} {email}");
        assert!(set_cookies(&resp).is_empty(), "a failed login sets no cookie");
        bodies.push(resp.json::<serde_json::Value>().await.unwrap());
    }
    assert!(bodies.iter().all(|b| b == &bodies[0]), "{bodies:?}");
    assert_eq!(bodies[0]["error"], "invalid_credentials");
    let _ = ana;
}

#[sqlx::test]
async fn cookie_authenticated_unsafe_requests_need_the_csrf_header(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;

    let start = json!({"participant_id": bruno});
    let csrf = ana.csrf.take();
    let (status, body) = ana.post("/api/chat/conversations/start/", start.clone()).await;
    assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "csrf_failed");

    ana.csrf = Some("0".repeat(64));
    let (status, body) = ana.post("/api/chat/conversations/start/", start.clone()).await;
    assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "csrf_failed");

    ana.csrf = csrf;
    let (status, _) = ana.post("/api/chat/conversations/start/", start).await;
    assert_eq!(status, StatusCode::CREATED);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1, "refused requests wrote nothing");
}

#[sqlx::test]
async fn logout_destroys_the_session_server_side(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    app.user(&acme, "Ana", Role::Write).await;
    let resp = raw_login(&app.base, "acme", "ana@acme.test", PASSWORD).await;
    let cookies = set_cookies(&resp);
    let (session, csrf) = (cookie_value(&cookies, "sessionid"), cookie_value(&cookies, "csrftoken"));
    let cookie_header = format!("sessionid={session}; csrftoken={csrf}");
    let http = reqwest::Client::new();

    let me = |http: &reqwest::Client| {
        http.get(format!("{}/api/auth/me/", app.base))
            .header("Cookie", cookie_header.clone())
            .send()
    };
    assert_eq!(me(&http).await.unwrap().status(), StatusCode::OK);

    let logout = http
        .post(format!("{}/api/auth/logout/", app.base))
        .header("Cookie", cookie_header.clone())
        .header("X-CSRFToken", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    // Replaying the old cookie after logout does not work: the session is gone, not just the cookie.
    assert_eq!(me(&http).await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn every_login_gets_a_new_session_id_and_drops_the_old_one(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    app.user(&acme, "Ana", Role::Write).await;
    let first = cookie_value(
        &set_cookies(&raw_login(&app.base, "acme", "ana@acme.test", PASSWORD).await),
        "sessionid",
    );

    let second_resp = reqwest::Client::new()
        .post(format!("{}/api/auth/login/", app.base))
        .header("Cookie", format!("sessionid={first}"))
        .json(&json!({"tenant": "acme", "email": "ana@acme.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let second = cookie_value(&set_cookies(&second_resp), "sessionid");
    assert_ne!(first, second);
    let old = reqwest::Client::new()
        .get(format!("{}/api/auth/me/", app.base))
        .header("Cookie", format!("sessionid={first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        old.status(),
        StatusCode::UNAUTHORIZED,
        "the pre-login session id is dead"
    );
}

#[sqlx::test]
async fn api_tokens_authenticate_without_csrf_and_can_be_revoked(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;

    let (status, created) = ana.post("/api/auth/tokens/", json!({"name": "ci-bot"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap().to_string();
    assert_eq!(created["name"], "ci-bot");
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_ne!(stored, token.as_bytes(), "only a hash is stored");

    let mut bot = app.anonymous();
    bot.bearer = Some(token.clone());
    let (status, me) = bot.get("/api/auth/me/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["id"], ana.user_id.to_string());
    let (status, _) = bot
        .post("/api/chat/conversations/start/", json!({"participant_id": bruno}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "bearer requests need no CSRF header");

    let (status, list) = ana.get("/api/auth/tokens/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("token").is_none(), "the secret is shown only once");

    let id = created["id"].as_str().unwrap();
    let (status, _) = ana.delete(&format!("/api/auth/tokens/{id}/")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = bot.get("/api/auth/me/").await;
    assert_eq!(error_code(status, &body, StatusCode::UNAUTHORIZED), "not_authenticated");

    bot.bearer = Some("tc_not-a-real-token".into());
    let (status, _) = bot.get("/api/auth/me/").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn nobody_revokes_another_users_token(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Admin).await;
    let (_, created) = ana.post("/api/auth/tokens/", json!({"name": "mine"})).await;
    let id = created["id"].as_str().unwrap();
    let (status, body) = bruno.delete(&format!("/api/auth/tokens/{id}/")).await;
    assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "not_found");
    let (_, list) = ana.get("/api/auth/tokens/").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[sqlx::test]
async fn repeated_failed_logins_are_throttled(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    app.user(&acme, "Ana", Role::Write).await;
    for _ in 0..5 {
        let resp = raw_login(&app.base, "acme", "ana@acme.test", "wrong password").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let resp = raw_login(&app.base, "acme", "ana@acme.test", PASSWORD).await;
    assert_eq!(
        resp.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    assert_eq!(body["retry_after"], retry_after);

    app.user(&acme, "Bruno", Role::Write).await;
    let other = raw_login(&app.base, "acme", "bruno@acme.test", PASSWORD).await;
    assert_eq!(other.status(), StatusCode::OK, "other accounts are not locked out");
}
