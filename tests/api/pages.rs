//! The HTML pages: login, the dashboard that embeds the widget, the language switch,
//! logout; where they may send the browser and which sites may post their forms.

use std::sync::Arc;

use reqwest::{
    cookie::{CookieStore, Jar},
    redirect::Policy,
    StatusCode,
};
use serde_json::json;
use sqlx::PgPool;
use tenantchat::{
    accounts::{self, NewUser},
    domain::Role,
};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::{
    helpers::{spawn_app, TestApp, PASSWORD},
    sockets::Socket,
};

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

/// Where `/lang/` sends the browser back to, for a `next` of the caller's choosing.
async fn back_to(app: &TestApp, next: &str) -> String {
    let resp = browser()
        .get(format!("{}/lang/?l=es&next={}", app.base, urlencode(next)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    location(&resp)
}

/// Browsers drop tabs and newlines anywhere in a URL and read `\` as `/`, so each of
/// these, sent as `Location`, would leave the site (`/<TAB>/evil` is `//evil`).
#[sqlx::test]
async fn the_language_switch_goes_back_only_to_a_page_of_this_site(pool: PgPool) {
    let app = spawn_app(pool).await;
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "/\\evil.example",
        "\\\\/evil.example",
        "/\t\\evil.example",
        "//evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        " //evil.example",
        "/\u{0}/evil.example",
        "evil.example",
        "",
    ] {
        assert_eq!(back_to(&app, next).await, "/", "no way off the site through {next:?}");
    }
    assert_eq!(back_to(&app, "/dashboard/?x=1").await, "/dashboard/?x=1");
    assert_eq!(back_to(&app, "/login/").await, "/login/");
}

/// A plain browser: a cookie jar the test can read, redirects not followed.
fn browser_with_jar() -> (reqwest::Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(Policy::none())
        .build()
        .unwrap();
    (http, jar)
}

/// Logs `email` in through the HTML form; the dashboard's logout token.
async fn form_login(app: &TestApp, http: &reqwest::Client, email: &str) -> String {
    let form = [("tenant", "acme"), ("email", email), ("password", PASSWORD)];
    let resp = http
        .post(format!("{}/login/", app.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let page = http
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let start = page.find(marker).expect("the logout form") + marker.len();
    page[start..start + 64].to_string()
}

/// The dashboard's logout form ends the session like the API logout: the sockets it
/// opened close with 4401 at once, and cannot move a read watermark any more.
#[sqlx::test]
async fn the_form_logout_closes_the_sessions_sockets(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    let ana_id = app.user(&acme, "Ana", Role::Write).await;
    let mut bruno = app.member(&acme, "Bruno", Role::Write).await;
    let id = bruno.start_with(ana_id).await;
    bruno.say(&id, "are you there?").await;

    let (http, jar) = browser_with_jar();
    let token = form_login(&app, &http, "ana@acme.test").await;
    let cookies = jar.cookies(&app.base.parse().unwrap()).unwrap();
    let mut socket = Socket::open(&app.base, cookies.to_str().unwrap(), Some(&app.base), None).await;

    let out = http
        .post(format!("{}/logout/", app.base))
        .form(&[("csrfmiddlewaretoken", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(socket.closed().await, Some(CloseCode::from(4401)));
    let read = json!({"type": "read", "conversation_id": id, "seq": 1});
    socket.try_send_text(read.to_string()).await;
    assert_eq!(bruno.messages(&id, "").await[0]["status"], "sent", "not read by Ana");
}

/// Posts the login form with the right password and these extra headers.
async fn login_with(app: &TestApp, headers: &[(&str, &str)]) -> reqwest::Response {
    let (http, _) = browser_with_jar();
    let form = [("tenant", "acme"), ("email", "ana@acme.test"), ("password", PASSWORD)];
    let mut req = http.post(format!("{}/login/", app.base)).form(&form);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap()
}

/// Login CSRF: another site's page must not log the visitor in (as the attacker, whose
/// chats the visitor would then write into). A browser names the page a form came from
/// in `Origin` (older ones in `Referer`), with or without `Sec-Fetch-Site`.
#[sqlx::test]
async fn the_login_form_refuses_other_sites(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme = app.tenant("acme").await;
    app.user(&acme, "Ana", Role::Write).await;
    let here = format!("{}/login/", app.base);
    let sets_session = |resp: &reqwest::Response| {
        resp.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("sessionid="))
    };

    for foreign in [
        [("Origin", "http://evil.example")].as_slice(),
        &[("Origin", "null")],
        &[("Referer", "http://evil.example/login/")],
        &[("Referer", &format!("{}.evil.example/login/", app.base))],
        &[("Origin", "http://evil.example"), ("Referer", here.as_str())],
    ] {
        let resp = login_with(&app, foreign).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{foreign:?}");
        assert!(!sets_session(&resp), "no session for {foreign:?}");
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let page = resp.text().await.unwrap();
        assert!(page.contains("role=\"alert\""), "the page says why");
        assert!(page.contains("another site"), "{page}");
    }

    for own in [
        [("Origin", app.base.as_str())].as_slice(),
        &[("Referer", here.as_str())],
        &[],
    ] {
        let resp = login_with(&app, own).await;
        assert_eq!(
            (resp.status(), location(&resp)),
            (StatusCode::SEE_OTHER, "/".to_string()),
            "{own:?}"
        );
        assert!(sets_session(&resp));
    }
}

/// A throttled form login answers like the API (429 and `Retry-After`), on the login page
/// with the reason, not as JSON.
#[sqlx::test]
async fn a_throttled_form_login_says_when_to_come_back(pool: PgPool) {
    let app = spawn_app(pool).await;
    let http = browser();
    let wrong = [("tenant", "acme"), ("email", "x@acme.test"), ("password", "nope")];
    let mut last = None;
    // Five failures per account are checked; the sixth attempt is refused before.
    for _ in 0..6 {
        last = Some(
            http.post(format!("{}/login/", app.base))
                .form(&wrong)
                .send()
                .await
                .unwrap(),
        );
    }
    let refused = last.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait >= 1);
    assert!(refused.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(
        refused.text().await.unwrap().contains("role=\"alert\""),
        "the form says why"
    );
}
