//! The delivery log an admin reads, and the manual retry. Every query is scoped by the
//! tenant and the endpoint, so another tenant's ids look like missing ones.

use poem_openapi::{Enum, Object};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    error::{Error, Result},
    timestamp::Timestamp,
};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, sqlx::Type)]
#[oai(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or in flight).
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Retried for the whole retry window without success.
    Failed,
}

/// One delivery as the log shows it.
#[derive(Debug, Object, sqlx::FromRow)]
pub struct Delivery {
    /// Also the `X-Tenantchat-Delivery` header and the body's `id`: the receiver's de-duplication key.
    pub id: Uuid,
    pub event: String,
    pub status: DeliveryStatus,
    /// Attempts made so far (a claimed attempt counts even if the server stopped during it).
    pub attempts: i32,
    /// The HTTP status of the last attempt, when there was an answer.
    #[oai(nullable)]
    pub last_status: Option<i32>,
    #[oai(nullable)]
    pub last_error: Option<String>,
    /// When a pending delivery is tried next; null otherwise.
    #[oai(nullable)]
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    #[oai(nullable)]
    pub delivered_at: Option<Timestamp>,
}

const COLUMNS: &str = "d.id, d.event, d.status, d.attempts, d.last_status, d.last_error,
    CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at, d.created_at, d.delivered_at";

/// The newest deliveries of one endpoint, of one status if `status` is given.
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    endpoint_id: Uuid,
    status: Option<DeliveryStatus>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Delivery>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhook_deliveries d
         WHERE d.endpoint_id = $1 AND d.tenant_id = $2 AND ($5::text IS NULL OR d.status = $5)
         ORDER BY d.created_at DESC, d.id LIMIT $3 OFFSET $4"
    ))
    .bind(endpoint_id)
    .bind(tenant_id)
    .bind(limit)
    .bind(offset)
    .bind(status)
    .fetch_all(pool)
    .await?)
}

/// Makes a delivery due now with a fresh retry window, whatever its status (a delivered
/// one is sent again: receivers de-duplicate by its id). On the caller's transaction, so
/// the admin's audit row commits with it.
pub async fn retry(tx: &mut PgConnection, tenant_id: Uuid, endpoint_id: Uuid, delivery_id: Uuid) -> Result<Delivery> {
    sqlx::query_as(&format!(
        "UPDATE webhook_deliveries d
         SET status = 'pending', next_attempt_at = now(), retry_from = now(), delivered_at = NULL
         WHERE d.id = $1 AND d.endpoint_id = $2 AND d.tenant_id = $3
         RETURNING {COLUMNS}"
    ))
    .bind(delivery_id)
    .bind(endpoint_id)
    .bind(tenant_id)
    .fetch_optional(tx)
    .await?
    .ok_or_else(|| Error::not_found("Delivery"))
}
