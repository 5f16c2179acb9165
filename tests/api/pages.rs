//! The HTML pages: login, the dashboard that embeds the widget, the language switch.

use reqwest::{redirect::Policy, StatusCode};
use sqlx::PgPool;
use tenantchat::{
    accounts::{self, NewUser},
    domain::Role,
};

use crate::helpers::{spawn_app, PASSWORD};

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()["location"].to_str().unwrap().to_string()
}

#[sqlx::test]
async fn login_page_dashboard_and_logout(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    // A name that tries to break out of the page's JSON block and HTML.
    let name = "</script><script>alert(1)</script>";
    accounts::create_user(
        &app.pool,
        acme.id,
        NewUser {
            email: "x@acme.test",
            name,
            password: PASSWORD,
            role: Role::Write,
        },
    )
    .await
    .unwrap();
    let http = browser();

    let home = http.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(
        (home.status(), location(&home)),
        (StatusCode::SEE_OTHER, "/login/".to_string())
    );
    let page = http.get(format!("{}/login/", app.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("name=\"password\""));

    let wrong = [("tenant", "acme"), ("email", "x@acme.test"), ("password", "nope")];
    let failed = http
        .post(format!("{}/login/", app.base))
        .form(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    assert!(
        failed.text().await.unwrap().contains("role=\"alert\""),
        "the form says why"
    );

    let right = [("tenant", "acme"), ("email", "x@acme.test"), ("password", PASSWORD)];
    let ok = http
        .post(format!("{}/login/", app.base))
        .form(&right)
        .send()
        .await
        .unwrap();
    assert_eq!((ok.status(), location(&ok)), (StatusCode::SEE_OTHER, "/".to_string()));

    let dashboard = http
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!dashboard.contains(name), "user text is escaped in the page");
    let start = dashboard.find("id=\"tenant-chat-config\">").unwrap() + "id=\"tenant-chat-config\">".len();
    let json = &dashboard[start..start + dashboard[start..].find("</script>").unwrap()];
    let config: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(config["i18n"]["locale"], "en");
    assert!(config["userId"].is_string());
    assert!(dashboard.contains("/static/chat/js/tenant_chat.js"));
    assert!(
        !dashboard.contains("<script>"),
        "no inline script: only data blocks and files"
    );

    // Logout needs the form's CSRF token.
    let refused = http
        .post(format!("{}/logout/", app.base))
        .form(&[("csrfmiddlewaretoken", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let token_start = dashboard.find("name=\"csrfmiddlewaretoken\" value=\"").unwrap() + 34;
    let token = &dashboard[token_start..token_start + 64];
    let out = http
        .post(format!("{}/logout/", app.base))
        .form(&[("csrfmiddlewaretoken", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (out.status(), location(&out)),
        (StatusCode::SEE_OTHER, "/login/".to_string())
    );
    let home = http.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::SEE_OTHER, "logged out");
}

#[sqlx::test]
async fn the_language_follows_the_choice_then_the_browser(pool: PgPool) {
    let app = spawn_app(pool).await;
    let http = browser();
    let lang = |html: &str| {
        html.split("<html lang=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    let page = |accept: &'static str| {
        http.get(format!("{}/login/", app.base))
            .header("Accept-Language", accept)
            .send()
    };
    assert_eq!(lang(&page("es-ES,es;q=0.9").await.unwrap().text().await.unwrap()), "es");
    assert_eq!(
        lang(&page("pt-BR,pt;q=0.9").await.unwrap().text().await.unwrap()),
        "pt-BR"
    );
    assert_eq!(lang(&page("de").await.unwrap().text().await.unwrap()), "en");

    let chosen = http
        .get(format!("{}/lang/?l=pt-BR&next=/login/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&chosen), "/login/");
    assert_eq!(
        lang(&page("es").await.unwrap().text().await.unwrap()),
        "pt-BR",
        "the choice beats the header"
    );

    for next in ["//evil.example/", "https://evil.example/", "/\\evil.example"] {
        let resp = http
            .get(format!("{}/lang/?l=es&next={}", app.base, urlencode(next)))
            .send()
            .await
            .unwrap();
        assert_eq!(location(&resp), "/", "no open redirect to {next}");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
