//! Tenant chat settings, stored as JSON on the tenant row. Every field is optional and
//! falls back to the server's default; values are clamped to the global bounds when
//! read, so a stored value can never exceed what the server allows.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::uploads::UploadKind;
use crate::{
    domain::pii::PiiMode,
    error::{Error, Result},
};

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
    /// Phrases no message may contain (whole words, any case and accents).
    pub forbidden_topics: Option<Vec<String>>,
    /// What happens to personal data in messages; `off` when absent.
    pub pii_mode: Option<PiiMode>,
    /// Shortcuts agents pick in the composer by typing `/`.
    pub canned_replies: Option<Vec<CannedReply>>,
    /// New support conversations go to the active agent whose last assignment is the
    /// oldest; off or absent: they wait in the inbox for an agent to pick them up.
    pub support_round_robin: Option<bool>,
    /// Whether messages are indexed for search (absent: yes). Off, no search vector is
    /// stored and search finds nothing: the index's words stay readable in the database
    /// even when content is encrypted (docs/encryption.md).
    pub search_enabled: Option<bool>,
}

/// At most this many canned replies per tenant.
pub const MAX_CANNED_REPLIES: usize = 100;
/// A canned reply's text: at most this many characters (well inside a message's 5000).
pub const MAX_CANNED_TEXT: usize = 2000;
/// A shortcut: 1 to this many characters.
pub const MAX_SHORTCUT: usize = 32;

/// A reply agents send often, picked by its shortcut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, poem_openapi::Object)]
pub struct CannedReply {
    /// 1 to 32 characters: lower-case letters, digits, `-` and `_`, starting with a
    /// letter or digit; unique in the tenant.
    #[oai(validator(max_length = 32, pattern = r"^[a-z0-9][a-z0-9_-]*$"))]
    pub shortcut: String,
    /// 1 to 2000 characters, not all white space.
    #[oai(validator(max_length = 2000, pattern = r"\S"))]
    pub text: String,
}

/// Checks a tenant's canned replies as a whole: bounded count, each shortcut well
/// formed and unique, each text present and bounded (`validation_error`, field
/// `canned_replies`).
pub fn check_canned_replies(replies: &[CannedReply]) -> Result<()> {
    let refuse = |message: String| Err(Error::validation("canned_replies", message));
    if replies.len() > MAX_CANNED_REPLIES {
        return refuse(format!("at most {MAX_CANNED_REPLIES} canned replies"));
    }
    let mut seen = std::collections::HashSet::new();
    for reply in replies {
        let shortcut = reply.shortcut.as_str();
        let well_formed = (1..=MAX_SHORTCUT).contains(&shortcut.len())
            && shortcut.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && shortcut
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !well_formed {
            return refuse(format!(
                "shortcut {shortcut:?}: 1 to {MAX_SHORTCUT} of a-z, 0-9, - and _, starting with a letter or digit"
            ));
        }
        if !seen.insert(shortcut) {
            return refuse(format!("shortcut {shortcut:?} is used twice"));
        }
        let length = reply.text.chars().count();
        if reply.text.trim().is_empty() || length > MAX_CANNED_TEXT {
            return refuse(format!("the text of {shortcut:?}: 1 to {MAX_CANNED_TEXT} characters"));
        }
    }
    Ok(())
}

impl TenantSettings {
    pub async fn load(pool: &PgPool, tenant_id: Uuid) -> Result<TenantSettings> {
        Ok(TenantSettings::load_versioned(pool, tenant_id).await?.0)
    }

    /// The settings with their version (`tenants.settings_version`, bumped by every change).
    pub async fn load_versioned(pool: &PgPool, tenant_id: Uuid) -> Result<(TenantSettings, i64)> {
        let (value, version): (serde_json::Value, i64) =
            sqlx::query_as("SELECT settings, settings_version FROM tenants WHERE id = $1")
                .bind(tenant_id)
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| Error::not_found("Tenant"))?;
        // A malformed stored value must not lock a tenant out of uploads: defaults then.
        Ok((serde_json::from_value(value).unwrap_or_default(), version))
    }

    /// How long after sending a message may be edited by its sender; `None`: no limit.
    pub fn edit_window(&self) -> Option<chrono::Duration> {
        self.edit_window_minutes
            .filter(|minutes| *minutes > 0)
            .map(|minutes| chrono::Duration::minutes(minutes.into()))
    }

    pub fn canned_replies(&self) -> &[CannedReply] {
        self.canned_replies.as_deref().unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(shortcut: &str, text: &str) -> CannedReply {
        CannedReply {
            shortcut: shortcut.into(),
            text: text.into(),
        }
    }

    #[test]
    fn canned_replies_need_unique_well_formed_shortcuts_and_some_text() {
        assert!(check_canned_replies(&[reply("hello", "Hi!"), reply("refund_2", "We refund.")]).is_ok());
        for bad in [
            vec![reply("Hello", "x")],
            vec![reply("-x", "x")],
            vec![reply("a b", "x")],
            vec![reply(&"a".repeat(33), "x")],
            vec![reply("a", "  ")],
            vec![reply("a", &"x".repeat(2001))],
            vec![reply("a", "x"), reply("a", "y")],
            (0..101).map(|i| reply(&format!("s{i}"), "x")).collect(),
        ] {
            let err = check_canned_replies(&bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Validation {
                        field: "canned_replies",
                        ..
                    }
                ),
                "{bad:?}"
            );
        }
    }
}
