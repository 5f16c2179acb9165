//! The assistant bot (docs/integrations.md, "Assistant") against a fake chat-completions
//! endpoint on 127.0.0.1 started by each test: nothing leaves the machine. Answers stream
//! into one bot message over real sockets, on both channel layers.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    fake_openai::{FakeOpenAi, KEY},
    groups::group,
    helpers::{error_code, spawn_app, spawn_node_with, Client, Layer, TestApp},
    sockets::Socket,
    webhooks::log_until,
};

on_both_layers!(an_answer_streams_into_one_message_edited_as_words_arrive);

/// A node whose delivery engine runs, with the assistant pointed at `fake`;
/// `first_token` seconds before an answer must begin.
async fn spawn_with_assistant(pool: PgPool, layer: Layer, fake: &FakeOpenAi, first_token: u64) -> TestApp {
    let base_url = fake.base_url.clone();
    let app = spawn_node_with(pool, layer, |config| {
        config.openai_api_key = Some(KEY.into());
        config.openai_base_url = base_url;
        config.openai_first_token_seconds = first_token;
        config.openai_timeout_seconds = first_token + 1;
        config.validate().unwrap();
    })
    .await;
    app.state.as_ref().unwrap().webhooks.spawn();
    app
}

/// Creates an assistant; returns its user id.
async fn create_assistant(admin: &mut Client, instructions: &str) -> String {
    let body = json!({"name": "Helper", "assistant": true, "instructions": instructions});
    let (status, bot) = admin.post("/api/admin/bots/", body).await;
    assert_eq!(status, StatusCode::CREATED, "{bot}");
    assert_eq!(
        (&bot["assistant"], &bot["webhook_url"], &bot["secret"]),
        (&json!(true), &Value::Null, &Value::Null)
    );
    assert!(bot["token"].as_str().unwrap().starts_with("tc_"), "{bot}");
    bot["id"].as_str().unwrap().to_string()
}

fn uuid(text: &str) -> uuid::Uuid {
    text.parse().unwrap()
}

/// The next `message_created` or `message_updated` of the bot's message on `socket`.
async fn next_answer_frame(socket: &mut Socket) -> Value {
    socket
        .until(|f| (f["type"] == "message_created" || f["type"] == "message_updated") && f["message"]["kind"] == "bot")
        .await
        .pop()
        .unwrap()
}

async fn an_answer_streams_into_one_message_edited_as_words_arrive(pool: PgPool, layer: Layer) {
    let mut fake = FakeOpenAi::start().await;
    let app = spawn_with_assistant(pool, layer, &fake, 20).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bot_id = create_assistant(&mut ana, "Answer like a pirate.").await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = bruno.start_with(uuid(&bot_id)).await;
    let mut socket = bruno.socket().await;

    // A first exchange, answered at once: it is the context of the second.
    bruno.say(&id, "My name is Bruno.").await;
    let first = fake.next_call().await;
    assert_eq!(first.body()["stream"], true);
    first.answer(&["Ahoy ", "Bruno!"]);
    socket
        .until(|f| {
            f["type"] == "message_updated"
                && f["message"]["content"] == "Ahoy Bruno!"
                && f["message"]["metadata"].get("streaming").is_none()
        })
        .await;

    bruno.say(&id, "What is my name?").await;
    let call = fake.next_call().await;
    let sent = call.messages();
    assert!(
        sent[0].starts_with("system: ") && sent[0].ends_with("Answer like a pirate."),
        "{sent:?}"
    );
    assert_eq!(
        sent[1..],
        [
            "user: Bruno: My name is Bruno.",
            "assistant: Ahoy Bruno!",
            "user: Bruno: What is my name?"
        ]
    );

    // Each piece is released once the one before it reached the socket: the message
    // is created at the first words and rewritten as each further piece arrives.
    call.begin();
    let pieces = ["Yer name ", "be ", "Bruno, ", "matey."];
    let mut seen: Vec<Value> = Vec::new();
    let mut text = String::new();
    for piece in pieces {
        call.chunk(piece);
        text.push_str(piece);
        loop {
            let frame = next_answer_frame(&mut socket).await;
            let shown = frame["message"]["content"].as_str().unwrap().to_string();
            seen.push(frame);
            if shown == text.trim() {
                break;
            }
        }
    }
    call.finish();
    let last = socket
        .until(|f| f["type"] == "message_updated" && f["message"]["metadata"].get("streaming").is_none())
        .await
        .pop()
        .unwrap();
    assert_eq!(last["message"]["content"], "Yer name be Bruno, matey.");
    assert_eq!(seen[0]["type"], "message_created");
    assert_eq!(seen[0]["message"]["content"], "Yer name");
    assert_eq!(seen[0]["message"]["metadata"]["streaming"], true);
    let message_id = &seen[0]["message"]["id"];
    assert!(
        seen.iter().all(|f| &f["message"]["id"] == message_id),
        "one message throughout"
    );
    let updates = seen.iter().filter(|f| f["type"] == "message_updated").count();
    assert!(
        updates >= pieces.len() - 1,
        "{updates} rewrites for {} pieces",
        pieces.len()
    );
    let mut lengths = seen.iter().map(|f| f["message"]["content"].as_str().unwrap().len());
    let mut previous = 0;
    assert!(
        lengths.all(|l| std::mem::replace(&mut previous, l) <= l),
        "the text only grows"
    );

    // One answer per question, not marked as edited, and nothing left streaming.
    let history = bruno.messages(&id, "").await;
    let answers: Vec<&Value> = history.iter().filter(|m| m["kind"] == "bot").collect();
    assert_eq!(answers.len(), 2, "{history:?}");
    assert_eq!(answers[1]["content"], "Yer name be Bruno, matey.");
    assert!(answers[1]["edited_at"].is_null(), "{}", answers[1]);
    let (status, log) = ana.get(&format!("/api/admin/bots/{bot_id}/deliveries/")).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    assert!(
        log.as_array().unwrap().iter().all(|d| d["status"] == "delivered"),
        "{log}"
    );
}

#[sqlx::test]
async fn in_a_group_the_assistant_answers_only_when_mentioned(pool: PgPool) {
    let mut fake = FakeOpenAi::start().await;
    let app = spawn_with_assistant(pool, Layer::Memory, &fake, 20).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bot_id = create_assistant(&mut ana, "").await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = group(&mut ana, &[bruno.user_id, uuid(&bot_id)], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut socket = ana.socket().await;
    ana.say(&id, "Lunch at noon?").await;
    let path = format!("/api/chat/conversations/{id}/messages/");
    let body = json!({"content": "@Helper where should we eat?", "mentions": [bot_id]});
    let (status, asked) = ana.post(&path, body).await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");

    let call = fake.next_call().await;
    let sent = call.messages();
    assert_eq!(sent.last().unwrap(), "user: Ana: @Helper where should we eat?");
    assert!(sent.contains(&"user: Ana: Lunch at noon?".to_string()), "{sent:?}");
    call.answer(&["The canteen."]);
    // The question was asked once: the unmentioned message made no delivery.
    let (status, log) = ana.get(&format!("/api/admin/bots/{bot_id}/deliveries/")).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    assert_eq!(log.as_array().unwrap().len(), 1, "{log}");
    socket
        .until(|f| f["message"]["kind"] == "bot" && f["message"]["content"] == "The canteen.")
        .await;
}

/// The system message the assistant posts when it cannot answer, from `socket`.
async fn failure_notice(socket: &mut Socket) -> Value {
    let frame = socket
        .until(|f| f["type"] == "message_created" && f["message"]["metadata"]["event"] == "assistant_failed")
        .await
        .pop()
        .unwrap();
    assert_eq!(frame["message"]["kind"], "system");
    frame["message"].clone()
}

#[sqlx::test]
async fn an_error_or_a_hung_endpoint_leaves_a_system_message(pool: PgPool) {
    let mut fake = FakeOpenAi::start().await;
    let app = spawn_with_assistant(pool, Layer::Memory, &fake, 1).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bot_id = create_assistant(&mut ana, "").await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = bruno.start_with(uuid(&bot_id)).await;
    let mut socket = bruno.socket().await;

    bruno.say(&id, "Are you there?").await;
    fake.next_call().await.fail(500);
    let notice = failure_notice(&mut socket).await;
    assert_eq!(notice["metadata"]["reason"], "error");
    assert_eq!(notice["content"], "Helper could not answer: error");
    // The notice is posted before the engine records the attempt's outcome.
    let bot = format!("/api/admin/bots/{bot_id}/");
    let attempt = log_until(&mut ana, &bot, |d| d["status"] != "pending").await;
    assert_eq!(
        (&attempt["status"], &attempt["last_status"]),
        (&json!("failed"), &json!(500)),
        "{attempt}"
    );
    assert!(
        attempt["last_error"].as_str().unwrap().contains("the fake is down"),
        "{attempt}"
    );

    // Words, then silence past the timeout: the words stay, finished, and the notice follows.
    bruno.say(&id, "Hello?").await;
    let hung = fake.next_call().await;
    hung.begin();
    hung.chunk("Let me think");
    let notice = failure_notice(&mut socket).await;
    assert_eq!(notice["metadata"]["reason"], "timeout");
    let history = bruno.messages(&id, "").await;
    let partial = history.iter().find(|m| m["kind"] == "bot").expect("the partial answer");
    assert_eq!(partial["content"], "Let me think");
    assert!(partial["metadata"].get("streaming").is_none(), "{partial}");
    drop(hung);

    // Nothing at all within the first-token timeout.
    bruno.say(&id, "Anyone?").await;
    let silent = fake.next_call().await;
    assert_eq!(failure_notice(&mut socket).await["metadata"]["reason"], "timeout");
    drop(silent);
}

#[sqlx::test]
async fn without_a_key_there_is_no_assistant(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let (status, body) = ana
        .post("/api/admin/bots/", json!({"name": "Helper", "assistant": true}))
        .await;
    assert_eq!(error_code(status, &body, StatusCode::CONFLICT), "assistant_unavailable");
    for (body, field) in [
        (json!({"name": "Helper"}), "webhook_url"),
        (
            json!({"name": "Helper", "assistant": true, "webhook_url": "http://93.184.216.34/"}),
            "webhook_url",
        ),
        (
            json!({"name": "Helper", "webhook_url": "http://93.184.216.34/", "instructions": "x"}),
            "instructions",
        ),
    ] {
        let (status, refused) = ana.post("/api/admin/bots/", body.clone()).await;
        assert_eq!(
            error_code(status, &refused, StatusCode::BAD_REQUEST),
            "validation_error",
            "{body}"
        );
        assert_eq!(refused["field"], field, "{body}");
    }
    let (_, bots) = ana.get("/api/admin/bots/").await;
    assert_eq!(bots, json!([]), "nothing half-made");
}

#[sqlx::test]
async fn another_tenant_neither_sees_nor_reaches_an_assistant(pool: PgPool) {
    let fake = FakeOpenAi::start().await;
    let app = spawn_with_assistant(pool, Layer::Memory, &fake, 20).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bot_id = create_assistant(&mut ana, "Long instructions. ".repeat(200).trim()).await;
    let (_, bots) = ana.get("/api/admin/bots/").await;
    assert_eq!(
        (&bots[0]["assistant"], &bots[0]["webhook_url"]),
        (&json!(true), &Value::Null)
    );

    let mut gus = app.member(&globex, "Gus", Role::Admin).await;
    let (_, theirs) = gus.get("/api/admin/bots/").await;
    assert_eq!(theirs, json!([]));
    let (status, body) = gus.get(&format!("/api/admin/bots/{bot_id}/deliveries/")).await;
    assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "not_found");
    let (status, body) = gus
        .post("/api/chat/conversations/start/", json!({"participant_id": bot_id}))
        .await;
    assert_eq!(
        error_code(status, &body, StatusCode::NOT_FOUND),
        "participant_not_found"
    );
    let too_long = json!({"name": "Helper", "assistant": true, "instructions": "x".repeat(4001)});
    let (status, body) = gus.post("/api/admin/bots/", too_long).await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");
}
