//! Endpoint 9: who of the caller's tenant is online.

use poem_openapi::Object;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{auth::Actor, error::Result, realtime::Realtime, timestamp::Timestamp};

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
