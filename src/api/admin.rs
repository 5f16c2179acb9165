use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    ApiResponse, OpenApi,
};

use super::{path_id, ApiTags};
use crate::{
    auth::Auth,
    chat::attachments::{self, AdminAttachmentPage, AdminFilter},
    error::{Error, Result},
    AppState,
};

pub struct AdminApi;

#[derive(ApiResponse)]
enum Removed {
    /// Removed; the message keeps a tombstone.
    #[oai(status = 204)]
    NoContent,
}

fn optional_id(raw: Option<&str>, field: &'static str) -> Result<Option<uuid::Uuid>> {
    raw.map(|r| {
        r.parse()
            .map_err(|_| Error::validation(field, format!("{field} must be an id")))
    })
    .transpose()
}

#[OpenApi(prefix_path = "/admin", tag = "ApiTags::Admin")]
impl AdminApi {
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
        let filter = AdminFilter {
            conversation_id: optional_id(conversation.0.as_deref(), "conversation")?,
            uploader_id: optional_id(uploader.0.as_deref(), "uploader")?,
            from: from.0,
            to: to.0,
            limit: limit.0.unwrap_or(50).clamp(1, 200),
            offset: offset.0.unwrap_or(0).max(0),
        };
        Ok(Json(attachments::admin_list(&state.pool, auth.actor(), filter).await?))
    }

    /// Remove an attachment
    ///
    /// The file is deleted from storage; its message keeps `{"id","filename","deleted":true}`
    /// and the participants get `message_updated`.
    #[oai(path = "/attachments/:id/", method = "delete")]
    async fn remove_attachment(&self, state: Data<&AppState>, auth: Auth, id: Path<String>) -> Result<Removed> {
        let id = path_id(&id, "Attachment")?;
        attachments::admin_delete(&state.pool, &state.realtime, &state.config.media_root, auth.actor(), id).await?;
        Ok(Removed::NoContent)
    }
}
