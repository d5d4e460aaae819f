//! Japanese first, English available: every text of the pages comes in both, and the reader's
//! choice is kept in a cookie (`/lang?to=en&back=…` switches).

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::extract::Query;
use crate::headers::cookie;

const LANG_COOKIE: &str = "inkan_lang";

/// The language of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Ja,
    En,
}

impl Lang {
    /// The text in this language.
    pub fn t<'a>(self, ja: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }

    /// This language's half of a message the service wrote in both, as `日本語 (English)` or
    /// `日本語 / English`; a message in one language only, as it is.
    pub fn pick(self, message: &str) -> String {
        match split_bilingual(message) {
            Some((ja, en)) => self.t(ja, en).to_string(),
            None => message.to_string(),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }

    /// The reader's choice (the cookie), Japanese otherwise.
    pub fn of_headers(headers: &HeaderMap) -> Lang {
        match cookie(headers, LANG_COOKIE) {
            Some("en") => Lang::En,
            _ => Lang::Ja,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::of_headers(&parts.headers))
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Switch {
    to: String,
    #[serde(default)]
    back: String,
}

/// `GET /lang?to=en&back=/s/…`: keeps the choice for a year and goes back to the page.
pub(crate) async fn switch(Query(q): Query<Switch>) -> Response {
    let lang = if q.to == "en" { "en" } else { "ja" };
    // Only a path of this site: never an open redirect.
    let back = crate::redirect::local_path(&q.back).unwrap_or_else(|| "/".into());
    let mut response = Redirect::to(&back).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax"
    )) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// `日本語 (English)` → (日本語, English), also with something after the English part
/// (`日本語 (English): detail` keeps the detail on both sides), and `日本語 / English`.
/// `None` when the text is not so made: the Japanese part must hold Japanese, the English part
/// none.
fn split_bilingual(message: &str) -> Option<(&str, &str)> {
    let japanese = |s: &str| s.chars().any(|c| c > '\u{2E7F}');
    if let Some((ja, en)) = message.split_once(" / ") {
        if japanese(ja) && !japanese(en) && !ja.is_empty() && !en.is_empty() {
            return Some((ja.trim(), en.trim()));
        }
    }
    let open = message.find(" (")?;
    let close = open + message[open..].find(')')?;
    let (ja, en) = (&message[..open], &message[open + 2..close]);
    let rest = &message[close + 1..];
    (japanese(ja) && !japanese(en) && !en.is_empty() && rest.is_empty()).then_some((ja, en))
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn each_language_gets_its_half() {
        let m = "この封筒は辞退されました (this envelope was declined)";
        assert_eq!(Lang::Ja.pick(m), "この封筒は辞退されました");
        assert_eq!(Lang::En.pick(m), "this envelope was declined");
        let m = "検証情報・タイムスタンプ / validation data and timestamps";
        assert_eq!(Lang::Ja.pick(m), "検証情報・タイムスタンプ");
        assert_eq!(Lang::En.pick(m), "validation data and timestamps");
        // One language only, or a parenthesis that is not a translation: as it is.
        for m in [
            "this file cannot be read",
            "署名日 (必須)",
            "必須項目が未入力です (required items are missing): 署名日",
        ] {
            assert_eq!(Lang::Ja.pick(m), m);
            assert_eq!(Lang::En.pick(m), m);
        }
    }
}
