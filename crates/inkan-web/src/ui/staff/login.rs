//! Login with email and password, and logout. The login form's CSRF token is bound to a
//! random cookie set with the form (there is no session yet); attempts are rate-limited per
//! client, and a wrong email and a wrong password look the same.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use crate::extract::{CallerInfo, Query, Shared};
use crate::ui::guard::{
    caller_ip, cookie, login_allowed, new_nonce, set_cookie, sso_allowed, too_many, LOGIN_COOKIE,
    SESSION_COOKIE, SSO_COOKIE,
};
use crate::ui::i18n::{Lang, Reader};
use crate::ui::layout::{self, page, Frame};
use crate::ui::staff::second_factor;
use crate::ui::staff::session_start::{logged_in, safe_next};
use inkan_service::mfa::LoginStep;

#[derive(Debug, Deserialize)]
pub(crate) struct Next {
    #[serde(default)]
    next: String,
}

fn render(
    state: &Shared,
    lang: Lang,
    status: StatusCode,
    nonce: &str,
    next: &str,
    error: Option<&str>,
    email: &str,
) -> Response {
    let csrf = state.inkan.csrf_token(&format!("login:{nonce}"));
    let body = html! {
        section.login {
            h1 { (lang.t("ログイン", "Log in")) }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(safe_next(next));
                label for="email" { (lang.t("メールアドレス", "Email")) }
                input #email type="email" name="email" value=(email) required autocomplete="username";
                label for="password" { (lang.t("パスワード", "Password")) }
                input #password type="password" name="password" required autocomplete="current-password";
                button.primary #login type="submit" { (lang.t("ログイン", "Log in")) }
            }
            h2 { (lang.t("シングルサインオン", "Single sign-on")) }
            form #sso-form method="post" action="/login/sso" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(safe_next(next));
                label for="sso-email" { (lang.t("組織のメールアドレス", "Your organization email")) }
                input #sso-email type="email" name="email" value=(email) required autocomplete="username";
                button.secondary #sso-login type="submit" { (lang.t("シングルサインオンでログイン", "Log in with single sign-on")) }
            }
        }
    };
    let mut response = (
        status,
        layout::html(page(
            Frame::new(lang, lang.t("ログイン", "Log in"), "/login"),
            body,
        )),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(state, LOGIN_COOKIE, nonce, Some(3600))) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// `GET /login`.
pub(crate) async fn form(
    State(state): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Response {
    let nonce = cookie(&headers, LOGIN_COOKIE)
        .map(str::to_string)
        .unwrap_or_else(new_nonce);
    render(&state, lang, StatusCode::OK, &nonce, &q.next, None, "")
}

#[derive(Debug, Deserialize)]
pub(crate) struct Credentials {
    email: String,
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`.
pub(crate) async fn submit(
    State(state): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    CallerInfo(caller): CallerInfo,
    Form(c): Form<Credentials>,
) -> Response {
    let ip = caller_ip(&caller);
    if !login_allowed(&state, ip).await {
        return too_many(lang);
    }
    let nonce = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if nonce.is_empty() || !state.inkan.csrf_valid(&format!("login:{nonce}"), &c.csrf) {
        let nonce = new_nonce();
        let message = lang.t(
            "画面の有効期限が切れました。もう一度ログインしてください。",
            "The page expired. Please log in again.",
        );
        return render(
            &state,
            lang,
            StatusCode::FORBIDDEN,
            &nonce,
            &c.next,
            Some(message),
            &c.email,
        );
    }
    let staff = match state.inkan.login(&c.email, &c.password, &caller).await {
        Ok(LoginStep::Done(s)) => s,
        Ok(LoginStep::Code(pending)) => {
            return second_factor::to_second_factor(&state, &pending, "/login/code", &c.next)
        }
        Ok(LoginStep::Enrol(pending)) => {
            return second_factor::to_second_factor(&state, &pending, "/login/enrol", &c.next)
        }
        Err(refused @ inkan_service::ServiceError::NetworkRefused(_)) => {
            return render(
                &state,
                lang,
                StatusCode::FORBIDDEN,
                nonce,
                &c.next,
                Some(&lang.pick(&refused.to_string())),
                &c.email,
            );
        }
        // A right password, but the organization logs in through its single sign-on; or the
        // account or network is locked after too many failures.
        Err(inkan_service::ServiceError::NotAllowed(why)) => {
            return render(
                &state,
                lang,
                StatusCode::FORBIDDEN,
                nonce,
                &c.next,
                Some(&lang.pick(&why)),
                &c.email,
            );
        }
        Err(_) => {
            let message = lang.t(
                "メールアドレスまたはパスワードが違います。",
                "Wrong email or password.",
            );
            return render(
                &state,
                lang,
                StatusCode::UNAUTHORIZED,
                nonce,
                &c.next,
                Some(message),
                &c.email,
            );
        }
    };
    logged_in(
        &state,
        lang,
        &staff,
        Redirect::to(&safe_next(&c.next)).into_response(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct SsoRequest {
    email: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// `POST /login/sso`: to the provider of the email's domain, with the login remembered in a
/// sealed cookie.
pub(crate) async fn start_sso(
    State(state): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    CallerInfo(caller): CallerInfo,
    Form(c): Form<SsoRequest>,
) -> Response {
    if !sso_allowed(&state, caller_ip(&caller)).await {
        return too_many(lang);
    }
    let nonce = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if nonce.is_empty() || !state.inkan.csrf_valid(&format!("login:{nonce}"), &c.csrf) {
        let message = lang.t(
            "画面の有効期限が切れました。もう一度ログインしてください。",
            "The page expired. Please log in again.",
        );
        return render(
            &state,
            lang,
            StatusCode::FORBIDDEN,
            &new_nonce(),
            &c.next,
            Some(message),
            &c.email,
        );
    }
    match state.inkan.start_sso(&c.email, &safe_next(&c.next)).await {
        Ok(start) => {
            // Not a redirect: the login page's CSP keeps forms (and their redirects) on this
            // site (`form-action 'self'`), so the way to the provider is a page of its own.
            let title = lang.t("シングルサインオン", "Single sign-on");
            let body = html! {
                section.login {
                    h1 { (title) }
                    p { (lang.t("組織の認証基盤へ移動しています…", "Going to your organization's sign-in…")) }
                    p { a.primary #sso-continue href=(start.redirect) { (lang.t("進まない場合はこちら", "Continue")) } }
                }
            };
            let mut response =
                layout::html(page(Frame::new(lang, title, "/login"), body)).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("0;url={}", start.redirect)) {
                response.headers_mut().insert("refresh", v);
            }
            let value = set_cookie(
                &state,
                SSO_COOKIE,
                &start.cookie,
                Some(inkan_service::SSO_LOGIN_SECONDS),
            );
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Err(e) => {
            let status = match e {
                inkan_service::ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            render(
                &state,
                lang,
                status,
                nonce,
                &c.next,
                Some(&sso_message(lang, &e)),
                &c.email,
            )
        }
    }
}

/// `GET /login/sso/callback`: the provider's answer; a session, or the reason there is none.
pub(crate) async fn finish_sso(
    State(state): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    CallerInfo(caller): CallerInfo,
    Query(callback): Query<inkan_service::SsoCallback>,
) -> Response {
    if !sso_allowed(&state, caller_ip(&caller)).await {
        return too_many(lang);
    }
    let sealed = cookie(&headers, SSO_COOKIE).unwrap_or("");
    let mut response = match state.inkan.finish_sso(sealed, &callback, &caller).await {
        Ok((staff, next)) => {
            logged_in(
                &state,
                lang,
                &staff,
                Redirect::to(&safe_next(&next)).into_response(),
            )
            .await
        }
        Err(e) => {
            let status = match e {
                inkan_service::ServiceError::NetworkRefused(_) => StatusCode::FORBIDDEN,
                inkan_service::ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNAUTHORIZED,
            };
            render(
                &state,
                lang,
                status,
                &new_nonce(),
                "",
                Some(&sso_message(lang, &e)),
                "",
            )
        }
    };
    // The login is over either way: its cookie goes.
    if let Ok(v) = HeaderValue::from_str(&set_cookie(&state, SSO_COOKIE, "", Some(0))) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// Why a single sign-on did not happen, for the login page (never an internal detail).
fn sso_message(lang: Lang, e: &inkan_service::ServiceError) -> String {
    use inkan_service::ServiceError as E;
    match e {
        E::Invalid(m) | E::NotAllowed(m) | E::Unauthenticated(m) | E::Unavailable(m) => {
            lang.pick(m)
        }
        E::NetworkRefused(_) => lang.pick(&e.to_string()),
        _ => lang
            .t(
                "シングルサインオンでログインできませんでした。",
                "Single sign-on did not succeed.",
            )
            .to_string(),
    }
}

/// `POST /logout`: ends every session of the user on the server (on every device), and drops
/// the cookie.
pub(crate) async fn logout(
    State(state): State<Shared>,
    headers: axum::http::HeaderMap,
    crate::extract::CallerInfo(caller): crate::extract::CallerInfo,
) -> Response {
    if let Some(value) = crate::ui::guard::cookie(&headers, SESSION_COOKIE) {
        if let Ok(staff) = state.inkan.session(value, &caller).await {
            if let Err(e) = state.inkan.logout(&staff, &caller).await {
                tracing::warn!(error = %e, "ending the sessions at logout failed");
            }
        }
    }
    let mut response = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(&state, SESSION_COOKIE, "", Some(0))) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}
