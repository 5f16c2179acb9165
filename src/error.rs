//! One error type for the whole crate, mapped once to the JSON error body of API.md:
//! `{"error": "<snake_case_code>", "message": "<human text>", ...extra}`.
//!
//! The domain (`src/chat`, `src/auth`) returns `Error`; handlers use `?`. Internal errors
//! are logged with their cause and answered with a bare 500 that leaks nothing.

use poem::{error::ResponseError, http::StatusCode, IntoResponse, Response};
use poem_openapi::{
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    ApiResponse, Object,
};

use crate::auth::Role;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400 `validation_error`, naming the offending field.
    #[error("{message}")]
    Validation { field: &'static str, message: String },
    /// 400 with a specific code (e.g. `invalid_participant`).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("Authentication credentials were not provided or are invalid.")]
    NotAuthenticated,
    #[error("Invalid tenant, email or password.")]
    InvalidCredentials,
    #[error("CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header.")]
    CsrfFailed,
    #[error("Cross-site requests may not change anything here.")]
    CrossSite,
    #[error("This action needs the write role.")]
    WritePermissionRequired { user_role: Role },
    #[error("This action needs the admin role.")]
    AdminPermissionRequired { user_role: Role },
    #[error("You are not a participant of this conversation.")]
    NotAParticipant,
    /// 404 with a specific code (`not_found`, `participant_not_found`).
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    /// 409 with a specific code (e.g. `email_taken`).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("The request body is too large.")]
    PayloadTooLarge,
    #[error("Too many requests; retry after {retry_after} s.")]
    RateLimited { retry_after: u64 },
    /// 503: the server is at capacity for this kind of work (password hashing).
    #[error("The server is busy; retry after {retry_after} s.")]
    ServerBusy { retry_after: u64 },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn validation(field: &'static str, message: impl Into<String>) -> Self {
        Error::Validation {
            field,
            message: message.into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Error::NotFound {
            code: "not_found",
            message: format!("{what} not found."),
        }
    }

    pub fn internal(context: impl std::fmt::Display) -> Self {
        Error::Internal(context.to_string())
    }

    /// Maps a violation of the named database constraint to `mapped`; any other
    /// error stays what it was. Lets the database enforce uniqueness and the API still
    /// answer with the right 4xx.
    pub fn on_constraint(self, constraint: &str, mapped: impl FnOnce() -> Error) -> Error {
        match &self {
            Error::Database(err) if violates(err, constraint) => mapped(),
            _ => self,
        }
    }

    /// The snake_case code of the JSON error body (and of WebSocket `error` frames).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Validation { .. } => "validation_error",
            Error::BadRequest { code, .. } | Error::NotFound { code, .. } | Error::Conflict { code, .. } => code,
            Error::NotAuthenticated => "not_authenticated",
            Error::InvalidCredentials => "invalid_credentials",
            Error::CsrfFailed => "csrf_failed",
            Error::CrossSite => "cross_site_request",
            Error::WritePermissionRequired { .. } => "write_permission_required",
            Error::AdminPermissionRequired { .. } => "admin_permission_required",
            Error::NotAParticipant => "not_a_participant",
            Error::PayloadTooLarge => "payload_too_large",
            Error::RateLimited { .. } => "rate_limited",
            Error::ServerBusy { .. } => "server_busy",
            Error::Database(_) | Error::Internal(_) => "internal_error",
        }
    }

    fn body(&self) -> ErrorBody {
        let mut body = ErrorBody::new(self.code(), self.to_string());
        match self {
            Error::Validation { field, .. } => body.field = Some(field.to_string()),
            Error::WritePermissionRequired { user_role } => {
                body.required_permission = Some("write".into());
                body.user_permission = Some(user_role.as_str().into());
            }
            Error::AdminPermissionRequired { user_role } => {
                body.required_permission = Some("admin".into());
                body.user_permission = Some(user_role.as_str().into());
            }
            Error::RateLimited { retry_after } | Error::ServerBusy { retry_after } => {
                body.retry_after = Some(*retry_after)
            }
            Error::Database(_) | Error::Internal(_) => {
                body.message = "Internal server error.".into();
            }
            _ => {}
        }
        body
    }
}

impl ResponseError for Error {
    fn status(&self) -> StatusCode {
        match self {
            Error::Validation { .. } | Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Error::NotAuthenticated | Error::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Error::CsrfFailed
            | Error::CrossSite
            | Error::WritePermissionRequired { .. }
            | Error::AdminPermissionRequired { .. }
            | Error::NotAParticipant => StatusCode::FORBIDDEN,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::ServerBusy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn as_response(&self) -> Response {
        if matches!(self, Error::Database(_) | Error::Internal(_)) {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = poem::web::Json(self.body()).with_status(self.status()).into_response();
        if let Error::RateLimited { retry_after } | Error::ServerBusy { retry_after } = self {
            response
                .headers_mut()
                .insert("Retry-After", retry_after.to_string().parse().unwrap());
        }
        response
    }
}

/// True when `err` is a violation of the named database constraint.
pub fn violates(err: &sqlx::Error, constraint: &str) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.constraint() == Some(constraint))
}

/// The error body every endpoint answers with.
#[derive(Debug, Object, serde::Serialize)]
#[oai(skip_serializing_if_is_none)]
pub struct ErrorBody {
    /// Machine-readable error code, e.g. `validation_error`.
    pub error: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request field at fault (validation errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The role the action needs (permission errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_permission: Option<String>,
    /// The caller's role (permission errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_permission: Option<String>,
    /// Seconds to wait before retrying (429, 503).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl ErrorBody {
    fn new(code: &str, message: String) -> Self {
        ErrorBody {
            error: code.into(),
            message,
            field: None,
            required_permission: None,
            user_permission: None,
            retry_after: None,
        }
    }
}

/// Documents the error responses in the OpenAPI schema, so `Result<T, Error>` is a
/// complete description of an operation.
impl ApiResponse for Error {
    fn meta() -> MetaResponses {
        let described = [
            (400, "Invalid input (`validation_error`, `invalid_participant`, ...)"),
            (401, "Not authenticated (`not_authenticated`, `invalid_credentials`)"),
            (
                403,
                "Forbidden (`csrf_failed`, `write_permission_required`, `not_a_participant`, ...)",
            ),
            (404, "Unknown id, or an id of another tenant (`not_found`, ...)"),
            (413, "Request body too large"),
            (429, "Rate limited (`rate_limited`, see `Retry-After`)"),
            (503, "Busy (`server_busy`, see `Retry-After`)"),
        ];
        MetaResponses {
            responses: described
                .into_iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: <ErrorBody as poem_openapi::types::Type>::schema_ref(),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        <ErrorBody as poem_openapi::types::Type>::register(registry);
    }
}

/// The last line of defence: every error that leaves the app — ours, or poem's own
/// (unparseable JSON, a wrong content type, an unknown route) — answers with the JSON
/// error body, never an HTML page or a bare text line.
pub async fn into_json_response(err: poem::Error) -> Response {
    if err.is::<Error>() {
        return err.into_response();
    }
    let status = err.status();
    let code = match status {
        StatusCode::BAD_REQUEST => "invalid_request",
        StatusCode::UNAUTHORIZED => "not_authenticated",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal_error",
        _ => "error",
    };
    let message = if status.is_server_error() {
        tracing::error!(error = %err, "request failed");
        "Internal server error.".to_string()
    } else if status == StatusCode::UNAUTHORIZED {
        Error::NotAuthenticated.to_string()
    } else {
        err.to_string()
    };
    poem::web::Json(ErrorBody::new(code, message))
        .with_status(status)
        .into_response()
}
