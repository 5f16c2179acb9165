//! Logging in with tenant, email and password: a use of accounts (who the user is) and
//! auth (passwords, sessions, cookies), so it sits above both. The answer for a wrong
//! password, an unknown tenant or email and a deactivated user is the same 401.
//!
//! Three budgets guard the password check, shared by every node through Redis: failures
//! per tenant+email, failures per client IP, and successes per client IP (each login costs
//! a hash, right password or not). Every attempt *reserves* one from all three in one
//! atomic step before the password is looked at — a check made first and charged after
//! the hash let 26 of 200 concurrent guesses through a budget of five. Once the outcome is
//! known the reservation that does not apply is handed back: a success gives back the two
//! failure budgets, a failure the success budget, and an attempt that was never checked
//! (the hashing queue was full, the database failed) all three. So a user who logs in
//! often never locks their account, and only wrong passwords count as failures.

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

/// What logins are checked against: the shared limiter, and the configured budget of
/// successful logins per client address (`RATE_LOGINS_PER_MINUTE`).
#[derive(Clone, Copy)]
pub struct Throttle<'a> {
    pub limiter: &'a RateLimiter,
    pub successes_per_ip: Quota,
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
    throttle: Throttle<'_>,
    tenant: &str,
    email: &str,
    password_attempt: &str,
    client: &RequestMeta,
) -> Result<LoggedIn> {
    let account_key = format!("login:{}:{}", tenant.trim().to_lowercase(), email.trim().to_lowercase());
    let candidate = throttled(throttle, &account_key, client, async {
        Ok(match check_password(pool, tenant, email, password_attempt).await? {
            Some(candidate) => Attempt::Passed(candidate),
            None => Attempt::Failed(Error::InvalidCredentials),
        })
    })
    .await?;
    start_session(
        pool,
        sessions,
        candidate.tenant_id,
        candidate.user_id,
        candidate.session_epoch,
        client,
    )
    .await
}

/// How a throttled sign-in check ended: passed, or failed in a way that counts against
/// the failure budgets (an error of the check itself counts against none).
pub enum Attempt<T> {
    Passed(T),
    Failed(Error),
}

/// Runs one sign-in check under the three login budgets (see the module comment):
/// `account_key` names the account's failure budget, the client address the other two.
/// Every way of signing in (password, widget signature) shares the address budgets.
pub async fn throttled<T>(
    throttle: Throttle<'_>,
    account_key: &str,
    client: &RequestMeta,
    check: impl std::future::Future<Output = Result<Attempt<T>>>,
) -> Result<T> {
    let ip = client.ip.as_deref().unwrap_or("unknown");
    let (ip_key, success_key) = (format!("login-ip:{ip}"), format!("login-ok-ip:{ip}"));
    let failures = [(account_key, per_account()), (ip_key.as_str(), per_ip())];
    let successes = [(success_key.as_str(), throttle.successes_per_ip)];
    let all = [failures[0], failures[1], successes[0]];
    if let Err(wait) = throttle.limiter.take_all(&all, 1).await {
        count_failure("throttled");
        return Err(Error::rate_limited(wait));
    }
    match check.await {
        Ok(Attempt::Passed(passed)) => {
            throttle.limiter.give_back(&failures, 1).await;
            Ok(passed)
        }
        Ok(Attempt::Failed(refusal)) => {
            throttle.limiter.give_back(&successes, 1).await;
            count_failure("credentials");
            Err(refusal)
        }
        Err(err) => {
            throttle.limiter.give_back(&all, 1).await;
            if matches!(err, Error::ServerBusy { .. }) {
                count_failure("busy");
            }
            Err(err)
        }
    }
}

fn count_failure(reason: &'static str) {
    metrics::counter!(crate::telemetry::metrics::LOGIN_FAILURES, "reason" => reason).increment(1);
}

/// The account, if the password is right and the user active; `None` for every kind of
/// wrong (the password is verified — against a dummy for unknown accounts — either way).
async fn check_password(
    pool: &PgPool,
    tenant: &str,
    email: &str,
    password_attempt: &str,
) -> Result<Option<accounts::LoginCandidate>> {
    let candidate = accounts::login_candidate(pool, tenant, email).await?;
    let (stored_hash, usable) = match &candidate {
        Some(c) => (Some(c.password_hash.clone()), c.is_active),
        None => (None, false),
    };
    let password_ok = password::verify(password_attempt, stored_hash).await?;
    Ok(candidate.filter(|_| password_ok && usable))
}

/// A new session for a user whose credentials were just checked; `epoch` is the
/// user's `session_epoch` read with them.
pub async fn start_session(
    pool: &PgPool,
    sessions: &Sessions,
    tenant_id: Uuid,
    user_id: Uuid,
    epoch: i32,
    client: &RequestMeta,
) -> Result<LoggedIn> {
    let csrf_token = csrf::new_token();
    let session_key = sessions
        .create(&SessionData {
            user_id,
            epoch,
            csrf_token: csrf_token.clone(),
        })
        .await?;
    let user = accounts::user_by_id(pool, tenant_id, user_id)
        .await?
        .ok_or(Error::InvalidCredentials)?;
    Ok(LoggedIn {
        user,
        session_key,
        csrf_token,
        secure: client.https,
    })
}

impl LoggedIn {
    /// The session as a bearer token, for a widget on a page where our cookies do not go.
    pub fn bearer_token(&self) -> String {
        session::as_bearer(&self.session_key)
    }
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
