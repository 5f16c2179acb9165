//! The `/api/` endpoints: poem-openapi structs, one file per resource. Thin: parse the
//! request, call `src/chat` or `src/auth`, map the result.

mod admin;
mod attachments;
mod auth;
mod conversations;
pub mod docs;
mod messages;
mod uploads;

use poem_openapi::{OpenApiService, Tags};
use uuid::Uuid;

use crate::error::{Error, Result};

#[derive(Tags)]
enum ApiTags {
    /// Login, logout, the current user and API tokens.
    Auth,
    /// Conversations and their participants.
    Conversations,
    /// Messages, history and receipts.
    Messages,
    /// Files attached to messages.
    Attachments,
    /// Tenant administration (role `admin`).
    Admin,
}

pub type Apis = (
    auth::AuthApi,
    conversations::ConversationsApi,
    messages::MessagesApi,
    attachments::AttachmentsApi,
    admin::AdminApi,
);

/// The OpenAPI service mounted at `/api`.
pub fn service(public_origin: &str) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            auth::AuthApi,
            conversations::ConversationsApi,
            messages::MessagesApi,
            attachments::AttachmentsApi,
            admin::AdminApi,
        ),
        "tenantchat",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Multi-tenant realtime chat. Authenticate with the session cookie from \
         `POST /api/auth/login/` (unsafe methods also need the `X-CSRFToken` header equal \
         to the `csrftoken` cookie) or with `Authorization: Bearer <token>`.",
    )
    .server(format!("{public_origin}/api"))
}

/// An id from the URL. Ids are opaque to clients; one that is not even a UUID names
/// nothing, so it answers 404 like any other unknown id.
fn path_id(raw: &str, what: &str) -> Result<Uuid> {
    raw.parse().map_err(|_| Error::not_found(what))
}
