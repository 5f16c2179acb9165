//! A conversation's members: `…/{id}/participants/`, `…/{id}/join/`, `…/{id}/leave/`.

use poem::web::Data;
use poem_openapi::{param::Path, payload::Json, Object, OpenApi};

use super::{
    body::{FieldRefusal, JsonBody},
    ApiTags, Done, IdText,
};
use crate::{
    auth::Auth,
    chat::{
        conversations::invalid_participant,
        members,
        views::{Conversation, Member},
    },
    domain::MemberRole,
    error::{Error, Result},
    state::AppState,
};

pub struct MembersApi;

#[derive(Object)]
struct AddRequest {
    /// Active users of the same tenant (1 to 1000); those already in are skipped.
    #[oai(validator(min_items = 1, max_items = 1000))]
    user_ids: Vec<IdText>,
}

impl FieldRefusal for AddRequest {
    fn refuse(_field: &'static str, message: String) -> Error {
        invalid_participant(message)
    }
}

#[derive(Object)]
struct RoleRequest {
    role: MemberRole,
}

impl FieldRefusal for RoleRequest {}

#[OpenApi(prefix_path = "/chat/conversations", tag = "ApiTags::Conversations")]
impl MembersApi {
    /// List a conversation's members ("seen by")
    ///
    /// Longest-standing first, each with its role and receipts: every message up to
    /// `last_delivered_seq` reached the member, every one up to `last_read_seq` was read.
    #[oai(path = "/:id/participants/", method = "get")]
    async fn list(&self, state: Data<&AppState>, auth: Auth, id: Path<IdText>) -> Result<Json<Vec<Member>>> {
        let id = id.in_path("Conversation")?;
        Ok(Json(members::list(&state.pool, auth.actor(), id).await?))
    }

    /// Add members
    ///
    /// The conversation's owners and tenant admins. Unknown, inactive or other-tenant
    /// users: 404 `participant_not_found`. A 1-to-1 conversation keeps its two members
    /// (403 `conversation_permission_required`). Adds a `member_added` system message.
    #[oai(path = "/:id/participants/", method = "post")]
    async fn add(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        id: Path<IdText>,
        body: JsonBody<AddRequest>,
    ) -> Result<Json<Conversation>> {
        let id = id.in_path("Conversation")?;
        let user_ids: Vec<String> = body.user_ids.iter().map(|id| id.as_str().to_string()).collect();
        Ok(Json(
            members::add(&state.pool, &state.realtime, auth.actor(), id, &user_ids).await?,
        ))
    }

    /// Remove a member, or leave
    ///
    /// Removing someone else: the conversation's owners and tenant admins. Removing
    /// oneself is leaving. The removed member's sockets stop receiving the conversation's
    /// events at once; its calls on it answer 403 `not_a_participant`.
    #[oai(path = "/:id/participants/:user_id/", method = "delete")]
    async fn remove(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        id: Path<IdText>,
        user_id: Path<IdText>,
    ) -> Result<Done> {
        let id = id.in_path("Conversation")?;
        let user_id = user_id.in_path("Participant")?;
        members::remove(&state.pool, &state.realtime, auth.actor(), id, user_id).await?;
        Ok(Done::NoContent)
    }

    /// Change a member's role
    ///
    /// The conversation's owners and tenant admins. A group keeps at least one owner:
    /// its only owner stepping down answers 409 `last_owner`.
    #[oai(path = "/:id/participants/:user_id/", method = "patch")]
    async fn set_role(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        id: Path<IdText>,
        user_id: Path<IdText>,
        body: JsonBody<RoleRequest>,
    ) -> Result<Json<Member>> {
        let id = id.in_path("Conversation")?;
        let user_id = user_id.in_path("Participant")?;
        let member = members::set_role(&state.pool, &state.realtime, auth.actor(), id, user_id, body.role).await?;
        Ok(Json(member))
    }

    /// Join a shared conversation
    ///
    /// Tenant-visible conversations only (a private one answers 403
    /// `not_a_participant`); joining one you are in changes nothing.
    #[oai(path = "/:id/join/", method = "post")]
    async fn join(&self, state: Data<&AppState>, auth: Auth, id: Path<IdText>) -> Result<Json<Conversation>> {
        let id = id.in_path("Conversation")?;
        Ok(Json(
            members::join(&state.pool, &state.realtime, auth.actor(), id).await?,
        ))
    }

    /// Leave a conversation
    ///
    /// When a group's last owner leaves, its longest-standing member becomes one. A
    /// 1-to-1 conversation cannot be left (403 `conversation_permission_required`).
    #[oai(path = "/:id/leave/", method = "post")]
    async fn leave(&self, state: Data<&AppState>, auth: Auth, id: Path<IdText>) -> Result<Done> {
        let id = id.in_path("Conversation")?;
        members::leave(&state.pool, &state.realtime, auth.actor(), id).await?;
        Ok(Done::NoContent)
    }
}
