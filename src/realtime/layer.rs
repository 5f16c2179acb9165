//! The channel layer, in Django Channels' words: named groups, and `group_send` to
//! every consumer in a group on any node. `memory.rs` serves one node, `redis.rs` many.

use futures_util::future::BoxFuture;

use super::envelope::Envelope;

/// A group name: `user:{id}` (every socket of a user, the seed's `user_{id}`),
/// `presence:{id}` (every socket interested in the user's presence), `viewers:{id}` (every
/// socket that opened a conversation it is not a member of) or `nodes` (every node).
pub type Group = String;

pub fn user_group(user_id: uuid::Uuid) -> Group {
    format!("user:{user_id}")
}

pub fn presence_group(user_id: uuid::Uuid) -> Group {
    format!("presence:{user_id}")
}

pub fn viewers_group(conversation_id: uuid::Uuid) -> Group {
    format!("viewers:{conversation_id}")
}

/// Every node, sockets or not: for node-wide state such as caches to invalidate.
pub fn nodes_group() -> Group {
    "nodes".to_string()
}

/// Whether an ordered publish may go out when the layer cannot tell by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// After the stream's last published seq; on an unknown stream only if the
    /// predecessor is `settled` (long committed, or there is none).
    Wait { settled: bool },
    /// Now: the predecessor is given up on (its sender may have died before publishing).
    Force,
}

/// The result of an ordered publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordered {
    Published,
    /// An earlier seq of the same stream has not been published yet: try again shortly.
    NotYet,
}

pub trait ChannelLayer: Send + Sync + 'static {
    /// Sends `envelope` to every listener of each group, on every node.
    fn group_send<'a>(&'a self, groups: &'a [Group], envelope: &'a Envelope) -> BoxFuture<'a, Result<(), String>>;

    /// Like `group_send`, but in `seq` order per `stream` (a conversation) across all
    /// nodes: publishes only when `seq` directly follows the last published one; on a
    /// stream it does not know (new, or quiet for long), only when `turn` says the
    /// predecessor is settled; always when `turn` forces.
    fn group_send_ordered<'a>(
        &'a self,
        stream: &'a str,
        seq: i64,
        turn: Turn,
        groups: &'a [Group],
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<Ordered, String>>;

    /// A local listener joined `group`. Resolves once this node receives every event
    /// published to the group from then on (on Redis: the subscription is confirmed); a
    /// socket is live only then. Called for every listener, in the order listeners come
    /// and go, so the layer can count them.
    fn group_add(&self, group: &str) -> BoxFuture<'static, Result<(), String>>;

    /// A local listener of `group` left.
    fn group_discard(&self, group: &str);

    /// Whether the layer's backend answers (for readiness checks).
    fn ping(&self) -> BoxFuture<'_, Result<(), String>>;
}
