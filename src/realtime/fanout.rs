//! One Redis message for an event to many groups. A message into a group of 1,000 members
//! is addressed to 1,000 user groups: one PUBLISH per group made Redis copy the payload
//! 1,000 times and every node parse 1,000 pub/sub messages, most of a delivery's CPU.
//! From `FANOUT_MIN` groups on, the layer publishes once to the fan-out channel, which
//! every node subscribes to before any of its listeners is live: the message names the
//! groups, and each node hands the envelope to its own listeners of them.
//!
//! Every node receives every such message, even one with no listener of its groups: the
//! cost moves from O(recipients) Redis messages to O(nodes) messages of O(groups) names,
//! which is cheaper for a large audience and not for a small one (a 1-to-1 message still
//! goes to its two user groups). Order is kept: a node reads all its channels over one
//! connection, in the order Redis ran the PUBLISHes.
//!
//! The message: the number of groups (u32), each group's length (u16) and name, then the
//! envelope's own wire bytes.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{envelope::Envelope, layer::Group};

/// Groups from which an event goes out as one fan-out message.
pub const FANOUT_MIN: usize = 16;

/// The channel's name after the layer's prefix; no group is named so (see `layer::Group`).
pub const FANOUT_CHANNEL: &str = "fanout";

/// The fan-out message of `envelope` for `groups`.
pub fn encode(groups: &[Group], envelope: &Envelope) -> Bytes {
    let names: usize = groups.iter().map(|g| g.len() + 2).sum();
    let mut buf = BytesMut::with_capacity(4 + names + envelope.as_wire().len());
    buf.put_u32(groups.len() as u32);
    for group in groups {
        buf.put_u16(group.len() as u16);
        buf.put_slice(group.as_bytes());
    }
    buf.put_slice(envelope.as_wire());
    buf.freeze()
}

/// The groups and the envelope of a fan-out message (the names borrowed from it, the
/// envelope sharing its bytes); `None` for anything else.
pub fn decode(message: &Bytes) -> Option<(Vec<&str>, Envelope)> {
    let mut rest: &[u8] = message;
    let count = rest.try_get_u32().ok()? as usize;
    // Each name costs at least its 2-byte length: a corrupt count cannot reserve much.
    let mut groups = Vec::with_capacity(count.min(rest.len() / 2));
    for _ in 0..count {
        let len = rest.try_get_u16().ok()? as usize;
        let name = rest.get(..len)?;
        groups.push(std::str::from_utf8(name).ok()?);
        rest = &rest[len..];
    }
    let envelope = Envelope::from_wire(message.slice(message.len() - rest.len()..));
    Some((groups, envelope))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::envelope::Delivery;

    #[test]
    fn a_fan_out_message_carries_its_groups_and_the_envelope_unchanged() {
        let groups: Vec<Group> = (0..FANOUT_MIN).map(|i| format!("user:{i}")).collect();
        let event = serde_json::json!({"type": "message_created", "text": "hé"});
        let envelope = Envelope::event(&event);
        let message = encode(&groups, &envelope);
        let (decoded, opened) = decode(&message).unwrap();
        assert_eq!(decoded, groups);
        assert_eq!(opened.as_wire(), envelope.as_wire());
        assert!(matches!(opened.open(), Some(Delivery::Event(_))));
    }

    #[test]
    fn a_truncated_or_foreign_message_is_refused() {
        let groups = vec!["user:1".to_string(), "user:2".to_string()];
        let whole = encode(&groups, &Envelope::event(&serde_json::json!({"type": "x"})));
        assert!(decode(&whole.slice(..9)).is_none(), "cut inside the second name");
        assert!(decode(&Bytes::from_static(b"\xff\xff\xff\xff")).is_none());
        assert!(decode(&Bytes::new()).is_none());
    }
}
