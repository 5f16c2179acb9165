//! A support conversation's life: opened by its requester (and handed round-robin to an
//! agent when the tenant wants that), assigned, closed, reopened. Each step runs in one
//! transaction holding the conversation's row, adds its system message, and once
//! committed tells the members and the desk's staff.
//!
//! Closed is final for the requester, as with a Zendesk follow-up: the conversation
//! stays readable, and their next `POST /api/chat/support/` opens a new one. Staff may
//! reopen a closed conversation unless its requester has opened another since.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{notify_staff, require_staff, support_view, SupportConversation};
use crate::{
    auth::Actor,
    chat::{
        changes::{Announcement, Someone, SystemEvent},
        conversations::add_participants,
        settings::TenantSettings,
    },
    domain::{MemberRole, SupportStatus},
    error::{self, Code, Error, Result},
    realtime::Realtime,
};

/// What a support conversation's members see as its title.
const TITLE: &str = "Support";

pub enum Opened {
    /// A new support conversation (201).
    Created(SupportConversation),
    /// The caller's conversation that is not closed yet (200).
    Existing(SupportConversation),
}

/// The caller's support conversation that is not closed, if any.
async fn current(conn: &mut PgConnection, actor: &Actor) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT conversation_id FROM support_conversations
         WHERE tenant_id = $1 AND requester_id = $2 AND status <> 'closed'",
    )
    .bind(actor.tenant_id())
    .bind(actor.user_id())
    .fetch_optional(&mut *conn)
    .await?)
}

/// The caller's open support conversation, created on first use. Concurrent first uses
/// meet at the unique index of open conversations per requester: one creates it, the
/// others roll back and find it.
pub async fn open(pool: &PgPool, realtime: &Realtime, actor: &Actor) -> Result<Opened> {
    actor.require_write()?;
    let mut conn = pool.acquire().await?;
    if let Some(id) = current(&mut conn, actor).await? {
        drop(conn);
        return Ok(Opened::Existing(support_view(pool, actor, id).await?));
    }
    drop(conn);
    let settings = TenantSettings::load(pool, actor.tenant_id()).await?;
    let mut tx = pool.begin().await?;
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO conversations (id, tenant_id, kind, is_group, title, created_by)
         VALUES ($1, $2, 'support', true, $3, $4)",
    )
    .bind(id)
    .bind(actor.tenant_id())
    .bind(TITLE)
    .bind(actor.user_id())
    .execute(&mut *tx)
    .await?;
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO support_conversations (conversation_id, tenant_id, requester_id, status)
         VALUES ($1, $2, $3, 'open')
         ON CONFLICT (tenant_id, requester_id) WHERE status <> 'closed' DO NOTHING
         RETURNING conversation_id",
    )
    .bind(id)
    .bind(actor.tenant_id())
    .bind(actor.user_id())
    .fetch_optional(&mut *tx)
    .await?;
    if inserted.is_none() {
        // Another request of the same user created it meanwhile.
        tx.rollback().await?;
        let mut conn = pool.acquire().await?;
        let id = current(&mut conn, actor)
            .await?
            .ok_or_else(|| Error::internal("a support conversation vanished after a conflict"))?;
        drop(conn);
        return Ok(Opened::Existing(support_view(pool, actor, id).await?));
    }
    add_participants(&mut tx, actor, id, &[actor.user_id()], MemberRole::Member).await?;
    let mut announcement = Announcement::new(id, false);
    if settings.support_round_robin == Some(true) {
        if let Some(agent) = next_agent(&mut tx, actor).await? {
            hand_over(&mut tx, actor, id, &agent).await?;
            let event = SystemEvent::SupportAssigned { agent, automatic: true };
            announcement.post(&mut tx, actor, event).await?;
        }
    }
    tx.commit().await?;
    announcement.publish(pool, realtime, actor).await?;
    let view = support_view(pool, actor, id).await?;
    notify_staff(pool, realtime, actor, &view.updated()).await?;
    Ok(Opened::Created(view))
}

/// The active agent whose last assignment is the oldest (never assigned first), locked
/// so that concurrent round-robin picks take turns.
async fn next_agent(tx: &mut PgConnection, actor: &Actor) -> Result<Option<Someone>> {
    let row: Option<(Uuid, String)> = sqlx::query_as(
        "SELECT id, name FROM users WHERE tenant_id = $1 AND is_agent AND is_active
         ORDER BY last_assigned_at NULLS FIRST, id LIMIT 1 FOR UPDATE",
    )
    .bind(actor.tenant_id())
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.map(|(id, name)| Someone { id, name }))
}

/// Gives the conversation to `agent`: its status, the agent's membership and the
/// agent's turn in the round-robin.
async fn hand_over(tx: &mut PgConnection, actor: &Actor, id: Uuid, agent: &Someone) -> Result<()> {
    sqlx::query(
        "UPDATE support_conversations SET status = 'assigned', agent_id = $3
         WHERE conversation_id = $1 AND tenant_id = $2",
    )
    .bind(id)
    .bind(actor.tenant_id())
    .bind(agent.id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE users SET last_assigned_at = now() WHERE id = $1 AND tenant_id = $2")
        .bind(agent.id)
        .bind(actor.tenant_id())
        .execute(&mut *tx)
        .await?;
    add_participants(tx, actor, id, &[agent.id], MemberRole::Member).await?;
    Ok(())
}

/// A support conversation's desk state, its conversation row locked for the change.
struct Desk {
    status: SupportStatus,
    agent_id: Option<Uuid>,
}

/// Checks that the actor staffs the desk (403) and may write, then locks the support
/// conversation `id` of the actor's tenant (404 for any other id).
async fn lock(tx: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<Desk> {
    require_staff(tx, actor).await?;
    actor.require_write()?;
    let row: Option<(SupportStatus, Option<Uuid>)> = sqlx::query_as(
        "SELECT s.status, s.agent_id
         FROM conversations c
         JOIN support_conversations s ON s.conversation_id = c.id AND s.tenant_id = c.tenant_id
         WHERE c.id = $1 AND c.tenant_id = $2
         FOR UPDATE OF c, s",
    )
    .bind(id)
    .bind(actor.tenant_id())
    .fetch_optional(&mut *tx)
    .await?;
    let (status, agent_id) = row.ok_or_else(|| Error::not_found("Support conversation"))?;
    Ok(Desk { status, agent_id })
}

/// Commits a step, then tells the members (when a system message was posted) and the
/// staff, and answers the conversation's new state.
async fn finish(
    tx: sqlx::Transaction<'_, sqlx::Postgres>,
    pool: &PgPool,
    realtime: &Realtime,
    actor: &Actor,
    id: Uuid,
    announcement: Option<Announcement>,
) -> Result<SupportConversation> {
    tx.commit().await?;
    let view = support_view(pool, actor, id).await?;
    if let Some(announcement) = announcement {
        announcement.publish(pool, realtime, actor).await?;
        notify_staff(pool, realtime, actor, &view.updated()).await?;
    }
    Ok(view)
}

/// Assigns the conversation to `agent_id`, an active agent of the tenant (else 400
/// `validation_error` on `agent_id`): the caller itself or another. Assigning it to the
/// agent who has it changes nothing; a closed one must be reopened first (409).
pub async fn assign(
    pool: &PgPool,
    realtime: &Realtime,
    actor: &Actor,
    id: Uuid,
    agent_id: Uuid,
) -> Result<SupportConversation> {
    let mut tx = pool.begin().await?;
    let desk = lock(&mut tx, actor, id).await?;
    if desk.status == SupportStatus::Closed {
        return Err(Error::Conflict {
            code: Code::SupportClosed,
            message: "This support conversation is closed: reopen it first.".into(),
        });
    }
    let name: Option<String> =
        sqlx::query_scalar("SELECT name FROM users WHERE id = $1 AND tenant_id = $2 AND is_agent AND is_active")
            .bind(agent_id)
            .bind(actor.tenant_id())
            .fetch_optional(&mut *tx)
            .await?;
    let name = name.ok_or_else(|| Error::validation("agent_id", "agent_id must be an active agent of your tenant"))?;
    if desk.status == SupportStatus::Assigned && desk.agent_id == Some(agent_id) {
        return finish(tx, pool, realtime, actor, id, None).await;
    }
    let agent = Someone { id: agent_id, name };
    hand_over(&mut tx, actor, id, &agent).await?;
    let mut announcement = Announcement::new(id, false);
    let event = SystemEvent::SupportAssigned {
        agent,
        automatic: false,
    };
    announcement.post(&mut tx, actor, event).await?;
    finish(tx, pool, realtime, actor, id, Some(announcement)).await
}

/// Closes the conversation (already closed: nothing changes).
pub async fn close(pool: &PgPool, realtime: &Realtime, actor: &Actor, id: Uuid) -> Result<SupportConversation> {
    let mut tx = pool.begin().await?;
    let desk = lock(&mut tx, actor, id).await?;
    if desk.status == SupportStatus::Closed {
        return finish(tx, pool, realtime, actor, id, None).await;
    }
    set_status(&mut tx, actor, id, SupportStatus::Closed, desk.agent_id).await?;
    let mut announcement = Announcement::new(id, false);
    announcement.post(&mut tx, actor, SystemEvent::SupportClosed).await?;
    finish(tx, pool, realtime, actor, id, Some(announcement)).await
}

/// Reopens a closed conversation: back to its agent while that agent is still an active
/// agent, else back to the inbox as open. 409 `support_already_open` when its requester
/// has opened another conversation since. Not closed: nothing changes.
pub async fn reopen(pool: &PgPool, realtime: &Realtime, actor: &Actor, id: Uuid) -> Result<SupportConversation> {
    let mut tx = pool.begin().await?;
    let desk = lock(&mut tx, actor, id).await?;
    if desk.status != SupportStatus::Closed {
        return finish(tx, pool, realtime, actor, id, None).await;
    }
    let agent: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = $1 AND tenant_id = $2 AND is_agent AND is_active")
            .bind(desk.agent_id)
            .bind(actor.tenant_id())
            .fetch_optional(&mut *tx)
            .await?;
    let status = match agent {
        Some(_) => SupportStatus::Assigned,
        None => SupportStatus::Open,
    };
    set_status(&mut tx, actor, id, status, agent).await?;
    let mut announcement = Announcement::new(id, false);
    announcement.post(&mut tx, actor, SystemEvent::SupportReopened).await?;
    finish(tx, pool, realtime, actor, id, Some(announcement)).await
}

async fn set_status(
    tx: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    status: SupportStatus,
    agent_id: Option<Uuid>,
) -> Result<()> {
    sqlx::query(
        "UPDATE support_conversations SET status = $3, agent_id = $4
         WHERE conversation_id = $1 AND tenant_id = $2",
    )
    .bind(id)
    .bind(actor.tenant_id())
    .bind(status)
    .bind(agent_id)
    .execute(&mut *tx)
    .await
    .map_err(
        |err| match error::violates(&err, "support_conversations_one_open_idx") {
            true => Error::Conflict {
                code: Code::SupportAlreadyOpen,
                message: "Its requester has opened another support conversation since.".into(),
            },
            false => err.into(),
        },
    )?;
    Ok(())
}
