//! The page behind the completion email: 「全ての手続きが完了しました」, a 「ダウンロード」 per document,
//! and 署名の進行状況. Valid for 14 days; then the seeds' Not Found page.

use axum::extract::State;
use axum::response::Response;
use inkan_service::japan::format_japanese;
use maud::html;

use crate::extract::{CallerInfo, Path, Shared};
use crate::render::percent_encode;
use crate::ui::error::{PageContext, UiResult};
use crate::ui::i18n::Reader;
use crate::ui::layout::{self, page, Frame};
use crate::ui::signer::progress;

/// `GET /c/{token}`.
pub(crate) async fn completion_page(
    State(state): State<Shared>,
    Reader(lang): Reader,
    CallerInfo(caller): CallerInfo,
    Path(token): Path<String>,
) -> UiResult<Response> {
    let view = state.inkan.completion(&token, &caller).await.page(lang)?;
    let t = percent_encode(&token);
    let body = html! {
        section.completion {
            h1 #completed { (lang.t("全ての手続きが完了しました", "Every step is complete")) }
            p { (lang.t("全ての関係者が手続きを完了しました。PDF文書は下記からダウンロードしてください。",
                "Every party has completed the procedure. Download the PDF documents below.")) }
            h2.title { (view.envelope.title) }
            ul.downloads {
                @for (i, d) in view.documents.iter().enumerate() {
                    li {
                        span.docname { (lang.t("文書", "Document")) (i + 1) "：" (d.name) }
                        " "
                        a.button.download href=(format!("/api/v1/completion/{t}/documents/{}", percent_encode(&d.id))) download {
                            "↓ " (lang.t("ダウンロード", "Download"))
                        }
                    }
                }
            }
            @if view.envelope.has_certificate {
                p.certificate {
                    span.docname { (lang.t("電子契約締結証明書", "Certificate of conclusion")) }
                    " "
                    a.button.download #certificate href=(format!("/api/v1/completion/{t}/certificate")) download {
                        "↓ " (lang.t("ダウンロード", "Download"))
                    }
                }
            }
            @if let Some(at) = view.expires_at {
                p.expiry { (lang.t("ダウンロード有効期限", "Downloads available until")) ": " (format_japanese(at)) }
            }
            (progress(lang, &view.progress, false))
            p.small.library-hint {
                (lang.t("有効期限を過ぎた後も、", "After the link expires, "))
                a href="/my/login" { (lang.t("無料の署名者アカウント", "a free signer account")) }
                (lang.t("で「文書管理」からダウンロードできます。", " keeps these documents in your library."))
            }
        }
    };
    let path = format!("/c/{t}");
    Ok(layout::html(page(
        Frame::new(lang, &view.envelope.title, &path),
        body,
    )))
}
