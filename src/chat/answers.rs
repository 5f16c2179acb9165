//! A bot's answer written as it streams in (the assistant, docs/integrations.md): the
//! conversation's recent messages it answers from, the one message it creates at the
//! first words and then rewrites as more arrive, and the system message that says why
//! there is no answer. Streaming rewrites are not edits by a person: they keep no
//! earlier versions and set no `edited_at`; the message carries `metadata.streaming:
//! true` until its last rewrite drops it. Every rewrite is sealed like any message text
//! and announced as `message_updated`.

use serde_json::json;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::{
    access,
    changes::{Announcement, SystemEvent},
    content::{MessageContent, Metadata},
    membership,
    messages::{announce_update, send, NewMessage, Sent},
    safety::RulesCache,
    sealed::{search_vector, Record, StoredText},
};
use crate::{
    auth::Actor,
    domain::ClientId,
    error::{Error, Result},
    hooks::outbox::Doorbell,
    realtime::Realtime,
};

/// One earlier message, as the answer's context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Sent by the answering bot itself.
    pub own: bool,
    pub sender_name: String,
    pub text: String,
}

/// Up to `limit` messages of the conversation up to `seq` (the question), oldest first,
/// at most `max_chars` of text in all (the newest kept first): people's and bots' text,
/// no system messages, deleted messages or answers still streaming. The bot must still
/// be a participant.
pub async fn recent(
    pool: &PgPool,
    bot: &Actor,
    conversation_id: Uuid,
    seq: i64,
    limit: i64,
    max_chars: usize,
) -> Result<Vec<Line>> {
    let mut conn = pool.acquire().await?;
    membership(&mut conn, bot, conversation_id, false).await?;
    let rows = sqlx::query(
        "SELECT m.id, m.sender_id, u.name, m.content, m.content_key_id, m.content_sealed
         FROM messages m JOIN users u ON u.id = m.sender_id AND u.tenant_id = m.tenant_id
         WHERE m.conversation_id = $1 AND m.tenant_id = $2 AND m.seq <= $3 AND NOT m.deleted
           AND m.kind <> 'system' AND m.metadata->'streaming' IS DISTINCT FROM 'true'::jsonb
         ORDER BY m.seq DESC LIMIT $4",
    )
    .bind(conversation_id)
    .bind(bot.tenant_id())
    .bind(seq)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    let mut budget = max_chars;
    for row in rows {
        let id: Uuid = row.try_get("id")?;
        let stored = StoredText {
            content: row.try_get("content")?,
            content_key_id: row.try_get("content_key_id")?,
            content_sealed: row.try_get("content_sealed")?,
        };
        let text = stored.reveal(Record::Message, bot.tenant_id(), id)?;
        let chars = text.chars().count();
        if text.trim().is_empty() {
            continue; // attachments only: nothing to read
        }
        if chars > budget && !lines.is_empty() {
            break;
        }
        budget = budget.saturating_sub(chars);
        let sender: Uuid = row.try_get("sender_id")?;
        lines.push(Line {
            own: sender == bot.user_id(),
            sender_name: row.try_get("name")?,
            text,
        });
    }
    lines.reverse();
    Ok(lines)
}

/// Where an answer written under `client_id` stands: its message and whether it is
/// still streaming, or `None` if no attempt got as far as its first words.
pub async fn existing(
    pool: &PgPool,
    bot: &Actor,
    conversation_id: Uuid,
    client_id: &ClientId,
) -> Result<Option<(Uuid, bool)>> {
    let row: Option<(Uuid, bool)> = sqlx::query_as(
        "SELECT id, metadata->'streaming' IS NOT DISTINCT FROM 'true'::jsonb FROM messages
         WHERE conversation_id = $1 AND sender_id = $2 AND client_id = $3 AND tenant_id = $4 AND NOT deleted",
    )
    .bind(conversation_id)
    .bind(bot.user_id())
    .bind(client_id.as_str())
    .bind(bot.tenant_id())
    .fetch_optional(pool)
    .await?;
    Ok(row)
}

/// Sends the answer's first words as the bot's message, marked as streaming (a retry
/// under the same `client_id` finds the message sent before). Returns its id.
#[allow(clippy::too_many_arguments)] // what a send needs (`messages::send`), then who, where and what
pub async fn begin(
    pool: &PgPool,
    realtime: &std::sync::Arc<Realtime>,
    rules: &RulesCache,
    doorbell: &Doorbell,
    bot: &Actor,
    conversation_id: Uuid,
    client_id: ClientId,
    text: &str,
) -> Result<Uuid> {
    let metadata: Metadata = [("streaming".to_string(), json!(true))].into_iter().collect();
    let new = NewMessage {
        content: text,
        client_id: Some(client_id),
        metadata: Some(metadata),
        ..NewMessage::default()
    };
    match send(pool, realtime, rules, doorbell, bot, conversation_id, new).await? {
        Sent::Created(message) | Sent::Existing(message) => Ok(message.id),
    }
}

/// Rewrites the answer with the text so far (`done`: the whole of it, which ends the
/// streaming), checked by the tenant's content rules like any message, and announces
/// it. `false` when the message is gone (deleted meanwhile): the answer stops there.
#[allow(clippy::too_many_arguments)] // who, where, which message, what, and whether it ends
pub async fn rewrite(
    pool: &PgPool,
    realtime: &Realtime,
    rules: &RulesCache,
    bot: &Actor,
    conversation_id: Uuid,
    message_id: Uuid,
    text: &str,
    done: bool,
) -> Result<bool> {
    let checked = rules
        .current(pool, bot.tenant_id())
        .await?
        .check(MessageContent::parse(text)?)?;
    if checked.content.is_empty() {
        return Err(Error::validation("content", "an answer needs content"));
    }
    let stored = StoredText::seal(Record::Message, bot.tenant_id(), message_id, checked.content.as_str());
    let updated = sqlx::query(concat!(
        "UPDATE messages SET content = $3, pii = $4, content_key_id = $5, content_sealed = $6, search = ",
        search_vector!("$2", "$7"),
        ", metadata = CASE WHEN $8 THEN metadata - 'streaming' ELSE metadata END, updated_at = now()
         WHERE id = $1 AND tenant_id = $2 AND conversation_id = $9 AND sender_id = $10 AND NOT deleted"
    ))
    .bind(message_id)
    .bind(bot.tenant_id())
    .bind(&stored.content)
    .bind(checked.pii.as_ref().map(sqlx::types::Json))
    .bind(&stored.content_key_id)
    .bind(&stored.content_sealed)
    .bind(checked.content.as_str())
    .bind(done)
    .bind(conversation_id)
    .bind(bot.user_id())
    .execute(pool)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(false);
    }
    announce_update(pool, realtime, bot, conversation_id, message_id).await?;
    Ok(true)
}

/// Why an assistant did not answer, as the system message's `metadata.reason` says it
/// (clients word it in their language).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// No answer within the time allowed.
    Timeout,
    /// The API answered with an error, or could not be reached.
    Error,
    /// The API's answer could not be read.
    InvalidResponse,
    /// The server has no API key (any more).
    Unavailable,
    /// The answer broke the tenant's content rules.
    Refused,
}

impl FailureReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Timeout => "timeout",
            FailureReason::Error => "error",
            FailureReason::InvalidResponse => "invalid_response",
            FailureReason::Unavailable => "unavailable",
            FailureReason::Refused => "refused",
        }
    }
}

/// Posts the system message (from the bot) that it could not answer, and announces it.
pub async fn failed(
    pool: &PgPool,
    realtime: &Realtime,
    bot: &Actor,
    conversation_id: Uuid,
    reason: FailureReason,
) -> Result<()> {
    let mut conn = pool.acquire().await?;
    let shared = access(&mut conn, bot, conversation_id, false).await?.is_shared();
    drop(conn);
    let mut announcement = Announcement::new(conversation_id, shared);
    let mut tx = pool.begin().await?;
    let event = SystemEvent::AssistantFailed {
        reason: reason.as_str(),
    };
    announcement.post(&mut tx, bot, event).await?;
    tx.commit().await?;
    announcement.publish(pool, realtime, bot).await
}
