//! Refused attempts in the audit log. A user refused a chat action for its role or
//! membership (`chat.permission_denied`), or a non-admin calling the admin API
//! (`admin.denied`), leaves a row — but at most `AUDIT_DENIALS_PER_MINUTE` per user (the
//! `AuditedDenial` budget, shared by every node through the limiter), so a client
//! hammering a refused endpoint can neither flood the log nor hold its per-tenant lock.
//! The refusal is answered the same either way.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    audit::{self, Entry},
    auth::Actor,
    client::RequestMeta,
    error::{Code, Error, Result},
    limits::{Action, Limits},
};

/// Where a chat action was refused.
#[derive(Debug, Clone, Copy)]
pub enum Via<'a> {
    /// An API request: method and path, e.g. `POST /api/chat/conversations/<id>/messages`.
    Route(&'a str),
    /// A socket frame, by its `type`.
    Frame(&'static str),
}

/// The chat refusals worth a row: the caller's role or membership does not allow the act.
/// A 404 (an unknown id, or another tenant's) is not one — it reveals nothing to record.
pub fn is_chat_denial(err: &Error) -> bool {
    matches!(err.code(), Code::NotAParticipant | Code::WritePermissionRequired)
}

/// Records a refused chat action on `target` (a resource type and id, when the act had
/// one). A row that cannot be written is logged, not answered: the caller still gets its
/// refusal.
pub async fn record_chat(
    pool: &PgPool,
    limits: &Limits,
    actor: &Actor,
    meta: &RequestMeta,
    err: &Error,
    target: Option<(&'static str, Uuid)>,
    via: Via<'_>,
) {
    let mut details = json!({"code": err.code().as_str()});
    match via {
        Via::Route(route) => details["route"] = route.into(),
        Via::Frame(frame) => details["frame"] = frame.into(),
    }
    let entry = Entry {
        action: "chat.permission_denied",
        resource_type: target.map_or("conversation", |(kind, _)| kind),
        resource_id: target.map(|(_, id)| id.to_string()),
        details,
    };
    if let Err(err) = record(pool, limits, actor, meta, entry).await {
        tracing::warn!(error = %err, "could not audit a refused chat action");
    }
}

/// Writes `entry` for a refused attempt of `actor`, unless the actor's budget of audited
/// refusals is spent.
pub async fn record(pool: &PgPool, limits: &Limits, actor: &Actor, meta: &RequestMeta, entry: Entry) -> Result<()> {
    let audited = limits.take(Action::AuditedDenial, actor, 1).await.is_ok();
    metrics::counter!(
        crate::telemetry::metrics::PERMISSION_DENIALS,
        "action" => entry.action,
        "audited" => if audited { "true" } else { "false" }
    )
    .increment(1);
    if !audited {
        return Ok(());
    }
    audit::record_alone(pool, actor.tenant_id(), Some(actor.user_id()), meta, entry).await
}
