//! Login budgets under concurrency: the failure budget is reserved before the password is
//! hashed (F-4), and successful logins from one address have a budget of their own (F-5).

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use tenantchat::domain::Role;

use crate::helpers::{spawn_node, spawn_node_with, Layer, PASSWORD};

async fn raw_login(base: &str, email: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/auth/login/"))
        .json(&json!({"tenant": "acme", "email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

/// Counts the answers of concurrent logins: (200, 401, 429); a 429 must say when to retry,
/// and nothing else may come back.
async fn tally(answers: Vec<reqwest::Response>) -> (usize, usize, usize) {
    let mut counts = (0, 0, 0);
    for resp in answers {
        match resp.status() {
            StatusCode::OK => counts.0 += 1,
            StatusCode::UNAUTHORIZED => counts.1 += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                assert!(retry_after >= 1);
                let body: serde_json::Value = resp.json().await.unwrap();
                assert_eq!(body["error"], "rate_limited");
                counts.2 += 1;
            }
            other => panic!("unexpected {other}: {}", resp.text().await.unwrap()),
        }
    }
    counts
}

on_both_layers!(concurrent_wrong_passwords_are_checked_only_within_the_budget);

/// Fifty wrong passwords at once for one account: only the budget of five reaches the
/// password check; the rest are told to wait, not queued for hashing.
async fn concurrent_wrong_passwords_are_checked_only_within_the_budget(pool: PgPool, layer: Layer) {
    let app = spawn_node(pool, layer).await;
    let acme = app.tenant("acme").await;
    app.user(&acme, "Ana", Role::Write).await;
    let attempts = (0..50).map(|_| raw_login(&app.base, "ana@acme.test", "wrong password"));
    let (ok, checked, limited) = tally(join_all(attempts).await).await;
    assert_eq!(ok, 0);
    assert!((1..=5).contains(&checked), "{checked} wrong passwords were checked");
    assert_eq!(checked + limited, 50);
}

on_both_layers!(successful_logins_from_one_address_are_limited);

/// With three logins a minute per address, the fourth from the same address waits — also
/// for another account, and although every password was right.
async fn successful_logins_from_one_address_are_limited(pool: PgPool, layer: Layer) {
    let app = spawn_node_with(pool, layer, |c| c.rate_logins_per_minute = 3).await;
    let acme = app.tenant("acme").await;
    app.user(&acme, "Ana", Role::Write).await;
    app.user(&acme, "Bruno", Role::Write).await;
    for email in ["ana@acme.test", "bruno@acme.test", "ana@acme.test"] {
        assert_eq!(raw_login(&app.base, email, PASSWORD).await.status(), StatusCode::OK);
    }
    let (ok, _, limited) = tally(vec![raw_login(&app.base, "bruno@acme.test", PASSWORD).await]).await;
    assert_eq!((ok, limited), (0, 1), "the fourth login is refused");
}

/// Many good logins at once from one address (each a different account, so no account's
/// failure budget is involved): the address's budget is reserved before hashing.
#[sqlx::test]
async fn concurrent_good_logins_from_one_address_are_limited(pool: PgPool) {
    let app = spawn_node_with(pool, Layer::Memory, |c| c.rate_logins_per_minute = 3).await;
    let acme = app.tenant("acme").await;
    let names: Vec<String> = (0..12).map(|i| format!("User{i}")).collect();
    for name in &names {
        app.user(&acme, name, Role::Write).await;
    }
    let emails: Vec<String> = names
        .iter()
        .map(|n| format!("{}@acme.test", n.to_lowercase()))
        .collect();
    let attempts = emails.iter().map(|email| raw_login(&app.base, email, PASSWORD));
    let (ok, failed, limited) = tally(join_all(attempts).await).await;
    assert_eq!(failed, 0);
    assert!((1..=3).contains(&ok), "{ok} logins got through");
    assert_eq!(limited, 12 - ok);
}
