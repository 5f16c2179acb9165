//! The node's ONE Redis pub/sub connection: subscribed to exactly the groups it has local
//! listeners for, it routes every message to the hub.
//!
//! A listener is live only once Redis has confirmed its group's SUBSCRIBE: its socket
//! waits for that before `connected`, so nothing published after `connected` can miss
//! it. Listeners are counted per channel, and queued changes are applied as one batch
//! against the latest wanted state, so an UNSUBSCRIBE of a user who left and came back
//! (discard then add, both queued) is never sent: the channel stays subscribed. A burst
//! of 1,000 joins costs one SUBSCRIBE command, not 1,000 round trips.
//!
//! It is also subscribed to the fan-out channel (`fanout.rs`), first, on every
//! connection: an event to many groups arrives there once for the whole node.
//!
//! When the connection is lost, everything published until it is back never reached
//! this node: every listener is marked as having missed events (their sockets close with
//! 1013 and catch up), and the reconnected node subscribes everything wanted again.

use std::{
    collections::{hash_map::Entry, HashMap, HashSet},
    sync::Weak,
    time::Duration,
};

use bytes::Bytes;
use deadpool_redis::redis::{self, aio::PubSubSink};
use futures_util::{future::BoxFuture, FutureExt, StreamExt};
use tokio::sync::{mpsc, oneshot};

use super::{
    envelope::Envelope,
    fanout::{self, FANOUT_CHANNEL},
    hub::Hub,
};

/// Channels per SUBSCRIBE/UNSUBSCRIBE command.
const CHANNELS_PER_COMMAND: usize = 1000;

/// A listener came or went; an addition carries who to tell once the channel is live.
pub enum Change {
    Add(String, oneshot::Sender<()>),
    Discard(String),
}

/// The hub's side: changes go to the pub/sub task in the order they happen.
pub struct Changes(mpsc::UnboundedSender<Change>);

impl Changes {
    /// Resolves when `channel` is confirmed subscribed on this node.
    pub fn add(&self, channel: String) -> BoxFuture<'static, Result<(), String>> {
        let (ready, live) = oneshot::channel();
        let _ = self.0.send(Change::Add(channel, ready));
        live.map(|confirmed| confirmed.map_err(|_| "the channel layer stopped".to_string()))
            .boxed()
    }

    pub fn discard(&self, channel: String) {
        let _ = self.0.send(Change::Discard(channel));
    }
}

/// The pub/sub connection, to be started once the hub it feeds exists.
pub struct Subscriber {
    client: redis::Client,
    channel_prefix: String,
    changes: mpsc::UnboundedReceiver<Change>,
}

/// The two ends: `Changes` for the layer, the `Subscriber` to start.
pub fn subscriber(client: redis::Client, channel_prefix: String) -> (Changes, Subscriber) {
    let (tx, changes) = mpsc::unbounded_channel();
    (
        Changes(tx),
        Subscriber {
            client,
            channel_prefix,
            changes,
        },
    )
}

impl Subscriber {
    pub fn start(self, hub: Weak<Hub>) {
        tokio::spawn(run(self, hub));
    }
}

/// What the connection should be subscribed to, and what Redis confirmed.
#[derive(Default)]
struct Channels {
    /// Local listeners per channel.
    wanted: HashMap<String, usize>,
    /// Confirmed on the current connection.
    subscribed: HashSet<String>,
    /// Wanted, not yet confirmed.
    pending: HashSet<String>,
    /// Subscribed, and their last listener left (since the last sync).
    abandoned: HashSet<String>,
    /// Listeners waiting for their channel's confirmation.
    waiting: HashMap<String, Vec<oneshot::Sender<()>>>,
}

impl Channels {
    fn apply(&mut self, change: Change) {
        match change {
            Change::Add(channel, ready) => {
                *self.wanted.entry(channel.clone()).or_default() += 1;
                if self.subscribed.contains(&channel) {
                    let _ = ready.send(());
                } else {
                    self.pending.insert(channel.clone());
                    self.waiting.entry(channel).or_default().push(ready);
                }
            }
            Change::Discard(channel) => {
                if let Entry::Occupied(mut count) = self.wanted.entry(channel) {
                    *count.get_mut() -= 1;
                    if *count.get() == 0 {
                        let (channel, _) = count.remove_entry();
                        self.waiting.remove(&channel);
                        self.pending.remove(&channel);
                        if self.subscribed.contains(&channel) {
                            self.abandoned.insert(channel);
                        }
                    }
                }
            }
        }
    }

    /// Brings Redis to the wanted state: SUBSCRIBE what is pending (then tells its
    /// waiting listeners), UNSUBSCRIBE what is abandoned and still not wanted.
    async fn sync(&mut self, sink: &mut PubSubSink) -> redis::RedisResult<()> {
        let pending: Vec<String> = self.pending.drain().collect();
        for batch in pending.chunks(CHANNELS_PER_COMMAND) {
            sink.subscribe(batch).await?;
            for channel in batch {
                self.subscribed.insert(channel.clone());
                for ready in self.waiting.remove(channel).into_iter().flatten() {
                    let _ = ready.send(());
                }
            }
        }
        let abandoned: Vec<String> = self
            .abandoned
            .drain()
            .filter(|channel| !self.wanted.contains_key(channel))
            .collect();
        for batch in abandoned.chunks(CHANNELS_PER_COMMAND) {
            sink.unsubscribe(batch).await?;
            for channel in batch {
                self.subscribed.remove(channel);
            }
        }
        Ok(())
    }

    /// A new connection has no subscriptions: everything wanted is pending again.
    fn connection_lost(&mut self) {
        self.subscribed.clear();
        self.abandoned.clear();
        self.pending = self.wanted.keys().cloned().collect();
    }
}

enum Ended {
    ConnectionLost,
    AppGone,
}

/// Connects, serves, and after a lost connection reconnects with backoff.
async fn run(mut subscriber: Subscriber, hub: Weak<Hub>) {
    let mut channels = Channels::default();
    let mut backoff = Duration::from_millis(100);
    let mut was_connected = false;
    loop {
        if hub.strong_count() == 0 {
            return;
        }
        match subscriber.client.get_async_pubsub().await {
            Ok(pubsub) => {
                if was_connected {
                    tracing::info!(
                        channels = channels.pending.len(),
                        "redis channel layer reconnected; resubscribing"
                    );
                }
                was_connected = true;
                let (mut sink, mut stream) = pubsub.split();
                // Before any listener is told it is live, so that no fan-out message
                // published after its `connected` can pass this node by.
                let fanout = format!("{}{FANOUT_CHANNEL}", subscriber.channel_prefix);
                let subscribed = sink.subscribe(&fanout).await;
                while subscribed.is_ok() {
                    if channels.sync(&mut sink).await.is_err() {
                        break;
                    }
                    backoff = Duration::from_millis(100);
                    tokio::select! {
                        change = subscriber.changes.recv() => {
                            let Some(change) = change else { return };
                            channels.apply(change);
                            // Everything queued meanwhile goes into the same sync.
                            while let Ok(change) = subscriber.changes.try_recv() {
                                channels.apply(change);
                            }
                        }
                        message = stream.next() => {
                            let Some(message) = message else { break };
                            let Some(hub) = hub.upgrade() else { return };
                            let payload = Bytes::copy_from_slice(message.get_payload_bytes());
                            let channel = message.get_channel_name();
                            if channel == fanout {
                                match fanout::decode(&payload) {
                                    Some((groups, envelope)) => hub.dispatch_to(&groups, &envelope),
                                    None => tracing::warn!("dropping an undecodable fan-out message"),
                                }
                            } else if let Some(group) = channel.strip_prefix(&subscriber.channel_prefix) {
                                hub.dispatch(group, &Envelope::from_wire(payload));
                            }
                        }
                    }
                }
                match lost(&mut channels, &hub) {
                    Ended::AppGone => return,
                    Ended::ConnectionLost => tracing::warn!("redis channel layer connection lost; reconnecting"),
                }
            }
            Err(err) => tracing::warn!(error = %err, retry_in = ?backoff, "redis channel layer unavailable"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Every socket of the node may have missed what was published while it was not
/// subscribed: they close with 1013 and catch up.
fn lost(channels: &mut Channels, hub: &Weak<Hub>) -> Ended {
    channels.connection_lost();
    let Some(hub) = hub.upgrade() else {
        return Ended::AppGone;
    };
    hub.all_missed();
    metrics::counter!(crate::telemetry::metrics::CHANNEL_LAYER_RECONNECTS).increment(1);
    Ended::ConnectionLost
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(channels: &mut Channels, name: &str) -> oneshot::Receiver<()> {
        let (ready, live) = oneshot::channel();
        channels.apply(Change::Add(name.into(), ready));
        live
    }

    #[test]
    fn a_user_who_leaves_and_comes_back_in_one_batch_stays_subscribed() {
        let mut channels = Channels::default();
        channels.subscribed.insert("user:1".into());
        channels.wanted.insert("user:1".into(), 1);
        channels.apply(Change::Discard("user:1".into()));
        let mut live = add(&mut channels, "user:1");
        assert!(live.try_recv().is_ok(), "live at once: the channel never lapsed");
        assert!(channels.pending.is_empty());
        let abandoned: Vec<_> = channels
            .abandoned
            .iter()
            .filter(|c| !channels.wanted.contains_key(*c))
            .collect();
        assert!(abandoned.is_empty(), "no UNSUBSCRIBE for a channel wanted again");
    }

    #[test]
    fn a_new_channel_waits_for_its_confirmation_and_a_lost_connection_resubscribes_all() {
        let mut channels = Channels::default();
        let mut first = add(&mut channels, "user:1");
        let mut second = add(&mut channels, "user:1");
        assert!(first.try_recv().is_err() && second.try_recv().is_err());
        assert_eq!(channels.pending.len(), 1);
        channels.subscribed.insert("user:1".into());
        channels.pending.clear();
        channels.connection_lost();
        assert!(channels.pending.contains("user:1"));
        assert!(channels.subscribed.is_empty());
    }
}
