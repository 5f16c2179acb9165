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

use super::{
    body::{FieldRefusal, JsonBody},
    ApiTags, Done, IdText,
};
use crate::{
    accounts::NewUser,
    admin::{
        analytics::{self, Analytics},
        attachments::{self, AdminAttachmentPage, AdminFilter},
        compliance::{self, AdminConversation, ComplianceMessage},
        flagged::{self, FlaggedMessage},
        settings::{self, SettingsUpdate, SettingsView},
        users::{self, AdminUser, UserChange},
        widget_secret::{self, WidgetSecret},
        Admin,
    },
    audit::{self, AuditFilter, AuditPage, ChainCheck},
    auth::Auth,
    chat::history::HistoryQuery,
    client::RequestMeta,
    domain::{Email, Label, Limit, MediaType, Name, Offset, OneLine, Patterned, Role, Seq},
    error::{Error, Result},
    state::AppState,
};

pub struct AdminApi;

#[derive(ApiResponse)]
enum SecretCreated {
    /// The new secret; shown only now.
    #[oai(status = 201)]
    Created(Json<WidgetSecret>),
}

#[derive(ApiResponse)]
enum UserCreated {
    #[oai(status = 201)]
    Created(Json<AdminUser>),
}

#[derive(Object)]
struct NewUserRequest {
    /// One `@` with text on both sides, no spaces; at most 254 characters.
    #[oai(validator(max_length = 254))]
    email: Patterned<Email>,
    /// 1 to 200 characters, not all spaces, no control characters.
    #[oai(validator(max_length = 200))]
    name: Patterned<Label>,
    /// 8 to 1024 characters, not the email address.
    #[oai(validator(min_length = 8, max_length = 1024))]
    password: String,
    role: Role,
}

impl FieldRefusal for NewUserRequest {}

#[derive(Object)]
struct UserPatch {
    /// 1 to 200 characters, not all spaces, no control characters.
    #[oai(nullable, validator(max_length = 200))]
    name: Option<Patterned<Label>>,
    // Absent: unchanged. Neither nullable nor described: either wraps the enum's
    // `$ref` in an `allOf`, which client generators cannot take for an enum.
    role: Option<Role>,
    /// Whether the user answers support conversations (absent: unchanged).
    is_agent: Option<bool>,
}

impl FieldRefusal for UserPatch {}

impl FieldRefusal for SettingsUpdate {
    /// A canned reply's own fields are named by the list they are in, so every refusal
    /// of the list says `canned_replies` whichever rule it broke.
    fn refuse(field: &'static str, message: String) -> Error {
        let field = if matches!(field, "shortcut" | "text") {
            "canned_replies"
        } else {
            field
        };
        Error::validation(field, message)
    }
}

/// Admin lists: 50 items unless asked otherwise, at most 200.
pub(super) fn page_bounds(limit: Option<Limit>, offset: Option<Offset>) -> (i64, i64) {
    (Limit::or_default(limit, 50, 200), Offset::or_zero(offset))
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
        body: JsonBody<NewUserRequest>,
    ) -> Result<UserCreated> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "users.create").await?;
        let new = NewUser {
            email: &body.email,
            name: &body.name,
            password: &body.password,
            role: body.role,
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
        id: Path<IdText>,
    ) -> Result<Json<AdminUser>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "users.get").await?;
        Ok(Json(users::get(&state.pool, &admin, id.in_path("User")?).await?))
    }

    /// Change a user's name, role or agent flag
    ///
    /// A role change closes the user's sockets so they reconnect with the new role.
    /// `is_agent` makes the user a support agent (inbox, assignment, canned replies).
    #[oai(path = "/users/:id/", method = "patch")]
    async fn update_user(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<IdText>,
        body: JsonBody<UserPatch>,
    ) -> Result<Json<AdminUser>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "users.update").await?;
        let change = UserChange {
            name: body.name.as_deref().map(Name::parse).transpose()?,
            role: body.role,
            is_agent: body.is_agent,
        };
        Ok(Json(
            users::update(
                &state.pool,
                &state.realtime,
                &state.credentials,
                &admin,
                id.in_path("User")?,
                change,
            )
            .await?,
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
        id: Path<IdText>,
    ) -> Result<Done> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "users.deactivate").await?;
        users::deactivate(
            &state.pool,
            &state.realtime,
            &state.credentials,
            &admin,
            id.in_path("User")?,
        )
        .await?;
        Ok(Done::NoContent)
    }

    /// Reactivate a user
    ///
    /// They can log in again; the sessions and API tokens that deactivation ended stay
    /// ended.
    #[oai(path = "/users/:id/reactivate/", method = "post")]
    async fn reactivate_user(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<IdText>,
    ) -> Result<Json<AdminUser>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "users.reactivate").await?;
        Ok(Json(users::reactivate(&state.pool, &admin, id.in_path("User")?).await?))
    }

    /// List the tenant's attachments
    ///
    /// Newest first; filter by conversation, uploader, type and upload time (`from`
    /// inclusive, `to` exclusive). `total_size` sums the stored bytes of all matches,
    /// `by_uploader` and `by_type` break them down.
    #[oai(path = "/attachments/", method = "get")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn attachments(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        /// Only files of this conversation.
        conversation: Query<Option<uuid::Uuid>>,
        /// Only files this user uploaded.
        uploader: Query<Option<uuid::Uuid>>,
        /// Only files of this MIME type (`image/png`) or top-level type (`image`).
        #[oai(name = "type", validator(max_length = 100))]
        content_type: Query<Option<Patterned<MediaType>>>,
        /// Uploaded at or after (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Uploaded before (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// Page size (default 50; larger values are capped at 200).
        limit: Query<Option<Limit>>,
        offset: Query<Option<Offset>>,
    ) -> Result<Json<AdminAttachmentPage>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "attachments.list").await?;
        let (limit, offset) = page_bounds(limit.0, offset.0);
        let filter = AdminFilter {
            conversation_id: conversation.0,
            uploader_id: uploader.0,
            content_type: content_type.0.map(|t| t.to_ascii_lowercase()),
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
        id: Path<IdText>,
    ) -> Result<Done> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "attachments.delete").await?;
        let id = id.in_path("Attachment")?;
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
        /// Only entries by this user.
        actor: Query<Option<uuid::Uuid>>,
        /// Only entries of this action, e.g. `user.deactivate` (at most 100 characters).
        #[oai(validator(max_length = 100))]
        action: Query<Option<Patterned<OneLine>>>,
        /// At or after (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Before (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// Page size (default 50; larger values are capped at 200).
        limit: Query<Option<Limit>>,
        offset: Query<Option<Offset>>,
    ) -> Result<Json<AuditPage>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "audit_log.list").await?;
        let (limit, offset) = page_bounds(limit.0, offset.0);
        let filter = AuditFilter {
            actor: actor.0,
            action: action.0.map(Patterned::into_string),
            from: from.0,
            to: to.0,
            limit,
            offset,
        };
        Ok(Json(audit::list(&state.pool, admin.actor(), filter).await?))
    }

    /// Check the audit log's hash chain
    ///
    /// Recomputes the tenant's chain from its first row, as `tenantchat audit verify` does,
    /// and names the first row whose link or hash does not match.
    #[oai(path = "/audit-log/verify/", method = "get")]
    async fn verify_audit_log(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
    ) -> Result<Json<ChainCheck>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "audit_log.verify").await?;
        let outcome = audit::verify(&state.pool, admin.actor().tenant_id()).await?;
        Ok(Json(outcome.into()))
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
        body: JsonBody<SettingsUpdate>,
    ) -> Result<Json<SettingsView>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "settings.update").await?;
        Ok(Json(
            settings::put(&state.pool, &admin, body.0, state.limits.send_per_minute()).await?,
        ))
    }

    /// Rotate the widget secret
    ///
    /// A new secret for signing widget sign-ins (`POST /api/auth/widget/`), shown only in
    /// this answer; the previous one stops working at once. Audited (without the secret).
    #[oai(path = "/widget-secret/", method = "post")]
    async fn rotate_widget_secret(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
    ) -> Result<SecretCreated> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "widget_secret.rotate").await?;
        Ok(SecretCreated::Created(Json(
            widget_secret::rotate(&state.pool, &admin).await?,
        )))
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
        /// Page size (default 50; larger values are capped at 200).
        limit: Query<Option<Limit>>,
        offset: Query<Option<Offset>>,
    ) -> Result<Json<Vec<AdminConversation>>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "conversations.list").await?;
        let (limit, offset) = page_bounds(limit.0, offset.0);
        Ok(Json(
            compliance::conversations(&state.pool, &admin, limit, offset).await?,
        ))
    }

    /// Read any conversation of the tenant (compliance; audit-logged, marks nothing read)
    ///
    /// Each message as it is now, with `edits`: its earlier versions, oldest first (a
    /// deleted message's last content among them).
    #[oai(path = "/conversations/:id/messages/", method = "get")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn conversation_messages(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<IdText>,
        after_seq: Query<Option<Seq>>,
        before_seq: Query<Option<Seq>>,
        /// Page size (default 50, or 200 with `after_seq`; larger values are capped at 200).
        limit: Query<Option<Limit>>,
    ) -> Result<Json<Vec<ComplianceMessage>>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "conversations.read").await?;
        let query = HistoryQuery {
            since_id: None,
            after_seq: after_seq.0,
            before_seq: before_seq.0,
            limit: limit.0,
        };
        Ok(Json(
            compliance::messages(&state.pool, &admin, id.in_path("Conversation")?, query).await?,
        ))
    }

    /// Messages flagged for personal data (`pii_mode: flag`; audit-logged)
    ///
    /// Newest first, with the counts per kind in `pii` and `metadata.pii`. Only admins
    /// see these counts: members' views of a message never carry them.
    #[oai(path = "/flagged-messages/", method = "get")]
    async fn flagged_messages(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        /// Page size (default 50; larger values are capped at 200).
        limit: Query<Option<Limit>>,
        offset: Query<Option<Offset>>,
    ) -> Result<Json<Vec<FlaggedMessage>>> {
        let admin = Admin::check(&state.pool, &state.limits, auth.actor(), meta, "flagged_messages.list").await?;
        let (limit, offset) = page_bounds(limit.0, offset.0);
        Ok(Json(flagged::list(&state.pool, &admin, limit, offset).await?))
    }
}
