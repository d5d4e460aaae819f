//! The counterparty registry (取引先), with the fields of the 電子契約用メールアドレス届出書.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use inkan_service::CounterpartyInput;
use maud::{html, Markup};
use serde::Deserialize;

use super::StaffSession;
use crate::extract::{CallerInfo, Shared};
use crate::ui::error::{PageContext, UiResult};
use crate::ui::i18n::Lang;
use crate::ui::layout::{self, expired_form, page};

fn input(id: &str, label: &str, kind: &str, required: bool) -> Markup {
    html! {
        label for=(id) { (label) @if required { " *" } }
        input #(id) name=(id) type=(kind) required[required] maxlength="200";
    }
}

/// `GET /app/counterparties`.
pub(crate) async fn page_handler(
    State(state): State<Shared>,
    session: StaffSession,
) -> UiResult<Response> {
    let lang = session.lang;
    let list = state
        .inkan
        .counterparties(&session.staff)
        .await
        .staff_page(lang)?;
    let title = lang.t("取引先", "Counterparties");
    let body = html! {
        section.counterparties {
            h1 { (title) }
            @if list.is_empty() {
                p.empty { (lang.t("登録された取引先はありません。", "No counterparty yet.")) }
            } @else {
                table.list #counterparty-list {
                    thead { tr {
                        th { (lang.t("商号又は名称", "Trade name")) }
                        th { (lang.t("所在地", "Address")) }
                        th { (lang.t("契約締結権限者", "Signatory")) }
                        th { (lang.t("メールアドレス", "Email")) }
                        th { (lang.t("事務担当者", "Clerk")) }
                    } }
                    tbody {
                        @for c in &list {
                            tr {
                                td { (c.fields.trade_name) br; small { (c.fields.representative) } }
                                td { (c.fields.address) }
                                td { (c.fields.signatory_title) " " (c.fields.signatory_name) }
                                td { (c.fields.signatory_email) }
                                td { (c.fields.clerk_department) " " (c.fields.clerk_name) " " (c.fields.clerk_phone) }
                            }
                        }
                    }
                }
            }
            h2 { (lang.t("取引先を登録する（電子契約用メールアドレス届出書）", "Register a counterparty (from its email notification form)")) }
            form.grid #counterparty-form method="post" action="/app/counterparties" {
                input type="hidden" name="csrf" value=(session.csrf);
                (input("address", lang.t("所在地", "Address"), "text", true))
                (input("trade_name", lang.t("商号又は名称", "Trade name"), "text", true))
                (input("representative", lang.t("代表者職氏名", "Representative"), "text", true))
                fieldset {
                    legend { (lang.t("契約締結権限者", "Contract signatory")) }
                    (input("signatory_title", lang.t("役職", "Title"), "text", true))
                    (input("signatory_name", lang.t("氏名", "Name"), "text", true))
                    (input("signatory_email", lang.t("利用メールアドレス", "Email"), "email", true))
                }
                fieldset {
                    legend { (lang.t("事務担当者連絡先", "Clerk")) }
                    (input("clerk_department", lang.t("部署名", "Department"), "text", false))
                    (input("clerk_title", lang.t("役職", "Title"), "text", false))
                    (input("clerk_name", lang.t("氏名", "Name"), "text", false))
                    (input("clerk_phone", lang.t("電話番号", "Phone"), "tel", false))
                    (input("clerk_email", lang.t("メールアドレス", "Email"), "email", false))
                }
                button.primary #register type="submit" { (lang.t("登録する", "Register")) }
            }
        }
    };
    Ok(layout::html(page(
        session.frame(title, "/app/counterparties"),
        body,
    )))
}

#[derive(Debug, Deserialize)]
pub(crate) struct Registration {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    fields: CounterpartyFields,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CounterpartyFields {
    address: String,
    trade_name: String,
    representative: String,
    signatory_title: String,
    signatory_name: String,
    signatory_email: String,
    #[serde(default)]
    clerk_department: String,
    #[serde(default)]
    clerk_title: String,
    #[serde(default)]
    clerk_name: String,
    #[serde(default)]
    clerk_phone: String,
    #[serde(default)]
    clerk_email: String,
}

/// `POST /app/counterparties`.
pub(crate) async fn register(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Form(form): Form<Registration>,
) -> UiResult<Response> {
    let lang: Lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    let f = form.fields;
    let input = CounterpartyInput {
        address: f.address,
        trade_name: f.trade_name,
        representative: f.representative,
        signatory_title: f.signatory_title,
        signatory_name: f.signatory_name,
        signatory_email: f.signatory_email,
        clerk_department: f.clerk_department,
        clerk_title: f.clerk_title,
        clerk_name: f.clerk_name,
        clerk_phone: f.clerk_phone,
        clerk_email: Some(f.clerk_email).filter(|e| !e.trim().is_empty()),
    };
    state
        .inkan
        .register_counterparty(&session.staff, &input, &caller)
        .await
        .staff_page(lang)?;
    Ok(Redirect::to("/app/counterparties").into_response())
}
