//! What protects the pages: CSRF tokens on every form, a same-origin check on every post,
//! session cookies, and rate limits on the login and on the signer links (GCRA through
//! `governor`, keyed by client IP, on each node; with PostgreSQL also the minute's requests of
//! every node together, counted in the database by `Inkan::request_allowed`).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use inkan_service::RequestScope;
use std::net::IpAddr;
use std::num::NonZeroU32;

use crate::extract::Shared;
use crate::ui::i18n::Lang;
use crate::ui::layout;

/// The session cookie of staff pages.
pub(crate) const SESSION_COOKIE: &str = "inkan_session";
/// The cookie a login form's CSRF token is bound to (before there is a session).
pub(crate) const LOGIN_COOKIE: &str = "inkan_login";
/// A right password waiting for its second factor (see `inkan_service::mfa`).
pub(crate) const MFA_COOKIE: &str = "inkan_mfa";
/// A single sign-on login at the provider (see `inkan_service::SsoStart`).
pub(crate) const SSO_COOKIE: &str = "inkan_sso";
/// A passkey ceremony in the browser (see `inkan_service::mfa::passkey`).
pub(crate) const PASSKEY_COOKIE: &str = "inkan_passkey";

/// The limits: generous for people, tight for scripts guessing passwords or links.
pub(crate) struct RateLimits {
    /// Login attempts per client: 10 a minute, 5 at once.
    login: DefaultKeyedRateLimiter<IpAddr>,
    /// Signer and completion pages and posts per client: 120 a minute, 60 at once.
    links: DefaultKeyedRateLimiter<IpAddr>,
    /// Page images per client: a long contract shows many at once.
    images: DefaultKeyedRateLimiter<IpAddr>,
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

impl RateLimits {
    pub fn new() -> RateLimits {
        RateLimits {
            login: RateLimiter::keyed(quota(10, 5)),
            links: RateLimiter::keyed(quota(120, 60)),
            images: RateLimiter::keyed(quota(1200, 400)),
        }
    }

    /// Forgets clients whose limits have refilled, about once every thousand calls, so the
    /// keyed state does not grow with every address ever seen.
    pub fn prune(&self) {
        if every_thousandth_call() {
            self.login.retain_recent();
            self.links.retain_recent();
            self.images.retain_recent();
        }
    }
}

/// True when this client may try to log in now: within this node's limit and, with several
/// nodes on PostgreSQL, within the minute's limit of all of them.
pub(crate) async fn login_allowed(state: &Shared, ip: IpAddr) -> bool {
    state.web.limits.login.check_key(&ip).is_ok()
        && state.inkan.request_allowed(RequestScope::Login, ip).await
}

/// True when this client may take one more step of a single sign-on (the link pages' limit:
/// neither step checks a secret one could guess, but the first reaches out to the
/// organization's provider).
pub(crate) async fn sso_allowed(state: &Shared, ip: IpAddr) -> bool {
    state.web.limits.links.check_key(&ip).is_ok()
        && state.inkan.request_allowed(RequestScope::Links, ip).await
}

fn every_thousandth_call() -> bool {
    use std::sync::atomic::{AtomicU32, Ordering};
    static CALLS: AtomicU32 = AtomicU32::new(0);
    CALLS.fetch_add(1, Ordering::Relaxed) % 1000 == 999
}

fn client_ip(request: &Request) -> IpAddr {
    crate::client::of(request.extensions())
}

/// The client address of a caller, for the per-client limits (unspecified when unknown).
pub(crate) fn caller_ip(caller: &inkan_service::Caller) -> IpAddr {
    caller
        .ip
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// A random value for a cookie that binds a form's CSRF token before there is a session.
pub(crate) fn new_nonce() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}

/// 429 with a page that says to wait.
pub(crate) fn too_many(lang: Lang) -> Response {
    let mut response = layout::message_page(
        lang,
        StatusCode::TOO_MANY_REQUESTS,
        lang.t("アクセスが集中しています", "Too many requests"),
        lang.t(
            "短時間に多くの操作がありました。しばらく待ってからもう一度お試しください。",
            "There were too many requests in a short time. Please wait a minute and try again.",
        ),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
    response
}

pub(crate) async fn limit_links(
    State(state): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    state.web.limits.prune();
    let lang = crate::ui::i18n::lang_of(request.headers());
    let ip = client_ip(&request);
    if state.web.limits.links.check_key(&ip).is_err()
        || !state.inkan.request_allowed(RequestScope::Links, ip).await
    {
        return too_many(lang);
    }
    same_origin_or_refuse(&state, request, next).await
}

pub(crate) async fn limit_images(
    State(state): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    if state
        .web
        .limits
        .images
        .check_key(&client_ip(&request))
        .is_err()
    {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    next.run(request).await
}

/// Refuses a state-changing request that another site's page made (the browser says so in
/// `Sec-Fetch-Site` and `Origin`). CSRF tokens are checked too; this is the second lock.
pub(crate) async fn same_origin(
    State(state): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    same_origin_or_refuse(&state, request, next).await
}

async fn same_origin_or_refuse(state: &Shared, request: Request, next: Next) -> Response {
    if request.method() != Method::GET
        && request.method() != Method::HEAD
        && !is_same_origin(state, request.headers())
    {
        let lang = crate::ui::i18n::lang_of(request.headers());
        return layout::message_page(
            lang,
            StatusCode::FORBIDDEN,
            lang.t("この操作は受け付けられません", "This request was refused"),
            lang.t(
                "別のサイトから送られた操作です。Inkan の画面から操作してください。",
                "It came from another site. Please use Inkan's own pages.",
            ),
        );
    }
    next.run(request).await
}

fn is_same_origin(state: &Shared, headers: &HeaderMap) -> bool {
    // Browsers say where a request comes from in `Sec-Fetch-Site`; trust it when present
    // (`Origin` is `null` on form posts from our pages, whose referrer policy is no-referrer).
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Not a browser, or an old one: the CSRF token decides.
        return true;
    };
    let public = state.inkan.settings().public_url.trim_end_matches('/');
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin == public || origin == format!("http://{host}") || origin == format!("https://{host}")
}

pub(crate) use crate::headers::cookie;

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, and Secure when the server is reached over
/// HTTPS (its public URL says so).
pub(crate) fn set_cookie(state: &Shared, name: &str, value: &str, max_age: Option<i64>) -> String {
    cookie_header(
        &state.inkan.settings().public_url,
        name,
        value,
        max_age,
        "/",
    )
}

/// A `Set-Cookie` value like [`set_cookie`]'s, sent back only under `path` (a signer's pass goes
/// to their own link's paths, nowhere else).
pub(crate) fn set_cookie_at(
    state: &Shared,
    name: &str,
    value: &str,
    max_age: Option<i64>,
    path: &str,
) -> String {
    cookie_header(
        &state.inkan.settings().public_url,
        name,
        value,
        max_age,
        path,
    )
}

fn cookie_header(
    public_url: &str,
    name: &str,
    value: &str,
    max_age: Option<i64>,
    path: &str,
) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    // Over plain HTTP (a laptop, a test) a Secure cookie would never come back.
    if public_url.starts_with("https://") {
        c.push_str("; Secure");
    }
    c
}

/// The refusal of a form whose CSRF token is not the one of `scope` (`None`: the token is right).
pub(crate) fn csrf_refusal(
    state: &Shared,
    lang: Lang,
    scope: &str,
    token: Option<&str>,
) -> Option<Response> {
    match token {
        Some(t) if state.inkan.csrf_valid(scope, t) => None,
        _ => Some(layout::expired_form(lang)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_http_only_and_secure_behind_https() {
        let c = cookie_header(
            "https://keiyaku.example.jp",
            "inkan_session",
            "v",
            Some(60),
            "/",
        );
        assert_eq!(
            c,
            "inkan_session=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
        let c = cookie_header("http://127.0.0.1:8080", "inkan_session", "v", None, "/");
        assert_eq!(c, "inkan_session=v; Path=/; HttpOnly; SameSite=Lax");
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            header::HeaderValue::from_static("xinkan_session=a; inkan_session=b; other=c"),
        );
        assert_eq!(cookie(&headers, "inkan_session"), Some("b"));
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
