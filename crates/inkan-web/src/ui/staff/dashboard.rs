//! The dashboard: the organization's envelopes by state, newest first.

use axum::extract::State;
use axum::response::Response;
use inkan_service::japan::format_japanese;
use inkan_service::{EnvelopeSummary, JobLine};
use maud::{html, Markup};
use serde::Deserialize;

use super::{status_label, StaffSession};
use crate::extract::{Query, Shared};
use crate::render::percent_encode;
use crate::ui::error::{PageContext, UiResult};
use crate::ui::i18n::Lang;
use crate::ui::layout::{self, page};
use inkan_domain::StatusKind;

#[derive(Debug, Deserialize)]
pub(crate) struct Filter {
    status: Option<String>,
}

/// How many envelopes the dashboard lists and counts.
const LIMIT: u32 = 1000;

/// What a job does, in the reader's words.
fn job_label(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "seal" => lang.t("署名の確定 (封印)", "Sealing the signed documents"),
        "email" => lang.t("メールの送信", "Sending an email"),
        "webhook" => lang.t("Webhook の通知", "Webhook delivery"),
        "event" => lang.t("通知の準備", "Preparing notifications"),
        _ => lang.t("その他の作業", "Other work"),
    }
}

/// `GET /app?status=`.
pub(crate) async fn dashboard_page(
    State(state): State<Shared>,
    session: StaffSession,
    Query(filter): Query<Filter>,
) -> UiResult<Response> {
    let lang = session.lang;
    // A system administrator reads no document: their home is the users page.
    if session.staff.rights.reads == inkan_service::Reach::Nothing {
        return Ok(axum::response::IntoResponse::into_response(
            axum::response::Redirect::to(super::users::PATH),
        ));
    }
    let all = state
        .inkan
        .envelopes(&session.staff, None, LIMIT, 0)
        .await
        .staff_page(lang)?;
    let failed = state
        .inkan
        .failed_jobs(Some(session.staff.organization))
        .await
        .staff_page(lang)?;
    let model = DashboardModel {
        // An unknown status (an old bookmark) shows every envelope.
        selected: filter.status.as_deref().and_then(StatusKind::parse),
        envelopes: all,
        failed,
    };
    let title = lang.t("ダッシュボード", "Dashboard");
    let body = dashboard_view(lang, &session, &model, title);
    Ok(layout::html(page(session.frame(title, "/app"), body)))
}

/// What the dashboard shows.
struct DashboardModel {
    /// Every envelope the user reads (up to [`LIMIT`]), newest first.
    envelopes: Vec<EnvelopeSummary>,
    /// The status chosen, if any.
    selected: Option<StatusKind>,
    /// Background work that ran out of attempts.
    failed: Vec<JobLine>,
}

fn dashboard_view(
    lang: Lang,
    session: &StaffSession,
    model: &DashboardModel,
    title: &str,
) -> Markup {
    html! {
        section.dashboard {
            div.heading {
                h1 { (title) }
                @if session.staff.may_send() {
                    a.button.primary #new-envelope href="/app/envelopes/new" { (lang.t("新しい封筒", "New envelope")) }
                }
            }
            @if !model.failed.is_empty() { (failed_jobs(lang, &model.failed)) }
            (status_tabs(lang, model))
            (envelope_list(lang, model))
        }
    }
}

/// Work that ran out of attempts, and how an administrator runs it again.
fn failed_jobs(lang: Lang, failed: &[JobLine]) -> Markup {
    html! {
        section.failed-jobs #failed-jobs role="alert" {
            h2 { (lang.t("処理に失敗した作業があります", "Some background work failed")) }
            p { (lang.t(
                "次の作業は再試行の上限に達しました。原因を取り除いた後、管理者が再実行してください (inkan jobs retry ID または API の POST /api/v1/jobs/{id}/retry)。",
                "These tasks ran out of attempts. Once the cause is fixed, an administrator can run them again (inkan jobs retry ID, or POST /api/v1/jobs/{id}/retry)."
            )) }
            (layout::wide_table(lang.t("処理に失敗した作業", "Work that failed"), html! {
                table.list {
                    thead { tr {
                        th { (lang.t("作業", "Task")) }
                        th { (lang.t("試行回数", "Attempts")) }
                        th { (lang.t("理由", "Reason")) }
                        th { (lang.t("日時", "When")) }
                        th { "ID" }
                    } }
                    tbody {
                        @for j in failed.iter().take(20) {
                            tr {
                                td { (job_label(lang, &j.kind)) }
                                td { (j.attempts) }
                                td { (j.last_error.as_deref().unwrap_or("-")) }
                                td { (format_japanese(j.updated_at)) }
                                td { code { (j.id) } }
                            }
                        }
                    }
                }
            }))
        }
    }
}

/// すべて and each status, with how many envelopes it has.
fn status_tabs(lang: Lang, model: &DashboardModel) -> Markup {
    let (all, selected) = (&model.envelopes, model.selected);
    html! {
        nav.states {
            a href="/app" class=(if selected.is_none() { "state current" } else { "state" }) {
                (lang.t("すべて", "All")) " " span.count { (all.len()) }
            }
            @for s in StatusKind::ALL {
                a href=(format!("/app?status={}", s.name())) class=(if selected == Some(s) { "state current" } else { "state" }) data-status=(s.name()) {
                    (status_label(lang, s)) " " span.count { (all.iter().filter(|e| e.status == s).count()) }
                }
            }
        }
    }
}

/// The envelopes of the chosen status.
fn envelope_list(lang: Lang, model: &DashboardModel) -> Markup {
    let shown: Vec<&EnvelopeSummary> = model
        .envelopes
        .iter()
        .filter(|e| model.selected.is_none_or(|s| e.status == s))
        .collect();
    html! {
        @if shown.is_empty() {
            p.empty { (lang.t("封筒はありません。", "No envelopes.")) }
        } @else {
            (layout::wide_table(lang.t("封筒の一覧", "Envelopes"), html! {
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
                                td { span class=(format!("badge {}", e.status.name())) { (status_label(lang, e.status)) } }
                                td { (e.deadline_text) }
                                td { (format_japanese(e.created_at)) }
                            }
                        }
                    }
                }
            }))
        }
    }
}
