use poem::web::Data;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    ApiRequest, ApiResponse, Object, OpenApi,
};

use super::{
    body::{FieldRefusal, JsonBody},
    uploads::MessageForm,
    ApiTags, IdText,
};
use crate::{
    auth::Auth,
    chat::{
        history::{self, HistoryQuery},
        messages::{self, NewMessage, Sent},
        staging::Staged,
        views::Message,
    },
    domain::{ClientId, Limit, Seq},
    error::Result,
    limits::Action,
    state::AppState,
};

pub struct MessagesApi;

#[derive(Object)]
struct SendJson {
    /// The text: at most 5000 characters, not all white space, no NUL.
    #[oai(validator(max_length = 5000, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"))]
    content: String,
    /// Idempotency key (at most 64 characters, no control characters): a retry with
    /// the same key returns the original message.
    #[oai(nullable, validator(max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    client_id: Option<String>,
}

impl FieldRefusal for SendJson {}

/// One operation, two documented media types: JSON for text, multipart for files.
#[derive(ApiRequest)]
enum SendRequest {
    Json(JsonBody<SendJson>),
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
        id: Path<IdText>,
        /// Only messages after this message (of this conversation).
        since_id: Query<Option<uuid::Uuid>>,
        /// Only messages with a greater seq.
        after_seq: Query<Option<Seq>>,
        /// Only messages with a smaller seq.
        before_seq: Query<Option<Seq>>,
        /// Page size (default 50, or 200 when catching up; larger values are capped at 200).
        limit: Query<Option<Limit>>,
    ) -> Result<Json<Vec<Message>>> {
        let id = id.in_path("Conversation")?;
        let query = HistoryQuery {
            since_id: since_id.0,
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
        id: Path<IdText>,
        body: SendRequest,
    ) -> Result<SendResponse> {
        let id = id.in_path("Conversation")?;
        state.limits.take(Action::Send, auth.actor(), 1).await?;
        let (content, client_id, files) = match body {
            SendRequest::Json(JsonBody(b)) => (Some(b.content), b.client_id, None),
            SendRequest::Multipart(form) => {
                messages::check_can_send(&state.pool, auth.actor(), id).await?;
                // Charged before reading when the size is declared, else as the bytes
                // arrive; a refused upload stops being read, and its staged files go.
                let mut meter = state.limits.upload_meter(auth.actor(), form.declared_length()).await?;
                let files = Staged::for_tenant(&state.pool, auth.actor().tenant_id(), &state.config.media_root).await?;
                let form = form.receive(files, &mut meter).await?;
                (form.content, form.client_id, Some(form.files))
            }
        };
        let new = NewMessage {
            content: content.as_deref().unwrap_or(""),
            client_id: ClientId::parse_optional(client_id.as_deref())?,
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
