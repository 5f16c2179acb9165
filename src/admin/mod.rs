//! Tenant administration: the domain side of `/api/admin/`. Every function takes an
//! `Admin`, which only `Admin::check` makes — so no admin act can run without the role
//! check, and a refused attempt is itself written to the audit log.

pub mod analytics;
pub mod attachments;
pub mod compliance;
pub mod settings;
pub mod users;

use serde_json::json;
use sqlx::{PgConnection, PgPool};

use crate::{
    audit::{self, Entry},
    auth::Actor,
    client::RequestMeta,
    error::Result,
    limits::Limits,
    ratelimit::Quota,
};

pub struct Admin {
    actor: Actor,
    meta: RequestMeta,
}

impl Admin {
    /// The caller as an admin of its tenant, or 403 `admin_permission_required` (logged).
    pub async fn check(
        pool: &PgPool,
        limits: &Limits,
        actor: &Actor,
        meta: RequestMeta,
        attempted: &'static str,
    ) -> Result<Admin> {
        if let Err(refused) = actor.require_admin() {
            // One audit row per refused attempt — but a user hammering admin endpoints
            // gets its rows capped, so the log (and its per-tenant lock) cannot be flooded.
            let budget = Quota::per_minute(10, 10);
            let key = format!("admin-denied:{}", actor.user_id());
            if limits.limiter.take(&key, budget, 1).await.is_err() {
                return Err(refused);
            }
            let entry = Entry {
                action: "admin.denied",
                resource_type: "admin",
                resource_id: None,
                details: json!({"attempted": attempted, "role": actor.role().as_str()}),
            };
            audit::record_alone(pool, actor.tenant_id(), Some(actor.user_id()), &meta, entry).await?;
            return Err(refused);
        }
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
}
