//! A tenant's data as one JSON-lines archive, and back (`tenantchat tenant export` /
//! `tenant import`). The first line says what the file is; then one line per row,
//! `{"type": "<record type>", "row": {<column>: <value>, …}}`, table by table in the order
//! of `TABLES` (parents before children), and the attachments' files in a directory next
//! to the archive. Rows are the tables' own columns (what `to_jsonb` makes of them, minus
//! generated ones), so a column added by a later migration travels without code here, and
//! an archive from before it imports with the column's default.
//!
//! The archive holds everything needed to carry on: the tenant with its settings and
//! widget secret, users with their password hashes (so logins keep working), API token
//! hashes, conversations, members, messages with their edits, mentions, reactions,
//! attachments and the audit log (its hash chain still verifies). Sessions are left out:
//! everyone logs in again. Treat an archive like a database backup.

pub mod export;
pub mod import;

use std::path::{Component, Path, PathBuf};

/// Why an export or import stopped, worded for the operator's one line on stderr (the
/// API's `Error` hides causes from clients; here the cause is the point).
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{0}")]
    Refused(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    App(#[from] crate::error::Error),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

pub type Result<T, E = ArchiveError> = std::result::Result<T, E>;

/// An I/O error with the path it happened on.
fn io_error(path: &Path) -> impl Fn(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The archive's format; `import` refuses another.
pub const FORMAT: u32 = 1;

/// A tenant-owned table: its record type in the archive, which rows belong to the tenant
/// (`$1` is the tenant id) and the order they are written in — the order import can
/// insert them in (a reply after the message it answers).
pub struct Table {
    pub record: &'static str,
    pub table: &'static str,
    pub rows: &'static str,
    pub order: &'static str,
}

/// Parents before children. `conversations.last_message_id` points forward, but that key
/// is checked at commit (`DEFERRABLE INITIALLY DEFERRED`).
pub const TABLES: &[Table] = &[
    Table {
        record: "tenant",
        table: "tenants",
        rows: "id = $1",
        order: "id",
    },
    Table {
        record: "user",
        table: "users",
        rows: "tenant_id = $1",
        order: "created_at, id",
    },
    Table {
        record: "api_token",
        table: "api_tokens",
        rows: "tenant_id = $1",
        order: "created_at, id",
    },
    Table {
        record: "conversation",
        table: "conversations",
        rows: "tenant_id = $1",
        order: "created_at, id",
    },
    Table {
        record: "member",
        table: "participants",
        rows: "tenant_id = $1",
        order: "conversation_id, user_id",
    },
    Table {
        record: "support_conversation",
        table: "support_conversations",
        rows: "tenant_id = $1",
        order: "created_at, conversation_id",
    },
    Table {
        record: "message",
        table: "messages",
        rows: "tenant_id = $1",
        order: "conversation_id, seq",
    },
    Table {
        record: "message_edit",
        table: "message_edits",
        rows: "tenant_id = $1",
        order: "id",
    },
    Table {
        record: "mention",
        table: "mentions",
        rows: "tenant_id = $1",
        order: "message_id, user_id",
    },
    Table {
        record: "reaction",
        table: "reactions",
        rows: "tenant_id = $1",
        order: "message_id, user_id, emoji",
    },
    Table {
        record: "attachment",
        table: "attachments",
        rows: "tenant_id = $1",
        order: "message_id, position",
    },
    Table {
        record: "audit",
        table: "audit_log",
        rows: "tenant_id = $1",
        order: "id",
    },
    // Bots' and tenant webhooks' endpoints, and their delivery log. Pending deliveries
    // travel too: the importing server delivers them, under the same delivery ids, which
    // receivers already de-duplicate (at-least-once).
    Table {
        record: "webhook_endpoint",
        table: "webhook_endpoints",
        rows: "tenant_id = $1",
        order: "created_at, id",
    },
    Table {
        record: "webhook_delivery",
        table: "webhook_deliveries",
        rows: "tenant_id = $1",
        order: "created_at, id",
    },
];

/// The directory of the attachments' files next to an archive: `FILE.files/`.
pub fn files_dir(archive: &Path) -> PathBuf {
    let mut name = archive.as_os_str().to_owned();
    name.push(".files");
    PathBuf::from(name)
}

/// The columns of `table` that are computed, so neither exported nor written.
async fn generated_columns(db: &mut sqlx::PgConnection, table: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'ALWAYS'",
    )
    .bind(table)
    .fetch_all(db)
    .await?)
}

/// A stored file's path relative to the media root, if it stays inside it: an archive
/// is input, and `../` in it must not write outside the directories it names.
fn relative_file(path: &str) -> Result<&Path> {
    let relative = Path::new(path);
    let inside = relative.components().all(|c| matches!(c, Component::Normal(_)));
    if inside && !path.is_empty() {
        Ok(relative)
    } else {
        Err(ArchiveError::Refused(format!(
            "file path {path:?} leaves the media directory"
        )))
    }
}

/// The attachment files a row of `attachments` names (the file, and its thumbnail).
fn attachment_files(row: &serde_json::Value) -> Result<Vec<&Path>> {
    ["storage_path", "thumbnail_path"]
        .into_iter()
        .filter_map(|column| row.get(column).and_then(|v| v.as_str()))
        .map(relative_file)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_inside_the_media_root_are_files() {
        assert!(relative_file("attachments/2026/ab/cd.png").is_ok());
        for outside in ["../etc/passwd", "/etc/passwd", "a/../../b", ""] {
            assert!(relative_file(outside).is_err(), "{outside}");
        }
    }

    #[test]
    fn the_files_sit_next_to_the_archive() {
        assert_eq!(
            files_dir(Path::new("/tmp/acme.jsonl")),
            Path::new("/tmp/acme.jsonl.files")
        );
    }
}
