//! `memory`: the server's resident memory over the run (at start, after the logins, after
//! the load, 30 s after the load). `idle`: what idle sockets cost: `--idle-sockets` more
//! users of the same tenant, signed in through the server's session store in bulk, each
//! with one socket. Run `idle` on a fresh server (as scripts/bench.sh does): after a load,
//! freed memory the allocator keeps is reused by the sockets and hides their cost.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{report::Report, server::mib, setup, sockets::Sockets, Bench};

/// How long the server gets to give memory back after the load.
const AFTER_LOAD: Duration = Duration::from_secs(30);
/// How long idle sockets sit before the server's memory is read.
const IDLE_SETTLE: Duration = Duration::from_secs(5);

/// `checkpoints`: RSS readings taken before this scenario ran, in order.
pub async fn memory(b: &Bench, checkpoints: &[(&'static str, Option<u64>)]) {
    let mut report = Report::new("memory", json!({}));
    tokio::time::sleep(AFTER_LOAD).await;
    let mut readings = checkpoints.to_vec();
    readings.push(("30 s after load", b.server.rss_kib()));
    for (label, kib) in &readings {
        report.line(&format!("RSS {label}"), mib(*kib));
    }
    let rss: serde_json::Map<String, Value> = readings
        .iter()
        .map(|(label, kib)| (label.to_string(), json!(kib)))
        .collect();
    report.field("rss_kib", Value::Object(rss));
    report.print();
}

pub async fn idle(b: &Bench) {
    let mut report = Report::new("idle", json!({"sockets": b.shape.idle_sockets}));

    let count = b.shape.idle_sockets;
    let accounts = setup::create_users(&b.pool, &b.tenant, count).await;
    let users = setup::bulk_sessions(&b.pool, &accounts).await;
    let before = b.server.rss_kib();
    let origin = Instant::now();
    let everyone: Vec<usize> = (0..count).collect();
    let sockets = Sockets::open(&b.dialer, &users, &everyone, b.shape.connect_concurrency, origin).await;
    tokio::time::sleep(IDLE_SETTLE).await;
    let after = b.server.rss_kib();
    report.opened(&sockets);
    let open = sockets.readers.len();
    if let (Some(before), Some(after)) = (before, after) {
        let per_socket = after.saturating_sub(before) as f64 * 1024.0 / open.max(1) as f64;
        report.line(
            "idle sockets",
            format!(
                "RSS {} before, {} with {open} sockets open: {:.2} KB per socket",
                mib(Some(before)),
                mib(Some(after)),
                per_socket / 1000.0
            ),
        );
        report.field(
            "idle",
            json!({"sockets": open, "rss_before_kib": before, "rss_after_kib": after, "bytes_per_socket": per_socket.round()}),
        );
    }
    let since_open = origin.elapsed().as_secs() + 1;
    let tallies = sockets.close().await;
    report.presence("opening idle", &tallies, Duration::ZERO, since_open);
    report.closed(&tallies);
    report.print();
}
