//! Managing a tenant's users: list, create, read, change name or role, deactivate,
//! reactivate.
//! Deactivation ends the user's sessions (their epoch moves on), deletes their API
//! tokens and closes their sockets at once; their history stays.

use poem_openapi::Object;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::Admin;
use crate::{
    accounts::{self, NewUser},
    audit::Entry,
    auth::{
        cache::CredentialCache,
        control::{self, Control},
    },
    domain::{Name, Role},
    error::{Code, Error, Result},
    realtime::Realtime,
    timestamp::Timestamp,
};

/// A user as a tenant admin sees it.
#[derive(Debug, Object, sqlx::FromRow)]
pub struct AdminUser {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// Answers support conversations (the support desk's inbox, assignment, canned replies).
    pub is_agent: bool,
    /// `person`, or `bot` for a bot's user (created through `/api/admin/bots/`).
    pub kind: String,
    pub is_active: bool,
    #[oai(nullable)]
    pub last_seen: Option<Timestamp>,
    pub created_at: Timestamp,
}

const COLUMNS: &str = "id, name, email, role, is_agent, kind, is_active, last_seen, created_at";

pub async fn list(pool: &PgPool, admin: &Admin) -> Result<Vec<AdminUser>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY name, id"
    ))
    .bind(admin.actor().tenant_id())
    .fetch_all(pool)
    .await?)
}

pub async fn get(pool: &PgPool, admin: &Admin, id: Uuid) -> Result<AdminUser> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1 AND tenant_id = $2"))
        .bind(id)
        .bind(admin.actor().tenant_id())
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("User"))
}

pub async fn create(pool: &PgPool, admin: &Admin, new: NewUser<'_>) -> Result<AdminUser> {
    let role = new.role;
    let mut tx = pool.begin().await?;
    let id = accounts::create_user(&mut *tx, admin.actor().tenant_id(), new).await?;
    let user: AdminUser = sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let details = json!({"email": user.email, "name": user.name, "role": role.as_str()});
    admin
        .audit(
            &mut tx,
            Entry {
                action: "user.create",
                resource_type: "user",
                resource_id: Some(id.to_string()),
                details,
            },
        )
        .await?;
    tx.commit().await?;
    Ok(user)
}

/// An admin may not lock itself out: the request is well-formed, the state of the
/// target (the caller's own account) forbids it.
fn self_lockout(message: &str) -> Error {
    Error::Conflict {
        code: Code::SelfLockout,
        message: message.into(),
    }
}

pub struct UserChange {
    pub name: Option<Name>,
    pub role: Option<Role>,
    pub is_agent: Option<bool>,
}

/// Changes a user's name, role and/or agent flag. A role change closes the user's sockets, so they
/// reconnect with the new role.
pub async fn update(
    pool: &PgPool,
    realtime: &Realtime,
    credentials: &CredentialCache,
    admin: &Admin,
    id: Uuid,
    change: UserChange,
) -> Result<AdminUser> {
    let name = change.name.as_ref().map(Name::as_str);
    if id == admin.actor().user_id() && change.role.is_some_and(|r| r != Role::Admin) {
        return Err(self_lockout("you cannot remove your own admin role"));
    }
    let mut tx = pool.begin().await?;
    let before: Option<(String, String, bool)> =
        sqlx::query_as("SELECT name, role, is_agent FROM users WHERE id = $1 AND tenant_id = $2 FOR UPDATE")
            .bind(id)
            .bind(admin.actor().tenant_id())
            .fetch_optional(&mut *tx)
            .await?;
    let (old_name, old_role, was_agent) = before.ok_or_else(|| Error::not_found("User"))?;
    let new_role = change.role.map(Role::as_str);
    sqlx::query(
        "UPDATE users SET name = coalesce($3, name), role = coalesce($4, role), is_agent = coalesce($5, is_agent)
         WHERE id = $1 AND tenant_id = $2",
    )
    .bind(id)
    .bind(admin.actor().tenant_id())
    .bind(name)
    .bind(new_role)
    .bind(change.is_agent)
    .execute(&mut *tx)
    .await?;
    let details = json!({
        "name": name.as_ref().map(|n| json!({"from": old_name, "to": n})),
        "role": new_role.map(|r| json!({"from": old_role, "to": r})),
        "is_agent": change.is_agent.map(|a| json!({"from": was_agent, "to": a})),
    });
    admin
        .audit(
            &mut tx,
            Entry {
                action: "user.update",
                resource_type: "user",
                resource_id: Some(id.to_string()),
                details,
            },
        )
        .await?;
    tx.commit().await?;
    if new_role.is_some_and(|r| r != old_role) {
        control::end_sessions(realtime, credentials, id, None).await;
    } else if was_agent && change.is_agent == Some(false) {
        // No longer on the support desk: a socket viewing a support conversation stops.
        realtime.control(id, &Control::RecheckViewing).await;
    }
    get(pool, admin, id).await
}

/// Deactivates a user: sessions end, tokens go, sockets close; history stays.
pub async fn deactivate(
    pool: &PgPool,
    realtime: &Realtime,
    credentials: &CredentialCache,
    admin: &Admin,
    id: Uuid,
) -> Result<()> {
    if id == admin.actor().user_id() {
        return Err(self_lockout("you cannot deactivate yourself"));
    }
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE users SET is_active = false, session_epoch = session_epoch + 1 WHERE id = $1 AND tenant_id = $2",
    )
    .bind(id)
    .bind(admin.actor().tenant_id())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(Error::not_found("User"));
    }
    let tokens = sqlx::query("DELETE FROM api_tokens WHERE user_id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(admin.actor().tenant_id())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let details = json!({"tokens_revoked": tokens});
    admin
        .audit(
            &mut tx,
            Entry {
                action: "user.deactivate",
                resource_type: "user",
                resource_id: Some(id.to_string()),
                details,
            },
        )
        .await?;
    tx.commit().await?;
    control::end_sessions(realtime, credentials, id, None).await;
    Ok(())
}

/// Lets a deactivated user log in again. What deactivation ended stays ended: their old
/// sessions belong to a past epoch and their API tokens are gone.
pub async fn reactivate(pool: &PgPool, admin: &Admin, id: Uuid) -> Result<AdminUser> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query("UPDATE users SET is_active = true WHERE id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(admin.actor().tenant_id())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if done == 0 {
        return Err(Error::not_found("User"));
    }
    admin
        .audit(
            &mut tx,
            Entry {
                action: "user.reactivate",
                resource_type: "user",
                resource_id: Some(id.to_string()),
                details: json!({}),
            },
        )
        .await?;
    tx.commit().await?;
    get(pool, admin, id).await
}
