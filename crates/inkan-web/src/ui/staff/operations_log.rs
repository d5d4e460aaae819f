//! 操作ログ (administrators): the organization's audit trail, newest first, filtered by user,
//! action and days, a page at a time.

use axum::extract::State;
use axum::response::Response;
use inkan_domain::Jst;
use inkan_service::{LogFilter, LogLine, LOG_PAGE};
use maud::html;

use super::{action_label, StaffSession};
use crate::extract::{Query, Shared};
use crate::render::percent_encode;
use crate::ui::error::{PageContext, UiResult};
use crate::ui::layout::{self, page};

/// Where the page lives.
pub(crate) const PATH: &str = "/app/settings/audit";

/// `GET /app/settings/audit?user=&action=&from=&to=&before=`.
pub(crate) async fn log_page(
    State(state): State<Shared>,
    session: StaffSession,
    Query(filter): Query<LogFilter>,
) -> UiResult<Response> {
    let lang = session.lang;
    let lines = state
        .inkan
        .organization_log(&session.staff, &filter)
        .await
        .staff_page(lang)?;
    let actions = state
        .inkan
        .log_actions(&session.staff)
        .await
        .staff_page(lang)?;
    let users = state.inkan.users(&session.staff).await.staff_page(lang)?;
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let next = next_page(&filter, &lines);
    let title = lang.t("操作ログ", "Activity log");
    let body = html! {
        section.operations-log {
            h1 { (title) }
            form.search #log-filter method="get" action=(PATH) role="search" {
                label for="user" { (lang.t("職員", "Staff member")) }
                select #user name="user" {
                    option value="" { (lang.t("すべて", "Everyone")) }
                    @for u in &users {
                        option value=(u.id) selected[filter.user.as_deref() == Some(u.id.as_str())] {
                            (u.name) " (" (u.email) ")"
                        }
                    }
                }
                label for="action" { (lang.t("操作", "Action")) }
                select #action name="action" {
                    option value="" { (lang.t("すべて", "All")) }
                    @for a in &actions {
                        option value=(a) selected[filter.action.as_deref() == Some(a.as_str())] { (action_label(lang, a)) }
                    }
                }
                label for="from" { (lang.t("開始日", "From")) }
                input #from name="from" type="date" value=(value(&filter.from));
                label for="to" { (lang.t("終了日", "To")) }
                input #to name="to" type="date" value=(value(&filter.to));
                button.secondary #filter type="submit" { (lang.t("絞り込む", "Filter")) }
            }
            @if lines.is_empty() {
                p.empty #log-empty { (lang.t("該当する操作はありません。", "Nothing matches.")) }
            } @else {
                (layout::wide_table(lang.t("操作の一覧", "Actions"), html! {
                table.list #log {
                    thead { tr {
                        th { (lang.t("日時", "When")) }
                        th { (lang.t("操作者", "Who")) }
                        th { (lang.t("操作", "Action")) }
                        th { (lang.t("封筒", "Envelope")) }
                        th { (lang.t("IP アドレス", "IP address")) }
                    } }
                    tbody {
                        @for line in &lines {
                            tr data-action=(line.action) {
                                td { (Jst::from_unix(line.at).map(|t| t.slash()).unwrap_or_default()) }
                                td { (line.actor.name) @if let Some(email) = &line.actor.email {
                                    br; small { (email) } } }
                                td { (action_label(lang, &line.action)) }
                                td { @if let Some(id) = &line.envelope_id {
                                    a href=(format!("/app/envelopes/{}", percent_encode(id))) { (lang.t("開く", "Open")) } } }
                                td { (line.ip.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
                }))
                @if let Some(next) = next {
                    p { a #log-next href=(next) { (lang.t("さらに古い操作", "Older")) } }
                }
            }
        }
    };
    Ok(layout::html(page(session.frame(title, PATH), body)))
}

/// The link to the next page, when this one is full.
fn next_page(filter: &LogFilter, lines: &[LogLine]) -> Option<String> {
    let last = lines.last().filter(|_| lines.len() == LOG_PAGE as usize)?;
    let mut query = vec![format!("before={}", last.seq)];
    for (name, value) in [
        ("user", &filter.user),
        ("action", &filter.action),
        ("from", &filter.from),
        ("to", &filter.to),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            query.push(format!("{name}={}", percent_encode(v)));
        }
    }
    Some(format!("{PATH}?{}", query.join("&")))
}
