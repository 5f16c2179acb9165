//! Request plumbing that applies to every route.

use std::sync::Arc;

use futures_util::StreamExt;
use poem::{
    http::{header, uri::PathAndQuery, HeaderValue, Method, StatusCode},
    Body, Endpoint, Request, Response, Result,
};

use crate::error::Error;

/// The read error of a body that passes its cap while streaming.
pub const BODY_TOO_LARGE: &str = "request body too large";

/// Bodies other than uploads are small JSON documents.
pub const MAX_JSON_BODY: u64 = 1024 * 1024;
/// Multipart bodies carry attachments: up to 10 files of 10 MB plus the text.
pub const MAX_MULTIPART_BODY: u64 = 110 * 1024 * 1024;

/// Collection URLs end with `/`, as in Django, and the same path without the slash
/// must reach the same handler. poem-openapi registers its routes without the trailing
/// slash, so under `/api/` and `/ws/` one trailing slash is dropped before routing and
/// both spellings meet there. (The published OpenAPI document shows the slashes; see
/// `api::docs`.)
pub async fn strip_trailing_slash(mut req: Request) -> Result<Request> {
    let path = req.uri().path();
    let strip = (path.starts_with("/api/") || path.starts_with("/ws/")) && path.ends_with('/');
    if strip {
        let trimmed = &path[..path.len() - 1];
        let path_and_query = match req.uri().query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_string(),
        };
        let mut parts = req.uri().clone().into_parts();
        parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).map_err(|_| Error::not_found("Page"))?);
        *req.uri_mut() = poem::http::Uri::from_parts(parts).map_err(|_| Error::not_found("Page"))?;
    }
    Ok(req)
}

/// The pages of other origins that embed the widget (`ALLOWED_ORIGINS`): they may call
/// the API and load the widget's files across origins. Their calls carry the widget's
/// bearer token, never our cookies (no `Access-Control-Allow-Credentials`), so allowing
/// them opens no door to another site riding on a user's session.
#[derive(Clone)]
pub struct HostOrigins(Arc<[String]>);

impl HostOrigins {
    pub fn of(config: &crate::config::Config) -> HostOrigins {
        let origins = config.allowed_origins.iter();
        HostOrigins(origins.map(|o| o.trim().trim_end_matches('/').to_string()).collect())
    }

    /// The request's `Origin` when it is one of the host pages.
    fn allowed(&self, req: &Request) -> Option<HeaderValue> {
        let origin = req.headers().get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.0
            .iter()
            .any(|o| o.eq_ignore_ascii_case(text))
            .then(|| origin.clone())
    }
}

/// Unsafe requests that the browser itself marks as coming from another site
/// (`Sec-Fetch-Site: cross-site`) are refused outright — unless they come from a host
/// page of `ALLOWED_ORIGINS` — as defence in depth beside the CSRF token and `SameSite`
/// cookies.
pub fn refuse_cross_site(hosts: &HostOrigins, req: Request) -> Result<Request> {
    let cross_site = req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site && crate::auth::csrf::is_unsafe(req.method()) && hosts.allowed(&req).is_none() {
        return Err(Error::CrossSite.into());
    }
    Ok(req)
}

/// CORS for the host pages, on `/api/` and `/static/` only: a preflight from one of them
/// is answered here (the bearer header and JSON bodies need one), and every answer to
/// them names their origin. Requests from other origins pass untouched, so the browser
/// keeps their pages from reading our answers.
pub async fn cross_origin<E: Endpoint>(hosts: &HostOrigins, next: &E, req: Request) -> Result<Response> {
    let path = req.uri().path();
    let covered = path.starts_with("/api/") || path.starts_with("/static/");
    let Some(origin) = hosts.allowed(&req).filter(|_| covered) else {
        return Ok(next.get_response(req).await);
    };
    let preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut response = Response::builder().status(StatusCode::NO_CONTENT).finish();
        let headers = response.headers_mut();
        let methods = HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE");
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods);
        let allowed_headers = HeaderValue::from_static("authorization, content-type, accept");
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allowed_headers);
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        response
    } else {
        next.get_response(req).await
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    Ok(response)
}

/// Headers for every response. A response that brings its own Content-Security-Policy
/// (the interactive docs) keeps it; everything else gets the strict one — scripts and
/// styles from this origin only, no inline script.
pub fn security_headers(config: &crate::config::Config) -> impl Fn(Response) -> Response + Send + Sync + 'static {
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; \
         font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {}",
        config.frame_ancestors
    );
    let hsts = config.secure_cookies();
    move |mut response: Response| {
        let headers = response.headers_mut();
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            if let Ok(value) = HeaderValue::from_str(&csp) {
                headers.insert(header::CONTENT_SECURITY_POLICY, value);
            }
        }
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
        if hsts {
            headers.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
        response
    }
}

/// Over https the cookies carry the `__Host-` prefix; read them under their plain names.
pub async fn host_prefixed_cookies(mut req: Request) -> Result<Request> {
    let renamed = req
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::auth::cookies::host_prefixed);
    if let Some(value) = renamed.and_then(|v| HeaderValue::from_str(&v).ok()) {
        req.headers_mut().insert(header::COOKIE, value);
    }
    Ok(req)
}

/// Caps the request body: 413 up front when `Content-Length` says it is too large, and
/// a read error the moment a body without a length passes the cap, so nothing
/// unbounded is ever buffered.
pub async fn limit_body(mut req: Request) -> Result<Request> {
    let is_multipart = req
        .content_type()
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/"));
    let limit = if is_multipart {
        MAX_MULTIPART_BODY
    } else {
        MAX_JSON_BODY
    };
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(Error::PayloadTooLarge.into());
    }
    if declared.is_none() {
        let mut seen = 0u64;
        let stream = req.take_body().into_bytes_stream().map(move |chunk| {
            let chunk = chunk?;
            seen += chunk.len() as u64;
            if seen > limit {
                return Err(std::io::Error::other(BODY_TOO_LARGE));
            }
            Ok(chunk)
        });
        req.set_body(Body::from_bytes_stream(stream));
    }
    Ok(req)
}
