//! The node-local registry of sockets: which local listeners are in which group.
//! Sharded by group name so that dispatching to one group never waits on another's lock.
//! The hub tells the channel layer when a group gains its first local listener or loses
//! its last, so a Redis-backed node subscribes only to groups it has sockets for.

use std::{
    collections::HashMap,
    hash::{Hash, Hasher},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use tokio::sync::{mpsc, Notify};

use super::{
    envelope::{Delivery, Envelope},
    layer::{ChannelLayer, Group},
};

const SHARDS: usize = 16;

/// The listeners of the groups that hash to one shard.
type Shard = Mutex<HashMap<Group, Vec<Arc<Listener>>>>;

/// One socket's mailbox: a bounded queue, and a flag raised when the queue overflowed
/// (the socket then closes with 1013 instead of growing without bound).
pub struct Listener {
    id: u64,
    tx: mpsc::Sender<Delivery>,
    overflowed: AtomicBool,
    wake: Notify,
}

impl Listener {
    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Relaxed)
    }

    /// Resolves when the listener overflowed.
    pub async fn overflow(&self) {
        while !self.overflowed() {
            self.wake.notified().await;
        }
    }
}

pub struct Hub {
    shards: Box<[Shard]>,
    layer: Arc<dyn ChannelLayer>,
    next_id: AtomicU64,
}

impl Hub {
    pub fn new(layer: Arc<dyn ChannelLayer>) -> Hub {
        Hub {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            layer,
            next_id: AtomicU64::new(1),
        }
    }

    pub fn layer(&self) -> &Arc<dyn ChannelLayer> {
        &self.layer
    }

    fn shard(&self, group: &str) -> &Shard {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        group.hash(&mut hasher);
        &self.shards[hasher.finish() as usize % SHARDS]
    }

    /// A new listener with a queue of `capacity` deliveries, in `groups`.
    pub fn join(self: &Arc<Self>, groups: Vec<Group>, capacity: usize) -> (Subscription, mpsc::Receiver<Delivery>) {
        let (tx, rx) = mpsc::channel(capacity);
        let listener = Arc::new(Listener {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            tx,
            overflowed: AtomicBool::new(false),
            wake: Notify::new(),
        });
        for group in &groups {
            let mut shard = self.shard(group).lock().expect("hub shard");
            let listeners = shard.entry(group.clone()).or_default();
            if listeners.is_empty() {
                // Under the shard lock, so add/discard reach the layer in the order they happen.
                self.layer.group_add(group);
            }
            listeners.push(listener.clone());
        }
        (
            Subscription {
                hub: self.clone(),
                groups,
                listener,
            },
            rx,
        )
    }

    fn leave(&self, groups: &[Group], id: u64) {
        for group in groups {
            let mut shard = self.shard(group).lock().expect("hub shard");
            if let Some(listeners) = shard.get_mut(group) {
                listeners.retain(|l| l.id != id);
                if listeners.is_empty() {
                    shard.remove(group);
                    self.layer.group_discard(group);
                }
            }
        }
    }

    /// Hands an envelope to every local listener of `group`. Never blocks: a full queue
    /// marks its listener overflowed.
    pub fn dispatch(&self, group: &str, envelope: &Envelope) {
        let Some(delivery) = envelope.open() else {
            tracing::warn!(group, "dropping an undecodable channel layer message");
            return;
        };
        let shard = self.shard(group).lock().expect("hub shard");
        for listener in shard.get(group).into_iter().flatten() {
            if let Err(mpsc::error::TrySendError::Full(_)) = listener.tx.try_send(delivery.clone()) {
                listener.overflowed.store(true, Ordering::Relaxed);
                listener.wake.notify_one();
            }
        }
    }

    /// Every group with a local listener (to resubscribe after a reconnect).
    pub fn groups(&self) -> Vec<Group> {
        self.shards
            .iter()
            .flat_map(|shard| shard.lock().expect("hub shard").keys().cloned().collect::<Vec<_>>())
            .collect()
    }
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
    async fn a_full_queue_marks_its_listener_overflowed_and_spares_the_others() {
        let hub = hub();
        let (slow, _slow_inbox) = hub.join(vec!["g".into()], 2);
        let (fast, mut fast_inbox) = hub.join(vec!["g".into()], 8);
        for _ in 0..2 {
            hub.dispatch("g", &event());
            fast_inbox.recv().await.unwrap();
        }
        assert!(!slow.listener().overflowed());
        hub.dispatch("g", &event());
        assert!(slow.listener().overflowed(), "the third event did not fit");
        slow.listener().overflow().await;
        assert!(!fast.listener().overflowed());
        assert!(fast_inbox.recv().await.is_some());
    }

    #[tokio::test]
    async fn groups_exist_while_they_have_listeners() {
        let hub = hub();
        let (first, _a) = hub.join(vec!["user:1".into(), "tenant:1".into()], 4);
        let (second, _b) = hub.join(vec!["tenant:1".into()], 4);
        let mut groups = hub.groups();
        groups.sort();
        assert_eq!(groups, ["tenant:1", "user:1"]);
        drop(first);
        assert_eq!(hub.groups(), ["tenant:1"]);
        drop(second);
        assert!(hub.groups().is_empty());
    }
}
