//! Logging in with tenant, email and password: a use of accounts (who the user is) and
//! auth (passwords, sessions, cookies), so it sits above both. Failures are throttled per
//! tenant+email and per client IP (shared by every node through Redis); the answer for a wrong password, an unknown tenant or
//! email and a deactivated user is the same 401.

use std::time::Duration;

use poem::web::cookie::CookieJar;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    accounts,
    auth::{
        cache::CredentialCache,
        control, cookies, csrf, password,
        session::{self, SessionData, Sessions, SESSION_COOKIE},
    },
    client::RequestMeta,
    error::{Error, Result},
    ratelimit::{Quota, RateLimiter},
    realtime::Realtime,
};

/// Five failures per account, refilling one every three minutes.
fn per_account() -> Quota {
    Quota {
        interval: Duration::from_secs(3 * 60),
        burst: 5,
    }
}

/// Fifty failures per client address (an office behind one NAT still logs in).
fn per_ip() -> Quota {
    Quota {
        interval: Duration::from_secs(18),
        burst: 50,
    }
}

pub struct LoggedIn {
    pub user: accounts::User,
    pub session_key: String,
    pub csrf_token: String,
    /// The cookies go out `Secure` (and `__Host-`): the browser talks https to us.
    secure: bool,
}

pub async fn login(
    pool: &PgPool,
    sessions: &Sessions,
    limiter: &RateLimiter,
    tenant: &str,
    email: &str,
    password_attempt: &str,
    client: &RequestMeta,
) -> Result<LoggedIn> {
    let account_key = format!("login:{}:{}", tenant.trim().to_lowercase(), email.trim().to_lowercase());
    let ip_key = format!("login-ip:{}", client.ip.as_deref().unwrap_or("unknown"));
    for (key, quota) in [(&account_key, per_account()), (&ip_key, per_ip())] {
        limiter.allows(key, quota).await.map_err(|wait| Error::RateLimited {
            retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
        })?;
    }

    let candidate = accounts::login_candidate(pool, tenant, email).await?;
    let (stored_hash, usable) = match &candidate {
        Some(c) => (Some(c.password_hash.clone()), c.is_active),
        None => (None, false),
    };
    let password_ok = password::verify(password_attempt, stored_hash).await?;
    let candidate = match candidate {
        Some(c) if password_ok && usable => c,
        _ => {
            // Only failures count; what they answer does not matter here.
            let _ = limiter.take(&account_key, per_account(), 1).await;
            let _ = limiter.take(&ip_key, per_ip(), 1).await;
            return Err(Error::InvalidCredentials);
        }
    };

    let csrf_token = csrf::new_token();
    let session_key = sessions
        .create(&SessionData {
            user_id: candidate.user_id,
            epoch: candidate.session_epoch,
            csrf_token: csrf_token.clone(),
        })
        .await?;
    let user = accounts::user_by_id(pool, candidate.tenant_id, candidate.user_id)
        .await?
        .ok_or(Error::InvalidCredentials)?;
    Ok(LoggedIn {
        user,
        session_key,
        csrf_token,
        secure: client.https,
    })
}

/// Hands a fresh login to the browser: the session cookie it came with (if any) is
/// destroyed — every login starts a new session id — and both cookies are set. A copy
/// of the old cookie stops working on every node at once.
pub async fn establish(
    sessions: &Sessions,
    realtime: &Realtime,
    credentials: &CredentialCache,
    jar: &CookieJar,
    logged_in: LoggedIn,
) -> Result<accounts::User> {
    if let Some(old) = jar.get(SESSION_COOKIE) {
        let old_session = sessions.load(old.value_str()).await?;
        sessions.delete(old.value_str()).await?;
        if let Some(old_session) = old_session {
            let credential = Some(session::credential(old.value_str()));
            control::end_sessions(realtime, credentials, old_session.user_id, credential).await;
        }
    }
    cookies::set_login(
        jar,
        logged_in.session_key,
        logged_in.csrf_token,
        sessions.ttl_seconds(),
        logged_in.secure,
    );
    Ok(logged_in.user)
}

/// Ends a browser's session, the same way for the API and the dashboard's form: the
/// session is destroyed (on every node at once), the cookies are cleared and the sockets
/// it opened close with 4401.
pub async fn logout(
    sessions: &Sessions,
    realtime: &Realtime,
    credentials: &CredentialCache,
    jar: &CookieJar,
    https: bool,
    session_key: &str,
    user_id: Uuid,
) -> Result<()> {
    sessions.delete(session_key).await?;
    cookies::clear(jar, https);
    let ended = Some(session::credential(session_key));
    control::end_sessions(realtime, credentials, user_id, ended).await;
    Ok(())
}
