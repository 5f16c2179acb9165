//! Staging uploaded files: streamed to a temporary file, checked, measured and
//! thumbnailed, then placed under `MEDIA_ROOT/chat_attachments/YYYY/MM/<uuid>` when
//! their message commits.
//!
//! Nothing half-written survives: a `Staged` upload removes every file it wrote when it
//! is dropped without having been kept — a refused file, a failed insert, a client that
//! hangs up mid-upload (the request future is dropped) all end there.

use std::path::{Path, PathBuf};

use chrono::{Datelike, Utc};
use sqlx::PgPool;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::{
    attachments::AttachmentRow,
    filenames, images, sealed_files,
    settings::{TenantSettings, MAX_UPLOAD_BYTES},
    uploads::{Sniffer, UploadKind},
    views::Attachment,
};
use crate::{
    crypto,
    error::{Error, Result},
    timestamp::Timestamp,
};

pub const MAX_FILES: usize = 10;
/// Under MEDIA_ROOT; `tmp/` inside it is the staging area.
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
    /// The key the file and its thumbnail are sealed with (`sealed_files`); plain when
    /// `None`.
    pub key_id: Option<String>,
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
    /// The tenant's rules: a file is refused the moment it passes their size cap, and
    /// as soon as it ends if they do not allow its type.
    rules: TenantSettings,
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
    /// Largest size allowed (the tenant's cap, at most the server's).
    limit: u64,
}

impl Incoming {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        if self.sniffer.len() + chunk.len() as u64 > self.limit {
            let whose = if self.limit < MAX_UPLOAD_BYTES {
                "this workspace's limit of "
            } else {
                ""
            };
            return Err(Error::validation(
                "attachments",
                format!("{:?} is larger than {whose}{} bytes", self.filename, self.limit),
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
    /// An upload into the staging area under `media_root`, held to the tenant's rules.
    pub async fn for_tenant(pool: &PgPool, tenant_id: Uuid, media_root: &Path) -> Result<Staged> {
        Ok(Staged {
            media_root: media_root.to_path_buf(),
            rules: TenantSettings::load(pool, tenant_id).await?,
            files: Vec::new(),
            written: Vec::new(),
            moves: Vec::new(),
            kept: false,
        })
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
            filename: filenames::sanitize(filename),
            declared: declared.map(str::to_string),
            limit: self.rules.max_upload_bytes(),
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
        if !self.rules.allows(kind) {
            return Err(Error::validation(
                "attachments",
                format!("{:?}: {kind} files are not allowed here", incoming.filename),
            ));
        }
        let id = Uuid::new_v4();
        let now = Utc::now();
        let storage_path = format!("{DIR}/{:04}/{:02}/{id}", now.year(), now.month());
        let (width, height, thumbnail_path) = if kind.is_image() {
            let thumb_temp = incoming.temp.with_extension("thumb");
            self.written.push(thumb_temp.clone());
            let image = images::inspect(incoming.temp.clone(), kind, thumb_temp.clone())
                .await
                .map_err(|message| Error::validation("attachments", format!("{:?}: {message}", incoming.filename)))?;
            let thumbnail_path = image.thumbnail.then(|| format!("{storage_path}.thumb"));
            if let Some(path) = &thumbnail_path {
                if let Some(key) = crypto::keyring().current() {
                    sealed_files::seal_in_place(Some(key), &thumb_temp, path).await?;
                }
                self.moves.push((thumb_temp, self.media_root.join(path)));
            }
            (Some(image.width), Some(image.height), thumbnail_path)
        } else {
            (None, None, None)
        };
        let key_id = match crypto::keyring().current() {
            Some(key) => {
                sealed_files::seal_in_place(Some(key), &incoming.temp, &storage_path).await?;
                Some(key.id.clone())
            }
            None => None,
        };
        self.moves.push((incoming.temp, self.media_root.join(&storage_path)));
        self.files.push(StagedFile {
            id,
            filename: filenames::for_kind(kind, &incoming.filename),
            kind,
            size: incoming.sniffer.len(),
            width,
            height,
            storage_path,
            thumbnail_path,
            key_id,
        });
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
