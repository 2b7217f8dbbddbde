//! The request view the limiter decides on, and the client IP behind trusted proxies.

use std::net::IpAddr;

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
    /// The values of `X-Forwarded-For` headers, in order.
    pub forwarded_for: Vec<&'a str>,
    /// The values of `Forwarded` headers (RFC 7239), in order.
    pub forwarded: Vec<&'a str>,
    /// The authenticated subject, if an earlier layer established one.
    pub subject: Option<&'a str>,
    /// The key of [`KeyKind::Custom`](crate::KeyKind::Custom) policies, from the
    /// adapter's user-supplied key function.
    pub custom: Option<&'a str>,
}

/// The client's IP: the socket peer, unless the peer is a trusted proxy — then the
/// nearest untrusted hop of `Forwarded` (preferred) or `X-Forwarded-For`, read
/// right to left. Forwarded headers from anyone else are ignored, so they cannot
/// be used to spoof an address.
pub fn client_ip(info: &RequestInfo<'_>, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = info.peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<Option<IpAddr>> = if info.forwarded.is_empty() {
        info.forwarded_for
            .iter()
            .flat_map(|v| v.split(','))
            .map(|hop| parse_hop(hop.trim()))
            .collect()
    } else {
        info.forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(forwarded_for_of)
            .collect()
    };
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        match hop {
            // An unparseable hop ends the chain: trust stops at the last good one.
            None => break,
            Some(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
        }
    }
    Some(client)
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

    fn info<'a>(peer: &str, xff: &[&'a str], forwarded: &[&'a str]) -> RequestInfo<'a> {
        RequestInfo {
            method: "GET",
            path: "/",
            peer: Some(peer.parse().unwrap()),
            forwarded_for: xff.to_vec(),
            forwarded: forwarded.to_vec(),
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
        // Spoofing from an untrusted peer changes nothing.
        assert_eq!(
            client_ip(&info("203.0.113.9", &["1.1.1.1"], &[]), &trusted),
            ip("203.0.113.9")
        );
        // Through a trusted proxy, the nearest untrusted hop is the client.
        assert_eq!(
            client_ip(&info("10.0.0.2", &["1.1.1.1, 198.51.100.7"], &[]), &trusted),
            ip("198.51.100.7")
        );
        // A client-supplied first entry cannot skip past a real untrusted hop.
        assert_eq!(
            client_ip(
                &info("10.0.0.2", &["6.6.6.6", "198.51.100.7, 10.0.0.3"], &[]),
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(&info("10.0.0.2", &["garbage"], &[]), &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_ip(&info("10.0.0.2", &[], &[]), &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_ip(
                &info(
                    "10.0.0.2",
                    &["9.9.9.9"],
                    &["for=\"[2001:db8::7]:4711\";proto=https"]
                ),
                &trusted
            ),
            ip("2001:db8::7")
        );
        assert_eq!(
            client_ip(
                &info("10.0.0.2", &[], &["for=192.0.2.60:80, for=10.1.1.1"]),
                &trusted
            ),
            ip("192.0.2.60")
        );
    }
}
