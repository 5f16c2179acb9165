//! Tenant chat settings, stored as JSON on the tenant row. Every field is optional and
//! falls back to the server's default; values are clamped to the global bounds when
//! read, so a stored value can never exceed what the server allows.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::uploads::UploadKind;
use crate::error::{Error, Result};

/// The global cap on one attached file (10 MiB).
pub const MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TenantSettings {
    /// Largest attached file, at most `MAX_UPLOAD_BYTES`.
    pub max_upload_bytes: Option<u64>,
    /// Allowed attachment types by MIME type (a subset of the server's); all when absent.
    pub allowed_types: Option<Vec<String>>,
    /// Messages a user may send per minute in this tenant, at most the server's limit.
    pub send_per_minute: Option<u32>,
    /// Messages older than this many days are deleted (with their files); kept forever
    /// when absent.
    pub retention_days: Option<u32>,
    /// The widget's accent colour, `#RRGGBB`.
    pub widget_color: Option<String>,
    /// The widget's title (defaults to the product name).
    pub widget_title: Option<String>,
    /// Minutes after sending during which a message's sender may edit it; 0 or absent:
    /// no limit.
    pub edit_window_minutes: Option<u32>,
    /// Whether messages are indexed for search (absent: yes). Off, no search vector is
    /// stored and search finds nothing: the index's words stay readable in the database
    /// even when content is encrypted (docs/encryption.md).
    pub search_enabled: Option<bool>,
}

impl TenantSettings {
    pub async fn load(pool: &PgPool, tenant_id: Uuid) -> Result<TenantSettings> {
        let value: serde_json::Value = sqlx::query_scalar("SELECT settings FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| Error::not_found("Tenant"))?;
        // A malformed stored value must not lock a tenant out of uploads: defaults then.
        Ok(serde_json::from_value(value).unwrap_or_default())
    }

    /// How long after sending a message may be edited by its sender; `None`: no limit.
    pub fn edit_window(&self) -> Option<chrono::Duration> {
        self.edit_window_minutes
            .filter(|minutes| *minutes > 0)
            .map(|minutes| chrono::Duration::minutes(minutes.into()))
    }

    pub fn search_enabled(&self) -> bool {
        self.search_enabled.unwrap_or(true)
    }

    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_bytes
            .map_or(MAX_UPLOAD_BYTES, |b| b.min(MAX_UPLOAD_BYTES))
    }

    /// The widget's accent colour, if the stored one is a valid `#RRGGBB`.
    pub fn widget_color(&self) -> Option<&str> {
        self.widget_color
            .as_deref()
            .filter(|c| c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|h| h.is_ascii_hexdigit()))
    }

    pub fn allows(&self, kind: UploadKind) -> bool {
        let mime = kind.mime().split(';').next().unwrap_or("");
        self.allowed_types
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| t.eq_ignore_ascii_case(mime)))
    }
}
