use futures::future::join_all;
use reqwest::{multipart, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::helpers::{error_code, spawn_app};

fn seqs(messages: &[Value]) -> Vec<i64> {
    messages.iter().map(|m| m["seq"].as_i64().unwrap()).collect()
}

#[sqlx::test]
async fn a_sent_message_has_the_documented_shape(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno).await;

    let message = ana.say(&id, "  hello there \n").await;
    assert_eq!(message["content"], "hello there");
    assert_eq!(message["conversation"], id);
    assert_eq!(message["seq"], 1);
    assert_eq!(message["sender_id"], ana.user_id.to_string());
    assert_eq!(message["sender_name"], "Ana");
    assert_eq!(message["sender_email"], "ana@acme.test");
    assert_eq!(message["has_attachments"], false);
    assert_eq!(message["attachments"], json!([]));
    assert_eq!(message["status"], "sent");
    let created = message["created_at"].as_str().unwrap();
    assert!(
        created.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );

    let form = multipart::Form::new().text("content", "from a form");
    let req = ana
        .request(Method::POST, &format!("/api/chat/conversations/{id}/messages/"))
        .multipart(form);
    let (status, body) = ana.send(req).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["content"], "from a form");
    assert_eq!(body["seq"], 2);

    let conversation = ana.conversation(&id).await;
    assert_eq!(conversation["last_message"]["id"], body["id"]);
}

#[sqlx::test]
async fn seq_stays_gap_free_under_fifty_concurrent_sends_from_two_users(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let path = format!("/api/chat/conversations/{id}/messages/");

    let sends = (0..50).map(|i| {
        let sender = if i % 2 == 0 { &ana } else { &bruno };
        sender
            .request(Method::POST, &path)
            .json(&json!({"content": format!("message {i}")}))
            .send()
    });
    for resp in join_all(sends).await {
        assert_eq!(resp.unwrap().status(), StatusCode::CREATED);
    }
    let messages = ana.messages(&id, "?after_seq=0").await;
    assert_eq!(seqs(&messages), (1..=50).collect::<Vec<_>>());
    let mut contents: Vec<&str> = messages.iter().map(|m| m["content"].as_str().unwrap()).collect();
    contents.sort();
    contents.dedup();
    assert_eq!(contents.len(), 50, "every acknowledged message is stored once");
}

#[sqlx::test]
async fn a_retry_with_the_same_client_id_returns_the_original(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let path = format!("/api/chat/conversations/{id}/messages/");

    let (status, first) = ana.post(&path, json!({"content": "once", "client_id": "c-1"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, retry) = ana.post(&path, json!({"content": "once", "client_id": "c-1"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(retry["id"], first["id"]);
    assert_eq!(retry["seq"], 1);

    let (status, theirs) = bruno.post(&path, json!({"content": "mine", "client_id": "c-1"})).await;
    assert_eq!(status, StatusCode::CREATED, "client ids are per sender");
    assert_eq!(theirs["seq"], 2);

    let retries = (0..5).map(|_| {
        ana.request(Method::POST, &path)
            .json(&json!({"content": "burst", "client_id": "c-2"}))
            .send()
    });
    let mut message_ids = Vec::new();
    for resp in join_all(retries).await {
        let resp = resp.unwrap();
        assert!(resp.status() == StatusCode::CREATED || resp.status() == StatusCode::OK);
        message_ids.push(resp.json::<Value>().await.unwrap()["id"].clone());
    }
    message_ids.dedup();
    assert_eq!(message_ids.len(), 1, "concurrent retries make one message");
    assert_eq!(seqs(&ana.messages(&id, "").await), [1, 2, 3]);

    let (status, body) = ana
        .post(&path, json!({"content": "x", "client_id": "k".repeat(65)}))
        .await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");
    assert_eq!(body["field"], "client_id");
}

#[sqlx::test]
async fn content_is_required_and_at_most_5000_characters(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno).await;
    let path = format!("/api/chat/conversations/{id}/messages/");

    let (status, _) = ana.post(&path, json!({"content": "ü".repeat(5000)})).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "5000 characters fit, whatever their byte length"
    );
    for body in [
        json!({"content": "x".repeat(5001)}),
        json!({"content": ""}),
        json!({"content": "   \n"}),
        json!({}),
    ] {
        let (status, resp) = ana.post(&path, body.clone()).await;
        assert_eq!(
            error_code(status, &resp, StatusCode::BAD_REQUEST),
            "validation_error",
            "{body}"
        );
        assert_eq!(resp["field"], "content");
    }
    assert_eq!(seqs(&ana.messages(&id, "").await), [1], "refused messages took no seq");
}

#[sqlx::test]
async fn history_cursors_page_forwards_and_backwards(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno).await;
    let mut sent = Vec::new();
    for i in 1..=60 {
        sent.push(ana.say(&id, &format!("m{i}")).await);
    }

    assert_eq!(
        seqs(&ana.messages(&id, "").await),
        (11..=60).collect::<Vec<_>>(),
        "newest 50, ascending"
    );
    assert_eq!(
        seqs(&ana.messages(&id, "?limit=5").await),
        (56..=60).collect::<Vec<_>>()
    );
    assert_eq!(seqs(&ana.messages(&id, "?before_seq=11&limit=4").await), [7, 8, 9, 10]);
    assert_eq!(seqs(&ana.messages(&id, "?before_seq=3").await), [1, 2]);
    assert_eq!(seqs(&ana.messages(&id, "?after_seq=57").await), [58, 59, 60]);
    assert_eq!(
        ana.messages(&id, "?after_seq=0").await.len(),
        60,
        "catching up returns everything missed"
    );
    assert_eq!(seqs(&ana.messages(&id, "?after_seq=10&limit=2").await), [11, 12]);
    let since = sent[57]["id"].as_str().unwrap();
    assert_eq!(seqs(&ana.messages(&id, &format!("?since_id={since}")).await), [59, 60]);
    assert_eq!(
        ana.messages(&id, "?after_seq=0&limit=100000").await.len(),
        60,
        "limit is capped, not refused"
    );

    for query in ["?after_seq=-1", "?limit=0", "?since_id=nope"] {
        let (status, body) = ana.get(&format!("/api/chat/conversations/{id}/messages/{query}")).await;
        assert_eq!(
            error_code(status, &body, StatusCode::BAD_REQUEST),
            "validation_error",
            "{query}"
        );
        assert_eq!(body["field"], query[1..].split('=').next().unwrap(), "{query}");
    }
    // A well-formed id of no message here is unknown, like any other unknown id.
    let (status, body) = ana
        .get(&format!(
            "/api/chat/conversations/{id}/messages/?since_id={}",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "not_found");
}

#[sqlx::test]
async fn the_sender_sees_sent_then_delivered_then_read(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    ana.say(&id, "ping").await;

    let status_for_ana = |messages: Vec<Value>| messages[0]["status"].as_str().unwrap().to_string();
    assert_eq!(status_for_ana(ana.messages(&id, "").await), "sent");
    let (_, list) = ana.get("/api/chat/conversations/").await;
    assert_eq!(list[0]["last_message"]["status"], "sent");

    let fetched = bruno.messages(&id, "").await;
    assert_eq!(
        fetched[0]["status"], "delivered",
        "fetching delivers, from the reader's side too"
    );
    assert_eq!(status_for_ana(ana.messages(&id, "").await), "delivered");

    bruno
        .post(&format!("/api/chat/conversations/{id}/mark_read/"), json!({}))
        .await;
    assert_eq!(status_for_ana(ana.messages(&id, "").await), "read");
    assert_eq!(bruno.messages(&id, "").await[0]["status"], "read");
}

#[sqlx::test]
async fn in_a_group_the_status_waits_for_the_slowest_member(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let mut carla = app.member(&acme, "Carla", Role::Write).await;
    let (_, group) = ana
        .post(
            "/api/chat/conversations/",
            json!({"title": "G", "participant_ids": [bruno.user_id, carla.user_id]}),
        )
        .await;
    let id = group["id"].as_str().unwrap().to_string();
    ana.say(&id, "all hands").await;

    bruno
        .post(&format!("/api/chat/conversations/{id}/mark_read/"), json!({}))
        .await;
    assert_eq!(
        ana.messages(&id, "").await[0]["status"],
        "sent",
        "Carla has not even fetched it"
    );
    carla.messages(&id, "").await;
    assert_eq!(ana.messages(&id, "").await[0]["status"], "delivered");
    carla
        .post(&format!("/api/chat/conversations/{id}/mark_read/"), json!({}))
        .await;
    assert_eq!(ana.messages(&id, "").await[0]["status"], "read");
}

#[sqlx::test]
async fn the_read_role_reads_but_every_write_is_refused(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut reader = app.member(&acme, "Rita", Role::Read).await;
    let (_, group) = ana
        .post(
            "/api/chat/conversations/",
            json!({"title": "G", "participant_ids": [reader.user_id]}),
        )
        .await;
    let id = group["id"].as_str().unwrap().to_string();
    ana.say(&id, "for your eyes").await;

    assert_eq!(reader.messages(&id, "").await[0]["content"], "for your eyes");
    let (status, _) = reader.get("/api/chat/conversations/").await;
    assert_eq!(status, StatusCode::OK);

    let writes: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            "/api/chat/conversations/start/".into(),
            json!({"participant_id": ana.user_id}),
        ),
        (
            Method::POST,
            "/api/chat/conversations/".into(),
            json!({"title": "x", "participant_ids": [ana.user_id]}),
        ),
        (
            Method::POST,
            format!("/api/chat/conversations/{id}/messages/"),
            json!({"content": "hi"}),
        ),
        (
            Method::POST,
            format!("/api/chat/conversations/{id}/mark_read/"),
            json!({}),
        ),
        (
            Method::PATCH,
            format!("/api/chat/conversations/{id}/archive/"),
            json!({}),
        ),
        (Method::PATCH, format!("/api/chat/conversations/{id}/mute/"), json!({})),
    ];
    for (method, path, body) in writes {
        let req = reader.request(method.clone(), &path).json(&body);
        let (status, resp) = reader.send(req).await;
        assert_eq!(
            error_code(status, &resp, StatusCode::FORBIDDEN),
            "write_permission_required",
            "{method} {path}"
        );
        assert_eq!(resp["required_permission"], "write");
        assert_eq!(resp["user_permission"], "read");
    }
    assert_eq!(ana.messages(&id, "").await.len(), 1);
}

/// Every table a send writes, as text: equal before and after means nothing was written.
async fn what_sends_write(pool: &PgPool) -> Vec<Option<String>> {
    sqlx::query_scalar(
        "SELECT unnest(ARRAY[
             (SELECT string_agg(id || ' ' || seq, ',' ORDER BY id) FROM messages),
             (SELECT string_agg(id::text, ',' ORDER BY id) FROM webhook_deliveries),
             (SELECT string_agg(id::text, ',' ORDER BY id) FROM attachments),
             (SELECT string_agg(message_id || ' ' || user_id, ',' ORDER BY message_id, user_id) FROM mentions),
             (SELECT string_agg(id || ' ' || last_seq || ' ' || updated_at, ',' ORDER BY id) FROM conversations),
             (SELECT string_agg(user_id || ' ' || own_after_read || ' ' || is_archived, ',' ORDER BY conversation_id, user_id)
              FROM participants)])",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The server warms each new database connection by running the send statement (until
/// PostgreSQL has its generic plan) for a conversation that does not exist. That must
/// work, and write nothing, even in a tenant whose webhook wants every message.
#[sqlx::test]
async fn warming_a_connection_for_sends_writes_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno).await;
    ana.say(&id, "before the warm-up").await;
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret)
         VALUES (gen_random_uuid(), $1, 'https://hooks.example/in', '{message_created}', 'whsec_test')",
    )
    .bind(acme.id)
    .execute(&pool)
    .await
    .unwrap();
    let before = what_sends_write(&pool).await;

    let mut conn = pool.acquire().await.unwrap();
    tenantchat::chat::send_statement::warm(&mut conn).await.unwrap();
    drop(conn);

    assert_eq!(what_sends_write(&pool).await, before);
    assert_eq!(ana.say(&id, "after the warm-up").await["seq"], 2);
}
