//! A short-lived, node-local cache of checked credentials: session key → (actor, CSRF
//! secret) and token digest → actor. Without it every authenticated request costs two
//! database round trips (the session row, the user row) before it does anything.
//!
//! Entries live a few seconds (at most `AUTH_CACHE_SECONDS`) and never past the session's own
//! expiry. Whatever ends or changes a user's credentials (logout, deactivation, a role
//! change, a revoked token, a replaced session) calls `forget_user`: this node drops the
//! user's entries at once and every other node when the channel layer delivers the
//! broadcast — the same path, and the same delay, as closing the user's sockets. Should a
//! broadcast be missed (a Redis outage), the entry still ends with its few seconds.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, Weak,
    },
    time::{Duration, Instant},
};

use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::Actor;
use crate::realtime::{envelope::Delivery, layer::nodes_group, Realtime};

/// Entries beyond this many make an insert sweep the expired ones first.
const SWEEP_ABOVE: usize = 50_000;
/// Broadcasts waiting for the listener; more mean it fell behind, and the cache is cleared.
const QUEUE: usize = 4096;
/// How long the listener waits before it tries to join again after the layer refused.
const REJOIN_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Session(String),
    Token(Vec<u8>),
}

struct Entry {
    actor: Actor,
    /// A session's CSRF secret (tokens have none).
    csrf: Option<String>,
    until: Instant,
}

/// What a node tells the others about credentials.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "control", rename_all = "snake_case")]
enum NodeControl {
    ForgetUser { user_id: Uuid },
}

pub struct CredentialCache {
    ttl: Duration,
    entries: Mutex<HashMap<Key, Entry>>,
    /// Bumped by every forget: a load that started before a forget may have read the
    /// old state, so it is not cached (see `Ticket`).
    generation: AtomicU64,
    /// Dropped with the cache, which ends its listener (and the listener's hold on the
    /// channel layer).
    _listening: Option<oneshot::Sender<()>>,
}

/// Taken before a database load; the result is cached only if nothing was forgotten since.
pub struct Ticket(u64);

impl CredentialCache {
    /// A cache whose entries live `ttl` (zero: nothing is cached). With `realtime`, it
    /// listens for other nodes' `forget_user` broadcasts for as long as it lives.
    pub fn new(ttl: Duration, realtime: Option<&Arc<Realtime>>) -> Arc<CredentialCache> {
        let realtime = realtime.filter(|_| !ttl.is_zero());
        let (listening, dropped) = match realtime {
            Some(_) => {
                let (listening, dropped) = oneshot::channel();
                (Some(listening), Some(dropped))
            }
            None => (None, None),
        };
        let cache = Arc::new(CredentialCache {
            ttl,
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
            _listening: listening,
        });
        if let (Some(realtime), Some(dropped)) = (realtime, dropped) {
            listen(Arc::downgrade(&cache), realtime.clone(), dropped);
        }
        cache
    }

    pub fn ticket(&self) -> Ticket {
        Ticket(self.generation.load(Ordering::Acquire))
    }

    /// The actor and CSRF secret of a session checked within the last seconds.
    pub fn session(&self, session_key: &str) -> Option<(Actor, String)> {
        let (actor, csrf) = self.get(&Key::Session(session_key.to_string()))?;
        Some((actor, csrf?))
    }

    /// The actor of a token (by its digest) checked within the last seconds.
    pub fn token(&self, digest: &[u8]) -> Option<Actor> {
        self.get(&Key::Token(digest.to_vec())).map(|(actor, _)| actor)
    }

    /// Remembers a session loaded after `ticket` was taken, at most until `expires`.
    pub fn put_session(&self, ticket: Ticket, session_key: &str, actor: Actor, csrf: String, expires: Instant) {
        self.put(
            ticket,
            Key::Session(session_key.to_string()),
            actor,
            Some(csrf),
            Some(expires),
        );
    }

    pub fn put_token(&self, ticket: Ticket, digest: &[u8], actor: Actor) {
        self.put(ticket, Key::Token(digest.to_vec()), actor, None, None);
    }

    fn get(&self, key: &Key) -> Option<(Actor, Option<String>)> {
        let entries = self.entries.lock().expect("credential cache lock");
        let entry = entries.get(key)?;
        (entry.until > Instant::now()).then(|| (entry.actor, entry.csrf.clone()))
    }

    fn put(&self, ticket: Ticket, key: Key, actor: Actor, csrf: Option<String>, expires: Option<Instant>) {
        if self.ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        // Between three quarters of the TTL and all of it, at random: users whose first
        // requests came in the same second would otherwise all come back to the database
        // in the same second, every TTL, for as long as they stay active.
        let lifetime = self.ttl.mul_f64(rand::rng().random_range(0.75..=1.0));
        let until = expires.map_or(now + lifetime, |at| at.min(now + lifetime));
        let mut entries = self.entries.lock().expect("credential cache lock");
        // Checked under the lock that `forget` takes too: no forget can slip in between.
        if self.generation.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        if entries.len() > SWEEP_ABOVE {
            entries.retain(|_, entry| entry.until > now);
        }
        entries.insert(key, Entry { actor, csrf, until });
    }

    /// Drops the user's entries here and on every other node. Call it after the change
    /// is committed, so that what any node loads next is the new state.
    pub async fn forget_user(&self, realtime: &Realtime, user_id: Uuid) {
        self.forget(Some(user_id));
        realtime.control_nodes(&NodeControl::ForgetUser { user_id }).await;
    }

    /// Drops the user's entries (`None`: every entry) on this node only.
    fn forget(&self, user_id: Option<Uuid>) {
        let mut entries = self.entries.lock().expect("credential cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        match user_id {
            Some(user_id) => entries.retain(|_, entry| entry.actor.user_id() != user_id),
            None => entries.clear(),
        }
    }
}

/// Applies the other nodes' broadcasts (and this node's own, harmlessly) until the cache
/// is dropped. Whatever was broadcast while the listener was not live (before it joined,
/// or when it missed a delivery) may be lost, so each time it (re)joins it clears the cache.
fn listen(cache: Weak<CredentialCache>, realtime: Arc<Realtime>, mut dropped: oneshot::Receiver<()>) {
    tokio::spawn(async move {
        loop {
            let joined = tokio::select! {
                _ = &mut dropped => return,
                joined = realtime.join(vec![nodes_group()], QUEUE) => joined,
            };
            let Some(live) = cache.upgrade() else { return };
            live.forget(None);
            drop(live);
            let subscription = match joined {
                Ok(joined) => joined,
                Err(err) => {
                    tracing::warn!(error = %err, "credential cache: cannot hear the other nodes; retrying");
                    tokio::select! {
                        _ = &mut dropped => return,
                        _ = tokio::time::sleep(REJOIN_PAUSE) => continue,
                    }
                }
            };
            loop {
                let delivery = tokio::select! {
                    _ = &mut dropped => return,
                    delivery = subscription.listener().next() => delivery,
                };
                let Some(cache) = cache.upgrade() else { return };
                match delivery {
                    Some(Delivery::Control(json)) => match serde_json::from_slice(&json) {
                        Ok(NodeControl::ForgetUser { user_id }) => cache.forget(Some(user_id)),
                        Err(err) => tracing::warn!(error = %err, "credential cache: unknown node control"),
                    },
                    Some(Delivery::Event(_) | Delivery::Presence { .. } | Delivery::Flush) => {}
                    None => {
                        tracing::warn!("credential cache: missed a broadcast of the other nodes; cleared");
                        break;
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn actor(user: u128) -> Actor {
        Actor::new(Uuid::from_u128(user), Uuid::nil(), Role::Write)
    }

    fn cache() -> Arc<CredentialCache> {
        CredentialCache::new(Duration::from_secs(60), None)
    }

    #[test]
    fn a_forgotten_user_is_asked_for_again_and_others_stay() {
        let cache = cache();
        let far = Instant::now() + Duration::from_secs(3600);
        cache.put_session(cache.ticket(), "a", actor(1), "csrf-a".into(), far);
        cache.put_session(cache.ticket(), "b", actor(2), "csrf-b".into(), far);
        cache.put_token(cache.ticket(), b"digest", actor(1));
        assert_eq!(cache.session("a").unwrap().1, "csrf-a");
        assert_eq!(cache.token(b"digest").unwrap().user_id(), Uuid::from_u128(1));
        cache.forget(Some(Uuid::from_u128(1)));
        assert!(cache.session("a").is_none());
        assert!(cache.token(b"digest").is_none());
        assert_eq!(cache.session("b").unwrap().0.user_id(), Uuid::from_u128(2));
    }

    #[test]
    fn a_load_that_raced_a_forget_is_not_cached() {
        let cache = cache();
        let ticket = cache.ticket();
        cache.forget(Some(Uuid::from_u128(1)));
        cache.put_session(
            ticket,
            "a",
            actor(1),
            "csrf".into(),
            Instant::now() + Duration::from_secs(60),
        );
        assert!(cache.session("a").is_none());
    }

    #[test]
    fn an_entry_ends_with_its_session_and_a_zero_ttl_caches_nothing() {
        let cache = cache();
        cache.put_session(cache.ticket(), "a", actor(1), "csrf".into(), Instant::now());
        assert!(cache.session("a").is_none(), "the session's expiry came first");
        let off = CredentialCache::new(Duration::ZERO, None);
        off.put_token(off.ticket(), b"d", actor(1));
        assert!(off.token(b"d").is_none());
    }
}
