//! The support desk live, over real sockets on both channel layers: the desk's staff who
//! open a support conversation they are not in (before anyone takes it) get its new
//! messages as they are sent, as a viewer of a shared conversation does; a user of the
//! tenant who is not staff, and another tenant's staff, get nothing; every requester's
//! message tells every inbox (`support_updated`); taking the conversation makes the agent
//! a member who gets each event once; an agent who stops being one stops viewing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::{
    group_events::{any_message_of, until_message},
    helpers::{spawn_node, Layer},
    permissions::call,
    sockets::Socket,
    support::{contact_support, id_of, make_agent, take},
};

on_both_layers!(
    staff_viewing_a_support_conversation_get_the_requesters_messages_live,
    an_agent_who_stops_being_one_stops_viewing,
);

async fn open(socket: &mut Socket, id: &str) -> Value {
    socket.send_json(json!({"type": "open", "conversation_id": id})).await;
    socket
        .until(|e| e["type"] == "opened" || e["type"] == "error")
        .await
        .pop()
        .unwrap()
}

/// Whether any of `events` is a `support_updated` of conversation `id`.
fn any_desk_event_of(events: &[Value], id: &str) -> bool {
    events
        .iter()
        .any(|e| e["type"] == "support_updated" && e["conversation_id"] == id)
}

async fn staff_viewing_a_support_conversation_get_the_requesters_messages_live(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    let mut admin = app.member(&acme, "Boss", Role::Admin).await;
    let mut alex = app.member(&acme, "Alex", Role::Write).await;
    make_agent(&mut admin, alex.user_id).await;
    let mut ulla = app.member(&acme, "Ulla", Role::Write).await;
    let vic = app.member(&acme, "Vic", Role::Write).await;
    let mut globex_admin = app.member(&globex, "Gus", Role::Admin).await;
    let gina = app.member(&globex, "Gina", Role::Write).await;
    make_agent(&mut globex_admin, gina.user_id).await;

    let (status, view) = contact_support(&mut ulla).await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    let id = id_of(&view);
    let mut alex_socket = alex.socket().await;
    let mut admin_socket = admin.socket().await;
    let mut vic_socket = vic.socket().await;
    let mut gina_socket = gina.socket().await;

    // Staff open it as viewers; the rule is the REST read's.
    for socket in [&mut alex_socket, &mut admin_socket] {
        let opened = open(socket, &id).await;
        assert_eq!(
            opened,
            json!({"type": "opened", "conversation_id": id, "member": false})
        );
    }
    assert_eq!(open(&mut vic_socket, &id).await["error"], "not_a_participant");
    assert_eq!(open(&mut gina_socket, &id).await["error"], "not_found");

    ulla.say(&id, "My invoice is wrong").await;
    for socket in [&mut alex_socket, &mut admin_socket] {
        until_message(socket, "My invoice is wrong").await;
        // …and the inbox hears of the requester's message, its status unchanged.
        let event = socket.expect("support_updated").await;
        assert_eq!(
            (
                event["conversation_id"].as_str(),
                &event["status"],
                &event["requester_id"]
            ),
            (Some(id.as_str()), &json!("open"), &json!(ulla.user_id))
        );
    }

    // Neither a user of the tenant who is not staff nor another tenant's staff hear of it.
    let to_vic = ulla.start_with(vic.user_id).await;
    ulla.say(&to_vic, "sentinel for Vic").await;
    let seen = until_message(&mut vic_socket, "sentinel for Vic").await;
    assert!(
        !any_message_of(&seen, &id) && !any_desk_event_of(&seen, &id),
        "{seen:?}"
    );
    let mut gus = globex_admin;
    let to_gina = gus.start_with(gina.user_id).await;
    gus.say(&to_gina, "sentinel for Gina").await;
    let seen = until_message(&mut gina_socket, "sentinel for Gina").await;
    assert!(
        !any_message_of(&seen, &id) && !any_desk_event_of(&seen, &id),
        "{seen:?}"
    );

    // Taken, the agent is a member: `open` again, and each event comes once.
    let (status, taken) = take(&mut alex, &id).await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(open(&mut alex_socket, &id).await["member"], true);
    ulla.say(&id, "Thanks for taking it").await;
    let to_alex = ulla.start_with(alex.user_id).await;
    ulla.say(&to_alex, "sentinel for Alex").await;
    let seen = alex_socket
        .until(|e| e["type"] == "message_created" && e["message"]["content"] == "sentinel for Alex")
        .await;
    let copies = seen
        .iter()
        .filter(|e| e["type"] == "message_created" && e["message"]["content"] == "Thanks for taking it")
        .count();
    assert_eq!(copies, 1, "a member gets the conversation's messages once: {seen:?}");
    // The admin, still a viewer, follows it too; the agent's answer reaches the requester.
    until_message(&mut admin_socket, "Thanks for taking it").await;
    let mut ulla_socket = ulla.socket().await;
    alex.say(&id, "On it").await;
    until_message(&mut ulla_socket, "On it").await;
}

async fn an_agent_who_stops_being_one_stops_viewing(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    let mut admin = app.member(&acme, "Boss", Role::Admin).await;
    let bea = app.member(&acme, "Bea", Role::Write).await;
    make_agent(&mut admin, bea.user_id).await;
    let mut ulla = app.member(&acme, "Ulla", Role::Write).await;
    let (_, view) = contact_support(&mut ulla).await;
    let id = id_of(&view);
    let mut bea_socket = bea.socket().await;
    assert_eq!(open(&mut bea_socket, &id).await["member"], false);
    ulla.say(&id, "Anyone there?").await;
    until_message(&mut bea_socket, "Anyone there?").await;

    let path = format!("/api/admin/users/{}/", bea.user_id);
    let (status, body) = call(&mut admin, Method::PATCH, &path, Some(&json!({"is_agent": false}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The socket stays open (the session did not end) and says it follows nothing now.
    let stopped = bea_socket.expect("opened").await;
    assert_eq!(stopped["conversation_id"], Value::Null);
    ulla.say(&id, "Hello?").await;
    let to_bea = ulla.start_with(bea.user_id).await;
    ulla.say(&to_bea, "sentinel for Bea").await;
    let seen = until_message(&mut bea_socket, "sentinel for Bea").await;
    assert!(
        !any_message_of(&seen, &id) && !any_desk_event_of(&seen, &id),
        "{seen:?}"
    );
    assert_eq!(open(&mut bea_socket, &id).await["error"], "not_a_participant");
}
