//! Where a redirect may go after a login or a language switch (`next`, `back`): only a path of
//! this site. The target is parsed as a URL against a stand-in origin, the way a browser would
//! resolve it, and kept only if it stays on that origin; control characters and whitespace are
//! refused before and after percent-decoding, because browsers drop tabs and line breaks from
//! URLs, which turns `/\t/evil.example` into the other site's `//evil.example`.

use url::Url;

/// A stand-in origin: any target that resolves elsewhere is not ours.
const HERE: &str = "http://inkan.invalid/";

/// `target` as a same-origin path (with its query), or `None` when it could lead elsewhere.
pub(crate) fn local_path(target: &str) -> Option<String> {
    let risky = |s: &str| {
        s.chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    };
    if !target.starts_with('/') || target.starts_with("//") || risky(target) {
        return None;
    }
    let decoded = percent_decode(target)?;
    if decoded.starts_with("//") || risky(&decoded) {
        return None;
    }
    let base = Url::parse(HERE).ok()?;
    let url = base.join(target).ok()?;
    if url.origin() != base.origin() || url.username() != "" || url.password().is_some() {
        return None;
    }
    Some(match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    })
}

/// `%XX` decoded as UTF-8 (lossy); `None` for a malformed escape.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_paths_of_this_site_pass() {
        assert_eq!(local_path("/app").as_deref(), Some("/app"));
        assert_eq!(
            local_path("/app/envelopes/1?tab=audit").as_deref(),
            Some("/app/envelopes/1?tab=audit")
        );
        assert_eq!(local_path("/s/abc%2Fdef").as_deref(), Some("/s/abc%2Fdef"));
        for evil in [
            "",
            "app",
            "//evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example/",
            "/%09/evil.example/",
            "/%0a/evil.example",
            "/%2F/evil.example",
            "/%5C/evil.example",
            "/\r\n/evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/ /evil.example",
            "/%zz",
            "/\u{3000}/evil.example",
        ] {
            assert_eq!(local_path(evil), None, "{evil:?}");
        }
    }
}
