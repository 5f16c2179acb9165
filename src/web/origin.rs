//! Keeping the pages to this site: a redirect taken from the request goes only to a
//! path of this site, and the login form is accepted only from this site's own pages.

use poem::{http::header, Request};

/// `next` as a path of this site, or `None` when a browser could read it as anything
/// else. Browsers parse `Location` as WHATWG URLs: they drop tabs and newlines anywhere
/// (`/<TAB>/evil` is `//evil`) and read `\` as `/` (`/\evil` is `//evil`), and `//host` is
/// another site. So after dropping what the browser drops, the path must start with one
/// `/` followed by neither `/` nor `\`, and hold printable ASCII only — no backslash, no
/// space or control character, nothing a browser would re-encode (our own links never
/// need any of it).
pub fn local_path(next: &str) -> Option<String> {
    let path: String = next.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    let after_slash = path.strip_prefix('/')?;
    let printable = path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    (printable && !after_slash.starts_with('/')).then_some(path)
}

/// True when a browser says the request was sent by a page of another site: its
/// `Origin`, or without one its `Referer`, is not one of `own` (this site's origins).
/// Browsers send `Origin` on every form post (older ones only a `Referer`); a request
/// with neither comes from a script or a tool, not from a page a visitor was lured to, and
/// passes.
pub fn from_another_site(req: &Request, own: &[String]) -> bool {
    let headers = req.headers();
    let page = match (headers.get(header::ORIGIN), headers.get(header::REFERER)) {
        (Some(origin), _) => origin.to_str().ok(),
        (None, Some(referer)) => referer.to_str().ok().and_then(origin_of),
        (None, None) => return false,
    };
    !page.is_some_and(|page| own.iter().any(|o| o.eq_ignore_ascii_case(page)))
}

/// The `scheme://host[:port]` a URL starts with.
fn origin_of(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..scheme.len() + "://".len() + authority])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_path_of_this_site_is_kept() {
        assert_eq!(local_path("/dashboard/?x=1").as_deref(), Some("/dashboard/?x=1"));
        assert_eq!(local_path("/").as_deref(), Some("/"));
        assert_eq!(
            local_path("/log\tin/").as_deref(),
            Some("/login/"),
            "as the browser reads it"
        );
        for away in [
            "/\t/evil",
            "/\n/evil",
            "/\r/evil",
            "//evil",
            "/\\evil",
            "\\\\/evil",
            "https://evil",
            " /x",
            "x",
            "",
            "/a b",
            "/\u{0}",
            "/é",
            "/x\\y",
        ] {
            assert_eq!(local_path(away), None, "{away:?}");
        }
    }

    #[test]
    fn a_page_is_known_by_its_origin_or_else_its_referer() {
        let own = vec!["http://chat.example".to_string()];
        let with = |headers: &[(&str, &str)]| {
            let mut req = Request::builder();
            for (name, value) in headers {
                req = req.header(*name, *value);
            }
            from_another_site(&req.finish(), &own)
        };
        assert!(!with(&[]));
        assert!(!with(&[("Origin", "http://chat.example")]));
        assert!(!with(&[("Origin", "HTTP://Chat.Example")]));
        assert!(!with(&[("Referer", "http://chat.example/login/?x")]));
        assert!(!with(&[("Referer", "http://chat.example")]));
        assert!(with(&[("Origin", "null")]));
        assert!(with(&[("Origin", "http://chat.example.evil")]));
        assert!(with(&[("Origin", "http://evil"), ("Referer", "http://chat.example/")]));
        assert!(with(&[("Referer", "http://chat.example.evil/")]));
        assert!(with(&[("Referer", "http://chat.example@evil/")]));
        assert!(with(&[("Referer", "not a url")]));
    }
}
