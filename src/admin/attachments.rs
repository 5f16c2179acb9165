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
    /// A MIME type (`image/png`) or a top-level type (`image`); checked by the API.
    pub content_type: Option<String>,
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

/// The stored files of one uploader among the matches (removed ones not counted).
#[derive(Debug, poem_openapi::Object)]
pub struct UploaderTotal {
    pub uploader_id: Uuid,
    pub uploader_name: String,
    pub files: i64,
    pub size: i64,
}

/// The stored files of one MIME type among the matches (removed ones not counted).
#[derive(Debug, poem_openapi::Object)]
pub struct TypeTotal {
    pub content_type: String,
    pub files: i64,
    pub size: i64,
}

#[derive(Debug, poem_openapi::Object)]
pub struct AdminAttachmentPage {
    /// Attachments matching the filters.
    pub count: i64,
    /// Bytes stored by the matching attachments that are not removed.
    pub total_size: i64,
    /// Every match (not only this page) summed per uploader, largest first.
    pub by_uploader: Vec<UploaderTotal>,
    /// Every match (not only this page) summed per type, largest first.
    pub by_type: Vec<TypeTotal>,
    pub results: Vec<AdminAttachment>,
}

/// One row of the totals query: the grand total, an uploader's or a type's.
#[derive(sqlx::FromRow)]
struct TotalRow {
    /// `GROUPING(uploader_id, content_type)`: 1 = per uploader, 2 = per type, 3 = all.
    grouping: i32,
    uploader_id: Option<Uuid>,
    uploader_name: Option<String>,
    content_type: Option<String>,
    matches: i64,
    files: i64,
    size: i64,
}

/// The tenant's attachments, newest first, with the count and stored size of all matches
/// and their totals per uploader and per type.
pub async fn admin_list(pool: &sqlx::PgPool, admin: &Admin, filter: AdminFilter) -> Result<AdminAttachmentPage> {
    let actor = admin.actor();
    // `$4` is a MIME type without parameters or a top-level type; the API lets through
    // only letters, digits and `.+-/`, so it cannot carry a LIKE wildcard.
    const MATCHES: &str = "a.tenant_id = $1 AND ($2::uuid IS NULL OR a.conversation_id = $2)
        AND ($3::uuid IS NULL OR a.uploader_id = $3)
        AND ($4::text IS NULL OR trim(split_part(a.content_type, ';', 1)) = $4 OR a.content_type LIKE $4 || '/%')
        AND ($5::timestamptz IS NULL OR a.created_at >= $5) AND ($6::timestamptz IS NULL OR a.created_at < $6)";
    // One pass for the grand total and both breakdowns; types without parameters
    // (`text/plain; charset=utf-8` counts as `text/plain`).
    let totals: Vec<TotalRow> = sqlx::query_as(&format!(
        "WITH m AS (
             SELECT a.uploader_id, trim(split_part(a.content_type, ';', 1)) AS content_type, a.size, a.deleted_at
             FROM attachments a WHERE {MATCHES})
         SELECT GROUPING(m.uploader_id, m.content_type) AS grouping, m.uploader_id,
                min(u.name) AS uploader_name, m.content_type, count(*) AS matches,
                count(*) FILTER (WHERE m.deleted_at IS NULL) AS files,
                coalesce(sum(m.size) FILTER (WHERE m.deleted_at IS NULL), 0)::bigint AS size
         FROM m JOIN users u ON u.id = m.uploader_id AND u.tenant_id = $1
         GROUP BY GROUPING SETS ((), (m.uploader_id), (m.content_type))
         ORDER BY size DESC, files DESC"
    ))
    .bind(actor.tenant_id())
    .bind(filter.conversation_id)
    .bind(filter.uploader_id)
    .bind(&filter.content_type)
    .bind(filter.from)
    .bind(filter.to)
    .fetch_all(pool)
    .await?;
    let results = sqlx::query_as(&format!(
        "SELECT a.id, a.filename, a.content_type, a.size, a.created_at AS uploaded_at, a.conversation_id,
                a.message_id, a.uploader_id, u.name AS uploader_name, u.email AS uploader_email, a.deleted_at
         FROM attachments a JOIN users u ON u.id = a.uploader_id AND u.tenant_id = a.tenant_id
         WHERE {MATCHES} ORDER BY a.created_at DESC, a.id LIMIT $7 OFFSET $8"
    ))
    .bind(actor.tenant_id())
    .bind(filter.conversation_id)
    .bind(filter.uploader_id)
    .bind(&filter.content_type)
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.limit)
    .bind(filter.offset)
    .fetch_all(pool)
    .await?;
    let details = serde_json::json!({
        "conversation": filter.conversation_id, "uploader": filter.uploader_id, "type": filter.content_type,
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
    let mut page = AdminAttachmentPage {
        count: 0,
        total_size: 0,
        by_uploader: Vec::new(),
        by_type: Vec::new(),
        results,
    };
    for row in totals {
        match (row.grouping, row.uploader_id, row.content_type) {
            (1, Some(uploader_id), _) => page.by_uploader.push(UploaderTotal {
                uploader_id,
                uploader_name: row.uploader_name.unwrap_or_default(),
                files: row.files,
                size: row.size,
            }),
            (2, _, Some(content_type)) => page.by_type.push(TypeTotal {
                content_type,
                files: row.files,
                size: row.size,
            }),
            _ => (page.count, page.total_size) = (row.matches, row.size),
        }
    }
    Ok(page)
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
