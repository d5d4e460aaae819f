//! 文書管理: the 電帳法 search (取引年月日 and 取引金額 ranges, 取引先, in any combination), a
//! preview of each hit with its signers (the envelope's page), downloads, the CSV export and the
//! tax-audit ZIP (ダウンロードの求め).

use axum::extract::State;
use axum::response::Response;
use inkan_service::SearchInput;
use maud::html;

use super::{status_label, StaffSession};
use crate::extract::{CallerInfo, Query, Shared};
use crate::render::percent_encode;
use crate::ui::error::{PageContext, UiResult};
use crate::ui::layout::{self, page};

fn query_string(q: &SearchInput) -> String {
    let mut parts = Vec::new();
    let mut add = |k: &str, v: &Option<String>| {
        if let Some(v) = v.as_deref().filter(|v| !v.trim().is_empty()) {
            parts.push(format!("{k}={}", percent_encode(v)));
        }
    };
    add("date_from", &q.date_from);
    add("date_to", &q.date_to);
    add("amount_min", &q.amount_min);
    add("amount_max", &q.amount_max);
    add("counterparty", &q.counterparty);
    if q.completed_only {
        parts.push("completed_only=true".into());
    }
    parts.join("&")
}

/// Empty form fields are "no criterion", not an invalid date.
fn cleaned(mut q: SearchInput) -> SearchInput {
    for v in [
        &mut q.date_from,
        &mut q.date_to,
        &mut q.amount_min,
        &mut q.amount_max,
        &mut q.counterparty,
    ] {
        if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
            *v = None;
        }
    }
    q
}

/// `GET /app/documents?date_from=&date_to=&amount_min=&amount_max=&counterparty=`.
pub(crate) async fn archive_page(
    State(state): State<Shared>,
    session: StaffSession,
    Query(q): Query<SearchInput>,
) -> UiResult<Response> {
    let lang = session.lang;
    let q = cleaned(q);
    let hits = state
        .inkan
        .search(&session.staff, &q)
        .await
        .staff_page(lang)?;
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let title = lang.t("文書管理", "Documents");
    let body = html! {
        section.archive {
            h1 { (title) }
            form.search #search method="get" action="/app/documents" {
                fieldset {
                    legend { (lang.t("取引年月日", "Transaction date")) }
                    input #date_from type="date" aria-label=(lang.t("取引年月日（から）", "Transaction date from")) name="date_from" value=(value(&q.date_from));
                    " 〜 "
                    input #date_to type="date" aria-label=(lang.t("取引年月日（まで）", "Transaction date to")) name="date_to" value=(value(&q.date_to));
                }
                fieldset {
                    legend { (lang.t("取引金額（円）", "Amount (yen)")) }
                    input #amount_min type="text" aria-label=(lang.t("取引金額（円）の下限", "Lowest amount (yen)")) inputmode="numeric" name="amount_min" value=(value(&q.amount_min));
                    " 〜 "
                    input #amount_max type="text" aria-label=(lang.t("取引金額（円）の上限", "Highest amount (yen)")) inputmode="numeric" name="amount_max" value=(value(&q.amount_max));
                }
                fieldset {
                    legend { (lang.t("取引先", "Counterparty")) }
                    input #counterparty type="text" aria-label=(lang.t("取引先", "Counterparty")) name="counterparty" value=(value(&q.counterparty));
                }
                label.check { input type="checkbox" name="completed_only" value="true" checked[q.completed_only]; " " (lang.t("締結済みのみ", "Concluded only")) }
                button.primary #search-button type="submit" { (lang.t("検索", "Search")) }
                a.button.secondary #csv href=(format!("/app/documents.csv?{}", query_string(&q))) { (lang.t("CSV出力", "Export CSV")) }
                a.button.secondary #tax-export href=(format!("/app/documents.zip?{}", query_string(&q)))
                    title=(lang.t("検索結果の文書・締結証明書・索引を1つのZIPに (税務調査のダウンロードの求めに)", "Every document, certificate and an index of this search in one ZIP, for a tax audit")) {
                    (lang.t("一括出力 (ZIP)", "Export all (ZIP)"))
                }
                a.button.secondary #import-link href="/app/imports" { (lang.t("書面・他社の契約を取り込む", "Import contracts")) }
            }
            p #hit-count { (hits.len()) (lang.t(" 件", " documents")) }
            (layout::wide_table(lang.t("検索結果", "Results"), html! {
                table.list #hits {
                    thead { tr {
                        th { (lang.t("文書名", "Document")) } th { (lang.t("封筒", "Envelope")) }
                        th { (lang.t("取引年月日", "Date")) } th { (lang.t("取引金額", "Amount")) }
                        th { (lang.t("取引先", "Counterparty")) } th { (lang.t("状態", "Status")) } th {}
                    } }
                    tbody {
                        @for h in &hits {
                            @let eid = percent_encode(&h.envelope_id);
                            tr {
                                td { (h.document.name) }
                                td { a href=(format!("/app/envelopes/{eid}")) { (h.envelope_number) " " (h.envelope_title) } }
                                td { (h.document.metadata.date.as_deref().unwrap_or("")) }
                                td.num { (yen(h.document.metadata.amount.as_deref())) }
                                td { (h.document.metadata.counterparty.as_deref().unwrap_or("")) }
                                td { (status_label(lang, h.envelope_status)) }
                                td {
                                    a href=(format!("/app/envelopes/{eid}")) { (lang.t("プレビュー", "Preview")) }
                                    " "
                                    a href=(format!("/app/envelopes/{eid}/documents/{}/download", percent_encode(&h.document.id))) { (lang.t("ダウンロード", "Download")) }
                                }
                            }
                        }
                    }
                }
            }))
        }
    };
    Ok(layout::html(page(
        session.frame(title, "/app/documents"),
        body,
    )))
}

/// `GET /app/documents.csv?…`: the same search as CSV (recorded in the audit trail).
pub(crate) async fn csv(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Query(q): Query<SearchInput>,
) -> UiResult<Response> {
    let csv = state
        .inkan
        .search_csv(&session.staff, &cleaned(q), &caller)
        .await
        .staff_page(session.lang)?;
    Ok(crate::render::streamed(
        crate::api::documents::CSV_NAME,
        "text/csv; charset=utf-8",
        csv.chunks,
    ))
}

/// `GET /app/documents.zip?…`: everything the search finds as one ZIP (ダウンロードの求め),
/// recorded in the audit trail.
pub(crate) async fn zip(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Query(q): Query<SearchInput>,
) -> UiResult<Response> {
    let export = state
        .inkan
        .tax_export(&session.staff, &cleaned(q), &caller)
        .await
        .staff_page(session.lang)?;
    Ok(crate::render::streamed(
        &export.file_name,
        "application/zip",
        export.chunks,
    ))
}

/// An amount as people write it (`1,234,567円`); what does not read as yen, as it is.
pub(crate) fn yen(amount: Option<&str>) -> String {
    match amount {
        None => String::new(),
        Some(text) => text
            .parse::<inkan_domain::Yen>()
            .map_or_else(|_| text.to_string(), |y| y.to_string()),
    }
}
