//! Full-text search (API.md v2 "Search"): stemming and accents in English, Spanish and
//! Portuguese, web-search syntax, ranking and cursor pages, filters, edits and deletions,
//! who may find what, and highlights that show text escaped with only the matches marked.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::{chat::search::RANK_WINDOW, domain::Role};
use uuid::Uuid;

use crate::{
    groups::group,
    helpers::{error_code, spawn_app, Client},
    permissions::call,
};

/// The search answer for these query parameters (200 asserted).
async fn search(client: &mut Client, params: &[(&str, &str)]) -> Value {
    let (status, body) = search_status(client, params).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn search_status(client: &mut Client, params: &[(&str, &str)]) -> (StatusCode, Value) {
    let req = client.request(Method::GET, "/api/chat/search/").query(params);
    client.send(req).await
}

/// The contents of the results, in order.
async fn found(client: &mut Client, q: &str) -> Vec<String> {
    contents(&search(client, &[("q", q)]).await)
}

fn contents(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message"]["content"].as_str().unwrap().to_string())
        .collect()
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_string()
}

#[sqlx::test]
async fn finds_by_stem_and_accent_in_english_spanish_and_portuguese(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let chat = ana.start_with(bruno).await;
    for text in [
        "She runs every morning",
        "Los niños corren en el parque",
        "A ação foi rápida",
        "As bandas tocaram ontem",
        "Nothing to see here",
    ] {
        ana.say(&chat, text).await;
    }
    assert_eq!(found(&mut ana, "running").await, ["She runs every morning"]);
    assert_eq!(found(&mut ana, "corriendo").await, ["Los niños corren en el parque"]);
    assert_eq!(found(&mut ana, "acao").await, ["A ação foi rápida"]);
    assert_eq!(found(&mut ana, "RAPIDA").await, ["A ação foi rápida"]);
    assert_eq!(found(&mut ana, "tocando").await, ["As bandas tocaram ontem"]);
    assert_eq!(found(&mut ana, "elephant").await, Vec::<String>::new());
}

#[sqlx::test]
async fn phrases_exclusions_and_or_follow_web_search_syntax(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let chat = ana.start_with(bruno).await;
    ana.say(&chat, "the red car is fast").await;
    ana.say(&chat, "the car is red").await;
    ana.say(&chat, "a blue boat").await;
    let mut phrase = found(&mut ana, "\"red car\"").await;
    phrase.sort();
    assert_eq!(phrase, ["the red car is fast"]);
    assert_eq!(found(&mut ana, "car -fast").await, ["the car is red"]);
    let mut either = found(&mut ana, "fast or boat").await;
    either.sort();
    assert_eq!(either, ["a blue boat", "the red car is fast"]);
}

#[sqlx::test]
async fn better_matches_come_first_and_cursor_pages_have_no_duplicates_or_gaps(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let chat = ana.start_with(bruno).await;
    ana.say(&chat, "deploy deploy deploy tonight").await;
    let mut sent = Vec::new();
    for n in 0..7 {
        sent.push(id(&ana.say(&chat, &format!("deploy number {n}")).await));
    }
    let first = search(&mut ana, &[("q", "deploy")]).await;
    assert_eq!(contents(&first)[0], "deploy deploy deploy tonight");
    // Equal ranks: newest first.
    assert_eq!(contents(&first)[1], "deploy number 6");

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut params = vec![("q", "deploy"), ("limit", "3")];
        if let Some(cursor) = &cursor {
            params.push(("cursor", cursor));
        }
        let page = search(&mut ana, &params).await;
        let results = page["results"].as_array().unwrap();
        assert!(results.len() <= 3);
        seen.extend(results.iter().map(|r| id(&r["message"])));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "{seen:?}");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 8, "duplicates in {seen:?}");
    assert!(sent.iter().all(|s| seen.contains(s)));

    let (status, body) = search_status(&mut ana, &[("q", "deploy"), ("cursor", "0000000a.12.not-an-id")]).await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");
}

/// Sends `count` messages "deploy number n" at once, straight into the database (sending
/// a thousand over HTTP would only slow the test): from a millisecond after the
/// conversation's last message (times are shown to the millisecond), a microsecond apart.
async fn bulk_deploys(pool: &PgPool, tenant: Uuid, conversation: &str, sender: Uuid, count: i64) {
    let conversation: Uuid = conversation.parse().unwrap();
    sqlx::query(
        "WITH last AS (SELECT c.last_seq, m.created_at FROM conversations c
                       JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq
                       WHERE c.id = $2),
         sent AS (INSERT INTO messages (id, tenant_id, conversation_id, seq, sender_id, content, search, created_at)
                  SELECT gen_random_uuid(), $1, $2, last.last_seq + n, $3, 'deploy number ' || n,
                         message_search_vector('deploy number ' || n),
                         last.created_at + interval '1 millisecond' + n * interval '1 microsecond'
                  FROM last, generate_series(1, $4) n)
         UPDATE conversations SET last_seq = last_seq + $4 WHERE id = $2",
    )
    .bind(tenant)
    .bind(conversation)
    .bind(sender)
    .bind(count)
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test]
async fn only_the_newest_matches_are_ranked_and_older_ones_are_found_by_narrowing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let chat = ana.start_with(bruno).await;
    let old = ana.say(&chat, "deploy deploy deploy tonight").await;
    bulk_deploys(&app.pool, acme.id, &chat, ana.user_id, RANK_WINDOW).await;
    ana.say(&chat, "deploy deploy deploy again").await;

    // The best match of all is older than the newest RANK_WINDOW matches: not ranked, not
    // found; the best of the window comes first, and paging ends after the window.
    let mut seen = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut params = vec![("q", "deploy"), ("limit", "50")];
        if let Some(cursor) = &cursor {
            params.push(("cursor", cursor));
        }
        let page = search(&mut ana, &params).await;
        let results = contents(&page);
        if cursor.is_none() {
            assert_eq!(results[0], "deploy deploy deploy again");
        }
        assert!(!results.contains(&"deploy deploy deploy tonight".to_string()));
        seen += results.len() as i64;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, RANK_WINDOW);
    // Narrowed to before the newer ones, it is found.
    let shown = old["created_at"].as_str().unwrap();
    let until = chrono::DateTime::parse_from_rfc3339(shown).unwrap() + chrono::Duration::milliseconds(1);
    let narrowed = search(&mut ana, &[("q", "deploy"), ("to", &until.to_rfc3339())]).await;
    assert_eq!(contents(&narrowed), ["deploy deploy deploy tonight"]);
}

#[sqlx::test]
async fn filters_narrow_by_conversation_sender_and_time(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.user(&acme, "Carla", Role::Write).await;
    let direct = ana.start_with(bruno.user_id).await;
    let team = id(&group(&mut ana, &[bruno.user_id, carla], json!({})).await);
    let early = ana.say(&direct, "invoice from ana").await;
    bruno.say(&direct, "invoice from bruno").await;
    ana.say(&team, "invoice in the group").await;

    let in_team = search(&mut ana, &[("q", "invoice"), ("conversation", &team)]).await;
    assert_eq!(contents(&in_team), ["invoice in the group"]);
    assert_eq!(
        in_team["results"][0]["conversation"],
        json!({"id": team, "title": "Launch"})
    );
    let by_bruno = search(&mut ana, &[("q", "invoice"), ("sender", &bruno.user_id.to_string())]).await;
    assert_eq!(contents(&by_bruno), ["invoice from bruno"]);
    assert_eq!(by_bruno["results"][0]["conversation"]["title"], "Bruno");
    let sent_at = early["created_at"].as_str().unwrap();
    let before = search(&mut ana, &[("q", "invoice"), ("to", sent_at)]).await;
    assert_eq!(contents(&before), Vec::<String>::new());
    let since = search(&mut ana, &[("q", "invoice"), ("from", sent_at)]).await;
    assert_eq!(contents(&since).len(), 3);

    // PostgreSQL text cannot hold NUL: refused, not a server error.
    for q in ["", "   ", "a\u{0}b"] {
        let (status, body) = search_status(&mut ana, &[("q", q)]).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");
    }
    let (status, body) = search_status(&mut ana, &[]).await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");
}

#[sqlx::test]
async fn edited_messages_are_found_by_their_new_text_and_deleted_ones_not_at_all(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let chat = ana.start_with(bruno).await;
    let edited = id(&ana.say(&chat, "meeting on monday").await);
    let deleted = id(&ana.say(&chat, "secret password hunter").await);
    let path = |m: &str| format!("/api/chat/conversations/{chat}/messages/{m}/");
    let (status, body) = call(
        &mut ana,
        Method::PATCH,
        &path(&edited),
        Some(&json!({"content": "meeting on tuesday"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(&mut ana, Method::DELETE, &path(&deleted), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    assert_eq!(found(&mut ana, "tuesday").await, ["meeting on tuesday"]);
    assert_eq!(found(&mut ana, "monday").await, Vec::<String>::new());
    assert_eq!(found(&mut ana, "hunter").await, Vec::<String>::new());
}

#[sqlx::test]
async fn messages_purged_by_retention_are_not_found(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let acme = app.tenant("acme").await;
    let mut ada = app.member(&acme, "Ada", Role::Admin).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let chat = ada.start_with(bruno).await;
    let old = id(&ada.say(&chat, "quarterly invoice from March").await);
    ada.say(&chat, "quarterly invoice from June").await;
    sqlx::query("UPDATE messages SET created_at = now() - interval '3 days' WHERE id = $1::uuid")
        .bind(&old)
        .execute(&pool)
        .await
        .unwrap();
    let req = ada
        .request(Method::PUT, "/api/admin/settings/")
        .json(&json!({"retention_days": 2}));
    let (status, body) = ada.send(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        found(&mut ada, "quarterly").await.len(),
        2,
        "both found before the purge"
    );

    let media_root = app.state.as_ref().unwrap().config.media_root.clone();
    tenantchat::chat::retention::purge(&pool, &media_root).await.unwrap();
    assert_eq!(found(&mut ada, "quarterly").await, ["quarterly invoice from June"]);
}

#[sqlx::test]
async fn only_conversations_the_caller_may_read_are_searched(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let mut olga = app.member(&acme, "Olga", Role::Read).await;
    let private = id(&group(&mut ana, &[bruno], json!({})).await);
    let shared = id(&group(
        &mut ana,
        &[bruno],
        json!({"visibility": "tenant", "title": "Town hall"}),
    )
    .await);
    ana.say(&private, "budget in private").await;
    ana.say(&shared, "budget for everyone").await;

    let globex = app.tenant("globex").await;
    let mut gus = app.member(&globex, "Gus", Role::Admin).await;
    let gina = app.user(&globex, "Gina", Role::Write).await;
    let theirs = gus.start_with(gina).await;
    gus.say(&theirs, "budget at globex").await;

    let mut ana_finds = found(&mut ana, "budget").await;
    ana_finds.sort();
    assert_eq!(ana_finds, ["budget for everyone", "budget in private"]);
    // A viewer finds the tenant-visible conversation, not the private one, even when
    // asking for it by id.
    let olga_finds = search(&mut olga, &[("q", "budget")]).await;
    assert_eq!(contents(&olga_finds), ["budget for everyone"]);
    assert_eq!(olga_finds["results"][0]["conversation"]["title"], "Town hall");
    let asked = search(&mut olga, &[("q", "budget"), ("conversation", &private)]).await;
    assert_eq!(contents(&asked), Vec::<String>::new());
    // Another tenant's admin finds only its own tenant's messages.
    assert_eq!(found(&mut gus, "budget").await, ["budget at globex"]);
}

#[sqlx::test]
async fn highlights_escape_the_text_and_mark_the_matches(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let chat = ana.start_with(bruno).await;
    ana.say(&chat, "<script>alert('x')</script> & the ação runs \u{2}fake\u{3}")
        .await;
    let page = search(&mut ana, &[("q", "running acao")]).await;
    let highlight = page["results"][0]["highlight"].as_str().unwrap();
    assert!(
        highlight.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp;"),
        "{highlight}"
    );
    assert!(highlight.contains("<mark>ação</mark>"), "{highlight}");
    assert!(highlight.contains("<mark>runs</mark>"), "{highlight}");
    // Only the matches are marked: the message's own control characters mark nothing.
    assert_eq!(highlight.matches("<mark>").count(), 2, "{highlight}");
    assert!(!highlight.contains("<script"), "{highlight}");
}
