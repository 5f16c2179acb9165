//! The server → client frames of API.md that the chat domain publishes after its
//! commits. Each is serialized once into a realtime envelope; the realtime layer
//! carries the bytes without knowing their shape.

use serde::Serialize;
use uuid::Uuid;

use super::views::{Conversation, Message, MessageStatus};
use crate::realtime::envelope::Envelope;

/// Server → client frames.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    MessageCreated {
        conversation_id: Uuid,
        message: Message,
    },
    MessageUpdated {
        conversation_id: Uuid,
        message: Message,
    },
    Typing {
        conversation_id: Uuid,
        user_id: Uuid,
        user_name: String,
    },
    /// The aggregated status of the recipient's own messages up to `seq` advanced.
    MessageStatus {
        conversation_id: Uuid,
        seq: i64,
        status: MessageStatus,
    },
    Read {
        conversation_id: Uuid,
        user_id: Uuid,
        seq: i64,
    },
    Presence {
        user_id: Uuid,
        is_online: bool,
    },
    ConversationUpdated {
        conversation: Conversation,
    },
}

impl Event {
    pub fn envelope(&self) -> Envelope {
        Envelope::event(self)
    }
}

/// How realtime presence announces a user coming online or going offline (wired in by
/// `lib.rs`, so presence needs no knowledge of the frames).
pub fn presence_envelope(user_id: Uuid, is_online: bool) -> Envelope {
    Event::Presence { user_id, is_online }.envelope()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::envelope::Delivery;

    #[test]
    fn a_presence_event_reaches_the_client_as_its_frame() {
        let user_id = Uuid::new_v4();
        match presence_envelope(user_id, true).open() {
            Some(Delivery::Event(json)) => {
                let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
                assert_eq!(
                    value,
                    serde_json::json!({"type": "presence", "user_id": user_id, "is_online": true})
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
