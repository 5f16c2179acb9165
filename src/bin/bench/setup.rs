//! The bench tenant: its users (rows written in bulk), their sessions (a real login over
//! HTTP, or in bulk through the server's own session store) and their conversations
//! (created over HTTP, as a client would).

use futures_util::{stream, StreamExt, TryStreamExt};
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenantchat::auth::{
    csrf,
    password::{self, NewPassword},
    session::{Lifetimes, SessionData, Sessions},
};
use uuid::Uuid;

/// Every bench user's password: a login verifies it like any other.
pub const PASSWORD: &str = "bench-password";

pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
}

/// A user row, before it has a session.
pub struct Account {
    pub id: Uuid,
    pub email: String,
}

/// A signed-in user: what a browser holds after logging in.
#[derive(Clone)]
pub struct User {
    pub id: Uuid,
    pub session: String,
    pub csrf: String,
}

impl User {
    /// The `Cookie` header of every request and socket of this user.
    pub fn cookie(&self) -> String {
        format!("sessionid={}; csrftoken={}", self.session, self.csrf)
    }
}

/// The bench tenant, with the tenant `settings` the run compares.
pub async fn create_tenant(pool: &PgPool, settings: Value) -> Tenant {
    let tenant = Tenant {
        id: Uuid::new_v4(),
        slug: format!("bench-{}", &Uuid::new_v4().simple().to_string()[..12]),
    };
    sqlx::query("INSERT INTO tenants (id, slug, name, settings) VALUES ($1, $2, 'Bench', $3)")
        .bind(tenant.id)
        .bind(&tenant.slug)
        .bind(settings)
        .execute(pool)
        .await
        .expect("create the bench tenant");
    tenant
}

/// `count` users with the role `write`, written in one statement. They share one password
/// hash: computing it is what an admin creating users pays, not what the bench measures.
pub async fn create_users(pool: &PgPool, tenant: &Tenant, count: usize) -> Vec<Account> {
    let hash = password::hash(NewPassword::parse(PASSWORD, "").expect("a valid password"))
        .await
        .expect("hash the bench password");
    let accounts: Vec<Account> = (0..count)
        .map(|_| {
            let id = Uuid::new_v4();
            Account {
                id,
                email: format!("{}@bench.test", id.simple()),
            }
        })
        .collect();
    let ids: Vec<Uuid> = accounts.iter().map(|a| a.id).collect();
    let emails: Vec<String> = accounts.iter().map(|a| a.email.clone()).collect();
    sqlx::query(
        "INSERT INTO users (id, tenant_id, email, name, password_hash, role)
         SELECT id, $2, email, 'Bench ' || n, $4, 'write'
         FROM unnest($1::uuid[], $3::text[]) WITH ORDINALITY AS u(id, email, n)",
    )
    .bind(&ids)
    .bind(tenant.id)
    .bind(&emails)
    .bind(&hash)
    .execute(pool)
    .await
    .expect("create the bench users");
    accounts
}

/// Logs every account in through `POST /api/auth/login/`, `concurrency` at a time, over
/// `clients` in turn (one per source address: people log in from many addresses).
pub async fn log_in(
    clients: &[reqwest::Client],
    base: &str,
    tenant: &Tenant,
    accounts: &[Account],
    concurrency: usize,
) -> Vec<User> {
    stream::iter(accounts.iter().enumerate())
        .map(|(i, account)| async move {
            let http = &clients[i % clients.len()];
            let body = json!({"tenant": tenant.slug, "email": account.email, "password": PASSWORD});
            let resp = http
                .post(format!("{base}/api/auth/login/"))
                .json(&body)
                .send()
                .await
                .map_err(|err| format!("login request: {err}"))?;
            if !resp.status().is_success() {
                return Err(format!("login answered {}", resp.status()));
            }
            let cookie = |name: &str| {
                resp.headers().get_all(SET_COOKIE).iter().find_map(|value| {
                    let value = value.to_str().ok()?;
                    let pair = value.split(';').next()?;
                    pair.strip_prefix(name)?.strip_prefix('=').map(str::to_string)
                })
            };
            match (cookie("sessionid"), cookie("csrftoken")) {
                (Some(session), Some(csrf)) => Ok(User {
                    id: account.id,
                    session,
                    csrf,
                }),
                _ => Err("login set no session cookie".to_string()),
            }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await
        .unwrap_or_else(|err| panic!("logging the bench users in failed: {err}"))
}

/// Sessions for many users without a password check each: the rows the server's own
/// session store writes at login (the same code, the same table), with a CSRF token.
pub async fn bulk_sessions(pool: &PgPool, accounts: &[Account]) -> Vec<User> {
    // The server's defaults; it judges expiry by its own settings when loading.
    let sessions = Sessions::new(
        pool.clone(),
        Lifetimes {
            idle: time::Duration::days(2),
            absolute: time::Duration::days(14),
            admin_idle: time::Duration::minutes(30),
        },
    );
    stream::iter(accounts)
        .map(|account| {
            let sessions = sessions.clone();
            async move {
                let csrf = csrf::new_token();
                let data = SessionData {
                    user_id: account.id,
                    epoch: 0,
                    csrf_token: csrf.clone(),
                };
                let session = sessions.create(&data).await.expect("create a session");
                User {
                    id: account.id,
                    session,
                    csrf,
                }
            }
        })
        .buffer_unordered(16)
        .collect()
        .await
}

/// `POST` as `user` with its cookie and CSRF token; the answer's JSON.
pub async fn post_as(http: &reqwest::Client, url: String, user: &User, body: Value) -> Value {
    let resp = http
        .post(&url)
        .header(COOKIE, user.cookie())
        .header(csrf::CSRF_HEADER, &user.csrf)
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|err| panic!("POST {url}: {err}"));
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or_default();
    if !status.is_success() {
        panic!("setting up failed: POST {url} answered {status}: {body}");
    }
    body
}

/// A group of all `members`, created by the first.
pub async fn create_group(http: &reqwest::Client, base: &str, members: &[User]) -> String {
    let others: Vec<Uuid> = members[1..].iter().map(|u| u.id).collect();
    let body = json!({"title": "bench group", "participant_ids": others});
    let group = post_as(http, format!("{base}/api/chat/conversations/"), &members[0], body).await;
    group["id"].as_str().expect("a conversation id").to_string()
}

/// One 1-to-1 conversation per (starter, partner) pair, 8 at a time.
pub async fn start_pairs(http: &reqwest::Client, base: &str, pairs: &[(&User, &User)]) -> Vec<String> {
    stream::iter(pairs)
        .map(|(starter, partner)| async move {
            let body = json!({"participant_id": partner.id});
            let c = post_as(http, format!("{base}/api/chat/conversations/start/"), starter, body).await;
            c["id"].as_str().expect("a conversation id").to_string()
        })
        .buffered(8)
        .collect()
        .await
}
