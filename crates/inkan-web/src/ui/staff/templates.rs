//! テンプレート and 一括送信 pages: the list of templates; a new template or a new version (its
//! PDFs, roles with their order and default recipients, 差込み項目 placed by page and point);
//! one version with its history, the form that makes an envelope from it, and the bulk send
//! (the ひな形 CSV to download, the filled CSV to upload); a bulk send's progress, row by row.

use std::collections::HashMap;

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use inkan_domain::Role;
use inkan_service::{
    BatchView, BulkStart, FolderView, FromTemplate, MergeField, MetadataInput, NewRole,
    NewTemplate, NewTemplateDocument, RoleRecipient, ServiceError, TemplateView,
};
use maud::{html, Markup};
use serde::Deserialize;

use super::StaffSession;
use crate::extract::{CallerInfo, Json, Path, Query, Shared};
use crate::render::percent_encode;
use crate::ui::error::{PageContext, UiResult};
use crate::ui::i18n::Lang;
use crate::ui::layout::{self, expired_form, page};

const LIST: &str = "/app/templates";
/// Role rows the template form offers.
const ROLE_ROWS: usize = 4;
/// 差込み項目 rows the template form offers (the API takes up to 100).
const MERGE_ROWS: usize = 8;

fn template_path(id: &str) -> String {
    format!("{LIST}/{}", percent_encode(id))
}

/// `GET /app/templates`.
pub(crate) async fn list_page(
    State(state): State<Shared>,
    session: StaffSession,
) -> UiResult<Response> {
    let lang = session.lang;
    let templates = state
        .inkan
        .templates(&session.staff)
        .await
        .staff_page(lang)?;
    let batches = state.inkan.batches(&session.staff).await.staff_page(lang)?;
    let title = lang.t("テンプレート", "Templates");
    let body = html! {
        section.templates {
            h1 { (title) }
            p { a.button.primary #new-template href="/app/templates/new" { (lang.t("新しいテンプレート", "New template")) } }
            @if templates.is_empty() {
                p.empty { (lang.t("テンプレートはまだありません。", "No template yet.")) }
            } @else {
                (layout::wide_table(title, html! {
                    table.list #template-list {
                        thead { tr {
                            th { (lang.t("名前", "Name")) } th { (lang.t("版", "Version")) }
                            th { (lang.t("文書", "Documents")) } th { (lang.t("ロール", "Roles")) }
                            th { (lang.t("更新日時", "Updated")) }
                        } }
                        tbody { @for t in &templates { tr {
                            td { a href=(template_path(&t.id)) { (t.name) } }
                            td.num { (t.version) }
                            td.num { (t.documents) }
                            td { (t.roles.join("、")) }
                            td { (t.updated_at_text) }
                        } } }
                    }
                }))
            }
            @if !batches.is_empty() {
                h2 { (lang.t("一括送信", "Bulk sends")) }
                (batch_table(lang, &batches))
            }
        }
    };
    Ok(layout::html(page(session.frame(title, LIST), body)))
}

fn batch_table(lang: Lang, batches: &[BatchView]) -> Markup {
    layout::wide_table(
        lang.t("一括送信", "Bulk sends"),
        html! {
            table.list #batch-list {
                thead { tr {
                    th { (lang.t("CSV", "CSV")) } th { (lang.t("テンプレート", "Template")) }
                    th { (lang.t("行数", "Rows")) } th { (lang.t("送信済み", "Sent")) }
                    th { (lang.t("失敗", "Failed")) } th { (lang.t("開始", "Started")) }
                } }
                tbody { @for b in batches { tr {
                    td { a href=(format!("/app/bulk/{}", percent_encode(&b.id))) { (b.file_name) } }
                    td { (b.template_name) " (" (lang.t("第", "v")) (b.version) (lang.t("版", "")) ")" }
                    td.num { (b.rows) } td.num { (b.sent) } td.num { (b.failed) }
                    td { (b.created_at_text) }
                } } }
            }
        },
    )
}

/// The values a template form shows: a saved version's, or what was just posted.
type Values = HashMap<String, String>;

fn values_of(t: &TemplateView) -> Values {
    let mut v = Values::new();
    v.insert("name".into(), t.name.clone());
    v.insert("title".into(), t.title.clone());
    v.insert("message".into(), t.message.clone());
    v.insert("deadline_days".into(), t.deadline_days.to_string());
    for (i, r) in t.roles.iter().enumerate() {
        v.insert(format!("role{i}_label"), r.label.clone());
        v.insert(format!("role{i}_role"), role_name(r.role).into());
        v.insert(format!("role{i}_order"), r.order.to_string());
        v.insert(format!("role{i}_name"), r.name.clone().unwrap_or_default());
        v.insert(
            format!("role{i}_email"),
            r.email.clone().unwrap_or_default(),
        );
    }
    let merges = t
        .documents
        .iter()
        .enumerate()
        .flat_map(|(d, doc)| doc.merge_fields.iter().map(move |m| (d, m)));
    for (j, (d, m)) in merges.enumerate() {
        v.insert(format!("merge{j}_name"), m.name.clone());
        v.insert(format!("merge{j}_doc"), (d + 1).to_string());
        v.insert(format!("merge{j}_page"), m.page.to_string());
        v.insert(format!("merge{j}_x"), m.x.to_string());
        v.insert(format!("merge{j}_y"), m.y.to_string());
        v.insert(format!("merge{j}_size"), m.size.to_string());
    }
    v
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Signer => "signer",
        Role::Approver => "approver",
        Role::Cc => "cc",
    }
}

/// The template form: new (`existing` none: PDFs required) or a new version of `existing`.
fn template_form(
    lang: Lang,
    session: &StaffSession,
    action: &str,
    v: &Values,
    existing: Option<&TemplateView>,
) -> Markup {
    let get = |k: &str| v.get(k).map(String::as_str).unwrap_or("");
    let merge_rows = (0..MERGE_ROWS.max(
        (0..100)
            .take_while(|j| v.contains_key(&format!("merge{j}_name")))
            .count()
            + 2,
    ))
        .collect::<Vec<_>>();
    html! {
        form.grid #template-form method="post" action=(action) enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(session.csrf);
            label for="tpl-name" { (lang.t("テンプレート名", "Template name")) " *" }
            input #tpl-name name="name" type="text" maxlength="100" required value=(get("name"));
            label for="tpl-title" { (lang.t("封筒名（{{項目名}} で差込み項目の値が入ります）", "Envelope title ({{name}} takes a merge field's value)")) " *" }
            input #tpl-title name="title" type="text" maxlength="200" required value=(get("title"));
            label for="tpl-message" { (lang.t("メッセージ", "Message")) }
            textarea #tpl-message name="message" rows="3" maxlength="5000" { (get("message")) }
            label for="tpl-days" { (lang.t("署名期限（作成から何日後）", "Signing deadline (days after creation)")) " *" }
            input #tpl-days name="deadline_days" type="number" min="1" max="365" required
                value=(if get("deadline_days").is_empty() { "30" } else { get("deadline_days") });
            label for="tpl-pdfs" {
                (lang.t("PDF（複数選択できます）", "PDFs (choose several)"))
                @if existing.is_none() { " *" }
            }
            @if let Some(t) = existing {
                p.hint { (lang.t("選ばなければ、今の版の PDF をそのまま使います: ", "Leave empty to keep this version's PDFs: "))
                    @for (i, d) in t.documents.iter().enumerate() { @if i > 0 { "、" } (i + 1) ". " (d.name) } }
            }
            input #tpl-pdfs type="file" name="pdf" accept=".pdf,application/pdf" multiple required[existing.is_none()];
            fieldset #tpl-roles {
                legend { (lang.t("ロール（送信の順番と既定の宛先）", "Roles (order and default recipient)")) }
                (layout::wide_table(lang.t("ロール", "Roles"), html! {
                table.form-table {
                    thead { tr {
                        th { (lang.t("ロール名", "Label")) } th { (lang.t("役割", "Role")) }
                        th { (lang.t("順番", "Order")) } th { (lang.t("既定の氏名", "Default name")) }
                        th { (lang.t("既定のメールアドレス", "Default email")) }
                    } }
                    tbody { @for i in 0..ROLE_ROWS {
                        @let n = |f: &str| format!("role{i}_{f}");
                        @let row = i + 1;
                        tr {
                            td { input #(n("label")) name=(n("label")) type="text" maxlength="40" value=(get(&n("label")))
                                aria-label=(format!("{} {row}", lang.t("ロール名", "Label"))); }
                            td { select #(n("role")) name=(n("role")) aria-label=(format!("{} {row}", lang.t("役割", "Role"))) {
                                @for (value, ja, en) in [("signer", "署名者", "Signer"), ("approver", "承認者", "Approver"), ("cc", "写しの受信者", "Copy")] {
                                    option value=(value) selected[get(&n("role")) == value] { (lang.t(ja, en)) }
                                }
                            } }
                            td { input #(n("order")) name=(n("order")) type="number" min="1" max="20"
                                value=(if get(&n("order")).is_empty() { row.to_string() } else { get(&n("order")).to_string() })
                                aria-label=(format!("{} {row}", lang.t("順番", "Order"))); }
                            td { input #(n("name")) name=(n("name")) type="text" maxlength="100" value=(get(&n("name")))
                                aria-label=(format!("{} {row}", lang.t("既定の氏名", "Default name"))); }
                            td { input #(n("email")) name=(n("email")) type="email" maxlength="200" value=(get(&n("email")))
                                aria-label=(format!("{} {row}", lang.t("既定のメールアドレス", "Default email"))); }
                        }
                    } }
                }
                }))
            }
            fieldset #tpl-merge {
                legend { (lang.t("差込み項目（PDF に書き込む位置: ポイント、左下から）", "Merge fields (where they are written: points from the bottom-left)")) }
                (layout::wide_table(lang.t("差込み項目", "Merge fields"), html! {
                table.form-table {
                    thead { tr {
                        th { (lang.t("項目名", "Name")) } th { (lang.t("文書番号", "Document no.")) }
                        th { (lang.t("ページ", "Page")) } th { "x" } th { "y" }
                        th { (lang.t("文字の大きさ", "Size")) }
                    } }
                    tbody { @for j in merge_rows {
                        @let n = |f: &str| format!("merge{j}_{f}");
                        @let row = j + 1;
                        tr {
                            td { input #(n("name")) name=(n("name")) type="text" maxlength="50" value=(get(&n("name")))
                                aria-label=(format!("{} {row}", lang.t("項目名", "Name"))); }
                            @for (f, ja, en, default) in [("doc", "文書番号", "Document no.", "1"), ("page", "ページ", "Page", "1"), ("x", "x", "x", ""), ("y", "y", "y", ""), ("size", "文字の大きさ", "Size", "10.5")] {
                                td { input #(n(f)) name=(n(f)) type="number" step="any" min="0"
                                    value=(if get(&n(f)).is_empty() { default } else { get(&n(f)) })
                                    aria-label=(format!("{} {row}", lang.t(ja, en))); }
                            }
                        }
                    } }
                }
                }))
            }
            p.error #template-error role="alert" {}
            button.primary #save-template type="submit" {
                @if existing.is_some() { (lang.t("新しい版として保存", "Save as a new version")) } @else { (lang.t("保存する", "Save")) }
            }
        }
    }
}

/// `GET /app/templates/new`.
pub(crate) async fn new_page(session: StaffSession) -> UiResult<Response> {
    let lang = session.lang;
    session
        .staff
        .may_send()
        .then_some(())
        .ok_or_else(|| {
            ServiceError::NotAllowed(
                "この権限ではテンプレートを作れません (your role does not send)".into(),
            )
        })
        .staff_page(lang)?;
    Ok(form_page(&session, LIST, &Values::new(), None, None))
}

fn form_page(
    session: &StaffSession,
    action: &str,
    v: &Values,
    existing: Option<&TemplateView>,
    error: Option<&str>,
) -> Response {
    let lang = session.lang;
    let title = match existing {
        Some(_) => lang.t("テンプレートの新しい版", "A new version of the template"),
        None => lang.t("新しいテンプレート", "New template"),
    };
    let body = html! {
        section.templates {
            h1 { (title) }
            @if let Some(e) = error { p.error #template-refused role="alert" { (lang.pick(e)) } }
            (template_form(lang, session, action, v, existing))
        }
    };
    let mut response = layout::html(page(session.frame(title, LIST), body));
    if error.is_some() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

/// A posted template form: its text fields and its PDFs.
struct Posted {
    values: Values,
    pdfs: Vec<(String, Vec<u8>)>,
}

async fn receive(mut multipart: Multipart) -> Result<Posted, ServiceError> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        ServiceError::Invalid(format!(
            "アップロードを読み取れません (the upload could not be read): {e}"
        ))
    };
    let mut posted = Posted {
        values: Values::new(),
        pdfs: Vec::new(),
    };
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "pdf" {
            let file = field.file_name().unwrap_or_default().to_string();
            let bytes = field.bytes().await.map_err(unreadable)?;
            // A browser sends an empty part when no file was chosen.
            if !file.is_empty() || !bytes.is_empty() {
                posted.pdfs.push((file, bytes.to_vec()));
            }
        } else if posted.values.len() < 500 {
            posted
                .values
                .insert(name, field.text().await.map_err(unreadable)?);
        }
    }
    Ok(posted)
}

/// The template a posted form describes; `previous` gives a new version its documents' fields
/// and the PDFs not chosen again.
fn template_of(posted: &Posted, previous: Option<&TemplateView>) -> Result<NewTemplate, String> {
    let get = |k: &str| posted.values.get(k).map(|s| s.trim()).unwrap_or("");
    let number = |k: &str, what: &str| -> Result<f64, String> {
        get(k).parse::<f64>().map_err(|_| {
            format!(
                "{what} {:?} は数ではありません ({what} is not a number)",
                get(k)
            )
        })
    };
    let mut roles = Vec::new();
    for i in 0..ROLE_ROWS {
        let label = get(&format!("role{i}_label"));
        if label.is_empty() {
            continue;
        }
        let role = match get(&format!("role{i}_role")) {
            "approver" => Role::Approver,
            "cc" => Role::Cc,
            _ => Role::Signer,
        };
        let order = number(&format!("role{i}_order"), "順番 (order)")? as u32;
        let key = previous
            .and_then(|p| p.roles.iter().find(|r| r.label == label))
            .map(|r| r.key.clone())
            .unwrap_or_else(|| format!("r{}", i + 1));
        let opt = |k: String| Some(get(&k).to_string()).filter(|s| !s.is_empty());
        roles.push(NewRole {
            key,
            label: label.to_string(),
            role,
            order: order.max(1),
            method: Default::default(),
            name: opt(format!("role{i}_name")),
            email: opt(format!("role{i}_email")),
        });
    }
    let mut documents: Vec<NewTemplateDocument> = if posted.pdfs.is_empty() {
        previous
            .map(|p| {
                p.documents
                    .iter()
                    .map(|d| NewTemplateDocument {
                        name: d.name.clone(),
                        content_base64: String::new(),
                        signers: d.signers.clone(),
                        fields: d.fields.clone(),
                        merge_fields: Vec::new(),
                        kind: d.kind.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    } else {
        posted
            .pdfs
            .iter()
            .map(|(name, bytes)| {
                let kept = previous.and_then(|p| p.documents.iter().find(|d| &d.name == name));
                NewTemplateDocument {
                    name: name.clone(),
                    content_base64: STANDARD.encode(bytes),
                    signers: kept.and_then(|d| d.signers.clone()),
                    fields: kept.map(|d| d.fields.clone()).unwrap_or_default(),
                    merge_fields: Vec::new(),
                    kind: kept.and_then(|d| d.kind.clone()),
                }
            })
            .collect()
    };
    for j in 0..100 {
        let name = get(&format!("merge{j}_name"));
        if !posted.values.contains_key(&format!("merge{j}_name")) {
            break;
        }
        if name.is_empty() {
            continue;
        }
        let doc = number(&format!("merge{j}_doc"), "文書番号 (document no.)")? as usize;
        let count = documents.len();
        let target = doc
            .checked_sub(1)
            .and_then(|d| documents.get_mut(d))
            .ok_or_else(|| format!("差込み項目「{name}」の文書番号 {doc} の文書はありません (no document {doc}: there are {count})"))?;
        target.merge_fields.push(MergeField {
            name: name.to_string(),
            page: number(&format!("merge{j}_page"), "ページ (page)")? as u32,
            x: number(&format!("merge{j}_x"), "x")?,
            y: number(&format!("merge{j}_y"), "y")?,
            size: number(&format!("merge{j}_size"), "文字の大きさ (size)")?,
        });
    }
    Ok(NewTemplate {
        name: get("name").to_string(),
        title: get("title").to_string(),
        message: posted.values.get("message").cloned().unwrap_or_default(),
        deadline_days: get("deadline_days").parse().unwrap_or(0),
        roles,
        documents,
    })
}

/// `POST /app/templates` (a new template) and `POST /app/templates/{id}/versions`.
async fn save(
    state: &Shared,
    session: &StaffSession,
    caller: &inkan_service::Caller,
    id: Option<&str>,
    multipart: Multipart,
) -> UiResult<Response> {
    let lang = session.lang;
    let posted = receive(multipart).await.staff_page(lang)?;
    if !session.csrf_ok(state, posted.values.get("csrf").map(String::as_str)) {
        return Ok(expired_form(lang));
    }
    let previous = match id {
        Some(id) => Some(
            state
                .inkan
                .template(&session.staff, id, None)
                .await
                .staff_page(lang)?,
        ),
        None => None,
    };
    let action = id.map_or(LIST.to_string(), |id| {
        format!("{}/versions", template_path(id))
    });
    let saved = match template_of(&posted, previous.as_ref()) {
        Ok(input) => state
            .inkan
            .save_template(&session.staff, id, &input, caller)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    match saved {
        Ok(view) => Ok(Redirect::to(&template_path(&view.id)).into_response()),
        Err(why) => Ok(form_page(
            session,
            &action,
            &posted.values,
            previous.as_ref(),
            Some(&why),
        )),
    }
}

/// `POST /app/templates`.
pub(crate) async fn create(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    multipart: Multipart,
) -> UiResult<Response> {
    save(&state, &session, &caller, None, multipart).await
}

/// `POST /app/templates/{id}/versions`.
pub(crate) async fn new_version(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    multipart: Multipart,
) -> UiResult<Response> {
    save(&state, &session, &caller, Some(&id), multipart).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct VersionQuery {
    #[serde(default)]
    version: Option<u32>,
}

/// `GET /app/templates/{id}?version=N`.
pub(crate) async fn template_page(
    State(state): State<Shared>,
    session: StaffSession,
    Path(id): Path<String>,
    Query(q): Query<VersionQuery>,
) -> UiResult<Response> {
    let lang = session.lang;
    let t = state
        .inkan
        .template(&session.staff, &id, q.version)
        .await
        .staff_page(lang)?;
    let folders = Folders::of(&state, &session).await?;
    Ok(template_view(&session, &t, &folders, None, &Values::new()))
}

/// The folders an envelope made here may go into.
struct Folders {
    choosable: Vec<FolderView>,
    required: bool,
}

impl Folders {
    async fn of(state: &Shared, session: &StaffSession) -> UiResult<Folders> {
        let lang = session.lang;
        Ok(Folders {
            choosable: state
                .inkan
                .choosable_folders(&session.staff)
                .await
                .staff_page(lang)?,
            required: state
                .inkan
                .folder_required(&session.staff)
                .await
                .staff_page(lang)?,
        })
    }

    /// The folder select of a form (`id` unique on the page).
    fn select(&self, lang: Lang, id: &str, chosen: &str) -> Markup {
        html! {
            label for=(id) { (lang.t("フォルダ", "Folder")) @if self.required { " *" } }
            select #(id) name="folder" required[self.required] {
                option value="" { (lang.t("（フォルダなし）", "(no folder)")) }
                @for f in &self.choosable {
                    option value=(f.id.to_string()) selected[chosen == f.id.to_string()] { (f.path) }
                }
            }
        }
    }
}

fn template_view(
    session: &StaffSession,
    t: &TemplateView,
    folders: &Folders,
    error: Option<&str>,
    posted: &Values,
) -> Response {
    let lang = session.lang;
    let path = template_path(&t.id);
    let get = |k: &str| posted.get(k).map(String::as_str).unwrap_or("");
    let body = html! {
        section.templates {
            h1 { (t.name) " " small { (lang.t("第", "version ")) (t.version) (lang.t("版", "")) } }
            @if t.version != t.latest_version {
                p.notice { (lang.t("これは古い版です。", "This is an older version. "))
                    a href=(path) { (lang.t("最新の版へ", "To the latest version")) } }
            }
            dl.facts {
                dt { (lang.t("封筒名", "Title")) } dd #tpl-shown-title { (t.title) }
                dt { (lang.t("署名期限", "Deadline")) } dd { (t.deadline_days) (lang.t(" 日後", " days")) }
            }
            h2 { (lang.t("ロール", "Roles")) }
            ol #tpl-shown-roles { @for r in &t.roles { li {
                (r.label) " — " (role_label(lang, r.role)) " (" (lang.t("順番 ", "order ")) (r.order) ")"
                @if let (Some(n), Some(e)) = (&r.name, &r.email) { " " (n) " <" (e) ">" }
            } } }
            h2 { (lang.t("文書と差込み項目", "Documents and merge fields")) }
            ol #tpl-shown-documents { @for d in &t.documents { li {
                (d.name) " (" (d.pages) (lang.t(" ページ", " pages")) ")"
                @if !d.merge_fields.is_empty() { ul { @for m in &d.merge_fields {
                    li { (m.name) ": " (lang.t("ページ ", "page ")) (m.page) " (" (m.x) ", " (m.y) "), " (m.size) "pt" }
                } } }
            } } }

            h2 #use-heading { (lang.t("この版から封筒を作る", "Make an envelope from this version")) }
            @if let Some(e) = error { p.error #use-refused role="alert" { (lang.pick(e)) } }
            form.grid #use-form method="post" action=(format!("{path}/envelopes")) {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="version" value=(t.version);
                label for="use-number" { (lang.t("管理番号", "Number")) }
                input #use-number name="number" type="text" maxlength="100" value=(get("number"));
                @for (i, r) in t.roles.iter().enumerate() {
                    fieldset {
                        legend { (r.label) @if r.email.is_none() { " *" } }
                        label for=(format!("use-role{i}-name")) { (lang.t("氏名", "Name")) }
                        input #(format!("use-role{i}-name")) name=(format!("role{i}_name")) type="text" maxlength="100"
                            required[r.email.is_none()] value=(posted.get(&format!("role{i}_name")).cloned().or(r.name.clone()).unwrap_or_default());
                        label for=(format!("use-role{i}-email")) { (lang.t("メールアドレス", "Email")) }
                        input #(format!("use-role{i}-email")) name=(format!("role{i}_email")) type="email" maxlength="200"
                            required[r.email.is_none()] value=(posted.get(&format!("role{i}_email")).cloned().or(r.email.clone()).unwrap_or_default());
                    }
                }
                @for (j, m) in t.merge_names.iter().enumerate() {
                    label for=(format!("use-merge{j}")) { (m) " *" }
                    input #(format!("use-merge{j}")) name=(format!("merge_{m}")) type="text" maxlength="200" required
                        value=(get(&format!("merge_{m}")));
                }
                label for="use-date" { (lang.t("取引年月日", "Transaction date")) }
                input #use-date name="date" type="date" value=(get("date"));
                label for="use-amount" { (lang.t("金額", "Amount")) }
                input #use-amount name="amount" type="text" maxlength="40" value=(get("amount"));
                label for="use-counterparty" { (lang.t("取引先", "Counterparty")) }
                input #use-counterparty name="counterparty" type="text" maxlength="200" value=(get("counterparty"));
                (folders.select(lang, "use-folder", get("folder")))
                div.buttons {
                    button.secondary #use-draft type="submit" name="send" value="" { (lang.t("下書きを作る", "Make a draft")) }
                    button.primary #use-send type="submit" name="send" value="yes" { (lang.t("作って送信する", "Make and send")) }
                }
            }

            h2 { (lang.t("一括送信（CSV）", "Bulk send (CSV)")) }
            p { (lang.t("1行が1通の封筒です（1,500行まで）。ひな形の見出しのまま Excel で入力し、CSV（UTF-8 か Shift_JIS）で保存してください。", "One row is one envelope (up to 1,500). Fill in the template's headers in Excel and save as CSV (UTF-8 or Shift_JIS)."))
                " " a #bulk-template href=(format!("{path}/bulk.csv")) { (lang.t("ひな形の CSV", "The CSV template")) } }
            form.grid #bulk-form method="post" action=(format!("{path}/bulk")) enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="version" value=(t.version);
                label for="bulk-csv" { (lang.t("CSV ファイル", "CSV file")) }
                input #bulk-csv type="file" name="csv" accept=".csv,text/csv" required;
                (folders.select(lang, "bulk-folder", ""))
                button.primary #bulk-start type="submit" { (lang.t("一括送信する", "Send to every row")) }
            }

            h2 { (lang.t("版の履歴", "Versions")) }
            (layout::wide_table(lang.t("版の履歴", "Versions"), html! {
                table.list #tpl-versions {
                    thead { tr { th { (lang.t("版", "Version")) } th { (lang.t("名前", "Name")) } th { (lang.t("保存日時", "Saved")) } } }
                    tbody { @for v in &t.versions { tr {
                        td.num { a href=(format!("{path}?version={}", v.version)) { (v.version) } }
                        td { (v.name) } td { (v.created_at_text) }
                    } } }
                }
            }))
            details #new-version {
                summary { (lang.t("内容を変えて新しい版を保存する", "Change it and save a new version")) }
                (template_form(lang, session, &format!("{path}/versions"), &values_of(t), Some(t)))
            }
        }
    };
    let mut response = layout::html(page(session.frame(&t.name, LIST), body));
    if error.is_some() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

fn role_label(lang: Lang, role: Role) -> &'static str {
    match role {
        Role::Signer => lang.t("署名者", "signer"),
        Role::Approver => lang.t("承認者", "approver"),
        Role::Cc => lang.t("写しの受信者", "copy"),
    }
}

/// `POST /app/templates/{id}/envelopes`: a draft or a sent envelope from the version shown.
pub(crate) async fn make_envelope(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    let lang = session.lang;
    let posted: Values = form.into_iter().collect();
    if !session.csrf_ok(&state, posted.get("csrf").map(String::as_str)) {
        return Ok(expired_form(lang));
    }
    let version = posted.get("version").and_then(|v| v.parse().ok());
    let t = state
        .inkan
        .template(&session.staff, &id, version)
        .await
        .staff_page(lang)?;
    let opt = |k: &str| {
        posted
            .get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let recipients = t
        .roles
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let name = opt(&format!("role{i}_name"))?;
            let email = opt(&format!("role{i}_email"))?;
            Some(RoleRecipient {
                role: r.key.clone(),
                name,
                email,
                ..RoleRecipient::default()
            })
        })
        .collect();
    let input = FromTemplate {
        version: Some(t.version),
        number: opt("number").unwrap_or_default(),
        recipients,
        merge: t
            .merge_names
            .iter()
            .map(|m| (m.clone(), opt(&format!("merge_{m}")).unwrap_or_default()))
            .collect(),
        metadata: MetadataInput {
            date: opt("date"),
            amount: opt("amount"),
            counterparty: opt("counterparty"),
            kind: None,
        },
        send: posted.get("send").is_some_and(|s| s == "yes"),
        folder: opt("folder").and_then(|f| f.parse().ok()),
        ..FromTemplate::default()
    };
    match state
        .inkan
        .envelope_from_template(&session.staff, &id, &input, &caller)
        .await
    {
        Ok(view) => Ok(
            Redirect::to(&format!("/app/envelopes/{}", percent_encode(&view.id))).into_response(),
        ),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict)) => {
            let folders = Folders::of(&state, &session).await?;
            Ok(template_view(
                &session,
                &t,
                &folders,
                Some(&e.to_string()),
                &posted,
            ))
        }
        Err(e) => Err(e).staff_page(lang),
    }
}

/// `GET /app/templates/{id}/bulk.csv`.
pub(crate) async fn bulk_csv(
    State(state): State<Shared>,
    session: StaffSession,
    Path(id): Path<String>,
) -> UiResult<Response> {
    let csv = state
        .inkan
        .bulk_csv_template(&session.staff, &id)
        .await
        .staff_page(session.lang)?;
    Ok(crate::api::templates::csv_response("一括送信.csv", csv))
}

/// `POST /app/templates/{id}/bulk`: the CSV checked whole, then its rows sent by jobs.
pub(crate) async fn start_bulk(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> UiResult<Response> {
    let lang = session.lang;
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        ServiceError::Invalid(format!(
            "アップロードを読み取れません (the upload could not be read): {e}"
        ))
    };
    let (mut csrf, mut version, mut folder, mut csv) = (None, None, None, None);
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(unreadable)
        .staff_page(lang)?
    {
        match field.name().unwrap_or_default() {
            "csrf" => csrf = Some(field.text().await.map_err(unreadable).staff_page(lang)?),
            "version" => {
                version = field
                    .text()
                    .await
                    .map_err(unreadable)
                    .staff_page(lang)?
                    .parse()
                    .ok()
            }
            "folder" => {
                folder = field
                    .text()
                    .await
                    .map_err(unreadable)
                    .staff_page(lang)?
                    .parse()
                    .ok()
            }
            "csv" => {
                let name = field.file_name().unwrap_or("一括送信.csv").to_string();
                csv = Some((
                    name,
                    field.bytes().await.map_err(unreadable).staff_page(lang)?,
                ));
            }
            _ => {}
        }
    }
    if !session.csrf_ok(&state, csrf.as_deref()) {
        return Ok(expired_form(lang));
    }
    let t = state
        .inkan
        .template(&session.staff, &id, version)
        .await
        .staff_page(lang)?;
    let folders = Folders::of(&state, &session).await?;
    let Some((name, bytes)) = csv else {
        return Ok(template_view(
            &session,
            &t,
            &folders,
            Some("CSV ファイルを選んでください (choose the CSV file)"),
            &Values::new(),
        ));
    };
    let start = BulkStart {
        version: Some(t.version),
        file_name: name,
        folder,
    };
    match state
        .inkan
        .start_bulk_send(&session.staff, &id, &start, &bytes, &caller)
        .await
    {
        Ok(batch) => {
            Ok(Redirect::to(&format!("/app/bulk/{}", percent_encode(&batch.id))).into_response())
        }
        Err(e @ ServiceError::Invalid(_)) => Ok(template_view(
            &session,
            &t,
            &folders,
            Some(&e.to_string()),
            &Values::new(),
        )),
        Err(e) => Err(e).staff_page(lang),
    }
}

/// `GET /app/bulk/{id}`: a bulk send's progress; `bulk.js` keeps the counts current.
pub(crate) async fn batch_page(
    State(state): State<Shared>,
    session: StaffSession,
    Path(id): Path<String>,
) -> UiResult<Response> {
    let lang = session.lang;
    let b = state
        .inkan
        .batch(&session.staff, &id)
        .await
        .staff_page(lang)?;
    let title = lang.t("一括送信の進み具合", "Bulk send progress");
    let done = b.sent + b.failed;
    let body = html! {
        section.bulk #bulk data-progress=(format!("/app/bulk/{}/progress", percent_encode(&b.id))) {
            h1 { (title) }
            p { (b.file_name) " — " a href=(template_path(&b.template)) { (b.template_name) } " (" (lang.t("第", "version ")) (b.version) (lang.t("版", "")) ")" }
            label for="bulk-bar" { (lang.t("送信", "Sent")) }
            progress #bulk-bar max=(b.rows) value=(done) {}
            p #bulk-counts aria-live="polite" {
                span #bulk-done { (done) } " / " (b.rows) (lang.t(" 行を処理しました（送信 ", " rows done (sent "))
                span #bulk-sent { (b.sent) } (lang.t("、失敗 ", ", failed ")) span #bulk-failed { (b.failed) } (lang.t("）", ")"))
                span #bulk-finished hidden[!b.finished] { " " (lang.t("完了しました。", "Finished.")) }
            }
            p { a href=(format!("/app/bulk/{}", percent_encode(&b.id))) { (lang.t("表を更新する", "Refresh the table")) } }
            (layout::wide_table(lang.t("行ごとの結果", "Rows"), html! {
                table.list #bulk-rows {
                    thead { tr {
                        th { (lang.t("行", "Line")) } th { (lang.t("件名", "Title")) }
                        th { (lang.t("宛先", "Recipients")) } th { (lang.t("結果", "Result")) }
                    } }
                    tbody { @for l in &b.lines { tr {
                        td.num { (l.row) } td { (l.title) } td { (l.recipients.join(", ")) }
                        td {
                            @match (l.state.as_str(), &l.envelope) {
                                ("sent", Some(e)) => { a href=(format!("/app/envelopes/{}", percent_encode(e))) { (lang.t("送信済み", "Sent")) } }
                                ("failed", _) => { span.error { (lang.t("失敗: ", "Failed: ")) (lang.pick(l.error.as_deref().unwrap_or(""))) } }
                                _ => { (lang.t("待機中", "Waiting")) }
                            }
                        }
                    } } }
                }
            }))
        }
    };
    let mut frame = session.frame(title, LIST);
    frame.scripts = &["bulk.js"];
    Ok(layout::html(page(frame, body)))
}

/// `GET /app/bulk/{id}/progress`: the counts `bulk.js` shows.
pub(crate) async fn batch_progress(
    State(state): State<Shared>,
    session: StaffSession,
    Path(id): Path<String>,
) -> UiResult<Json<serde_json::Value>> {
    let b = state
        .inkan
        .batch_progress(&session.staff, &id)
        .await
        .staff_page(session.lang)?;
    Ok(Json(serde_json::json!({
        "rows": b.rows, "sent": b.sent, "failed": b.failed, "waiting": b.waiting, "finished": b.finished,
    })))
}
