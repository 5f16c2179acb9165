//! The rows every message query reads, and how they become the `Message` of API.md:
//! with its attachments, the message it quotes, its mentions and its edit and delete
//! state. Writing messages is `messages.rs`; reading history, `history.rs`.

use sqlx::{types::Json, PgConnection};
use uuid::Uuid;

use super::{
    attachments,
    content::Metadata,
    membership, reactions,
    receipts::{self, StatusContext, Watermarks},
    sealed::{Record, StoredText},
    views::{Attachment, Message, Reaction, ReplyTo},
};
use crate::{
    auth::Actor,
    domain::MessageKind,
    error::{Error, Result},
    timestamp::Timestamp,
};

/// The columns of a `QuotedRow`: the quoted message `r` and its sender `ru`, joined by
/// `quoted_join!`.
macro_rules! quoted_columns {
    () => {
        "r.id AS reply_id, r.seq AS reply_seq, ru.name AS reply_sender_name,
         left(r.content, 101) AS reply_excerpt, r.content_key_id AS reply_key_id,
         r.content_sealed AS reply_sealed, r.deleted AS reply_deleted"
    };
}

/// Joins the message `$reply` (an SQL expression) names as `r`, and its sender as `ru`.
///
/// Senders are joined by their primary key alone, here and in `MESSAGE_SELECT`: the
/// foreign key of `messages (tenant_id, sender_id)` already keeps them in the message's
/// tenant. With a tenant condition on the join as well, a generic plan made while the
/// tables had no statistics yet read every user of the tenant for each message: `SEND`
/// did so on every send, a history page once per message (docs/performance.md, "Issue
/// 10, eighth pass").
macro_rules! quoted_join {
    ($reply:literal, $tenant:literal) => {
        concat!(
            " LEFT JOIN messages r ON r.id = ",
            $reply,
            " AND r.tenant_id = ",
            $tenant,
            " LEFT JOIN users ru ON ru.id = r.sender_id"
        )
    };
}
pub(super) use {quoted_columns, quoted_join};

/// Columns and joins that make a `MessageRow`; every message query selects these.
pub(super) const MESSAGE_SELECT: &str = concat!(
    "SELECT m.id, m.conversation_id, m.seq, m.sender_id,
        u.name AS sender_name, u.email AS sender_email, m.content, m.content_key_id, m.content_sealed, m.created_at, m.updated_at, m.kind, m.metadata,
        m.edited_at, m.deleted, ",
    quoted_columns!(),
    ", ARRAY(SELECT n.user_id FROM mentions n WHERE n.message_id = m.id ORDER BY n.user_id) AS mentions
    FROM messages m JOIN users u ON u.id = m.sender_id",
    quoted_join!("m.reply_to", "m.tenant_id"),
);

/// Characters of the quoted message a reply shows.
const EXCERPT_CHARS: usize = 100;

/// The message a reply quotes, as `QUOTED_COLUMNS` read it (all null without one).
#[derive(Debug, Default, sqlx::FromRow)]
pub(super) struct QuotedRow {
    reply_id: Option<Uuid>,
    reply_seq: Option<i64>,
    reply_sender_name: Option<String>,
    /// At most one character more than the excerpt shows, to tell whether it was cut
    /// (empty when the text is sealed: then the whole text is in `reply_sealed`).
    reply_excerpt: Option<String>,
    reply_key_id: Option<String>,
    reply_sealed: Option<Vec<u8>>,
    reply_deleted: Option<bool>,
}

impl QuotedRow {
    fn into_view(self, tenant_id: Uuid) -> Result<Option<ReplyTo>> {
        let Some(id) = self.reply_id else {
            return Ok(None);
        };
        let stored = StoredText {
            content: self.reply_excerpt.unwrap_or_default(),
            content_key_id: self.reply_key_id,
            content_sealed: self.reply_sealed,
        };
        let text = stored.reveal(Record::Message, tenant_id, id)?;
        let mut excerpt: String = text.chars().take(EXCERPT_CHARS).collect();
        if excerpt.len() < text.len() {
            excerpt.push('…');
        }
        Ok(Some(ReplyTo {
            id,
            seq: self.reply_seq.unwrap_or_default(),
            sender_name: self.reply_sender_name.unwrap_or_default(),
            excerpt,
            deleted: self.reply_deleted.unwrap_or_default(),
        }))
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct MessageRow {
    pub(super) id: Uuid,
    pub(super) conversation_id: Uuid,
    pub(super) seq: i64,
    pub(super) sender_id: Uuid,
    pub(super) sender_name: String,
    pub(super) sender_email: String,
    #[sqlx(flatten)]
    pub(super) text: StoredText,
    pub(super) created_at: Timestamp,
    pub(super) updated_at: Timestamp,
    pub(super) kind: MessageKind,
    pub(super) metadata: Json<Metadata>,
    pub(super) edited_at: Option<Timestamp>,
    pub(super) deleted: bool,
    #[sqlx(flatten)]
    pub(super) quoted: QuotedRow,
    pub(super) mentions: Vec<Uuid>,
}

impl MessageRow {
    pub(crate) fn conversation_id(&self) -> Uuid {
        self.conversation_id
    }

    /// The message of tenant `tenant_id` with its `attachments` and `reactions`, its
    /// text and its quote's decrypted.
    pub(crate) fn into_view(
        self,
        tenant_id: Uuid,
        ctx: &StatusContext,
        attachments: Vec<Attachment>,
        reactions: Vec<Reaction>,
    ) -> Result<Message> {
        // A tombstone shows no files, not even the tombstones of removed ones.
        let attachments = if self.deleted { Vec::new() } else { attachments };
        Ok(Message {
            status: ctx.status(self.seq, self.sender_id),
            id: self.id,
            conversation: self.conversation_id,
            seq: self.seq,
            sender_id: self.sender_id,
            sender_name: self.sender_name,
            sender_email: self.sender_email,
            content: self.text.reveal(Record::Message, tenant_id, self.id)?,
            has_attachments: !attachments.is_empty(),
            attachments,
            created_at: self.created_at,
            updated_at: self.updated_at,
            kind: self.kind,
            metadata: self.metadata.0,
            reply_to: self.quoted.into_view(tenant_id)?,
            mentions: self.mentions,
            reactions,
            is_edited: self.edited_at.is_some(),
            edited_at: self.edited_at,
            deleted: self.deleted,
        })
    }
}

/// Views of message rows with their attachments and reactions (one query each for all
/// of them, `me` meaning the actor); `ctx` gives the status context of each row's
/// conversation.
pub(crate) async fn into_views(
    conn: &mut PgConnection,
    actor: &Actor,
    rows: Vec<MessageRow>,
    ctx: impl Fn(&MessageRow) -> StatusContext,
) -> Result<Vec<Message>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut files = attachments::for_messages(conn, actor, &ids).await?;
    let mut reacted = reactions::for_messages(conn, actor, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let ctx = ctx(&row);
            let attachments = files.remove(&row.id).unwrap_or_default();
            let reactions = reacted.remove(&row.id).unwrap_or_default();
            row.into_view(actor.tenant_id(), &ctx, attachments, reactions)
        })
        .collect()
}

/// Messages by id, in the actor's tenant.
pub(crate) async fn rows_by_ids(conn: &mut PgConnection, actor: &Actor, ids: &[Uuid]) -> Result<Vec<MessageRow>> {
    Ok(
        sqlx::query_as(&format!("{MESSAGE_SELECT} WHERE m.id = ANY($1) AND m.tenant_id = $2"))
            .bind(ids)
            .bind(actor.tenant_id())
            .fetch_all(&mut *conn)
            .await?,
    )
}

/// One message of a conversation as `actor`, a member, sees it, with its current status.
pub(super) async fn member_view(
    conn: &mut PgConnection,
    actor: &Actor,
    conversation_id: Uuid,
    message_id: Uuid,
) -> Result<Message> {
    let member = membership(conn, actor, conversation_id, false).await?;
    let own = Watermarks::from(&member);
    view_as(conn, actor, conversation_id, message_id, own).await
}

/// One message of a conversation as `actor` sees it with watermarks `own` (zero for a
/// viewer who is not a member), or 404 when it is no message of that conversation.
pub(super) async fn view_as(
    conn: &mut PgConnection,
    actor: &Actor,
    conversation_id: Uuid,
    message_id: Uuid,
    own: Watermarks,
) -> Result<Message> {
    let rows: Vec<MessageRow> = sqlx::query_as(&format!(
        "{MESSAGE_SELECT} WHERE m.id = $1 AND m.conversation_id = $2 AND m.tenant_id = $3"
    ))
    .bind(message_id)
    .bind(conversation_id)
    .bind(actor.tenant_id())
    .fetch_all(&mut *conn)
    .await?;
    let others = receipts::others_watermarks(conn, actor, &[conversation_id]).await?;
    let ctx = StatusContext {
        viewer: actor.user_id(),
        own,
        others: others.get(&conversation_id).copied(),
    };
    into_views(conn, actor, rows, |_| ctx)
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("Message"))
}
