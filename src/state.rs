//! What every request shares. Built by `lib.rs`, read by the edges (`api`, `ws`, `web`)
//! through poem's `Data`; nothing below the edges sees it.

use std::sync::Arc;

use sqlx::PgPool;

use crate::{
    auth::{cache::CredentialCache, session::Sessions},
    chat::safety::RulesCache,
    config::Config,
    hooks::Engine,
    i18n::Catalog,
    limits::Limits,
    realtime::Realtime,
};

/// Shared by every request: the database, sessions, limits and the configuration.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub sessions: Sessions,
    /// Sessions and tokens checked seconds ago, forgotten on every node when they change.
    pub credentials: Arc<CredentialCache>,
    pub config: Arc<Config>,
    /// Rate limits (shared through Redis when there is one).
    pub limits: Arc<Limits>,
    pub realtime: Arc<Realtime>,
    /// Each tenant's compiled content rules (forbidden topics, PII mode).
    pub content_rules: Arc<RulesCache>,
    /// The webhook delivery engine (running once `serve` or a test spawns it).
    pub webhooks: Arc<Engine>,
    /// Page and widget strings in every language.
    pub i18n: Arc<Catalog>,
}
