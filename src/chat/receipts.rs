//! Delivery and read receipts as per-participant watermarks: every message with
//! `seq <= delivered_seq` is delivered to that participant, every one with
//! `seq <= read_seq` read. Moving a watermark is one row update however many messages
//! it covers, and a message's status is a comparison, not a lookup of per-message rows.
//! After a move commits, the participants hear of it: `read` to all of them, and
//! `message_status` to each sender whose messages' aggregated status advanced.

use std::collections::HashMap;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{events::Event, membership, views::MessageStatus, Membership};
use crate::{auth::Actor, error::Result, realtime::Realtime};

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

    pub fn min(self, other: Watermarks) -> Watermarks {
        Watermarks {
            delivered: self.delivered.min(other.delivered),
            read: self.read.min(other.read),
        }
    }
}

impl From<&Membership> for Watermarks {
    fn from(member: &Membership) -> Self {
        Watermarks {
            delivered: member.delivered_seq,
            read: member.read_seq,
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
            self.others.map_or(MessageStatus::Sent, |w| w.status_of(seq))
        } else {
            self.own.status_of(seq)
        }
    }
}

/// The slowest other participant's watermarks per conversation, for the actor.
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

/// Every participant's watermarks in one conversation.
pub(crate) async fn participants_watermarks(
    conn: &mut PgConnection,
    actor: &Actor,
    conversation_id: Uuid,
) -> Result<Vec<(Uuid, Watermarks)>> {
    let rows: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "SELECT user_id, delivered_seq, read_seq FROM participants WHERE conversation_id = $1 AND tenant_id = $2",
    )
    .bind(conversation_id)
    .bind(actor.tenant_id())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(user, delivered, read)| (user, Watermarks { delivered, read }))
        .collect())
}

/// The slowest watermarks among `marks` but the `excluded` users; `None` if nobody is left.
pub(crate) fn slowest_except(marks: &[(Uuid, Watermarks)], excluded: &[Uuid]) -> Option<Watermarks> {
    marks
        .iter()
        .filter(|(user, _)| !excluded.contains(user))
        .map(|(_, w)| *w)
        .reduce(Watermarks::min)
}

/// A watermark move of the caller, to announce once committed.
#[derive(Debug, Clone, Copy)]
pub struct Moved {
    conversation_id: Uuid,
    before: Watermarks,
    after: Watermarks,
}

/// Marks everything up to `seq` delivered to the caller (never moves backwards, never
/// past the conversation's end). Returns the caller's watermarks and the move, if any.
pub async fn mark_delivered(
    conn: &mut PgConnection,
    actor: &Actor,
    member: &Membership,
    seq: i64,
) -> Result<(Watermarks, Option<Moved>)> {
    let before = Watermarks::from(member);
    let target = seq.min(member.last_seq);
    if target <= before.delivered {
        return Ok((before, None));
    }
    sqlx::query(
        "UPDATE participants SET delivered_seq = $4, delivered_at = now()
         WHERE conversation_id = $1 AND user_id = $2 AND tenant_id = $3 AND delivered_seq < $4",
    )
    .bind(member.conversation_id)
    .bind(actor.user_id())
    .bind(actor.tenant_id())
    .bind(target)
    .execute(&mut *conn)
    .await?;
    let after = Watermarks {
        delivered: target,
        read: before.read,
    };
    Ok((
        after,
        Some(Moved {
            conversation_id: member.conversation_id,
            before,
            after,
        }),
    ))
}

/// The `ack` frame: everything up to `seq` reached the caller.
pub async fn acknowledge(
    pool: &PgPool,
    realtime: &Realtime,
    actor: &Actor,
    conversation_id: Uuid,
    seq: i64,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    let member = membership(&mut tx, actor, conversation_id, false).await?;
    let (_, moved) = mark_delivered(&mut tx, actor, &member, seq).await?;
    tx.commit().await?;
    if let Some(moved) = moved {
        announce(pool, realtime, actor, moved).await?;
    }
    Ok(())
}

/// Marks the conversation read for the caller up to `up_to` (everything when `None`);
/// returns how many messages from others that newly covered.
pub async fn mark_read(
    pool: &PgPool,
    realtime: &Realtime,
    actor: &Actor,
    conversation_id: Uuid,
    up_to: Option<i64>,
) -> Result<i64> {
    actor.require_write()?;
    let mut tx = pool.begin().await?;
    // The share lock holds last_seq still while the watermark moves, so the count of
    // the caller's own messages past it is exact.
    let member = membership(&mut tx, actor, conversation_id, true).await?;
    let before = Watermarks::from(&member);
    let target = up_to.unwrap_or(member.last_seq).min(member.last_seq);
    if target <= before.read {
        tx.commit().await?;
        return Ok(0);
    }
    let own_after_read: i64 = sqlx::query_scalar(
        "UPDATE participants SET read_seq = $4, read_at = now(),
             delivered_at = CASE WHEN delivered_seq < $4 THEN now() ELSE delivered_at END,
             delivered_seq = greatest(delivered_seq, $4),
             own_after_read = (SELECT count(*) FROM messages
                               WHERE conversation_id = $1 AND sender_id = $2 AND seq > $4)
         WHERE conversation_id = $1 AND user_id = $2 AND tenant_id = $3
         RETURNING own_after_read",
    )
    .bind(conversation_id)
    .bind(actor.user_id())
    .bind(actor.tenant_id())
    .bind(target)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let after = Watermarks {
        delivered: before.delivered.max(target),
        read: target,
    };
    let unread_after = member.last_seq - target - own_after_read;
    announce(
        pool,
        realtime,
        actor,
        Moved {
            conversation_id,
            before,
            after,
        },
    )
    .await?;
    Ok((member.unread_count() - unread_after.max(0)).max(0))
}

/// Tells the participants about a committed move of the actor's watermarks.
pub(crate) async fn announce(pool: &PgPool, realtime: &Realtime, actor: &Actor, moved: Moved) -> Result<()> {
    let Moved {
        conversation_id,
        before,
        after,
    } = moved;
    let mut conn = pool.acquire().await?;
    let marks = participants_watermarks(&mut conn, actor, conversation_id).await?;
    let participants: Vec<Uuid> = marks.iter().map(|(user, _)| *user).collect();
    if after.read > before.read {
        let event = Event::Read {
            conversation_id,
            user_id: actor.user_id(),
            seq: after.read,
        };
        realtime.send_to_users(&participants, &event.envelope()).await;
    }

    // Senders of the messages the move covered: their aggregated status may have advanced.
    let senders: Vec<Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT sender_id FROM messages
         WHERE conversation_id = $1 AND tenant_id = $2 AND seq > $3 AND seq <= $4 AND sender_id <> $5",
    )
    .bind(conversation_id)
    .bind(actor.tenant_id())
    .bind(before.read)
    .bind(after.delivered)
    .bind(actor.user_id())
    .fetch_all(&mut *conn)
    .await?;
    for sender in senders {
        // The slowest of the sender's recipients, with the actor before and after the move.
        let (old, new) = match slowest_except(&marks, &[sender, actor.user_id()]) {
            Some(others) => (others.min(before), others.min(after)),
            None => (before, after),
        };
        for (status, old_seq, new_seq) in [
            (MessageStatus::Delivered, old.delivered, new.delivered),
            (MessageStatus::Read, old.read, new.read),
        ] {
            if new_seq > old_seq {
                let event = Event::MessageStatus {
                    conversation_id,
                    seq: new_seq,
                    status,
                };
                realtime.send_to_users(&[sender], &event.envelope()).await;
            }
        }
    }
    Ok(())
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
            own: Watermarks { delivered: 5, read: 2 },
            others: Some(Watermarks { delivered: 4, read: 3 }),
        };
        assert_eq!(ctx.status(3, me), MessageStatus::Read);
        assert_eq!(ctx.status(4, me), MessageStatus::Delivered);
        assert_eq!(ctx.status(5, me), MessageStatus::Sent);
        assert_eq!(ctx.status(2, other), MessageStatus::Read);
        assert_eq!(ctx.status(5, other), MessageStatus::Delivered);
        assert_eq!(ctx.status(6, other), MessageStatus::Sent);
        let alone = StatusContext { others: None, ..ctx };
        assert_eq!(alone.status(1, me), MessageStatus::Sent);
    }
}
