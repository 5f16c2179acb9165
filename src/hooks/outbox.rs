//! Writing deliveries: always on the transaction of the change they report, so that a
//! committed change has its deliveries and a rolled-back one has none. (A message's
//! `message_created` is written by the send statement itself, `chat::messages::SEND`.)

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::Result;

/// Queues `event` for every tenant webhook of `tenant_id` subscribed to it.
pub async fn enqueue(tx: &mut PgConnection, tenant_id: Uuid, event: &str, payload: &Value) -> Result<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event, payload)
         SELECT gen_random_uuid(), $1, e.id, $2, $3
         FROM webhook_endpoints e
         WHERE e.tenant_id = $1 AND e.bot_user_id IS NULL AND $2 = ANY (e.events)",
    )
    .bind(tenant_id)
    .bind(event)
    .bind(payload)
    .execute(tx)
    .await?;
    Ok(())
}
