//! What a message carries beyond its text: the message it answers, the participants it
//! mentions and its sender's metadata — sent as JSON and as multipart, refused when they
//! do not hold, and read back from history and the single-message endpoint; and what
//! deleting a message leaves: a tombstone in its place, its files gone from disk.

use reqwest::{multipart, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    attachments::stored_files,
    groups::group,
    helpers::{error_code, spawn_app, Client},
    permissions::call,
};

fn messages_path(conversation: &str) -> String {
    format!("/api/chat/conversations/{conversation}/messages/")
}

async fn send(client: &mut Client, conversation: &str, body: Value) -> (StatusCode, Value) {
    client.post(&messages_path(conversation), body).await
}

async fn send_form(client: &mut Client, conversation: &str, form: multipart::Form) -> (StatusCode, Value) {
    let req = client
        .request(Method::POST, &messages_path(conversation))
        .multipart(form);
    client.send(req).await
}

#[sqlx::test]
async fn replies_mentions_and_metadata_round_trip_over_json_and_multipart(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.user(&acme, "Carla", Role::Write).await;
    let id = group(&mut ana, &[bruno.user_id, carla], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let long = "word ".repeat(40);
    let question = ana.say(&id, &long).await;
    assert_eq!(
        (
            question["reply_to"].clone(),
            question["mentions"].clone(),
            question["metadata"].clone()
        ),
        (Value::Null, json!([]), json!({}))
    );
    assert_eq!(
        (question["is_edited"].clone(), question["edited_at"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(question["deleted"], false);

    let metadata = json!({"card": {"title": "Q3", "values": [1, 2.5, null, true]}});
    let (status, answer) = send(
        &mut bruno,
        &id,
        json!({"content": "yes", "reply_to": question["id"], "mentions": [ana.user_id, carla, ana.user_id],
               "metadata": metadata}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let quoted = &answer["reply_to"];
    assert_eq!(
        (
            quoted["id"].clone(),
            quoted["seq"].clone(),
            quoted["sender_name"].clone(),
            quoted["deleted"].clone()
        ),
        (question["id"].clone(), json!(1), json!("Ana"), json!(false))
    );
    let excerpt = quoted["excerpt"].as_str().unwrap();
    assert_eq!(
        excerpt.chars().count(),
        101,
        "100 characters and an ellipsis: {excerpt:?}"
    );
    assert!(excerpt.ends_with('…') && long.starts_with(excerpt.trim_end_matches('…')));
    let mut mentioned: Vec<String> = serde_json::from_value(answer["mentions"].clone()).unwrap();
    mentioned.sort();
    let mut expected = vec![ana.user_id.to_string(), carla.to_string()];
    expected.sort();
    assert_eq!(mentioned, expected, "each mentioned participant once");
    assert_eq!(answer["metadata"], metadata);

    let form = multipart::Form::new()
        .text("content", "see attached")
        .text("reply_to", answer["id"].as_str().unwrap().to_string())
        .text("mentions", bruno.user_id.to_string())
        .text("metadata", r#"{"source": "upload"}"#)
        .part(
            "attachments",
            multipart::Part::bytes(b"notes\n".to_vec()).file_name("notes.txt"),
        );
    let (status, uploaded) = send_form(&mut ana, &id, form).await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    assert_eq!(uploaded["reply_to"]["excerpt"], "yes");
    assert_eq!(uploaded["mentions"], json!([bruno.user_id]));
    assert_eq!(uploaded["metadata"], json!({"source": "upload"}));

    let history = ana.messages(&id, "").await;
    for sent in [&answer, &uploaded] {
        let stored = history.iter().find(|m| m["id"] == sent["id"]).unwrap();
        for field in ["reply_to", "metadata"] {
            assert_eq!(stored[field], sent[field], "{field} as history reads it");
        }
        let (status, one) = ana
            .get(&format!("{}{}/", messages_path(&id), sent["id"].as_str().unwrap()))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (one["reply_to"].clone(), one["mentions"].clone()),
            (stored["reply_to"].clone(), stored["mentions"].clone())
        );
    }
}

#[sqlx::test]
async fn replies_mentions_and_metadata_that_do_not_hold_are_refused_and_nothing_is_sent(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let outsider = app.user(&acme, "Olga", Role::Write).await;
    let mut eve = app.member(&globex, "Eve", Role::Write).await;
    let eve_friend = app.user(&globex, "Fred", Role::Write).await;
    let id = ana.start_with(bruno).await;
    let elsewhere = group(&mut ana, &[outsider], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let foreign = ana.say(&elsewhere, "not here").await;
    let eve_conversation = eve.start_with(eve_friend).await;
    let eves = eve.say(&eve_conversation, "other tenant").await;

    let too_big = json!({"blob": "x".repeat(4096)});
    let refusals = [
        (json!({"reply_to": foreign["id"]}), "reply_to"),
        (json!({"reply_to": eves["id"]}), "reply_to"),
        (json!({"reply_to": "00000000-0000-0000-0000-000000000000"}), "reply_to"),
        (json!({"reply_to": "nonsense"}), "reply_to"),
        (json!({"reply_to": 7}), "reply_to"),
        (json!({"mentions": [outsider]}), "mentions"),
        (json!({"mentions": [eve.user_id]}), "mentions"),
        (json!({"mentions": ["nonsense"]}), "mentions"),
        (json!({"mentions": "x"}), "mentions"),
        (json!({"metadata": too_big}), "metadata"),
        (json!({"metadata": [1, 2]}), "metadata"),
        (json!({"metadata": "text"}), "metadata"),
    ];
    for (extra, field) in refusals {
        let mut body = json!({"content": "hi"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (status, answer) = send(&mut ana, &id, body.clone()).await;
        assert_eq!(
            error_code(status, &answer, StatusCode::BAD_REQUEST),
            "validation_error",
            "{body}"
        );
        assert_eq!(answer["field"], field, "{body}: {answer}");
    }
    for (name, value) in [
        ("mentions", outsider.to_string()),
        ("metadata", "[1]".to_string()),
        ("reply_to", "x".into()),
    ] {
        let form = multipart::Form::new().text("content", "hi").text(name, value);
        let (status, answer) = send_form(&mut ana, &id, form).await;
        assert_eq!(
            error_code(status, &answer, StatusCode::BAD_REQUEST),
            "validation_error",
            "{name}"
        );
        assert_eq!(answer["field"], name);
    }
    assert!(ana.messages(&id, "").await.is_empty(), "nothing was sent, no seq used");
    let fits = json!({"blob": "x".repeat(4096 - 11)});
    let (status, answer) = send(&mut ana, &id, json!({"content": "hi", "metadata": fits})).await;
    assert_eq!(
        (status, answer["seq"].clone()),
        (StatusCode::CREATED, json!(1)),
        "4096 bytes fit: {answer}"
    );
}

#[sqlx::test]
async fn a_deleted_message_keeps_its_seq_loses_its_files_and_shows_in_replies(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    ana.say(&id, "one").await;
    let form = multipart::Form::new()
        .text("content", "photo and notes")
        .text("mentions", bruno.user_id.to_string())
        .text("metadata", r#"{"k": 1}"#)
        .part(
            "attachments",
            multipart::Part::bytes(b"notes\n".to_vec()).file_name("notes.txt"),
        )
        .part(
            "attachments",
            multipart::Part::bytes(crate::attachments::image(image::ImageFormat::Png, 40, 30)).file_name("p.png"),
        );
    let (status, doomed) = send_form(&mut ana, &id, form).await;
    assert_eq!(status, StatusCode::CREATED, "{doomed}");
    assert_eq!(stored_files(&app).len(), 3, "two files and a thumbnail");
    let (status, reply) = send(&mut bruno, &id, json!({"content": "nice", "reply_to": doomed["id"]})).await;
    assert_eq!(status, StatusCode::CREATED);

    let path = format!("{}{}/", messages_path(&id), doomed["id"].as_str().unwrap());
    let (status, _) = call(&mut ana, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(stored_files(&app).is_empty(), "left behind: {:?}", stored_files(&app));
    let url = doomed["attachments"][0]["url"].as_str().unwrap();
    let (status, _) = bruno.get(url).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "its files are gone");

    let history = bruno.messages(&id, "").await;
    let seqs: Vec<i64> = history.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3], "the tombstone keeps its place");
    let tombstone = &history[1];
    assert_eq!(
        (
            tombstone["deleted"].clone(),
            tombstone["content"].clone(),
            tombstone["attachments"].clone()
        ),
        (json!(true), json!(""), json!([]))
    );
    assert_eq!(
        (
            tombstone["has_attachments"].clone(),
            tombstone["mentions"].clone(),
            tombstone["metadata"].clone()
        ),
        (json!(false), json!([]), json!({}))
    );
    let quoted = &history[2]["reply_to"];
    assert_eq!(
        (
            quoted["id"].clone(),
            quoted["deleted"].clone(),
            quoted["excerpt"].clone()
        ),
        (doomed["id"].clone(), json!(true), json!("")),
        "the reply still says what it answered: {reply}"
    );

    let (status, again) = call(&mut ana, Method::DELETE, &path, None).await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "deleting again changes nothing: {again}"
    );
    let (status, answer) = call(&mut ana, Method::PATCH, &path, Some(&json!({"content": "back"}))).await;
    assert_eq!(error_code(status, &answer, StatusCode::CONFLICT), "message_deleted");
    let next = ana.say(&id, "after").await;
    assert_eq!(next["seq"], 4);
}
