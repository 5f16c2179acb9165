//! Environment → `Config`, validated once at start.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Everything the server needs from its environment. Every field can be set by an
/// environment variable (the usual way to configure a container) or a flag.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// PostgreSQL connection string.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Redis connection string; without it the channel layer is in memory (one node).
    #[arg(long, env = "REDIS_URL", global = true, hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8000", global = true)]
    pub bind: String,

    /// Where uploaded files are stored.
    #[arg(long, env = "MEDIA_ROOT", default_value = "media", global = true)]
    pub media_root: PathBuf,

    /// Where the widget's files (`chat/js`, `chat/css`, `chat/i18n`) and the pages' CSS are
    /// served from, at `/static/`.
    #[arg(long, env = "STATIC_ROOT", default_value = "static", global = true)]
    pub static_root: PathBuf,

    /// Addresses of the reverse proxies in front of this node (comma-separated). Only
    /// their `X-Forwarded-For` and `X-Forwarded-Proto` are believed.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Who may frame the pages (CSP `frame-ancestors`), e.g. `'self' https://app.example`.
    #[arg(long, env = "FRAME_ANCESTORS", default_value = "'self'", global = true)]
    pub frame_ancestors: String,

    /// With nginx in front: the internal location (e.g. `/protected-media/`) that maps to
    /// MEDIA_ROOT. Downloads are then checked here and served by nginx via
    /// `X-Accel-Redirect`.
    #[arg(long, env = "MEDIA_ACCEL_REDIRECT", global = true)]
    pub media_accel_redirect: Option<String>,

    /// The origin browsers see (scheme://host[:port]); defaults to http://BIND.
    /// An https origin turns on `Secure` cookies.
    #[arg(long, env = "PUBLIC_ORIGIN", global = true)]
    pub public_origin: Option<String>,

    /// Prefix of every Redis key and channel of this deployment (several deployments,
    /// or test runs, can share one Redis).
    #[arg(long, env = "REDIS_PREFIX", default_value = "tenantchat", global = true)]
    pub redis_prefix: String,

    /// Further origins (comma-separated) allowed to open chat sockets, besides
    /// PUBLIC_ORIGIN — e.g. the host app that embeds the widget.
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',', global = true)]
    pub allowed_origins: Vec<String>,

    /// Maximum PostgreSQL connections of this node. A send holds a connection for one
    /// round trip, so a few connections per core of the database serve thousands of
    /// sends a second; more only queue inside PostgreSQL (see docs/performance.md).
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 20, global = true)]
    pub database_max_connections: u32,

    /// Seconds a node trusts a session or token it has checked without asking the
    /// database again (0: ask every time). Logout, deactivation, role changes and
    /// revocations drop the entry on every node at once, through the channel layer.
    #[arg(long, env = "AUTH_CACHE_SECONDS", default_value_t = 5, global = true)]
    pub auth_cache_seconds: u64,

    /// Password hashes (argon2, 19 MiB and tens of ms of CPU each) computed at once;
    /// 0 means one per CPU core.
    #[arg(long, env = "PASSWORD_HASH_CONCURRENCY", default_value_t = 0, global = true)]
    pub password_hash_concurrency: usize,
    /// Logins that may wait for a hashing slot; past them a login answers 503
    /// `server_busy` with `Retry-After`.
    #[arg(long, env = "PASSWORD_HASH_QUEUE", default_value_t = 16, global = true)]
    pub password_hash_queue: usize,

    /// Messages one user may send per minute (sustained) …
    #[arg(long, env = "RATE_SEND_PER_MINUTE", default_value_t = 60, global = true)]
    pub rate_send_per_minute: u32,
    /// … and at once.
    #[arg(long, env = "RATE_SEND_BURST", default_value_t = 10, global = true)]
    pub rate_send_burst: u32,
    /// Conversations one user may start or create per minute.
    #[arg(long, env = "RATE_CONVERSATIONS_PER_MINUTE", default_value_t = 20, global = true)]
    pub rate_conversations_per_minute: u32,
    /// Typing signals one user may send per minute.
    #[arg(long, env = "RATE_TYPING_PER_MINUTE", default_value_t = 30, global = true)]
    pub rate_typing_per_minute: u32,
    /// Megabytes one user may upload per minute.
    #[arg(long, env = "RATE_UPLOAD_MB_PER_MINUTE", default_value_t = 100, global = true)]
    pub rate_upload_mb_per_minute: u32,
    /// Frames one WebSocket may send per minute (bursts of a tenth of that).
    #[arg(long, env = "RATE_WS_FRAMES_PER_MINUTE", default_value_t = 240, global = true)]
    pub rate_ws_frames_per_minute: u32,
    /// Successful logins from one client address per minute (and at once): each costs a
    /// password hash, so a client with valid credentials cannot flood the hashing either.
    #[arg(long, env = "RATE_LOGINS_PER_MINUTE", default_value_t = 30, global = true)]
    pub rate_logins_per_minute: u32,
    /// Requests one admin may make to `/api/admin/` per minute (and at once).
    #[arg(long, env = "RATE_ADMIN_PER_MINUTE", default_value_t = 300, global = true)]
    pub rate_admin_per_minute: u32,
    /// Refused attempts (chat permission denials, non-admins calling `/api/admin/`) written
    /// to the audit log per user and minute (and at once); the rest are refused unrecorded.
    #[arg(long, env = "AUDIT_DENIALS_PER_MINUTE", default_value_t = 10, global = true)]
    pub audit_denials_per_minute: u32,

    /// Seconds a client has to send a request's head (line and headers), on a new
    /// connection or between the requests of a kept-alive one: an idle keep-alive
    /// connection is closed after this long too.
    #[arg(long, env = "HTTP_HEADER_TIMEOUT_SECONDS", default_value_t = 20, global = true)]
    pub http_header_timeout_seconds: u64,
    /// Longest silence within a request body, in seconds; past it the request answers
    /// 408 and its connection is closed.
    #[arg(long, env = "HTTP_BODY_TIMEOUT_SECONDS", default_value_t = 30, global = true)]
    pub http_body_timeout_seconds: u64,
    /// Open connections (WebSockets included) from one peer address; past it a new
    /// connection is closed at once. 0: no cap. Peers in TRUSTED_PROXIES are exempt.
    #[arg(long, env = "MAX_CONNECTIONS_PER_IP", default_value_t = 256, global = true)]
    pub max_connections_per_ip: usize,
    /// Open connections of this process; past it a new connection is closed at once.
    /// 0: nine tenths of the process's open-file limit.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 0, global = true)]
    pub max_connections: usize,
    /// Chat sockets one user may hold open on one node; past it a new socket is
    /// closed with 1008.
    #[arg(long, env = "WS_MAX_SOCKETS_PER_USER", default_value_t = 20, global = true)]
    pub ws_max_sockets_per_user: usize,

    /// A session ends after this many seconds without requests.
    #[arg(long, env = "SESSION_IDLE_SECONDS", default_value_t = 2 * 24 * 3600, global = true)]
    pub session_idle_seconds: i64,

    /// An admin's session ends after this many seconds without requests (at most the
    /// SESSION_IDLE_SECONDS of everyone else).
    #[arg(long, env = "ADMIN_SESSION_IDLE_SECONDS", default_value_t = 30 * 60, global = true)]
    pub admin_session_idle_seconds: i64,

    /// A session ends this many seconds after login whatever happens (Django's
    /// SESSION_COOKIE_AGE default: two weeks).
    #[arg(long, env = "SESSION_TTL_SECONDS", default_value_t = 14 * 24 * 3600, global = true)]
    pub session_ttl_seconds: i64,

    /// The log's format on stderr: `text` (colour only on a terminal) or `json` (one
    /// object per line, for a log collector).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Address of the Prometheus listener (`GET /metrics`), e.g. `127.0.0.1:9100`; off
    /// when unset. Never the public BIND: the metrics are for the operator only.
    #[arg(long, env = "METRICS_BIND", global = true)]
    pub metrics_bind: Option<String>,

    /// Encryption at rest (docs/encryption.md): the key new content and files are
    /// encrypted with, `<key id>:<base64 of 32 bytes>`. Off when unset.
    #[arg(long, env = "CHAT_ENCRYPTION_KEY", global = true, hide_env_values = true)]
    pub encryption_key: Option<String>,
    /// Earlier keys, still read while `tenantchat keys rotate` moves their records to the
    /// current one: `<key id>:<base64>,<key id>:<base64>`.
    #[arg(
        long,
        env = "CHAT_ENCRYPTION_OLD_KEYS",
        value_delimiter = ',',
        global = true,
        hide_env_values = true
    )]
    pub encryption_old_keys: Vec<String>,
    /// Webhook hosts or CIDR ranges (comma-separated) that may be private, loopback or
    /// link-local; every other such address is refused (SSRF). E.g. `10.0.0.0/8,bots.internal`.
    #[arg(long, env = "WEBHOOK_ALLOWED_HOSTS", value_delimiter = ',', global = true)]
    pub webhook_allowed_hosts: Vec<String>,
    /// A PEM file of extra root certificates that https webhooks may chain to (a private
    /// CA), on top of the built-in web PKI roots.
    #[arg(long, env = "WEBHOOK_CA_FILE", global = true)]
    pub webhook_ca_file: Option<PathBuf>,
    /// How long one webhook request may take, connect to last byte.
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECONDS", default_value_t = 10, global = true)]
    pub webhook_timeout_seconds: u64,
    /// Requests in flight to one endpoint from one node.
    #[arg(long, env = "WEBHOOK_CONCURRENCY_PER_ENDPOINT", default_value_t = 16, global = true)]
    pub webhook_concurrency_per_endpoint: usize,
    /// Requests in flight from one node, over every endpoint.
    #[arg(long, env = "WEBHOOK_CONCURRENCY", default_value_t = 128, global = true)]
    pub webhook_concurrency: usize,
    /// The first retry's delay; each further one doubles it (with jitter, at most an hour).
    #[arg(long, env = "WEBHOOK_RETRY_BASE_MS", default_value_t = 10_000, global = true)]
    pub webhook_retry_base_ms: u64,
    /// How long a delivery is retried before it is marked `failed`.
    #[arg(long, env = "WEBHOOK_RETRY_FOR_SECONDS", default_value_t = 24 * 3600, global = true)]
    pub webhook_retry_for_seconds: u64,
    /// How often each node looks for due deliveries it was not woken for: retries other
    /// nodes scheduled, and messages another node sent while its engine was full.
    #[arg(long, env = "WEBHOOK_POLL_MS", default_value_t = 1000, global = true)]
    pub webhook_poll_ms: u64,
    /// The key of an OpenAI-compatible chat-completions API. Without it admins cannot add
    /// assistant bots (409 `assistant_unavailable`). Never logged.
    #[arg(long, env = "OPENAI_API_KEY", global = true, hide_env_values = true)]
    pub openai_api_key: Option<String>,
    /// Where the chat-completions API is (`{base}/chat/completions`). This build has no
    /// TLS, so an https URL stops the server at start (see docs/known-limits.md).
    #[arg(
        long,
        env = "OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1",
        global = true
    )]
    pub openai_base_url: String,
    /// The model the assistant asks.
    #[arg(long, env = "OPENAI_MODEL", default_value = "gpt-4o-mini", global = true)]
    pub openai_model: String,
    /// How long one answer may take, request to last token.
    #[arg(long, env = "OPENAI_TIMEOUT_SECONDS", default_value_t = 60, global = true)]
    pub openai_timeout_seconds: u64,
    /// How long the API may take before its first token.
    #[arg(long, env = "OPENAI_FIRST_TOKEN_SECONDS", default_value_t = 20, global = true)]
    pub openai_first_token_seconds: u64,
    /// `max_tokens` of every request: the longest answer paid for.
    #[arg(long, env = "OPENAI_MAX_TOKENS", default_value_t = 1000, global = true)]
    pub openai_max_tokens: u32,
    /// Answers one tenant's assistants write at once on one node; more wait their turn.
    #[arg(long, env = "OPENAI_CONCURRENCY_PER_TENANT", default_value_t = 4, global = true)]
    pub openai_concurrency_per_tenant: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// The configuration for tests and embedding: defaults everywhere, no database URL
    /// (the caller hands `build` a pool).
    pub fn for_tests(media_root: PathBuf) -> Self {
        Config {
            database_url: None,
            redis_url: None,
            bind: "127.0.0.1:0".into(),
            media_root,
            public_origin: None,
            redis_prefix: "tenantchat".into(),
            media_accel_redirect: None,
            trusted_proxies: Vec::new(),
            frame_ancestors: "'self'".into(),
            static_root: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/static")),
            allowed_origins: Vec::new(),
            database_max_connections: 5,
            auth_cache_seconds: 5,
            password_hash_concurrency: 0,
            password_hash_queue: 16,
            // Tests send far faster than people; the rate limit tests lower these.
            rate_send_per_minute: 1_000_000,
            rate_send_burst: 1_000_000,
            rate_conversations_per_minute: 1_000_000,
            rate_typing_per_minute: 1_000_000,
            rate_upload_mb_per_minute: 1_000_000,
            rate_ws_frames_per_minute: 1_000_000,
            rate_logins_per_minute: 1_000_000,
            rate_admin_per_minute: 1_000_000,
            audit_denials_per_minute: 10,
            http_header_timeout_seconds: 20,
            http_body_timeout_seconds: 30,
            // Every test client is on 127.0.0.1, a thousand sockets at a time in some;
            // the connection tests set a cap.
            max_connections_per_ip: 0,
            encryption_key: None,
            encryption_old_keys: Vec::new(),
            max_connections: 0,
            ws_max_sockets_per_user: 20,
            session_ttl_seconds: 3600,
            session_idle_seconds: 1800,
            admin_session_idle_seconds: 1800,
            log_format: LogFormat::Text,
            metrics_bind: None,
            webhook_allowed_hosts: Vec::new(),
            webhook_ca_file: None,
            webhook_timeout_seconds: 10,
            webhook_concurrency_per_endpoint: 16,
            webhook_concurrency: 128,
            webhook_retry_base_ms: 10_000,
            webhook_retry_for_seconds: 24 * 3600,
            webhook_poll_ms: 1000,
            openai_api_key: None,
            openai_base_url: "https://api.openai.com/v1".into(),
            openai_model: "gpt-4o-mini".into(),
            openai_timeout_seconds: 60,
            openai_first_token_seconds: 20,
            openai_max_tokens: 1000,
            openai_concurrency_per_tenant: 4,
        }
    }

    pub fn database_url(&self) -> Result<&str, String> {
        self.database_url
            .as_deref()
            .ok_or_else(|| "DATABASE_URL is not set".to_string())
    }

    /// The origin as browsers see it, without a trailing slash.
    pub fn public_origin(&self) -> String {
        match &self.public_origin {
            Some(origin) => origin.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
        }
    }

    /// The origins of this site's own pages: the public origin. Without an explicit
    /// PUBLIC_ORIGIN a loopback BIND also counts its `localhost` spelling, so a
    /// developer's browser works either way.
    pub fn page_origins(&self) -> Vec<String> {
        let mut origins = vec![self.public_origin()];
        if self.public_origin.is_none() {
            if let Some(port) = self
                .bind
                .strip_prefix("127.0.0.1:")
                .or_else(|| self.bind.strip_prefix("0.0.0.0:"))
            {
                origins.push(format!("http://localhost:{port}"));
                origins.push(format!("http://127.0.0.1:{port}"));
            }
        }
        origins
    }

    /// Origins whose pages may open a chat socket: this site's and the allow-list.
    pub fn socket_origins(&self) -> Vec<String> {
        let mut origins = self.page_origins();
        origins.extend(
            self.allowed_origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_string()),
        );
        origins
    }

    /// Cookies get `Secure` when the public origin is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_origin().starts_with("https://")
    }

    /// Checks what clap cannot: values that parse but make no sense.
    pub fn validate(&self) -> Result<(), String> {
        let origin = self.public_origin();
        if !(origin.starts_with("http://") || origin.starts_with("https://")) {
            return Err(format!(
                "PUBLIC_ORIGIN must start with http:// or https://, got {origin}"
            ));
        }
        if self.session_ttl_seconds < 60 || self.session_idle_seconds < 60 {
            return Err("SESSION_TTL_SECONDS and SESSION_IDLE_SECONDS must be at least 60".into());
        }
        if self.admin_session_idle_seconds < 1 {
            return Err("ADMIN_SESSION_IDLE_SECONDS must be at least 1".into());
        }
        if self.metrics_bind.as_deref() == Some(self.bind.as_str()) {
            return Err("METRICS_BIND must differ from BIND: metrics are never on the public port".into());
        }
        if self.http_header_timeout_seconds == 0 || self.http_body_timeout_seconds == 0 {
            return Err("HTTP_HEADER_TIMEOUT_SECONDS and HTTP_BODY_TIMEOUT_SECONDS must be at least 1".into());
        }
        if self.ws_max_sockets_per_user == 0 {
            return Err("WS_MAX_SOCKETS_PER_USER must be at least 1".into());
        }
        if self.webhook_timeout_seconds == 0
            || self.webhook_concurrency == 0
            || self.webhook_concurrency_per_endpoint == 0
            || self.webhook_poll_ms == 0
        {
            return Err(
                "WEBHOOK_TIMEOUT_SECONDS, WEBHOOK_CONCURRENCY, WEBHOOK_CONCURRENCY_PER_ENDPOINT and WEBHOOK_POLL_MS must be at least 1"
                    .into(),
            );
        }
        if self.openai_key().is_some() {
            self.validate_openai()?;
        }
        if self.database_max_connections == 0 {
            return Err("DATABASE_MAX_CONNECTIONS must be at least 1".into());
        }
        let encrypting = self.encryption_key.is_some() || self.encryption_old_keys.iter().any(|k| !k.trim().is_empty());
        if encrypting && self.media_accel_redirect.is_some() {
            // The proxy would hand out the encrypted bytes: files must go through the app.
            return Err(
                "MEDIA_ACCEL_REDIRECT cannot be used with CHAT_ENCRYPTION_KEY or CHAT_ENCRYPTION_OLD_KEYS".into(),
            );
        }
        Ok(())
    }

    /// The chat-completions API key, if one is set (an empty variable is none).
    pub fn openai_key(&self) -> Option<&str> {
        self.openai_api_key.as_deref().map(str::trim).filter(|k| !k.is_empty())
    }

    /// The assistant's settings, checked only when it is turned on (a key is set).
    fn validate_openai(&self) -> Result<(), String> {
        if !(self.openai_base_url.starts_with("http://") || self.openai_base_url.starts_with("https://")) {
            return Err(format!(
                "OPENAI_BASE_URL must be an http:// or https:// URL, got {}",
                self.openai_base_url
            ));
        }
        if self.openai_timeout_seconds == 0
            || self.openai_first_token_seconds == 0
            || self.openai_max_tokens == 0
            || self.openai_concurrency_per_tenant == 0
        {
            return Err(
                "OPENAI_TIMEOUT_SECONDS, OPENAI_FIRST_TOKEN_SECONDS, OPENAI_MAX_TOKENS and \
                        OPENAI_CONCURRENCY_PER_TENANT must be at least 1"
                    .into(),
            );
        }
        Ok(())
    }
}
