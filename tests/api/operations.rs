//! What an operator relies on: request ids, health endpoints, the metrics listener, the
//! AsyncAPI document of the socket, and the request log of the real binary.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    cli::spawn_binary_logging,
    cluster::OwnRedis,
    helpers::{spawn_app, spawn_configured, spawn_with_redis, Layer, TestApp},
    sockets::Socket,
};

async fn get(url: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = reqwest::get(url).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.unwrap())
}

fn request_id(headers: &reqwest::header::HeaderMap) -> &str {
    headers
        .get("x-request-id")
        .expect("every response has an X-Request-Id")
        .to_str()
        .unwrap()
}

#[sqlx::test]
async fn every_response_carries_a_request_id_the_clients_when_it_is_sane(pool: PgPool) {
    let app = spawn_app(pool).await;
    let client = reqwest::Client::new();
    let with_id = |path: &str, id: &str| {
        client
            .get(format!("{}{path}", app.base))
            .header("X-Request-Id", id)
            .send()
    };

    let answer = with_id("/api/chat/conversations/", "trace-7.a_b").await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(request_id(answer.headers()), "trace-7.a_b", "kept on an error too");

    for bad in ["has space", &"x".repeat(65), "semi;colon"] {
        let answer = with_id("/healthz", bad).await.unwrap();
        let fresh = request_id(answer.headers());
        assert_ne!(fresh, bad);
        assert!(!fresh.is_empty() && fresh.len() <= 64, "{fresh}");
    }

    let (status, headers, _) = get(&format!("{}/no/such/page", app.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let first = request_id(&headers).to_string();
    let (_, headers, _) = get(&format!("{}/no/such/page", app.base)).await;
    assert_ne!(request_id(&headers), first, "a fresh id per request");
}

#[sqlx::test]
async fn healthz_and_readyz_answer_ok_and_readyz_turns_503_when_shutting_down(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (status, _, body) = get(&format!("{}/healthz", app.base)).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let (status, _, body) = get(&format!("{}/readyz", app.base)).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()),
        (StatusCode::OK, json!({"status": "ok"}))
    );

    app.realtime().shutdown();
    let (status, _, body) = get(&format!("{}/readyz", app.base)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["status"], "shutting_down");
    let (status, _, _) = get(&format!("{}/healthz", app.base)).await;
    assert_eq!(status, StatusCode::OK, "the process still serves");
}

#[sqlx::test]
async fn readyz_names_the_dependency_that_does_not_answer(pool: PgPool) {
    let mut redis = OwnRedis::start();
    let app = spawn_with_redis(pool, Some(redis.url()), Layer::redis()).await;
    let readyz = format!("{}/readyz", app.base);
    assert_eq!(get(&readyz).await.0, StatusCode::OK);

    redis.stop();
    let (status, _, body) = get(&readyz).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"status": "unavailable", "failed": ["redis"]})
    );

    app.pool.close().await;
    let (status, _, body) = get(&readyz).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["failed"],
        json!(["database", "redis"])
    );
}

/// The series of `text` whose name is `name` (exactly, before labels or value).
fn series<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .collect()
}

#[sqlx::test]
async fn metrics_are_served_on_their_own_listener_only(pool: PgPool) {
    let app = spawn_configured(pool, |config| config.metrics_bind = Some("127.0.0.1:0".into())).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let mut socket = bruno.socket().await;
    ana.say(&id, "counted").await;
    socket.expect("message_created").await;
    // Closed by the server with 4401: counted by code.
    let mut refused = Socket::connect(&app.base, "", None, Some("not-a-token")).await.unwrap();
    refused.closed().await;

    let metrics = app.metrics.expect("a metrics listener");
    let (status, _, text) = get(&format!("http://{metrics}/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    // Other tests of this process may count too: only presence and lower bounds hold.
    let sends = series(&text, "tenantchat_http_request_duration_seconds_count");
    assert!(
        sends
            .iter()
            .any(|s| s.contains(r#"route="/api/chat/conversations/:param0/messages""#)
                && s.contains(r#"method="POST""#)
                && s.contains(r#"status="201""#)),
        "the send by route and status: {sends:#?}"
    );
    assert!(!text.contains(&id), "routes are patterns, not paths with ids");
    assert!(!series(&text, "tenantchat_http_request_duration_seconds_bucket").is_empty());
    let sent = series(&text, "tenantchat_events_sent_total");
    assert!(
        sent.iter().any(|s| s.contains(r#"type="message_created""#)),
        "{sent:#?}"
    );
    assert!(sent.iter().any(|s| s.contains(r#"type="connected""#)), "{sent:#?}");
    let closed = series(&text, "tenantchat_sockets_closed_total");
    assert!(closed.iter().any(|s| s.contains(r#"code="4401""#)), "{closed:#?}");
    let messages: f64 = series(&text, "tenantchat_messages_sent_total")[0]
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(messages >= 1.0);
    for name in [
        "tenantchat_sockets_open",
        "tenantchat_events_dropped_total",
        "tenantchat_channel_layer_publish_duration_seconds_count",
        "tenantchat_db_pool_connections",
        "tenantchat_db_pool_idle_connections",
        "tenantchat_db_pool_max_connections",
    ] {
        assert!(!series(&text, name).is_empty(), "{name} missing from:\n{text}");
    }
    assert!(text.contains("# HELP tenantchat_events_dropped_total"), "described");

    let (status, _, _) = get(&format!("{}/metrics", app.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "never on the public port");
}

/// Every `$ref` of `doc` points at something inside it.
fn assert_refs_resolve(doc: &Value, at: &Value) {
    match at {
        Value::Object(object) => {
            if let Some(target) = object.get("$ref").and_then(Value::as_str) {
                let pointer = target.strip_prefix('#').expect("local references only");
                assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
            }
            object.values().for_each(|v| assert_refs_resolve(doc, v));
        }
        Value::Array(items) => items.iter().for_each(|v| assert_refs_resolve(doc, v)),
        _ => {}
    }
}

#[sqlx::test]
async fn the_asyncapi_document_describes_the_socket(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (status, _, body) = get(&format!("{}/api/asyncapi.json", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["asyncapi"], "3.0.0");
    assert_eq!(doc["channels"]["chat"]["address"], "/ws/chat/");
    assert_eq!(
        doc["servers"]["tenantchat"]["host"],
        app.base.trim_start_matches("http://")
    );
    assert_eq!(doc["operations"]["serverFrames"]["action"], "send");
    assert_eq!(doc["operations"]["clientFrames"]["action"], "receive");
    let names = |operation: &str| -> Vec<String> {
        doc["operations"][operation]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let target = m["$ref"].as_str().unwrap().trim_start_matches('#');
                let message = doc.pointer(target).unwrap()["$ref"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches('#');
                doc.pointer(message).unwrap()["name"].as_str().unwrap().to_string()
            })
            .collect()
    };
    // API.md's frames, both ways.
    let server = names("serverFrames");
    for frame in [
        "connected",
        "pong",
        "error",
        "message_created",
        "message_updated",
        "typing",
        "message_status",
        "read",
        "presence",
        "presence_batch",
        "presence_state",
        "conversation_updated",
        "conversation_deleted",
        "reaction",
        "mention",
        "opened",
        "send_ok",
        "send_error",
    ] {
        assert!(server.iter().any(|n| n == frame), "{frame} not in {server:?}");
    }
    let mut client = names("clientFrames");
    client.sort();
    assert_eq!(
        client,
        ["ack", "open", "ping", "presence_subscribe", "read", "send", "typing"]
    );
    let close_codes: Vec<u64> = doc["channels"]["chat"]["x-close-codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_u64().unwrap())
        .collect();
    for code in [4401, 1013, 1012, 1009, 1008, 1001] {
        assert!(close_codes.contains(&code), "{code}");
    }
    assert!(
        doc["components"]["schemas"]["Message"].is_object(),
        "shared with the OpenAPI document"
    );
    assert_refs_resolve(&doc, &doc);
}

/// Runs `tenantchat healthcheck` against `bind`; whether it says ready.
fn healthcheck(bind: &str) -> bool {
    std::process::Command::new(env!("CARGO_BIN_EXE_tenantchat"))
        .arg("healthcheck")
        .env("BIND", bind)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
        .status
        .success()
}

/// The real binary with `LOG_FORMAT=json`: one JSON object per line, one line per
/// request with its route pattern, status, id, tenant and user, and nothing secret.
#[sqlx::test]
async fn the_json_log_has_one_line_per_request_and_no_secret(pool: PgPool) {
    let (mut server, base, logs) = spawn_binary_logging(&pool, "info", &[("LOG_FORMAT", "json")]).await;
    let app = TestApp::external(&base, pool);
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let (_, token) = ana.post("/api/auth/tokens/", json!({"name": "bot"})).await;
    let token = token["token"].as_str().unwrap().to_string();
    let answer = reqwest::Client::new()
        .get(format!("{base}/api/chat/conversations/{id}/messages/?limit=7"))
        .bearer_auth(&token)
        .header("X-Request-Id", "probe-42")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(request_id(answer.headers()), "probe-42");
    // Refused by poem itself, not by a handler: a method the route does not take, a
    // query parameter that does not parse.
    let client = reqwest::Client::new();
    let messages = format!("{base}/api/chat/conversations/{id}/messages/");
    for (request, id, status) in [
        (client.put(&messages), "probe-405", StatusCode::METHOD_NOT_ALLOWED),
        (
            client.get(format!("{messages}?limit=many")),
            "probe-400",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let answer = request
            .bearer_auth(&token)
            .header("X-Request-Id", id)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status);
    }
    let socket = Socket::open(&base, "", None, Some(&token)).await;
    socket.close().await;
    let mut refused = Socket::connect(&base, "", None, Some("not-a-token")).await.unwrap();
    refused.closed().await;
    let bind = base.trim_start_matches("http://");
    assert!(healthcheck(bind), "the server is ready");

    server.start_kill().unwrap();
    server.wait().await.unwrap();
    assert!(!healthcheck(bind), "nothing listens any more");
    let logs = logs.await.unwrap();
    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let probe = lines
        .iter()
        .find(|l| l["request_id"] == "probe-42")
        .expect("the request's line");
    assert_eq!(probe["message"], "request");
    assert_eq!(probe["method"], "GET");
    assert_eq!(probe["route"], "/api/chat/conversations/:param0/messages");
    assert_eq!(probe["status"], 200);
    assert!(probe["duration_ms"].as_f64().is_some(), "{probe}");
    assert_eq!(probe["tenant"], acme.id.to_string());
    assert_eq!(probe["user"], ana.user_id.to_string());
    for (id, status) in [("probe-405", 405), ("probe-400", 400)] {
        let refused = lines.iter().find(|l| l["request_id"] == id).unwrap();
        assert_eq!(
            (&refused["route"], &refused["status"]),
            (&json!("/api/chat/conversations/:param0/messages"), &json!(status)),
            "poem's own refusals keep their route too"
        );
    }
    let upgrades: Vec<&Value> = lines
        .iter()
        .filter(|l| l["route"] == "/ws/chat" && l["status"] == 101)
        .collect();
    assert_eq!(upgrades.len(), 2, "each socket once, at its upgrade");
    assert!(
        lines.iter().any(|l| l["message"] == "socket closed"
            && l["code"] == 4401
            && upgrades.iter().any(|u| u["request_id"] == l["request_id"])),
        "the refused socket's close, with its handshake's request id"
    );
    let session = ana.cookie_header();
    for secret in [token.as_str(), &session, ana.csrf.as_deref().unwrap(), "limit=7"] {
        assert!(!logs.contains(secret), "the log contains {secret:?}");
    }
}

/// Piped (not a terminal), the text log has no colour codes.
#[sqlx::test]
async fn the_text_log_has_no_colour_codes_when_not_on_a_terminal(pool: PgPool) {
    let (mut server, base, logs) = spawn_binary_logging(&pool, "info", &[]).await;
    assert_eq!(get(&format!("{base}/healthz")).await.0, StatusCode::OK);
    server.start_kill().unwrap();
    let logs = logs.await.unwrap();
    assert!(
        logs.contains("tenantchat::request") && logs.contains("/healthz"),
        "{logs}"
    );
    assert!(!logs.contains('\u{1b}'), "colour codes in {logs:?}");
}
