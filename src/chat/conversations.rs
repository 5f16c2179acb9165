//! Conversations: listing, 1-to-1 start (one per pair, enforced by the database),
//! groups, and the caller's own archive/mute flags.

use std::collections::{HashMap, HashSet};

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    events::Event,
    membership,
    messages::{into_views, rows_by_ids},
    receipts::{self, StatusContext, Watermarks},
    views::{Conversation, Message, Participant},
    Membership,
};
use crate::{
    auth::Actor,
    domain::{Limit, Offset, Title},
    error::{Code, Error, Result},
    realtime::Realtime,
    timestamp::Timestamp,
};

pub const DEFAULT_LIST_LIMIT: i64 = 100;
pub const MAX_LIST_LIMIT: i64 = 500;
pub const MAX_GROUP_MEMBERS: usize = 1000;

/// Which of the caller's conversations to show.
enum Selection<'a> {
    /// The caller's list, newest activity first.
    Page {
        include_archived: bool,
        limit: i64,
        offset: i64,
    },
    /// Exactly these conversations (already checked to be the caller's).
    Ids(&'a [Uuid]),
}

#[derive(sqlx::FromRow)]
struct ConversationRow {
    id: Uuid,
    is_group: bool,
    title: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    last_seq: i64,
    last_message_id: Option<Uuid>,
    delivered_seq: i64,
    read_seq: i64,
    own_after_read: i64,
    is_archived: bool,
    is_muted: bool,
}

/// Builds the `Conversation` views in four queries however many conversations there
/// are: the caller's rows, all their participants, the others' receipt watermarks and
/// the last messages.
async fn views(conn: &mut PgConnection, actor: &Actor, selection: Selection<'_>) -> Result<Vec<Conversation>> {
    let (ids, include_archived, limit, offset) = match selection {
        Selection::Page {
            include_archived,
            limit,
            offset,
        } => (None, include_archived, limit, offset),
        Selection::Ids(ids) => (Some(ids), true, ids.len() as i64, 0),
    };
    let rows: Vec<ConversationRow> = sqlx::query_as(
        "SELECT c.id, c.is_group, c.title, c.created_at, c.updated_at, c.last_seq, c.last_message_id,
                p.delivered_seq, p.read_seq, p.own_after_read, p.is_archived, p.is_muted
         FROM participants p
         JOIN conversations c ON c.id = p.conversation_id AND c.tenant_id = p.tenant_id
         WHERE p.user_id = $1 AND p.tenant_id = $2
           AND ($3::uuid[] IS NULL OR c.id = ANY($3))
           AND ($4 OR NOT p.is_archived)
         ORDER BY c.updated_at DESC, c.id DESC
         LIMIT $5 OFFSET $6",
    )
    .bind(actor.user_id())
    .bind(actor.tenant_id())
    .bind(ids)
    .bind(include_archived)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let conversation_ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();

    let mut participants: HashMap<Uuid, Vec<Participant>> = HashMap::new();
    let members: Vec<(Uuid, Uuid, String, String)> = sqlx::query_as(
        "SELECT p.conversation_id, u.id, u.name, u.email
         FROM participants p JOIN users u ON u.id = p.user_id AND u.tenant_id = p.tenant_id
         WHERE p.conversation_id = ANY($1) AND p.tenant_id = $2
         ORDER BY p.joined_at, u.name, u.id",
    )
    .bind(&conversation_ids)
    .bind(actor.tenant_id())
    .fetch_all(&mut *conn)
    .await?;
    for (conversation_id, id, name, email) in members {
        participants
            .entry(conversation_id)
            .or_default()
            .push(Participant { id, name, email });
    }

    let others = receipts::others_watermarks(conn, actor, &conversation_ids).await?;
    let contexts: HashMap<Uuid, StatusContext> = rows
        .iter()
        .map(|row| {
            let own = Watermarks {
                delivered: row.delivered_seq,
                read: row.read_seq,
            };
            (
                row.id,
                StatusContext {
                    viewer: actor.user_id(),
                    own,
                    others: others.get(&row.id).copied(),
                },
            )
        })
        .collect();
    let last_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.last_message_id).collect();
    let last_rows = rows_by_ids(conn, actor, &last_ids).await?;
    let mut last_messages: HashMap<Uuid, Message> =
        into_views(conn, actor, last_rows, |m| contexts[&m.conversation_id()])
            .await?
            .into_iter()
            .map(|message| (message.conversation, message))
            .collect();

    Ok(rows
        .into_iter()
        .map(|row| {
            let members = participants.remove(&row.id).unwrap_or_default();
            let unread_count = Membership {
                conversation_id: row.id,
                last_seq: row.last_seq,
                delivered_seq: row.delivered_seq,
                read_seq: row.read_seq,
                own_after_read: row.own_after_read,
            }
            .unread_count();
            Conversation {
                id: row.id,
                title: display_title(actor.user_id(), row.is_group, row.title, &members),
                is_group: row.is_group,
                created_at: row.created_at,
                updated_at: row.updated_at,
                last_message: last_messages.remove(&row.id),
                unread_count,
                is_archived: row.is_archived,
                is_muted: row.is_muted,
                participants: members,
            }
        })
        .collect())
}

/// A 1-to-1 conversation is titled with the other participant's name; an untitled
/// group with the other members' names.
fn display_title(viewer: Uuid, is_group: bool, title: Option<String>, members: &[Participant]) -> String {
    if let (true, Some(title)) = (is_group, title) {
        return title;
    }
    let others: Vec<&str> = members
        .iter()
        .filter(|p| p.id != viewer)
        .map(|p| p.name.as_str())
        .collect();
    others.join(", ")
}

async fn one(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<Conversation> {
    views(conn, actor, Selection::Ids(&[id]))
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("Conversation"))
}

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

pub async fn get(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<Conversation> {
    let mut conn = pool.acquire().await?;
    membership(&mut conn, actor, id, false).await?;
    one(&mut conn, actor, id).await
}

fn invalid_participant(message: impl Into<String>) -> Error {
    Error::BadRequest {
        code: Code::InvalidParticipant,
        message: message.into(),
    }
}

fn participant_not_found() -> Error {
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

/// Those of `ids` that are active users of the actor's tenant.
async fn active_users(conn: &mut PgConnection, actor: &Actor, ids: &[Uuid]) -> Result<HashSet<Uuid>> {
    let found: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = ANY($1) AND tenant_id = $2 AND is_active")
            .bind(ids)
            .bind(actor.tenant_id())
            .fetch_all(&mut *conn)
            .await?;
    Ok(found.into_iter().collect())
}

/// Adds members to a conversation, their watermarks at its current end: history from
/// before they joined is neither unread for them nor waiting on them.
async fn add_participants(conn: &mut PgConnection, actor: &Actor, conversation_id: Uuid, users: &[Uuid]) -> Result<()> {
    sqlx::query(
        "INSERT INTO participants (conversation_id, user_id, tenant_id, delivered_seq, read_seq)
         SELECT c.id, u, c.tenant_id, c.last_seq, c.last_seq
         FROM conversations c, unnest($1::uuid[]) AS u
         WHERE c.id = $2 AND c.tenant_id = $3
         ON CONFLICT DO NOTHING",
    )
    .bind(users)
    .bind(conversation_id)
    .bind(actor.tenant_id())
    .execute(&mut *conn)
    .await?;
    Ok(())
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
        "INSERT INTO conversations (id, tenant_id, is_group, direct_low, direct_high, created_by)
         VALUES ($1, $2, false, $3, $4, $5)
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
            add_participants(&mut tx, actor, id, &[low, high]).await?;
            Started::Created(one(&mut tx, actor, id).await?)
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
    pub participant_ids: &'a [String],
}

/// Creates a group of the caller and the listed users of the same tenant.
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
    let mut members: Vec<Uuid> = Vec::with_capacity(new.participant_ids.len() + 1);
    for raw in new.participant_ids {
        let id = parse_participant_id(Some(raw))?;
        if id != actor.user_id() && !members.contains(&id) {
            members.push(id);
        }
    }
    if members.is_empty() {
        return Err(invalid_participant("a group needs at least one other participant"));
    }

    let mut tx = pool.begin().await?;
    if active_users(&mut tx, actor, &members).await?.len() != members.len() {
        return Err(participant_not_found());
    }
    members.insert(0, actor.user_id());
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO conversations (id, tenant_id, is_group, title, created_by) VALUES ($1, $2, true, $3, $4)")
        .bind(id)
        .bind(actor.tenant_id())
        .bind(new.title.as_ref().map(Title::as_str))
        .bind(actor.user_id())
        .execute(&mut *tx)
        .await?;
    add_participants(&mut tx, actor, id, &members).await?;
    let conversation = one(&mut tx, actor, id).await?;
    tx.commit().await?;
    announce_new(realtime, &conversation, new.title.as_ref().map(Title::as_str)).await;
    Ok(conversation)
}

/// `conversation_updated` to every member of a conversation just created. A new
/// membership has no per-member state yet (nothing unread, archived or muted); only
/// the title can differ, so members who see the same title share one event.
async fn announce_new(realtime: &Realtime, conversation: &Conversation, stored_title: Option<&str>) {
    let mut by_title: HashMap<String, Vec<Uuid>> = HashMap::new();
    for member in &conversation.participants {
        let title = display_title(
            member.id,
            conversation.is_group,
            stored_title.map(String::from),
            &conversation.participants,
        );
        by_title.entry(title).or_default().push(member.id);
    }
    for (title, members) in by_title {
        let event = Event::ConversationUpdated {
            conversation: Conversation {
                title,
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
