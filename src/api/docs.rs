//! `GET /api/openapi.json` and the interactive docs at `GET /api/docs/`.
//!
//! poem-openapi drops trailing slashes from operation paths, but API.md's URLs end with
//! `/` (as in Django) and both spellings are served. The published document is
//! rewritten once at start-up so it shows the canonical `/`-terminated paths.

use poem::{endpoint::make_sync, web::Html, Endpoint, IntoResponse};
use poem_openapi::OpenApiService;
use serde_json::{Map, Value};

use super::Apis;
use crate::chat::uploads::UploadKind;

pub struct Docs {
    spec: String,
    ui_html: String,
}

impl Docs {
    /// `send_per_minute` is this server's send rate, the most a tenant may set.
    pub fn new(service: &OpenApiService<Apis, ()>, send_per_minute: u32) -> Self {
        let generated = service.spec();
        let spec = with_deployment_bounds(&with_trailing_slashes(&generated), send_per_minute);
        // The Swagger UI page embeds the document verbatim; swap in the rewritten one.
        let ui_html = service.swagger_ui_html().replacen(&generated, &spec, 1);
        Docs {
            spec,
            ui_html: with_csrf_header(&ui_html),
        }
    }

    /// The published OpenAPI document (its schemas are the AsyncAPI document's too).
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// The methods each documented path takes, for the `Allow` header of 405 answers.
    pub fn allowed_methods(&self) -> super::allow::AllowedMethods {
        let document: Value = serde_json::from_str(&self.spec).expect("the document is JSON");
        super::allow::AllowedMethods::from_document(&document)
    }

    pub fn spec_endpoint(&self) -> impl Endpoint + 'static {
        let spec = self.spec.clone();
        make_sync(move |_| {
            spec.clone()
                .with_content_type("application/json; charset=utf-8")
                .into_response()
        })
    }

    /// The Swagger UI page. It inlines its script and styles, so it gets a CSP of its own
    /// that allows them — on this page only.
    pub fn ui_endpoint(&self) -> impl Endpoint + 'static {
        let html = self.ui_html.clone();
        make_sync(move |_| {
            Html(html.clone()).with_header(
                "Content-Security-Policy",
                "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; \
                 img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
            )
        })
    }
}

/// "Try it out" from a logged-in browser sends the session cookie; unsafe requests
/// also need the CSRF header, which Swagger UI does not know about. A request
/// interceptor copies the `csrftoken` cookie into `X-CSRFToken`, as the widget does.
const CSRF_INTERCEPTOR: &str = r#"deepLinking: true,
        requestInterceptor: (req) => {
            const m = document.cookie.match(/(?:^|; )(?:__Host-)?csrftoken=([^;]*)/);
            if (m) { req.headers['X-CSRFToken'] = decodeURIComponent(m[1]); }
            return req;
        },"#;

fn with_csrf_header(html: &str) -> String {
    html.replacen("deepLinking: true,", CSRF_INTERCEPTOR, 1)
}

/// What poem-openapi's types cannot say: bounds from this server's configuration (a
/// tenant's send rate may only lower the server's); that a multipart body has no parts
/// but its named ones (`api::uploads` refuses any other; poem-openapi's schema type has
/// no `additionalProperties: false`); and which file types its `attachments` may be
/// (judged by their bytes).
fn with_deployment_bounds(spec: &str, send_per_minute: u32) -> String {
    let mut doc: Value = serde_json::from_str(spec).expect("poem-openapi writes valid JSON");
    if let Some(rate) = doc.pointer_mut("/components/schemas/SettingsUpdate/properties/send_per_minute") {
        rate["maximum"] = Value::from(send_per_minute);
    }
    let file_types: Vec<&str> = UploadKind::ALL
        .iter()
        .map(|kind| kind.mime().split(';').next().unwrap_or_default())
        .collect();
    if let Some(Value::Object(paths)) = doc.get_mut("paths") {
        let forms = paths
            .values_mut()
            .filter_map(Value::as_object_mut)
            .flat_map(|operations| operations.values_mut())
            .filter_map(|operation| operation.pointer_mut("/requestBody/content/multipart~1form-data"));
        for form in forms {
            form["schema"]["additionalProperties"] = Value::Bool(false);
            form["encoding"] = serde_json::json!({"attachments": {"contentType": file_types.join(", ")}});
        }
    }
    serde_json::to_string_pretty(&doc).expect("a JSON value serializes")
}

fn with_trailing_slashes(spec: &str) -> String {
    let mut doc: Value = serde_json::from_str(spec).expect("poem-openapi writes valid JSON");
    if let Some(Value::Object(paths)) = doc.get_mut("paths") {
        let slashed: Map<String, Value> = std::mem::take(paths)
            .into_iter()
            .map(|(path, item)| {
                if path.ends_with('/') {
                    (path, item)
                } else {
                    (format!("{path}/"), item)
                }
            })
            .collect();
        *paths = slashed;
    }
    serde_json::to_string_pretty(&doc).expect("a JSON value serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_page_sends_the_csrf_header() {
        let service = super::super::service("http://localhost");
        let docs = Docs::new(&service, 60);
        assert!(
            docs.ui_html.contains("requestInterceptor"),
            "poem-openapi's Swagger template changed"
        );
        assert!(docs.ui_html.contains("/chat/conversations/{id}/messages/"));
    }

    #[test]
    fn a_tenant_send_rate_is_bounded_by_the_servers() {
        let docs = Docs::new(&super::super::service("http://localhost"), 42);
        let doc: Value = serde_json::from_str(&docs.spec).unwrap();
        let rate = &doc["components"]["schemas"]["SettingsUpdate"]["properties"]["send_per_minute"];
        assert_eq!(
            (rate["minimum"].as_f64(), rate["maximum"].as_f64()),
            (Some(1.0), Some(42.0))
        );
        let form = &doc["paths"]["/chat/conversations/{id}/messages/"]["post"]["requestBody"]["content"]
            ["multipart/form-data"]["schema"];
        assert_eq!(form["additionalProperties"], false, "{form}");
        assert_eq!(form["minProperties"], 1, "an empty form is no message: {form}");
    }

    #[test]
    fn every_path_gets_one_trailing_slash() {
        let spec = r#"{"paths": {"/auth/me": {}, "/chat/conversations/{id}": {}, "/x/": {}}}"#;
        let doc: Value = serde_json::from_str(&with_trailing_slashes(spec)).unwrap();
        let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
        assert_eq!(paths, ["/auth/me/", "/chat/conversations/{id}/", "/x/"]);
    }
}
