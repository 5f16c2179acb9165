//! Signing in with the host app's identity (`POST /api/auth/widget/`) and the tenant's
//! widget secret (`POST /api/admin/widget-secret/`).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::{
    domain::Role,
    widget_login::signature::{sign, Claims},
};

use crate::{
    helpers::{error_code, spawn_app, spawn_configured, spawn_node, Client, Layer, Tenant, TestApp},
    sockets::Socket,
};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A sign-in body for `external_id` signed with `secret`, as a host's server makes it.
fn signed(secret: &str, tenant: &str, external_id: &str, name: &str, ts: i64) -> Value {
    let email = format!("{}@host.test", external_id.to_lowercase());
    let claims = Claims {
        tenant,
        external_id,
        email: &email,
        name,
        ts,
    };
    let signature = sign(secret, &claims);
    json!({"tenant": tenant, "external_id": external_id, "email": email, "name": name, "ts": ts, "signature": signature})
}

/// The tenant's admin, and a fresh widget secret it made.
async fn admin_with_secret(app: &TestApp, tenant: &Tenant) -> (Client, String) {
    let mut admin = app.member(tenant, "Ada", Role::Admin).await;
    let secret = rotate(&mut admin).await;
    (admin, secret)
}

async fn rotate(admin: &mut Client) -> String {
    let (status, body) = admin.post("/api/admin/widget-secret/", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["secret"].as_str().unwrap().to_string()
}

async fn widget_sign_in(app: &TestApp, body: Value) -> (StatusCode, Value, Client) {
    let mut browser = app.anonymous();
    let (status, answer) = browser.post("/api/auth/widget/", body).await;
    if let Some(token) = answer["token"].as_str() {
        browser.bearer = Some(token.to_string());
    }
    browser.user_id = answer["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap_or_default();
    (status, answer, browser)
}

#[sqlx::test]
async fn a_host_signed_user_is_created_then_updated_and_chats_with_the_token(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let (mut admin, secret) = admin_with_secret(&app, &acme).await;

    let (status, first, _) = widget_sign_in(&app, signed(&secret, "acme", "U-42", "Ana", now())).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["user"]["role"], "write", "created on first use as a writer");
    assert_eq!(first["user"]["name"], "Ana");
    assert_eq!(first["user"]["email"], "u-42@host.test");
    assert!(first["token"].as_str().unwrap().starts_with("tcs_"));

    let mut later_body = signed(&secret, "acme", "U-42", "Ana Almeida", now());
    later_body["email"] = json!("ana@host.test");
    let claims = Claims {
        tenant: "acme",
        external_id: "U-42",
        email: "ana@host.test",
        name: "Ana Almeida",
        ts: later_body["ts"].as_i64().unwrap(),
    };
    later_body["signature"] = json!(sign(&secret, &claims));
    let (status, later, mut widget) = widget_sign_in(&app, later_body).await;
    assert_eq!(status, StatusCode::OK, "{later}");
    assert_eq!(
        later["user"]["id"], first["user"]["id"],
        "the same user, found by external id"
    );
    assert_eq!(later["user"]["name"], "Ana Almeida");
    assert_eq!(later["user"]["email"], "ana@host.test");

    // The token alone (no cookie, no CSRF header) is the session: the widget chats with it.
    let mut bearer_only = app.anonymous();
    bearer_only.bearer = widget.bearer.clone();
    let (status, me) = bearer_only.get("/api/auth/me/").await;
    assert_eq!((status, &me["name"]), (StatusCode::OK, &json!("Ana Almeida")));
    let mut listener = Socket::open(&app.base, "", None, widget.bearer.as_deref()).await;
    let conversation = bearer_only.start_with(admin.user_id).await;
    bearer_only.say(&conversation, "hello from the host app").await;
    let created = listener.expect("message_created").await;
    assert_eq!(created["message"]["content"], "hello from the host app");
    let history = admin.messages(&conversation, "").await;
    assert_eq!(history.last().unwrap()["content"], "hello from the host app");

    // The first sign-in's session is another one, still alive; the user has no password.
    assert_eq!(widget.get("/api/auth/me/").await.0, StatusCode::OK);
    drop(widget);
    let (status, _) = app
        .anonymous()
        .post(
            "/api/auth/login/",
            json!({"tenant": "acme", "email": "ana@host.test", "password": "!widget"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a widget user cannot log in with a password"
    );
}

#[sqlx::test]
async fn a_wrong_signature_stale_time_or_other_tenants_secret_is_refused(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    let (_, secret) = admin_with_secret(&app, &acme).await;
    let mut globex_admin = app.member(&globex, "Gus", Role::Admin).await;
    let globex_secret = rotate(&mut globex_admin).await;

    let mut tampered = signed(&secret, "acme", "u-1", "Ana", now());
    tampered["name"] = json!("Admin");
    let cases = [
        ("a changed field", tampered),
        ("a signature that is not hex", {
            let mut body = signed(&secret, "acme", "u-1", "Ana", now());
            body["signature"] = json!("zz");
            body
        }),
        ("ts six minutes old", signed(&secret, "acme", "u-1", "Ana", now() - 360)),
        (
            "ts six minutes ahead",
            signed(&secret, "acme", "u-1", "Ana", now() + 360),
        ),
        (
            "another tenant's secret",
            signed(&globex_secret, "acme", "u-1", "Ana", now()),
        ),
        ("an unknown tenant", signed(&secret, "nosuch", "u-1", "Ana", now())),
    ];
    for (what, body) in cases {
        let (status, answer, _) = widget_sign_in(&app, body).await;
        assert_eq!(
            error_code(status, &answer, StatusCode::UNAUTHORIZED),
            "invalid_signature",
            "{what}"
        );
    }
    let created: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE external_id IS NOT NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(created, 0, "no refused sign-in created a user");

    // A tenant that never made a secret cannot be signed into at all.
    let initech = app.tenant("initech").await;
    let (status, answer, _) = widget_sign_in(&app, signed("", &initech.slug, "u-1", "Ana", now())).await;
    assert_eq!(
        error_code(status, &answer, StatusCode::UNAUTHORIZED),
        "invalid_signature"
    );
}

async fn a_signature_is_accepted_once(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let (_, secret) = admin_with_secret(&app, &acme).await;
    let body = signed(&secret, "acme", "u-7", "Ana", now());
    assert_eq!(widget_sign_in(&app, body.clone()).await.0, StatusCode::OK);
    let (status, answer, _) = widget_sign_in(&app, body).await;
    assert_eq!(
        error_code(status, &answer, StatusCode::UNAUTHORIZED),
        "invalid_signature"
    );
    assert!(answer["message"].as_str().unwrap().contains("already used"), "{answer}");
    let fresh = signed(&secret, "acme", "u-7", "Ana", now() - 1);
    assert_eq!(
        widget_sign_in(&app, fresh).await.0,
        StatusCode::OK,
        "a new signature is fine"
    );
}

on_both_layers!(a_signature_is_accepted_once);

#[sqlx::test]
async fn rotating_the_secret_retires_the_old_one_and_is_audited(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let (mut admin, old) = admin_with_secret(&app, &acme).await;
    let new = rotate(&mut admin).await;
    assert_ne!(old, new);

    let (status, answer, _) = widget_sign_in(&app, signed(&old, "acme", "u-1", "Ana", now())).await;
    assert_eq!(
        error_code(status, &answer, StatusCode::UNAUTHORIZED),
        "invalid_signature"
    );
    assert_eq!(
        widget_sign_in(&app, signed(&new, "acme", "u-1", "Ana", now())).await.0,
        StatusCode::OK
    );

    let (_, log) = admin.get("/api/admin/audit-log/").await;
    let rotations: Vec<&Value> = log["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "widget_secret.rotate")
        .collect();
    assert_eq!(rotations.len(), 2, "{log}");
    assert!(!log.to_string().contains(&new), "the secret never enters the audit log");
    let (_, settings) = admin.get("/api/admin/settings/").await;
    assert!(!settings.to_string().contains(&new), "nor is it shown again");

    let mut writer = app.member(&acme, "Bruno", Role::Write).await;
    let (status, body) = writer.post("/api/admin/widget-secret/", json!({})).await;
    assert_eq!(
        error_code(status, &body, StatusCode::FORBIDDEN),
        "admin_permission_required"
    );
}

#[sqlx::test]
async fn a_deactivated_user_is_refused_and_a_password_user_is_never_taken_over(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let (mut admin, secret) = admin_with_secret(&app, &acme).await;
    let (_, first, mut widget) = widget_sign_in(&app, signed(&secret, "acme", "u-9", "Ana", now())).await;
    let id = first["user"]["id"].as_str().unwrap();

    let (status, body) = admin.delete(&format!("/api/admin/users/{id}/")).await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(
        widget.get("/api/auth/me/").await.0,
        StatusCode::UNAUTHORIZED,
        "its token ends"
    );
    let (status, answer, _) = widget_sign_in(&app, signed(&secret, "acme", "u-9", "Anna", now())).await;
    assert_eq!(error_code(status, &answer, StatusCode::FORBIDDEN), "forbidden");
    let name: String = sqlx::query_scalar("SELECT name FROM users WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(name, "Ana", "a refused sign-in changes nothing");

    // Ada logs in with a password; a host claiming her email gets a conflict, not her account.
    let ts = now();
    let claims = Claims {
        tenant: "acme",
        external_id: "u-10",
        email: "ada@acme.test",
        name: "Ada",
        ts,
    };
    let body = json!({"tenant": "acme", "external_id": "u-10", "email": "ada@acme.test", "name": "Ada",
                      "ts": ts, "signature": sign(&secret, &claims)});
    let (status, answer, _) = widget_sign_in(&app, body).await;
    assert_eq!(error_code(status, &answer, StatusCode::CONFLICT), "email_taken");
}

#[sqlx::test]
async fn fields_that_could_shift_the_signed_text_are_refused(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let (_, secret) = admin_with_secret(&app, &acme).await;
    let (status, answer, _) = widget_sign_in(&app, signed(&secret, "acme", "a|b", "Ana", now())).await;
    assert_eq!(error_code(status, &answer, StatusCode::BAD_REQUEST), "validation_error");
    assert_eq!(answer["field"], "external_id");
}

#[sqlx::test]
async fn a_host_page_of_an_allowed_origin_may_call_the_api_across_origins(pool: PgPool) {
    let host = "http://host.test:9000";
    let app = spawn_configured(pool, |c| c.allowed_origins = vec![host.into()]).await;
    let client = reqwest::Client::new();
    let preflight = |origin: &str| {
        client
            .request(Method::OPTIONS, format!("{}/api/auth/widget/", app.base))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let allowed = preflight(host).await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], host);
    assert!(
        allowed.headers().get("access-control-allow-credentials").is_none(),
        "no cookies across origins"
    );
    let other = preflight("http://evil.test").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let script = client
        .get(format!("{}/static/chat/js/tenant_chat.js", app.base))
        .header("Origin", host)
        .send()
        .await
        .unwrap();
    assert_eq!(
        script.headers()["access-control-allow-origin"],
        host,
        "the widget's modules load"
    );

    // The browser marks the host page's sign-in cross-site; it is let through, others are not.
    let sign_in = |origin: &str| {
        client
            .post(format!("{}/api/auth/widget/", app.base))
            .header("Origin", origin)
            .header("Sec-Fetch-Site", "cross-site")
            .json(&json!({"tenant": "acme", "external_id": "u", "email": "u@x.test", "name": "U", "ts": 0, "signature": ""}))
            .send()
    };
    let refused = sign_in(host).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.headers()["access-control-allow-origin"],
        host,
        "the page may read why"
    );
    assert_eq!(
        sign_in("http://evil.test").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}

#[sqlx::test]
async fn repeated_bad_signatures_for_one_user_are_throttled_like_logins(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let (_, secret) = admin_with_secret(&app, &acme).await;
    for _ in 0..5 {
        let (status, _, _) = widget_sign_in(&app, signed("guessed", "acme", "u-5", "Ana", now())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, answer, _) = widget_sign_in(&app, signed(&secret, "acme", "u-5", "Ana", now())).await;
    assert_eq!(
        error_code(status, &answer, StatusCode::TOO_MANY_REQUESTS),
        "rate_limited"
    );
    let other = signed(&secret, "acme", "u-6", "Bo", now());
    assert_eq!(
        widget_sign_in(&app, other).await.0,
        StatusCode::OK,
        "per user, as logins are per account"
    );
}
