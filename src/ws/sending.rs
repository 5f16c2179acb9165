//! The `send` frame: a message sent over the socket, through the same chat send as
//! `POST …/messages/` (checks, idempotency, the per-user send budget), answered with
//! `send_ok` or `send_error` carrying the frame's `client_id`, the only way a client can
//! tell which of its sends an answer is about.

use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    auth::Actor,
    chat::{
        content::Metadata,
        messages::{self, NewMessage, Sent},
        views::Message,
    },
    domain::ClientId,
    error::{Error, Result},
    limits::Action,
    state::AppState,
};

/// `{"type":"send",…}` as the client wrote it; values are checked by the chat send.
#[derive(Deserialize)]
pub(super) struct SendFrame {
    pub(super) conversation_id: Uuid,
    content: String,
    /// Required here (unlike REST, where the response answers the request): without it an
    /// answer could not be matched to its send. `Option` so that a frame without one is
    /// answered with a `send_error` rather than a bare `invalid_frame`.
    client_id: Option<String>,
    /// API.md v2's optional fields, checked by the chat send as over REST.
    #[serde(default)]
    reply_to: Option<Uuid>,
    #[serde(default)]
    mentions: Vec<Uuid>,
    /// A JSON object; anything else is a `validation_error` naming `metadata` (as over
    /// REST), not an `invalid_frame`.
    #[serde(default)]
    metadata: Option<Value>,
}

impl SendFrame {
    /// The `client_id` the answer names, as the client wrote it.
    pub(super) fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    fn metadata(&self) -> Result<Option<Metadata>> {
        self.metadata
            .clone()
            .map(|value| {
                serde_json::from_value(value)
                    .map_err(|_| Error::validation("metadata", "metadata must be a JSON object"))
            })
            .transpose()
    }
}

/// Sends the frame's message: a new one, or the original when its `client_id` was sent
/// before (a retry) — `send_ok` either way, as REST answers 201 or 200.
pub(super) async fn send(state: &AppState, actor: &Actor, frame: &SendFrame) -> Result<Message> {
    let client_id = ClientId::parse_optional(frame.client_id())?
        .ok_or_else(|| Error::validation("client_id", "a send over the socket needs a client_id"))?;
    let metadata = frame.metadata()?;
    // The budget REST sends take too: one per user, however the user sends.
    state.limits.take(Action::Send, actor, 1).await?;
    let new = NewMessage {
        content: &frame.content,
        client_id: Some(client_id),
        files: None,
        reply_to: frame.reply_to,
        mentions: frame.mentions.clone(),
        metadata,
    };
    match messages::send(
        &state.pool,
        &state.realtime,
        &state.content_rules,
        state.webhooks.doorbell(),
        actor,
        frame.conversation_id,
        new,
    )
    .await?
    {
        Sent::Created(message) | Sent::Existing(message) => Ok(message),
    }
}

pub(super) fn ok(client_id: Option<&str>, message: Message) -> Value {
    json!({"type": "send_ok", "client_id": client_id, "message": message})
}

/// `send_error`: the REST error body (`error`, `message`, and `field`, `retry_after`…
/// where REST has them) with the frame's `client_id`.
pub(super) fn error(client_id: Option<&str>, err: &Error) -> Value {
    let mut frame = serde_json::to_value(err.answer()).expect("error bodies serialize");
    frame["type"] = "send_error".into();
    frame["client_id"] = client_id.into();
    frame
}

/// The `client_id` of a `send` frame, read without the rest of it: how a send refused
/// before it is parsed (the socket's frame budget is spent) is still answered with a
/// `send_error` its client can match. `None` for any other frame.
pub(super) fn addressed(text: &str) -> Option<Option<String>> {
    #[derive(Deserialize)]
    struct Addressed {
        #[serde(rename = "type")]
        kind: String,
        client_id: Option<String>,
    }
    let frame: Addressed = serde_json::from_str(text).ok()?;
    (frame.kind == "send").then_some(frame.client_id)
}
