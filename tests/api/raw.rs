//! HTTP/1.1 over a bare TCP connection, for what a client library will not do: stop
//! halfway through a head or a body, send a body in pieces while watching for the
//! answer, or keep one connection for many requests and see exactly when it closes.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::sockets::WAIT;

pub struct Raw {
    stream: TcpStream,
    /// Bytes read but not yet consumed by a response.
    unread: Vec<u8>,
    host: String,
}

/// A response as read off the wire: status, headers (names in lower case) and body.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The server will close the connection after this response.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {self:?}"))
    }
}

impl Raw {
    pub async fn connect(base: &str) -> Raw {
        let host = base.trim_start_matches("http://").to_string();
        Raw {
            stream: TcpStream::connect(&host).await.unwrap(),
            unread: Vec::new(),
            host,
        }
    }

    /// A request head for `method path` with the `Host` header and `headers`.
    pub fn head(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> String {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head + "\r\n"
    }

    /// Writes `bytes`; false if the server has closed the connection under the write.
    pub async fn write(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).await.is_ok()
    }

    /// Reads more; false at the end of the connection (or a reset).
    async fn fill(&mut self, wait: Duration) -> bool {
        let mut buf = [0u8; 16 * 1024];
        match tokio::time::timeout(wait, self.stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => false,
            Ok(Ok(n)) => {
                self.unread.extend_from_slice(&buf[..n]);
                true
            }
            Err(_) => panic!("no answer and no close within {wait:?}"),
        }
    }

    /// The next response (with a `Content-Length` body), or `None` when the server closes
    /// the connection without one. Fails the test if neither happens within `WAIT`.
    pub async fn response(&mut self) -> Option<RawResponse> {
        let end = loop {
            if let Some(at) = self.unread.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            if !self.fill(WAIT).await {
                return None;
            }
        };
        let head = String::from_utf8(self.unread.drain(..end + 4).collect()).unwrap();
        let mut lines = head.lines();
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        while self.unread.len() < length {
            if !self.fill(WAIT).await {
                return None;
            }
        }
        let body = String::from_utf8_lossy(&self.unread.drain(..length).collect::<Vec<_>>()).into_owned();
        Some(RawResponse { status, headers, body })
    }

    /// True once the server has closed the connection (having sent nothing more);
    /// fails the test if it is still open after `WAIT`.
    pub async fn closed(&mut self) -> bool {
        while self.fill(WAIT).await {}
        self.unread.is_empty()
    }
}

/// One piece of a `Transfer-Encoding: chunked` body; an empty `data` ends the body.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}
