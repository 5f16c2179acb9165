//! A fake webhook receiver on 127.0.0.1 for the webhook tests: a small HTTP/1.1 server
//! (keep-alive, `Content-Length` bodies), plain or over TLS, that answers each request as
//! the test says and reports every request it got.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader},
    net::TcpListener,
    sync::mpsc,
};
use tokio_rustls::{rustls, TlsAcceptor};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or_default()
    }
}

/// What the receiver answers to its n-th request (0-based): a status and extra header lines.
pub type Answer = Arc<dyn Fn(usize) -> (u16, String) + Send + Sync>;

pub struct Receiver {
    pub url: String,
    pub port: u16,
    requests: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    /// Answers 200 to everything.
    pub async fn ok() -> Receiver {
        Receiver::start(Arc::new(|_| (200, String::new()))).await
    }

    pub async fn start(answer: Answer) -> Receiver {
        Receiver::start_slow(answer, Duration::ZERO).await
    }

    /// Like `start`, taking `delay` before each answer.
    pub async fn start_slow(answer: Answer, delay: Duration) -> Receiver {
        Receiver::listen(answer, delay, None).await
    }

    /// Like `start`, over TLS with `tls` (the receiver's certificate): an `https://` URL.
    pub async fn start_tls(answer: Answer, tls: Arc<rustls::ServerConfig>) -> Receiver {
        Receiver::listen(answer, Duration::ZERO, Some(TlsAcceptor::from(tls))).await
    }

    async fn listen(answer: Answer, delay: Duration, tls: Option<TlsAcceptor>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, requests) = mpsc::unbounded_channel();
        let count = Arc::new(AtomicUsize::new(0));
        let scheme = if tls.is_some() { "https" } else { "http" };
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (tx, answer, count, tls) = (tx.clone(), answer.clone(), count.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        // A handshake the client refuses (an untrusted certificate) ends here.
                        Some(tls) => {
                            if let Ok(socket) = tls.accept(socket).await {
                                serve(socket, tx, answer, count, delay).await;
                            }
                        }
                        None => serve(socket, tx, answer, count, delay).await,
                    }
                });
            }
        });
        Receiver {
            url: format!("{scheme}://127.0.0.1:{port}/hook"),
            port,
            requests,
        }
    }

    /// The next request; fails the test if none comes within 30 s.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(30), self.requests.recv())
            .await
            .expect("the receiver got no request within 30 s")
            .unwrap()
    }

    /// The next request within `wait`, if any.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Received> {
        tokio::time::timeout(wait, self.requests.recv()).await.ok().flatten()
    }
}

/// Answers the requests of one connection, plain or TLS, until it closes.
async fn serve(
    socket: impl AsyncRead + AsyncWrite + Unpin,
    tx: mpsc::UnboundedSender<Received>,
    answer: Answer,
    count: Arc<AtomicUsize>,
    delay: Duration,
) {
    let (read, mut write) = tokio::io::split(socket);
    let mut read = BufReader::new(read);
    while let Some(received) = read_request(&mut read).await {
        let (status, extra) = answer(count.fetch_add(1, Ordering::SeqCst));
        let _ = tx.send(received);
        tokio::time::sleep(delay).await;
        let head = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n{extra}\r\n");
        if write.write_all(head.as_bytes()).await.is_err() || write.flush().await.is_err() {
            break;
        }
    }
}

pub async fn read_request(read: &mut BufReader<impl AsyncRead + Unpin>) -> Option<Received> {
    let mut line = String::new();
    if read.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut headers = HashMap::new();
    loop {
        line.clear();
        read.read_line(&mut line).await.ok()?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    read.read_exact(&mut body).await.ok()?;
    Some(Received {
        headers,
        body,
        at: Instant::now(),
    })
}
