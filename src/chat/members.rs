//! A conversation's members: who they are with their receipts ("seen by"), adding and
//! removing them, their roles, joining a shared conversation and leaving. A group always
//! keeps an owner: when its last one goes, its longest-standing member becomes one. Each
//! change takes the conversation's row for update (changes of one conversation happen
//! one at a time), adds its system messages in its transaction and is announced after
//! the commit (`changes.rs`). A 1-to-1 conversation keeps its two members.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    access,
    changes::{Announcement, Someone, SystemEvent},
    conversations::{
        active_users, add_participants, invalid_participant, parse_user_ids, participant_not_found, MAX_GROUP_MEMBERS,
    },
    listing::{known, one},
    views::{Conversation, Member},
    Access,
};
use crate::{
    auth::Actor,
    domain::{ConversationKind, MemberRole},
    error::{Code, Error, Result},
    realtime::Realtime,
};

/// The members with their roles and receipts, longest-standing first; for members, and
/// for anyone in the tenant when the conversation is tenant-visible.
pub async fn list(pool: &PgPool, actor: &Actor, conversation_id: Uuid) -> Result<Vec<Member>> {
    let mut conn = pool.acquire().await?;
    access(&mut conn, actor, conversation_id, false).await?.require_view()?;
    members(&mut conn, actor, conversation_id, None).await
}

/// The members (only `user_id` if given), longest-standing first.
async fn members(
    conn: &mut PgConnection,
    actor: &Actor,
    conversation_id: Uuid,
    user_id: Option<Uuid>,
) -> Result<Vec<Member>> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.name, u.email, p.role, p.joined_at,
                p.delivered_seq AS last_delivered_seq, p.read_seq AS last_read_seq
         FROM participants p JOIN users u ON u.id = p.user_id AND u.tenant_id = p.tenant_id
         WHERE p.conversation_id = $1 AND p.tenant_id = $2 AND ($3::uuid IS NULL OR p.user_id = $3)
         ORDER BY p.joined_at, u.name, u.id",
    )
    .bind(conversation_id)
    .bind(actor.tenant_id())
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Refuses what a 1-to-1 conversation cannot take (settings, members, roles, leaving):
/// it has no owner, so nobody may; 403 `conversation_permission_required`, tenant admins
/// included.
pub(super) fn require_group(access: &Access) -> Result<()> {
    match access.kind {
        ConversationKind::Direct => Err(Error::Forbidden {
            code: Code::ConversationPermissionRequired,
            message: "A 1-to-1 conversation keeps its two members and has no owners, title or description; \
                      start a group instead."
                .into(),
        }),
        ConversationKind::Group | ConversationKind::Support => Ok(()),
    }
}

/// Adds active users of the tenant (owners and admins only); those already in are
/// skipped. Returns the conversation as the caller now sees it.
pub async fn add(
    pool: &PgPool,
    realtime: &Realtime,
    actor: &Actor,
    conversation_id: Uuid,
    user_ids: &[String],
) -> Result<Conversation> {
    actor.require_write()?;
    let ids = parse_user_ids(user_ids, None)?;
    if ids.is_empty() {
        return Err(invalid_participant("user_ids needs at least one user"));
    }
    let mut tx = pool.begin().await?;
    let access = access(&mut tx, actor, conversation_id, true).await?;
    access.require_manage(actor)?;
    require_group(&access)?;
    if active_users(&mut tx, actor, &ids).await?.len() != ids.len() {
        return Err(participant_not_found());
    }
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM participants
         WHERE conversation_id = $1 AND tenant_id = $2 AND NOT (user_id = ANY($3))",
    )
    .bind(conversation_id)
    .bind(actor.tenant_id())
    .bind(&ids)
    .fetch_one(&mut *tx)
    .await?;
    if count as usize + ids.len() > MAX_GROUP_MEMBERS {
        return Err(invalid_participant(format!(
            "a group has at most {MAX_GROUP_MEMBERS} members"
        )));
    }
    let added = add_participants(&mut tx, actor, conversation_id, &ids, MemberRole::Member).await?;
    let mut announcement = Announcement::new(conversation_id, access.is_shared());
    if !added.is_empty() {
        let added = named(&mut tx, actor, &added).await?;
        announcement
            .post(&mut tx, actor, SystemEvent::MembersAdded(added))
            .await?;
    }
    let conversation = known(&mut tx, actor, conversation_id).await?;
    tx.commit().await?;
    announcement.publish(pool, realtime, actor).await?;
    Ok(conversation)
}

/// Removes a member (owners and admins only); removing oneself is leaving.
pub async fn remove(
    pool: &PgPool,
    realtime: &Realtime,
    actor: &Actor,
    conversation_id: Uuid,
    user_id: Uuid,
) -> Result<()> {
    if user_id == actor.user_id() {
        return leave(pool, realtime, actor, conversation_id).await;
    }
    actor.require_write()?;
    let mut tx = pool.begin().await?;
    let access = access(&mut tx, actor, conversation_id, true).await?;
    access.require_manage(actor)?;
    require_group(&access)?;
    if !drop_member(&mut tx, actor, conversation_id, user_id).await? {
        return Err(participant_not_found());
    }
    let mut announcement = Announcement::new(conversation_id, access.is_shared());
    announcement.lost(user_id);
    let user = named(&mut tx, actor, &[user_id]).await?.remove(0);
    announcement
        .post(&mut tx, actor, SystemEvent::MemberRemoved(user))
        .await?;
    keep_an_owner(&mut tx, actor, &access, &mut announcement).await?;
    tx.commit().await?;
    announcement.publish(pool, realtime, actor).await
}

/// The caller leaves. Its sockets stop receiving the conversation's events at once.
pub async fn leave(pool: &PgPool, realtime: &Realtime, actor: &Actor, conversation_id: Uuid) -> Result<()> {
    actor.require_write()?;
    let mut tx = pool.begin().await?;
    let access = access(&mut tx, actor, conversation_id, true).await?;
    access.require_member()?;
    require_group(&access)?;
    drop_member(&mut tx, actor, conversation_id, actor.user_id()).await?;
    let mut announcement = Announcement::new(conversation_id, access.is_shared());
    announcement.lost(actor.user_id());
    announcement.post(&mut tx, actor, SystemEvent::MemberLeft).await?;
    keep_an_owner(&mut tx, actor, &access, &mut announcement).await?;
    tx.commit().await?;
    announcement.publish(pool, realtime, actor).await
}

/// Makes a member an owner or an ordinary member again (owners and admins only). A
/// group's only owner cannot step down: 409 `last_owner`.
pub async fn set_role(
    pool: &PgPool,
    realtime: &Realtime,
    actor: &Actor,
    conversation_id: Uuid,
    user_id: Uuid,
    role: MemberRole,
) -> Result<Member> {
    actor.require_write()?;
    let mut tx = pool.begin().await?;
    let access = access(&mut tx, actor, conversation_id, true).await?;
    access.require_manage(actor)?;
    require_group(&access)?;
    let (current, owners): (Option<MemberRole>, i64) = sqlx::query_as(
        "SELECT (SELECT role FROM participants WHERE conversation_id = $1 AND tenant_id = $2 AND user_id = $3),
                (SELECT count(*) FROM participants WHERE conversation_id = $1 AND tenant_id = $2 AND role = 'owner')",
    )
    .bind(conversation_id)
    .bind(actor.tenant_id())
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    let current = current.ok_or_else(participant_not_found)?;
    if current != role {
        if current == MemberRole::Owner && owners <= 1 {
            return Err(Error::Conflict {
                code: Code::LastOwner,
                message: "A group keeps at least one owner: make another member an owner first.".into(),
            });
        }
        sqlx::query("UPDATE participants SET role = $4 WHERE conversation_id = $1 AND user_id = $2 AND tenant_id = $3")
            .bind(conversation_id)
            .bind(user_id)
            .bind(actor.tenant_id())
            .bind(role)
            .execute(&mut *tx)
            .await?;
        let user = named(&mut tx, actor, &[user_id]).await?.remove(0);
        let mut announcement = Announcement::new(conversation_id, access.is_shared());
        let event = SystemEvent::RoleChanged {
            user,
            role,
            by_succession: false,
        };
        announcement.post(&mut tx, actor, event).await?;
        let member = members(&mut tx, actor, conversation_id, Some(user_id)).await?;
        tx.commit().await?;
        announcement.publish(pool, realtime, actor).await?;
        return member.into_iter().next().ok_or_else(participant_not_found);
    }
    let member = members(&mut tx, actor, conversation_id, Some(user_id)).await?;
    tx.commit().await?;
    member.into_iter().next().ok_or_else(participant_not_found)
}

/// The caller joins a tenant-visible conversation (`write` users); joining one it is
/// already in changes nothing. A private one answers 403 `not_a_participant`.
pub async fn join(pool: &PgPool, realtime: &Realtime, actor: &Actor, conversation_id: Uuid) -> Result<Conversation> {
    actor.require_write()?;
    let mut tx = pool.begin().await?;
    let access = access(&mut tx, actor, conversation_id, true).await?;
    access.require_view()?;
    if access.role.is_some() {
        return one(&mut tx, actor, conversation_id).await;
    }
    // The support desk's staff read any support conversation, but take one by assignment.
    if !access.is_shared() {
        return Err(Error::NotAParticipant);
    }
    add_participants(&mut tx, actor, conversation_id, &[actor.user_id()], MemberRole::Member).await?;
    let mut announcement = Announcement::new(conversation_id, access.is_shared());
    announcement.post(&mut tx, actor, SystemEvent::MemberJoined).await?;
    let conversation = one(&mut tx, actor, conversation_id).await?;
    tx.commit().await?;
    announcement.publish(pool, realtime, actor).await?;
    Ok(conversation)
}

/// Deletes a membership; false when there was none.
async fn drop_member(conn: &mut PgConnection, actor: &Actor, conversation_id: Uuid, user_id: Uuid) -> Result<bool> {
    let deleted =
        sqlx::query("DELETE FROM participants WHERE conversation_id = $1 AND user_id = $2 AND tenant_id = $3")
            .bind(conversation_id)
            .bind(user_id)
            .bind(actor.tenant_id())
            .execute(&mut *conn)
            .await?;
    Ok(deleted.rows_affected() == 1)
}

/// After a member went: a group left with members but no owner makes its
/// longest-standing member one (a system message says so). A group with no members
/// left stays for tenant admins (compliance reads, deletion).
async fn keep_an_owner(
    tx: &mut PgConnection,
    actor: &Actor,
    access: &Access,
    announcement: &mut Announcement,
) -> Result<()> {
    if access.kind != ConversationKind::Group {
        return Ok(());
    }
    let promoted: Option<Uuid> = sqlx::query_scalar(
        "UPDATE participants SET role = 'owner'
         WHERE conversation_id = $1 AND tenant_id = $2
           AND NOT EXISTS (SELECT 1 FROM participants WHERE conversation_id = $1 AND role = 'owner')
           AND user_id = (SELECT user_id FROM participants WHERE conversation_id = $1
                          ORDER BY joined_at, user_id LIMIT 1)
         RETURNING user_id",
    )
    .bind(access.conversation_id)
    .bind(actor.tenant_id())
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(promoted) = promoted {
        let user = named(tx, actor, &[promoted]).await?.remove(0);
        let event = SystemEvent::RoleChanged {
            user,
            role: MemberRole::Owner,
            by_succession: true,
        };
        announcement.post(tx, actor, event).await?;
    }
    Ok(())
}

/// These users of the tenant with their names, in the given order.
async fn named(conn: &mut PgConnection, actor: &Actor, ids: &[Uuid]) -> Result<Vec<Someone>> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, name FROM users WHERE id = ANY($1) AND tenant_id = $2")
        .bind(ids)
        .bind(actor.tenant_id())
        .fetch_all(&mut *conn)
        .await?;
    ids.iter()
        .map(|id| {
            let name = rows.iter().find(|(row, _)| row == id).map(|(_, name)| name.clone());
            let name = name.ok_or_else(|| Error::internal("a member without a user row"))?;
            Ok(Someone { id: *id, name })
        })
        .collect()
}
