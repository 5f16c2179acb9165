//! `GET /healthz` and `GET /readyz`, for load balancers and orchestrators: no
//! authentication, no rate limit, and not in the OpenAPI document (they are not part of
//! the chat API; `docs/operations.md` describes them). `probe` is their client, for the
//! `tenantchat healthcheck` command of container health checks.

use std::time::Duration;

use poem::{
    handler,
    http::StatusCode,
    web::{Data, Json},
    IntoResponse, Response,
};
use serde_json::json;
use sqlx::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::state::AppState;

/// How long each dependency may take to answer before the node counts as not ready.
const CHECK_WAIT: Duration = Duration::from_secs(1);

/// The process serves.
#[handler]
pub fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// The node can serve: PostgreSQL and Redis (when configured) answer within
/// `CHECK_WAIT`, checked at once, and it is not shutting down.
#[handler]
pub async fn readyz(state: Data<&AppState>) -> Response {
    if state.realtime.is_shutting_down() {
        return unavailable(json!({"status": "shutting_down", "failed": []}));
    }
    let database = async {
        let mut conn = state.pool.acquire().await.map_err(|e| e.to_string())?;
        conn.ping().await.map_err(|e| e.to_string())
    };
    let redis = async {
        match state.config.redis_url {
            Some(_) => state.realtime.ping().await,
            None => Ok(()),
        }
    };
    let (database, redis) = tokio::join!(within(database), within(redis));
    let failed: Vec<&str> = [("database", database), ("redis", redis)]
        .into_iter()
        .filter_map(|(name, result)| {
            let error = result.err()?;
            tracing::warn!(dependency = name, %error, "not ready");
            Some(name)
        })
        .collect();
    if failed.is_empty() {
        Json(json!({"status": "ok"})).into_response()
    } else {
        unavailable(json!({"status": "unavailable", "failed": failed}))
    }
}

async fn within(check: impl std::future::Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(CHECK_WAIT, check)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {CHECK_WAIT:?}")))
}

fn unavailable(body: serde_json::Value) -> Response {
    Json(body).with_status(StatusCode::SERVICE_UNAVAILABLE).into_response()
}

/// How long `probe` waits for the whole exchange.
const PROBE_WAIT: Duration = Duration::from_secs(5);

/// `GET /readyz` of the server listening on `bind` (an unspecified address such as
/// `0.0.0.0:8000` is asked on loopback): Ok when it answers 200.
pub async fn probe(bind: &str) -> Result<(), String> {
    let address = match bind.parse::<std::net::SocketAddr>() {
        Ok(mut addr) if addr.ip().is_unspecified() => {
            addr.set_ip(match addr {
                std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
            addr.to_string()
        }
        _ => bind.to_string(),
    };
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(&address).await?;
        stream
            .write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        Ok::<_, std::io::Error>(head)
    };
    let head = tokio::time::timeout(PROBE_WAIT, exchange)
        .await
        .map_err(|_| format!("{address} did not answer within {PROBE_WAIT:?}"))?
        .map_err(|e| format!("{address}: {e}"))?;
    // "HTTP/1.1 200"
    match head.get(9..12) {
        Some(b"200") => Ok(()),
        _ => Err(format!("{address} answered {}", String::from_utf8_lossy(&head))),
    }
}
