//! The audit log: who did what to which resource, from where. Rows are appended in the
//! same transaction as the change they record, chained per tenant by hash (each row's
//! SHA-256 covers its content and the previous row's hash), and the database refuses
//! to change or delete them. `verify` recomputes the chain and names the first row that
//! does not add up.

use chrono::{DateTime, SubsecRound, Utc};
use poem_openapi::Object;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    auth::Actor,
    client::RequestMeta,
    error::{Error, Result},
    timestamp::Timestamp,
};

/// What happened.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `resource.verb`, e.g. `user.deactivate`, `attachment.delete`, `conversation.read`.
    pub action: &'static str,
    pub resource_type: &'static str,
    pub resource_id: Option<String>,
    pub details: Value,
}

/// The hashed content of a row: every column but the hashes, in a fixed order.
#[derive(Serialize)]
struct Hashed<'a> {
    id: i64,
    tenant_id: Uuid,
    actor_id: Option<Uuid>,
    action: &'a str,
    resource_type: &'a str,
    resource_id: Option<&'a str>,
    details: &'a Value,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    created_at: String,
}

fn chain_hash(prev: Option<&[u8]>, row: &Hashed<'_>) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(prev.unwrap_or(&[]));
    hasher.update(serde_json::to_vec(row).expect("audit rows serialize"));
    hasher.finalize().to_vec()
}

fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Appends a row to the tenant's chain. Call it on the transaction of the change; the
/// per-tenant lock it takes holds until that transaction ends, so chains never fork.
pub async fn record(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    actor_id: Option<Uuid>,
    meta: &RequestMeta,
    entry: Entry,
) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('audit:' || $1::text, 0))")
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?;
    let prev: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT hash FROM audit_log WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1")
            .bind(tenant_id)
            .fetch_optional(&mut *tx)
            .await?;
    let id: i64 = sqlx::query_scalar("SELECT nextval('audit_log_id_seq')")
        .fetch_one(&mut *tx)
        .await?;
    let created_at = Utc::now().trunc_subsecs(6);
    let hashed = Hashed {
        id,
        tenant_id,
        actor_id,
        action: entry.action,
        resource_type: entry.resource_type,
        resource_id: entry.resource_id.as_deref(),
        details: &entry.details,
        ip: meta.ip.as_deref(),
        user_agent: meta.user_agent.as_deref(),
        created_at: time_text(created_at),
    };
    let hash = chain_hash(prev.as_deref(), &hashed);
    sqlx::query(
        "INSERT INTO audit_log (id, tenant_id, actor_id, action, resource_type, resource_id, details, ip, user_agent,
                                created_at, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(actor_id)
    .bind(entry.action)
    .bind(entry.resource_type)
    .bind(&entry.resource_id)
    .bind(&entry.details)
    .bind(&meta.ip)
    .bind(&meta.user_agent)
    .bind(created_at)
    .bind(prev)
    .bind(hash)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// `record` in a transaction of its own, for acts that change nothing else (a
/// compliance read, a refused attempt).
pub async fn record_alone(
    pool: &PgPool,
    tenant_id: Uuid,
    actor_id: Option<Uuid>,
    meta: &RequestMeta,
    entry: Entry,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    record(&mut tx, tenant_id, actor_id, meta, entry).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    id: i64,
    tenant_id: Uuid,
    actor_id: Option<Uuid>,
    action: String,
    resource_type: String,
    resource_id: Option<String>,
    details: Value,
    ip: Option<String>,
    user_agent: Option<String>,
    created_at: DateTime<Utc>,
    prev_hash: Option<Vec<u8>>,
    hash: Vec<u8>,
}

/// The outcome of `verify`.
#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    Intact {
        rows: u64,
    },
    /// The first row whose hash or link does not match, after `rows` rows that did.
    Broken {
        rows: u64,
        id: i64,
        problem: Break,
    },
}

/// What is wrong with a broken row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// A row before it was removed, or one was inserted.
    Unlinked,
    /// The row was edited.
    Altered,
}

impl Break {
    /// A stable name, for programs and translations.
    pub fn code(self) -> &'static str {
        match self {
            Break::Unlinked => "unlinked",
            Break::Altered => "altered",
        }
    }

    /// What it means, for people.
    pub fn reason(self) -> &'static str {
        match self {
            Break::Unlinked => "does not link to the row before it",
            Break::Altered => "its content does not match its hash",
        }
    }
}

/// `verify`'s outcome as the API shows it.
#[derive(Debug, Object)]
pub struct ChainCheck {
    /// Every row links to the one before it and matches its hash.
    pub ok: bool,
    /// The rows found intact (before the broken one, if any).
    pub checked: u64,
    /// The first row that does not add up; null when the chain is intact.
    #[oai(nullable)]
    pub first_broken: Option<BrokenRow>,
}

#[derive(Debug, Object)]
pub struct BrokenRow {
    pub id: i64,
    /// `unlinked` (a row before it was removed, or one inserted) or `altered` (the row was edited).
    pub problem: String,
    /// The problem in English words.
    pub reason: String,
}

impl From<Verification> for ChainCheck {
    fn from(outcome: Verification) -> ChainCheck {
        match outcome {
            Verification::Intact { rows } => ChainCheck {
                ok: true,
                checked: rows,
                first_broken: None,
            },
            Verification::Broken { rows, id, problem } => ChainCheck {
                ok: false,
                checked: rows,
                first_broken: Some(BrokenRow {
                    id,
                    problem: problem.code().to_string(),
                    reason: problem.reason().to_string(),
                }),
            },
        }
    }
}

/// Recomputes a tenant's chain from its first row.
pub async fn verify(pool: &PgPool, tenant_id: Uuid) -> Result<Verification> {
    use futures_util::TryStreamExt;
    let mut rows = sqlx::query_as::<_, Row>("SELECT * FROM audit_log WHERE tenant_id = $1 ORDER BY id")
        .bind(tenant_id)
        .fetch(pool);
    let mut previous: Option<Vec<u8>> = None;
    let mut count = 0;
    while let Some(row) = rows.try_next().await? {
        if row.prev_hash != previous {
            return Ok(Verification::Broken {
                rows: count,
                id: row.id,
                problem: Break::Unlinked,
            });
        }
        let hashed = Hashed {
            id: row.id,
            tenant_id: row.tenant_id,
            actor_id: row.actor_id,
            action: &row.action,
            resource_type: &row.resource_type,
            resource_id: row.resource_id.as_deref(),
            details: &row.details,
            ip: row.ip.as_deref(),
            user_agent: row.user_agent.as_deref(),
            created_at: time_text(row.created_at),
        };
        if chain_hash(row.prev_hash.as_deref(), &hashed) != row.hash {
            return Ok(Verification::Broken {
                rows: count,
                id: row.id,
                problem: Break::Altered,
            });
        }
        previous = Some(row.hash);
        count += 1;
    }
    Ok(Verification::Intact { rows: count })
}

/// A log entry as the API shows it.
#[derive(Debug, Object, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    /// The acting user, if any (the command line acts as nobody).
    #[oai(nullable)]
    pub actor: Option<Uuid>,
    #[oai(nullable)]
    pub actor_email: Option<String>,
    pub action: String,
    pub resource_type: String,
    #[oai(nullable)]
    pub resource_id: Option<String>,
    pub details: Value,
    #[oai(nullable)]
    pub ip: Option<String>,
    #[oai(nullable)]
    pub user_agent: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Object)]
pub struct AuditPage {
    pub count: i64,
    pub results: Vec<AuditEntry>,
}

#[derive(Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<Uuid>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: i64,
    pub offset: i64,
}

/// The tenant's log, newest first (admins only).
pub async fn list(pool: &PgPool, actor: &Actor, filter: AuditFilter) -> Result<AuditPage> {
    actor.require_admin()?;
    if filter
        .action
        .as_ref()
        .is_some_and(|a| a.chars().count() > 100 || a.chars().any(char::is_control))
    {
        return Err(Error::validation("action", "action is an action name like user.update"));
    }
    const MATCHES: &str =
        "a.tenant_id = $1 AND ($2::uuid IS NULL OR a.actor_id = $2) AND ($3::text IS NULL OR a.action = $3)
        AND ($4::timestamptz IS NULL OR a.created_at >= $4) AND ($5::timestamptz IS NULL OR a.created_at < $5)";
    let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM audit_log a WHERE {MATCHES}"))
        .bind(actor.tenant_id())
        .bind(filter.actor)
        .bind(&filter.action)
        .bind(filter.from)
        .bind(filter.to)
        .fetch_one(pool)
        .await?;
    let results = sqlx::query_as(&format!(
        "SELECT a.id, a.actor_id AS actor, u.email AS actor_email, a.action, a.resource_type, a.resource_id,
                a.details, a.ip, a.user_agent, a.created_at
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id AND u.tenant_id = a.tenant_id
         WHERE {MATCHES} ORDER BY a.id DESC LIMIT $6 OFFSET $7"
    ))
    .bind(actor.tenant_id())
    .bind(filter.actor)
    .bind(&filter.action)
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.limit)
    .bind(filter.offset)
    .fetch_all(pool)
    .await?;
    Ok(AuditPage { count, results })
}
