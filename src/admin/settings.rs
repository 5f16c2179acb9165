//! A tenant's chat settings as its admins read and replace them.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
    Object,
};
use serde_json::{json, Value};
use sqlx::PgPool;

use super::Admin;
use crate::{
    audit::Entry,
    chat::settings::{check_canned_replies, CannedReply, TenantSettings, MAX_UPLOAD_BYTES},
    chat::uploads::UploadKind,
    domain::{pii::PiiMode, topics::ForbiddenTopics, HexColor, Label, Patterned, Phrase},
    error::{Error, Result},
};

/// The settings in force (defaults filled in).
#[derive(Debug, Object)]
pub struct SettingsView {
    /// Largest attached file in bytes (at most 10,485,760).
    pub max_upload_bytes: u64,
    /// Allowed attachment types (MIME types).
    pub allowed_types: Vec<AttachmentType>,
    /// Messages a user may send per minute here (none: the server's limit).
    #[oai(nullable)]
    pub send_per_minute: Option<u32>,
    /// Messages older than this many days are deleted with their files (none: kept).
    #[oai(nullable)]
    pub retention_days: Option<u32>,
    /// The widget's accent colour, `#RRGGBB`.
    #[oai(nullable)]
    pub widget_color: Option<String>,
    /// The widget's title.
    #[oai(nullable)]
    pub widget_title: Option<String>,
    /// Minutes after sending during which senders may edit their messages (0: no limit;
    /// tenant admins are not held to it).
    pub edit_window_minutes: u32,
    /// Phrases no message may contain: matched on whole words, ignoring case and
    /// accents; a message with one is refused (400 `forbidden_topic`).
    pub forbidden_topics: Vec<String>,
    // No doc comment: with one, poem-openapi wraps the enum's $ref in an `allOf` that
    // generated clients (openapi-python-client) cannot read; PiiMode describes itself.
    pub pii_mode: PiiMode,
    /// Shortcuts the tenant's agents pick in the composer by typing `/`.
    pub canned_replies: Vec<CannedReply>,
    /// New support conversations go round-robin to the active agents.
    pub support_round_robin: bool,
    /// Whether messages are indexed for search. Off, search finds nothing and no index
    /// words are stored (those of earlier messages are removed); see docs/encryption.md.
    pub search_enabled: bool,
}

/// New settings; an absent field goes back to the default.
#[derive(Debug, Object)]
pub struct SettingsUpdate {
    /// 1 to 10,485,760.
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "10485760")))]
    pub max_upload_bytes: Option<u64>,
    /// A subset of the types this server accepts.
    #[oai(nullable)]
    pub allowed_types: Option<Vec<AttachmentType>>,
    /// At least 1, at most the server's own limit (`RATE_SEND_PER_MINUTE`).
    #[oai(nullable, validator(minimum(value = "1")))]
    pub send_per_minute: Option<u32>,
    /// 1 to 3650.
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "3650")))]
    pub retention_days: Option<u32>,
    /// `#RRGGBB`.
    #[oai(nullable)]
    pub widget_color: Option<Patterned<HexColor>>,
    /// 1 to 60 characters, not all spaces, no control characters.
    #[oai(nullable, validator(max_length = 60))]
    pub widget_title: Option<Patterned<Label>>,
    /// 0 (no limit, the default) to 525,600 (a year).
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "525600")))]
    pub edit_window_minutes: Option<u32>,
    /// At most 200 phrases of 1 to 100 characters, each with a letter or digit and no
    /// control characters; duplicates (ignoring case and accents) are dropped.
    #[oai(nullable, validator(max_items = 200, max_length = 100))]
    pub forbidden_topics: Option<Vec<Patterned<Phrase>>>,
    // Described by PiiMode itself, and not `nullable`: either makes poem-openapi wrap the
    // enum's $ref in an `allOf` that openapi-python-client cannot read. Absent or null
    // both mean "off".
    pub pii_mode: Option<PiiMode>,
    /// At most 100, shortcuts unique.
    #[oai(nullable, validator(max_items = 100))]
    pub canned_replies: Option<Vec<CannedReply>>,
    /// Assign new support conversations round-robin (default off).
    #[oai(nullable)]
    pub support_round_robin: Option<bool>,
    /// `false` turns search off (default `true`); turned on again, messages sent from
    /// then on are indexed.
    #[oai(nullable)]
    pub search_enabled: Option<bool>,
}

/// The longest edit window a tenant may set: a year, in minutes.
const MAX_EDIT_WINDOW_MINUTES: u32 = 525_600;

fn essence(mime: &str) -> &str {
    mime.split(';').next().unwrap_or(mime).trim()
}

/// An attachment type this server accepts, by its MIME type without parameters; the
/// document lists them as an `enum`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentType(&'static str);

/// Every type this server accepts, spelled as `allowed_types` spells them.
pub fn attachment_types() -> Vec<&'static str> {
    AttachmentType::all().map(|t| t.0).collect()
}

impl AttachmentType {
    fn all() -> impl Iterator<Item = AttachmentType> {
        UploadKind::ALL
            .into_iter()
            .map(|kind| AttachmentType(essence(kind.mime())))
    }

    fn parse(raw: &str) -> Option<AttachmentType> {
        AttachmentType::all().find(|known| known.0 == raw)
    }
}

impl Type for AttachmentType {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "AttachmentType".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            enum_items: AttachmentType::all().map(|t| Value::from(t.0)).collect(),
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl ParseFromJSON for AttachmentType {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(raw)) => AttachmentType::parse(&raw)
                .ok_or_else(|| ParseError::custom(format!("{raw:?} is not a type this server accepts"))),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ToJSON for AttachmentType {
    fn to_json(&self) -> Option<Value> {
        Some(Value::from(self.0))
    }
}

fn view(settings: &TenantSettings) -> SettingsView {
    let allowed = UploadKind::ALL
        .into_iter()
        .filter(|k| settings.allows(*k))
        .map(|k| AttachmentType(essence(k.mime())));
    SettingsView {
        max_upload_bytes: settings.max_upload_bytes(),
        allowed_types: allowed.collect(),
        send_per_minute: settings.send_per_minute,
        retention_days: settings.retention_days,
        widget_color: settings.widget_color().map(str::to_string),
        widget_title: settings.widget_title.clone(),
        edit_window_minutes: settings.edit_window_minutes.unwrap_or(0),
        forbidden_topics: settings.forbidden_topics.clone().unwrap_or_default(),
        pii_mode: settings.pii_mode.unwrap_or_default(),
        canned_replies: settings.canned_replies().to_vec(),
        support_round_robin: settings.support_round_robin.unwrap_or(false),
        search_enabled: settings.search_enabled(),
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
    if update.retention_days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(Error::validation("retention_days", "must be between 1 and 3650"));
    }
    if update.edit_window_minutes.is_some_and(|m| m > MAX_EDIT_WINDOW_MINUTES) {
        return Err(Error::validation(
            "edit_window_minutes",
            format!("must be between 0 and {MAX_EDIT_WINDOW_MINUTES}"),
        ));
    }
    let forbidden_topics = update
        .forbidden_topics
        .map(|phrases| ForbiddenTopics::parse(&phrases.into_iter().map(Patterned::into_string).collect::<Vec<_>>()))
        .transpose()?
        .filter(|phrases| !phrases.is_empty());
    let settings = TenantSettings {
        max_upload_bytes: update.max_upload_bytes,
        allowed_types: update
            .allowed_types
            .map(|types| types.into_iter().map(|t| t.0.to_string()).collect()),
        send_per_minute: update.send_per_minute,
        retention_days: update.retention_days,
        widget_color: update.widget_color.map(Patterned::into_string),
        widget_title: update.widget_title.map(|t| t.trim().to_string()),
        // 0 and absent both mean no limit; absent is what is stored.
        edit_window_minutes: update.edit_window_minutes.filter(|m| *m > 0),
        forbidden_topics,
        // `off` and absent both mean off; absent is what is stored.
        pii_mode: update.pii_mode.filter(|mode| *mode != PiiMode::Off),
        canned_replies: update.canned_replies.filter(|replies| !replies.is_empty()),
        support_round_robin: update.support_round_robin.filter(|on| *on),
        // On is the default; only `false` is stored.
        search_enabled: update.search_enabled.filter(|on| !on),
    };
    check_canned_replies(settings.canned_replies())?;
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
    // A new version: every node's content rules for the tenant are stale from now on.
    sqlx::query("UPDATE tenants SET settings = $2, settings_version = settings_version + 1 WHERE id = $1")
        .bind(admin.actor().tenant_id())
        .bind(&stored)
        .execute(&mut *tx)
        .await?;
    if !settings.search_enabled() {
        // The words of earlier messages go too: off means none stay in the database.
        sqlx::query("UPDATE messages SET search = NULL WHERE tenant_id = $1 AND search IS NOT NULL")
            .bind(admin.actor().tenant_id())
            .execute(&mut *tx)
            .await?;
    }
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
