//! セキュリティ設定 (administrators): the organization's IP restriction, MFA required, and single
//! sign-on (its provider, client and email domains, and whether password login is off). The
//! page shows the
//! address the request comes from, so the administrator sees what the list must keep; a list
//! that would shut them out is refused by the service with that reason, and the text they
//! typed comes back with it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use inkan_domain::StaffNetworks;
use inkan_service::ServiceError;
use maud::html;
use serde::Deserialize;

use super::StaffSession;
use crate::extract::{CallerInfo, Query, Shared};
use crate::ui::error::{PageContext, UiResult};
use crate::ui::layout::{self, expired_form, page};

/// Where the page lives.
pub(crate) const PATH: &str = "/app/settings/security";

#[derive(Debug, Deserialize)]
pub(crate) struct Shown {
    #[serde(default)]
    saved: bool,
}

/// `GET /app/settings/security`.
pub(crate) async fn security_page(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Query(shown): Query<Shown>,
) -> UiResult<Response> {
    let networks = state
        .inkan
        .staff_networks(&session.staff)
        .await
        .staff_page(session.lang)?;
    let mfa = state
        .inkan
        .mfa_status(&session.staff)
        .await
        .staff_page(session.lang)?;
    let sso = state
        .inkan
        .sso_settings(&session.staff)
        .await
        .staff_page(session.lang)?;
    let view = SecurityView {
        networks: &networks.to_string(),
        address: caller.ip.map(|ip| ip.to_string()),
        saved: shown.saved,
        error: None,
        mfa_required: mfa.required,
        sso,
        callback_url: state.inkan.sso_callback_url(),
    };
    Ok(view.render(&session, StatusCode::OK))
}

#[derive(Debug, Deserialize)]
pub(crate) struct NetworksForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    networks: String,
}

/// `POST /app/settings/security`.
pub(crate) async fn save_security(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Form(form): Form<NetworksForm>,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    let saved = match StaffNetworks::parse_list(&form.networks) {
        Ok(networks) => {
            state
                .inkan
                .set_staff_networks(&session.staff, &caller, networks)
                .await
        }
        Err(e) => Err(e.into()),
    };
    match saved {
        Ok(_) => Ok(Redirect::to(&format!("{PATH}?saved=true")).into_response()),
        Err(ServiceError::Invalid(why)) => {
            let mfa = state
                .inkan
                .mfa_status(&session.staff)
                .await
                .staff_page(lang)?;
            let sso = state
                .inkan
                .sso_settings(&session.staff)
                .await
                .staff_page(lang)?;
            let view = SecurityView {
                networks: &form.networks,
                address: caller.ip.map(|ip| ip.to_string()),
                saved: false,
                error: Some(lang.pick(&why)),
                mfa_required: mfa.required,
                sso,
                callback_url: state.inkan.sso_callback_url(),
            };
            Ok(view.render(&session, StatusCode::BAD_REQUEST))
        }
        Err(other) => Err(other).staff_page(lang),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct MfaForm {
    #[serde(default)]
    csrf: String,
    /// A checked checkbox sends `on`; an unchecked one sends nothing.
    #[serde(default)]
    required: Option<String>,
}

/// `POST /app/settings/security/mfa`: whether every staff user must use a second factor.
pub(crate) async fn save_mfa_required(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Form(form): Form<MfaForm>,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    state
        .inkan
        .set_mfa_required(&session.staff, &caller, form.required.is_some())
        .await
        .staff_page(lang)?;
    Ok(Redirect::to(&format!("{PATH}?saved=true")).into_response())
}

/// What the page shows.
struct SecurityView<'a> {
    /// The list as text, one network per line (as stored, or as typed when refused).
    networks: &'a str,
    /// The address this request comes from.
    address: Option<String>,
    saved: bool,
    error: Option<String>,
    mfa_required: bool,
    sso: Option<inkan_service::SsoSettings>,
    callback_url: String,
}

impl SecurityView<'_> {
    fn render(&self, session: &StaffSession, status: StatusCode) -> Response {
        let lang = session.lang;
        let title = lang.t("セキュリティ設定", "Security settings");
        let body = html! {
            section.settings {
                h1 { (title) }
                h2 { (lang.t("IP制限", "IP restriction")) }
                p { (lang.t(
                    "職員の画面と API キーを、ここに挙げたネットワークからの接続だけに制限します。空欄にすると制限しません。署名依頼のリンク（取引先の署名画面）と締結完了のリンクには適用されません。",
                    "Staff pages and API keys answer only to connections from the networks listed here; an empty list restricts nothing. Signing links and completion links sent to counterparties are never restricted."
                )) }
                p #current-address {
                    (lang.t("今の接続元: ", "You are connecting from: "))
                    strong { (self.address.as_deref().unwrap_or(lang.t("不明", "unknown"))) }
                }
                @if self.saved { p.notice #saved role="status" { (lang.t("保存しました。", "Saved.")) } }
                @if let Some(e) = &self.error { p.error #networks-error role="alert" { (e) } }
                form #networks-form method="post" action=(PATH) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label for="networks" { (lang.t(
                        "許可するネットワーク（1行に1つ、CIDR 表記。例: 203.0.113.0/24、2001:db8::/48、198.51.100.7）",
                        "Allowed networks (one per line, CIDR notation, e.g. 203.0.113.0/24, 2001:db8::/48, 198.51.100.7)"
                    )) }
                    textarea #networks name="networks" rows="8" cols="48" spellcheck="false"
                        aria-describedby=[self.error.as_ref().map(|_| "networks-error")] { (self.networks) }
                    button.primary #save type="submit" { (lang.t("保存する", "Save")) }
                }
                h2 { (lang.t("多要素認証", "Two-step login")) }
                form #mfa-form method="post" action=(format!("{PATH}/mfa")) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    p {
                        input #mfa-required type="checkbox" name="required" checked[self.mfa_required];
                        " "
                        label for="mfa-required" { (lang.t(
                            "すべての職員に認証アプリのコードを求める（未登録の職員は次のログインで登録します）",
                            "Require a code from an authenticator app of every staff member (those without one set it up at their next login)"
                        )) }
                    }
                    button.primary #save-mfa type="submit" { (lang.t("保存する", "Save")) }
                }
                h2 { (lang.t("シングルサインオン (OpenID Connect)", "Single sign-on (OpenID Connect)")) }
                p { (lang.t(
                    "組織の認証基盤（IdP）でログインします。指定したドメインのメールアドレスの職員は、初回のログイン時に「送信者」として登録されます。",
                    "Staff log in through the organization's identity provider. Staff with an email of the listed domains are added as senders at their first login."
                )) }
                p #sso-callback {
                    (lang.t("IdP に登録するリダイレクト URI: ", "Redirect URI to register at the provider: "))
                    code { (self.callback_url) }
                }
                form #sso-settings method="post" action=(format!("{PATH}/sso")) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label for="sso-issuer" { (lang.t("発行者 (Issuer) URL", "Issuer URL")) }
                    input #sso-issuer name="issuer" type="url" required maxlength="500"
                        value=(self.sso.as_ref().map_or("", |s| s.issuer.as_str()));
                    label for="sso-client-id" { (lang.t("クライアント ID", "Client ID")) }
                    input #sso-client-id name="client_id" type="text" required maxlength="200"
                        value=(self.sso.as_ref().map_or("", |s| s.client_id.as_str()));
                    label for="sso-client-secret" {
                        (lang.t("クライアントシークレット", "Client secret"))
                        @if self.sso.is_some() { " " (lang.t("（空欄のままなら変更しません）", "(left empty: unchanged)")) }
                    }
                    input #sso-client-secret name="client_secret" type="password" maxlength="500" autocomplete="off";
                    label for="sso-domains" { (lang.t("メールのドメイン（1行に1つ）", "Email domains (one per line)")) }
                    textarea #sso-domains name="domains" rows="3" spellcheck="false" {
                        (self.sso.as_ref().map(|s| s.domains.join("\n")).unwrap_or_default())
                    }
                    p {
                        input #sso-required type="checkbox" name="required" checked[self.sso.as_ref().is_some_and(|s| s.required)];
                        " "
                        label for="sso-required" { (lang.t(
                            "パスワードでのログインを禁止し、シングルサインオンだけにする",
                            "Turn password login off: single sign-on only"
                        )) }
                    }
                    button.primary #save-sso type="submit" { (lang.t("保存する", "Save")) }
                }
                @if self.sso.is_some() {
                    form #sso-remove method="post" action=(format!("{PATH}/sso/remove")) {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button.link #remove-sso type="submit" { (lang.t("シングルサインオンを解除する", "Turn single sign-on off")) }
                    }
                }
            }
        };
        let mut response = layout::html(page(session.frame(title, PATH), body));
        *response.status_mut() = status;
        response
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SsoForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    domains: String,
    /// A checked checkbox sends `on`; an unchecked one sends nothing.
    #[serde(default)]
    required: Option<String>,
}

/// `POST /app/settings/security/sso`: the organization's single sign-on.
pub(crate) async fn save_sso(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Form(form): Form<SsoForm>,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    let input = inkan_service::SsoInput {
        issuer: form.issuer,
        client_id: form.client_id,
        client_secret: Some(form.client_secret).filter(|s| !s.trim().is_empty()),
        domains: form.domains.lines().map(str::to_string).collect(),
        required: form.required.is_some(),
    };
    match state.inkan.set_sso(&session.staff, &caller, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("{PATH}?saved=true")).into_response()),
        Err(ServiceError::Invalid(why)) => Ok(layout::message_page(
            lang,
            StatusCode::BAD_REQUEST,
            lang.t("保存できませんでした", "Not saved"),
            &lang.pick(&why),
        )),
        Err(other) => Err(other).staff_page(lang),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// `POST /app/settings/security/sso/remove`.
pub(crate) async fn remove_sso(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Form(form): Form<CsrfOnly>,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    state
        .inkan
        .remove_sso(&session.staff, &caller)
        .await
        .staff_page(lang)?;
    Ok(Redirect::to(&format!("{PATH}?saved=true")).into_response())
}
