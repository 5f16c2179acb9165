//! Where a webhook may point (SSRF). Public addresses are fine; private, loopback,
//! link-local, unique-local and other special ranges are refused unless the host or a
//! CIDR range containing the address is in `WEBHOOK_ALLOWED_HOSTS`. The check runs in
//! the HTTP client's resolver, so the address that passed it is the address connected
//! to: no window for a DNS answer that changes between the check and the connection.
//! `client` is the webhooks' HTTP client built on that resolver.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use ipnet::IpNet;
use reqwest::{
    dns::{Addrs, Name, Resolve, Resolving},
    Url,
};

const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The webhooks' HTTP client: it resolves through the check (`CheckedResolver`), follows
/// no redirect, and speaks https with rustls: the web PKI roots built in (webpki-roots,
/// so no system store is needed), plus the operator's own CAs from `ca_file`
/// (`WEBHOOK_CA_FILE`).
pub fn client(
    allow: Arc<AllowList>,
    timeout: std::time::Duration,
    ca_file: Option<&std::path::Path>,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .dns_resolver(Arc::new(CheckedResolver(allow)))
        .user_agent(concat!("tenantchat-webhooks/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = ca_file {
        for root in extra_roots(path)? {
            builder = builder.add_root_certificate(root);
        }
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the webhook client: {e}"))
}

/// The certificates of `WEBHOOK_CA_FILE`: at least one, or the server does not start.
fn extra_roots(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, String> {
    let what = format!("WEBHOOK_CA_FILE {}", path.display());
    let pem = std::fs::read(path).map_err(|e| format!("{what}: {e}"))?;
    let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| format!("{what}: {e}"))?;
    match roots.is_empty() {
        true => Err(format!("{what}: no PEM certificate in it")),
        false => Ok(roots),
    }
}

/// `WEBHOOK_ALLOWED_HOSTS`, parsed: host names (any address they resolve to is
/// accepted) and CIDR ranges or single addresses.
#[derive(Debug, Default)]
pub struct AllowList {
    hosts: Vec<String>,
    ranges: Vec<IpNet>,
}

impl AllowList {
    pub fn parse(entries: &[String]) -> AllowList {
        let mut list = AllowList::default();
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            if let Ok(range) = entry.parse::<IpNet>() {
                list.ranges.push(range);
            } else if let Ok(ip) = entry.parse::<IpAddr>() {
                list.ranges.push(IpNet::from(ip));
            } else {
                list.hosts.push(entry.to_ascii_lowercase());
            }
        }
        list
    }

    fn names(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// Whether a request to `host` may reach `ip`.
    pub fn permits(&self, host: &str, ip: IpAddr) -> bool {
        is_public(ip) || self.names(host) || self.ranges.iter().any(|r| r.contains(&ip))
    }

    /// The URL's own verdict where no lookup is needed: `http` or `https`, a host, and
    /// an address literal that is permitted. (A host name is checked in the resolver,
    /// whatever the scheme: TLS starts after the connection to a checked address.)
    pub fn check_url(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err("the URL must start with http:// or https://".into());
        }
        match url.host() {
            None => Err("the URL has no host".into()),
            Some(url::Host::Ipv4(ip)) => self.literal(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.literal(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
        }
    }

    fn literal(&self, ip: IpAddr) -> Result<(), String> {
        match self.permits(&ip.to_string(), ip) {
            true => Ok(()),
            false => Err(refusal(&ip.to_string())),
        }
    }

    /// The addresses of `host` a request may use; an error when there are none.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        // A resolver that does not answer must not hold an admin's request (or a worker) for long.
        let lookup = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| format!("cannot resolve {host}: no answer within {LOOKUP_TIMEOUT:?}"))?;
        let found: Vec<SocketAddr> = lookup.map_err(|e| format!("cannot resolve {host}: {e}"))?.collect();
        let permitted: Vec<SocketAddr> = found.into_iter().filter(|a| self.permits(host, a.ip())).collect();
        match permitted.is_empty() {
            true => Err(refusal(host)),
            false => Ok(permitted),
        }
    }

    /// Checks a URL as an admin gives it: its form, and what its host resolves to now.
    pub async fn vet(&self, url: &Url) -> Result<(), String> {
        self.check_url(url)?;
        if let Some(url::Host::Domain(host)) = url.host() {
            self.resolve(host, url.port_or_known_default().unwrap_or(80)).await?;
        }
        Ok(())
    }
}

fn refusal(host: &str) -> String {
    format!("{host} is a private, loopback or reserved address; list it in WEBHOOK_ALLOWED_HOSTS to allow it")
}

/// The HTTP client's resolver: only permitted addresses reach the connector.
struct CheckedResolver(Arc<AllowList>);

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let list = self.0.clone();
        Box::pin(async move {
            // The connector puts the URL's port on the addresses.
            let addrs = list.resolve(name.as_str(), 0).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Whether an address is on the public internet (what std's unstable `is_global` says).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link local
        || (first & 0xffc0) == 0xfec0 // site local (deprecated)
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || (first == 0x64 && ip.segments()[1] == 0xff9b) // NAT64: an IPv4 address inside
        || first == 0x0100) // discard-only
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn special_ranges_are_not_public() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(ip(s)), "{s} should not be public");
        }
        for s in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(ip(s)), "{s} should be public");
        }
    }

    #[test]
    fn the_allow_list_takes_hosts_ranges_and_addresses() {
        let list = AllowList::parse(&["10.0.0.0/8".into(), " 127.0.0.1 ".into(), "Bots.Internal".into()]);
        assert!(list.permits("x", ip("10.9.8.7")));
        assert!(list.permits("x", ip("127.0.0.1")));
        assert!(!list.permits("x", ip("127.0.0.2")));
        assert!(list.permits("bots.internal", ip("192.168.0.9")));
        assert!(!list.permits("other.internal", ip("192.168.0.9")));
    }

    #[test]
    fn urls_need_http_or_https_and_a_permitted_literal() {
        let list = AllowList::parse(&[]);
        let check = |u: &str| list.check_url(&Url::parse(u).unwrap());
        assert!(check("http://93.184.216.34/hook").is_ok());
        assert!(check("https://93.184.216.34/hook").is_ok());
        assert!(check("http://127.0.0.1:9000/hook").is_err());
        assert!(check("https://127.0.0.1:9000/hook").is_err());
        assert!(check("https://[::1]/hook").is_err());
        assert!(check("ftp://example.com/").is_err());
    }
}
