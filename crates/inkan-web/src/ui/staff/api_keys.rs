//! API キー (administrators): the organization's keys with their scope and who made them, a
//! form for a new one (its secret shown once, on the answer page) and revocation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use inkan_domain::Jst;
use inkan_service::{ApiKeyView, ServiceError};
use inkan_store::ApiKeyScope;
use maud::html;
use serde::Deserialize;

use super::StaffSession;
use crate::extract::{CallerInfo, Path, Shared};
use crate::render::percent_encode;
use crate::ui::error::{PageContext, UiResult};
use crate::ui::i18n::Lang;
use crate::ui::layout::{self, expired_form, page};

/// Where the page lives.
pub(crate) const PATH: &str = "/app/settings/api-keys";

const SCOPES: [ApiKeyScope; 3] = [ApiKeyScope::Read, ApiKeyScope::Send, ApiKeyScope::Admin];

fn scope_label(lang: Lang, scope: ApiKeyScope) -> &'static str {
    match scope {
        ApiKeyScope::Read => lang.t(
            "読み取り（閲覧・検索のみ）",
            "read (reads and searches only)",
        ),
        ApiKeyScope::Send => lang.t(
            "送信（読み取りと、封筒の作成・送信・取消）",
            "send (reads, and prepares, sends and cancels envelopes)",
        ),
        ApiKeyScope::Admin => lang.t("管理（すべて）", "admin (everything)"),
    }
}

/// `GET /app/settings/api-keys`.
pub(crate) async fn keys_page(
    State(state): State<Shared>,
    session: StaffSession,
) -> UiResult<Response> {
    let keys = state
        .inkan
        .api_keys(&session.staff)
        .await
        .staff_page(session.lang)?;
    Ok(render(&session, &keys, None, None, StatusCode::OK))
}

fn render(
    session: &StaffSession,
    keys: &[ApiKeyView],
    created: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let lang = session.lang;
    let title = lang.t("API キー", "API keys");
    let when = |at: i64| Jst::from_unix(at).map(|t| t.slash()).unwrap_or_default();
    let body = html! {
        section.api-keys {
            h1 { (title) }
            @if let Some(secret) = created {
                div.notice #new-key role="status" {
                    p { (lang.t(
                        "API キーを作成しました。この値は二度と表示されません。今すぐ控えてください。",
                        "The API key was made. It is shown only this once: copy it now."
                    )) }
                    p { code #new-key-secret { (secret) } }
                }
            }
            @if let Some(e) = error { p.error #key-error role="alert" { (e) } }
            @if keys.is_empty() {
                p.empty { (lang.t("API キーはありません。", "No API key yet.")) }
            } @else {
                (layout::wide_table(lang.t("API キーの一覧", "API key list"), html! {
                table.list #key-list {
                    thead { tr {
                        th { (lang.t("名前", "Name")) }
                        th { (lang.t("権限", "Scope")) }
                        th { (lang.t("作成日時", "Made")) }
                        th { (lang.t("状態", "State")) }
                        th { span.sr-only { (lang.t("操作", "Actions")) } }
                    } }
                    tbody {
                        @for k in keys {
                            tr data-name=(k.name) {
                                td { (k.name) }
                                td { (scope_label(lang, k.scope)) }
                                td { (when(k.created_at)) }
                                td { @match k.revoked_at {
                                    Some(at) => { (lang.t("無効化済み ", "Revoked ")) (when(at)) }
                                    None => { (lang.t("有効", "Active")) }
                                } }
                                td { @if k.revoked_at.is_none() {
                                    form.inline method="post" action=(format!("{PATH}/{}/revoke", percent_encode(&k.id))) {
                                        input type="hidden" name="csrf" value=(session.csrf);
                                        button.link.revoke type="submit"
                                            aria-label=(format!("{} {}", k.name, lang.t("を無効にする", "— revoke"))) {
                                            (lang.t("無効にする", "Revoke")) }
                                    }
                                } }
                            }
                        }
                    }
                }
                }))
            }
            h2 { (lang.t("API キーを作る", "Make an API key")) }
            form.grid #key-form method="post" action=(PATH) {
                input type="hidden" name="csrf" value=(session.csrf);
                label for="name" { (lang.t("名前（用途）", "Name (what it is for)")) " *" }
                input #name name="name" type="text" required maxlength="100";
                label for="scope" { (lang.t("権限", "Scope")) }
                select #scope name="scope" {
                    @for scope in SCOPES {
                        option value=(scope.name()) selected[scope == ApiKeyScope::Send] { (scope_label(lang, scope)) }
                    }
                }
                button.primary #make-key type="submit" { (lang.t("作成する", "Make it")) }
            }
        }
    };
    let mut response = layout::html(page(session.frame(title, PATH), body));
    *response.status_mut() = status;
    // The answer that shows a secret is never cached.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct KeyForm {
    #[serde(default)]
    csrf: String,
    name: String,
    scope: String,
}

/// `POST /app/settings/api-keys`: the new key's secret, shown once on the answer.
pub(crate) async fn make_key(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Form(form): Form<KeyForm>,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    let made = match SCOPES.into_iter().find(|s| s.name() == form.scope) {
        Some(scope) => {
            state
                .inkan
                .create_api_key(&session.staff, &form.name, scope, &caller)
                .await
        }
        None => Err(ServiceError::Invalid(format!(
            "権限 {:?} はありません (unknown scope)",
            form.scope
        ))),
    };
    match made {
        Ok(secret) => {
            let list = state
                .inkan
                .api_keys(&session.staff)
                .await
                .staff_page(lang)?;
            Ok(render(&session, &list, Some(&secret), None, StatusCode::OK))
        }
        Err(ServiceError::Invalid(why) | ServiceError::NotAllowed(why)) => {
            let list = state
                .inkan
                .api_keys(&session.staff)
                .await
                .staff_page(lang)?;
            let why = lang.pick(&why);
            Ok(render(
                &session,
                &list,
                None,
                Some(&why),
                StatusCode::BAD_REQUEST,
            ))
        }
        Err(other) => Err(other).staff_page(lang),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct RevokeForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /app/settings/api-keys/{id}/revoke`.
pub(crate) async fn revoke_key(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    state
        .inkan
        .revoke_api_key(&session.staff, &id, &caller)
        .await
        .staff_page(lang)?;
    Ok(Redirect::to(PATH).into_response())
}
