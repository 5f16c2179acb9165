//! The chat domain: conversations, messages, receipts. Plain functions over a `PgPool`
//! or transaction that take the `Actor`; every query is scoped by the actor's tenant.

pub mod answers;
pub mod attachments;
mod changes;
pub mod content;
pub mod conversations;
pub mod edits;
pub mod events;
pub mod filenames;
pub mod history;
pub mod images;
pub mod keys;
mod listing;
pub mod manage;
pub mod members;
pub mod mentions;
mod message_views;
pub mod messages;
pub mod presence;
pub mod reactions;
pub mod receipts;
pub mod retention;
mod rotation;
pub mod safety;
pub(crate) mod sealed;
pub mod sealed_files;
pub mod search;
pub mod send_statement;
pub mod settings;
pub mod staging;
pub mod support;
pub mod typing;
pub mod uploads;
pub mod views;
mod webhook_events;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    auth::Actor,
    domain::{ConversationKind, MemberRole, Role, Visibility},
    error::{Code, Error, Result},
};

/// SQL: whether the `users` row `$alias` staffs the support desk — an active agent or
/// tenant admin — written once for the queries that filter by it.
macro_rules! support_staff {
    ($alias:literal) => {
        concat!(
            $alias,
            ".is_active AND (",
            $alias,
            ".is_agent OR ",
            $alias,
            ".role = 'admin')"
        )
    };
}
pub(crate) use support_staff;

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

/// What the caller may do with one conversation: read at the start of the calls that
/// view or manage it (member-only calls use `membership`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Access {
    pub conversation_id: Uuid,
    pub kind: ConversationKind,
    pub visibility: Visibility,
    /// The caller's role in it; `None` when the caller is not a member.
    pub role: Option<MemberRole>,
    /// Whether the caller staffs the support desk (an agent or a tenant admin).
    pub support_staff: bool,
}

impl Access {
    /// Members read a conversation, every user of the tenant reads a tenant-visible
    /// one, and the support desk's staff read every support conversation (to pick one
    /// up from the inbox); anyone else gets 403 `not_a_participant`.
    pub fn require_view(&self) -> Result<()> {
        match (self.role, self.visibility) {
            (Some(_), _) | (None, Visibility::Tenant) => Ok(()),
            (None, Visibility::Private) if self.kind == ConversationKind::Support && self.support_staff => Ok(()),
            (None, Visibility::Private) => Err(Error::NotAParticipant),
        }
    }

    /// The conversation's owners and the tenant's admins manage it. Anyone else who may
    /// see it gets 403 `conversation_permission_required`; who may not, `not_a_participant`.
    pub fn require_manage(&self, actor: &Actor) -> Result<()> {
        if actor.role() == Role::Admin || self.role == Some(MemberRole::Owner) {
            return Ok(());
        }
        self.require_view()?;
        Err(Error::Forbidden {
            code: Code::ConversationPermissionRequired,
            message: "Only the conversation's owners and tenant admins may do this.".into(),
        })
    }

    /// Only members act in a conversation (send, type, mark read, leave).
    pub fn require_member(&self) -> Result<MemberRole> {
        self.role.ok_or(Error::NotAParticipant)
    }

    /// Whether its events also go to the sockets that view it without being members.
    pub fn is_shared(&self) -> bool {
        self.visibility == Visibility::Tenant
    }

    /// The viewers to include in an event's audience, if any: those of a tenant-visible
    /// conversation, and the desk's staff who opened a support conversation they are not
    /// in (`open` let them in by `require_view`, the rule of REST reads).
    pub fn viewers(&self) -> Option<Uuid> {
        (self.is_shared() || self.kind == ConversationKind::Support).then_some(self.conversation_id)
    }
}

/// The caller's access to a conversation of its tenant (404 for any other). `lock`
/// takes the conversation row for update, so that changes of one conversation's members
/// and settings happen one at a time.
pub(crate) async fn access(
    conn: &mut PgConnection,
    actor: &Actor,
    conversation_id: Uuid,
    lock: bool,
) -> Result<Access> {
    let lock_clause = if lock { " FOR UPDATE OF c" } else { "" };
    let staff = support_staff!("s");
    let sql = format!(
        "SELECT c.id, c.kind, c.visibility, p.role,
                EXISTS (SELECT 1 FROM users s WHERE s.id = $3 AND s.tenant_id = $2 AND {staff})
         FROM conversations c
         LEFT JOIN participants p ON p.conversation_id = c.id AND p.user_id = $3
         WHERE c.id = $1 AND c.tenant_id = $2{lock_clause}"
    );
    type Row = (Uuid, ConversationKind, Visibility, Option<MemberRole>, bool);
    let row: Option<Row> = sqlx::query_as(&sql)
        .bind(conversation_id)
        .bind(actor.tenant_id())
        .bind(actor.user_id())
        .fetch_optional(&mut *conn)
        .await?;
    let (conversation_id, kind, visibility, role, support_staff) =
        row.ok_or_else(|| Error::not_found("Conversation"))?;
    Ok(Access {
        conversation_id,
        kind,
        visibility,
        role,
        support_staff,
    })
}
