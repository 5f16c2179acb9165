//! HTML pages: a minimal home page that shows who is logged in, with a plain form
//! login/logout (no JavaScript needed), so a person can try the server in a browser.

use askama::Template;
use poem::{
    get, handler,
    http::StatusCode,
    post,
    web::{cookie::CookieJar, Data, Form, Html, Redirect, RemoteAddr},
    IntoResponse, Response, Route,
};
use serde::Deserialize;

use crate::{
    accounts::{self, User},
    auth::{cookies, csrf, extract::session_actor, login, session::SESSION_COOKIE},
    error::{Error, Result},
    AppState,
};

pub fn routes() -> Route {
    Route::new()
        .at("/", get(index))
        .at("/login/", post(login_form))
        .at("/logout/", post(logout_form))
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    user: Option<User>,
    csrf_token: String,
    error: Option<String>,
    tenant: String,
}

fn render(page: IndexPage, status: StatusCode) -> Result<Response> {
    let html = page.render().map_err(Error::internal)?;
    Ok(Html(html).with_status(status).into_response())
}

#[handler]
async fn index(state: Data<&AppState>, jar: &CookieJar) -> Result<Response> {
    let session = match jar.get(SESSION_COOKIE) {
        Some(cookie) => session_actor(&state, cookie.value_str()).await?,
        None => None,
    };
    let (user, csrf_token) = match session {
        Some((actor, session)) => (Some(accounts::me(&state.pool, &actor).await?), session.csrf_token),
        None => (None, String::new()),
    };
    render(
        IndexPage {
            user,
            csrf_token,
            error: None,
            tenant: String::new(),
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct LoginForm {
    tenant: String,
    email: String,
    password: String,
}

#[handler]
async fn login_form(
    state: Data<&AppState>,
    jar: &CookieJar,
    addr: &RemoteAddr,
    Form(form): Form<LoginForm>,
) -> Result<Response> {
    match login::login(&state, &form.tenant, &form.email, &form.password, addr).await {
        Ok(logged_in) => {
            login::establish(&state, jar, logged_in).await?;
            Ok(Redirect::see_other("/").into_response())
        }
        Err(err @ (Error::InvalidCredentials | Error::RateLimited { .. })) => {
            let status = poem::error::ResponseError::status(&err);
            let page = IndexPage {
                user: None,
                csrf_token: String::new(),
                error: Some(err.to_string()),
                tenant: form.tenant,
            };
            render(page, status)
        }
        Err(err) => Err(err),
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    csrfmiddlewaretoken: String,
}

#[handler]
async fn logout_form(state: Data<&AppState>, jar: &CookieJar, Form(form): Form<LogoutForm>) -> Result<Response> {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        let session = state.sessions.load(cookie.value_str()).await?;
        let token_ok = session
            .is_some_and(|s| csrf::constant_time_eq(s.csrf_token.as_bytes(), form.csrfmiddlewaretoken.as_bytes()));
        if !token_ok {
            return Err(Error::CsrfFailed);
        }
        state.sessions.delete(cookie.value_str()).await?;
    }
    cookies::clear(jar, state.config.secure_cookies());
    Ok(Redirect::see_other("/").into_response())
}
