//! Writing deliveries: always on the transaction of the change they report, so that a
//! committed change has its deliveries and a rolled-back one has none. (A message's
//! `message_created` is written by the send statement itself, `chat::messages::SEND`,
//! and `message_updated` by `chat::webhook_events`.)
//!
//! With encryption at rest the message text of a payload is sealed beside it
//! (`content_key_id`, `content_sealed`; `payload.message.content` is then empty): the
//! chat seals it as it seals message texts, the engine opens it just before sending.
//!
//! How the engines hear of new deliveries: a statement that writes any but
//! `message_created` notifies through PostgreSQL (a trigger), which wakes every node's
//! engine. `message_created` is written by every send, and PostgreSQL commits the
//! transactions that notify one at a time (one lock on its notification queue, held
//! through the commit's WAL flush), so sends ring the `Doorbell` of their own node's
//! engine after their commit instead. Any engine may deliver any row, so that one is
//! enough; the others find what it leaves at their next poll.

use std::sync::Arc;

use serde_json::Value;
use sqlx::PgConnection;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::{crypto, error::Result};

/// Wakes this node's delivery engine: rung after a commit that queued deliveries, so
/// they go out at once rather than at the engine's next poll. Rings while the engine is
/// busy are kept as one: its next look finds every row due. Clones ring the same engine;
/// `Doorbell::default()` rings one nobody listens to (a command that sends without a
/// running engine: a server's poll finds those rows).
#[derive(Clone, Default)]
pub struct Doorbell(Arc<Notify>);

impl Doorbell {
    pub fn ring(&self) {
        self.0.notify_one();
    }

    /// Waits for the next ring (or the one kept since the last wait).
    pub async fn rung(&self) {
        self.0.notified().await;
    }
}

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

/// The associated data of a payload's sealed message text: the tenant and the message,
/// and that it is a webhook's copy, so it opens neither in another delivery's message
/// nor as the message's own record (`chat::sealed`).
pub fn text_aad(tenant_id: Uuid, message_id: Uuid) -> Vec<u8> {
    format!("tenantchat/webhook/{tenant_id}/{message_id}").into_bytes()
}

/// `payload` with its sealed message text (`key_id`, `sealed`) put back in; as it is when
/// nothing is sealed.
pub fn open_payload(
    tenant_id: Uuid,
    payload: &Value,
    key_id: Option<&str>,
    sealed: Option<&[u8]>,
) -> Result<Value, String> {
    let (Some(key_id), Some(sealed)) = (key_id, sealed) else {
        return Ok(payload.clone());
    };
    let message_id: Uuid = payload["message"]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or("a sealed payload names no message")?;
    let plain = crypto::keyring()
        .open(key_id, &text_aad(tenant_id, message_id), sealed)
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8(plain).map_err(|_| "a sealed payload text is not UTF-8")?;
    let mut payload = payload.clone();
    payload["message"]["content"] = Value::String(text);
    Ok(payload)
}
