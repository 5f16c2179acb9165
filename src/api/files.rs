//! Serving a stored file: poem's static-file response for the conditional requests
//! (`ETag`, `If-None-Match`, `If-Modified-Since`, `If-Match`, …), and the `Range` header
//! read here, as RFC 9110 says, by `http-range-header`. (poem's own reading serves
//! `bytes=-0` as a 206 of nothing, refuses `bytes=0-100` on a shorter file, and answers a
//! suffix longer than the file with 200.)
//!
//! One satisfiable range → 206 with its bytes; no satisfiable range → 416 with
//! `Content-Range: bytes */<size>`; a Range that is not valid, or that asks for several
//! ranges, is ignored (RFC 9110 lets a server ignore Range) → 200 with the whole file:
//! clients that ask for several ranges get all of it rather than a multipart body.

use std::{io::SeekFrom, ops::RangeInclusive, path::Path};

use http_range_header::RangeUnsatisfiableError;
use poem::{
    http::header,
    web::{StaticFileRequest, StaticFileResponse},
    Body, FromRequest, IntoResponse, Request, RequestBody, Response,
};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::{
    chat::sealed_files,
    error::{Context, Error},
};

/// What a download asks for: poem's conditions, and the `Range` header as sent.
pub struct FileRequest {
    conditions: StaticFileRequest,
    range: Option<String>,
    /// Read here too, for sealed files (which poem cannot serve).
    if_none_match: Option<String>,
}

impl<'a> FromRequest<'a> for FileRequest {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        // poem's extractor reads Range too: it is given the headers without it.
        let mut headers = req.headers().clone();
        let range = headers.remove(header::RANGE);
        let if_none_match = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok().map(str::to_string));
        let mut conditional = Request::builder().finish();
        *conditional.headers_mut() = headers;
        Ok(FileRequest {
            conditions: StaticFileRequest::from_request_without_body(&conditional).await?,
            range: range.and_then(|v| v.to_str().ok().map(str::to_string)),
            if_none_match,
        })
    }
}

/// The part of a file of `size` bytes that a `Range` header asks for.
#[derive(Debug, PartialEq)]
enum Wanted {
    Whole,
    Part(RangeInclusive<u64>),
    Unsatisfiable,
}

fn wanted(range: Option<&str>, size: u64) -> Wanted {
    let Some(range) = range else {
        return Wanted::Whole;
    };
    match http_range_header::parse_range_header(range).and_then(|ranges| ranges.validate(size)) {
        Ok(ranges) => match <[_; 1]>::try_from(ranges) {
            Ok([part]) => Wanted::Part(part),
            // Several ranges; or none to send: a suffix of an empty file is all of it.
            Err(_) => Wanted::Whole,
        },
        Err(RangeUnsatisfiableError::Unsatisfiable) => Wanted::Unsatisfiable,
        Err(_) => Wanted::Whole,
    }
}

impl FileRequest {
    /// The file at `path`: 200, 206 or 304, or the error to answer (416, 412, 404).
    pub async fn respond(self, path: &Path) -> poem::Result<Response> {
        let mut response = self.conditions.create_response(path, false, false)?;
        if let StaticFileResponse::Ok {
            body,
            content_length,
            content_range,
            ..
        } = &mut response
        {
            let size = *content_length;
            match wanted(self.range.as_deref(), size) {
                Wanted::Whole => {}
                Wanted::Unsatisfiable => return Err(Error::RangeNotSatisfiable { size }.into()),
                Wanted::Part(part) => {
                    let length = part.end() - part.start() + 1;
                    let mut file = tokio::fs::File::open(path).await.context("opening a download")?;
                    file.seek(SeekFrom::Start(*part.start()))
                        .await
                        .context("seeking in a download")?;
                    *body = Body::from_async_read(file.take(length));
                    *content_length = length;
                    *content_range = Some((*part.start()..part.end() + 1, size));
                }
            }
        }
        Ok(response.into_response())
    }

    /// The sealed file at `path` (docs/encryption.md), opened as `identity`: 200, 206 or
    /// 304 like a plain one, decrypting only the segments a range covers. Its ETag is
    /// the sealed file's modification time and length: a rotation changes it.
    pub async fn respond_sealed(self, path: &Path, identity: &str) -> poem::Result<Response> {
        let meta = tokio::fs::metadata(path)
            .await
            .map_err(|_| Error::not_found("Attachment"))?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_micros());
        let etag = format!("\"{modified:x}-{:x}\"", meta.len());
        let matches = |list: &str| {
            list.split(',')
                .any(|tag| matches!(tag.trim(), "*") || tag.trim().trim_start_matches("W/") == etag)
        };
        if self.if_none_match.as_deref().is_some_and(matches) {
            return Ok(Response::builder()
                .status(poem::http::StatusCode::NOT_MODIFIED)
                .header(header::ETAG, etag)
                .finish());
        }
        let size = sealed_files::plain_size(path).await?;
        let (status, range) = match wanted(self.range.as_deref(), size) {
            Wanted::Whole => (poem::http::StatusCode::OK, 0..size),
            Wanted::Unsatisfiable => return Err(Error::RangeNotSatisfiable { size }.into()),
            Wanted::Part(part) => (poem::http::StatusCode::PARTIAL_CONTENT, *part.start()..part.end() + 1),
        };
        let bytes = sealed_files::read(path, identity, range.clone()).await?;
        let mut response = Response::builder()
            .status(status)
            .header(header::ETAG, etag)
            .header(header::ACCEPT_RANGES, "bytes");
        if status == poem::http::StatusCode::PARTIAL_CONTENT {
            response = response.header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{size}", range.start, range.end - 1),
            );
        }
        Ok(response.body(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_satisfiable_range_is_a_part() {
        assert_eq!(wanted(Some("bytes=2-4"), 12), Wanted::Part(2..=4));
        assert_eq!(wanted(Some("bytes=-3"), 12), Wanted::Part(9..=11));
        assert_eq!(
            wanted(Some("bytes=-100"), 12),
            Wanted::Part(0..=11),
            "a long suffix is the whole file"
        );
        assert_eq!(wanted(Some("bytes=0-100"), 12), Wanted::Part(0..=11));
        assert_eq!(wanted(Some("bytes=0-1, 20-30"), 12), Wanted::Part(0..=1));
    }

    #[test]
    fn no_satisfiable_range_is_416() {
        for range in ["bytes=-0", "bytes=12-", "bytes=20-30", "bytes=-0, 12-"] {
            assert_eq!(wanted(Some(range), 12), Wanted::Unsatisfiable, "{range}");
        }
        assert_eq!(
            wanted(Some("bytes=0-"), 0),
            Wanted::Unsatisfiable,
            "an empty file has no first byte"
        );
    }

    #[test]
    fn invalid_and_multiple_ranges_are_ignored() {
        for range in [
            None,
            Some("bytes=5-2"),
            Some("bytes=0-1,4-5"),
            Some("bytes=x"),
            Some("lines=1-2"),
        ] {
            assert_eq!(wanted(range, 12), Wanted::Whole, "{range:?}");
        }
        assert_eq!(wanted(Some("bytes=-5"), 0), Wanted::Whole, "an empty file, all of it");
    }
}
