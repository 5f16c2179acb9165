//! Who a message mentions: participants of its conversation, checked before the send;
//! and the messages that mention the caller. Unread mentions per conversation are
//! counted with the conversation (`listing`); the `mention` event goes out with the send.

use std::collections::HashMap;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    membership,
    message_views::{into_views, MessageRow, MESSAGE_SELECT},
    receipts::{self, StatusContext, Watermarks},
    views::Message,
};
use crate::{
    auth::Actor,
    domain::{Limit, Offset},
    error::{Error, Result},
};

/// The most users one message may mention.
pub const MAX_MENTIONS: usize = 100;

/// The distinct ids of `mentions` other than the sender's, in the order first given; more
/// than `MAX_MENTIONS` answers 400. Mentioning oneself is accepted and dropped: a mention
/// is a call for someone else's attention, so one's own would only raise one's own
/// `mention_count` and list one's own message under one's mentions.
pub(super) fn others(sender: Uuid, mentions: &[Uuid]) -> Result<Vec<Uuid>> {
    let mut seen = Vec::with_capacity(mentions.len());
    for id in mentions {
        if *id != sender && !seen.contains(id) {
            seen.push(*id);
        }
    }
    if seen.len() > MAX_MENTIONS {
        return Err(Error::validation(
            "mentions",
            format!("a message may mention at most {MAX_MENTIONS} users"),
        ));
    }
    Ok(seen)
}

/// Checks that the sender may send here (404 / 403 first, as for any send) and that
/// every mentioned user is a participant (400 `validation_error`, `field: mentions`).
/// Someone removed between this check and the send is left out of the message's
/// mentions rather than failing it.
pub(super) async fn check(
    conn: &mut PgConnection,
    actor: &Actor,
    conversation_id: Uuid,
    mentions: &[Uuid],
) -> Result<()> {
    membership(conn, actor, conversation_id, false).await?;
    let strangers: Vec<Uuid> = sqlx::query_scalar(
        "SELECT u FROM unnest($1::uuid[]) u
         WHERE NOT EXISTS (SELECT 1 FROM participants p
                           WHERE p.conversation_id = $2 AND p.tenant_id = $3 AND p.user_id = u)",
    )
    .bind(mentions)
    .bind(conversation_id)
    .bind(actor.tenant_id())
    .fetch_all(&mut *conn)
    .await?;
    match strangers.first() {
        None => Ok(()),
        Some(stranger) => Err(Error::validation(
            "mentions",
            format!("{stranger} is not a participant of this conversation"),
        )),
    }
}

/// How many mentions `recent` returns by default, and at most.
const DEFAULT_RECENT: i64 = 50;
const MAX_RECENT: i64 = 200;

/// The messages that mention the caller, newest first, in the conversations it is still
/// in (a conversation it left keeps its messages from it); deleted messages mention
/// nobody. Reading them marks nothing delivered. A page reads its own rows of
/// `mentions_user_newest_idx`, not all of the user's mentions.
pub async fn recent(
    pool: &PgPool,
    actor: &Actor,
    limit: Option<Limit>,
    offset: Option<Offset>,
) -> Result<Vec<Message>> {
    let mut conn = pool.acquire().await?;
    let rows: Vec<MessageRow> = sqlx::query_as(&format!(
        "{MESSAGE_SELECT}
         JOIN mentions n ON n.message_id = m.id AND n.tenant_id = m.tenant_id AND n.user_id = $1
         JOIN participants p ON p.conversation_id = m.conversation_id AND p.tenant_id = m.tenant_id AND p.user_id = $1
         WHERE m.tenant_id = $2
         ORDER BY n.created_at DESC, n.message_id DESC LIMIT $3 OFFSET $4"
    ))
    .bind(actor.user_id())
    .bind(actor.tenant_id())
    .bind(Limit::or_default(limit, DEFAULT_RECENT, MAX_RECENT))
    .bind(Offset::or_zero(offset))
    .fetch_all(&mut *conn)
    .await?;
    let mut conversation_ids: Vec<Uuid> = rows.iter().map(MessageRow::conversation_id).collect();
    conversation_ids.sort_unstable();
    conversation_ids.dedup();
    let own: HashMap<Uuid, Watermarks> = sqlx::query_as::<_, (Uuid, i64, i64)>(
        "SELECT conversation_id, delivered_seq, read_seq FROM participants
         WHERE conversation_id = ANY($1) AND tenant_id = $2 AND user_id = $3",
    )
    .bind(&conversation_ids)
    .bind(actor.tenant_id())
    .bind(actor.user_id())
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(id, delivered, read)| (id, Watermarks { delivered, read }))
    .collect();
    let others = receipts::others_watermarks(&mut conn, actor, &conversation_ids).await?;
    into_views(&mut conn, actor, rows, |row| StatusContext {
        viewer: actor.user_id(),
        own: own
            .get(&row.conversation_id())
            .copied()
            .unwrap_or(Watermarks { delivered: 0, read: 0 }),
        others: others.get(&row.conversation_id()).copied(),
    })
    .await
}
