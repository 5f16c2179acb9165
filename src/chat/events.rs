//! The server → client frames of API.md that the chat domain publishes after its
//! commits. Each is serialized once into a realtime envelope; the realtime layer
//! carries the bytes without knowing their shape.

use serde::Serialize;
use uuid::Uuid;

use super::{
    presence::PresenceState,
    views::{Conversation, Message, MessageStatus},
};
use crate::{domain::SupportStatus, realtime::envelope::Envelope};

/// Server → client frames. `EventType` names their `type`s as data (for the AsyncAPI
/// document and the events-sent metric); both spell variants in snake_case.
#[derive(Debug, Clone, Serialize, strum::EnumDiscriminants)]
#[serde(tag = "type", rename_all = "snake_case")]
#[strum_discriminants(
    name(EventType),
    derive(strum::EnumIter, strum::IntoStaticStr),
    strum(serialize_all = "snake_case")
)]
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
    /// One user's presence changed (the only change of a socket's batch).
    Presence {
        user_id: Uuid,
        is_online: bool,
    },
    /// Several users' presence changed within one batch window.
    PresenceBatch {
        changes: Vec<PresenceChange>,
    },
    /// The answer to `presence_subscribe`.
    PresenceState {
        users: Vec<PresenceState>,
    },
    ConversationUpdated {
        conversation: Conversation,
    },
    /// The answer to `open`: the conversation the socket now follows (`null`: none), and
    /// whether the caller is a member of it (else the socket follows it as a viewer).
    Opened {
        conversation_id: Option<Uuid>,
        member: bool,
    },
    /// The conversation, its messages and files are gone.
    ConversationDeleted {
        conversation_id: Uuid,
    },
    /// A new message mentions the user (sent even when the user muted the conversation).
    Mention {
        conversation_id: Uuid,
        message: Message,
    },
    /// Someone added or removed an emoji on a message.
    Reaction {
        conversation_id: Uuid,
        message_id: Uuid,
        emoji: String,
        user_id: Uuid,
        /// `false` when the reaction was removed.
        added: bool,
    },
    /// A support conversation was opened, assigned, closed or reopened: to every agent
    /// and admin of the tenant, so their inboxes follow.
    SupportUpdated {
        conversation_id: Uuid,
        status: SupportStatus,
        /// The assigned agent (the last one, once closed); `null` when none.
        agent_id: Option<Uuid>,
        requester_id: Uuid,
    },
}

impl Event {
    pub fn envelope(&self) -> Envelope {
        Envelope::event(self)
    }
}

/// Every event's `type`.
pub fn event_types() -> impl Iterator<Item = &'static str> {
    use strum::IntoEnumIterator;
    EventType::iter().map(<&'static str>::from)
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct PresenceChange {
    pub user_id: Uuid,
    pub is_online: bool,
}

/// The frame for a socket's batch of presence changes: `presence` for one, `presence_batch`
/// for several, nothing for none.
pub fn presence_frame(changes: Vec<PresenceChange>) -> Option<Event> {
    match changes.as_slice() {
        [] => None,
        [one] => Some(Event::Presence {
            user_id: one.user_id,
            is_online: one.is_online,
        }),
        _ => Some(Event::PresenceBatch { changes }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_spelled_as_serialized() {
        let frame = presence_frame(vec![PresenceChange {
            user_id: Uuid::nil(),
            is_online: true,
        }])
        .unwrap();
        let serialized = serde_json::to_value(&frame).unwrap();
        assert_eq!(serialized["type"], <&str>::from(EventType::from(&frame)));
        let batch = Event::PresenceBatch { changes: Vec::new() };
        assert_eq!(
            serde_json::to_value(&batch).unwrap()["type"],
            <&str>::from(EventType::from(&batch))
        );
        assert!(event_types().any(|t| t == "message_created"));
        assert!(event_types().any(|t| t == "conversation_updated"));
    }

    #[test]
    fn one_change_is_a_presence_frame_and_several_a_batch() {
        let (ana, bruno) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(presence_frame(Vec::new()).is_none());
        let one = presence_frame(vec![PresenceChange {
            user_id: ana,
            is_online: true,
        }])
        .unwrap();
        assert_eq!(
            serde_json::to_value(one).unwrap(),
            serde_json::json!({"type": "presence", "user_id": ana, "is_online": true})
        );
        let two = presence_frame(vec![
            PresenceChange {
                user_id: ana,
                is_online: true,
            },
            PresenceChange {
                user_id: bruno,
                is_online: false,
            },
        ])
        .unwrap();
        assert_eq!(
            serde_json::to_value(two).unwrap(),
            serde_json::json!({"type": "presence_batch", "changes": [
                {"user_id": ana, "is_online": true},
                {"user_id": bruno, "is_online": false},
            ]})
        );
    }
}
