//! Who is online. A node counts its own sockets per user and tells the shared store only
//! about transitions (first socket of a user on this node, last one gone), so a user
//! with five tabs costs one store write, not five; `presence` events go to the tenant
//! only when the user as a whole comes online or goes offline.
//!
//! REST activity (a widget on the polling fallback) also counts as online for
//! `REST_WINDOW`, but only activity after the user's last socket closed. Such
//! REST-only transitions send no event: polling clients poll presence anyway.
//!
//! `last_seen` reaches PostgreSQL at most once a minute per user and node.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::future::BoxFuture;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    envelope::Envelope,
    layer::{tenant_group, ChannelLayer},
};

/// The envelope that tells a tenant's sockets a user came online (`true`) or went
/// offline; its shape belongs to the layer above.
pub type Announce = fn(user_id: Uuid, is_online: bool) -> Envelope;

pub const REST_WINDOW: Duration = Duration::from_secs(120);
/// How long a node's heartbeat vouches for its users; a crashed node's users age out after it.
pub const HEARTBEAT_TTL: Duration = Duration::from_secs(45);
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);
const LAST_SEEN_EVERY: Duration = Duration::from_secs(60);
const TOUCH_EVERY: Duration = Duration::from_secs(10);

/// Where presence is shared: this node's memory, or Redis for many nodes.
pub trait PresenceStore: Send + Sync + 'static {
    /// The node's first socket of the user; true when the user came online anywhere.
    fn connected(&self, tenant_id: Uuid, user_id: Uuid) -> BoxFuture<'_, Result<bool, String>>;
    /// The node's last socket of the user closed; true when the user is now offline everywhere.
    fn disconnected(&self, tenant_id: Uuid, user_id: Uuid) -> BoxFuture<'_, Result<bool, String>>;
    /// REST activity of the user.
    fn touched(&self, tenant_id: Uuid, user_id: Uuid) -> BoxFuture<'_, Result<(), String>>;
    /// The tenant's online users.
    fn online(&self, tenant_id: Uuid) -> BoxFuture<'_, Result<HashSet<Uuid>, String>>;
    /// Vouches again for the users (tenant, user) that have sockets on this node.
    fn heartbeat(&self, users: Vec<(Uuid, Uuid)>) -> BoxFuture<'_, Result<(), String>>;
}

pub struct Presence {
    store: Arc<dyn PresenceStore>,
    layer: Arc<dyn ChannelLayer>,
    announce: Announce,
    pool: PgPool,
    /// Sockets on this node per user, with the user's tenant.
    local: Mutex<HashMap<Uuid, (Uuid, u32)>>,
    /// Transitions of one user are applied to the store in order (striped locks).
    transitions: Box<[tokio::sync::Mutex<()>]>,
    last_seen_written: Mutex<HashMap<Uuid, Instant>>,
    last_touched: Mutex<HashMap<Uuid, Instant>>,
}

impl Presence {
    pub fn new(
        store: Arc<dyn PresenceStore>,
        layer: Arc<dyn ChannelLayer>,
        pool: PgPool,
        announce: Announce,
    ) -> Arc<Presence> {
        let presence = Arc::new(Presence {
            store,
            layer,
            announce,
            pool,
            local: Mutex::default(),
            transitions: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
            last_seen_written: Mutex::default(),
            last_touched: Mutex::default(),
        });
        tokio::spawn(heartbeat(Arc::downgrade(&presence)));
        presence
    }

    fn stripe(&self, user_id: Uuid) -> &tokio::sync::Mutex<()> {
        &self.transitions[(user_id.as_u128() % self.transitions.len() as u128) as usize]
    }

    pub async fn socket_opened(&self, tenant_id: Uuid, user_id: Uuid) {
        let _order = self.stripe(user_id).lock().await;
        let first_here = {
            let mut local = self.local.lock().expect("presence lock");
            let entry = local.entry(user_id).or_insert((tenant_id, 0));
            entry.1 += 1;
            entry.1 == 1
        };
        if first_here {
            match self.store.connected(tenant_id, user_id).await {
                Ok(true) => self.announce(tenant_id, user_id, true).await,
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "presence: could not record a connection"),
            }
        }
        self.write_last_seen(tenant_id, user_id).await;
    }

    pub async fn socket_closed(&self, tenant_id: Uuid, user_id: Uuid) {
        let _order = self.stripe(user_id).lock().await;
        let last_here = {
            let mut local = self.local.lock().expect("presence lock");
            match local.get_mut(&user_id) {
                Some(entry) if entry.1 > 1 => {
                    entry.1 -= 1;
                    false
                }
                Some(_) => {
                    local.remove(&user_id);
                    true
                }
                None => false,
            }
        };
        if last_here {
            // The next REST request must count again: only activity after this close keeps the user online.
            self.last_touched.lock().expect("presence lock").remove(&user_id);
            match self.store.disconnected(tenant_id, user_id).await {
                Ok(true) => self.announce(tenant_id, user_id, false).await,
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "presence: could not record a disconnection"),
            }
        }
        self.write_last_seen(tenant_id, user_id).await;
    }

    /// An authenticated REST request: at most one store write per user every 10 s.
    pub async fn touch(&self, tenant_id: Uuid, user_id: Uuid) {
        if !due(&self.last_touched, user_id, TOUCH_EVERY) {
            return;
        }
        if let Err(err) = self.store.touched(tenant_id, user_id).await {
            tracing::warn!(error = %err, "presence: could not record activity");
        }
        self.write_last_seen(tenant_id, user_id).await;
    }

    pub async fn online(&self, tenant_id: Uuid) -> HashSet<Uuid> {
        match self.store.online(tenant_id).await {
            Ok(online) => online,
            Err(err) => {
                // Without the shared store, this node's own sockets are all we know.
                tracing::warn!(error = %err, "presence: store unavailable, answering from this node");
                let local = self.local.lock().expect("presence lock");
                local
                    .iter()
                    .filter(|(_, (t, _))| *t == tenant_id)
                    .map(|(u, _)| *u)
                    .collect()
            }
        }
    }

    async fn announce(&self, tenant_id: Uuid, user_id: Uuid, is_online: bool) {
        let envelope = (self.announce)(user_id, is_online);
        if let Err(err) = self.layer.group_send(&[tenant_group(tenant_id)], &envelope).await {
            tracing::warn!(error = %err, "presence: could not publish");
        }
    }

    async fn write_last_seen(&self, tenant_id: Uuid, user_id: Uuid) {
        if !due(&self.last_seen_written, user_id, LAST_SEEN_EVERY) {
            return;
        }
        let result = sqlx::query("UPDATE users SET last_seen = now() WHERE id = $1 AND tenant_id = $2")
            .bind(user_id)
            .bind(tenant_id)
            .execute(&self.pool)
            .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, "presence: could not write last_seen");
        }
    }
}

/// True, and remembered, when `user_id` was not let through within the last `every`.
fn due(last: &Mutex<HashMap<Uuid, Instant>>, user_id: Uuid, every: Duration) -> bool {
    let now = Instant::now();
    let mut last = last.lock().expect("presence lock");
    if last.get(&user_id).is_some_and(|at| now.duration_since(*at) < every) {
        return false;
    }
    if last.len() > 10_000 {
        last.retain(|_, at| now.duration_since(*at) < every);
    }
    last.insert(user_id, now);
    true
}

async fn heartbeat(presence: std::sync::Weak<Presence>) {
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(presence) = presence.upgrade() else { return };
        let users: Vec<(Uuid, Uuid)> = {
            let local = presence.local.lock().expect("presence lock");
            local.iter().map(|(user, (tenant, _))| (*tenant, *user)).collect()
        };
        if let Err(err) = presence.store.heartbeat(users).await {
            tracing::warn!(error = %err, "presence: heartbeat failed");
        }
    }
}
