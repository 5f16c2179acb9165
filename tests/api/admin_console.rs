//! What the admin console needs beyond the v1 admin API: the console's pages (admins
//! only), the hash-chain check over HTTP, reactivating a user, the attachment listing's
//! type filter and totals, and files an admin may open without taking part.

use reqwest::{redirect::Policy, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    attachments::{download, image, upload},
    helpers::{error_code, spawn_app, Client},
};

/// The HTML of a page as `client` (its session cookie) gets it, without following redirects.
async fn page(client: &Client, path: &str) -> (StatusCode, String, String) {
    let http = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let resp = http
        .get(format!("{}{path}", client.base))
        .header("cookie", client.cookie_header())
        .send()
        .await
        .unwrap();
    let location = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (resp.status(), location, resp.text().await.unwrap())
}

#[sqlx::test]
async fn the_console_is_for_admins_only(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let admin = app.member(&acme, "Ada", Role::Admin).await;
    let writer = app.member(&acme, "Will", Role::Write).await;

    for path in [
        "/admin/",
        "/admin/users/",
        "/admin/settings/",
        "/admin/audit-log/",
        "/admin/attachments/",
        "/admin/analytics/",
        "/admin/integrations/",
        "/admin/flagged-messages/",
    ] {
        let (status, location, _) = page(&app.anonymous(), path).await;
        assert_eq!(
            (status, location.as_str()),
            (StatusCode::SEE_OTHER, "/login/"),
            "{path}"
        );
        let (status, _, html) = page(&writer, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(html.contains("Admins only"), "{path}: {html}");
        assert!(!html.contains("admin-config"), "a non-admin gets no console");
        let (status, _, html) = page(&admin, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains("/static/admin/js/main.js"));
        assert!(
            html.contains(&format!("href=\"{path}\" data-section=")),
            "{path} is in the navigation"
        );
    }
    // The dashboard links to the console for admins only.
    let (_, _, dashboard) = page(&admin, "/").await;
    assert!(dashboard.contains("href=\"/admin/\""));
    let (_, _, dashboard) = page(&writer, "/").await;
    assert!(!dashboard.contains("href=\"/admin/\""));
}

#[sqlx::test]
async fn the_chain_check_names_the_first_broken_row_of_the_callers_tenant(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let acme = app.tenant("acme").await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let mut writer = app.member(&acme, "Will", Role::Write).await;
    let globex = app.tenant("globex").await;
    let mut other = app.member(&globex, "Olga", Role::Admin).await;
    for title in ["One", "Two"] {
        let req = admin
            .request(reqwest::Method::PUT, "/api/admin/settings/")
            .json(&json!({"widget_title": title}));
        admin.send(req).await;
    }
    other.get("/api/admin/attachments/").await;

    let (status, check) = admin.get("/api/admin/audit-log/verify/").await;
    assert_eq!(status, StatusCode::OK, "{check}");
    assert_eq!(check, json!({"ok": true, "checked": 2, "first_broken": null}));
    let (status, body) = writer.get("/api/admin/audit-log/verify/").await;
    assert_eq!(
        error_code(status, &body, StatusCode::FORBIDDEN),
        "admin_permission_required"
    );

    // A superuser edits the first settings row behind the trigger's back.
    let victim: i64 =
        sqlx::query_scalar("SELECT min(id) FROM audit_log WHERE action = 'settings.update' AND tenant_id = $1")
            .bind(acme.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    let mut tx = pool.begin().await.unwrap();
    for statement in [
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "UPDATE audit_log SET details = '{}' WHERE id = $1",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only",
    ] {
        sqlx::query(statement).bind(victim).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();

    let (_, check) = admin.get("/api/admin/audit-log/verify/").await;
    assert_eq!(check["ok"], false);
    assert_eq!(check["first_broken"]["id"], victim);
    assert_eq!(check["checked"], 0, "the broken row is the tenant's first");
    assert_eq!(check["first_broken"]["problem"], "altered");
    assert!(check["first_broken"]["reason"].as_str().unwrap().contains("hash"));
    let (_, theirs) = other.get("/api/admin/audit-log/verify/").await;
    assert_eq!(theirs["ok"], true, "another tenant's chain is its own: {theirs}");
}

#[sqlx::test]
async fn a_deactivated_user_can_be_reactivated_and_sign_in_again(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let mut writer = app.member(&acme, "Will", Role::Write).await;
    let will = writer.user_id;

    admin.delete(&format!("/api/admin/users/{will}/")).await;
    let (status, _) = writer.get("/api/chat/conversations/").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = writer
        .post(&format!("/api/admin/users/{will}/reactivate/"), json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, user) = admin
        .post(&format!("/api/admin/users/{will}/reactivate/"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["is_active"], true);
    let (status, _) = writer.get("/api/chat/conversations/").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the ended session stays ended");
    let mut again = app.login(&acme, "Will", will).await;
    let (status, _) = again.get("/api/chat/conversations/").await;
    assert_eq!(status, StatusCode::OK);

    let (_, log) = admin.get("/api/admin/audit-log/?action=user.reactivate").await;
    assert_eq!(log["results"][0]["resource_id"], will.to_string());
    let globex = app.tenant("globex").await;
    let mut other = app.member(&globex, "Olga", Role::Admin).await;
    let (status, _) = other
        .post(&format!("/api/admin/users/{will}/reactivate/"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn attachments_filter_by_type_and_total_per_uploader_and_type(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.member(&acme, "Carla", Role::Write).await;
    let id = ana.start_with(bruno.user_id).await;
    let png = image(image::ImageFormat::Png, 40, 30);
    let (_, photo) = upload(
        &mut bruno,
        &id,
        "",
        vec![("photo.png".into(), png.clone(), "image/png".into())],
    )
    .await;
    upload(
        &mut ana,
        &id,
        "",
        vec![
            ("a.txt".into(), b"12345".to_vec(), "text/plain".into()),
            ("b.txt".into(), b"123".to_vec(), "text/plain".into()),
        ],
    )
    .await;

    let (status, all) = ana.get("/api/admin/attachments/").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let png_size = png.len() as i64;
    assert_eq!(all["count"], 3);
    assert_eq!(all["total_size"], png_size + 8);
    assert_eq!(
        all["by_type"],
        json!([{"content_type": "image/png", "files": 1, "size": png_size},
               {"content_type": "text/plain", "files": 2, "size": 8}])
    );
    let uploaders: Vec<(String, i64)> = all["by_uploader"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["uploader_name"].as_str().unwrap().into(),
                u["files"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(uploaders, [("Bruno".to_string(), 1), ("Ana".to_string(), 2)]);

    let (_, images) = ana.get("/api/admin/attachments/?type=image").await;
    assert_eq!(
        (images["count"].clone(), images["results"][0]["filename"].clone()),
        (json!(1), json!("photo.png"))
    );
    let (_, texts) = ana.get("/api/admin/attachments/?type=text/plain").await;
    assert_eq!(texts["count"], 2, "a type matches whatever its parameters");
    assert_eq!(
        texts["by_uploader"][0]["uploader_name"], "Ana",
        "totals follow the filters"
    );
    let (status, body) = ana.get("/api/admin/attachments/?type=text%25").await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");
    assert_eq!(body["field"], "type");

    // An admin may open (and preview) a file of a conversation it is not in; others not.
    let url = photo["attachments"][0]["url"].as_str().unwrap();
    let thumbnail = photo["attachments"][0]["thumbnail_url"].as_str().unwrap();
    let mut dina = app.member(&acme, "Dina", Role::Admin).await;
    assert_eq!(download(&dina, url).await.status(), StatusCode::OK);
    assert_eq!(download(&dina, thumbnail).await.status(), StatusCode::OK);
    assert_eq!(download(&carla, url).await.status(), StatusCode::FORBIDDEN);
    let (_, page) = dina.get("/api/admin/attachments/?type=image").await;
    assert_eq!(page["by_uploader"][0]["size"], png_size);
}
