//! The support desk: a user's support conversation (`kind: support`) with the tenant's
//! agents, the agents' inbox, assignment (by hand or round-robin), closing and
//! reopening, and the tenant's canned replies.
//!
//! Who may do what: the requester is a member of their conversation; agents become
//! members when it is assigned to them. The desk's staff — active agents and tenant
//! admins — read every support conversation of the tenant (to pick one up), see the
//! inbox, assign, close and reopen; anyone else gets 403 `agent_permission_required`.
//! Each step adds a system message and sends `support_updated` to all the staff, and so
//! does each new message of a requester (`messages.rs`), so every inbox follows live.

pub mod desk;
pub mod inbox;

use poem_openapi::Object;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    events::Event,
    listing::{views, Selection},
    support_staff,
    views::{Conversation, Participant},
};
use crate::{
    auth::Actor,
    domain::SupportStatus,
    error::{Code, Error, Result},
    realtime::Realtime,
};

/// A support conversation with its place on the desk.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct SupportConversation {
    pub conversation: Conversation,
    pub status: SupportStatus,
    /// The user who asked for support.
    pub requester: Participant,
    /// The assigned agent (once closed, the last one); `null` when none.
    #[oai(nullable)]
    pub agent: Option<Participant>,
}

/// 403 `agent_permission_required` unless the actor staffs the desk.
async fn require_staff(conn: &mut PgConnection, actor: &Actor) -> Result<()> {
    let staff: bool = sqlx::query_scalar(concat!(
        "SELECT EXISTS (SELECT 1 FROM users u WHERE u.id = $1 AND u.tenant_id = $2 AND ",
        support_staff!("u"),
        ")"
    ))
    .bind(actor.user_id())
    .bind(actor.tenant_id())
    .fetch_one(&mut *conn)
    .await?;
    if staff {
        return Ok(());
    }
    Err(Error::Forbidden {
        code: Code::AgentPermissionRequired,
        message: "The support desk is for the tenant's agents and admins.".into(),
    })
}

#[derive(sqlx::FromRow)]
struct DeskRow {
    conversation_id: Uuid,
    status: SupportStatus,
    requester_id: Uuid,
    requester_name: String,
    requester_email: String,
    agent_id: Option<Uuid>,
    agent_name: Option<String>,
    agent_email: Option<String>,
}

/// These support conversations as the actor sees them, in the order of `ids`; those the
/// actor may not see are left out.
async fn support_views(conn: &mut PgConnection, actor: &Actor, ids: &[Uuid]) -> Result<Vec<SupportConversation>> {
    let mut conversations = views(conn, actor, Selection::Ids(ids)).await?;
    let rows: Vec<DeskRow> = sqlx::query_as(
        "SELECT s.conversation_id, s.status, s.requester_id, r.name AS requester_name,
                r.email AS requester_email, s.agent_id, a.name AS agent_name, a.email AS agent_email
         FROM support_conversations s
         JOIN users r ON r.id = s.requester_id AND r.tenant_id = s.tenant_id
         LEFT JOIN users a ON a.id = s.agent_id AND a.tenant_id = s.tenant_id
         WHERE s.tenant_id = $1 AND s.conversation_id = ANY($2)",
    )
    .bind(actor.tenant_id())
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut result = Vec::with_capacity(ids.len());
    for id in ids {
        let (Some(at), Some(row)) = (
            conversations.iter().position(|c| c.id == *id),
            rows.iter().find(|r| r.conversation_id == *id),
        ) else {
            continue;
        };
        let agent = match (row.agent_id, &row.agent_name, &row.agent_email) {
            (Some(id), Some(name), Some(email)) => Some(Participant {
                id,
                name: name.clone(),
                email: email.clone(),
            }),
            _ => None,
        };
        result.push(SupportConversation {
            conversation: conversations.swap_remove(at),
            status: row.status,
            requester: Participant {
                id: row.requester_id,
                name: row.requester_name.clone(),
                email: row.requester_email.clone(),
            },
            agent,
        });
    }
    Ok(result)
}

/// One support conversation as the actor sees it (404 when it may not).
async fn support_view(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<SupportConversation> {
    let mut conn = pool.acquire().await?;
    support_views(&mut conn, actor, &[id])
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("Support conversation"))
}

impl SupportConversation {
    /// The `support_updated` event of this state.
    fn updated(&self) -> Event {
        Event::SupportUpdated {
            conversation_id: self.conversation.id,
            status: self.status,
            agent_id: self.agent.as_ref().map(|a| a.id),
            requester_id: self.requester.id,
        }
    }
}

/// `event` (`support_updated`) to every agent and admin of the actor's tenant, after a
/// commit: for each step of the desk, and for each new message of a requester.
pub(crate) async fn notify_staff(pool: &PgPool, realtime: &Realtime, actor: &Actor, event: &Event) -> Result<()> {
    let staff: Vec<Uuid> = sqlx::query_scalar(concat!(
        "SELECT u.id FROM users u WHERE u.tenant_id = $1 AND ",
        support_staff!("u")
    ))
    .bind(actor.tenant_id())
    .fetch_all(pool)
    .await?;
    realtime.send_to_users(&staff, &event.envelope()).await;
    Ok(())
}
