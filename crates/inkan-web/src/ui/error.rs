//! Failures of a page request, answered as a page in the reader's language: a dead link gets
//! the seeds' "Not Found" page, an ended envelope says why it ended, a refused input says what
//! was wrong. Internal faults are logged with a reference, never shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use inkan_service::ServiceError;

use crate::ui::i18n::Lang;
use crate::ui::layout::{message_page, not_found};

/// A failed page request.
#[derive(Debug)]
pub(crate) struct UiError {
    pub lang: Lang,
    pub error: ServiceError,
    /// Where an unauthenticated staff member is sent (the login page); `None` for link pages.
    pub login: bool,
}

pub(crate) type UiResult<T> = std::result::Result<T, UiError>;

/// Attaches the page's language (and whether it is a staff page) to a service error.
pub(crate) trait PageContext<T> {
    fn page(self, lang: Lang) -> UiResult<T>;
    fn staff_page(self, lang: Lang) -> UiResult<T>;
}

impl<T> PageContext<T> for Result<T, ServiceError> {
    fn page(self, lang: Lang) -> UiResult<T> {
        self.map_err(|error| UiError {
            lang,
            error,
            login: false,
        })
    }
    fn staff_page(self, lang: Lang) -> UiResult<T> {
        self.map_err(|error| UiError {
            lang,
            error,
            login: true,
        })
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let lang = self.lang;
        match self.error {
            ServiceError::NotFound(_) => not_found(lang),
            ServiceError::Gone(why) => message_page(
                lang,
                StatusCode::GONE,
                lang.t("この手続きは終了しました", "This request has ended"),
                &lang.pick(&why),
            ),
            ServiceError::Unauthenticated(_) if self.login => {
                Redirect::to("/login").into_response()
            }
            ServiceError::Unauthenticated(why) => message_page(
                lang,
                StatusCode::UNAUTHORIZED,
                lang.t("ログインが必要です", "Please log in"),
                &lang.pick(&why),
            ),
            ServiceError::CheckRequired(_) => message_page(
                lang,
                StatusCode::UNAUTHORIZED,
                lang.t("本人確認が必要です", "Please confirm it is you"),
                lang.t(
                    "署名依頼メールのリンクから開き直し、コードを入力してください。",
                    "Open the link in the signature request email again and enter the code.",
                ),
            ),
            ServiceError::Invalid(why) => message_page(
                lang,
                StatusCode::BAD_REQUEST,
                lang.t("入力内容をご確認ください", "Please check what you entered"),
                &format!(
                    "{}\n{}",
                    lang.pick(&why),
                    lang.t(
                        "ブラウザの「戻る」で前の画面に戻れます。",
                        "Use the browser's Back button to return."
                    )
                ),
            ),
            ServiceError::NotAllowed(why) => message_page(
                lang,
                StatusCode::CONFLICT,
                lang.t("この操作はできません", "This cannot be done now"),
                &lang.pick(&why),
            ),
            ref refused @ ServiceError::NetworkRefused(_) => message_page(
                lang,
                StatusCode::FORBIDDEN,
                lang.t(
                    "この接続元からは利用できません",
                    "Not available from this network",
                ),
                &lang.pick(&refused.to_string()),
            ),
            ServiceError::Conflict => message_page(
                lang,
                StatusCode::CONFLICT,
                lang.t(
                    "同時に操作されました",
                    "Someone else acted at the same time",
                ),
                lang.t(
                    "ページを読み込み直して、もう一度お試しください。",
                    "Reload the page and try again.",
                ),
            ),
            ServiceError::Unavailable(why) => {
                tracing::warn!(error = %why, "an outside service is unavailable");
                message_page(
                    lang,
                    StatusCode::SERVICE_UNAVAILABLE,
                    lang.t("ただいま処理できません", "Temporarily unavailable"),
                    lang.t(
                        "しばらくしてからもう一度お試しください。",
                        "Please try again in a few minutes.",
                    ),
                )
            }
            ServiceError::Busy(why) => {
                let mut response = message_page(
                    lang,
                    StatusCode::SERVICE_UNAVAILABLE,
                    lang.t("ただいま混み合っています", "Busy right now"),
                    &lang.pick(&why),
                );
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(inkan_service::BUSY_RETRY_SECONDS),
                );
                response
            }
            ref internal @ ServiceError::Internal { .. } => {
                let reference = uuid::Uuid::new_v4();
                tracing::error!(%reference, error = %internal, "internal error on a page");
                message_page(
                    lang,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    lang.t("エラーが発生しました", "Something went wrong"),
                    &format!(
                        "{} (reference {reference})",
                        lang.t(
                            "時間をおいてお試しください。続く場合は管理者にお知らせください。",
                            "Please try again later; tell the administrator if it persists."
                        )
                    ),
                )
            }
        }
    }
}
