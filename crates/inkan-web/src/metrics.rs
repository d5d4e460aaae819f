//! Request metrics, and who may read `/metrics` (served by `api::system`).
//!
//! Every request is counted by the route pattern it matched (`/api/v1/envelopes/{id}`), never
//! by its path: link tokens and ids never reach the metrics, and the number of series stays
//! bounded whatever clients send. The route layer only sees matched requests; it hands the
//! pattern to the outer layer through the response, so 404s are counted too (as `unmatched`).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};

use crate::AppState;

/// Route layer: copies the matched route's pattern onto the response.
pub(crate) async fn remember_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// Outer layer: counts every request and its latency.
pub(crate) async fn track_requests(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    state.inkan.metrics().observe_request(
        method,
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// The standard methods by name; anything else (any token is a valid HTTP method) as `other`,
/// so a client inventing methods cannot grow the number of series without end.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Who may read the metrics: a loopback client (Prometheus on the same host, or a proxy on it
/// that was not declared trusted), or anyone with the configured metrics token.
pub(crate) fn may_read(
    client: IpAddr,
    headers: &HeaderMap,
    token_sha256: Option<&[u8; 32]>,
) -> bool {
    if client.is_loopback() {
        return true;
    }
    let Some(expected) = token_sha256 else {
        return false;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    // Comparing hashes: equal lengths always, and no prefix of the token shows in the timing.
    given.is_some_and(|token| Sha256::digest(token.as_bytes()).as_slice() == expected.as_slice())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&axum::http::Method::GET), "GET");
        let invented = axum::http::Method::from_bytes(b"X-RANDOM-1234").unwrap();
        assert_eq!(method_label(&invented), "other");
    }

    #[test]
    fn only_loopback_or_the_token_may_read() {
        let token: [u8; 32] = Sha256::digest(b"a-long-metrics-token").into();
        let remote = IpAddr::from(Ipv4Addr::new(192, 0, 2, 7));
        let mut headers = HeaderMap::new();
        assert!(may_read(IpAddr::from(Ipv4Addr::LOCALHOST), &headers, None));
        assert!(may_read(IpAddr::from(Ipv6Addr::LOCALHOST), &headers, None));
        assert!(!may_read(remote, &headers, None));
        assert!(!may_read(remote, &headers, Some(&token)));
        headers.insert(header::AUTHORIZATION, "Bearer wrong".parse().unwrap());
        assert!(!may_read(remote, &headers, Some(&token)));
        headers.insert(
            header::AUTHORIZATION,
            "Bearer a-long-metrics-token".parse().unwrap(),
        );
        assert!(may_read(remote, &headers, Some(&token)));
        assert!(!may_read(remote, &headers, None));
    }
}
