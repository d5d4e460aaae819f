//! Japanese first, English available: every text of the pages comes in both, and the reader's
//! choice is kept in a cookie (`/lang?to=en&back=…` switches).

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::extract::Query;
use crate::headers::cookie;

const LANG_COOKIE: &str = "inkan_lang";

pub(crate) use inkan_domain::Lang;

/// The reader's choice (the cookie), Japanese otherwise.
pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    match cookie(headers, LANG_COOKIE) {
        Some("en") => Lang::En,
        _ => Lang::Ja,
    }
}

/// The reader's language as a handler argument (`Reader(lang): Reader`).
pub(crate) struct Reader(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for Reader {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Reader(lang_of(&parts.headers)))
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
