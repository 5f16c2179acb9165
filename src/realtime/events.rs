//! What travels through the channel layer: events for clients (the server → client
//! frames of API.md) and control messages for the sockets themselves.
//!
//! An event is serialized once per publish; every socket of every addressed user gets
//! the same bytes. On the wire of the channel layer a one-byte tag tells the two kinds
//! apart, so a node routes client events without parsing them.

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::chat::views::{Conversation, Message, MessageStatus};

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

/// Messages to the sockets of a user, never forwarded to the client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "control", rename_all = "snake_case")]
pub enum Control {
    /// Close the sockets opened with this credential (a session ended, a token was
    /// revoked); `None` closes every socket of the user (deactivation).
    EndSessions { credential: Option<String> },
}

const EVENT_TAG: u8 = b'E';
const CONTROL_TAG: u8 = b'C';

/// One publish, ready for the wire.
#[derive(Debug, Clone)]
pub struct Envelope(Bytes);

impl Envelope {
    pub fn event(event: &Event) -> Envelope {
        Envelope::tagged(EVENT_TAG, &serde_json::to_vec(event).expect("events serialize"))
    }

    pub fn control(control: &Control) -> Envelope {
        Envelope::tagged(CONTROL_TAG, &serde_json::to_vec(control).expect("controls serialize"))
    }

    fn tagged(tag: u8, json: &[u8]) -> Envelope {
        let mut buf = BytesMut::with_capacity(json.len() + 1);
        buf.put_u8(tag);
        buf.put_slice(json);
        Envelope(buf.freeze())
    }

    pub fn from_wire(bytes: Bytes) -> Envelope {
        Envelope(bytes)
    }

    pub fn as_wire(&self) -> &Bytes {
        &self.0
    }

    /// What a socket receives: the JSON of a client event (shared, not copied), or a
    /// decoded control message. `None` for bytes that are neither.
    pub fn open(&self) -> Option<Delivery> {
        match self.0.first() {
            Some(&EVENT_TAG) => Some(Delivery::Event(self.0.slice(1..))),
            Some(&CONTROL_TAG) => serde_json::from_slice(&self.0[1..]).ok().map(Delivery::Control),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Delivery {
    /// JSON text of a client event.
    Event(Bytes),
    Control(Control),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_controls_survive_the_wire() {
        let user_id = Uuid::new_v4();
        let wire = Envelope::event(&Event::Presence {
            user_id,
            is_online: true,
        })
        .as_wire()
        .clone();
        match Envelope::from_wire(wire).open() {
            Some(Delivery::Event(json)) => {
                let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
                assert_eq!(
                    value,
                    serde_json::json!({"type": "presence", "user_id": user_id, "is_online": true})
                );
            }
            other => panic!("{other:?}"),
        }
        let control = Control::EndSessions {
            credential: Some("abc".into()),
        };
        let wire = Envelope::control(&control).as_wire().clone();
        assert!(matches!(Envelope::from_wire(wire).open(), Some(Delivery::Control(c)) if c == control));
        assert!(Envelope::from_wire(Bytes::from_static(b"junk")).open().is_none());
    }
}
