//! Realtime: the channel layer (memory or Redis), the node-local hub of sockets, and
//! presence. `src/chat` publishes here after its commits and the `/ws/chat/` consumer
//! (`src/ws`) listens here. This module carries opaque envelopes to groups; it knows
//! nothing of chat, HTTP, sessions or the application state.

mod announce;
pub mod envelope;
mod fanout;
pub mod hub;
pub mod layer;
pub mod listener;
mod memory;
pub mod presence;
mod pubsub;
pub(crate) mod redis;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::future::BoxFuture;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use announce::Announcer;
use envelope::Envelope;
use hub::{Hub, Subscription};
use layer::{nodes_group, user_group, viewers_group, ChannelLayer, Group, Ordered, Turn};
use presence::{Presence, PresenceStore};

use crate::telemetry::metrics::{PUBLISH_DURATION, SOCKETS_OPEN};

/// How long an event waits for its conversation's previous seq to be published before
/// it goes out anyway (the sender of that seq may have died between commit and publish;
/// clients fill such a gap with `after_seq`).
const ORDER_WAIT: Duration = Duration::from_secs(3);
/// How long a socket waits for its subscriptions to be confirmed before giving up.
const JOIN_WAIT: Duration = Duration::from_secs(10);

/// Who an event of one conversation goes to: every socket of `users` and, when
/// `viewers_of` names the conversation, every socket viewing it without being a member.
#[derive(Debug, Clone, Copy)]
pub struct Audience<'a> {
    pub users: &'a [Uuid],
    pub viewers_of: Option<Uuid>,
}

impl Audience<'_> {
    fn groups(&self) -> Vec<Group> {
        let users = self.users.iter().copied().map(user_group);
        users.chain(self.viewers_of.map(viewers_group)).collect()
    }
}

pub struct Realtime {
    hub: Arc<Hub>,
    layer: Arc<dyn ChannelLayer>,
    /// Groups whose event this node could not publish, until the other nodes know.
    announcer: Arc<Announcer>,
    pub presence: Arc<Presence>,
    shutdown: watch::Sender<bool>,
    /// Sockets open on this node, so shutdown can wait for their close frames.
    open_sockets: watch::Sender<usize>,
}

impl Realtime {
    /// The Redis channel layer when `redis_url` is set, otherwise the in-memory one.
    pub fn new(redis_url: Option<&str>, redis_prefix: &str, pool: PgPool) -> Result<Arc<Realtime>, String> {
        let (hub, store): (Arc<Hub>, Arc<dyn PresenceStore>) = match redis_url {
            Some(url) => {
                let (layer, store, subscriber) = redis::connect(url, redis_prefix)?;
                let hub = Arc::new(Hub::new(Arc::new(layer)));
                // Started only now: the subscriber must find the hub alive from its first poll.
                subscriber.start(Arc::downgrade(&hub));
                (hub, Arc::new(store))
            }
            None => (
                Arc::new_cyclic(|hub| Hub::new(Arc::new(memory::MemoryLayer::new(hub.clone())))),
                Arc::new(memory::MemoryPresence::default()),
            ),
        };
        let layer = hub.layer().clone();
        Ok(Arc::new(Realtime {
            presence: Presence::new(store, layer.clone(), pool),
            hub,
            layer,
            announcer: Arc::default(),
            shutdown: watch::channel(false).0,
            open_sockets: watch::channel(0).0,
        }))
    }

    /// `group_send` to every socket of `users`. A failure is logged, never returned: the
    /// change is committed, and clients catch up through REST.
    pub async fn send_to_users(&self, users: &[Uuid], envelope: &Envelope) {
        let audience = Audience {
            users,
            viewers_of: None,
        };
        self.send_to(audience, envelope).await;
    }

    /// `send_to_users`, to an audience that may include a conversation's viewers.
    pub async fn send_to(&self, audience: Audience<'_>, envelope: &Envelope) {
        let groups = audience.groups();
        if let Err(err) = timed(|| self.layer.group_send(&groups, envelope)).await {
            self.publish_failed(&groups, &err);
        }
    }

    /// An event that was not published: this node's sockets in `groups` close with 1013
    /// (their clients catch up) rather than carry on with a gap, and so do the other
    /// nodes' sockets in `groups`, once the layer takes a `missed` marker for them
    /// (`announce.rs`). A node whose Redis connection drops marks all its sockets itself.
    fn publish_failed(&self, groups: &[Group], err: &str) {
        tracing::warn!(error = %err, "could not publish an event");
        self.hub.missed(groups);
        self.announcer.announce(self.hub.node_id(), &self.layer, groups);
    }

    /// Like `send_to_users`, but events of one conversation leave in `seq` order, across
    /// every node: an event waits (briefly) for its predecessor to be published.
    /// `predecessor_created` is when message `seq - 1` was created, if the sender saw it
    /// committed; a predecessor older than `ORDER_WAIT` has long been published.
    pub async fn send_in_order(
        &self,
        conversation_id: Uuid,
        seq: i64,
        predecessor_created: Option<chrono::DateTime<chrono::Utc>>,
        audience: Audience<'_>,
        envelope: &Envelope,
    ) {
        let wait = chrono::Duration::from_std(ORDER_WAIT).unwrap_or_default();
        let settled = seq == 1 || predecessor_created.is_some_and(|at| chrono::Utc::now() - at > wait);
        let groups = audience.groups();
        let stream = conversation_id.to_string();
        let deadline = tokio::time::Instant::now() + ORDER_WAIT;
        let mut pause = Duration::from_millis(1);
        loop {
            let turn = if tokio::time::Instant::now() >= deadline {
                Turn::Force
            } else {
                Turn::Wait { settled }
            };
            match timed(|| self.layer.group_send_ordered(&stream, seq, turn, &groups, envelope)).await {
                Ok(Ordered::Published) => return,
                Ok(Ordered::NotYet) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(err) => {
                    self.publish_failed(&groups, &err);
                    return;
                }
            }
        }
    }

    /// Tells every socket of `user_id` (on any node) something it acts on itself.
    pub async fn control(&self, user_id: Uuid, control: &impl serde::Serialize) {
        self.publish_control(user_group(user_id), control).await;
    }

    /// Tells every node (its listeners of `layer::nodes_group`, not its sockets)
    /// something it acts on itself.
    pub async fn control_nodes(&self, control: &impl serde::Serialize) {
        self.publish_control(nodes_group(), control).await;
    }

    async fn publish_control(&self, group: Group, control: &impl serde::Serialize) {
        let groups = [group];
        let envelope = Envelope::control(control);
        if let Err(err) = timed(|| self.layer.group_send(&groups, &envelope)).await {
            // Closed with 1013, a socket that should have ended reconnects and is refused
            // then; a node's cache listener that missed one forgets everything.
            self.publish_failed(&groups, &err);
        }
    }

    /// A socket's mailbox in `groups`: a queue of `capacity` deliveries; leaving is
    /// dropping the subscription. Returns once the mailbox receives everything published
    /// to the groups from then on; an error when that cannot be had within `JOIN_WAIT`
    /// (Redis away): the socket should close with 1013, so its client tries again.
    pub async fn join(&self, groups: Vec<Group>, capacity: usize) -> Result<Subscription, String> {
        tokio::time::timeout(JOIN_WAIT, self.hub.join(groups, capacity))
            .await
            .map_err(|_| "the channel layer did not confirm the subscription in time".to_string())?
    }

    /// Counts a socket as open until the returned guard is dropped, so shutdown can wait
    /// for its close frame.
    pub fn socket_opened(&self) -> OpenSocket {
        self.open_sockets.send_modify(|n| *n += 1);
        metrics::gauge!(SOCKETS_OPEN).increment(1.0);
        OpenSocket(self.open_sockets.clone())
    }

    /// Changes to true when the node shuts down.
    pub fn shutting_down(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Whether `shutdown` was called: the node is draining and should get no new work.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Whether the channel layer's backend (Redis) answers.
    pub async fn ping(&self) -> Result<(), String> {
        self.layer.ping().await
    }

    /// Asks every socket of this node to close with 1012 (service restart), so clients
    /// reconnect to another node.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// `shutdown`, then waits (at most `grace`) until every socket has sent its close
    /// frame — the HTTP server does not wait for upgraded connections by itself.
    pub async fn shutdown_and_drain(&self, grace: Duration) {
        self.shutdown();
        let mut open = self.open_sockets.subscribe();
        if tokio::time::timeout(grace, open.wait_for(|n| *n == 0)).await.is_err() {
            tracing::warn!(
                open = *open.borrow(),
                "sockets still open after the shutdown grace period"
            );
        }
    }
}

/// One open socket, counted while alive.
pub struct OpenSocket(watch::Sender<usize>);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
        metrics::gauge!(SOCKETS_OPEN).decrement(1.0);
    }
}

/// One publish to the channel layer, timed from the call (the memory layer delivers
/// within it). An attempt of an ordered publish that must wait for its turn counts as one.
async fn timed<'a, T>(publish: impl FnOnce() -> BoxFuture<'a, T>) -> T {
    let started = Instant::now();
    let result = publish().await;
    metrics::histogram!(PUBLISH_DURATION).record(started.elapsed().as_secs_f64());
    result
}
