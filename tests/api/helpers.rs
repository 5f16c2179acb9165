//! Start the real app against a fresh database (from `#[sqlx::test]`) on a free port and
//! talk HTTP to it, as a client would.

use reqwest::{header::HeaderMap, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::{
    accounts::{self, NewUser, TenantSlug},
    auth::Role,
    Config,
};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub base: String,
    pub pool: PgPool,
}

pub async fn spawn_app(pool: PgPool) -> TestApp {
    let media = std::env::temp_dir().join(format!("tenantchat-test-{}", Uuid::new_v4()));
    let app = tenantchat::build(Config::for_tests(media), pool.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let acceptor = poem::listener::TcpListener::bind(addr.to_string());
    tokio::spawn(poem::Server::new(acceptor).run(app));
    let base = format!("http://{addr}");
    // Wait until the server answers (bounded), rather than sleeping and hoping.
    for _ in 0..200 {
        if reqwest::get(format!("{base}/api/openapi.json"))
            .await
            .is_ok()
        {
            return TestApp { base, pool };
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("test server did not start");
}

/// A tenant with its users, created through the same functions the CLI uses.
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
}

impl TestApp {
    pub async fn tenant(&self, slug: &str) -> Tenant {
        let id = accounts::create_tenant(
            &self.pool,
            &TenantSlug::parse(slug).unwrap(),
            &format!("{slug} Inc"),
        )
        .await
        .unwrap();
        Tenant {
            id,
            slug: slug.into(),
        }
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
        Client {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap(),
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
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
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

    /// Starts (or finds) the 1-to-1 conversation with `other`; returns its id.
    pub async fn start_with(&mut self, other: Uuid) -> String {
        let (status, body) = self
            .post(
                "/api/chat/conversations/start/",
                json!({"participant_id": other}),
            )
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
            .get(&format!(
                "/api/chat/conversations/{conversation}/messages/{query}"
            ))
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
