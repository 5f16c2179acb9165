//! Tenant webhooks: an endpoint that gets the tenant's events it subscribed to
//! (`hooks::endpoints::EVENTS`), signed and retried like a bot's deliveries.

use poem_openapi::Object;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::Admin;
use crate::{
    audit::Entry,
    error::{Error, Result},
    hooks::{address::AllowList, endpoints},
    timestamp::Timestamp,
};

/// A tenant webhook as listed (never its secret).
#[derive(Debug, Object, sqlx::FromRow)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: Timestamp,
}

/// A webhook just created: the only time `secret` is shown.
#[derive(Debug, Object)]
pub struct CreatedWebhook {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    /// The key of `X-Tenantchat-Signature` (HMAC-SHA256 of the body). Not shown again.
    pub secret: String,
    pub created_at: Timestamp,
}

pub async fn create(
    pool: &PgPool,
    allow: &AllowList,
    admin: &Admin,
    url: &str,
    events: &[String],
) -> Result<CreatedWebhook> {
    let events = endpoints::parse_events(events)?;
    let url = endpoints::vet_url(allow, "url", url).await?;
    let tenant_id = admin.actor().tenant_id();
    let mut tx = pool.begin().await?;
    let (id, secret) = endpoints::insert(&mut tx, tenant_id, None, &url, &events).await?;
    let created_at: Timestamp = sqlx::query_scalar("SELECT created_at FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let entry = Entry {
        action: "webhook.create",
        resource_type: "webhook",
        resource_id: Some(id.to_string()),
        details: json!({"url": url, "events": events}),
    };
    admin.audit(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(CreatedWebhook {
        id,
        url,
        events,
        secret,
        created_at,
    })
}

pub async fn list(pool: &PgPool, admin: &Admin) -> Result<Vec<Webhook>> {
    Ok(sqlx::query_as(
        "SELECT id, url, events, created_at FROM webhook_endpoints
         WHERE tenant_id = $1 AND bot_user_id IS NULL ORDER BY created_at, id",
    )
    .bind(admin.actor().tenant_id())
    .fetch_all(pool)
    .await?)
}

/// Deletes a webhook and its deliveries, pending ones included.
pub async fn delete(pool: &PgPool, admin: &Admin, id: Uuid) -> Result<()> {
    let mut tx = pool.begin().await?;
    let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2 AND bot_user_id IS NULL")
        .bind(id)
        .bind(admin.actor().tenant_id())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(Error::not_found("Webhook"));
    }
    let entry = Entry {
        action: "webhook.delete",
        resource_type: "webhook",
        resource_id: Some(id.to_string()),
        details: json!({}),
    };
    admin.audit(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(())
}
