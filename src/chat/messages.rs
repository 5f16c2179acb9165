//! Messages: the write path (gap-free `seq`, idempotent `client_id`, replies, mentions
//! and metadata), and `message_updated` when a message changes. The rows messages are
//! read from are `message_views.rs`; reading history, `history.rs`; editing and
//! deleting, `edits.rs`.

use sqlx::{types::Json, PgConnection, PgPool};
use uuid::Uuid;

use super::{
    access,
    content::{check_metadata, MessageContent, Metadata},
    events::Event,
    membership, mentions,
    message_views::{into_views, member_view, rows_by_ids, MessageRow},
    receipts::{self, StatusContext, Watermarks},
    safety::RulesCache,
    sealed::{Record, StoredText},
    send_statement::{SendArgs, SentRow},
    staging::{Staged, StagedFile},
    support,
    views::{Message, MessageStatus},
};
use crate::{
    auth::Actor,
    domain::ClientId,
    error::{self, Code, Error, Result},
    hooks::outbox::Doorbell,
    realtime::{Audience, Realtime},
    telemetry::metrics::MESSAGES_SENT,
};

/// Whether the actor may send into the conversation: checked before an upload's body is
/// read, so refused senders cost no disk and no decoding.
pub async fn check_can_send(pool: &PgPool, actor: &Actor, conversation_id: Uuid) -> Result<()> {
    actor.require_write()?;
    let mut conn = pool.acquire().await?;
    membership(&mut conn, actor, conversation_id, false).await.map(|_| ())
}

/// A message to send, as it arrived. Every field but `content` is optional, so callers
/// name what they have and leave the rest to `..NewMessage::default()`.
#[derive(Default)]
pub struct NewMessage<'a> {
    pub content: &'a str,
    pub client_id: Option<ClientId>,
    /// Attachments received and checked, waiting for the message to commit.
    pub files: Option<Staged>,
    /// The message this one answers: one of the same conversation (else 400
    /// `validation_error`, `field: reply_to`).
    pub reply_to: Option<Uuid>,
    /// Participants the message mentions (others: 400, `field: mentions`); the sender is
    /// dropped from them.
    pub mentions: Vec<Uuid>,
    /// The sender's JSON object, at most 4 KB (else 400, `field: metadata`).
    pub metadata: Option<Metadata>,
}

pub enum Sent {
    /// A new message (201).
    Created(Message),
    /// A retry with a known `client_id`: the original message (200).
    Existing(Message),
}

/// Sends a message with its attachments; once committed, `message_created` goes to every participant, in
/// seq order, and `doorbell` is rung when the message queued webhook deliveries.
pub async fn send(
    pool: &PgPool,
    realtime: &std::sync::Arc<Realtime>,
    rules: &RulesCache,
    doorbell: &Doorbell,
    actor: &Actor,
    conversation_id: Uuid,
    new: NewMessage<'_>,
) -> Result<Sent> {
    actor.require_write()?;
    let content = MessageContent::parse(new.content)?;
    let mut files = new.files.filter(|staged| !staged.files.is_empty());
    if content.is_empty() && files.is_none() {
        return Err(Error::validation("content", "a message needs content or attachments"));
    }
    let mut content_rules = rules.current(pool, actor.tenant_id()).await?;
    let mut checked = content_rules.check(content.clone())?;
    let metadata = new.metadata.unwrap_or_default();
    check_metadata(&metadata)?;
    let mentioned = mentions::others(actor.user_id(), &new.mentions)?;
    if !mentioned.is_empty() {
        // One more round trip, only for messages that mention someone.
        let mut conn = pool.acquire().await?;
        mentions::check(&mut conn, actor, conversation_id, &mentioned).await?;
    }
    let client_id = new.client_id.as_ref().map(ClientId::as_str);
    let staged: &[StagedFile] = files.as_ref().map_or(&[], |s| &s.files);

    let message_id = Uuid::new_v4();
    // `SEND` is one statement, so atomic by itself. An explicit transaction (two more
    // round trips: BEGIN, COMMIT) is needed only to keep attachment rows uncommitted
    // until their files are in place.
    let mut tx = match files {
        Some(_) => Some(pool.begin().await?),
        None => None,
    };
    // The statement stores nothing if the tenant's settings changed since the rules
    // were read (an admin's new forbidden topic applies to the very next send): then
    // the rules are read again and the message checked and sent once more.
    let row: Option<SentRow> = loop {
        let mut conflict = false;
        let stored = StoredText::seal(Record::Message, actor.tenant_id(), message_id, checked.content.as_str());
        let hooked = StoredText::seal(
            Record::Delivery,
            actor.tenant_id(),
            message_id,
            checked.content.as_str(),
        );
        let args = SendArgs {
            conversation_id,
            tenant_id: actor.tenant_id(),
            message_id,
            sender_id: actor.user_id(),
            client_id,
            files: staged,
            metadata: &metadata,
            reply_to: new.reply_to,
            mentions: &mentioned,
            pii: checked.pii.as_ref(),
            settings_version: content_rules.version,
            stored: &stored,
            search_text: checked.content.as_str(),
            hooked: &hooked,
        };
        let query = args.query();
        let row: Option<SentRow> = match tx.as_mut() {
            Some(tx) => query.fetch_optional(&mut **tx).await,
            None => query.fetch_optional(pool).await,
        }
        .or_else(|err| match client_id {
            // A retry with a known client_id: the original is answered below.
            Some(_) if error::violates(&err, "messages_client_id_idx") => {
                conflict = true;
                Ok(None)
            }
            _ if error::violates(&err, "messages_reply_to_fkey") => Err(Error::validation(
                "reply_to",
                "reply_to must be the id of a message of this conversation",
            )),
            _ => Err(err.into()),
        })?;
        // A known client_id is answered below, whatever the rules.
        if row.is_none() && !conflict {
            if let Some(newer) = rules.newer_than(pool, actor.tenant_id(), content_rules.version).await? {
                content_rules = newer;
                checked = content_rules.check(content.clone())?;
                continue;
            }
        }
        break row;
    };
    let Some(sent) = row else {
        drop(tx);
        let mut conn = pool.acquire().await?;
        // Not sent: the caller may not (404 / 403), the client_id is taken (its message
        // is the answer, even once the conversation is closed), or the conversation is a
        // closed support conversation.
        membership(&mut conn, actor, conversation_id, false).await?;
        let existing = match client_id {
            Some(client_id) => by_client_id(&mut conn, actor, conversation_id, client_id).await?,
            None => None,
        };
        if let Some(message) = existing {
            return Ok(Sent::Existing(message));
        }
        let closed: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM support_conversations WHERE conversation_id = $1 AND status = 'closed')",
        )
        .bind(conversation_id)
        .fetch_one(&mut *conn)
        .await?;
        return Err(if closed {
            Error::Conflict {
                code: Code::SupportClosed,
                message: "This support conversation is closed: contact support again to start a new one.".into(),
            }
        } else {
            Error::internal("a message insert matched nothing")
        });
    };
    let attachments = staged.iter().map(|file| file.view(sent.created_at)).collect();
    let (seq, participants, predecessor_created, viewed) =
        (sent.seq, sent.participants, sent.predecessor_created, sent.viewed);
    let doorbell = sent.queued_deliveries.then(|| doorbell.clone());
    // The requester wrote in their support conversation: the desk's inboxes move it up.
    let desk = sent.support_status.map(|status| Event::SupportUpdated {
        conversation_id,
        status,
        agent_id: sent.support_agent_id,
        requester_id: actor.user_id(),
    });
    let row = MessageRow {
        id: message_id,
        conversation_id,
        seq,
        sender_id: actor.user_id(),
        sender_name: sent.sender_name,
        sender_email: sent.sender_email,
        text: StoredText {
            content: checked.content.as_str().to_string(),
            ..StoredText::default()
        },
        created_at: sent.created_at,
        updated_at: sent.updated_at,
        kind: sent.kind,
        metadata: Json(metadata),
        edited_at: None,
        deleted: false,
        quoted: sent.quoted,
        mentions: sent.mentions,
    };
    // Nobody else can have seen a message this new: its status is `sent`.
    let fresh = StatusContext {
        viewer: actor.user_id(),
        own: Watermarks { delivered: 0, read: 0 },
        others: None,
    };
    // Nor reacted to it.
    let message = row.into_view(actor.tenant_id(), &fresh, attachments, Vec::new())?;
    let event = Event::MessageCreated {
        conversation_id,
        message: message.clone(),
    }
    .envelope();
    // Whom it mentions (never the sender) get it once more as `mention`.
    let notified = message.mentions.clone();
    let mention = Event::Mention {
        conversation_id,
        message: message.clone(),
    }
    .envelope();

    // Placing the files, committing, keeping them and publishing run as one task: a client
    // that hangs up now cannot cancel the request between a commit and the `keep` (which
    // would delete files the new rows point to), nor between the commit and the event.
    let realtime = realtime.clone();
    let (pool, actor) = (pool.clone(), *actor);
    let finish = tokio::spawn(async move {
        // The files go into place at the last moment before commit; should either fail,
        // `files` removes them when dropped and the transaction rolls back.
        if let Some(staged) = files.as_mut() {
            staged.place().await?;
        }
        if let Some(tx) = tx {
            tx.commit().await?;
        }
        if let Some(staged) = files {
            staged.keep();
        }
        if let Some(doorbell) = doorbell {
            doorbell.ring();
        }
        let predecessor_created = predecessor_created.map(|t| t.0);
        let audience = Audience {
            users: &participants,
            viewers_of: viewed.then_some(conversation_id),
        };
        realtime
            .send_in_order(conversation_id, seq, predecessor_created, audience, &event)
            .await;
        if !notified.is_empty() {
            realtime.send_to_users(&notified, &mention).await;
        }
        if let Some(desk) = desk {
            // The message is committed and sent: a failure here only delays the inboxes.
            if let Err(err) = support::notify_staff(&pool, &realtime, &actor, &desk).await {
                tracing::warn!(error = %err, "could not tell the support desk of a requester's message");
            }
        }
        Ok::<(), Error>(())
    });
    finish.await.map_err(Error::internal)??;
    metrics::counter!(MESSAGES_SENT).increment(1);
    Ok(Sent::Created(message))
}

async fn by_client_id(
    conn: &mut PgConnection,
    actor: &Actor,
    conversation_id: Uuid,
    client_id: &str,
) -> Result<Option<Message>> {
    let id: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM messages
         WHERE conversation_id = $1 AND sender_id = $2 AND client_id = $3 AND tenant_id = $4",
    )
    .bind(conversation_id)
    .bind(actor.user_id())
    .bind(client_id)
    .bind(actor.tenant_id())
    .fetch_optional(&mut *conn)
    .await?;
    match id {
        Some(id) => Ok(Some(member_view(conn, actor, conversation_id, id).await?)),
        None => Ok(None),
    }
}

/// `message_updated` to every participant of the conversation, each with the message's
/// status as that participant sees it (so at most three different payloads), and to the
/// viewers of a tenant-visible one.
/// `actor` is whoever changed the message; only its tenant scopes the queries.
pub(crate) async fn announce_update(
    pool: &PgPool,
    realtime: &Realtime,
    actor: &Actor,
    conversation_id: Uuid,
    message_id: Uuid,
) -> Result<()> {
    let mut conn = pool.acquire().await?;
    let viewers = access(&mut conn, actor, conversation_id, false).await?.viewers();
    let marks = receipts::participants_watermarks(&mut conn, actor, conversation_id).await?;
    let rows = rows_by_ids(&mut conn, actor, &[message_id]).await?;
    let Some(row) = rows.first() else { return Ok(()) };
    let (seq, sender) = (row.seq, row.sender_id);
    let context_of = |viewer: Uuid| {
        let own = marks
            .iter()
            .find(|(user, _)| *user == viewer)
            .map_or(Watermarks { delivered: 0, read: 0 }, |m| m.1);
        StatusContext {
            viewer,
            own,
            others: receipts::slowest_except(&marks, &[viewer]),
        }
    };
    let mut by_status: Vec<(StatusContext, Vec<Uuid>)> = Vec::new();
    for (viewer, _) in &marks {
        let ctx = context_of(*viewer);
        let status = ctx.status(seq, sender);
        match by_status.iter_mut().find(|(c, _)| c.status(seq, sender) == status) {
            Some((_, viewers)) => viewers.push(*viewer),
            None => by_status.push((ctx, vec![*viewer])),
        }
    }
    let base = into_views(&mut conn, actor, rows, |_| context_of(sender)).await?;
    drop(conn);
    let Some(mut base) = base.into_iter().next() else {
        return Ok(());
    };
    // One copy goes to many readers: `me` would be the actor's, so it says nobody's;
    // clients keep their own from the views they read and the `reaction` events.
    for reaction in &mut base.reactions {
        reaction.me = false;
    }
    for (ctx, members) in by_status {
        let message = Message {
            status: ctx.status(seq, sender),
            ..base.clone()
        };
        let event = Event::MessageUpdated {
            conversation_id,
            message,
        };
        realtime.send_to_users(&members, &event.envelope()).await;
    }
    if let Some(viewers_of) = viewers {
        // Someone who only views the conversation has received nothing of it.
        let event = Event::MessageUpdated {
            conversation_id,
            message: Message {
                status: MessageStatus::Sent,
                ..base
            },
        };
        let audience = Audience {
            users: &[],
            viewers_of: Some(viewers_of),
        };
        realtime.send_to(audience, &event.envelope()).await;
    }
    Ok(())
}
