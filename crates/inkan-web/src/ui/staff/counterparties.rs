//! The counterparty registry (取引先), with the fields of the 電子契約用メールアドレス届出書.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use inkan_domain::{CalendarDate, DateFormat};
use inkan_service::CounterpartyInput;
use maud::{html, Markup};
use serde::Deserialize;

use super::StaffSession;
use crate::extract::{CallerInfo, Path, Query, Shared};
use crate::render::percent_encode;
use crate::ui::error::{PageContext, UiResult};
use crate::ui::i18n::Lang;
use crate::ui::layout::{self, expired_form, page};

fn input(id: &str, label: &str, kind: &str, required: bool, value: &str) -> Markup {
    html! {
        label for=(id) { (label) @if required { " *" } }
        input #(id) name=(id) type=(kind) required[required] maxlength="200" value=(value);
    }
}

/// The fields of the 電子契約用メールアドレス届出書, filled with `c` when editing.
fn form_fields(lang: Lang, c: Option<&CounterpartyInput>) -> Markup {
    let v = |get: fn(&CounterpartyInput) -> &str| c.map(get).unwrap_or_default();
    html! {
        (input("notified_on", lang.t("届出日", "Date of notification"), "date", false,
            c.and_then(|c| c.notified_on.as_deref()).unwrap_or_default()))
        (input("address", lang.t("所在地", "Address"), "text", true, v(|c| &c.address)))
        (input("trade_name", lang.t("商号又は名称", "Trade name"), "text", true, v(|c| &c.trade_name)))
        (input("representative", lang.t("代表者職氏名", "Representative"), "text", true, v(|c| &c.representative)))
        fieldset {
            legend { (lang.t("契約締結権限者", "Contract signatory")) }
            (input("signatory_title", lang.t("役職", "Title"), "text", true, v(|c| &c.signatory_title)))
            (input("signatory_name", lang.t("氏名", "Name"), "text", true, v(|c| &c.signatory_name)))
            (input("signatory_email", lang.t("利用メールアドレス", "Email"), "email", true, v(|c| &c.signatory_email)))
        }
        fieldset {
            legend { (lang.t("事務担当者連絡先", "Clerk")) }
            (input("clerk_department", lang.t("部署名", "Department"), "text", false, v(|c| &c.clerk_department)))
            (input("clerk_title", lang.t("役職", "Title"), "text", false, v(|c| &c.clerk_title)))
            (input("clerk_name", lang.t("氏名", "Name"), "text", false, v(|c| &c.clerk_name)))
            (input("clerk_phone", lang.t("電話番号", "Phone"), "tel", false, v(|c| &c.clerk_phone)))
            (input("clerk_email", lang.t("メールアドレス", "Email"), "email", false,
                c.and_then(|c| c.clerk_email.as_deref()).unwrap_or_default()))
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Search {
    #[serde(default)]
    q: String,
}

/// `GET /app/counterparties?q=`: the registry, searchable, and the form of a new 届出書.
pub(crate) async fn counterparties_page(
    State(state): State<Shared>,
    session: StaffSession,
    Query(search): Query<Search>,
) -> UiResult<Response> {
    let lang = session.lang;
    let list = state
        .inkan
        .search_counterparties(&session.staff, &search.q)
        .await
        .staff_page(lang)?;
    let title = lang.t("取引先", "Counterparties");
    let body = html! {
        section.counterparties {
            h1 { (title) }
            form.search #counterparty-search method="get" action="/app/counterparties" role="search" {
                label for="q" { (lang.t("取引先を検索", "Search counterparties")) }
                input #q name="q" type="search" value=(search.q) maxlength="200"
                    placeholder=(lang.t("名称、氏名、メールアドレス、所在地", "Name, email, address"));
                button.secondary #search type="submit" { (lang.t("検索", "Search")) }
            }
            @if list.is_empty() {
                p.empty #counterparty-empty { @if search.q.trim().is_empty() {
                    (lang.t("登録された取引先はありません。", "No counterparty yet."))
                } @else {
                    (lang.t("条件に合う取引先はありません。", "No counterparty matches."))
                } }
            } @else {
                (layout::wide_table(lang.t("取引先の一覧", "Counterparty list"), html! {
                table.list #counterparty-list {
                    thead { tr {
                        th { (lang.t("商号又は名称", "Trade name")) }
                        th { (lang.t("所在地", "Address")) }
                        th { (lang.t("契約締結権限者", "Signatory")) }
                        th { (lang.t("メールアドレス", "Email")) }
                        th { (lang.t("事務担当者", "Clerk")) }
                        th { (lang.t("届出日", "Notified")) }
                        th { span.sr-only { (lang.t("操作", "Actions")) } }
                    } }
                    tbody {
                        @for c in &list {
                            tr {
                                td { (c.fields.trade_name) br; small { (c.fields.representative) } }
                                td { (c.fields.address) }
                                td { (c.fields.signatory_title) " " (c.fields.signatory_name) }
                                td { (c.fields.signatory_email) }
                                td { (c.fields.clerk_department) " " (c.fields.clerk_name) " " (c.fields.clerk_phone) }
                                td { (c.fields.notified_on.as_deref().map(notified_on_text).unwrap_or_default()) }
                                td { a.edit href=(format!("/app/counterparties/{}", percent_encode(&c.id)))
                                    aria-label=(format!("{} {}", c.fields.trade_name, lang.t("を編集", "— edit"))) {
                                    (lang.t("編集", "Edit")) } }
                            }
                        }
                    }
                }
                }))
            }
            h2 { (lang.t("取引先を登録する（電子契約用メールアドレス届出書）", "Register a counterparty (from its email notification form)")) }
            form.grid #counterparty-form method="post" action="/app/counterparties" {
                input type="hidden" name="csrf" value=(session.csrf);
                (form_fields(lang, None))
                button.primary #register type="submit" { (lang.t("登録する", "Register")) }
            }
        }
    };
    Ok(layout::html(page(
        session.frame(title, "/app/counterparties"),
        body,
    )))
}

/// 届出日 as Japanese forms write it: 令和8年4月1日.
fn notified_on_text(iso: &str) -> String {
    CalendarDate::parse(iso)
        .map(|d| d.format(DateFormat::Wareki))
        .unwrap_or_else(|_| iso.to_string())
}

/// `GET /app/counterparties/{id}`: a counterparty's 届出書 to correct or renew.
pub(crate) async fn edit_page(
    State(state): State<Shared>,
    session: StaffSession,
    Path(id): Path<String>,
) -> UiResult<Response> {
    let lang = session.lang;
    let c = state
        .inkan
        .counterparty(&session.staff, &id)
        .await
        .staff_page(lang)?;
    let title = lang.t("取引先の編集", "Edit a counterparty");
    let body = html! {
        section.counterparties {
            h1 { (title) ": " (c.fields.trade_name) }
            form.grid #counterparty-form method="post" action=(format!("/app/counterparties/{}", percent_encode(&c.id))) {
                input type="hidden" name="csrf" value=(session.csrf);
                (form_fields(lang, Some(&c.fields)))
                div.actions {
                    a.button.secondary href="/app/counterparties" { (lang.t("戻る", "Back")) }
                    button.primary #save type="submit" { (lang.t("保存する", "Save")) }
                }
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
    #[serde(default)]
    notified_on: String,
}

impl CounterpartyFields {
    fn into_input(self) -> CounterpartyInput {
        let given = |s: String| Some(s).filter(|s| !s.trim().is_empty());
        CounterpartyInput {
            address: self.address,
            trade_name: self.trade_name,
            representative: self.representative,
            signatory_title: self.signatory_title,
            signatory_name: self.signatory_name,
            signatory_email: self.signatory_email,
            clerk_department: self.clerk_department,
            clerk_title: self.clerk_title,
            clerk_name: self.clerk_name,
            clerk_phone: self.clerk_phone,
            clerk_email: given(self.clerk_email),
            notified_on: given(self.notified_on),
        }
    }
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
    let input = form.fields.into_input();
    state
        .inkan
        .register_counterparty(&session.staff, &input, &caller)
        .await
        .staff_page(lang)?;
    Ok(Redirect::to("/app/counterparties").into_response())
}

/// `POST /app/counterparties/{id}`.
pub(crate) async fn update(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Form(form): Form<Registration>,
) -> UiResult<Response> {
    let lang: Lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    state
        .inkan
        .update_counterparty(&session.staff, &id, &form.fields.into_input(), &caller)
        .await
        .staff_page(lang)?;
    Ok(Redirect::to("/app/counterparties").into_response())
}
