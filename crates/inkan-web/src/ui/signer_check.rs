//! 本人確認: the page a signer's link shows first when the sender required an access code or an
//! SMS code, and its two forms. The right code gives a pass, kept as an HttpOnly cookie scoped
//! to this link's paths (its pages, and the API paths its page links to for downloads); nothing
//! of the contract shows before it.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use inkan_domain::CheckMethod;
use inkan_service::{CheckPrompt, LinkPass, ServiceError};
use maud::html;

use crate::extract::{CallerInfo, Path, Shared};
use crate::render::percent_encode;
use crate::ui::error::{PageContext, UiResult};
use crate::ui::i18n::{Lang, Reader};
use crate::ui::layout::{self, page, Frame};
use crate::ui::signer::{base, csrf_scope, form_value, link_form_refusal};
use axum::extract::State;

/// The cookie that carries a signer's pass (also read by [`crate::extract::CallerInfo`]).
pub(crate) const PASS_COOKIE: &str = "inkan_link_pass";

/// The page asking for the code; `problem` is what went wrong with the last try.
pub(crate) fn check_page(
    state: &Shared,
    lang: Lang,
    token: &str,
    prompt: &CheckPrompt,
    problem: Option<&str>,
) -> Response {
    let path = base(token);
    let csrf = state.inkan.csrf_token(&csrf_scope(token));
    let title = lang.t("本人確認", "Confirm it is you");
    let body = html! {
        section.check {
            h1 { (title) }
            p.from {
                @if lang == Lang::Ja {
                    (prompt.organization) "から署名依頼が届いています。文書を表示する前に、ご本人であることを確認します。"
                } @else {
                    "You have a signature request from " (prompt.organization) ". Before the documents show, we confirm it is you."
                }
            }
            @if let Some(problem) = problem {
                p.error role="alert" { (lang.pick(problem)) }
            }
            @match prompt.method {
                CheckMethod::AccessCode => {
                    p { (lang.t(
                        "送信者から電話や書面など、メール以外の方法で伝えられたアクセスコードを入力してください。",
                        "Enter the access code the sender gave you another way than email (by phone, on paper).")) }
                    (code_form(lang, &path, &csrf, false))
                }
                CheckMethod::Sms => {
                    @let phone = prompt.masked_phone.as_deref().unwrap_or_default();
                    @if prompt.code_sent {
                        p { @if lang == Lang::Ja {
                            (phone) " に SMS で送った 6 桁の認証コードを入力してください (10 分間有効)。"
                        } @else {
                            "Enter the 6-digit code we sent by SMS to " (phone) " (valid for 10 minutes)."
                        } }
                        (code_form(lang, &path, &csrf, true))
                        form.inline method="post" action=(format!("{path}/sms")) {
                            input type="hidden" name="csrf" value=(csrf);
                            button.link #resend type="submit" { (lang.t("認証コードを再送する", "Send a new code")) }
                        }
                    } @else {
                        p { @if lang == Lang::Ja {
                            "ご登録の携帯電話 (" (phone) ") に SMS で認証コードを送ります。"
                        } @else {
                            "We will send a code by SMS to your mobile phone (" (phone) ")."
                        } }
                        form method="post" action=(format!("{path}/sms")) {
                            input type="hidden" name="csrf" value=(csrf);
                            button.primary #send-sms type="submit" { (lang.t("SMS で認証コードを送る", "Send the code by SMS")) }
                        }
                    }
                }
            }
            @if problem.is_none() && prompt.attempts_left < inkan_domain::signer_check::MAX_WRONG_CODES {
                p.notice.attempts { @if lang == Lang::Ja {
                    "あと " (prompt.attempts_left) " 回間違えると、このリンクはロックされます。"
                } @else {
                    (prompt.attempts_left) " more wrong codes lock this link."
                } }
            }
        }
    };
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (
        status,
        layout::html(page(Frame::new(lang, title, &path), body)),
    )
        .into_response()
}

fn code_form(lang: Lang, path: &str, csrf: &str, sms: bool) -> maud::Markup {
    html! {
        form.check-code method="post" action=(format!("{path}/code")) {
            label for="code" { @if sms { (lang.t("認証コード", "Code")) } @else { (lang.t("アクセスコード", "Access code")) } }
            @if sms {
                input #code name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required;
            } @else {
                input #code name="code" type="text" autocomplete="off" maxlength="40" required;
            }
            input type="hidden" name="csrf" value=(csrf);
            button.primary #check-submit type="submit" { (lang.t("確認する", "Confirm")) }
        }
    }
}

/// The page again after a refused try, or the refusal's own page when the link cannot be
/// asked anything any more (locked, ended).
async fn again(state: &Shared, lang: Lang, token: &str, error: ServiceError) -> UiResult<Response> {
    let problem = match error {
        ServiceError::Invalid(why) => why,
        other => return Err(other).page(lang),
    };
    match state.inkan.check_prompt(token).await.page(lang)? {
        Some(prompt) => Ok(check_page(state, lang, token, &prompt, Some(&problem))),
        None => Ok(Redirect::to(&base(token)).into_response()),
    }
}

/// `POST /s/{token}/code`: the code; right, the pass as a cookie and back to the request.
pub(crate) async fn give_code(
    State(state): State<Shared>,
    Reader(lang): Reader,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    if let Some(r) = link_form_refusal(&state, lang, &token, &form) {
        return Ok(r);
    }
    let code = form_value(&form, "code").unwrap_or("");
    match state.inkan.give_link_code(&token, code, &caller).await {
        Ok(pass) => Ok(with_pass(&state, &token, &pass)),
        Err(e) => again(&state, lang, &token, e).await,
    }
}

/// `POST /s/{token}/sms`: sends a code, then shows where to enter it.
pub(crate) async fn send_sms(
    State(state): State<Shared>,
    Reader(lang): Reader,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    if let Some(r) = link_form_refusal(&state, lang, &token, &form) {
        return Ok(r);
    }
    match state.inkan.send_link_sms(&token, &caller).await {
        Ok(_) => Ok(Redirect::to(&base(&token)).into_response()),
        Err(e) => again(&state, lang, &token, e).await,
    }
}

/// Back to the request, with the pass kept for this link's page paths and its downloads.
fn with_pass(state: &Shared, token: &str, pass: &LinkPass) -> Response {
    let max_age = Some(inkan_service::PASS_SECONDS);
    let mut response = Redirect::to(&base(token)).into_response();
    for path in [
        base(token),
        format!("/api/v1/sign/{}", percent_encode(token)),
    ] {
        let cookie =
            crate::ui::guard::set_cookie_at(state, PASS_COOKIE, &pass.pass, max_age, &path);
        if let Ok(value) = header::HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}
