use poem::web::Data;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    ApiRequest, ApiResponse, Object, OpenApi,
};

use super::{path_id, uploads::MessageForm, ApiTags};
use crate::{
    auth::Auth,
    chat::{
        history::{self, HistoryQuery},
        messages::{self, NewMessage, Sent},
        views::Message,
    },
    error::{Error, Result},
    limits::Action,
    state::AppState,
};

pub struct MessagesApi;

#[derive(Object)]
struct SendJson {
    /// The text, at most 5000 characters.
    content: Option<String>,
    /// Idempotency key (≤ 64 characters): a retry with the same key returns the original message.
    client_id: Option<String>,
}

#[derive(ApiRequest)]
enum SendRequest {
    Json(Json<SendJson>),
    Multipart(MessageForm),
}

#[derive(ApiResponse)]
enum SendResponse {
    /// A retry: the message first sent with this `client_id`.
    #[oai(status = 200)]
    Existing(Json<Message>),
    #[oai(status = 201)]
    Created(Json<Message>),
}

#[OpenApi(prefix_path = "/chat/conversations", tag = "ApiTags::Messages")]
impl MessagesApi {
    /// Message history
    ///
    /// Ascending by `seq`. `since_id` / `after_seq` return what came after (catching up;
    /// default and maximum page 200); `before_seq` pages backwards (default 50, max 200);
    /// with no cursor, the newest messages. Fetching marks the returned messages delivered.
    #[oai(path = "/:id/messages/", method = "get")]
    #[allow(clippy::too_many_arguments)] // one argument per documented query parameter
    async fn history(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        id: Path<String>,
        /// Only messages after this message id.
        since_id: Query<Option<String>>,
        /// Only messages with a greater seq.
        after_seq: Query<Option<i64>>,
        /// Only messages with a smaller seq.
        before_seq: Query<Option<i64>>,
        limit: Query<Option<i64>>,
    ) -> Result<Json<Vec<Message>>> {
        let id = path_id(&id, "Conversation")?;
        let since_id = match since_id.0.as_deref() {
            Some(raw) => Some(
                raw.parse()
                    .map_err(|_| Error::validation("since_id", "since_id must be a message id"))?,
            ),
            None => None,
        };
        let query = HistoryQuery {
            since_id,
            after_seq: after_seq.0,
            before_seq: before_seq.0,
            limit: limit.0,
        };
        Ok(Json(
            history::history(&state.pool, &state.realtime, auth.actor(), id, query).await?,
        ))
    }

    /// Send a message
    ///
    /// JSON `{"content", "client_id"}`, or `multipart/form-data` with the same fields plus
    /// `attachments` files. A file's type is judged by its bytes; a refused file (type,
    /// size, count) answers 400 `validation_error` with `field: "attachments"` and leaves
    /// nothing stored.
    #[oai(path = "/:id/messages/", method = "post")]
    async fn send(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        id: Path<String>,
        body: SendRequest,
    ) -> Result<SendResponse> {
        let id = path_id(&id, "Conversation")?;
        state.limits.take(Action::Send, auth.actor(), 1).await?;
        let (content, client_id, files) = match body {
            SendRequest::Json(Json(b)) => (b.content, b.client_id, None),
            SendRequest::Multipart(form) => {
                messages::check_can_send(&state.pool, auth.actor(), id).await?;
                // Charged before reading when the size is declared; else by what arrived
                // (refused then, the staged files go when `form` is dropped).
                let declared = form.declared_length();
                if let Some(length) = declared {
                    state.limits.take(Action::UploadBytes, auth.actor(), length).await?;
                }
                let form = form.receive(&state.config.media_root).await?;
                if declared.is_none() {
                    state
                        .limits
                        .take(Action::UploadBytes, auth.actor(), form.files.total_size())
                        .await?;
                }
                (form.content, form.client_id, Some(form.files))
            }
        };
        let new = NewMessage {
            content: content.as_deref().unwrap_or(""),
            client_id: client_id.as_deref(),
            files,
        };
        Ok(
            match messages::send(&state.pool, &state.realtime, auth.actor(), id, new).await? {
                Sent::Created(m) => SendResponse::Created(Json(m)),
                Sent::Existing(m) => SendResponse::Existing(Json(m)),
            },
        )
    }
}
