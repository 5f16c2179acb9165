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
    domain::Role,
    error::{Error, Result},
};

pub const SESSION_COOKIE: &str = "sessionid";

/// How sockets opened with a session are named in `Control::EndSessions`: a digest,
/// so the session key itself never travels through the channel layer.
pub fn credential(session_key: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("session:{}", hex::encode(&Sha256::digest(session_key.as_bytes())[..16]))
}

/// A session handed to a script rather than to a cookie jar (the widget signed in by its
/// host page, which may live on another site where our cookies are not sent) travels as
/// `Authorization: Bearer tcs_<session key>` and as the socket's `?token=`. It is the same
/// session — idle and absolute lifetimes, epoch, logout — only without the cookie, so it
/// needs no CSRF token: a browser never attaches it on its own.
const BEARER_PREFIX: &str = "tcs_";

pub fn as_bearer(session_key: &str) -> String {
    format!("{BEARER_PREFIX}{session_key}")
}

/// The session key inside a bearer token made by `as_bearer`, if it is one.
pub fn from_bearer(token: &str) -> Option<&str> {
    token.strip_prefix(BEARER_PREFIX)
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

/// Session lifetimes: a session ends after `idle` without requests — `admin_idle` when
/// its user is an admin — and in any case `absolute` after login.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub idle: time::Duration,
    pub absolute: time::Duration,
    /// An admin's session opens more doors, so it is given up sooner when left alone.
    pub admin_idle: time::Duration,
}

impl Lifetimes {
    pub fn of(config: &Config) -> Lifetimes {
        Lifetimes {
            idle: time::Duration::seconds(config.session_idle_seconds),
            absolute: time::Duration::seconds(config.session_ttl_seconds),
            admin_idle: time::Duration::seconds(config.admin_session_idle_seconds),
        }
    }

    fn idle_of(&self, role: Role) -> time::Duration {
        match role {
            Role::Admin => self.admin_idle.min(self.idle),
            Role::Read | Role::Write => self.idle,
        }
    }

    /// Until when a session created at `created` and last used at `seen` lives for a
    /// user with `role`. The role is the user's current one: a user made admin lives by
    /// the admin's idle lifetime from the next request on, measured from its last use.
    fn expiry(&self, role: Role, created: time::OffsetDateTime, seen: time::OffsetDateTime) -> time::OffsetDateTime {
        (seen + self.idle_of(role)).min(created + self.absolute)
    }

    /// How often a session's last use is written down: once a minute (one write a minute,
    /// not one a request), or a tenth of the admin idle lifetime when that is shorter, so
    /// the idle time is measured to within a tenth of it.
    fn record_use_every(&self) -> time::Duration {
        REFRESH_EVERY.min(self.admin_idle / 10)
    }
}

/// A session's last use is written down at most this often.
const REFRESH_EVERY: time::Duration = time::Duration::minutes(1);

#[derive(Clone)]
pub struct Sessions {
    store: PostgresStore,
    lifetimes: Lifetimes,
}

/// A session as stored, before its user's role is known; `Sessions::resume` applies the
/// role's idle lifetime and records the use.
pub struct Stored {
    record: Record,
    pub data: SessionData,
    created: time::OffsetDateTime,
    seen: time::OffsetDateTime,
}

fn unix_ms(at: time::OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
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
                ("seen_ms".to_string(), unix_ms(now).into()),
            ]),
            // The stored expiry (what the store and the sweeper go by) is the longest a
            // session can live; an admin's shorter idle lifetime is applied by `resume`.
            expiry_date: self.lifetimes.expiry(Role::Read, now, now),
        };
        // `create` picks another id should the random one already exist.
        self.store.create(&mut record).await.map_err(Error::internal)?;
        Ok(record.id.to_string())
    }

    /// The session behind a cookie value, without recording a use or applying a role's
    /// idle lifetime (for replacing or ending it); `None` for unknown, malformed or
    /// expired ids.
    pub async fn load(&self, cookie_value: &str) -> Result<Option<SessionData>> {
        Ok(self.find(cookie_value).await?.map(|stored| stored.data))
    }

    /// The stored session behind a cookie value; `None` for unknown, malformed or
    /// expired ids. Hand it to `resume` once the user's role is known.
    pub async fn find(&self, cookie_value: &str) -> Result<Option<Stored>> {
        let Ok(id) = cookie_value.parse::<Id>() else {
            return Ok(None);
        };
        let Some(record) = self.store.load(&id).await.map_err(Error::internal)? else {
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
            // Sessions from before `seen_ms` was kept were last written idle before their expiry.
            let seen = match field("seen_ms").and_then(|v| v.as_i64()) {
                Some(ms) => time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()?,
                None => record.expiry_date - self.lifetimes.idle,
            };
            Some((data, created, seen))
        })();
        Ok(parsed.map(|(data, created, seen)| Stored {
            data,
            created,
            seen,
            record,
        }))
    }

    /// Uses a stored session of a user with `role`: `None` (and the session deleted) when
    /// the role's idle lifetime has passed since its last use; otherwise the use is
    /// written down (at most every `record_use_every`) and the answer is the session with
    /// the time by which it must be looked at again — its expiry, or sooner when its next
    /// use is due to be written (a node's cache must not swallow that use).
    pub async fn resume(&self, stored: Stored, role: Role) -> Result<Option<(SessionData, time::OffsetDateTime)>> {
        let Stored {
            mut record,
            data,
            created,
            mut seen,
        } = stored;
        let now = time::OffsetDateTime::now_utc();
        if self.lifetimes.expiry(role, created, seen) <= now {
            self.store.delete(&record.id).await.map_err(Error::internal)?;
            return Ok(None);
        }
        let every = self.lifetimes.record_use_every();
        if now - seen >= every {
            seen = now;
            record.data.insert("seen_ms".to_string(), unix_ms(now).into());
            record.expiry_date = self.lifetimes.expiry(Role::Read, created, now);
            self.store.save(&record).await.map_err(Error::internal)?;
        }
        Ok(Some((
            data,
            self.lifetimes.expiry(role, created, seen).min(seen + every),
        )))
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
            admin_idle: time::Duration::minutes(30),
        };
        let login = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let expiry = |role, seen| lifetimes.expiry(role, login, seen);
        assert_eq!(expiry(Role::Write, login), login + time::Duration::hours(2));
        let later = login + time::Duration::days(3);
        assert_eq!(expiry(Role::Write, later), later + time::Duration::hours(2));
        let near_end = login + time::Duration::days(14) - time::Duration::minutes(30);
        assert_eq!(expiry(Role::Write, near_end), login + time::Duration::days(14));
        assert_eq!(
            expiry(Role::Admin, later),
            later + time::Duration::minutes(30),
            "an admin's session slides by the shorter idle lifetime"
        );
        assert_eq!(lifetimes.record_use_every(), time::Duration::minutes(1));
    }

    #[test]
    fn a_short_admin_idle_lifetime_has_its_uses_recorded_more_often() {
        let lifetimes = Lifetimes {
            idle: time::Duration::hours(2),
            absolute: time::Duration::days(14),
            admin_idle: time::Duration::seconds(2),
        };
        assert_eq!(lifetimes.record_use_every(), time::Duration::milliseconds(200));
    }
}
