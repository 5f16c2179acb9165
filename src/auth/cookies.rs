//! The two cookies of a logged-in browser: `sessionid` (HttpOnly, the session key) and
//! `csrftoken` (readable by JavaScript, echoed in `X-CSRFToken`). Both `SameSite=Lax`,
//! and `Secure` when the public origin is https.

use poem::web::cookie::{Cookie, CookieJar, SameSite};

use super::{csrf::CSRF_COOKIE, session::SESSION_COOKIE};

fn base(name: &str, value: String, secure: bool) -> Cookie {
    let mut cookie = Cookie::new_with_str(name, value);
    cookie.set_path("/");
    cookie.set_same_site(SameSite::Lax);
    cookie.set_secure(secure);
    cookie
}

/// Sets both cookies for a new session.
pub fn set_login(jar: &CookieJar, session_key: String, csrf_token: String, ttl_seconds: i64, secure: bool) {
    let max_age = std::time::Duration::from_secs(ttl_seconds.max(0) as u64);
    let mut session = base(SESSION_COOKIE, session_key, secure);
    session.set_http_only(true);
    session.set_max_age(max_age);
    let mut csrf = base(CSRF_COOKIE, csrf_token, secure);
    csrf.set_max_age(max_age);
    jar.add(session);
    jar.add(csrf);
}

/// Tells the browser to drop both cookies.
pub fn clear(jar: &CookieJar, secure: bool) {
    for name in [SESSION_COOKIE, CSRF_COOKIE] {
        let mut cookie = base(name, String::new(), secure);
        cookie.set_max_age(std::time::Duration::ZERO);
        jar.add(cookie);
    }
}
