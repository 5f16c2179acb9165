//! Who may read, edit and delete one message: every caller (the sender, another member,
//! a tenant admin, a `read` member, an outsider of a private conversation, a viewer of a
//! tenant-visible one, someone of another tenant) × GET / PATCH / DELETE, each cell on a
//! message of its own; system messages; the tenant's edit window; audit rows for
//! admins' acts on others' messages.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    groups::group,
    helpers::{error_code, spawn_node, Client, Layer, TestApp},
    permissions::call,
};

// Permissions do not depend on the channel layer; the matrix runs on both anyway, as
// issue 12 asks, so a layer that answered differently would show.
on_both_layers!(
    every_caller_gets_the_answer_of_its_cell,
    system_messages_and_unknown_ids_are_refused,
    the_edit_window_holds_senders_but_not_admins,
    admins_acts_on_others_messages_are_audited_and_compliance_reads_show_every_version,
);

/// The expected status and error code of one cell.
type Expect = (u16, Option<&'static str>);
const OK: Expect = (200, None);
const GONE: Expect = (204, None);
const NOT_YOURS: Expect = (403, Some("message_permission_required"));
const NOT_IN_IT: Expect = (403, Some("not_a_participant"));
const READ_ONLY: Expect = (403, Some("write_permission_required"));
const UNKNOWN: Expect = (404, Some("not_found"));

/// Sam (write) sends every message; Mia (write) and Rita (read) are members with him of
/// a private group; Ada is a tenant admin outside it; Zed (write) is outside it too, and
/// views a tenant-visible group of Sam and Mia; Eve is an admin of another tenant.
struct Scene {
    _app: TestApp,
    sam: Client,
    private: String,
    shared: String,
    /// Callers by name: Sam, Mia, Ada, Rita, Zed, Eve.
    callers: Vec<(&'static str, Client)>,
}

async fn scene(pool: PgPool, layer: Layer) -> Scene {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    let mut sam = app.member(&acme, "Sam", Role::Write).await;
    let mut callers = Vec::new();
    for (name, role) in [
        ("Mia", Role::Write),
        ("Ada", Role::Admin),
        ("Rita", Role::Read),
        ("Zed", Role::Write),
    ] {
        callers.push((name, app.member(&acme, name, role).await));
    }
    callers.push(("Eve", app.member(&globex, "Eve", Role::Admin).await));
    let (mia, rita) = (callers[0].1.user_id, callers[2].1.user_id);
    let private = group(&mut sam, &[mia, rita], json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let shared = group(&mut sam, &[mia], json!({"visibility": "tenant"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sam_again = app.login(&acme, "Sam", sam.user_id).await;
    callers.insert(0, ("Sam", sam_again));
    Scene {
        _app: app,
        sam,
        private,
        shared,
        callers,
    }
}

/// Per caller (Sam, Mia, Ada, Rita, Zed, Eve): GET, PATCH, DELETE of a message Sam sent.
const MATRIX: [(&str, bool, [Expect; 3]); 7] = [
    ("Sam", false, [OK, OK, GONE]),
    ("Mia", false, [OK, NOT_YOURS, NOT_YOURS]),
    // Admins moderate any message; reading a private conversation is for compliance reads.
    ("Ada", false, [NOT_IN_IT, OK, GONE]),
    ("Rita", false, [OK, READ_ONLY, READ_ONLY]),
    ("Zed", false, [NOT_IN_IT, NOT_IN_IT, NOT_IN_IT]),
    // Zed views the tenant-visible group: he reads it, but the message is not his.
    ("Zed", true, [OK, NOT_YOURS, NOT_YOURS]),
    ("Eve", false, [UNKNOWN, UNKNOWN, UNKNOWN]),
];

fn outcome(status: StatusCode, body: &Value) -> Expect {
    let code = body["error"]
        .as_str()
        .map(|c| &*Box::leak(c.to_string().into_boxed_str()));
    (status.as_u16(), code)
}

async fn every_caller_gets_the_answer_of_its_cell(pool: PgPool, layer: Layer) {
    let mut scene = scene(pool, layer).await;
    let mut failures = Vec::new();
    for (name, in_shared, expected) in MATRIX {
        for (method, expect) in [Method::GET, Method::PATCH, Method::DELETE].into_iter().zip(expected) {
            let conversation = if in_shared { &scene.shared } else { &scene.private };
            let sent = scene.sam.say(conversation, "original").await;
            let path = format!(
                "/api/chat/conversations/{conversation}/messages/{}/",
                sent["id"].as_str().unwrap()
            );
            let caller = &mut scene.callers.iter_mut().find(|(n, _)| *n == name).unwrap().1;
            let body = (method == Method::PATCH).then(|| json!({"content": "changed"}));
            let (status, answer) = call(caller, method.clone(), &path, body.as_ref()).await;
            if outcome(status, &answer) != expect {
                failures.push(format!(
                    "{name} {method} (shared: {in_shared}): {status} {answer}, expected {expect:?}"
                ));
                continue;
            }
            let (_, now) = scene.sam.get(&path).await;
            let changed = (now["content"].clone(), now["is_edited"].clone(), now["deleted"].clone());
            let want = match (method.as_str(), expect.0) {
                ("PATCH", 200) => (json!("changed"), json!(true), json!(false)),
                ("DELETE", 204) => (json!(""), json!(false), json!(true)),
                _ => (json!("original"), json!(false), json!(false)),
            };
            if changed != want {
                failures.push(format!("{name} {method}: the message is now {now}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

async fn system_messages_and_unknown_ids_are_refused(pool: PgPool, layer: Layer) {
    let mut scene = scene(pool, layer).await;
    let path = format!("/api/chat/conversations/{}/", scene.private);
    let (status, _) = call(&mut scene.sam, Method::PATCH, &path, Some(&json!({"title": "Renamed"}))).await;
    assert_eq!(status, StatusCode::OK);
    let system = scene.sam.messages(&scene.private, "").await.pop().unwrap();
    assert_eq!(system["kind"], "system");
    let path = format!("{path}messages/{}/", system["id"].as_str().unwrap());
    let ada = &mut scene.callers[2].1;
    for (method, body) in [(Method::PATCH, Some(json!({"content": "x"}))), (Method::DELETE, None)] {
        let (status, answer) = call(ada, method, &path, body.as_ref()).await;
        assert_eq!(
            error_code(status, &answer, StatusCode::FORBIDDEN),
            "message_permission_required",
            "not even an admin changes a system message"
        );
    }

    let other = scene.sam.say(&scene.shared, "elsewhere").await;
    let base = format!("/api/chat/conversations/{}/messages/", scene.private);
    for id in [
        other["id"].as_str().unwrap(),
        "00000000-0000-0000-0000-000000000000",
        "nonsense",
    ] {
        let (status, answer) = scene.sam.get(&format!("{base}{id}/")).await;
        assert_eq!(
            error_code(status, &answer, StatusCode::NOT_FOUND),
            "not_found",
            "{id}: a message of another conversation is unknown here"
        );
    }
}

/// Sets the tenant's edit window through the admin API.
async fn edit_window(admin: &mut Client, minutes: Value) -> (StatusCode, Value) {
    let req = admin
        .request(Method::PUT, "/api/admin/settings/")
        .json(&json!({"edit_window_minutes": minutes}));
    admin.send(req).await
}

async fn the_edit_window_holds_senders_but_not_admins(pool: PgPool, layer: Layer) {
    let mut scene = scene(pool, layer).await;
    let ada = &mut scene.callers[2].1;
    let (_, settings) = ada.get("/api/admin/settings/").await;
    assert_eq!(settings["edit_window_minutes"], 0, "no limit by default");
    for bad in [json!(-1), json!(525_601), json!("5")] {
        let (status, answer) = edit_window(ada, bad.clone()).await;
        assert_eq!(
            error_code(status, &answer, StatusCode::BAD_REQUEST),
            "validation_error",
            "{bad}"
        );
        assert_eq!(answer["field"], "edit_window_minutes");
    }
    let (status, settings) = edit_window(ada, json!(15)).await;
    assert_eq!(
        (status, settings["edit_window_minutes"].clone()),
        (StatusCode::OK, json!(15))
    );

    let fresh = scene.sam.say(&scene.private, "fresh").await;
    let old = scene.sam.say(&scene.private, "old").await;
    sqlx::query("UPDATE messages SET created_at = now() - interval '16 minutes' WHERE id = $1")
        .bind(old["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap())
        .execute(&scene._app.pool)
        .await
        .unwrap();
    let path = |m: &Value| {
        format!(
            "/api/chat/conversations/{}/messages/{}/",
            scene.private,
            m["id"].as_str().unwrap()
        )
    };
    let edit = json!({"content": "edited"});
    let (status, _) = call(&mut scene.sam, Method::PATCH, &path(&fresh), Some(&edit)).await;
    assert_eq!(status, StatusCode::OK, "within the window");
    let (status, answer) = call(&mut scene.sam, Method::PATCH, &path(&old), Some(&edit)).await;
    assert_eq!(error_code(status, &answer, StatusCode::FORBIDDEN), "edit_window_closed");
    let (status, _) = call(&mut scene.sam, Method::DELETE, &path(&old), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "the window holds edits, not deletions");

    let older = scene.sam.say(&scene.private, "older").await;
    sqlx::query("UPDATE messages SET created_at = now() - interval '1 day' WHERE id = $1")
        .bind(older["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap())
        .execute(&scene._app.pool)
        .await
        .unwrap();
    let ada = &mut scene.callers[2].1;
    let (status, edited) = call(ada, Method::PATCH, &path(&older), Some(&edit)).await;
    assert_eq!(
        (status, edited["content"].clone()),
        (StatusCode::OK, json!("edited")),
        "admins moderate"
    );
    let (status, _) = edit_window(ada, json!(0)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &mut scene.sam,
        Method::PATCH,
        &path(&older),
        Some(&json!({"content": "mine again"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "0 is no limit");
}

async fn admins_acts_on_others_messages_are_audited_and_compliance_reads_show_every_version(
    pool: PgPool,
    layer: Layer,
) {
    let mut scene = scene(pool, layer).await;
    let first = scene.sam.say(&scene.private, "first draft").await;
    let second = scene.sam.say(&scene.private, "regrettable").await;
    let path = |m: &Value| {
        format!(
            "/api/chat/conversations/{}/messages/{}/",
            scene.private,
            m["id"].as_str().unwrap()
        )
    };
    let (status, _) = call(
        &mut scene.sam,
        Method::PATCH,
        &path(&first),
        Some(&json!({"content": "second draft"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let ada = &mut scene.callers[2].1;
    let (status, edited) = call(ada, Method::PATCH, &path(&first), Some(&json!({"content": "final"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (edited["is_edited"].clone(), edited["sender_id"].clone()),
        (json!(true), json!(scene.sam.user_id))
    );
    assert!(edited["edited_at"].is_string());
    let (status, _) = call(ada, Method::DELETE, &path(&second), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    for (action, message) in [("message.edit", &first), ("message.delete", &second)] {
        let (_, log) = ada.get(&format!("/api/admin/audit-log/?action={action}")).await;
        let entries = log["results"].as_array().unwrap();
        assert_eq!(
            entries.len(),
            1,
            "{action}: only the admin's act on Sam's message: {log}"
        );
        assert_eq!(entries[0]["actor"], ada.user_id.to_string());
        assert_eq!(entries[0]["resource_id"], message["id"]);
        assert_eq!(entries[0]["details"]["sender"], scene.sam.user_id.to_string());
    }

    let (status, read) = ada
        .get(&format!("/api/admin/conversations/{}/messages/", scene.private))
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    let by_id = |m: &Value| {
        read.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == m["id"])
            .unwrap()
            .clone()
    };
    let versions = |m: &Value| -> Vec<(Value, Value)> {
        by_id(m)["edits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["previous_content"].clone(), e["edited_by"].clone()))
            .collect()
    };
    let (sam, ada) = (json!(scene.sam.user_id), json!(ada.user_id));
    assert_eq!(by_id(&first)["content"], "final");
    assert_eq!(
        versions(&first),
        [
            (json!("first draft"), sam.clone()),
            (json!("second draft"), ada.clone())
        ]
    );
    assert_eq!(
        (by_id(&second)["content"].clone(), by_id(&second)["deleted"].clone()),
        (json!(""), json!(true))
    );
    assert_eq!(
        versions(&second),
        [(json!("regrettable"), ada)],
        "what a deleted message said"
    );
}
