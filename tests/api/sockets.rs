//! A WebSocket client for the tests: opens `/ws/chat/` like a browser (cookie + Origin)
//! or a script (`?token=`), and waits for events with a timeout — never a bare sleep.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{
    client_async, connect_async,
    tungstenite::{client::IntoClientRequest, protocol::frame::coding::CloseCode, Message},
    MaybeTlsStream, WebSocketStream,
};

/// How long a test waits for an event that must come.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// A presence change as a test sees it: the user id and whether the user is online.
pub type Change = (String, bool);

/// The changes a frame carries: one for `presence`, several for `presence_batch`, none
/// for any other frame.
pub fn presence_changes(frame: &Value) -> Vec<Change> {
    let change = |c: &Value| {
        (
            c["user_id"].as_str().unwrap().to_string(),
            c["is_online"].as_bool().unwrap(),
        )
    };
    match frame["type"].as_str() {
        Some("presence") => vec![change(frame)],
        Some("presence_batch") => frame["changes"].as_array().unwrap().iter().map(change).collect(),
        _ => Vec::new(),
    }
}

/// The handshake request for `/ws/chat/`, with the cookie (if any) and `Origin` (if any).
fn handshake(
    base: &str,
    cookie: &str,
    origin: Option<&str>,
    token: Option<&str>,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = ws_url(base, token).into_client_request().unwrap();
    if !cookie.is_empty() {
        request.headers_mut().insert("Cookie", cookie.parse().unwrap());
    }
    if let Some(origin) = origin {
        request.headers_mut().insert("Origin", origin.parse().unwrap());
    }
    request
}

pub fn ws_url(base: &str, token: Option<&str>) -> String {
    let url = format!("{}/ws/chat/", base.replacen("http://", "ws://", 1));
    match token {
        Some(token) => format!("{url}?token={token}"),
        None => url,
    }
}

impl Socket {
    /// Connects without reading anything yet; the handshake error if refused.
    pub async fn connect(
        base: &str,
        cookie: &str,
        origin: Option<&str>,
        token: Option<&str>,
    ) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        let (ws, _) = connect_async(handshake(base, cookie, origin, token)).await?;
        Ok(Socket { ws })
    }

    /// Opens like a browser (cookie + Origin) with a receive window of a few KB, as a
    /// client on a slow link would have: while it does not read, the server's writes soon
    /// back up.
    pub async fn open_narrow(base: &str, cookie: &str, origin: &str) -> Socket {
        let request = handshake(base, cookie, Some(origin), None);
        let host = request.uri().authority().unwrap().as_str().to_string();
        let address = tokio::net::lookup_host(host).await.unwrap().next().unwrap();
        let tcp = if address.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .unwrap();
        tcp.set_recv_buffer_size(4096).unwrap();
        let stream = tcp.connect(address).await.unwrap();
        let (ws, _) = client_async(request, MaybeTlsStream::Plain(stream))
            .await
            .expect("handshake");
        Socket { ws }.connected().await
    }

    /// Connects and waits for the `connected` frame.
    pub async fn open(base: &str, cookie: &str, origin: Option<&str>, token: Option<&str>) -> Socket {
        Socket::connect(base, cookie, origin, token)
            .await
            .expect("handshake")
            .connected()
            .await
    }

    /// Waits for the `connected` frame that opens every socket the server lets in.
    async fn connected(mut self) -> Socket {
        let hello = self.next_json().await;
        assert_eq!(hello["type"], "connected", "{hello}");
        assert_eq!(hello["message"], "Connected to chat");
        self
    }

    /// The next JSON frame, skipping pings.
    pub async fn next_json(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for a frame")
                .expect("socket ended")
                .expect("socket error");
            match frame {
                Message::Text(text) => return serde_json::from_str(&text).expect("JSON frame"),
                Message::Close(close) => panic!("socket closed: {close:?}"),
                _ => continue,
            }
        }
    }

    /// The next text frame as sent (not parsed, so a test can skip thousands cheaply), or
    /// how the socket ended: the server's close code, `None` without a close frame.
    pub async fn next_text_or_close(&mut self) -> Result<String, Option<CloseCode>> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for a frame")
            {
                Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
                Some(Ok(Message::Close(close))) => return Err(close.map(|f| f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(None),
            }
        }
    }

    /// Waits for the next event of `kind`, skipping others.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let event = self.next_json().await;
            if event["type"] == kind {
                return event;
            }
        }
    }

    /// The next event of `kind` if one comes within `wait`.
    pub async fn expect_within(&mut self, kind: &str, wait: Duration) -> Option<Value> {
        tokio::time::timeout(wait, self.expect(kind)).await.ok()
    }

    /// Collects events until one satisfies `done`, returning all of them in order.
    pub async fn until(&mut self, done: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let event = self.next_json().await;
            let finished = done(&event);
            seen.push(event);
            if finished {
                return seen;
            }
        }
    }

    /// Reads presence frames (`presence`, `presence_batch`) until the changes seen so far
    /// satisfy `done`; returns every change in order and how many frames carried them.
    pub async fn presence_until(&mut self, done: impl Fn(&[Change]) -> bool) -> (Vec<Change>, usize) {
        let (mut changes, mut frames) = (Vec::new(), 0);
        while !done(&changes) {
            let frame = self.next_json().await;
            let carried = presence_changes(&frame);
            if !carried.is_empty() {
                frames += 1;
                changes.extend(carried);
            }
        }
        (changes, frames)
    }

    /// Reads until `user` is reported `online` (or offline); returns the changes seen.
    pub async fn presence_of(&mut self, user: uuid::Uuid, online: bool) -> Vec<Change> {
        let wanted = (user.to_string(), online);
        self.presence_until(|seen| seen.contains(&wanted)).await.0
    }

    pub async fn send_json(&mut self, value: Value) {
        self.ws.send(Message::Text(value.to_string().into())).await.unwrap();
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::Text(text.into())).await.unwrap();
    }

    /// Sends a frame the server may refuse while it is still being written: false when
    /// the connection was reset under the write.
    pub async fn try_send_text(&mut self, text: String) -> bool {
        self.ws.send(Message::Text(text.into())).await.is_ok()
    }

    /// Waits for the server to close the socket; returns the close code.
    pub async fn closed(&mut self) -> Option<CloseCode> {
        self.closed_with_reason().await.map(|(code, _)| code)
    }

    /// Waits for the server to close the socket; returns the close code and reason.
    pub async fn closed_with_reason(&mut self) -> Option<(CloseCode, String)> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for close")
            {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| (f.code, f.reason.to_string())),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        // Drain until the server acknowledges, so the server has seen the close.
        while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, self.ws.next()).await {}
    }
}
