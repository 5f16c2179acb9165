//! Reactions: a participant's emoji on a message. Adding and removing are idempotent;
//! only a change is announced (`reaction`) to the participants and the viewers.
//! Messages show them aggregated per emoji (`Message.reactions`), read for a whole page
//! of messages in one query.

use std::collections::HashMap;

use sqlx::{PgConnection, PgPool};
use unicode_segmentation::UnicodeSegmentation;
use uuid::Uuid;

use super::{access, events::Event, views::Reaction};
use crate::{
    auth::Actor,
    error::{Code, Error, Result},
    realtime::{Audience, Realtime},
};

/// The most distinct emoji one message carries.
pub const MAX_EMOJI_PER_MESSAGE: i64 = 20;

/// The longest emoji accepted, in UTF-8 bytes: room for the longest family and flag
/// sequences (ZWJ and tag sequences run to about 28), not for text smuggled in one
/// grapheme with stacked combining marks.
const MAX_EMOJI_BYTES: usize = 32;

/// The keycap mark that makes a digit, `#` or `*` an emoji (1️⃣).
const KEYCAP: char = '\u{20E3}';

/// Characters that show nothing on their own: zero-width and direction marks, word
/// joiners, the byte-order mark, variation selectors and tags. A grapheme that starts
/// with one is no emoji.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{E0000}'..='\u{E007F}')
}

/// `text` if it is one emoji, else 400 `validation_error` (`field: emoji`). One
/// grapheme cluster of at most `MAX_EMOJI_BYTES`, with no letters, spaces or control
/// characters, not starting invisibly; plain ASCII (`+`, `1`) only as part of a keycap.
pub fn checked(text: &str) -> Result<&str> {
    let invalid = |why: &str| Err(Error::validation("emoji", format!("a reaction is one emoji: {why}")));
    if text.is_empty() || text.len() > MAX_EMOJI_BYTES {
        return invalid(&format!("1 to {MAX_EMOJI_BYTES} bytes"));
    }
    if text.graphemes(true).count() != 1 {
        return invalid("a single character");
    }
    if text.starts_with(invisible) {
        return invalid("nothing visible");
    }
    let keycap = text.contains(KEYCAP);
    let textual = |c: char| c.is_alphabetic() || c.is_whitespace() || c.is_control() || (c.is_numeric() && !keycap);
    if text.chars().any(textual) || (text.is_ascii() && !keycap) {
        return invalid("no letters, digits, spaces or control characters");
    }
    Ok(text)
}

/// Adds the caller's reaction (`added`) or removes it. `read` users get 403
/// `write_permission_required`; only participants react (403 `not_a_participant` for
/// a tenant-visible conversation's viewers, who join first); an unknown message is 404;
/// a deleted one takes no new reactions (409 `message_deleted`). A new emoji past
/// `MAX_EMOJI_PER_MESSAGE` distinct ones is 400 `validation_error`.
pub async fn set(
    pool: &PgPool,
    realtime: &Realtime,
    actor: &Actor,
    conversation_id: Uuid,
    message_id: Uuid,
    emoji: &str,
    added: bool,
) -> Result<()> {
    actor.require_write()?;
    let emoji = checked(emoji)?;
    let mut tx = pool.begin().await?;
    let access = access(&mut tx, actor, conversation_id, false).await?;
    access.require_member()?;
    // Locking the message makes the distinct-emoji count exact under concurrent adds.
    let deleted: bool = sqlx::query_scalar(
        "SELECT deleted FROM messages WHERE id = $1 AND conversation_id = $2 AND tenant_id = $3 FOR UPDATE",
    )
    .bind(message_id)
    .bind(conversation_id)
    .bind(actor.tenant_id())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found("Message"))?;
    let changed = if added {
        if deleted {
            return Err(Error::Conflict {
                code: Code::MessageDeleted,
                message: "A deleted message takes no reactions.".into(),
            });
        }
        check_room(&mut tx, actor, message_id, emoji).await?;
        sqlx::query(
            "INSERT INTO reactions (tenant_id, message_id, conversation_id, user_id, emoji)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(actor.tenant_id())
        .bind(message_id)
        .bind(conversation_id)
        .bind(actor.user_id())
        .bind(emoji)
        .execute(&mut *tx)
        .await?
        .rows_affected()
    } else {
        sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3 AND tenant_id = $4")
            .bind(message_id)
            .bind(actor.user_id())
            .bind(emoji)
            .bind(actor.tenant_id())
            .execute(&mut *tx)
            .await?
            .rows_affected()
    } > 0;
    let members: Vec<Uuid> =
        sqlx::query_scalar("SELECT user_id FROM participants WHERE conversation_id = $1 AND tenant_id = $2")
            .bind(conversation_id)
            .bind(actor.tenant_id())
            .fetch_all(&mut *tx)
            .await?;
    tx.commit().await?;
    if changed {
        let event = Event::Reaction {
            conversation_id,
            message_id,
            emoji: emoji.to_owned(),
            user_id: actor.user_id(),
            added,
        };
        let audience = Audience {
            users: &members,
            viewers_of: access.viewers(),
        };
        realtime.send_to(audience, &event.envelope()).await;
    }
    Ok(())
}

/// 400 when `emoji` would be one distinct emoji too many on the message.
async fn check_room(tx: &mut PgConnection, actor: &Actor, message_id: Uuid, emoji: &str) -> Result<()> {
    let (distinct, present): (i64, bool) = sqlx::query_as(
        "SELECT count(DISTINCT emoji), coalesce(bool_or(emoji = $3), false)
         FROM reactions WHERE message_id = $1 AND tenant_id = $2",
    )
    .bind(message_id)
    .bind(actor.tenant_id())
    .bind(emoji)
    .fetch_one(&mut *tx)
    .await?;
    if !present && distinct >= MAX_EMOJI_PER_MESSAGE {
        return Err(Error::validation(
            "emoji",
            format!("a message carries at most {MAX_EMOJI_PER_MESSAGE} different emoji"),
        ));
    }
    Ok(())
}

/// The reactions of each of `message_ids` with `me` for the actor, in one query; a
/// message without any is absent.
pub(super) async fn for_messages(
    conn: &mut PgConnection,
    actor: &Actor,
    message_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Reaction>>> {
    let rows: Vec<(Uuid, String, i64, bool)> = sqlx::query_as(
        "SELECT message_id, emoji, count(*), bool_or(user_id = $3)
         FROM reactions WHERE message_id = ANY($1) AND tenant_id = $2
         GROUP BY message_id, emoji ORDER BY message_id, min(created_at), emoji",
    )
    .bind(message_ids)
    .bind(actor.tenant_id())
    .bind(actor.user_id())
    .fetch_all(&mut *conn)
    .await?;
    let mut by_message: HashMap<Uuid, Vec<Reaction>> = HashMap::new();
    for (message_id, emoji, count, me) in rows {
        by_message
            .entry(message_id)
            .or_default()
            .push(Reaction { emoji, count, me });
    }
    Ok(by_message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_emoji_passes() {
        for ok in ["👍", "❤️", "👍🏽", "👨‍👩‍👧‍👦", "🇵🇹", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "✅"]
        {
            assert_eq!(checked(ok).unwrap(), ok, "{ok:?}");
        }
    }

    #[test]
    fn text_and_long_sequences_are_refused() {
        let stacked = format!("😀{}", "\u{0301}".repeat(20));
        for bad in [
            "",
            "abc",
            "a",
            "é",
            "1",
            "+",
            " ",
            "\u{7}",
            "👍👍",
            "👍 ",
            "\u{200B}",
            stacked.as_str(),
        ] {
            assert!(checked(bad).is_err(), "{bad:?} passed");
        }
    }
}
