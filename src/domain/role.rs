//! `Role`: what a user may do in its tenant.

use super::Invalid;

/// A user's role in its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, poem_openapi::Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum Role {
    /// Reads the conversations it is in and receives events; writes nothing.
    Read,
    /// A normal member.
    Write,
    /// A member plus the `/api/admin/` endpoints.
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Result<Role, Invalid> {
        match s {
            "read" => Ok(Role::Read),
            "write" => Ok(Role::Write),
            "admin" => Ok(Role::Admin),
            other => Err(Invalid::new(
                "role",
                format!("unknown role {other:?}: expected read, write or admin"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }
}

/// For rows read with `sqlx::FromRow` (`#[sqlx(try_from = "String")]`): the column holds
/// only these three names (a CHECK constraint), so an error here is a corrupt row.
impl TryFrom<String> for Role {
    type Error = Invalid;

    fn try_from(name: String) -> Result<Role, Invalid> {
        Role::parse(&name)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_reject_unknown_names() {
        for role in [Role::Read, Role::Write, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert_eq!(Role::parse("owner").unwrap_err().field, "role");
        assert!(Role::parse("Admin").is_err());
    }
}
