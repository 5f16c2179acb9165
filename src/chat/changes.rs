//! A change to a conversation's members or settings, and what it tells people. In the
//! change's own transaction it adds a system message (`kind: system`, its `metadata`
//! saying what happened, so clients word it in their language; it takes a `seq` like any
//! message); once the change is committed, the system messages go out as
//! `message_created` in `seq` order, then `conversation_updated` to every member as each
//! sees it, to the viewers of a tenant-visible conversation, and to whoever just lost it.

use serde_json::{json, Value};
use sqlx::{types::Json, PgConnection, PgPool};
use uuid::Uuid;

use super::{
    content::Metadata,
    events::Event,
    listing::Shared,
    message_views::{into_views, rows_by_ids},
    receipts::{StatusContext, Watermarks},
    sealed::{Record, StoredText},
    views::Message,
};
use crate::{
    auth::Actor,
    domain::{MemberRole, Visibility},
    error::{Error, Result},
    hooks::outbox,
    realtime::{Audience, Realtime},
    timestamp::Timestamp,
};

/// Members listed by id in a system message's metadata; a larger addition is counted.
const LISTED: usize = 50;
/// Names the English fallback text spells out before "and N others".
const NAMED: usize = 3;

/// A user a system message is about.
#[derive(Debug, Clone)]
pub(super) struct Someone {
    pub id: Uuid,
    pub name: String,
}

/// What happened, as a system message tells it.
#[derive(Debug, Clone)]
pub(super) enum SystemEvent {
    MembersAdded(Vec<Someone>),
    MemberRemoved(Someone),
    MemberLeft,
    MemberJoined,
    /// `by_succession`: the group's last owner left and its longest-standing member
    /// took over.
    RoleChanged {
        user: Someone,
        role: MemberRole,
        by_succession: bool,
    },
    TitleChanged(Option<String>),
    DescriptionChanged(String),
    VisibilityChanged(Visibility),
    /// A support conversation went to `agent`; `automatic`: by round-robin.
    SupportAssigned {
        agent: Someone,
        automatic: bool,
    },
    SupportClosed,
    SupportReopened,
    /// An assistant bot (the sender) could not answer; `reason` is one of
    /// `chat::answers::FailureReason`'s words.
    AssistantFailed {
        reason: &'static str,
    },
}

impl SystemEvent {
    /// The metadata clients word the message from. `by` is the user who made the change
    /// (also the message's sender).
    fn metadata(&self, by: Uuid) -> Value {
        let mut metadata = match self {
            SystemEvent::MembersAdded(users) => json!({
                "event": "member_added",
                "user_ids": users.iter().take(LISTED).map(|u| u.id).collect::<Vec<_>>(),
                "count": users.len(),
            }),
            SystemEvent::MemberRemoved(user) => {
                json!({"event": "member_removed", "user_id": user.id, "user_name": user.name})
            }
            SystemEvent::MemberLeft => json!({"event": "member_left", "user_id": by}),
            SystemEvent::MemberJoined => json!({"event": "member_joined", "user_id": by}),
            SystemEvent::RoleChanged {
                user,
                role,
                by_succession,
            } => json!({
                "event": "role_changed", "user_id": user.id, "user_name": user.name, "role": role,
                "succession": by_succession,
            }),
            SystemEvent::TitleChanged(title) => json!({"event": "title_changed", "title": title}),
            SystemEvent::DescriptionChanged(description) => {
                json!({"event": "description_changed", "description": description})
            }
            SystemEvent::VisibilityChanged(visibility) => {
                json!({"event": "visibility_changed", "visibility": visibility})
            }
            SystemEvent::SupportAssigned { agent, automatic } => json!({
                "event": "support_assigned", "agent_id": agent.id, "agent_name": agent.name,
                "automatic": automatic,
            }),
            SystemEvent::SupportClosed => json!({"event": "support_closed"}),
            SystemEvent::SupportReopened => json!({"event": "support_reopened"}),
            SystemEvent::AssistantFailed { reason } => json!({"event": "assistant_failed", "reason": reason}),
        };
        metadata["by"] = json!(by);
        metadata
    }

    /// An English line for clients that do not know system messages (API v1 clients
    /// show the content); new clients word the metadata instead.
    fn fallback(&self, by: &str) -> String {
        match self {
            SystemEvent::MembersAdded(users) => {
                let mut names: Vec<&str> = users.iter().take(NAMED).map(|u| u.name.as_str()).collect();
                let others = users.len().saturating_sub(NAMED);
                let others = format!("{others} others");
                if users.len() > NAMED {
                    names.push(&others);
                }
                let listed = match names.split_last() {
                    Some((last, [])) => last.to_string(),
                    Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
                    None => String::new(),
                };
                format!("{by} added {listed}")
            }
            SystemEvent::MemberRemoved(user) => format!("{by} removed {}", user.name),
            SystemEvent::MemberLeft => format!("{by} left"),
            SystemEvent::MemberJoined => format!("{by} joined"),
            SystemEvent::RoleChanged {
                user,
                role,
                by_succession: true,
            } => format!("{} is now {}", user.name, role.as_str()),
            SystemEvent::RoleChanged { user, role, .. } => format!("{by} made {} {}", user.name, role.as_str()),
            SystemEvent::TitleChanged(Some(title)) => format!("{by} renamed the group to {title}"),
            SystemEvent::TitleChanged(None) => format!("{by} removed the group's title"),
            SystemEvent::DescriptionChanged(_) => format!("{by} changed the description"),
            SystemEvent::VisibilityChanged(Visibility::Tenant) => {
                format!("{by} shared the group with everyone in the organisation")
            }
            SystemEvent::VisibilityChanged(Visibility::Private) => format!("{by} made the group private"),
            SystemEvent::SupportAssigned { agent, automatic: true } => {
                format!("{} was assigned to the conversation", agent.name)
            }
            SystemEvent::SupportAssigned { agent, .. } => format!("{by} assigned the conversation to {}", agent.name),
            SystemEvent::SupportClosed => format!("{by} closed the conversation"),
            SystemEvent::SupportReopened => format!("{by} reopened the conversation"),
            SystemEvent::AssistantFailed { reason } => format!("{by} could not answer: {reason}"),
        }
    }
}

/// A system message written in the change's transaction, to publish after the commit.
struct Posted {
    seq: i64,
    predecessor_created: Option<Timestamp>,
    message: Message,
}

/// Everything one change of one conversation announces once committed.
pub(super) struct Announcement {
    conversation_id: Uuid,
    /// Whether the conversation was tenant-visible before the change: its viewers then
    /// hear of the change even if it makes the conversation private.
    was_shared: bool,
    posted: Vec<Posted>,
    /// Users who were members before the change and are not after it.
    left: Vec<Uuid>,
}

impl Announcement {
    pub(super) fn new(conversation_id: Uuid, was_shared: bool) -> Announcement {
        Announcement {
            conversation_id,
            was_shared,
            posted: Vec::new(),
            left: Vec::new(),
        }
    }

    /// `user` is no longer a member: it hears of the change once more, then no longer.
    pub(super) fn lost(&mut self, user: Uuid) {
        self.left.push(user);
    }

    /// Adds the system message of `event`, sent by `actor`, on `tx`: the next `seq`, and
    /// counted as the actor's own so it is unread for everyone else.
    pub(super) async fn post(&mut self, tx: &mut PgConnection, actor: &Actor, event: SystemEvent) -> Result<()> {
        let by: String = sqlx::query_scalar("SELECT name FROM users WHERE id = $1 AND tenant_id = $2")
            .bind(actor.user_id())
            .bind(actor.tenant_id())
            .fetch_one(&mut *tx)
            .await?;
        let change = event.metadata(actor.user_id());
        // Tenant webhooks hear of the change in its own transaction (the outbox).
        if let Some(name) = change["event"].as_str() {
            let payload = json!({"conversation_id": self.conversation_id, "change": change});
            outbox::enqueue(tx, actor.tenant_id(), name, &payload).await?;
        }
        let metadata: Metadata = serde_json::from_value(change).map_err(Error::internal)?;
        let id = Uuid::new_v4();
        let stored = StoredText::seal(Record::Message, actor.tenant_id(), id, &event.fallback(&by));
        let (seq, predecessor_created): (i64, Option<Timestamp>) = sqlx::query_as(SYSTEM_MESSAGE)
            .bind(self.conversation_id)
            .bind(actor.tenant_id())
            .bind(id)
            .bind(actor.user_id())
            .bind(&stored.content)
            .bind(Json(metadata))
            .bind(&stored.content_key_id)
            .bind(&stored.content_sealed)
            .fetch_one(&mut *tx)
            .await?;
        // Nobody has seen a message this new: `sent` for everyone, like a fresh send.
        let fresh = StatusContext {
            viewer: actor.user_id(),
            own: Watermarks { delivered: 0, read: 0 },
            others: None,
        };
        let rows = rows_by_ids(tx, actor, &[id]).await?;
        let message = into_views(tx, actor, rows, |_| fresh)
            .await?
            .pop()
            .ok_or_else(|| Error::internal("a system message vanished in its own transaction"))?;
        self.posted.push(Posted {
            seq,
            predecessor_created,
            message,
        });
        Ok(())
    }

    /// Tells everyone concerned, after the change has committed. A failure to publish is
    /// logged by the channel layer; clients catch up through REST.
    pub(super) async fn publish(self, pool: &PgPool, realtime: &Realtime, actor: &Actor) -> Result<()> {
        let mut conn = pool.acquire().await?;
        let shared = Shared::load(&mut conn, actor, self.conversation_id).await?;
        drop(conn);
        let members = shared.members();
        let viewers_of = (self.was_shared || shared.has_viewers()).then_some(self.conversation_id);
        for posted in self.posted {
            let event = Event::MessageCreated {
                conversation_id: self.conversation_id,
                message: posted.message,
            };
            let audience = Audience {
                users: &members,
                viewers_of,
            };
            realtime
                .send_in_order(
                    self.conversation_id,
                    posted.seq,
                    posted.predecessor_created.map(|t| t.0),
                    audience,
                    &event.envelope(),
                )
                .await;
        }
        // Outsiders before members: a member whose socket still views the conversation
        // (it just joined, or was just assigned it) gets both, and must end with its own.
        let outsiders = Audience {
            users: &self.left,
            viewers_of,
        };
        if !outsiders.users.is_empty() || outsiders.viewers_of.is_some() {
            let event = Event::ConversationUpdated {
                conversation: shared.outsider_view(),
            };
            realtime.send_to(outsiders, &event.envelope()).await;
        }
        for (users, conversation) in shared.by_member() {
            let event = Event::ConversationUpdated { conversation };
            realtime.send_to_users(&users, &event.envelope()).await;
        }
        Ok(())
    }
}

/// The write path of a system message, in a transaction that already holds the
/// conversation's row: the next seq, the message, counted as the sender's own (when the
/// sender is a member). Returns the seq and when its predecessor was created.
/// $1 conversation, $2 tenant, $3 message id, $4 sender, $5 content, $6 metadata, $7 and
/// $8 the sealed content's key id and bytes (`sealed.rs`). Not indexed for search.
const SYSTEM_MESSAGE: &str = "
    WITH conv AS (
        UPDATE conversations SET last_seq = last_seq + 1, last_message_id = $3, updated_at = now()
        WHERE id = $1 AND tenant_id = $2
        RETURNING last_seq
    ), msg AS (
        INSERT INTO messages (id, tenant_id, conversation_id, seq, sender_id, content, kind, metadata,
                              content_key_id, content_sealed)
        SELECT $3, $2, $1, last_seq, $4, $5, 'system', $6, $7, $8 FROM conv
        RETURNING seq
    ), own AS (
        UPDATE participants SET own_after_read = own_after_read + 1
        WHERE conversation_id = $1 AND user_id = $4 AND EXISTS (SELECT 1 FROM msg)
    )
    SELECT msg.seq,
           (SELECT p.created_at FROM messages p WHERE p.conversation_id = $1 AND p.seq = msg.seq - 1)
    FROM msg";

#[cfg(test)]
mod tests {
    use super::*;

    fn someone(name: &str) -> Someone {
        Someone {
            id: Uuid::new_v4(),
            name: name.into(),
        }
    }

    #[test]
    fn additions_name_a_few_and_list_at_most_fifty_ids() {
        let many: Vec<Someone> = (0..60).map(|i| someone(&format!("U{i}"))).collect();
        let by = Uuid::new_v4();
        let metadata = SystemEvent::MembersAdded(many.clone()).metadata(by);
        assert_eq!(metadata["user_ids"].as_array().unwrap().len(), LISTED);
        assert_eq!(
            (metadata["count"].clone(), metadata["by"].clone()),
            (json!(60), json!(by))
        );
        assert_eq!(
            SystemEvent::MembersAdded(many).fallback("Ana"),
            "Ana added U0, U1, U2 and 57 others"
        );
        let two = SystemEvent::MembersAdded(vec![someone("Bruno"), someone("Carla")]);
        assert_eq!(two.fallback("Ana"), "Ana added Bruno and Carla");
        assert_eq!(
            SystemEvent::MembersAdded(vec![someone("Bruno")]).fallback("Ana"),
            "Ana added Bruno"
        );
    }

    #[test]
    fn a_removal_names_who_is_gone_since_clients_no_longer_list_them() {
        let bruno = someone("Bruno");
        let metadata = SystemEvent::MemberRemoved(bruno.clone()).metadata(Uuid::new_v4());
        assert_eq!(metadata["event"], "member_removed");
        assert_eq!(
            (metadata["user_id"].clone(), metadata["user_name"].clone()),
            (json!(bruno.id), json!("Bruno"))
        );
    }
}
