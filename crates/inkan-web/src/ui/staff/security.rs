//! セキュリティ設定 (administrators): the organization's IP restriction. The page shows the
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
    let view = SecurityView {
        networks: &networks.to_string(),
        address: caller.ip.map(|ip| ip.to_string()),
        saved: shown.saved,
        error: None,
        mfa_required: mfa.required,
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
            let view = SecurityView {
                networks: &form.networks,
                address: caller.ip.map(|ip| ip.to_string()),
                saved: false,
                error: Some(lang.pick(&why)),
                mfa_required: mfa.required,
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
            }
        };
        let mut response = layout::html(page(session.frame(title, PATH), body));
        *response.status_mut() = status;
        response
    }
}
