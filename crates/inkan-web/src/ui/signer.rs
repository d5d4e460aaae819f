//! The signer's pages, as the seeds walk through them: the request summary with 「署名をはじめる」,
//! the usage guide, the documents as tabs with the signer's fields over their pages, the
//! checklist, zoom, download for internal review, attachments, 「その他」 → 辞退, and 「完了する」 →
//! confirmation → 「署名手続きを完了する」 → the done page. Approvers get 「承認する」 instead.
//!
//! The link token in the path is the credential; every form also carries a CSRF token bound to
//! it, and posts from other sites are refused.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use inkan_domain::{CalendarDate, FieldKind, RecipientState, Role, StatusKind};
use inkan_service::japan::format_japanese;
use inkan_service::{DocumentView, FieldInput, FieldView, RecipientView, ServiceError, SignerView};
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::{CallerInfo, Json, Path, Query, Shared};
use crate::render::percent_encode;
use crate::ui::error::{PageContext, UiResult};
use crate::ui::guard::csrf_refusal;
use crate::ui::i18n::{Lang, Reader};
use crate::ui::layout::{self, page, Frame};
use crate::ui::page_images::{document_outline, DocumentOutline};
use crate::ui::signer_check::check_page;

pub(crate) fn csrf_scope(token: &str) -> String {
    format!("link:{token}")
}

pub(crate) fn base(token: &str) -> String {
    format!("/s/{}", percent_encode(token))
}

/// 署名の進行状況: every recipient in routing order with what they have done. Once the envelope
/// ended without a conclusion (declined, cancelled, expired), those still waiting no longer
/// are: they show as ended, not 未完了.
pub(crate) fn progress(lang: Lang, recipients: &[RecipientView], ended: bool) -> Markup {
    let mut sorted: Vec<&RecipientView> = recipients.iter().collect();
    sorted.sort_by_key(|r| r.order);
    html! {
        section.progress {
            h2 { (lang.t("署名の進行状況", "Signing progress")) }
            ol {
                @for r in sorted {
                    li class=(format!("state-{}", r.state.name())) {
                        span.name { (r.name) }
                        " "
                        span.role { "(" (role_label(lang, r.role)) ")" }
                        " — "
                        span.state {
                            @if ended && r.state == RecipientState::Waiting && r.role != Role::Cc {
                                (lang.t("手続き終了", "ended"))
                            } @else {
                                (state_label(lang, r.role, r.state))
                            }
                            @if let Some(at) = r.done_at { " " (format_japanese(at)) }
                        }
                    }
                }
            }
        }
    }
}

fn role_label(lang: Lang, role: Role) -> &'static str {
    match role {
        Role::Approver => lang.t("承認者", "approver"),
        Role::Cc => lang.t("受領者", "copy"),
        Role::Signer => lang.t("署名者", "signer"),
    }
}

fn state_label(lang: Lang, role: Role, state: RecipientState) -> &'static str {
    match (role, state) {
        (Role::Approver, RecipientState::Done) => lang.t("承認済み", "approved"),
        (_, RecipientState::Done) => lang.t("署名済み", "signed"),
        (_, RecipientState::Declined) => lang.t("辞退", "declined"),
        (Role::Cc, _) => lang.t("完了後に受領", "receives the result"),
        _ => lang.t("未完了", "waiting"),
    }
}

/// A document's name without `.pdf`, as the tabs show it.
fn short_name(name: &str) -> &str {
    name.strip_suffix(".pdf")
        .or_else(|| name.strip_suffix(".PDF"))
        .unwrap_or(name)
}

/// `GET /s/{token}`: 署名依頼が届いています.
pub(crate) async fn summary(
    State(state): State<Shared>,
    Reader(lang): Reader,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
) -> UiResult<Response> {
    let view = match state.inkan.open_link(&token, &caller).await {
        Err(ServiceError::CheckRequired(prompt)) => {
            return Ok(check_page(&state, lang, &token, &prompt, None))
        }
        other => other.page(lang)?,
    };
    let path = base(&token);
    let e = &view.envelope;
    let me = &view.recipient;
    let heading = match (me.role, me.state) {
        (Role::Approver, RecipientState::Done) => lang.t("承認済みです", "You have approved"),
        (_, RecipientState::Done) => lang.t("署名済みです", "You have signed"),
        (Role::Approver, _) => lang.t("承認依頼が届いています", "Approval requested"),
        (Role::Cc, _) => lang.t("文書が共有されています", "Documents shared with you"),
        _ => lang.t("署名依頼が届いています", "Signature requested"),
    };
    let csrf = state.inkan.csrf_token(&csrf_scope(&token));
    let body = html! {
        section.summary {
            h1 { (heading) }
            h2.title { (e.title) }
            dl.facts {
                dt { (lang.t("送信者", "Sender")) } dd.sender { (e.sender_name) }
                @if !e.number.is_empty() { dt { (lang.t("管理番号", "Number")) } dd { (e.number) } }
                dt { (lang.t("文書", "Documents")) }
                dd { ul.doclist { @for d in &view.documents { li { (d.name) } } } }
                dt { (lang.t("署名期限", "Deadline")) } dd.deadline { (e.deadline_text) }
            }
            @if !e.message.trim().is_empty() {
                div.message { @for line in e.message.lines() { p { (line) } } }
            }
            @if me.state == RecipientState::Done {
                p.notice { (lang.t(
                    "全ての関係者の手続きが完了すると「電子署名完了のお知らせ」メールが届きます。",
                    "When every party has finished you will receive the completion email.")) }
                (progress(lang, &view.progress, false))
            } @else if me.role == Role::Approver {
                @if view.can_act {
                    (document_downloads(lang, &token, &view.documents))
                    form.inline method="post" action=(format!("{path}/approve")) {
                        input type="hidden" name="csrf" value=(csrf);
                        button.primary #approve type="submit" { (lang.t("承認する", "Approve")) }
                    }
                    (decline_dialog(lang, &token, &csrf))
                } @else {
                    p.notice { (lang.t("承認の順番をお待ちください。", "Please wait for your turn to approve.")) }
                }
            } @else if me.role == Role::Cc {
                (document_downloads(lang, &token, &view.documents))
            } @else if view.can_act {
                a.button.primary #start href=(format!("{path}/sign")) { (lang.t("署名をはじめる", "Start signing")) }
            } @else {
                p.notice { (lang.t(
                    "前の署名者の手続きが終わると、署名できるようになります。メールでお知らせします。",
                    "You can sign once the previous signers have finished; we will email you.")) }
                (progress(lang, &view.progress, false))
            }
        }
    };
    let mut frame = Frame::new(lang, &e.title, &path);
    frame.scripts = &["signer.js"];
    Ok(layout::html(page(frame, body)))
}

fn document_downloads(lang: Lang, token: &str, documents: &[DocumentView]) -> Markup {
    html! {
        ul.downloads {
            @for d in documents {
                li {
                    (d.name) " "
                    a.download href=(format!("/api/v1/sign/{}/documents/{}", percent_encode(token), percent_encode(&d.id))) download {
                        (lang.t("ダウンロード", "Download"))
                    }
                }
            }
        }
    }
}

fn decline_dialog(lang: Lang, token: &str, csrf: &str) -> Markup {
    html! {
        details.more {
            summary #more { (lang.t("その他", "More")) }
            button.link #decline-open type="button" { (lang.t("辞退する", "Decline")) }
        }
        dialog #decline-dialog {
            form method="post" action=(format!("{}/decline", base(token))) {
                h2 { (lang.t("署名を辞退します", "Decline to sign")) }
                p { (lang.t("辞退すると、この封筒の手続きは終了し、送信者に通知されます。",
                    "Declining ends this envelope; the sender is told.")) }
                label for="decline-reason" { (lang.t("辞退理由", "Reason")) }
                textarea #decline-reason name="reason" required maxlength="1000" rows="4" {}
                input type="hidden" name="csrf" value=(csrf);
                div.actions {
                    button.secondary type="button" data-close="decline-dialog" { (lang.t("キャンセル", "Cancel")) }
                    button.danger #decline-submit type="submit" { (lang.t("辞退する", "Decline")) }
                }
            }
        }
    }
}

/// An invisible signature (a signature field not placed on a page) is no field to fill: the
/// seeds go from 署名日 straight to 完了する, which signs every document the signer signs.
fn is_invisible_signature(f: &FieldView) -> bool {
    f.kind == FieldKind::Signature && f.placement.is_none()
}

/// The fields the signer acts on: everything but invisible signatures.
fn fields_to_fill(d: &DocumentView) -> impl Iterator<Item = &FieldView> {
    d.fields.iter().filter(|f| !is_invisible_signature(f))
}

/// The label of each of the signer's fields in the checklist: 署名 1, テキスト入力 1, ….
fn field_labels(lang: Lang, documents: &[DocumentView]) -> Vec<(String, String)> {
    let mut counts = std::collections::HashMap::<FieldKind, u32>::new();
    let mut out = Vec::new();
    for d in documents {
        for f in fields_to_fill(d) {
            let n = counts.entry(f.kind).or_insert(0);
            *n += 1;
            let kind = match f.kind {
                FieldKind::Signature => lang.t("署名", "Signature"),
                FieldKind::Text => lang.t("テキスト入力", "Text"),
                FieldKind::Date => lang.t("日付", "Date"),
                FieldKind::Checkbox => lang.t("チェックボックス", "Checkbox"),
                FieldKind::Attachment => lang.t("添付ファイル", "Attachment"),
            };
            out.push((f.id.clone(), format!("{kind} {n}")));
        }
    }
    out
}

/// `GET /s/{token}/sign`: the documents, the fields, the checklist.
pub(crate) async fn signing(
    State(state): State<Shared>,
    Reader(lang): Reader,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
) -> UiResult<Response> {
    let path = base(&token);
    let view = match state.inkan.open_link(&token, &caller).await {
        // The first page asks for the code.
        Err(ServiceError::CheckRequired(_)) => return Ok(Redirect::to(&path).into_response()),
        other => other.page(lang)?,
    };
    if !view.can_act || view.recipient.role != Role::Signer {
        return Ok(Redirect::to(&path).into_response());
    }
    let sources = state
        .inkan
        .signer_displays(&token, &caller)
        .await
        .page(lang)?;
    let mut outlines = Vec::new();
    for d in &view.documents {
        let source = sources
            .iter()
            .find(|s| s.id == d.id)
            .ok_or(ServiceError::NotFound("the document"))
            .page(lang)?;
        outlines.push(document_outline(&state, source).await.page(lang)?);
    }
    let model = SigningModel {
        csrf: state.inkan.csrf_token(&csrf_scope(&token)),
        labels: field_labels(lang, &view.documents),
        token,
        view,
        outlines,
    };
    let body = signing_view(lang, &model);
    let mut frame = Frame::new(lang, &model.view.envelope.title, &path);
    frame.scripts = &["signer.js"];
    Ok(layout::html(page(frame, body)))
}

/// What the signing page shows: the signer's documents with their pages and fields.
struct SigningModel {
    token: String,
    view: SignerView,
    /// Each document's pages, in the order of `view.documents`.
    outlines: Vec<Arc<DocumentOutline>>,
    csrf: String,
    /// Each field's label in the checklist, by field ID.
    labels: Vec<(String, String)>,
}

impl SigningModel {
    fn label_of(&self, id: &str) -> String {
        self.labels
            .iter()
            .find(|(f, _)| f == id)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    }
}

fn signing_view(lang: Lang, model: &SigningModel) -> Markup {
    let view = &model.view;
    let token = &model.token;
    let csrf = &model.csrf;
    let path = base(token);
    let label_of = |id: &str| model.label_of(id);
    html! {
        (guide(lang))
        h1.envelope-title { (view.envelope.title) }
        div.signing data-token=(token) data-csrf=(csrf) {
            (signing_toolbar(lang, model))
            form #complete-form method="post" action=(format!("{path}/complete")) {
                input type="hidden" name="csrf" value=(csrf);
                div.workspace {
                    section.viewer #viewer {
                        @for (i, d) in view.documents.iter().enumerate() {
                            (document(lang, token, i, d, &model.outlines[i], &label_of))
                        }
                    }
                    (checklist(lang, model))
                }
                (confirm_dialog(lang))
            }
        }
    }
}

/// The documents' tabs, the zoom and 辞退.
fn signing_toolbar(lang: Lang, model: &SigningModel) -> Markup {
    let view = &model.view;
    let count = view.documents.len();
    let (token, csrf) = (&model.token, &model.csrf);
    html! {
        div.toolbar {
            nav.tabs role="tablist" {
                @for (i, d) in view.documents.iter().enumerate() {
                    button.tab type="button" role="tab" data-doc=(i) aria-selected=(if i == 0 { "true" } else { "false" }) {
                        span.num { (i + 1) } " " (short_name(&d.name))
                    }
                }
            }
            span #docpos data-count=(count) { (lang.t("文書", "Document")) " 1 (1/" (count) ")" }
            span.zoom {
                button.icon #zoom-out type="button" title=(lang.t("縮小", "Zoom out")) { "−" }
                span #zoom-level { "100%" }
                button.icon #zoom-in type="button" title=(lang.t("拡大", "Zoom in")) { "+" }
            }
            (decline_dialog(lang, token, csrf))
        }
    }
}

/// チェックリスト: the fields to fill, grouped by document, and 完了する.
fn checklist(lang: Lang, model: &SigningModel) -> Markup {
    let view = &model.view;
    let label_of = |id: &str| model.label_of(id);
    html! {
        aside.checklist {
            h3 { "☰ " (lang.t("チェックリスト", "Checklist")) " " span #checklist-count { (model.labels.len()) } }
            p.hint { (lang.t("リストを押すと該当箇所へ移動します。", "Click an item to jump to it.")) }
            // Grouped by document, in the order of the tabs.
            ul #checklist {
                @for (i, d) in view.documents.iter().enumerate() {
                    @let fields: Vec<&FieldView> = fields_to_fill(d).collect();
                    @if !fields.is_empty() {
                        li.docgroup {
                            span.docname { (i + 1) " " (short_name(&d.name)) }
                            ul {
                                @for f in fields {
                                    li {
                                        button.check-item type="button" data-doc=(i) data-target=(format!("field-{}", f.id)) {
                                            span.mark {}
                                            (label_of(&f.id))
                                            @if !f.label.is_empty() { span.flabel { " " (f.label) } }
                                            @if f.required { span.req { " *" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.required { (lang.t("必須項目", "Required")) ": " span #required-done { "0" } "/" span #required-total { "0" } }
            @if view.documents.iter().flat_map(|d| &d.fields).any(is_invisible_signature) {
                p.hint #invisible-note { (lang.t(
                    "印影のない電子署名は、「完了する」を押して手続きを完了すると各文書に付与されます。",
                    "Your electronic signature (no seal image) is added to each document when you press 「完了する」 and complete."
                )) }
            }
            button.primary #finish type="button" disabled { (lang.t("完了する", "Finish")) }
        }
    }
}

/// The last question before the signatures are made.
fn confirm_dialog(lang: Lang) -> Markup {
    html! {
        dialog #confirm-dialog {
            h2 { (lang.t("署名手続きを完了しますか？", "Complete the signing?")) }
            p { (lang.t("完了すると、入力内容と署名は変更できません。",
                "Once completed, your entries and signature cannot be changed.")) }
            div.actions {
                button.secondary type="button" data-close="confirm-dialog" { (lang.t("戻る", "Back")) }
                button.primary #confirm-complete type="submit" { (lang.t("署名手続きを完了する", "Complete signing")) }
            }
        }
    }
}

/// 使い方ガイド: shown on arrival unless the reader ticked 「次回以降表示しない」.
fn guide(lang: Lang) -> Markup {
    html! {
        dialog #guide {
            h2 { (lang.t("使い方ガイド", "How to sign")) }
            ol {
                li { (lang.t("文書の内容を確認します。複数の文書は上部のタブで切り替えます。",
                    "Read the documents; switch between them with the tabs at the top.")) }
                li { (lang.t("チェックリストの項目を押すと、入力する箇所へ移動します。署名日などを入力してください。",
                    "Click a checklist item to jump to its field, and fill it (such as the signing date).")) }
                li { (lang.t("「完了する」を押し、確認画面で「署名手続きを完了する」を押すと署名が完了します。",
                    "Press 「完了する」, then 「署名手続きを完了する」 to sign.")) }
                li { (lang.t("印影の不要な不可視署名です。署名前の文書はダウンロードして社内で確認できます。",
                    "The signature is invisible (no seal image). You can download the documents before signing.")) }
            }
            label.check { input #guide-hide type="checkbox"; " " (lang.t("次回以降表示しない", "Do not show this again")) }
            div.actions { button.primary #guide-close type="button" { (lang.t("閉じる", "Close")) } }
        }
    }
}

fn document(
    lang: Lang,
    token: &str,
    index: usize,
    d: &DocumentView,
    outline: &DocumentOutline,
    label_of: &dyn Fn(&str) -> String,
) -> Markup {
    let token_path = percent_encode(token);
    let doc_path = percent_encode(&d.id);
    let unplaced: Vec<&FieldView> = fields_to_fill(d)
        .filter(|f| f.placement.is_none())
        .collect();
    html! {
        article.document #(format!("doc-{index}")) data-doc=(index) hidden[index != 0] {
            div.docbar {
                h2 { (d.name) }
                a.download href=(format!("/api/v1/sign/{token_path}/documents/{doc_path}")) download {
                    "↓ " (lang.t("ダウンロード", "Download"))
                }
            }
            @for p in 1..=d.pages {
                @let text_id = format!("doc-{index}-text-{p}");
                div.page data-page=(p) {
                    // The image's text alternative is the page's own text, read from the PDF:
                    // the short alt names the page, the description reads it.
                    img.pageimg loading="lazy"
                        alt=(lang.t(&format!("{} {p}ページ", d.name), &format!("{} page {p}", d.name)))
                        aria-describedby=(text_id)
                        src=(format!("/s/{token_path}/documents/{doc_path}/pages/{p}?w=1000"));
                    div.sr-only.pagetext #(text_id) {
                        @match outline.get(p as usize - 1).map(|o| &o.text).filter(|t| !t.is_empty()) {
                            Some(text) => { (text) }
                            None => { (lang.t("このページには読み取れる文字がありません（画像のみ）。",
                                "This page has no readable text (an image only).")) }
                        }
                    }
                    @for f in d.fields.iter().filter(|f| f.placement.is_some_and(|pl| pl.page == p)) {
                        @if let (Some(pl), Some(size)) = (f.placement, outline.get(p as usize - 1).map(|o| o.size)) {
                            div.overlay
                                data-left=(format!("{:.3}", pl.x / size.width_pt * 100.0))
                                data-top=(format!("{:.3}", (size.height_pt - pl.y - pl.height) / size.height_pt * 100.0))
                                data-width=(format!("{:.3}", pl.width / size.width_pt * 100.0))
                                data-height=(format!("{:.3}", pl.height / size.height_pt * 100.0)) {
                                (field_input(lang, token, f, &label_of(&f.id)))
                            }
                        }
                    }
                }
            }
            @if !unplaced.is_empty() {
                fieldset.unplaced {
                    legend { (lang.t("入力項目", "Fields")) }
                    @for f in unplaced {
                        div.row { (field_input(lang, token, f, &label_of(&f.id))) }
                    }
                }
            }
        }
    }
}

fn field_input(lang: Lang, _token: &str, f: &FieldView, item: &str) -> Markup {
    let id = format!("field-{}", f.id);
    let name = format!("f.{}", f.id);
    let caption = if f.label.is_empty() {
        item.to_string()
    } else {
        format!("{item} {}", f.label)
    };
    html! {
        @match f.kind {
            FieldKind::Signature => {
                button.field.sig #(id) type="button" data-field=(f.id) data-kind="signature" data-required=(u8::from(f.required)) {
                    span.todo { (lang.t("ここをクリックして署名", "Click to sign")) }
                    span.done { (lang.t("署名します ✓", "Signing ✓")) }
                }
            }
            FieldKind::Checkbox => {
                label.field.checkbox #(id) data-field=(f.id) data-kind="checkbox" data-required=(u8::from(f.required)) {
                    input type="checkbox" name=(name) value="true";
                    " " (caption)
                }
            }
            FieldKind::Attachment => {
                @let file_id = format!("file-{}", f.id);
                div.field.attach #(id) data-field=(f.id) data-kind="attachment" data-required=(u8::from(f.required)) {
                    label for=(file_id) { (caption) " (PDF)" }
                    input.attach-file #(file_id) type="file" accept="application/pdf,.pdf" data-field=(f.id);
                    input type="hidden" name=(name) value="";
                    span.attach-status role="status" {}
                }
            }
            FieldKind::Date => {
                // A text box, as the seeds show: typed as the signer likes (令和8年12月3日,
                // 2026/12/3 …), written into the contract in the sender's format, which the
                // placeholder shows with today's date.
                input.field.text.date #(id) type="text" name=(name)
                    placeholder=(date_example(f)) title=(caption) aria-label=(caption) maxlength="40"
                    data-field=(f.id) data-kind="date" data-required=(u8::from(f.required));
            }
            FieldKind::Text => {
                input.field.text #(id) type="text" name=(name)
                    placeholder=(caption) title=(caption) maxlength="500"
                    data-field=(f.id) data-kind="text" data-required=(u8::from(f.required));
            }
        }
    }
}

/// Today's date in Japan, written as the date field writes dates.
fn date_example(f: &FieldView) -> String {
    let format = f.date_format.unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    CalendarDate::jst(now).format(format)
}

/// `POST /s/{token}/complete`: the field values, then 「署名手続きを完了する」.
pub(crate) async fn complete(
    State(state): State<Shared>,
    Reader(lang): Reader,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    if let Some(r) = link_form_refusal(&state, lang, &token, &form) {
        return Ok(r);
    }
    let values: Vec<FieldInput> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("f.").map(|field| FieldInput {
                field: field.to_string(),
                value: v.clone(),
            })
        })
        .collect();
    state
        .inkan
        .complete(&token, &values, &caller)
        .await
        .page(lang)?;
    Ok(Redirect::to(&format!("{}/done", base(&token))).into_response())
}

/// The refusal of a link page's form without that link's CSRF token.
pub(crate) fn link_form_refusal(
    state: &Shared,
    lang: Lang,
    token: &str,
    form: &[(String, String)],
) -> Option<Response> {
    csrf_refusal(state, lang, &csrf_scope(token), form_value(form, "csrf"))
}

pub(crate) fn form_value<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `POST /s/{token}/approve`.
pub(crate) async fn approve(
    State(state): State<Shared>,
    Reader(lang): Reader,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    if let Some(r) = link_form_refusal(&state, lang, &token, &form) {
        return Ok(r);
    }
    state.inkan.approve(&token, &caller).await.page(lang)?;
    Ok(Redirect::to(&format!("{}/done", base(&token))).into_response())
}

/// `POST /s/{token}/decline`: 辞退, with the reason.
pub(crate) async fn decline(
    State(state): State<Shared>,
    Reader(lang): Reader,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    if let Some(r) = link_form_refusal(&state, lang, &token, &form) {
        return Ok(r);
    }
    let reason = form_value(&form, "reason").unwrap_or("");
    state
        .inkan
        .decline(&token, reason, &caller)
        .await
        .page(lang)?;
    Ok(layout::message_page(
        lang,
        StatusCode::OK,
        lang.t("署名を辞退しました", "You have declined"),
        lang.t(
            "送信者に辞退をお知らせしました。この封筒の手続きは終了しました。",
            "The sender has been told. This envelope has ended.",
        ),
    ))
}

/// `GET /s/{token}/done`: after signing or approving.
pub(crate) async fn done(
    State(state): State<Shared>,
    Reader(lang): Reader,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
) -> UiResult<Response> {
    let view: SignerView = state.inkan.open_link(&token, &caller).await.page(lang)?;
    let approver = view.recipient.role == Role::Approver;
    let finished = view.envelope.status == StatusKind::Completed;
    let body = html! {
        section.done {
            h1 #done-title { @if approver { (lang.t("承認が完了しました", "Approved")) } @else { (lang.t("署名手続きが完了しました", "Signing complete")) } }
            h2.title { (view.envelope.title) }
            @if finished {
                p { (lang.t("全ての関係者の手続きが完了しました。「電子署名完了のお知らせ」メールから署名済みの文書をダウンロードできます。",
                    "Every party has finished. The completion email has the link to download the signed documents.")) }
            } @else {
                p { (lang.t("ほかの関係者の手続きが完了すると、「電子署名完了のお知らせ」メールが届きます。",
                    "When the other parties have finished, you will receive the completion email.")) }
            }
            (progress(lang, &view.progress, false))
        }
    };
    let path = format!("{}/done", base(&token));
    Ok(layout::html(page(
        Frame::new(lang, &view.envelope.title, &path),
        body,
    )))
}

#[derive(Debug, Deserialize)]
pub(crate) struct AttachName {
    name: String,
}

/// `POST /s/{token}/attachments/{field}?name=…` (the PDF as the body, `X-CSRF-Token`): called
/// by the page's script; answers JSON.
pub(crate) async fn attach(
    State(state): State<Shared>,
    CallerInfo(caller): CallerInfo,
    headers: HeaderMap,
    Path((token, field)): Path<(String, String)>,
    Query(q): Query<AttachName>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let csrf = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    if !csrf.is_some_and(|t| state.inkan.csrf_valid(&csrf_scope(&token), t)) {
        return Err(ApiError::Forbidden(
            "the page has expired: reload it and attach again".into(),
        ));
    }
    let view = state
        .inkan
        .attach(&token, &field, &q.name, body.to_vec(), &caller)
        .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}
