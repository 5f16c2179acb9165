//! Who a message mentions: participants of its conversation, checked before the send.

use sqlx::PgConnection;
use uuid::Uuid;

use super::membership;
use crate::{
    auth::Actor,
    error::{Error, Result},
};

/// The most users one message may mention.
pub const MAX_MENTIONS: usize = 100;

/// The distinct ids of `mentions`, in the order first given; more than `MAX_MENTIONS`
/// answers 400.
pub(super) fn distinct(mentions: &[Uuid]) -> Result<Vec<Uuid>> {
    let mut seen = Vec::with_capacity(mentions.len());
    for id in mentions {
        if !seen.contains(id) {
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
