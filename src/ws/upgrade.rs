//! The WebSocket handshake, done here instead of by poem's `WebSocket` extractor: poem's
//! stream only takes `Message::Text(String)`, so every event would be copied once per
//! socket. On the upgraded connection tokio-tungstenite (the same crate poem wraps) takes
//! `Utf8Bytes`, which shares the envelope's `Bytes`: an event is serialized once and
//! every socket writes it from that one buffer. The connection under it is shared with
//! the hub, which writes events to it directly (`outlet.rs`).

use std::future::Future;

use poem::{
    error::WebSocketError,
    http::{header, HeaderValue, Method, StatusCode},
    Body, FromRequest, OnUpgrade, Request, RequestBody, Response,
};
use tokio_tungstenite::{
    tungstenite::{
        handshake::derive_accept_key,
        protocol::{Role, WebSocketConfig},
    },
    WebSocketStream,
};

use super::outlet::SharedConnection;

pub type Socket = WebSocketStream<SharedConnection>;

/// A valid WebSocket upgrade request (RFC 6455 §4.2.1); anything else is a 400.
pub struct Upgrade {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
}

fn has_token(req: &Request, name: header::HeaderName, token: &str) -> bool {
    req.headers()
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|part| part.trim().eq_ignore_ascii_case(token))
}

impl<'a> FromRequest<'a> for Upgrade {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let valid = req.method() == Method::GET
            && has_token(req, header::UPGRADE, "websocket")
            && has_token(req, header::CONNECTION, "upgrade")
            && req.headers().get(header::SEC_WEBSOCKET_VERSION) == Some(&HeaderValue::from_static("13"));
        let key = req.headers().get(header::SEC_WEBSOCKET_KEY).filter(|_| valid);
        let key = key.cloned().ok_or(WebSocketError::InvalidProtocol)?;
        let on_upgrade = req.take_upgrade().map_err(WebSocketError::from)?;
        Ok(Upgrade { key, on_upgrade })
    }
}

impl Upgrade {
    /// Answers 101 and runs `serve` on the socket once the connection is upgraded.
    pub fn on_upgrade<F, Fut>(self, config: WebSocketConfig, serve: F) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let accept = derive_accept_key(self.key.as_bytes());
        tokio::spawn(async move {
            if let Ok(upgraded) = self.on_upgrade.await {
                let connection = SharedConnection::new(upgraded);
                serve(WebSocketStream::from_raw_socket(connection, Role::Server, Some(config)).await).await;
            }
        });
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .header(header::SEC_WEBSOCKET_ACCEPT, accept)
            .body(Body::empty())
    }
}
