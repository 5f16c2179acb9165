//! `Error` in the OpenAPI document: every status an operation returning
//! `Result<T, Error>` can answer with, and the error body's schema.

use poem_openapi::{
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    ApiResponse,
};

use super::{Error, ErrorBody};

/// Documents the error responses in the OpenAPI schema, so `Result<T, Error>` is a
/// complete description of an operation: every status the error mapping of `super` can
/// answer an API request with.
impl ApiResponse for Error {
    fn meta() -> MetaResponses {
        let described = [
            (
                400,
                "Invalid input (`validation_error` with `field`, `invalid_participant`, `invalid_request`, `forbidden_topic` with `phrase`)",
            ),
            (
                401,
                "Not authenticated (`not_authenticated`, `invalid_credentials`, `invalid_signature`)",
            ),
            (
                403,
                "Forbidden (`csrf_failed`, `cross_site_request`, `write_permission_required`, \
                 `admin_permission_required`, `not_a_participant`, `conversation_permission_required`, \
                 `message_permission_required`, `edit_window_closed`, `agent_permission_required`)",
            ),
            (
                404,
                "Unknown id, or an id of another tenant (`not_found`, `participant_not_found`)",
            ),
            (
                409,
                "Conflicts with the current state (`email_taken`, `slug_taken`, `self_lockout`, \
                 `token_limit_reached`, `last_owner`, `message_deleted`, `support_closed`, \
                 `support_already_open`, `assistant_unavailable`)",
            ),
            (408, "The request body stopped arriving (`request_timeout`)"),
            (413, "Request body too large (`payload_too_large`)"),
            (
                415,
                "The body's `Content-Type` is not one this operation reads (`unsupported_media_type`)",
            ),
            (
                429,
                "Rate limited (`rate_limited`, see `retry_after` and `Retry-After`)",
            ),
            (
                503,
                "Busy (`server_busy`, see `retry_after` and `Retry-After`); only where passwords are hashed",
            ),
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
