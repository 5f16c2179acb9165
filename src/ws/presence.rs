//! What a socket follows of presence and how it hears of it. The interest (the default
//! one computed at connect, or the users of the last `presence_subscribe`) is a set of
//! presence groups the socket's listener is in; the changes that arrive are batched so
//! that the socket sends at most one presence frame per second, and fewer (one in 4 s)
//! while a storm of changes lasts. The socket's groups also hold the viewers' group of
//! the tenant-visible conversation it has opened without being a member, if any.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use tokio::time::Instant;
use uuid::Uuid;

use crate::{
    chat::events::{presence_frame, Event, PresenceChange},
    realtime::{
        hub::Subscription,
        layer::{presence_group, user_group, viewers_group, Group},
    },
};

/// At most one presence frame per socket in this time.
pub const BATCH_EVERY: Duration = Duration::from_secs(1);
/// While changes keep coming (a mass connect or disconnect), the spacing between frames
/// doubles up to this: a storm of any length costs a socket at most 5 frames in 10 s.
const STORM_EVERY: Duration = Duration::from_secs(4);

/// The socket's groups and the users it follows.
pub struct Following {
    pub subscription: Subscription,
    user_id: Uuid,
    interest: HashSet<Uuid>,
    /// The conversation the socket views without being a member.
    viewing: Option<Uuid>,
    pub batch: Batch,
}

/// The groups of a socket of `user_id` following `interest`: its own user group and the
/// presence group of each followed user.
pub fn groups(user_id: Uuid, interest: &HashSet<Uuid>) -> Vec<Group> {
    std::iter::once(user_group(user_id))
        .chain(interest.iter().copied().map(presence_group))
        .collect()
}

impl Following {
    pub fn new(subscription: Subscription, user_id: Uuid, interest: HashSet<Uuid>) -> Following {
        Following {
            subscription,
            user_id,
            interest,
            viewing: None,
            batch: Batch::default(),
        }
    }

    fn all_groups(&self, interest: &HashSet<Uuid>) -> Vec<Group> {
        let mut all = groups(self.user_id, interest);
        all.extend(self.viewing.map(viewers_group));
        all
    }

    /// The conversation the socket views without being a member, if any.
    pub fn viewing(&self) -> Option<Uuid> {
        self.viewing
    }

    /// Follows the events of `conversation` as a viewer (the socket's user is not a
    /// member of it), or of none; returns once the change is live.
    pub async fn view(&mut self, conversation: Option<Uuid>) {
        self.viewing = conversation;
        self.subscription.regroup(self.all_groups(&self.interest)).await;
    }

    /// Replaces the interest, returning once the new groups are live. Changes already
    /// batched are dropped: the `presence_state` that answers the subscription is newer
    /// than they are.
    pub async fn replace(&mut self, interest: HashSet<Uuid>) {
        self.subscription.regroup(self.all_groups(&interest)).await;
        self.interest = interest;
        self.batch = Batch {
            last_sent: self.batch.last_sent,
            spacing: self.batch.spacing,
            ..Batch::default()
        };
    }

    /// A change from a presence group; one still queued from a group the socket has
    /// just left is ignored.
    pub fn changed(&mut self, user_id: Uuid, is_online: bool) {
        if self.interest.contains(&user_id) {
            self.batch.record(user_id, is_online, Instant::now());
        }
    }
}

/// Presence changes received but not yet sent to the client.
pub struct Batch {
    /// Per user: the latest state.
    pending: HashMap<Uuid, bool>,
    /// When the last frame went out.
    last_sent: Option<Instant>,
    /// When the pending changes are to be sent.
    due: Option<Instant>,
    /// Whether they came within `STORM_EVERY` of the last frame: part of a storm.
    busy: bool,
    /// The spacing after the last frame: `BATCH_EVERY`, doubling while a storm lasts.
    spacing: Duration,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            pending: HashMap::new(),
            last_sent: None,
            due: None,
            busy: false,
            spacing: BATCH_EVERY,
        }
    }
}

impl Batch {
    /// The first change after a quiet spell goes out at once; later ones wait for the
    /// spacing. Changes within 4 s of the last frame are a storm: the spacing grows.
    pub fn record(&mut self, user_id: Uuid, is_online: bool, now: Instant) {
        self.pending.insert(user_id, is_online);
        if self.due.is_none() {
            self.due = Some(self.last_sent.map_or(now, |sent| (sent + self.spacing).max(now)));
            self.busy = self.last_sent.is_some_and(|sent| now < sent + STORM_EVERY);
        }
    }

    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// The frame of the window, emptying the batch: the last state of every user that
    /// changed in it. A user who went offline and online again within the window is still
    /// sent (online): the client cannot be assumed to have seen the state before the
    /// window's first change (it may know the user from the REST list, where a polling
    /// client counts as online without a socket), so only the latest state is safe.
    pub fn take(&mut self, now: Instant) -> Option<Event> {
        self.due = None;
        let mut changes: Vec<PresenceChange> = self
            .pending
            .drain()
            .map(|(user_id, is_online)| PresenceChange { user_id, is_online })
            .collect();
        changes.sort_by_key(|change| change.user_id);
        let frame = presence_frame(changes);
        if frame.is_some() {
            self.last_sent = Some(now);
            self.spacing = if self.busy {
                (self.spacing * 2).min(STORM_EVERY)
            } else {
                BATCH_EVERY
            };
        }
        frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(frame: Option<Event>) -> Vec<(Uuid, bool)> {
        match frame {
            None => Vec::new(),
            Some(Event::Presence { user_id, is_online }) => vec![(user_id, is_online)],
            Some(Event::PresenceBatch { changes }) => changes.iter().map(|c| (c.user_id, c.is_online)).collect(),
            Some(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_first_change_is_due_at_once_and_later_ones_a_second_after_the_last_frame() {
        let mut batch = Batch::default();
        let (ana, bruno, carla) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let start = Instant::now();
        batch.record(ana, true, start);
        assert_eq!(batch.due(), Some(start));
        assert_eq!(changes(batch.take(start)), [(ana, true)]);
        assert_eq!(batch.due(), None);

        let soon = start + Duration::from_millis(100);
        batch.record(bruno, true, soon);
        batch.record(carla, true, soon);
        assert_eq!(batch.due(), Some(start + BATCH_EVERY), "one frame per second");
        let mut expected = vec![(bruno, true), (carla, true)];
        expected.sort();
        assert_eq!(changes(batch.take(start + BATCH_EVERY)), expected);

        let later = start + 10 * BATCH_EVERY;
        batch.record(ana, false, later);
        assert_eq!(batch.due(), Some(later), "after a quiet spell, at once again");
    }

    #[test]
    fn while_changes_keep_coming_the_frames_space_out_to_one_in_4_seconds() {
        let mut batch = Batch::default();
        let start = Instant::now();
        let mut now = start;
        let mut sent = Vec::new();
        // A change every 100 ms for 20 s, like a slow mass connect.
        while now < start + Duration::from_secs(20) {
            batch.record(Uuid::new_v4(), true, now);
            if batch.due().is_some_and(|due| due <= now) {
                batch.take(now).unwrap();
                sent.push(now.duration_since(start).as_millis());
            }
            now += Duration::from_millis(100);
        }
        assert_eq!(sent, [0, 1000, 3000, 7000, 11000, 15000, 19000]);

        // Changes 1.5 s apart, each of which could go out at once, are a storm too.
        let mut batch = Batch::default();
        let mut sent = Vec::new();
        let mut now = start;
        while now < start + Duration::from_secs(20) {
            batch.record(Uuid::new_v4(), true, now);
            while let Some(due) = batch.due().filter(|due| *due < now + Duration::from_millis(1500)) {
                batch.take(due).unwrap();
                sent.push(due.duration_since(start).as_millis());
            }
            now += Duration::from_millis(1500);
        }
        assert_eq!(sent, [0, 1500, 3500, 7500, 11500, 15500, 19500]);

        // Quiet again: the next change goes out at once, and the spacing is back to 1 s.
        let quiet = now + STORM_EVERY;
        batch.take(quiet);
        batch.record(Uuid::new_v4(), false, quiet + STORM_EVERY);
        assert_eq!(batch.due(), Some(quiet + STORM_EVERY));
        batch.take(quiet + STORM_EVERY).unwrap();
        batch.record(Uuid::new_v4(), false, quiet + STORM_EVERY);
        assert_eq!(batch.due(), Some(quiet + STORM_EVERY + BATCH_EVERY));
    }

    #[test]
    fn the_last_state_of_each_user_wins_even_after_a_round_trip() {
        let mut batch = Batch::default();
        let (ana, bruno) = (Uuid::new_v4(), Uuid::new_v4());
        let now = Instant::now();
        // A socket that opened and closed within the window while its user was online by
        // REST activity: the watcher's last word must be "offline", not silence.
        batch.record(ana, true, now);
        batch.record(ana, false, now);
        batch.record(bruno, true, now);
        batch.record(bruno, false, now);
        batch.record(bruno, true, now);
        let mut expected = vec![(ana, false), (bruno, true)];
        expected.sort();
        assert_eq!(changes(batch.take(now)), expected);
        assert!(batch.take(now).is_none(), "nothing left");
    }
}
