//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane — the
//! crate's defaults). Hashing is CPU-bound for tens of milliseconds, so it runs on
//! tokio's blocking pool, never on a request worker — and at most a few at once (see
//! `Gate`): a login flood must not hold 19 MiB per request in flight.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    OnceLock,
};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use tokio::sync::{Semaphore, SemaphorePermit};

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

/// The process's bound on hashing: `slots` hashes at once, `queue` callers waiting for
/// a slot, and anyone beyond refused at once with 503 `server_busy` (the client retries,
/// nobody's memory grows). Process-wide because what it protects — cores and memory —
/// is; set once by `bound_hashing`.
struct Gate {
    slots: Semaphore,
    waiting: AtomicUsize,
    queue: usize,
}

static GATE: OnceLock<Gate> = OnceLock::new();

/// How long a refused caller is told to wait: a slot frees within tens of milliseconds.
const BUSY_RETRY_AFTER: u64 = 1;
const DEFAULT_QUEUE: usize = 16;

/// Bounds this process's hashing: `concurrency` at once (0: one per CPU core), `queue`
/// waiting. The first call wins (several apps in one test process share the cores).
pub fn bound_hashing(concurrency: usize, queue: usize) {
    let _ = GATE.set(Gate::new(concurrency, queue));
}

fn gate() -> &'static Gate {
    GATE.get_or_init(|| Gate::new(0, DEFAULT_QUEUE))
}

impl Gate {
    fn new(concurrency: usize, queue: usize) -> Gate {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Gate {
            slots: Semaphore::new(if concurrency == 0 { cores } else { concurrency }),
            waiting: AtomicUsize::new(0),
            queue,
        }
    }

    async fn enter(&'static self) -> Result<SemaphorePermit<'static>> {
        if let Ok(permit) = self.slots.try_acquire() {
            return Ok(permit);
        }
        let place = Waiting::join(&self.waiting, self.queue).ok_or(Error::ServerBusy {
            retry_after: BUSY_RETRY_AFTER,
        })?;
        let permit = self.slots.acquire().await.map_err(Error::internal)?;
        drop(place);
        Ok(permit)
    }
}

/// A place in the gate's queue, given back when dropped (also when the waiting request
/// is cancelled).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn join(waiting: &'a AtomicUsize, queue: usize) -> Option<Waiting<'a>> {
        waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < queue).then_some(n + 1))
            .ok()
            .map(|_| Waiting(waiting))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

pub async fn hash(password: NewPassword) -> Result<String> {
    let slot = gate().enter().await?;
    tokio::task::spawn_blocking(move || {
        // Held by the work, not the request: a cancelled request does not free the slot early.
        let _slot = slot;
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
/// Err only when the server is too busy to check (`server_busy`).
pub async fn verify(password: &str, stored_hash: Option<String>) -> Result<bool> {
    let slot = gate().enter().await?;
    let password = password.to_string();
    Ok(tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let hash = stored_hash.as_deref().unwrap_or(TIMING_DUMMY_HASH);
        let matches = Argon2::default().verify_password(password.as_bytes(), hash).is_ok();
        matches && stored_hash.is_some()
    })
    .await
    .unwrap_or(false))
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
        assert!(verify("correct horse", Some(hash.clone())).await.unwrap());
        assert!(!verify("wrong horse", Some(hash)).await.unwrap());
        assert!(!verify("correct horse", None).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_a_cancelled_wait_gives_its_place_back() {
        let gate: &'static Gate = Box::leak(Box::new(Gate::new(1, 1)));
        let held = gate.enter().await.unwrap();
        let mut waiter = Box::pin(gate.enter());
        assert!(
            futures_util::poll!(&mut waiter).is_pending(),
            "queued behind the held slot"
        );
        assert!(
            matches!(gate.enter().await, Err(Error::ServerBusy { .. })),
            "the queue is full"
        );
        drop(waiter);
        let mut again = Box::pin(gate.enter());
        assert!(
            futures_util::poll!(&mut again).is_pending(),
            "the cancelled place is free again"
        );
        drop(held);
        assert!(again.await.is_ok());
    }
}
