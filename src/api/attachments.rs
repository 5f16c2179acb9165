use poem::{
    http::{header, HeaderValue, StatusCode},
    web::Data,
    IntoResponse, Response,
};
use poem_openapi::{
    param::{Path, Query},
    registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry},
    ApiResponse, OpenApi,
};

use super::{files::FileRequest, ApiTags, IdText};
use crate::{
    auth::Auth,
    chat::{
        attachments::{self, Download},
        uploads::UploadKind,
    },
    error::{self, Context, ErrorBody, Result},
    state::AppState,
};

pub struct AttachmentsApi;

/// A file download: the bytes with their headers, or 206/304 for range and
/// conditional requests.
pub struct FileResponse(Response);

impl IntoResponse for FileResponse {
    fn into_response(self) -> Response {
        self.0
    }
}

impl ApiResponse for FileResponse {
    fn meta() -> MetaResponses {
        // Served with the type detected from the file's bytes: one of those accepted.
        let binary = || {
            UploadKind::ALL
                .into_iter()
                .map(|kind| MetaMediaType {
                    content_type: kind.mime(),
                    schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "binary"))),
                })
                .collect()
        };
        let header = |name: &str, description: &str| MetaHeader {
            name: name.to_string(),
            description: Some(description.to_string()),
            required: false,
            deprecated: false,
            schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
        };
        MetaResponses {
            responses: vec![
                MetaResponse {
                    description: "The file, with its detected `Content-Type`, `Content-Disposition` \
                                  (inline only for images), `X-Content-Type-Options: nosniff`, `ETag` and \
                                  `Accept-Ranges`",
                    status: Some(200),
                    status_range: None,
                    content: binary(),
                    headers: vec![
                        header("Content-Disposition", "attachment; filename*=UTF-8''…"),
                        header("ETag", "entity tag for conditional requests"),
                    ],
                },
                MetaResponse {
                    description: "The requested byte range",
                    status: Some(206),
                    status_range: None,
                    content: binary(),
                    headers: vec![header("Content-Range", "bytes start-end/size")],
                },
                MetaResponse {
                    description: "Not modified (`If-None-Match`)",
                    status: Some(304),
                    status_range: None,
                    content: vec![],
                    headers: vec![],
                },
                MetaResponse {
                    description: "No byte of the requested `Range` is in the file (`range_not_satisfiable`)",
                    status: Some(416),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: <ErrorBody as poem_openapi::types::Type>::schema_ref(),
                    }],
                    headers: vec![header("Content-Range", "bytes */size")],
                },
            ],
        }
    }

    fn register(_registry: &mut Registry) {}
}

/// `Content-Disposition` with the original name, RFC 6266 / 5987: an ASCII fallback and
/// the UTF-8 name percent-encoded.
fn disposition(download: &Download) -> String {
    let kind = if download.inline { "inline" } else { "attachment" };
    let ascii: String = download
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(&download.filename, percent_encoding::NON_ALPHANUMERIC);
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[OpenApi(prefix_path = "/chat/attachments", tag = "ApiTags::Attachments")]
impl AttachmentsApi {
    /// Download an attachment
    ///
    /// Participants of the conversation only (others 403, other tenants 404). Supports
    /// `If-None-Match` and a single `Range` (several ranges, or an invalid one, get the
    /// whole file). `?thumb=1` answers the image's thumbnail.
    #[oai(path = "/:id/", method = "get")]
    async fn download(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        id: Path<IdText>,
        /// `1` for the thumbnail of a JPEG, PNG or WebP image.
        thumb: Query<Option<String>>,
        file: FileRequest,
    ) -> Result<FileResponse> {
        let id = id.in_path("Attachment")?;
        let thumbnail = matches!(thumb.0.as_deref(), Some("1" | "true"));
        let media_root = &state.config.media_root;
        let download = attachments::download(&state.pool, media_root, auth.actor(), id, thumbnail).await?;
        let mut response = match &state.config.media_accel_redirect {
            // nginx serves the bytes (ranges included) from its internal location.
            Some(prefix) => {
                let relative = download
                    .path
                    .strip_prefix(media_root)
                    .context("locating an attachment under MEDIA_ROOT")?;
                let location = format!("{}/{}", prefix.trim_end_matches('/'), relative.display());
                Response::builder().header("X-Accel-Redirect", location).finish()
            }
            None => match match &download.sealed_as {
                Some(identity) => file.respond_sealed(&download.path, identity).await,
                None => file.respond(&download.path).await,
            } {
                Ok(file) => file,
                Err(err) => return Ok(FileResponse(error::into_json_response(err).await)),
            },
        };
        if response.status() != StatusCode::NOT_MODIFIED {
            let headers = response.headers_mut();
            let value = |v: &str| HeaderValue::from_str(v).context("writing a download's headers");
            headers.insert(header::CONTENT_TYPE, value(&download.content_type)?);
            headers.insert(header::CONTENT_DISPOSITION, value(&disposition(&download))?);
        }
        let headers = response.headers_mut();
        headers.insert("X-Content-Type-Options", HeaderValue::from_static("nosniff"));
        // Revalidated every time (the ETag keeps that cheap): a file an admin removed must
        // stop being served from caches too.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
        Ok(FileResponse(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_has_an_ascii_fallback_and_the_utf8_name() {
        let download = |name: &str, inline| Download {
            path: "x".into(),
            content_type: "x".into(),
            filename: name.into(),
            inline,
            sealed_as: None,
        };
        assert_eq!(
            disposition(&download("relatório final.pdf", false)),
            "attachment; filename=\"relat_rio final.pdf\"; filename*=UTF-8''relat%C3%B3rio%20final%2Epdf"
        );
        assert!(disposition(&download("a\"b.png", true)).starts_with("inline; filename=\"a_b.png\""));
    }
}
