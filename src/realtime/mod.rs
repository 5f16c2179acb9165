//! Realtime: the channel layer (memory or Redis), the node-local hub of sockets, and
//! presence. `src/chat` publishes here after its commits and the `/ws/chat/` consumer
//! (`src/ws`) listens here. This module carries opaque envelopes to groups; it knows
//! nothing of chat, HTTP, sessions or the application state.

pub mod envelope;
pub mod hub;
pub mod layer;
mod memory;
pub mod presence;
pub(crate) mod redis;

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use envelope::{Delivery, Envelope};
use hub::{Hub, Subscription};
use layer::{user_group, ChannelLayer, Group, Ordered, Turn};
use presence::{Announce, Presence, PresenceStore};

/// How long an event waits for its conversation's previous seq to be published before
/// it goes out anyway (the sender of that seq may have died between commit and publish;
/// clients fill such a gap with `after_seq`).
const ORDER_WAIT: Duration = Duration::from_secs(3);

pub struct Realtime {
    hub: Arc<Hub>,
    layer: Arc<dyn ChannelLayer>,
    pub presence: Arc<Presence>,
    shutdown: watch::Sender<bool>,
    /// Sockets open on this node, so shutdown can wait for their close frames.
    open_sockets: watch::Sender<usize>,
}

impl Realtime {
    /// The Redis channel layer when `redis_url` is set, otherwise the in-memory one.
    /// `announce` is the envelope presence sends to the tenant when a user comes online
    /// or goes offline.
    pub fn new(
        redis_url: Option<&str>,
        redis_prefix: &str,
        pool: PgPool,
        announce: Announce,
    ) -> Result<Arc<Realtime>, String> {
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
            presence: Presence::new(store, layer.clone(), pool, announce),
            hub,
            layer,
            shutdown: watch::channel(false).0,
            open_sockets: watch::channel(0).0,
        }))
    }

    /// `group_send` to every socket of `users`. A failure is logged, never returned: the
    /// change is committed, and clients catch up through REST.
    pub async fn send_to_users(&self, users: &[Uuid], envelope: &Envelope) {
        let groups: Vec<Group> = users.iter().copied().map(user_group).collect();
        if let Err(err) = self.layer.group_send(&groups, envelope).await {
            tracing::warn!(error = %err, "could not publish an event");
        }
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
        users: &[Uuid],
        envelope: &Envelope,
    ) {
        let wait = chrono::Duration::from_std(ORDER_WAIT).unwrap_or_default();
        let settled = seq == 1 || predecessor_created.is_some_and(|at| chrono::Utc::now() - at > wait);
        let groups: Vec<Group> = users.iter().copied().map(user_group).collect();
        let stream = conversation_id.to_string();
        let deadline = tokio::time::Instant::now() + ORDER_WAIT;
        let mut pause = Duration::from_millis(1);
        loop {
            let turn = if tokio::time::Instant::now() >= deadline {
                Turn::Force
            } else {
                Turn::Wait { settled }
            };
            match self
                .layer
                .group_send_ordered(&stream, seq, turn, &groups, envelope)
                .await
            {
                Ok(Ordered::Published) => return,
                Ok(Ordered::NotYet) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "could not publish a message event");
                    return;
                }
            }
        }
    }

    /// Tells every socket of `user_id` (on any node) something it acts on itself.
    pub async fn control(&self, user_id: Uuid, control: &impl serde::Serialize) {
        if let Err(err) = self
            .layer
            .group_send(&[user_group(user_id)], &Envelope::control(control))
            .await
        {
            tracing::warn!(error = %err, "could not publish a control message");
        }
    }

    /// A socket's mailbox in `groups`: a queue of `capacity` deliveries; leaving is
    /// dropping the subscription.
    pub fn join(&self, groups: Vec<Group>, capacity: usize) -> (Subscription, tokio::sync::mpsc::Receiver<Delivery>) {
        self.hub.join(groups, capacity)
    }

    /// Counts a socket as open until the returned guard is dropped, so shutdown can wait
    /// for its close frame.
    pub fn socket_opened(&self) -> OpenSocket {
        self.open_sockets.send_modify(|n| *n += 1);
        OpenSocket(self.open_sockets.clone())
    }

    /// Changes to true when the node shuts down.
    pub fn shutting_down(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
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
    }
}
