//! The dashboard: the organization's envelopes by state, newest first.

use axum::extract::State;
use axum::response::Response;
use inkan_service::japan::format_japanese;
use maud::html;
use serde::Deserialize;

use super::{status_label, StaffSession, STATUSES};
use crate::extract::{Query, Shared};
use crate::render::percent_encode;
use crate::ui::error::{PageContext, UiResult};
use crate::ui::layout::{self, page};

#[derive(Debug, Deserialize)]
pub(crate) struct Filter {
    status: Option<String>,
}

/// How many envelopes the dashboard lists and counts.
const LIMIT: u32 = 1000;

/// `GET /app?status=`.
pub(crate) async fn page_handler(
    State(state): State<Shared>,
    session: StaffSession,
    Query(filter): Query<Filter>,
) -> UiResult<Response> {
    let lang = session.lang;
    let all = state
        .inkan
        .envelopes(&session.staff, None, LIMIT, 0)
        .await
        .staff_page(lang)?;
    let selected = filter.status.filter(|s| STATUSES.contains(&s.as_str()));
    let shown: Vec<_> = all
        .iter()
        .filter(|e| selected.as_deref().is_none_or(|s| e.status == s))
        .collect();
    let title = lang.t("ダッシュボード", "Dashboard");
    let body = html! {
        section.dashboard {
            div.heading {
                h1 { (title) }
                a.button.primary #new-envelope href="/app/envelopes/new" { (lang.t("新しい封筒", "New envelope")) }
            }
            nav.states {
                a href="/app" class=(if selected.is_none() { "state current" } else { "state" }) {
                    (lang.t("すべて", "All")) " " span.count { (all.len()) }
                }
                @for s in STATUSES {
                    a href=(format!("/app?status={s}")) class=(if selected.as_deref() == Some(s) { "state current" } else { "state" }) data-status=(s) {
                        (status_label(lang, s)) " " span.count { (all.iter().filter(|e| e.status == s).count()) }
                    }
                }
            }
            @if shown.is_empty() {
                p.empty { (lang.t("封筒はありません。", "No envelopes.")) }
            } @else {
                table.list #envelopes {
                    thead { tr {
                        th { (lang.t("管理番号", "Number")) }
                        th { (lang.t("封筒名", "Title")) }
                        th { (lang.t("状態", "Status")) }
                        th { (lang.t("署名期限", "Deadline")) }
                        th { (lang.t("作成日時", "Created")) }
                    } }
                    tbody {
                        @for e in shown {
                            tr {
                                td { (e.number) }
                                td { a href=(format!("/app/envelopes/{}", percent_encode(&e.id))) { (e.title) } }
                                td { span class=(format!("badge {}", e.status)) { (status_label(lang, &e.status)) } }
                                td { (e.deadline_text) }
                                td { (format_japanese(e.created_at)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::html(page(session.frame(title, "/app"), body)))
}
