//! `history`: the closed-loop senders each read their conversation's newest page of
//! history (`?limit=50`) again and again for `--seconds`; pages per second and latency.
//! Run after `closed` (or `pairs`), which fill the conversations.

use std::time::{Duration, Instant};

use reqwest::header::COOKIE;
use serde_json::json;

use crate::Bench;

pub async fn history(b: &Bench) {
    let readers = b.shape.closed_senders.min(b.pair_urls.len());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(b.shape.seconds);
    let loops = (0..readers).map(|p| {
        let (url, user) = (format!("{}?limit=50", b.pair_urls[p]), &b.users[2 * p]);
        async move {
            let mut latencies = Vec::new();
            let mut failed = 0u64;
            while Instant::now() < deadline {
                let asked = Instant::now();
                let answered = match b.http.get(&url).header(COOKIE, user.cookie()).send().await {
                    Ok(resp) if resp.status().is_success() => resp.bytes().await.is_ok(),
                    _ => false,
                };
                match answered {
                    true => latencies.push(asked.elapsed()),
                    false => failed += 1,
                }
            }
            (latencies, failed)
        }
    });
    let results = futures_util::future::join_all(loops).await;
    let elapsed = started.elapsed().as_secs_f64();
    let failed: u64 = results.iter().map(|(_, f)| f).sum();
    let mut latencies: Vec<Duration> = results.into_iter().flat_map(|(l, _)| l).collect();
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let report = json!({
        "scenario": "history",
        "readers": readers,
        "pages": latencies.len(),
        "failed": failed,
        "pages_per_second": (latencies.len() as f64 / elapsed).round(),
        "p50_ms": at(0.5),
        "p95_ms": at(0.95),
    });
    println!("{report}");
}
