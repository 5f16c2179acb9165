//! Delivery and read receipts as per-participant watermarks: every message with
//! `seq <= delivered_seq` is delivered to that participant, every one with
//! `seq <= read_seq` read. Moving a watermark is one row update however many messages
//! it covers, and a message's status is a comparison, not a lookup of per-message rows.

use std::collections::HashMap;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{membership, views::MessageStatus, Membership};
use crate::{auth::Actor, error::Result};

/// How far one participant (or, as a minimum, all of them) has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermarks {
    pub delivered: i64,
    pub read: i64,
}

impl Watermarks {
    fn status_of(&self, seq: i64) -> MessageStatus {
        if self.read >= seq {
            MessageStatus::Read
        } else if self.delivered >= seq {
            MessageStatus::Delivered
        } else {
            MessageStatus::Sent
        }
    }
}

/// What the status of any message in one conversation is computed from, for one viewer.
#[derive(Debug, Clone, Copy)]
pub struct StatusContext {
    pub viewer: Uuid,
    /// The viewer's own watermarks (for messages from others).
    pub own: Watermarks,
    /// The lowest watermarks among the other participants (for the viewer's own
    /// messages); `None` when nobody else is in the conversation.
    pub others: Option<Watermarks>,
}

impl StatusContext {
    pub fn status(&self, seq: i64, sender_id: Uuid) -> MessageStatus {
        if sender_id == self.viewer {
            self.others
                .map_or(MessageStatus::Sent, |w| w.status_of(seq))
        } else {
            self.own.status_of(seq)
        }
    }
}

/// The slowest other participant's watermarks per conversation, for `viewer`.
pub async fn others_watermarks(
    conn: &mut PgConnection,
    actor: &Actor,
    conversation_ids: &[Uuid],
) -> Result<HashMap<Uuid, Watermarks>> {
    let rows: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "SELECT conversation_id, min(delivered_seq), min(read_seq) FROM participants
         WHERE conversation_id = ANY($1) AND tenant_id = $2 AND user_id <> $3
         GROUP BY conversation_id",
    )
    .bind(conversation_ids)
    .bind(actor.tenant_id())
    .bind(actor.user_id())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, delivered, read)| (id, Watermarks { delivered, read }))
        .collect())
}

/// Marks everything up to `seq` delivered to the caller (never moves backwards).
/// Returns the caller's watermarks afterwards.
pub async fn mark_delivered(
    conn: &mut PgConnection,
    actor: &Actor,
    member: &Membership,
    seq: i64,
) -> Result<Watermarks> {
    if seq <= member.delivered_seq {
        return Ok(Watermarks {
            delivered: member.delivered_seq,
            read: member.read_seq,
        });
    }
    let (delivered, read): (i64, i64) = sqlx::query_as(
        "UPDATE participants SET delivered_seq = greatest(delivered_seq, $4), delivered_at = now()
         WHERE conversation_id = $1 AND user_id = $2 AND tenant_id = $3
         RETURNING delivered_seq, read_seq",
    )
    .bind(member.conversation_id)
    .bind(actor.user_id())
    .bind(actor.tenant_id())
    .bind(seq.min(member.last_seq))
    .fetch_one(&mut *conn)
    .await?;
    Ok(Watermarks { delivered, read })
}

/// Marks the whole conversation read for the caller; returns how many messages from
/// others that newly covered (the unread count before the call).
pub async fn mark_read(pool: &PgPool, actor: &Actor, conversation_id: Uuid) -> Result<i64> {
    actor.require_write()?;
    let mut tx = pool.begin().await?;
    // The share lock holds last_seq still: no message can slip in between reading it
    // and moving the watermark, so `own_after_read = 0` is exact.
    let member = membership(&mut tx, actor, conversation_id, true).await?;
    let marked = member.unread_count();
    if member.read_seq < member.last_seq || member.own_after_read != 0 {
        sqlx::query(
            "UPDATE participants SET read_seq = $4, read_at = now(), own_after_read = 0,
                 delivered_seq = greatest(delivered_seq, $4),
                 delivered_at = CASE WHEN delivered_seq < $4 THEN now() ELSE delivered_at END
             WHERE conversation_id = $1 AND user_id = $2 AND tenant_id = $3",
        )
        .bind(conversation_id)
        .bind(actor.user_id())
        .bind(actor.tenant_id())
        .bind(member.last_seq)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(marked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_messages_follow_the_slowest_recipient_others_follow_the_viewer() {
        let me = Uuid::new_v4();
        let other = Uuid::new_v4();
        let ctx = StatusContext {
            viewer: me,
            own: Watermarks {
                delivered: 5,
                read: 2,
            },
            others: Some(Watermarks {
                delivered: 4,
                read: 3,
            }),
        };
        assert_eq!(ctx.status(3, me), MessageStatus::Read);
        assert_eq!(ctx.status(4, me), MessageStatus::Delivered);
        assert_eq!(ctx.status(5, me), MessageStatus::Sent);
        assert_eq!(ctx.status(2, other), MessageStatus::Read);
        assert_eq!(ctx.status(5, other), MessageStatus::Delivered);
        assert_eq!(ctx.status(6, other), MessageStatus::Sent);
        let alone = StatusContext {
            others: None,
            ..ctx
        };
        assert_eq!(alone.status(1, me), MessageStatus::Sent);
    }
}
