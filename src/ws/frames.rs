//! Client → server frames of API.md, parsed and answered by calling the chat domain.

use serde::Deserialize;
use uuid::Uuid;

use crate::{
    auth::Actor,
    chat::{receipts, typing},
    limits::Action,
    state::AppState,
};

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Ping,
    Typing { conversation_id: Uuid },
    Ack { conversation_id: Uuid, seq: i64 },
    Read { conversation_id: Uuid, seq: i64 },
}

/// An `error` frame for the client.
pub(super) fn error(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"type": "error", "error": code, "message": message})
}

/// The reply to one client frame, if any. A malformed frame or a refused action gets an
/// `error` frame; the socket stays open.
pub(super) async fn answer(state: &AppState, actor: &Actor, text: &str) -> Option<serde_json::Value> {
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => frame,
        Err(err) => return Some(error("invalid_frame", &err.to_string())),
    };
    let (pool, realtime) = (&state.pool, &state.realtime);
    let result = match frame {
        ClientFrame::Ping => return Some(serde_json::json!({"type": "pong"})),
        ClientFrame::Typing { conversation_id } => match state.limits.take(Action::Typing, actor, 1).await {
            Ok(()) => typing::typing(pool, realtime, actor, conversation_id).await,
            Err(limited) => Err(limited),
        },
        ClientFrame::Ack { conversation_id, seq } => {
            receipts::acknowledge(pool, realtime, actor, conversation_id, seq).await
        }
        ClientFrame::Read { conversation_id, seq } => {
            receipts::mark_read(pool, realtime, actor, conversation_id, Some(seq))
                .await
                .map(|_| ())
        }
    };
    result.err().map(|err| error(err.code(), &err.to_string()))
}
