//! The request view the limiter decides on, and the client IP behind trusted proxies.

use std::net::{IpAddr, Ipv6Addr};

use http::HeaderName;
use ipnet::IpNet;

/// What the limiter needs from a request, borrowed from it by an adapter.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo<'a> {
    /// The method, upper case (`GET`).
    pub method: &'a str,
    /// The path (`/api/resources/1`).
    pub path: &'a str,
    /// The socket peer's address.
    pub peer: Option<IpAddr>,
    /// The values of the limiter's client-IP header
    /// ([`RateLimiter::client_ip_header`](crate::RateLimiter::client_ip_header)), in order.
    /// Other forwarding headers are never read.
    pub forwarded: Vec<&'a str>,
    /// The authenticated subject, if an earlier layer established one.
    pub subject: Option<&'a str>,
    /// The key of [`KeyKind::Custom`](crate::KeyKind::Custom) policies, from the
    /// adapter's user-supplied key function.
    pub custom: Option<&'a str>,
}

/// The one header a deployment's trusted proxies set to name the client.
///
/// Only this header is read, and only when the socket peer is a trusted proxy:
/// a client that sends another forwarding header (`Forwarded`, `X-Real-IP`)
/// through a proxy that does not strip it cannot pick its own address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIpHeader {
    name: HeaderName,
    rfc7239: bool,
}

impl ClientIpHeader {
    /// `X-Forwarded-For`: a comma-separated list of addresses, each proxy appending
    /// the peer it saw (nginx's `$proxy_add_x_forwarded_for`). The default.
    pub fn x_forwarded_for() -> ClientIpHeader {
        ClientIpHeader::new(HeaderName::from_static("x-forwarded-for"))
    }

    /// `Forwarded` (RFC 7239): the `for=` node of each element.
    pub fn forwarded() -> ClientIpHeader {
        ClientIpHeader::new(http::header::FORWARDED)
    }

    /// Any header: `Forwarded` is parsed as RFC 7239; every other header as a
    /// comma-separated list of addresses (`X-Forwarded-For`, `X-Real-IP`,
    /// `CF-Connecting-IP`, `True-Client-IP`).
    pub fn new(name: HeaderName) -> ClientIpHeader {
        let rfc7239 = name == http::header::FORWARDED;
        ClientIpHeader { name, rfc7239 }
    }

    /// The header's name.
    pub fn name(&self) -> &HeaderName {
        &self.name
    }
}

impl Default for ClientIpHeader {
    fn default() -> ClientIpHeader {
        ClientIpHeader::x_forwarded_for()
    }
}

impl std::str::FromStr for ClientIpHeader {
    type Err = http::header::InvalidHeaderName;

    /// A header name, case-insensitively (`X-Forwarded-For`, `forwarded`).
    fn from_str(name: &str) -> Result<ClientIpHeader, Self::Err> {
        Ok(ClientIpHeader::new(HeaderName::from_bytes(
            name.trim().as_bytes(),
        )?))
    }
}

/// The client's IP: the socket peer, unless the peer is a trusted proxy — then the
/// nearest untrusted hop of `header` (whose values `info.forwarded` holds), read
/// right to left past trusted proxies. An unparseable hop ends the walk at the
/// last good one. Forwarded headers from untrusted peers are ignored, so they
/// cannot be used to spoof an address.
pub fn client_ip(
    info: &RequestInfo<'_>,
    header: &ClientIpHeader,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = info.peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops = info.forwarded.iter().flat_map(|v| v.split(','));
    let mut client = peer;
    // Right to left: the last entry is the one the trusted peer itself wrote.
    for hop in hops.rev() {
        let parsed = if header.rfc7239 {
            forwarded_for_of(hop)
        } else {
            parse_hop(hop.trim())
        };
        let Some(ip) = parsed else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
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

/// The `for=` node of one `Forwarded` element.
fn forwarded_for_of(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_hop(value.trim().trim_matches('"')))?
    })
}

/// `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    hop.rsplit_once(':')
        .and_then(|(host, _port)| host.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info<'a>(peer: &str, values: &[&'a str]) -> RequestInfo<'a> {
        RequestInfo {
            method: "GET",
            path: "/",
            peer: Some(peer.parse().unwrap()),
            forwarded: values.to_vec(),
            subject: None,
            custom: None,
        }
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let xff = ClientIpHeader::x_forwarded_for();
        let resolve = |peer, values: &[&str]| client_ip(&info(peer, values), &xff, &trusted);
        // Spoofing from an untrusted peer changes nothing.
        assert_eq!(resolve("203.0.113.9", &["1.1.1.1"]), ip("203.0.113.9"));
        // Through a trusted proxy, the nearest untrusted hop is the client.
        assert_eq!(
            resolve("10.0.0.2", &["1.1.1.1, 198.51.100.7"]),
            ip("198.51.100.7")
        );
        // A client-supplied first entry cannot skip past a real untrusted hop.
        assert_eq!(
            resolve("10.0.0.2", &["6.6.6.6", "198.51.100.7, 10.0.0.3"]),
            ip("198.51.100.7")
        );
        assert_eq!(resolve("10.0.0.2", &["garbage"]), ip("10.0.0.2"));
        assert_eq!(resolve("10.0.0.2", &[]), ip("10.0.0.2"));
        assert_eq!(
            resolve("10.0.0.2", &["[2001:db8::7]:4711"]),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn rfc7239_is_parsed_only_when_it_is_the_configured_header() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let forwarded = ClientIpHeader::forwarded();
        assert_eq!(
            client_ip(
                &info("10.0.0.2", &["for=\"[2001:db8::7]:4711\";proto=https"]),
                &forwarded,
                &trusted
            ),
            ip("2001:db8::7")
        );
        assert_eq!(
            client_ip(
                &info("10.0.0.2", &["for=192.0.2.60:80, for=10.1.1.1"]),
                &forwarded,
                &trusted
            ),
            ip("192.0.2.60")
        );
        // `X-Forwarded-For` syntax is not `Forwarded` syntax: a bare address in a
        // `Forwarded` value is not a node, so the walk stops at the proxy.
        assert_eq!(
            client_ip(&info("10.0.0.2", &["192.0.2.60"]), &forwarded, &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn header_names_parse_case_insensitively() {
        let header: ClientIpHeader = "X-Real-IP".parse().unwrap();
        assert_eq!(header.name(), "x-real-ip");
        assert!(!header.rfc7239);
        assert!("Forwarded".parse::<ClientIpHeader>().unwrap().rfc7239);
        assert!("bad header".parse::<ClientIpHeader>().is_err());
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
