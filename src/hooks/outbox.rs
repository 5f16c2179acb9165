//! Writing deliveries: always on the transaction of the change they report, so that a
//! committed change has its deliveries and a rolled-back one has none. (A message's
//! `message_created` is written by the send statement itself, `chat::messages::SEND`,
//! and `message_updated` by `chat::webhook_events`.)
//!
//! With encryption at rest the message text of a payload is sealed beside it
//! (`content_key_id`, `content_sealed`; `payload.message.content` is then empty): the
//! chat seals it as it seals message texts, the engine opens it just before sending.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{crypto, error::Result};

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
