//! HTML pages: a plausible SaaS dashboard shell that embeds the chat widget for a
//! logged-in user, the admin console, a login page (a plain form, no JavaScript needed),
//! logout, the language switch, and the static files at `/static/`.

mod admin;
mod origin;

use askama::Template;
use poem::{
    endpoint::StaticFilesEndpoint,
    get, handler,
    http::{header, StatusCode},
    post,
    web::{
        cookie::{Cookie, CookieJar, SameSite},
        Data, Form, Html, Query, Redirect,
    },
    IntoResponse, Request, Response, Route,
};
use serde::Deserialize;

use crate::{
    accounts::{self, User},
    auth::{cookies, csrf, extract::session_actor, session::SESSION_COOKIE, Actor},
    chat::{
        conversations::{self, ListQuery},
        settings::TenantSettings,
    },
    client::RequestMeta,
    error::{Error, Result},
    i18n, login,
    state::AppState,
};

pub fn routes(static_root: &std::path::Path) -> Route {
    let pages = Route::new()
        .at("/", get(dashboard))
        .at("/login/", get(login_page).post(login_form))
        .at("/logout/", post(logout_form))
        .at("/lang/", get(choose_language))
        .nest("/static", StaticFilesEndpoint::new(static_root));
    admin::add_pages(pages)
}

/// The strings of the page's language, for the templates: `{{ s.t("key") }}`.
struct Strings<'a> {
    catalog: &'a i18n::Catalog,
    locale: &'static str,
}

impl Strings<'_> {
    fn t(&self, key: &str) -> String {
        self.catalog.get(self.locale, key)
    }
}

fn strings<'a>(state: &'a AppState, req: &Request) -> Strings<'a> {
    let cookie = req.cookie().get(i18n::LANG_COOKIE).map(|c| c.value_str().to_string());
    let accept = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Strings {
        catalog: &state.i18n,
        locale: i18n::negotiate(cookie.as_deref(), accept),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    s: Strings<'a>,
    error: Option<String>,
    tenant: String,
    here: &'static str,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    s: Strings<'a>,
    user: User,
    csrf_token: String,
    welcome: String,
    conversations: usize,
    unread: i64,
    /// JSON for the widget, safe inside a `<script type="application/json">` block.
    widget_config: String,
    /// Admins get a link to the console.
    is_admin: bool,
    here: &'static str,
}

fn render(page: impl Template, status: StatusCode) -> Result<Response> {
    let html = page.render().map_err(Error::internal)?;
    Ok(Html(html).with_status(status).into_response())
}

/// JSON that cannot close the `<script>` element it sits in.
fn script_safe_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

async fn current(state: &AppState, jar: &CookieJar) -> Result<Option<(Actor, String)>> {
    match jar.get(SESSION_COOKIE) {
        Some(cookie) => Ok(
            session_actor(&state.pool, &state.sessions, &state.credentials, cookie.value_str())
                .await?
                .map(|(a, s)| (a, s.csrf_token)),
        ),
        None => Ok(None),
    }
}

#[handler]
async fn dashboard(req: &Request, state: Data<&AppState>, jar: &CookieJar) -> Result<Response> {
    let Some((actor, csrf_token)) = current(&state, jar).await? else {
        return Ok(Redirect::see_other("/login/").into_response());
    };
    let s = strings(&state, req);
    let user = accounts::me(&state.pool, &actor).await?;
    let list = ListQuery {
        include_archived: false,
        limit: None,
        offset: None,
    };
    let conversations = conversations::list(&state.pool, &actor, list).await?;
    let settings = TenantSettings::load(&state.pool, actor.tenant_id()).await?;
    let config = serde_json::json!({
        "userId": user.id,
        "i18n": state.i18n.all(s.locale),
        "branding": {"color": settings.widget_color(), "title": settings.widget_title},
    });
    let page = DashboardPage {
        welcome: s.t("page.dashboard.welcome").replace("{name}", &user.name),
        unread: conversations.iter().map(|c| c.unread_count).sum(),
        conversations: conversations.len(),
        widget_config: script_safe_json(&config),
        is_admin: actor.require_admin().is_ok(),
        s,
        user,
        csrf_token,
        here: "/",
    };
    render(page, StatusCode::OK)
}

#[handler]
async fn login_page(req: &Request, state: Data<&AppState>, jar: &CookieJar) -> Result<Response> {
    if current(&state, jar).await?.is_some() {
        return Ok(Redirect::see_other("/").into_response());
    }
    let page = LoginPage {
        s: strings(&state, req),
        error: None,
        tenant: String::new(),
        here: "/login/",
    };
    render(page, StatusCode::OK)
}

#[derive(Deserialize)]
struct LoginForm {
    tenant: String,
    email: String,
    password: String,
}

#[handler]
async fn login_form(
    req: &Request,
    state: Data<&AppState>,
    jar: &CookieJar,
    meta: RequestMeta,
    Form(form): Form<LoginForm>,
) -> Result<Response> {
    // Login CSRF: a page of another site must not log its visitor in as someone else.
    if origin::from_another_site(req, &state.config.page_origins()) {
        let s = strings(&state, req);
        let page = LoginPage {
            error: Some(s.t("page.login.other_site")),
            s,
            tenant: String::new(),
            here: "/login/",
        };
        return render(page, StatusCode::FORBIDDEN);
    }
    match login::login(
        &state.pool,
        &state.sessions,
        state.limits.login(),
        &form.tenant,
        &form.email,
        &form.password,
        &meta,
    )
    .await
    {
        Ok(logged_in) => {
            login::establish(&state.sessions, &state.realtime, &state.credentials, jar, logged_in).await?;
            Ok(Redirect::see_other("/").into_response())
        }
        // The form shows why the login failed, on the login page, with the status (and
        // `Retry-After`) the API would answer.
        Err(err @ (Error::InvalidCredentials | Error::RateLimited { .. } | Error::ServerBusy { .. })) => {
            let s = strings(&state, req);
            let message = if matches!(err, Error::InvalidCredentials) {
                s.t("page.login.failed")
            } else {
                err.to_string()
            };
            let status = poem::error::ResponseError::status(&err);
            let page = LoginPage {
                s,
                error: Some(message),
                tenant: form.tenant,
                here: "/login/",
            };
            let mut response = render(page, status)?;
            if let Some(retry_after) = err.retry_after() {
                response.headers_mut().insert(
                    poem::http::header::RETRY_AFTER,
                    poem::http::HeaderValue::from(retry_after),
                );
            }
            Ok(response)
        }
        Err(err) => Err(err),
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    csrfmiddlewaretoken: String,
}

#[handler]
async fn logout_form(
    state: Data<&AppState>,
    jar: &CookieJar,
    meta: RequestMeta,
    Form(form): Form<LogoutForm>,
) -> Result<Response> {
    match jar.get(SESSION_COOKIE) {
        Some(cookie) => {
            let session = state.sessions.load(cookie.value_str()).await?;
            let session = session
                .filter(|s| csrf::constant_time_eq(s.csrf_token.as_bytes(), form.csrfmiddlewaretoken.as_bytes()))
                .ok_or(Error::CsrfFailed)?;
            let (sessions, realtime, credentials) = (&state.sessions, &state.realtime, &state.credentials);
            login::logout(
                sessions,
                realtime,
                credentials,
                jar,
                meta.https,
                cookie.value_str(),
                session.user_id,
            )
            .await?;
        }
        None => cookies::clear(jar, meta.https),
    }
    Ok(Redirect::see_other("/login/").into_response())
}

#[derive(Deserialize)]
struct LanguageChoice {
    l: String,
    next: Option<String>,
}

/// Remembers the chosen language for a year and goes back to a local page.
#[handler]
async fn choose_language(jar: &CookieJar, meta: RequestMeta, Query(choice): Query<LanguageChoice>) -> Response {
    if i18n::LOCALES.contains(&choice.l.as_str()) {
        let mut cookie = Cookie::new_with_str(i18n::LANG_COOKIE, choice.l);
        cookie.set_path("/");
        cookie.set_same_site(SameSite::Lax);
        cookie.set_secure(meta.https);
        cookie.set_max_age(std::time::Duration::from_secs(365 * 24 * 3600));
        jar.add(cookie);
    }
    let next = choice.next.as_deref().and_then(origin::local_path);
    Redirect::see_other(next.as_deref().unwrap_or("/")).into_response()
}
