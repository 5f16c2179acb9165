//! The shapes in which the chat domain hands out conversations and messages — the JSON
//! objects of API.md. They derive poem-openapi's `Object` here, next to the code that
//! fills them, rather than being copied field by field into twin types in `src/api`.
//! They also derive `serde::Serialize` for the WebSocket events; a test below keeps the
//! two encodings identical.

use std::{borrow::Cow, collections::BTreeMap};

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
    Enum, Object, Union,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    domain::{ConversationKind, MemberRole, MessageKind, Visibility},
    timestamp::Timestamp,
};

/// A member of a conversation (user fields, no secrets).
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct Participant {
    pub id: Uuid,
    pub name: String,
    pub email: String,
}

/// A member with its role and receipts: how far it has got in the conversation, for
/// "seen by".
#[derive(Debug, Clone, Object, serde::Serialize, sqlx::FromRow)]
pub struct Member {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: MemberRole,
    pub joined_at: Timestamp,
    /// Every message with this seq or less reached the member.
    pub last_delivered_seq: i64,
    /// Every message with this seq or less was read by the member.
    pub last_read_seq: i64,
}

/// A file attached to a message.
#[derive(Debug, Clone, Object, serde::Serialize)]
#[oai(skip_serializing_if_is_none)]
pub struct AttachmentFile {
    pub id: Uuid,
    /// The original name (sanitized).
    pub filename: String,
    /// The type detected from the file's bytes.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Download URL (authenticated, participants only).
    pub url: String,
    pub uploaded_at: Timestamp,
    /// Images: width in pixels, so clients can reserve space.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<i32>,
    /// Images: height in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<i32>,
    /// JPEG, PNG and WebP images: a thumbnail of at most 320 pixels a side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
}

/// What remains of an attachment an admin removed.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct DeletedAttachment {
    pub id: Uuid,
    pub filename: String,
    /// Always true.
    pub deleted: bool,
}

/// An attachment, or the tombstone of a removed one.
#[derive(Debug, Clone, Union, serde::Serialize)]
#[oai(one_of)]
#[serde(untagged)]
pub enum Attachment {
    File(AttachmentFile),
    Deleted(DeletedAttachment),
}

/// Delivery state of a message: for the sender's own messages aggregated over all
/// recipients (the slowest one counts); for others' messages the caller's own state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Sent,
    Delivered,
    Read,
}

#[derive(Debug, Clone, Object, serde::Serialize)]
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
    pub kind: MessageKind,
    /// A JSON object. System messages carry `{"event": "member_added" | …, "by": <user id>, …}`
    /// for clients to word in their own language.
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// The message this one answers, quoted above it.
    #[oai(nullable)]
    pub reply_to: Option<ReplyTo>,
    /// The users the message mentions.
    pub mentions: Vec<Uuid>,
    /// Its reactions, one per emoji, in the order they were first used.
    pub reactions: Vec<Reaction>,
    /// Whether the content was changed after sending.
    pub is_edited: bool,
    /// When the content was last changed.
    #[oai(nullable)]
    pub edited_at: Option<Timestamp>,
    /// A deleted message keeps its place (`seq`) with empty `content` and no attachments.
    pub deleted: bool,
}

/// One emoji on a message: how many users reacted with it, and whether the caller did.
#[derive(Debug, Clone, PartialEq, Eq, Object, serde::Serialize, sqlx::FromRow)]
pub struct Reaction {
    pub emoji: String,
    pub count: i64,
    pub me: bool,
}

/// An earlier version of a message, for compliance reads: the content an edit (or the
/// deletion) replaced, who replaced it and when.
#[derive(Debug, Clone, Object)]
pub struct MessageEdit {
    pub previous_content: String,
    pub edited_by: Uuid,
    pub edited_by_name: String,
    pub edited_at: Timestamp,
}

/// The message a reply answers, as the reply quotes it.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct ReplyTo {
    pub id: Uuid,
    pub seq: i64,
    pub sender_name: String,
    /// The start of its content (at most 100 characters, `…` when cut); empty once it
    /// is deleted.
    pub excerpt: String,
    /// The quoted message was deleted.
    pub deleted: bool,
}

#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct Conversation {
    pub id: Uuid,
    /// A group's title; for a 1-to-1 conversation the other participant's name.
    pub title: String,
    pub is_group: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[oai(nullable)]
    pub last_message: Option<Message>,
    /// Messages from others the caller has not read.
    pub unread_count: i64,
    /// Of those, the ones that mention the caller.
    pub mention_count: i64,
    pub is_archived: bool,
    pub is_muted: bool,
    pub participants: Vec<Participant>,
    pub kind: ConversationKind,
    /// What a group is about (at most 500 characters); empty for a 1-to-1.
    pub description: String,
    pub visibility: Visibility,
    /// The user who created the conversation.
    pub created_by: Uuid,
    pub my_role: MyRole,
    pub member_count: i64,
}

/// The caller's role in a conversation: `owner`, `member`, or null when the caller views
/// a tenant-visible conversation it has not joined. In the document an inline nullable
/// enum: generated clients cannot read a nullable reference to an enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct MyRole(pub Option<MemberRole>);

const ROLES: [MemberRole; 2] = [MemberRole::Owner, MemberRole::Member];

impl Type for MyRole {
    const IS_REQUIRED: bool = false;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_member_role_or_null".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some(
                "The caller's role; null when the caller views a tenant-visible conversation it has not joined.",
            ),
            enum_items: ROLES.iter().map(|role| Value::from(role.as_str())).collect(),
            nullable: true,
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl ToJSON for MyRole {
    fn to_json(&self) -> Option<Value> {
        Some(self.0.map_or(Value::Null, |role| Value::from(role.as_str())))
    }
}

impl ParseFromJSON for MyRole {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            None | Some(Value::Null) => Ok(MyRole(None)),
            Some(Value::String(word)) => MemberRole::parse(&word)
                .map(|role| MyRole(Some(role)))
                .map_err(|invalid| ParseError::custom(invalid.message)),
            Some(other) => Err(ParseError::expected_type(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;

    use super::*;

    #[test]
    fn the_rest_and_websocket_encodings_agree() {
        let now = Timestamp(chrono::Utc::now());
        let message = Message {
            id: Uuid::new_v4(),
            conversation: Uuid::new_v4(),
            seq: 7,
            sender_id: Uuid::new_v4(),
            sender_name: "Ana".into(),
            sender_email: "ana@acme.test".into(),
            content: "hi".into(),
            has_attachments: true,
            attachments: vec![
                Attachment::File(AttachmentFile {
                    id: Uuid::new_v4(),
                    filename: "a.png".into(),
                    content_type: "image/png".into(),
                    size: 3,
                    url: "/api/chat/attachments/x/".into(),
                    uploaded_at: now,
                    width: Some(2),
                    height: None,
                    thumbnail_url: None,
                }),
                Attachment::Deleted(DeletedAttachment {
                    id: Uuid::new_v4(),
                    filename: "b.pdf".into(),
                    deleted: true,
                }),
            ],
            created_at: now,
            updated_at: now,
            status: MessageStatus::Delivered,
            kind: MessageKind::System,
            metadata: BTreeMap::from([("event".to_string(), serde_json::json!("member_added"))]),
            reply_to: Some(ReplyTo {
                id: Uuid::new_v4(),
                seq: 3,
                sender_name: "Bruno".into(),
                excerpt: "hello".into(),
                deleted: false,
            }),
            mentions: vec![Uuid::new_v4()],
            reactions: vec![Reaction {
                emoji: "👍".into(),
                count: 2,
                me: true,
            }],
            is_edited: true,
            edited_at: Some(now),
            deleted: false,
        };
        let conversation = Conversation {
            id: Uuid::new_v4(),
            title: "T".into(),
            is_group: true,
            created_at: now,
            updated_at: now,
            last_message: None,
            unread_count: 2,
            mention_count: 1,
            is_archived: false,
            is_muted: true,
            participants: vec![Participant {
                id: Uuid::new_v4(),
                name: "Ana".into(),
                email: "ana@acme.test".into(),
            }],
            kind: ConversationKind::Group,
            description: String::new(),
            visibility: Visibility::Tenant,
            created_by: Uuid::new_v4(),
            my_role: MyRole(None),
            member_count: 1,
        };
        assert_eq!(message.to_json(), Some(serde_json::to_value(&message).unwrap()));
        assert_eq!(
            conversation.to_json(),
            Some(serde_json::to_value(&conversation).unwrap())
        );
        let with_last = Conversation {
            last_message: Some(message),
            ..conversation
        };
        assert_eq!(with_last.to_json(), Some(serde_json::to_value(&with_last).unwrap()));
    }
}
