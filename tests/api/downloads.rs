//! Attachments served: only to participants, with ranges and ETags, through nginx's
//! X-Accel-Redirect when configured; and removed by an admin, leaving a tombstone.

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    attachments::{download, image, media_root, pair, stored_files, upload, zip_entry},
    helpers::{error_code, spawn_app},
};

#[sqlx::test]
async fn only_participants_download_and_ranges_and_etags_work(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.member(&acme, "Carla", Role::Write).await;
    let globex = app.tenant("globex").await;
    let mallory = app.member(&globex, "Mallory", Role::Admin).await;
    let id = ana.start_with(bruno.user_id).await;
    let bytes: Vec<u8> = (0..5000u32)
        .map(|i| (i % 251) as u8 + 1)
        .map(|b| if b == 0 { 1 } else { b })
        .map(|b| b % 26 + b'a')
        .collect();
    let (_, message) = upload(
        &mut ana,
        &id,
        "",
        vec![("letters.txt".into(), bytes.clone(), "text/plain".into())],
    )
    .await;
    let url = message["attachments"][0]["url"].as_str().unwrap().to_string();

    assert_eq!(download(&carla, &url).await.status(), StatusCode::FORBIDDEN);
    let mut carla = carla;
    let before = stored_files(&app).len();
    let (status, body) = upload(
        &mut carla,
        &id,
        "",
        vec![("in.txt".into(), vec![b'a'; 100_000], "text/plain".into())],
    )
    .await;
    assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "not_a_participant");
    assert_eq!(
        stored_files(&app).len(),
        before,
        "a refused sender's upload is never read in"
    );
    assert_eq!(download(&mallory, &url).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        download(&app.anonymous(), &url).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let missing = format!("/api/chat/attachments/{}/", uuid::Uuid::new_v4());
    assert_eq!(download(&bruno, &missing).await.status(), StatusCode::NOT_FOUND);

    let full = download(&bruno, &url).await;
    let etag = full.headers()["etag"].to_str().unwrap().to_string();
    let ranged = bruno
        .request(Method::GET, &url)
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.headers()["content-range"], "bytes 100-199/5000");
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), &bytes[100..200]);
    let cached = bruno
        .request(Method::GET, &url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
}

#[sqlx::test]
async fn admins_list_and_remove_attachments_leaving_a_tombstone(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (mut ana, mut bruno, id) = pair(&app).await;
    let (_, message) = upload(
        &mut ana,
        &id,
        "two files",
        vec![
            ("a.txt".into(), b"first".to_vec(), "text/plain".into()),
            ("b.txt".into(), b"second!".to_vec(), "text/plain".into()),
        ],
    )
    .await;
    let first = message["attachments"][0]["id"].as_str().unwrap().to_string();
    let mut bruno_socket = bruno.socket().await;

    let (status, body) = bruno.get("/api/admin/attachments/").await;
    assert_eq!(
        error_code(status, &body, StatusCode::FORBIDDEN),
        "admin_permission_required"
    );
    assert_eq!(
        (body["required_permission"].clone(), body["user_permission"].clone()),
        (json!("admin"), json!("write"))
    );
    let (status, _) = bruno.delete(&format!("/api/admin/attachments/{first}/")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, page) = ana.get(&format!("/api/admin/attachments/?conversation={id}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        (page["count"].clone(), page["total_size"].clone()),
        (json!(2), json!(12))
    );
    assert_eq!(page["results"][0]["uploader_name"], "Ana");
    let (_, filtered) = ana
        .get(&format!("/api/admin/attachments/?uploader={}", bruno.user_id))
        .await;
    assert_eq!(filtered["count"], 0);

    let globex = app.tenant("globex").await;
    let mut other_admin = app.member(&globex, "Olga", Role::Admin).await;
    let (status, _) = other_admin.delete(&format!("/api/admin/attachments/{first}/")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's id looks missing");
    let (_, theirs) = other_admin.get("/api/admin/attachments/").await;
    assert_eq!(theirs["count"], 0);

    let before = stored_files(&app).len();
    let (status, _) = ana.delete(&format!("/api/admin/attachments/{first}/")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(stored_files(&app).len(), before - 1, "the file is gone from storage");
    let update = bruno_socket.expect("message_updated").await;
    assert_eq!(
        update["message"]["attachments"][0],
        json!({"id": first, "filename": "a.txt", "deleted": true})
    );
    assert_eq!(update["message"]["attachments"][1]["filename"], "b.txt");
    let history = bruno.messages(&id, "").await;
    assert_eq!(
        history[0]["attachments"][0],
        json!({"id": first, "filename": "a.txt", "deleted": true})
    );
    let url = format!("/api/chat/attachments/{first}/");
    assert_eq!(download(&bruno, &url).await.status(), StatusCode::NOT_FOUND);
    let (_, page) = ana.get("/api/admin/attachments/").await;
    assert_eq!(page["total_size"], 7, "removed files no longer count");
    let (status, _) = ana.delete(&format!("/api/admin/attachments/{first}/")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn with_x_accel_redirect_nginx_serves_the_checked_file(pool: PgPool) {
    let app = crate::helpers::spawn_configured(pool, |config| {
        config.media_accel_redirect = Some("/protected-media/".into())
    })
    .await;
    let (mut ana, bruno, id) = pair(&app).await;
    let (_, message) = upload(
        &mut ana,
        &id,
        "",
        vec![("r.pdf".into(), b"%PDF-1.4\n%%EOF\n".to_vec(), "application/pdf".into())],
    )
    .await;
    let attachment = &message["attachments"][0];
    let resp = download(&bruno, attachment["url"].as_str().unwrap()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let location = resp.headers()["x-accel-redirect"].to_str().unwrap().to_string();
    assert!(location.starts_with("/protected-media/chat_attachments/"), "{location}");
    assert!(location.ends_with(attachment["id"].as_str().unwrap()));
    assert!(media_root(&app)
        .join(location.trim_start_matches("/protected-media/"))
        .is_file());
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert!(
        resp.bytes().await.unwrap().is_empty(),
        "nginx sends the bytes, not the app"
    );
    let carla_tenant = app.tenant("other").await;
    let outsider = app.member(&carla_tenant, "Olga", Role::Write).await;
    let refused = download(&outsider, attachment["url"].as_str().unwrap()).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert!(refused.headers().get("x-accel-redirect").is_none());
}

/// Byte ranges as RFC 9110 reads them: one satisfiable range → 206 with exactly its bytes
/// (a suffix longer than the file is the whole file); no satisfiable range → 416 with
/// `Content-Range: bytes */<size>`; a Range that is not valid, or asks for several
/// ranges, is ignored → 200 with the whole file.
#[sqlx::test]
async fn ranges_are_served_as_rfc_9110_says(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (mut ana, bruno, id) = pair(&app).await;
    let bytes = b"hello world\n";
    let (_, message) = upload(
        &mut ana,
        &id,
        "",
        vec![("hello.txt".into(), bytes.to_vec(), "text/plain".into())],
    )
    .await;
    let url = message["attachments"][0]["url"].as_str().unwrap().to_string();
    let get = |range: &'static str| bruno.request(Method::GET, &url).header("Range", range).send();

    for (range, content_range, part) in [
        ("bytes=2-4", "bytes 2-4/12", &bytes[2..5]),
        ("bytes=6-", "bytes 6-11/12", &bytes[6..]),
        ("bytes=-3", "bytes 9-11/12", &bytes[9..]),
        ("bytes=-100", "bytes 0-11/12", &bytes[..]),
        ("bytes=0-100", "bytes 0-11/12", &bytes[..]),
        ("bytes=0-1, 20-30", "bytes 0-1/12", &bytes[..2]),
    ] {
        let resp = get(range).await.unwrap();
        assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(resp.headers()["content-range"], content_range, "{range}");
        assert_eq!(resp.headers()["content-length"], part.len().to_string().as_str());
        assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
        assert_eq!(resp.bytes().await.unwrap().as_ref(), part, "{range}");
    }

    for range in ["bytes=-0", "bytes=12-", "bytes=12-20", "bytes=20-30", "bytes=-0, 12-"] {
        let resp = get(range).await.unwrap();
        assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(resp.headers()["content-range"], "bytes */12", "{range}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(
            error_code(
                StatusCode::RANGE_NOT_SATISFIABLE,
                &body,
                StatusCode::RANGE_NOT_SATISFIABLE
            ),
            "range_not_satisfiable"
        );
    }

    for range in [
        "bytes=5-2",
        "bytes=0-1,4-5",
        "bytes=abc",
        "bytes=",
        "lines=1-2",
        "bytes=1-2 3",
    ] {
        let resp = get(range).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{range}");
        assert!(resp.headers().get("content-range").is_none(), "{range}");
        assert_eq!(resp.bytes().await.unwrap().as_ref(), bytes, "{range}");
    }

    // Conditions come first: a cached copy is still fresh, whatever the range.
    let etag = download(&bruno, &url).await.headers()["etag"].clone();
    let cached = bruno
        .request(Method::GET, &url)
        .header("Range", "bytes=-0")
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
}

/// A stored name ends in an extension of the type its bytes are (a PNG named `x.html` is
/// `x.png`, and served so), and keeps no character that could disguise it: no control
/// characters, no bidi overrides or isolates (`\u{202E}` shows `gpj.exe` as `exe.jpg`), no
/// invisible format characters. Names stored before this rule are served by it too.
#[sqlx::test]
async fn stored_names_end_in_the_detected_type_and_disguise_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (mut ana, bruno, id) = pair(&app).await;
    let png = image(image::ImageFormat::Png, 8, 8);
    let jpeg = image(image::ImageFormat::Jpeg, 8, 8);
    let docx = zip_entry("word/document.xml", b"<w/>");
    let text = b"plain words\n".to_vec();
    let files: Vec<(&str, Vec<u8>, &str)> = vec![
        ("x.html", png.clone(), "x.png"),
        ("invoice\u{202E}gpj.exe", png.clone(), "invoicegpj.png"),
        ("holiday.JPEG", jpeg.clone(), "holiday.JPEG"),
        ("scan.jpg", jpeg, "scan.jpg"),
        ("letter.docx", docx, "letter.docx"),
        ("notes", text.clone(), "notes.txt"),
        (
            "a\u{200E}b\u{2066}c\u{FEFF}d\u{61C}e\u{200B}.md",
            text.clone(),
            "abcde.md",
        ),
        ("team 👩\u{200D}💻.txt", text, "team 👩\u{200D}💻.txt"),
    ];
    let upload_files = files
        .iter()
        .map(|(name, bytes, _)| (name.to_string(), bytes.clone(), "application/octet-stream".to_string()))
        .collect();
    let (status, message) = upload(&mut ana, &id, "", upload_files).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    for ((sent, _, kept), attachment) in files.iter().zip(message["attachments"].as_array().unwrap()) {
        assert_eq!(attachment["filename"], *kept, "{sent:?}");
    }

    let html_png = &message["attachments"][0];
    let resp = download(&bruno, html_png["url"].as_str().unwrap()).await;
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert_eq!(
        resp.headers()["content-disposition"],
        "inline; filename=\"x.png\"; filename*=UTF-8''x%2Epng"
    );

    let legacy = "legacy\u{202E}lmth.html";
    sqlx::query("UPDATE attachments SET filename = $1 WHERE id = $2::uuid")
        .bind(legacy)
        .bind(html_png["id"].as_str().unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
    let resp = download(&bruno, html_png["url"].as_str().unwrap()).await;
    assert_eq!(
        resp.headers()["content-disposition"],
        "inline; filename=\"legacylmth.png\"; filename*=UTF-8''legacylmth%2Epng",
        "a name stored before the rule is served by it"
    );
}
