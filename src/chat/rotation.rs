//! `keys rotate` and `keys decrypt`, record by record (`keys.rs` runs them): the texts of
//! one table (messages, earlier versions, webhook payloads), or the attachment files, not
//! yet under the target key (the current key, or none: plaintext), a batch at a time, each
//! batch one short transaction that locks only its rows (an edit of one of them waits for
//! the batch, nothing else does).

use std::path::Path;

use sqlx::PgPool;
use uuid::Uuid;

use super::{
    sealed::{Record, StoredText},
    sealed_files,
};
use crate::{crypto::Key, error::Result};

/// A table of texts: how to read a batch after a cursor and write it back.
pub(super) struct Texts {
    record: Record,
    /// $1 the cursor (the last row's key as text, NULL at the start), $2 the target key
    /// id (NULL: plaintext), $3 the batch size. Selects `key` (text), tenant_id,
    /// message_id and the `StoredText` columns, in key order, locked.
    select: &'static str,
    /// $1 the keys, $2 the target key id, $3 the plain texts (empty when sealed), $4 the
    /// sealed texts (NULL when plain).
    update: &'static str,
}

pub(super) const MESSAGES: &Texts = &Texts {
    record: Record::Message,
    select: "SELECT id::text AS key, tenant_id, id AS message_id, content, content_key_id, content_sealed
             FROM messages
             WHERE ($1::text IS NULL OR id > $1::uuid) AND content_key_id IS DISTINCT FROM $2
               AND (content_sealed IS NOT NULL OR content <> '')
             ORDER BY id LIMIT $3 FOR UPDATE",
    update: "UPDATE messages m SET content = u.content, content_key_id = $2, content_sealed = u.sealed
             FROM unnest($1::text[], $3::text[], $4::bytea[]) AS u(key, content, sealed) WHERE m.id = u.key::uuid",
};

pub(super) const EDITS: &Texts = &Texts {
    record: Record::Version,
    select: "SELECT id::text AS key, tenant_id, message_id, previous_content AS content,
                    previous_key_id AS content_key_id, previous_sealed AS content_sealed
             FROM message_edits
             WHERE ($1::text IS NULL OR id > $1::bigint) AND previous_key_id IS DISTINCT FROM $2
               AND (previous_sealed IS NOT NULL OR previous_content <> '')
             ORDER BY id LIMIT $3 FOR UPDATE",
    update: "UPDATE message_edits e SET previous_content = u.content, previous_key_id = $2, previous_sealed = u.sealed
             FROM unnest($1::text[], $3::text[], $4::bytea[]) AS u(key, content, sealed) WHERE e.id = u.key::bigint",
};

/// The webhooks' copies of message texts (`message_created`, `message_updated`), pending
/// or not: the payload keeps them after delivery too.
pub(super) const DELIVERIES: &Texts = &Texts {
    record: Record::Delivery,
    select: "SELECT id::text AS key, tenant_id, (payload #>> '{message,id}')::uuid AS message_id,
                    coalesce(payload #>> '{message,content}', '') AS content, content_key_id, content_sealed
             FROM webhook_deliveries
             WHERE ($1::text IS NULL OR id > $1::uuid) AND content_key_id IS DISTINCT FROM $2
               AND (content_sealed IS NOT NULL OR coalesce(payload #>> '{message,content}', '') <> '')
             ORDER BY id LIMIT $3 FOR UPDATE",
    update: "UPDATE webhook_deliveries d
             SET payload = jsonb_set(d.payload, '{message,content}', to_jsonb(u.content)), content_key_id = $2,
                 content_sealed = u.sealed
             FROM unnest($1::text[], $3::text[], $4::bytea[]) AS u(key, content, sealed) WHERE d.id = u.key::uuid",
};

#[derive(sqlx::FromRow)]
struct Row {
    key: String,
    tenant_id: Uuid,
    message_id: Uuid,
    #[sqlx(flatten)]
    stored: StoredText,
}

/// Re-seals every text of `table` not under `target` yet (`None`: opens every sealed
/// one); returns how many.
pub(super) async fn texts(pool: &PgPool, target: Option<&Key>, table: &Texts, batch: i64) -> Result<u64> {
    let target_id = target.map(|key| key.id.as_str());
    let mut cursor: Option<String> = None;
    let mut done = 0;
    loop {
        let mut tx = pool.begin().await?;
        let rows: Vec<Row> = sqlx::query_as(table.select)
            .bind(&cursor)
            .bind(target_id)
            .bind(batch)
            .fetch_all(&mut *tx)
            .await?;
        let Some(last) = rows.last() else {
            return Ok(done);
        };
        cursor = Some(last.key.clone());
        let mut keys = Vec::with_capacity(rows.len());
        let mut contents = Vec::with_capacity(rows.len());
        let mut sealed = Vec::with_capacity(rows.len());
        for row in rows {
            let stored = reseal(target, table.record, row.tenant_id, row.message_id, row.stored)?;
            keys.push(row.key);
            contents.push(stored.content);
            sealed.push(stored.content_sealed);
        }
        sqlx::query(table.update)
            .bind(&keys)
            .bind(target_id)
            .bind(&contents)
            .bind(&sealed)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        done += keys.len() as u64;
    }
}

/// Re-seals every attachment file (and thumbnail) not under `target` yet (`None`: opens
/// every sealed one); returns how many attachments. Each file is replaced by a rename
/// while its row is locked; a download that opened the old file reads it to the end (its
/// header names its key), and one that finds a plain file where its row still names a
/// key serves it as it is (`sealed_files`).
pub(super) async fn files(pool: &PgPool, target: Option<&Key>, media_root: &Path, batch: i64) -> Result<u64> {
    let target_id = target.map(|key| key.id.as_str());
    let mut cursor: Option<Uuid> = None;
    let mut done = 0;
    loop {
        let mut tx = pool.begin().await?;
        let rows: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
            "SELECT id, storage_path, thumbnail_path FROM attachments
             WHERE ($1::uuid IS NULL OR id > $1) AND deleted_at IS NULL AND file_key_id IS DISTINCT FROM $2
             ORDER BY id LIMIT $3 FOR UPDATE",
        )
        .bind(cursor)
        .bind(target_id)
        .bind(batch)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(done);
        };
        cursor = Some(last.0);
        for (_, storage_path, thumbnail_path) in &rows {
            for path in std::iter::once(storage_path).chain(thumbnail_path) {
                sealed_files::seal_in_place(target, &media_root.join(path), path).await?;
            }
        }
        let ids: Vec<Uuid> = rows.iter().map(|row| row.0).collect();
        sqlx::query("UPDATE attachments SET file_key_id = $2 WHERE id = ANY($1)")
            .bind(&ids)
            .bind(target_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        done += ids.len() as u64;
    }
}

/// A text re-sealed under `target`: `stored` of message `message_id` opened and sealed
/// again (plain without a target).
fn reseal(
    target: Option<&Key>,
    record: Record,
    tenant_id: Uuid,
    message_id: Uuid,
    stored: StoredText,
) -> crate::error::Result<StoredText> {
    let text = stored.reveal(record, tenant_id, message_id)?;
    Ok(StoredText::seal_with(target, record, tenant_id, message_id, &text))
}
