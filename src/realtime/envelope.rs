//! What travels through the channel layer: opaque envelopes. An envelope is serialized
//! once per publish; every socket of every addressed user gets the same bytes. The
//! realtime layer never looks inside: what the JSON means (the chat events of API.md,
//! the control messages of the sockets) is defined by the layers above.
//!
//! On the wire of the channel layer a one-byte tag tells the kinds apart, so a node
//! routes envelopes without parsing them. Presence changes are the one kind this layer
//! defines itself (a user id and a flag, 18 bytes): sockets batch them before anything
//! is rendered for the client. A `missed` marker, addressed to groups like any
//! envelope, tells every node that its listeners of those groups that joined before a
//! given time missed an event (one whose publish failed, `announce.rs`).

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use uuid::Uuid;

const EVENT_TAG: u8 = b'E';
const CONTROL_TAG: u8 = b'C';
const PRESENCE_TAG: u8 = b'P';
const MISSED_TAG: u8 = b'M';

/// One publish, ready for the wire.
#[derive(Debug, Clone)]
pub struct Envelope(Bytes);

impl Envelope {
    /// A frame for the client, forwarded as is.
    pub fn event(event: &impl Serialize) -> Envelope {
        Envelope::tagged(EVENT_TAG, &serde_json::to_vec(event).expect("events serialize"))
    }

    /// A message to the sockets themselves, never forwarded to the client.
    pub fn control(control: &impl Serialize) -> Envelope {
        Envelope::tagged(CONTROL_TAG, &serde_json::to_vec(control).expect("controls serialize"))
    }

    /// A user came online (`true`) or went offline, as a whole (not per socket).
    pub fn presence(user_id: Uuid, is_online: bool) -> Envelope {
        let mut buf = BytesMut::with_capacity(18);
        buf.put_u8(PRESENCE_TAG);
        buf.put_slice(user_id.as_bytes());
        buf.put_u8(u8::from(is_online));
        Envelope(buf.freeze())
    }

    /// From node `node`, to the groups an event was meant for, after its publish failed:
    /// their listeners on the other nodes that joined before `joined_before` (ms since
    /// the Unix epoch) missed it.
    pub fn missed(node: u64, joined_before: u64) -> Envelope {
        let mut buf = BytesMut::with_capacity(17);
        buf.put_u8(MISSED_TAG);
        buf.put_u64(node);
        buf.put_u64(joined_before);
        Envelope(buf.freeze())
    }

    /// The node and the time of a `missed` marker; `None` for any other envelope.
    pub fn missed_before(&self) -> Option<(u64, u64)> {
        match self.0.split_first() {
            Some((&MISSED_TAG, rest)) if rest.len() == 16 => {
                let (node, time) = rest.split_at(8);
                Some((
                    u64::from_be_bytes(node.try_into().ok()?),
                    u64::from_be_bytes(time.try_into().ok()?),
                ))
            }
            _ => None,
        }
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

    /// What a socket receives: the JSON of a client event or of a control message
    /// (shared, not copied). `None` for bytes that are neither.
    pub fn open(&self) -> Option<Delivery> {
        match self.0.first() {
            Some(&EVENT_TAG) => Some(Delivery::Event(self.0.slice(1..))),
            Some(&CONTROL_TAG) => Some(Delivery::Control(self.0.slice(1..))),
            Some(&PRESENCE_TAG) if self.0.len() == 18 => Some(Delivery::Presence {
                user_id: Uuid::from_slice(&self.0[1..17]).ok()?,
                is_online: self.0[17] == 1,
            }),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Delivery {
    /// JSON text of a client event.
    Event(Bytes),
    /// JSON of a control message, for the consumer to decode.
    Control(Bytes),
    /// A change of a user's presence, for the consumer to batch.
    Presence { user_id: Uuid, is_online: bool },
    /// Not from the wire: the hub began writing an event to the listener's outlet and the
    /// outlet kept the rest (`listener::Written::Part`); the consumer finishes it first.
    Flush,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_controls_survive_the_wire() {
        let event = serde_json::json!({"type": "presence", "is_online": true});
        let wire = Envelope::event(&event).as_wire().clone();
        match Envelope::from_wire(wire).open() {
            Some(Delivery::Event(json)) => {
                assert_eq!(serde_json::from_slice::<serde_json::Value>(&json).unwrap(), event);
            }
            other => panic!("{other:?}"),
        }
        let control = serde_json::json!({"control": "end_sessions"});
        let wire = Envelope::control(&control).as_wire().clone();
        match Envelope::from_wire(wire).open() {
            Some(Delivery::Control(json)) => {
                assert_eq!(serde_json::from_slice::<serde_json::Value>(&json).unwrap(), control);
            }
            other => panic!("{other:?}"),
        }
        let user_id = Uuid::new_v4();
        let wire = Envelope::presence(user_id, true).as_wire().clone();
        match Envelope::from_wire(wire).open() {
            Some(Delivery::Presence {
                user_id: id,
                is_online: true,
            }) => assert_eq!(id, user_id),
            other => panic!("{other:?}"),
        }
        let wire = Envelope::missed(7, 1_700_000_000_000).as_wire().clone();
        assert_eq!(Envelope::from_wire(wire).missed_before(), Some((7, 1_700_000_000_000)));
        assert_eq!(Envelope::event(&event).missed_before(), None);
        assert!(Envelope::from_wire(Bytes::from_static(b"junk")).open().is_none());
        assert!(Envelope::from_wire(Bytes::from_static(b"Pshort")).open().is_none());
    }
}
