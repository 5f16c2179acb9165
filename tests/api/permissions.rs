//! The permission matrix of API v2's "Conversations that live": every endpoint, for a
//! caller of each role (read, write, admin) who is the conversation's owner, a member,
//! not a member of a private conversation, or not a member of a tenant-visible one.
//! Each cell runs on a conversation of its own, over real HTTP.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;
use uuid::Uuid;

use crate::helpers::{spawn_node, Client, Layer, TestApp};

// Permissions do not depend on the channel layer; the matrix runs on both anyway, as
// issue 12 asks, so a layer that answered differently would show.
on_both_layers!(
    get_conversation,
    read_messages,
    list_participants,
    update_conversation,
    delete_conversation,
    add_participants,
    remove_a_participant,
    change_a_role,
    remove_oneself,
    leave,
    join,
    the_directory_shows_shared_conversations_to_every_role_and_nothing_private,
    another_tenants_conversation_is_unknown_to_every_endpoint,
);

/// How the caller stands to the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Owner,
    Member,
    /// Not a member of a private conversation.
    Outsider,
    /// Not a member of a tenant-visible conversation.
    Viewer,
}

const RELATIONS: [Relation; 4] = [Relation::Owner, Relation::Member, Relation::Outsider, Relation::Viewer];
const ROLES: [Role; 3] = [Role::Read, Role::Write, Role::Admin];

/// The expected status and error code of one cell.
type Expect = (u16, Option<&'static str>);
const OK: Expect = (200, None);
const GONE: Expect = (204, None);
const READ_ONLY: Expect = (403, Some("write_permission_required"));
const NOT_IN_IT: Expect = (403, Some("not_a_participant"));
const NOT_OWNER: Expect = (403, Some("conversation_permission_required"));

/// One endpoint: method, path and body (`{c}` the conversation, `{me}` the caller,
/// `{mia}` a member, `{zed}` a user of the tenant outside it), and per role (read,
/// write, admin) the expected answer per relation (owner, member, outsider, viewer).
struct Endpoint {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    expect: [[Expect; 4]; 3],
}

/// Reading: members, and anyone in the tenant when the conversation is tenant-visible.
const VIEW: [[Expect; 4]; 3] = [[OK, OK, NOT_IN_IT, OK]; 3];

/// Managing: owners and tenant admins, never the `read` role.
const fn manage(done: Expect) -> [[Expect; 4]; 3] {
    [[READ_ONLY; 4], [done, NOT_OWNER, NOT_IN_IT, NOT_OWNER], [done; 4]]
}

/// Leaving: members who may write.
const LEAVE: [[Expect; 4]; 3] = [
    [READ_ONLY; 4],
    [GONE, GONE, NOT_IN_IT, NOT_IN_IT],
    [GONE, GONE, NOT_IN_IT, NOT_IN_IT],
];

fn get(path: &'static str) -> Endpoint {
    Endpoint {
        method: Method::GET,
        path,
        body: None,
        expect: VIEW,
    }
}

/// Olga (write) creates every cell's conversation; Mia is a member of each; Zed is not.
struct Scene {
    app: TestApp,
    olga: Client,
    mia: Uuid,
    zed: Uuid,
    /// A caller per role, in `ROLES` order.
    callers: Vec<Client>,
}

async fn scene(pool: PgPool, layer: Layer) -> Scene {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let olga = app.member(&acme, "Olga", Role::Write).await;
    let mia = app.user(&acme, "Mia", Role::Write).await;
    let zed = app.user(&acme, "Zed", Role::Write).await;
    let mut callers = Vec::new();
    for (name, role) in [("Rita", Role::Read), ("Walt", Role::Write), ("Ada", Role::Admin)] {
        callers.push(app.member(&acme, name, role).await);
    }
    Scene {
        app,
        olga,
        mia,
        zed,
        callers,
    }
}

/// Sends `method path` with an optional JSON body.
pub async fn call(client: &mut Client, method: Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
    let mut req = client.request(method, path);
    if let Some(body) = body {
        req = req.json(body);
    }
    client.send(req).await
}

/// A fresh group of Olga and Mia where `caller` stands in `relation`; returns its id.
async fn conversation(scene: &mut Scene, caller: Uuid, relation: Relation) -> String {
    let mut members = vec![scene.mia];
    if matches!(relation, Relation::Owner | Relation::Member) {
        members.push(caller);
    }
    let visibility = if relation == Relation::Viewer {
        "tenant"
    } else {
        "private"
    };
    let (status, group) = scene
        .olga
        .post(
            "/api/chat/conversations/",
            json!({"title": "Cell", "participant_ids": members, "visibility": visibility}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let id = group["id"].as_str().unwrap().to_string();
    if relation == Relation::Owner {
        let path = format!("/api/chat/conversations/{id}/participants/{caller}/");
        let (status, body) = call(&mut scene.olga, Method::PATCH, &path, Some(&json!({"role": "owner"}))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    id
}

async fn run(pool: PgPool, layer: Layer, endpoint: Endpoint) {
    let mut scene = scene(pool, layer).await;
    let mut failures = Vec::new();
    for (row, role) in ROLES.iter().enumerate() {
        for (column, relation) in RELATIONS.iter().enumerate() {
            let caller = scene.callers[row].user_id;
            let id = conversation(&mut scene, caller, *relation).await;
            let fill = |text: &str| {
                text.replace("{c}", &id)
                    .replace("{me}", &caller.to_string())
                    .replace("{mia}", &scene.mia.to_string())
                    .replace("{zed}", &scene.zed.to_string())
            };
            let path = fill(endpoint.path);
            let body = endpoint
                .body
                .as_ref()
                .map(|b| serde_json::from_str::<Value>(&fill(&b.to_string())).unwrap());
            let (status, answer) = call(&mut scene.callers[row], endpoint.method.clone(), &path, body.as_ref()).await;
            let got = (status.as_u16(), answer["error"].as_str().map(String::from));
            let (want_status, want_code) = endpoint.expect[row][column];
            if got != (want_status, want_code.map(String::from)) {
                failures.push(format!(
                    "{} {} as {role:?} {relation:?}: expected {want_status} {want_code:?}, got {} {answer}",
                    endpoint.method, endpoint.path, got.0
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    drop(scene.app);
}

async fn get_conversation(pool: PgPool, layer: Layer) {
    run(pool, layer, get("/api/chat/conversations/{c}/")).await
}

async fn read_messages(pool: PgPool, layer: Layer) {
    run(pool, layer, get("/api/chat/conversations/{c}/messages/")).await
}

async fn list_participants(pool: PgPool, layer: Layer) {
    run(pool, layer, get("/api/chat/conversations/{c}/participants/")).await
}

async fn update_conversation(pool: PgPool, layer: Layer) {
    let endpoint = Endpoint {
        method: Method::PATCH,
        path: "/api/chat/conversations/{c}/",
        body: Some(json!({"title": "Renamed", "description": "About", "visibility": "tenant"})),
        expect: manage(OK),
    };
    run(pool, layer, endpoint).await
}

async fn delete_conversation(pool: PgPool, layer: Layer) {
    let endpoint = Endpoint {
        method: Method::DELETE,
        path: "/api/chat/conversations/{c}/",
        body: None,
        expect: manage(GONE),
    };
    run(pool, layer, endpoint).await
}

async fn add_participants(pool: PgPool, layer: Layer) {
    let endpoint = Endpoint {
        method: Method::POST,
        path: "/api/chat/conversations/{c}/participants/",
        body: Some(json!({"user_ids": ["{zed}"]})),
        expect: manage(OK),
    };
    run(pool, layer, endpoint).await
}

async fn remove_a_participant(pool: PgPool, layer: Layer) {
    let endpoint = Endpoint {
        method: Method::DELETE,
        path: "/api/chat/conversations/{c}/participants/{mia}/",
        body: None,
        expect: manage(GONE),
    };
    run(pool, layer, endpoint).await
}

async fn change_a_role(pool: PgPool, layer: Layer) {
    let endpoint = Endpoint {
        method: Method::PATCH,
        path: "/api/chat/conversations/{c}/participants/{mia}/",
        body: Some(json!({"role": "owner"})),
        expect: manage(OK),
    };
    run(pool, layer, endpoint).await
}

async fn remove_oneself(pool: PgPool, layer: Layer) {
    let endpoint = Endpoint {
        method: Method::DELETE,
        path: "/api/chat/conversations/{c}/participants/{me}/",
        body: None,
        expect: LEAVE,
    };
    run(pool, layer, endpoint).await
}

async fn leave(pool: PgPool, layer: Layer) {
    let endpoint = Endpoint {
        method: Method::POST,
        path: "/api/chat/conversations/{c}/leave/",
        body: None,
        expect: LEAVE,
    };
    run(pool, layer, endpoint).await
}

async fn join(pool: PgPool, layer: Layer) {
    let endpoint = Endpoint {
        method: Method::POST,
        path: "/api/chat/conversations/{c}/join/",
        body: None,
        expect: [[READ_ONLY; 4], [OK, OK, NOT_IN_IT, OK], [OK, OK, NOT_IN_IT, OK]],
    };
    run(pool, layer, endpoint).await
}

async fn the_directory_shows_shared_conversations_to_every_role_and_nothing_private(pool: PgPool, layer: Layer) {
    let mut scene = scene(pool, layer).await;
    let mut shared = Vec::new();
    for (row, _) in ROLES.iter().enumerate() {
        let caller = scene.callers[row].user_id;
        for relation in RELATIONS {
            let id = conversation(&mut scene, caller, relation).await;
            if relation == Relation::Viewer {
                shared.push(id);
            }
        }
    }
    shared.sort();
    for caller in &mut scene.callers {
        let (status, listed) = caller.get("/api/chat/conversations/directory/").await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let mut ids: Vec<String> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        assert_eq!(ids, shared, "every shared conversation, and only those");
        for conversation in listed.as_array().unwrap() {
            assert_eq!(conversation["my_role"], Value::Null, "none of them is the caller's");
        }
    }
}

async fn another_tenants_conversation_is_unknown_to_every_endpoint(pool: PgPool, layer: Layer) {
    let mut scene = scene(pool, layer).await;
    let globex = scene.app.tenant("globex").await;
    let mut stranger = scene.app.member(&globex, "Sam", Role::Admin).await;
    let id = conversation(&mut scene, Uuid::nil(), Relation::Viewer).await;
    let mia = scene.mia;
    let endpoints = [
        (Method::GET, format!("/api/chat/conversations/{id}/"), None),
        (Method::GET, format!("/api/chat/conversations/{id}/messages/"), None),
        (Method::GET, format!("/api/chat/conversations/{id}/participants/"), None),
        (
            Method::PATCH,
            format!("/api/chat/conversations/{id}/"),
            Some(json!({"title": "x"})),
        ),
        (Method::DELETE, format!("/api/chat/conversations/{id}/"), None),
        (
            Method::POST,
            format!("/api/chat/conversations/{id}/participants/"),
            Some(json!({"user_ids": [stranger.user_id]})),
        ),
        (
            Method::DELETE,
            format!("/api/chat/conversations/{id}/participants/{mia}/"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/chat/conversations/{id}/participants/{mia}/"),
            Some(json!({"role": "owner"})),
        ),
        (Method::POST, format!("/api/chat/conversations/{id}/join/"), None),
        (Method::POST, format!("/api/chat/conversations/{id}/leave/"), None),
    ];
    for (method, path, body) in endpoints {
        let (status, answer) = call(&mut stranger, method.clone(), &path, body.as_ref()).await;
        assert_eq!(
            (status, answer["error"].clone()),
            (StatusCode::NOT_FOUND, json!("not_found")),
            "{method} {path}"
        );
    }
    let (_, listed) = stranger.get("/api/chat/conversations/directory/").await;
    assert_eq!(listed, json!([]), "another tenant's directory is its own");
}
