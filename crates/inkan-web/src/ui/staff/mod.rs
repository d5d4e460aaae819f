//! The staff's pages: login, the dashboard of envelopes by state, the counterparty registry,
//! a new envelope (upload, place fields, recipients, send), an envelope's detail (progress,
//! cancel, remind, audit trail) and 文書管理 (電帳法 search, CSV).
//!
//! A staff page needs a session ([`StaffSession`]); without one it redirects to the login.
//! Every form posts a CSRF token bound to the session.

mod api_keys;
mod archive;
mod compose;
mod counterparties;
mod dashboard;
pub(crate) mod envelope;
mod folders;
mod login;
mod operations_log;
mod password;
mod second_factor;
mod security;
mod session_start;
mod users;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use inkan_service::{ServiceError, SessionUser, Staff};

use crate::extract::{CallerInfo, Shared};
use crate::render::percent_encode;
use crate::ui::error::UiError;
use crate::ui::guard::{cookie, SESSION_COOKIE};
use crate::ui::i18n::Lang;
use crate::ui::layout::{Frame, StaffNav};

pub(crate) fn routes(state: &Shared) -> Router<Shared> {
    Router::new()
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/login/sso", post(login::start_sso))
        .route("/login/sso/callback", get(login::finish_sso))
        .route(
            "/login/code",
            get(second_factor::code_page).post(second_factor::submit_code),
        )
        .route(
            "/login/enrol",
            get(second_factor::enrol_page).post(second_factor::submit_enrolment),
        )
        .route(
            second_factor::ACCOUNT_PATH,
            get(second_factor::account_page).post(second_factor::enrol),
        )
        .route("/app/account/mfa/remove", post(second_factor::remove))
        .route(
            "/app/account/passkeys/start",
            post(second_factor::start_passkey),
        )
        .route(
            "/app/account/passkeys/finish",
            post(second_factor::finish_passkey),
        )
        .route(
            "/app/account/passkeys/{id}/remove",
            post(second_factor::remove_passkey),
        )
        .route(
            "/login/passkey/start",
            post(second_factor::start_passkey_login),
        )
        .route(
            "/login/passkey/finish",
            post(second_factor::finish_passkey_login),
        )
        .route(
            "/login/passkey/register/start",
            post(second_factor::start_passkey_enrolment),
        )
        .route(
            "/login/passkey/register/finish",
            post(second_factor::finish_passkey_enrolment),
        )
        .route(
            password::PATH,
            get(password::password_page).post(password::change_password),
        )
        .route("/app", get(dashboard::dashboard_page))
        .route(
            "/app/counterparties",
            get(counterparties::counterparties_page).post(counterparties::register),
        )
        .route(
            "/app/counterparties/{id}",
            get(counterparties::edit_page).post(counterparties::update),
        )
        .route("/app/envelopes/new", get(compose::compose_page))
        .route(
            "/app/envelopes/preview",
            post(compose::preview).layer(axum::extract::DefaultBodyLimit::max(
                crate::api::MAX_ATTACHMENT_BODY * 3,
            )),
        )
        .route(
            "/app/envelopes",
            post(compose::create).layer(axum::extract::DefaultBodyLimit::max(
                crate::api::MAX_ENVELOPE_BODY,
            )),
        )
        .route("/app/envelopes/{id}", get(envelope::envelope_page))
        .route("/app/envelopes/{id}/send", post(envelope::send))
        .route("/app/envelopes/{id}/cancel", post(envelope::cancel))
        .route("/app/envelopes/{id}/remind", post(envelope::remind))
        .route("/app/envelopes/{id}/folder", post(envelope::move_to_folder))
        .route("/app/envelopes/{id}/shares", post(envelope::share))
        .route(
            folders::PATH,
            get(folders::folders_page).post(folders::create_folder),
        )
        .route(
            "/app/settings/folders/required",
            post(folders::set_required),
        )
        .route("/app/settings/folders/groups", post(folders::create_group))
        .route(
            "/app/settings/folders/groups/{id}/{action}",
            post(folders::change_group),
        )
        .route(
            "/app/settings/folders/{id}/{action}",
            post(folders::change_folder),
        )
        .route(
            "/app/envelopes/{id}/documents/{doc}/download",
            get(envelope::download),
        )
        .route(
            "/app/envelopes/{id}/attachments/{att}/download",
            get(envelope::attachment),
        )
        .route(
            "/app/envelopes/{id}/certificate",
            get(envelope::conclusion_certificate),
        )
        .route("/app/documents", get(archive::archive_page))
        .route("/app/documents.csv", get(archive::csv))
        .route(
            security::PATH,
            get(security::security_page).post(security::save_security),
        )
        .route(
            "/app/settings/security/mfa",
            post(security::save_mfa_required),
        )
        .route("/app/settings/security/sso", post(security::save_sso))
        .route(
            "/app/settings/security/sso/remove",
            post(security::remove_sso),
        )
        .route(users::PATH, get(users::users_page).post(users::invite))
        .route(operations_log::PATH, get(operations_log::log_page))
        .route(
            api_keys::PATH,
            get(api_keys::keys_page).post(api_keys::make_key),
        )
        .route(
            "/app/settings/api-keys/{id}/revoke",
            post(api_keys::revoke_key),
        )
        .route("/app/settings/users/{id}/{action}", post(users::act))
        .route(
            "/invite/{token}",
            get(users::invitation_page).post(users::accept),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::ui::guard::same_origin,
        ))
}

/// `GET /`: staff go to their dashboard (or the login).
pub(crate) async fn home() -> Redirect {
    Redirect::to("/app")
}

/// A logged-in staff member.
pub(crate) struct StaffSession {
    pub staff: Staff,
    pub user: SessionUser,
    pub lang: Lang,
    /// The CSRF token of this session's forms.
    pub csrf: String,
    /// The session cookie value (the CSRF scope).
    pub cookie: String,
}

impl StaffSession {
    /// The page frame with the staff navigation.
    pub fn frame<'a>(&'a self, title: &'a str, path: &'a str) -> Frame<'a> {
        let mut frame = Frame::new(self.lang, title, path);
        frame.staff = Some(StaffNav {
            organization: &self.user.organization,
            name: &self.user.name,
            csrf: &self.csrf,
            administrator: self.user.administrator,
            reads: self.staff.rights.reads != inkan_service::Reach::Nothing,
            sends: self.staff.rights.sends,
        });
        frame
    }

    /// True when `token` is this session's CSRF token.
    pub fn csrf_ok(&self, state: &Shared, token: Option<&str>) -> bool {
        token.is_some_and(|t| state.inkan.csrf_valid(&self.scope(), t))
    }

    fn scope(&self) -> String {
        format!("session:{}", self.cookie)
    }
}

impl FromRequestParts<Shared> for StaffSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let lang = crate::ui::i18n::lang_of(&parts.headers);
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/app");
            Redirect::to(&format!("/login?next={}", percent_encode(next))).into_response()
        };
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        let caller = CallerInfo::of(parts);
        let staff = match state.inkan.session(value, &caller).await {
            Ok(s) => s,
            Err(error @ ServiceError::NetworkRefused(_)) => {
                return Err(UiError {
                    lang,
                    error,
                    login: true,
                }
                .into_response())
            }
            Err(_) => return Err(to_login()),
        };
        let user = match state.inkan.session_user(&staff).await {
            Ok(u) => u,
            Err(_) => return Err(to_login()),
        };
        let cookie = value.to_string();
        let csrf = state.inkan.csrf_token(&format!("session:{cookie}"));
        Ok(StaffSession {
            staff,
            user,
            lang,
            csrf,
            cookie,
        })
    }
}

/// An audit action as a person reads it (the code itself stays for what has no name yet).
pub(crate) fn action_label(lang: crate::ui::i18n::Lang, action: &str) -> String {
    let (ja, en) = match action {
        "create" => ("作成", "created"),
        "send" => ("送信", "sent"),
        "approve" => ("承認", "approved"),
        "view" => ("閲覧", "viewed"),
        "download" => ("ダウンロード", "downloaded"),
        "fill" => ("入力", "filled in"),
        "attach" => ("ファイル添付", "attached a file"),
        "sign" => ("署名", "signed"),
        "decline" => ("辞退", "declined"),
        "cancel" => ("取消", "cancelled"),
        "login" => ("ログイン", "logged in"),
        "remind" => ("リマインド送信", "sent a reminder"),
        "seal" => (
            "電子署名・タイムスタンプの付与",
            "signatures and timestamps applied",
        ),
        "sealed" => ("締結完了", "concluded"),
        "expire" => ("期限切れ", "expired"),
        "new_link" => ("署名用リンクの再送", "sent a fresh link"),
        "upload_certificate" => ("証明書の登録", "uploaded a certificate"),
        "logout" => ("ログアウト", "logged out"),
        "network_refused" => ("接続元による拒否", "refused by network"),
        "staff_networks_changed" => ("IP制限の変更", "changed the IP restriction"),
        "mfa_enrolled" => ("多要素認証の登録", "set up two-step login"),
        "mfa_failed" => ("確認コードの誤り", "wrong code"),
        "mfa_removed" => ("多要素認証の解除", "removed two-step login"),
        "mfa_reset" => ("多要素認証のリセット", "reset two-step login"),
        "mfa_required_changed" => (
            "多要素認証の必須設定の変更",
            "changed whether two-step login is required",
        ),
        "add_user" => ("職員の追加", "added a user"),
        "user_invited" => ("職員の招待", "invited a user"),
        "invitation_accepted" => ("招待の受諾", "accepted an invitation"),
        "role_changed" => ("権限の変更", "changed a role"),
        "disable_user" => ("職員の無効化", "disabled a user"),
        "set_password" => ("パスワードの設定", "set a password"),
        "password_change_refused" => ("パスワード変更の拒否", "password change refused"),
        "create_api_key" => ("API キーの作成", "made an API key"),
        "revoke_api_key" => ("API キーの無効化", "revoked an API key"),
        "add_webhook" => ("Webhook の登録", "registered a webhook"),
        "export_csv" => ("CSV の出力", "exported a CSV"),
        other => (other, other),
    };
    lang.t(ja, en).to_string()
}

/// The status names and their labels, in the dashboard's order.
pub(crate) fn status_label(lang: Lang, status: &str) -> &'static str {
    match status {
        "draft" => lang.t("下書き", "Draft"),
        "awaiting_approval" => lang.t("承認待ち", "Awaiting approval"),
        "sent" => lang.t("署名待ち", "Sent"),
        "partially_signed" => lang.t("一部署名済み", "Partially signed"),
        "completed" => lang.t("締結済み", "Completed"),
        "declined" => lang.t("辞退", "Declined"),
        "cancelled" => lang.t("取消", "Cancelled"),
        "expired" => lang.t("期限切れ", "Expired"),
        _ => lang.t("不明", "Unknown"),
    }
}

pub(crate) const STATUSES: [&str; 8] = [
    "draft",
    "awaiting_approval",
    "sent",
    "partially_signed",
    "completed",
    "declined",
    "cancelled",
    "expired",
];

/// A posted form whose fields may repeat (checkboxes of one name), which `Form` cannot read.
pub(crate) struct MultiForm(Vec<(String, String)>);

impl MultiForm {
    pub fn parse(body: &[u8]) -> MultiForm {
        MultiForm(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of a field.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a field as IDs (users, groups); one that is not an ID is refused.
    pub fn ids<T: std::str::FromStr>(&self, name: &str) -> Result<Vec<T>, ServiceError> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| {
                v.parse().map_err(|_| {
                    ServiceError::Invalid(format!(
                        "{name} の値 {v:?} が正しくありません (not a valid ID)"
                    ))
                })
            })
            .collect()
    }
}
