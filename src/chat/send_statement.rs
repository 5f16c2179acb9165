//! The send path's one SQL statement (`chat::messages::send` runs it), its parameters
//! and its row, and the warm-up that readies each new database connection for it.

use sqlx::{postgres::PgArguments, query::QueryAs, types::Json, PgConnection, Postgres};
use uuid::Uuid;

use super::{
    content::Metadata,
    message_views::{quoted_columns, quoted_join, QuotedRow},
    sealed::{search_vector, StoredText},
    staging::StagedFile,
};
use crate::{
    domain::{MessageKind, SupportStatus},
    timestamp::Timestamp,
};

/// How many times PostgreSQL plans a prepared statement for its parameters before it
/// considers a generic plan (`choose_custom_plan` in its plancache.c: five custom plans,
/// then the generic one is built at the sixth execution and kept if it is not dearer).
/// Planning `SEND` takes about a millisecond, the generic plan a tenth of that.
const EXECUTIONS_TO_GENERIC_PLAN: usize = 6;

/// Readies a new database connection for sends before the pool hands it out. A fresh
/// PostgreSQL backend reads the text search dictionaries (three stemmers, unaccent) from
/// disk the first time it indexes a message, plans `SEND` for each of its first five
/// executions, and does both against cold catalog caches: on a cold pool the first
/// second of a burst of sends paid that on every connection at once
/// (docs/performance.md). So `SEND` runs here until its generic plan is made, for a
/// conversation that does not exist: it writes nothing. Needs the current schema.
pub async fn warm(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("SELECT message_search_vector('warm')")
        .execute(&mut *conn)
        .await?;
    let (none, metadata, plain) = (Uuid::nil(), Metadata::default(), StoredText::default());
    let nowhere = SendArgs {
        conversation_id: none,
        tenant_id: none,
        message_id: none,
        sender_id: none,
        client_id: None,
        files: &[],
        metadata: &metadata,
        reply_to: None,
        mentions: &[],
        pii: None,
        settings_version: 0,
        stored: &plain,
        search_text: "warm",
        hooked: &plain,
    };
    for _ in 0..EXECUTIONS_TO_GENERIC_PLAN {
        nowhere.query().fetch_optional(&mut *conn).await?;
    }
    Ok(())
}

/// What `SEND` is run with (its parameters, in the order of its comment).
pub(super) struct SendArgs<'a> {
    pub conversation_id: Uuid,
    pub tenant_id: Uuid,
    pub message_id: Uuid,
    pub sender_id: Uuid,
    pub client_id: Option<&'a str>,
    pub files: &'a [StagedFile],
    pub metadata: &'a Metadata,
    pub reply_to: Option<Uuid>,
    pub mentions: &'a [Uuid],
    pub pii: Option<&'a std::collections::BTreeMap<&'static str, u32>>,
    pub settings_version: i64,
    /// The text as stored (sealed when a key is configured).
    pub stored: &'a StoredText,
    /// The plain text, for the search index.
    pub search_text: &'a str,
    /// The webhooks' copy of the text.
    pub hooked: &'a StoredText,
}

impl SendArgs<'_> {
    pub fn query(&self) -> QueryAs<'_, Postgres, SentRow, PgArguments> {
        let files = self.files;
        sqlx::query_as(SEND)
            .bind(self.conversation_id)
            .bind(self.tenant_id)
            .bind(self.message_id)
            .bind(self.sender_id)
            .bind(&self.stored.content)
            .bind(self.client_id)
            .bind(files.iter().map(|f| f.id).collect::<Vec<_>>())
            .bind(files.iter().map(|f| f.filename.clone()).collect::<Vec<_>>())
            .bind(files.iter().map(|f| f.kind.mime()).collect::<Vec<_>>())
            .bind(files.iter().map(|f| f.size as i64).collect::<Vec<_>>())
            .bind(files.iter().map(|f| f.storage_path.clone()).collect::<Vec<_>>())
            .bind(files.iter().map(|f| f.width.map(|w| w as i32)).collect::<Vec<_>>())
            .bind(files.iter().map(|f| f.height.map(|h| h as i32)).collect::<Vec<_>>())
            .bind(files.iter().map(|f| f.thumbnail_path.clone()).collect::<Vec<_>>())
            .bind(Json(self.metadata))
            .bind(self.reply_to)
            .bind(self.mentions)
            .bind(self.pii.map(Json))
            .bind(self.settings_version)
            .bind(&self.stored.content_key_id)
            .bind(&self.stored.content_sealed)
            .bind(self.search_text)
            .bind(files.iter().map(|f| f.key_id.clone()).collect::<Vec<_>>())
            .bind(&self.hooked.content)
            .bind(&self.hooked.content_key_id)
            .bind(&self.hooked.content_sealed)
    }
}

/// What `SEND` returns: what the response and the event need.
#[derive(sqlx::FromRow)]
pub(super) struct SentRow {
    pub seq: i64,
    pub kind: MessageKind,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub sender_name: String,
    pub sender_email: String,
    pub participants: Vec<Uuid>,
    pub predecessor_created: Option<Timestamp>,
    /// Whether sockets that are not members may follow it (`Access::viewers`).
    pub viewed: bool,
    pub support_status: Option<SupportStatus>,
    pub support_agent_id: Option<Uuid>,
    #[sqlx(flatten)]
    pub quoted: QuotedRow,
    pub mentions: Vec<Uuid>,
    /// Whether it queued webhook deliveries (`message_created` for webhooks and bots).
    pub queued_deliveries: bool,
}

/// The whole write path as one statement, so one round trip and atomic by itself: bump
/// the conversation's `last_seq` (its row lock makes `seq` gap-free under concurrent
/// senders) — only if the sender is a participant —, insert the message, count it as
/// the sender's own for the unread arithmetic, un-archive the conversation for the
/// recipients, record the attachments and mentions, and return what the response and
/// the event need (a tenant-visible or support conversation's events go to its viewers
/// too; a support conversation's requester's message, to the desk's staff). No
/// row: not a participant, or the tenant's settings are no longer version $19 (the
/// content rules the message was checked with). A unique violation on
/// `messages_client_id_idx`: a retry; a foreign key violation on
/// `messages_reply_to_fkey`: `reply_to` names no message of this conversation.
/// $1 conversation, $2 tenant, $3 message id, $4 sender, $5 content, $6 client_id,
/// $7…$14 the attachments' columns as arrays, $15 metadata, $16 reply_to, $17 mentions,
/// $18 the PII counts (flagged messages), $19 the settings version checked against.
/// $20 the sealing key's id, $21 the sealed content ($5 is then empty), $22 the plain text
/// (indexed unless the tenant turned search off; not stored as such), $23 the attachments'
/// file key ids, $24–$26 the webhooks' copy of the text (empty when sealed), key id, sealed.
/// `queued_deliveries` says whether the outbox got rows: the caller rings the engine after
/// the commit (`hooks::outbox`, on why these rows do not notify through PostgreSQL).
const SEND: &str = concat!(
    "
    WITH conv AS (
        UPDATE conversations SET last_seq = last_seq + 1, last_message_id = $3, updated_at = now()
        WHERE id = $1 AND tenant_id = $2
          AND EXISTS (SELECT 1 FROM participants WHERE conversation_id = $1 AND user_id = $4)
          AND (SELECT settings_version FROM tenants WHERE id = $2) = $19
          AND NOT EXISTS (SELECT 1 FROM support_conversations WHERE conversation_id = $1 AND status = 'closed')
        RETURNING last_seq, visibility, kind
    ), msg AS (
        INSERT INTO messages (id, tenant_id, conversation_id, seq, sender_id, content, client_id, metadata, reply_to, pii,
                              content_key_id, content_sealed, search, kind)
        SELECT $3, $2, $1, last_seq, $4, $5, $6, $15, $16, $18, $20, $21, ",
    search_vector!("$2", "$22"),
    ",
               (SELECT CASE WHEN kind = 'bot' THEN 'bot' ELSE 'text' END FROM users WHERE id = $4)
        FROM conv
        RETURNING seq, created_at, updated_at, kind
    ), outbox AS (
        -- `message_created` for the bots in the conversation (not to the sender itself)
        -- and the tenant webhooks that asked for it, committed with the message. An
        -- assistant is asked only what a person says to it: everything in a 1-to-1 or
        -- support conversation, in a group only when it is mentioned (docs/integrations.md).
        INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event, content_key_id, content_sealed, payload)
        SELECT gen_random_uuid(), $2, e.id, 'message_created', $25, $26, jsonb_build_object(
                   'conversation_id', $1::uuid,
                   'message', jsonb_build_object(
                       'id', $3::uuid, 'conversation_id', $1::uuid, 'seq', msg.seq, 'kind', msg.kind,
                       'sender', jsonb_build_object('id', s.id, 'name', s.name, 'kind', s.kind),
                       'content', $24::text, 'created_at', msg.created_at, 'reply_to', $16::uuid,
                       'mentions', to_jsonb($17::uuid[]), 'metadata', $15::jsonb))
        FROM msg
        CROSS JOIN conv
        JOIN users s ON s.id = $4 AND s.tenant_id = $2
        JOIN webhook_endpoints e ON e.tenant_id = $2
        WHERE CASE WHEN e.bot_user_id IS NULL THEN 'message_created' = ANY (e.events)
                   ELSE e.bot_user_id <> $4
                        AND EXISTS (SELECT 1 FROM participants p JOIN users b ON b.id = p.user_id AND b.is_active
                                    WHERE p.conversation_id = $1 AND p.user_id = e.bot_user_id)
                        AND (e.kind = 'webhook'
                             OR (s.kind = 'person' AND $22::text <> ''
                                 AND (conv.kind IN ('direct', 'support') OR e.bot_user_id = ANY ($17::uuid[])))) END
        RETURNING 1
    ), own AS (
        UPDATE participants SET own_after_read = own_after_read + 1
        WHERE conversation_id = $1 AND user_id = $4 AND EXISTS (SELECT 1 FROM msg)
    ), unarchive AS (
        UPDATE participants SET is_archived = false
        WHERE conversation_id = $1 AND user_id <> $4 AND is_archived AND EXISTS (SELECT 1 FROM msg)
    ), files AS (
        INSERT INTO attachments (id, tenant_id, conversation_id, message_id, position, uploader_id, filename,
                                 content_type, size, storage_path, width, height, thumbnail_path, file_key_id)
        SELECT f.id, $2, $1, $3, f.position, $4, f.filename, f.content_type, f.size, f.storage_path, f.width, f.height,
               f.thumb, f.key_id
        FROM unnest($7::uuid[], $8::text[], $9::text[], $10::bigint[], $11::text[], $12::int[], $13::int[], $14::text[],
                    $23::text[])
             WITH ORDINALITY AS f(id, filename, content_type, size, storage_path, width, height, thumb, key_id, position)
        WHERE EXISTS (SELECT 1 FROM msg)
    ), mentioned AS (
        -- Participants only: someone removed since the check is left out.
        INSERT INTO mentions (tenant_id, message_id, conversation_id, seq, created_at, user_id)
        SELECT $2, $3, $1, msg.seq, msg.created_at, p.user_id
        FROM msg JOIN participants p ON p.conversation_id = $1 AND p.user_id = ANY($17::uuid[])
        RETURNING user_id
    )
    SELECT msg.seq, msg.created_at, msg.updated_at, msg.kind, u.name AS sender_name, u.email AS sender_email,
           ARRAY(SELECT user_id FROM participants WHERE conversation_id = $1) AS participants,
           -- NULL when the predecessor committed while this statement waited for the lock:
           -- it is then being published right now.
           (SELECT p.created_at FROM messages p WHERE p.conversation_id = $1 AND p.seq = msg.seq - 1)
               AS predecessor_created,
           (SELECT visibility = 'tenant' OR kind = 'support' FROM conv) AS viewed,
           -- The desk's state when the sender is the requester of this support conversation.
           sc.status AS support_status, sc.agent_id AS support_agent_id,
           ARRAY(SELECT user_id FROM mentioned ORDER BY user_id) AS mentions,
           EXISTS (SELECT 1 FROM outbox) AS queued_deliveries, ",
    quoted_columns!(),
    " FROM msg JOIN users u ON u.id = $4 AND u.tenant_id = $2
      LEFT JOIN support_conversations sc ON sc.conversation_id = $1 AND sc.tenant_id = $2 AND sc.requester_id = $4",
    quoted_join!("$16", "$2"),
);
