//! A tenant's content rules, applied to every message sent or edited: forbidden topics
//! refuse it (400 `forbidden_topic`, nothing stored), and the PII mode redacts personal
//! data before it is stored or counts it for admins. The rules are compiled once per
//! settings change and kept per tenant with the settings version they were built from;
//! the send statement checks that version, so a node never stores a message under rules
//! an admin has replaced (see `messages::send`).

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};

use sqlx::PgPool;
use uuid::Uuid;

use super::{
    content::{MessageContent, MAX_CHARS},
    settings::TenantSettings,
};
use crate::{
    domain::{
        pii::{self, PiiMode},
        topics::ForbiddenTopics,
    },
    error::{Error, Result},
};

/// One tenant's rules, as of one settings version.
#[derive(Debug, Default)]
pub struct ContentRules {
    /// `tenants.settings_version` they were built from.
    pub version: i64,
    topics: ForbiddenTopics,
    pii: PiiMode,
}

/// A message's text after the rules: what to store, and (`flag`) what it holds.
#[derive(Debug)]
pub struct Checked {
    pub content: MessageContent,
    /// Pieces of personal data per kind, for `messages.pii`; `None` unless flagged.
    pub pii: Option<BTreeMap<&'static str, u32>>,
}

impl ContentRules {
    pub fn new(version: i64, settings: &TenantSettings) -> ContentRules {
        ContentRules {
            version,
            topics: ForbiddenTopics::new(settings.forbidden_topics.as_deref().unwrap_or_default()),
            pii: settings.pii_mode.unwrap_or_default(),
        }
    }

    /// Refuses a message with a forbidden topic, then redacts or counts its personal
    /// data. A redacted text longer than a message may be is refused (`content`).
    pub fn check(&self, content: MessageContent) -> Result<Checked> {
        if let Some(phrase) = self.topics.find(content.as_str()) {
            return Err(Error::ForbiddenTopic {
                phrase: phrase.to_string(),
            });
        }
        let findings = match self.pii {
            PiiMode::Off => return Ok(Checked { content, pii: None }),
            _ => pii::scan(content.as_str()),
        };
        if findings.is_empty() {
            return Ok(Checked { content, pii: None });
        }
        match self.pii {
            PiiMode::Redact => {
                let redacted = MessageContent::parse(&pii::redact(content.as_str(), &findings)).map_err(|_| {
                    Error::validation(
                        "content",
                        format!("content is over {MAX_CHARS} characters once personal data is redacted"),
                    )
                })?;
                Ok(Checked {
                    content: redacted,
                    pii: None,
                })
            }
            _ => Ok(Checked {
                content,
                pii: Some(pii::counts(&findings)),
            }),
        }
    }
}

/// Every tenant's compiled rules on this node, by tenant.
#[derive(Debug, Default)]
pub struct RulesCache {
    by_tenant: Mutex<HashMap<Uuid, Arc<ContentRules>>>,
}

impl RulesCache {
    /// The tenant's rules as this node last knew them (loaded on first use).
    pub async fn current(&self, pool: &PgPool, tenant_id: Uuid) -> Result<Arc<ContentRules>> {
        let known = self.by_tenant.lock().expect("rules lock").get(&tenant_id).cloned();
        match known {
            Some(rules) => Ok(rules),
            None => self.load(pool, tenant_id).await,
        }
    }

    /// The tenant's rules if they changed since `version`; `None` if they did not.
    pub async fn newer_than(&self, pool: &PgPool, tenant_id: Uuid, version: i64) -> Result<Option<Arc<ContentRules>>> {
        let rules = self.load(pool, tenant_id).await?;
        Ok((rules.version != version).then_some(rules))
    }

    /// The tenant's rules as stored now: one read; compiled again only if they changed.
    pub async fn fresh(&self, pool: &PgPool, tenant_id: Uuid) -> Result<Arc<ContentRules>> {
        self.load(pool, tenant_id).await
    }

    /// Reads the settings and compiles them, unless this node has that version already.
    async fn load(&self, pool: &PgPool, tenant_id: Uuid) -> Result<Arc<ContentRules>> {
        let (settings, version) = TenantSettings::load_versioned(pool, tenant_id).await?;
        let mut by_tenant = self.by_tenant.lock().expect("rules lock");
        match by_tenant.get(&tenant_id) {
            Some(rules) if rules.version == version => Ok(rules.clone()),
            _ => {
                let rules = Arc::new(ContentRules::new(version, &settings));
                by_tenant.insert(tenant_id, rules.clone());
                Ok(rules)
            }
        }
    }
}
