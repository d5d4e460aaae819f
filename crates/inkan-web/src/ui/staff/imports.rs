//! 取込: contracts concluded outside Inkan (scanned paper, PDFs from another service) brought
//! into 文書管理 from the page — the CSV that lists them and the PDFs, in one form. The PDFs are
//! written to a temporary folder as they arrive (memory holds one piece at a time); every row
//! is checked, with its file, before the first is imported; then each is imported with its
//! document timestamp, and the page lists what became of every row.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use inkan_service::{ImportRow, ServiceError};
use maud::{html, Markup};
use std::io::Write;

use super::StaffSession;
use crate::extract::{CallerInfo, Shared};
use crate::render::percent_encode;
use crate::ui::error::{PageContext, UiResult};
use crate::ui::layout::{self, expired_form, page};

const PATH: &str = "/app/imports";

fn form(session: &StaffSession) -> Markup {
    let lang = session.lang;
    html! {
        form.import #import-form method="post" action=(PATH) enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(session.csrf);
            p { (lang.t(
                "CSV の見出し: ファイル, 件名, 管理番号, 取引先, 取引年月日 (YYYY-MM-DD), 金額, 種別。Excel の CSV (UTF-8 / Shift_JIS) のままで構いません。",
                "CSV headers: file, title, number, counterparty, date (YYYY-MM-DD), amount, kind. A CSV saved by Excel (UTF-8 or Shift_JIS) is fine.")) }
            label for="import-csv" { (lang.t("一覧 (CSV)", "List (CSV)")) }
            input #import-csv type="file" name="csv" accept=".csv,text/csv" required;
            label for="import-pdfs" { (lang.t("PDF (複数選択できます)", "PDFs (choose several)")) }
            input #import-pdfs type="file" name="pdf" accept=".pdf,application/pdf" multiple required;
            button.primary #import-submit type="submit" { (lang.t("取り込む", "Import")) }
        }
    }
}

fn frame_page(session: &StaffSession, body: Markup) -> Response {
    let title = session.lang.t("書面・他社の契約の取込", "Import contracts");
    layout::html(page(session.frame(title, PATH), body)).into_response()
}

/// `GET /app/imports`.
pub(crate) async fn import_page(session: StaffSession) -> UiResult<Response> {
    let lang = session.lang;
    let body = html! {
        section.imports {
            h1 { (lang.t("書面・他社の契約の取込", "Import contracts")) }
            p { (lang.t(
                "紙の契約書のスキャンや他の電子契約サービスの PDF を、取引先・取引年月日・金額・種別と一緒に文書管理へ取り込みます。PDF はそのまま保管し、タイムスタンプを付けます。",
                "Scans of paper contracts and PDFs from other services go into Documents with their counterparty, date, amount and kind. Each PDF is kept as it is, with a timestamp added.")) }
            (form(&session))
        }
    };
    Ok(frame_page(&session, body))
}

/// What the form sent: the manifest's bytes and the PDFs, saved under their names.
struct Received {
    csrf: Option<String>,
    manifest: Option<Vec<u8>>,
    files: tempfile::TempDir,
    names: Vec<String>,
}

async fn receive(mut multipart: Multipart) -> Result<Received, ServiceError> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        ServiceError::Invalid(format!(
            "アップロードを読み取れません (the upload could not be read): {e}"
        ))
    };
    let files = tempfile::tempdir().map_err(|e| ServiceError::failed("a temporary folder", e))?;
    let mut received = Received {
        csrf: None,
        manifest: None,
        files,
        names: Vec::new(),
    };
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name().unwrap_or_default() {
            "csrf" => received.csrf = Some(field.text().await.map_err(unreadable)?),
            "csv" => received.manifest = Some(field.bytes().await.map_err(unreadable)?.to_vec()),
            "pdf" => {
                let name = field.file_name().unwrap_or_default().to_string();
                // A browser sends an empty part when no file was chosen.
                if name.is_empty() {
                    continue;
                }
                if name.contains(['/', '\\'])
                    || name.starts_with('.')
                    || received.names.contains(&name)
                {
                    return Err(ServiceError::Invalid(format!(
                        "ファイル名 {name:?} は使えません (a PDF's name must be a plain, unique file name)"
                    )));
                }
                let path = received.files.path().join(&name);
                let mut file = std::fs::File::create(&path)
                    .map_err(|e| ServiceError::failed("a temporary file", e))?;
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    file.write_all(&chunk)
                        .map_err(|e| ServiceError::failed("a temporary file", e))?;
                }
                received.names.push(name);
            }
            _ => {}
        }
    }
    Ok(received)
}

/// What became of one row.
struct Outcome {
    row: ImportRow,
    result: Result<String, String>,
}

/// `POST /app/imports`.
pub(crate) async fn import(
    State(state): State<Shared>,
    session: StaffSession,
    CallerInfo(caller): CallerInfo,
    multipart: Multipart,
) -> UiResult<Response> {
    let lang = session.lang;
    let received = receive(multipart).await.staff_page(lang)?;
    if !session.csrf_ok(&state, received.csrf.as_deref()) {
        return Ok(expired_form(lang));
    }
    let refuse = |why: String| {
        let body = html! {
            section.imports {
                h1 { (lang.t("書面・他社の契約の取込", "Import contracts")) }
                p.error role="alert" { (lang.pick(&why)) }
                (form(&session))
            }
        };
        let mut response = frame_page(&session, body);
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response
    };
    let Some(manifest) = received.manifest.as_deref() else {
        return Ok(refuse(
            "一覧の CSV を選んでください (choose the CSV list)".into(),
        ));
    };
    let rows = match inkan_service::parse_manifest(manifest) {
        Ok(rows) => rows,
        Err(e) => return Ok(refuse(e.to_string())),
    };
    // Every file before the first import.
    if let Some(row) = rows.iter().find(|r| !received.names.contains(&r.file)) {
        return Ok(refuse(format!(
            "{}行目「ファイル」: {} が選ばれていません (line {}: the PDF {} was not chosen)",
            row.line, row.file, row.line, row.file
        )));
    }
    let mut outcomes = Vec::new();
    for row in rows {
        let path = received.files.path().join(&row.file);
        let result = match std::fs::read(&path) {
            Ok(pdf) => state
                .inkan
                .import_contract(&session.staff, &row.input, pdf, &caller)
                .await
                .map(|view| view.id)
                .map_err(|e| lang.pick(&e.to_string()).to_string()),
            Err(e) => Err(e.to_string()),
        };
        outcomes.push(Outcome { row, result });
    }
    let imported = outcomes.iter().filter(|o| o.result.is_ok()).count();
    let body = html! {
        section.imports {
            h1 { (lang.t("取込の結果", "Import results")) }
            p #import-summary {
                @if lang == crate::ui::i18n::Lang::Ja {
                    (imported) " 件を取り込みました。失敗 " (outcomes.len() - imported) " 件。"
                } @else {
                    (imported) " imported, " (outcomes.len() - imported) " failed."
                }
            }
            (layout::wide_table(lang.t("取込の結果", "Import results"), html! {
                table.list #import-results {
                    thead { tr {
                        th { (lang.t("行", "Line")) } th { (lang.t("ファイル", "File")) }
                        th { (lang.t("取引先", "Counterparty")) } th { (lang.t("結果", "Result")) }
                    } }
                    tbody {
                        @for o in &outcomes {
                            tr {
                                td.num { (o.row.line) }
                                td { (o.row.file) }
                                td { (o.row.input.metadata.counterparty.as_deref().unwrap_or("")) }
                                td {
                                    @match &o.result {
                                        Ok(id) => { a href=(format!("/app/envelopes/{}", percent_encode(id))) { (lang.t("取込済み", "Imported")) } }
                                        Err(why) => { span.error { (why) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }))
            p { a href="/app/documents" { (lang.t("文書管理へ", "To Documents")) } }
        }
    };
    Ok(frame_page(&session, body))
}
