//! Message retention: a tenant that sets `retention_days` keeps messages (and their
//! files) that long. The purge runs hourly in every node (idempotent, so several nodes
//! doing it is harmless) and writes what it removed to the tenant's audit log.

use std::path::Path;

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::attachments;
use crate::{
    audit::{self, Entry},
    client::RequestMeta,
    error::Result,
};

/// Removes every message older than its tenant's retention; returns how many.
pub async fn purge(pool: &PgPool, media_root: &Path) -> Result<u64> {
    let tenants: Vec<(Uuid, i32)> = sqlx::query_as(
        "SELECT id, (settings->>'retention_days')::int FROM tenants
         WHERE jsonb_typeof(settings->'retention_days') = 'number' AND (settings->>'retention_days')::int > 0",
    )
    .fetch_all(pool)
    .await?;
    let mut removed = 0;
    for (tenant_id, days) in tenants {
        // One tenant's failure must not stop the purge of the others.
        match purge_tenant(pool, media_root, tenant_id, days).await {
            Ok(count) => removed += count,
            Err(err) => tracing::warn!(error = %err, tenant = %tenant_id, "retention purge of a tenant failed"),
        }
    }
    Ok(removed)
}

async fn purge_tenant(pool: &PgPool, media_root: &Path, tenant_id: Uuid, days: i32) -> Result<u64> {
    let mut tx = pool.begin().await?;
    let cutoff = "now() - make_interval(days => $2)";
    // A conversation whose last message goes keeps no dangling pointer.
    sqlx::query(&format!(
        "UPDATE conversations c SET last_message_id = NULL FROM messages m
         WHERE m.id = c.last_message_id AND c.tenant_id = $1 AND m.created_at < {cutoff}"
    ))
    .bind(tenant_id)
    .bind(days)
    .execute(&mut *tx)
    .await?;
    let files: Vec<(String, Option<String>)> = sqlx::query_as(&format!(
        "SELECT a.storage_path, a.thumbnail_path FROM attachments a JOIN messages m ON m.id = a.message_id
         WHERE m.tenant_id = $1 AND m.created_at < {cutoff} AND a.deleted_at IS NULL"
    ))
    .bind(tenant_id)
    .bind(days)
    .fetch_all(&mut *tx)
    .await?;
    // Attachment rows go with their messages (ON DELETE CASCADE).
    let removed = sqlx::query(&format!(
        "DELETE FROM messages WHERE tenant_id = $1 AND created_at < {cutoff}"
    ))
    .bind(tenant_id)
    .bind(days)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if removed > 0 {
        let entry = Entry {
            action: "retention.purge",
            resource_type: "message",
            resource_id: None,
            details: json!({"retention_days": days, "messages": removed, "files": files.len()}),
        };
        audit::record(&mut tx, tenant_id, None, &RequestMeta::default(), entry).await?;
    }
    tx.commit().await?;
    attachments::remove_files(media_root, files).await;
    Ok(removed)
}

/// Purges every hour for as long as the server runs.
pub fn spawn_hourly(pool: PgPool, media_root: std::path::PathBuf) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match purge(&pool, &media_root).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "retention purge"),
                Err(err) => tracing::warn!(error = %err, "retention purge failed"),
            }
        }
    });
}
