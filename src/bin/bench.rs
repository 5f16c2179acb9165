//! tenantchat-bench: sizes a deployment by loading a running server.
//!
//!   fanout  U users in 1-to-1 pairs, one socket each; messages over HTTP at a fixed
//!           open-loop rate; latency from each message's *scheduled* send time to the
//!           recipient's `message_created` (so a stalled server cannot hide its queue).
//!   group   M members of one group, all connected; one sender at a fixed rate.
//!   idle    N idle authenticated sockets; the server's RSS per socket.
//!
//! Users and API tokens are created directly in the server's database (DATABASE_URL),
//! in a fresh tenant per run, so setting up 20,000 users does not cost 20,000 password
//! hashes. Prints figures and a one-line JSON summary.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use serde_json::{json, Value};
use sqlx::{postgres::PgPoolOptions, PgPool};
use tenantchat::auth::{password, tokens};
use tokio_tungstenite::tungstenite::{protocol::WebSocketConfig, Message};
use uuid::Uuid;

#[derive(Parser)]
#[command(name = "tenantchat-bench", about = "Load generator for a running tenantchat server")]
struct Cli {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    url: String,
    /// The server's database (to create the bench tenant, users and tokens).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// 1-to-1 fan-out at a fixed rate.
    Fanout {
        #[arg(long, default_value_t = 500)]
        pairs: usize,
        /// Messages per second, all pairs together.
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u32,
    },
    /// One sender into a group whose members are all connected.
    Group {
        #[arg(long, default_value_t = 1000)]
        members: usize,
        #[arg(long, default_value_t = 20)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u32,
    },
    /// Idle authenticated sockets and the server's memory per socket.
    Idle {
        #[arg(long, default_value_t = 19_000)]
        sockets: usize,
        /// Users per tenant. Every socket that opens sends a `presence` event to every
        /// socket of its tenant, so one huge tenant measures that burst, not idle sockets.
        #[arg(long, default_value_t = 100)]
        tenant_size: usize,
        /// The server's process id (its RSS is read from /proc).
        #[arg(long)]
        pid: u32,
    },
}

struct BenchUser {
    id: Uuid,
    token: String,
}

/// `count` users with one API token each, in fresh tenants of `per_tenant` users,
/// written in bulk.
async fn create_users(pool: &PgPool, count: usize, per_tenant: usize) -> Vec<BenchUser> {
    // Every bench user shares one password hash: hashing is what login costs, not this.
    let hash = password::hash(password::NewPassword::parse("bench-password", "").unwrap())
        .await
        .unwrap();
    let users: Vec<BenchUser> = (0..count)
        .map(|_| BenchUser {
            id: Uuid::new_v4(),
            token: String::new(),
        })
        .collect();
    let mut with_tokens = Vec::with_capacity(count);
    for chunk in users.chunks(per_tenant.clamp(1, 5000)) {
        let tenant_id = Uuid::new_v4();
        sqlx::query("INSERT INTO tenants (id, slug, name) VALUES ($1, $2, 'Bench')")
            .bind(tenant_id)
            .bind(format!("bench-{}", &Uuid::new_v4().simple().to_string()[..12]))
            .execute(pool)
            .await
            .expect("create a bench tenant");
        let ids: Vec<Uuid> = chunk.iter().map(|u| u.id).collect();
        let emails: Vec<String> = (0..chunk.len())
            .map(|_| format!("{}@bench.test", Uuid::new_v4().simple()))
            .collect();
        let names: Vec<String> = (0..chunk.len()).map(|i| format!("Bench user {i}")).collect();
        sqlx::query(
            "INSERT INTO users (id, tenant_id, email, name, password_hash, role)
             SELECT id, $2, email, name, $5, 'write' FROM unnest($1::uuid[], $3::text[], $4::text[]) AS u(id, email, name)",
        )
        .bind(&ids)
        .bind(tenant_id)
        .bind(&emails)
        .bind(&names)
        .bind(&hash)
        .execute(pool)
        .await
        .expect("create bench users");
        let generated: Vec<(String, Vec<u8>)> = ids.iter().map(|_| tokens::generate()).collect();
        let token_ids: Vec<Uuid> = ids.iter().map(|_| Uuid::new_v4()).collect();
        let hashes: Vec<Vec<u8>> = generated.iter().map(|(_, h)| h.clone()).collect();
        sqlx::query(
            "INSERT INTO api_tokens (id, tenant_id, user_id, name, token_hash)
             SELECT id, $2, user_id, 'bench', hash FROM unnest($1::uuid[], $3::uuid[], $4::bytea[]) AS t(id, user_id, hash)",
        )
        .bind(&token_ids)
        .bind(tenant_id)
        .bind(&ids)
        .bind(&hashes)
        .execute(pool)
        .await
        .expect("create bench tokens");
        with_tokens.extend(
            ids.into_iter()
                .zip(generated)
                .map(|(id, (token, _))| BenchUser { id, token }),
        );
    }
    with_tokens
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap()
}

async fn post(client: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    let resp = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.json().await.unwrap()
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_socket(base: &str, token: &str) -> Socket {
    let url = format!("{}/ws/chat/?token={token}", base.replacen("http", "ws", 1));
    // Small buffers: the bench holds tens of thousands of sockets too.
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false)
        .await
        .expect("socket handshake");
    match ws.next().await {
        Some(Ok(Message::Text(text))) if text.contains("\"connected\"") => ws,
        other => panic!("expected the connected frame, got {other:?}"),
    }
}

/// Opens one socket per user, `concurrency` at a time.
async fn open_sockets(base: &str, users: &[BenchUser], concurrency: usize) -> Vec<Socket> {
    futures_util::stream::iter(users.iter().map(|u| open_socket(base, &u.token)))
        .buffered(concurrency)
        .collect()
        .await
}

/// Receipts of message events: per message key, the latency of each delivery.
#[derive(Default)]
struct Deliveries {
    seen: HashMap<String, Vec<Duration>>,
    /// Sockets the server closed during the run, by close code.
    closed: HashMap<String, usize>,
}

/// Reads every socket; for each `message_created` whose content is `bench <key> <scheduled µs>`
/// records the latency from the scheduled send time.
fn watch(sockets: Vec<Socket>, origin: Instant, deliveries: Arc<Mutex<Deliveries>>) {
    for mut socket in sockets {
        let deliveries = deliveries.clone();
        tokio::spawn(async move {
            while let Some(Ok(frame)) = socket.next().await {
                if let Message::Close(close) = &frame {
                    let code = close
                        .as_ref()
                        .map_or("none".to_string(), |c| u16::from(c.code).to_string());
                    *deliveries.lock().unwrap().closed.entry(code).or_default() += 1;
                }
                let Message::Text(text) = frame else { continue };
                let now = origin.elapsed();
                let Ok(event) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                if event["type"] != "message_created" {
                    continue;
                }
                let content = event["message"]["content"].as_str().unwrap_or_default();
                let mut parts = content.split(' ');
                if let (Some("bench"), Some(key), Some(micros)) = (parts.next(), parts.next(), parts.next()) {
                    let scheduled = Duration::from_micros(micros.parse().unwrap_or(0));
                    deliveries
                        .lock()
                        .unwrap()
                        .seen
                        .entry(key.to_string())
                        .or_default()
                        .push(now.saturating_sub(scheduled));
                }
            }
            let _ = socket.close(None).await;
        });
    }
}

struct Send {
    key: String,
    url: String,
    token: String,
}

/// Sends `sends` open-loop at `rate` per second; each request carries its scheduled time.
async fn send_at_rate(client: &reqwest::Client, sends: Vec<Send>, rate: u32, origin: Instant) -> (usize, usize) {
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = origin.elapsed();
    let mut requests = Vec::with_capacity(sends.len());
    for (i, send) in sends.into_iter().enumerate() {
        let scheduled = start + interval * i as u32;
        tokio::time::sleep_until(tokio::time::Instant::from_std(origin + scheduled)).await;
        let client = client.clone();
        requests.push(tokio::spawn(async move {
            let body = json!({"content": format!("bench {} {}", send.key, scheduled.as_micros())});
            client
                .post(send.url)
                .bearer_auth(send.token)
                .json(&body)
                .send()
                .await
                .map(|r| r.status().is_success())
        }));
    }
    let mut failed = 0;
    for request in &mut requests {
        if !matches!(request.await, Ok(Ok(true))) {
            failed += 1;
        }
    }
    (requests.len() - failed, failed)
}

/// Lets the connection burst settle (presence events of every new socket to the
/// whole tenant) so the figures describe the steady state.
async fn warm_up() {
    tokio::time::sleep(Duration::from_secs(2)).await;
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Waits until every message reached `expected` recipients, or the grace period ends.
async fn settle(deliveries: &Mutex<Deliveries>, messages: usize, expected: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let done = {
            let d = deliveries.lock().unwrap();
            d.seen.len() == messages && d.seen.values().all(|v| v.len() >= expected)
        };
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn report(
    scenario: &str,
    params: Value,
    deliveries: &Deliveries,
    messages: usize,
    per_message: usize,
    failed: usize,
    elapsed: Duration,
) {
    let mut latencies: Vec<Duration> = deliveries.seen.values().flatten().copied().collect();
    latencies.sort();
    let expected = messages * per_message;
    let received: usize = deliveries.seen.values().map(|v| v.len().min(per_message)).sum();
    let duplicated: usize = deliveries
        .seen
        .values()
        .map(|v| v.len().saturating_sub(per_message))
        .sum();
    let lost = expected - received;
    let ms = |d: Duration| (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    let (p50, p99, max) = (
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
    );
    println!("scenario            {scenario}");
    println!(
        "messages sent       {messages} ({failed} failed requests) in {:.1} s",
        elapsed.as_secs_f64()
    );
    println!("deliveries          {received} of {expected} expected, {lost} lost, {duplicated} duplicated");
    let p90 = percentile(&latencies, 0.90);
    println!(
        "latency (scheduled send -> recipient event)  p50 {} ms  p90 {} ms  p99 {} ms  max {} ms",
        ms(p50),
        ms(p90),
        ms(p99),
        ms(max)
    );
    println!("sockets closed by the server during the run: {:?}", deliveries.closed);
    let summary = json!({
        "scenario": scenario, "params": params, "messages": messages, "failed_requests": failed,
        "deliveries": received, "expected": expected, "lost": lost, "duplicated": duplicated,
        "p50_ms": ms(p50), "p90_ms": ms(p90), "p99_ms": ms(p99), "max_ms": ms(max), "closed_sockets": deliveries.closed,
    });
    println!("{summary}");
}

async fn fanout(base: &str, pool: &PgPool, pairs: usize, rate: u32, seconds: u32) {
    let users = create_users(pool, pairs * 2, pairs * 2).await;
    let client = http();
    let mut conversations = Vec::with_capacity(pairs);
    for pair in users.chunks(2) {
        let c = post(
            &client,
            format!("{base}/api/chat/conversations/start/"),
            &pair[0].token,
            json!({"participant_id": pair[1].id}),
        )
        .await;
        conversations.push(c["id"].as_str().unwrap().to_string());
    }
    let origin = Instant::now();
    let deliveries = Arc::new(Mutex::new(Deliveries::default()));
    // Only the recipients' sockets are watched: the sender's own echo is not a delivery.
    let recipients: Vec<BenchUser> = users
        .chunks(2)
        .map(|p| BenchUser {
            id: p[1].id,
            token: p[1].token.clone(),
        })
        .collect();
    watch(open_sockets(base, &recipients, 64).await, origin, deliveries.clone());
    warm_up().await;
    let total = (rate * seconds) as usize;
    let sends = (0..total)
        .map(|i| Send {
            key: i.to_string(),
            url: format!("{base}/api/chat/conversations/{}/messages/", conversations[i % pairs]),
            token: users[(i % pairs) * 2].token.clone(),
        })
        .collect();
    let started = Instant::now();
    let (_, failed) = send_at_rate(&client, sends, rate, origin).await;
    settle(&deliveries, total, 1).await;
    let d = deliveries.lock().unwrap();
    report(
        "fanout",
        json!({"pairs": pairs, "rate": rate, "seconds": seconds}),
        &d,
        total,
        1,
        failed,
        started.elapsed(),
    );
}

async fn group(base: &str, pool: &PgPool, members: usize, rate: u32, seconds: u32) {
    let users = create_users(pool, members, members).await;
    let client = http();
    let others: Vec<Uuid> = users[1..].iter().map(|u| u.id).collect();
    let c = post(
        &client,
        format!("{base}/api/chat/conversations/"),
        &users[0].token,
        json!({"title": "bench", "participant_ids": others}),
    )
    .await;
    let url = format!("{base}/api/chat/conversations/{}/messages/", c["id"].as_str().unwrap());
    let origin = Instant::now();
    let deliveries = Arc::new(Mutex::new(Deliveries::default()));
    watch(open_sockets(base, &users[1..], 64).await, origin, deliveries.clone());
    warm_up().await;
    let total = (rate * seconds) as usize;
    let sends = (0..total)
        .map(|i| Send {
            key: i.to_string(),
            url: url.clone(),
            token: users[0].token.clone(),
        })
        .collect();
    let started = Instant::now();
    let (_, failed) = send_at_rate(&client, sends, rate, origin).await;
    settle(&deliveries, total, members - 1).await;
    let d = deliveries.lock().unwrap();
    report(
        "group",
        json!({"members": members, "rate": rate, "seconds": seconds}),
        &d,
        total,
        members - 1,
        failed,
        started.elapsed(),
    );
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read the server's /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

async fn idle(base: &str, pool: &PgPool, count: usize, tenant_size: usize, pid: u32) {
    let users = create_users(pool, count, tenant_size).await;
    let before = rss_kib(pid);
    let started = Instant::now();
    let sockets = open_sockets(base, &users, 128).await;
    let opening = started.elapsed();
    // Let the server settle (allocator, presence writes) before reading its RSS.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_kib(pid);
    let per_socket = (after.saturating_sub(before)) as f64 * 1024.0 / count as f64;
    println!("scenario            idle");
    println!("sockets             {count} opened in {:.1} s", opening.as_secs_f64());
    println!(
        "server RSS          {} MiB before, {} MiB with the sockets open",
        before / 1024,
        after / 1024
    );
    println!("per socket          {:.2} KB", per_socket / 1000.0);
    println!(
        "{}",
        json!({"scenario": "idle", "sockets": count, "tenant_size": tenant_size, "rss_before_kib": before, "rss_after_kib": after, "bytes_per_socket": per_socket.round()})
    );
    drop(sockets);
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&cli.database_url)
        .await
        .expect("connect to DATABASE_URL");
    let base = cli.url.trim_end_matches('/').to_string();
    match cli.scenario {
        Scenario::Fanout { pairs, rate, seconds } => fanout(&base, &pool, pairs, rate, seconds).await,
        Scenario::Group { members, rate, seconds } => group(&base, &pool, members, rate, seconds).await,
        Scenario::Idle {
            sockets,
            tenant_size,
            pid,
        } => idle(&base, &pool, sockets, tenant_size, pid).await,
    }
}
