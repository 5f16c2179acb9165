use std::collections::BTreeMap;

use poem::web::Data;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    ApiRequest, ApiResponse, Object, OpenApi,
};
use uuid::Uuid;

use super::{
    body::{FieldRefusal, JsonBody},
    uploads::{Extras, MessageForm},
    ApiTags, Done, IdText,
};
use crate::{
    auth::Auth,
    chat::{
        edits,
        history::{self, HistoryQuery},
        messages::{self, NewMessage, Sent},
        reactions,
        staging::Staged,
        views::Message,
    },
    client::RequestMeta,
    domain::{ClientId, Limit, NonBlank, OneLine, Patterned, Seq},
    error::{Error, Result},
    limits::Action,
    state::AppState,
};

pub struct MessagesApi;

#[derive(Object)]
struct SendJson {
    /// The text: at most 5000 characters, not all white space, no NUL.
    #[oai(validator(max_length = 5000))]
    content: Patterned<NonBlank>,
    /// Idempotency key (at most 64 characters, no control characters): a retry with
    /// the same key returns the original message.
    #[oai(nullable, validator(max_length = 64))]
    client_id: Option<Patterned<OneLine>>,
    /// The id of the message of this conversation this one answers.
    #[oai(nullable)]
    reply_to: Option<IdText>,
    /// Participants of this conversation the message mentions (at most 100); the sender
    /// mentioning themself is dropped.
    #[oai(validator(max_items = 100))]
    mentions: Option<Vec<IdText>>,
    /// Any JSON object, at most 4096 bytes as compact JSON.
    metadata: Option<BTreeMap<String, serde_json::Value>>,
}

impl FieldRefusal for SendJson {}

#[derive(Object)]
struct EditJson {
    /// The new text: at most 5000 characters, not all white space, no NUL.
    #[oai(validator(max_length = 5000))]
    content: Patterned<NonBlank>,
}

impl FieldRefusal for EditJson {}

/// An id in a body: 400 naming `field` unless it is a UUID.
fn body_id(field: &'static str, text: &str) -> Result<Uuid> {
    text.parse()
        .map_err(|_| Error::validation(field, format!("{field}: {text:?} is not an id")))
}

/// The message to send from the parts either body gave.
fn new_message(
    content: &str,
    client_id: Option<ClientId>,
    files: Option<Staged>,
    extras: Extras,
) -> Result<NewMessage<'_>> {
    Ok(NewMessage {
        content,
        client_id,
        files,
        reply_to: extras.reply_to.map(|id| body_id("reply_to", &id)).transpose()?,
        mentions: extras
            .mentions
            .iter()
            .map(|id| body_id("mentions", id))
            .collect::<Result<_>>()?,
        metadata: extras.metadata,
    })
}

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
    /// nothing stored. Text containing one of the tenant's `forbidden_topics` answers 400
    /// `forbidden_topic` naming the `phrase`, nothing stored; with `pii_mode: redact`
    /// personal data is replaced by `[redacted:<kind>]` before the message is stored.
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
        let (content, client_id, files, extras) = match body {
            SendRequest::Json(JsonBody(b)) => {
                let extras = Extras {
                    reply_to: b.reply_to.map(|id| id.as_str().to_string()),
                    mentions: b
                        .mentions
                        .unwrap_or_default()
                        .iter()
                        .map(|id| id.as_str().to_string())
                        .collect(),
                    metadata: b.metadata,
                };
                (
                    Some(b.content.into_string()),
                    b.client_id.map(Patterned::into_string),
                    None,
                    extras,
                )
            }
            SendRequest::Multipart(form) => {
                messages::check_can_send(&state.pool, auth.actor(), id).await?;
                // Charged before reading when the size is declared, else as the bytes
                // arrive; a refused upload stops being read, and its staged files go.
                let mut meter = state.limits.upload_meter(auth.actor(), form.declared_length()).await?;
                let files = Staged::for_tenant(&state.pool, auth.actor().tenant_id(), &state.config.media_root).await?;
                let form = form.receive(files, &mut meter).await?;
                (form.content, form.client_id, Some(form.files), form.extras)
            }
        };
        let client_id = ClientId::parse_optional(client_id.as_deref())?;
        let new = new_message(content.as_deref().unwrap_or(""), client_id, files, extras)?;
        Ok(
            match messages::send(
                &state.pool,
                &state.realtime,
                &state.content_rules,
                state.webhooks.doorbell(),
                auth.actor(),
                id,
                new,
            )
            .await?
            {
                Sent::Created(m) => SendResponse::Created(Json(m)),
                Sent::Existing(m) => SendResponse::Existing(Json(m)),
            },
        )
    }

    /// One message
    ///
    /// Members, and anyone in the tenant for a tenant-visible conversation. Marks
    /// nothing delivered.
    #[oai(path = "/:id/messages/:message_id/", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        id: Path<IdText>,
        message_id: Path<IdText>,
    ) -> Result<Json<Message>> {
        let id = id.in_path("Conversation")?;
        let message_id = message_id.in_path("Message")?;
        Ok(Json(edits::get(&state.pool, auth.actor(), id, message_id).await?))
    }

    /// Edit a message
    ///
    /// Its sender (within the tenant's `edit_window_minutes`, else 403
    /// `edit_window_closed`) or a tenant admin (audited). Others: 403
    /// `message_permission_required`, also for system messages; a deleted message: 409
    /// `message_deleted`. Earlier versions are kept for compliance reads. Everyone in the
    /// conversation gets `message_updated`. The tenant's content rules hold as for a send
    /// (400 `forbidden_topic`, redaction).
    #[oai(path = "/:id/messages/:message_id/", method = "patch")]
    async fn edit(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<IdText>,
        message_id: Path<IdText>,
        body: JsonBody<EditJson>,
    ) -> Result<Json<Message>> {
        let id = id.in_path("Conversation")?;
        let message_id = message_id.in_path("Message")?;
        let message = edits::edit(
            &state.pool,
            &state.realtime,
            &state.content_rules,
            auth.actor(),
            &meta,
            id,
            message_id,
            &body.content,
        )
        .await?;
        Ok(Json(message))
    }

    /// Delete a message
    ///
    /// Its sender or a tenant admin (audited). The message stays in the sequence as a
    /// tombstone (`deleted: true`, empty `content`, no attachments; the files are
    /// removed). Deleting it again changes nothing. Everyone in the conversation gets
    /// `message_updated`.
    #[oai(path = "/:id/messages/:message_id/", method = "delete")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        meta: RequestMeta,
        id: Path<IdText>,
        message_id: Path<IdText>,
    ) -> Result<Done> {
        let id = id.in_path("Conversation")?;
        let message_id = message_id.in_path("Message")?;
        let media = &state.config.media_root;
        edits::delete(&state.pool, &state.realtime, media, auth.actor(), &meta, id, message_id).await?;
        Ok(Done::NoContent)
    }

    /// React to a message
    ///
    /// Adds the caller's `emoji` (one emoji, URL-encoded; else 400 `validation_error`)
    /// to the message; adding it again changes nothing. Participants only: a
    /// tenant-visible conversation's viewers join first (403 `not_a_participant`), `read`
    /// users get 403 `write_permission_required`. At most 20 distinct emoji per message
    /// (400 `validation_error`); a deleted message: 409 `message_deleted`. A change
    /// sends `reaction` to the participants and viewers.
    #[oai(path = "/:id/messages/:message_id/reactions/:emoji/", method = "put")]
    async fn react(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        id: Path<IdText>,
        message_id: Path<IdText>,
        emoji: Path<String>,
    ) -> Result<Done> {
        self.set_reaction(&state, &auth, id, message_id, &emoji, true).await
    }

    /// Remove a reaction
    ///
    /// Removes the caller's `emoji` from the message; removing one that is not there
    /// changes nothing. Who may: as for adding one.
    #[oai(path = "/:id/messages/:message_id/reactions/:emoji/", method = "delete")]
    async fn unreact(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        id: Path<IdText>,
        message_id: Path<IdText>,
        emoji: Path<String>,
    ) -> Result<Done> {
        self.set_reaction(&state, &auth, id, message_id, &emoji, false).await
    }
}

impl MessagesApi {
    async fn set_reaction(
        &self,
        state: &AppState,
        auth: &Auth,
        id: Path<IdText>,
        message_id: Path<IdText>,
        emoji: &str,
        added: bool,
    ) -> Result<Done> {
        let id = id.in_path("Conversation")?;
        let message_id = message_id.in_path("Message")?;
        reactions::set(&state.pool, &state.realtime, auth.actor(), id, message_id, emoji, added).await?;
        Ok(Done::NoContent)
    }
}
