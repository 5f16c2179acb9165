//! Reading a conversation's history with cursors. Reading marks it delivered for the
//! reader; a tenant admin's compliance read marks nothing.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    access, membership,
    message_views::{into_views, MessageRow, MESSAGE_SELECT},
    receipts::{self, StatusContext, Watermarks},
    views::Message,
};
use crate::{
    auth::Actor,
    domain::{Limit, Seq},
    error::{Error, Result},
    realtime::Realtime,
};

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;

/// Which part of the history to return.
#[derive(Debug, Default, Clone)]
pub struct HistoryQuery {
    /// Only messages after this message.
    pub since_id: Option<Uuid>,
    /// Only messages with a greater seq.
    pub after_seq: Option<Seq>,
    /// Only messages with a smaller seq (paging backwards).
    pub before_seq: Option<Seq>,
    pub limit: Option<Limit>,
}

/// History ascending by seq. Forward cursors (`since_id`, `after_seq`) return the oldest
/// matching messages first (catching up), otherwise the newest `limit` (opening a
/// conversation, or paging back with `before_seq`). The default page is 50 messages when
/// paging back and the maximum (200) when catching up, so a client back from a short
/// absence gets everything in one call. A viewer of a tenant-visible conversation reads
/// it too; nothing is marked delivered for a viewer, who has no receipts.
pub async fn history(
    pool: &PgPool,
    realtime: &Realtime,
    actor: &Actor,
    conversation_id: Uuid,
    query: HistoryQuery,
) -> Result<Vec<Message>> {
    let mut tx = pool.begin().await?;
    let member = match membership(&mut tx, actor, conversation_id, false).await {
        Ok(member) => Some(member),
        // Anyone in the tenant reads a tenant-visible conversation, without receipts.
        Err(Error::NotAParticipant) => {
            access(&mut tx, actor, conversation_id, false).await?.require_view()?;
            None
        }
        Err(err) => return Err(err),
    };
    let rows = page(&mut tx, actor, conversation_id, &query).await?;
    let (own, moved) = match (&member, rows.last()) {
        (Some(member), Some(newest)) => receipts::mark_delivered(&mut tx, actor, member, newest.seq).await?,
        (Some(member), None) => (Watermarks::from(member), None),
        (None, _) => (Watermarks { delivered: 0, read: 0 }, None),
    };
    let others = receipts::others_watermarks(&mut tx, actor, &[conversation_id]).await?;
    let ctx = StatusContext {
        viewer: actor.user_id(),
        own,
        others: others.get(&conversation_id).copied(),
    };
    let messages = into_views(&mut tx, actor, rows, |_| ctx).await?;
    tx.commit().await?;
    if let Some(moved) = moved {
        receipts::announce(pool, realtime, actor, moved).await?;
    }
    Ok(messages)
}

/// History for a tenant admin's compliance read: any conversation of the tenant (404
/// otherwise), each message's status as its sender sees it, and nothing marked delivered.
pub async fn history_for_compliance(
    pool: &PgPool,
    admin: &Actor,
    conversation_id: Uuid,
    query: HistoryQuery,
) -> Result<Vec<Message>> {
    let mut conn = pool.acquire().await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1 AND tenant_id = $2)")
            .bind(conversation_id)
            .bind(admin.tenant_id())
            .fetch_one(&mut *conn)
            .await?;
    if !exists {
        return Err(Error::not_found("Conversation"));
    }
    let rows = page(&mut conn, admin, conversation_id, &query).await?;
    let marks = receipts::participants_watermarks(&mut conn, admin, conversation_id).await?;
    into_views(&mut conn, admin, rows, |row| StatusContext {
        viewer: row.sender_id,
        own: Watermarks { delivered: 0, read: 0 },
        others: receipts::slowest_except(&marks, &[row.sender_id]),
    })
    .await
}

/// One page of a conversation's messages by the cursors of `query`, ascending by seq.
async fn page(
    conn: &mut PgConnection,
    actor: &Actor,
    conversation_id: Uuid,
    query: &HistoryQuery,
) -> Result<Vec<MessageRow>> {
    let catching_up = query.since_id.is_some() || query.after_seq.is_some();
    let limit = Limit::or_default(query.limit, if catching_up { MAX_PAGE } else { DEFAULT_PAGE }, MAX_PAGE);
    let since_seq = match query.since_id {
        Some(id) => Some(seq_of(conn, actor, conversation_id, id).await?),
        None => None,
    };
    let after = since_seq.into_iter().chain(query.after_seq.map(Seq::get)).max();
    let forward = after.is_some();
    let sql = format!(
        "{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.tenant_id = $2 AND m.seq > $3 AND m.seq < $4
         ORDER BY m.seq {} LIMIT $5",
        if forward { "ASC" } else { "DESC" }
    );
    let mut rows: Vec<MessageRow> = sqlx::query_as(&sql)
        .bind(conversation_id)
        .bind(actor.tenant_id())
        .bind(after.unwrap_or(0))
        .bind(query.before_seq.map_or(i64::MAX, Seq::get))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    if !forward {
        rows.reverse();
    }
    Ok(rows)
}

async fn seq_of(conn: &mut PgConnection, actor: &Actor, conversation_id: Uuid, message_id: Uuid) -> Result<i64> {
    sqlx::query_scalar("SELECT seq FROM messages WHERE id = $1 AND conversation_id = $2 AND tenant_id = $3")
        .bind(message_id)
        .bind(conversation_id)
        .bind(actor.tenant_id())
        .fetch_optional(&mut *conn)
        .await?
        // An id that names no message of this conversation is unknown, like any other.
        .ok_or_else(|| Error::not_found("Message"))
}
