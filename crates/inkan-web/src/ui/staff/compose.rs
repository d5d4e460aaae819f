//! A new envelope: upload PDFs and see their pages (rendered here, nothing leaves the server),
//! place each recipient's fields by dragging them onto the pages, choose the recipients and
//! their order, the deadline and the message, then save as a draft or send.
//!
//! The page's script (`compose.js`) builds the same [`NewEnvelope`] the JSON API takes and
//! posts it with the session's CSRF token in `X-CSRF-Token`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use inkan_service::{CounterpartyView, FolderView, NewEnvelope, ServiceError};
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use super::StaffSession;
use crate::error::ApiError;
use crate::extract::{CallerInfo, Json, Query, Shared};
use crate::render::percent_encode;
use crate::ui::error::{PageContext, UiResult};
use crate::ui::i18n::Lang;
use crate::ui::layout::{self, page};

/// Width of the page images of the preview.
const PREVIEW_WIDTH: u32 = 800;
/// Pages previewed per document (the rest can be placed on by page number later).
const PREVIEW_PAGES: u32 = 50;

/// What the compose page offers to choose from.
struct ComposeModel {
    counterparties: Vec<CounterpartyView>,
    folders: Vec<FolderView>,
    folder_required: bool,
}

/// `GET /app/envelopes/new`.
pub(crate) async fn compose_page(
    State(state): State<Shared>,
    session: StaffSession,
) -> UiResult<Response> {
    let lang = session.lang;
    let staff = &session.staff;
    let model = ComposeModel {
        counterparties: state.inkan.counterparties(staff).await.staff_page(lang)?,
        folders: state
            .inkan
            .choosable_folders(staff)
            .await
            .staff_page(lang)?,
        folder_required: state.inkan.folder_required(staff).await.staff_page(lang)?,
    };
    let title = lang.t("新しい封筒", "New envelope");
    let body = compose_view(lang, &session, &model, title);
    let mut frame = session.frame(title, "/app/envelopes/new");
    frame.scripts = &["compose.js"];
    Ok(layout::html(page(frame, body)))
}

/// The form (filled in and posted by `compose.js`) beside the pages of the chosen PDFs.
fn compose_view(lang: Lang, session: &StaffSession, model: &ComposeModel, title: &str) -> Markup {
    html! {
        section.compose #compose data-csrf=(session.csrf) data-lang=(lang.code())
            data-me-name=(session.user.name) data-me-email=(session.user.email) {
            h1 { (title) }
            div.compose-grid {
                div.compose-form {
                    (envelope_fields(lang, model))
                    (recipients_fields(lang))
                    (file_fields(lang))
                    (field_palette(lang))
                    p.error #compose-error role="alert" {}
                    // Shown while the files upload (the PDFs go one after another, streamed).
                    div.upload-progress #upload-progress hidden {
                        label for="upload-bar" { (lang.t("アップロード中", "Uploading")) " " span #upload-percent { "0%" } }
                        progress #upload-bar max="100" value="0" {}
                    }
                    div.buttons {
                        button.secondary #save-draft type="button" { (lang.t("下書き保存", "Save as draft")) }
                        button.primary #send-now type="button" { (lang.t("送信する", "Send")) }
                    }
                }
                // Focusable: it scrolls, and keyboard users must be able to scroll it too.
                div.compose-pages #pages tabindex="0" role="region" aria-label=(lang.t("文書のページ", "Document pages")) {
                    p.empty { (lang.t("PDFを選ぶと、ここにページが表示されます。", "Pages appear here once you choose PDFs.")) }
                }
            }
        }
    }
}

/// 封筒名, 管理番号, 署名期限, the message, the counterparty and the folder.
fn envelope_fields(lang: Lang, model: &ComposeModel) -> Markup {
    let counterparties = &model.counterparties;
    let folders = &model.folders;
    let folder_required = model.folder_required;
    html! {
        fieldset {
            legend { (lang.t("封筒", "Envelope")) }
            label for="title" { (lang.t("封筒名", "Title")) " *" }
            input #title type="text" maxlength="200" required;
            label for="number" { (lang.t("管理番号", "Number")) }
            input #number type="text" maxlength="100";
            label for="deadline" { (lang.t("署名期限", "Signing deadline")) " (JST) *" }
            input #deadline type="datetime-local" required;
            label for="message" { (lang.t("メッセージ", "Message")) }
            textarea #message rows="3" maxlength="5000" {}
            label for="counterparty" { (lang.t("取引先", "Counterparty")) }
            select #counterparty {
                option value="" { "—" }
                @for c in counterparties {
                    option value=(c.id) data-name=(c.fields.signatory_name) data-email=(c.fields.signatory_email)
                        data-trade=(c.fields.trade_name) { (c.fields.trade_name) }
                }
            }
            label for="folder" {
                (lang.t("フォルダ", "Folder")) @if folder_required { " *" }
            }
            select #folder required[folder_required] {
                option value="" { (lang.t("（フォルダなし）", "(no folder)")) }
                @for f in folders {
                    option value=(f.id.to_string()) { (f.path) }
                }
            }
        }
    }
}

/// The recipients' table (filled by the script) and the buttons that add one.
fn recipients_fields(lang: Lang) -> Markup {
    html! {
        fieldset {
            legend { (lang.t("宛先と順番", "Recipients and order")) }
            p.hint { (lang.t("順番の小さい宛先から処理されます（同じ番号は並行）。通常は取引先が先、市が最後です。",
                "Lower order acts first (equal numbers in parallel): usually the vendor first, the city last.")) }
            table #recipients {
                thead { tr {
                    th { (lang.t("氏名", "Name")) } th { (lang.t("メールアドレス", "Email")) }
                    th { (lang.t("役割", "Role")) } th { (lang.t("順番", "Order")) } th { (lang.t("署名方法", "Method")) }
                    th { (lang.t("本人確認", "Identity check")) } th {}
                } }
                tbody {}
            }
            div.buttons {
                button.secondary #add-counterparty type="button" { (lang.t("取引先の署名者を追加", "Add the counterparty's signatory")) }
                button.secondary #add-me type="button" { (lang.t("自分を追加", "Add me")) }
                button.secondary #add-recipient type="button" { (lang.t("宛先を追加", "Add a recipient")) }
            }
        }
    }
}

/// The PDFs to sign and the attachments.
fn file_fields(lang: Lang) -> Markup {
    html! {
        fieldset {
            legend { (lang.t("文書（PDF）", "Documents (PDF)")) }
            label for="files" { (lang.t("署名する PDF を選ぶ", "Choose the PDFs to sign")) }
            input #files type="file" accept="application/pdf,.pdf" multiple;
            div #documents {}
        }
        fieldset {
            legend { (lang.t("添付ファイル（署名しない資料）", "Attachments (not signed)")) }
            p.hint { (lang.t("納付書や仕様書など、署名せずに宛先へ渡すファイルです（1ファイル20MBまで）。",
                "Files handed to the recipients without signing, such as a payment slip or a specification (20 MB each).")) }
            label for="attachments" { (lang.t("ファイルを選ぶ", "Choose files")) }
            input #attachments type="file" multiple;
        }
    }
}

/// The fields to place on the pages, for the recipient chosen.
fn field_palette(lang: Lang) -> Markup {
    html! {
        fieldset.palette #palette {
            legend { (lang.t("入力項目の配置", "Place fields")) }
            label for="place-recipient" { (lang.t("対象の宛先", "For recipient")) }
            select #place-recipient {}
            label for="place-label" { (lang.t("項目名", "Label")) }
            input #place-label type="text" maxlength="100" placeholder=(lang.t("署名日", "Signing date"));
            label.check { input #place-required type="checkbox" checked; " " (lang.t("必須", "Required")) }
            label for="place-date-format" { (lang.t("日付の書式 (日付の項目)", "Date format (date fields)")) }
            select #place-date-format {
                option value="wareki" selected { (lang.t("和暦 (令和8年12月3日)", "Japanese era (令和8年12月3日)")) }
                option value="seireki" { (lang.t("西暦 (2026年12月3日)", "Western year (2026年12月3日)")) }
                option value="iso" { "2026-12-03" }
            }
            p.hint { (lang.t("項目をページ上へドラッグするか、項目を押してからページを押して配置します。配置した項目は × で削除できます。",
                "Drag an item onto a page, or click an item and then the page. Remove a placed item with ×.")) }
            div.chips {
                button.chip type="button" data-kind="signature" { (lang.t("署名", "Signature")) }
                button.chip type="button" data-kind="text" { (lang.t("テキスト", "Text")) }
                button.chip type="button" data-kind="date" { (lang.t("日付", "Date")) }
                button.chip type="button" data-kind="checkbox" { (lang.t("チェックボックス", "Checkbox")) }
                button.chip type="button" data-kind="attachment" { (lang.t("添付ファイル", "Attachment")) }
            }
        }
    }
}

/// One previewed page.
#[derive(Debug, Serialize)]
pub(crate) struct PreviewPage {
    width_pt: f64,
    height_pt: f64,
    /// `data:image/png;base64,…`
    image: String,
}

/// The pages of an uploaded PDF.
#[derive(Debug, Serialize)]
pub(crate) struct Preview {
    pages: Vec<PreviewPage>,
    /// Pages in the document (more than `pages` holds when it is long).
    page_count: usize,
}

fn check_token(
    state: &Shared,
    session: &StaffSession,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let token = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    if session.csrf_ok(state, token) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "the page has expired: reload it and try again".into(),
        ))
    }
}

/// `POST /app/envelopes/preview` (the PDF as the body): its pages as images. Nothing is kept.
pub(crate) async fn preview(
    State(state): State<Shared>,
    session: StaffSession,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Preview>, ApiError> {
    check_token(&state, &session, &headers)?;
    let pdf = body.to_vec();
    let pages = tokio::task::spawn_blocking(move || -> Result<Preview, String> {
        let sizes = inkan_render::page_sizes(&pdf).map_err(|e| e.to_string())?;
        let mut pages = Vec::new();
        for (i, size) in sizes.iter().enumerate().take(PREVIEW_PAGES as usize) {
            let page = inkan_render::render_page(&pdf, i as u32 + 1, PREVIEW_WIDTH)
                .map_err(|e| e.to_string())?;
            pages.push(PreviewPage {
                width_pt: size.width_pt,
                height_pt: size.height_pt,
                image: format!("data:image/png;base64,{}", STANDARD.encode(&page.png)),
            });
        }
        Ok(Preview {
            pages,
            page_count: sizes.len(),
        })
    })
    .await
    .map_err(|e| ApiError::Service(ServiceError::failed("an internal task", e)))?
    .map_err(|e| {
        ApiError::Service(ServiceError::Invalid(format!(
            "このファイルは PDF として読み取れません (this file cannot be read as a PDF): {e}"
        )))
    })?;
    Ok(Json(pages))
}

/// What the compose page posts.
#[derive(Debug, Deserialize)]
pub(crate) struct Compose {
    envelope: NewEnvelope,
    #[serde(default)]
    send: bool,
}

/// Where the new envelope is.
#[derive(Debug, Serialize)]
pub(crate) struct Created {
    id: String,
    url: String,
}

/// How the compose page's upload is sent on.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CreateQuery {
    #[serde(default)]
    send: bool,
}

/// `POST /app/envelopes[?send=true]`: creates the draft from the page's upload (multipart, the
/// files streamed one at a time; or JSON with base64 files), and sends it when asked.
pub(crate) async fn create(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    headers: HeaderMap,
    Query(query): Query<CreateQuery>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    check_token(&state, &session, &headers)?;
    let (view, send) = if crate::upload::is_multipart(&headers) {
        let multipart = crate::upload::multipart(request, &state).await?;
        let view =
            crate::upload::receive_envelope(&state, &session.staff, multipart, &caller).await?;
        (view, query.send)
    } else {
        use axum::extract::FromRequest;
        let Json(compose) = Json::<Compose>::from_request(request, &state).await?;
        let view = state
            .inkan
            .create_envelope(&session.staff, &compose.envelope, &caller)
            .await?;
        (view, compose.send)
    };
    if send {
        state.inkan.send(&session.staff, &view.id, &caller).await?;
    }
    let url = format!("/app/envelopes/{}", percent_encode(&view.id));
    Ok((StatusCode::CREATED, Json(Created { id: view.id, url })).into_response())
}
