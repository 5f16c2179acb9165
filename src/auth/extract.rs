//! The two ways to authenticate, as poem-openapi security schemes so both appear in the
//! OpenAPI document: a bearer API token, or the session cookie (with CSRF on unsafe
//! methods). `Auth` tries them in that order and yields the `Actor`. Every
//! authenticated request also counts as presence for clients on the polling fallback.

use std::sync::Arc;

use poem::Request;
use poem_openapi::{
    auth::{ApiKey, Bearer},
    SecurityScheme,
};
use sqlx::PgPool;

use super::{
    csrf, load_actor,
    session::{SessionData, Sessions},
    tokens, Actor,
};
use crate::{error::Error, realtime::presence::Presence};

/// What the security schemes need from the application, attached to every route by
/// `lib.rs` (auth sits below the application state, so it cannot read `AppState`).
#[derive(Clone)]
pub struct Verifier {
    pub pool: PgPool,
    pub sessions: Sessions,
    pub presence: Arc<Presence>,
}

/// `Authorization: Bearer <token>` with a token from `POST /api/auth/tokens/`. Exempt from CSRF.
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

fn verifier(req: &Request) -> &Verifier {
    req.data::<Verifier>().expect("the Verifier is attached to every route")
}

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Actor> {
    let verifier = verifier(req);
    let (actor, _) = tokens::resolve(&verifier.pool, &bearer.token)
        .await?
        .ok_or(Error::NotAuthenticated)?;
    verifier.presence.touch(actor.tenant_id(), actor.user_id()).await;
    Ok(actor)
}

async fn check_session(req: &Request, cookie: ApiKey) -> poem::Result<SessionActor> {
    let verifier = verifier(req);
    let (actor, session) = session_actor(&verifier.pool, &verifier.sessions, &cookie.key)
        .await?
        .ok_or(Error::NotAuthenticated)?;
    if !csrf::passes(req, &session.csrf_token) {
        return Err(Error::CsrfFailed.into());
    }
    verifier.presence.touch(actor.tenant_id(), actor.user_id()).await;
    Ok(SessionActor {
        actor,
        session_key: cookie.key,
    })
}

/// The actor behind a session cookie value, with the session: `None` when the session
/// is unknown or expired, its user deactivated, or its epoch outdated.
pub async fn session_actor(
    pool: &PgPool,
    sessions: &Sessions,
    session_key: &str,
) -> crate::error::Result<Option<(Actor, SessionData)>> {
    let Some(session) = sessions.load(session_key).await? else {
        return Ok(None);
    };
    let actor = load_actor(pool, session.user_id, Some(session.epoch)).await?;
    Ok(actor.map(|actor| (actor, session)))
}
