//! The two cookies of a logged-in browser: `sessionid` (HttpOnly, the session key) and
//! `csrftoken` (readable by JavaScript, echoed in `X-CSRFToken`). Both `SameSite=Lax`.
//! Over https they are `Secure` and carry the `__Host-` prefix (no `Domain`, path `/`,
//! so no sibling subdomain can set or shadow them); `host_prefixed` maps the prefixed
//! names back on the way in, so the rest of the code knows one name per cookie.

use poem::web::cookie::{Cookie, CookieJar, SameSite};

use super::{csrf::CSRF_COOKIE, session::SESSION_COOKIE};

const HOST_PREFIX: &str = "__Host-";

fn base(name: &str, value: String, secure: bool) -> Cookie {
    let name = if secure {
        format!("{HOST_PREFIX}{name}")
    } else {
        name.to_string()
    };
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

/// A request's `Cookie` header with `__Host-sessionid` / `__Host-csrftoken` read as
/// `sessionid` / `csrftoken`.
pub fn host_prefixed(header: &str) -> Option<String> {
    header.contains(HOST_PREFIX).then(|| {
        header
            .split(';')
            .map(|pair| {
                let pair = pair.trim();
                match pair.strip_prefix(HOST_PREFIX) {
                    Some(rest)
                        if rest.starts_with(&format!("{SESSION_COOKIE}="))
                            || rest.starts_with(&format!("{CSRF_COOKIE}=")) =>
                    {
                        rest
                    }
                    _ => pair,
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Tells the browser to drop both cookies.
pub fn clear(jar: &CookieJar, secure: bool) {
    for name in [SESSION_COOKIE, CSRF_COOKIE] {
        let mut cookie = base(name, String::new(), secure);
        cookie.set_max_age(std::time::Duration::ZERO);
        jar.add(cookie);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_prefixed_names_are_read_as_the_plain_ones() {
        assert_eq!(
            host_prefixed("__Host-sessionid=a; __Host-csrftoken=b; lang=es").as_deref(),
            Some("sessionid=a; csrftoken=b; lang=es")
        );
        assert_eq!(host_prefixed("__Host-other=x").as_deref(), Some("__Host-other=x"));
        assert_eq!(host_prefixed("sessionid=a"), None);
    }
}
