//! The support desk: `/api/chat/support/` — a user's support conversation, the agents'
//! inbox, assignment, closing, reopening and canned replies.

use poem::web::Data;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    ApiResponse, Object, OpenApi,
};

use super::{
    body::{FieldRefusal, JsonBody},
    ApiTags, IdText,
};
use crate::{
    auth::Auth,
    chat::{
        settings::CannedReply,
        support::{
            desk::{self, Opened},
            inbox::{self, InboxPage, InboxQuery},
            SupportConversation,
        },
    },
    domain::{InboxCursor, Limit, Patterned, SupportStatus},
    error::{Error, Result},
    state::AppState,
};

pub struct SupportApi;

#[derive(ApiResponse)]
enum OpenResponse {
    /// The caller's support conversation that is not closed yet.
    #[oai(status = 200)]
    Existing(Json<SupportConversation>),
    /// A new support conversation.
    #[oai(status = 201)]
    Created(Json<SupportConversation>),
}

#[derive(Object)]
struct AssignRequest {
    /// An active agent of the tenant: the caller or another.
    agent_id: IdText,
}

impl FieldRefusal for AssignRequest {}

#[OpenApi(prefix_path = "/chat/support", tag = "ApiTags::Support")]
impl SupportApi {
    /// Contact support
    ///
    /// The caller's support conversation that is not closed yet (200), or a new one
    /// (201) whose only member is the caller until an agent is assigned — at once when
    /// the tenant's `support_round_robin` is on. One per user, also under concurrent
    /// requests. Once closed, a conversation stays readable and the next call opens a
    /// new one.
    #[oai(path = "/", method = "post")]
    async fn open(&self, state: Data<&AppState>, auth: Auth) -> Result<OpenResponse> {
        Ok(match desk::open(&state.pool, &state.realtime, auth.actor()).await? {
            Opened::Created(view) => OpenResponse::Created(Json(view)),
            Opened::Existing(view) => OpenResponse::Existing(Json(view)),
        })
    }

    /// The agents' inbox
    ///
    /// The tenant's support conversations of one status (default `open`: waiting for an
    /// agent), most recent activity first. Agents and tenant admins only (403
    /// `agent_permission_required`).
    #[oai(path = "/inbox/", method = "get")]
    async fn inbox(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        status: Query<Option<SupportStatus>>,
        /// Page size (default 50; larger values are capped at 200).
        limit: Query<Option<Limit>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<Patterned<InboxCursor>>>,
    ) -> Result<Json<InboxPage>> {
        let query = InboxQuery {
            status: status.0.unwrap_or(SupportStatus::Open),
            limit: limit.0,
            cursor: cursor.0.map(Patterned::into_string),
        };
        Ok(Json(inbox::inbox(&state.pool, auth.actor(), &query).await?))
    }

    /// Canned replies
    ///
    /// The tenant's shortcuts (set in the admin settings), for agents and tenant admins
    /// (403 `agent_permission_required`).
    #[oai(path = "/canned-replies/", method = "get")]
    async fn canned_replies(&self, state: Data<&AppState>, auth: Auth) -> Result<Json<Vec<CannedReply>>> {
        Ok(Json(inbox::canned_replies(&state.pool, auth.actor()).await?))
    }

    /// Assign a support conversation
    ///
    /// To the caller or another active agent of the tenant (else 400 `validation_error`
    /// on `agent_id`); the agent becomes a member. Adds a `support_assigned` system
    /// message and sends `support_updated` to the agents. A closed conversation: 409
    /// `support_closed`.
    #[oai(path = "/:id/assign/", method = "post")]
    async fn assign(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        id: Path<IdText>,
        body: JsonBody<AssignRequest>,
    ) -> Result<Json<SupportConversation>> {
        let id = id.in_path("Support conversation")?;
        let agent_id = body
            .agent_id
            .as_str()
            .parse()
            .map_err(|_| Error::validation("agent_id", "agent_id must be a user id"))?;
        Ok(Json(
            desk::assign(&state.pool, &state.realtime, auth.actor(), id, agent_id).await?,
        ))
    }

    /// Close a support conversation
    ///
    /// Agents and tenant admins. Adds a `support_closed` system message; closing a
    /// closed one changes nothing.
    #[oai(path = "/:id/close/", method = "post")]
    async fn close(&self, state: Data<&AppState>, auth: Auth, id: Path<IdText>) -> Result<Json<SupportConversation>> {
        let id = id.in_path("Support conversation")?;
        Ok(Json(desk::close(&state.pool, &state.realtime, auth.actor(), id).await?))
    }

    /// Reopen a support conversation
    ///
    /// Agents and tenant admins. Back to its agent (while still an active agent), else
    /// to the inbox as `open`; adds a `support_reopened` system message. 409
    /// `support_already_open` when its requester has opened another since.
    #[oai(path = "/:id/reopen/", method = "post")]
    async fn reopen(&self, state: Data<&AppState>, auth: Auth, id: Path<IdText>) -> Result<Json<SupportConversation>> {
        let id = id.in_path("Support conversation")?;
        Ok(Json(
            desk::reopen(&state.pool, &state.realtime, auth.actor(), id).await?,
        ))
    }
}
