//! Every metric's name and description, the Prometheus recorder, and the small server
//! that exposes it at `GET /metrics` on `METRICS_BIND`. Code that counts something uses
//! `metrics::counter!(metrics::NAME)` with a name from here, so the names live in one
//! place and `docs/operations.md` lists exactly these.
//!
//! Without `METRICS_BIND` no recorder is installed and every `metrics::` call is a no-op.

use std::{net::SocketAddr, sync::OnceLock, time::Duration};

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::{
    endpoint::make_sync,
    get,
    listener::{Acceptor, Listener, TcpListener},
    IntoResponse, Route, Server,
};
use sqlx::PgPool;

/// Histogram `{method, route, status}`: every HTTP request, from its arrival to its
/// response's head (a WebSocket upgrade: to its 101). `_count` is the request count.
pub const HTTP_REQUEST_DURATION: &str = "tenantchat_http_request_duration_seconds";
/// Gauge: WebSockets open on this node.
pub const SOCKETS_OPEN: &str = "tenantchat_sockets_open";
/// Counter `{type}`: frames written to sockets, by their `type`.
pub const EVENTS_SENT: &str = "tenantchat_events_sent_total";
/// Counter `{code}`: every close the server sends, by close code.
pub const SOCKETS_CLOSED: &str = "tenantchat_sockets_closed_total";
/// Counter: deliveries that could not be queued for a socket (the socket closes with 1013).
pub const EVENTS_DROPPED: &str = "tenantchat_events_dropped_total";
/// Counter: messages stored by a send (REST or socket); idempotent retries not counted.
pub const MESSAGES_SENT: &str = "tenantchat_messages_sent_total";
/// Histogram: one publish to the channel layer (a Redis round trip; in memory, the local fan-out).
pub const PUBLISH_DURATION: &str = "tenantchat_channel_layer_publish_duration_seconds";
/// Counter: the node's Redis pub/sub connection was lost and is being re-established.
pub const CHANNEL_LAYER_RECONNECTS: &str = "tenantchat_channel_layer_reconnects_total";
/// Counter: batched presence frames sent to sockets.
pub const PRESENCE_FRAMES: &str = "tenantchat_presence_frames_total";
/// Gauges: the PostgreSQL pool's open connections, idle ones, and its maximum.
pub const DB_POOL_SIZE: &str = "tenantchat_db_pool_connections";
pub const DB_POOL_IDLE: &str = "tenantchat_db_pool_idle_connections";
pub const DB_POOL_MAX: &str = "tenantchat_db_pool_max_connections";
/// Gauge: HTTP connections open on this node (chat sockets included).
pub const CONNECTIONS_OPEN: &str = "tenantchat_connections_open";
/// Counter `{reason}`: connections closed at once by a cap (`per_ip`, `total`).
pub const CONNECTIONS_REFUSED: &str = "tenantchat_connections_refused_total";
/// Counter `{phase}`: requests cut by a read timeout (`header`, `body`).
pub const HTTP_TIMEOUTS: &str = "tenantchat_http_timeouts_total";
/// Counter `{reason}`: chat sockets refused after authentication (`per_user`: the cap).
pub const SOCKETS_REFUSED: &str = "tenantchat_sockets_refused_total";
/// Counter `{reason}`: refused logins (credentials, throttled, busy).
pub const LOGIN_FAILURES: &str = "tenantchat_login_failures_total";
/// Counter `{action, audited}`: refused attempts (chat 403s, admin refusals), and whether
/// each was written to the audit log (the per-user budget of audited refusals).
pub const PERMISSION_DENIALS: &str = "tenantchat_permission_denials_total";

/// Latency buckets (seconds) for every `_seconds` histogram: from a millisecond (a
/// cached read, a local publish) to 10 s (a request stuck behind a pool or a lock).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Histogram samples wait in the recorder until rendered; between scrapes (or with no
/// scraper at all) upkeep folds them into the buckets so memory stays flat.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

fn describe() {
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "HTTP requests by method, matched route and status, and their latency."
    );
    describe_gauge!(SOCKETS_OPEN, "WebSockets open on this node.");
    describe_counter!(EVENTS_SENT, "Frames written to WebSockets, by type.");
    describe_counter!(SOCKETS_CLOSED, "WebSocket closes sent by the server, by close code.");
    describe_counter!(
        EVENTS_DROPPED,
        "Deliveries that could not be queued for a socket; the socket was closed with 1013."
    );
    describe_counter!(MESSAGES_SENT, "Messages stored by a send (REST or WebSocket).");
    describe_histogram!(
        PUBLISH_DURATION,
        Unit::Seconds,
        "Latency of one publish to the channel layer."
    );
    describe_counter!(
        CHANNEL_LAYER_RECONNECTS,
        "Losses of the node's Redis pub/sub connection."
    );
    describe_counter!(PRESENCE_FRAMES, "Batched presence frames sent to sockets.");
    describe_gauge!(
        DB_POOL_SIZE,
        "Open PostgreSQL connections of the pool (idle and in use)."
    );
    describe_gauge!(DB_POOL_IDLE, "Idle PostgreSQL connections of the pool.");
    describe_gauge!(DB_POOL_MAX, "The pool's maximum (DATABASE_MAX_CONNECTIONS).");
    describe_gauge!(
        CONNECTIONS_OPEN,
        "HTTP connections open on this node, chat sockets included."
    );
    describe_counter!(
        CONNECTIONS_REFUSED,
        "Connections closed at once by the per-address or the process cap."
    );
    describe_counter!(HTTP_TIMEOUTS, "Requests cut by the header or body read timeout.");
    describe_counter!(
        SOCKETS_REFUSED,
        "Chat sockets closed with 1008 because their user holds too many on this node."
    );
    describe_counter!(LOGIN_FAILURES, "Refused logins, by reason.");
    describe_counter!(
        PERMISSION_DENIALS,
        "Refused attempts by audit action, and whether each was audited."
    );
}

/// The process's recorder, installed on first use. The recorder is process-global, so
/// every app of one process (the tests run several) shares it.
fn recorder() -> Result<&'static PrometheusHandle, String> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder)
                .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
            describe();
            // Counters that stay 0 in a healthy node are shown from the start, so an alert
            // on them has a series to watch.
            for counter in [EVENTS_DROPPED, MESSAGES_SENT, CHANNEL_LAYER_RECONNECTS] {
                metrics::counter!(counter).increment(0);
            }
            metrics::gauge!(SOCKETS_OPEN).increment(0.0);
            Ok(handle)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Installs the recorder and serves `GET /metrics` on `bind` (a separate listener, never
/// the public one) until the process ends. Returns the address it listens on.
pub async fn serve(bind: &str, pool: PgPool) -> Result<SocketAddr, String> {
    let handle = recorder()?;
    let acceptor = TcpListener::bind(bind.to_string())
        .into_acceptor()
        .await
        .map_err(|e| format!("cannot listen on METRICS_BIND {bind}: {e}"))?;
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|addr| addr.as_socket_addr().copied())
        .ok_or_else(|| format!("METRICS_BIND {bind} is not a TCP address"))?;
    let scrape = make_sync(move |_| {
        sample_pool(&pool);
        handle
            .render()
            .with_content_type("text/plain; version=0.0.4; charset=utf-8")
    });
    tokio::spawn(Server::new_with_acceptor(acceptor).run(Route::new().at("/metrics", get(scrape))));
    tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    });
    tracing::info!(%addr, "metrics listening");
    Ok(addr)
}

/// The pool's use, read when scraped.
fn sample_pool(pool: &PgPool) {
    metrics::gauge!(DB_POOL_SIZE).set(pool.size() as f64);
    metrics::gauge!(DB_POOL_IDLE).set(pool.num_idle() as f64);
    metrics::gauge!(DB_POOL_MAX).set(pool.options().get_max_connections() as f64);
}
