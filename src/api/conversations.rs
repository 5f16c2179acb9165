use poem::web::Data;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    ApiResponse, Object, OpenApi,
};

use super::{
    body::{FieldRefusal, JsonBody},
    ApiTags, Done, IdText,
};
use crate::{
    auth::Auth,
    chat::{
        conversations::{self, invalid_participant, DirectoryQuery, Flag, ListQuery, NewGroup, Started},
        manage::{self, Settings},
        presence::{self, UserPresence},
        receipts, typing,
        views::Conversation,
    },
    client::RequestMeta,
    domain::{Description, Limit, Lines, Offset, OneLine, Patterned, Title, Visibility},
    error::{Error, Result},
    limits::Action,
    state::AppState,
};

pub struct ConversationsApi;

#[derive(Object)]
struct StartRequest {
    /// The user to talk to (same tenant, active). Missing or malformed: 400
    /// `invalid_participant`.
    participant_id: IdText,
}

impl FieldRefusal for StartRequest {
    fn refuse(_field: &'static str, message: String) -> Error {
        invalid_participant(message)
    }
}

/// A new group. `visibility`: `private` (the default), its members only; `tenant`, every
/// user of the tenant may find and read it, and `write` users may join.
#[derive(Object)]
struct NewGroupRequest {
    /// At most 200 characters, no control characters; absent or blank, the group shows
    /// its members' names.
    #[oai(nullable, validator(max_length = 200))]
    title: Option<Patterned<OneLine>>,
    /// The other members (1 to 1000 active users of the same tenant). The caller is
    /// always a member, and the group's owner.
    #[oai(validator(min_items = 1, max_items = 1000))]
    participant_ids: Vec<IdText>,
    /// What the group is about: at most 500 characters; line breaks and tabs are the only
    /// control characters allowed.
    #[oai(validator(max_length = 500))]
    description: Option<Patterned<Lines>>,
    // Documented on the struct: a documented enum field is published as an `allOf`
    // wrapper that generated clients cannot read.
    visibility: Option<Visibility>,
}

/// A group's new settings; an absent field stays as it is.
#[derive(Object)]
struct SettingsRequest {
    /// The new title, at most 200 characters; blank removes it (the group then shows its
    /// members' names). Absent: unchanged.
    #[oai(validator(max_length = 200))]
    title: Option<Patterned<OneLine>>,
    /// The new description, at most 500 characters (line breaks and tabs are the only
    /// control characters allowed); blank removes it. Absent: unchanged.
    #[oai(validator(max_length = 500))]
    description: Option<Patterned<Lines>>,
    // Undocumented, as in `NewGroupRequest`.
    visibility: Option<Visibility>,
}

impl FieldRefusal for SettingsRequest {}

impl FieldRefusal for NewGroupRequest {
    fn refuse(field: &'static str, message: String) -> Error {
        match field {
            "participant_ids" => invalid_participant(message),
            _ => Error::validation(field, message),
        }
    }
}

#[derive(ApiResponse)]
enum StartResponse {
    /// The existing 1-to-1 conversation with that user.
    #[oai(status = 200)]
    Existing(Json<Conversation>),
    /// A new 1-to-1 conversation.
    #[oai(status = 201)]
    Created(Json<Conversation>),
}

#[derive(ApiResponse)]
enum GroupCreated {
    #[oai(status = 201)]
    Created(Json<Conversation>),
}

#[derive(Object)]
struct StatusResponse {
    status: String,
}

#[derive(Object)]
struct MarkReadResponse {
    /// Always `ok`.
    status: String,
    /// How many messages from others this call marked read.
    marked_read: i64,
}

#[OpenApi(prefix_path = "/chat/conversations", tag = "ApiTags::Conversations")]
impl ConversationsApi {
    /// List your conversations
    ///
    /// Newest activity first. Archived conversations are left out unless `archived=true`.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        /// Include archived conversations.
        archived: Query<Option<bool>>,
        /// Page size (default 100; larger values are capped at 500).
        limit: Query<Option<Limit>>,
        /// How many conversations to skip.
        offset: Query<Option<Offset>>,
    ) -> Result<Json<Vec<Conversation>>> {
        let query = ListQuery {
            include_archived: archived.0.unwrap_or(false),
            limit: limit.0,
            offset: offset.0,
        };
        Ok(Json(conversations::list(&state.pool, auth.actor(), query).await?))
    }

    /// Start a 1-to-1 conversation
    ///
    /// 201 with a new conversation, or 200 with the existing one: there is never more than
    /// one 1-to-1 conversation per pair of users.
    #[oai(path = "/start/", method = "post")]
    async fn start(&self, state: Data<&AppState>, auth: Auth, body: JsonBody<StartRequest>) -> Result<StartResponse> {
        let other = conversations::parse_participant_id(Some(body.participant_id.as_str()))?;
        state.limits.take(Action::Conversation, auth.actor(), 1).await?;
        Ok(
            match conversations::start_direct(&state.pool, &state.realtime, auth.actor(), other).await? {
                Started::Created(c) => StartResponse::Created(Json(c)),
                Started::Existing(c) => StartResponse::Existing(Json(c)),
            },
        )
    }

    /// Create a group conversation
    #[oai(path = "/", method = "post")]
    async fn create_group(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        body: JsonBody<NewGroupRequest>,
    ) -> Result<GroupCreated> {
        let title = Title::parse_optional(body.title.as_deref())?;
        state.limits.take(Action::Conversation, auth.actor(), 1).await?;
        let participant_ids: Vec<String> = body.participant_ids.iter().map(|id| id.as_str().to_string()).collect();
        let new = NewGroup {
            title,
            description: Description::parse(body.description.as_deref().unwrap_or(""))?,
            visibility: body.visibility.unwrap_or(Visibility::Private),
            participant_ids: &participant_ids,
        };
        Ok(GroupCreated::Created(Json(
            conversations::create_group(&state.pool, &state.realtime, auth.actor(), new).await?,
        )))
    }

    /// Who is online
    ///
    /// Every active user of your tenant. Online means an open WebSocket on any node, or
    /// (clients on the polling fallback) an API request within the last 120 s made after
    /// the user's last socket closed.
    #[oai(path = "/presence/", method = "get")]
    async fn presence(&self, state: Data<&AppState>, auth: Auth) -> Result<Json<Vec<UserPresence>>> {
        Ok(Json(presence::list(&state.pool, &state.realtime, auth.actor()).await?))
    }

    /// Signal that you are typing
    ///
    /// Broadcasts a `typing` event to the other participants.
    #[oai(path = "/:id/typing/", method = "post")]
    async fn typing(&self, state: Data<&AppState>, auth: Auth, id: Path<IdText>) -> Result<Json<StatusResponse>> {
        let id = id.in_path("Conversation")?;
        state.limits.take(Action::Typing, auth.actor(), 1).await?;
        typing::typing(&state.pool, &state.realtime, auth.actor(), id).await?;
        Ok(Json(StatusResponse { status: "ok".into() }))
    }

    /// The directory of shared conversations
    ///
    /// The tenant's tenant-visible conversations, joined or not, by title. `my_role` is
    /// null in those the caller has not joined.
    #[oai(path = "/directory/", method = "get")]
    async fn directory(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        /// Only conversations whose title contains this (ignoring case).
        #[oai(validator(max_length = 200))]
        q: Query<Option<String>>,
        /// Page size (default 100; larger values are capped at 500).
        limit: Query<Option<Limit>>,
        /// How many conversations to skip.
        offset: Query<Option<Offset>>,
    ) -> Result<Json<Vec<Conversation>>> {
        let query = DirectoryQuery {
            title: q.0.as_deref(),
            limit: limit.0,
            offset: offset.0,
        };
        Ok(Json(conversations::directory(&state.pool, auth.actor(), query).await?))
    }

    /// Get a conversation
    ///
    /// One the caller is in, or a tenant-visible one (then `my_role` is null).
    #[oai(path = "/:id/", method = "get")]
    async fn get(&self, state: Data<&AppState>, auth: Auth, id: Path<IdText>) -> Result<Json<Conversation>> {
        let id = id.in_path("Conversation")?;
        Ok(Json(conversations::get(&state.pool, auth.actor(), id).await?))
    }

    /// Change a group's title, description or visibility
    ///
    /// The conversation's owners and tenant admins; others get 403
    /// `conversation_permission_required`, and so does everyone for a 1-to-1
    /// conversation, which has none of these. Each change adds a system message and sends
    /// `conversation_updated`.
    #[oai(path = "/:id/", method = "patch")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        id: Path<IdText>,
        body: JsonBody<SettingsRequest>,
    ) -> Result<Json<Conversation>> {
        let id = id.in_path("Conversation")?;
        let settings = Settings {
            title: match body.title.as_deref() {
                Some(title) => Some(Title::parse_optional(Some(title))?),
                None => None,
            },
            description: body.description.as_deref().map(Description::parse).transpose()?,
            visibility: body.visibility,
        };
        Ok(Json(
            manage::update(&state.pool, &state.realtime, auth.actor(), id, settings).await?,
        ))
    }

    /// Delete a conversation
    ///
    /// Its messages and files too. The conversation's owners and tenant admins (a
    /// 1-to-1 conversation has no owner: admins only). Members get `conversation_deleted`.
    #[oai(path = "/:id/", method = "delete")]
    async fn delete(&self, state: Data<&AppState>, auth: Auth, meta: RequestMeta, id: Path<IdText>) -> Result<Done> {
        let id = id.in_path("Conversation")?;
        let media_root = &state.config.media_root;
        manage::delete(&state.pool, &state.realtime, media_root, auth.actor(), &meta, id).await?;
        Ok(Done::NoContent)
    }

    /// Mark a conversation read
    ///
    /// Everything in it becomes read for the caller; the unread count becomes 0.
    #[oai(path = "/:id/mark_read/", method = "post")]
    async fn mark_read(&self, state: Data<&AppState>, auth: Auth, id: Path<IdText>) -> Result<Json<MarkReadResponse>> {
        let id = id.in_path("Conversation")?;
        let marked_read = receipts::mark_read(&state.pool, &state.realtime, auth.actor(), id, None).await?;
        Ok(Json(MarkReadResponse {
            status: "ok".into(),
            marked_read,
        }))
    }

    /// Archive a conversation (for you only)
    #[oai(path = "/:id/archive/", method = "patch")]
    async fn archive(&self, state: Data<&AppState>, auth: Auth, id: Path<IdText>) -> Result<Json<StatusResponse>> {
        set_flag(&state, &auth, &id, Flag::Archived, true, "archived").await
    }

    /// Unarchive a conversation
    #[oai(path = "/:id/unarchive/", method = "patch")]
    async fn unarchive(&self, state: Data<&AppState>, auth: Auth, id: Path<IdText>) -> Result<Json<StatusResponse>> {
        set_flag(&state, &auth, &id, Flag::Archived, false, "unarchived").await
    }

    /// Mute a conversation (for you only)
    #[oai(path = "/:id/mute/", method = "patch")]
    async fn mute(&self, state: Data<&AppState>, auth: Auth, id: Path<IdText>) -> Result<Json<StatusResponse>> {
        set_flag(&state, &auth, &id, Flag::Muted, true, "muted").await
    }

    /// Unmute a conversation
    #[oai(path = "/:id/unmute/", method = "patch")]
    async fn unmute(&self, state: Data<&AppState>, auth: Auth, id: Path<IdText>) -> Result<Json<StatusResponse>> {
        set_flag(&state, &auth, &id, Flag::Muted, false, "unmuted").await
    }
}

async fn set_flag(
    state: &AppState,
    auth: &Auth,
    id: &IdText,
    flag: Flag,
    on: bool,
    status: &str,
) -> Result<Json<StatusResponse>> {
    let id = id.in_path("Conversation")?;
    conversations::set_flag(&state.pool, auth.actor(), id, flag, on).await?;
    Ok(Json(StatusResponse { status: status.into() }))
}
