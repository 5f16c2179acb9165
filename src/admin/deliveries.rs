//! The delivery log of an outgoing webhook and its manual retry, the same for a bot's
//! webhook and a tenant webhook: only how the endpoint is found differs (a bot is named
//! by its user id, a tenant webhook by its own id).

use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::Admin;
use crate::{
    audit::Entry,
    error::{Error, Result},
    hooks::log::{self, Delivery, DeliveryStatus},
};

/// Whose deliveries: a bot's, or a tenant webhook's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Bot,
    Webhook,
}

impl Owner {
    /// What a 404 names.
    pub fn resource(self) -> &'static str {
        match self {
            Owner::Bot => "Bot",
            Owner::Webhook => "Webhook",
        }
    }

    /// What the audit log names the owner's id by.
    fn key(self) -> &'static str {
        match self {
            Owner::Bot => "bot",
            Owner::Webhook => "webhook",
        }
    }

    /// The attempted action of the delivery log, as a refused attempt records it.
    pub fn list_action(self) -> &'static str {
        match self {
            Owner::Bot => "bots.deliveries",
            Owner::Webhook => "webhooks.deliveries",
        }
    }

    /// The attempted action of a manual retry, as a refused attempt records it.
    pub fn retry_action(self) -> &'static str {
        match self {
            Owner::Bot => "bots.retry",
            Owner::Webhook => "webhooks.retry",
        }
    }

    /// $1 the id in the path, $2 the tenant.
    fn lookup(self) -> &'static str {
        match self {
            Owner::Bot => "SELECT id FROM webhook_endpoints WHERE bot_user_id = $1 AND tenant_id = $2",
            Owner::Webhook => {
                "SELECT id FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2 AND bot_user_id IS NULL"
            }
        }
    }
}

/// The endpoint of `owner` `id` in the admin's tenant, or 404 naming the owner.
async fn endpoint(db: &mut PgConnection, admin: &Admin, owner: Owner, id: Uuid) -> Result<Uuid> {
    sqlx::query_scalar(owner.lookup())
        .bind(id)
        .bind(admin.actor().tenant_id())
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::not_found(owner.resource()))
}

/// The newest deliveries of `owner` `id`, of one status if `status` is given.
pub async fn list(
    pool: &PgPool,
    admin: &Admin,
    owner: Owner,
    id: Uuid,
    status: Option<DeliveryStatus>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Delivery>> {
    let endpoint = endpoint(&mut *pool.acquire().await?, admin, owner, id).await?;
    log::list(pool, admin.actor().tenant_id(), endpoint, status, limit, offset).await
}

/// Makes delivery `delivery_id` of `owner` `id` due now with a fresh retry window, and
/// writes the act to the audit log in the same transaction: a retry sends data out of
/// the server again (a delivered one too), so admins answer for it like for any change.
pub async fn retry(pool: &PgPool, admin: &Admin, owner: Owner, id: Uuid, delivery_id: Uuid) -> Result<Delivery> {
    let mut tx = pool.begin().await?;
    let endpoint = endpoint(&mut tx, admin, owner, id).await?;
    let retried = log::retry(&mut tx, admin.actor().tenant_id(), endpoint, delivery_id).await?;
    let mut details = json!({"event": retried.event});
    details[owner.key()] = json!(id);
    let entry = Entry {
        action: "delivery.retry",
        resource_type: "webhook_delivery",
        resource_id: Some(delivery_id.to_string()),
        details,
    };
    admin.audit(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(retried)
}
