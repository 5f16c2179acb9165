//! `/api/admin/`: role `admin`, own tenant only. Every handler starts with
//! `Admin::check`, which answers 403 `admin_permission_required` to anyone else and
//! logs the refused attempt.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    ApiResponse, Object, OpenApi,
};

use super::{path_id, ApiTags};
use crate::{
    accounts::NewUser,
    admin::{
        analytics::{self, Analytics},
        attachments::{self, AdminAttachmentPage, AdminFilter},
        compliance::{self, AdminConversation},
        settings::{self, SettingsUpdate, SettingsView},
        users::{self, AdminUser, UserChange},
        Admin,
    },
    audit::{self, AuditFilter, AuditPage},
    auth::{Auth, Role},
    chat::{history::HistoryQuery, views::Message},
    client::RequestMeta,
    error::{Error, Result},
    state::AppState,
};

pub struct AdminApi;

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
enum UserCreated {
    #[oai(status = 201)]
    Created(Json<AdminUser>),
}

#[derive(Object)]
struct NewUserRequest {
    email: String,
    name: String,
    /// At least 8 characters, not the email address.
    password: String,
    /// `read`, `write` or `admin`.
    role: String,
}

#[derive(Object)]
struct UserPatch {
    name: Option<String>,
    /// `read`, `write` or `admin`.
    role: Option<String>,
}

fn parse_role(raw: &str) -> Result<Role> {
    Role::parse(raw).map_err(|m| Error::validation("role", m))
}

fn optional_id(raw: Option<&str>, field: &'static str) -> Result<Option<uuid::Uuid>> {
    raw.map(|r| {
        r.parse()
            .map_err(|_| Error::validation(field, format!("{field} must be an id")))
    })
    .transpose()
}

fn page_bounds(limit: Option<i64>, offset: Option<i64>) -> (i64, i64) {
    (limit.unwrap_or(50).clamp(1, 200), offset.unwrap_or(0).max(0))
}

#[OpenApi(prefix_path = "/admin", tag = "ApiTags::Admin")]
impl AdminApi {
    /// List the tenant's users
    #[oai(path = "/users/", method = "get")]
    async fn users(&self, state: Data<&AppState>, auth: Auth, meta: RequestMeta) -> Result<Json<Vec<AdminUser>>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "users.list").await?;
        Ok(Json(users::list(&state.pool, &admin).await?))
    }

    /// Create a user
    #[oai(path = "/users/", method = "post")]
    async fn create_user(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        body: Json<NewUserRequest>,
    ) -> Result<UserCreated> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "users.create").await?;
        let new = NewUser {
            email: &body.email,
            name: &body.name,
            password: &body.password,
            role: parse_role(&body.role)?,
        };
        Ok(UserCreated::Created(Json(
            users::create(&state.pool, &admin, new).await?,
        )))
    }

    /// Get a user
    #[oai(path = "/users/:id/", method = "get")]
    async fn user(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<String>,
    ) -> Result<Json<AdminUser>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "users.get").await?;
        Ok(Json(users::get(&state.pool, &admin, path_id(&id, "User")?).await?))
    }

    /// Change a user's name or role
    ///
    /// A role change closes the user's sockets so they reconnect with the new role.
    #[oai(path = "/users/:id/", method = "patch")]
    async fn update_user(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<String>,
        body: Json<UserPatch>,
    ) -> Result<Json<AdminUser>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "users.update").await?;
        let change = UserChange {
            name: body.name.as_deref(),
            role: body.role.as_deref().map(parse_role).transpose()?,
        };
        Ok(Json(
            users::update(&state.pool, &state.realtime, &admin, path_id(&id, "User")?, change).await?,
        ))
    }

    /// Deactivate a user
    ///
    /// Their sessions and API tokens are revoked and their sockets closed at once; their
    /// history stays.
    #[oai(path = "/users/:id/", method = "delete")]
    async fn deactivate_user(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<String>,
    ) -> Result<Done> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "users.deactivate").await?;
        users::deactivate(&state.pool, &state.realtime, &admin, path_id(&id, "User")?).await?;
        Ok(Done::NoContent)
    }

    /// List the tenant's attachments
    ///
    /// Newest first; filter by conversation, uploader and upload time (`from` inclusive,
    /// `to` exclusive). `total_size` sums the stored bytes of all matches.
    #[oai(path = "/attachments/", method = "get")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn attachments(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        conversation: Query<Option<String>>,
        uploader: Query<Option<String>>,
        /// Uploaded at or after (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Uploaded before (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// Page size (default 50, at most 200).
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> Result<Json<AdminAttachmentPage>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "attachments.list").await?;
        let (limit, offset) = page_bounds(limit.0, offset.0);
        let filter = AdminFilter {
            conversation_id: optional_id(conversation.0.as_deref(), "conversation")?,
            uploader_id: optional_id(uploader.0.as_deref(), "uploader")?,
            from: from.0,
            to: to.0,
            limit,
            offset,
        };
        Ok(Json(attachments::admin_list(&state.pool, &admin, filter).await?))
    }

    /// Remove an attachment
    ///
    /// The file is deleted from storage; its message keeps `{"id","filename","deleted":true}`
    /// and the participants get `message_updated`.
    #[oai(path = "/attachments/:id/", method = "delete")]
    async fn remove_attachment(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<String>,
    ) -> Result<Done> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "attachments.delete").await?;
        let id = path_id(&id, "Attachment")?;
        attachments::admin_delete(&state.pool, &state.realtime, &state.config.media_root, &admin, id).await?;
        Ok(Done::NoContent)
    }

    /// The audit log
    ///
    /// Newest first; filter by actor, action and time range (`from` inclusive, `to` exclusive).
    #[oai(path = "/audit-log/", method = "get")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn audit_log(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        actor: Query<Option<String>>,
        action: Query<Option<String>>,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> Result<Json<AuditPage>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "audit_log.list").await?;
        let (limit, offset) = page_bounds(limit.0, offset.0);
        let filter = AuditFilter {
            actor: optional_id(actor.0.as_deref(), "actor")?,
            action: action.0,
            from: from.0,
            to: to.0,
            limit,
            offset,
        };
        Ok(Json(audit::list(&state.pool, admin.actor(), filter).await?))
    }

    /// The tenant's chat settings
    #[oai(path = "/settings/", method = "get")]
    async fn settings(&self, state: Data<&AppState>, auth: Auth, meta: RequestMeta) -> Result<Json<SettingsView>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "settings.get").await?;
        Ok(Json(settings::get(&state.pool, &admin).await?))
    }

    /// Replace the tenant's chat settings
    ///
    /// Upload size (within the global 10 MiB cap), allowed types (a subset of the server's),
    /// a send rate (within the server's), message retention in days, the widget's colour
    /// and title. An absent field returns to its default.
    #[oai(path = "/settings/", method = "put")]
    async fn put_settings(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        body: Json<SettingsUpdate>,
    ) -> Result<Json<SettingsView>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "settings.update").await?;
        Ok(Json(
            settings::put(&state.pool, &admin, body.0, state.limits.send_per_minute()).await?,
        ))
    }

    /// Usage counts
    #[oai(path = "/analytics/", method = "get")]
    async fn analytics(&self, state: Data<&AppState>, auth: Auth, meta: RequestMeta) -> Result<Json<Analytics>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "analytics.get").await?;
        Ok(Json(analytics::analytics(&state.pool, &admin).await?))
    }

    /// Every conversation of the tenant (compliance; audit-logged)
    #[oai(path = "/conversations/", method = "get")]
    async fn conversations(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> Result<Json<Vec<AdminConversation>>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "conversations.list").await?;
        let (limit, offset) = page_bounds(limit.0, offset.0);
        Ok(Json(
            compliance::conversations(&state.pool, &admin, limit, offset).await?,
        ))
    }

    /// Read any conversation of the tenant (compliance; audit-logged, marks nothing read)
    #[oai(path = "/conversations/:id/messages/", method = "get")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn conversation_messages(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<String>,
        after_seq: Query<Option<i64>>,
        before_seq: Query<Option<i64>>,
        limit: Query<Option<i64>>,
    ) -> Result<Json<Vec<Message>>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "conversations.read").await?;
        let query = HistoryQuery {
            since_id: None,
            after_seq: after_seq.0,
            before_seq: before_seq.0,
            limit: limit.0,
        };
        Ok(Json(
            compliance::messages(&state.pool, &admin, path_id(&id, "Conversation")?, query).await?,
        ))
    }
}
