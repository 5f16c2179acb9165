//! Client → server frames of API.md, parsed and answered by calling the chat domain.

use serde::Deserialize;
use uuid::Uuid;

use super::presence::Following;
use crate::{
    auth::Actor,
    chat::{
        conversations::{self, Opened},
        events::Event,
        presence::{self, MAX_INTEREST},
        receipts, typing,
    },
    domain::Seq,
    error::Code,
    limits::Action,
    state::AppState,
};

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Ping,
    Typing { conversation_id: Uuid },
    Ack { conversation_id: Uuid, seq: Seq },
    Read { conversation_id: Uuid, seq: Seq },
    PresenceSubscribe { user_ids: Vec<Uuid> },
    Open { conversation_id: Option<Uuid> },
}

/// An `error` frame for the client.
pub(super) fn error(code: Code, message: &str) -> serde_json::Value {
    serde_json::json!({"type": "error", "error": code.as_str(), "message": message})
}

/// The reply to one client frame, if any. A malformed frame or a refused action gets an
/// `error` frame; the socket stays open.
pub(super) async fn answer(
    state: &AppState,
    actor: &Actor,
    text: &str,
    following: &mut Following,
) -> Option<serde_json::Value> {
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => frame,
        Err(err) => return Some(error(Code::InvalidFrame, &err.to_string())),
    };
    let (pool, realtime) = (&state.pool, &state.realtime);
    let result = match frame {
        ClientFrame::Ping => return Some(serde_json::json!({"type": "pong"})),
        ClientFrame::Typing { conversation_id } => match state.limits.take(Action::Typing, actor, 1).await {
            Ok(()) => typing::typing(pool, realtime, actor, conversation_id).await,
            Err(limited) => Err(limited),
        },
        ClientFrame::Ack { conversation_id, seq } => {
            receipts::acknowledge(pool, realtime, actor, conversation_id, seq.get()).await
        }
        ClientFrame::Read { conversation_id, seq } => {
            receipts::mark_read(pool, realtime, actor, conversation_id, Some(seq.get()))
                .await
                .map(|_| ())
        }
        ClientFrame::PresenceSubscribe { user_ids } => {
            if user_ids.len() > MAX_INTEREST {
                return Some(error(
                    Code::ValidationError,
                    &format!("presence_subscribe takes at most {MAX_INTEREST} user_ids."),
                ));
            }
            match presence::known(pool, actor, &user_ids).await {
                Ok(users) => {
                    // Listening before the state is read: a change after the read is not missed.
                    following.replace(users.iter().map(|(id, _)| *id).collect()).await;
                    let users = presence::states(realtime, actor, users).await;
                    return Some(serde_json::to_value(Event::PresenceState { users }).expect("events serialize"));
                }
                Err(err) => Err(err),
            }
        }
        // Follow a conversation's events while it is open; `null` (or none) stops.
        ClientFrame::Open { conversation_id } => {
            let opened = match conversation_id {
                Some(id) => conversations::open(pool, actor, id).await,
                None => Ok(Opened::Nothing),
            };
            match opened {
                Ok(opened) => {
                    following.view(opened.viewers()).await;
                    return Some(serde_json::to_value(opened.event()).expect("events serialize"));
                }
                Err(err) => Err(err),
            }
        }
    };
    // `answer` logs an internal cause and keeps it from the client.
    result.err().map(|err| error(err.code(), &err.answer().message))
}
