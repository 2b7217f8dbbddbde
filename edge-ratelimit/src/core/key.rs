//! The request view the limiter decides on, and the client IP behind trusted proxies.

use std::net::{IpAddr, Ipv6Addr};

use edge_core::TrustedProxies;

/// What the limiter needs from a request, borrowed from it by an adapter.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo<'a> {
    /// The method, upper case (`GET`).
    pub method: &'a str,
    /// The path (`/api/resources/1`).
    pub path: &'a str,
    /// The socket peer's address.
    pub peer: Option<IpAddr>,
    /// The client's address when an outer layer already resolved it (edge-core's
    /// [`ClientIp`](edge_core::ClientIp) request extension): then `peer` and
    /// `forwarded` are not consulted.
    pub client: Option<IpAddr>,
    /// The values of the limiter's client-IP header
    /// ([`RateLimiter::client_ip_header`](crate::RateLimiter::client_ip_header)), in order
    /// (only needed when `client` is `None` and the peer is a trusted proxy).
    /// Other forwarding headers are never read.
    pub forwarded: Vec<&'a str>,
    /// The authenticated subject, if an earlier layer established one.
    pub subject: Option<&'a str>,
    /// The key of [`KeyKind::Custom`](crate::KeyKind::Custom) policies, from the
    /// adapter's user-supplied key function.
    pub custom: Option<&'a str>,
}

/// The client's IP: [`RequestInfo::client`] when an outer layer resolved it,
/// else resolved here behind `proxies` (the socket peer, or the client-IP header
/// of a trusted proxy, read right to left).
pub fn client_ip(info: &RequestInfo<'_>, proxies: &TrustedProxies) -> Option<IpAddr> {
    info.client
        .or_else(|| proxies.resolve(info.peer, &info.forwarded))
}

/// The address a client is counted by: IPv4 as it is, IPv6 masked to its first
/// `ipv6_prefix` bits (a /64 is one subscriber's network, which can rotate
/// through 2^64 addresses).
pub(crate) fn counted_address(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u32::from(ipv6_prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_resolved_outside_wins_over_the_peer() {
        let proxies = TrustedProxies::new(["10.0.0.0/8".parse().unwrap()]);
        let info = RequestInfo {
            peer: "10.0.0.2".parse().ok(),
            forwarded: vec!["198.51.100.7"],
            ..RequestInfo::default()
        };
        assert_eq!(client_ip(&info, &proxies), "198.51.100.7".parse().ok());
        let resolved = RequestInfo {
            client: "192.0.2.1".parse().ok(),
            ..info
        };
        assert_eq!(client_ip(&resolved, &proxies), "192.0.2.1".parse().ok());
    }

    #[test]
    fn ipv6_clients_are_counted_by_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(counted_address(a, 64), counted_address(b, 64));
        assert_ne!(counted_address(a, 64), counted_address(other, 64));
        assert_ne!(counted_address(a, 128), counted_address(b, 128));
        assert_eq!(counted_address(a, 0), counted_address(other, 0));
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(counted_address(v4, 64), v4);
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(counted_address(mapped, 64), v4);
    }
}
