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

use crate::{
    config::Config,
    error::{Error, Result},
};

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

/// Session lifetimes: a session ends after `idle` without requests, and in any case
/// `absolute` after login.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub idle: time::Duration,
    pub absolute: time::Duration,
}

impl Lifetimes {
    pub fn of(config: &Config) -> Lifetimes {
        Lifetimes {
            idle: time::Duration::seconds(config.session_idle_seconds),
            absolute: time::Duration::seconds(config.session_ttl_seconds),
        }
    }

    /// Until when a session created at `created` and used `now` lives.
    fn expiry(&self, created: time::OffsetDateTime, now: time::OffsetDateTime) -> time::OffsetDateTime {
        (now + self.idle).min(created + self.absolute)
    }
}

/// A session's expiry moves forward at most this often (one write a minute, not one a request).
const REFRESH_EVERY: time::Duration = time::Duration::minutes(1);

#[derive(Clone)]
pub struct Sessions {
    store: PostgresStore,
    lifetimes: Lifetimes,
}

impl Sessions {
    pub fn new(pool: sqlx::PgPool, lifetimes: Lifetimes) -> Self {
        let store = PostgresStore::new(pool)
            .with_schema_name("public")
            .and_then(|store| store.with_table_name("sessions"))
            .expect("valid identifiers");
        Sessions { store, lifetimes }
    }

    /// The cookie's `Max-Age`: the absolute lifetime (the server enforces the idle one).
    pub fn ttl_seconds(&self) -> i64 {
        self.lifetimes.absolute.whole_seconds()
    }

    /// Stores a new session under a fresh random id and returns the id for the cookie.
    pub async fn create(&self, data: &SessionData) -> Result<String> {
        let now = time::OffsetDateTime::now_utc();
        let mut record = Record {
            id: Id::default(),
            data: HashMap::from([
                ("user_id".to_string(), data.user_id.to_string().into()),
                ("epoch".to_string(), data.epoch.into()),
                ("csrf".to_string(), data.csrf_token.clone().into()),
                ("created".to_string(), now.unix_timestamp().into()),
            ]),
            expiry_date: self.lifetimes.expiry(now, now),
        };
        // `create` picks another id should the random one already exist.
        self.store.create(&mut record).await.map_err(Error::internal)?;
        Ok(record.id.to_string())
    }

    /// The session behind a cookie value; `None` for unknown, malformed or expired ids.
    /// A session in use has its idle expiry pushed forward (at most once a minute).
    pub async fn load(&self, cookie_value: &str) -> Result<Option<SessionData>> {
        let Ok(id) = cookie_value.parse::<Id>() else {
            return Ok(None);
        };
        let Some(mut record) = self.store.load(&id).await.map_err(Error::internal)? else {
            return Ok(None);
        };
        let field = |key: &str| record.data.get(key);
        let parsed = (|| {
            let data = SessionData {
                user_id: field("user_id")?.as_str()?.parse().ok()?,
                epoch: i32::try_from(field("epoch")?.as_i64()?).ok()?,
                csrf_token: field("csrf")?.as_str()?.to_string(),
            };
            let created = time::OffsetDateTime::from_unix_timestamp(field("created")?.as_i64()?).ok()?;
            Some((data, created))
        })();
        let Some((data, created)) = parsed else {
            return Ok(None);
        };
        let now = time::OffsetDateTime::now_utc();
        let expiry = self.lifetimes.expiry(created, now);
        if expiry <= now {
            self.store.delete(&id).await.map_err(Error::internal)?;
            return Ok(None);
        }
        if expiry - record.expiry_date >= REFRESH_EVERY {
            record.expiry_date = expiry;
            self.store.save(&record).await.map_err(Error::internal)?;
        }
        Ok(Some(data))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_lives_idle_past_its_last_use_but_never_past_its_absolute_end() {
        let lifetimes = Lifetimes {
            idle: time::Duration::hours(2),
            absolute: time::Duration::days(14),
        };
        let login = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        assert_eq!(lifetimes.expiry(login, login), login + time::Duration::hours(2));
        let later = login + time::Duration::days(3);
        assert_eq!(lifetimes.expiry(login, later), later + time::Duration::hours(2));
        let near_end = login + time::Duration::days(14) - time::Duration::minutes(30);
        assert_eq!(lifetimes.expiry(login, near_end), login + time::Duration::days(14));
    }
}
