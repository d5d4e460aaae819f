//! パスワードの変更: the logged-in user changes their own password, proving the current one.
//! Every session of theirs ends (on every device); this browser gets a new one at once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use axum::Form;
use inkan_service::ServiceError;
use maud::html;
use serde::Deserialize;

use super::session_start::logged_in;
use super::StaffSession;
use crate::extract::{CallerInfo, Query, Shared};
use crate::ui::error::{PageContext, UiResult};
use crate::ui::guard::{caller_ip, login_allowed, too_many};
use crate::ui::layout::{self, expired_form, page};

/// Where the page lives.
pub(crate) const PATH: &str = "/app/account/password";

#[derive(Debug, Deserialize)]
pub(crate) struct Shown {
    #[serde(default)]
    changed: bool,
}

/// `GET /app/account/password`.
pub(crate) async fn password_page(session: StaffSession, Query(shown): Query<Shown>) -> Response {
    render(&session, StatusCode::OK, shown.changed, None)
}

fn render(
    session: &StaffSession,
    status: StatusCode,
    changed: bool,
    error: Option<&str>,
) -> Response {
    let lang = session.lang;
    let title = lang.t("パスワードの変更", "Change your password");
    let body = html! {
        section.login {
            h1 { (title) }
            @if changed { p.notice #changed role="status" { (lang.t(
                "パスワードを変更しました。ほかの端末のログインは終了しました。",
                "Your password was changed; you were logged out everywhere else."
            )) } }
            @if let Some(e) = error { p.error #password-error role="alert" { (e) } }
            form method="post" action=(PATH) {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="username" value=(session.user.email) autocomplete="username";
                label for="current" { (lang.t("今のパスワード", "Current password")) }
                input #current type="password" name="current" required autocomplete="current-password"
                    aria-describedby=[error.map(|_| "password-error")];
                label for="password" { (lang.t("新しいパスワード（10文字以上）", "New password (10 characters or more)")) }
                input #password type="password" name="password" required minlength="10" autocomplete="new-password";
                label for="again" { (lang.t("もう一度", "Again")) }
                input #again type="password" name="again" required minlength="10" autocomplete="new-password";
                button.primary #change-password type="submit" { (lang.t("変更する", "Change")) }
            }
        }
    };
    let mut response = layout::html(page(session.frame(title, PATH), body));
    *response.status_mut() = status;
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current: String,
    password: String,
    again: String,
}

/// `POST /app/account/password`.
pub(crate) async fn change_password(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Form(form): Form<PasswordForm>,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    // Guessing the current password is a login attempt.
    if !login_allowed(&state, caller_ip(&caller)).await {
        return Ok(too_many(lang));
    }
    if form.password != form.again {
        let why = lang.t(
            "2つの新しいパスワードが一致しません。",
            "The two new passwords differ.",
        );
        return Ok(render(&session, StatusCode::BAD_REQUEST, false, Some(why)));
    }
    match state
        .inkan
        .change_own_password(&session.staff, &form.current, &form.password, &caller)
        .await
    {
        Ok(()) => {
            let back = axum::response::IntoResponse::into_response(Redirect::to(&format!(
                "{PATH}?changed=true"
            )));
            Ok(logged_in(&state, lang, &session.staff, back).await)
        }
        Err(ServiceError::Invalid(why)) => Ok(render(
            &session,
            StatusCode::BAD_REQUEST,
            false,
            Some(&lang.pick(&why)),
        )),
        Err(other) => Err(other).staff_page(lang),
    }
}
