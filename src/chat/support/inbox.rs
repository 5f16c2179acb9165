//! The agents' inbox — a tenant's support conversations by status, most recent activity
//! first, paged by a keyset cursor — and the canned replies agents pick from.

use poem_openapi::Object;
use sqlx::PgPool;
use uuid::Uuid;

use super::{require_staff, support_views, SupportConversation};
use crate::{
    auth::Actor,
    chat::settings::{CannedReply, TenantSettings},
    domain::{Limit, SupportStatus},
    error::{Error, Result},
};

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;

pub struct InboxQuery {
    pub status: SupportStatus,
    pub limit: Option<Limit>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Object)]
pub struct InboxPage {
    /// Most recent activity first.
    pub results: Vec<SupportConversation>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// Where a page ends in the order (last activity, id), both descending. Written as
/// `<microseconds since 1970>.<id>`; clients treat it as opaque.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cursor {
    updated_us: i64,
    id: Uuid,
}

impl Cursor {
    fn encode(&self) -> String {
        format!("{}.{}", self.updated_us, self.id)
    }

    fn decode(text: &str) -> Result<Self> {
        let invalid = || Error::validation("cursor", "cursor: not a cursor this inbox returned");
        let (updated_us, id) = text.split_once('.').ok_or_else(invalid)?;
        Ok(Cursor {
            updated_us: updated_us.parse().map_err(|_| invalid())?,
            id: id.parse().map_err(|_| invalid())?,
        })
    }
}

/// The support conversations of one status, for the desk's staff only (403
/// `agent_permission_required` for anyone else).
pub async fn inbox(pool: &PgPool, actor: &Actor, query: &InboxQuery) -> Result<InboxPage> {
    let limit = Limit::or_default(query.limit, DEFAULT_PAGE, MAX_PAGE);
    let cursor = query.cursor.as_deref().map(Cursor::decode).transpose()?;
    let mut conn = pool.acquire().await?;
    require_staff(&mut conn, actor).await?;
    // One more than a page, to know whether another follows.
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "WITH desk AS (
             SELECT c.id, (extract(epoch FROM c.updated_at) * 1000000)::bigint AS updated_us
             FROM support_conversations s
             JOIN conversations c ON c.id = s.conversation_id AND c.tenant_id = s.tenant_id
             WHERE s.tenant_id = $1 AND s.status = $2
         )
         SELECT id, updated_us FROM desk
         WHERE $3::bigint IS NULL OR (updated_us, id) < ($3, $4)
         ORDER BY updated_us DESC, id DESC LIMIT $5",
    )
    .bind(actor.tenant_id())
    .bind(query.status)
    .bind(cursor.map(|c| c.updated_us))
    .bind(cursor.map(|c| c.id))
    .bind(limit + 1)
    .fetch_all(&mut *conn)
    .await?;
    let next_cursor = (rows.len() as i64 > limit).then(|| {
        let (id, updated_us) = rows[limit as usize - 1];
        Cursor { updated_us, id }.encode()
    });
    let ids: Vec<Uuid> = rows.iter().take(limit as usize).map(|(id, _)| *id).collect();
    let results = support_views(&mut conn, actor, &ids).await?;
    Ok(InboxPage { results, next_cursor })
}

/// The tenant's canned replies, for the desk's staff.
pub async fn canned_replies(pool: &PgPool, actor: &Actor) -> Result<Vec<CannedReply>> {
    let mut conn = pool.acquire().await?;
    require_staff(&mut conn, actor).await?;
    drop(conn);
    let settings = TenantSettings::load(pool, actor.tenant_id()).await?;
    Ok(settings.canned_replies().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written_and_junk_is_refused() {
        let cursor = Cursor {
            updated_us: 1_764_590_400_123_456,
            id: Uuid::new_v4(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        for junk in ["", "12", "x.y", "12.not-a-uuid"] {
            assert!(Cursor::decode(junk).is_err(), "{junk:?}");
        }
    }
}
