//! A message after it is sent: read one, edit it, delete it. Senders change their own
//! messages; tenant admins change anyone's, and those acts are audited. Earlier
//! versions are kept in `message_edits` for compliance reads; a deleted message stays
//! in the sequence as a tombstone, so `seq` keeps no gaps.

use std::{collections::HashMap, path::Path};

use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    access, attachments,
    content::MessageContent,
    membership,
    message_views::view_as,
    messages::announce_update,
    receipts::Watermarks,
    safety::RulesCache,
    sealed::{search_vector, Record, StoredText},
    settings::TenantSettings,
    views::{Message, MessageEdit},
    webhook_events, Access,
};
use crate::{
    audit::{self, Entry},
    auth::Actor,
    client::RequestMeta,
    domain::{MessageKind, Role},
    error::{Code, Error, Result},
    realtime::Realtime,
    timestamp::Timestamp,
};

/// One message as the caller sees it: members, and anyone in the tenant for a
/// tenant-visible conversation. Reading it marks nothing delivered.
pub async fn get(pool: &PgPool, actor: &Actor, conversation_id: Uuid, message_id: Uuid) -> Result<Message> {
    let mut conn = pool.acquire().await?;
    let access = access(&mut conn, actor, conversation_id, false).await?;
    access.require_view()?;
    view(&mut conn, actor, &access, message_id).await
}

/// The message as the caller sees it: with its receipts if it is a member, as a viewer
/// (nothing received yet) otherwise.
async fn view(conn: &mut PgConnection, actor: &Actor, access: &Access, message_id: Uuid) -> Result<Message> {
    let own = match access.role {
        Some(_) => Watermarks::from(&membership(conn, actor, access.conversation_id, false).await?),
        None => Watermarks { delivered: 0, read: 0 },
    };
    view_as(conn, actor, access.conversation_id, message_id, own).await
}

/// The message an edit or a deletion acts on, locked until the change commits.
#[derive(sqlx::FromRow)]
struct Target {
    sender_id: Uuid,
    seq: i64,
    kind: MessageKind,
    #[sqlx(flatten)]
    stored: StoredText,
    deleted: bool,
    created_at: Timestamp,
    has_files: bool,
}

/// Who may change a message, in this order: `read` users nobody's (403
/// `write_permission_required`); an unknown conversation or message is 404; a private
/// conversation's outsiders get 403 `not_a_participant`; tenant admins change any
/// message, members their own; anyone else gets 403 `message_permission_required`, as
/// does every attempt on a system message. Returns the access and the message.
async fn target(
    tx: &mut PgConnection,
    actor: &Actor,
    conversation_id: Uuid,
    message_id: Uuid,
) -> Result<(Access, Target)> {
    actor.require_write()?;
    let access = access(tx, actor, conversation_id, false).await?;
    let admin = actor.role() == Role::Admin;
    if !admin {
        access.require_view()?;
    }
    let target: Target = sqlx::query_as(
        "SELECT m.sender_id, m.seq, m.kind, m.content, m.content_key_id, m.content_sealed, m.deleted, m.created_at,
                EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id AND a.deleted_at IS NULL) AS has_files
         FROM messages m WHERE m.id = $1 AND m.conversation_id = $2 AND m.tenant_id = $3
         FOR UPDATE OF m",
    )
    .bind(message_id)
    .bind(conversation_id)
    .bind(actor.tenant_id())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found("Message"))?;
    let own = target.sender_id == actor.user_id() && access.role.is_some();
    if target.kind == MessageKind::System {
        return Err(refused("System messages record changes; nobody edits or deletes them."));
    }
    if !(own || admin) {
        return Err(refused("Only the message's sender and tenant admins may do this."));
    }
    Ok((access, target))
}

impl Target {
    /// The message's current text, decrypted.
    fn text(&self, actor: &Actor, message_id: Uuid) -> Result<String> {
        self.stored
            .clone()
            .reveal(Record::Message, actor.tenant_id(), message_id)
    }
}

fn refused(message: &str) -> Error {
    Error::Forbidden {
        code: Code::MessagePermissionRequired,
        message: message.into(),
    }
}

/// An admin changing someone else's message is audited; everyone's own changes are not.
fn on_behalf(actor: &Actor, target: &Target) -> bool {
    target.sender_id != actor.user_id()
}

/// Replaces a message's content and keeps the one it replaces. Senders are held to the
/// tenant's `edit_window_minutes`; tenant admins (moderating) are not. An edit to the
/// same content changes nothing. Participants (and viewers) get `message_updated`.
#[allow(clippy::too_many_arguments)] // the request's parts: who, from where, which message, what
pub async fn edit(
    pool: &PgPool,
    realtime: &Realtime,
    rules: &RulesCache,
    actor: &Actor,
    meta: &RequestMeta,
    conversation_id: Uuid,
    message_id: Uuid,
    content: &str,
) -> Result<Message> {
    // The rules as they are now (edits are rare: one read of the version, and a
    // compile only when it changed); they hold for the edited text as for a send.
    let checked = rules
        .fresh(pool, actor.tenant_id())
        .await?
        .check(MessageContent::parse(content)?)?;
    let content = checked.content;
    let window = match actor.role() {
        Role::Admin => None,
        _ => TenantSettings::load(pool, actor.tenant_id()).await?.edit_window(),
    };
    let mut tx = pool.begin().await?;
    let (access, target) = target(&mut tx, actor, conversation_id, message_id).await?;
    if target.deleted {
        return Err(Error::Conflict {
            code: Code::MessageDeleted,
            message: "A deleted message cannot be edited.".into(),
        });
    }
    if content.is_empty() && !target.has_files {
        return Err(Error::validation(
            "content",
            "a message without attachments needs content",
        ));
    }
    if let Some(window) = window.filter(|w| target.created_at.0 + *w < chrono::Utc::now()) {
        return Err(Error::Forbidden {
            code: Code::EditWindowClosed,
            message: format!(
                "Messages can be edited for {} minutes after sending.",
                window.num_minutes()
            ),
        });
    }
    let previous = target.text(actor, message_id)?;
    if content.as_str() == previous {
        return view(&mut tx, actor, &access, message_id).await;
    }
    keep_version(&mut tx, actor, conversation_id, message_id, &previous).await?;
    let stored = StoredText::seal(Record::Message, actor.tenant_id(), message_id, content.as_str());
    sqlx::query(concat!(
        "UPDATE messages SET content = $3, pii = $4, content_key_id = $5, content_sealed = $6, search = ",
        search_vector!("$2", "$7"),
        ", edited_at = now(), updated_at = now() WHERE id = $1 AND tenant_id = $2"
    ))
    .bind(message_id)
    .bind(actor.tenant_id())
    .bind(&stored.content)
    .bind(checked.pii.as_ref().map(sqlx::types::Json))
    .bind(&stored.content_key_id)
    .bind(&stored.content_sealed)
    .bind(content.as_str())
    .execute(&mut *tx)
    .await?;
    webhook_events::message_updated(&mut tx, actor, message_id, content.as_str()).await?;
    if on_behalf(actor, &target) {
        audit_change(
            &mut tx,
            actor,
            meta,
            "message.edit",
            conversation_id,
            message_id,
            &target,
        )
        .await?;
    }
    let message = view(&mut tx, actor, &access, message_id).await?;
    tx.commit().await?;
    announce_update(pool, realtime, actor, conversation_id, message_id).await?;
    Ok(message)
}

/// Makes a message a tombstone: it keeps its `seq`, loses its content, metadata, quote,
/// mentions and files (removed from disk after the commit). The content it had is kept
/// with its earlier versions for compliance reads. Deleting a deleted message changes
/// nothing. Participants (and viewers) get `message_updated`.
pub async fn delete(
    pool: &PgPool,
    realtime: &Realtime,
    media_root: &Path,
    actor: &Actor,
    meta: &RequestMeta,
    conversation_id: Uuid,
    message_id: Uuid,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    let (_, target) = target(&mut tx, actor, conversation_id, message_id).await?;
    if target.deleted {
        return Ok(());
    }
    let previous = target.text(actor, message_id)?;
    if !previous.is_empty() {
        keep_version(&mut tx, actor, conversation_id, message_id, &previous).await?;
    }
    let files: Vec<(String, Option<String>)> = sqlx::query_as(
        "UPDATE attachments SET deleted_at = now(), deleted_by = $3
         WHERE message_id = $1 AND tenant_id = $2 AND deleted_at IS NULL
         RETURNING storage_path, thumbnail_path",
    )
    .bind(message_id)
    .bind(actor.tenant_id())
    .bind(actor.user_id())
    .fetch_all(&mut *tx)
    .await?;
    // A tombstone mentions nobody and carries no reactions.
    for table in ["mentions", "reactions"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE message_id = $1 AND tenant_id = $2"))
            .bind(message_id)
            .bind(actor.tenant_id())
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "UPDATE messages SET deleted = true, content = '', content_key_id = NULL, content_sealed = NULL,
             search = NULL, metadata = '{}', pii = NULL, reply_to = NULL, updated_at = now()
         WHERE id = $1 AND tenant_id = $2",
    )
    .bind(message_id)
    .bind(actor.tenant_id())
    .execute(&mut *tx)
    .await?;
    webhook_events::message_deleted(&mut tx, actor, conversation_id, message_id, target.seq).await?;
    if on_behalf(actor, &target) {
        audit_change(
            &mut tx,
            actor,
            meta,
            "message.delete",
            conversation_id,
            message_id,
            &target,
        )
        .await?;
    }
    tx.commit().await?;
    attachments::remove_files(media_root, files).await;
    announce_update(pool, realtime, actor, conversation_id, message_id).await
}

/// Keeps `previous` as an earlier version of the message (sealed when encryption is on).
async fn keep_version(
    tx: &mut PgConnection,
    actor: &Actor,
    conversation_id: Uuid,
    message_id: Uuid,
    previous: &str,
) -> Result<()> {
    let stored = StoredText::seal(Record::Version, actor.tenant_id(), message_id, previous);
    sqlx::query(
        "INSERT INTO message_edits (tenant_id, conversation_id, message_id, previous_content, edited_by,
                                    previous_key_id, previous_sealed)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(actor.tenant_id())
    .bind(conversation_id)
    .bind(message_id)
    .bind(&stored.content)
    .bind(actor.user_id())
    .bind(&stored.content_key_id)
    .bind(&stored.content_sealed)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Writes an admin's change of someone else's message to the audit log. The content
/// stays out of the log: the earlier versions are in `message_edits`.
#[allow(clippy::too_many_arguments)] // who, from where, what, and the message's coordinates
async fn audit_change(
    tx: &mut PgConnection,
    actor: &Actor,
    meta: &RequestMeta,
    action: &'static str,
    conversation_id: Uuid,
    message_id: Uuid,
    target: &Target,
) -> Result<()> {
    let entry = Entry {
        action,
        resource_type: "message",
        resource_id: Some(message_id.to_string()),
        details: json!({"conversation": conversation_id, "seq": target.seq, "sender": target.sender_id}),
    };
    audit::record(tx, actor.tenant_id(), Some(actor.user_id()), meta, entry).await
}

/// The earlier versions of these messages (of the actor's tenant), oldest first.
pub async fn versions(pool: &PgPool, actor: &Actor, message_ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<MessageEdit>>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        message_id: Uuid,
        #[sqlx(flatten)]
        previous: StoredText,
        edited_by: Uuid,
        edited_by_name: String,
        edited_at: Timestamp,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT e.message_id, e.previous_content AS content, e.previous_key_id AS content_key_id,
                e.previous_sealed AS content_sealed, e.edited_by, u.name AS edited_by_name, e.edited_at
         FROM message_edits e JOIN users u ON u.id = e.edited_by AND u.tenant_id = e.tenant_id
         WHERE e.message_id = ANY($1) AND e.tenant_id = $2
         ORDER BY e.message_id, e.edited_at, e.id",
    )
    .bind(message_ids)
    .bind(actor.tenant_id())
    .fetch_all(pool)
    .await?;
    let mut by_message: HashMap<Uuid, Vec<MessageEdit>> = HashMap::new();
    for row in rows {
        let edit = MessageEdit {
            previous_content: row
                .previous
                .reveal(Record::Version, actor.tenant_id(), row.message_id)?,
            edited_by: row.edited_by,
            edited_by_name: row.edited_by_name,
            edited_at: row.edited_at,
        };
        by_message.entry(row.message_id).or_default().push(edit);
    }
    Ok(by_message)
}
