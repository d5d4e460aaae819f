//! Extractors: who is calling (staff by API key, the peer for the audit trail) and request
//! parts whose rejections answer in our JSON error shape instead of axum's plain text.

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{header, request::Parts};
use inkan_service::{Caller, Staff};
use std::sync::Arc;

use crate::error::ApiError;
use crate::AppState;

/// The router's state as handlers receive it.
pub(crate) type Shared = Arc<AppState>;

/// Longest User-Agent kept in the audit trail.
const MAX_USER_AGENT: usize = 512;

/// The bearer token of the `Authorization` header, if there is one.
pub(crate) fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthenticated("the Authorization header is not readable text"))?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(|| {
        ApiError::unauthenticated("use the header `Authorization: Bearer <API key>`")
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthenticated(
            "use the header `Authorization: Bearer <API key>`",
        ));
    }
    Ok(Some(token.trim()))
}

/// A staff member of one organization, from `Authorization: Bearer <API key>`.
#[derive(Debug, Clone)]
pub struct StaffAuth(pub Staff);

impl FromRequestParts<Shared> for StaffAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let token = bearer(parts)?.ok_or_else(|| {
            ApiError::unauthenticated("an API key is required: `Authorization: Bearer <API key>`")
        })?;
        let caller = CallerInfo::of(parts);
        let staff = state.inkan.authenticate_api_key(token, &caller).await?;
        // A read-only key reads; everything else it asks is refused here, for every route.
        let reads = matches!(
            parts.method,
            axum::http::Method::GET | axum::http::Method::HEAD
        );
        if !reads && !staff.may_send() {
            return Err(ApiError::Forbidden(
                "この API キーは読み取り専用です (this API key may only read)".into(),
            ));
        }
        Ok(StaffAuth(staff))
    }
}

/// Where the request came from (peer IP and User-Agent), for the audit trail.
#[derive(Debug, Clone)]
pub struct CallerInfo(pub Caller);

impl CallerInfo {
    /// The caller of a request.
    pub(crate) fn of(parts: &Parts) -> Caller {
        let ip = Some(crate::client::of(&parts.extensions)).filter(|ip| !ip.is_unspecified());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .map(|ua| ua.chars().take(MAX_USER_AGENT).collect::<String>())
            .filter(|ua| !ua.trim().is_empty());
        // A signer's pass: the API's header, or the cookie the link's pages set.
        let link_pass = parts
            .headers
            .get("x-inkan-link-pass")
            .and_then(|v| v.to_str().ok())
            .or_else(|| {
                crate::headers::cookie(&parts.headers, crate::ui::signer_check::PASS_COOKIE)
            })
            .filter(|p| p.len() <= 200)
            .map(str::to_string);
        Caller {
            ip,
            user_agent,
            link_pass,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CallerInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(CallerInfo(CallerInfo::of(parts)))
    }
}

/// `axum::Json` with our error shape for unreadable bodies.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` with our error shape.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(crate) struct Query<T>(pub T);

/// `axum::extract::Path` with our error shape.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub(crate) struct Path<T>(pub T);

/// The installation's operator, from `Authorization: Bearer <operator token>`; only for routes
/// that act above organizations. Without a configured token the routes are off.
#[derive(Debug, Clone, Copy)]
pub struct OperatorAuth;

impl FromRequestParts<Shared> for OperatorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let Some(expected) = state.operator_token.as_deref().filter(|t| !t.is_empty()) else {
            return Err(ApiError::Forbidden(
                "organization creation over the API is disabled; use `inkan org create` \
                 (or start the server with an operator token)"
                    .into(),
            ));
        };
        let given = bearer(parts)?.ok_or_else(|| {
            ApiError::unauthenticated(
                "the operator token is required: `Authorization: Bearer <operator token>`",
            )
        })?;
        if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            Ok(OperatorAuth)
        } else {
            Err(ApiError::unauthenticated("wrong operator token"))
        }
    }
}

/// Compares secrets without an early exit, so timing does not reveal a matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads an optional query parameter whose empty value (`?status=`, as an HTML form sends an
/// unchosen select) means "not given"; any other value must parse as `T`.
pub(crate) fn empty_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::de::IntoDeserializer;
    use serde::Deserialize;
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(value) if value.is_empty() => Ok(None),
        Some(value) => T::deserialize(value.into_deserializer()).map(Some),
    }
}
