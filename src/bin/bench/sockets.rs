//! Sockets as a browser opens them (session cookie, `Origin`), spread over several
//! loopback source addresses so tens of thousands of them do not run out of ports, each
//! read by one task that tallies what arrives until it is told to close — and that
//! writes the `send` frames its `Outbox` is given, answering each with its `send_ok`.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::{
    net::{TcpSocket, TcpStream},
    sync::{mpsc, oneshot},
    task::JoinHandle,
};
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig, Message},
    WebSocketStream,
};
use uuid::Uuid;

use crate::setup::User;

pub type Socket = WebSocketStream<TcpStream>;

/// How long a handshake and the `connected` frame may take before the open counts as failed.
const OPEN_TIMEOUT: Duration = Duration::from_secs(15);

/// Where sockets connect to, and from.
pub struct Dialer {
    server: SocketAddr,
    url: String,
    origin: String,
    sources: Vec<IpAddr>,
    next_source: AtomicUsize,
}

impl Dialer {
    /// `base` is the server's http URL; `sources` loopback addresses 127.0.0.1, .2, … are used in turn.
    pub async fn new(base: &str, sources: usize) -> Dialer {
        Dialer::with_sources(base, loopback_sources(sources)).await
    }

    /// Connects from `sources`, in turn.
    pub async fn with_sources(base: &str, sources: Vec<IpAddr>) -> Dialer {
        let authority = base.split("://").nth(1).unwrap_or(base).trim_end_matches('/');
        let server = tokio::net::lookup_host(authority)
            .await
            .ok()
            .and_then(|mut addrs| addrs.find(SocketAddr::is_ipv4))
            .unwrap_or_else(|| panic!("cannot resolve {authority} to an IPv4 address"));
        Dialer {
            server,
            url: format!("ws://{authority}/ws/chat/"),
            origin: base.trim_end_matches('/').to_string(),
            sources,
            next_source: AtomicUsize::new(0),
        }
    }

    /// The server's address.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// Opens `user`'s socket and waits for its `connected` frame.
    pub async fn open(&self, user: &User) -> Result<Socket, String> {
        let source = self.sources[self.next_source.fetch_add(1, Ordering::Relaxed) % self.sources.len()];
        tokio::time::timeout(OPEN_TIMEOUT, self.handshake(user, source))
            .await
            .unwrap_or_else(|_| Err("timed out".to_string()))
    }

    async fn handshake(&self, user: &User, source: IpAddr) -> Result<Socket, String> {
        let tcp = TcpSocket::new_v4().map_err(|e| e.to_string())?;
        tcp.bind(SocketAddr::new(source, 0))
            .map_err(|e| format!("bind {source}: {e}"))?;
        let stream = tcp.connect(self.server).await.map_err(|e| format!("connect: {e}"))?;
        // As browsers do: a `send` frame goes out at once, not after the last one's ACK.
        stream.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
        let mut request = self.url.as_str().into_client_request().map_err(|e| e.to_string())?;
        let headers = request.headers_mut();
        headers.insert(
            "Cookie",
            HeaderValue::from_str(&user.cookie()).map_err(|e| e.to_string())?,
        );
        headers.insert(
            "Origin",
            HeaderValue::from_str(&self.origin).map_err(|e| e.to_string())?,
        );
        // Small buffers: the bench holds tens of thousands of sockets too.
        let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
        let (mut ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        match ws.next().await {
            Some(Ok(Message::Text(text))) if frame_type(&text) == Some("connected") => Ok(ws),
            Some(Ok(Message::Close(close))) => Err(format!("closed with {}", close_code(close.as_ref()))),
            other => Err(format!("expected the connected frame, got {other:?}")),
        }
    }
}

/// `count` loopback addresses from 127.0.0.1 on (at most 249: the soak's hostile client
/// uses 127.0.0.250 and up).
pub fn loopback_sources(count: usize) -> Vec<IpAddr> {
    (1..=count.clamp(1, 249) as u8)
        .map(|n| IpAddr::from([127, 0, 0, n]))
        .collect()
}

/// The three presence frames of API v2, counted apart.
pub const PRESENCE_KINDS: [&str; 3] = ["presence", "presence_batch", "presence_state"];

/// What one socket received while it was open.
#[derive(Default)]
pub struct Tally {
    /// Bench messages from other users: message key → times received, and the latency
    /// of the first (scheduled send time → arrival).
    pub received: HashMap<u64, (u32, Duration)>,
    /// Presence frames by second since the origin, by kind (in `PRESENCE_KINDS` order).
    pub presence: Vec<[u32; 3]>,
    /// The close code when the server closed the socket ("abnormal": no close frame).
    pub closed_by_server: Option<String>,
}

impl Tally {
    /// Presence frames that arrived in `[from, from + seconds)` (1 s resolution), by kind.
    pub fn presence_between(&self, from: Duration, seconds: u64) -> [u32; 3] {
        let first = from.as_secs() as usize;
        let mut sum = [0; 3];
        for bucket in self.presence.iter().skip(first).take(seconds as usize) {
            for (total, n) in sum.iter_mut().zip(bucket) {
                *total += n;
            }
        }
        sum
    }

    /// `progress` counts first deliveries of keys from `first_key` on (this scenario's).
    fn observe(&mut self, text: &str, at: Duration, me: Uuid, progress: &Progress) {
        match frame_type(text) {
            Some("message_created") => {
                let Ok(frame) = serde_json::from_str::<Created>(text) else {
                    return;
                };
                // The sender's own sockets get its message too; that is not a delivery.
                if frame.message.sender_id == me {
                    return;
                }
                let Some((key, scheduled)) = parse_content(&frame.message.content) else {
                    return;
                };
                let (count, _) = self
                    .received
                    .entry(key)
                    .or_insert_with(|| (0, at.saturating_sub(scheduled)));
                *count += 1;
                if *count == 1 && key >= progress.first_key {
                    progress.delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(kind) => {
                if let Some(i) = PRESENCE_KINDS.iter().position(|k| *k == kind) {
                    let second = at.as_secs() as usize;
                    if self.presence.len() <= second {
                        self.presence.resize(second + 1, [0; 3]);
                    }
                    self.presence[second][i] += 1;
                }
            }
            None => {}
        }
    }
}

#[derive(Deserialize)]
struct Created {
    message: CreatedMessage,
}

#[derive(Deserialize)]
struct CreatedMessage {
    sender_id: Uuid,
    content: String,
}

/// Message keys are unique over the whole run, so a late delivery of an earlier
/// scenario's message is not taken for one of this scenario's.
static NEXT_KEY: AtomicU64 = AtomicU64::new(0);

/// `n` fresh message keys; the first of them.
pub fn take_keys(n: u64) -> u64 {
    NEXT_KEY.fetch_add(n, Ordering::Relaxed)
}

/// The content of a bench message: `bench <key> <scheduled µs since the origin>`.
pub fn content(key: u64, scheduled: Duration) -> String {
    format!("bench {key} {}", scheduled.as_micros())
}

fn parse_content(content: &str) -> Option<(u64, Duration)> {
    let mut parts = content.split(' ');
    if parts.next()? != "bench" {
        return None;
    }
    let key = parts.next()?.parse().ok()?;
    let micros = parts.next()?.parse().ok()?;
    Some((key, Duration::from_micros(micros)))
}

/// The `type` of a server frame without parsing all of it (serde writes the tag first).
fn frame_type(text: &str) -> Option<&str> {
    let rest = &text[text.find("\"type\":\"")? + 8..];
    Some(&rest[..rest.find('"')?])
}

pub fn close_code(close: Option<&tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> String {
    close.map_or("none".to_string(), |c| u16::from(c.code).to_string())
}

/// First deliveries of a scenario's messages so far, over all its sockets.
pub struct Progress {
    first_key: u64,
    delivered: AtomicUsize,
}

impl Progress {
    /// For sockets whose deliveries nobody waits for.
    pub fn unwatched() -> Arc<Progress> {
        Arc::new(Progress {
            first_key: u64::MAX,
            delivered: AtomicUsize::new(0),
        })
    }
}

/// A `send` frame to write, and where its answer goes: `Ok` for `send_ok`, else the
/// `send_error` code.
struct Outgoing {
    client_id: String,
    frame: String,
    answer: oneshot::Sender<Result<(), String>>,
}

/// Sends messages over one reader's socket.
#[derive(Clone)]
pub struct Outbox(mpsc::UnboundedSender<Outgoing>);

impl Outbox {
    /// Sends `content` into `conversation` as a `send` frame; its answer, or `Err` with
    /// `closed` when the socket went before answering.
    pub async fn send(&self, conversation: &str, content: String, client_id: String) -> Result<(), String> {
        let frame = serde_json::json!({
            "type": "send", "conversation_id": conversation, "content": content, "client_id": client_id,
        })
        .to_string();
        let (answer, answered) = oneshot::channel();
        let closed = || "closed".to_string();
        self.0
            .send(Outgoing {
                client_id,
                frame,
                answer,
            })
            .map_err(|_| closed())?;
        answered.await.unwrap_or_else(|_| Err(closed()))
    }
}

/// The answer to a `send` frame.
#[derive(Deserialize)]
struct SendAnswer {
    client_id: String,
    error: Option<String>,
}

/// A socket being read, and the switch that closes it.
pub struct Reader {
    pub user: usize,
    /// The id of the user the socket is open for.
    pub me: Uuid,
    pub outbox: Outbox,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Tally>,
}

impl Reader {
    /// Reads `ws` (opened for user number `user`, id `me`) until told to stop or the server closes it.
    pub fn spawn(ws: Socket, user: usize, me: Uuid, origin: Instant, progress: Arc<Progress>) -> Reader {
        let (stop, mut stopped) = oneshot::channel();
        let (outbox, mut outgoing) = mpsc::unbounded_channel::<Outgoing>();
        let task = tokio::spawn(async move {
            let mut ws = ws;
            let mut tally = Tally::default();
            let mut waiting: HashMap<String, oneshot::Sender<Result<(), String>>> = HashMap::new();
            loop {
                tokio::select! {
                    Some(send) = outgoing.recv() => {
                        if ws.send(Message::text(send.frame)).await.is_ok() {
                            waiting.insert(send.client_id, send.answer);
                        }
                    }
                    frame = ws.next() => match frame {
                        Some(Ok(Message::Text(text))) if matches!(frame_type(&text), Some("send_ok" | "send_error")) => {
                            if let Ok(answer) = serde_json::from_str::<SendAnswer>(&text) {
                                if let Some(waiter) = waiting.remove(&answer.client_id) {
                                    let _ = waiter.send(answer.error.map_or(Ok(()), Err));
                                }
                            }
                        }
                        Some(Ok(Message::Text(text))) => tally.observe(&text, origin.elapsed(), me, &progress),
                        Some(Ok(Message::Close(close))) => {
                            tally.closed_by_server = Some(close_code(close.as_ref()));
                            break;
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => {
                            tally.closed_by_server = Some("abnormal".to_string());
                            break;
                        }
                    },
                    _ = &mut stopped => {
                        let _ = ws.close(None).await;
                        break;
                    }
                }
            }
            tally
        });
        Reader {
            user,
            me,
            outbox: Outbox(outbox),
            stop,
            task,
        }
    }

    /// Closes the socket (if the server has not) and hands back what it received.
    pub async fn close(self) -> Tally {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

/// The sockets of a scenario: opened together, read until closed.
pub struct Sockets {
    /// Zero of the scenario's clock: arrival times and presence windows count from here.
    pub origin: Instant,
    pub readers: Vec<Reader>,
    progress: Arc<Progress>,
    /// Opens that failed, by reason.
    pub failed: HashMap<String, usize>,
    /// From the first open to the last `connected`.
    pub opened_in: Duration,
}

impl Sockets {
    /// Opens one socket for each of `users` (their numbers in `all`), `concurrency` at a time.
    pub async fn open(dialer: &Dialer, all: &[User], users: &[usize], concurrency: usize, origin: Instant) -> Sockets {
        // Keys taken from now on are this scenario's.
        let progress = Arc::new(Progress {
            first_key: take_keys(0),
            delivered: AtomicUsize::new(0),
        });
        let opened: Vec<(usize, Result<Socket, String>)> = futures_util::stream::iter(users)
            .map(|&n| async move { (n, dialer.open(&all[n]).await) })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let mut sockets = Sockets {
            origin,
            readers: Vec::with_capacity(opened.len()),
            progress,
            failed: HashMap::new(),
            opened_in: origin.elapsed(),
        };
        for (n, result) in opened {
            match result {
                Ok(ws) => sockets
                    .readers
                    .push(Reader::spawn(ws, n, all[n].id, origin, sockets.progress.clone())),
                Err(reason) => *sockets.failed.entry(reason).or_default() += 1,
            }
        }
        sockets
    }

    pub fn delivered(&self) -> usize {
        self.progress.delivered.load(Ordering::Relaxed)
    }

    /// Closes the sockets of the users `leaving` picks, all at once; their tallies.
    pub async fn close_where(&mut self, leaving: impl Fn(usize) -> bool) -> Vec<Tally> {
        let (gone, kept) = std::mem::take(&mut self.readers)
            .into_iter()
            .partition(|r| leaving(r.user));
        self.readers = kept;
        close_all(gone).await
    }

    /// Closes every socket at once; their tallies.
    pub async fn close(self) -> Vec<Tally> {
        close_all(self.readers).await
    }
}

async fn close_all(readers: Vec<Reader>) -> Vec<Tally> {
    futures_util::future::join_all(readers.into_iter().map(Reader::close)).await
}
