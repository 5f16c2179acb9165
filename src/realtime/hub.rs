//! The node-local registry of sockets: which local listeners are in which group.
//! Sharded by group name so that dispatching to one group never waits on another's lock.
//! The hub tells the channel layer of every listener that joins or leaves a group, so a
//! Redis-backed node subscribes only to groups it has sockets for, and a listener counts
//! as joined only once the layer confirms it receives the group.
//!
//! No silent gap: a delivery that cannot be queued for a listener (its queue is full, or
//! the node's subscription lapsed) marks the listener as having missed events; its
//! socket then closes with 1013 and the client catches up.

use std::{
    collections::{HashMap, HashSet},
    hash::{Hash, Hasher},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use futures_util::{
    future::{try_join_all, BoxFuture},
    FutureExt,
};

use super::{
    envelope::Envelope,
    layer::{ChannelLayer, Group},
    listener::{Listener, Offered},
};
use crate::telemetry::metrics::EVENTS_DROPPED;

const SHARDS: usize = 16;

/// The listeners of the groups that hash to one shard.
type Shard = Mutex<HashMap<Group, Vec<Arc<Listener>>>>;

pub struct Hub {
    /// Tells this node's `missed` markers from the other nodes'.
    node_id: u64,
    shards: Box<[Shard]>,
    layer: Arc<dyn ChannelLayer>,
    next_id: AtomicU64,
}

impl Hub {
    pub fn new(layer: Arc<dyn ChannelLayer>) -> Hub {
        Hub {
            node_id: rand::random(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            layer,
            next_id: AtomicU64::new(1),
        }
    }

    pub fn layer(&self) -> &Arc<dyn ChannelLayer> {
        &self.layer
    }

    pub fn node_id(&self) -> u64 {
        self.node_id
    }

    fn shard(&self, group: &str) -> &Shard {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        group.hash(&mut hasher);
        &self.shards[hasher.finish() as usize % SHARDS]
    }

    /// A new listener with a queue of `capacity` deliveries, in `groups`; returns once the
    /// layer confirms it receives all of them (an error if it cannot: the listener left).
    pub async fn join(self: &Arc<Self>, groups: Vec<Group>, capacity: usize) -> Result<Subscription, String> {
        let listener = Arc::new(Listener::new(
            self.next_id.fetch_add(1, Ordering::Relaxed),
            now_ms(),
            capacity,
        ));
        let live = self.enter(&groups, &listener);
        let subscription = Subscription {
            hub: self.clone(),
            groups,
            listener,
        };
        try_join_all(live).await?;
        Ok(subscription)
    }

    /// Adds `listener` to `groups`; the futures resolve once the layer confirms each.
    fn enter(&self, groups: &[Group], listener: &Arc<Listener>) -> Vec<BoxFuture<'static, Result<(), String>>> {
        groups
            .iter()
            .map(|group| {
                let mut shard = self.shard(group).lock().expect("hub shard");
                // Under the shard lock, so adds and discards reach the layer in the order they happen.
                let live = self.layer.group_add(group);
                shard.entry(group.clone()).or_default().push(listener.clone());
                live
            })
            .collect()
    }

    fn leave(&self, groups: &[Group], id: u64) {
        for group in groups {
            let mut shard = self.shard(group).lock().expect("hub shard");
            if let Some(listeners) = shard.get_mut(group) {
                listeners.retain(|l| l.id != id);
                if listeners.is_empty() {
                    shard.remove(group);
                }
            }
            self.layer.group_discard(group);
        }
    }

    /// Hands an envelope to every local listener of `group`. Never blocks: a listener
    /// whose queue is full misses it, and is marked.
    pub fn dispatch(&self, group: &str, envelope: &Envelope) {
        self.dispatch_to(&[group], envelope);
    }

    /// `dispatch` to each of `groups`, the envelope opened once. Another node's `missed`
    /// marker marks the listeners of `groups` that joined before its time instead (this
    /// node's own marked its listeners when the publish failed).
    pub fn dispatch_to(&self, groups: &[&str], envelope: &Envelope) {
        if let Some((node, joined_before)) = envelope.missed_before() {
            if node != self.node_id {
                self.mark_missed(groups, joined_before);
            }
            return;
        }
        let Some(delivery) = envelope.open() else {
            tracing::warn!(groups = groups.len(), "dropping an undecodable channel layer message");
            return;
        };
        // Synchronous, so it never yields midway; but written through, every listener's
        // event is a socket write, and tokio's cooperative budget (128 resource operations
        // per task turn) would turn all writes after the 128th into queued deliveries and
        // task wake-ups.
        let offered = Offered::new(&delivery);
        let offer_all = async {
            for group in groups {
                let shard = self.shard(group).lock().expect("hub shard");
                for listener in shard.get(*group).into_iter().flatten() {
                    listener.offer(&offered);
                }
            }
        };
        let offered = tokio::task::coop::unconstrained(offer_all).now_or_never();
        debug_assert!(offered.is_some(), "offering awaits nothing");
    }

    /// Every local listener of `groups` missed an event (one that was never published).
    pub fn missed(&self, groups: &[Group]) {
        self.mark_missed(groups, u64::MAX);
    }

    fn mark_missed(&self, groups: &[impl AsRef<str>], joined_before: u64) {
        for group in groups.iter().map(AsRef::as_ref) {
            let shard = self.shard(group).lock().expect("hub shard");
            for listener in shard.get(group).into_iter().flatten() {
                if listener.joined_ms < joined_before {
                    metrics::counter!(EVENTS_DROPPED).increment(1);
                    listener.mark_missed();
                }
            }
        }
    }

    /// The node's subscriptions lapsed (Redis connection lost): whatever was published
    /// meanwhile never reached this node, so every listener may have missed events.
    pub fn all_missed(&self) {
        for shard in self.shards.iter() {
            for listener in shard.lock().expect("hub shard").values().flatten() {
                listener.mark_missed();
            }
        }
    }
}

/// The wall clock in ms since the Unix epoch: `missed` markers compare it across nodes.
pub fn now_ms() -> u64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since_epoch.map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// Membership of one listener in its groups; leaving is dropping it.
pub struct Subscription {
    hub: Arc<Hub>,
    groups: Vec<Group>,
    listener: Arc<Listener>,
}

impl Subscription {
    pub fn listener(&self) -> &Listener {
        &self.listener
    }

    /// Moves the listener into exactly `groups` (no duplicates): it joins the new ones
    /// before leaving the old ones, so a group in both never loses it, and returns once
    /// the layer confirms the new ones. If it cannot within `JOIN_WAIT`, the listener is
    /// marked as having missed events (its socket closes with 1013).
    pub async fn regroup(&mut self, groups: Vec<Group>) {
        let old: HashSet<&Group> = self.groups.iter().collect();
        let new: HashSet<&Group> = groups.iter().collect();
        let entering: Vec<Group> = groups.iter().filter(|g| !old.contains(g)).cloned().collect();
        let leaving: Vec<Group> = self.groups.iter().filter(|g| !new.contains(g)).cloned().collect();
        let live = self.hub.enter(&entering, &self.listener);
        self.hub.leave(&leaving, self.listener.id);
        self.groups = groups;
        // Bounded like joining: a socket must not hang here while Redis is away.
        let joined = tokio::time::timeout(super::JOIN_WAIT, try_join_all(live)).await;
        if !matches!(joined, Ok(Ok(_))) {
            tracing::warn!("a socket could not join its new groups in time");
            self.listener.mark_missed();
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.leave(&self.groups, self.listener.id);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Weak;

    use super::*;
    use crate::realtime::memory::MemoryLayer;

    fn hub() -> Arc<Hub> {
        Arc::new_cyclic(|hub: &Weak<Hub>| Hub::new(Arc::new(MemoryLayer::new(hub.clone()))))
    }

    fn event() -> Envelope {
        Envelope::event(&serde_json::json!({"type": "presence"}))
    }

    #[tokio::test]
    async fn a_full_queue_marks_its_listener_and_spares_the_others() {
        let hub = hub();
        let slow = hub.join(vec!["g".into()], 2).await.unwrap();
        let fast = hub.join(vec!["g".into()], 8).await.unwrap();
        for _ in 0..2 {
            hub.dispatch("g", &event());
            fast.listener().next().await.unwrap();
        }
        assert!(!slow.listener().has_missed());
        hub.dispatch("g", &event());
        assert!(slow.listener().has_missed(), "the third event did not fit");
        assert!(
            slow.listener().next().await.is_none(),
            "the queued events are not handed out after a gap"
        );
        assert!(!fast.listener().has_missed());
        assert!(fast.listener().next().await.is_some());
    }

    #[tokio::test]
    async fn an_unpublished_event_marks_its_groups_and_a_lapsed_subscription_every_listener() {
        let hub = hub();
        let first = hub.join(vec!["user:1".into(), "tenant:1".into()], 4).await.unwrap();
        let second = hub.join(vec!["tenant:1".into()], 4).await.unwrap();
        hub.missed(&["user:1".into()]);
        assert!(first.listener().has_missed() && !second.listener().has_missed());
        let earlier = hub.join(vec!["user:2".into()], 4).await.unwrap();
        let (joined, other_node) = (earlier.listener().joined_ms, hub.node_id() + 1);
        hub.dispatch("user:2", &Envelope::missed(other_node, joined));
        assert!(
            !earlier.listener().has_missed(),
            "a marker spares who joined after the failure"
        );
        hub.dispatch("user:2", &Envelope::missed(hub.node_id(), joined + 1));
        assert!(!earlier.listener().has_missed(), "a node's own marker changes nothing");
        hub.dispatch("user:2", &Envelope::missed(other_node, joined + 1));
        assert!(
            earlier.listener().has_missed(),
            "another node's marker counts as a local failure"
        );
        assert!(!second.listener().has_missed());
        hub.all_missed();
        assert!(second.listener().has_missed());
        drop(first);
        let third = hub.join(vec!["user:1".into()], 4).await.unwrap();
        assert!(
            !third.listener().has_missed(),
            "a listener that joins later missed nothing"
        );
    }

    #[tokio::test]
    async fn regrouping_keeps_the_shared_groups_and_leaves_the_rest() {
        let hub = hub();
        let mut socket = hub.join(vec!["user:1".into(), "presence:2".into()], 8).await.unwrap();
        socket.regroup(vec!["user:1".into(), "presence:3".into()]).await;
        hub.dispatch("presence:2", &event());
        hub.dispatch("presence:3", &event());
        hub.dispatch("user:1", &event());
        assert!(socket.listener().next().await.is_some());
        assert!(socket.listener().next().await.is_some());
        let more = futures_util::FutureExt::now_or_never(socket.listener().next());
        assert!(more.is_none(), "nothing from the group it left");
        assert!(!socket.listener().has_missed());
    }
}
