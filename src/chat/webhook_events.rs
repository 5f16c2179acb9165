//! The tenant webhook events of a message after it was sent, queued on the transaction
//! of the change like every outbox row (docs/integrations.md): a committed edit or
//! deletion always has its deliveries, a rolled-back one none. The message object of
//! `message_updated` is the one `message_created` carries (`messages::SEND`), read from
//! the row as the edit left it, plus `edited_at`.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::sealed::{Record, StoredText};
use crate::{auth::Actor, error::Result, hooks::outbox};

/// $1 tenant, $2 message, $3 who edited it, $4 its new text (empty when sealed), $5 and
/// $6 the sealed text's key id and ciphertext.
const UPDATED: &str = "
    INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event, content_key_id, content_sealed, payload)
    SELECT gen_random_uuid(), $1, e.id, 'message_updated', $5, $6, jsonb_build_object(
               'conversation_id', m.conversation_id,
               'by', $3::uuid,
               'message', jsonb_build_object(
                   'id', m.id, 'conversation_id', m.conversation_id, 'seq', m.seq, 'kind', m.kind,
                   'sender', jsonb_build_object('id', s.id, 'name', s.name, 'kind', s.kind),
                   'content', $4::text, 'created_at', m.created_at, 'edited_at', m.edited_at,
                   'reply_to', m.reply_to,
                   'mentions', to_jsonb(ARRAY(SELECT n.user_id FROM mentions n
                                              WHERE n.message_id = m.id AND n.tenant_id = $1 ORDER BY n.user_id)),
                   'metadata', m.metadata))
    FROM messages m
    JOIN users s ON s.id = m.sender_id AND s.tenant_id = m.tenant_id
    JOIN webhook_endpoints e ON e.tenant_id = $1 AND e.bot_user_id IS NULL AND 'message_updated' = ANY (e.events)
    WHERE m.id = $2 AND m.tenant_id = $1";

/// `message_updated` for an edit by `actor`, on the edit's transaction; `content` is the
/// new text, sealed like the message's own when encryption is on.
pub(super) async fn message_updated(
    tx: &mut PgConnection,
    actor: &Actor,
    message_id: Uuid,
    content: &str,
) -> Result<()> {
    let text = StoredText::seal(Record::Delivery, actor.tenant_id(), message_id, content);
    sqlx::query(UPDATED)
        .bind(actor.tenant_id())
        .bind(message_id)
        .bind(actor.user_id())
        .bind(&text.content)
        .bind(&text.content_key_id)
        .bind(&text.content_sealed)
        .execute(tx)
        .await?;
    Ok(())
}

/// `message_deleted` for a deletion by `actor`, on the deletion's transaction. It names
/// the message and its place; what it said is gone (the earlier versions are for
/// compliance reads, not for receivers).
pub(super) async fn message_deleted(
    tx: &mut PgConnection,
    actor: &Actor,
    conversation_id: Uuid,
    message_id: Uuid,
    seq: i64,
) -> Result<()> {
    let payload = json!({
        "conversation_id": conversation_id,
        "message_id": message_id,
        "seq": seq,
        "by": actor.user_id(),
    });
    outbox::enqueue(tx, actor.tenant_id(), "message_deleted", &payload).await
}
