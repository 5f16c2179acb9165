//! The `Allow` header of 405 answers (RFC 9110 §15.5.6). poem's router answers a known
//! path with an unknown method with a bare 405; the methods a path does take are
//! those the OpenAPI document lists for it, so they are read from there once.

use std::sync::Arc;

use poem::{
    http::HeaderValue, http::StatusCode, Endpoint, EndpointExt, IntoEndpoint, IntoResponse, PathPattern, Request,
    Response,
};
use serde_json::Value;

/// The path templates of the document (`/chat/conversations/{id}/`) with the methods
/// each one takes, as an `Allow` value.
#[derive(Debug, Default)]
pub struct AllowedMethods {
    routes: Vec<(Vec<String>, HeaderValue)>,
}

fn segments(path: &str) -> Vec<String> {
    path.trim_matches('/').split('/').map(str::to_string).collect()
}

impl AllowedMethods {
    pub fn from_document(document: &Value) -> Self {
        let Some(paths) = document.get("paths").and_then(Value::as_object) else {
            return AllowedMethods::default();
        };
        let routes = paths
            .iter()
            .filter_map(|(path, item)| {
                let mut methods: Vec<String> = item
                    .as_object()?
                    .keys()
                    .map(|method| method.to_ascii_uppercase())
                    .collect();
                if methods.iter().any(|m| m == "GET") {
                    methods.push("HEAD".into());
                }
                let allow = HeaderValue::from_str(&methods.join(", ")).ok()?;
                Some((segments(path), allow))
            })
            .collect();
        AllowedMethods { routes }
    }

    /// The `Allow` value for a request path below `/api`; a `{param}` segment matches
    /// any one segment, and a literal segment beats a parameter.
    pub fn for_path(&self, path: &str) -> Option<&HeaderValue> {
        let wanted = segments(path);
        let matches = |template: &[String]| {
            template.len() == wanted.len()
                && template
                    .iter()
                    .zip(&wanted)
                    .all(|(t, w)| t == w || (t.starts_with('{') && t.ends_with('}')))
        };
        let literal_count = |template: &[String]| template.iter().filter(|t| !t.starts_with('{')).count();
        self.routes
            .iter()
            .filter(|(template, _)| matches(template))
            .max_by_key(|(template, _)| literal_count(template))
            .map(|(_, allow)| allow)
    }
}

/// `api` with `Allow` on its 405 answers.
pub fn with_allow_header<E>(api: E, allowed: AllowedMethods) -> impl Endpoint
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let allowed = Arc::new(allowed);
    api.into_endpoint().around(move |api, req: Request| {
        let allowed = allowed.clone();
        async move {
            // The URI shares its bytes: no copy per request for the rare 405.
            let uri = req.uri().clone();
            match api.call(req).await {
                Ok(response) => Ok(response.into_response()),
                Err(err) if err.status() == StatusCode::METHOD_NOT_ALLOWED => {
                    // The route the router matched stays on the answer, for the request log.
                    let route = err.data::<PathPattern>().cloned();
                    let mut response: Response = crate::error::into_json_response(err).await;
                    if let Some(route) = route {
                        response.set_data(route);
                    }
                    if let Some(allow) = allowed.for_path(uri.path()) {
                        response.headers_mut().insert(poem::http::header::ALLOW, allow.clone());
                    }
                    Ok(response)
                }
                Err(err) => Err(err),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_segment_by_segment_and_literals_win() {
        let document = serde_json::json!({"paths": {
            "/chat/conversations/": {"get": {}, "post": {}},
            "/chat/conversations/{id}/": {"get": {}},
            "/chat/conversations/start/": {"post": {}},
        }});
        let allowed = AllowedMethods::from_document(&document);
        let allow = |path| allowed.for_path(path).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(allow("/chat/conversations").as_deref(), Some("GET, POST, HEAD"));
        assert_eq!(allow("/chat/conversations/abc").as_deref(), Some("GET, HEAD"));
        assert_eq!(allow("/chat/conversations/start").as_deref(), Some("POST"));
        assert_eq!(allow("/nowhere"), None);
    }
}
