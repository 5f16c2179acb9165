//! What travels through the channel layer: opaque envelopes. An envelope is serialized
//! once per publish; every socket of every addressed user gets the same bytes. The
//! realtime layer never looks inside: what the JSON means (the chat events of API.md,
//! the control messages of the sockets) is defined by the layers above.
//!
//! On the wire of the channel layer a one-byte tag tells the two kinds apart, so a node
//! routes envelopes without parsing them.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

const EVENT_TAG: u8 = b'E';
const CONTROL_TAG: u8 = b'C';

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
        assert!(Envelope::from_wire(Bytes::from_static(b"junk")).open().is_none());
    }
}
