//! Where a login ends, whichever way it went (password, second factor, passkey, single
//! sign-on): the session cookie set and the login's own cookies dropped, and the page to go
//! on to. Shared by `login` and `second_factor`, and importing neither.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::extract::Shared;
use crate::ui::guard::{set_cookie, LOGIN_COOKIE, MFA_COOKIE, SESSION_COOKIE};
use crate::ui::i18n::Lang;

/// Only a path of this site (never an open redirect); the dashboard otherwise.
pub(crate) fn safe_next(next: &str) -> String {
    crate::redirect::local_path(next).unwrap_or_else(|| "/app".into())
}

/// `response` with the session of `staff` set, and the login's own cookies dropped.
pub(crate) async fn logged_in(
    state: &Shared,
    lang: Lang,
    staff: &inkan_service::Staff,
    mut response: Response,
) -> Response {
    let session = match state.inkan.start_session(staff).await {
        Ok(s) => s,
        Err(e) => {
            return crate::ui::error::UiError {
                lang,
                error: e,
                login: false,
            }
            .into_response()
        }
    };
    let cookies = [
        set_cookie(
            state,
            SESSION_COOKIE,
            &session,
            Some(inkan_service::SESSION_SECONDS),
        ),
        set_cookie(state, LOGIN_COOKIE, "", Some(0)),
        set_cookie(state, MFA_COOKIE, "", Some(0)),
    ];
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}
