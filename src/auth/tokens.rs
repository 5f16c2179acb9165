//! API tokens for scripts and integrations: `Authorization: Bearer <token>`. Only the
//! SHA-256 of a token is stored; the token itself is shown once, at creation. Looking a
//! token up by its hash means no secret is ever compared byte by byte in Rust.

use crate::timestamp::Timestamp;
use poem_openapi::Object;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use super::{actor_from_row, Actor};
use crate::{
    domain::TokenName,
    error::{Code, Error, Result},
};

const TOKEN_PREFIX: &str = "tc_";
const MAX_TOKENS_PER_USER: i64 = 50;

/// An API token as listed (never the token itself).
#[derive(Debug, Object, sqlx::FromRow)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    pub created_at: Timestamp,
    #[oai(nullable)]
    pub last_used_at: Option<Timestamp>,
}

/// A token just created: the only time `token` is shown.
#[derive(Debug, Object)]
pub struct CreatedToken {
    pub id: Uuid,
    pub name: String,
    /// The secret to send as `Authorization: Bearer <token>`. Store it now; it is not shown again.
    pub token: String,
    pub created_at: Timestamp,
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A fresh random token and the digest under which it is stored.
pub fn generate() -> (String, Vec<u8>) {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
    let hash = digest(&token);
    (token, hash)
}

pub async fn create(pool: &PgPool, actor: &Actor, name: &TokenName) -> Result<CreatedToken> {
    let (token, token_hash) = generate();
    let id = Uuid::new_v4();
    // The user's row lock serializes concurrent creates, so a burst cannot pass the cap
    // between the count and the insert.
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT 1 FROM users WHERE id = $1 AND tenant_id = $2 FOR UPDATE")
        .bind(actor.user_id())
        .bind(actor.tenant_id())
        .execute(&mut *tx)
        .await?;
    let created_at: Option<Timestamp> = sqlx::query_scalar(
        "INSERT INTO api_tokens (id, tenant_id, user_id, name, token_hash)
         SELECT $1, $2, $3, $4, $5
         WHERE (SELECT count(*) FROM api_tokens WHERE user_id = $3) < $6
         RETURNING created_at",
    )
    .bind(id)
    .bind(actor.tenant_id())
    .bind(actor.user_id())
    .bind(name.as_str())
    .bind(token_hash)
    .bind(MAX_TOKENS_PER_USER)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    // The request is fine; the caller's state (its tokens) refuses it.
    let created_at = created_at.ok_or_else(|| Error::Conflict {
        code: Code::TokenLimitReached,
        message: format!("at most {MAX_TOKENS_PER_USER} tokens per user; revoke one first"),
    })?;
    Ok(CreatedToken {
        id,
        name: name.as_str().to_string(),
        token,
        created_at,
    })
}

pub async fn list(pool: &PgPool, actor: &Actor) -> Result<Vec<ApiToken>> {
    Ok(sqlx::query_as(
        "SELECT id, name, created_at, last_used_at FROM api_tokens
         WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, id",
    )
    .bind(actor.tenant_id())
    .bind(actor.user_id())
    .fetch_all(pool)
    .await?)
}

/// Revokes one of the caller's own tokens; anyone else's id is "not found".
pub async fn revoke(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<()> {
    let deleted = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND tenant_id = $2 AND user_id = $3")
        .bind(id)
        .bind(actor.tenant_id())
        .bind(actor.user_id())
        .execute(pool)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(Error::not_found("Token"));
    }
    Ok(())
}

/// How sockets opened with a token are named in `Control::EndSessions`.
pub fn credential(token_id: Uuid) -> String {
    format!("token:{token_id}")
}

/// The actor behind a bearer token, and the token's id, if the token exists and its
/// user is active. `last_used_at` is refreshed at most once a minute, in the same round trip.
pub async fn resolve(pool: &PgPool, token: &str) -> Result<Option<(Actor, Uuid)>> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
        return Ok(None);
    }
    let row: Option<(Uuid, Uuid, String, Uuid)> = sqlx::query_as(
        "WITH token AS (
             SELECT id, user_id, tenant_id FROM api_tokens WHERE token_hash = $1
         ), touched AS (
             UPDATE api_tokens SET last_used_at = now()
             WHERE id = (SELECT id FROM token)
               AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
         )
         SELECT u.id, u.tenant_id, u.role, token.id FROM token
         JOIN users u ON u.id = token.user_id AND u.tenant_id = token.tenant_id
         WHERE u.is_active",
    )
    .bind(digest(token))
    .fetch_optional(pool)
    .await?;
    row.map(|(user_id, tenant_id, role, token_id)| Ok((actor_from_row((user_id, tenant_id, role))?, token_id)))
        .transpose()
}
