//! The hostile client of `soak`, from loopback addresses of its own (127.0.0.250 and up) so
//! that per-address limits meet it and not the well-behaved users:
//!
//!   slow headers   connections that send a request line and then one header byte a
//!                  second, reopened as soon as the server lets one go
//!   socket flood   one signed-in user opening sockets as fast as it can and sending
//!                  `ack` frames over every one it gets
//!   login flood    wrong and right passwords for one account, many at a time
//!
//! Each attack runs until `deadline` (on the soak's clock) and says what the server did to it.

use std::{
    collections::BTreeMap,
    net::{IpAddr, SocketAddr},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpSocket,
};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    setup::{Account, User, PASSWORD},
    sockets::{close_code, Dialer},
};

/// The hostile client's source addresses: one per attack.
pub const SLOW_SOURCE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 250));
pub const FLOOD_SOURCE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 251));
pub const LOGIN_SOURCE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 252));

/// Socket-flood tasks, each opening its next socket when the last open finished.
const FLOOD_TASKS: usize = 32;
/// `ack` frames each flood socket sends before it idles.
const ACKS_PER_SOCKET: usize = 1000;
/// Login-flood requests in flight at once.
const LOGIN_TASKS: usize = 32;
/// How long the hostile client waits before trying again after the server refused it.
const RETRY: Duration = Duration::from_millis(20);

/// What the slow-header connections met.
#[derive(Default)]
pub struct SlowHeaders {
    pub opened: AtomicUsize,
    /// Connect refused or reset before the first byte was written.
    pub refused: AtomicUsize,
    /// Closed by the server while still sending headers.
    pub cut: AtomicUsize,
    /// Open when the attack ended.
    pub still_open: AtomicUsize,
    /// Longest a connection was held before the server cut it, in ms.
    pub longest_held_ms: AtomicUsize,
}

/// Keeps `connections` slow-header connections going until `deadline`.
pub async fn slow_headers(server: SocketAddr, connections: usize, origin: Instant, deadline: Duration) -> SlowHeaders {
    let seen = Arc::new(SlowHeaders::default());
    let tasks = (0..connections).map(|_| {
        let seen = seen.clone();
        async move {
            while origin.elapsed() < deadline {
                trickle(server, &seen, origin, deadline).await;
                tokio::time::sleep(RETRY).await;
            }
        }
    });
    futures_util::future::join_all(tasks).await;
    Arc::try_unwrap(seen).unwrap_or_default()
}

/// One connection: a request line, then a header byte a second until the server hangs up
/// or the attack ends.
async fn trickle(server: SocketAddr, seen: &SlowHeaders, origin: Instant, deadline: Duration) {
    let connected = async {
        let tcp = TcpSocket::new_v4()?;
        tcp.bind(SocketAddr::new(SLOW_SOURCE, 0))?;
        let mut stream = tcp.connect(server).await?;
        stream
            .write_all(b"GET /login/ HTTP/1.1\r\nHost: soak\r\nX-Slow: ")
            .await?;
        Ok::<_, std::io::Error>(stream)
    };
    let Ok(mut stream) = connected.await else {
        seen.refused.fetch_add(1, Ordering::Relaxed);
        return;
    };
    seen.opened.fetch_add(1, Ordering::Relaxed);
    let held = Instant::now();
    let mut buf = [0u8; 512];
    loop {
        if origin.elapsed() >= deadline {
            seen.still_open.fetch_add(1, Ordering::Relaxed);
            return;
        }
        tokio::select! {
            // The server answers (408, 400) or closes: either way it let go.
            _ = stream.read(&mut buf) => break,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                if stream.write_all(b"a").await.is_err() {
                    break;
                }
            }
        }
    }
    seen.cut.fetch_add(1, Ordering::Relaxed);
    seen.longest_held_ms
        .fetch_max(held.elapsed().as_millis() as usize, Ordering::Relaxed);
}

impl SlowHeaders {
    pub fn json(&self) -> Value {
        json!({
            "opened": self.opened.load(Ordering::Relaxed),
            "refused": self.refused.load(Ordering::Relaxed),
            "cut_by_server": self.cut.load(Ordering::Relaxed),
            "still_open_at_end": self.still_open.load(Ordering::Relaxed),
            "longest_held_ms": self.longest_held_ms.load(Ordering::Relaxed),
        })
    }
}

/// What the socket flood met.
#[derive(Default)]
pub struct Flood {
    pub opened: usize,
    /// Sockets open at once, at most.
    pub most_open: usize,
    /// Opens refused, by reason (a close code, or what failed).
    pub refused: BTreeMap<String, usize>,
    /// Open sockets the server closed later, by code.
    pub closed: BTreeMap<String, usize>,
    pub acks_sent: usize,
}

/// `user` opens sockets from `FLOOD_SOURCE` and acks over each, until `deadline`.
pub async fn socket_flood(base: &str, user: &User, conversation: &str, origin: Instant, deadline: Duration) -> Flood {
    let dialer = Dialer::with_sources(base, vec![FLOOD_SOURCE]).await;
    let open_now = AtomicUsize::new(0);
    let most_open = AtomicUsize::new(0);
    let ack = json!({"type": "ack", "conversation_id": conversation, "seq": 1}).to_string();
    let tasks = (0..FLOOD_TASKS).map(|_| {
        let (dialer, open_now, most_open, ack) = (&dialer, &open_now, &most_open, &ack);
        async move {
            let mut flood = Flood::default();
            let mut held = Vec::new();
            while origin.elapsed() < deadline {
                match dialer.open(user).await {
                    Ok(mut ws) => {
                        flood.opened += 1;
                        let now = open_now.fetch_add(1, Ordering::Relaxed) + 1;
                        most_open.fetch_max(now, Ordering::Relaxed);
                        for _ in 0..ACKS_PER_SOCKET {
                            if ws.send(Message::text(ack.as_str())).await.is_err() {
                                break;
                            }
                            flood.acks_sent += 1;
                        }
                        held.push(ws);
                    }
                    Err(reason) => {
                        *flood.refused.entry(reason).or_default() += 1;
                        tokio::time::sleep(RETRY).await;
                    }
                }
            }
            // What the server did to the sockets this task held: a close frame waiting to
            // be read, or nothing yet (still open).
            for mut ws in held {
                let code = loop {
                    match tokio::time::timeout(Duration::from_millis(10), ws.next()).await {
                        Ok(Some(Ok(Message::Close(close)))) => break Some(close_code(close.as_ref())),
                        Ok(Some(Ok(_))) => continue,
                        Ok(Some(Err(_)) | None) => break Some("abnormal".to_string()),
                        Err(_) => break None,
                    }
                };
                if let Some(code) = code {
                    *flood.closed.entry(code).or_default() += 1;
                }
                open_now.fetch_sub(1, Ordering::Relaxed);
            }
            flood
        }
    });
    let mut all = Flood::default();
    for flood in futures_util::future::join_all(tasks).await {
        all.opened += flood.opened;
        all.acks_sent += flood.acks_sent;
        for (reason, n) in flood.refused {
            *all.refused.entry(reason).or_default() += n;
        }
        for (code, n) in flood.closed {
            *all.closed.entry(code).or_default() += n;
        }
    }
    all.most_open = most_open.load(Ordering::Relaxed);
    all
}

impl Flood {
    pub fn json(&self) -> Value {
        json!({"opened": self.opened, "most_open_at_once": self.most_open, "refused": self.refused,
               "closed_later": self.closed, "acks_sent": self.acks_sent})
    }
}

/// Login-flood answers by status ("error" when the request itself failed).
pub type LoginFlood = BTreeMap<String, usize>;

/// Wrong and right passwords in turn for `account`, `LOGIN_TASKS` at a time, until `deadline`.
pub async fn login_flood(
    base: &str,
    tenant: &str,
    account: &Account,
    origin: Instant,
    deadline: Duration,
) -> LoginFlood {
    let http = reqwest::Client::builder()
        .local_address(LOGIN_SOURCE)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client");
    let url = format!("{base}/api/auth/login/");
    let tasks = (0..LOGIN_TASKS).map(|task| {
        let (http, url) = (&http, &url);
        async move {
            let mut answers = LoginFlood::new();
            let mut attempt = task;
            while origin.elapsed() < deadline {
                let password = if attempt % 2 == 0 { "wrong password" } else { PASSWORD };
                attempt += 1;
                let body = json!({"tenant": tenant, "email": account.email, "password": password});
                let answer = match http.post(url).json(&body).send().await {
                    Ok(resp) => resp.status().as_u16().to_string(),
                    Err(_) => "error".to_string(),
                };
                if answer != "200" && answer != "401" {
                    tokio::time::sleep(RETRY).await;
                }
                *answers.entry(answer).or_default() += 1;
            }
            answers
        }
    });
    let mut all = LoginFlood::new();
    for answers in futures_util::future::join_all(tasks).await {
        for (status, n) in answers {
            *all.entry(status).or_default() += n;
        }
    }
    all
}
