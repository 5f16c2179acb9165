//! One error type for the whole crate, mapped once to the JSON error body of API.md:
//! `{"error": "<snake_case_code>", "message": "<human text>", ...extra}`.
//!
//! The domain (`src/chat`, `src/auth`) returns `Error`; handlers use `?`. Internal errors
//! are logged with their cause and answered with a bare 500 that leaks nothing.

use std::borrow::Cow;

use poem::{error::ResponseError, http::StatusCode, IntoResponse, Response};
use poem_openapi::Object;

use crate::domain::{Invalid, Role};

mod chain;
// How `Error` is documented in the OpenAPI document.
mod openapi;

pub use chain::chain;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The cause of an internal error, kept so the log can say why.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every machine-readable error code the API and the WebSocket answer with, named once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 400: a field's value was refused; the body names the `field`.
    ValidationError,
    /// 400: the request could not be read at all (malformed JSON, multipart, ...).
    InvalidRequest,
    /// 400: a participant id that is missing, malformed or the caller's own.
    InvalidParticipant,
    /// 400: a message containing one of the tenant's forbidden topics; the body names
    /// the `phrase`.
    ForbiddenTopic,
    NotAuthenticated,
    InvalidCredentials,
    /// 401: a widget sign-in whose signature is wrong, stale or already used.
    InvalidSignature,
    CsrfFailed,
    CrossSiteRequest,
    Forbidden,
    WritePermissionRequired,
    AdminPermissionRequired,
    NotAParticipant,
    /// 403: an act reserved to the conversation's owners and tenant admins.
    ConversationPermissionRequired,
    /// 403: editing or deleting a message that is not the caller's (and the caller is
    /// not a tenant admin), or a system message.
    MessagePermissionRequired,
    /// 403: the support desk (inbox, assigning, closing, canned replies) is for the
    /// tenant's agents and admins.
    AgentPermissionRequired,
    /// 403: the tenant's `edit_window_minutes` have passed since the message was sent.
    EditWindowClosed,
    OriginNotAllowed,
    NotFound,
    ParticipantNotFound,
    MethodNotAllowed,
    SlugTaken,
    EmailTaken,
    /// 409: an admin deactivating itself or dropping its own admin role.
    SelfLockout,
    /// 409: a user holding the most API tokens allowed asked for one more.
    TokenLimitReached,
    /// 409: a group's only owner giving up the role.
    LastOwner,
    /// 409: assigning a closed support conversation (reopen it first).
    SupportClosed,
    /// 409: reopening a support conversation whose requester has opened another since.
    SupportAlreadyOpen,
    /// 409: editing a deleted message.
    MessageDeleted,
    /// 409: adding an assistant bot to a server without `OPENAI_API_KEY`.
    AssistantUnavailable,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    /// 416: no byte of the requested `Range` is in the file.
    RangeNotSatisfiable,
    RateLimited,
    /// 503: the server is at capacity for this kind of work (password hashing).
    ServerBusy,
    /// A WebSocket frame that is not one of the client frames of API.md.
    InvalidFrame,
    InternalError,
    /// Any other status poem answers on its own.
    Error,
}

impl Code {
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::ValidationError => "validation_error",
            Code::InvalidRequest => "invalid_request",
            Code::InvalidParticipant => "invalid_participant",
            Code::ForbiddenTopic => "forbidden_topic",
            Code::NotAuthenticated => "not_authenticated",
            Code::InvalidCredentials => "invalid_credentials",
            Code::InvalidSignature => "invalid_signature",
            Code::CsrfFailed => "csrf_failed",
            Code::CrossSiteRequest => "cross_site_request",
            Code::Forbidden => "forbidden",
            Code::WritePermissionRequired => "write_permission_required",
            Code::AdminPermissionRequired => "admin_permission_required",
            Code::NotAParticipant => "not_a_participant",
            Code::ConversationPermissionRequired => "conversation_permission_required",
            Code::MessagePermissionRequired => "message_permission_required",
            Code::AgentPermissionRequired => "agent_permission_required",
            Code::EditWindowClosed => "edit_window_closed",
            Code::OriginNotAllowed => "origin_not_allowed",
            Code::NotFound => "not_found",
            Code::ParticipantNotFound => "participant_not_found",
            Code::MethodNotAllowed => "method_not_allowed",
            Code::SlugTaken => "slug_taken",
            Code::EmailTaken => "email_taken",
            Code::SelfLockout => "self_lockout",
            Code::TokenLimitReached => "token_limit_reached",
            Code::LastOwner => "last_owner",
            Code::SupportClosed => "support_closed",
            Code::SupportAlreadyOpen => "support_already_open",
            Code::MessageDeleted => "message_deleted",
            Code::AssistantUnavailable => "assistant_unavailable",
            Code::PayloadTooLarge => "payload_too_large",
            Code::RequestTimeout => "request_timeout",
            Code::UnsupportedMediaType => "unsupported_media_type",
            Code::RangeNotSatisfiable => "range_not_satisfiable",
            Code::RateLimited => "rate_limited",
            Code::ServerBusy => "server_busy",
            Code::InvalidFrame => "invalid_frame",
            Code::InternalError => "internal_error",
            Code::Error => "error",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400 `validation_error`, naming the offending field.
    #[error("{message}")]
    Validation { field: &'static str, message: String },
    /// 400 `forbidden_topic`: the message contains a phrase the tenant forbids (as the
    /// tenant's admin wrote it); nothing was stored.
    #[error("This message mentions a forbidden topic: \"{phrase}\".")]
    ForbiddenTopic { phrase: String },
    /// 400 with a specific code (e.g. `invalid_participant`).
    #[error("{message}")]
    BadRequest { code: Code, message: String },
    #[error("Authentication credentials were not provided or are invalid.")]
    NotAuthenticated,
    #[error("Invalid tenant, email or password.")]
    InvalidCredentials,
    /// A widget sign-in refused before any user was looked at; `reason` tells the host's
    /// developer what to fix (the caller already knows everything it names).
    #[error("Widget sign-in refused: {reason}.")]
    InvalidSignature { reason: &'static str },
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
    /// 403 with a specific code (e.g. `conversation_permission_required`).
    #[error("{message}")]
    Forbidden { code: Code, message: String },
    /// 404 with a specific code (`not_found`, `participant_not_found`).
    #[error("{message}")]
    NotFound { code: Code, message: String },
    /// 409 with a specific code (e.g. `email_taken`).
    #[error("{message}")]
    Conflict { code: Code, message: String },
    #[error("The request body is too large.")]
    PayloadTooLarge,
    /// 416 with `Content-Range: bytes */<size>`.
    #[error("No byte of the requested range is in the file, which has {size} bytes.")]
    RangeNotSatisfiable { size: u64 },
    #[error("Too many requests; retry after {retry_after} s.")]
    RateLimited { retry_after: u64 },
    /// 503: the server is at capacity for this kind of work (password hashing).
    #[error("The server is busy; retry after {retry_after} s.")]
    ServerBusy { retry_after: u64 },
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Anything else that should not have happened; `source` says why.
    #[error("{context}")]
    Internal {
        context: Cow<'static, str>,
        #[source]
        source: BoxError,
    },
}

impl From<Invalid> for Error {
    fn from(invalid: Invalid) -> Self {
        Error::Validation {
            field: invalid.field,
            message: invalid.message,
        }
    }
}

impl Error {
    /// Seconds a client should wait before trying again (`Retry-After`), for the
    /// answers that have one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after } | Error::ServerBusy { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// `rate_limited`, to retry after `wait` (in whole seconds, at least one).
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        Error::RateLimited {
            retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
        }
    }

    pub fn validation(field: &'static str, message: impl Into<String>) -> Self {
        Error::Validation {
            field,
            message: message.into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Error::NotFound {
            code: Code::NotFound,
            message: format!("{what} not found."),
        }
    }

    /// An internal error caused by `source` (an error, or a sentence when nothing
    /// failed but something impossible happened).
    pub fn internal(source: impl Into<BoxError>) -> Self {
        Error::Internal {
            context: Cow::Borrowed("internal error"),
            source: source.into(),
        }
    }

    /// The snake_case code of the JSON error body (and of WebSocket `error` frames).
    pub fn code(&self) -> Code {
        match self {
            Error::Validation { .. } => Code::ValidationError,
            Error::ForbiddenTopic { .. } => Code::ForbiddenTopic,
            Error::BadRequest { code, .. }
            | Error::Forbidden { code, .. }
            | Error::NotFound { code, .. }
            | Error::Conflict { code, .. } => *code,
            Error::NotAuthenticated => Code::NotAuthenticated,
            Error::InvalidCredentials => Code::InvalidCredentials,
            Error::InvalidSignature { .. } => Code::InvalidSignature,
            Error::CsrfFailed => Code::CsrfFailed,
            Error::CrossSite => Code::CrossSiteRequest,
            Error::WritePermissionRequired { .. } => Code::WritePermissionRequired,
            Error::AdminPermissionRequired { .. } => Code::AdminPermissionRequired,
            Error::NotAParticipant => Code::NotAParticipant,
            Error::PayloadTooLarge => Code::PayloadTooLarge,
            Error::RangeNotSatisfiable { .. } => Code::RangeNotSatisfiable,
            Error::RateLimited { .. } => Code::RateLimited,
            Error::ServerBusy { .. } => Code::ServerBusy,
            Error::Database(_) | Error::Internal { .. } => Code::InternalError,
        }
    }

    fn is_internal(&self) -> bool {
        matches!(self, Error::Database(_) | Error::Internal { .. })
    }

    /// What the client is told. This is where an error ends, so an internal one is
    /// logged here, once, with its chain of causes; the client learns nothing of it.
    pub fn answer(&self) -> ErrorBody {
        if self.is_internal() {
            tracing::error!(error = %Chain(self), "request failed");
            return ErrorBody::new(Code::InternalError, "Internal server error.".into());
        }
        let mut body = ErrorBody::new(self.code(), self.to_string());
        match self {
            Error::Validation { field, .. } => body.field = Some(field.to_string()),
            Error::ForbiddenTopic { phrase } => body.phrase = Some(phrase.clone()),
            Error::WritePermissionRequired { user_role } => {
                body.required_permission = Some("write".into());
                body.user_permission = Some(user_role.as_str().into());
            }
            Error::AdminPermissionRequired { user_role } => {
                body.required_permission = Some("admin".into());
                body.user_permission = Some(user_role.as_str().into());
            }
            Error::RateLimited { .. } | Error::ServerBusy { .. } => body.retry_after = self.retry_after(),
            _ => {}
        }
        body
    }
}

/// An error and its causes on one line: `context: cause: cause's cause`.
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(err) = cause {
            write!(f, ": {err}")?;
            cause = err.source();
        }
        Ok(())
    }
}

/// Maps database constraints to 4xx on any `Result` whose error becomes an `Error`.
pub trait ResultExt<T> {
    /// Maps a violation of the named database constraint to `map(..)`; any other error
    /// stays what it was. The database enforces uniqueness, the API still answers with
    /// the right 4xx.
    fn on_constraint(self, name: &str, map: impl FnOnce(&dyn sqlx::error::DatabaseError) -> Error) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn on_constraint(self, name: &str, map: impl FnOnce(&dyn sqlx::error::DatabaseError) -> Error) -> Result<T> {
        self.map_err(|err| match err.into() {
            Error::Database(sqlx::Error::Database(db)) if db.constraint() == Some(name) => map(&*db),
            other => other,
        })
    }
}

/// Says what was being done when something failed inside, for the log.
pub trait Context<T> {
    /// Any error becomes an internal one with `context` and the error as its cause;
    /// an `Error` that is already a 4xx stays what it is.
    fn context(self, context: &'static str) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> Context<T> for std::result::Result<T, E> {
    fn context(self, context: &'static str) -> Result<T> {
        self.map_err(|err| {
            let source: BoxError = Box::new(err);
            let source = match source.downcast::<Error>() {
                Ok(ours) if !ours.is_internal() => return *ours,
                Ok(ours) => ours as BoxError,
                Err(other) => other,
            };
            Error::Internal {
                context: Cow::Borrowed(context),
                source,
            }
        })
    }
}

impl ResponseError for Error {
    fn status(&self) -> StatusCode {
        match self {
            Error::Validation { .. } | Error::ForbiddenTopic { .. } | Error::BadRequest { .. } => {
                StatusCode::BAD_REQUEST
            }
            Error::NotAuthenticated | Error::InvalidCredentials | Error::InvalidSignature { .. } => {
                StatusCode::UNAUTHORIZED
            }
            Error::CsrfFailed
            | Error::CrossSite
            | Error::WritePermissionRequired { .. }
            | Error::AdminPermissionRequired { .. }
            | Error::NotAParticipant
            | Error::Forbidden { .. } => StatusCode::FORBIDDEN,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::ServerBusy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn as_response(&self) -> Response {
        let mut response = poem::web::Json(self.answer())
            .with_status(self.status())
            .into_response();
        let headers = response.headers_mut();
        if let Some(retry_after) = self.retry_after() {
            headers.insert(
                poem::http::header::RETRY_AFTER,
                poem::http::HeaderValue::from(retry_after),
            );
        }
        if let Error::RangeNotSatisfiable { size } = self {
            if let Ok(value) = poem::http::HeaderValue::try_from(format!("bytes */{size}")) {
                headers.insert(poem::http::header::CONTENT_RANGE, value);
            }
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
    /// The forbidden phrase the message contains, as the tenant's admin wrote it
    /// (`forbidden_topic`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phrase: Option<String>,
}

impl ErrorBody {
    pub fn new(code: Code, message: String) -> Self {
        ErrorBody {
            error: code.as_str().into(),
            message,
            field: None,
            required_permission: None,
            user_permission: None,
            retry_after: None,
            phrase: None,
        }
    }
}

/// The last line of defence: every error that leaves the app — ours, or poem's own
/// (a query parameter that does not parse, a wrong content type, an unknown route) —
/// answers with the JSON error body, never an HTML page or a bare text line.
pub async fn into_json_response(err: poem::Error) -> Response {
    if err.is::<Error>() {
        return err.into_response();
    }
    if let Some(param) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        // poem-openapi names the parameter; say which one, like any refused field.
        return Error::Validation {
            field: param.name,
            message: format!("{}: {}", param.name, param.reason),
        }
        .as_response();
    }
    let status = err.status();
    let code = match status {
        StatusCode::BAD_REQUEST => Code::InvalidRequest,
        StatusCode::UNAUTHORIZED => Code::NotAuthenticated,
        StatusCode::FORBIDDEN => Code::Forbidden,
        StatusCode::NOT_FOUND => Code::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => Code::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => Code::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Code::UnsupportedMediaType,
        s if s.is_server_error() => Code::InternalError,
        _ => Code::Error,
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

#[cfg(test)]
mod tests;
