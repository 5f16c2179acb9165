//! The server's limits per user: rate limits per action (the configured quotas, and the
//! tenants' own lower send rates from their settings) and the cap on open sockets. The
//! mechanisms (GCRA, shared through Redis; capped slots) are `crate::ratelimit` and
//! `crate::slots`; this is the policy over them.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::{
    auth::Actor,
    chat::settings::TenantSettings,
    config::Config,
    error::Error,
    login::Throttle,
    ratelimit::{Quota, RateLimiter},
    slots::Slots,
};

/// What is limited per user.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    Send,
    Conversation,
    Typing,
    /// Counted in bytes.
    UploadBytes,
    /// Any request to `/api/admin/`, per admin.
    Admin,
    /// A refused attempt written to the audit log (the rest go unrecorded).
    AuditedDenial,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Send => "send",
            Action::Conversation => "conversation",
            Action::Typing => "typing",
            Action::UploadBytes => "upload",
            Action::Admin => "admin",
            Action::AuditedDenial => "audited-denial",
        }
    }
}

/// The server's limits: the shared limiter, the configured quotas, and the tenants' own
/// (lower) send rates, read from their settings at most every 30 s.
pub struct Limits {
    pub limiter: RateLimiter,
    pool: sqlx::PgPool,
    tenant_send_rates: Mutex<HashMap<uuid::Uuid, (Option<u32>, Instant)>>,
    send: Quota,
    conversation: Quota,
    typing: Quota,
    upload_kib: Quota,
    pub ws_frames: Quota,
    logins_per_ip: Quota,
    admin: Quota,
    audited_denials: Quota,
    /// Chat sockets open per user on this node (`WS_MAX_SOCKETS_PER_USER`).
    pub sockets: Slots<uuid::Uuid>,
}

impl Limits {
    pub fn new(limiter: RateLimiter, pool: sqlx::PgPool, config: &Config) -> Limits {
        let kib_per_mb = 1024;
        Limits {
            limiter,
            pool,
            tenant_send_rates: Mutex::default(),
            send: Quota::per_minute(config.rate_send_per_minute, config.rate_send_burst),
            conversation: Quota::per_minute(
                config.rate_conversations_per_minute,
                config.rate_conversations_per_minute,
            ),
            typing: Quota::per_minute(config.rate_typing_per_minute, config.rate_typing_per_minute),
            // Counted in KiB: per byte the interval would be below the microsecond the
            // algorithm counts in.
            upload_kib: Quota::per_minute(
                config.rate_upload_mb_per_minute.max(1).saturating_mul(kib_per_mb),
                config.rate_upload_mb_per_minute.max(1).saturating_mul(kib_per_mb),
            ),
            ws_frames: Quota::per_minute(
                config.rate_ws_frames_per_minute,
                (config.rate_ws_frames_per_minute / 10).max(5),
            ),
            logins_per_ip: Quota::per_minute(config.rate_logins_per_minute, config.rate_logins_per_minute),
            admin: Quota::per_minute(config.rate_admin_per_minute, config.rate_admin_per_minute),
            audited_denials: Quota::per_minute(config.audit_denials_per_minute, config.audit_denials_per_minute),
            sockets: Slots::new(config.ws_max_sockets_per_user),
        }
    }

    /// What logins are checked against (the login budgets themselves are `login`'s).
    pub fn login(&self) -> Throttle<'_> {
        Throttle {
            limiter: &self.limiter,
            successes_per_ip: self.logins_per_ip,
        }
    }

    /// The server's send rate per minute (the bound for tenants' own).
    pub fn send_per_minute(&self) -> u32 {
        (Duration::from_secs(60).as_micros() / self.send.interval.as_micros().max(1)) as u32
    }

    async fn send_quota(&self, tenant_id: uuid::Uuid) -> Result<Quota, Error> {
        let cached = self
            .tenant_send_rates
            .lock()
            .expect("limits lock")
            .get(&tenant_id)
            .copied();
        let rate = match cached {
            Some((rate, at)) if at.elapsed() < Duration::from_secs(30) => rate,
            _ => {
                let rate = TenantSettings::load(&self.pool, tenant_id).await?.send_per_minute;
                self.tenant_send_rates
                    .lock()
                    .expect("limits lock")
                    .insert(tenant_id, (rate, Instant::now()));
                rate
            }
        };
        Ok(match rate {
            Some(rate) if rate < self.send_per_minute() => Quota::per_minute(rate, self.send.burst.min(rate)),
            _ => self.send,
        })
    }

    /// The meter of one upload by `actor`: with a `declared` length, charged all of it
    /// now, before anything is read; without one, charged as the bytes arrive.
    pub async fn upload_meter<'a>(&'a self, actor: &'a Actor, declared: Option<u64>) -> Result<UploadMeter<'a>, Error> {
        if let Some(length) = declared {
            self.take(Action::UploadBytes, actor, length).await?;
        }
        Ok(UploadMeter {
            limits: self,
            actor,
            prepaid: declared.is_some(),
            uncharged: 0,
        })
    }

    /// Takes `cost` of the actor's `action` budget, or 429 `rate_limited` with the wait.
    pub async fn take(&self, action: Action, actor: &Actor, cost: u64) -> Result<(), Error> {
        let quota = match action {
            Action::Send => self.send_quota(actor.tenant_id()).await?,
            Action::Conversation => self.conversation,
            Action::Typing => self.typing,
            Action::UploadBytes => self.upload_kib,
            Action::Admin => self.admin,
            Action::AuditedDenial => self.audited_denials,
        };
        let cost = match action {
            Action::UploadBytes => cost.div_ceil(1024),
            _ => cost,
        };
        self.limiter
            .take(&format!("{}:{}", action.name(), actor.user_id()), quota, cost)
            .await
            .map_err(Error::rate_limited)
    }
}

/// How much of an upload arrives between two charges: a body over the budget is refused
/// at most this far past it, at one limiter round trip per step.
const UPLOAD_CHARGE_STEP: u64 = 256 * 1024;

/// An upload's bytes, charged to its sender's budget while they arrive, so a body over
/// the budget stops being read (and staged) at once, and uploads running side by side
/// draw on one budget instead of each passing a check that only one of them fits.
pub struct UploadMeter<'a> {
    limits: &'a Limits,
    actor: &'a Actor,
    /// Charged in full up front (the length was declared).
    prepaid: bool,
    uncharged: u64,
}

impl UploadMeter<'_> {
    /// `bytes` more arrived: 429 `rate_limited` once they pass the budget.
    pub async fn arrived(&mut self, bytes: usize) -> Result<(), Error> {
        if self.prepaid {
            return Ok(());
        }
        self.uncharged += bytes as u64;
        if self.uncharged >= UPLOAD_CHARGE_STEP {
            self.settle().await?;
        }
        Ok(())
    }

    /// Charges what arrived since the last charge (call once the body has ended).
    pub async fn settle(&mut self) -> Result<(), Error> {
        let cost = std::mem::take(&mut self.uncharged);
        if cost == 0 {
            return Ok(());
        }
        self.limits.take(Action::UploadBytes, self.actor, cost).await
    }
}
