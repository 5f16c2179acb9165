//! The load scenarios. Each opens its users' sockets at once and starts at once (no pause
//! for the presence burst to pass), and closes them at the end without waiting for the
//! server to see them go: the next scenario starts while they are still going offline.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{
    report::Report,
    sending::{self, Outcome, Sent, Via},
    sockets::Sockets,
    Bench,
};

/// After the last send is answered, late deliveries are waited for at least this long,
/// longer while they keep coming (until `QUIET` passes without one), but not past `SETTLE_MAX`.
const SETTLE_MIN: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_secs(5);
const SETTLE_MAX: Duration = Duration::from_secs(30);
/// The window presence frames are counted in after a mass connect or disconnect.
const PRESENCE_WINDOW: u64 = 10;

/// All members of the group connect at once; 10 s later half of them disconnect at once.
pub async fn presence(b: &Bench) {
    let origin = Instant::now();
    let mut sockets = b.open(&b.members(), origin).await;
    let connect_window = sockets.opened_in.as_secs() + PRESENCE_WINDOW;
    tokio::time::sleep_until((origin + Duration::from_secs(connect_window)).into()).await;
    let mut report = Report::new("presence", json!({"users": b.shape.users}));
    report.opened(&sockets);
    let disconnect_at = origin.elapsed();
    let half = b.shape.users / 2;
    let mut tallies = sockets.close_where(|user| user >= half).await;
    tokio::time::sleep(Duration::from_secs(PRESENCE_WINDOW)).await;
    let stayed = sockets.close().await;
    report.presence("after disconnect", &stayed, disconnect_at, PRESENCE_WINDOW);
    tallies.extend(stayed);
    report.presence("after connect", &tallies, Duration::ZERO, connect_window);
    report.closed(&tallies);
    report.print();
}

/// One sender into the group of every member, at `--group-rate`.
pub async fn group(b: &Bench) {
    let rate = b.shape.group_rate;
    let route = |_: usize| (b.group_url.as_str(), &b.users[0]);
    let params =
        json!({"members": b.shape.users, "rate": rate, "seconds": b.shape.seconds, "via": b.shape.send_via.name()});
    open_loop(b, "group", params, &b.members(), rate, &route, Recipients::AllButSender).await
}

/// Every member online; senders in `--users / 2` pairs, round robin, at `--pairs-rate` in all.
pub async fn pairs(b: &Bench) {
    let rate = b.shape.pairs_rate;
    let pairs = b.pair_urls.len();
    let route = |i: usize| (b.pair_urls[i % pairs].as_str(), &b.users[2 * (i % pairs)]);
    let params = json!({"pairs": pairs, "online": b.shape.users, "rate": rate, "seconds": b.shape.seconds, "via": b.shape.send_via.name()});
    open_loop(b, "pairs", params, &b.members(), rate, &route, Recipients::Partner).await
}

/// `--closed-senders` pairs; each sender sends its next message when the last is answered.
pub async fn closed(b: &Bench) {
    let senders = b.shape.closed_senders.min(b.pair_urls.len());
    let users: Vec<usize> = (0..2 * senders).collect();
    let origin = Instant::now();
    let sockets = b.open(&users, origin).await;
    let loops: Vec<(String, &crate::setup::User)> = (0..senders)
        .map(|p| (b.pair_urls[p].clone(), &b.users[2 * p]))
        .collect();
    let started = origin.elapsed();
    let cpu = b.server.cpu_meter();
    let via = Via::new(b.shape.send_via, &b.http, &sockets);
    let sent = sending::closed_loop(&via, &loops, b.shape.seconds, origin).await;
    settle(&sockets, answered(&sent)).await;
    let cpu_used = cpu.used();
    let params = json!({"senders": senders, "seconds": b.shape.seconds, "via": b.shape.send_via.name()});
    let mut report = Report::new("closed", params);
    report.opened(&sockets);
    let tallies = sockets.close().await;
    report.sends(&sent, started, None);
    let received = report.deliveries(&sent, 1, &tallies);
    report.cpu(cpu_used, received);
    report.closed(&tallies);
    report.print();
}

/// Who should receive each message of a scenario.
enum Recipients {
    /// Every open socket but the sender's (user 0): a group of all of them.
    AllButSender,
    /// The other one of a pair.
    Partner,
}

/// The shape of `group` and `pairs`: open `users`' sockets, send at once, wait for the
/// deliveries, close.
async fn open_loop(
    b: &Bench,
    name: &'static str,
    params: Value,
    users: &[usize],
    rate: f64,
    route: sending::Route<'_>,
    recipients: Recipients,
) {
    let origin = Instant::now();
    let sockets = b.open(users, origin).await;
    let started = origin.elapsed();
    let cpu = b.server.cpu_meter();
    let total = (rate * b.shape.seconds as f64).round() as usize;
    let via = Via::new(b.shape.send_via, &b.http, &sockets);
    let sent = sending::open_loop(&via, rate, total, origin, route).await;
    let recipients = match recipients {
        Recipients::AllButSender => sockets.readers.iter().filter(|r| r.user != 0).count(),
        Recipients::Partner => 1,
    };
    settle(&sockets, answered(&sent) * recipients).await;
    let cpu_used = cpu.used();
    let mut report = Report::new(name, params);
    report.opened(&sockets);
    let tallies = sockets.close().await;
    report.sends(&sent, started, Some(rate));
    let received = report.deliveries(&sent, recipients, &tallies);
    report.cpu(cpu_used, received);
    report.presence("after connect", &tallies, Duration::ZERO, PRESENCE_WINDOW);
    report.closed(&tallies);
    report.print();
}

pub fn answered(sent: &[Sent]) -> usize {
    sent.iter()
        .filter(|s| matches!(s.outcome, Outcome::Answered(_)))
        .count()
}

/// Waits until `expected` deliveries arrived, or (after `SETTLE_MIN`) none came for
/// `QUIET`, or `SETTLE_MAX` passed.
pub async fn settle(sockets: &Sockets, expected: usize) {
    let start = Instant::now();
    let (mut seen, mut last_change) = (sockets.delivered(), start);
    while seen < expected && start.elapsed() < SETTLE_MAX {
        if start.elapsed() >= SETTLE_MIN && last_change.elapsed() >= QUIET {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = sockets.delivered();
        if now != seen {
            (seen, last_change) = (now, Instant::now());
        }
    }
}
