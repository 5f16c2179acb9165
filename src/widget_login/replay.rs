//! Signatures already used: a widget sign-in request is good once. Only signatures that
//! verified are remembered, each for twice the timestamp window (a signature cannot pass
//! the window check after that), so the cache holds at most ten minutes of successful
//! sign-ins, themselves capped by the login rate limits. With Redis it is shared by every
//! node (`SET NX` with an expiry); without it, a PostgreSQL table does the same, pruned
//! as rows are added.

use std::time::Duration;

use deadpool_redis::{redis, Pool};
use sqlx::PgPool;

use super::signature::WINDOW_SECONDS;
use crate::error::{Error, Result};

/// How long a used signature is remembered.
const REMEMBER: Duration = Duration::from_secs(2 * WINDOW_SECONDS as u64);

pub enum ReplayCache {
    Redis { pool: Pool, prefix: String },
    Postgres(PgPool),
}

impl ReplayCache {
    pub fn redis(url: &str, prefix: &str) -> std::result::Result<ReplayCache, String> {
        Ok(ReplayCache::Redis {
            pool: crate::realtime::redis::command_pool(url, 4)?,
            prefix: format!("{prefix}:widget-sig:"),
        })
    }

    /// True the first time `signature` (a verified one, in lower-case hex) is seen.
    pub async fn first_use(&self, signature: &str) -> Result<bool> {
        match self {
            ReplayCache::Redis { pool, prefix } => {
                let mut conn = pool.get().await.map_err(Error::internal)?;
                let set: Option<String> = redis::cmd("SET")
                    .arg(format!("{prefix}{signature}"))
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(REMEMBER.as_millis() as u64)
                    .query_async(&mut *conn)
                    .await
                    .map_err(Error::internal)?;
                Ok(set.is_some())
            }
            ReplayCache::Postgres(pool) => {
                sqlx::query("DELETE FROM widget_signatures_used WHERE expires_at < now()")
                    .execute(pool)
                    .await?;
                let inserted = sqlx::query(
                    "INSERT INTO widget_signatures_used (signature, expires_at)
                     VALUES ($1, now() + make_interval(secs => $2))
                     ON CONFLICT (signature) DO NOTHING",
                )
                .bind(signature)
                .bind(REMEMBER.as_secs_f64())
                .execute(pool)
                .await?;
                Ok(inserted.rows_affected() == 1)
            }
        }
    }
}
