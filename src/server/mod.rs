//! Serving the endpoint on a TCP listener, for the binary (`serve`) and the tests alike,
//! with what a public port needs against clients that do not play fair:
//!
//! - a connection beyond `MAX_CONNECTIONS` in all, or `MAX_CONNECTIONS_PER_IP` from one
//!   client address, is closed as soon as it is accepted (`admission`);
//! - a request head (the first, or the next one on a kept-alive connection) must arrive
//!   within `HTTP_HEADER_TIMEOUT_SECONDS`, so idle keep-alive connections close after
//!   that long too; a body may not go silent for `HTTP_BODY_TIMEOUT_SECONDS` (`body`);
//! - a response sent before its request's body was read closes the connection (`body`).
//!
//! Upgraded connections (chat sockets) leave hyper and these timeouts behind; they keep
//! their place in the caps and have their own ping and idle check (`ws`).
//!
//! Why not poem's `Server`: it gives hyper no timer, so hyper's header timeout is off,
//! and its idle timeout neither closes a connection still sending its first head nor
//! survives a client that trickles a byte now and then; nor can it count connections per
//! peer. Here hyper's HTTP/1 connection is driven directly and poem's endpoint answers
//! each request. HTTP/2 without TLS (h2c), which browsers never speak and nginx does not
//! send upstream, is not offered.

mod admission;
mod body;

use std::{
    convert::Infallible,
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use poem::{
    endpoint::BoxEndpoint,
    http::uri::Scheme,
    web::{LocalAddr, RemoteAddr},
    Addr, Endpoint,
};
use tokio::{net::TcpListener, sync::watch};

use crate::config::Config;
use admission::Admission;

/// How long shutdown waits for the connections in flight.
const DRAIN: Duration = Duration::from_secs(10);
/// After a failed accept (out of file descriptors, most likely), the loop pauses before
/// the next: the error repeats until a connection closes, and retrying at once would
/// only spin a core. (A client that went away before its accept needs no pause.)
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// The share of the open-file limit connections may use by default; the rest is for the
/// database and Redis connections, staged uploads and files being served.
const CONNECTIONS_SHARE_OF_FILES: (u64, u64) = (9, 10);

/// The protections of `run`, from the configuration.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub total: u32,
    /// `None`: not capped per address.
    pub per_ip: Option<usize>,
    /// Not counted per address: the trusted proxies.
    pub exempt: Vec<IpAddr>,
}

impl ConnectionLimits {
    pub fn of(config: &Config) -> ConnectionLimits {
        let total = match config.max_connections {
            0 => {
                let (share, of) = CONNECTIONS_SHARE_OF_FILES;
                open_file_limit().saturating_mul(share) / of
            }
            cap => cap as u64,
        };
        ConnectionLimits {
            header_timeout: Duration::from_secs(config.http_header_timeout_seconds),
            body_timeout: Duration::from_secs(config.http_body_timeout_seconds),
            total: total.clamp(1, u64::from(u32::MAX)) as u32,
            per_ip: Some(config.max_connections_per_ip).filter(|&cap| cap > 0),
            exempt: config.trusted_proxies.clone(),
        }
    }
}

/// The soft limit on open files of this process.
#[cfg(unix)]
fn open_file_limit() -> u64 {
    use nix::sys::resource::{getrlimit, Resource};
    getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft)
}

#[cfg(not(unix))]
fn open_file_limit() -> u64 {
    8192
}

/// Serves `endpoint` on `listener` until `shutdown` completes, then stops accepting, asks
/// every connection to finish its request in flight, and waits for them (at most 10 s).
pub async fn run(
    listener: TcpListener,
    endpoint: BoxEndpoint<'static>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let local = listener.local_addr()?;
    tracing::info!(total = limits.total, per_ip = ?limits.per_ip, "connection caps");
    let admission = Admission::new(limits.total, limits.per_ip.unwrap_or(usize::MAX), &limits.exempt);
    let endpoint = Arc::new(endpoint);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // A client that gave up before its accept: nothing to wait for.
                Err(err) if is_connection_error(&err) => continue,
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
        };
        let admitted = match admission.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(refused) => {
                tracing::debug!(peer = %peer.ip(), reason = refused.as_str(), "connection refused");
                metrics::counter!(crate::telemetry::metrics::CONNECTIONS_REFUSED, "reason" => refused.as_str())
                    .increment(1);
                continue;
            }
        };
        // Small writes go out at once: a socket answers a `send` with `send_ok` and then
        // `message_created`, and Nagle's algorithm would hold each such frame until the
        // client acknowledged the one before (up to its 40 ms delayed ACK).
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "could not set TCP_NODELAY");
        }
        let connection = Connection {
            local,
            peer,
            endpoint: endpoint.clone(),
            body_timeout: limits.body_timeout,
        };
        let served = http
            .serve_connection(
                TokioIo::new(admitted.hold(stream)),
                service_fn(move |req| connection.clone().respond(req)),
            )
            .with_upgrades();
        let mut stopping = stopping.clone();
        // Until the connection ends, or until shutdown; then its request in flight may
        // finish (hyper answers it with `Connection: close`).
        tokio::spawn(async move {
            tokio::pin!(served);
            ended(tokio::select! {
                result = served.as_mut() => result,
                _ = async { stopping.wait_for(|stop| *stop).await.map(|_| ()) } => {
                    served.as_mut().graceful_shutdown();
                    served.await
                }
            });
        });
    }
    drop(listener);
    stop.send_replace(true);
    if tokio::time::timeout(DRAIN, admission.drained()).await.is_err() {
        tracing::warn!("connections still open after the shutdown grace period");
    }
    Ok(())
}

fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
    )
}

/// How a connection ended, when it was not by the client's choice.
fn ended(result: hyper::Result<()>) {
    if let Err(err) = result {
        if err.is_timeout() {
            metrics::counter!(crate::telemetry::metrics::HTTP_TIMEOUTS, "phase" => "header").increment(1);
        }
        tracing::debug!(error = %err, "connection ended with an error");
    }
}

/// What each request of one connection needs.
#[derive(Clone)]
struct Connection {
    local: SocketAddr,
    peer: SocketAddr,
    endpoint: Arc<BoxEndpoint<'static>>,
    body_timeout: Duration,
}

impl Connection {
    async fn respond(
        self,
        req: poem::http::Request<Incoming>,
    ) -> Result<poem::http::Response<BoxBody<Bytes, io::Error>>, Infallible> {
        let mut req = poem::Request::from((
            req,
            LocalAddr(Addr::SocketAddr(self.local)),
            RemoteAddr(Addr::SocketAddr(self.peer)),
            Scheme::HTTP,
        ));
        let watch = body::watch(&mut req, self.body_timeout);
        let response = self.endpoint.get_response(req).await;
        Ok(watch.settle(response).into())
    }
}
