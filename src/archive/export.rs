//! Writing an archive. Rows stream from one read-only snapshot (REPEATABLE READ, so the
//! tables agree with each other) straight to disk, one line at a time, never the whole
//! tenant in memory. Everything goes to `FILE.partial` and `FILE.files.partial/` first and
//! is renamed into place at the end, so a run that fails or is killed leaves any previous
//! archive as it was, and running the command again simply starts over.

use std::path::Path;

use futures_util::TryStreamExt;
use serde_json::json;
use tokio::{fs, io::AsyncWriteExt};

use super::{attachment_files, files_dir, generated_columns, io_error, ArchiveError, Result, Table, FORMAT, TABLES};
use crate::accounts::{self, TenantSlug};

/// What an export wrote.
#[derive(Debug, Default)]
pub struct Exported {
    pub rows: u64,
    pub files: u64,
    /// Files an attachment row names that were not in the media directory (removed by
    /// hand, or a retention sweep between the row and the file); the row is kept.
    pub missing_files: u64,
}

pub async fn export(pool: &sqlx::PgPool, media_root: &Path, slug: &TenantSlug, out: &Path) -> Result<Exported> {
    let tenant_id = accounts::tenant_id_by_slug(pool, slug)
        .await?
        .ok_or_else(|| ArchiveError::Refused(format!("no tenant with slug {:?}", slug.as_str())))?;
    let (partial, partial_files) = (with_suffix(out, ".partial"), with_suffix(&files_dir(out), ".partial"));
    remove_if_there(&partial).await?;
    remove_if_there(&partial_files).await?;
    fs::create_dir_all(&partial_files)
        .await
        .map_err(io_error(&partial_files))?;
    let file = fs::File::create(&partial).await.map_err(io_error(&partial))?;
    let mut writer = tokio::io::BufWriter::new(file);
    let header = json!({"type": "archive", "format": FORMAT, "tenant": slug.as_str(),
                        "exported_at": chrono::Utc::now().to_rfc3339()});
    write_line(&mut writer, &header.to_string(), &partial).await?;

    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let mut done = Exported::default();
    for table in TABLES {
        let skipped = generated_columns(&mut tx, table.table).await?;
        let Table {
            record,
            table: name,
            rows,
            order,
        } = table;
        let query = format!("SELECT (to_jsonb(t) - $2::text[])::text FROM {name} t WHERE {rows} ORDER BY {order}");
        let mut lines = sqlx::query_scalar::<_, String>(&query)
            .bind(tenant_id)
            .bind(&skipped)
            .fetch(&mut *tx);
        while let Some(row) = lines.try_next().await? {
            write_line(&mut writer, &format!(r#"{{"type":"{record}","row":{row}}}"#), &partial).await?;
            done.rows += 1;
            if *record == "attachment" {
                copy_files(media_root, &partial_files, &row, &mut done).await?;
            }
        }
    }
    tx.commit().await?;
    writer.flush().await.map_err(io_error(&partial))?;
    writer.into_inner().sync_all().await.map_err(io_error(&partial))?;

    let final_files = files_dir(out);
    remove_if_there(&final_files).await?;
    fs::rename(&partial_files, &final_files)
        .await
        .map_err(io_error(&final_files))?;
    fs::rename(&partial, out).await.map_err(io_error(out))?;
    Ok(done)
}

async fn copy_files(media_root: &Path, into: &Path, row: &str, done: &mut Exported) -> Result<()> {
    let row: serde_json::Value = serde_json::from_str(row).map_err(|e| ArchiveError::Refused(e.to_string()))?;
    for relative in attachment_files(&row)? {
        let target = into.join(relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).await.map_err(io_error(parent))?;
        }
        match fs::copy(media_root.join(relative), &target).await {
            Ok(_) => done.files += 1,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => done.missing_files += 1,
            Err(err) => return Err(io_error(&target)(err)),
        }
    }
    Ok(())
}

async fn write_line(writer: &mut tokio::io::BufWriter<fs::File>, line: &str, path: &Path) -> Result<()> {
    writer.write_all(line.as_bytes()).await.map_err(io_error(path))?;
    writer.write_all(b"\n").await.map_err(io_error(path))
}

fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

async fn remove_if_there(path: &Path) -> Result<()> {
    let removed = match fs::metadata(path).await {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path).await,
        Ok(_) => fs::remove_file(path).await,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    };
    removed.map_err(io_error(path))
}
