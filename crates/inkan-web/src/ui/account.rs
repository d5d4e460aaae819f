//! The signer's free account (`/my/…`): register or sign in with the email the documents were
//! sent to (a one-time code is mailed there), then their own 文書管理: every envelope concluded
//! with that address, its documents and its 電子契約締結証明書, long after the 14-day completion
//! link died.
//!
//! The forms before sign-in carry a CSRF token bound to a random cookie set with the form (as
//! the staff login does); asking for and entering codes are rate-limited per client like the
//! staff login. The session is a signed, HttpOnly cookie.

use axum::extract::{FromRequestParts, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use inkan_store::SignerAccount;
use maud::html;
use serde::Deserialize;

use crate::extract::{CallerInfo, Path, Shared};
use crate::render::{self, percent_encode};
use crate::ui::error::{PageContext, UiResult};
use crate::ui::guard::{caller_ip, cookie, login_allowed, new_nonce, set_cookie, too_many};
use crate::ui::i18n::{Lang, Reader};
use crate::ui::layout::{self, expired_form, page, Frame};

/// The signer account's session cookie.
const ACCOUNT_COOKIE: &str = "inkan_account";
/// The cookie the sign-in forms' CSRF token is bound to.
const ACCOUNT_LOGIN_COOKIE: &str = "inkan_account_login";

fn login_scope(nonce: &str) -> String {
    format!("account-login:{nonce}")
}

fn with_cookie(mut response: Response, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// The email form (step 1) or the code form (step 2), with an optional message.
fn sign_in_page(
    state: &Shared,
    lang: Lang,
    status: StatusCode,
    nonce: &str,
    email: Option<&str>,
    message: Option<&str>,
) -> Response {
    let csrf = state.inkan.csrf_token(&login_scope(nonce));
    let body = html! {
        section.login.account {
            h1 { (lang.t("署名者アカウント（無料）", "Your free signer account")) }
            p { (lang.t(
                "署名依頼を受け取ったメールアドレスで登録すると、そのアドレスで締結したすべての文書と電子契約締結証明書を「文書管理」でいつでもダウンロードできます。パスワードは不要です。",
                "Register with the email address your signature requests came to, and find every document concluded with it, and its certificate of conclusion, in your library at any time. No password needed."
            )) }
            @if let Some(m) = message { p.error #account-message role="alert" { (m) } }
            @match email {
                None => {
                    form method="post" action="/my/code" {
                        input type="hidden" name="csrf" value=(csrf);
                        label for="email" { (lang.t("メールアドレス", "Email")) }
                        input #email type="email" name="email" required autocomplete="email";
                        button.primary #send-code type="submit" { (lang.t("確認コードを送る", "Send me a code")) }
                    }
                }
                Some(email) => {
                    p #code-sent { (lang.t("確認コードを送信しました: ", "We sent a code to: ")) strong { (email) } }
                    form method="post" action="/my/verify" {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="email" value=(email);
                        label for="code" { (lang.t("確認コード（6桁）", "Code (6 digits)")) }
                        input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="12" required;
                        button.primary #verify-code type="submit" { (lang.t("ログイン", "Sign in")) }
                    }
                    p.small { a href="/my/login" { (lang.t("別のメールアドレスを使う・コードを再送する", "Use another address or send a new code")) } }
                }
            }
        }
    };
    let title = lang.t("署名者アカウント", "Signer account");
    let response = (
        status,
        layout::html(page(Frame::new(lang, title, "/my/login"), body)),
    )
        .into_response();
    with_cookie(
        response,
        &set_cookie(state, ACCOUNT_LOGIN_COOKIE, nonce, Some(3600)),
    )
}

/// `GET /my/login`.
pub(crate) async fn login_form(
    State(state): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
) -> Response {
    let nonce = cookie(&headers, ACCOUNT_LOGIN_COOKIE)
        .map(str::to_string)
        .unwrap_or_else(new_nonce);
    sign_in_page(&state, lang, StatusCode::OK, &nonce, None, None)
}

#[derive(Debug, Deserialize)]
pub(crate) struct EmailForm {
    email: String,
    #[serde(default)]
    csrf: String,
}

/// The form's nonce when its CSRF token is right.
fn checked_nonce<'a>(state: &Shared, headers: &'a HeaderMap, csrf: &str) -> Option<&'a str> {
    cookie(headers, ACCOUNT_LOGIN_COOKIE)
        .filter(|n| !n.is_empty() && state.inkan.csrf_valid(&login_scope(n), csrf))
}

/// `POST /my/code`: mails a code, then asks for it.
pub(crate) async fn send_code(
    State(state): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    CallerInfo(caller): CallerInfo,
    Form(f): Form<EmailForm>,
) -> UiResult<Response> {
    if !login_allowed(&state, caller_ip(&caller)).await {
        return Ok(too_many(lang));
    }
    let Some(nonce) = checked_nonce(&state, &headers, &f.csrf) else {
        return Ok(expired_form(lang));
    };
    state
        .inkan
        .send_account_code(&f.email, &caller)
        .await
        .page(lang)?;
    Ok(sign_in_page(
        &state,
        lang,
        StatusCode::OK,
        nonce,
        Some(f.email.trim()),
        None,
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct CodeForm {
    email: String,
    code: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /my/verify`: a right code opens the session (and the account, the first time).
pub(crate) async fn verify_code(
    State(state): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    CallerInfo(caller): CallerInfo,
    Form(f): Form<CodeForm>,
) -> Response {
    if !login_allowed(&state, caller_ip(&caller)).await {
        return too_many(lang);
    }
    let Some(nonce) = checked_nonce(&state, &headers, &f.csrf) else {
        return expired_form(lang);
    };
    match state
        .inkan
        .verify_account_code(&f.email, &f.code, &caller)
        .await
    {
        Ok((_, session)) => {
            let response = Redirect::to("/my").into_response();
            let response = with_cookie(
                response,
                &set_cookie(
                    &state,
                    ACCOUNT_COOKIE,
                    &session,
                    Some(inkan_service::ACCOUNT_SESSION_SECONDS),
                ),
            );
            with_cookie(
                response,
                &set_cookie(&state, ACCOUNT_LOGIN_COOKIE, "", Some(0)),
            )
        }
        Err(e) => {
            let (status, message) = match (&e, lang) {
                // Locked after too many wrong codes: say until when.
                (inkan_service::ServiceError::NotAllowed(why), _) => {
                    (StatusCode::TOO_MANY_REQUESTS, why.clone())
                }
                (_, Lang::Ja) => (StatusCode::UNAUTHORIZED, "確認コードが正しくないか、有効期限が切れています。最新のメールのコードを入力するか、コードを再送してください。".to_string()),
                (_, Lang::En) => (StatusCode::UNAUTHORIZED, e.to_string()),
            };
            sign_in_page(
                &state,
                lang,
                status,
                nonce,
                Some(f.email.trim()),
                Some(&message),
            )
        }
    }
}

/// A signed-in signer.
pub(crate) struct AccountSession {
    account: SignerAccount,
    lang: Lang,
    csrf: String,
    /// What this session's CSRF tokens are bound to.
    scope: String,
}

impl FromRequestParts<Shared> for AccountSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let lang = crate::ui::i18n::lang_of(&parts.headers);
        let to_login = || Redirect::to("/my/login").into_response();
        let Some(value) = cookie(&parts.headers, ACCOUNT_COOKIE) else {
            return Err(to_login());
        };
        let account = state
            .inkan
            .account_session(value)
            .await
            .map_err(|_| to_login())?;
        let scope = format!("account:{value}");
        Ok(AccountSession {
            account,
            lang,
            csrf: state.inkan.csrf_token(&scope),
            scope,
        })
    }
}

/// `GET /my`: the signer's 文書管理.
pub(crate) async fn library(
    State(state): State<Shared>,
    session: AccountSession,
) -> UiResult<Response> {
    let lang = session.lang;
    let entries = state.inkan.library(&session.account).await.page(lang)?;
    let body = html! {
        section.library {
            div.heading {
                h1 { (lang.t("文書管理", "My documents")) }
                span.who #account-email { (session.account.email) }
                form.logout method="post" action="/my/logout" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    button.link type="submit" { (lang.t("ログアウト", "Sign out")) }
                }
            }
            @if entries.is_empty() {
                p #library-empty { (lang.t("このメールアドレスで締結した文書はまだありません。", "No document has been concluded with this address yet.")) }
            } @else {
                table.results #library {
                    thead { tr {
                        th { (lang.t("文書名", "Title")) }
                        th { (lang.t("送り主", "Sender")) }
                        th { (lang.t("締結日時", "Concluded")) }
                        th { (lang.t("締結証明書ID", "Conclusion ID")) }
                        th { (lang.t("ダウンロード", "Downloads")) }
                    } }
                    tbody {
                        @for e in &entries {
                            @let base = format!("/my/envelopes/{}", percent_encode(&e.envelope_id));
                            tr.entry {
                                td.title { (e.title) @if !e.number.is_empty() { br; span.small { (lang.t("管理番号 ", "No. ")) (e.number) } } }
                                td { (e.sender) }
                                td { (e.concluded_at) }
                                td.mono.small { (e.conclusion_id) }
                                td {
                                    ul.downloads {
                                        @for d in &e.documents {
                                            li { a.download href=(format!("{base}/documents/{}", percent_encode(&d.id))) { "↓ " (d.name) } }
                                        }
                                        @if e.has_certificate {
                                            li { a.download.certificate href=(format!("{base}/certificate")) { "↓ " (lang.t("電子契約締結証明書", "Certificate of conclusion")) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let title = lang.t("文書管理", "My documents");
    Ok(layout::html(page(Frame::new(lang, title, "/my"), body)))
}

/// `GET /my/envelopes/{id}/documents/{doc}`.
pub(crate) async fn document(
    State(state): State<Shared>,
    session: AccountSession,
    CallerInfo(caller): CallerInfo,
    Path((id, doc)): Path<(String, String)>,
) -> UiResult<Response> {
    let (name, bytes) = state
        .inkan
        .library_document(&session.account, &id, &doc, &caller)
        .await
        .page(session.lang)?;
    Ok(render::file(&name, bytes))
}

/// `GET /my/envelopes/{id}/certificate`.
pub(crate) async fn conclusion_certificate(
    State(state): State<Shared>,
    session: AccountSession,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
) -> UiResult<Response> {
    let (name, bytes) = state
        .inkan
        .library_certificate(&session.account, &id, &caller)
        .await
        .page(session.lang)?;
    Ok(render::file(&name, bytes))
}

#[derive(Debug, Deserialize)]
pub(crate) struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /my/logout`.
pub(crate) async fn logout(
    State(state): State<Shared>,
    session: AccountSession,
    Form(f): Form<LogoutForm>,
) -> Response {
    if !state.inkan.csrf_valid(&session.scope, &f.csrf) {
        return expired_form(session.lang);
    }
    with_cookie(
        Redirect::to("/my/login").into_response(),
        &set_cookie(&state, ACCOUNT_COOKIE, "", Some(0)),
    )
}
