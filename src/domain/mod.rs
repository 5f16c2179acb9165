//! Values that parse, so invalid data cannot travel: once a `Title`, a `Limit` or a
//! `Role` exists, it is valid. The edges (REST, WebSocket, CLI) parse what arrives into
//! these types; the layers below take the types and never re-check.
//!
//! A leaf: nothing here imports another module of the crate. A failed parse is an
//! `Invalid` naming the request field, which `crate::error` turns into 400
//! `validation_error`.

mod conversation;
mod paging;
mod patterned;
pub mod pii;
mod role;
mod text;
pub mod topics;

pub use conversation::{ConversationKind, Description, MemberRole, MessageKind, SupportStatus, Visibility};
pub use paging::{Limit, Offset, Seq};
pub use patterned::{
    Email, HexColor, HttpUrl, InboxCursor, Label, Lines, MediaType, NonBlank, OneLine, Patterned, Phrase, SearchCursor,
    SignedEmail, SignedLabel, Slug, WebhookEvent,
};
pub use role::Role;
pub use text::{ClientId, ExternalId, Name, Title, TokenName};

/// Why a value did not parse, and which request field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Invalid {
            field,
            message: message.into(),
        }
    }
}
