//! Tenants and their users: the value types that parse their input, creation (used by
//! the CLI, the demo and later the admin API) and the `User` shape of the API.

use poem_openapi::Object;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    auth::{password, password::NewPassword, Actor},
    domain::{Name, Role},
    error::{Code, Error, Result, ResultExt},
};

/// A tenant's slug: 1–50 lower-case letters, digits and inner hyphens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(s: &str) -> Result<TenantSlug, String> {
        let valid = (1..=50).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if valid {
            Ok(TenantSlug(s.to_string()))
        } else {
            Err(format!(
                "invalid tenant slug {s:?}: use 1-50 lower-case letters, digits and inner hyphens"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, normalised to lower case so uniqueness is case-insensitive.
/// Deliberately loose (one `@`, something on both sides, no spaces): the real check
/// is that mail arrives, which is not this server's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email, String> {
        let email = s.trim().to_lowercase();
        let valid = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && email.chars().count() <= 254
                    && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if valid {
            Ok(Email(email))
        } else {
            Err(format!("invalid email address {s:?}"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Object, sqlx::FromRow)]
pub struct TenantRef {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

/// A user as the API shows it (no secrets).
#[derive(Debug, Clone, Object)]
pub struct User {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub tenant: TenantRef,
}

pub async fn create_tenant(pool: &PgPool, slug: &TenantSlug, name: &str) -> Result<Uuid> {
    let name = Name::parse(name)?;
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(slug.as_str())
        .bind(name.as_str())
        .execute(pool)
        .await
        .on_constraint("tenants_slug_key", |_| Error::Conflict {
            code: Code::SlugTaken,
            message: format!("a tenant with slug {:?} already exists", slug.as_str()),
        })?;
    Ok(id)
}

pub async fn tenant_id_by_slug(pool: &PgPool, slug: &TenantSlug) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1")
        .bind(slug.as_str())
        .fetch_optional(pool)
        .await?)
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
    pub role: Role,
}

/// Creates a user in a tenant. Every input is checked before the password is hashed
/// and the row written; a duplicate email (case-insensitive) answers 409 `email_taken`.
pub async fn create_user<'e>(db: impl sqlx::PgExecutor<'e>, tenant_id: Uuid, new: NewUser<'_>) -> Result<Uuid> {
    let email = Email::parse(new.email).map_err(|m| Error::validation("email", m))?;
    let name = Name::parse(new.name)?;
    let password = NewPassword::parse(new.password, email.as_str()).map_err(|m| Error::validation("password", m))?;
    let hash = password::hash(password).await?;
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO users (id, tenant_id, email, name, password_hash, role)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(email.as_str())
    .bind(name.as_str())
    .bind(hash)
    .bind(new.role.as_str())
    .execute(db)
    .await
    .on_constraint("users_tenant_id_email_key", |_| Error::Conflict {
        code: Code::EmailTaken,
        message: format!("a user with email {} already exists in this tenant", email.as_str()),
    })?;
    Ok(id)
}

/// Creates a user, a support agent when `is_agent` (the command line's `--agent`);
/// both or nothing.
pub async fn create_user_as(pool: &PgPool, tenant_id: Uuid, new: NewUser<'_>, is_agent: bool) -> Result<Uuid> {
    let mut tx = pool.begin().await?;
    let id = create_user(&mut *tx, tenant_id, new).await?;
    sqlx::query("UPDATE users SET is_agent = $3 WHERE id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(tenant_id)
        .bind(is_agent)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// What login needs to know about a (tenant, email) pair.
#[derive(sqlx::FromRow)]
pub struct LoginCandidate {
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    pub password_hash: String,
    pub is_active: bool,
    pub session_epoch: i32,
}

pub async fn login_candidate(pool: &PgPool, tenant: &str, email: &str) -> Result<Option<LoginCandidate>> {
    let (Ok(slug), Ok(email)) = (TenantSlug::parse(tenant), Email::parse(email)) else {
        return Ok(None);
    };
    Ok(sqlx::query_as(
        "SELECT u.id AS user_id, u.tenant_id, u.password_hash, u.is_active, u.session_epoch
         FROM users u JOIN tenants t ON t.id = u.tenant_id
         WHERE t.slug = $1 AND u.email = $2",
    )
    .bind(slug.as_str())
    .bind(email.as_str())
    .fetch_optional(pool)
    .await?)
}

/// The caller as the API shows it.
pub async fn me(pool: &PgPool, actor: &Actor) -> Result<User> {
    user_by_id(pool, actor.tenant_id(), actor.user_id())
        .await?
        .ok_or(Error::NotAuthenticated)
}

pub async fn user_by_id(pool: &PgPool, tenant_id: Uuid, user_id: Uuid) -> Result<Option<User>> {
    let row: Option<(Uuid, String, String, String, Uuid, String, String)> = sqlx::query_as(
        "SELECT u.id, u.name, u.email, u.role, t.id, t.slug, t.name
         FROM users u JOIN tenants t ON t.id = u.tenant_id
         WHERE u.id = $1 AND u.tenant_id = $2",
    )
    .bind(user_id)
    .bind(tenant_id)
    .fetch_optional(pool)
    .await?;
    row.map(|(id, name, email, role, tenant_id, slug, tenant_name)| {
        Ok(User {
            id,
            name,
            email,
            role: Role::parse(&role).map_err(Error::internal)?,
            tenant: TenantRef {
                id: tenant_id,
                slug,
                name: tenant_name,
            },
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_words_with_inner_hyphens() {
        assert!(TenantSlug::parse("acme").is_ok());
        assert!(TenantSlug::parse("acme-2").is_ok());
        for bad in ["", "Acme", "-acme", "acme-", "ac me", "acme_inc", &"a".repeat(51)] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn emails_are_normalised_and_loosely_checked() {
        assert_eq!(Email::parse("  Ana@Acme.TEST ").unwrap().as_str(), "ana@acme.test");
        for bad in ["", "ana", "@acme.test", "ana@", "a b@acme.test", "a@b@c"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
