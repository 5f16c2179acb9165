//! tenantchat: multi-tenant realtime chat. `build` wires every part from a `Config` and
//! a database pool; `main.rs` and the integration tests both go through it.

pub mod accounts;
pub mod admin;
pub mod api;
pub mod archive;
pub mod assistant;
pub mod audit;
pub mod auth;
pub mod chat;
pub mod client;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod denials;
pub mod domain;
pub mod error;
pub mod health;
pub mod hooks;
pub mod i18n;
pub mod limits;
pub mod login;
pub mod middleware;
pub mod ratelimit;
pub mod realtime;
pub mod server;
pub mod slots;
pub mod state;
pub mod telemetry;
pub mod timestamp;
mod web;
pub mod widget_login;
pub mod ws;

use std::sync::Arc;

use poem::{middleware::CookieJarManager, EndpointExt, Route};
use sqlx::{postgres::PgPoolOptions, PgPool};

pub use config::Config;
pub use state::AppState;

/// The migrations of `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// A pool for the commands and the migrations: connections open as they are needed.
/// Start-up errors are one line of text for the operator.
pub async fn connect(config: &Config) -> Result<PgPool, String> {
    pool_options(config)
        .connect(config.database_url()?)
        .await
        .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))
}

/// The server's pool, once the schema is current: opened full, and each connection
/// warmed for sends as it opens (`chat::send_statement::warm`), so a burst after a
/// quiet spell neither waits for connections nor pays for their first use.
pub async fn connect_for_serving(config: &Config) -> Result<PgPool, String> {
    pool_options(config)
        .min_connections(config.database_max_connections)
        .after_connect(|conn, _| {
            Box::pin(async move {
                // Not warmed is only slower: the connection is still handed out.
                if let Err(err) = chat::send_statement::warm(conn).await {
                    tracing::warn!(error = %err, "a new database connection could not be warmed for sends");
                }
                Ok(())
            })
        })
        .connect(config.database_url()?)
        .await
        .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))
}

fn pool_options(config: &Config) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(config.database_max_connections)
        .acquire_timeout(std::time::Duration::from_secs(10))
        // No ping before handing out a connection: it is a round trip on every query.
        // A connection that broke while idle fails its next query instead, and the pool
        // replaces it.
        .test_before_acquire(false)
}

pub async fn migrate(pool: &PgPool) -> Result<(), String> {
    MIGRATOR.run(pool).await.map_err(|e| format!("migration failed: {e}"))
}

/// The application: its shared state and the HTTP endpoint serving it.
pub struct App {
    pub state: AppState,
    pub endpoint: poem::endpoint::BoxEndpoint<'static>,
}

/// Builds the whole application: the channel layer (Redis when `REDIS_URL` is set),
/// and every route.
pub fn build(config: Config, pool: PgPool) -> Result<App, String> {
    let config = Arc::new(config);
    crypto::install(crypto::Keyring::from_config(&config)?);
    auth::password::bound_hashing(config.password_hash_concurrency, config.password_hash_queue);
    let limiter = match &config.redis_url {
        Some(url) => ratelimit::RateLimiter::redis(url, &config.redis_prefix)?,
        None => ratelimit::RateLimiter::memory(),
    };
    let widget_replays = match &config.redis_url {
        Some(url) => widget_login::replay::ReplayCache::redis(url, &config.redis_prefix)?,
        None => widget_login::replay::ReplayCache::Postgres(pool.clone()),
    };
    let realtime = realtime::Realtime::new(config.redis_url.as_deref(), &config.redis_prefix, pool.clone())?;
    let credentials = auth::cache::CredentialCache::new(
        std::time::Duration::from_secs(config.auth_cache_seconds),
        Some(&realtime),
    );
    let content_rules: Arc<chat::safety::RulesCache> = Arc::default();
    // The assistant sends through the chat like anyone, so it rings the engine it answers for.
    let doorbell = hooks::outbox::Doorbell::default();
    let assistant = assistant::Assistant::new(
        pool.clone(),
        realtime.clone(),
        content_rules.clone(),
        doorbell.clone(),
        &config,
    )?;
    let webhooks = hooks::Engine::new(pool.clone(), &config, Arc::new(assistant), doorbell)?;
    let state = AppState {
        sessions: auth::session::Sessions::new(pool.clone(), auth::session::Lifetimes::of(&config)),
        credentials,
        limits: Arc::new(limits::Limits::new(limiter, pool.clone(), &config)),
        pool,
        config: config.clone(),
        realtime,
        content_rules,
        webhooks,
        i18n: Arc::new(i18n::Catalog::load(&config.static_root)),
        widget_replays: Arc::new(widget_replays),
    };
    // The request-level helpers below the state read their own parts.
    let verifier = auth::extract::Verifier {
        pool: state.pool.clone(),
        sessions: state.sessions.clone(),
        presence: state.realtime.presence.clone(),
        credentials: state.credentials.clone(),
    };
    let api = api::service(&config.public_origin());
    let docs = api::docs::Docs::new(&api, config.rate_send_per_minute);
    let asyncapi = ws::asyncapi::document(&config.public_origin(), docs.spec())?;
    let hosts = middleware::HostOrigins::of(&config);
    let endpoint = Route::new()
        .at("/api/openapi.json", docs.spec_endpoint())
        .at("/api/asyncapi.json", asyncapi)
        .at("/api/docs", docs.ui_endpoint())
        .nest(
            "/api",
            api::denied::audit_chat_denials(
                api::allow::with_allow_header(api, docs.allowed_methods()),
                state.clone(),
            ),
        )
        .at("/ws/chat", poem::get(ws::chat_socket))
        .at("/healthz", poem::get(health::healthz))
        .at("/readyz", poem::get(health::readyz))
        .nest("/", web::routes(&config.static_root))
        .with(CookieJarManager::new())
        .data(state.clone())
        .data(verifier)
        .data(config.clone())
        .before(middleware::host_prefixed_cookies)
        .before(middleware::strip_trailing_slash)
        .before(middleware::limit_body)
        .before({
            let hosts = hosts.clone();
            move |req| std::future::ready(middleware::refuse_cross_site(&hosts, req))
        })
        .around(telemetry::requests::note_route)
        .catch_all_error(error::into_json_response)
        // Outside the error mapping, so refusals reach the host page with their CORS headers.
        .around(move |next, req| {
            let hosts = hosts.clone();
            async move { middleware::cross_origin(&hosts, &next, req).await }
        })
        .map({
            let add_headers = Arc::new(middleware::security_headers(&config));
            move |response| {
                let add_headers = add_headers.clone();
                async move { add_headers(response) }
            }
        })
        .around(telemetry::requests::log)
        .boxed();
    Ok(App { state, endpoint })
}

/// Serves `build(config, pool)` on `config.bind` until ctrl-c / SIGTERM.
pub async fn serve(config: Config, pool: PgPool) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(&config.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let local = listener.local_addr().ok();
    tracing::info!(addr = ?local, origin = %config.public_origin(), "tenantchat listening");
    if let Some(bind) = &config.metrics_bind {
        telemetry::metrics::serve(bind, pool.clone()).await?;
    }
    // What a crashed process left in the upload staging area.
    chat::staging::sweep_staging(&config.media_root).await;
    let limits = server::ConnectionLimits::of(&config);
    let app = build(config, pool)?;
    // Before the first request: a wrong or missing key stops the server here.
    chat::keys::check(&app.state.pool, &crypto::keyring()).await?;
    app.state
        .sessions
        .spawn_expired_sweeper(std::time::Duration::from_secs(3600));
    chat::retention::spawn_hourly(app.state.pool.clone(), app.state.config.media_root.clone());
    app.state.webhooks.spawn();
    let realtime = app.state.realtime.clone();
    let shutdown = async move {
        shutdown_signal().await;
        // Sockets first, with 1012, so their clients reconnect to another node; then
        // the server stops accepting and drains the requests in flight. From the first step
        // on `/readyz` answers 503, so a load balancer stops sending new work.
        realtime.shutdown_and_drain(std::time::Duration::from_secs(5)).await;
    };
    server::run(listener, app.endpoint, limits, shutdown)
        .await
        .map_err(|e| format!("server error: {e}"))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("install SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
