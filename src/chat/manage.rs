//! What a conversation's owners and the tenant's admins do to the conversation itself:
//! rename it, describe it, share it with the tenant or make it private again, delete it.

use std::path::Path;

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    access, attachments,
    changes::{Announcement, SystemEvent},
    events::Event,
    listing::known,
    members::require_group,
    views::Conversation,
};
use crate::{
    audit::{self, Entry},
    auth::Actor,
    client::RequestMeta,
    domain::{ConversationKind, Description, MemberRole, Title, Visibility},
    error::{Error, Result},
    hooks::outbox,
    realtime::{Audience, Realtime},
};

/// A `PATCH` of a conversation: `None` leaves a setting as it is.
#[derive(Debug, Default)]
pub struct Settings {
    /// `Some(None)` removes the title (the group then shows its members' names).
    pub title: Option<Option<Title>>,
    pub description: Option<Description>,
    pub visibility: Option<Visibility>,
}

/// Changes a group's settings (owners and admins only). Each setting that actually
/// changes adds its system message. Returns the conversation as the caller now sees it.
pub async fn update(
    pool: &PgPool,
    realtime: &Realtime,
    actor: &Actor,
    conversation_id: Uuid,
    settings: Settings,
) -> Result<Conversation> {
    actor.require_write()?;
    let mut tx = pool.begin().await?;
    let access = access(&mut tx, actor, conversation_id, true).await?;
    access.require_manage(actor)?;
    require_group(&access)?;
    if access.kind == ConversationKind::Support && settings.visibility == Some(Visibility::Tenant) {
        // Only its requester and the desk may read it (a constraint holds it too).
        return Err(Error::validation("visibility", "a support conversation stays private"));
    }
    let (title, description): (Option<String>, String) =
        sqlx::query_as("SELECT title, description FROM conversations WHERE id = $1 AND tenant_id = $2")
            .bind(conversation_id)
            .bind(actor.tenant_id())
            .fetch_one(&mut *tx)
            .await?;
    let new_title = settings.title.map(|t| t.map(|t| t.as_str().to_string()));
    let mut changes = Vec::new();
    if let Some(new) = new_title.as_ref().filter(|new| **new != title) {
        changes.push(SystemEvent::TitleChanged(new.clone()));
    }
    if let Some(new) = settings.description.as_ref().filter(|new| new.as_str() != description) {
        changes.push(SystemEvent::DescriptionChanged(new.as_str().to_string()));
    }
    if let Some(new) = settings.visibility.filter(|new| *new != access.visibility) {
        changes.push(SystemEvent::VisibilityChanged(new));
    }
    let mut announcement = Announcement::new(conversation_id, access.is_shared());
    if !changes.is_empty() {
        sqlx::query(
            "UPDATE conversations SET title = CASE WHEN $3 THEN $4 ELSE title END,
                 description = coalesce($5, description), visibility = coalesce($6, visibility)
             WHERE id = $1 AND tenant_id = $2",
        )
        .bind(conversation_id)
        .bind(actor.tenant_id())
        .bind(new_title.is_some())
        .bind(new_title.flatten())
        .bind(settings.description.as_ref().map(Description::as_str))
        .bind(settings.visibility)
        .execute(&mut *tx)
        .await?;
        for change in changes {
            announcement.post(&mut tx, actor, change).await?;
        }
    }
    let conversation = known(&mut tx, actor, conversation_id).await?;
    tx.commit().await?;
    announcement.publish(pool, realtime, actor).await?;
    Ok(conversation)
}

/// Deletes a conversation with its messages and files (owners and admins only; a
/// 1-to-1 has no owner, so only admins). Audited. Its members, and the viewers of a
/// tenant-visible one, get `conversation_deleted`.
pub async fn delete(
    pool: &PgPool,
    realtime: &Realtime,
    media_root: &Path,
    actor: &Actor,
    meta: &RequestMeta,
    conversation_id: Uuid,
) -> Result<()> {
    actor.require_write()?;
    let mut tx = pool.begin().await?;
    let access = access(&mut tx, actor, conversation_id, true).await?;
    access.require_manage(actor)?;
    let members: Vec<Uuid> =
        sqlx::query_scalar("SELECT user_id FROM participants WHERE conversation_id = $1 AND tenant_id = $2")
            .bind(conversation_id)
            .bind(actor.tenant_id())
            .fetch_all(&mut *tx)
            .await?;
    let files: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT storage_path, thumbnail_path FROM attachments
         WHERE conversation_id = $1 AND tenant_id = $2 AND deleted_at IS NULL",
    )
    .bind(conversation_id)
    .bind(actor.tenant_id())
    .fetch_all(&mut *tx)
    .await?;
    // Messages, attachment rows, memberships, edits and mentions go with it (ON DELETE CASCADE).
    let (title, messages): (Option<String>, i64) =
        sqlx::query_as("DELETE FROM conversations WHERE id = $1 AND tenant_id = $2 RETURNING title, last_seq")
            .bind(conversation_id)
            .bind(actor.tenant_id())
            .fetch_one(&mut *tx)
            .await?;
    let entry = Entry {
        action: "conversation.delete",
        resource_type: "conversation",
        resource_id: Some(conversation_id.to_string()),
        details: json!({
            "kind": access.kind, "title": title, "messages": messages, "files": files.len(),
            "members": members.len(), "as_owner": access.role == Some(MemberRole::Owner),
        }),
    };
    audit::record(&mut tx, actor.tenant_id(), Some(actor.user_id()), meta, entry).await?;
    // Shaped like `conversation_created`: the change, with who made it.
    let payload = json!({
        "conversation_id": conversation_id,
        "change": {"event": "conversation_deleted", "by": actor.user_id(), "kind": access.kind, "title": title},
    });
    outbox::enqueue(&mut tx, actor.tenant_id(), "conversation_deleted", &payload).await?;
    tx.commit().await?;
    attachments::remove_files(media_root, files).await;
    let audience = Audience {
        users: &members,
        viewers_of: access.viewers(),
    };
    realtime
        .send_to(audience, &Event::ConversationDeleted { conversation_id }.envelope())
        .await;
    Ok(())
}
