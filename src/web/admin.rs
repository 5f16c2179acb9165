//! The admin console's pages at `/admin/`: one server-rendered shell per section (the
//! navigation, the heading, the strings) whose content the section's ES module draws
//! from the admin API. The role is checked here, before anything is rendered: not logged
//! in → the login page, not an admin → a 403 page.

use askama::Template;
use poem::{
    get, handler,
    http::StatusCode,
    web::{cookie::CookieJar, Data, Redirect},
    EndpointExt, IntoResponse, Request, Response, Route,
};

use super::{current, render, script_safe_json, strings, Strings};
use crate::{
    accounts::{self, User},
    admin::settings,
    error::Result,
    state::AppState,
};

/// A page of the console: its name (that of its module, `static/admin/js/pages/<name>.js`),
/// its path and the key of its title.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Section {
    name: &'static str,
    path: &'static str,
    title: &'static str,
}

const fn section(name: &'static str, path: &'static str, title: &'static str) -> Section {
    Section { name, path, title }
}

/// The console's pages in navigation order.
const SECTIONS: [Section; 8] = [
    section("overview", "/admin/", "admin.section.overview"),
    section("users", "/admin/users/", "admin.section.users"),
    section("settings", "/admin/settings/", "admin.section.settings"),
    section("audit", "/admin/audit-log/", "admin.section.audit"),
    section("attachments", "/admin/attachments/", "admin.section.attachments"),
    section("analytics", "/admin/analytics/", "admin.section.analytics"),
    section("integrations", "/admin/integrations/", "admin.section.integrations"),
    section("flagged", "/admin/flagged-messages/", "admin.section.flagged"),
];

/// `route` with the console's pages added.
pub(super) fn add_pages(route: Route) -> Route {
    SECTIONS
        .iter()
        .fold(route, |route, section| route.at(section.path, get(page).data(*section)))
}

#[derive(Template)]
#[template(path = "admin/console.html")]
struct ConsolePage<'a> {
    s: Strings<'a>,
    user: User,
    csrf_token: String,
    sections: &'static [Section],
    section: Section,
    /// The user id and the strings for the page's modules, as script-safe JSON.
    config: String,
    here: &'static str,
}

#[derive(Template)]
#[template(path = "admin/forbidden.html")]
struct ForbiddenPage<'a> {
    s: Strings<'a>,
    here: &'static str,
}

#[handler]
async fn page(req: &Request, state: Data<&AppState>, jar: &CookieJar, section: Data<&Section>) -> Result<Response> {
    let Some((actor, csrf_token)) = current(&state, jar).await? else {
        return Ok(Redirect::see_other("/login/").into_response());
    };
    let s = strings(&state, req);
    if actor.require_admin().is_err() {
        return render(ForbiddenPage { s, here: section.path }, StatusCode::FORBIDDEN);
    }
    let user = accounts::me(&state.pool, &actor).await?;
    let config = serde_json::json!({
        "userId": user.id,
        "section": section.name,
        "attachmentTypes": settings::attachment_types(),
        "i18n": state.i18n.all(s.locale),
    });
    let page = ConsolePage {
        config: script_safe_json(&config),
        s,
        user,
        csrf_token,
        sections: &SECTIONS,
        section: **section,
        here: section.path,
    };
    render(page, StatusCode::OK)
}
