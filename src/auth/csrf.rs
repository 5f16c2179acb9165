//! CSRF protection for cookie-authenticated requests, as Django does it: a `csrftoken`
//! cookie readable by JavaScript whose value must come back in the `X-CSRFToken` header
//! on every unsafe request. The token is also bound to the session, so a cookie planted
//! by a sibling subdomain does not pass.

use poem::{http::Method, Request};
use rand::RngCore;

pub const CSRF_COOKIE: &str = "csrftoken";
pub const CSRF_HEADER: &str = "X-CSRFToken";

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// True when an unsafe request carries the session's token in both the header and the
/// cookie. Safe methods always pass.
pub fn passes(req: &Request, session_token: &str) -> bool {
    if !is_unsafe(req.method()) {
        return true;
    }
    let header = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    let cookie = req.cookie().get(CSRF_COOKIE);
    match (header, cookie) {
        (Some(header), Some(cookie)) => {
            constant_time_eq(header.as_bytes(), cookie.value_str().as_bytes())
                && constant_time_eq(header.as_bytes(), session_token.as_bytes())
        }
        _ => false,
    }
}

/// Compares secrets without an early exit, so timing does not reveal a matching prefix.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn tokens_are_random_hex() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
