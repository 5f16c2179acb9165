//! `GET /ws/chat/`: the chat consumer, an edge like `src/api/`: it authenticates,
//! listens through `src/realtime` and answers client frames by calling `src/chat`
//! (`frames.rs`). One task per socket: it forwards the user's events from the hub,
//! answers client frames, pings idle connections, and closes with 1013 when the client
//! cannot keep up, 1012 when the node shuts down, 4401 when unauthenticated or when its
//! session ends.

mod frames;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use poem::{
    handler,
    http::{header, StatusCode},
    web::{
        cookie::CookieJar,
        websocket::{Message, WebSocket, WebSocketConfig, WebSocketStream},
        Data, Query,
    },
    IntoResponse, Request, Response,
};
use serde::Deserialize;

use crate::{
    auth::{control::Control, extract::session_actor, session, tokens, Actor},
    error::{Code, Error},
    ratelimit::Cell,
    realtime::{
        envelope::Delivery,
        layer::{tenant_group, user_group},
    },
    state::AppState,
};

/// Largest client frame (and message) accepted; larger ones close the socket with 1009.
pub const MAX_FRAME: usize = 64 * 1024;
/// Events queued for one socket before it counts as too slow and is closed. The queue
/// allocates as it fills, so the bound costs nothing while a socket keeps up; it is
/// sized for a burst like every user of a large tenant reconnecting at once (one
/// `presence` event per user to every socket of the tenant).
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
}

/// What a socket authenticated with, kept to check it once more after subscribing.
enum Secret {
    Token(String),
    Session(String),
}

#[handler]
pub async fn chat_socket(
    req: &Request,
    ws: WebSocket,
    state: Data<&AppState>,
    jar: &CookieJar,
    Query(query): Query<SocketQuery>,
) -> Response {
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if let Some(origin) = origin {
        if !state.config.socket_origins().iter().any(|allowed| allowed == origin) {
            let body = serde_json::json!({"error": Code::OriginNotAllowed.as_str(), "message": "This origin may not open a chat socket."});
            return poem::web::Json(body).with_status(StatusCode::FORBIDDEN).into_response();
        }
    }
    let opened = match authenticate(&state, jar, query.token.as_deref(), origin.is_some()).await {
        Ok(opened) => opened,
        Err(err) => {
            tracing::warn!(error = %err, "socket authentication failed");
            None
        }
    };
    let ws = ws.config(
        WebSocketConfig::default()
            .read_buffer_size(1024)
            .write_buffer_size(0)
            .max_message_size(Some(MAX_FRAME))
            .max_frame_size(Some(MAX_FRAME)),
    );
    let state = state.clone();
    ws.on_upgrade(move |socket| async move {
        match opened {
            Some(opened) => run(socket, state, opened).await,
            None => {
                let mut socket = socket;
                let _ = socket.send(Message::close_with(4401u16, "unauthenticated")).await;
            }
        }
    })
    .into_response()
}

/// `?token=` for scripts, else the session cookie. A cookie-authenticated socket must
/// come with an `Origin` (a browser always sends one, and the origin check above is what
/// stops another site from opening a socket with the user's cookie).
async fn authenticate(
    state: &AppState,
    jar: &CookieJar,
    token: Option<&str>,
    has_origin: bool,
) -> Result<Option<Opened>, Error> {
    let secret = match (token, jar.get(session::SESSION_COOKIE).filter(|_| has_origin)) {
        (Some(token), _) => Secret::Token(token.to_string()),
        (None, Some(cookie)) => Secret::Session(cookie.value_str().to_string()),
        (None, None) => return Ok(None),
    };
    Ok(check(state, &secret).await?.map(|(actor, credential)| Opened {
        actor,
        credential,
        secret,
    }))
}

/// The actor behind a secret, and how `Control::EndSessions` names it.
async fn check(state: &AppState, secret: &Secret) -> Result<Option<(Actor, String)>, Error> {
    Ok(match secret {
        Secret::Token(token) => tokens::resolve(&state.pool, token)
            .await?
            .map(|(actor, token_id)| (actor, tokens::credential(token_id))),
        Secret::Session(key) => session_actor(&state.pool, &state.sessions, key)
            .await?
            .map(|(actor, _)| (actor, session::credential(key))),
    })
}

async fn run(socket: WebSocketStream, state: AppState, opened: Opened) {
    let Opened {
        actor,
        credential,
        secret,
    } = opened;
    let realtime = state.realtime.clone();
    let open = realtime.socket_opened();
    let (subscription, mut inbox) = realtime.join(
        vec![user_group(actor.user_id()), tenant_group(actor.tenant_id())],
        QUEUE,
    );
    realtime
        .presence
        .socket_opened(actor.tenant_id(), actor.user_id())
        .await;
    let mut shutdown = realtime.shutting_down();
    let (mut sink, mut frames) = socket.split();

    let connected =
        serde_json::json!({"type": "connected", "user_id": actor.user_id(), "message": "Connected to chat"});
    let mut close: Option<(u16, &str)> = None;
    // Checked once more now that the socket listens: an `EndSessions` (logout,
    // deactivation, revocation) sent between the handshake and the subscription would
    // otherwise have been missed.
    let still_valid = matches!(check(&state, &secret).await, Ok(Some((now, _))) if now.role() == actor.role());
    if !still_valid {
        close = Some((4401, "session ended"));
    } else if deliver(&mut sink, Message::Text(connected.to_string())).await {
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
        let mut last_heard = Instant::now();
        let mut frames_budget = Cell::default();
        close = loop {
            tokio::select! {
                biased;
                _ = subscription.listener().overflow() => break Some((1013, "too slow, reconnect and catch up")),
                _ = shutdown.changed() => break Some((1012, "service restart")),
                delivery = inbox.recv() => match delivery {
                    Some(Delivery::Event(json)) => {
                        let text = String::from_utf8_lossy(&json).into_owned();
                        if !deliver(&mut sink, Message::Text(text)).await { break None; }
                    }
                    Some(Delivery::Control(json)) => match serde_json::from_slice(&json) {
                        Ok(Control::EndSessions { credential: ended }) => {
                            if ended.as_deref().is_none_or(|ended| ended == credential) {
                                break Some((4401, "session ended"));
                            }
                        }
                        Err(err) => tracing::warn!(error = %err, "ignoring an unknown control message"),
                    },
                    None => break None,
                },
                frame = frames.next() => {
                    last_heard = Instant::now();
                    match frame {
                        Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                            let reply = match (frames_budget.take(state.limits.ws_frames), message) {
                                (Err(_), _) => Some(frames::error(Code::RateLimited, "Too many frames; slow down.")),
                                (Ok(()), Message::Text(text)) => frames::answer(&state, &actor, &text).await,
                                (Ok(()), _) => Some(frames::error(Code::InvalidFrame, "Frames are JSON text.")),
                            };
                            if let Some(reply) = reply {
                                if !deliver(&mut sink, Message::Text(reply.to_string())).await { break None; }
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
                    if !deliver(&mut sink, Message::Ping(Vec::new())).await { break None; }
                }
            }
        };
    }
    if let Some((code, reason)) = close {
        deliver(&mut sink, Message::close_with(code, reason)).await;
    }
    drop(subscription);
    realtime
        .presence
        .socket_closed(actor.tenant_id(), actor.user_id())
        .await;
    drop(open);
}

/// Writes one frame; false when the client is gone or has not read for `SEND_TIMEOUT`
/// (its TCP window is full), in which case the socket is given up.
async fn deliver(sink: &mut futures_util::stream::SplitSink<WebSocketStream, Message>, message: Message) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await, Ok(Ok(())))
}
