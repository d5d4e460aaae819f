//! An envelope's detail for staff: its state, 署名の進行状況, the documents (pages shown,
//! downloads), attachments, the actions its state allows (send, remind, cancel), and its audit
//! trail. Opening it is recorded as a view; every download as a download.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use inkan_domain::{StatusKind, UserId};
use inkan_service::japan::format_japanese;
use inkan_service::{AuditLine, Colleague, EnvelopeView, FolderView};
use maud::{html, Markup};
use serde::Deserialize;

use super::{action_label, status_label, StaffSession};
use crate::extract::{CallerInfo, Path, Query, Shared};
use crate::render::{self, percent_encode};
use crate::ui::error::{PageContext, UiResult};
use crate::ui::i18n::Lang;
use crate::ui::layout::{self, expired_form, page};
use crate::ui::signer::progress;

/// Who acted: a name, with the company and email of a signer, and what kind of actor it was.
fn actor_label(lang: Lang, a: &inkan_service::ActorView) -> Markup {
    let kind = match a.kind {
        "staff" => lang.t("職員", "staff"),
        "api_key" => lang.t("APIキー", "API key"),
        "signer" => lang.t("宛先", "recipient"),
        _ => lang.t("システム", "system"),
    };
    maud::html! {
        @if a.kind == "system" { (kind) } @else {
            (a.name)
            @if let Some(c) = &a.company { " (" (c) ")" }
            @if let Some(e) = &a.email { br; span.small { (e) } }
            " " span.hint { "[" (kind) "]" }
        }
    }
}

/// What the envelope page shows.
struct EnvelopeModel {
    envelope: EnvelopeView,
    /// 操作ログ.
    trail: Vec<AuditLine>,
    /// The folder's path, when it is in one.
    folder: Option<String>,
    /// Moving and sharing, offered to a role that sends.
    placing: Option<Placing>,
    /// The documents' 訂正削除の履歴 (each names its document).
    corrections: Vec<inkan_service::MetadataChangeView>,
}

/// The choices for moving and sharing an envelope.
struct Placing {
    folders: Vec<FolderView>,
    colleagues: Vec<Colleague>,
    shared: Vec<UserId>,
}

/// `GET /app/envelopes/{id}`.
pub(crate) async fn envelope_page(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
) -> UiResult<Response> {
    let lang = session.lang;
    let inkan = &state.inkan;
    let staff = &session.staff;
    let envelope = inkan
        .view_envelope(staff, &id, &caller)
        .await
        .staff_page(lang)?;
    let trail = inkan.audit_log(staff, &id).await.staff_page(lang)?;
    let folder = match envelope.folder {
        Some(f) => Some(inkan.folder_path(staff, f).await.staff_page(lang)?),
        None => None,
    };
    let placing = if staff.may_send() {
        Some(Placing {
            folders: inkan.choosable_folders(staff).await.staff_page(lang)?,
            colleagues: inkan.colleagues(staff).await.staff_page(lang)?,
            shared: inkan
                .envelope_shares(staff, &id)
                .await
                .staff_page(lang)?
                .users,
        })
    } else {
        None
    };
    let corrections = inkan
        .metadata_corrections(staff, &id)
        .await
        .staff_page(lang)?;
    let model = EnvelopeModel {
        envelope,
        trail,
        folder,
        placing,
        corrections,
    };
    let base = format!("/app/envelopes/{}", percent_encode(&model.envelope.id));
    let body = envelope_view(lang, &session, &model, &base);
    Ok(layout::html(page(
        session.frame(&model.envelope.title, &base),
        body,
    )))
}

fn envelope_view(lang: Lang, session: &StaffSession, model: &EnvelopeModel, base: &str) -> Markup {
    let e = &model.envelope;
    let ended = matches!(
        e.status,
        StatusKind::Declined | StatusKind::Cancelled | StatusKind::Expired
    );
    html! {
        section.envelope {
            div.heading {
                h1 #envelope-title { (e.title) }
                span #envelope-status class=(format!("badge {}", e.status.name())) { (status_label(lang, e.status)) }
            }
            (facts(lang, e, model.folder.as_deref(), base))
            @if !e.message.trim().is_empty() { div.message { @for l in e.message.lines() { p { (l) } } } }
            // Only a role that sends is offered what it may do (the service refuses the rest).
            @if session.staff.may_send() { (actions(lang, e, &session.csrf, base)) }
            @if let Some(placing) = &model.placing { (placing_forms(lang, e, placing, &session.csrf, base)) }
            (progress(lang, &e.recipients, ended))
            (signer_checks(lang, e, session.staff.may_send(), &session.csrf, base))
            (documents(lang, e, base, session, &model.corrections))
            h2 { (lang.t("操作ログ", "Audit trail")) }
            (audit_table(lang, &model.trail))
        }
    }
}

/// 管理番号, sender, deadline, 締結証明書ID, folder, and the certificate once sealed.
fn facts(lang: Lang, e: &EnvelopeView, folder: Option<&str>, base: &str) -> Markup {
    html! {
        dl.facts {
            dt { (lang.t("管理番号", "Number")) } dd { (e.number) }
            dt { (lang.t("送信者", "Sender")) } dd { (e.sender_name) " " (e.sender_email) }
            dt { (lang.t("署名期限", "Deadline")) } dd { (e.deadline_text) }
            dt { (lang.t("締結証明書ID", "Conclusion ID")) } dd.mono { (e.conclusion_id) }
            dt { (lang.t("フォルダ", "Folder")) }
            dd #envelope-folder { (folder.unwrap_or(lang.t("（フォルダなし）", "(no folder)"))) }
            @if let Some(reason) = &e.status_reason { dt { (lang.t("理由", "Reason")) } dd { (reason) } }
            @if e.sealed { dt { "PAdES" } dd { "B-LTA" } }
            @if e.has_certificate {
                dt { (lang.t("電子契約締結証明書", "Certificate of conclusion")) }
                dd { a.download #certificate href=(format!("{base}/certificate")) { "↓ " (lang.t("ダウンロード", "Download")) } }
            }
        }
    }
}

/// Send (a draft), remind (while signers are due), cancel (while it is open).
fn actions(lang: Lang, e: &EnvelopeView, csrf: &str, base: &str) -> Markup {
    let open = matches!(
        e.status,
        StatusKind::Draft
            | StatusKind::AwaitingApproval
            | StatusKind::Sent
            | StatusKind::PartiallySigned
    );
    html! {
        div.actions {
            @if e.status == StatusKind::Draft {
                form.inline method="post" action=(format!("{base}/send")) {
                    input type="hidden" name="csrf" value=(csrf);
                    button.primary #send type="submit" { (lang.t("送信する", "Send")) }
                }
            }
            @if matches!(e.status, StatusKind::Sent | StatusKind::PartiallySigned) {
                form.inline method="post" action=(format!("{base}/remind")) {
                    input type="hidden" name="csrf" value=(csrf);
                    button.secondary #remind type="submit" { (lang.t("リマインドを送る", "Send a reminder")) }
                }
            }
            @if open {
                details.cancel {
                    summary { (lang.t("取り消す", "Cancel")) }
                    form method="post" action=(format!("{base}/cancel")) {
                        input type="hidden" name="csrf" value=(csrf);
                        label for="cancel-reason" { (lang.t("取消理由", "Reason")) }
                        textarea #cancel-reason name="reason" required maxlength="1000" rows="3" {}
                        button.danger #cancel type="submit" { (lang.t("この封筒を取り消す", "Cancel this envelope")) }
                    }
                }
            }
        }
    }
}

/// Moving the envelope to another folder and sharing it with colleagues.
fn placing_forms(
    lang: Lang,
    e: &EnvelopeView,
    placing: &Placing,
    csrf: &str,
    base: &str,
) -> Markup {
    html! {
        details.placing #placing {
            summary { (lang.t("フォルダの移動と個別共有", "Folder and sharing")) }
            form.inline #move-form method="post" action=(format!("{base}/folder")) {
                input type="hidden" name="csrf" value=(csrf);
                label for="move-folder" { (lang.t("移動先のフォルダ", "Move to folder")) }
                select #move-folder name="folder" {
                    option value="" { (lang.t("（フォルダなし）", "(no folder)")) }
                    @for f in &placing.folders {
                        option value=(f.id.to_string()) selected[e.folder == Some(f.id)] { (f.path) }
                    }
                }
                button.secondary #move type="submit" { (lang.t("移動する", "Move")) }
            }
            form #share-form method="post" action=(format!("{base}/shares")) {
                input type="hidden" name="csrf" value=(csrf);
                fieldset {
                    legend { (lang.t("この封筒を個別に共有する職員", "Staff this envelope is shared with")) }
                    @for c in &placing.colleagues {
                        label.check {
                            input type="checkbox" name="users" value=(c.id.to_string()) checked[placing.shared.contains(&c.id)];
                            " " (c.name)
                        }
                    }
                }
                button.secondary #share type="submit" { (lang.t("共有を保存", "Save sharing")) }
            }
        }
    }
}

/// Each document (first page, 電帳法 items, download) and the attachments.
/// The correction form of a document's 電帳法 items (a role that sends), and its 訂正削除の履歴.
fn metadata_corrections(
    lang: Lang,
    d: &inkan_service::DocumentView,
    base: &str,
    session: &StaffSession,
    history: &[&inkan_service::MetadataChangeView],
) -> Markup {
    let m = &d.metadata;
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let summary = |m: &inkan_service::MetadataInput| {
        [
            m.date.clone(),
            m.amount.as_deref().map(|a| super::archive::yen(Some(a))),
            m.counterparty.clone(),
            m.kind.clone(),
        ]
        .into_iter()
        .map(|v| v.unwrap_or_else(|| "—".into()))
        .collect::<Vec<_>>()
        .join(" / ")
    };
    let doc = percent_encode(&d.id);
    html! {
        @if session.staff.may_send() {
            details.correct {
                summary { (lang.t("電帳法項目を訂正", "Correct the 電帳法 items")) }
                form.correct-form method="post" action=(format!("{base}/documents/{doc}/metadata")) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label for=(format!("c-date-{doc}")) { (lang.t("取引年月日", "Date")) }
                    input id=(format!("c-date-{doc}")) type="date" name="date" value=(value(&m.date));
                    label for=(format!("c-amount-{doc}")) { (lang.t("取引金額（円）", "Amount (yen)")) }
                    input id=(format!("c-amount-{doc}")) type="text" inputmode="numeric" name="amount" value=(value(&m.amount));
                    label for=(format!("c-cp-{doc}")) { (lang.t("取引先", "Counterparty")) }
                    input id=(format!("c-cp-{doc}")) type="text" name="counterparty" value=(value(&m.counterparty));
                    label for=(format!("c-kind-{doc}")) { (lang.t("種別", "Kind")) }
                    input id=(format!("c-kind-{doc}")) type="text" name="kind" value=(value(&m.kind));
                    label for=(format!("c-reason-{doc}")) { (lang.t("訂正の理由", "Reason")) }
                    input id=(format!("c-reason-{doc}")) type="text" name="reason" required maxlength="1000";
                    button.secondary type="submit" { (lang.t("訂正する", "Correct")) }
                }
            }
        }
        @if !history.is_empty() {
            div.corrections {
                p.small { strong { (lang.t("訂正削除の履歴", "Correction history")) } }
                ol.small {
                    @for h in history {
                        li {
                            (h.at_text) " — " (summary(&h.before)) " → " (summary(&h.after))
                            " (" (lang.t("理由", "reason")) ": " (h.reason) ")"
                        }
                    }
                }
            }
        }
    }
}

fn documents(
    lang: Lang,
    e: &EnvelopeView,
    base: &str,
    session: &StaffSession,
    corrections: &[inkan_service::MetadataChangeView],
) -> Markup {
    let history = |id: &str| -> Vec<&inkan_service::MetadataChangeView> {
        corrections.iter().filter(|c| c.document == id).collect()
    };
    html! {
        h2 { (lang.t("文書", "Documents")) }
        div.doccards {
            @for d in &e.documents {
                div.doccard {
                    img.thumb loading="lazy" alt=(d.name) src=(format!("{base}/documents/{}/pages/1?w=400", percent_encode(&d.id)));
                    div {
                        strong { (d.name) }
                        p.small { (d.pages) " " (lang.t("ページ", "pages")) " · rev. " (d.revision) }
                        @if let Some(date) = &d.metadata.date { p.small { (lang.t("取引年月日", "Date")) ": " (date) } }
                        @if d.metadata.amount.is_some() { p.small { (lang.t("取引金額", "Amount")) ": " (super::archive::yen(d.metadata.amount.as_deref())) } }
                        @if let Some(cp) = &d.metadata.counterparty { p.small { (lang.t("取引先", "Counterparty")) ": " (cp) } }
                        @if let Some(kind) = &d.metadata.kind { p.small { (lang.t("種別", "Kind")) ": " (kind) } }
                        a.download href=(format!("{base}/documents/{}/download", percent_encode(&d.id))) { "↓ " (lang.t("ダウンロード", "Download")) }
                        (metadata_corrections(lang, d, base, session, &history(&d.id)))
                    }
                }
            }
        }
        @if !e.attachments.is_empty() {
            h2 { (lang.t("添付ファイル", "Attachments")) }
            ul {
                @for a in &e.attachments {
                    li { a href=(format!("{base}/attachments/{}/download", percent_encode(&a.id))) { (a.name) } }
                }
            }
        }
    }
}

/// 操作ログ: each entry with its time, action, actor and address.
fn audit_table(lang: Lang, trail: &[AuditLine]) -> Markup {
    layout::wide_table(
        lang.t("操作ログ", "Audit trail"),
        html! {
            table.list.audit #audit {
                thead { tr {
                    th { "#" } th { (lang.t("日時", "Time")) } th { (lang.t("操作", "Action")) }
                    th { (lang.t("操作者", "Actor")) } th { (lang.t("IPアドレス", "IP address")) }
                } }
                tbody {
                    @for a in trail {
                        tr {
                            td { (a.seq) }
                            td { (format_japanese(a.at)) }
                            td {
                                (action_label(lang, &a.action))
                                @if a.count > 1 { " " span.hint { "×" (a.count) } }
                            }
                            td { (actor_label(lang, &a.actor)) }
                            td { (a.ip.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        },
    )
}

/// 本人確認: the signers whose link asks for a code, how, and whether wrong codes locked it —
/// with the fresh link that unlocks it for a sender.
fn signer_checks(lang: Lang, e: &EnvelopeView, sends: bool, csrf: &str, base: &str) -> Markup {
    let checked: Vec<_> = e.recipients.iter().filter(|r| r.check.is_some()).collect();
    let open = matches!(
        e.status,
        StatusKind::AwaitingApproval | StatusKind::Sent | StatusKind::PartiallySigned
    );
    html! {
        @if !checked.is_empty() {
            section.signer-checks {
                h2 { (lang.t("本人確認", "Identity checks")) }
                ul {
                    @for r in checked {
                        li {
                            (r.name) " — "
                            @match r.check {
                                Some(inkan_domain::CheckMethod::Sms) => {
                                    (lang.t("SMS認証", "SMS code")) " (" (r.check_phone.as_deref().unwrap_or_default()) ")"
                                }
                                _ => { (lang.t("アクセスコード", "Access code")) }
                            }
                            @if r.link_locked {
                                " " strong.locked { (lang.t("ロック中 (誤ったコードが5回入力されました)", "locked (five wrong codes)")) }
                                @if sends && open && r.state == inkan_domain::RecipientState::Waiting {
                                    form.inline method="post" action=(format!("{base}/recipients/{}/new-link", percent_encode(&r.id))) {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button.secondary.new-link type="submit" { (lang.t("新しい署名用リンクを送る", "Send a fresh signing link")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Action {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn act(
    state: &Shared,
    session: &StaffSession,
    caller: &inkan_service::Caller,
    id: &str,
    what: &str,
    form: &Action,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    let staff = &session.staff;
    let result = match what {
        "send" => state.inkan.send(staff, id, caller).await,
        "remind" => state.inkan.remind(staff, id, caller).await,
        _ => state.inkan.cancel(staff, id, &form.reason, caller).await,
    };
    result.staff_page(lang)?;
    Ok(Redirect::to(&format!("/app/envelopes/{}", percent_encode(id))).into_response())
}

/// `POST /app/envelopes/{id}/recipients/{recipient}/new-link`: a fresh signing link (the old
/// one stops working; a locked link's wrong codes no longer count).
pub(crate) async fn new_link(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path((id, recipient)): Path<(String, String)>,
    Form(form): Form<Action>,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    state
        .inkan
        .send_fresh_link(&session.staff, &id, &recipient, &caller)
        .await
        .staff_page(lang)?;
    Ok(Redirect::to(&format!("/app/envelopes/{}", percent_encode(&id))).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct CorrectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    counterparty: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    reason: String,
}

/// `POST /app/envelopes/{id}/documents/{doc}/metadata`: 訂正 of a document's 電帳法 items.
pub(crate) async fn correct_metadata(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path((id, doc)): Path<(String, String)>,
    Form(form): Form<CorrectionForm>,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    let item = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let correction = inkan_service::MetadataCorrection {
        metadata: inkan_service::MetadataInput {
            date: item(&form.date),
            amount: item(&form.amount),
            counterparty: item(&form.counterparty),
            kind: item(&form.kind),
        },
        reason: form.reason,
    };
    state
        .inkan
        .correct_metadata(&session.staff, &id, &doc, &correction, &caller)
        .await
        .staff_page(lang)?;
    Ok(Redirect::to(&format!("/app/envelopes/{}", percent_encode(&id))).into_response())
}

/// `POST /app/envelopes/{id}/send`.
pub(crate) async fn send(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Form(form): Form<Action>,
) -> UiResult<Response> {
    act(&state, &session, &caller, &id, "send", &form).await
}

/// `POST /app/envelopes/{id}/remind`.
pub(crate) async fn remind(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Form(form): Form<Action>,
) -> UiResult<Response> {
    act(&state, &session, &caller, &id, "remind", &form).await
}

/// `POST /app/envelopes/{id}/cancel`.
pub(crate) async fn cancel(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Form(form): Form<Action>,
) -> UiResult<Response> {
    act(&state, &session, &caller, &id, "cancel", &form).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    folder: String,
}

/// `POST /app/envelopes/{id}/folder`: into a folder (an empty choice: the top level).
pub(crate) async fn move_to_folder(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Form(form): Form<MoveForm>,
) -> UiResult<Response> {
    let lang = session.lang;
    if !session.csrf_ok(&state, Some(&form.csrf)) {
        return Ok(expired_form(lang));
    }
    let folder = match form.folder.trim() {
        "" => None,
        chosen => Some(
            chosen
                .parse()
                .map_err(|_| inkan_service::ServiceError::NotFound("the folder"))
                .staff_page(lang)?,
        ),
    };
    state
        .inkan
        .move_envelope(&session.staff, &caller, &id, folder)
        .await
        .staff_page(lang)?;
    Ok(Redirect::to(&format!("/app/envelopes/{}", percent_encode(&id))).into_response())
}

/// `POST /app/envelopes/{id}/shares`: exactly the checked users (a form of repeated `users`).
pub(crate) async fn share(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> UiResult<Response> {
    let lang = session.lang;
    let form = super::MultiForm::parse(&body);
    if !session.csrf_ok(&state, form.first("csrf")) {
        return Ok(expired_form(lang));
    }
    let users = form.ids("users").staff_page(lang)?;
    state
        .inkan
        .share_envelope(&session.staff, &caller, &id, &users)
        .await
        .staff_page(lang)?;
    Ok(Redirect::to(&format!("/app/envelopes/{}", percent_encode(&id))).into_response())
}

/// `GET /app/envelopes/{id}/documents/{doc}/download`.
pub(crate) async fn download(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path((id, doc)): Path<(String, String)>,
) -> UiResult<Response> {
    let (name, bytes) = state
        .inkan
        .download_document(&session.staff, &id, &doc, &caller)
        .await
        .staff_page(session.lang)?;
    Ok(render::file(&name, bytes))
}

/// `GET /app/envelopes/{id}/attachments/{att}/download`.
pub(crate) async fn attachment(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path((id, att)): Path<(String, String)>,
) -> UiResult<Response> {
    let (name, bytes) = state
        .inkan
        .download_attachment(&session.staff, &id, &att, &caller)
        .await
        .staff_page(session.lang)?;
    Ok(render::file(&name, bytes))
}

/// `GET /app/envelopes/{id}/certificate`: the signed 電子契約締結証明書.
pub(crate) async fn conclusion_certificate(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
) -> UiResult<Response> {
    let (name, bytes) = state
        .inkan
        .download_certificate(&session.staff, &id, &caller)
        .await
        .staff_page(session.lang)?;
    Ok(render::file(&name, bytes))
}

/// `GET /app/envelopes/{id}/documents/{doc}/pages/{n}?w=`.
pub(crate) async fn page_image(
    State(state): State<Shared>,
    session: StaffSession,
    Path((id, doc, page)): Path<(String, String, String)>,
    Query(q): Query<crate::ui::page_images::Width>,
) -> UiResult<Response> {
    let lang = session.lang;
    let source = state
        .inkan
        .staff_display(&session.staff, &id, &doc)
        .await
        .staff_page(lang)?;
    crate::ui::page_images::rendered(&state, source, &page, q.w)
        .await
        .staff_page(lang)
}
