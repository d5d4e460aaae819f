//! The public verification page (`/verify`): anyone uploads a signed PDF and sees each
//! signature and timestamp, who signed and when, whether the document changed since, its LTV
//! status, and 「締結証明書ID と一致します」 when the ID on the document is that of an envelope
//! concluded here. A plain form (multipart), so it works without JavaScript; nothing of the
//! file is kept.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use inkan_pades::verify::report::{
    ChangeKind, SignatureKind, SignatureReport, TrustReport, TrustStatus,
};
use inkan_service::japan::rfc3339_in_jst;
use inkan_service::{ServiceError, Upload, Verification};
use maud::{html, Markup};

use crate::extract::Shared;
use crate::ui::error::{PageContext, UiResult};
use crate::ui::i18n::{Lang, Reader};
use crate::ui::layout::{self, page, Frame};

/// Largest upload of the page's form (the service reads at most 50 MB).
pub(crate) const MAX_VERIFY_FORM: usize = crate::api::verify::MAX_VERIFY_BODY;

fn form(lang: Lang) -> Markup {
    html! {
        form.verify-form method="post" action="/verify" enctype="multipart/form-data" {
            label for="file" { (lang.t("署名済みの PDF ファイル", "A signed PDF file")) }
            input #file type="file" name="file" accept="application/pdf,.pdf" required;
            button.primary #verify type="submit" { (lang.t("検証する", "Verify")) }
        }
        p.small { (lang.t(
            "アップロードされたファイルは検証にのみ使い、保存しません。失効情報は文書に埋め込まれたもの (DSS) で確認します。",
            "The file is used for this check only and is not kept. Revocation is checked with what the document embeds (its DSS)."
        )) }
    }
}

fn frame(lang: Lang) -> Frame<'static> {
    Frame::new(
        lang,
        lang.t("電子署名の検証", "Verify a signature"),
        "/verify",
    )
}

/// `GET /verify`.
pub(crate) async fn verify_page(Reader(lang): Reader) -> Response {
    let body = html! {
        section.verify {
            h1 { (lang.t("電子署名の検証", "Verify a signed PDF")) }
            p { (lang.t(
                "契約書などの PDF をアップロードすると、電子署名とタイムスタンプ、署名者と署名日時、署名後の変更の有無、長期検証 (LTV) の状態、締結証明書ID の照合結果を表示します。",
                "Upload a PDF to see its signatures and timestamps, who signed and when, whether it changed after signing, its long-term validation (LTV) status, and whether its 締結証明書ID (conclusion ID) matches a concluded contract."
            )) }
            (form(lang))
        }
    };
    layout::html(page(frame(lang), body))
}

/// The uploaded file of the form, streamed into `upload` piece by piece: its name.
async fn receive(mut multipart: Multipart, upload: &mut Upload) -> Result<String, ServiceError> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        ServiceError::Invalid(format!(
            "アップロードを読み取れません (the upload could not be read): {e}"
        ))
    };
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("contract.pdf").to_string();
            while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                upload.write(&chunk)?;
            }
            return Ok(name);
        }
    }
    Err(ServiceError::Invalid(
        "検証する PDF ファイルを選んでください (choose a PDF file to verify)".into(),
    ))
}

/// `POST /verify`.
pub(crate) async fn submit(
    State(state): State<Shared>,
    Reader(lang): Reader,
    multipart: Multipart,
) -> UiResult<Response> {
    // A place first: when the verifier is full, the upload is read through and dropped (a
    // browser still sending would otherwise see a reset connection instead of the page).
    let slot = match state.inkan.verification_slot() {
        Ok(slot) => slot,
        Err(busy) => {
            let mut multipart = multipart;
            while let Ok(Some(mut field)) = multipart.next_field().await {
                while let Ok(Some(_)) = field.chunk().await {}
            }
            return Err(busy).page(lang);
        }
    };
    let mut upload = state.inkan.receive_upload().page(lang)?;
    let result = match receive(multipart, &mut upload).await {
        Ok(name) => state.inkan.verify_received(slot, &name, upload).await,
        Err(e) => Err(e),
    };
    let verification = match result {
        Ok(v) => v,
        Err(ServiceError::Invalid(why)) => {
            // A file that is not a readable PDF: say so beside the form, to try another.
            let body = html! {
                section.verify {
                    h1 { (lang.t("検証結果", "Verification result")) }
                    p.verdict.bad #verdict role="alert" { (lang.t("この PDF は検証できません。", "This file cannot be verified.")) " " (why) }
                    (form(lang))
                }
            };
            return Ok((
                StatusCode::BAD_REQUEST,
                layout::html(page(frame(lang), body)),
            )
                .into_response());
        }
        Err(e) => return Err(e).page(lang),
    };
    Ok(layout::html(page(
        frame(lang),
        result_body(lang, &verification),
    )))
}

fn result_body(lang: Lang, v: &Verification) -> Markup {
    let ok = v.report.valid;
    html! {
        section.verify {
            h1 { (lang.t("検証結果", "Verification result")) }
            p #verdict class=(if ok { "verdict good" } else { "verdict bad" }) role="status" {
                (match lang { Lang::Ja => v.summary_ja(), Lang::En => v.summary_en() })
            }
            dl.facts {
                dt { (lang.t("ファイル名", "File")) } dd #file-name { (v.file_name) }
                dt { "SHA-256" } dd.mono { (v.sha256) }
                dt { (lang.t("改訂の数", "Revisions")) } dd { (v.report.revisions) }
            }
            (conclusion(lang, v))
            h2 { (lang.t("署名とタイムスタンプ", "Signatures and timestamps")) " (" (v.report.signatures.len()) ")" }
            div.signatures {
                @for s in &v.report.signatures { (signature(lang, s)) }
            }
            h2 { (lang.t("別の PDF を検証する", "Verify another PDF")) }
            (form(lang))
        }
    }
}

fn conclusion(lang: Lang, v: &Verification) -> Markup {
    let c = &v.conclusion;
    html! {
        div.conclusion #conclusion {
            @match (&c.id, c.matches) {
                (Some(id), true) => {
                    @if v.report.valid {
                        p.match-ok #conclusion-match { "✔ " (lang.t("締結証明書ID と一致します", "The 締結証明書ID matches a concluded contract")) }
                    } @else {
                        // The ID is printed on the pages, so a changed copy still shows it.
                        p.match-warn #conclusion-match { (lang.t("締結証明書ID と一致します", "The 締結証明書ID matches a concluded contract")) }
                        p.errors #conclusion-caveat { (lang.t(
                            "ただし、このファイルの署名は有効ではありません。締結された文書そのものであるとは言えません。",
                            "But this file's signatures are not valid: it cannot be taken for the concluded document itself."
                        )) }
                    }
                    dl.facts {
                        dt { (lang.t("締結証明書ID", "Conclusion ID")) } dd.mono #conclusion-id { (id) }
                        @if let Some(t) = &c.title { dt { (lang.t("文書名", "Title")) } dd { (t) } }
                        @if let Some(s) = &c.sender { dt { (lang.t("送り主", "Sender")) } dd { (s) } }
                        @if let Some(at) = &c.concluded_at { dt { (lang.t("締結日時", "Concluded")) } dd { (at) } }
                    }
                    @match &c.identical_to {
                        Some(name) => p.small #identical { (lang.t("保管されている締結済みの文書と同一のファイルです: ", "This file is identical to the stored concluded document: ")) (name) }
                        None => p.small #not-identical { (lang.t(
                            "保管されている締結済みの文書とバイト単位では一致しません（長期署名の更新後の版か、変更された版です）。上の署名の検証結果をご確認ください。",
                            "This file is not byte for byte the stored concluded document (a later archive-timestamped copy, or a changed one): see the signature results above."
                        )) }
                    }
                }
                (Some(id), false) => {
                    p.match-none #conclusion-nomatch { (lang.t("この締結証明書IDに一致する締結済みの文書はありません: ", "No concluded contract has this 締結証明書ID: ")) span.mono { (id) } }
                }
                (None, _) => {
                    p.match-none #conclusion-absent { (lang.t("この文書には締結証明書IDが見つかりません。", "No 締結証明書ID was found on this document.")) }
                }
            }
        }
    }
}

fn signature(lang: Lang, s: &SignatureReport) -> Markup {
    let kind = match s.kind {
        SignatureKind::Signature if s.certification.is_some() => {
            lang.t("電子署名（作成者の証明）", "Signature (certification)")
        }
        SignatureKind::Signature => lang.t("電子署名", "Signature"),
        SignatureKind::DocumentTimestamp => lang.t("文書タイムスタンプ", "Document timestamp"),
    };
    let signer = s.signer.as_ref();
    let time = s
        .timestamp
        .as_ref()
        .filter(|t| t.ok)
        .and_then(|t| t.time.clone())
        .or_else(|| s.claimed_signing_time.clone());
    let changed = if !s.integrity.ok {
        lang.t(
            "署名後に文書が改ざんされています",
            "The document was altered after signing",
        )
        .to_string()
    } else if s.modifications.kind == ChangeKind::Nothing {
        lang.t("署名後の変更はありません", "No change since signing")
            .to_string()
    } else if s.modifications.allowed {
        format!(
            "{} ({})",
            lang.t(
                "署名後に許可された変更のみ",
                "Only permitted changes since signing"
            ),
            change_kind(lang, s.modifications.kind)
        )
    } else {
        format!(
            "{} ({})",
            lang.t(
                "署名後に許可されていない変更があります",
                "Changes not permitted since signing"
            ),
            change_kind(lang, s.modifications.kind)
        )
    };
    html! {
        article.sigcard data-valid=(s.valid) {
            div.heading {
                strong { (s.index) ". " (kind) }
                span class=(if s.valid { "badge good" } else { "badge bad" }) { (if s.valid { lang.t("有効", "Valid") } else { lang.t("無効", "Not valid") }) }
            }
            dl.facts {
                @if let Some(c) = signer {
                    dt { (lang.t("署名者", "Signer")) }
                    dd.signer {
                        (c.common_name.clone().unwrap_or_else(|| c.subject.clone()))
                        @if let Some(o) = &c.organization { " / " (o) }
                        @if let Some(e) = &c.email { " <" (e) ">" }
                    }
                    dt { (lang.t("証明書", "Certificate")) } dd.small { (c.subject) " — " (lang.t("発行者", "issued by")) " " (c.issuer) }
                }
                @if let Some(name) = &s.name { dt { (lang.t("署名者名", "Name")) } dd { (name) } }
                @if let Some(r) = &s.reason { dt { (lang.t("理由", "Reason")) } dd { (r) } }
                @if let Some(t) = &time { dt { (lang.t("署名日時", "Signed at")) } dd { (rfc3339_in_jst(t)) } }
                @if let Some(ts) = &s.timestamp {
                    dt { (lang.t("タイムスタンプ", "Timestamp")) }
                    dd {
                        (if ts.ok { lang.t("有効", "valid") } else { lang.t("無効", "not valid") })
                        @if let Some(t) = &ts.time { " · " (rfc3339_in_jst(t)) }
                        @if let Some(tsa) = &ts.tsa { " · " (tsa.common_name.clone().unwrap_or_else(|| tsa.subject.clone())) }
                    }
                }
                dt { (lang.t("署名後の変更", "Changed since")) } dd.changes { (changed) }
                dt { (lang.t("長期検証 (LTV)", "Long-term validation (LTV)")) }
                dd.ltv {
                    (if s.ltv { lang.t("有効 (検証情報が埋め込まれています)", "enabled (validation data embedded)") } else { lang.t("なし", "not enabled") })
                    @if let Some(level) = &s.level { " · " (level) }
                }
                dt { (lang.t("信頼", "Trust")) } dd.small { (trust(lang, &s.trust)) }
            }
            @if !s.errors.is_empty() {
                ul.errors { @for e in &s.errors { li { (e) } } }
            }
        }
    }
}

/// What changed since signing, in the reader's language.
fn change_kind(lang: Lang, kind: ChangeKind) -> &'static str {
    let (ja, en) = kind.names();
    lang.t(ja, en)
}

/// The trust verdict in the reader's language: the root it ends in when trusted, else why not
/// (the validator's technical reason, which names certificates, in small print).
fn trust(lang: Lang, t: &TrustReport) -> Markup {
    let root = t.chain.last().map(String::as_str).unwrap_or("");
    html! {
        @match t.status {
            TrustStatus::Trusted => {
                (lang.t("信頼できる認証局につながっています: ", "Chains to a trusted root: ")) (root)
            }
            TrustStatus::NotTrusted => {
                (lang.t("信頼されていない認証局の証明書です", "The certificate's root is not trusted"))
                br; span.hint { (t.message) }
            }
            TrustStatus::Invalid => {
                (lang.t("証明書の経路が正しくありません", "The certificate path is not valid"))
                br; span.hint { (t.message) }
            }
            TrustStatus::NotChecked => {
                (lang.t("署名が検証できないため確認していません", "Not checked: the signature did not verify"))
            }
        }
    }
}
