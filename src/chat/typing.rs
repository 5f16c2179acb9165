//! "Someone is typing": a fleeting event to the other participants (and the viewers of a
//! tenant-visible conversation), stored nowhere.

use sqlx::PgPool;
use uuid::Uuid;

use super::{access, events::Event};
use crate::{
    auth::Actor,
    error::Result,
    realtime::{Audience, Realtime},
};

pub async fn typing(pool: &PgPool, realtime: &Realtime, actor: &Actor, conversation_id: Uuid) -> Result<()> {
    actor.require_write()?;
    let mut conn = pool.acquire().await?;
    let access = access(&mut conn, actor, conversation_id, false).await?;
    access.require_member()?;
    let members: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT p.user_id, u.name FROM participants p JOIN users u ON u.id = p.user_id AND u.tenant_id = p.tenant_id
         WHERE p.conversation_id = $1 AND p.tenant_id = $2",
    )
    .bind(conversation_id)
    .bind(actor.tenant_id())
    .fetch_all(&mut *conn)
    .await?;
    drop(conn);
    let Some(user_name) = members
        .iter()
        .find(|(id, _)| *id == actor.user_id())
        .map(|(_, name)| name.clone())
    else {
        return Ok(());
    };
    // Not to the typist, not even to their other tabs.
    let others: Vec<Uuid> = members
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| *id != actor.user_id())
        .collect();
    let event = Event::Typing {
        conversation_id,
        user_id: actor.user_id(),
        user_name,
    };
    let audience = Audience {
        users: &others,
        viewers_of: access.viewers(),
    };
    realtime.send_to(audience, &event.envelope()).await;
    Ok(())
}
