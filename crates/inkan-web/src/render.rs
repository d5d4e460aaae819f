//! Rendering helpers: file downloads and streamed exports (with a Content-Disposition that
//! carries Japanese names)
//! and percent-encoding for URLs built from IDs and tokens.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// A file sent as it is written (a CSV or ZIP export): its chunks as they arrive; an `Err`
/// chunk breaks the response off, so the client sees a failed download, never a short file
/// that looks whole.
pub(crate) fn streamed(
    name: &str,
    content_type: &'static str,
    chunks: tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
) -> Response {
    let disposition = HeaderValue::from_str(&content_disposition(name))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let body = futures_util::stream::unfold(chunks, |mut chunks| async move {
        chunks.recv().await.map(|chunk| (chunk, chunks))
    });
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}

/// A downloaded file: `application/pdf` when it is one, always as an attachment.
pub(crate) fn file(name: &str, bytes: Vec<u8>) -> Response {
    let content_type = if bytes.starts_with(b"%PDF-") {
        "application/pdf"
    } else {
        "application/octet-stream"
    };
    let disposition = HeaderValue::from_str(&content_disposition(name))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266 with
/// RFC 5987 for names like `業務委託契約書.pdf`).
pub(crate) fn content_disposition(name: &str) -> String {
    let name = name.trim();
    let name = if name.is_empty() {
        "document.pdf"
    } else {
        name
    };
    let fallback: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
        percent_encode(name)
    )
}

/// Percent-encodes everything but RFC 5987's attr-char (which is also safe in a path segment,
/// except `|` and `^` which it encodes too).
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-._`~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_names_get_an_rfc5987_filename() {
        let d = content_disposition("業務委託契約書.pdf");
        assert!(d.starts_with("attachment; filename=\""));
        assert!(d.contains(
            "filename*=UTF-8''%E6%A5%AD%E5%8B%99%E5%A7%94%E8%A8%97%E5%A5%91%E7%B4%84%E6%9B%B8.pdf"
        ));
        assert!(HeaderValue::from_str(&d).is_ok());
        let d = content_disposition("a\"b\\c\r\n.pdf");
        assert!(HeaderValue::from_str(&d).is_ok(), "{d}");
        assert!(d.contains("filename=\"a_b_c__.pdf\""), "{d}");
    }
}
