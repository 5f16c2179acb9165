//! Conversations: listing, the directory of shared ones, 1-to-1 start (one per pair,
//! enforced by the database), groups, and the caller's own archive/mute flags. Managing
//! a conversation is `manage.rs`, its members `members.rs`.

use std::collections::{HashMap, HashSet};

use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    access,
    events::Event,
    listing::{display_title, one, views, Selection},
    membership,
    views::{Conversation, MyRole},
};
use crate::{
    auth::Actor,
    domain::{Description, Limit, MemberRole, Offset, Title, Visibility},
    error::{Code, Error, Result},
    hooks::outbox,
    realtime::Realtime,
};

pub const DEFAULT_LIST_LIMIT: i64 = 100;
pub const MAX_LIST_LIMIT: i64 = 500;
pub const MAX_GROUP_MEMBERS: usize = 1000;

pub struct ListQuery {
    pub include_archived: bool,
    pub limit: Option<Limit>,
    pub offset: Option<Offset>,
}

pub async fn list(pool: &PgPool, actor: &Actor, query: ListQuery) -> Result<Vec<Conversation>> {
    let limit = Limit::or_default(query.limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    let offset = Offset::or_zero(query.offset);
    let mut conn = pool.acquire().await?;
    views(
        &mut conn,
        actor,
        Selection::Page {
            include_archived: query.include_archived,
            limit,
            offset,
        },
    )
    .await
}

/// A conversation the caller is in, or a tenant-visible one (then `my_role` is null).
pub async fn get(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<Conversation> {
    let mut conn = pool.acquire().await?;
    access(&mut conn, actor, id, false).await?.require_view()?;
    one(&mut conn, actor, id).await
}

/// What a socket's `open` frame opened.
#[derive(Debug, Clone, Copy)]
pub enum Opened {
    /// A conversation the caller is in: its events reach the user's sockets anyway.
    AsMember(Uuid),
    /// A tenant-visible conversation the caller is not in: the socket follows it as a
    /// viewer until it opens another or none.
    AsViewer(Uuid),
    /// None: the socket stops following the one it viewed.
    Nothing,
}

impl Opened {
    /// The conversation whose viewers the socket is to be among.
    pub fn viewers(self) -> Option<Uuid> {
        match self {
            Opened::AsViewer(id) => Some(id),
            Opened::AsMember(_) | Opened::Nothing => None,
        }
    }

    /// The `opened` frame that answers the socket.
    pub fn event(self) -> Event {
        let (conversation_id, member) = match self {
            Opened::AsMember(id) => (Some(id), true),
            Opened::AsViewer(id) => (Some(id), false),
            Opened::Nothing => (None, false),
        };
        Event::Opened {
            conversation_id,
            member,
        }
    }
}

/// A socket opens a conversation: one the caller is in, or a tenant-visible one (404 /
/// 403 `not_a_participant` otherwise, as over REST).
pub async fn open(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<Opened> {
    let mut conn = pool.acquire().await?;
    let access = access(&mut conn, actor, id, false).await?;
    access.require_view()?;
    Ok(match access.role {
        Some(_) => Opened::AsMember(id),
        None => Opened::AsViewer(id),
    })
}

pub struct DirectoryQuery<'a> {
    /// Only conversations whose title contains this (ignoring case).
    pub title: Option<&'a str>,
    pub limit: Option<Limit>,
    pub offset: Option<Offset>,
}

/// The tenant's tenant-visible conversations, joined or not, by title.
pub async fn directory(pool: &PgPool, actor: &Actor, query: DirectoryQuery<'_>) -> Result<Vec<Conversation>> {
    let selection = Selection::Directory {
        query: query.title.map(str::trim).filter(|q| !q.is_empty()),
        limit: Limit::or_default(query.limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT),
        offset: Offset::or_zero(query.offset),
    };
    let mut conn = pool.acquire().await?;
    views(&mut conn, actor, selection).await
}

/// 400 `invalid_participant`: a participant id that is missing, malformed or one's own.
pub fn invalid_participant(message: impl Into<String>) -> Error {
    Error::BadRequest {
        code: Code::InvalidParticipant,
        message: message.into(),
    }
}

pub(super) fn participant_not_found() -> Error {
    Error::NotFound {
        code: Code::ParticipantNotFound,
        message: "No such active user in your tenant.".into(),
    }
}

/// Parses a participant id given by a client: missing or malformed is 400.
pub fn parse_participant_id(raw: Option<&str>) -> Result<Uuid> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty());
    let raw = raw.ok_or_else(|| invalid_participant("participant_id is required"))?;
    raw.parse()
        .map_err(|_| invalid_participant(format!("{raw:?} is not a valid user id")))
}

/// User ids given by a client, each parsed like a participant id, without duplicates
/// and without `except` (a group's creator, a member anyway).
pub(super) fn parse_user_ids(raw: &[String], except: Option<Uuid>) -> Result<Vec<Uuid>> {
    let mut ids: Vec<Uuid> = Vec::with_capacity(raw.len());
    for raw in raw {
        let id = parse_participant_id(Some(raw))?;
        if Some(id) != except && !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Those of `ids` that are active users of the actor's tenant.
pub(super) async fn active_users(conn: &mut PgConnection, actor: &Actor, ids: &[Uuid]) -> Result<HashSet<Uuid>> {
    let found: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = ANY($1) AND tenant_id = $2 AND is_active")
            .bind(ids)
            .bind(actor.tenant_id())
            .fetch_all(&mut *conn)
            .await?;
    Ok(found.into_iter().collect())
}

/// Adds members to a conversation, their watermarks at its current end: history from
/// before they joined is neither unread for them nor waiting on them. Returns those
/// who were not members yet.
pub(super) async fn add_participants(
    conn: &mut PgConnection,
    actor: &Actor,
    conversation_id: Uuid,
    users: &[Uuid],
    role: MemberRole,
) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO participants (conversation_id, user_id, tenant_id, delivered_seq, read_seq, role)
         SELECT c.id, u, c.tenant_id, c.last_seq, c.last_seq, $4
         FROM conversations c, unnest($1::uuid[]) AS u
         WHERE c.id = $2 AND c.tenant_id = $3
         ON CONFLICT DO NOTHING
         RETURNING user_id",
    )
    .bind(users)
    .bind(conversation_id)
    .bind(actor.tenant_id())
    .bind(role)
    .fetch_all(&mut *conn)
    .await?)
}

pub enum Started {
    Created(Conversation),
    Existing(Conversation),
}

/// Starts (or finds) the 1-to-1 conversation with `other`. Concurrent starts for the
/// same pair meet at the unique index on the pair: one inserts, the others find it.
pub async fn start_direct(pool: &PgPool, realtime: &Realtime, actor: &Actor, other: Uuid) -> Result<Started> {
    actor.require_write()?;
    if other == actor.user_id() {
        return Err(invalid_participant("you cannot start a conversation with yourself"));
    }
    let mut tx = pool.begin().await?;
    if !active_users(&mut tx, actor, &[other]).await?.contains(&other) {
        return Err(participant_not_found());
    }
    let (low, high) = if actor.user_id() < other {
        (actor.user_id(), other)
    } else {
        (other, actor.user_id())
    };
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO conversations (id, tenant_id, kind, is_group, direct_low, direct_high, created_by)
         VALUES ($1, $2, 'direct', false, $3, $4, $5)
         ON CONFLICT (tenant_id, direct_low, direct_high) WHERE NOT is_group DO NOTHING
         RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(actor.tenant_id())
    .bind(low)
    .bind(high)
    .bind(actor.user_id())
    .fetch_optional(&mut *tx)
    .await?;
    let started = match inserted {
        Some(id) => {
            add_participants(&mut tx, actor, id, &[low, high], MemberRole::Member).await?;
            let conversation = one(&mut tx, actor, id).await?;
            queue_created(&mut tx, actor, &conversation, None).await?;
            Started::Created(conversation)
        }
        None => {
            let id: Uuid = sqlx::query_scalar(
                "SELECT id FROM conversations
                 WHERE tenant_id = $1 AND direct_low = $2 AND direct_high = $3 AND NOT is_group",
            )
            .bind(actor.tenant_id())
            .bind(low)
            .bind(high)
            .fetch_one(&mut *tx)
            .await?;
            Started::Existing(one(&mut tx, actor, id).await?)
        }
    };
    tx.commit().await?;
    if let Started::Created(conversation) = &started {
        announce_new(realtime, conversation, None).await;
    }
    Ok(started)
}

pub struct NewGroup<'a> {
    pub title: Option<Title>,
    pub description: Description,
    pub visibility: Visibility,
    pub participant_ids: &'a [String],
}

/// Creates a group of the caller (its owner) and the listed users of the same tenant.
pub async fn create_group(
    pool: &PgPool,
    realtime: &Realtime,
    actor: &Actor,
    new: NewGroup<'_>,
) -> Result<Conversation> {
    actor.require_write()?;
    if new.participant_ids.len() > MAX_GROUP_MEMBERS {
        return Err(invalid_participant(format!(
            "a group has at most {MAX_GROUP_MEMBERS} members"
        )));
    }
    let members = parse_user_ids(new.participant_ids, Some(actor.user_id()))?;
    if members.is_empty() {
        return Err(invalid_participant("a group needs at least one other participant"));
    }

    let mut tx = pool.begin().await?;
    if active_users(&mut tx, actor, &members).await?.len() != members.len() {
        return Err(participant_not_found());
    }
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO conversations (id, tenant_id, kind, is_group, title, description, visibility, created_by)
         VALUES ($1, $2, 'group', true, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(actor.tenant_id())
    .bind(new.title.as_ref().map(Title::as_str))
    .bind(new.description.as_str())
    .bind(new.visibility)
    .bind(actor.user_id())
    .execute(&mut *tx)
    .await?;
    add_participants(&mut tx, actor, id, &[actor.user_id()], MemberRole::Owner).await?;
    add_participants(&mut tx, actor, id, &members, MemberRole::Member).await?;
    let conversation = one(&mut tx, actor, id).await?;
    queue_created(&mut tx, actor, &conversation, new.title.as_ref().map(Title::as_str)).await?;
    tx.commit().await?;
    announce_new(realtime, &conversation, new.title.as_ref().map(Title::as_str)).await;
    Ok(conversation)
}

/// `conversation_created` for the tenant webhooks, in the creating transaction; shaped
/// like the member and settings events (`data.change`), with the stored title.
async fn queue_created(
    tx: &mut PgConnection,
    actor: &Actor,
    conversation: &Conversation,
    title: Option<&str>,
) -> Result<()> {
    let payload = json!({
        "conversation_id": conversation.id,
        "change": {
            "event": "conversation_created",
            "by": actor.user_id(),
            "kind": conversation.kind,
            "title": title,
            "visibility": conversation.visibility,
            "user_ids": conversation.participants.iter().map(|p| p.id).collect::<Vec<_>>(),
        },
    });
    outbox::enqueue(tx, actor.tenant_id(), "conversation_created", &payload).await
}

/// `conversation_updated` to every member of a conversation just created. A new
/// membership has no per-member state yet (nothing unread, archived or muted); only the
/// title and the role can differ, so members who see the same share one event.
async fn announce_new(realtime: &Realtime, conversation: &Conversation, stored_title: Option<&str>) {
    let mut by_view: HashMap<(String, bool), Vec<Uuid>> = HashMap::new();
    for member in &conversation.participants {
        let title = display_title(
            member.id,
            conversation.is_group,
            stored_title.map(String::from),
            &conversation.participants,
        );
        let creator = conversation.is_group && member.id == conversation.created_by;
        by_view.entry((title, creator)).or_default().push(member.id);
    }
    for ((title, creator), members) in by_view {
        let event = Event::ConversationUpdated {
            conversation: Conversation {
                title,
                my_role: MyRole(Some(if creator { MemberRole::Owner } else { MemberRole::Member })),
                ..conversation.clone()
            },
        };
        realtime.send_to_users(&members, &event.envelope()).await;
    }
}

/// A per-caller flag of a conversation.
#[derive(Debug, Clone, Copy)]
pub enum Flag {
    Archived,
    Muted,
}

pub async fn set_flag(pool: &PgPool, actor: &Actor, conversation_id: Uuid, flag: Flag, on: bool) -> Result<()> {
    actor.require_write()?;
    let mut conn = pool.acquire().await?;
    membership(&mut conn, actor, conversation_id, false).await?;
    let column = match flag {
        Flag::Archived => "is_archived",
        Flag::Muted => "is_muted",
    };
    sqlx::query(&format!(
        "UPDATE participants SET {column} = $4 WHERE conversation_id = $1 AND user_id = $2 AND tenant_id = $3"
    ))
    .bind(conversation_id)
    .bind(actor.user_id())
    .bind(actor.tenant_id())
    .bind(on)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
