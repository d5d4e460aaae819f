//! 多要素認証 pages: the code (or a passkey) asked after a right password, enrolment at login
//! when the organization requires MFA, and the user's own page to add or remove their
//! authenticator and passkeys. Passkey ceremonies run in `passkey.js`, posting JSON with the
//! CSRF token in `X-CSRF-Token`.
//! The pending login rides in its own short-lived cookie; its forms' CSRF tokens are bound to
//! it, as the session's are bound to the session.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use inkan_service::mfa::{PendingLogin, TotpOffer};
use inkan_service::ServiceError;
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;

use super::session_start::{logged_in, safe_next};
use super::StaffSession;
use crate::extract::{CallerInfo, Path, Query, Shared};
use crate::render::percent_encode;
use crate::ui::error::{PageContext, UiResult};
use crate::ui::guard::{
    caller_ip, cookie, login_allowed, set_cookie, too_many, MFA_COOKIE, PASSKEY_COOKIE,
};
use crate::ui::i18n::{Lang, Reader};
use crate::ui::layout::{self, expired_form, page, Frame};

/// Where the user's own page lives.
pub(crate) const ACCOUNT_PATH: &str = "/app/account/mfa";

/// After a right password: the pending login's cookie, and on to `path` (the code, or the
/// enrolment).
pub(super) fn to_second_factor(
    state: &Shared,
    pending: &PendingLogin,
    path: &str,
    next: &str,
) -> Response {
    let mut response =
        Redirect::to(&format!("{path}?next={}", percent_encode(&safe_next(next)))).into_response();
    let value = set_cookie(
        state,
        MFA_COOKIE,
        pending.cookie(),
        Some(PendingLogin::SECONDS),
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct Next {
    #[serde(default)]
    next: String,
}

/// The pending login of the request (without one, the way is back to the password).
fn pending(headers: &HeaderMap) -> Option<PendingLogin> {
    cookie(headers, MFA_COOKIE)
        .filter(|v| !v.is_empty())
        .map(PendingLogin::from_cookie)
}

/// The pending login a second-factor form was posted under, when the client is within its
/// login rate and the form's CSRF token is the pending login's; the response otherwise.
async fn posted_pending(
    state: &Shared,
    lang: Lang,
    headers: &HeaderMap,
    caller: &inkan_service::Caller,
    csrf: &str,
) -> Result<PendingLogin, Box<Response>> {
    if !login_allowed(state, caller_ip(caller)).await {
        return Err(Box::new(too_many(lang)));
    }
    match pending(headers) {
        Some(pending) if state.inkan.csrf_valid(&pending_scope(&pending), csrf) => Ok(pending),
        _ => Err(Box::new(Redirect::to("/login").into_response())),
    }
}

fn pending_scope(pending: &PendingLogin) -> String {
    format!("mfa:{}", pending.cookie())
}

/// The input of a code: six digits from the app, or a recovery code.
fn code_input(lang: Lang, error: Option<&str>) -> Markup {
    html! {
        label for="code" { (lang.t(
            "認証アプリに表示された6桁のコード（またはリカバリーコード）",
            "The 6-digit code your authenticator app shows (or a recovery code)"
        )) }
        input #code type="text" name="code" required autocomplete="one-time-code"
            autocapitalize="off" spellcheck="false" maxlength="20"
            aria-describedby=[error.map(|_| "code-error")];
    }
}

fn error_line(error: Option<&str>) -> Markup {
    html! { @if let Some(e) = error { p.error #code-error role="alert" { (e) } } }
}

/// The QR code and the secret of an authenticator about to be enrolled.
fn offer_markup(lang: Lang, offer: &TotpOffer) -> Markup {
    let qr = qrcode::QrCode::new(offer.uri.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default();
    // The renderer writes a whole XML document; inside HTML only its <svg> element belongs.
    let svg = qr.find("<svg").map(|at| &qr[at..]).unwrap_or_default();
    html! {
        ol.steps {
            li { (lang.t(
                "スマートフォンの認証アプリ（Google Authenticator、Microsoft Authenticator など）で、この QR コードを読み取ります。",
                "Scan this QR code with the authenticator app on your phone (Google Authenticator, Microsoft Authenticator, …)."
            )) }
            li { (lang.t("読み取れない場合は、次の鍵を手で入力します: ", "If it cannot scan, type this key instead: "))
                code #totp-secret { (offer.secret) } }
            li { (lang.t("アプリに表示された6桁のコードを入力します。", "Enter the 6-digit code the app shows.")) }
        }
        div.qr role="img" aria-label=(lang.t("認証アプリ登録用の QR コード", "QR code for your authenticator app")) {
            (PreEscaped(svg))
        }
    }
}

/// The recovery codes, shown once after enrolment.
fn recovery_codes_markup(lang: Lang, codes: &[String], next: &str) -> Markup {
    html! {
        section.mfa {
            h1 { (lang.t("リカバリーコード", "Recovery codes")) }
            p { (lang.t(
                "スマートフォンをなくしたときは、認証アプリのコードの代わりにこのコードを1つずつ使えます。この画面は二度と表示されません。印刷するか、安全な場所に保管してください。",
                "If you lose your phone, each of these codes logs you in once instead of the app's code. This page is shown only once: print the codes or keep them somewhere safe."
            )) }
            ul #recovery-codes { @for c in codes { li { code { (c) } } } }
            a.button.primary #continue href=(next) { (lang.t("続ける", "Continue")) }
        }
    }
}

fn login_frame(lang: Lang, title: &str) -> Frame<'_> {
    Frame::new(lang, title, "/login")
}

/// `GET /login/code`.
pub(crate) async fn code_page(
    State(state): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Response {
    let Some(pending) = pending(&headers) else {
        return Redirect::to("/login").into_response();
    };
    code_form(&state, lang, &pending, &q.next, StatusCode::OK, None)
}

fn code_form(
    state: &Shared,
    lang: Lang,
    pending: &PendingLogin,
    next: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let csrf = state.inkan.csrf_token(&pending_scope(pending));
    let title = lang.t("確認コードの入力", "Enter your code");
    let body = html! {
        section.login {
            h1 { (title) }
            (error_line(error))
            form method="post" action="/login/code" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(safe_next(next));
                (code_input(lang, error))
                button.primary #verify type="submit" { (lang.t("ログイン", "Log in")) }
            }
            @if state.inkan.passkeys_available() {
                h2 { (lang.t("パスキーを使う", "Use a passkey")) }
                p.error #passkey-error role="alert" {}
                button.secondary #use-passkey type="button" data-csrf=(csrf) data-error="passkey-error"
                    data-start="/login/passkey/start"
                    data-finish=(format!("/login/passkey/finish?next={}", percent_encode(&safe_next(next)))) {
                    (lang.t("パスキーでログイン", "Log in with a passkey"))
                }
            }
            p { a href="/login" { (lang.t("最初からやり直す", "Start over")) } }
        }
    };
    let mut frame = login_frame(lang, title);
    frame.scripts = &["passkey.js"];
    let mut response = layout::html(page(frame, body));
    *response.status_mut() = status;
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    code: String,
    /// The offered secret, on enrolment.
    #[serde(default)]
    secret: String,
}

/// A refused code that the form shows again beside its field, with the status; other
/// failures are pages of their own ([`failure_page`]).
fn shown_again(lang: Lang, error: ServiceError) -> Result<(StatusCode, String), ServiceError> {
    match error {
        ServiceError::Unauthenticated(why) => Ok((StatusCode::UNAUTHORIZED, lang.pick(&why))),
        ServiceError::NotAllowed(why) => Ok((StatusCode::FORBIDDEN, lang.pick(&why))),
        ServiceError::Invalid(why) => Ok((StatusCode::BAD_REQUEST, lang.pick(&why))),
        other => Err(other),
    }
}

fn failure_page(lang: Lang, error: ServiceError) -> Response {
    match error {
        // The pending login ran out (or the password changed meanwhile): from the start.
        ServiceError::Gone(_) => Redirect::to("/login").into_response(),
        other => crate::ui::error::UiError {
            lang,
            error: other,
            login: true,
        }
        .into_response(),
    }
}

/// `POST /login/code`.
pub(crate) async fn submit_code(
    State(state): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    CallerInfo(caller): CallerInfo,
    Form(form): Form<CodeForm>,
) -> Response {
    let pending = match posted_pending(&state, lang, &headers, &caller, &form.csrf).await {
        Ok(pending) => pending,
        Err(response) => return *response,
    };
    match state
        .inkan
        .complete_login(&pending, &form.code, &caller)
        .await
    {
        Ok(staff) => {
            let next = Redirect::to(&safe_next(&form.next)).into_response();
            logged_in(&state, lang, &staff, next).await
        }
        Err(e) => match shown_again(lang, e) {
            Ok((status, why)) => code_form(&state, lang, &pending, &form.next, status, Some(&why)),
            Err(other) => failure_page(lang, other),
        },
    }
}

/// `GET /login/enrol`: the organization requires MFA and this user has none yet.
pub(crate) async fn enrol_page(
    State(state): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Response {
    let Some(pending) = pending(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let email = match state.inkan.pending_login_email(&pending).await {
        Ok(email) => email,
        Err(_) => return Redirect::to("/login").into_response(),
    };
    let offer = state.inkan.offer_totp(&email);
    enrol_form(
        &state,
        lang,
        &pending,
        &offer,
        &q.next,
        StatusCode::OK,
        None,
    )
}

fn enrol_form(
    state: &Shared,
    lang: Lang,
    pending: &PendingLogin,
    offer: &TotpOffer,
    next: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let csrf = state.inkan.csrf_token(&pending_scope(pending));
    let title = lang.t("多要素認証の設定", "Set up two-step login");
    let body = html! {
        section.mfa {
            h1 { (title) }
            p { (lang.t(
                "この組織では、ログインにパスワードと認証アプリのコードの両方が必要です。続けるには認証アプリを登録してください。",
                "Your organization requires a code from an authenticator app besides the password. Set up the app to continue."
            )) }
            (offer_markup(lang, offer))
            (error_line(error))
            form method="post" action="/login/enrol" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(safe_next(next));
                input type="hidden" name="secret" value=(offer.secret);
                (code_input(lang, error))
                button.primary #enrol type="submit" { (lang.t("登録してログイン", "Set up and log in")) }
            }
            @if state.inkan.passkeys_available() {
                h2 { (lang.t("またはパスキーを登録する", "Or register a passkey")) }
                p.error #add-passkey-error role="alert" {}
                label for="passkey-name" { (lang.t("パスキーの名前", "Passkey name")) }
                input #passkey-name type="text" maxlength="100" placeholder=(lang.t("業務用 PC", "Office PC"));
                button.secondary #add-passkey type="button" data-csrf=(csrf) data-error="add-passkey-error"
                    data-start="/login/passkey/register/start"
                    data-finish=(format!("/login/passkey/register/finish?next={}", percent_encode(&safe_next(next)))) {
                    (lang.t("パスキーを登録してログイン", "Register a passkey and log in"))
                }
            }
        }
    };
    let mut frame = login_frame(lang, title);
    frame.scripts = &["passkey.js"];
    let mut response = layout::html(page(frame, body));
    *response.status_mut() = status;
    response
}

/// `POST /login/enrol`.
pub(crate) async fn submit_enrolment(
    State(state): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    CallerInfo(caller): CallerInfo,
    Form(form): Form<CodeForm>,
) -> Response {
    let pending = match posted_pending(&state, lang, &headers, &caller, &form.csrf).await {
        Ok(pending) => pending,
        Err(response) => return *response,
    };
    match state
        .inkan
        .enrol_totp_at_login(&pending, &caller, &form.secret, &form.code)
        .await
    {
        Ok((staff, codes)) => {
            let title = lang.t("リカバリーコード", "Recovery codes");
            let shown = layout::html(page(
                login_frame(lang, title),
                recovery_codes_markup(lang, &codes, &safe_next(&form.next)),
            ));
            logged_in(&state, lang, &staff, shown).await
        }
        Err(e) => match shown_again(lang, e) {
            Ok((status, why)) => {
                // The same secret again (the app may already hold it), or a new one.
                let email = match state.inkan.pending_login_email(&pending).await {
                    Ok(email) => email,
                    Err(_) => return Redirect::to("/login").into_response(),
                };
                let offer = state
                    .inkan
                    .reoffer_totp(&form.secret, &email)
                    .unwrap_or_else(|| state.inkan.offer_totp(&email));
                enrol_form(
                    &state,
                    lang,
                    &pending,
                    &offer,
                    &form.next,
                    status,
                    Some(&why),
                )
            }
            Err(other) => failure_page(lang, other),
        },
    }
}

/// `GET /app/account/mfa`: the user's own second factor.
pub(crate) async fn account_page(
    State(state): State<Shared>,
    session: StaffSession,
) -> UiResult<Response> {
    account_view(&state, &session, None, StatusCode::OK).await
}

async fn account_view(
    state: &Shared,
    session: &StaffSession,
    refused: Option<(&str, &str)>,
    status: StatusCode,
) -> UiResult<Response> {
    let lang = session.lang;
    let status_now = state
        .inkan
        .mfa_status(&session.staff)
        .await
        .staff_page(lang)?;
    let title = lang.t("多要素認証", "Two-step login");
    let error = refused.map(|(why, _)| why);
    let body = if status_now.enrolled {
        html! {
            section.mfa {
                h1 { (title) }
                p #mfa-state { (lang.t("認証アプリを登録済みです。", "An authenticator app is set up.")) " "
                    (lang.t("残りのリカバリーコード: ", "Recovery codes left: ")) (status_now.recovery_codes_left) }
                @if status_now.required {
                    p { (lang.t("この組織では多要素認証が必須です。", "Your organization requires two-step login.")) }
                } @else {
                    h2 { (lang.t("認証アプリの登録を解除する", "Remove the authenticator app")) }
                    (error_line(error))
                    form method="post" action=(format!("{ACCOUNT_PATH}/remove")) {
                        input type="hidden" name="csrf" value=(session.csrf);
                        (code_input(lang, error))
                        button.secondary #remove type="submit" { (lang.t("解除する", "Remove")) }
                    }
                }
            }
        }
    } else {
        let offer = match refused.map(|(_, secret)| secret) {
            Some(secret) => state.inkan.reoffer_totp(secret, &session.user.email),
            None => None,
        }
        .unwrap_or_else(|| state.inkan.offer_totp(&session.user.email));
        html! {
            section.mfa {
                h1 { (title) }
                p #mfa-state { (lang.t(
                    "ログインのときに、パスワードに加えて認証アプリのコードを求めるようにします。",
                    "Ask for a code from an authenticator app besides the password at every login."
                )) }
                (offer_markup(lang, &offer))
                (error_line(error))
                form method="post" action=(ACCOUNT_PATH) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input type="hidden" name="secret" value=(offer.secret);
                    (code_input(lang, error))
                    button.primary #enrol type="submit" { (lang.t("登録する", "Set up")) }
                }
            }
        }
    };
    let passkeys = passkeys_markup(state, session).await?;
    let body = html! { (body) (passkeys) };
    let mut frame = session.frame(title, ACCOUNT_PATH);
    frame.scripts = &["passkey.js"];
    let mut response = layout::html(page(frame, body));
    *response.status_mut() = status;
    Ok(response)
}

/// The user's passkeys, and the button to register one (when the server's URL allows them).
async fn passkeys_markup(state: &Shared, session: &StaffSession) -> UiResult<Markup> {
    let lang = session.lang;
    if !state.inkan.passkeys_available() {
        return Ok(html! {
            section.mfa {
                h2 { (lang.t("パスキー", "Passkeys")) }
                p { (lang.t(
                    "パスキーは、サーバーをドメイン名（例: https://inkan.city.example.jp）で開いているときに使えます。",
                    "Passkeys work when the server is reached by a domain name (such as https://inkan.city.example.jp)."
                )) }
            }
        });
    }
    let passkeys = state
        .inkan
        .passkeys(&session.staff)
        .await
        .staff_page(lang)?;
    Ok(html! {
        section.mfa {
            h2 { (lang.t("パスキー", "Passkeys")) }
            p { (lang.t(
                "指紋・顔認証や PIN で使うパスキーを、認証アプリのコードの代わりに使えます。",
                "A passkey (unlocked by fingerprint, face or PIN) can be used instead of the app's code."
            )) }
            ul #passkey-list {
                @for p in &passkeys {
                    li {
                        (p.name) " "
                        form.inline method="post" action=(format!("/app/account/passkeys/{}/remove", percent_encode(&p.id))) {
                            input type="hidden" name="csrf" value=(session.csrf);
                            button.link.remove-passkey type="submit" { (lang.t("削除", "Remove")) span.sr-only { " " (p.name) } }
                        }
                    }
                }
            }
            p.error #add-passkey-error role="alert" {}
            label for="passkey-name" { (lang.t("パスキーの名前", "Passkey name")) }
            input #passkey-name type="text" maxlength="100" placeholder=(lang.t("業務用 PC", "Office PC"));
            button.secondary #add-passkey type="button" data-csrf=(session.csrf) data-error="add-passkey-error"
                data-start="/app/account/passkeys/start" data-finish="/app/account/passkeys/finish" {
                (lang.t("パスキーを登録", "Register a passkey"))
            }
        }
    })
}

/// `POST /app/account/mfa`: enrols the logged-in user's authenticator.
pub(crate) async fn enrol(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Form(form): Form<CodeForm>,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    match state
        .inkan
        .enrol_totp(&session.staff, &caller, &form.secret, &form.code)
        .await
    {
        Ok(codes) => {
            let title = lang.t("リカバリーコード", "Recovery codes");
            Ok(layout::html(page(
                session.frame(title, ACCOUNT_PATH),
                recovery_codes_markup(lang, &codes, ACCOUNT_PATH),
            )))
        }
        Err(e) => match shown_again(lang, e) {
            Ok((status, why)) => {
                account_view(&state, &session, Some((&why, &form.secret)), status).await
            }
            Err(other) => Ok(failure_page(lang, other)),
        },
    }
}

/// `POST /app/account/mfa/remove`.
pub(crate) async fn remove(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Form(form): Form<CodeForm>,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    match state
        .inkan
        .remove_totp(&session.staff, &caller, &form.code)
        .await
    {
        Ok(()) => Ok(Redirect::to(ACCOUNT_PATH).into_response()),
        Err(e) => match shown_again(lang, e) {
            Ok((status, why)) => account_view(&state, &session, Some((&why, "")), status).await,
            Err(other) => Ok(failure_page(lang, other)),
        },
    }
}

// ── パスキー ────────────────────────────────────────────────────────────────────────────────

/// A posted JSON body, with the CSRF token in `X-CSRF-Token`.
fn csrf_header(headers: &HeaderMap) -> String {
    headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// A ceremony's options, with its state in the passkey cookie.
fn ceremony_response<T: serde::Serialize>(state: &Shared, options: &T, cookie: &str) -> Response {
    let mut response = axum::Json(options).into_response();
    let value = set_cookie(
        state,
        PASSKEY_COOKIE,
        cookie,
        Some(inkan_service::mfa::passkey::CEREMONY_SECONDS),
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// A refusal as the script shows it.
fn json_error(lang: Lang, status: StatusCode, error: &ServiceError) -> Response {
    let message = match error {
        ServiceError::Invalid(m)
        | ServiceError::NotAllowed(m)
        | ServiceError::Unauthenticated(m)
        | ServiceError::Gone(m)
        | ServiceError::Unavailable(m) => lang.pick(m),
        _ => lang
            .t(
                "パスキーを使えませんでした。",
                "The passkey could not be used.",
            )
            .to_string(),
    };
    (
        status,
        axum::Json(serde_json::json!({ "error": { "code": error.code(), "message": message } })),
    )
        .into_response()
}

fn passkey_status(error: &ServiceError) -> StatusCode {
    match error {
        ServiceError::Invalid(_) => StatusCode::BAD_REQUEST,
        ServiceError::NotAllowed(_) => StatusCode::FORBIDDEN,
        ServiceError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        ServiceError::Gone(_) => StatusCode::GONE,
        ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `POST /app/account/passkeys/start`: options to create a passkey.
pub(crate) async fn start_passkey(
    State(state): State<Shared>,
    session: StaffSession,
    headers: HeaderMap,
) -> Response {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&csrf_header(&headers))) {
        return expired_form(lang);
    }
    match state.inkan.start_passkey_registration(&session.staff).await {
        Ok(c) => ceremony_response(&state, &c.options, &c.cookie),
        Err(e) => json_error(lang, passkey_status(&e), &e),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct NewPasskey {
    #[serde(default)]
    name: String,
    credential: inkan_service::mfa::passkey::RegisterPublicKeyCredential,
}

/// `POST /app/account/passkeys/finish`: the browser's new credential.
pub(crate) async fn finish_passkey(
    State(state): State<Shared>,
    session: StaffSession,
    headers: HeaderMap,
    CallerInfo(caller): CallerInfo,
    crate::extract::Json(body): crate::extract::Json<NewPasskey>,
) -> Response {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&csrf_header(&headers))) {
        return expired_form(lang);
    }
    let ceremony = cookie(&headers, PASSKEY_COOKIE).unwrap_or("");
    match state
        .inkan
        .finish_passkey_registration(
            &session.staff,
            &caller,
            ceremony,
            &body.name,
            &body.credential,
        )
        .await
    {
        Ok(_) => axum::Json(serde_json::json!({ "redirect": ACCOUNT_PATH })).into_response(),
        Err(e) => json_error(lang, passkey_status(&e), &e),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct PasskeyForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /app/account/passkeys/{id}/remove`.
pub(crate) async fn remove_passkey(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Form(form): Form<PasskeyForm>,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    match state
        .inkan
        .remove_passkey(&session.staff, &caller, &id)
        .await
    {
        Ok(()) => Ok(Redirect::to(ACCOUNT_PATH).into_response()),
        Err(e) => match shown_again(lang, e) {
            Ok((status, why)) => account_view(&state, &session, Some((&why, "")), status).await,
            Err(other) => Ok(failure_page(lang, other)),
        },
    }
}

/// `POST /login/passkey/start`: options to use a passkey for the pending login.
pub(crate) async fn start_passkey_login(
    State(state): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    CallerInfo(caller): CallerInfo,
) -> Response {
    let pending =
        match posted_pending(&state, lang, &headers, &caller, &csrf_header(&headers)).await {
            Ok(pending) => pending,
            Err(response) => return *response,
        };
    match state.inkan.start_passkey_login(&pending).await {
        Ok(c) => ceremony_response(&state, &c.options, &c.cookie),
        Err(e) => json_error(lang, passkey_status(&e), &e),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct UsedPasskey {
    credential: inkan_service::mfa::passkey::PublicKeyCredential,
}

/// `POST /login/passkey/finish?next=…`: the browser's answer; the session, and where to go.
pub(crate) async fn finish_passkey_login(
    State(state): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    CallerInfo(caller): CallerInfo,
    Query(q): Query<Next>,
    crate::extract::Json(body): crate::extract::Json<UsedPasskey>,
) -> Response {
    let pending =
        match posted_pending(&state, lang, &headers, &caller, &csrf_header(&headers)).await {
            Ok(pending) => pending,
            Err(response) => return *response,
        };
    let ceremony = cookie(&headers, PASSKEY_COOKIE).unwrap_or("");
    let outcome = state
        .inkan
        .finish_passkey_login(&pending, &caller, ceremony, &body.credential)
        .await;
    passkey_logged_in(&state, lang, outcome, &q.next).await
}

/// The end of a login a passkey completed, as the script reads it: the session and where to
/// go, or the reason.
async fn passkey_logged_in(
    state: &Shared,
    lang: Lang,
    outcome: Result<inkan_service::Staff, ServiceError>,
    next: &str,
) -> Response {
    match outcome {
        Ok(staff) => {
            let answer =
                axum::Json(serde_json::json!({ "redirect": safe_next(next) })).into_response();
            logged_in(state, lang, &staff, answer).await
        }
        Err(e) => json_error(lang, passkey_status(&e), &e),
    }
}

/// `POST /login/passkey/register/start`: options to create a passkey on a pending login that
/// must set up a second factor.
pub(crate) async fn start_passkey_enrolment(
    State(state): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    CallerInfo(caller): CallerInfo,
) -> Response {
    let pending =
        match posted_pending(&state, lang, &headers, &caller, &csrf_header(&headers)).await {
            Ok(pending) => pending,
            Err(response) => return *response,
        };
    match state
        .inkan
        .start_passkey_registration_at_login(&pending)
        .await
    {
        Ok(c) => ceremony_response(&state, &c.options, &c.cookie),
        Err(e) => json_error(lang, passkey_status(&e), &e),
    }
}

/// `POST /login/passkey/register/finish?next=…`: the new passkey completes the login.
pub(crate) async fn finish_passkey_enrolment(
    State(state): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    CallerInfo(caller): CallerInfo,
    Query(q): Query<Next>,
    crate::extract::Json(body): crate::extract::Json<NewPasskey>,
) -> Response {
    let pending =
        match posted_pending(&state, lang, &headers, &caller, &csrf_header(&headers)).await {
            Ok(pending) => pending,
            Err(response) => return *response,
        };
    let ceremony = cookie(&headers, PASSKEY_COOKIE).unwrap_or("");
    let outcome = state
        .inkan
        .finish_passkey_registration_at_login(
            &pending,
            &caller,
            ceremony,
            &body.name,
            &body.credential,
        )
        .await;
    passkey_logged_in(&state, lang, outcome, &q.next).await
}
