//! The in-memory channel layer and presence store: one node, no Redis — Django
//! Channels' `InMemoryChannelLayer`.

use std::{
    collections::{HashMap, HashSet},
    sync::{Mutex, Weak},
    time::{Duration, Instant},
};

use futures_util::future::BoxFuture;
use uuid::Uuid;

use super::{
    envelope::Envelope,
    hub::Hub,
    layer::{ChannelLayer, Group, Ordered, Turn},
    presence::{PresenceStore, REST_WINDOW},
};

/// How long an ordered stream's last seq is remembered once it goes quiet.
const STREAM_MEMORY: Duration = Duration::from_secs(600);

pub struct MemoryLayer {
    hub: Weak<Hub>,
    /// Last published seq per ordered stream.
    published: Mutex<HashMap<String, (i64, Instant)>>,
}

impl MemoryLayer {
    pub fn new(hub: Weak<Hub>) -> Self {
        MemoryLayer {
            hub,
            published: Mutex::default(),
        }
    }

    fn dispatch(&self, groups: &[Group], envelope: &Envelope) {
        if let Some(hub) = self.hub.upgrade() {
            let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
            hub.dispatch_to(&groups, envelope);
        }
    }
}

impl ChannelLayer for MemoryLayer {
    fn group_send<'a>(&'a self, groups: &'a [Group], envelope: &'a Envelope) -> BoxFuture<'a, Result<(), String>> {
        self.dispatch(groups, envelope);
        Box::pin(async { Ok(()) })
    }

    fn group_send_ordered<'a>(
        &'a self,
        stream: &'a str,
        seq: i64,
        turn: Turn,
        groups: &'a [Group],
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<Ordered, String>> {
        let now = Instant::now();
        let mut published = self.published.lock().expect("published lock");
        if published.len() > 10_000 {
            published.retain(|_, (_, at)| now.duration_since(*at) < STREAM_MEMORY);
        }
        let outcome = match (published.get(stream), turn) {
            (Some(&(last, _)), Turn::Wait { .. }) if seq > last + 1 => Ordered::NotYet,
            (None, Turn::Wait { settled: false }) => Ordered::NotYet,
            (last, _) => {
                if last.is_none_or(|&(last, _)| seq > last) {
                    published.insert(stream.to_string(), (seq, now));
                }
                // Dispatch while holding the lock: the next seq cannot overtake this one.
                self.dispatch(groups, envelope);
                Ordered::Published
            }
        };
        Box::pin(async move { Ok(outcome) })
    }

    /// Live at once: `dispatch` reaches every listener the hub holds.
    fn group_add(&self, _group: &str) -> BoxFuture<'static, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }

    fn group_discard(&self, _group: &str) {}

    fn ping(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// Presence of a single node: users with a socket here, and recent REST activity.
#[derive(Default)]
pub struct MemoryPresence {
    sockets: Mutex<HashMap<Uuid, Uuid>>,
    rest: Mutex<HashMap<Uuid, (Uuid, Instant)>>,
}

impl PresenceStore for MemoryPresence {
    fn connected(&self, tenant_id: Uuid, user_id: Uuid) -> BoxFuture<'_, Result<bool, String>> {
        let came_online = self
            .sockets
            .lock()
            .expect("presence lock")
            .insert(user_id, tenant_id)
            .is_none();
        Box::pin(async move { Ok(came_online) })
    }

    fn disconnected(&self, _tenant_id: Uuid, user_id: Uuid) -> BoxFuture<'_, Result<bool, String>> {
        let went_offline = self.sockets.lock().expect("presence lock").remove(&user_id).is_some();
        // REST activity from before the socket closed does not keep the user online.
        self.rest.lock().expect("presence lock").remove(&user_id);
        Box::pin(async move { Ok(went_offline) })
    }

    fn touched(&self, tenant_id: Uuid, user_id: Uuid) -> BoxFuture<'_, Result<(), String>> {
        let mut rest = self.rest.lock().expect("presence lock");
        let now = Instant::now();
        if rest.len() > 10_000 {
            rest.retain(|_, (_, at)| now.duration_since(*at) < REST_WINDOW);
        }
        rest.insert(user_id, (tenant_id, now));
        Box::pin(async { Ok(()) })
    }

    fn online(&self, tenant_id: Uuid) -> BoxFuture<'_, Result<HashSet<Uuid>, String>> {
        let mut online: HashSet<Uuid> = self
            .sockets
            .lock()
            .expect("presence lock")
            .iter()
            .filter(|(_, t)| **t == tenant_id)
            .map(|(u, _)| *u)
            .collect();
        let now = Instant::now();
        online.extend(
            self.rest
                .lock()
                .expect("presence lock")
                .iter()
                .filter(|(_, (t, at))| *t == tenant_id && now.duration_since(*at) < REST_WINDOW)
                .map(|(u, _)| *u),
        );
        Box::pin(async move { Ok(online) })
    }

    fn online_among<'a>(&'a self, tenant_id: Uuid, users: &'a [Uuid]) -> BoxFuture<'a, Result<HashSet<Uuid>, String>> {
        let sockets = self.sockets.lock().expect("presence lock");
        let rest = self.rest.lock().expect("presence lock");
        let now = Instant::now();
        let online = users
            .iter()
            .filter(|user| {
                sockets.get(user) == Some(&tenant_id)
                    || rest
                        .get(user)
                        .is_some_and(|(t, at)| *t == tenant_id && now.duration_since(*at) < REST_WINDOW)
            })
            .copied()
            .collect();
        Box::pin(async move { Ok(online) })
    }

    fn heartbeat(&self, _users: Vec<(Uuid, Uuid)>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}
