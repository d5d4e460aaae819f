//! Rendering helpers: file downloads (with a Content-Disposition that carries Japanese names) and
//! the small HTML pages, where every piece of text is escaped.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

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

/// Escapes text for HTML content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Each line of `text` as an escaped paragraph.
pub(crate) fn paragraphs(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("<p>{}</p>\n", escape(l.trim())))
        .collect()
}

/// A whole page around `body` (already HTML). `title` is escaped here. No scripts and no inline
/// styles, so the Content-Security-Policy can stay `default-src 'self'`.
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{title} — Inkan</title>\n</head>\n<body>\n<h1>{title}</h1>\n{body}</body>\n</html>\n",
        title = escape(title),
    )
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

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert!(page("<b>", "").contains("<h1>&lt;b&gt;</h1>"));
    }
}
