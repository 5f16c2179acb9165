//! The shapes in which the chat domain hands out conversations and messages — the JSON
//! objects of API.md. They derive poem-openapi's `Object` here, next to the code that
//! fills them, rather than being copied field by field into twin types in `src/api`.

use poem_openapi::{Enum, Object};
use uuid::Uuid;

use crate::timestamp::Timestamp;

/// A member of a conversation (user fields, no secrets).
#[derive(Debug, Clone, Object)]
pub struct Participant {
    pub id: Uuid,
    pub name: String,
    pub email: String,
}

/// A file attached to a message.
#[derive(Debug, Clone, Object)]
pub struct Attachment {
    pub id: Uuid,
    pub filename: String,
    /// The type detected from the file's bytes.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Download URL (authenticated, participants only).
    pub url: String,
    pub uploaded_at: Timestamp,
}

/// Delivery state of a message: for the sender's own messages aggregated over all
/// recipients (the slowest one counts); for others' messages the caller's own state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum MessageStatus {
    Sent,
    Delivered,
    Read,
}

#[derive(Debug, Clone, Object)]
pub struct Message {
    pub id: Uuid,
    /// The conversation's id.
    pub conversation: Uuid,
    /// Position in the conversation: 1, 2, 3… without gaps.
    pub seq: i64,
    pub sender_id: Uuid,
    pub sender_name: String,
    pub sender_email: String,
    pub content: String,
    pub has_attachments: bool,
    pub attachments: Vec<Attachment>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub status: MessageStatus,
}

#[derive(Debug, Clone, Object)]
pub struct Conversation {
    pub id: Uuid,
    /// A group's title; for a 1-to-1 conversation the other participant's name.
    pub title: String,
    pub is_group: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_message: Option<Message>,
    /// Messages from others the caller has not read.
    pub unread_count: i64,
    pub is_archived: bool,
    pub is_muted: bool,
    pub participants: Vec<Participant>,
}
