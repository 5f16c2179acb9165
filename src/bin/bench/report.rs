//! Figures from what the sockets received and what the sends answered: printed as lines
//! a person reads, then one JSON line per scenario for scripts.

use std::{
    collections::{BTreeMap, HashSet},
    time::Duration,
};

use serde_json::{json, Map, Value};

use crate::{
    sending::{Outcome, Sent},
    sockets::{Sockets, Tally, PRESENCE_KINDS},
};

/// One scenario's figures, in the order they were added.
pub struct Report {
    scenario: &'static str,
    lines: Vec<String>,
    json: Map<String, Value>,
}

impl Report {
    pub fn new(scenario: &'static str, params: Value) -> Report {
        let mut json = Map::new();
        json.insert("scenario".into(), scenario.into());
        json.insert("params".into(), params);
        Report {
            scenario,
            lines: Vec::new(),
            json,
        }
    }

    pub fn line(&mut self, label: &str, text: String) {
        self.lines.push(format!("  {label:<27}{text}"));
    }

    pub fn field(&mut self, key: &str, value: Value) {
        self.json.insert(key.into(), value);
    }

    pub fn print(self) {
        println!("== {}", self.scenario);
        for line in &self.lines {
            println!("{line}");
        }
        println!("{}", Value::Object(self.json));
    }

    /// How many sockets opened, how fast, and why the others did not.
    pub fn opened(&mut self, sockets: &Sockets) {
        let failed: usize = sockets.failed.values().sum();
        let mut text = format!(
            "{} opened in {:.1} s",
            sockets.readers.len(),
            sockets.opened_in.as_secs_f64()
        );
        if failed > 0 {
            text += &format!(", {failed} failed: {:?}", sockets.failed);
        }
        self.line("sockets", text);
        self.field(
            "sockets",
            json!({"opened": sockets.readers.len(), "open_seconds": sockets.opened_in.as_secs_f64(), "failed": failed}),
        );
    }

    /// Sends answered, refused, timed out; send latency; achieved rate against `target`.
    pub fn sends(&mut self, sent: &[Sent], started: Duration, target: Option<f64>) {
        let mut answered = Vec::new();
        let (mut refused, mut timed_out, mut failed) = (BTreeMap::<u16, usize>::new(), 0, 0);
        for s in sent {
            match s.outcome {
                Outcome::Answered(latency) => answered.push(latency),
                Outcome::Refused(status) => *refused.entry(status).or_default() += 1,
                Outcome::TimedOut => timed_out += 1,
                Outcome::Failed => failed += 1,
            }
        }
        let last = sent.iter().map(|s| s.finished).max().unwrap_or(started);
        let rate = answered.len() as f64 / last.saturating_sub(started).as_secs_f64().max(1e-3);
        self.line(
            "sends",
            format!(
                "{} sent: {} answered, {} timed out, {} failed, refused {:?}",
                sent.len(),
                answered.len(),
                timed_out,
                failed,
                refused
            ),
        );
        let achieved = match target {
            Some(target) => format!("{rate:.0} msg/s answered (target {target:.0})"),
            None => format!("{rate:.0} msg/s answered"),
        };
        self.line("rate", achieved);
        let by_second = p99_by_second(sent, started);
        self.line(
            "send p99 by second",
            by_second
                .iter()
                .map(|p| format!("{p:.0}"))
                .collect::<Vec<_>>()
                .join(" ")
                + " ms",
        );
        let latency = Latency::of(answered);
        self.line("send latency", latency.text());
        self.field(
            "sends",
            json!({"sent": sent.len(), "answered": latency.count, "timed_out": timed_out, "failed": failed,
                   "refused": refused, "rate": rate.round(), "target_rate": target, "latency_ms": latency.json(),
                   "p99_by_second_ms": by_second}),
        );
    }

    /// Deliveries of the answered sends: each should reach `recipients` sockets once.
    /// Returns how many arrived.
    pub fn deliveries(&mut self, sent: &[Sent], recipients: usize, tallies: &[Tally]) -> usize {
        let ours: HashSet<u64> = sent.iter().map(|s| s.key).collect();
        let answered: HashSet<u64> = sent
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Answered(_)))
            .map(|s| s.key)
            .collect();
        let expected = answered.len() * recipients;
        let (mut received, mut duplicated, mut of_unanswered, mut earlier) = (0, 0, 0, 0);
        let mut latencies = Vec::new();
        for tally in tallies {
            for (key, &(count, latency)) in &tally.received {
                if answered.contains(key) {
                    received += 1;
                    duplicated += count as usize - 1;
                    latencies.push(latency);
                } else if ours.contains(key) {
                    of_unanswered += 1;
                } else {
                    earlier += 1;
                }
            }
        }
        let lost = expected.saturating_sub(received);
        self.line(
            "deliveries",
            format!("{received} of {expected} expected: {lost} lost, {duplicated} duplicated"),
        );
        self.line(
            "also delivered",
            format!("{of_unanswered} of sends that timed out or failed, {earlier} of earlier scenarios"),
        );
        let latency = Latency::of(latencies);
        self.line("delivery latency", latency.text());
        self.field(
            "deliveries",
            json!({"expected": expected, "received": received, "lost": lost, "duplicated": duplicated,
                   "of_unanswered_sends": of_unanswered, "of_earlier_scenarios": earlier, "latency_ms": latency.json()}),
        );
        received
    }

    /// Sockets the server closed, by close code.
    pub fn closed(&mut self, tallies: &[Tally]) {
        let mut by_code = BTreeMap::<&str, usize>::new();
        for code in tallies.iter().filter_map(|t| t.closed_by_server.as_deref()) {
            *by_code.entry(code).or_default() += 1;
        }
        self.line(
            "closed by the server",
            format!("{by_code:?} of {} sockets", tallies.len()),
        );
        self.field("closed_by_code", json!(by_code));
    }

    /// Presence frames per socket that arrived in the `seconds` after `from`.
    pub fn presence(&mut self, what: &str, tallies: &[Tally], from: Duration, seconds: u64) {
        let per_socket: Vec<[u32; 3]> = tallies.iter().map(|t| t.presence_between(from, seconds)).collect();
        let totals: Vec<u64> = (0..3).map(|i| per_socket.iter().map(|c| c[i] as u64).sum()).collect();
        let sums: Vec<u64> = per_socket.iter().map(|c| c.iter().map(|&n| n as u64).sum()).collect();
        let sockets = sums.len().max(1) as f64;
        let mean = sums.iter().sum::<u64>() as f64 / sockets;
        let max = sums.iter().copied().max().unwrap_or(0);
        let kinds: Vec<String> = PRESENCE_KINDS
            .iter()
            .zip(&totals)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        self.line(
            &format!("presence {what}"),
            format!(
                "{mean:.1} frames per socket (max {max}) in the {seconds} s after, over {} sockets; all: {}",
                sums.len(),
                kinds.join(", ")
            ),
        );
        let by_kind: Map<String, Value> = PRESENCE_KINDS
            .iter()
            .zip(&totals)
            .map(|(k, n)| (k.to_string(), json!(n)))
            .collect();
        self.field(
            &format!("presence_{}", what.replace(' ', "_")),
            json!({"per_socket_mean": (mean * 10.0).round() / 10.0, "per_socket_max": max, "sockets": sums.len(), "by_kind": by_kind}),
        );
    }

    /// Server CPU time per 1,000 deliveries over the measured span.
    pub fn cpu(&mut self, used: Option<Duration>, deliveries: usize) {
        let Some(used) = used.filter(|_| deliveries > 0) else {
            return;
        };
        let per_thousand = used.as_secs_f64() * 1000.0 / (deliveries.max(1) as f64 / 1000.0);
        self.line(
            "server CPU",
            format!("{:.2} s; {per_thousand:.1} ms per 1,000 deliveries", used.as_secs_f64()),
        );
        self.field(
            "server_cpu",
            json!({"seconds": used.as_secs_f64(), "ms_per_1000_deliveries": (per_thousand * 10.0).round() / 10.0}),
        );
    }
}

/// Percentiles of a set of latencies.
pub struct Latency {
    count: usize,
    p50: Duration,
    p90: Duration,
    pub p95: Duration,
    p99: Duration,
    max: Duration,
}

impl Latency {
    pub fn of(mut all: Vec<Duration>) -> Latency {
        all.sort_unstable();
        let at = |p: f64| {
            if all.is_empty() {
                return Duration::ZERO;
            }
            all[((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1]
        };
        Latency {
            count: all.len(),
            p50: at(0.50),
            p90: at(0.90),
            p95: at(0.95),
            p99: at(0.99),
            max: all.last().copied().unwrap_or_default(),
        }
    }

    pub fn text(&self) -> String {
        format!(
            "p50 {} ms, p90 {} ms, p95 {} ms, p99 {} ms, max {} ms ({} samples)",
            ms(self.p50),
            ms(self.p90),
            ms(self.p95),
            ms(self.p99),
            ms(self.max),
            self.count
        )
    }

    pub fn json(&self) -> Value {
        json!({"p50": ms(self.p50), "p90": ms(self.p90), "p95": ms(self.p95), "p99": ms(self.p99), "max": ms(self.max)})
    }
}

/// The p99 of the answered sends scheduled in each second after `started`: whether a
/// tail is a transient (the first second's cache misses and presence writes) or the
/// steady state.
fn p99_by_second(sent: &[Sent], started: Duration) -> Vec<f64> {
    let mut seconds: Vec<Vec<Duration>> = Vec::new();
    for s in sent {
        if let Outcome::Answered(latency) = s.outcome {
            let second = s.finished.saturating_sub(latency).saturating_sub(started).as_secs() as usize;
            if seconds.len() <= second {
                seconds.resize(second + 1, Vec::new());
            }
            seconds[second].push(latency);
        }
    }
    seconds.into_iter().map(|all| ms(Latency::of(all).p99)).collect()
}

/// Milliseconds with one decimal.
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}
