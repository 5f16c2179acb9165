//! The chat-completions API of OpenAI and of the servers that copy it (vLLM, Ollama,
//! LiteLLM, …): one streamed request (`stream: true`), read as server-sent events whose
//! `data:` lines hold `choices[0].delta.content`, until `data: [DONE]`.
//!
//! The event-stream reading is a few lines here rather than a crate: only `data:` lines
//! and blank-line ends matter (no `event:`, `id:` or reconnection), and the reader is fed
//! from reqwest's `chunk()`, which needs no extra reqwest feature.

use serde_json::{json, Value};

use crate::{config::Config, error::chain};

/// The longest line of the stream kept while it waits for its end: far more than any
/// delta, so only a broken or hostile endpoint reaches it.
const MAX_LINE_BYTES: usize = 1 << 20;
/// How much of an error answer's body is read for the delivery log.
const MAX_ERROR_BYTES: usize = 2000;

/// What went wrong talking to the API. Its text never holds the key (the key travels
/// only in the `Authorization` header, which no error names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The API answered, but badly (not an event stream of chat-completion chunks).
    pub unreadable: bool,
    /// The HTTP status of an error answer.
    pub status: Option<u16>,
    pub message: String,
}

impl ApiError {
    fn failed(status: Option<u16>, message: String) -> ApiError {
        ApiError {
            unreadable: false,
            status,
            message,
        }
    }

    fn unreadable(message: impl Into<String>) -> ApiError {
        ApiError {
            unreadable: true,
            status: None,
            message: message.into(),
        }
    }
}

/// The configured endpoint, model and key.
pub struct Api {
    client: reqwest::Client,
    url: reqwest::Url,
    key: String,
    model: String,
    max_tokens: u32,
}

impl Api {
    /// The API of the configuration, or `None` when no key is set (assistants are off).
    pub fn of(config: &Config) -> Result<Option<Api>, String> {
        let Some(key) = config.openai_key() else {
            return Ok(None);
        };
        let base = config.openai_base_url.trim_end_matches('/');
        let url = reqwest::Url::parse(&format!("{base}/chat/completions"))
            .map_err(|e| format!("OPENAI_BASE_URL is not a URL: {e}"))?;
        let client = reqwest::Client::builder()
            // An operator's endpoint, not an admin's: no SSRF check, but no redirects
            // either (the key would follow them). Timeouts are per answer (`assistant`).
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(10))
            .user_agent(concat!("tenantchat-assistant/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the assistant's HTTP client: {e}"))?;
        Ok(Some(Api {
            client,
            url,
            key: key.to_string(),
            model: config.openai_model.clone(),
            max_tokens: config.openai_max_tokens,
        }))
    }

    /// Starts a streamed completion of `messages` (`{"role", "content"}` objects).
    pub async fn stream(&self, messages: Vec<Value>) -> Result<Completion, ApiError> {
        let body = json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "max_tokens": self.max_tokens,
        });
        let response = self
            .client
            .post(self.url.clone())
            .bearer_auth(&self.key)
            .header("content-type", "application/json")
            .header("accept", "text/event-stream")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| ApiError::failed(None, chain(&e)))?;
        let status = response.status();
        if !status.is_success() {
            let detail = error_detail(response).await;
            return Err(ApiError::failed(
                Some(status.as_u16()),
                format!("HTTP {status}{detail}"),
            ));
        }
        Ok(Completion {
            response,
            events: EventStream::default(),
        })
    }
}

/// The `error.message` of an error answer, if its first bytes hold one.
async fn error_detail(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| {
            v["error"]["message"]
                .as_str()
                .map(|m| format!(": {}", m.chars().take(300).collect::<String>()))
        })
        .unwrap_or_default()
}

/// A completion arriving.
pub struct Completion {
    response: reqwest::Response,
    events: EventStream,
}

/// What the stream said next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delta {
    /// More of the answer (possibly empty: a chunk with only a role or a finish reason).
    Text(String),
    /// The answer is complete.
    Done,
}

impl Completion {
    /// The next piece of the answer. A stream that ends without `[DONE]` or a finish
    /// reason is an error: the answer may be cut short.
    pub async fn next(&mut self) -> Result<Delta, ApiError> {
        loop {
            if let Some(data) = self.events.next_event()? {
                return parse_chunk(&data);
            }
            match self.response.chunk().await {
                Ok(Some(bytes)) => self.events.feed(&bytes),
                Ok(None) => return Err(ApiError::unreadable("the stream ended before the answer did")),
                Err(e) => return Err(ApiError::failed(None, chain(&e))),
            }
        }
    }
}

/// One event's data: a chunk's delta, the end, or an error the API sent in the stream.
fn parse_chunk(data: &str) -> Result<Delta, ApiError> {
    if data.trim() == "[DONE]" {
        return Ok(Delta::Done);
    }
    let chunk: Value =
        serde_json::from_str(data).map_err(|e| ApiError::unreadable(format!("a chunk is not JSON: {e}")))?;
    if let Some(message) = chunk["error"]["message"].as_str() {
        return Err(ApiError::failed(None, format!("the API stopped: {message}")));
    }
    let choice = chunk["choices"]
        .get(0)
        .ok_or_else(|| ApiError::unreadable("a chunk without choices"))?;
    let text = choice["delta"]["content"].as_str().unwrap_or_default().to_string();
    match choice["finish_reason"].as_str() {
        // The last words may come with the finish reason; `[DONE]` follows.
        Some(_) if text.is_empty() => Ok(Delta::Done),
        _ => Ok(Delta::Text(text)),
    }
}

/// Server-sent events from bytes as they arrive: `data:` lines joined until a blank
/// line ends the event; comments and other fields ignored.
#[derive(Default)]
struct EventStream {
    pending: Vec<u8>,
    data: Option<String>,
}

impl EventStream {
    fn feed(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// The data of the next complete event, if one has arrived.
    fn next_event(&mut self) -> Result<Option<String>, ApiError> {
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = std::str::from_utf8(&line)
                .map_err(|_| ApiError::unreadable("the stream is not UTF-8"))?
                .trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if let Some(data) = self.data.take() {
                    return Ok(Some(data));
                }
            } else if let Some(value) = line.strip_prefix("data:") {
                let value = value.strip_prefix(' ').unwrap_or(value);
                match &mut self.data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => self.data = Some(value.to_string()),
                }
            }
        }
        if self.pending.len() > MAX_LINE_BYTES {
            return Err(ApiError::unreadable("a line of the stream is too long"));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(stream: &mut EventStream) -> Vec<String> {
        std::iter::from_fn(|| stream.next_event().unwrap()).collect()
    }

    #[test]
    fn events_end_at_blank_lines_whatever_the_chunking() {
        let text = "data: {\"a\":1}\r\n\r\n: a comment\n\ndata: one\ndata: two\n\ndata:[DONE]\n\n";
        let mut whole = EventStream::default();
        whole.feed(text.as_bytes());
        let expected = vec!["{\"a\":1}".to_string(), "one\ntwo".into(), "[DONE]".into()];
        assert_eq!(events(&mut whole), expected);
        let mut bytewise = EventStream::default();
        let mut got = Vec::new();
        for byte in text.as_bytes() {
            bytewise.feed(&[*byte]);
            got.extend(events(&mut bytewise));
        }
        assert_eq!(got, expected);
    }

    #[test]
    fn chunks_give_their_delta_and_the_end() {
        let delta = r#"{"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#;
        assert_eq!(parse_chunk(delta), Ok(Delta::Text("Hel".into())));
        let role = r#"{"choices":[{"index":0,"delta":{"role":"assistant"}}]}"#;
        assert_eq!(parse_chunk(role), Ok(Delta::Text(String::new())));
        let stop = r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;
        assert_eq!(parse_chunk(stop), Ok(Delta::Done));
        assert_eq!(parse_chunk("[DONE]"), Ok(Delta::Done));
        assert!(parse_chunk("not json").unwrap_err().unreadable);
        assert!(parse_chunk(r#"{"choices":[]}"#).unwrap_err().unreadable);
        let error = parse_chunk(r#"{"error":{"message":"overloaded"}}"#).unwrap_err();
        assert!(!error.unreadable && error.message.contains("overloaded"));
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut stream = EventStream::default();
        stream.feed(&vec![b'x'; MAX_LINE_BYTES + 1]);
        assert!(stream.next_event().unwrap_err().unreadable);
    }
}
