//! The support desk over real HTTP and sockets: contacting support is one conversation
//! per user (also under concurrent requests); only agents and admins see the inbox and
//! canned replies, and only of their tenant; assign, close and reopen add system
//! messages the requester sees and `support_updated` events every agent's inbox follows;
//! round-robin hands new conversations to the agents in turn.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;
use uuid::Uuid;

use crate::{
    helpers::{error_code, spawn_app, spawn_node, Client, Layer, Tenant, TestApp},
    permissions::call,
};

on_both_layers!(assign_close_and_reopen_reach_the_requester_and_every_agent);

/// Makes `user` a support agent through the admin API, as `admin`.
pub(crate) async fn make_agent(admin: &mut Client, user: Uuid) {
    let path = format!("/api/admin/users/{user}/");
    let (status, body) = call(admin, Method::PATCH, &path, Some(&json!({"is_agent": true}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["is_agent"], true);
}

/// A tenant's admin and a logged-in agent.
async fn desk(app: &TestApp, tenant: &Tenant, agent: &str) -> (Client, Client) {
    let mut admin = app.member(tenant, &format!("{agent}Boss"), Role::Admin).await;
    let agent = app.member(tenant, agent, Role::Write).await;
    make_agent(&mut admin, agent.user_id).await;
    (admin, agent)
}

pub(crate) async fn contact_support(client: &mut Client) -> (StatusCode, Value) {
    call(client, Method::POST, "/api/chat/support/", Some(&json!({}))).await
}

pub(crate) async fn act(client: &mut Client, id: &str, step: &str, body: Value) -> (StatusCode, Value) {
    call(
        client,
        Method::POST,
        &format!("/api/chat/support/{id}/{step}/"),
        Some(&body),
    )
    .await
}

/// `client` assigns the conversation to itself.
pub(crate) async fn take(client: &mut Client, id: &str) -> (StatusCode, Value) {
    let me = client.user_id;
    act(client, id, "assign", json!({"agent_id": me})).await
}

/// The ids in one tab of `client`'s inbox.
async fn inbox(client: &mut Client, status: &str) -> Vec<String> {
    let (code, body) = client.get(&format!("/api/chat/support/inbox/?status={status}")).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["conversation"]["id"].as_str().unwrap().to_string())
        .collect()
}

pub(crate) fn id_of(view: &Value) -> String {
    view["conversation"]["id"].as_str().unwrap().to_string()
}

#[sqlx::test]
async fn contacting_support_twice_or_at_once_gives_one_conversation(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let (_admin, mut agent) = desk(&app, &acme, "Alex").await;
    let ulla = app.member(&acme, "Ulla", Role::Write).await;

    let requests = (0..8).map(|_| ulla.request(Method::POST, "/api/chat/support/").json(&json!({})).send());
    let mut statuses = Vec::new();
    let mut ids = Vec::new();
    for resp in join_all(requests).await {
        let resp = resp.unwrap();
        statuses.push(resp.status());
        let body: Value = resp.json().await.unwrap();
        ids.push(id_of(&body));
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::CREATED).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        7,
        "{statuses:?}"
    );
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");

    let mut ulla = ulla;
    let (status, view) = contact_support(&mut ulla).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "open");
    assert_eq!(view["agent"], Value::Null);
    assert_eq!(view["requester"]["id"], json!(ulla.user_id));
    assert_eq!(view["conversation"]["kind"], "support");
    assert_eq!(view["conversation"]["participants"].as_array().unwrap().len(), 1);
    assert_eq!(inbox(&mut agent, "open").await, ids);
}

#[sqlx::test]
async fn only_agents_and_admins_of_the_tenant_use_the_desk(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let (mut admin, mut agent) = desk(&app, &acme, "Alex").await;
    let mut ulla = app.member(&acme, "Ulla", Role::Write).await;
    let mut vic = app.member(&acme, "Vic", Role::Write).await;
    let (_, view) = contact_support(&mut ulla).await;
    let id = id_of(&view);
    ulla.say(&id, "my invoice is wrong").await;

    // A user who is neither agent nor admin: no inbox, no canned replies, no desk
    // actions, and someone else's support conversation stays private.
    for path in ["/api/chat/support/inbox/", "/api/chat/support/canned-replies/"] {
        let (status, body) = vic.get(path).await;
        assert_eq!(
            error_code(status, &body, StatusCode::FORBIDDEN),
            "agent_permission_required"
        );
    }
    for step in ["close", "reopen"] {
        let (status, body) = act(&mut vic, &id, step, json!({})).await;
        assert_eq!(
            error_code(status, &body, StatusCode::FORBIDDEN),
            "agent_permission_required"
        );
    }
    let (status, body) = take(&mut ulla, &id).await;
    assert_eq!(
        error_code(status, &body, StatusCode::FORBIDDEN),
        "agent_permission_required"
    );
    let (status, body) = vic.get(&format!("/api/chat/conversations/{id}/messages/")).await;
    assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "not_a_participant");

    // Agents and admins read it before anyone picks it up.
    for staff in [&mut agent, &mut admin] {
        assert_eq!(inbox(staff, "open").await, vec![id.clone()]);
        let history = staff.messages(&id, "").await;
        assert_eq!(history.last().unwrap()["content"], "my invoice is wrong");
    }

    // Reading is not writing: an agent answers once the conversation is theirs, and
    // takes it by assignment, not by joining.
    let path = format!("/api/chat/conversations/{id}/messages/");
    let (status, body) = call(&mut agent, Method::POST, &path, Some(&json!({"content": "hi"}))).await;
    assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "not_a_participant");
    let path = format!("/api/chat/conversations/{id}/join/");
    let (status, body) = call(&mut agent, Method::POST, &path, Some(&json!({}))).await;
    assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "not_a_participant");

    // Nobody makes it readable by the whole tenant, not even an admin.
    let path = format!("/api/chat/conversations/{id}/");
    let (status, body) = call(&mut admin, Method::PATCH, &path, Some(&json!({"visibility": "tenant"}))).await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");
    assert_eq!(body["field"], "visibility");

    // Another tenant's agent: the id names nothing there.
    let globex = app.tenant("globex").await;
    let (_, mut stranger) = desk(&app, &globex, "Gil").await;
    assert!(inbox(&mut stranger, "open").await.is_empty());
    let (status, body) = stranger.get(&format!("/api/chat/conversations/{id}/")).await;
    assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "not_found");
    let (status, body) = take(&mut stranger, &id).await;
    assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "not_found");
    // Nor can an agent of this tenant be handed another tenant's agent.
    let (status, body) = act(&mut agent, &id, "assign", json!({"agent_id": stranger.user_id})).await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");
    assert_eq!(body["field"], "agent_id");
}

async fn assign_close_and_reopen_reach_the_requester_and_every_agent(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let (mut admin, mut alex) = desk(&app, &acme, "Alex").await;
    let mut ulla = app.member(&acme, "Ulla", Role::Write).await;
    let vic = app.member(&acme, "Vic", Role::Write).await;
    let mut alex_socket = alex.socket().await;
    let mut admin_socket = admin.socket().await;
    let mut ulla_socket = ulla.socket().await;

    let (status, view) = contact_support(&mut ulla).await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    let id = id_of(&view);
    for socket in [&mut alex_socket, &mut admin_socket] {
        let event = socket.expect("support_updated").await;
        assert_eq!(
            (event["conversation_id"].as_str(), &event["status"], &event["agent_id"]),
            (Some(id.as_str()), &json!("open"), &Value::Null)
        );
        assert_eq!(event["requester_id"], json!(ulla.user_id));
    }

    // Someone who is no agent cannot be given the conversation.
    let (status, body) = act(&mut alex, &id, "assign", json!({"agent_id": vic.user_id})).await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");
    assert_eq!(body["field"], "agent_id");

    let (status, view) = take(&mut alex, &id).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(
        (&view["status"], &view["agent"]["id"]),
        (&json!("assigned"), &json!(alex.user_id))
    );
    assert_eq!(view["conversation"]["participants"].as_array().unwrap().len(), 2);
    let seen = ulla_socket.expect("message_created").await;
    assert_eq!(seen["message"]["kind"], "system");
    assert_eq!(seen["message"]["metadata"]["event"], "support_assigned");
    assert_eq!(seen["message"]["metadata"]["agent_id"], json!(alex.user_id));
    for socket in [&mut alex_socket, &mut admin_socket] {
        let event = socket.expect("support_updated").await;
        assert_eq!(
            (&event["status"], &event["agent_id"]),
            (&json!("assigned"), &json!(alex.user_id))
        );
    }
    assert_eq!(inbox(&mut admin, "assigned").await, vec![id.clone()]);
    assert!(inbox(&mut admin, "open").await.is_empty());

    // Now a member, the agent answers.
    alex.say(&id, "Let me look at that invoice.").await;
    let answer = ulla_socket.expect("message_created").await;
    assert_eq!(answer["message"]["content"], "Let me look at that invoice.");

    let (status, view) = act(&mut alex, &id, "close", json!({})).await;
    assert_eq!((status, &view["status"]), (StatusCode::OK, &json!("closed")));
    let seen = ulla_socket.expect("message_created").await;
    assert_eq!(seen["message"]["metadata"]["event"], "support_closed");
    let event = admin_socket.expect("support_updated").await;
    assert_eq!(event["status"], "closed");
    assert_eq!(inbox(&mut alex, "closed").await, vec![id.clone()]);
    let (status, body) = take(&mut alex, &id).await;
    assert_eq!(error_code(status, &body, StatusCode::CONFLICT), "support_closed");
    // Nothing more is said in a closed conversation, by its requester or its agent.
    for client in [&mut ulla, &mut alex] {
        let (status, body) = client
            .post(
                &format!("/api/chat/conversations/{id}/messages/"),
                json!({"content": "One more thing"}),
            )
            .await;
        assert_eq!(error_code(status, &body, StatusCode::CONFLICT), "support_closed");
    }

    // Closed is final for the requester: contacting support again opens a new one, and
    // the old one cannot be reopened while the new one is open.
    let (status, newer) = contact_support(&mut ulla).await;
    assert_eq!(status, StatusCode::CREATED, "{newer}");
    assert_ne!(id_of(&newer), id);
    let (status, body) = act(&mut admin, &id, "reopen", json!({})).await;
    assert_eq!(error_code(status, &body, StatusCode::CONFLICT), "support_already_open");
    let (status, _) = act(&mut admin, &id_of(&newer), "close", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, view) = act(&mut admin, &id, "reopen", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(
        (&view["status"], &view["agent"]["id"]),
        (&json!("assigned"), &json!(alex.user_id))
    );
    let seen = ulla_socket
        .until(|e| e["type"] == "message_created" && e["message"]["metadata"]["event"] == "support_reopened")
        .await;
    assert!(!seen.is_empty());
    let history = ulla.messages(&id, "").await;
    let events: Vec<&str> = history.iter().filter_map(|m| m["metadata"]["event"].as_str()).collect();
    assert_eq!(events, ["support_assigned", "support_closed", "support_reopened"]);
    let (status, body) = ulla
        .post(
            &format!("/api/chat/conversations/{id}/messages/"),
            json!({"content": "Thanks for reopening"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "reopened, it takes messages again: {body}");
}

#[sqlx::test]
async fn round_robin_hands_new_conversations_to_the_agents_in_turn(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let (mut admin, first) = desk(&app, &acme, "Alex").await;
    let second = app.user(&acme, "Bea", Role::Write).await;
    make_agent(&mut admin, second).await;
    let (status, body) = call(
        &mut admin,
        Method::PUT,
        "/api/admin/settings/",
        Some(&json!({"support_round_robin": true})),
    )
    .await;
    assert_eq!(
        (status, &body["support_round_robin"]),
        (StatusCode::OK, &json!(true)),
        "{body}"
    );

    let mut agents = Vec::new();
    for name in ["Ulla", "Vic", "Wes"] {
        let mut user = app.member(&acme, name, Role::Write).await;
        let (status, view) = contact_support(&mut user).await;
        assert_eq!(
            (status, &view["status"]),
            (StatusCode::CREATED, &json!("assigned")),
            "{view}"
        );
        let history = user.messages(&id_of(&view), "").await;
        assert_eq!(history[0]["metadata"]["event"], "support_assigned");
        assert_eq!(history[0]["metadata"]["automatic"], true);
        agents.push(view["agent"]["id"].clone());
    }
    let both = [json!(first.user_id), json!(second)];
    assert!(both.contains(&agents[0]) && both.contains(&agents[1]), "{agents:?}");
    assert_ne!(agents[0], agents[1], "each agent gets one before anyone gets two");
    assert_eq!(agents[2], agents[0], "then the one whose last assignment is the oldest");
}

#[sqlx::test]
async fn canned_replies_are_checked_and_read_by_agents(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let (mut admin, mut agent) = desk(&app, &acme, "Alex").await;
    let replies = json!([
        {"shortcut": "hello", "text": "Hi! How can I help?"},
        {"shortcut": "refund", "text": "Your refund is on its way."},
    ]);
    let (status, body) = call(
        &mut admin,
        Method::PUT,
        "/api/admin/settings/",
        Some(&json!({"canned_replies": replies})),
    )
    .await;
    assert_eq!((status, &body["canned_replies"]), (StatusCode::OK, &replies), "{body}");
    let (status, body) = agent.get("/api/chat/support/canned-replies/").await;
    assert_eq!((status, &body), (StatusCode::OK, &replies));

    for bad in [
        json!([{"shortcut": "hello", "text": "a"}, {"shortcut": "hello", "text": "b"}]),
        json!([{"shortcut": "Hello There", "text": "a"}]),
        json!([{"shortcut": "hello", "text": "   "}]),
        json!([{"shortcut": "hello", "text": "x".repeat(2001)}]),
    ] {
        let body = json!({"canned_replies": bad});
        let (status, answer) = call(&mut admin, Method::PUT, "/api/admin/settings/", Some(&body)).await;
        assert_eq!(
            error_code(status, &answer, StatusCode::BAD_REQUEST),
            "validation_error",
            "{bad}"
        );
        assert_eq!(answer["field"], "canned_replies", "{answer}");
    }
    // Nothing half-written: the last good replies stand.
    let (_, body) = agent.get("/api/chat/support/canned-replies/").await;
    assert_eq!(body, replies);
}

#[sqlx::test]
async fn the_inbox_pages_by_cursor_newest_activity_first(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let (_admin, mut agent) = desk(&app, &acme, "Alex").await;
    let mut opened = Vec::new();
    for name in ["Ulla", "Vic", "Wes"] {
        let mut user = app.member(&acme, name, Role::Write).await;
        opened.push(id_of(&contact_support(&mut user).await.1));
    }
    opened.reverse();
    let (status, first) = agent.get("/api/chat/support/inbox/?status=open&limit=2").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let (status, second) = agent
        .get(&format!("/api/chat/support/inbox/?status=open&limit=2&cursor={cursor}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["next_cursor"], Value::Null);
    let ids: Vec<String> = [first, second]
        .iter()
        .flat_map(|page| {
            page["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(id_of)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(ids, opened);
    let (status, body) = agent.get("/api/chat/support/inbox/?cursor=nonsense").await;
    assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "validation_error");
}
