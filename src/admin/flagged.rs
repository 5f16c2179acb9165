//! Messages flagged for personal data (`pii_mode: flag`), for the tenant's admins. The
//! counts live in `messages.pii`, apart from the sender's `metadata`, so nobody else
//! ever sees them; here they are shown as `metadata.pii` (and `pii`). Every read is
//! written to the audit log, as compliance reads are.

use std::collections::BTreeMap;

use poem_openapi::Object;
use serde_json::json;
use sqlx::{types::Json, PgPool};
use uuid::Uuid;

use super::Admin;
use crate::{
    chat::{
        content::Metadata,
        sealed::{Record, StoredText},
    },
    error::Result,
    timestamp::Timestamp,
};

/// A flagged message as it is now.
#[derive(Debug, Object)]
pub struct FlaggedMessage {
    pub id: Uuid,
    /// The conversation's id.
    pub conversation: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
    pub sender_name: String,
    pub sender_email: String,
    pub content: String,
    pub created_at: Timestamp,
    /// The sender's metadata, with `pii` set to the counts below.
    pub metadata: Metadata,
    /// Pieces of personal data per kind (`email`, `phone`, `card`, `iban`, `cpf`, `cnpj`).
    pub pii: BTreeMap<String, u32>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    conversation_id: Uuid,
    seq: i64,
    sender_id: Uuid,
    sender_name: String,
    sender_email: String,
    #[sqlx(flatten)]
    text: StoredText,
    created_at: Timestamp,
    metadata: Json<Metadata>,
    pii: Json<BTreeMap<String, u32>>,
}

/// The tenant's flagged messages, newest first (deleted ones are no longer flagged).
pub async fn list(pool: &PgPool, admin: &Admin, limit: i64, offset: i64) -> Result<Vec<FlaggedMessage>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT m.id, m.conversation_id, m.seq, m.sender_id, u.name AS sender_name, u.email AS sender_email,
                m.content, m.content_key_id, m.content_sealed, m.created_at, m.metadata, m.pii
         FROM messages m JOIN users u ON u.id = m.sender_id AND u.tenant_id = m.tenant_id
         WHERE m.tenant_id = $1 AND m.pii IS NOT NULL
         ORDER BY m.created_at DESC, m.id LIMIT $2 OFFSET $3",
    )
    .bind(admin.actor().tenant_id())
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    admin
        .audit_page_read(pool, "message.flagged.list", "message", limit, offset)
        .await?;
    let tenant_id = admin.actor().tenant_id();
    rows.into_iter()
        .map(|row| {
            let mut metadata = row.metadata.0;
            metadata.insert("pii".into(), json!(row.pii.0));
            Ok(FlaggedMessage {
                content: row.text.reveal(Record::Message, tenant_id, row.id)?,
                id: row.id,
                conversation: row.conversation_id,
                seq: row.seq,
                sender_id: row.sender_id,
                sender_name: row.sender_name,
                sender_email: row.sender_email,
                created_at: row.created_at,
                metadata,
                pii: row.pii.0,
            })
        })
        .collect()
}
