//! A fake OpenAI-compatible chat-completions endpoint on 127.0.0.1 for the assistant
//! tests: every request is handed to the test as a `Call`, which then says what the
//! endpoint answers — an error status, or a stream of chunks that the test releases one
//! at a time (so it can watch each arrive), or nothing at all (a hung endpoint).

use serde_json::{json, Value};
use tokio::{
    io::{AsyncWriteExt, BufReader},
    net::TcpListener,
    sync::mpsc,
};

use crate::receiver::{read_request, Received};

/// The key the tests configure; the fake refuses any other.
pub const KEY: &str = "test-key-not-a-secret";

/// What the endpoint does next on one call.
enum Step {
    Status(u16),
    Head,
    Chunk(String),
    Done,
}

pub struct FakeOpenAi {
    /// `OPENAI_BASE_URL` for it.
    pub base_url: String,
    calls: mpsc::UnboundedReceiver<Call>,
}

/// One request, and the way to answer it. Dropping it closes the connection.
pub struct Call {
    pub request: Received,
    steps: mpsc::UnboundedSender<Step>,
}

impl FakeOpenAi {
    pub async fn start() -> FakeOpenAi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (to_test, calls) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let to_test = to_test.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let Some(request) = read_request(&mut BufReader::new(read)).await else {
                        return;
                    };
                    if request.header("authorization") != format!("Bearer {KEY}") {
                        let _ = write.write_all(response_head(401, "application/json").as_bytes()).await;
                        return;
                    }
                    let (steps, mut next) = mpsc::unbounded_channel();
                    if to_test.send(Call { request, steps }).is_err() {
                        return;
                    }
                    while let Some(step) = next.recv().await {
                        let bytes = match step {
                            Step::Status(status) => {
                                let body = json!({"error": {"message": "the fake is down", "type": "server_error"}});
                                format!("{}{body}", response_head(status, "application/json"))
                            }
                            Step::Head => response_head(200, "text/event-stream"),
                            Step::Chunk(text) => {
                                let chunk = json!({"id": "c1", "object": "chat.completion.chunk",
                                    "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]});
                                format!("data: {chunk}\n\n")
                            }
                            Step::Done => {
                                let stop = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
                                let _ = write.write_all(format!("data: {stop}\n\n").as_bytes()).await;
                                "data: [DONE]\n\n".to_string()
                            }
                        };
                        if write.write_all(bytes.as_bytes()).await.is_err() {
                            return;
                        }
                        let _ = write.flush().await;
                    }
                });
            }
        });
        FakeOpenAi {
            base_url: format!("http://127.0.0.1:{port}/v1"),
            calls,
        }
    }

    /// The next request the server made.
    pub async fn next_call(&mut self) -> Call {
        tokio::time::timeout(std::time::Duration::from_secs(30), self.calls.recv())
            .await
            .expect("the server never called the fake endpoint")
            .unwrap()
    }
}

/// A response without a length: its body ends when the connection closes.
fn response_head(status: u16, content_type: &str) -> String {
    format!("HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\nconnection: close\r\n\r\n")
}

impl Call {
    pub fn body(&self) -> Value {
        self.request.json()
    }

    /// The `content` of each message sent, with its role: `role: content`.
    pub fn messages(&self) -> Vec<String> {
        self.body()["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| format!("{}: {}", m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
            .collect()
    }

    pub fn fail(self, status: u16) {
        self.steps.send(Step::Status(status)).unwrap();
    }

    /// Starts the event stream.
    pub fn begin(&self) {
        self.steps.send(Step::Head).unwrap();
    }

    pub fn chunk(&self, text: &str) {
        self.steps.send(Step::Chunk(text.into())).unwrap();
    }

    /// Ends the stream (the finish reason, then `[DONE]`) and the connection.
    pub fn finish(self) {
        self.steps.send(Step::Done).unwrap();
    }

    /// Streams `pieces` at once and ends.
    pub fn answer(self, pieces: &[&str]) {
        self.begin();
        for piece in pieces {
            self.chunk(piece);
        }
        self.finish();
    }
}
