//! A tenant's chat settings as its admins read and replace them.

use poem_openapi::Object;
use serde_json::json;
use sqlx::PgPool;

use super::Admin;
use crate::{
    audit::Entry,
    chat::settings::{TenantSettings, MAX_UPLOAD_BYTES},
    chat::uploads::UploadKind,
    error::{Error, Result},
};

/// The settings in force (defaults filled in).
#[derive(Debug, Object)]
pub struct SettingsView {
    /// Largest attached file in bytes (at most 10,485,760).
    pub max_upload_bytes: u64,
    /// Allowed attachment types (MIME types).
    pub allowed_types: Vec<String>,
    /// Messages a user may send per minute here (none: the server's limit).
    pub send_per_minute: Option<u32>,
    /// Messages older than this many days are deleted with their files (none: kept).
    pub retention_days: Option<u32>,
    /// The widget's accent colour, `#RRGGBB`.
    pub widget_color: Option<String>,
    /// The widget's title.
    pub widget_title: Option<String>,
}

/// New settings; an absent field goes back to the default.
#[derive(Debug, Object)]
pub struct SettingsUpdate {
    pub max_upload_bytes: Option<u64>,
    pub allowed_types: Option<Vec<String>>,
    /// At most the server's own limit (`RATE_SEND_PER_MINUTE`).
    pub send_per_minute: Option<u32>,
    /// 1 to 3650.
    pub retention_days: Option<u32>,
    pub widget_color: Option<String>,
    pub widget_title: Option<String>,
}

fn essence(mime: &str) -> &str {
    mime.split(';').next().unwrap_or(mime).trim()
}

fn view(settings: &TenantSettings) -> SettingsView {
    let allowed = UploadKind::ALL
        .into_iter()
        .filter(|k| settings.allows(*k))
        .map(|k| essence(k.mime()).to_string());
    SettingsView {
        max_upload_bytes: settings.max_upload_bytes(),
        allowed_types: allowed.collect(),
        send_per_minute: settings.send_per_minute,
        retention_days: settings.retention_days,
        widget_color: settings.widget_color().map(str::to_string),
        widget_title: settings.widget_title.clone(),
    }
}

pub async fn get(pool: &PgPool, admin: &Admin) -> Result<SettingsView> {
    Ok(view(&TenantSettings::load(pool, admin.actor().tenant_id()).await?))
}

fn validate(update: SettingsUpdate, max_send_per_minute: u32) -> Result<TenantSettings> {
    if update
        .send_per_minute
        .is_some_and(|r| r == 0 || r > max_send_per_minute)
    {
        return Err(Error::validation(
            "send_per_minute",
            format!("must be between 1 and {max_send_per_minute}"),
        ));
    }
    if let Some(bytes) = update.max_upload_bytes {
        if bytes == 0 || bytes > MAX_UPLOAD_BYTES {
            return Err(Error::validation(
                "max_upload_bytes",
                format!("must be between 1 and {MAX_UPLOAD_BYTES}"),
            ));
        }
    }
    if let Some(types) = &update.allowed_types {
        let known: Vec<&str> = UploadKind::ALL.iter().map(|k| essence(k.mime())).collect();
        if let Some(unknown) = types.iter().find(|t| !known.contains(&t.as_str())) {
            return Err(Error::validation(
                "allowed_types",
                format!("{unknown:?} is not a type this server accepts"),
            ));
        }
    }
    if update.retention_days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(Error::validation("retention_days", "must be between 1 and 3650"));
    }
    let settings = TenantSettings {
        max_upload_bytes: update.max_upload_bytes,
        allowed_types: update.allowed_types,
        send_per_minute: update.send_per_minute,
        retention_days: update.retention_days,
        widget_color: update.widget_color,
        widget_title: update.widget_title.map(|t| t.trim().to_string()),
    };
    if settings.widget_color.is_some() && settings.widget_color().is_none() {
        return Err(Error::validation("widget_color", "use the form #RRGGBB"));
    }
    if let Some(title) = &settings.widget_title {
        if title.is_empty() || title.chars().count() > 60 || title.chars().any(char::is_control) {
            return Err(Error::validation(
                "widget_title",
                "1 to 60 characters, no control characters",
            ));
        }
    }
    Ok(settings)
}

/// Replaces the tenant's settings. The send rate may only lower the server's
/// `max_send_per_minute`.
pub async fn put(
    pool: &PgPool,
    admin: &Admin,
    update: SettingsUpdate,
    max_send_per_minute: u32,
) -> Result<SettingsView> {
    let settings = validate(update, max_send_per_minute)?;
    let stored = serde_json::to_value(&settings).map_err(Error::internal)?;
    let mut tx = pool.begin().await?;
    let before: serde_json::Value = sqlx::query_scalar("SELECT settings FROM tenants WHERE id = $1 FOR UPDATE")
        .bind(admin.actor().tenant_id())
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("UPDATE tenants SET settings = $2 WHERE id = $1")
        .bind(admin.actor().tenant_id())
        .bind(&stored)
        .execute(&mut *tx)
        .await?;
    let details = json!({"from": before, "to": stored});
    admin
        .audit(
            &mut tx,
            Entry {
                action: "settings.update",
                resource_type: "tenant",
                resource_id: None,
                details,
            },
        )
        .await?;
    tx.commit().await?;
    Ok(view(&settings))
}
