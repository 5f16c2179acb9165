//! The tenant's attachments as its admins see them: a filtered listing (itself audited)
//! and removing a file, which leaves the message a tombstone.

use std::path::Path;

use chrono::Utc;
use uuid::Uuid;

use super::Admin;
use crate::{
    audit::Entry,
    chat::{attachments, messages},
    error::{Error, Result},
    realtime::Realtime,
    timestamp::Timestamp,
};

/// Filters of the admin listing.
#[derive(Debug, Default)]
pub struct AdminFilter {
    pub conversation_id: Option<Uuid>,
    pub uploader_id: Option<Uuid>,
    pub from: Option<chrono::DateTime<Utc>>,
    pub to: Option<chrono::DateTime<Utc>>,
    pub limit: i64,
    pub offset: i64,
}

/// An attachment as a tenant admin sees it.
#[derive(Debug, poem_openapi::Object, sqlx::FromRow)]
pub struct AdminAttachment {
    pub id: Uuid,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_at: Timestamp,
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub uploader_id: Uuid,
    pub uploader_name: String,
    pub uploader_email: String,
    /// When an admin removed the file (the message keeps a tombstone).
    #[oai(nullable)]
    pub deleted_at: Option<Timestamp>,
}

#[derive(Debug, poem_openapi::Object)]
pub struct AdminAttachmentPage {
    /// Attachments matching the filters.
    pub count: i64,
    /// Bytes stored by the matching attachments that are not removed.
    pub total_size: i64,
    pub results: Vec<AdminAttachment>,
}

/// The tenant's attachments, newest first, with the count and stored size of all matches.
pub async fn admin_list(pool: &sqlx::PgPool, admin: &Admin, filter: AdminFilter) -> Result<AdminAttachmentPage> {
    let actor = admin.actor();
    const MATCHES: &str = "a.tenant_id = $1 AND ($2::uuid IS NULL OR a.conversation_id = $2)
        AND ($3::uuid IS NULL OR a.uploader_id = $3)
        AND ($4::timestamptz IS NULL OR a.created_at >= $4) AND ($5::timestamptz IS NULL OR a.created_at < $5)";
    let (count, total_size): (i64, i64) = sqlx::query_as(&format!(
        "SELECT count(*), coalesce(sum(a.size) FILTER (WHERE a.deleted_at IS NULL), 0)::bigint
         FROM attachments a WHERE {MATCHES}"
    ))
    .bind(actor.tenant_id())
    .bind(filter.conversation_id)
    .bind(filter.uploader_id)
    .bind(filter.from)
    .bind(filter.to)
    .fetch_one(pool)
    .await?;
    let results = sqlx::query_as(&format!(
        "SELECT a.id, a.filename, a.content_type, a.size, a.created_at AS uploaded_at, a.conversation_id,
                a.message_id, a.uploader_id, u.name AS uploader_name, u.email AS uploader_email, a.deleted_at
         FROM attachments a JOIN users u ON u.id = a.uploader_id AND u.tenant_id = a.tenant_id
         WHERE {MATCHES} ORDER BY a.created_at DESC, a.id LIMIT $6 OFFSET $7"
    ))
    .bind(actor.tenant_id())
    .bind(filter.conversation_id)
    .bind(filter.uploader_id)
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.limit)
    .bind(filter.offset)
    .fetch_all(pool)
    .await?;
    let details = serde_json::json!({
        "conversation": filter.conversation_id, "uploader": filter.uploader_id,
        "from": filter.from, "to": filter.to, "limit": filter.limit, "offset": filter.offset,
    });
    admin
        .audit_read(
            pool,
            Entry {
                action: "attachment.list",
                resource_type: "attachment",
                resource_id: None,
                details,
            },
        )
        .await?;
    Ok(AdminAttachmentPage {
        count,
        total_size,
        results,
    })
}

/// Removes an attachment's file; the row stays as the message's tombstone, and the
/// conversation's participants get `message_updated`.
pub async fn admin_delete(
    pool: &sqlx::PgPool,
    realtime: &Realtime,
    media_root: &Path,
    admin: &Admin,
    id: Uuid,
) -> Result<()> {
    let actor = admin.actor();
    let mut tx = pool.begin().await?;
    let removed: Option<(String, Option<String>, Uuid, Uuid)> = sqlx::query_as(
        "UPDATE attachments SET deleted_at = now(), deleted_by = $3
         WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL
         RETURNING storage_path, thumbnail_path, message_id, conversation_id",
    )
    .bind(id)
    .bind(actor.tenant_id())
    .bind(actor.user_id())
    .fetch_optional(&mut *tx)
    .await?;
    let (storage_path, thumbnail_path, message_id, conversation_id) =
        removed.ok_or_else(|| Error::not_found("Attachment"))?;
    sqlx::query("UPDATE messages SET updated_at = now() WHERE id = $1 AND tenant_id = $2")
        .bind(message_id)
        .bind(actor.tenant_id())
        .execute(&mut *tx)
        .await?;
    let details = serde_json::json!({"message": message_id, "conversation": conversation_id});
    let entry = Entry {
        action: "attachment.delete",
        resource_type: "attachment",
        resource_id: Some(id.to_string()),
        details,
    };
    admin.audit(&mut tx, entry).await?;
    tx.commit().await?;
    attachments::remove_files(media_root, vec![(storage_path, thumbnail_path)]).await;
    messages::announce_update(pool, realtime, actor, conversation_id, message_id).await
}
