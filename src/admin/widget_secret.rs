//! The tenant's widget secret, with which the host app signs widget sign-ins (see
//! `widget_login`). Each rotation makes a new one and forgets the old at once, so a
//! leaked secret is revoked by rotating; it is shown only in the answer to the rotation.

use poem_openapi::Object;
use rand::RngCore;
use serde_json::json;

use super::Admin;
use crate::{audit::Entry, error::Result};

#[derive(Debug, Object)]
pub struct WidgetSecret {
    /// The key of the HMAC-SHA256 (its UTF-8 bytes). Store it on the host app's server
    /// now; it is not shown again.
    pub secret: String,
}

pub async fn rotate(pool: &sqlx::PgPool, admin: &Admin) -> Result<WidgetSecret> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("tcws_{}", hex::encode(bytes));
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE tenants SET widget_secret = $2 WHERE id = $1")
        .bind(admin.actor().tenant_id())
        .bind(&secret)
        .execute(&mut *tx)
        .await?;
    // The secret itself never enters the log.
    let entry = Entry {
        action: "widget_secret.rotate",
        resource_type: "tenant",
        resource_id: None,
        details: json!({}),
    };
    admin.audit(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(WidgetSecret { secret })
}
