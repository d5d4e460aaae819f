//! Who the client is: the peer address of the connection, or — only when that peer is one of
//! the configured `trusted_proxies` — the address the proxy reports in `Forwarded` (RFC 7239)
//! or `X-Forwarded-For`, read right to left past every trusted hop. Rate limits and the audit
//! trail use this one address; a header sent by anyone else is ignored, so a client cannot
//! choose the address its requests are counted and recorded under.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The client's address, as [`resolve`] decided (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddr(pub IpAddr);

/// The client address of a request (unspecified when the server was not given peer addresses).
pub(crate) fn of(extensions: &axum::http::Extensions) -> IpAddr {
    extensions
        .get::<ClientAddr>()
        .map(|c| c.0)
        .or_else(|| {
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip().to_canonical())
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Middleware: puts the [`ClientAddr`] on every request.
pub(crate) async fn client_address(
    State(state): State<Arc<crate::AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_canonical());
    if let Some(peer) = peer {
        let trusted = &state.inkan.settings().trusted_proxies;
        let client = resolve(peer, request.headers(), trusted);
        request.extensions_mut().insert(ClientAddr(client));
    }
    next.run(request).await
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy; then the nearest
/// untrusted hop of the forwarding chain (the client as the first trusted proxy saw it).
pub(crate) fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded_for(headers);
    hops.iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(hops.first())
        .copied()
        .unwrap_or(peer)
}

/// The addresses of the forwarding chain, client first: `Forwarded: for=…` when present, else
/// `X-Forwarded-For`. An unreadable hop ends the chain there (what is left of it is a guess).
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_string())
            .collect()
    };
    let forwarded = values("forwarded");
    let hops: Vec<String> = if forwarded.is_empty() {
        values("x-forwarded-for")
    } else {
        forwarded
            .iter()
            .map(|element| {
                element
                    .split(';')
                    .find_map(|pair| {
                        let (k, v) = pair.trim().split_once('=')?;
                        k.trim()
                            .eq_ignore_ascii_case("for")
                            .then(|| v.trim().to_string())
                    })
                    .unwrap_or_default()
            })
            .collect()
    };
    // Right to left, a hop that is not an address (`unknown`, an obfuscated name) stops the
    // walk: nothing before it can be placed.
    let mut out = Vec::new();
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) => out.push(ip),
            None => break,
        }
    }
    out.reverse();
    out
}

/// `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(addr) = hop.parse::<SocketAddr>() {
        return Some(addr.ip().to_canonical());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_count_only_from_trusted_proxies_and_are_read_right_to_left() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        let spoof = headers(&[("x-forwarded-for", "203.0.113.9")]);
        // An untrusted peer: its header is ignored.
        assert_eq!(
            resolve(ip("198.51.100.7"), &spoof, &trusted),
            ip("198.51.100.7")
        );
        // Behind one trusted proxy.
        assert_eq!(resolve(ip("10.0.0.2"), &spoof, &trusted), ip("203.0.113.9"));
        // A client that sends its own X-Forwarded-For: the proxy appends the real address, and
        // the rightmost untrusted hop wins.
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.5")]);
        assert_eq!(resolve(ip("10.0.0.2"), &chain, &trusted), ip("203.0.113.9"));
        // Forwarded (RFC 7239) takes precedence, with ports and IPv6 brackets.
        let rfc = headers(&[
            (
                "forwarded",
                "for=192.0.2.60;proto=https, for=\"[2001:db8::7]:4711\"",
            ),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(resolve(ip("::1"), &rfc, &trusted), ip("2001:db8::7"));
        // A trusted peer that forwards nothing readable is itself the client.
        let junk = headers(&[("x-forwarded-for", "unknown")]);
        assert_eq!(resolve(ip("10.0.0.2"), &junk, &trusted), ip("10.0.0.2"));
        assert_eq!(
            resolve(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
        // With no proxies configured, nothing is believed.
        assert_eq!(resolve(ip("10.0.0.2"), &spoof, &[]), ip("10.0.0.2"));
        // IPv4-mapped IPv6 addresses are IPv4.
        assert_eq!(parse_hop("::ffff:192.0.2.1"), Some(ip("192.0.2.1")));
    }
}
