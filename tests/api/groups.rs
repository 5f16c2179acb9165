//! Conversations that live, over REST: what a conversation says about itself, settings
//! and membership changes with their system messages, owners that never run out,
//! 1-to-1 conversations that stay as they are, shared conversations, deletion.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;
use uuid::Uuid;

use crate::{
    attachments::stored_files,
    helpers::{error_code, spawn_app, Client},
    permissions::call,
};

/// Creates a group of `owner` and `members`; returns it.
pub async fn group(owner: &mut Client, members: &[Uuid], extra: Value) -> Value {
    let mut body = json!({"title": "Launch", "participant_ids": members});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let (status, group) = owner.post("/api/chat/conversations/", body).await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    group
}

fn id(conversation: &Value) -> String {
    conversation["id"].as_str().unwrap().to_string()
}

/// The `metadata.event` of each system message, in order.
fn system_events(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["kind"] == "system")
        .map(|m| m["metadata"]["event"].as_str().unwrap().to_string())
        .collect()
}

#[sqlx::test]
async fn a_conversation_says_what_it_is_and_who_the_caller_is_in_it(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;

    let created = group(
        &mut ana,
        &[bruno.user_id],
        json!({"description": "Ship it\nby Friday", "visibility": "tenant"}),
    )
    .await;
    assert_eq!(created["kind"], "group");
    assert_eq!(created["is_group"], true);
    assert_eq!(created["description"], "Ship it\nby Friday");
    assert_eq!(created["visibility"], "tenant");
    assert_eq!(created["created_by"], ana.user_id.to_string());
    assert_eq!(created["my_role"], "owner");
    assert_eq!(created["member_count"], 2);
    let seen_by_bruno = bruno.conversation(&id(&created)).await;
    assert_eq!(seen_by_bruno["my_role"], "member");

    let direct = ana.start_with(bruno.user_id).await;
    let direct = bruno.conversation(&direct).await;
    assert_eq!(
        (
            direct["kind"].clone(),
            direct["visibility"].clone(),
            direct["description"].clone()
        ),
        (json!("direct"), json!("private"), json!(""))
    );
    assert_eq!(
        (direct["my_role"].clone(), direct["member_count"].clone()),
        (json!("member"), json!(2))
    );

    let (status, refused) = ana
        .post(
            "/api/chat/conversations/",
            json!({"participant_ids": [bruno.user_id], "visibility": "everyone"}),
        )
        .await;
    assert_eq!(
        error_code(status, &refused, StatusCode::BAD_REQUEST),
        "validation_error"
    );
    assert_eq!(refused["field"], "visibility");
}

#[sqlx::test]
async fn settings_changes_are_system_messages_members_see_as_unread(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = id(&group(&mut ana, &[bruno.user_id], json!({})).await);
    let path = format!("/api/chat/conversations/{id}/");

    let change = json!({"title": "Launch v2", "description": "The plan", "visibility": "tenant"});
    let (status, updated) = call(&mut ana, Method::PATCH, &path, Some(&change)).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        (
            updated["title"].clone(),
            updated["description"].clone(),
            updated["visibility"].clone()
        ),
        (json!("Launch v2"), json!("The plan"), json!("tenant"))
    );
    let messages = bruno.messages(&id, "").await;
    assert_eq!(
        system_events(&messages),
        ["title_changed", "description_changed", "visibility_changed"]
    );
    let title_changed = &messages[0];
    assert_eq!(title_changed["seq"], 1, "a system message takes a seq");
    assert_eq!(
        title_changed["sender_id"],
        ana.user_id.to_string(),
        "sent by who made the change"
    );
    assert_eq!(title_changed["metadata"]["title"], "Launch v2");
    assert_eq!(title_changed["metadata"]["by"], ana.user_id.to_string());
    assert_eq!(title_changed["content"], "Ana renamed the group to Launch v2");
    assert_eq!(bruno.conversation(&id).await["unread_count"], 3);
    assert_eq!(
        ana.conversation(&id).await["unread_count"],
        0,
        "one's own changes are not unread"
    );

    let (status, _) = call(&mut ana, Method::PATCH, &path, Some(&change)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&mut ana, Method::PATCH, &path, Some(&json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bruno.messages(&id, "").await.len(), 3, "nothing changed, nothing said");

    let (status, untitled) = call(&mut ana, Method::PATCH, &path, Some(&json!({"title": " "}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        untitled["title"], "Bruno",
        "blank removes the title: the members' names show"
    );
    let (status, refused) = call(
        &mut ana,
        Method::PATCH,
        &path,
        Some(&json!({"description": "d".repeat(501)})),
    )
    .await;
    assert_eq!(
        error_code(status, &refused, StatusCode::BAD_REQUEST),
        "validation_error"
    );
    assert_eq!(refused["field"], "description");
}

#[sqlx::test]
async fn members_are_added_promoted_and_removed_with_their_receipts_shown(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.user(&acme, "Carla", Role::Read).await;
    let id = id(&group(&mut ana, &[bruno.user_id], json!({})).await);
    let members_path = format!("/api/chat/conversations/{id}/participants/");
    ana.say(&id, "hello").await;

    let (status, after) = ana
        .post(&members_path, json!({"user_ids": [carla, bruno.user_id]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["member_count"], 3);
    let added = bruno.messages(&id, "").await.pop().unwrap();
    assert_eq!(added["metadata"]["event"], "member_added");
    assert_eq!(added["metadata"]["user_ids"], json!([carla]), "Bruno was in already");

    let (_, marked) = bruno
        .post(&format!("/api/chat/conversations/{id}/mark_read/"), json!({}))
        .await;
    assert_eq!(marked["status"], "ok");
    let (status, members) = bruno.get(&members_path).await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<(Value, Value, Value)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].clone(), m["role"].clone(), m["last_read_seq"].clone()))
        .collect();
    assert_eq!(
        rows,
        [
            (json!("Ana"), json!("owner"), json!(0)),
            (json!("Bruno"), json!("member"), json!(2)),
            (json!("Carla"), json!("member"), json!(1)),
        ],
        "longest-standing first; Carla joined with the history before her counted as seen"
    );

    let bruno_path = format!("{members_path}{}/", bruno.user_id);
    let (status, promoted) = call(&mut ana, Method::PATCH, &bruno_path, Some(&json!({"role": "owner"}))).await;
    assert_eq!((status, promoted["role"].clone()), (StatusCode::OK, json!("owner")));
    let (status, _) = call(
        &mut bruno,
        Method::DELETE,
        &format!("{members_path}{}/", ana.user_id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "an owner removes another owner");
    let (status, refused) = call(&mut bruno, Method::PATCH, &bruno_path, Some(&json!({"role": "member"}))).await;
    assert_eq!(error_code(status, &refused, StatusCode::CONFLICT), "last_owner");

    let messages = bruno.messages(&id, "").await;
    assert_eq!(
        system_events(&messages),
        ["member_added", "role_changed", "member_removed"]
    );
    let removed = messages.last().unwrap();
    assert_eq!(
        (
            removed["metadata"]["user_id"].clone(),
            removed["metadata"]["user_name"].clone()
        ),
        (json!(ana.user_id), json!("Ana"))
    );
    let (status, body) = ana.get(&format!("/api/chat/conversations/{id}/")).await;
    assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "not_a_participant");
    let (status, body) = ana
        .post(
            &format!("/api/chat/conversations/{id}/messages/"),
            json!({"content": "still here?"}),
        )
        .await;
    assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "not_a_participant");
    let (_, list) = ana.get("/api/chat/conversations/").await;
    assert_eq!(list, json!([]), "gone from the removed member's list");

    let stranger = Uuid::new_v4();
    let (status, body) = ana.post(&members_path, json!({"user_ids": [stranger]})).await;
    assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "not_a_participant");
    let (status, body) = bruno.post(&members_path, json!({"user_ids": [stranger]})).await;
    assert_eq!(
        error_code(status, &body, StatusCode::NOT_FOUND),
        "participant_not_found"
    );
    let (status, body) = call(&mut bruno, Method::DELETE, &format!("{members_path}{stranger}/"), None).await;
    assert_eq!(
        error_code(status, &body, StatusCode::NOT_FOUND),
        "participant_not_found"
    );
    let (status, body) = bruno.post(&members_path, json!({"user_ids": ["not-an-id"]})).await;
    assert_eq!(
        error_code(status, &body, StatusCode::BAD_REQUEST),
        "invalid_participant"
    );
}

#[sqlx::test]
async fn when_the_last_owner_leaves_the_longest_standing_member_takes_over(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let mut carla = app.member(&acme, "Carla", Role::Write).await;
    let id = id(&group(&mut ana, &[bruno.user_id], json!({})).await);
    let (status, _) = ana
        .post(
            &format!("/api/chat/conversations/{id}/participants/"),
            json!({"user_ids": [carla.user_id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = ana
        .post(&format!("/api/chat/conversations/{id}/leave/"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let now = bruno.conversation(&id).await;
    assert_eq!(
        (now["my_role"].clone(), now["member_count"].clone()),
        (json!("owner"), json!(2))
    );
    assert_eq!(carla.conversation(&id).await["my_role"], "member", "Carla joined later");
    let messages = carla.messages(&id, "").await;
    assert_eq!(
        system_events(&messages),
        ["member_added", "member_left", "role_changed"]
    );
    let succession = messages.last().unwrap();
    assert_eq!(succession["metadata"]["user_id"], bruno.user_id.to_string());
    assert_eq!(succession["metadata"]["succession"], true);
    assert_eq!(succession["content"], "Bruno is now owner");

    let (status, _) = bruno
        .post(&format!("/api/chat/conversations/{id}/leave/"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(carla.conversation(&id).await["my_role"], "owner", "and again");
}

#[sqlx::test]
async fn a_one_to_one_conversation_keeps_its_two_members_and_only_an_admin_deletes_it(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.user(&acme, "Carla", Role::Write).await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let id = ana.start_with(bruno.user_id).await;
    let base = format!("/api/chat/conversations/{id}/");
    let refusals = [
        (Method::PATCH, base.clone(), Some(json!({"title": "Us"}))),
        (Method::PATCH, base.clone(), Some(json!({"visibility": "tenant"}))),
        (
            Method::POST,
            format!("{base}participants/"),
            Some(json!({"user_ids": [carla]})),
        ),
        (Method::DELETE, format!("{base}participants/{}/", bruno.user_id), None),
        (
            Method::PATCH,
            format!("{base}participants/{}/", bruno.user_id),
            Some(json!({"role": "owner"})),
        ),
    ];
    for (method, path, body) in refusals {
        let (status, answer) = call(&mut admin, method.clone(), &path, body.as_ref()).await;
        let code = error_code(status, &answer, StatusCode::FORBIDDEN);
        assert_eq!(code, "conversation_permission_required", "{method} {path}");
    }
    let (status, answer) = call(&mut ana, Method::POST, &format!("{base}leave/"), None).await;
    assert_eq!(
        error_code(status, &answer, StatusCode::FORBIDDEN),
        "conversation_permission_required"
    );
    let (_, members) = ana.get(&format!("{base}participants/")).await;
    assert_eq!(members.as_array().unwrap().len(), 2, "still the two of them");

    let (status, answer) = call(&mut ana, Method::DELETE, &base, None).await;
    assert_eq!(
        error_code(status, &answer, StatusCode::FORBIDDEN),
        "conversation_permission_required",
        "a 1-to-1 has no owner"
    );
    let (status, _) = call(&mut admin, Method::DELETE, &base, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = ana.get(&base).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_ne!(ana.start_with(bruno.user_id).await, id, "the pair can start afresh");
}

#[sqlx::test]
async fn a_shared_conversation_is_found_read_and_joined_by_anyone_in_the_tenant(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let mut rita = app.member(&acme, "Rita", Role::Read).await;
    let mut walt = app.member(&acme, "Walt", Role::Write).await;
    let shared = id(&group(
        &mut ana,
        &[bruno],
        json!({"title": "Release Notes", "visibility": "tenant"}),
    )
    .await);
    group(&mut ana, &[bruno], json!({"title": "Release plan (private)"})).await;
    group(&mut ana, &[bruno], json!({"title": "Lunch", "visibility": "tenant"})).await;
    ana.say(&shared, "v1.2 is out").await;

    let (status, found) = rita.get("/api/chat/conversations/directory/?q=release").await;
    assert_eq!(status, StatusCode::OK);
    let titles: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Release Notes"], "by title, ignoring case, shared only");
    let (_, all) = rita.get("/api/chat/conversations/directory/").await;
    let titles: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Lunch", "Release Notes"]);

    let seen = rita.conversation(&shared).await;
    assert_eq!(
        (seen["my_role"].clone(), seen["unread_count"].clone()),
        (Value::Null, json!(0))
    );
    let messages = rita.messages(&shared, "").await;
    assert_eq!(messages.last().unwrap()["content"], "v1.2 is out");
    let (_, members) = ana
        .get(&format!("/api/chat/conversations/{shared}/participants/"))
        .await;
    assert_eq!(
        members[0]["last_delivered_seq"], 0,
        "a viewer's read marks nothing delivered for anyone"
    );
    let (status, body) = rita
        .post(&format!("/api/chat/conversations/{shared}/join/"), json!({}))
        .await;
    assert_eq!(
        error_code(status, &body, StatusCode::FORBIDDEN),
        "write_permission_required"
    );
    let (_, listed) = rita.get("/api/chat/conversations/").await;
    assert_eq!(listed, json!([]), "viewing is not membership");

    let (status, joined) = walt
        .post(&format!("/api/chat/conversations/{shared}/join/"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(
        (joined["my_role"].clone(), joined["member_count"].clone()),
        (json!("member"), json!(3))
    );
    let last = walt.messages(&shared, "").await.pop().unwrap();
    assert_eq!(last["metadata"]["event"], "member_joined");
    walt.say(&shared, "hi all").await;
    let (status, _) = walt
        .post(&format!("/api/chat/conversations/{shared}/join/"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "joining again changes nothing");
    assert_eq!(walt.messages(&shared, "").await.len(), 3);
}

#[sqlx::test]
async fn deleting_a_conversation_takes_its_messages_and_files_and_is_audited(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let mut admin = app.member(&acme, "Ada", Role::Admin).await;
    let id = id(&group(&mut ana, &[bruno.user_id], json!({})).await);
    let form = reqwest::multipart::Form::new().text("content", "notes").part(
        "attachments",
        reqwest::multipart::Part::bytes(b"plain notes\n".to_vec()).file_name("notes.txt"),
    );
    let req = bruno
        .request(Method::POST, &format!("/api/chat/conversations/{id}/messages/"))
        .multipart(form);
    let (status, sent) = bruno.send(req).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(stored_files(&app).len(), 1);

    let (status, body) = call(
        &mut bruno,
        Method::DELETE,
        &format!("/api/chat/conversations/{id}/"),
        None,
    )
    .await;
    assert_eq!(
        error_code(status, &body, StatusCode::FORBIDDEN),
        "conversation_permission_required"
    );
    let (status, _) = call(
        &mut ana,
        Method::DELETE,
        &format!("/api/chat/conversations/{id}/"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(stored_files(&app).is_empty(), "the file went with its message");
    let (status, _) = bruno.get(&format!("/api/chat/conversations/{id}/messages/")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let attachment = &sent["attachments"][0]["url"];
    let (status, _) = bruno.get(attachment.as_str().unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, log) = admin.get("/api/admin/audit-log/?action=conversation.delete").await;
    let entry = &log["results"][0];
    assert_eq!(entry["resource_id"], id);
    assert_eq!(entry["actor"], ana.user_id.to_string());
    assert_eq!(
        (entry["details"]["messages"].clone(), entry["details"]["files"].clone()),
        (json!(1), json!(1))
    );
}
