//! Reading an archive into a database that does not have its tenant yet. The archive is
//! read line by line (never whole) and written in ONE transaction: any bad line — an
//! unknown record, rows out of order, a row of another tenant, a row the database refuses
//! — rolls everything back and names the line, and the files copied so far are removed
//! again. Rows keep their ids, so the same archive imports once per database.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::PgConnection;
use tokio::{
    fs,
    io::{AsyncBufReadExt, BufReader},
};
use uuid::Uuid;

use super::{attachment_files, files_dir, generated_columns, io_error, ArchiveError, Result, FORMAT, TABLES};
use crate::accounts::{self, TenantSlug};

/// What an import wrote.
#[derive(Debug)]
pub struct Imported {
    pub tenant: String,
    pub rows: u64,
    pub files: u64,
}

#[derive(Deserialize)]
struct Header {
    #[serde(rename = "type")]
    kind: String,
    format: u32,
    tenant: String,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "type")]
    kind: String,
    row: Map<String, Value>,
}

pub async fn import(pool: &sqlx::PgPool, media_root: &Path, input: &Path) -> Result<Imported> {
    let file = fs::File::open(input).await.map_err(io_error(input))?;
    let mut lines = BufReader::new(file).lines();
    let first = lines.next_line().await.map_err(io_error(input))?.unwrap_or_default();
    let header: Header = serde_json::from_str(&first)
        .ok()
        .filter(|h: &Header| h.kind == "archive")
        .ok_or_else(|| ArchiveError::Refused(format!("{}: not a tenantchat archive", input.display())))?;
    if header.format != FORMAT {
        return Err(ArchiveError::Refused(format!(
            "archive format {} (this version reads {FORMAT})",
            header.format
        )));
    }
    let slug = TenantSlug::parse(&header.tenant).map_err(ArchiveError::Refused)?;
    if accounts::tenant_id_by_slug(pool, &slug).await?.is_some() {
        return Err(ArchiveError::Refused(format!(
            "a tenant with slug {:?} already exists; import into a database without it",
            slug.as_str()
        )));
    }

    let mut copier = Copier {
        from: files_dir(input),
        to: media_root.to_path_buf(),
        copied: Vec::new(),
    };
    let mut tx = pool.begin().await?;
    let written = async {
        let mut reader = Reader::default();
        let mut line_no = 1;
        while let Some(line) = lines.next_line().await.map_err(io_error(input))? {
            line_no += 1;
            let at = |message: String| ArchiveError::Refused(format!("line {line_no}: {message}"));
            let record: Record = serde_json::from_str(&line).map_err(|e| at(e.to_string()))?;
            reader
                .insert(&mut tx, &slug, record, &mut copier)
                .await
                .map_err(|e| match e {
                    ArchiveError::Refused(message) => at(message),
                    ArchiveError::Database(db) => at(db.to_string()),
                    other => other,
                })?;
        }
        if reader.tenant_id.is_none() {
            return Err(ArchiveError::Refused("the archive holds no tenant".into()));
        }
        advance_sequences(&mut tx).await?;
        Ok(reader.rows)
    }
    .await;
    let committed = match written {
        Ok(rows) => tx.commit().await.map(|()| rows).map_err(ArchiveError::from),
        Err(err) => Err(err),
    };
    match committed {
        Ok(rows) => Ok(Imported {
            tenant: slug.as_str().to_string(),
            rows,
            files: copier.copied.len() as u64,
        }),
        Err(err) => {
            copier.undo().await;
            Err(err)
        }
    }
}

/// Where the reading is: which table, the tenant's id once its row is in.
#[derive(Default)]
struct Reader {
    table: usize,
    columns: Vec<String>,
    tenant_id: Option<Uuid>,
    rows: u64,
}

impl Reader {
    async fn insert(
        &mut self,
        db: &mut PgConnection,
        slug: &TenantSlug,
        record: Record,
        copier: &mut Copier,
    ) -> Result<()> {
        let refused = |m: String| Err(ArchiveError::Refused(m));
        let Some(index) = TABLES.iter().position(|t| t.record == record.kind) else {
            return refused(format!("unknown record type {:?}", record.kind));
        };
        if index < self.table {
            return refused(format!(
                "a {} after the {} records: the archive's order is broken",
                record.kind, TABLES[self.table].record
            ));
        }
        if index != self.table || self.columns.is_empty() {
            self.table = index;
            self.columns = writable_columns(db, TABLES[index].table).await?;
        }
        let row = record.row;
        self.check_tenant(index, slug, &row)?;
        let columns: Vec<String> = self
            .columns
            .iter()
            .filter(|c| row.contains_key(c.as_str()))
            .map(|c| format!("\"{c}\""))
            .collect();
        let (list, table) = (columns.join(", "), TABLES[index].table);
        let insert =
            format!("INSERT INTO {table} ({list}) SELECT {list} FROM jsonb_populate_record(NULL::{table}, $1::jsonb)");
        let row = Value::Object(row);
        sqlx::query(&insert).bind(row.to_string()).execute(&mut *db).await?;
        if TABLES[index].record == "attachment" {
            copier.copy(&row).await?;
        }
        self.rows += 1;
        Ok(())
    }

    /// The tenant's row comes first and carries the header's slug; every later row
    /// belongs to it (an archive cannot write into another tenant).
    fn check_tenant(&mut self, index: usize, slug: &TenantSlug, row: &Map<String, Value>) -> Result<()> {
        let id = |key: &str| {
            row.get(key)
                .and_then(Value::as_str)
                .and_then(|v| v.parse::<Uuid>().ok())
        };
        match (index, self.tenant_id) {
            (0, None) if row.get("slug").and_then(Value::as_str) == Some(slug.as_str()) => {
                self.tenant_id = id("id");
                Ok(())
            }
            (0, _) => Err(ArchiveError::Refused(
                "a second tenant, or one unlike the header's".into(),
            )),
            (_, None) => Err(ArchiveError::Refused("rows before the tenant's".into())),
            (_, Some(tenant_id)) if id("tenant_id") == Some(tenant_id) => Ok(()),
            (_, Some(_)) => Err(ArchiveError::Refused("a row of another tenant".into())),
        }
    }
}

async fn writable_columns(db: &mut PgConnection, table: &str) -> Result<Vec<String>> {
    let generated = generated_columns(db, table).await?;
    let all: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *db)
    .await?;
    Ok(all.into_iter().filter(|c| !generated.contains(c)).collect())
}

/// Rows came with their ids: serial counters move past them so new rows do not collide.
async fn advance_sequences(db: &mut PgConnection) -> Result<()> {
    for table in TABLES {
        let serials: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 AND column_default LIKE 'nextval(%'",
        )
        .bind(table.table)
        .fetch_all(&mut *db)
        .await?;
        for column in serials {
            let name = table.table;
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{name}', '{column}'), max(\"{column}\")) FROM {name}
                 HAVING max(\"{column}\") IS NOT NULL"
            ))
            .execute(&mut *db)
            .await?;
        }
    }
    Ok(())
}

/// Copies the attachments' files into the media directory, remembering what it wrote so
/// a failed import leaves nothing behind. An existing file is never overwritten.
struct Copier {
    from: PathBuf,
    to: PathBuf,
    copied: Vec<PathBuf>,
}

impl Copier {
    async fn copy(&mut self, row: &Value) -> Result<()> {
        for relative in attachment_files(row)? {
            let (source, target) = (self.from.join(relative), self.to.join(relative));
            if fs::try_exists(&target).await.map_err(io_error(&target))? {
                return Err(ArchiveError::Refused(format!("{} already exists", target.display())));
            }
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).await.map_err(io_error(parent))?;
            }
            match fs::copy(&source, &target).await {
                Ok(_) => self.copied.push(target),
                // A file missing from the archive (see `Exported::missing_files`) stays missing.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(io_error(&source)(err)),
            }
        }
        Ok(())
    }

    async fn undo(&self) {
        for path in &self.copied {
            let _ = fs::remove_file(path).await;
        }
    }
}
