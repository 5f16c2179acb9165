//! The hardening items, each shown from the outside.

use reqwest::{redirect::Policy, Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    helpers::{error_code, spawn_app, spawn_configured, PASSWORD},
    sockets::ws_url,
};

#[sqlx::test]
async fn cross_site_writes_are_refused_even_with_a_valid_token(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let req = ana
        .request(Method::POST, "/api/chat/conversations/start/")
        .header("Sec-Fetch-Site", "cross-site")
        .json(&json!({"participant_id": bruno}));
    let (status, body) = ana.send(req).await;
    assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "cross_site_request");
    let req = ana
        .request(Method::GET, "/api/auth/me/")
        .header("Sec-Fetch-Site", "cross-site");
    assert_eq!(ana.send(req).await.0, StatusCode::OK, "reads are not writes");
    let req = ana
        .request(Method::POST, "/api/chat/conversations/start/")
        .header("Sec-Fetch-Site", "same-origin")
        .json(&json!({"participant_id": bruno}));
    assert_eq!(ana.send(req).await.0, StatusCode::CREATED);
}

#[sqlx::test]
async fn behind_a_trusted_https_proxy_cookies_are_secure_and_host_prefixed(pool: PgPool) {
    let app = spawn_configured(pool, |c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let acme = app.tenant("acme").await;
    app.user(&acme, "Ana", Role::Admin).await;
    let http = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let login = |proto: &'static str| {
        http.post(format!("{}/api/auth/login/", app.base))
            .header("X-Forwarded-Proto", proto)
            .header("X-Forwarded-For", "203.0.113.7")
            .json(&json!({"tenant": "acme", "email": "ana@acme.test", "password": PASSWORD}))
            .send()
    };
    let resp = login("https").await.unwrap();
    let cookies: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-sessionid="))
        .expect("prefixed session cookie");
    assert!(
        session.contains("Secure") && session.contains("HttpOnly") && session.contains("Path=/"),
        "{session}"
    );
    assert!(!session.contains("Domain"), "{session}");
    let csrf_cookie = cookies
        .iter()
        .find(|c| c.starts_with("__Host-csrftoken="))
        .expect("prefixed csrf cookie");
    assert!(csrf_cookie.contains("Secure"));
    let value = |c: &str| c.split(';').next().unwrap().split_once('=').unwrap().1.to_string();
    let cookie_header = format!(
        "__Host-sessionid={}; __Host-csrftoken={}",
        value(session),
        value(csrf_cookie)
    );
    let me = http
        .get(format!("{}/api/auth/me/", app.base))
        .header("Cookie", &cookie_header)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK, "the prefixed cookies authenticate");
    let token = http
        .post(format!("{}/api/auth/tokens/", app.base))
        .header("Cookie", &cookie_header)
        .header("X-CSRFToken", value(csrf_cookie))
        .json(&json!({"name": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::CREATED, "and pass the CSRF check");

    // The proxy's word on the client's address is believed (audit log).
    let (_, log) = {
        let mut client = app.anonymous();
        client.bearer = token.json::<serde_json::Value>().await.unwrap()["token"]
            .as_str()
            .map(String::from);
        let req = client
            .request(Method::GET, "/api/admin/conversations/")
            .header("X-Forwarded-For", "198.51.100.9");
        client.send(req).await;
        client.get("/api/admin/audit-log/").await
    };
    assert_eq!(log["results"][0]["ip"], "198.51.100.9", "{log}");

    let plain = login("http").await.unwrap();
    assert!(plain
        .headers()
        .get_all("set-cookie")
        .iter()
        .all(|c| !c.to_str().unwrap().starts_with("__Host-")));
}

#[sqlx::test]
async fn forwarded_headers_from_anyone_else_are_ignored(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    app.user(&acme, "Ana", Role::Admin).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/api/auth/login/", app.base))
        .header("X-Forwarded-Proto", "https")
        .json(&json!({"tenant": "acme", "email": "ana@acme.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .all(|c| !c.to_str().unwrap().contains("Secure")));
}

/// (How use pushes the idle expiry forward, within the absolute end, is unit-tested in
/// `auth::session`; waiting a minute for a refresh has no place in this suite.)
#[sqlx::test]
async fn an_idle_session_is_over(pool: PgPool) {
    // The SQL below stands in for the idle time passing. A node's credential cache keeps
    // an entry only until the session's recorded expiry, but it cannot see this edit.
    let app = spawn_configured(pool, |c| c.auth_cache_seconds = 0).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    assert_eq!(ana.get("/api/auth/me/").await.0, StatusCode::OK);
    sqlx::query("UPDATE sessions SET expiry_date = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(ana.get("/api/auth/me/").await.0, StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn pages_carry_a_strict_content_security_policy(pool: PgPool) {
    let app = spawn_configured(pool, |c| {
        c.frame_ancestors = "'self' https://host.example".into();
        c.public_origin = Some("https://chat.example".into());
    })
    .await;
    let page = reqwest::get(format!("{}/login/", app.base)).await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'self' https://host.example"), "{csp}");
    assert_eq!(page.headers()["referrer-policy"], "same-origin");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert!(page.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age="));
    let docs = reqwest::get(format!("{}/api/docs/", app.base)).await.unwrap();
    let docs_csp = docs.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        docs_csp.contains("'unsafe-inline'") && docs_csp.contains("frame-ancestors 'none'"),
        "only the docs page: {docs_csp}"
    );
}

#[sqlx::test]
async fn websocket_compression_is_not_negotiated(pool: PgPool) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let ana = app.member(&acme, "Ana", Role::Write).await;
    let mut request = ws_url(&app.base, None).into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Cookie", ana.cookie_header().parse().unwrap());
    request.headers_mut().insert("Origin", app.base.parse().unwrap());
    request.headers_mut().insert(
        "Sec-WebSocket-Extensions",
        "permessage-deflate; client_max_window_bits".parse().unwrap(),
    );
    let (_, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert!(
        response.headers().get("sec-websocket-extensions").is_none(),
        "no permessage-deflate (CRIME/BREACH-style leaks)"
    );
}

/// Password hashing runs on a bounded pool: a login flood gets 503 `server_busy` with
/// `Retry-After` past the queue, and the server keeps serving everyone else meanwhile
/// (a request that hashes nothing, with an API token). The flood guesses forty different
/// accounts, so no account's failure budget stops it before the hashing does.
#[sqlx::test]
async fn a_login_flood_is_told_to_come_back_and_other_tenants_are_served(pool: PgPool) {
    let app = spawn_configured(pool, |c| {
        c.password_hash_concurrency = 1;
        c.password_hash_queue = 1;
    })
    .await;
    let acme = app.tenant("acme").await;
    let other = app.tenant("other").await;
    app.user(&acme, "Ana", Role::Write).await;
    let mut olga = app.member(&other, "Olga", Role::Write).await;
    let (_, token) = olga.post("/api/auth/tokens/", json!({"name": "script"})).await;
    let mut script = app.anonymous();
    script.bearer = Some(token["token"].as_str().unwrap().to_string());

    let flood: Vec<_> = (0..40)
        .map(|i| {
            let url = format!("{}/api/auth/login/", app.base);
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .json(&json!({"tenant": "acme", "email": format!("guess{i}@acme.test"), "password": PASSWORD}))
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let (status, _) = script.get("/api/auth/me/").await;
    assert_eq!(status, StatusCode::OK, "another tenant is served during the flood");

    let mut busy = 0;
    let mut checked = 0;
    for login in flood {
        let resp = login.await.unwrap();
        match resp.status() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(resp.headers()["retry-after"], "1");
                let body: serde_json::Value = resp.json().await.unwrap();
                assert_eq!(
                    error_code(StatusCode::SERVICE_UNAVAILABLE, &body, StatusCode::SERVICE_UNAVAILABLE),
                    "server_busy"
                );
                busy += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(checked >= 1, "the slot and the queue were served");
    assert!(busy >= 1, "past the queue, logins were refused rather than queued");
}
