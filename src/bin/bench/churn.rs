//! `churn`: every member of the group online and one sender into the group, while further
//! users keep connecting and disconnecting — tabs opened and closed, phones waking up —
//! so the server works through presence changes and socket set-up in the middle of a
//! fan-out.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use serde_json::json;

use crate::{
    report::Report,
    scenarios::{answered, settle},
    sending,
    sockets::{Progress, Reader, Tally},
    Bench,
};

/// How long a churning user keeps its socket open: a random time in this range (ms).
const HOLD_MS: std::ops::Range<u64> = 200..1000;
/// And how long it stays away before it connects again.
const AWAY: Duration = Duration::from_millis(100);

/// What the churning users went through.
#[derive(Default)]
pub struct Cycles {
    pub opened: usize,
    pub failed: BTreeMap<String, usize>,
    pub tallies: Vec<Tally>,
}

pub async fn churn(b: &Bench) {
    let origin = Instant::now();
    let sockets = b.open(&b.members(), origin).await;
    let started = origin.elapsed();
    let deadline = started + Duration::from_secs(b.shape.seconds);
    let cpu = b.server.cpu_meter();
    let churning = b.churners().into_iter().map(|n| cycle(b, n, origin, deadline));
    let rate = b.shape.churn_rate;
    let total = (rate * b.shape.seconds as f64).round() as usize;
    let route = |_: usize| (b.group_url.as_str(), &b.users[0]);
    let rest = sending::Via::Rest(b.http.clone());
    let (sent, cycles) = tokio::join!(
        sending::open_loop(&rest, rate, total, origin, &route),
        futures_util::future::join_all(churning)
    );
    let recipients = sockets.readers.iter().filter(|r| r.user != 0).count();
    settle(&sockets, answered(&sent) * recipients).await;
    let cpu_used = cpu.used();
    let mut report = Report::new(
        "churn",
        json!({"members": b.shape.users, "churning": b.shape.churn_users, "rate": rate, "seconds": b.shape.seconds}),
    );
    report.opened(&sockets);
    let tallies = sockets.close().await;
    report.sends(&sent, started, Some(rate));
    let received = report.deliveries(&sent, recipients, &tallies);
    report.cpu(cpu_used, received);
    let seconds = b.shape.seconds;
    report.presence("during churn", &tallies, started, seconds);
    report.closed(&tallies);

    let mut all = Cycles::default();
    for c in cycles {
        all.opened += c.opened;
        for (reason, n) in c.failed {
            *all.failed.entry(reason).or_default() += n;
        }
        all.tallies.extend(c.tallies);
    }
    let mut closed = BTreeMap::<&str, usize>::new();
    for code in all.tallies.iter().filter_map(|t| t.closed_by_server.as_deref()) {
        *closed.entry(code).or_default() += 1;
    }
    report.line(
        "churning sockets",
        format!(
            "{} users opened {} sockets in {seconds} s; {} opens failed {:?}; closed by the server {closed:?}",
            b.shape.churn_users,
            all.opened,
            all.failed.values().sum::<usize>(),
            all.failed
        ),
    );
    report.field(
        "churning",
        json!({"opened": all.opened, "failed": all.failed, "closed_by_code": closed}),
    );
    report.print();
}

/// User `n` opens a socket, keeps it a while, closes it, and again, until `deadline`.
pub async fn cycle(b: &Bench, n: usize, origin: Instant, deadline: Duration) -> Cycles {
    let mut cycles = Cycles::default();
    while origin.elapsed() < deadline {
        match b.dialer.open(&b.users[n]).await {
            Ok(ws) => {
                cycles.opened += 1;
                let reader = Reader::spawn(ws, n, b.users[n].id, origin, Progress::unwatched());
                tokio::time::sleep(Duration::from_millis(rand::random_range(HOLD_MS))).await;
                cycles.tallies.push(reader.close().await);
            }
            Err(reason) => *cycles.failed.entry(reason).or_default() += 1,
        }
        tokio::time::sleep(AWAY).await;
    }
    cycles
}
