//! Placeholder pages behind the links in the emails (`/s/{token}`, `/c/{token}`), so that a link
//! opens something useful before the real signing screens exist: the envelope, its sender and
//! deadline, and download links into the JSON API. Every value is escaped.

use axum::extract::State;
use axum::response::Html;
use inkan_service::{DocumentView, EnvelopeSummary};

use crate::error::PageError;
use crate::extract::{CallerInfo, Path, Shared};
use crate::render::{escape, page, paragraphs, percent_encode};

/// `GET /s/{token}`: the signature or approval request.
pub(crate) async fn signer(
    State(state): State<Shared>,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
) -> Result<Html<String>, PageError> {
    let view = state.inkan.open_link(&token, &caller).await?;
    let base = format!("/api/v1/sign/{}/documents", percent_encode(&token));
    let mut body = summary(&view.envelope);
    body.push_str(&format!(
        "<p>宛先 (to): {} &lt;{}&gt;</p>\n",
        escape(&view.recipient.name),
        escape(&view.recipient.email)
    ));
    body.push_str(&documents(&base, &view.documents));
    body.push_str(
        "<p>署名画面は準備中です。文書をダウンロードしてご確認ください。<br>\n\
         The signing screen is coming soon; download the documents to review them.</p>\n",
    );
    Ok(Html(page(&view.envelope.title, &body)))
}

/// `GET /c/{token}`: the concluded envelope and its signed documents.
pub(crate) async fn completion(
    State(state): State<Shared>,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
) -> Result<Html<String>, PageError> {
    let view = state.inkan.completion(&token, &caller).await?;
    let base = format!("/api/v1/completion/{}/documents", percent_encode(&token));
    let mut body =
        paragraphs("全ての手続きが完了しました。\nEvery party has completed the procedure.");
    body.push_str(&summary(&view.envelope));
    body.push_str(&documents(&base, &view.documents));
    if let Some(at) = view.expires_at {
        body.push_str(&format!(
            "<p>ダウンロード期限 (links work until): {}</p>\n",
            escape(&inkan_service::japan::format_japanese(at))
        ));
    }
    Ok(Html(page(&view.envelope.title, &body)))
}

fn summary(e: &EnvelopeSummary) -> String {
    let mut out = String::from("<dl>\n");
    let mut row = |term: &str, value: &str| {
        if !value.trim().is_empty() {
            out.push_str(&format!(
                "<dt>{}</dt><dd>{}</dd>\n",
                escape(term),
                escape(value)
            ));
        }
    };
    row("差出人 (sender)", &e.sender_name);
    row("管理番号 (number)", &e.number);
    row("状態 (status)", &e.status_label);
    row("署名期限 (deadline)", &e.deadline_text);
    row("締結証明書ID (conclusion ID)", &e.conclusion_id);
    out.push_str("</dl>\n");
    out.push_str(&paragraphs(&e.message));
    out
}

fn documents(base: &str, docs: &[DocumentView]) -> String {
    let mut out = String::from("<h2>文書 (documents)</h2>\n<ul>\n");
    for d in docs {
        out.push_str(&format!(
            "<li><a href=\"{}/{}\" download>{}</a> ({} ページ / pages)</li>\n",
            escape(base),
            escape(&percent_encode(&d.id)),
            escape(&d.name),
            d.pages
        ));
    }
    out.push_str("</ul>\n");
    out
}
