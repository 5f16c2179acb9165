//! Telling the other nodes about an event this node could not publish. The node's own
//! listeners of its groups are marked at once (`Hub::missed`); the other nodes' sockets
//! in those groups would carry on with a gap. So the groups wait here, and a `missed`
//! marker is published to them, retried until the channel layer takes it: each node
//! then marks its listeners of those groups, whose sockets close with 1013 and whose
//! clients catch up. The marker names the node it comes from, which ignores it.
//!
//! A marker arrives after the gap it reports, maybe long after (it waits for the layer
//! to come back), so it names the time of the failure: a socket that joined later
//! opened after the gap, and its client caught up then. Nodes' clocks differ, so the
//! time is moved `CLOCK_SKEW_MS` later: a socket that joined that soon after the failure
//! closes too, needlessly, and its client reconnects. Groups that failed at different
//! times share the latest time. A node that stops with groups still waiting here takes
//! them with it. The set holds each group once, so it is bounded by the groups that
//! exist (one per user and per viewed conversation), not by the number of failed events.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use super::{
    envelope::Envelope,
    hub::now_ms,
    layer::{ChannelLayer, Group},
};

/// How far apart the nodes' clocks may be (NTP keeps them within milliseconds).
const CLOCK_SKEW_MS: u64 = 1_000;
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct Announcer {
    waiting: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    groups: BTreeSet<Group>,
    /// When the latest of their publishes failed, in ms since the Unix epoch.
    failed_ms: u64,
    /// Whether a task is publishing; it ends once nothing waits.
    announcing: bool,
}

impl Announcer {
    /// Queues `groups` for a `missed` marker from node `node`, and starts a task to publish
    /// it if none runs.
    pub fn announce(self: &Arc<Self>, node: u64, layer: &Arc<dyn ChannelLayer>, groups: &[Group]) {
        let mut waiting = self.waiting.lock().expect("announcer");
        waiting.groups.extend(groups.iter().cloned());
        waiting.failed_ms = now_ms();
        if !std::mem::replace(&mut waiting.announcing, true) {
            tokio::spawn(self.clone().publish(node, layer.clone()));
        }
    }

    async fn publish(self: Arc<Self>, node: u64, layer: Arc<dyn ChannelLayer>) {
        let mut pause = FIRST_PAUSE;
        loop {
            let (groups, failed_ms): (Vec<Group>, u64) = {
                let mut waiting = self.waiting.lock().expect("announcer");
                if waiting.groups.is_empty() {
                    waiting.announcing = false;
                    return;
                }
                (
                    std::mem::take(&mut waiting.groups).into_iter().collect(),
                    waiting.failed_ms,
                )
            };
            let marker = Envelope::missed(node, failed_ms + CLOCK_SKEW_MS);
            match layer.group_send(&groups, &marker).await {
                Ok(()) => {
                    tracing::info!(groups = groups.len(), "told every node of an event it missed");
                    pause = FIRST_PAUSE;
                }
                Err(err) => {
                    tracing::warn!(error = %err, groups = groups.len(), "could not yet tell the other nodes of a missed event");
                    self.waiting.lock().expect("announcer").groups.extend(groups);
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(LONGEST_PAUSE);
                }
            }
        }
    }
}
