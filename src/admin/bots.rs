//! Bots: users of kind `bot` that admins add to conversations like anyone else. A bot
//! gets `message_created` of its conversations at its webhook (src/hooks) and answers
//! through the REST API with its token. Its token and signing secret are shown once:
//! the token is stored as a hash, the secret as is (the server signs with it). An
//! assistant bot has no webhook and no secret: `crate::assistant` answers for it.

use poem_openapi::Object;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::Admin;
use crate::{
    audit::Entry,
    auth::{cache::CredentialCache, control, tokens},
    domain::Name,
    error::{Error, Result},
    hooks::{address::AllowList, endpoints},
    realtime::Realtime,
    timestamp::Timestamp,
};

/// A bot as listed (never its token or secret).
#[derive(Debug, Object, sqlx::FromRow)]
pub struct Bot {
    /// The bot's user id: add it to conversations with the member APIs.
    pub id: Uuid,
    pub name: String,
    /// Null for an assistant.
    #[oai(nullable)]
    pub webhook_url: Option<String>,
    /// Answered by the server's chat-completions API rather than a webhook.
    pub assistant: bool,
    pub created_at: Timestamp,
}

/// A bot just created: the only time `token` and `secret` are shown.
#[derive(Debug, Object)]
pub struct CreatedBot {
    pub id: Uuid,
    pub name: String,
    /// Null for an assistant.
    #[oai(nullable)]
    pub webhook_url: Option<String>,
    pub assistant: bool,
    /// The bot's API token: `Authorization: Bearer <token>`. Not shown again.
    pub token: String,
    /// The key of `X-Tenantchat-Signature` (HMAC-SHA256 of the body). Not shown again.
    /// Null for an assistant: nothing is sent to it, so nothing is signed.
    #[oai(nullable)]
    pub secret: Option<String>,
    pub created_at: Timestamp,
}

/// How a new bot answers.
#[derive(Clone, Copy)]
pub enum Answering<'a> {
    /// Its own service, at this URL (vetted against SSRF).
    Webhook(&'a str),
    /// The server's chat-completions API, told these instructions (checked by the caller
    /// that the API is configured).
    Assistant { instructions: Option<&'a str> },
}

/// The most characters of an assistant's instructions.
pub const MAX_INSTRUCTIONS: usize = 4000;

pub async fn create(
    pool: &PgPool,
    allow: &AllowList,
    admin: &Admin,
    name: &str,
    answering: Answering<'_>,
) -> Result<CreatedBot> {
    let name = Name::parse(name)?;
    let url = match answering {
        Answering::Webhook(url) => Some(endpoints::vet_url(allow, "webhook_url", url).await?),
        Answering::Assistant { .. } => None,
    };
    let instructions = match answering {
        Answering::Assistant { instructions } => instructions.map(str::trim).filter(|i| !i.is_empty()),
        Answering::Webhook(_) => None,
    };
    if instructions.is_some_and(|i| i.chars().count() > MAX_INSTRUCTIONS) {
        return Err(Error::validation(
            "instructions",
            format!("at most {MAX_INSTRUCTIONS} characters"),
        ));
    }
    let tenant_id = admin.actor().tenant_id();
    let id = Uuid::new_v4();
    let mut tx = pool.begin().await?;
    // No password can match '!' (not a hash), so a bot never logs in; the email is only
    // there because every user has one, on a domain that cannot exist (RFC 2606).
    let created_at: Timestamp = sqlx::query_scalar(
        "INSERT INTO users (id, tenant_id, email, name, password_hash, role, kind)
         VALUES ($1, $2, $3, $4, '!', 'write', 'bot') RETURNING created_at",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(format!("bot-{id}@bots.invalid"))
    .bind(name.as_str())
    .fetch_one(&mut *tx)
    .await?;
    let (token, token_hash) = tokens::generate();
    sqlx::query("INSERT INTO api_tokens (id, tenant_id, user_id, name, token_hash) VALUES ($1, $2, $3, 'bot', $4)")
        .bind(Uuid::new_v4())
        .bind(tenant_id)
        .bind(id)
        .bind(token_hash)
        .execute(&mut *tx)
        .await?;
    let secret = match &url {
        Some(url) => Some(
            endpoints::insert(&mut tx, tenant_id, Some(id), url, &["message_created".into()])
                .await?
                .1,
        ),
        None => {
            endpoints::insert_assistant(&mut tx, tenant_id, id, instructions).await?;
            None
        }
    };
    let entry = Entry {
        action: "bot.create",
        resource_type: "user",
        resource_id: Some(id.to_string()),
        details: json!({"name": name.as_str(), "webhook_url": url, "assistant": url.is_none()}),
    };
    admin.audit(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(CreatedBot {
        id,
        name: name.as_str().to_string(),
        assistant: url.is_none(),
        webhook_url: url,
        token,
        secret,
        created_at,
    })
}

pub async fn list(pool: &PgPool, admin: &Admin) -> Result<Vec<Bot>> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.name, e.url AS webhook_url, e.kind = 'assistant' AS assistant, u.created_at
         FROM users u JOIN webhook_endpoints e ON e.bot_user_id = u.id AND e.tenant_id = u.tenant_id
         WHERE u.tenant_id = $1 AND u.kind = 'bot'
         ORDER BY u.created_at, u.id",
    )
    .bind(admin.actor().tenant_id())
    .fetch_all(pool)
    .await?)
}

/// Deletes a bot: its webhook and pending deliveries go, its token stops working, and
/// its user is deactivated so its messages keep their sender.
pub async fn delete(
    pool: &PgPool,
    realtime: &Realtime,
    credentials: &CredentialCache,
    admin: &Admin,
    id: Uuid,
) -> Result<()> {
    let tenant_id = admin.actor().tenant_id();
    let mut tx = pool.begin().await?;
    let endpoints = sqlx::query("DELETE FROM webhook_endpoints WHERE bot_user_id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if endpoints == 0 {
        return Err(Error::not_found("Bot"));
    }
    sqlx::query(
        "UPDATE users SET is_active = false, session_epoch = session_epoch + 1 WHERE id = $1 AND tenant_id = $2",
    )
    .bind(id)
    .bind(tenant_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM api_tokens WHERE user_id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?;
    let entry = Entry {
        action: "bot.delete",
        resource_type: "user",
        resource_id: Some(id.to_string()),
        details: json!({}),
    };
    admin.audit(&mut tx, entry).await?;
    tx.commit().await?;
    control::end_sessions(realtime, credentials, id, None).await;
    Ok(())
}
