//! [`ClientIp`]: the client's address, resolved once behind trusted proxies.

use std::net::IpAddr;
use std::sync::Arc;

use http::{HeaderMap, HeaderName};
use ipnet::IpNet;

/// The socket peer's address as the server left it in the request extensions:
/// a `SocketAddr` (hyper servers, tests) or, with the `axum` feature, axum's
/// `ConnectInfo<SocketAddr>` (serve with
/// `into_make_service_with_connect_info::<SocketAddr>()`). The default of every
/// tower adapter that needs the client.
pub fn peer_addr(extensions: &http::Extensions) -> Option<IpAddr> {
    if let Some(address) = extensions.get::<std::net::SocketAddr>() {
        return Some(address.ip());
    }
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
        return Some(info.0.ip());
    }
    None
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

    /// The address one hop (one comma-separated element) names, if any.
    fn parse_hop(&self, hop: &str) -> Option<IpAddr> {
        if self.rfc7239 {
            forwarded_for_of(hop)
        } else {
            parse_address(hop.trim())
        }
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

/// Which peers are proxies of this deployment, and the header they name the
/// client in. Cheap to clone.
///
/// ```
/// use edge_core::{ClientIpHeader, TrustedProxies};
///
/// let proxies = TrustedProxies::new(["10.0.0.0/8".parse().unwrap()])
///     .header("X-Real-IP".parse::<ClientIpHeader>().unwrap());
/// let peer = "10.1.2.3".parse().ok();
/// assert_eq!(proxies.resolve(peer, &["192.0.2.9"]), "192.0.2.9".parse().ok());
/// // From any other peer the header is ignored.
/// let stranger = "203.0.113.5".parse().ok();
/// assert_eq!(proxies.resolve(stranger, &["192.0.2.9"]), stranger);
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct TrustedProxies {
    networks: Arc<[IpNet]>,
    header: ClientIpHeader,
}

impl TrustedProxies {
    /// Peers in `networks` are trusted proxies that set `X-Forwarded-For`.
    pub fn new(networks: impl IntoIterator<Item = IpNet>) -> TrustedProxies {
        TrustedProxies {
            networks: networks.into_iter().collect(),
            header: ClientIpHeader::default(),
        }
    }

    /// No trusted proxy: the socket peer is always the client.
    pub fn none() -> TrustedProxies {
        TrustedProxies::default()
    }

    /// The header the proxies set (default `X-Forwarded-For`).
    pub fn header(mut self, header: ClientIpHeader) -> TrustedProxies {
        self.header = header;
        self
    }

    /// Also trust the peers in `networks`.
    pub fn trust(mut self, networks: impl IntoIterator<Item = IpNet>) -> TrustedProxies {
        self.networks = self.networks.iter().copied().chain(networks).collect();
        self
    }

    /// The header the proxies set.
    pub fn client_ip_header(&self) -> &ClientIpHeader {
        &self.header
    }

    /// The trusted networks.
    pub fn networks(&self) -> &[IpNet] {
        &self.networks
    }

    /// Whether `ip` is a trusted proxy.
    pub fn is_trusted(&self, ip: &IpAddr) -> bool {
        self.networks.iter().any(|net| net.contains(ip))
    }

    /// The client's IP: the socket `peer`, unless it is a trusted proxy — then the
    /// nearest untrusted hop of the client-IP header (`values`: its lines, in
    /// order), read right to left past trusted proxies. An unparseable hop ends
    /// the walk at the last good one. `None` only without a peer.
    pub fn resolve(&self, peer: Option<IpAddr>, values: &[&str]) -> Option<IpAddr> {
        let peer = peer?;
        if !self.is_trusted(&peer) {
            return Some(peer);
        }
        let mut client = peer;
        // Right to left: the last entry is the one the trusted peer itself wrote.
        for hop in values.iter().flat_map(|v| v.split(',')).rev() {
            let Some(ip) = self.header.parse_hop(hop) else {
                break;
            };
            client = ip;
            if !self.is_trusted(&ip) {
                break;
            }
        }
        Some(client)
    }

    /// [`resolve`](TrustedProxies::resolve) with the header's lines read from `headers`.
    pub fn resolve_from(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        self.resolve_lines(peer, |name| {
            headers.get_all(name).iter().filter_map(|v| v.to_str().ok())
        })
    }

    /// [`resolve`](TrustedProxies::resolve) for any header type: `lines` gives
    /// the client-IP header's lines by its name, and is called only behind a
    /// trusted peer (nothing is read or collected otherwise). Adapters over other
    /// `http` versions (actix-web's) use this.
    pub fn resolve_lines<'a, L>(
        &self,
        peer: Option<IpAddr>,
        lines: impl FnOnce(&HeaderName) -> L,
    ) -> Option<IpAddr>
    where
        L: IntoIterator<Item = &'a str>,
    {
        if !peer.is_some_and(|p| self.is_trusted(&p)) {
            return peer;
        }
        let values: Vec<&str> = lines(self.header.name()).into_iter().collect();
        self.resolve(peer, &values)
    }
}

/// The client's address as the outermost layer resolved it, in the request
/// extensions for every layer after it (limits, logs, the security log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// Resolve a request's client behind `proxies`.
    pub fn resolve(
        proxies: &TrustedProxies,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
    ) -> Option<ClientIp> {
        proxies.resolve_from(peer, headers).map(ClientIp)
    }

    /// The address.
    pub fn ip(self) -> IpAddr {
        self.0
    }
}

impl std::fmt::Display for ClientIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The `for=` node of one `Forwarded` element.
fn forwarded_for_of(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_address(value.trim().trim_matches('"')))?
    })
}

/// `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`.
fn parse_address(hop: &str) -> Option<IpAddr> {
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

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn ten() -> TrustedProxies {
        TrustedProxies::new(["10.0.0.0/8".parse().unwrap()])
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let proxies = ten();
        let resolve = |peer: &str, values: &[&str]| proxies.resolve(ip(peer), values);
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
        assert_eq!(proxies.resolve(None, &["1.1.1.1"]), None);
    }

    #[test]
    fn rfc7239_is_parsed_only_when_it_is_the_configured_header() {
        let proxies = ten().header(ClientIpHeader::forwarded());
        assert_eq!(
            proxies.resolve(ip("10.0.0.2"), &["for=\"[2001:db8::7]:4711\";proto=https"]),
            ip("2001:db8::7")
        );
        assert_eq!(
            proxies.resolve(ip("10.0.0.2"), &["for=192.0.2.60:80, for=10.1.1.1"]),
            ip("192.0.2.60")
        );
        // A bare address is not a `Forwarded` node: the walk stops at the proxy.
        assert_eq!(
            proxies.resolve(ip("10.0.0.2"), &["192.0.2.60"]),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn only_the_configured_header_is_read_from_a_header_map() {
        let mut headers = HeaderMap::new();
        headers.insert("forwarded", "for=203.0.113.1".parse().unwrap());
        headers.insert("x-real-ip", "203.0.113.2".parse().unwrap());
        headers.append("x-forwarded-for", "6.6.6.6".parse().unwrap());
        headers.append("x-forwarded-for", "198.51.100.7".parse().unwrap());
        let client = ClientIp::resolve(&ten(), ip("10.0.0.2"), &headers);
        assert_eq!(client, ip("198.51.100.7").map(ClientIp));
        let real_ip = ten().header("X-Real-IP".parse().unwrap());
        assert_eq!(
            real_ip.resolve_from(ip("10.0.0.2"), &headers),
            ip("203.0.113.2")
        );
        assert_eq!(
            TrustedProxies::none().resolve_from(ip("10.0.0.2"), &headers),
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
}
