//! Read-only access to any conversation of the tenant, for compliance. Every read is
//! written to the audit log; reading marks nothing delivered or read.

use poem_openapi::Object;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::Admin;
use crate::{
    audit::Entry,
    chat::{
        edits,
        history::{self, HistoryQuery},
        views::{Message, MessageEdit},
    },
    error::Result,
    timestamp::Timestamp,
};

/// A conversation as the compliance view lists it.
#[derive(Debug, Object, sqlx::FromRow)]
pub struct AdminConversation {
    pub id: Uuid,
    #[oai(nullable)]
    pub title: Option<String>,
    pub is_group: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub message_count: i64,
    /// Names of the participants.
    pub participant_names: Vec<String>,
}

/// A message as the compliance view reads it: as it is now, and what it said before.
#[derive(Debug, Object)]
pub struct ComplianceMessage {
    #[oai(flatten)]
    pub message: Message,
    /// Earlier versions, oldest first: the content each edit replaced, and a deleted
    /// message's last content.
    pub edits: Vec<MessageEdit>,
}

pub async fn conversations(pool: &PgPool, admin: &Admin, limit: i64, offset: i64) -> Result<Vec<AdminConversation>> {
    let list = sqlx::query_as(
        "SELECT c.id, c.title, c.is_group, c.created_at, c.updated_at, c.last_seq AS message_count,
                ARRAY(SELECT u.name FROM participants p JOIN users u ON u.id = p.user_id
                      WHERE p.conversation_id = c.id ORDER BY u.name) AS participant_names
         FROM conversations c WHERE c.tenant_id = $1
         ORDER BY c.updated_at DESC, c.id LIMIT $2 OFFSET $3",
    )
    .bind(admin.actor().tenant_id())
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    admin
        .audit_page_read(pool, "conversation.list", "conversation", limit, offset)
        .await?;
    Ok(list)
}

pub async fn messages(
    pool: &PgPool,
    admin: &Admin,
    conversation_id: Uuid,
    query: HistoryQuery,
) -> Result<Vec<ComplianceMessage>> {
    let details = json!({"after_seq": query.after_seq, "before_seq": query.before_seq, "limit": query.limit});
    let history = history::history_for_compliance(pool, admin.actor(), conversation_id, query).await?;
    let ids: Vec<Uuid> = history.iter().map(|m| m.id).collect();
    let mut versions = edits::versions(pool, admin.actor(), &ids).await?;
    admin
        .audit_read(
            pool,
            Entry {
                action: "conversation.read",
                resource_type: "conversation",
                resource_id: Some(conversation_id.to_string()),
                details,
            },
        )
        .await?;
    Ok(history
        .into_iter()
        .map(|message| ComplianceMessage {
            edits: versions.remove(&message.id).unwrap_or_default(),
            message,
        })
        .collect())
}
