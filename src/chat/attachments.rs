//! Attachments as messages show them, and serving their files to participants.
//! Receiving files is `staging.rs`; the admin's view of them is `admin::attachments`.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    filenames, images,
    views::{Attachment, AttachmentFile, DeletedAttachment},
};
use crate::{
    auth::Actor,
    error::{Error, Result},
    timestamp::Timestamp,
};

#[derive(sqlx::FromRow)]
pub(super) struct AttachmentRow {
    pub id: Uuid,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub thumbnail_path: Option<String>,
    pub created_at: Timestamp,
    pub deleted: bool,
}

impl AttachmentRow {
    pub(super) fn into_view(self) -> Attachment {
        if self.deleted {
            return Attachment::Deleted(DeletedAttachment {
                id: self.id,
                filename: self.filename,
                deleted: true,
            });
        }
        let url = format!("/api/chat/attachments/{}/", self.id);
        Attachment::File(AttachmentFile {
            thumbnail_url: self.thumbnail_path.map(|_| format!("{url}?thumb=1")),
            id: self.id,
            filename: self.filename,
            content_type: self.content_type,
            size: self.size,
            url,
            uploaded_at: self.created_at,
            width: self.width,
            height: self.height,
        })
    }
}

/// The attachments of these messages (of the actor's tenant), per message, in order.
pub(crate) async fn for_messages(
    conn: &mut PgConnection,
    actor: &Actor,
    message_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Attachment>>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        message_id: Uuid,
        #[sqlx(flatten)]
        attachment: AttachmentRow,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT message_id, id, filename, content_type, size, width, height, thumbnail_path, created_at,
                deleted_at IS NOT NULL AS deleted
         FROM attachments WHERE message_id = ANY($1) AND tenant_id = $2
         ORDER BY message_id, position",
    )
    .bind(message_ids)
    .bind(actor.tenant_id())
    .fetch_all(&mut *conn)
    .await?;
    let mut by_message: HashMap<Uuid, Vec<Attachment>> = HashMap::new();
    for row in rows {
        by_message
            .entry(row.message_id)
            .or_default()
            .push(row.attachment.into_view());
    }
    Ok(by_message)
}

/// Removes the stored files (and thumbnails) of attachments whose rows were deleted or
/// made tombstones. Called after that commit, so a failed commit never takes a file its
/// row still points to; a file that cannot be removed is logged and left behind.
pub(crate) async fn remove_files(media_root: &Path, files: Vec<(String, Option<String>)>) {
    for path in files
        .into_iter()
        .flat_map(|(file, thumbnail)| std::iter::once(file).chain(thumbnail))
    {
        if let Err(err) = tokio::fs::remove_file(media_root.join(&path)).await {
            tracing::warn!(error = %err, path, "could not remove an attachment's file");
        }
    }
}

/// A file to send to a participant.
pub struct Download {
    pub path: PathBuf,
    pub content_type: String,
    pub filename: String,
    /// Images are shown inline, everything else downloads.
    pub inline: bool,
    /// For a sealed file (`sealed_files`), the name it is sealed as; `None`: plain.
    pub sealed_as: Option<String>,
}

/// The file (or its thumbnail) behind an attachment id: 404 when unknown, of another
/// tenant or removed; 403 `not_a_participant` for a same-tenant outsider.
pub async fn download(
    pool: &sqlx::PgPool,
    media_root: &Path,
    actor: &Actor,
    id: Uuid,
    thumbnail: bool,
) -> Result<Download> {
    let row: Option<DownloadRow> = sqlx::query_as(
        "SELECT a.storage_path, a.content_type, a.filename, a.thumbnail_path, a.deleted_at IS NOT NULL AS deleted,
                a.file_key_id IS NOT NULL AS sealed,
                EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = a.conversation_id AND p.user_id = $3)
                    AS participant
         FROM attachments a WHERE a.id = $1 AND a.tenant_id = $2",
    )
    .bind(id)
    .bind(actor.tenant_id())
    .bind(actor.user_id())
    .fetch_optional(pool)
    .await?;
    let row = row.ok_or_else(|| Error::not_found("Attachment"))?;
    // A tenant admin may open any file of the tenant: the console lists, previews and
    // removes them, and the compliance reads already show any conversation to admins.
    if !row.participant && actor.require_admin().is_err() {
        return Err(Error::NotAParticipant);
    }
    if row.deleted {
        return Err(Error::not_found("Attachment"));
    }
    if thumbnail {
        let path = row.thumbnail_path.ok_or_else(|| Error::not_found("Thumbnail"))?;
        let content_type = images::thumbnail_type(&row.content_type);
        return Ok(Download {
            path: media_root.join(&path),
            content_type: content_type.into(),
            filename: filenames::served(content_type, &row.filename),
            inline: true,
            sealed_as: row.sealed.then_some(path),
        });
    }
    Ok(Download {
        path: media_root.join(&row.storage_path),
        sealed_as: row.sealed.then_some(row.storage_path),
        inline: row.content_type.starts_with("image/"),
        filename: filenames::served(&row.content_type, &row.filename),
        content_type: row.content_type,
    })
}

#[derive(sqlx::FromRow)]
struct DownloadRow {
    storage_path: String,
    content_type: String,
    filename: String,
    thumbnail_path: Option<String>,
    deleted: bool,
    sealed: bool,
    participant: bool,
}
