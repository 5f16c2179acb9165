//! Uploads without a `Content-Length` (chunked) are held to their budgets while they
//! arrive: the tenant's per-file cap and the sender's upload bytes stop the body the
//! moment it passes them, and nothing stays in the staging area. The uploads here are
//! written piece by piece and never finished before the answer is awaited, so an answer
//! proves the server refused them while they were still coming.

use std::{path::PathBuf, time::Instant};

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    helpers::{spawn_configured, TestApp},
    raw::{chunk, Raw, RawResponse},
    sockets::WAIT,
};

const BOUNDARY: &str = "tenantchat-test-boundary";
const KIB: usize = 1024;

/// A multipart send of one text file, chunked, whose file bytes are written on demand.
struct ChunkedUpload {
    raw: Raw,
}

impl ChunkedUpload {
    async fn start(app: &TestApp, token: &str, conversation: &str) -> ChunkedUpload {
        let mut raw = Raw::connect(&app.base).await;
        let authorization = format!("Bearer {token}");
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        let head = raw.head(
            "POST",
            &format!("/api/chat/conversations/{conversation}/messages/"),
            &[
                ("Authorization", &authorization),
                ("Content-Type", &content_type),
                ("Transfer-Encoding", "chunked"),
            ],
        );
        raw.write(head.as_bytes()).await;
        let part = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"a.txt\"\r\n\
             Content-Type: text/plain\r\n\r\n"
        );
        raw.write(&chunk(part.as_bytes())).await;
        ChunkedUpload { raw }
    }

    /// Writes `kib` KiB more of the file (the server may stop reading under the write).
    async fn send(&mut self, kib: usize) {
        for _ in 0..kib / 64 {
            if !self.raw.write(&chunk(&[b'a'; 64 * KIB])).await {
                return;
            }
        }
    }

    /// Ends the file and the body, and reads the answer.
    async fn finish(mut self) -> Option<RawResponse> {
        self.raw
            .write(&chunk(format!("\r\n--{BOUNDARY}--\r\n").as_bytes()))
            .await;
        self.raw.write(&chunk(b"")).await;
        self.raw.response().await
    }
}

/// A write user's API token, and a conversation the user is in.
async fn sender(app: &TestApp) -> (String, String) {
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let conversation = ana.start_with(bruno).await;
    let (status, token) = ana.post("/api/auth/tokens/", json!({"name": "uploads"})).await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let token = token["token"].as_str().unwrap().to_string();
    (token, conversation)
}

/// Waits until the staging area holds no file.
async fn staging_empties(app: &TestApp) {
    let config = &app.state.as_ref().unwrap().config;
    let staging: PathBuf = config.media_root.join("chat_attachments/tmp");
    let deadline = Instant::now() + WAIT;
    loop {
        let left = std::fs::read_dir(&staging).map_or(0, |entries| entries.count());
        if left == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{left} files left in staging");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[sqlx::test]
async fn a_chunked_file_over_the_tenants_cap_is_refused_while_it_arrives(pool: PgPool) {
    let app = spawn_configured(pool, |_| {}).await;
    let (token, conversation) = sender(&app).await;
    sqlx::query("UPDATE tenants SET settings = '{\"max_upload_bytes\": 1048576}'")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut upload = ChunkedUpload::start(&app, &token, &conversation).await;
    upload.send(1024 + 128).await;
    let answer = upload.raw.response().await.expect("an answer before the body ended");
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(answer.json()["field"], "attachments");
    assert!(
        answer.json()["message"].as_str().unwrap().contains("workspace's limit"),
        "{answer:?}"
    );
    staging_empties(&app).await;
}

#[sqlx::test]
async fn parallel_chunked_uploads_are_charged_as_their_bytes_arrive(pool: PgPool) {
    // 1 MiB of uploads a minute: room for one of the two uploads of 768 KiB below.
    let app = spawn_configured(pool, |c| c.rate_upload_mb_per_minute = 1).await;
    let (token, conversation) = sender(&app).await;
    let mut first = ChunkedUpload::start(&app, &token, &conversation).await;
    let mut second = ChunkedUpload::start(&app, &token, &conversation).await;
    first.send(768).await;
    second.send(768).await;
    let (refused, other) = tokio::select! {
        answer = first.raw.response() => (answer, second),
        answer = second.raw.response() => (answer, first),
    };
    let refused = refused.expect("an answer before either body ended");
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_eq!(refused.json()["error"], "rate_limited");
    // The other one fits in what is left, or not; either way it is answered.
    let status = other.finish().await.expect("an answer").status;
    assert!(status == 201 || status == 429, "{status}");
    staging_empties(&app).await;
}
