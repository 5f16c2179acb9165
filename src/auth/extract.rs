//! The two ways to authenticate, as poem-openapi security schemes so both appear in the
//! OpenAPI document: a bearer API token, or the session cookie (with CSRF on unsafe
//! methods). `Auth` tries them in that order and yields the `Actor`, from the
//! `CredentialCache` when this node checked the same credential seconds ago. Every
//! authenticated request also counts as presence for clients on the polling fallback,
//! and names its tenant and user for the request log.

use std::{
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use poem::Request;
use poem_openapi::{
    auth::{ApiKey, Bearer},
    SecurityScheme,
};
use sqlx::PgPool;

use super::{
    cache::CredentialCache,
    csrf, load_actor,
    session::{self, SessionData, Sessions},
    tokens, Actor,
};
use crate::{error::Error, realtime::presence::Presence, telemetry::requests};

/// What the security schemes need from the application, attached to every route by
/// `lib.rs` (auth sits below the application state, so it cannot read `AppState`).
#[derive(Clone)]
pub struct Verifier {
    pub pool: PgPool,
    pub sessions: Sessions,
    pub presence: Arc<Presence>,
    pub credentials: Arc<CredentialCache>,
}

/// `Authorization: Bearer <token>` with a token from `POST /api/auth/tokens/`, or the
/// `token` of a widget sign-in (a session, see `session::as_bearer`). Exempt from CSRF.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_bearer")]
pub struct BearerAuth(pub Actor);

/// The `sessionid` cookie (`session::SESSION_COOKIE`) set by `POST /api/auth/login/`. Unsafe methods also need the
/// `X-CSRFToken` header equal to the `csrftoken` cookie.
#[derive(SecurityScheme)]
#[oai(ty = "api_key", key_name = "sessionid", key_in = "cookie", checker = "check_session")]
pub struct CookieAuth(pub SessionActor);

pub struct SessionActor {
    pub actor: Actor,
    /// The session cookie's value, so logout can destroy exactly this session.
    pub session_key: String,
}

#[derive(SecurityScheme)]
pub enum Auth {
    Bearer(BearerAuth),
    Cookie(CookieAuth),
}

impl Auth {
    pub fn actor(&self) -> &Actor {
        match self {
            Auth::Bearer(BearerAuth(actor)) => actor,
            Auth::Cookie(CookieAuth(session)) => &session.actor,
        }
    }
}

/// Where the security schemes leave the authenticated caller for code around a handler
/// that must know who was refused once the handler has consumed its `Auth` (`api`'s
/// audit of chat refusals). That code attaches one to the request; elsewhere there is none.
#[derive(Clone, Default)]
pub struct CallerSlot(Arc<OnceLock<Actor>>);

impl CallerSlot {
    pub fn get(&self) -> Option<Actor> {
        self.0.get().copied()
    }
}

fn remember_caller(req: &Request, actor: Actor) {
    if let Some(slot) = req.data::<CallerSlot>() {
        let _ = slot.0.set(actor);
    }
}

fn verifier(req: &Request) -> &Verifier {
    req.data::<Verifier>().expect("the Verifier is attached to every route")
}

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Actor> {
    let verifier = verifier(req);
    let actor = match session::from_bearer(&bearer.token) {
        Some(session_key) => cached_session_actor(verifier, session_key)
            .await?
            .map(|(actor, _)| actor),
        None => token_actor(verifier, &bearer.token).await?,
    }
    .ok_or(Error::NotAuthenticated)?;
    requests::identify(req, actor.tenant_id(), actor.user_id());
    verifier.presence.touch(actor.tenant_id(), actor.user_id()).await;
    remember_caller(req, actor);
    Ok(actor)
}

async fn token_actor(verifier: &Verifier, token: &str) -> crate::error::Result<Option<Actor>> {
    if !tokens::well_formed(token) {
        return Ok(None);
    }
    let digest = tokens::digest(token);
    if let Some(actor) = verifier.credentials.token(&digest) {
        return Ok(Some(actor));
    }
    let ticket = verifier.credentials.ticket();
    let found = tokens::resolve_digest(&verifier.pool, &digest).await?;
    if let Some((actor, _)) = found {
        verifier.credentials.put_token(ticket, &digest, actor);
    }
    Ok(found.map(|(actor, _)| actor))
}

async fn check_session(req: &Request, cookie: ApiKey) -> poem::Result<SessionActor> {
    let verifier = verifier(req);
    let (actor, csrf_token) = cached_session_actor(verifier, &cookie.key)
        .await?
        .ok_or(Error::NotAuthenticated)?;
    // Known even when its CSRF check fails: the log line then says whose request it was.
    requests::identify(req, actor.tenant_id(), actor.user_id());
    if !csrf::passes(req, &csrf_token) {
        return Err(Error::CsrfFailed.into());
    }
    verifier.presence.touch(actor.tenant_id(), actor.user_id()).await;
    remember_caller(req, actor);
    Ok(SessionActor {
        actor,
        session_key: cookie.key,
    })
}

/// `session_actor` through the cache: the actor and the session's CSRF secret.
async fn cached_session_actor(verifier: &Verifier, session_key: &str) -> crate::error::Result<Option<(Actor, String)>> {
    if let Some(hit) = verifier.credentials.session(session_key) {
        return Ok(Some(hit));
    }
    Ok(
        session_actor(&verifier.pool, &verifier.sessions, &verifier.credentials, session_key)
            .await?
            .map(|(actor, session)| (actor, session.csrf_token)),
    )
}

/// The actor behind a session cookie value, with the session: `None` when the session
/// is unknown or expired, its user deactivated, or its epoch outdated. Always asks the
/// database (a socket checks once more this way after it subscribed), and remembers the
/// answer in `credentials` for the requests that follow: the widget's first calls after
/// its socket opened (or a page loaded) cost no round trip.
pub async fn session_actor(
    pool: &PgPool,
    sessions: &Sessions,
    credentials: &CredentialCache,
    session_key: &str,
) -> crate::error::Result<Option<(Actor, SessionData)>> {
    let ticket = credentials.ticket();
    let Some((actor, session, recheck_by)) = load_session_actor(pool, sessions, session_key).await? else {
        return Ok(None);
    };
    let left = Duration::try_from(recheck_by - time::OffsetDateTime::now_utc()).unwrap_or_default();
    credentials.put_session(
        ticket,
        session_key,
        actor,
        session.csrf_token.clone(),
        Instant::now() + left,
    );
    Ok(Some((actor, session)))
}

async fn load_session_actor(
    pool: &PgPool,
    sessions: &Sessions,
    session_key: &str,
) -> crate::error::Result<Option<(Actor, SessionData, time::OffsetDateTime)>> {
    let Some(stored) = sessions.find(session_key).await? else {
        return Ok(None);
    };
    let Some(actor) = load_actor(pool, stored.data.user_id, Some(stored.data.epoch)).await? else {
        return Ok(None);
    };
    // The idle lifetime depends on the user's role as of now.
    let resumed = sessions.resume(stored, actor.role()).await?;
    Ok(resumed.map(|(session, recheck_by)| (actor, session, recheck_by)))
}
