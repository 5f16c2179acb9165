//! Client → server frames of API.md, parsed and answered by calling the chat domain.

use serde::Deserialize;
use uuid::Uuid;

use super::{
    presence::Following,
    sending::{self, SendFrame},
};
use crate::{
    auth::Actor,
    chat::{
        conversations::{self, Opened},
        events::{event_types, Event},
        presence::{self, MAX_INTEREST},
        receipts, typing,
    },
    client::RequestMeta,
    denials::{self, Via},
    domain::Seq,
    error::{Code, Error},
    limits::Action,
    state::AppState,
};

/// Client → server frames; `ClientFrameType` names their `type`s as data.
#[derive(Deserialize, strum::EnumDiscriminants)]
#[serde(tag = "type", rename_all = "snake_case")]
#[strum_discriminants(
    name(ClientFrameType),
    derive(strum::EnumIter, strum::IntoStaticStr),
    strum(serialize_all = "snake_case")
)]
enum ClientFrame {
    Ping,
    Typing { conversation_id: Uuid },
    Ack { conversation_id: Uuid, seq: Seq },
    Read { conversation_id: Uuid, seq: Seq },
    PresenceSubscribe { user_ids: Vec<Uuid> },
    Open { conversation_id: Option<Uuid> },
    Send(SendFrame),
}

impl ClientFrame {
    /// The frame's `type` and the conversation it acts on (for the audit of a refusal).
    fn describe(&self) -> (&'static str, Option<Uuid>) {
        let conversation = match self {
            ClientFrame::Typing { conversation_id }
            | ClientFrame::Ack { conversation_id, .. }
            | ClientFrame::Read { conversation_id, .. } => Some(*conversation_id),
            ClientFrame::Open { conversation_id } => *conversation_id,
            ClientFrame::Send(send) => Some(send.conversation_id),
            ClientFrame::Ping | ClientFrame::PresenceSubscribe { .. } => None,
        };
        (ClientFrameType::from(self).into(), conversation)
    }
}

/// Every client frame's `type`.
pub(super) fn client_frame_types() -> impl Iterator<Item = &'static str> {
    use strum::IntoEnumIterator;
    ClientFrameType::iter().map(<&'static str>::from)
}

/// The frames the consumer itself writes, besides the chat events: `connected` when a
/// socket is live, and the answers to client frames.
pub(super) const REPLY_TYPES: &[&str] = &["connected", "pong", "error", "send_ok", "send_error"];

/// The `type` of a frame written to a socket, as a static name (a metric label); `other`
/// for a type this server does not know.
pub(super) fn sent_type(frame_type: &[u8]) -> &'static str {
    event_types()
        .chain(REPLY_TYPES.iter().copied())
        .find(|known| known.as_bytes() == frame_type)
        .unwrap_or("other")
}

/// The `type` of an event's JSON, read without parsing it: serde writes an internally
/// tagged enum's tag first (`{"type":"message_created",…`).
pub(super) fn event_type(json: &[u8]) -> &'static str {
    let name = json
        .strip_prefix(br#"{"type":""#)
        .and_then(|rest| rest.split(|&b| b == b'"').next())
        .unwrap_or_default();
    sent_type(name)
}

/// An `error` frame for the client.
pub(super) fn error(code: Code, message: &str) -> serde_json::Value {
    serde_json::json!({"type": "error", "error": code.as_str(), "message": message})
}

/// The answer to a frame refused because the socket's frame budget is spent: a
/// `send_error` for a send (so its client can match it), else an `error`.
pub(super) fn too_many(text: Option<&str>, wait: std::time::Duration) -> serde_json::Value {
    let message = "Too many frames; slow down.";
    match text.and_then(sending::addressed) {
        Some(client_id) => {
            let mut frame = sending::error(client_id.as_deref(), &Error::rate_limited(wait));
            frame["message"] = message.into();
            frame
        }
        None => error(Code::RateLimited, message),
    }
}

/// The reply to one client frame, if any. A malformed frame or a refused action gets an
/// `error` frame (`send_error` for a send); the socket stays open. A chat permission
/// refusal is audited first.
pub(super) async fn answer(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    text: &str,
    following: &mut Following,
) -> Option<serde_json::Value> {
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => frame,
        Err(err) => return Some(error(Code::InvalidFrame, &err.to_string())),
    };
    let (kind, conversation) = frame.describe();
    let (pool, realtime) = (&state.pool, &state.realtime);
    let mut answering_send = None;
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
        ClientFrame::Send(send) => match sending::send(state, actor, &send).await {
            Ok(message) => return Some(sending::ok(send.client_id(), message)),
            Err(err) => {
                answering_send = Some(send);
                Err(err)
            }
        },
    };
    let err = result.err()?;
    if denials::is_chat_denial(&err) {
        let target = conversation.map(|id| ("conversation", id));
        denials::record_chat(pool, &state.limits, actor, meta, &err, target, Via::Frame(kind)).await;
    }
    // `answer` logs an internal cause and keeps it from the client.
    Some(match answering_send {
        Some(send) => sending::error(send.client_id(), &err),
        None => error(err.code(), &err.answer().message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_events_type_is_read_from_its_first_field() {
        let event = Event::PresenceBatch { changes: Vec::new() };
        assert_eq!(event_type(&serde_json::to_vec(&event).unwrap()), "presence_batch");
        assert_eq!(event_type(br#"{"type":"surprise"}"#), "other");
        assert_eq!(event_type(b"[]"), "other");
        assert_eq!(sent_type(b"pong"), "pong");
    }
}
