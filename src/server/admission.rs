//! Who gets a connection: at most `total` open at once, and at most `per_ip` from one
//! client address. A connection keeps its place for as long as its socket lives, an
//! upgraded WebSocket included, because the place travels inside the IO (`Counted`)
//! that hyper, and after an upgrade the socket's task, own.

use std::{
    io,
    net::IpAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    sync::{OwnedSemaphorePermit, Semaphore},
};

use crate::slots::{Slot, Slots};

pub struct Admission {
    total: Arc<Semaphore>,
    capacity: u32,
    per_ip: Slots<IpAddr>,
    /// Peers not counted per address (the reverse proxies: every client comes from them).
    exempt: Vec<IpAddr>,
}

/// Why a connection was closed at once.
#[derive(Debug, Clone, Copy)]
pub enum Refused {
    Total,
    PerIp,
}

impl Refused {
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::Total => "total",
            Refused::PerIp => "per_ip",
        }
    }
}

/// A connection's place, given back when dropped.
pub struct Admitted {
    _total: OwnedSemaphorePermit,
    _per_ip: Option<Slot<IpAddr>>,
}

impl Admission {
    pub fn new(total: u32, per_ip: usize, exempt: &[IpAddr]) -> Admission {
        Admission {
            total: Arc::new(Semaphore::new(total as usize)),
            capacity: total,
            per_ip: Slots::new(per_ip),
            exempt: exempt.iter().map(|ip| ip.to_canonical()).collect(),
        }
    }

    pub fn admit(&self, peer: IpAddr) -> Result<Admitted, Refused> {
        let peer = peer.to_canonical();
        let per_ip = match self.exempt.contains(&peer) {
            true => None,
            false => Some(self.per_ip.take(client_key(peer)).ok_or(Refused::PerIp)?),
        };
        let total = self.total.clone().try_acquire_owned().map_err(|_| Refused::Total)?;
        metrics::gauge!(crate::telemetry::metrics::CONNECTIONS_OPEN).increment(1.0);
        Ok(Admitted {
            _total: total,
            _per_ip: per_ip,
        })
    }

    /// Returns once every admitted connection has closed.
    pub async fn drained(&self) {
        let _all = self.total.acquire_many(self.capacity).await;
    }
}

/// The address a client is counted under: an IPv6 client under its /64, the block a
/// single host or home is usually given (it can pick any address inside it).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        metrics::gauge!(crate::telemetry::metrics::CONNECTIONS_OPEN).decrement(1.0);
    }
}

impl Admitted {
    /// `io`, holding this place for as long as it lives.
    pub fn hold<T>(self, io: T) -> Counted<T> {
        Counted { io, _admitted: self }
    }
}

/// An IO that holds its connection's place while it lives.
pub struct Counted<T> {
    io: T,
    _admitted: Admitted,
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_is_capped_and_trusted_proxies_are_not() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let admission = Admission::new(10, 2, &[proxy]);
        let client: IpAddr = "192.0.2.7".parse().unwrap();
        let held = [admission.admit(client).unwrap(), admission.admit(client).unwrap()];
        assert!(matches!(admission.admit(client), Err(Refused::PerIp)));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert!(
            matches!(admission.admit(mapped), Err(Refused::PerIp)),
            "the same client over IPv6"
        );
        let proxied: Vec<_> = (0..5).map(|_| admission.admit(proxy).unwrap()).collect();
        drop(held);
        assert!(admission.admit(client).is_ok());
        drop(proxied);
    }

    #[test]
    fn an_ipv6_client_is_counted_under_its_64_and_everyone_under_the_total() {
        let admission = Admission::new(3, 2, &[]);
        let a = admission.admit("2001:db8:1:2::1".parse().unwrap()).unwrap();
        let b = admission.admit("2001:db8:1:2::ffff".parse().unwrap()).unwrap();
        assert!(matches!(
            admission.admit("2001:db8:1:2:3::9".parse().unwrap()),
            Err(Refused::PerIp)
        ));
        let c = admission.admit("2001:db8:1:3::1".parse().unwrap()).unwrap();
        assert!(matches!(
            admission.admit("192.0.2.1".parse().unwrap()),
            Err(Refused::Total)
        ));
        drop((a, b, c));
    }
}
