//! Bad input answers a 4xx with the JSON error body — never a 500, never HTML.

use reqwest::{header::CONTENT_TYPE, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::helpers::{error_code, spawn_app};

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

#[sqlx::test]
async fn numbers_and_booleans_are_not_text(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno).await;
    let messages = format!("/api/chat/conversations/{id}/messages/");

    let cases: Vec<(Method, &str, Value, &str)> = vec![
        (Method::POST, &messages, json!({"content": true}), "content"),
        (Method::POST, &messages, json!({"content": 5}), "content"),
        (
            Method::POST,
            &messages,
            json!({"content": "hi", "client_id": 7}),
            "client_id",
        ),
        (Method::POST, "/api/auth/tokens/", json!({"name": 5}), "name"),
        (
            Method::POST,
            "/api/auth/login/",
            json!({"tenant": "acme", "email": false, "password": "x"}),
            "email",
        ),
        (
            Method::POST,
            "/api/chat/conversations/",
            json!({"title": 1.5, "participant_ids": [bruno]}),
            "title",
        ),
        (
            Method::PUT,
            "/api/admin/settings/",
            json!({"widget_title": false}),
            "widget_title",
        ),
        (
            Method::PUT,
            "/api/admin/settings/",
            json!({"retention_days": "30"}),
            "retention_days",
        ),
        (
            Method::POST,
            "/api/admin/users/",
            json!({"email": "n@acme.test", "name": 5, "password": "long enough", "role": "read"}),
            "name",
        ),
        (
            Method::POST,
            "/api/admin/users/",
            json!({"email": "n@acme.test", "name": "N", "password": "long enough"}),
            "role",
        ),
    ];
    for (method, path, body, field) in cases {
        let req = ana.request(method.clone(), path).json(&body);
        let (status, answer) = ana.send(req).await;
        assert_eq!(
            error_code(status, &answer, StatusCode::BAD_REQUEST),
            "validation_error",
            "{method} {path} {body}"
        );
        assert_eq!(answer["field"], field, "{method} {path} {body}: {answer}");
    }

    // A participant id keeps its own code, however it is wrong.
    for body in [json!({"participant_id": 5}), json!({"participant_id": null})] {
        let (status, answer) = ana.post("/api/chat/conversations/start/", body.clone()).await;
        assert_eq!(
            error_code(status, &answer, StatusCode::BAD_REQUEST),
            "invalid_participant",
            "{body}"
        );
    }

    assert_eq!(
        ana.conversation(&id).await["last_message"],
        Value::Null,
        "no message was stored"
    );
    let (_, tokens) = ana.get("/api/auth/tokens/").await;
    assert_eq!(tokens, json!([]), "no token was created");
    let (_, users) = ana.get("/api/admin/users/").await;
    assert_eq!(users.as_array().unwrap().len(), 2, "no user was created");
}

#[sqlx::test]
async fn refused_query_parameters_name_the_parameter(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    for (query, field) in [
        ("/api/chat/conversations/?limit=0", "limit"),
        ("/api/chat/conversations/?offset=-1", "offset"),
        ("/api/admin/audit-log/?actor=not-an-id", "actor"),
        ("/api/admin/attachments/?conversation=42", "conversation"),
        ("/api/admin/conversations/?limit=0", "limit"),
    ] {
        let (status, answer) = ana.get(query).await;
        assert_eq!(
            error_code(status, &answer, StatusCode::BAD_REQUEST),
            "validation_error",
            "{query}"
        );
        assert_eq!(answer["field"], field, "{query}");
    }
}

#[sqlx::test]
async fn a_method_the_path_does_not_take_is_405_with_allow(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let ana = app.member(&acme, "Ana", Role::Write).await;
    for (method, path, allowed) in [
        (Method::DELETE, "/api/chat/conversations/", "GET, POST, HEAD"),
        (Method::PUT, "/api/auth/me/", "GET, HEAD"),
        (Method::GET, "/api/chat/conversations/start", "POST"),
    ] {
        let resp = ana.request(method.clone(), path).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(resp.headers()["allow"], allowed, "{method} {path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "method_not_allowed");
    }
}

#[sqlx::test]
async fn the_openapi_document_states_nulls_ids_and_every_error_status(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (status, doc) = app.anonymous().get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("Conversation", "last_message"),
        ("ApiToken", "last_used_at"),
        ("AdminUser", "last_seen"),
        ("UserPresence", "last_seen"),
        ("AuditEntry", "resource_id"),
        ("SettingsView", "widget_title"),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["nullable"], true,
            "{schema}.{field}"
        );
    }
    let paths = &doc["paths"];
    let parameter = |path: &str, name: &str| {
        paths[path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} {name}"))["schema"]
            .clone()
    };
    assert_eq!(parameter("/chat/conversations/{id}/", "id")["format"], "uuid");
    assert_eq!(parameter("/admin/audit-log/", "actor")["format"], "uuid");
    assert_eq!(parameter("/admin/attachments/", "conversation")["format"], "uuid");
    assert_eq!(parameter("/chat/conversations/", "limit")["minimum"], 1.0);
    assert_eq!(parameter("/chat/conversations/", "offset")["minimum"], 0.0);
    let send = &paths["/chat/conversations/{id}/messages/"]["post"];
    for status in ["200", "201", "400", "401", "403", "404", "413", "415", "429"] {
        assert!(send["responses"].get(status).is_some(), "send answers {status}");
    }
    let content = send["requestBody"]["content"].as_object().unwrap();
    assert!(content.contains_key("application/json") && content.contains_key("multipart/form-data"));
}
