//! The `multipart/form-data` body of a message: `content`, `client_id`, `reply_to`,
//! zero or more `mentions` (one id each), `metadata` (a JSON object as text) and zero or
//! more `attachments` parts. Streamed part by part — each file goes to a temporary file in
//! chunks and is refused the moment it passes the size cap, so an over-size file is
//! never held in memory. The derived `MessageFormSchema` only documents the shape in
//! the OpenAPI document; `MessageForm` does the parsing.

use futures_util::StreamExt;
use poem::{Request, RequestBody};
use poem_openapi::{
    payload::{ParsePayload, Payload},
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::multipart::Upload,
    Multipart,
};

use crate::{
    chat::{
        content::{Metadata, MAX_CHARS, MAX_METADATA_BYTES},
        staging::Staged,
    },
    error::{Code, Error},
    limits::UploadMeter,
};

/// Documentation of the multipart message body.
#[derive(Multipart)]
#[allow(dead_code)] // read by `MessageForm`, described by this type
pub struct MessageFormSchema {
    /// The text, at most 5000 characters, no NUL; may be empty when files are attached.
    #[oai(validator(max_length = 5000, pattern = r"^[^\x00]*$"))]
    content: Option<String>,
    /// Idempotency key (at most 64 characters, no control characters).
    #[oai(validator(max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    client_id: Option<String>,
    /// The id of the message of this conversation this one answers.
    reply_to: Option<uuid::Uuid>,
    /// Participants of this conversation the message mentions, one id per part (at most 100);
    /// the sender mentioning themself is dropped.
    #[oai(validator(max_items = 100))]
    mentions: Option<Vec<uuid::Uuid>>,
    /// A JSON object as text, at most 4096 bytes as compact JSON.
    metadata: Option<String>,
    /// Files (at most 10, each at most 10 MiB): JPEG, PNG, GIF, WebP, PDF, Office
    /// documents (doc, docx, xls, xlsx, ppt, pptx, odt, ods), plain text and CSV,
    /// judged by their bytes. None at all: a text message.
    attachments: Option<Vec<Upload>>,
}

/// A multipart message body, not read yet: the handler first checks that the caller may
/// send into the conversation, so nobody can make the server take in files only to
/// refuse them.
pub struct MessageForm {
    boundary: String,
    body: poem::Body,
    /// The body's `Content-Length`, if declared (what the upload limit is charged).
    length: Option<u64>,
}

/// The optional parts of a send, from either body, as text: the handler turns ids that
/// are not UUIDs into a 400 naming their field.
#[derive(Default)]
pub struct Extras {
    pub reply_to: Option<String>,
    pub mentions: Vec<String>,
    pub metadata: Option<Metadata>,
}

/// A multipart message body, read: the fields and the staged files.
pub struct ReceivedForm {
    pub content: Option<String>,
    pub client_id: Option<String>,
    pub extras: Extras,
    pub files: Staged,
}

impl Payload for MessageForm {
    const CONTENT_TYPE: &'static str = "multipart/form-data";

    fn check_content_type(content_type: &str) -> bool {
        <MessageFormSchema as Payload>::check_content_type(content_type)
    }

    /// The derived schema, which cannot state that a message needs text that is not all
    /// white space or at least one file: an `anyOf` saying so makes the generated clients
    /// hard to use (openapi-typescript types the body as a union without `content`). It
    /// does say that an empty form is never a message.
    fn schema_ref() -> MetaSchemaRef {
        match <MessageFormSchema as Payload>::schema_ref() {
            MetaSchemaRef::Inline(schema) => MetaSchemaRef::Inline(Box::new(MetaSchema {
                min_properties: Some(1),
                ..*schema
            })),
            reference => reference,
        }
    }

    fn register(registry: &mut Registry) {
        <MessageFormSchema as Payload>::register(registry);
    }
}

/// Longest text field read: 5000 characters of at most 4 bytes each.
const MAX_TEXT_FIELD: usize = MAX_CHARS * 4;

/// `mentions` parts read; one more is refused before it is read.
const MAX_MENTION_PARTS: usize = crate::chat::mentions::MAX_MENTIONS;

fn bad_body(message: impl std::fmt::Display) -> Error {
    let message = message.to_string();
    // The body cap of `middleware::limit_body` surfaces here for bodies without a length.
    if message.contains(crate::middleware::BODY_TOO_LARGE) {
        return Error::PayloadTooLarge;
    }
    Error::BadRequest {
        code: Code::InvalidRequest,
        message: format!("invalid multipart body: {message}"),
    }
}

async fn read_text(field: &mut multer::Field<'_>, name: &'static str, limit: usize) -> Result<String, Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(bad_body)? {
        if bytes.len() + chunk.len() > limit {
            return Err(Error::validation(name, format!("{name} is too long")));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| Error::validation(name, format!("{name} is not UTF-8 text")))
}

impl ParsePayload for MessageForm {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let boundary = request
            .content_type()
            .and_then(|ct| multer::parse_boundary(ct).ok())
            .ok_or_else(|| bad_body("no boundary"))?;
        let length = request
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok());
        Ok(MessageForm {
            boundary,
            body: body.take()?,
            length,
        })
    }
}

impl MessageForm {
    /// The declared body size, if any.
    pub fn declared_length(&self) -> Option<u64> {
        self.length
    }

    /// Reads the fields and streams the files into `files`, each chunk charged to `meter`
    /// before it is staged.
    pub async fn receive(self, files: Staged, meter: &mut UploadMeter<'_>) -> Result<ReceivedForm, Error> {
        let stream = self
            .body
            .into_bytes_stream()
            .map(|chunk| chunk.map_err(std::io::Error::other));
        let mut multipart = multer::Multipart::new(stream, self.boundary);
        let mut form = ReceivedForm {
            content: None,
            client_id: None,
            extras: Extras::default(),
            files,
        };
        while let Some(mut field) = multipart.next_field().await.map_err(bad_body)? {
            match field.name() {
                Some("content") => form.content = Some(read_text(&mut field, "content", MAX_TEXT_FIELD).await?),
                Some("client_id") => form.client_id = Some(read_text(&mut field, "client_id", 1024).await?),
                Some("reply_to") => form.extras.reply_to = Some(read_text(&mut field, "reply_to", 1024).await?),
                Some("mentions") => {
                    if form.extras.mentions.len() == MAX_MENTION_PARTS {
                        return Err(Error::validation("mentions", "at most 100 mentions"));
                    }
                    form.extras
                        .mentions
                        .push(read_text(&mut field, "mentions", 1024).await?);
                }
                Some("metadata") => {
                    // Room for the spaces of pretty-printed JSON; the compact size is checked later.
                    let text = read_text(&mut field, "metadata", MAX_METADATA_BYTES * 4).await?;
                    form.extras.metadata = Some(
                        serde_json::from_str(&text)
                            .map_err(|_| Error::validation("metadata", "metadata must be a JSON object"))?,
                    );
                }
                Some("attachments") => {
                    let declared = field.content_type().map(|m| m.to_string());
                    let mut incoming = form.files.start(field.file_name(), declared.as_deref()).await?;
                    while let Some(chunk) = field.chunk().await.map_err(bad_body)? {
                        meter.arrived(chunk.len()).await?;
                        incoming.write(&chunk).await?;
                    }
                    form.files.finish(incoming).await?;
                }
                other => {
                    let name = other.unwrap_or("").to_string();
                    return Err(Error::BadRequest {
                        code: Code::ValidationError,
                        message: format!(
                            "unknown field {name:?}: expected content, client_id, reply_to, mentions, metadata or attachments"
                        ),
                    });
                }
            }
        }
        meter.settle().await?;
        Ok(form)
    }
}
