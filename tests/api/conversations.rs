use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::helpers::{error_code, spawn_app};

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[sqlx::test]
async fn a_one_to_one_is_titled_with_the_other_person_and_started_once(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;

    let (status, created) = ana
        .post(
            "/api/chat/conversations/start/",
            json!({"participant_id": bruno.user_id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["title"], "Bruno");
    assert_eq!(created["is_group"], false);
    assert_eq!(created["unread_count"], 0);
    assert_eq!(created["last_message"], Value::Null);
    assert_eq!(created["participants"].as_array().unwrap().len(), 2);
    for p in created["participants"].as_array().unwrap() {
        assert_eq!(
            p.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["email", "id", "name"]
        );
    }

    let (status, again) = ana
        .post(
            "/api/chat/conversations/start/",
            json!({"participant_id": bruno.user_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], created["id"]);
    let (status, reverse) = bruno
        .post("/api/chat/conversations/start/", json!({"participant_id": ana.user_id}))
        .await;
    assert_eq!(status, StatusCode::OK, "the pair is the same in either direction");
    assert_eq!(reverse["id"], created["id"]);
    assert_eq!(reverse["title"], "Ana");
}

#[sqlx::test]
async fn ten_concurrent_starts_make_one_conversation(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;

    let requests = (0..10).map(|_| {
        ana.request(reqwest::Method::POST, "/api/chat/conversations/start/")
            .json(&json!({"participant_id": bruno}))
            .send()
    });
    let mut statuses = Vec::new();
    let mut conversation_ids = Vec::new();
    for resp in join_all(requests).await {
        let resp = resp.unwrap();
        statuses.push(resp.status());
        let body: Value = resp.json().await.unwrap();
        conversation_ids.push(body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::CREATED).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        9,
        "{statuses:?}"
    );
    conversation_ids.dedup();
    assert_eq!(conversation_ids.len(), 1);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

#[sqlx::test]
async fn start_rejects_missing_malformed_self_and_unknown_participants(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let other = app.tenant("other").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let outsider = app.user(&other, "Olga", Role::Write).await;
    let gone = app.user(&acme, "Gone", Role::Write).await;
    sqlx::query("UPDATE users SET is_active = false WHERE id = $1")
        .bind(gone)
        .execute(&app.pool)
        .await
        .unwrap();

    for body in [
        json!({}),
        json!({"participant_id": "not-a-uuid"}),
        json!({"participant_id": ana.user_id}),
    ] {
        let (status, resp) = ana.post("/api/chat/conversations/start/", body.clone()).await;
        assert_eq!(
            error_code(status, &resp, StatusCode::BAD_REQUEST),
            "invalid_participant",
            "{body}"
        );
    }
    for id in [uuid::Uuid::new_v4(), outsider, gone] {
        let (status, resp) = ana
            .post("/api/chat/conversations/start/", json!({"participant_id": id}))
            .await;
        assert_eq!(
            error_code(status, &resp, StatusCode::NOT_FOUND),
            "participant_not_found"
        );
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[sqlx::test]
async fn groups_hold_the_creator_and_the_listed_users_of_the_same_tenant(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let other = app.tenant("other").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.user(&acme, "Carla", Role::Read).await;
    let outsider = app.user(&other, "Olga", Role::Write).await;

    let (status, group) = ana
        .post(
            "/api/chat/conversations/",
            json!({"title": "Launch", "participant_ids": [bruno.user_id, carla]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    assert_eq!(group["is_group"], true);
    assert_eq!(group["title"], "Launch");
    let mut members: Vec<&str> = group["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    members.sort();
    assert_eq!(members, ["Ana", "Bruno", "Carla"]);
    let seen_by_bruno = bruno.conversation(group["id"].as_str().unwrap()).await;
    assert_eq!(seen_by_bruno["title"], "Launch");

    let (status, body) = ana
        .post(
            "/api/chat/conversations/",
            json!({"title": "Leak", "participant_ids": [bruno.user_id, outsider]}),
        )
        .await;
    assert_eq!(
        error_code(status, &body, StatusCode::NOT_FOUND),
        "participant_not_found"
    );
    let (status, body) = ana
        .post(
            "/api/chat/conversations/",
            json!({"title": "Alone", "participant_ids": []}),
        )
        .await;
    assert_eq!(
        error_code(status, &body, StatusCode::BAD_REQUEST),
        "invalid_participant"
    );
    let (status, body) = ana
        .post(
            "/api/chat/conversations/",
            json!({"title": "x".repeat(201), "participant_ids": [bruno.user_id]}),
        )
        .await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");
    assert_eq!(body["field"], "title");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1, "refused groups left no rows");
}

#[sqlx::test]
async fn the_list_is_newest_activity_first_and_pages(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let carla = app.user(&acme, "Carla", Role::Write).await;
    let with_bruno = ana.start_with(bruno).await;
    let with_carla = ana.start_with(carla).await;

    let (_, list) = ana.get("/api/chat/conversations/").await;
    assert_eq!(ids(&list), [with_carla.clone(), with_bruno.clone()]);
    ana.say(&with_bruno, "bump").await;
    let (_, list) = ana.get("/api/chat/conversations/").await;
    assert_eq!(ids(&list), [with_bruno.clone(), with_carla.clone()]);
    assert_eq!(list[0]["last_message"]["content"], "bump");

    let (_, page) = ana.get("/api/chat/conversations/?limit=1&offset=1").await;
    assert_eq!(ids(&page), [with_carla]);
    let (_, no_slash) = ana.get("/api/chat/conversations?limit=1").await;
    assert_eq!(ids(&no_slash), [with_bruno]);
}

#[sqlx::test]
async fn non_participants_get_403_and_see_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let mut carla = app.member(&acme, "Carla", Role::Write).await;
    let id = ana.start_with(bruno).await;
    ana.say(&id, "private").await;

    let paths = [
        format!("/api/chat/conversations/{id}/"),
        format!("/api/chat/conversations/{id}/messages/"),
    ];
    for path in &paths {
        let (status, body) = carla.get(path).await;
        assert_eq!(
            error_code(status, &body, StatusCode::FORBIDDEN),
            "not_a_participant",
            "{path}"
        );
    }
    let (status, body) = carla
        .post(
            &format!("/api/chat/conversations/{id}/messages/"),
            json!({"content": "hi"}),
        )
        .await;
    assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "not_a_participant");
    let (status, _) = carla
        .post(&format!("/api/chat/conversations/{id}/mark_read/"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = carla.patch(&format!("/api/chat/conversations/{id}/archive/")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, list) = carla.get("/api/chat/conversations/").await;
    assert_eq!(list, json!([]));
}

#[sqlx::test]
async fn archive_and_mute_are_per_caller_and_a_new_message_unarchives_for_recipients(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;

    let (status, body) = ana.patch(&format!("/api/chat/conversations/{id}/archive/")).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "archived"})));
    let (_, list) = ana.get("/api/chat/conversations/").await;
    assert!(ids(&list).is_empty(), "archived conversations are left out");
    let (_, list) = ana.get("/api/chat/conversations/?archived=true").await;
    assert_eq!(ids(&list), std::slice::from_ref(&id));
    assert_eq!(list[0]["is_archived"], true);
    let (_, list) = bruno.get("/api/chat/conversations/").await;
    assert_eq!(list[0]["is_archived"], false, "archiving is per caller");

    let (status, body) = ana.patch(&format!("/api/chat/conversations/{id}/mute/")).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "muted"})));
    assert_eq!(ana.conversation(&id).await["is_muted"], true);
    assert_eq!(bruno.conversation(&id).await["is_muted"], false);
    let (_, body) = ana.patch(&format!("/api/chat/conversations/{id}/unmute/")).await;
    assert_eq!(body, json!({"status": "unmuted"}));
    assert_eq!(ana.conversation(&id).await["is_muted"], false);

    bruno.say(&id, "are you there?").await;
    assert_eq!(
        ana.conversation(&id).await["is_archived"],
        false,
        "a new message unarchives for the recipient"
    );

    bruno.patch(&format!("/api/chat/conversations/{id}/archive/")).await;
    bruno.say(&id, "talking to myself").await;
    assert_eq!(
        bruno.conversation(&id).await["is_archived"],
        true,
        "the sender's own archive stays"
    );
    let (_, body) = bruno.patch(&format!("/api/chat/conversations/{id}/unarchive/")).await;
    assert_eq!(body, json!({"status": "unarchived"}));
    assert_eq!(bruno.conversation(&id).await["is_archived"], false);
}

#[sqlx::test]
async fn unread_counts_follow_messages_from_others_and_mark_read_resets_them(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;

    for text in ["one", "two", "three"] {
        bruno.say(&id, text).await;
    }
    ana.say(&id, "my own message is not unread for me").await;
    assert_eq!(ana.conversation(&id).await["unread_count"], 3);
    assert_eq!(bruno.conversation(&id).await["unread_count"], 1);

    let (status, body) = ana
        .post(&format!("/api/chat/conversations/{id}/mark_read/"), json!({}))
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"status": "ok", "marked_read": 3}))
    );
    assert_eq!(ana.conversation(&id).await["unread_count"], 0);
    let (_, body) = ana
        .post(&format!("/api/chat/conversations/{id}/mark_read/"), json!({}))
        .await;
    assert_eq!(body["marked_read"], 0);

    bruno.say(&id, "four").await;
    let (_, list) = ana.get("/api/chat/conversations/").await;
    assert_eq!(list[0]["unread_count"], 1);
}
