//! The server's rate limits per user and action: the configured quotas, and the
//! tenants' own (lower) send rates from their settings. The mechanism (GCRA, shared
//! through Redis) is `crate::ratelimit`; this is the policy over it.

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
            .map_err(|wait| Error::RateLimited {
                retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
            })
    }
}
