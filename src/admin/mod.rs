//! Tenant administration: the domain side of `/api/admin/`. Every function takes an
//! `Admin`, which only `Admin::check` makes — so no admin act can run without the role
//! check and the admin's rate limit, and a refused attempt is itself written to the audit
//! log.

pub mod analytics;
pub mod attachments;
pub mod bots;
pub mod compliance;
pub mod deliveries;
pub mod flagged;
pub mod settings;
pub mod users;
pub mod webhooks;
pub mod widget_secret;

use serde_json::json;
use sqlx::{PgConnection, PgPool};

use crate::{
    audit::{self, Entry},
    auth::Actor,
    client::RequestMeta,
    denials,
    error::Result,
    limits::{Action, Limits},
};

pub struct Admin {
    actor: Actor,
    meta: RequestMeta,
}

impl Admin {
    /// The caller as an admin of its tenant, or 403 `admin_permission_required` (audited,
    /// within the caller's budget of audited refusals), or 429 past the admin's own
    /// `RATE_ADMIN_PER_MINUTE`.
    pub async fn check(
        pool: &PgPool,
        limits: &Limits,
        actor: &Actor,
        meta: RequestMeta,
        attempted: &'static str,
    ) -> Result<Admin> {
        if let Err(refused) = actor.require_admin() {
            let entry = Entry {
                action: "admin.denied",
                resource_type: "admin",
                resource_id: None,
                details: json!({"attempted": attempted, "role": actor.role().as_str()}),
            };
            denials::record(pool, limits, actor, &meta, entry).await?;
            return Err(refused);
        }
        limits.take(Action::Admin, actor, 1).await?;
        Ok(Admin { actor: *actor, meta })
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Records an act of this admin on `tx`, the transaction of the change itself.
    pub async fn audit(&self, tx: &mut PgConnection, entry: Entry) -> Result<()> {
        audit::record(
            tx,
            self.actor.tenant_id(),
            Some(self.actor.user_id()),
            &self.meta,
            entry,
        )
        .await
    }

    /// Records a read, in a transaction of its own.
    pub async fn audit_read(&self, pool: &PgPool, entry: Entry) -> Result<()> {
        audit::record_alone(
            pool,
            self.actor.tenant_id(),
            Some(self.actor.user_id()),
            &self.meta,
            entry,
        )
        .await
    }

    /// Records the read of one page of a list: `limit` entries of `resource_type` from `offset`.
    pub async fn audit_page_read(
        &self,
        pool: &PgPool,
        action: &'static str,
        resource_type: &'static str,
        limit: i64,
        offset: i64,
    ) -> Result<()> {
        let entry = Entry {
            action,
            resource_type,
            resource_id: None,
            details: json!({"limit": limit, "offset": offset}),
        };
        self.audit_read(pool, entry).await
    }
}
