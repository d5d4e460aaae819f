//! The staff's pages: login, the dashboard of envelopes by state, the counterparty registry,
//! a new envelope (upload, place fields, recipients, send), an envelope's detail (progress,
//! cancel, remind, audit trail) and 文書管理 (電帳法 search, CSV).
//!
//! A staff page needs a session ([`StaffSession`]); without one it redirects to the login.
//! Every form posts a CSRF token bound to the session.

pub(crate) mod api_keys;
pub(crate) mod archive;
pub(crate) mod compose;
pub(crate) mod counterparties;
pub(crate) mod dashboard;
pub(crate) mod envelope;
pub(crate) mod folders;
pub(crate) mod imports;
pub(crate) mod login;
pub(crate) mod operations_log;
pub(crate) mod password;
pub(crate) mod second_factor;
pub(crate) mod security;
pub(crate) mod session_start;
pub(crate) mod templates;
pub(crate) mod users;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use inkan_domain::StatusKind;
use inkan_service::{ServiceError, SessionUser, Staff};

use crate::extract::{CallerInfo, Shared};
use crate::render::percent_encode;
use crate::ui::error::UiError;
use crate::ui::guard::{cookie, SESSION_COOKIE};
use crate::ui::i18n::Lang;
use crate::ui::layout::{Frame, StaffNav};

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
        "signer_check_passed" => ("本人確認 (コード一致)", "identity check passed"),
        "import" => ("取込 (書面・他社の契約)", "imported"),
        "metadata_corrected" => ("電帳法項目の訂正", "corrected the 電帳法 items"),
        "signer_check_failed" => ("本人確認のコード誤り", "wrong identity check code"),
        "signer_link_locked" => ("署名用リンクのロック", "signing link locked"),
        "sms_code_sent" => ("SMS認証コードの送信", "sent an SMS code"),
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
        "tax_export" => (
            "税務調査用の一括出力 (ZIP)",
            "exported for a tax audit (ZIP)",
        ),
        other => (other, other),
    };
    lang.t(ja, en).to_string()
}

/// How the staff pages name a status.
pub(crate) fn status_label(lang: Lang, status: StatusKind) -> &'static str {
    match status {
        StatusKind::Draft => lang.t("下書き", "Draft"),
        StatusKind::AwaitingApproval => lang.t("承認待ち", "Awaiting approval"),
        StatusKind::Sent => lang.t("署名待ち", "Sent"),
        StatusKind::PartiallySigned => lang.t("一部署名済み", "Partially signed"),
        StatusKind::Completed => lang.t("締結済み", "Completed"),
        StatusKind::Declined => lang.t("辞退", "Declined"),
        StatusKind::Cancelled => lang.t("取消", "Cancelled"),
        StatusKind::Expired => lang.t("期限切れ", "Expired"),
        StatusKind::Imported => lang.t("取込済み", "Imported"),
    }
}

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
