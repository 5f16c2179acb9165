//! The `/api/` endpoints: poem-openapi structs, one file per resource. Thin: parse the
//! request, call `src/chat` or `src/auth`, map the result.

mod admin;
pub mod allow;
mod attachments;
mod auth;
mod body;
mod conversations;
pub mod denied;
pub mod docs;
mod files;
mod integrations;
mod members;
mod mentions;
mod messages;
mod search;
mod support;
mod uploads;

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
    ApiResponse, OpenApiService, Tags,
};
use serde_json::Value;
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
    /// The support desk: support conversations, the agents' inbox, canned replies.
    Support,
    /// Tenant administration (role `admin`).
    Admin,
}

pub type Apis = (
    auth::AuthApi,
    conversations::ConversationsApi,
    members::MembersApi,
    messages::MessagesApi,
    mentions::MentionsApi,
    search::SearchApi,
    support::SupportApi,
    attachments::AttachmentsApi,
    admin::AdminApi,
    integrations::IntegrationsApi,
);

/// The OpenAPI service mounted at `/api`.
pub fn service(public_origin: &str) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            auth::AuthApi,
            conversations::ConversationsApi,
            members::MembersApi,
            messages::MessagesApi,
            mentions::MentionsApi,
            search::SearchApi,
            support::SupportApi,
            attachments::AttachmentsApi,
            admin::AdminApi,
            integrations::IntegrationsApi,
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

/// An answer without a body.
#[derive(ApiResponse)]
enum Done {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}

/// An id as a client sends it: declared `format: uuid`. Ids are opaque to clients; one
/// that is not even a UUID names nothing, so in a URL it answers 404 like any other
/// unknown id, and in a body it is refused by the domain with that field's own code.
#[derive(Debug, Clone)]
pub struct IdText(String);

impl IdText {
    /// The id in a URL path: 404 naming `what` unless it is a UUID.
    fn in_path(&self, what: &str) -> Result<Uuid> {
        self.0.parse().map_err(|_| Error::not_found(what))
    }

    fn as_str(&self) -> &str {
        &self.0
    }
}

impl Type for IdText {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        "string_uuid".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "uuid")))
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl ParseFromParameter for IdText {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(IdText(value.to_string()))
    }
}

impl ToJSON for IdText {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

/// In a body only a JSON string can be an id (checked by `body::JsonBody` first).
impl ParseFromJSON for IdText {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(text)) => Ok(IdText(text)),
            other => Err(poem_openapi::types::ParseError::expected_type(
                other.unwrap_or_default(),
            )),
        }
    }
}
