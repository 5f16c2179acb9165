//! Start the real app against a fresh database (from `#[sqlx::test]`) on a free port and
//! talk HTTP to it, as a client would.

use std::sync::Arc;

use reqwest::{cookie::CookieStore, cookie::Jar, header::HeaderMap, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::{
    accounts::{self, NewUser, TenantSlug},
    domain::Role,
    server::{self, ConnectionLimits},
    Config,
};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub base: String,
    pub pool: PgPool,
    /// The app's state, when it runs in this process.
    pub state: Option<tenantchat::AppState>,
    /// The Prometheus listener, when `metrics_bind` was set.
    pub metrics: Option<std::net::SocketAddr>,
}

/// Which channel layer an app under test uses.
#[derive(Debug, Clone)]
pub enum Layer {
    Memory,
    /// Redis at `REDIS_URL`, with this key prefix (unique per test; shared by the nodes of one test).
    Redis(String),
}

impl Layer {
    pub fn redis() -> Layer {
        Layer::Redis(format!("test-{}", Uuid::new_v4()))
    }
}

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").expect("REDIS_URL must point at a Redis server (scripts/test.sh starts one)")
}

pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_node(pool, Layer::Memory).await
}

/// One node of the app on a free port, with the given channel layer.
pub async fn spawn_node(pool: PgPool, layer: Layer) -> TestApp {
    spawn_node_with(pool, layer, |_| {}).await
}

/// Two nodes of one deployment: the same database, one Redis channel layer.
pub async fn two_redis_nodes(pool: PgPool) -> (TestApp, TestApp) {
    let layer = Layer::redis();
    let node_a = spawn_node(pool.clone(), layer.clone()).await;
    (node_a, spawn_node(pool, layer).await)
}

/// An in-memory node whose configuration `adjust` changes first.
pub async fn spawn_configured(pool: PgPool, adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_adjusted(pool, None, Layer::Memory, adjust).await
}

/// A node on `layer` whose configuration `adjust` changes first.
pub async fn spawn_node_with(pool: PgPool, layer: Layer, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let url = match &layer {
        Layer::Memory => None,
        Layer::Redis(_) => Some(redis_url()),
    };
    spawn_adjusted(pool, url, layer, adjust).await
}

/// Like `spawn_node`, with an explicit Redis URL (a test's own Redis server).
pub async fn spawn_with_redis(pool: PgPool, redis_url: Option<String>, layer: Layer) -> TestApp {
    spawn_adjusted(pool, redis_url, layer, |_| {}).await
}

async fn spawn_adjusted(
    pool: PgPool,
    redis_url: Option<String>,
    layer: Layer,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let media = std::env::temp_dir().join(format!("tenantchat-test-{}", Uuid::new_v4()));
    let mut config = Config::for_tests(media);
    config.public_origin = Some(base.clone());
    config.redis_url = redis_url;
    if let Layer::Redis(prefix) = &layer {
        config.redis_prefix = prefix.clone();
    }
    adjust(&mut config);
    // As `serve` does: the exporter is installed before the app counts anything.
    let metrics = match &config.metrics_bind {
        Some(bind) => Some(tenantchat::telemetry::metrics::serve(bind, pool.clone()).await.unwrap()),
        None => None,
    };
    let limits = ConnectionLimits::of(&config);
    let app = tenantchat::build(config, pool.clone()).unwrap();
    // As `serve` does: the keys are checked (and the current one registered) first.
    tenantchat::chat::keys::check(&pool, &tenantchat::crypto::keyring())
        .await
        .unwrap();
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    // The binary's own serving code, with its timeouts and connection caps.
    tokio::spawn(server::run(listener, app.endpoint, limits, std::future::pending()));
    TestApp {
        base,
        pool,
        state: Some(app.state),
        metrics,
    }
}

impl TestApp {
    /// A server started elsewhere (the real binary) on `base`, sharing `pool`.
    pub fn external(base: &str, pool: PgPool) -> TestApp {
        TestApp {
            base: base.to_string(),
            pool,
            state: None,
            metrics: None,
        }
    }

    /// The in-process app's realtime side (not available for an external server).
    pub fn realtime(&self) -> &tenantchat::realtime::Realtime {
        &self.state.as_ref().expect("an in-process app").realtime
    }
}

/// A tenant with its users, created through the same functions the CLI uses.
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
}

impl TestApp {
    pub async fn tenant(&self, slug: &str) -> Tenant {
        let id = accounts::create_tenant(&self.pool, &TenantSlug::parse(slug).unwrap(), &format!("{slug} Inc"))
            .await
            .unwrap();
        Tenant { id, slug: slug.into() }
    }

    pub async fn user(&self, tenant: &Tenant, name: &str, role: Role) -> Uuid {
        let email = format!("{}@{}.test", name.to_lowercase(), tenant.slug);
        accounts::create_user(
            &self.pool,
            tenant.id,
            NewUser {
                email: &email,
                name,
                password: PASSWORD,
                role,
            },
        )
        .await
        .unwrap()
    }

    /// A user created and logged in over HTTP with a session cookie.
    pub async fn member(&self, tenant: &Tenant, name: &str, role: Role) -> Client {
        let id = self.user(tenant, name, role).await;
        self.login(tenant, name, id).await
    }

    /// Logs an existing user in (another browser, another tab's session).
    pub async fn login(&self, tenant: &Tenant, name: &str, id: Uuid) -> Client {
        let mut client = self.anonymous();
        let email = format!("{}@{}.test", name.to_lowercase(), tenant.slug);
        let (status, body) = client
            .post(
                "/api/auth/login/",
                json!({"tenant": tenant.slug, "email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        client.user_id = id;
        client
    }

    pub fn anonymous(&self) -> Client {
        let cookies = Arc::new(Jar::default());
        Client {
            http: reqwest::Client::builder()
                .cookie_provider(cookies.clone())
                .build()
                .unwrap(),
            cookies,
            base: self.base.clone(),
            csrf: None,
            bearer: None,
            user_id: Uuid::nil(),
        }
    }
}

/// An HTTP client that behaves like a browser (cookie store, CSRF header on unsafe
/// requests) or, with a bearer token, like a script.
pub struct Client {
    pub http: reqwest::Client,
    pub cookies: Arc<Jar>,
    pub base: String,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
    pub user_id: Uuid,
}

fn csrf_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix("csrftoken=")
                .map(|rest| rest.split(';').next().unwrap().to_string())
        })
        .filter(|v| !v.is_empty())
}

impl Client {
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = &self.bearer {
            req = req.bearer_auth(token);
        }
        if let (Some(csrf), true) = (&self.csrf, method != Method::GET) {
            req = req.header("X-CSRFToken", csrf);
        }
        req
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = req.send().await.unwrap();
        let status = resp.status();
        if let Some(csrf) = csrf_from(resp.headers()) {
            self.csrf = Some(csrf);
        }
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    pub async fn get(&mut self, path: &str) -> (StatusCode, Value) {
        let req = self.request(Method::GET, path);
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, body: Value) -> (StatusCode, Value) {
        let req = self.request(Method::POST, path).json(&body);
        self.send(req).await
    }

    pub async fn patch(&mut self, path: &str) -> (StatusCode, Value) {
        let req = self.request(Method::PATCH, path);
        self.send(req).await
    }

    pub async fn delete(&mut self, path: &str) -> (StatusCode, Value) {
        let req = self.request(Method::DELETE, path);
        self.send(req).await
    }

    /// The cookies this client would send to the server, as a `Cookie` header value.
    pub fn cookie_header(&self) -> String {
        let url = self.base.parse().unwrap();
        self.cookies
            .cookies(&url)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    /// Opens `/ws/chat/` as a browser on the app's own origin would, with this client's cookies.
    pub async fn socket(&self) -> crate::sockets::Socket {
        crate::sockets::Socket::open(&self.base, &self.cookie_header(), Some(&self.base), None).await
    }

    /// Starts (or finds) the 1-to-1 conversation with `other`; returns its id.
    pub async fn start_with(&mut self, other: Uuid) -> String {
        let (status, body) = self
            .post("/api/chat/conversations/start/", json!({"participant_id": other}))
            .await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status} {body}"
        );
        body["id"].as_str().unwrap().to_string()
    }

    /// Sends a text message; returns the message JSON.
    pub async fn say(&mut self, conversation: &str, text: &str) -> Value {
        let (status, body) = self
            .post(
                &format!("/api/chat/conversations/{conversation}/messages/"),
                json!({"content": text}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    pub async fn conversation(&mut self, id: &str) -> Value {
        let (status, body) = self.get(&format!("/api/chat/conversations/{id}/")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn messages(&mut self, conversation: &str, query: &str) -> Vec<Value> {
        let (status, body) = self
            .get(&format!("/api/chat/conversations/{conversation}/messages/{query}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }
}

/// Asserts the API.md error shape and returns the error code.
pub fn error_code(status: StatusCode, body: &Value, expected_status: StatusCode) -> String {
    assert_eq!(status, expected_status, "{body}");
    assert!(body["message"].is_string(), "error without message: {body}");
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("error without code: {body}"))
        .to_string()
}
