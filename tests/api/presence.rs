//! Presence over `/ws/chat/`: by interest (the default one, `presence_subscribe`), only on
//! transitions of the user as a whole, batched per socket. Every scenario runs on both
//! channel layers.

use std::collections::HashSet;

use futures::future::join_all;
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;
use uuid::Uuid;

use crate::{
    helpers::{spawn_node, Client, Layer, Tenant, TestApp},
    sockets::{Change, Socket},
};

on_both_layers!(
    presence_follows_the_first_and_last_socket,
    the_default_interest_is_partners_and_small_groups,
    presence_subscribe_replaces_the_interest_and_ignores_foreign_ids,
    more_than_500_ids_are_refused,
    a_mass_connect_and_disconnect_cost_each_socket_a_few_frames,
    a_client_on_the_polling_fallback_counts_as_online,
);

fn changes_of(changes: &[Change], user: Uuid) -> Vec<bool> {
    let user = user.to_string();
    changes
        .iter()
        .filter(|(id, _)| *id == user)
        .map(|(_, online)| *online)
        .collect()
}

fn is_online(list: &Value, id: Uuid) -> Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == id.to_string())
        .unwrap()["is_online"]
        .clone()
}

/// A group of `creator` and `others` (through the API, as the widget makes one).
async fn group(creator: &mut Client, others: &[Uuid]) -> String {
    let (status, body) = creator
        .post(
            "/api/chat/conversations/",
            json!({"title": "G", "participant_ids": others}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    body["id"].as_str().unwrap().to_string()
}

async fn presence_follows_the_first_and_last_socket(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.member(&acme, "Carla", Role::Write).await;
    ana.start_with(bruno.user_id).await;
    ana.start_with(carla.user_id).await;
    let mut ana_socket = ana.socket().await;

    let bruno_tab1 = bruno.socket().await;
    let seen = ana_socket.presence_of(bruno.user_id, true).await;
    assert_eq!(changes_of(&seen, bruno.user_id), [true]);
    let bruno_tab2 = bruno.socket().await;
    let (_, list) = ana.get("/api/chat/conversations/presence/").await;
    assert_eq!(is_online(&list, bruno.user_id), json!(true));

    bruno_tab1.close().await;
    let (_, list) = ana.get("/api/chat/conversations/presence/").await;
    assert_eq!(is_online(&list, bruno.user_id), json!(true), "one tab is still open");
    // Carla coming online is the sentinel: nothing about Bruno may come before it.
    let _carla_socket = carla.socket().await;
    let seen = ana_socket.presence_of(carla.user_id, true).await;
    assert!(
        changes_of(&seen, bruno.user_id).is_empty(),
        "2 → 1 sockets is no change: {seen:?}"
    );

    bruno_tab2.close().await;
    let seen = ana_socket.presence_of(bruno.user_id, false).await;
    assert_eq!(changes_of(&seen, bruno.user_id), [false], "1 → 0 sockets is one change");
    let (_, list) = ana.get("/api/chat/conversations/presence/").await;
    assert_eq!(is_online(&list, bruno.user_id), json!(false));
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert!(list[0]["last_seen"].is_string(), "{list}");
}

async fn the_default_interest_is_partners_and_small_groups(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let carla = app.member(&acme, "Carla", Role::Write).await;
    let dora = app.member(&acme, "Dora", Role::Write).await;
    let eva = app.member(&acme, "Eva", Role::Write).await;
    ana.start_with(bruno.user_id).await;
    group(&mut ana, &[carla.user_id]).await;
    // A group of 51: too large to follow by default.
    let mut crowd = vec![dora.user_id];
    for i in 0..49 {
        crowd.push(app.user(&acme, &format!("Extra{i}"), Role::Write).await);
    }
    group(&mut ana, &crowd).await;

    let mut ana_socket = ana.socket().await;
    let _dora_socket = dora.socket().await;
    let _eva_socket = eva.socket().await;
    let _bruno_socket = bruno.socket().await;
    let _carla_socket = carla.socket().await;
    let (seen, _) = ana_socket
        .presence_until(|seen| {
            seen.contains(&(bruno.user_id.to_string(), true)) && seen.contains(&(carla.user_id.to_string(), true))
        })
        .await;
    assert!(
        changes_of(&seen, dora.user_id).is_empty(),
        "a member of a large group only: {seen:?}"
    );
    assert!(
        changes_of(&seen, eva.user_id).is_empty(),
        "no conversation with Ana: {seen:?}"
    );

    // A conversation started while connected counts from the next connection on.
    ana.start_with(eva.user_id).await;
    let mut ana_socket = ana.socket().await;
    _eva_socket.close().await;
    let seen = ana_socket.presence_of(eva.user_id, false).await;
    assert_eq!(changes_of(&seen, eva.user_id), [false]);
}

async fn presence_subscribe_replaces_the_interest_and_ignores_foreign_ids(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let dora = app.member(&acme, "Dora", Role::Write).await;
    let gil = app.member(&globex, "Gil", Role::Write).await;
    ana.start_with(bruno.user_id).await;
    let mut ana_socket = ana.socket().await;

    let _gil_socket = gil.socket().await;
    ana_socket
        .send_json(json!({"type": "presence_subscribe", "user_ids": [dora.user_id, gil.user_id, Uuid::new_v4(), dora.user_id]}))
        .await;
    let state = ana_socket.expect("presence_state").await;
    assert_eq!(
        state["users"].as_array().unwrap().len(),
        1,
        "only Dora is Ana's to follow: {state}"
    );
    assert_eq!(state["users"][0]["user_id"], dora.user_id.to_string());
    assert_eq!(state["users"][0]["is_online"], false);
    assert!(state["users"][0].as_object().unwrap().contains_key("last_seen"));

    // Bruno was followed by default; now only Dora is.
    let _bruno_socket = bruno.socket().await;
    let _dora_socket = dora.socket().await;
    let seen = ana_socket.presence_of(dora.user_id, true).await;
    assert_eq!(seen, [(dora.user_id.to_string(), true)], "nothing of Bruno: {seen:?}");

    ana_socket
        .send_json(json!({"type": "presence_subscribe", "user_ids": [bruno.user_id, gil.user_id]}))
        .await;
    let state = ana_socket.expect("presence_state").await;
    assert_eq!(
        state["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| (u["user_id"].clone(), u["is_online"].clone()))
            .collect::<Vec<_>>(),
        [(json!(bruno.user_id), json!(true))]
    );
}

async fn more_than_500_ids_are_refused(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    ana.start_with(bruno.user_id).await;
    let mut ana_socket = ana.socket().await;

    let too_many: Vec<Uuid> = (0..501).map(|_| Uuid::new_v4()).collect();
    ana_socket
        .send_json(json!({"type": "presence_subscribe", "user_ids": too_many}))
        .await;
    let error = ana_socket.expect("error").await;
    assert_eq!(error["error"], "validation_error", "{error}");
    // The default interest stands.
    let _bruno_socket = bruno.socket().await;
    ana_socket.presence_of(bruno.user_id, true).await;
}

/// `count` members of `tenant`, logged in.
async fn members(app: &TestApp, tenant: &Tenant, prefix: &str, count: usize) -> Vec<Client> {
    let mut members = Vec::with_capacity(count);
    for i in 0..count {
        members.push(app.member(tenant, &format!("{prefix}{i}"), Role::Write).await);
    }
    members
}

async fn a_mass_connect_and_disconnect_cost_each_socket_a_few_frames(pool: PgPool, layer: Layer) {
    const CROWD: usize = 40;
    // Unbatched, each watcher would get one frame per user; connecting 40 sockets takes
    // well under a few seconds, so a handful of one-per-second batches carry them all.
    const FRAMES: usize = 10;
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let crowd = members(&app, &acme, "Crowd", CROWD).await;
    let watchers = members(&app, &acme, "Watcher", 3).await;
    let ids: Vec<Uuid> = crowd.iter().map(|c| c.user_id).collect();
    let mut watching = Vec::new();
    for watcher in &watchers {
        let mut socket = watcher.socket().await;
        socket
            .send_json(json!({"type": "presence_subscribe", "user_ids": ids}))
            .await;
        let state = socket.expect("presence_state").await;
        assert_eq!(state["users"].as_array().unwrap().len(), CROWD);
        watching.push(socket);
    }

    let sockets: Vec<Socket> = join_all(crowd.iter().map(|c| c.socket())).await;
    let all = |online: bool| {
        let wanted: HashSet<Change> = ids.iter().map(|id| (id.to_string(), online)).collect();
        move |seen: &[Change]| wanted.iter().all(|w| seen.contains(w))
    };
    for socket in &mut watching {
        let (seen, frames) = socket.presence_until(all(true)).await;
        assert_eq!(seen.len(), CROWD, "one change per user: {seen:?}");
        assert!(frames <= FRAMES, "{frames} frames for {CROWD} users coming online");
    }

    join_all(sockets.into_iter().map(Socket::close)).await;
    for socket in &mut watching {
        let (seen, frames) = socket.presence_until(all(false)).await;
        assert_eq!(seen.len(), CROWD, "one change per user: {seen:?}");
        assert!(frames <= FRAMES, "{frames} frames for {CROWD} users going offline");
    }
}

async fn a_client_on_the_polling_fallback_counts_as_online(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    ana.start_with(bruno.user_id).await;
    // Ana has no socket; her cookie-authenticated REST calls are what a polling widget makes.
    ana.get("/api/chat/conversations/").await;
    let (_, list) = bruno.get("/api/chat/conversations/presence/").await;
    assert_eq!(is_online(&list, ana.user_id), json!(true));
    // Her socket opens and closes: activity from before the close no longer counts.
    let mut watcher = bruno.socket().await;
    ana.socket().await.close().await;
    watcher.presence_of(ana.user_id, false).await;
    let (_, list) = bruno.get("/api/chat/conversations/presence/").await;
    assert_eq!(is_online(&list, ana.user_id), json!(false));
}
