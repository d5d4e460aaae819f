//! The stylesheet and scripts, compiled into the binary: the pages work with no internet and
//! no CDN. URLs carry a hash of the content, so browsers may cache them for a long time and
//! still never run a stale script after an upgrade.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;

use crate::extract::Path;

/// (name, content type, content).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "inkan.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/inkan.css"),
    ),
    (
        "signer.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/signer.js"),
    ),
    (
        "compose.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/compose.js"),
    ),
    (
        "bulk.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/bulk.js"),
    ),
    (
        "passkey.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/passkey.js"),
    ),
];

/// The URL of an asset, with its content hash.
pub(crate) fn url(name: &str) -> String {
    static VERSIONS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let versions = VERSIONS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(n, _, body)| (*n, format!("{:016x}", fnv1a(body.as_bytes()))))
            .collect()
    });
    match versions.iter().find(|(n, _)| *n == name) {
        Some((_, v)) => format!("/assets/{name}?v={v}"),
        None => format!("/assets/{name}"),
    }
}

/// FNV-1a: a content fingerprint for cache busting, not a security hash.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `GET /assets/{name}`.
pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=86400"),
                ),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
