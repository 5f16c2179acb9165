//! The chat domain: conversations, messages, receipts. Plain functions over a `PgPool`
//! or transaction that take the `Actor`; every query is scoped by the actor's tenant.

pub mod attachments;
pub mod content;
pub mod conversations;
pub mod events;
pub mod filenames;
pub mod history;
pub mod images;
pub mod messages;
pub mod presence;
pub mod receipts;
pub mod retention;
pub mod settings;
pub mod staging;
pub mod typing;
pub mod uploads;
pub mod views;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    auth::Actor,
    error::{Error, Result},
};

/// The caller's membership of one conversation, read at the start of every
/// conversation-scoped call.
#[derive(Debug, Clone, Copy)]
pub struct Membership {
    pub conversation_id: Uuid,
    pub last_seq: i64,
    pub delivered_seq: i64,
    pub read_seq: i64,
    pub own_after_read: i64,
}

impl Membership {
    /// Messages from others the member has not read yet.
    pub fn unread_count(&self) -> i64 {
        (self.last_seq - self.read_seq - self.own_after_read).max(0)
    }
}

/// Finds the caller's membership: 404 when the conversation does not exist in the
/// caller's tenant (another tenant's id looks exactly like a missing one), 403
/// `not_a_participant` when it exists but the caller is not in it. `lock` takes a
/// share lock on the conversation row so `last_seq` cannot move until commit.
pub(crate) async fn membership(
    conn: &mut PgConnection,
    actor: &Actor,
    conversation_id: Uuid,
    lock: bool,
) -> Result<Membership> {
    let lock_clause = if lock { " FOR SHARE OF c" } else { "" };
    let sql = format!(
        "SELECT c.id, c.last_seq, p.delivered_seq, p.read_seq, p.own_after_read
         FROM conversations c
         LEFT JOIN participants p ON p.conversation_id = c.id AND p.user_id = $3
         WHERE c.id = $1 AND c.tenant_id = $2{lock_clause}"
    );
    // The participant columns are NULL when the caller is not a member.
    type Row = (Uuid, i64, Option<i64>, Option<i64>, Option<i64>);
    let row: Option<Row> = sqlx::query_as(&sql)
        .bind(conversation_id)
        .bind(actor.tenant_id())
        .bind(actor.user_id())
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        None => Err(Error::not_found("Conversation")),
        Some((conversation_id, last_seq, Some(delivered_seq), Some(read_seq), Some(own_after_read))) => {
            Ok(Membership {
                conversation_id,
                last_seq,
                delivered_seq,
                read_seq,
                own_after_read,
            })
        }
        Some(_) => Err(Error::NotAParticipant),
    }
}
