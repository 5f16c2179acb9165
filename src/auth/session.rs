//! Server-side sessions kept in PostgreSQL through tower-sessions' `SessionStore`
//! (tower-sessions-sqlx-store's `PostgresStore`), the equivalent of Django's
//! `django_session`.
//!
//! We use the store and its record format directly instead of tower-sessions' tower
//! layer: poem is not a tower stack, and the few things a session does here (create one at
//! login with a fresh id, read it per request, delete it at logout) are clearer as three
//! calls than as an adapter around a lazily-loaded `Session`.

use std::collections::HashMap;

use tower_sessions::{
    session::{Id, Record},
    SessionStore,
};
use tower_sessions_sqlx_store::PostgresStore;
use uuid::Uuid;

use crate::error::{Error, Result};

pub const SESSION_COOKIE: &str = "sessionid";

/// How sockets opened with a session are named in `Control::EndSessions`: a digest,
/// so the session key itself never travels through the channel layer.
pub fn credential(session_key: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("session:{}", hex::encode(&Sha256::digest(session_key.as_bytes())[..16]))
}

/// What a session remembers about its user.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionData {
    pub user_id: Uuid,
    /// The user's `session_epoch` at login; bumping the epoch ends every session.
    pub epoch: i32,
    /// The CSRF secret bound to this session (also sent as the `csrftoken` cookie).
    pub csrf_token: String,
}

#[derive(Clone)]
pub struct Sessions {
    store: PostgresStore,
    ttl: time::Duration,
}

impl Sessions {
    pub fn new(pool: sqlx::PgPool, ttl_seconds: i64) -> Self {
        let store = PostgresStore::new(pool)
            .with_schema_name("public")
            .and_then(|store| store.with_table_name("sessions"))
            .expect("valid identifiers");
        Sessions {
            store,
            ttl: time::Duration::seconds(ttl_seconds),
        }
    }

    pub fn ttl_seconds(&self) -> i64 {
        self.ttl.whole_seconds()
    }

    /// Stores a new session under a fresh random id and returns the id for the cookie.
    pub async fn create(&self, data: &SessionData) -> Result<String> {
        let mut record = Record {
            id: Id::default(),
            data: HashMap::from([
                ("user_id".to_string(), data.user_id.to_string().into()),
                ("epoch".to_string(), data.epoch.into()),
                ("csrf".to_string(), data.csrf_token.clone().into()),
            ]),
            expiry_date: time::OffsetDateTime::now_utc() + self.ttl,
        };
        // `create` picks another id should the random one already exist.
        self.store.create(&mut record).await.map_err(Error::internal)?;
        Ok(record.id.to_string())
    }

    /// The session behind a cookie value; `None` for unknown, malformed or expired ids.
    pub async fn load(&self, cookie_value: &str) -> Result<Option<SessionData>> {
        let Ok(id) = cookie_value.parse::<Id>() else {
            return Ok(None);
        };
        let Some(record) = self.store.load(&id).await.map_err(Error::internal)? else {
            return Ok(None);
        };
        let field = |key: &str| record.data.get(key);
        let data = (|| {
            Some(SessionData {
                user_id: field("user_id")?.as_str()?.parse().ok()?,
                epoch: i32::try_from(field("epoch")?.as_i64()?).ok()?,
                csrf_token: field("csrf")?.as_str()?.to_string(),
            })
        })();
        Ok(data)
    }

    pub async fn delete(&self, cookie_value: &str) -> Result<()> {
        if let Ok(id) = cookie_value.parse::<Id>() {
            self.store.delete(&id).await.map_err(Error::internal)?;
        }
        Ok(())
    }

    /// Deletes expired sessions every `period`, for as long as the server runs.
    pub fn spawn_expired_sweeper(&self, period: std::time::Duration) {
        use tower_sessions::ExpiredDeletion;
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(err) = store.continuously_delete_expired(period).await {
                tracing::warn!(error = %err, "expired session sweeper stopped");
            }
        });
    }
}
