//! A request body watched on its way in, for two things hyper does not do by itself:
//!
//! - **a read timeout**: a body that sends nothing for `timeout` ends in an error for its
//!   reader, and the request answers 408 `request_timeout`;
//! - **no lost keep-alive request**: when the answer goes out before the body was read
//!   to its end (a 403, 404 or 415 decided from the head alone), hyper reads what of the
//!   body is already there and otherwise closes the connection — but it may already
//!   have written the response head without `Connection: close`, so the client sends its
//!   next request into a closing connection and never gets an answer. Such a response
//!   says `Connection: close` itself, and hyper closes after it; the client opens a new
//!   connection for its next request.

use std::{
    io,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use futures_util::{
    stream::{self, BoxStream},
    StreamExt,
};
use poem::{
    http::{header, HeaderValue, StatusCode},
    Body, IntoResponse, Request, Response,
};

use crate::error::{Code, ErrorBody};

/// What became of a request's body, as its reader left it.
#[derive(Default)]
struct Progress {
    finished: AtomicBool,
    timed_out: AtomicBool,
}

/// A watched body's progress; nothing for a request without a body.
pub struct Watch(Option<Arc<Progress>>);

/// The body being read: the rest of it, and how much came so far.
struct Reading {
    rest: BoxStream<'static, io::Result<Bytes>>,
    received: u64,
}

/// Wraps the body of `req`, if it has one, so that it times out after `timeout` of
/// silence and tells whether it was read to its end.
pub fn watch(req: &mut Request, timeout: Duration) -> Watch {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
    if !chunked && declared.unwrap_or(0) == 0 {
        return Watch(None);
    }
    let progress = Arc::new(Progress::default());
    let reading = Reading {
        rest: req.take_body().into_bytes_stream().boxed(),
        received: 0,
    };
    let watched = stream::unfold(Some(reading), {
        let progress = progress.clone();
        move |reading| {
            let progress = progress.clone();
            async move {
                let mut reading = reading?;
                let item = match tokio::time::timeout(timeout, reading.rest.next()).await {
                    Ok(Some(Ok(chunk))) => {
                        reading.received += chunk.len() as u64;
                        // With a length, the last byte is the end: a reader that stops
                        // there (a multipart parser after its closing boundary) read it all.
                        if declared.is_some_and(|length| reading.received >= length) {
                            progress.finished.store(true, Ordering::Relaxed);
                        }
                        Ok(chunk)
                    }
                    Ok(Some(Err(err))) => Err(err),
                    Ok(None) => {
                        progress.finished.store(true, Ordering::Relaxed);
                        return None;
                    }
                    Err(_) => {
                        progress.timed_out.store(true, Ordering::Relaxed);
                        metrics::counter!(crate::telemetry::metrics::HTTP_TIMEOUTS, "phase" => "body").increment(1);
                        Err(io::Error::new(io::ErrorKind::TimedOut, "request body timed out"))
                    }
                };
                // After an error the body is over: its reader gets nothing more.
                let next = item.is_ok().then_some(reading);
                Some((item, next))
            }
        }
    });
    req.set_body(Body::from_bytes_stream(watched));
    Watch(Some(progress))
}

impl Watch {
    /// The response to send, given what became of the body: 408 if it timed out, and
    /// `Connection: close` unless it was read to its end.
    pub fn settle(self, response: Response) -> Response {
        let Some(progress) = self.0 else {
            return response;
        };
        let mut response = if progress.timed_out.load(Ordering::Relaxed) {
            timed_out(response)
        } else {
            response
        };
        if !progress.finished.load(Ordering::Relaxed) {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// The endpoint's answer to a body that stopped coming (whatever error its reader made of
/// it) becomes 408 `request_timeout`, keeping the headers every response carries.
fn timed_out(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    let answer = ErrorBody::new(
        Code::RequestTimeout,
        "The request body stopped arriving; send the request again.".into(),
    );
    let answer = poem::web::Json(answer).into_response();
    parts.status = StatusCode::REQUEST_TIMEOUT;
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(content_type) = answer.headers().get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, content_type.clone());
    }
    Response::from_parts(parts, answer.into_body())
}
