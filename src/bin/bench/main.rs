//! tenantchat-bench: loads a running server the way its users do, and prints figures.
//!
//! One tenant. `--users` members (1,000) log in with their passwords over HTTP (session
//! cookie + CSRF token, `--login-concurrency` at a time) and share one group; they also
//! form `--users / 2` 1-to-1 pairs; `--churn-users` more (200) each have a 1-to-1 with a
//! member. The scenarios then run back to back on these same users, each sending as soon
//! as its sockets are open:
//!
//!   presence  every member connects at once; 10 s later half disconnect at once
//!   group     one sender into the group at `--group-rate` (50 msg/s)
//!   pairs     every member online; `--pairs-rate` (1,000 msg/s) over the pairs, open loop
//!   closed    `--closed-senders` (8) closed-loop senders in pairs
//!
//! `group`, `pairs` and `closed` send over REST, or with `--send-via socket` as `send`
//! frames over the senders' sockets.
//!   churn     the group online, one sender at `--churn-rate`, the churn users cycling
//!             connect/disconnect
//!   memory    server RSS at start, after the logins, after the load, 30 s after it
//!   soak      `--soak-seconds` (180) of everyday use, quiet and then under a hostile
//!             client; fails (exit code 1) when a well-behaved user would notice (see
//!             `soak`; not in `all`: run it alone, as scripts/soak.sh does)
//!   history   the closed-loop senders read their conversation's newest 50 messages
//!             again and again: pages per second (not in `all`: run it after `closed`)
//!   idle      `--idle-sockets` (19,000) idle sockets of more users of the tenant, whose
//!             sessions are created in bulk through the server's own session store:
//!             RSS per socket (not in `all`: run it alone on a fresh server, with
//!             `--users 0 --churn-users 0`)
//!
//! Rows are written to the server's database (DATABASE_URL) directly only for what the
//! server has no API for at this scale: the tenant, its users, bulk sessions. Use a
//! scratch database. Figures only, no pass/fail (except `soak`): see docs/performance.md.

mod churn;
mod history;
mod hostile;
mod memory;
mod report;
mod scenarios;
mod sending;
mod server;
mod setup;
mod soak;
mod sockets;
mod webhook;

use std::{process::ExitCode, time::Instant};

use clap::{Args, Parser, ValueEnum};
use sqlx::{postgres::PgPoolOptions, PgPool};

use crate::{
    server::{mib, Server},
    setup::{Account, Tenant, User},
    sockets::{loopback_sources, Dialer, Sockets},
};

#[derive(Parser)]
#[command(name = "tenantchat-bench", about = "Load generator for a running tenantchat server")]
struct Cli {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    url: String,
    /// The server's database (for the tenant, its users and bulk sessions).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// The server's process id: its memory and CPU time are read from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Scenarios to run, in this order, on the same users.
    #[arg(value_enum, default_values_t = [Scenario::All])]
    scenarios: Vec<Scenario>,
    #[command(flatten)]
    shape: Shape,
}

/// The tenant setting `pii_mode`, as the bench's switch.
#[derive(Clone, Copy, PartialEq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PiiMode {
    Off,
    Flag,
    Redact,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Scenario {
    All,
    Presence,
    Group,
    Pairs,
    Closed,
    Churn,
    Memory,
    Soak,
    Idle,
    /// Closed-loop history reads (not in `all`: run it after `closed`).
    History,
}

const ALL: [Scenario; 6] = [
    Scenario::Presence,
    Scenario::Group,
    Scenario::Pairs,
    Scenario::Closed,
    Scenario::Churn,
    Scenario::Memory,
];

/// Loopback addresses the set-up's logins come from.
const LOGIN_SOURCES: usize = 249;

/// The load's shape; the defaults are the targets of issue 10.
#[derive(Args)]
pub struct Shape {
    /// Members of the tenant's group (and 2 × pairs), each with one socket.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Further users who connect and disconnect in `churn`.
    #[arg(long, default_value_t = 200)]
    pub churn_users: usize,
    /// Password logins in flight at once.
    #[arg(long, default_value_t = 4)]
    pub login_concurrency: usize,
    /// Socket handshakes in flight at once.
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
    /// Loopback source addresses (127.0.0.1 …) sockets are spread over.
    #[arg(long, default_value_t = 4)]
    pub sources: usize,
    /// Length of each sending scenario.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Messages per second into the group in `group`.
    #[arg(long, default_value_t = 50.0)]
    pub group_rate: f64,
    /// Messages per second over all pairs in `pairs`.
    #[arg(long, default_value_t = 1000.0)]
    pub pairs_rate: f64,
    /// Closed-loop senders in `closed`.
    #[arg(long, default_value_t = 8)]
    pub closed_senders: usize,
    /// How `group`, `pairs` and `closed` send: REST, or `send` frames over the senders'
    /// sockets (latency to `send_ok`).
    #[arg(long, value_enum, default_value_t = sending::SendVia::Rest)]
    pub send_via: sending::SendVia,
    /// Messages per second into the group in `churn`.
    #[arg(long, default_value_t = 20.0)]
    pub churn_rate: f64,
    /// The bench tenant's `pii_mode`: what the content checks cost a send (`off` against
    /// `redact`, run one after the other).
    #[arg(long, value_enum, default_value_t = PiiMode::Off)]
    pub pii_mode: PiiMode,
    /// The bench tenant's search turned off (`search_enabled: false`): sends write no
    /// search vector and no index entries — what the search index costs a send.
    #[arg(long)]
    pub search_off: bool,
    /// The bench tenant with a webhook subscribed to `message_created`, answered by a
    /// receiver in the bench: every send also queues a delivery (what a webhook costs).
    #[arg(long)]
    pub webhook: bool,
    /// Idle sockets in `memory`.
    #[arg(long, default_value_t = 19_000)]
    pub idle_sockets: usize,
    /// Length of `soak`; its first third is quiet, the rest under attack.
    #[arg(long, default_value_t = 180)]
    pub soak_seconds: u64,
    /// Messages per second over the pairs in `soak`.
    #[arg(long, default_value_t = 50.0)]
    pub soak_rate: f64,
    /// Slow-header connections the hostile client keeps going in `soak`.
    #[arg(long, default_value_t = 2000)]
    pub slow_connections: usize,
    /// `soak` fails when the well-behaved p95 under attack exceeds this many times the
    /// quiet one; 0 reports the ratio without judging it.
    #[arg(long, default_value_t = 3.0)]
    pub soak_max_p95_ratio: f64,
    /// `soak` fails when the server's RSS exceeds this.
    #[arg(long, default_value_t = 512)]
    pub soak_max_rss_mib: u64,
}

/// What every scenario works with.
pub struct Bench {
    pub shape: Shape,
    pub http: reqwest::Client,
    pub dialer: Dialer,
    pub server: Server,
    pub pool: PgPool,
    /// The server's base URL.
    pub base: String,
    pub tenant: Tenant,
    /// The members (`0..shape.users`), then the churning users.
    pub users: Vec<User>,
    /// Their accounts (email, id), in the same order.
    pub accounts: Vec<Account>,
    /// The group's messages URL; `users[0]` sends into it.
    pub group_url: String,
    /// Pair `p`'s messages URL: `users[2p]` sends to `users[2p + 1]`.
    pub pair_urls: Vec<String>,
}

impl Bench {
    pub fn members(&self) -> Vec<usize> {
        (0..self.shape.users).collect()
    }

    pub fn churners(&self) -> Vec<usize> {
        (self.shape.users..self.users.len()).collect()
    }

    /// Opens the sockets of `users` at once.
    pub async fn open(&self, users: &[usize], origin: Instant) -> Sockets {
        Sockets::open(&self.dialer, &self.users, users, self.shape.connect_concurrency, origin).await
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let scenarios: Vec<Scenario> = if cli.scenarios.contains(&Scenario::All) {
        ALL.to_vec()
    } else {
        cli.scenarios.clone()
    };
    let shape = cli.shape;
    let base = cli.url.trim_end_matches('/').to_string();
    let server = Server { pid: cli.server_pid };
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect(&cli.database_url)
        .await
        .expect("connect to DATABASE_URL");
    let http = sending::client();
    let mut checkpoints = vec![("at start", server.rss_kib())];

    let started = Instant::now();
    let settings = serde_json::json!({"pii_mode": shape.pii_mode, "search_enabled": !shape.search_off});
    let tenant = setup::create_tenant(&pool, settings).await;
    let webhook = match shape.webhook {
        true => Some(webhook::subscribe(&pool, &tenant).await),
        false => None,
    };
    let accounts = setup::create_users(&pool, &tenant, shape.users + shape.churn_users).await;
    // Logins from as many addresses as loopback offers: successful logins are limited
    // per address (RATE_LOGINS_PER_MINUTE), as they would come from many offices.
    let clients: Vec<reqwest::Client> = loopback_sources(LOGIN_SOURCES)
        .into_iter()
        .map(|source| sending::client_from(Some(source)))
        .collect();
    let users = setup::log_in(&clients, &base, &tenant, &accounts, shape.login_concurrency).await;
    let logins = started.elapsed();
    checkpoints.push(("after logins", server.rss_kib()));
    let group = match shape.users {
        0 | 1 => String::new(),
        _ => setup::create_group(&http, &base, &users[..shape.users]).await,
    };
    let pairs: Vec<(&User, &User)> = users[..shape.users].chunks_exact(2).map(|p| (&p[0], &p[1])).collect();
    let pair_ids = setup::start_pairs(&http, &base, &pairs).await;
    let churn_pairs: Vec<(&User, &User)> = users[shape.users..].iter().zip(&users[..shape.users]).collect();
    setup::start_pairs(&http, &base, &churn_pairs).await;
    println!(
        "set-up: tenant {} with {} users ({} logins in {:.1} s, {} at a time), server RSS {} at start, {} after the logins",
        tenant.slug,
        users.len(),
        users.len(),
        logins.as_secs_f64(),
        shape.login_concurrency,
        mib(checkpoints[0].1),
        mib(checkpoints[1].1),
    );

    let messages_url = |id: &str| format!("{base}/api/chat/conversations/{id}/messages/");
    let bench = Bench {
        dialer: Dialer::new(&base, shape.sources).await,
        group_url: messages_url(&group),
        pair_urls: pair_ids.iter().map(|id| messages_url(id)).collect(),
        shape,
        http,
        server,
        pool,
        base,
        tenant,
        users,
        accounts,
    };
    let mut failed = false;
    for scenario in scenarios {
        match scenario {
            Scenario::Presence => scenarios::presence(&bench).await,
            Scenario::Group => scenarios::group(&bench).await,
            Scenario::Pairs => scenarios::pairs(&bench).await,
            Scenario::Closed => scenarios::closed(&bench).await,
            Scenario::Churn => churn::churn(&bench).await,
            Scenario::Memory => {
                checkpoints.push(("after load", server.rss_kib()));
                memory::memory(&bench, &checkpoints).await
            }
            Scenario::Soak => failed |= !soak::soak(&bench).await,
            Scenario::Idle => memory::idle(&bench).await,
            Scenario::History => history::history(&bench).await,
            Scenario::All => unreachable!("expanded above"),
        }
    }
    if let Some(webhook) = webhook {
        println!("webhook: {} deliveries received", webhook.received());
    }
    println!("run took {:.0} s", started.elapsed().as_secs_f64());
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
