//! One log line and one latency sample per HTTP request, and its `X-Request-Id`.
//!
//! `log` wraps the whole application (outside the error mapping, so it sees the status
//! the client gets). It gives every request an id — the client's or proxy's
//! `X-Request-Id` when it is sane, a fresh one otherwise — and echoes it on the response.
//! What only inner layers know goes into a slot the line is written from once the
//! response is ready: whatever authenticates the request records its tenant and user
//! (`identify`), and `note_route`, inside the error mapping, the route pattern that
//! matched (an error's JSON answer is a new response, without it). The line holds that
//! pattern, never the path itself (ids), the query (tokens) or any header.

use std::{
    sync::{Arc, OnceLock},
    time::Instant,
};

use poem::{
    http::{header::HeaderName, HeaderValue, Method},
    Endpoint, IntoResponse, PathPattern, Request, Response,
};
use uuid::Uuid;

use super::metrics::HTTP_REQUEST_DURATION;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// A request id longer than this, or with other characters than `[A-Za-z0-9._-]`, is
/// replaced: it goes into every log line of the request.
const MAX_REQUEST_ID: usize = 64;

/// The request's id, as received or generated.
#[derive(Debug, Clone)]
pub struct RequestId(HeaderValue);

impl RequestId {
    fn of(req: &Request) -> RequestId {
        match req.headers().get(&REQUEST_ID_HEADER) {
            Some(given) if sane(given.as_bytes()) => RequestId(given.clone()),
            _ => RequestId::generate(),
        }
    }

    fn generate() -> RequestId {
        let id = Uuid::new_v4().simple().to_string();
        RequestId(HeaderValue::try_from(id).expect("hex digits are a header value"))
    }

    pub fn as_str(&self) -> &str {
        // Only sane (ASCII) values are ever stored.
        self.0.to_str().unwrap_or_default()
    }
}

fn sane(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The id of the request being served (set by `log` on every route).
pub fn request_id(req: &Request) -> Option<&RequestId> {
    req.extensions().get::<RequestId>()
}

/// What inner layers tell the log line: who made the request (tenant, user), and the
/// route it matched.
#[derive(Default)]
struct Noted {
    caller: OnceLock<(Uuid, Uuid)>,
    route: OnceLock<PathPattern>,
}

/// Records the authenticated caller of `req` for its log line (the first one counts).
pub fn identify(req: &Request, tenant_id: Uuid, user_id: Uuid) {
    if let Some(noted) = req.extensions().get::<Arc<Noted>>() {
        let _ = noted.caller.set((tenant_id, user_id));
    }
}

/// The middleware just inside the error mapping: notes the matched route, which poem's
/// router puts on the response or on the error.
pub async fn note_route<E: Endpoint>(app: Arc<E>, req: Request) -> poem::Result<Response> {
    let noted = req.extensions().get::<Arc<Noted>>().cloned();
    let result = app.call(req).await.map(IntoResponse::into_response);
    let route = match &result {
        Ok(response) => response.data::<PathPattern>(),
        Err(err) => err.data::<PathPattern>(),
    };
    if let (Some(noted), Some(route)) = (noted, route) {
        let _ = noted.route.set(route.clone());
    }
    result
}

/// The middleware (`EndpointExt::around`) of every route: see the module comment.
pub async fn log<E: Endpoint>(app: Arc<E>, mut req: Request) -> poem::Result<Response> {
    let started = Instant::now();
    let id = RequestId::of(&req);
    let noted = Arc::new(Noted::default());
    req.extensions_mut().insert(id.clone());
    req.extensions_mut().insert(noted.clone());
    let method = method_label(req.method());
    let mut response = match app.call(req).await {
        Ok(output) => output.into_response(),
        Err(err) => err.into_response(),
    };
    let elapsed = started.elapsed();
    // poem's pattern of the innermost route that matched, parameters named by position
    // (`/api/chat/conversations/:param0`), as `note_route` saw it. None, or the empty
    // pattern of the pages' root when none of its routes matched: a 404 whose path may
    // hold anything.
    let route: Arc<str> = match noted.route.get() {
        Some(pattern) if !pattern.0.is_empty() => pattern.0.clone(),
        _ => Arc::from(UNMATCHED),
    };
    let status = response.status();
    let (tenant, user) = noted.caller.get().copied().unzip();
    tracing::info!(
        target: "tenantchat::request",
        method,
        route = &*route,
        status = status.as_u16(),
        duration_ms = elapsed.as_micros() as f64 / 1000.0,
        request_id = id.as_str(),
        tenant = tenant.map(tracing::field::display),
        user = user.map(tracing::field::display),
        "request"
    );
    metrics::histogram!(
        HTTP_REQUEST_DURATION,
        "method" => method,
        "route" => route,
        "status" => status.as_str().to_string()
    )
    .record(elapsed.as_secs_f64());
    response.headers_mut().insert(REQUEST_ID_HEADER, id.0);
    Ok(response)
}

/// The route of a request no route matched.
const UNMATCHED: &str = "unmatched";

/// Methods as static labels; anything unusual is one label, not one series per spelling.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_is_kept_only_when_short_and_plain() {
        assert!(sane(b"abc-DEF_1.2"));
        assert!(sane("a".repeat(64).as_bytes()));
        assert!(!sane("a".repeat(65).as_bytes()));
        assert!(!sane(b""));
        assert!(!sane(b"has space"));
        assert!(!sane(b"line\nbreak"));
        assert!(!sane("caf\u{e9}".as_bytes()));
    }
}
