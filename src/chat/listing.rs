//! `Conversation` views: a page of the caller's list, chosen conversations, or the
//! tenant's directory of shared ones — built in four queries however many there are —
//! and, for events, one conversation as each of its members sees it.

use std::collections::HashMap;

use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    message_views::{into_views, rows_by_ids},
    receipts::{self, StatusContext, Watermarks},
    support_staff,
    views::{Conversation, Message, MyRole, Participant},
    Membership,
};
use crate::{
    auth::Actor,
    domain::{ConversationKind, MemberRole, Visibility},
    error::{Error, Result},
    timestamp::Timestamp,
};

/// Which conversations to show.
pub(super) enum Selection<'a> {
    /// The caller's list, newest activity first.
    Page {
        include_archived: bool,
        limit: i64,
        offset: i64,
    },
    /// Exactly these conversations, those the caller is in or may view (the support
    /// desk's staff view every support conversation).
    Ids(&'a [Uuid]),
    /// This conversation of the actor's tenant, whether the actor may see it or not: for
    /// what the domain itself sends out.
    Known(Uuid),
    /// The tenant's tenant-visible conversations whose title contains `query` (ignoring
    /// case), by title.
    Directory {
        query: Option<&'a str>,
        limit: i64,
        offset: i64,
    },
}

/// The unread mentions of the participant `p`: the mentions of it past its read mark
/// (one range of `mentions_user_idx`); 0 without a participant row.
macro_rules! mention_count {
    () => {
        "(SELECT count(*) FROM mentions n
          WHERE n.user_id = p.user_id AND n.conversation_id = p.conversation_id
            AND n.tenant_id = p.tenant_id AND n.seq > p.read_seq) AS mention_count"
    };
}

/// The conversation's columns, then the caller's participant row (all NULL when the
/// caller only views the conversation).
const COLUMNS: &str = concat!(
    "SELECT c.id, c.kind, c.is_group, c.title, c.description, c.visibility, c.created_by,
        c.created_at, c.updated_at, c.last_seq, c.last_message_id,
        p.role, p.delivered_seq, p.read_seq, p.own_after_read, p.is_archived, p.is_muted, ",
    mention_count!(),
);

#[derive(sqlx::FromRow)]
struct ConversationRow {
    id: Uuid,
    kind: ConversationKind,
    is_group: bool,
    title: Option<String>,
    description: String,
    visibility: Visibility,
    created_by: Uuid,
    created_at: Timestamp,
    updated_at: Timestamp,
    last_seq: i64,
    last_message_id: Option<Uuid>,
    role: Option<MemberRole>,
    delivered_seq: Option<i64>,
    read_seq: Option<i64>,
    own_after_read: Option<i64>,
    is_archived: Option<bool>,
    is_muted: Option<bool>,
    mention_count: i64,
}

impl ConversationRow {
    /// The caller's membership; `None` for a viewer.
    fn membership(&self) -> Option<Membership> {
        Some(Membership {
            conversation_id: self.id,
            last_seq: self.last_seq,
            delivered_seq: self.delivered_seq?,
            read_seq: self.read_seq?,
            own_after_read: self.own_after_read?,
        })
    }
}

pub(super) async fn views(
    conn: &mut PgConnection,
    actor: &Actor,
    selection: Selection<'_>,
) -> Result<Vec<Conversation>> {
    let rows: Vec<ConversationRow> = match selection {
        Selection::Page {
            include_archived,
            limit,
            offset,
        } => {
            sqlx::query_as(&format!(
                "{COLUMNS} FROM participants p
             JOIN conversations c ON c.id = p.conversation_id AND c.tenant_id = p.tenant_id
             WHERE p.user_id = $1 AND p.tenant_id = $2 AND ($3 OR NOT p.is_archived)
             ORDER BY c.updated_at DESC, c.id DESC LIMIT $4 OFFSET $5"
            ))
            .bind(actor.user_id())
            .bind(actor.tenant_id())
            .bind(include_archived)
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *conn)
            .await?
        }
        Selection::Ids(ids) => {
            let staff = support_staff!("s");
            sqlx::query_as(&format!(
                "{COLUMNS} FROM conversations c
             LEFT JOIN participants p ON p.conversation_id = c.id AND p.user_id = $1
             WHERE c.tenant_id = $2 AND c.id = ANY($3)
               AND (p.user_id IS NOT NULL OR c.visibility = 'tenant'
                    OR (c.kind = 'support' AND EXISTS (
                        SELECT 1 FROM users s WHERE s.id = $1 AND s.tenant_id = $2 AND {staff})))
             ORDER BY c.updated_at DESC, c.id DESC"
            ))
            .bind(actor.user_id())
            .bind(actor.tenant_id())
            .bind(ids)
            .fetch_all(&mut *conn)
            .await?
        }
        Selection::Known(id) => {
            sqlx::query_as(&format!(
                "{COLUMNS} FROM conversations c
             LEFT JOIN participants p ON p.conversation_id = c.id AND p.user_id = $1
             WHERE c.tenant_id = $2 AND c.id = $3"
            ))
            .bind(actor.user_id())
            .bind(actor.tenant_id())
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
        }
        Selection::Directory { query, limit, offset } => {
            sqlx::query_as(&format!(
                "{COLUMNS} FROM conversations c
             LEFT JOIN participants p ON p.conversation_id = c.id AND p.user_id = $1
             WHERE c.tenant_id = $2 AND c.visibility = 'tenant'
               AND ($3::text IS NULL OR strpos(lower(c.title), lower($3)) > 0)
             ORDER BY c.title, c.id LIMIT $4 OFFSET $5"
            ))
            .bind(actor.user_id())
            .bind(actor.tenant_id())
            .bind(query)
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    build(conn, actor, rows).await
}

/// One conversation the caller is in or may view.
pub(super) async fn one(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<Conversation> {
    views(conn, actor, Selection::Ids(&[id]))
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("Conversation"))
}

/// One conversation of the actor's tenant, whether the actor is in it or not (`my_role`
/// null then): the answer to an admin who manages a conversation it is not in.
pub(super) async fn known(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<Conversation> {
    views(conn, actor, Selection::Known(id))
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("Conversation"))
}

async fn build(conn: &mut PgConnection, actor: &Actor, rows: Vec<ConversationRow>) -> Result<Vec<Conversation>> {
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
            let own = row
                .membership()
                .as_ref()
                .map_or(Watermarks { delivered: 0, read: 0 }, Watermarks::from);
            let ctx = StatusContext {
                viewer: actor.user_id(),
                own,
                others: others.get(&row.id).copied(),
            };
            (row.id, ctx)
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
            Conversation {
                id: row.id,
                title: display_title(actor.user_id(), row.is_group, row.title.clone(), &members),
                is_group: row.is_group,
                created_at: row.created_at,
                updated_at: row.updated_at,
                last_message: last_messages.remove(&row.id),
                unread_count: row.membership().map_or(0, |m| m.unread_count()),
                mention_count: row.mention_count,
                is_archived: row.is_archived.unwrap_or(false),
                is_muted: row.is_muted.unwrap_or(false),
                member_count: members.len() as i64,
                participants: members,
                kind: row.kind,
                description: row.description,
                visibility: row.visibility,
                created_by: row.created_by,
                my_role: MyRole(row.role),
            }
        })
        .collect())
}

/// A 1-to-1 conversation is titled with the other participant's name; an untitled
/// group with the other members' names.
pub(super) fn display_title(viewer: Uuid, is_group: bool, title: Option<String>, members: &[Participant]) -> String {
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

/// What differs between members' views of one conversation.
#[derive(Debug, Clone, sqlx::FromRow)]
struct MemberState {
    user_id: Uuid,
    role: MemberRole,
    delivered_seq: i64,
    read_seq: i64,
    own_after_read: i64,
    is_archived: bool,
    is_muted: bool,
    mention_count: i64,
}

/// One conversation and what each member's view of it is made from: for the events a
/// change sends to every member, each with its own title, role, unread count and flags.
pub(super) struct Shared {
    conversation: Conversation,
    stored_title: Option<String>,
    last_seq: i64,
    members: Vec<MemberState>,
}

impl Shared {
    /// The conversation as it is now (in `conn`'s transaction), whoever `actor` is.
    pub(super) async fn load(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<Shared> {
        let conversation = known(conn, actor, id).await?;
        let (stored_title, last_seq): (Option<String>, i64) =
            sqlx::query_as("SELECT title, last_seq FROM conversations WHERE id = $1 AND tenant_id = $2")
                .bind(id)
                .bind(actor.tenant_id())
                .fetch_one(&mut *conn)
                .await?;
        let members = sqlx::query_as(concat!(
            "SELECT p.user_id, p.role, p.delivered_seq, p.read_seq, p.own_after_read, p.is_archived, p.is_muted, ",
            mention_count!(),
            " FROM participants p WHERE p.conversation_id = $1 AND p.tenant_id = $2"
        ))
        .bind(id)
        .bind(actor.tenant_id())
        .fetch_all(&mut *conn)
        .await?;
        Ok(Shared {
            conversation,
            stored_title,
            last_seq,
            members,
        })
    }

    /// Whether sockets that are not members may follow it (`Access::viewers`): a
    /// tenant-visible conversation, or a support conversation (the desk's staff).
    pub(super) fn has_viewers(&self) -> bool {
        self.conversation.visibility == Visibility::Tenant || self.conversation.kind == ConversationKind::Support
    }

    pub(super) fn members(&self) -> Vec<Uuid> {
        self.members.iter().map(|m| m.user_id).collect()
    }

    /// Each member's view, members who see the same sharing one.
    pub(super) fn by_member(&self) -> Vec<(Vec<Uuid>, Conversation)> {
        let mut groups: Vec<(Vec<Uuid>, Conversation)> = Vec::new();
        for member in &self.members {
            let view = self.seen_by(member.user_id, Some(member));
            let same = |other: &Conversation| {
                other.title == view.title
                    && other.my_role == view.my_role
                    && other.unread_count == view.unread_count
                    && other.mention_count == view.mention_count
                    && other.is_archived == view.is_archived
                    && other.is_muted == view.is_muted
                    && other.last_message.as_ref().map(|m| m.status) == view.last_message.as_ref().map(|m| m.status)
            };
            match groups.iter_mut().find(|(_, other)| same(other)) {
                Some((users, _)) => users.push(member.user_id),
                None => groups.push((vec![member.user_id], view)),
            }
        }
        groups
    }

    /// The view of someone who is not a member: a viewer of a tenant-visible or support
    /// conversation, or a user who has just left or been removed.
    pub(super) fn outsider_view(&self) -> Conversation {
        self.seen_by(Uuid::nil(), None)
    }

    fn seen_by(&self, viewer: Uuid, state: Option<&MemberState>) -> Conversation {
        let marks: Vec<(Uuid, Watermarks)> = self
            .members
            .iter()
            .map(|m| {
                let marks = Watermarks {
                    delivered: m.delivered_seq,
                    read: m.read_seq,
                };
                (m.user_id, marks)
            })
            .collect();
        let own = state.map_or(Watermarks { delivered: 0, read: 0 }, |s| Watermarks {
            delivered: s.delivered_seq,
            read: s.read_seq,
        });
        let ctx = StatusContext {
            viewer,
            own,
            others: receipts::slowest_except(&marks, &[viewer]),
        };
        let conversation = &self.conversation;
        let last_message = conversation.last_message.as_ref().map(|m| Message {
            status: ctx.status(m.seq, m.sender_id),
            ..m.clone()
        });
        let membership = state.map(|s| Membership {
            conversation_id: conversation.id,
            last_seq: self.last_seq,
            delivered_seq: s.delivered_seq,
            read_seq: s.read_seq,
            own_after_read: s.own_after_read,
        });
        Conversation {
            title: display_title(
                viewer,
                conversation.is_group,
                self.stored_title.clone(),
                &conversation.participants,
            ),
            last_message,
            unread_count: membership.map_or(0, |m| m.unread_count()),
            mention_count: state.map_or(0, |s| s.mention_count),
            is_archived: state.is_some_and(|s| s.is_archived),
            is_muted: state.is_some_and(|s| s.is_muted),
            my_role: MyRole(state.map(|s| s.role)),
            ..conversation.clone()
        }
    }
}
