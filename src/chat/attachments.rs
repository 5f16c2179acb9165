//! Attachments: staging uploaded files (streamed to a temporary file, checked, measured,
//! thumbnailed), placing them under `MEDIA_ROOT/chat_attachments/YYYY/MM/<uuid>` when
//! their message commits, serving them to participants, and the admin's view of them.
//!
//! Nothing half-written survives: a `Staged` upload removes every file it wrote when it
//! is dropped without having been kept — a refused file, a failed insert, a client that
//! hangs up mid-upload (the request future is dropped) all end there.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use chrono::{Datelike, Utc};
use sqlx::PgConnection;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::{
    settings::{TenantSettings, MAX_UPLOAD_BYTES},
    uploads::{sanitize_filename, Sniffer, UploadKind},
    views::{Attachment, AttachmentFile, DeletedAttachment},
};
use crate::{
    admin::Admin,
    audit::Entry,
    auth::Actor,
    error::{Error, Result},
    timestamp::Timestamp,
};

pub const MAX_FILES: usize = 10;
/// Images with more pixels than this are refused (decompression bombs).
pub const MAX_PIXELS: u64 = 50_000_000;
pub const THUMBNAIL_SIZE: u32 = 320;
const DIR: &str = "chat_attachments";

/// One file received and checked, not yet any message's.
#[derive(Debug)]
pub struct StagedFile {
    pub id: Uuid,
    pub filename: String,
    pub kind: UploadKind,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Relative to MEDIA_ROOT.
    pub storage_path: String,
    pub thumbnail_path: Option<String>,
}

impl StagedFile {
    /// The attachment as the message will show it.
    pub fn view(&self, uploaded_at: Timestamp) -> Attachment {
        AttachmentRow {
            id: self.id,
            filename: self.filename.clone(),
            content_type: self.kind.mime().to_string(),
            size: self.size as i64,
            width: self.width.map(|w| w as i32),
            height: self.height.map(|h| h as i32),
            thumbnail_path: self.thumbnail_path.clone(),
            created_at: uploaded_at,
            deleted: false,
        }
        .into_view()
    }
}

/// The files of one upload, in the staging directory until `place`d.
pub struct Staged {
    media_root: PathBuf,
    pub files: Vec<StagedFile>,
    /// Every file this upload wrote (temporary or placed), removed on drop unless kept.
    written: Vec<PathBuf>,
    /// Temporary → final moves to make when the message commits.
    moves: Vec<(PathBuf, PathBuf)>,
    kept: bool,
}

/// A file being received.
pub struct Incoming {
    file: tokio::fs::File,
    temp: PathBuf,
    sniffer: Sniffer,
    filename: String,
    declared: Option<String>,
}

impl Incoming {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        if self.sniffer.len() + chunk.len() as u64 > MAX_UPLOAD_BYTES {
            return Err(Error::validation(
                "attachments",
                format!("{:?} is larger than {} bytes", self.filename, MAX_UPLOAD_BYTES),
            ));
        }
        self.sniffer.feed(chunk);
        self.file.write_all(chunk).await.map_err(Error::internal)
    }
}

fn staging_dir(media_root: &Path) -> PathBuf {
    media_root.join(DIR).join("tmp")
}

impl Staged {
    pub fn new(media_root: &Path) -> Staged {
        Staged {
            media_root: media_root.to_path_buf(),
            files: Vec::new(),
            written: Vec::new(),
            moves: Vec::new(),
            kept: false,
        }
    }

    /// Opens the temporary file for the next attachment.
    pub async fn start(&mut self, filename: Option<&str>, declared: Option<&str>) -> Result<Incoming> {
        if self.files.len() >= MAX_FILES {
            return Err(Error::validation(
                "attachments",
                format!("at most {MAX_FILES} files per message"),
            ));
        }
        let dir = staging_dir(&self.media_root);
        tokio::fs::create_dir_all(&dir).await.map_err(Error::internal)?;
        let temp = dir.join(format!("{}.part", Uuid::new_v4()));
        let file = tokio::fs::File::create(&temp).await.map_err(Error::internal)?;
        self.written.push(temp.clone());
        Ok(Incoming {
            file,
            temp,
            sniffer: Sniffer::default(),
            filename: sanitize_filename(filename),
            declared: declared.map(str::to_string),
        })
    }

    /// Checks a received file: its kind by its bytes, its pixel count for images, and
    /// makes the thumbnail.
    pub async fn finish(&mut self, mut incoming: Incoming) -> Result<()> {
        incoming.file.flush().await.map_err(Error::internal)?;
        drop(incoming.file);
        let whole = if incoming.sniffer.needs_whole_file() {
            Some(tokio::fs::read(&incoming.temp).await.map_err(Error::internal)?)
        } else {
            None
        };
        let kind = incoming
            .sniffer
            .detect(whole.as_deref(), &incoming.filename, incoming.declared.as_deref())
            .map_err(|message| Error::validation("attachments", message))?;
        let id = Uuid::new_v4();
        let now = Utc::now();
        let storage_path = format!("{DIR}/{:04}/{:02}/{id}", now.year(), now.month());
        let (width, height, thumbnail_path) = if kind.is_image() {
            let thumb_temp = incoming.temp.with_extension("thumb");
            self.written.push(thumb_temp.clone());
            let image = super::images::inspect(incoming.temp.clone(), kind, thumb_temp.clone())
                .await
                .map_err(|message| Error::validation("attachments", format!("{:?}: {message}", incoming.filename)))?;
            let thumbnail_path = image.thumbnail.then(|| format!("{storage_path}.thumb"));
            if let Some(path) = &thumbnail_path {
                self.moves.push((thumb_temp, self.media_root.join(path)));
            }
            (Some(image.width), Some(image.height), thumbnail_path)
        } else {
            (None, None, None)
        };
        self.moves.push((incoming.temp, self.media_root.join(&storage_path)));
        self.files.push(StagedFile {
            id,
            filename: incoming.filename,
            kind,
            size: incoming.sniffer.len(),
            width,
            height,
            storage_path,
            thumbnail_path,
        });
        Ok(())
    }

    /// Bytes received so far.
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Applies the tenant's own limits (a lower size cap, a subset of types).
    pub fn check_against(&self, settings: &TenantSettings) -> Result<()> {
        for file in &self.files {
            if file.size > settings.max_upload_bytes() {
                return Err(Error::validation(
                    "attachments",
                    format!(
                        "{:?} is larger than this workspace's limit of {} bytes",
                        file.filename,
                        settings.max_upload_bytes()
                    ),
                ));
            }
            if !settings.allows(file.kind) {
                return Err(Error::validation(
                    "attachments",
                    format!("{:?}: {} files are not allowed here", file.filename, file.kind),
                ));
            }
        }
        Ok(())
    }

    /// Moves the files into place (call inside the message's transaction, just before
    /// commit; if the commit fails the files go when this is dropped).
    pub async fn place(&mut self) -> Result<()> {
        for (from, to) in std::mem::take(&mut self.moves) {
            if let Some(dir) = to.parent() {
                tokio::fs::create_dir_all(dir).await.map_err(Error::internal)?;
            }
            tokio::fs::rename(&from, &to).await.map_err(Error::internal)?;
            self.written.push(to);
        }
        Ok(())
    }

    /// The message committed: the files are its now.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.kept {
            for path in &self.written {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// Removes staging files older than an hour: what a crashed process left behind.
pub async fn sweep_staging(media_root: &Path) {
    let Ok(mut entries) = tokio::fs::read_dir(staging_dir(media_root)).await else {
        return;
    };
    let cutoff = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    while let Ok(Some(entry)) = entries.next_entry().await {
        let stale = entry
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .is_some_and(|t| t < cutoff);
        if stale {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}

#[derive(sqlx::FromRow)]
struct AttachmentRow {
    id: Uuid,
    filename: String,
    content_type: String,
    size: i64,
    width: Option<i32>,
    height: Option<i32>,
    thumbnail_path: Option<String>,
    created_at: Timestamp,
    deleted: bool,
}

impl AttachmentRow {
    fn into_view(self) -> Attachment {
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

/// A file to send to a participant.
pub struct Download {
    pub path: PathBuf,
    pub content_type: String,
    pub filename: String,
    /// Images are shown inline, everything else downloads.
    pub inline: bool,
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
    if !row.participant {
        return Err(Error::NotAParticipant);
    }
    if row.deleted {
        return Err(Error::not_found("Attachment"));
    }
    if thumbnail {
        let path = row.thumbnail_path.ok_or_else(|| Error::not_found("Thumbnail"))?;
        let content_type = super::images::thumbnail_type(&row.content_type);
        return Ok(Download {
            path: media_root.join(path),
            content_type: content_type.into(),
            filename: row.filename,
            inline: true,
        });
    }
    Ok(Download {
        path: media_root.join(row.storage_path),
        inline: row.content_type.starts_with("image/"),
        content_type: row.content_type,
        filename: row.filename,
    })
}

#[derive(sqlx::FromRow)]
struct DownloadRow {
    storage_path: String,
    content_type: String,
    filename: String,
    thumbnail_path: Option<String>,
    deleted: bool,
    participant: bool,
}

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
    realtime: &crate::realtime::Realtime,
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
    // After the commit: a failed commit must not have taken the file with it.
    for path in std::iter::once(storage_path).chain(thumbnail_path) {
        if let Err(err) = tokio::fs::remove_file(media_root.join(&path)).await {
            tracing::warn!(error = %err, path, "could not remove a deleted attachment's file");
        }
    }
    super::messages::announce_update(pool, realtime, actor, conversation_id, message_id).await
}
