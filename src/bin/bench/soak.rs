//! `soak`: minutes of everyday use — every member online, messages over the pairs, reads,
//! logins, uploads, sockets opening and closing — first quiet (the baseline), then with
//! a hostile client at the same time (slow headers, a socket flood, a login flood: see
//! `hostile`). It checks what the well-behaved users would notice and fails (exit code 1)
//! when any check does not hold:
//!
//!   no 5xx, and no request or socket open of theirs failed or timed out
//!   nothing lost: every answered send reached its partner's socket, no member's socket
//!   was closed by the server
//!   the server's RSS stayed under `--soak-max-rss-mib`
//!   their request latency p95 under attack within `--soak-max-p95-ratio` × the baseline's
//!   (0 reports it without judging: CI runs the soak small, on a shared machine, where a
//!   latency figure is not a test result — the full size is run and its figures kept in
//!   docs/performance.md)

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::{header::COOKIE, multipart};
use serde_json::json;
use tenantchat::auth::csrf::CSRF_HEADER;

use crate::{
    churn,
    hostile::{self, Flood, LoginFlood, SlowHeaders},
    report::{Latency, Report},
    scenarios::{answered, settle},
    sending::{self, Outcome, Sent},
    server::mib,
    setup::{self, User},
    Bench,
};

/// The quiet share of the soak: its first third.
const BASELINE_SHARE: f64 = 1.0 / 3.0;
/// Every well-behaved request that is not a send, and how often each kind is made.
const READ_EVERY: Duration = Duration::from_millis(250);
const LOGIN_EVERY: Duration = Duration::from_secs(3);
const UPLOAD_EVERY: Duration = Duration::from_secs(2);
/// Baseline p95s below this are taken as this: a ratio to a 1 ms figure measures noise.
const P95_FLOOR: Duration = Duration::from_millis(5);

/// One well-behaved request other than a send: when it started (soak clock), how long it
/// took, and its status (`None` when it failed or timed out).
struct Request {
    kind: &'static str,
    at: Duration,
    took: Duration,
    status: Option<u16>,
}

type Requests = Arc<Mutex<Vec<Request>>>;

/// Runs the soak; whether every check held.
pub async fn soak(b: &Bench) -> bool {
    let seconds = b.shape.soak_seconds;
    let origin = Instant::now();
    let sockets = b.open(&b.members(), origin).await;
    let started = origin.elapsed();
    let deadline = started + Duration::from_secs(seconds);
    let attack_at = started + Duration::from_secs_f64(seconds as f64 * BASELINE_SHARE);

    let rate = b.shape.soak_rate;
    let total = (rate * seconds as f64).round() as usize;
    let pairs = b.pair_urls.len();
    let route = |i: usize| (b.pair_urls[i % pairs].as_str(), &b.users[2 * (i % pairs)]);
    let rest = sending::Via::Rest(b.http.clone());
    let requests: Requests = Arc::default();
    let rss = sample_rss(b, origin, deadline, attack_at);
    let everyday = async {
        tokio::join!(
            sending::open_loop(&rest, rate, total, origin, &route),
            every(READ_EVERY, origin, deadline, |n| read(b, n, &requests, origin)),
            every(LOGIN_EVERY, origin, deadline, |n| login(b, n, &requests, origin)),
            every(UPLOAD_EVERY, origin, deadline, |n| upload(b, n, &requests, origin)),
            futures_util::future::join_all(b.churners().into_iter().map(|n| churn::cycle(b, n, origin, deadline))),
        )
    };
    let (everyday, attacks, rss) = tokio::join!(everyday, attack(b, origin, attack_at, deadline), rss);
    let (sent, _, _, _, cycles) = everyday;
    settle(&sockets, answered(&sent)).await;

    let mut report = Report::new(
        "soak",
        json!({"members": b.shape.users, "churning": b.shape.churn_users, "seconds": seconds, "rate": rate,
               "attack_from_second": attack_at.saturating_sub(started).as_secs(),
               "slow_connections": b.shape.slow_connections}),
    );
    report.opened(&sockets);
    let members_not_opened: usize = sockets.failed.values().sum();
    let tallies = sockets.close().await;
    report.sends(&sent, started, Some(rate));
    let received = report.deliveries(&sent, 1, &tallies);
    report.closed(&tallies);
    let requests = std::mem::take(&mut *requests.lock().expect("requests"));
    let mut checks = Checks::default();

    // What the well-behaved users noticed.
    let churn_failed: usize = cycles.iter().map(|c| c.failed.values().sum::<usize>()).sum();
    let (server_errors, failures) = well_behaved_errors(&sent, &requests);
    let opens_failed = churn_failed + members_not_opened;
    report.line(
        "well-behaved errors",
        format!("{server_errors} answered 5xx, {failures} failed or timed out, {opens_failed} socket opens failed"),
    );
    checks.hold("no 5xx for well-behaved users", server_errors == 0);
    checks.hold("no failed request or socket open", failures == 0 && opens_failed == 0);
    let members_closed = tallies.iter().filter(|t| t.closed_by_server.is_some()).count();
    checks.hold("nothing lost", received == answered(&sent) && members_closed == 0);

    let (quiet, attacked) = latencies(&sent, &requests, started, attack_at, rate);
    report.line("latency, quiet", quiet.text());
    report.line("latency, under attack", attacked.text());
    let ratio = attacked.p95.as_secs_f64() / quiet.p95.max(P95_FLOOR).as_secs_f64();
    report.line("p95 under attack / quiet", format!("{ratio:.2}"));
    report.field(
        "well_behaved",
        json!({"server_errors": server_errors, "failures": failures, "socket_opens_failed": opens_failed,
               "latency_quiet_ms": quiet.json(), "latency_attacked_ms": attacked.json(),
               "p95_ratio": (ratio * 100.0).round() / 100.0, "requests_by_kind": by_kind(&requests)}),
    );
    let max_ratio = b.shape.soak_max_p95_ratio;
    if max_ratio > 0.0 {
        checks.hold(&format!("p95 under attack ≤ {max_ratio} × quiet"), ratio <= max_ratio);
    }

    report.line(
        "server RSS",
        format!(
            "{} at start, at most {} quiet, at most {} under attack, {} at the end",
            mib(rss.start),
            mib(rss.quiet_max),
            mib(rss.attacked_max),
            mib(rss.end)
        ),
    );
    report.field(
        "rss_kib",
        json!({"start": rss.start, "quiet_max": rss.quiet_max, "attacked_max": rss.attacked_max, "end": rss.end}),
    );
    if let Some(most) = rss.quiet_max.max(rss.attacked_max) {
        checks.hold(
            &format!("RSS ≤ {} MiB", b.shape.soak_max_rss_mib),
            most <= b.shape.soak_max_rss_mib * 1024,
        );
    }

    let (slow, flood, logins) = attacks;
    report.line("hostile: slow headers", slow.json().to_string());
    report.line("hostile: socket flood", flood.json().to_string());
    report.line("hostile: login flood", format!("{logins:?}"));
    report.field(
        "hostile",
        json!({"slow_headers": slow.json(), "socket_flood": flood.json(), "login_flood": logins}),
    );
    report.line("checks", checks.text());
    report.field("checks", json!(checks.0));
    report.print();
    checks.all_held()
}

/// The three attacks at once, from `attack_at` to `deadline`.
async fn attack(
    b: &Bench,
    origin: Instant,
    attack_at: Duration,
    deadline: Duration,
) -> (SlowHeaders, Flood, LoginFlood) {
    // The hostile user: signed in before the attack, like any account an attacker owns.
    let accounts = setup::create_users(&b.pool, &b.tenant, 1).await;
    let mallory = setup::log_in(std::slice::from_ref(&b.http), &b.base, &b.tenant, &accounts, 1)
        .await
        .remove(0);
    tokio::time::sleep_until((origin + attack_at).into()).await;
    let conversation = b.pair_urls[0].split('/').rev().nth(2).unwrap_or_default().to_string();
    tokio::join!(
        hostile::slow_headers(b.dialer.server(), b.shape.slow_connections, origin, deadline),
        hostile::socket_flood(&b.base, &mallory, &conversation, origin, deadline),
        hostile::login_flood(&b.base, &b.tenant.slug, &accounts[0], origin, deadline),
    )
}

/// Runs `action(n)` every `period` (n = 0, 1, …) until `deadline`, without waiting for
/// one to finish before starting the next.
async fn every<F, Fut>(period: Duration, origin: Instant, deadline: Duration, action: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut running = futures_util::stream::FuturesUnordered::new();
    let mut ticks = tokio::time::interval(period);
    let mut n = 0;
    while origin.elapsed() < deadline {
        tokio::select! {
            _ = ticks.tick() => {
                running.push(action(n));
                n += 1;
            }
            Some(()) = futures_util::StreamExt::next(&mut running) => {}
        }
    }
    while futures_util::StreamExt::next(&mut running).await.is_some() {}
}

/// Times `request` and writes it down.
async fn record(requests: &Requests, origin: Instant, kind: &'static str, request: reqwest::RequestBuilder) {
    let at = origin.elapsed();
    let start = Instant::now();
    let status = request.send().await.ok().map(|r| r.status().as_u16());
    let took = start.elapsed();
    requests
        .lock()
        .expect("requests")
        .push(Request { kind, at, took, status });
}

/// A member's conversation list, as the widget loads it.
async fn read(b: &Bench, n: usize, requests: &Requests, origin: Instant) {
    let user = &b.users[n % b.shape.users];
    let request = b
        .http
        .get(format!("{}/api/chat/conversations/", b.base))
        .header(COOKIE, user.cookie());
    record(requests, origin, "read", request).await
}

/// A member logs in again with its password (a new session, the old one kept).
async fn login(b: &Bench, n: usize, requests: &Requests, origin: Instant) {
    let account = &b.accounts[n % b.shape.users];
    let body = json!({"tenant": b.tenant.slug, "email": account.email, "password": setup::PASSWORD});
    let request = b.http.post(format!("{}/api/auth/login/", b.base)).json(&body);
    record(requests, origin, "login", request).await
}

/// A member sends a small text file to its partner.
async fn upload(b: &Bench, n: usize, requests: &Requests, origin: Instant) {
    let pair = n % b.pair_urls.len();
    let user: &User = &b.users[2 * pair];
    let file = multipart::Part::bytes(format!("soak upload {n}\n").into_bytes())
        .file_name("soak.txt")
        .mime_str("text/plain")
        .expect("a MIME type");
    let form = multipart::Form::new()
        .text("content", "soak upload")
        .part("attachments", file);
    let request = b
        .http
        .post(&b.pair_urls[pair])
        .header(COOKIE, user.cookie())
        .header(CSRF_HEADER, &user.csrf)
        .multipart(form);
    record(requests, origin, "upload", request).await
}

/// 5xx answers, and requests that got no answer, over sends and the other requests.
fn well_behaved_errors(sent: &[Sent], requests: &[Request]) -> (usize, usize) {
    let mut server_errors = requests.iter().filter(|r| r.status.is_some_and(|s| s >= 500)).count();
    let mut failures = requests.iter().filter(|r| r.status.is_none()).count();
    for s in sent {
        match s.outcome {
            Outcome::Refused(status) if status >= 500 => server_errors += 1,
            Outcome::TimedOut | Outcome::Failed => failures += 1,
            _ => {}
        }
    }
    (server_errors, failures)
}

/// Latencies of every well-behaved request (answered sends included), before the attack
/// and during it.
fn latencies(
    sent: &[Sent],
    requests: &[Request],
    started: Duration,
    attack_at: Duration,
    rate: f64,
) -> (Latency, Latency) {
    let (mut quiet, mut attacked) = (Vec::new(), Vec::new());
    for (i, s) in sent.iter().enumerate() {
        if let Outcome::Answered(took) = s.outcome {
            let scheduled = started + Duration::from_secs_f64(i as f64 / rate);
            if scheduled < attack_at {
                &mut quiet
            } else {
                &mut attacked
            }
            .push(took);
        }
    }
    for r in requests.iter().filter(|r| r.status.is_some()) {
        if r.at < attack_at { &mut quiet } else { &mut attacked }.push(r.took);
    }
    (Latency::of(quiet), Latency::of(attacked))
}

fn by_kind(requests: &[Request]) -> BTreeMap<String, BTreeMap<String, usize>> {
    let mut kinds: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for r in requests {
        let status = r.status.map_or("failed".to_string(), |s| s.to_string());
        *kinds.entry(r.kind.to_string()).or_default().entry(status).or_default() += 1;
    }
    kinds
}

/// The server's RSS: at the start, the most seen before and during the attack, at the end.
struct Rss {
    start: Option<u64>,
    quiet_max: Option<u64>,
    attacked_max: Option<u64>,
    end: Option<u64>,
}

async fn sample_rss(b: &Bench, origin: Instant, deadline: Duration, attack_at: Duration) -> Rss {
    let mut rss = Rss {
        start: b.server.rss_kib(),
        quiet_max: None,
        attacked_max: None,
        end: None,
    };
    while origin.elapsed() < deadline {
        let now = b.server.rss_kib();
        let max = if origin.elapsed() < attack_at {
            &mut rss.quiet_max
        } else {
            &mut rss.attacked_max
        };
        *max = (*max).max(now);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    rss.end = b.server.rss_kib();
    rss
}

/// Each check by name, and whether it held.
#[derive(Default)]
struct Checks(BTreeMap<String, bool>);

impl Checks {
    fn hold(&mut self, name: &str, held: bool) {
        self.0.insert(name.to_string(), held);
    }

    fn all_held(&self) -> bool {
        self.0.values().all(|&held| held)
    }

    fn text(&self) -> String {
        let line: Vec<String> = self
            .0
            .iter()
            .map(|(name, held)| format!("{} {name}", if *held { "PASS" } else { "FAIL" }))
            .collect();
        line.join("; ")
    }
}
