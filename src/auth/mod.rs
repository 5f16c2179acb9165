//! Who is calling: passwords, sessions, CSRF, API tokens, roles, and the `Actor` that is
//! the only way into the domain functions of `src/chat`.

pub mod control;
pub mod cookies;
pub mod csrf;
pub mod extract;
pub mod password;
pub mod session;
pub mod tokens;

use uuid::Uuid;

use crate::{
    domain::Role,
    error::{Error, Result},
};

pub use extract::Auth;

/// The authenticated caller of one request. Built only by `auth::extract` (session cookie
/// or bearer token) from an active user row, so holding one proves who and which tenant.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    user_id: Uuid,
    tenant_id: Uuid,
    role: Role,
}

impl Actor {
    pub(crate) fn new(user_id: Uuid, tenant_id: Uuid, role: Role) -> Self {
        Actor {
            user_id,
            tenant_id,
            role,
        }
    }

    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// Every chat write (start, send, typing, archive, ...) needs `write` or `admin`.
    pub fn require_write(&self) -> Result<()> {
        match self.role {
            Role::Write | Role::Admin => Ok(()),
            Role::Read => Err(Error::WritePermissionRequired { user_role: self.role }),
        }
    }

    pub fn require_admin(&self) -> Result<()> {
        match self.role {
            Role::Admin => Ok(()),
            _ => Err(Error::AdminPermissionRequired { user_role: self.role }),
        }
    }
}

/// Loads the actor for an active user: the one query every authenticated request makes.
/// `session_epoch` is checked for sessions (a bumped epoch ends them); tokens pass `None`.
pub(crate) async fn load_actor(
    pool: &sqlx::PgPool,
    user_id: Uuid,
    session_epoch: Option<i32>,
) -> Result<Option<Actor>> {
    let row: Option<(Uuid, Uuid, String)> = sqlx::query_as(
        "SELECT id, tenant_id, role FROM users
         WHERE id = $1 AND is_active AND ($2::int IS NULL OR session_epoch = $2)",
    )
    .bind(user_id)
    .bind(session_epoch)
    .fetch_optional(pool)
    .await?;
    row.map(actor_from_row).transpose()
}

pub(crate) fn actor_from_row((user_id, tenant_id, role): (Uuid, Uuid, String)) -> Result<Actor> {
    let role = Role::parse(&role).map_err(Error::internal)?;
    Ok(Actor::new(user_id, tenant_id, role))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_write_and_admin_may_write() {
        let actor = |role| Actor::new(Uuid::nil(), Uuid::nil(), role);
        assert!(matches!(
            actor(Role::Read).require_write(),
            Err(Error::WritePermissionRequired { user_role: Role::Read })
        ));
        assert!(actor(Role::Write).require_write().is_ok());
        assert!(actor(Role::Admin).require_write().is_ok());
        assert!(actor(Role::Write).require_admin().is_err());
        assert!(actor(Role::Admin).require_admin().is_ok());
    }
}
