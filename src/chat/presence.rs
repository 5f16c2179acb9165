//! Who is online: endpoint 9 (the whole tenant, for REST), and what a socket follows —
//! its default interest and the state of the users it subscribes to.

use poem_openapi::Object;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{auth::Actor, error::Result, realtime::Realtime, timestamp::Timestamp};

/// Most users one socket follows: the cap of `presence_subscribe`, and of the default
/// interest (a user in hundreds of small groups follows the first 500 partners).
pub const MAX_INTEREST: usize = 500;
/// Groups up to this size count toward the default interest; in a larger group the
/// widget shows members on demand and subscribes to them.
const SMALL_GROUP: i64 = 50;

#[derive(Debug, Object)]
pub struct UserPresence {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    /// An open socket on any node, or (polling clients) REST activity within 120 s
    /// after the user's last socket closed.
    pub is_online: bool,
    /// Last activity as recorded in the database (updated about once a minute).
    #[oai(nullable)]
    pub last_seen: Option<Timestamp>,
}

/// One entry of a `presence_state` frame.
#[derive(Debug, Clone, Serialize)]
pub struct PresenceState {
    pub user_id: Uuid,
    pub is_online: bool,
    pub last_seen: Option<Timestamp>,
}

/// Every active user of the caller's tenant, by name.
pub async fn list(pool: &PgPool, realtime: &Realtime, actor: &Actor) -> Result<Vec<UserPresence>> {
    let users: Vec<(Uuid, String, String, Option<Timestamp>)> = sqlx::query_as(
        "SELECT id, name, email, last_seen FROM users WHERE tenant_id = $1 AND is_active ORDER BY name, id",
    )
    .bind(actor.tenant_id())
    .fetch_all(pool)
    .await?;
    let online = realtime.presence.online(actor.tenant_id()).await;
    Ok(users
        .into_iter()
        .map(|(id, name, email, last_seen)| UserPresence {
            is_online: online.contains(&id),
            id,
            name,
            email,
            last_seen,
        })
        .collect())
}

/// Those of `user_ids` who are active users of the caller's tenant, with their
/// `last_seen`; any other id is left out, so nothing about other tenants is revealed.
pub async fn known(pool: &PgPool, actor: &Actor, user_ids: &[Uuid]) -> Result<Vec<(Uuid, Option<Timestamp>)>> {
    Ok(sqlx::query_as(
        "SELECT id, last_seen FROM users WHERE tenant_id = $1 AND id = ANY($2) AND is_active ORDER BY id",
    )
    .bind(actor.tenant_id())
    .bind(user_ids)
    .fetch_all(pool)
    .await?)
}

/// The presence of `users` (as `known` returned them) now.
pub async fn states(realtime: &Realtime, actor: &Actor, users: Vec<(Uuid, Option<Timestamp>)>) -> Vec<PresenceState> {
    let ids: Vec<Uuid> = users.iter().map(|(id, _)| *id).collect();
    let online = realtime.presence.online_among(actor.tenant_id(), &ids).await;
    users
        .into_iter()
        .map(|(user_id, last_seen)| PresenceState {
            is_online: online.contains(&user_id),
            user_id,
            last_seen,
        })
        .collect()
}

/// Whom a socket that never subscribed follows: the other participants of the caller's
/// 1-to-1 conversations and of groups of at most 50 members.
pub async fn default_interest(pool: &PgPool, actor: &Actor) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "WITH mine AS (
             SELECT c.id FROM participants p
             JOIN conversations c ON c.tenant_id = p.tenant_id AND c.id = p.conversation_id
             WHERE p.tenant_id = $1 AND p.user_id = $2
               AND (NOT c.is_group
                    OR (SELECT count(*) FROM participants m WHERE m.conversation_id = c.id) <= $3)
         )
         SELECT DISTINCT other.user_id FROM participants other
         WHERE other.tenant_id = $1 AND other.conversation_id IN (SELECT id FROM mine)
           AND other.user_id <> $2
         LIMIT $4",
    )
    .bind(actor.tenant_id())
    .bind(actor.user_id())
    .bind(SMALL_GROUP)
    .bind(MAX_INTEREST as i64)
    .fetch_all(pool)
    .await?)
}
