//! Sending messages as the widget does — over HTTP with a session cookie, or as `send`
//! frames over the sender's open socket (`--send-via`): open loop at a fixed rate (each
//! send scheduled whether or not earlier ones were answered, so a slow server shows as
//! latency instead of slowing the sender), or closed loop (each sender sends its next
//! message when the last one is answered). A send's latency ends at its answer: the
//! HTTP response, or the `send_ok` frame.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use clap::ValueEnum;
use reqwest::header::COOKIE;
use serde_json::json;
use tenantchat::auth::csrf::CSRF_HEADER;
use uuid::Uuid;

use crate::{
    setup::User,
    sockets::{self, Outbox, Sockets},
};

/// How the senders send.
#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum SendVia {
    /// `POST …/messages/` with JSON.
    Rest,
    /// A `send` frame on the sender's socket, answered by `send_ok`.
    Socket,
}

impl SendVia {
    pub fn name(self) -> &'static str {
        match self {
            SendVia::Rest => "rest",
            SendVia::Socket => "socket",
        }
    }
}

/// Where the sends of a scenario go through.
#[derive(Clone)]
pub enum Via {
    Rest(reqwest::Client),
    /// The outboxes of the scenario's sockets, by user id.
    Socket(HashMap<Uuid, Outbox>),
}

impl Via {
    /// Sends over `how`; `http` for REST, `sockets` (the scenario's) for sockets.
    pub fn new(how: SendVia, http: &reqwest::Client, sockets: &Sockets) -> Via {
        match how {
            SendVia::Rest => Via::Rest(http.clone()),
            SendVia::Socket => Via::Socket(sockets.readers.iter().map(|r| (r.me, r.outbox.clone())).collect()),
        }
    }

    /// Sends message `key`, scheduled at `scheduled` on the scenario's clock, as `user`
    /// into the conversation of the messages URL `url`.
    async fn send(&self, url: &str, user: &User, key: u64, scheduled: Duration, origin: Instant) -> Sent {
        let outbox = match self {
            Via::Rest(http) => return post(http, url, user, key, scheduled, origin).await,
            Via::Socket(outboxes) => outboxes.get(&user.id),
        };
        let Some(outbox) = outbox else {
            return Sent {
                key,
                outcome: Outcome::Failed,
                finished: origin.elapsed(),
            };
        };
        let conversation = url.trim_end_matches('/').rsplit('/').nth(1).unwrap_or_default();
        let content = sockets::content(key, scheduled);
        let answer = tokio::time::timeout(SEND_TIMEOUT, outbox.send(conversation, content, format!("b{key}"))).await;
        let finished = origin.elapsed();
        let outcome = match answer {
            Ok(Ok(())) => Outcome::Answered(finished.saturating_sub(scheduled)),
            Ok(Err(code)) if code == "closed" => Outcome::Failed,
            Ok(Err(code)) => Outcome::Refused(status_of(&code)),
            Err(_) => Outcome::TimedOut,
        };
        Sent { key, outcome, finished }
    }
}

/// The HTTP status REST answers a `send_error` code with, so both report alike.
fn status_of(code: &str) -> u16 {
    match code {
        "validation_error" => 400,
        "not_found" => 404,
        "rate_limited" => 429,
        _ => 403,
    }
}

/// A send not answered within this long counts as timed out.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// What became of one send.
pub enum Outcome {
    /// 2xx, after this long (from the scheduled time in open loop, from the request in closed loop).
    Answered(Duration),
    /// Another status.
    Refused(u16),
    TimedOut,
    /// The connection failed.
    Failed,
}

/// One send: its message key, and what became of it.
pub struct Sent {
    pub key: u64,
    pub outcome: Outcome,
    /// When it was answered (or gave up), on the scenario's clock.
    pub finished: Duration,
}

/// The HTTP client of every send: a shared pool of keep-alive connections.
pub fn client() -> reqwest::Client {
    client_from(None)
}

/// Like `client`, connecting from `source` when given.
pub fn client_from(source: Option<std::net::IpAddr>) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(source)
        .pool_max_idle_per_host(1024)
        .timeout(SEND_TIMEOUT)
        .build()
        .expect("an HTTP client")
}

/// Posts message `key`, scheduled at `scheduled` on the scenario's clock, as `user`.
async fn post(http: &reqwest::Client, url: &str, user: &User, key: u64, scheduled: Duration, origin: Instant) -> Sent {
    // With a client_id, as the widget sends (and as a socket send must).
    let body = json!({"content": sockets::content(key, scheduled), "client_id": format!("b{key}")});
    let result = http
        .post(url)
        .header(COOKIE, user.cookie())
        .header(CSRF_HEADER, &user.csrf)
        .json(&body)
        .send()
        .await;
    let finished = origin.elapsed();
    let outcome = match result {
        Ok(resp) if resp.status().is_success() => Outcome::Answered(finished.saturating_sub(scheduled)),
        Ok(resp) => Outcome::Refused(resp.status().as_u16()),
        Err(err) if err.is_timeout() => Outcome::TimedOut,
        Err(_) => Outcome::Failed,
    };
    Sent { key, outcome, finished }
}

/// Where send number `i` goes and who sends it.
pub type Route<'a> = &'a (dyn Fn(usize) -> (&'a str, &'a User) + Sync);

/// `total` sends at `rate` per second from now; message `i` is scheduled at `i / rate`.
pub async fn open_loop(via: &Via, rate: f64, total: usize, origin: Instant, route: Route<'_>) -> Vec<Sent> {
    let first_key = sockets::take_keys(total as u64);
    let start = origin.elapsed();
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut pending = Vec::with_capacity(total);
    for i in 0..total {
        let scheduled = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until((origin + scheduled).into()).await;
        let (url, user) = route(i);
        let (via, url) = (via.clone(), url.to_string());
        let user = user.clone();
        pending.push(tokio::spawn(async move {
            via.send(&url, &user, first_key + i as u64, scheduled, origin).await
        }));
    }
    let mut sent = Vec::with_capacity(total);
    for (i, task) in pending.into_iter().enumerate() {
        sent.push(task.await.unwrap_or(Sent {
            key: first_key + i as u64,
            outcome: Outcome::Failed,
            finished: origin.elapsed(),
        }));
    }
    sent
}

/// `senders` loops, each sending its next message as soon as the last is answered, for `seconds`.
pub async fn closed_loop(via: &Via, senders: &[(String, &User)], seconds: u64, origin: Instant) -> Vec<Sent> {
    let deadline = origin.elapsed() + Duration::from_secs(seconds);
    let loops = senders.iter().map(|(url, user)| async move {
        {
            let mut sent = Vec::new();
            while origin.elapsed() < deadline {
                let key = sockets::take_keys(1);
                sent.push(via.send(url, user, key, origin.elapsed(), origin).await);
            }
            sent
        }
    });
    futures_util::future::join_all(loops)
        .await
        .into_iter()
        .flatten()
        .collect()
}
