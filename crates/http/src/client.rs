//! Who is asking: the client address of a request, read from the TCP peer or, only when the
//! peer is one of the merchant's own reverse proxies (`TRUSTED_PROXIES`), from the forwarding
//! header it added; and address lists (`ALLOWED_IPS`, `ADMIN_ALLOWED_IPS`) to check it against.

use std::{fmt, net::IpAddr, str::FromStr};

use actix_web::{HttpMessage, HttpRequest, dev::ServiceRequest, http::header::HeaderMap};
use ipnet::IpNet;

/// A list of addresses and CIDR ranges, IPv4 and IPv6: `10.0.0.0/8, 192.0.2.7, 2001:db8::/32`.
/// An IPv4 address written as IPv6 (`::ffff:192.0.2.7`) is the IPv4 address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpList(Vec<IpNet>);

/// An entry of an address list that is neither an address nor a CIDR range.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "{0:?} is not an IP address or a CIDR range (write e.g. 192.0.2.7, 10.0.0.0/8 or 2001:db8::/32)"
)]
pub struct IpListError(pub String);

impl FromStr for IpList {
    type Err = IpListError;

    /// Comma-separated entries, spaces around commas allowed; blank entries are skipped.
    fn from_str(text: &str) -> Result<Self, IpListError> {
        text.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| match net {
                        IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
                            // ::ffff:a.b.c.d/n is the IPv4 range a.b.c.d/(n - 96).
                            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len().saturating_sub(96))
                                .map_or(net, |v4| IpNet::V4(v4.trunc())),
                            None => IpNet::V6(v6.trunc()),
                        },
                        IpNet::V4(v4) => IpNet::V4(v4.trunc()),
                    })
                    .map_err(|_| IpListError(entry.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl IpList {
    /// Whether `addr` is in one of the ranges.
    #[must_use]
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// Whether the list has no entry.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for IpList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&entries.join(","))
    }
}

/// The client address of a request, as [`resolve`] found it. `None` when a trusted proxy
/// forwarded an entry that is not an address (`Forwarded: for=unknown`, garbage): such a client
/// is in no allow-list, and its failures count against the proxy's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClientAddr {
    /// The client, when known.
    pub(crate) addr: Option<IpAddr>,
    /// The TCP peer (the client itself, or the last trusted proxy).
    pub(crate) peer: IpAddr,
}

impl ClientAddr {
    /// The address failures are counted against: the client's, else the peer's.
    pub(crate) fn key(self) -> IpAddr {
        self.addr.unwrap_or(self.peer)
    }

    /// Whether the client is in `list` (an unknown client is in none).
    pub(crate) fn is_in(self, list: &IpList) -> bool {
        self.addr.is_some_and(|addr| list.contains(addr))
    }
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            Some(addr) => write!(f, "{}", addr.to_canonical()),
            None => write!(f, "unknown (via {})", self.peer.to_canonical()),
        }
    }
}

/// The client address of a request coming from TCP peer `peer`. Only when `peer` is in
/// `trusted` are forwarding headers read: `X-Forwarded-For`'s rightmost entry that is not
/// itself a trusted proxy (when every entry is, the leftmost), else `Forwarded`'s `for=`
/// likewise; a trusted proxy that sends neither is itself the client. `X-Real-IP` is never read.
pub(crate) fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &IpList) -> ClientAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return ClientAddr { addr: Some(peer), peer };
    }
    let hops =
        forwarded_for(headers).or_else(|| forwarded(headers)).filter(|hops| !hops.is_empty());
    let Some(hops) = hops else { return ClientAddr { addr: Some(peer), peer } };
    // Walk from the nearest hop outwards, past the merchant's own proxies.
    let mut client = None;
    for hop in hops.iter().rev() {
        client = Some(*hop);
        match hop {
            Some(addr) if trusted.contains(*addr) => {}
            _ => break,
        }
    }
    ClientAddr { addr: client.flatten().map(|addr| addr.to_canonical()), peer }
}

/// Every `X-Forwarded-For` entry, oldest first, over all copies of the header; `None` when
/// the header is absent. An entry that is not an address is `None`.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut values = headers.get_all("x-forwarded-for").peekable();
    values.peek()?;
    Some(
        values
            .flat_map(|value| value.to_str().unwrap_or("?").split(','))
            .map(|entry| parse_node(entry.trim()))
            .collect(),
    )
}

/// Every `for=` of the `Forwarded` header (RFC 7239), oldest first; `None` when absent.
fn forwarded(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut values = headers.get_all("forwarded").peekable();
    values.peek()?;
    Some(
        values
            .flat_map(|value| value.to_str().unwrap_or("for=?").split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (name, value) = pair.trim().split_once('=')?;
                    name.trim().eq_ignore_ascii_case("for").then(|| parse_node(value.trim()))
                })
            })
            .collect(),
    )
}

/// An address as proxies write it: `192.0.2.7`, `192.0.2.7:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`, possibly in double quotes.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim_matches('"');
    if let Ok(addr) = node.parse::<IpAddr>() {
        return Some(addr);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']').and_then(|(addr, _port)| addr.parse().ok());
    }
    node.rsplit_once(':')
        .and_then(|(addr, _port)| addr.parse::<std::net::Ipv4Addr>().ok())
        .map(IpAddr::V4)
}

/// Records the client address of a request for handlers ([`client_of`]).
pub(crate) fn remember(req: &ServiceRequest, client: ClientAddr) {
    req.extensions_mut().insert(client);
}

/// The client address the guard found; without the guard (unit tests), the TCP peer.
pub(crate) fn client_of(req: &HttpRequest) -> ClientAddr {
    if let Some(client) = req.extensions().get::<ClientAddr>() {
        return *client;
    }
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |peer| peer.ip().to_canonical());
    ClientAddr { addr: Some(peer), peer }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn lists_take_addresses_and_ranges_of_both_families() {
        let list: IpList = " 10.0.0.0/8 ,192.0.2.7, 2001:db8::/32,::1 ".parse().unwrap();
        for inside in ["10.1.2.3", "192.0.2.7", "2001:db8::42", "::1", "::ffff:10.9.9.9"] {
            assert!(list.contains(ip(inside)), "{inside}");
        }
        for outside in ["11.0.0.1", "192.0.2.8", "2001:db9::1", "127.0.0.1"] {
            assert!(!list.contains(ip(outside)), "{outside}");
        }
        let mapped: IpList = "::ffff:192.0.2.0/120".parse().unwrap();
        assert!(mapped.contains(ip("192.0.2.200")));
        assert_eq!("".parse::<IpList>().unwrap(), IpList::default());
    }

    #[test]
    fn an_unparsable_entry_is_named() {
        for bad in ["10.0.0.300", "10.0.0.0/33", "example.com", "1.2.3.4/8/8", "*"] {
            let err = format!("127.0.0.1, {bad}").parse::<IpList>().unwrap_err();
            assert_eq!(err, IpListError(bad.to_owned()));
            assert!(err.to_string().contains(bad));
        }
    }

    #[test]
    fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
        let spoofed = headers(&[
            ("x-forwarded-for", "192.0.2.7"),
            ("forwarded", "for=192.0.2.7"),
            ("x-real-ip", "192.0.2.7"),
        ]);
        let client = resolve(ip("203.0.113.9"), &spoofed, &IpList::default());
        assert_eq!(client.addr, Some(ip("203.0.113.9")));
        let trusted: IpList = "127.0.0.1".parse().unwrap();
        assert_eq!(resolve(ip("127.0.0.2"), &spoofed, &trusted).addr, Some(ip("127.0.0.2")));
    }

    #[test]
    fn a_trusted_proxy_forwards_the_rightmost_untrusted_hop() {
        let trusted: IpList = "127.0.0.1, 10.0.0.0/8".parse().unwrap();
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.4, 10.0.0.2")]);
        assert_eq!(resolve(ip("127.0.0.1"), &chain, &trusted).addr, Some(ip("198.51.100.4")));
        // Two header copies are one list.
        let split = headers(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "198.51.100.4")]);
        assert_eq!(resolve(ip("127.0.0.1"), &split, &trusted).addr, Some(ip("198.51.100.4")));
        // Only proxies: the leftmost is the client.
        let inner = headers(&[("x-forwarded-for", "10.0.0.3, 10.0.0.2")]);
        assert_eq!(resolve(ip("127.0.0.1"), &inner, &trusted).addr, Some(ip("10.0.0.3")));
        // No header: the proxy is the client. X-Real-IP is never read.
        let real_ip = headers(&[("x-real-ip", "198.51.100.4")]);
        assert_eq!(resolve(ip("127.0.0.1"), &real_ip, &trusted).addr, Some(ip("127.0.0.1")));
    }

    #[test]
    fn the_forwarded_header_is_read_with_ports_quotes_and_ipv6() {
        let trusted: IpList = "127.0.0.1".parse().unwrap();
        for (value, expected) in [
            ("for=198.51.100.4", "198.51.100.4"),
            ("for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60"),
            (r#"for="[2001:db8:cafe::17]:4711""#, "2001:db8:cafe::17"),
            ("for=6.6.6.6, for=\"198.51.100.4:80\"", "198.51.100.4"),
        ] {
            let forwarded = headers(&[("forwarded", value)]);
            assert_eq!(resolve(ip("127.0.0.1"), &forwarded, &trusted).addr, Some(ip(expected)));
        }
        // X-Forwarded-For wins when both are sent.
        let both = headers(&[("x-forwarded-for", "198.51.100.4"), ("forwarded", "for=6.6.6.6")]);
        assert_eq!(resolve(ip("127.0.0.1"), &both, &trusted).addr, Some(ip("198.51.100.4")));
    }

    #[test]
    fn a_forwarded_client_that_is_not_an_address_is_unknown() {
        let trusted: IpList = "127.0.0.1".parse().unwrap();
        let allow: IpList = "0.0.0.0/0, ::/0".parse().unwrap();
        for value in ["not-an-ip", "198.51.100.4, _hidden", "unknown"] {
            let client =
                resolve(ip("127.0.0.1"), &headers(&[("x-forwarded-for", value)]), &trusted);
            assert_eq!(client.addr, None, "{value}");
            assert!(!client.is_in(&allow), "an unknown client is in no list");
            assert_eq!(client.key(), ip("127.0.0.1"));
        }
    }
}
