//! An admin's manual retry of a webhook delivery (a bot's or a tenant webhook's), written
//! to the audit log like every other admin change, in the same transaction.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::Admin;
use crate::{
    audit::Entry,
    error::Result,
    hooks::log::{self, Delivery},
};

/// Makes a delivery of `endpoint_id` (already checked to be the admin's tenant's) due now.
pub async fn retry(pool: &PgPool, admin: &Admin, endpoint_id: Uuid, delivery_id: Uuid) -> Result<Delivery> {
    let mut tx = pool.begin().await?;
    let delivery = log::retry(&mut tx, admin.actor().tenant_id(), endpoint_id, delivery_id).await?;
    let entry = Entry {
        action: "delivery.retry",
        resource_type: "delivery",
        resource_id: Some(delivery.id.to_string()),
        details: json!({"endpoint": endpoint_id, "event": &delivery.event}),
    };
    admin.audit(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(delivery)
}
