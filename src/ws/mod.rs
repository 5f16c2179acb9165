//! `GET /ws/chat/`: the chat consumer, an edge like `src/api/`: it authenticates,
//! listens through `src/realtime` and answers client frames by calling `src/chat`
//! (`frames.rs`). One task per socket: it forwards the user's events from the hub,
//! batches the presence changes of the users it follows (`presence.rs`), answers client
//! frames, pings idle connections, and closes with 1013 when an event could not reach it
//! (the client cannot keep up, or the node's Redis subscription lapsed), 1012 when the
//! node shuts down, 4401 when unauthenticated or when its session ends, 1008 when its
//! user already holds `WS_MAX_SOCKETS_PER_USER` sockets on this node. It says
//! `connected` only once it receives everything sent to its user. `asyncapi.rs` publishes
//! all of this as an AsyncAPI document.

pub mod asyncapi;
mod frames;
mod outlet;
mod presence;
mod sending;
mod upgrade;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use poem::{
    handler,
    http::{header, StatusCode},
    web::{cookie::CookieJar, Data, Query},
    IntoResponse, Request, Response,
};
use serde::Deserialize;
use tokio_tungstenite::tungstenite::{
    protocol::{frame::coding::CloseCode, CloseFrame, WebSocketConfig},
    Message, Utf8Bytes,
};
use upgrade::{Socket, Upgrade};

use crate::{
    auth::{control::Control, extract::session_actor, session, tokens, Actor},
    chat,
    client::RequestMeta,
    error::{Code, Error},
    ratelimit::Cell,
    realtime::envelope::Delivery,
    state::AppState,
    telemetry::{
        metrics::{EVENTS_SENT, PRESENCE_FRAMES, SOCKETS_CLOSED, SOCKETS_REFUSED},
        requests,
    },
};
use presence::Following;

/// Largest client frame (and message) accepted; larger ones close the socket with 1009.
pub const MAX_FRAME: usize = 64 * 1024;
/// Events queued for one socket before it counts as too slow and is closed. The queue
/// allocates as it fills, so the bound costs nothing while a socket keeps up; it is
/// sized for a burst like every user a socket follows (at most 500) reconnecting at once.
const QUEUE: usize = 1024;
const PING_EVERY: Duration = Duration::from_secs(30);
/// A client that takes longer than this to accept one frame is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// A socket silent for this long (no frame, no pong) is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(75);

#[derive(Deserialize)]
pub struct SocketQuery {
    token: Option<String>,
}

/// The credential a socket was opened with, as named in `Control::EndSessions`.
struct Opened {
    actor: Actor,
    credential: String,
    secret: Secret,
    /// Where the socket comes from, for the audit of refused frames.
    meta: RequestMeta,
}

/// Which socket a log line is about: its handshake's request id, and its user once known.
struct Named {
    request_id: String,
    actor: Option<Actor>,
}

/// What a socket authenticated with, kept to check it once more after subscribing.
enum Secret {
    Token(String),
    Session(String),
}

#[handler]
pub async fn chat_socket(
    req: &Request,
    ws: Upgrade,
    state: Data<&AppState>,
    jar: &CookieJar,
    meta: RequestMeta,
    Query(query): Query<SocketQuery>,
) -> Response {
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if let Some(origin) = origin {
        if !state.config.socket_origins().iter().any(|allowed| allowed == origin) {
            let body = serde_json::json!({"error": Code::OriginNotAllowed.as_str(), "message": "This origin may not open a chat socket."});
            return poem::web::Json(body).with_status(StatusCode::FORBIDDEN).into_response();
        }
    }
    let opened = match authenticate(&state, jar, query.token.as_deref(), origin.is_some(), meta).await {
        Ok(opened) => opened,
        Err(err) => {
            tracing::warn!(error = %err, "socket authentication failed");
            None
        }
    };
    if let Some(opened) = &opened {
        requests::identify(req, opened.actor.tenant_id(), opened.actor.user_id());
    }
    let named = Named {
        request_id: requests::request_id(req)
            .map(|id| id.as_str().to_string())
            .unwrap_or_default(),
        actor: opened.as_ref().map(|opened| opened.actor),
    };
    // Every socket holds its read buffer for its whole life: 128 bytes take a client's
    // small frames (pong, typing, read) in one read, and tungstenite reads a larger
    // frame's payload into room reserved for the length its header announces.
    let config = WebSocketConfig::default()
        .read_buffer_size(128)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME));
    let state = state.clone();
    ws.on_upgrade(config, move |mut socket| async move {
        match opened {
            Some(opened) => run(socket, state, opened, named).await,
            None => close(&mut socket, 4401, "unauthenticated", &named).await,
        }
    })
}

/// `?token=` for scripts (an API token, or a widget sign-in's session), else the session cookie. A cookie-authenticated socket must
/// come with an `Origin` (a browser always sends one, and the origin check above is what
/// stops another site from opening a socket with the user's cookie).
async fn authenticate(
    state: &AppState,
    jar: &CookieJar,
    token: Option<&str>,
    has_origin: bool,
    meta: RequestMeta,
) -> Result<Option<Opened>, Error> {
    let secret = match (token, jar.get(session::SESSION_COOKIE).filter(|_| has_origin)) {
        (Some(token), _) => match session::from_bearer(token) {
            Some(session_key) => Secret::Session(session_key.to_string()),
            None => Secret::Token(token.to_string()),
        },
        (None, Some(cookie)) => Secret::Session(cookie.value_str().to_string()),
        (None, None) => return Ok(None),
    };
    Ok(check(state, &secret).await?.map(|(actor, credential)| Opened {
        actor,
        credential,
        secret,
        meta,
    }))
}

/// The actor behind a secret, and how `Control::EndSessions` names it.
async fn check(state: &AppState, secret: &Secret) -> Result<Option<(Actor, String)>, Error> {
    Ok(match secret {
        Secret::Token(token) => tokens::resolve(&state.pool, token)
            .await?
            .map(|(actor, token_id)| (actor, tokens::credential(token_id))),
        Secret::Session(key) => session_actor(&state.pool, &state.sessions, &state.credentials, key)
            .await?
            .map(|(actor, _)| (actor, session::credential(key))),
    })
}

async fn run(mut socket: Socket, state: AppState, opened: Opened, named: Named) {
    let Opened {
        actor,
        credential,
        secret,
        meta,
    } = opened;
    let realtime = state.realtime.clone();
    let open = realtime.socket_opened();
    // Per node: a cap across nodes would cost a shared count on every open and close.
    let Some(_place) = state.limits.sockets.take(actor.user_id()) else {
        metrics::counter!(SOCKETS_REFUSED, "reason" => "per_user").increment(1);
        close(&mut socket, 1008, "too many sockets", &named).await;
        return;
    };
    // The database and Redis calls of a socket's life are boxed: a future awaited inline
    // makes the socket's task as large as the largest of them for as long as the socket
    // lives (11 KB each, most of an idle socket's memory), a boxed one only while it runs.
    let interest = Box::pin(chat::presence::default_interest(&state.pool, &actor))
        .await
        .unwrap_or_else(|err| {
            tracing::warn!(error = %err, "could not read a socket's default presence interest");
            Vec::new()
        })
        .into_iter()
        .collect();
    // Live before `connected`: from then on, every event for the user (and every presence
    // change of the users it follows) reaches this socket, or the socket closes with 1013.
    let subscription = match Box::pin(realtime.join(presence::groups(actor.user_id(), &interest), QUEUE)).await {
        Ok(joined) => joined,
        Err(err) => {
            tracing::warn!(error = %err, "socket could not join its groups");
            close(&mut socket, 1013, "try again later", &named).await;
            return;
        }
    };
    // Events may be written by the hub itself while the task waits (`realtime::listener`).
    subscription.listener().attach(socket.get_ref().outlet());
    let mut following = Following::new(subscription, actor.user_id(), interest);
    let mut shutdown = realtime.shutting_down();

    let connected =
        serde_json::json!({"type": "connected", "user_id": actor.user_id(), "message": "Connected to chat"});
    let mut close_with: Option<(u16, &str)> = None;
    // Checked once more now that the socket listens: an `EndSessions` (logout,
    // deactivation, revocation) sent between the handshake and the subscription would
    // otherwise have been missed.
    let still_valid =
        matches!(Box::pin(check(&state, &secret)).await, Ok(Some((now, _))) if now.role() == actor.role());
    // Only a socket that is let in counts for presence: one refused here would flip its
    // user online and offline for every follower.
    if still_valid {
        Box::pin(realtime.presence.socket_opened(actor.tenant_id(), actor.user_id())).await;
    }
    if !still_valid {
        close_with = Some((4401, "session ended"));
    } else if send(&mut socket, "connected", Message::text(connected.to_string())).await {
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
        let mut last_heard = Instant::now();
        let mut frames_budget = Cell::default();
        // The socket is not split into halves: `select!` drops the futures of its branches
        // before it runs the chosen branch's code, so the read in one branch and the writes
        // in the others never overlap, and no lock between two halves is taken per frame.
        close_with = loop {
            tokio::select! {
                biased;
                _ = shutdown.changed() => break Some((1012, "service restart")),
                // Before the inbox, so that a steady stream of events cannot hold a batch back.
                _ = tokio::time::sleep_until(following.batch.due().unwrap_or_else(tokio::time::Instant::now)),
                    if following.batch.due().is_some() => {
                    if let Some(frame) = following.batch.take(tokio::time::Instant::now()) {
                        metrics::counter!(PRESENCE_FRAMES).increment(1);
                        let frame_type = chat::events::EventType::from(&frame).into();
                        let text = serde_json::to_string(&frame).expect("events serialize");
                        if !send(&mut socket, frame_type, Message::text(text)).await { break None; }
                    }
                }
                delivery = following.subscription.listener().next() => match delivery {
                    // The envelope's bytes themselves, shared with every other socket.
                    Some(Delivery::Event(json)) => match Utf8Bytes::try_from(json) {
                        Ok(text) => {
                            let frame_type = frames::event_type(text.as_bytes());
                            if !send(&mut socket, frame_type, Message::Text(text)).await { break None; }
                        }
                        Err(_) => {
                            tracing::warn!("an event that is not UTF-8 JSON; the client catches up");
                            break Some((1013, "events missed, reconnect and catch up"));
                        }
                    },
                    Some(Delivery::Control(json)) => match serde_json::from_slice(&json) {
                        Ok(Control::EndSessions { credential: ended }) => {
                            if ended.as_deref().is_none_or(|ended| ended == credential) {
                                break Some((4401, "session ended"));
                            }
                        }
                        Ok(Control::RecheckViewing) => {
                            if let Some(id) = following.viewing() {
                                // The same rule as the `open` that let the socket in.
                                if Box::pin(chat::conversations::open(&state.pool, &actor, id)).await.is_err() {
                                    Box::pin(following.view(None)).await;
                                    // Unasked, so the client knows it follows nothing now.
                                    let stopped = chat::conversations::Opened::Nothing.event();
                                    let text = serde_json::to_string(&stopped).expect("events serialize");
                                    if !send(&mut socket, "opened", Message::text(text)).await { break None; }
                                }
                            }
                        }
                        Err(err) => tracing::warn!(error = %err, "ignoring an unknown control message"),
                    },
                    Some(Delivery::Presence { user_id, is_online }) => following.changed(user_id, is_online),
                    Some(Delivery::Flush) => if !finish_writes(&mut socket).await { break None; },
                    None => break Some((1013, "events missed, reconnect and catch up")),
                },
                frame = socket.next() => {
                    // Events that arrive while the frame is answered wait for the answer:
                    // a `send_ok` comes before its own `message_created`.
                    following.subscription.listener().hold();
                    last_heard = Instant::now();
                    match frame {
                        Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                            let reply = match (frames_budget.take(state.limits.ws_frames), message) {
                                (Err(wait), Message::Text(text)) => Some(frames::too_many(Some(&text), wait)),
                                (Err(wait), _) => Some(frames::too_many(None, wait)),
                                (Ok(()), Message::Text(text)) => Box::pin(frames::answer(&state, &actor, &meta, &text, &mut following)).await,
                                (Ok(()), _) => Some(frames::error(Code::InvalidFrame, "Frames are JSON text.")),
                            };
                            if let Some(reply) = reply {
                                let frame_type = frames::sent_type(reply["type"].as_str().unwrap_or_default().as_bytes());
                                if !send(&mut socket, frame_type, Message::text(reply.to_string())).await { break None; }
                            }
                        }
                        Some(Ok(Message::Close(_))) | None => break None,
                        Some(Ok(_)) => {}
                        Some(Err(err)) => {
                            tracing::debug!(error = %err, "socket read failed");
                            break Some((1009, "frame too large or malformed"));
                        }
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > IDLE_TIMEOUT {
                        break Some((1001, "idle"));
                    }
                    if !deliver(&mut socket, Message::Ping(Default::default())).await { break None; }
                }
            }
        };
    }
    // Nothing from the hub after the close frame.
    following.subscription.listener().hold();
    match close_with {
        Some((code, reason)) => close(&mut socket, code, reason, &named).await,
        None => log_closed(&named, None, "closed by the client or lost"),
    }
    drop(following);
    if still_valid {
        Box::pin(realtime.presence.socket_closed(actor.tenant_id(), actor.user_id())).await;
    }
    drop(open);
}

/// Writes one frame of `frame_type` (counted by type); see `deliver`.
async fn send(socket: &mut Socket, frame_type: &'static str, message: Message) -> bool {
    metrics::counter!(EVENTS_SENT, "type" => frame_type).increment(1);
    deliver(socket, message).await
}

/// Writes one frame; false when the client is gone or has not read for `SEND_TIMEOUT`
/// (its TCP window is full), in which case the socket is given up.
async fn deliver(socket: &mut Socket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

/// Finishes what the hub began writing (`Delivery::Flush`); false as `deliver`.
async fn finish_writes(socket: &mut Socket) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.flush()).await, Ok(Ok(())))
}

/// Closes the socket with `code` (counted by code, and logged).
async fn close(socket: &mut Socket, code: u16, reason: &str, named: &Named) {
    metrics::counter!(SOCKETS_CLOSED, "code" => code.to_string()).increment(1);
    log_closed(named, Some(code), reason);
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    deliver(socket, Message::Close(Some(frame))).await;
}

/// The socket's last log line (its first is its handshake's request line, status 101).
fn log_closed(named: &Named, code: Option<u16>, reason: &str) {
    tracing::info!(
        target: "tenantchat::socket",
        request_id = named.request_id,
        tenant = named.actor.map(|a| tracing::field::display(a.tenant_id())),
        user = named.actor.map(|a| tracing::field::display(a.user_id())),
        code,
        reason,
        "socket closed"
    );
}
