//! Where a request comes from: the client's address (through trusted proxies only),
//! whether it arrived over https, and its user agent — for the audit log, the per-IP
//! limits and the cookies' `Secure` flag.

use std::{net::IpAddr, sync::Arc};

use poem::{http::header, FromRequest, Request, RequestBody};

use crate::config::Config;

#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The client's address: the peer's, or behind a trusted proxy the nearest
    /// untrusted hop of `X-Forwarded-For`.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The browser talks https to us: the public origin is https, or a trusted proxy
    /// says so in `X-Forwarded-Proto`.
    pub https: bool,
}

fn peer(req: &Request) -> Option<IpAddr> {
    req.remote_addr().as_socket_addr().map(|a| a.ip())
}

/// The client's address. `X-Forwarded-For` is believed only when the peer is one of the
/// configured proxies (anyone else could write anything in it); it is read from the
/// right, skipping our own proxies.
pub fn client_ip(req: &Request, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer(req)?;
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .flat_map(|line| line.rsplit(','))
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .find(|hop| !trusted_proxies.contains(hop))
        .or(Some(peer))
}

/// Whether the request reached us over https, as far as we can trust anyone to say.
pub fn served_over_https(req: &Request, config: &Config) -> bool {
    let from_proxy = peer(req).is_some_and(|p| config.trusted_proxies.contains(&p))
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    config.secure_cookies() || from_proxy
}

impl<'a> FromRequest<'a> for RequestMeta {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        // Attached on its own by `lib.rs`: this extractor sits below the application state.
        let config = req.data::<Arc<Config>>().map(|c| &**c);
        let ip =
            client_ip(req, config.map(|c| c.trusted_proxies.as_slice()).unwrap_or_default()).map(|ip| ip.to_string());
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect());
        Ok(RequestMeta {
            ip,
            user_agent,
            https: config.is_some_and(|c| served_over_https(req, c)),
        })
    }
}
