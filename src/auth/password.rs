//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane — the
//! crate's defaults). Hashing is CPU-bound for tens of milliseconds, so it runs on
//! tokio's blocking pool, never on a request worker.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::error::{Error, Result};

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 1024;

/// A password that passed the rules; only these get hashed.
pub struct NewPassword(String);

impl NewPassword {
    /// Rules: 8 to 1024 characters, and not the email address itself.
    pub fn parse(password: &str, email: &str) -> Result<NewPassword, String> {
        let length = password.chars().count();
        if length < MIN_LENGTH {
            return Err(format!("password must have at least {MIN_LENGTH} characters"));
        }
        if length > MAX_LENGTH {
            return Err(format!("password must have at most {MAX_LENGTH} characters"));
        }
        if password.trim().eq_ignore_ascii_case(email.trim()) {
            return Err("password must not be the email address".into());
        }
        Ok(NewPassword(password.to_string()))
    }
}

pub async fn hash(password: NewPassword) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.0.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(Error::internal)
    })
    .await
    .map_err(Error::internal)?
}

/// Checks `password` against a stored hash. With `None` (no such user) it still spends
/// the time of one verification, so response times do not reveal which emails exist.
pub async fn verify(password: &str, stored_hash: Option<String>) -> bool {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let hash = stored_hash.as_deref().unwrap_or(TIMING_DUMMY_HASH);
        let matches = Argon2::default().verify_password(password.as_bytes(), hash).is_ok();
        matches && stored_hash.is_some()
    })
    .await
    .unwrap_or(false)
}

/// An argon2id hash of a random string with the default parameters, used only to burn
/// the same time as a real verification.
const TIMING_DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Sm1Qe3n0d8sfbcMO4kW5vAGkC9W3PhzEqP5ZcrZs0hI";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_reject_short_long_and_email_passwords() {
        assert!(NewPassword::parse("short", "a@b.c").is_err());
        assert!(NewPassword::parse(&"x".repeat(MAX_LENGTH + 1), "a@b.c").is_err());
        assert!(NewPassword::parse("Ana@Acme.test", "ana@acme.test").is_err());
        assert!(NewPassword::parse("correct horse", "ana@acme.test").is_ok());
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let hash = hash(NewPassword::parse("correct horse", "a@b.c").unwrap())
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify("correct horse", Some(hash.clone())).await);
        assert!(!verify("wrong horse", Some(hash)).await);
        assert!(!verify("correct horse", None).await);
    }
}
