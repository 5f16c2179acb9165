//! Signing in with the host app's identity (API v2 `POST /api/auth/widget/`): the host's
//! server signs who its user is with the tenant's widget secret, the browser hands the
//! signed fields to us, and we open a session for that user — created on first use with
//! role `write`, its name and email updated on later uses. A deactivated user is refused.
//!
//! The checks run under the login budgets (`login::throttled`, the account being
//! tenant + external id) in this order: the signature (in constant time), the timestamp's
//! window, then the replay cache — last, so only verified signatures are ever stored.
//! An unknown tenant, a tenant without a secret and a wrong signature look the same.

pub mod replay;
pub mod signature;

use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    accounts::{self, Email, ExternalUser, TenantSlug},
    auth::session::Sessions,
    client::RequestMeta,
    domain::{ExternalId, Name},
    error::{Code, Error, Result},
    login::{self, Attempt, LoggedIn, Throttle},
};
use replay::ReplayCache;
use signature::Claims;

/// A sign-in request as the host sent it.
pub struct SignIn<'a> {
    pub claims: Claims<'a>,
    pub signature: &'a str,
}

/// What a sign-in needs from the application.
pub struct Gate<'a> {
    pub pool: &'a PgPool,
    pub sessions: &'a Sessions,
    pub throttle: Throttle<'a>,
    pub replays: &'a ReplayCache,
}

pub async fn sign_in(gate: Gate<'_>, request: SignIn<'_>, client: &RequestMeta) -> Result<LoggedIn> {
    let claims = &request.claims;
    let slug = TenantSlug::parse(claims.tenant).map_err(|m| Error::validation("tenant", m))?;
    let external_id = ExternalId::parse(claims.external_id)?;
    let email = Email::parse(claims.email).map_err(|m| Error::validation("email", m))?;
    if claims.email.contains('|') {
        return Err(Error::validation("email", "email may not contain '|'"));
    }
    let name = Name::parse(claims.name)?;
    let user = ExternalUser {
        external_id: &external_id,
        email: &email,
        name: &name,
    };
    let account_key = format!("widget:{}:{}", slug.as_str(), external_id.as_str());
    let (tenant_id, user_id, epoch) = login::throttled(gate.throttle, &account_key, client, async {
        let Some(tenant_id) = verified_tenant(gate.pool, &slug, &request).await? else {
            return Ok(refused("the signature does not match the tenant's widget secret"));
        };
        if !signature::is_fresh(claims.ts, chrono::Utc::now().timestamp()) {
            return Ok(refused("ts is more than 5 minutes away from the server's clock"));
        }
        if !gate.replays.first_use(&request.signature.to_ascii_lowercase()).await? {
            return Ok(refused("this signature was already used; sign each sign-in afresh"));
        }
        Ok(match accounts::upsert_external(gate.pool, tenant_id, user).await? {
            Some((user_id, epoch)) => Attempt::Passed((tenant_id, user_id, epoch)),
            None => Attempt::Failed(Error::Forbidden {
                code: Code::Forbidden,
                message: "This user is deactivated.".into(),
            }),
        })
    })
    .await?;
    login::start_session(gate.pool, gate.sessions, tenant_id, user_id, epoch, client).await
}

fn refused<T>(reason: &'static str) -> Attempt<T> {
    Attempt::Failed(Error::InvalidSignature { reason })
}

/// The tenant, when it has a widget secret and the request is signed with it.
async fn verified_tenant(pool: &PgPool, slug: &TenantSlug, request: &SignIn<'_>) -> Result<Option<Uuid>> {
    let tenant: Option<(Uuid, Option<String>)> =
        sqlx::query_as("SELECT id, widget_secret FROM tenants WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_optional(pool)
            .await?;
    Ok(tenant.and_then(|(id, secret)| {
        secret
            .filter(|secret| signature::matches(secret, &request.claims, request.signature))
            .map(|_| id)
    }))
}
