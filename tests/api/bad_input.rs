//! Bad input answers a 4xx with the JSON error body — never a 500, never HTML.

use reqwest::{header::CONTENT_TYPE, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::helpers::spawn_app;

#[sqlx::test]
async fn malformed_requests_get_json_4xx_errors(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno).await;
    let messages = format!("/api/chat/conversations/{id}/messages/");

    let cases: Vec<(Method, String, Option<&str>, &str, StatusCode)> = vec![
        (
            Method::POST,
            messages.clone(),
            Some("application/json"),
            "{not json",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            messages.clone(),
            Some("application/json"),
            r#"{"content": {"text": "hi"}}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            messages.clone(),
            Some("application/json"),
            r#"["content"]"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            messages.clone(),
            Some("text/plain"),
            "hello",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            Method::POST,
            "/api/chat/conversations/start/".into(),
            Some("application/json"),
            r#"{"participant_id": ["x"]}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/auth/login/".into(),
            Some("application/json"),
            r#"{"tenant": 1}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            format!("{messages}?limit=99999999999999999999999"),
            None,
            "",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            format!("{messages}?after_seq=abc"),
            None,
            "",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/chat/conversations/?archived=maybe".into(),
            None,
            "",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/chat/conversations/not-a-uuid/".into(),
            None,
            "",
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/api/chat/conversations/not-a-uuid/messages/".into(),
            None,
            "",
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/api/no/such/endpoint/".into(),
            None,
            "",
            StatusCode::NOT_FOUND,
        ),
        (
            Method::DELETE,
            "/api/chat/conversations/".into(),
            None,
            "",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (method, path, content_type, body, expected) in cases {
        let mut req = ana.request(method.clone(), &path).body(body.to_string());
        if let Some(ct) = content_type {
            req = req.header(CONTENT_TYPE, ct);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let text = resp.text().await.unwrap();
        assert_eq!(status, expected, "{method} {path} {body}: {text}");
        assert!(ct.starts_with("application/json"), "{method} {path}: content type {ct}");
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        assert!(json["error"].is_string() && json["message"].is_string(), "{json}");
    }
    assert_eq!(
        ana.conversation(&id).await["last_message"],
        Value::Null,
        "nothing was written"
    );
}

#[sqlx::test]
async fn an_oversized_body_is_refused_with_413(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno).await;
    let huge = json!({"content": "x".repeat(2 * 1024 * 1024)});
    let (status, body) = ana.post(&format!("/api/chat/conversations/{id}/messages/"), huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"], "payload_too_large");
}

#[sqlx::test]
async fn paths_work_with_and_without_the_trailing_slash(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let (status, _) = ana
        .post("/api/chat/conversations/start", json!({"participant_id": bruno}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for path in [
        "/api/auth/me",
        "/api/auth/me/",
        "/api/chat/conversations",
        "/api/chat/conversations/",
    ] {
        let (status, _) = ana.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}

#[sqlx::test]
async fn the_openapi_document_describes_every_endpoint_and_both_auth_schemes(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut client = app.anonymous();
    let (status, doc) = client.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/auth/login/", "post"),
        ("/auth/logout/", "post"),
        ("/auth/me/", "get"),
        ("/auth/tokens/", "post"),
        ("/auth/tokens/", "get"),
        ("/auth/tokens/{id}/", "delete"),
        ("/chat/conversations/", "get"),
        ("/chat/conversations/", "post"),
        ("/chat/conversations/start/", "post"),
        ("/chat/conversations/{id}/", "get"),
        ("/chat/conversations/{id}/messages/", "get"),
        ("/chat/conversations/{id}/messages/", "post"),
        ("/chat/conversations/{id}/mark_read/", "post"),
        ("/chat/conversations/{id}/archive/", "patch"),
        ("/chat/conversations/{id}/unarchive/", "patch"),
        ("/chat/conversations/{id}/mute/", "patch"),
        ("/chat/conversations/{id}/unmute/", "patch"),
        ("/chat/conversations/{id}/typing/", "post"),
        ("/chat/conversations/presence/", "get"),
        ("/chat/attachments/{id}/", "get"),
        ("/admin/attachments/", "get"),
        ("/admin/attachments/{id}/", "delete"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
    let send = &paths["/chat/conversations/{id}/messages/"]["post"]["requestBody"]["content"];
    let types: Vec<&String> = send.as_object().unwrap().keys().collect();
    assert!(types.iter().any(|t| t.starts_with("application/json")), "{send}");
    assert!(types.iter().any(|t| t.starts_with("multipart/form-data")), "{send}");
    let form = send
        .as_object()
        .unwrap()
        .iter()
        .find(|(t, _)| t.starts_with("multipart/"))
        .unwrap()
        .1;
    let form_schema = form["schema"].to_string();
    assert!(
        form_schema.contains("attachments") && form_schema.contains("binary"),
        "{form_schema}"
    );
    let download = &paths["/chat/attachments/{id}/"]["get"]["responses"];
    assert!(
        download.get("200").is_some() && download.get("206").is_some(),
        "{download}"
    );
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let kinds: Vec<String> = schemes
        .values()
        .map(|s| s["type"].as_str().unwrap().to_string())
        .collect();
    assert!(
        kinds.contains(&"http".to_string()) && kinds.contains(&"apiKey".to_string()),
        "{schemes:?}"
    );
    assert!(schemes
        .values()
        .any(|s| s["in"] == "cookie" && s["name"] == "sessionid"));
    for name in ["Message", "Conversation", "Participant", "ErrorBody", "User"] {
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "schema {name} missing"
        );
    }

    let page = reqwest::get(format!("{}/api/docs/", app.base)).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("/chat/conversations/{id}/messages/"));
}
