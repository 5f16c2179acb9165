//! Encryption at rest (docs/encryption.md): with a key, everything a user reads is as
//! sent while the database holds no plaintext (webhook payloads: encrypted_webhooks.rs); a wrong or missing key stops the server;
//! `keys rotate` moves every record to a new key, after which the old one is not needed;
//! `keys decrypt` turns encryption off again without stopping the server.

use base64::{engine::general_purpose::STANDARD, Engine};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::{chat::keys, crypto::Keyring, domain::Role, Config};

use crate::{
    attachments::{download, image, media_root, stored_files, upload},
    cli::tenantchat,
    helpers::{spawn_configured, Client, Tenant, TestApp},
};

pub(crate) fn key(id: &str, byte: u8) -> String {
    format!("{id}:{}", STANDARD.encode([byte; 32]))
}

async fn encrypted_app(pool: PgPool) -> TestApp {
    spawn_configured(pool, |c| c.encryption_key = Some(key("k1", 1))).await
}

/// What the database holds for these texts: the raw columns of every message and
/// earlier version, as one string to search.
async fn raw_database_text(pool: &PgPool) -> String {
    let rows: Vec<(String, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT content, content_sealed FROM messages
         UNION ALL SELECT previous_content, previous_sealed FROM message_edits",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(content, sealed)| format!("{content}|{}", String::from_utf8_lossy(&sealed.unwrap_or_default())))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) async fn edit(client: &mut Client, conversation: &str, message: &Value, content: &str) -> Value {
    let path = format!(
        "/api/chat/conversations/{conversation}/messages/{}/",
        message["id"].as_str().unwrap()
    );
    let req = client
        .request(Method::PATCH, &path)
        .json(&json!({ "content": content }));
    let (status, body) = client.send(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[sqlx::test]
async fn with_a_key_users_read_what_was_sent_and_the_database_holds_no_plaintext(pool: PgPool) {
    let app = encrypted_app(pool.clone()).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let mut ada = app.member(&acme, "Ada", Role::Admin).await;
    let chat = ana.start_with(bruno.user_id).await;

    let question = ana.say(&chat, "Where is the zeppelin hangar?").await;
    assert_eq!(question["content"], "Where is the zeppelin hangar?");
    let (status, answer) = bruno
        .post(
            &format!("/api/chat/conversations/{chat}/messages/"),
            json!({"content": "Behind the bakery", "reply_to": question["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["reply_to"]["excerpt"], "Where is the zeppelin hangar?");
    let edited = edit(&mut bruno, &chat, &answer, "Behind the old bakery").await;
    assert_eq!(edited["content"], "Behind the old bakery");

    let history = bruno.messages(&chat, "").await;
    let texts: Vec<&str> = history.iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert!(texts.contains(&"Where is the zeppelin hangar?"), "{texts:?}");
    assert!(texts.contains(&"Behind the old bakery"), "{texts:?}");
    let (_, one) = ana
        .get(&format!(
            "/api/chat/conversations/{chat}/messages/{}/",
            question["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(one["content"], "Where is the zeppelin hangar?");
    let (_, list) = ana.get("/api/chat/conversations/").await;
    assert!(
        list.to_string().contains("Behind the old bakery"),
        "the list's last message: {list}"
    );

    let req = ana
        .request(Method::GET, "/api/chat/search/")
        .query(&[("q", "zeppelins")]);
    let (status, found) = ana.send(req).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(
        found["results"][0]["message"]["content"],
        "Where is the zeppelin hangar?"
    );
    assert!(
        found["results"][0]["highlight"]
            .as_str()
            .unwrap()
            .contains("<mark>zeppelin</mark>"),
        "{found}"
    );

    let (status, compliance) = ada.get(&format!("/api/admin/conversations/{chat}/messages/")).await;
    assert_eq!(status, StatusCode::OK, "{compliance}");
    assert!(
        compliance
            .to_string()
            .contains("\"previous_content\":\"Behind the bakery\""),
        "{compliance}"
    );

    let raw = raw_database_text(&pool).await;
    for plain in ["zeppelin", "bakery", "Behind"] {
        assert!(!raw.contains(plain), "{plain:?} is readable in the database:\n{raw}");
    }
    let keys: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT DISTINCT content_key_id FROM messages WHERE content_sealed IS NOT NULL OR content <> ''",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(keys, [Some("k1".to_string())]);
}

#[sqlx::test]
async fn sealed_files_download_whole_in_ranges_and_as_thumbnails(pool: PgPool) {
    let app = encrypted_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let chat = ana.start_with(bruno.user_id).await;
    let text: Vec<u8> = b"the secret plan, part "
        .iter()
        .copied()
        .cycle()
        .take(200_000)
        .collect();
    let png = image(image::ImageFormat::Png, 600, 300);
    let (status, message) = upload(
        &mut ana,
        &chat,
        "files",
        vec![
            ("plan.txt".into(), text.clone(), "text/plain".into()),
            ("picture.png".into(), png.clone(), "image/png".into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    let url = message["attachments"][0]["url"].as_str().unwrap().to_string();

    let whole = download(&bruno, &url).await;
    assert_eq!(whole.status(), StatusCode::OK);
    let etag = whole.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(whole.bytes().await.unwrap().as_ref(), &text[..]);
    // Across the 64 KiB segments.
    let ranged = bruno
        .request(Method::GET, &url)
        .header("Range", "bytes=65000-140000")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.headers()["content-range"], "bytes 65000-140000/200000");
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), &text[65000..=140000]);
    let tail = bruno
        .request(Method::GET, &url)
        .header("Range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &text[199_990..]);
    let past = bruno
        .request(Method::GET, &url)
        .header("Range", "bytes=200000-")
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let cached = bruno
        .request(Method::GET, &url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);

    let picture = download(&bruno, message["attachments"][1]["url"].as_str().unwrap()).await;
    assert_eq!(picture.bytes().await.unwrap().as_ref(), &png[..]);
    let thumb = download(&bruno, message["attachments"][1]["thumbnail_url"].as_str().unwrap()).await;
    assert_eq!(thumb.status(), StatusCode::OK);
    assert!(
        image::load_from_memory(&thumb.bytes().await.unwrap()).is_ok(),
        "a thumbnail decrypted"
    );

    let files = stored_files(&app);
    assert_eq!(files.len(), 3, "the file, the picture, its thumbnail: {files:?}");
    for path in files {
        let stored = std::fs::read(&path).unwrap();
        assert!(stored.starts_with(b"TCF1"), "{path:?} is sealed");
        assert!(
            !stored.windows(11).any(|w| w == b"secret plan"),
            "{path:?} holds plaintext"
        );
    }
    assert!(media_root(&app).exists());
}

#[sqlx::test]
async fn a_row_moved_to_another_message_does_not_open(pool: PgPool) {
    let app = encrypted_app(pool.clone()).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let chat = ana.start_with(bruno.user_id).await;
    let secret = ana.say(&chat, "the secret").await;
    let other = ana.say(&chat, "something else").await;
    sqlx::query(
        "UPDATE messages SET content_sealed = (SELECT content_sealed FROM messages WHERE id = $1::uuid)
         WHERE id = $2::uuid",
    )
    .bind(secret["id"].as_str().unwrap())
    .bind(other["id"].as_str().unwrap())
    .execute(&pool)
    .await
    .unwrap();
    let (status, body) = ana
        .get(&format!(
            "/api/chat/conversations/{chat}/messages/{}/",
            other["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(!body.to_string().contains("secret"), "{body}");
}

#[sqlx::test]
async fn a_wrong_or_missing_key_is_a_startup_error(pool: PgPool) {
    let app = encrypted_app(pool.clone()).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let chat = ana.start_with(bruno.user_id).await;
    ana.say(&chat, "sealed").await;

    let keyring = |current: Option<String>| {
        let mut config = Config::for_tests(std::env::temp_dir());
        config.encryption_key = current;
        Keyring::from_config(&config).unwrap()
    };
    let wrong = keys::check(&pool, &keyring(Some(key("k1", 2)))).await.unwrap_err();
    assert!(wrong.contains("not the key"), "{wrong}");
    let missing = keys::check(&pool, &keyring(None)).await.unwrap_err();
    assert!(missing.contains("\"k1\", which is not configured"), "{missing}");
    let renamed = keys::check(&pool, &keyring(Some(key("k2", 1)))).await.unwrap_err();
    assert!(renamed.contains("\"k1\", which is not configured"), "{renamed}");

    // The binary says so and exits 2 before serving.
    let out = tenantchat(&pool, &["keys", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not configured"));
}

/// Ana's 1-to-1 with Bruno holding a record of every kind: a first message edited once
/// (a text and an earlier version), `more` messages and a text file. Ana, the
/// conversation's id, the first message and the message with the file.
async fn every_kind_of_record(app: &TestApp, acme: &Tenant, more: usize) -> (Client, String, Value, Value) {
    let mut ana = app.member(acme, "Ana", Role::Write).await;
    let bruno = app.member(acme, "Bruno", Role::Write).await;
    let chat = ana.start_with(bruno.user_id).await;
    let first = ana.say(&chat, "first words").await;
    edit(&mut ana, &chat, &first, "first words, edited").await;
    for i in 0..more {
        ana.say(&chat, &format!("more words {i}")).await;
    }
    let (status, with_file) = upload(
        &mut ana,
        &chat,
        "",
        vec![("a.txt".into(), b"file words".to_vec(), "text/plain".into())],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{with_file}");
    (ana, chat, first, with_file)
}

#[sqlx::test]
async fn rotation_moves_every_record_to_the_new_key_and_the_old_one_can_go(pool: PgPool) {
    let app = encrypted_app(pool.clone()).await;
    let acme = app.tenant("acme").await;
    let (ana, chat, first, with_file) = every_kind_of_record(&app, &acme, 7).await;
    let root = media_root(&app);
    // Messages written before encryption was on are encrypted by the rotation too.
    sqlx::query("UPDATE messages SET content = 'plain old words', content_key_id = NULL, content_sealed = NULL WHERE id = $1::uuid")
        .bind(first["id"].as_str().unwrap())
        .execute(&pool)
        .await
        .unwrap();

    let env = |current: &str, old: &str| {
        vec![
            ("CHAT_ENCRYPTION_KEY", current.to_string()),
            ("CHAT_ENCRYPTION_OLD_KEYS", old.to_string()),
            ("MEDIA_ROOT", root.display().to_string()),
        ]
    };
    let run = |args: &[&str], env: Vec<(&str, String)>| {
        let out = crate::cli::tenantchat_with_env(&pool, args, &env);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let (k1, k2) = (key("k1", 1), key("k2", 2));
    let rotated = run(&["keys", "rotate", "--batch-size", "3"], env(&k2, &k1));
    assert!(rotated.contains("8 messages, 1 earlier versions, 1 files"), "{rotated}");
    assert!(
        rotated.contains("may be dropped from CHAT_ENCRYPTION_OLD_KEYS): k1"),
        "{rotated}"
    );
    let status = run(&["keys", "status"], env(&k2, ""));
    assert!(status.contains("messages\tk2\t8"), "{status}");
    assert!(status.contains("edits\tk2\t1"), "{status}");
    assert!(status.contains("files\tk2\t1"), "{status}");
    assert!(!status.contains("k1") && !status.contains("plain"), "{status}");
    let again = run(&["keys", "rotate"], env(&k2, ""));
    assert!(
        again.contains("0 messages, 0 earlier versions, 0 files"),
        "resumable and idempotent: {again}"
    );

    // A server with only the new key reads everything.
    drop(app);
    let app = spawn_configured(pool.clone(), |c| {
        c.encryption_key = Some(k2.clone());
        c.media_root = root.clone();
    })
    .await;
    let mut ana = app.login(&acme, "Ana", ana.user_id).await;
    let texts: Vec<String> = ana
        .messages(&chat, "")
        .await
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect();
    assert!(texts.contains(&"plain old words".to_string()), "{texts:?}");
    assert!(texts.contains(&"more words 6".to_string()), "{texts:?}");
    assert!(!raw_database_text(&pool).await.contains("plain old"));
    let file = download(&ana, with_file["attachments"][0]["url"].as_str().unwrap()).await;
    assert_eq!(file.bytes().await.unwrap().as_ref(), b"file words");
}

#[sqlx::test]
async fn a_tenant_that_turns_search_off_keeps_no_index_words(pool: PgPool) {
    let app = encrypted_app(pool.clone()).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut ada = app.member(&acme, "Ada", Role::Admin).await;
    let chat = ana.start_with(ada.user_id).await;
    ana.say(&chat, "the zeppelin lands").await;
    let req = ada
        .request(Method::PUT, "/api/admin/settings/")
        .json(&json!({"search_enabled": false}));
    let (status, settings) = ada.send(req).await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(settings["search_enabled"], false);
    ana.say(&chat, "another zeppelin").await;

    let req = ana
        .request(Method::GET, "/api/chat/search/")
        .query(&[("q", "zeppelin")]);
    let (status, found) = ana.send(req).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["results"], json!([]));
    let indexed: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE search IS NOT NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(indexed, 0, "no words of any message stay in the index");
}

#[sqlx::test]
async fn decryption_turns_encryption_off_while_the_server_runs(pool: PgPool) {
    let app = encrypted_app(pool.clone()).await;
    let acme = app.tenant("acme").await;
    let (ana, chat, _, with_file) = every_kind_of_record(&app, &acme, 5).await;
    let root = media_root(&app);
    let k1 = key("k1", 1);
    let run = |args: &[&str], old_keys: &str| {
        let env = [
            ("CHAT_ENCRYPTION_OLD_KEYS", old_keys.to_string()),
            ("MEDIA_ROOT", root.display().to_string()),
        ];
        crate::cli::tenantchat_with_env(&pool, args, &env)
    };
    let text = |out: &std::process::Output| {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };

    // While the key would still seal new records, decryption is refused.
    let env = [("CHAT_ENCRYPTION_KEY", k1.clone())];
    let refused = crate::cli::tenantchat_with_env(&pool, &["keys", "decrypt"], &env);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("CHAT_ENCRYPTION_OLD_KEYS"),
        "says what to do"
    );

    // 1. The servers restart with the key as an earlier one: they read what it sealed
    // and store new records plain.
    drop(app);
    let app = spawn_configured(pool.clone(), |c| {
        c.encryption_old_keys = vec![k1.clone()];
        c.media_root = root.clone();
    })
    .await;
    let mut ana = app.login(&acme, "Ana", ana.user_id).await;
    ana.say(&chat, "said while decrypting").await;
    assert!(raw_database_text(&pool).await.contains("said while decrypting"));

    // 2. `keys decrypt` writes everything back in plaintext, in batches, while it serves.
    let decrypted = text(&run(&["keys", "decrypt", "--batch-size", "2"], &k1));
    assert!(
        decrypted.contains("decrypted: 6 messages, 1 earlier versions, 1 files, 0 webhook payloads"),
        "{decrypted}"
    );
    assert!(
        decrypted.contains("may be dropped from CHAT_ENCRYPTION_OLD_KEYS): k1"),
        "{decrypted}"
    );
    let texts: Vec<String> = ana
        .messages(&chat, "")
        .await
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect();
    assert!(texts.contains(&"first words, edited".to_string()), "{texts:?}");
    let status = text(&run(&["keys", "status"], ""));
    assert!(status.contains("messages\tplain\t7"), "{status}");
    assert!(status.contains("files\tplain\t1"), "{status}");
    assert!(!status.contains("k1"), "{status}");
    let again = text(&run(&["keys", "decrypt"], ""));
    assert!(again.contains("0 messages, 0 earlier versions, 0 files"), "{again}");

    // 3. A server without any key serves everything as it was sent.
    drop(app);
    let app = spawn_configured(pool.clone(), |c| c.media_root = root.clone()).await;
    let mut ana = app.login(&acme, "Ana", ana.user_id).await;
    let texts: Vec<String> = ana
        .messages(&chat, "")
        .await
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect();
    assert!(texts.contains(&"more words 4".to_string()), "{texts:?}");
    let sealed: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM messages WHERE content_sealed IS NOT NULL)
              + (SELECT count(*) FROM message_edits WHERE previous_sealed IS NOT NULL)
              + (SELECT count(*) FROM attachments WHERE file_key_id IS NOT NULL)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(sealed, 0, "nothing sealed is left");
    assert!(raw_database_text(&pool).await.contains("first words, edited"));
    let file = download(&ana, with_file["attachments"][0]["url"].as_str().unwrap()).await;
    assert_eq!(file.bytes().await.unwrap().as_ref(), b"file words");
}
