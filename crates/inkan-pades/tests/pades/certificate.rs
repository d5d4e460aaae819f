//! The certificate of conclusion (電子契約締結証明書): every value readable with pdftotext, the
//! font embedded, pages that break cleanly with the ID line and "n / N" on each, a plain PDF
//! that signs and verifies; and the 締結証明書ID read back from certificates, stamped contracts
//! and signed files — never from foreign ones, never with a panic.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{qpdf_clean, sample_pdf, served};
use inkan_pades::font::Font;
use inkan_pades::{
    conclusion_id, render_certificate, render_plain_document, CertifiedDocument,
    ConclusionCertificate, Level, SignOptions, SigningOperation, VerifyOptions,
};
use inkan_pdf::Document;
use inkan_testkit::{require_tool, run_ok, skip_or_fail};
use std::path::Path;
use std::process::Command;

const ID: &str = "7dfd11d5126db4c1699470984eec8b02";

fn japanese_font() -> Option<Font> {
    match Font::japanese() {
        Ok(font) => Some(font),
        Err(e) => {
            skip_or_fail(&format!("{e} (apt install fonts-ipaexfont-gothic)"));
            None
        }
    }
}

fn operation(i: usize) -> SigningOperation {
    match i % 3 {
        0 => SigningOperation {
            at: format!("2026/11/{:02} 13:{:02} (JST)", 1 + i % 28, i % 60),
            ip: "203.0.113.45".into(),
            method: "実印タイプ".into(),
            signer: vec![
                "CN 山田 太郎".into(),
                "O 株式会社盛岡商事".into(),
                "C JP".into(),
            ],
            authentication: "電子証明書".into(),
        },
        1 => SigningOperation {
            at: format!("2026/11/{:02} 14:{:02} (JST)", 1 + i % 28, i % 60),
            ip: "2001:db8::17".into(),
            method: "契約印タイプ".into(),
            signer: vec![
                "株式会社岩手工務店".into(),
                "佐藤 花子".into(),
                "hanako@example.jp".into(),
            ],
            authentication: "メールアドレス認証".into(),
        },
        _ => SigningOperation {
            at: format!("2026/11/{:02} 15:{:02} (JST)", 1 + i % 28, i % 60),
            ip: String::new(),
            method: "契約印タイプ".into(),
            signer: vec!["合同会社北上".into(), "鈴木 一郎".into()],
            authentication: "アクセスコード認証".into(),
        },
    }
}

fn certificate(operations: usize) -> ConclusionCertificate {
    ConclusionCertificate {
        title: "業務委託契約書".into(),
        number: "INK-2026-0042".into(),
        creator: "株式会社盛岡商事 法務部".into(),
        creator_email: "legal@example.co.jp".into(),
        conclusion_id: ID.into(),
        concluded_at: "2026/11/30 13:05 (JST)".into(),
        documents: vec![
            CertifiedDocument {
                name: "業務委託契約書.pdf".into(),
                pages: 3,
                sha256: "a".repeat(64),
            },
            CertifiedDocument {
                name: "秘密保持契約書.pdf".into(),
                pages: 2,
                sha256: "0123456789abcdef".repeat(4),
            },
            CertifiedDocument {
                name: "個別契約書.pdf".into(),
                pages: 12,
                sha256: "fedcba9876543210".repeat(4),
            },
        ],
        operations: (0..operations).map(operation).collect(),
        issued_by: "Inkan 電子契約サービス (盛岡市)".into(),
    }
}

fn pdftotext(pdf: &Path, page: Option<usize>) -> String {
    let mut cmd = Command::new("pdftotext");
    cmd.arg("-layout");
    if let Some(p) = page {
        cmd.args(["-f", &p.to_string(), "-l", &p.to_string()]);
    }
    run_ok(cmd.arg(pdf).arg("-"))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn id_of(bytes: &[u8]) -> Option<String> {
    conclusion_id(&Document::open(bytes.to_vec()).unwrap()).unwrap()
}

#[test]
fn every_value_is_printed_and_the_font_is_embedded() {
    let Some(font) = japanese_font() else { return };
    let cert = certificate(3);
    let pdf = render_certificate(&cert, &font).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "certificate.pdf", &pdf);
    if let Some((ok, text)) = qpdf_clean(&path) {
        assert!(ok, "qpdf --check:\n{text}");
    }
    assert_eq!(id_of(&pdf).as_deref(), Some(ID));
    if require_tool(
        "pdftotext",
        "reads the certificate back (apt install poppler-utils)",
    )
    .is_none()
    {
        return;
    }
    let text = pdftotext(&path, None);
    let mut expected = vec![
        "電子契約締結証明書".to_string(),
        "Certificate of Conclusion".into(),
        cert.title.clone(),
        cert.number.clone(),
        cert.creator.clone(),
        cert.creator_email.clone(),
        cert.concluded_at.clone(),
        cert.issued_by.clone(),
        format!("締結証明書ID: {ID}"),
        "1 / 1".into(),
        "不明".into(),
    ];
    for d in &cert.documents {
        expected.extend([d.name.clone(), d.sha256.clone(), format!(" {} ", d.pages)]);
    }
    for op in &cert.operations {
        expected.extend([op.at.clone(), op.method.clone(), op.authentication.clone()]);
        if !op.ip.is_empty() {
            expected.push(op.ip.clone());
        }
        expected.extend(op.signer.iter().cloned());
    }
    for value in expected {
        assert!(text.contains(&value), "{value:?} missing from:\n{text}");
    }
    // The time is on the line above the IP, in the same column.
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(&cert.operations[0].at))
        .unwrap();
    assert!(
        lines[at + 1].trim_start().starts_with("203.0.113.45"),
        "{text}"
    );

    if require_tool("pdffonts", "lists embedded fonts").is_some() {
        let fonts = run_ok(Command::new("pdffonts").arg(&path));
        let line = fonts
            .lines()
            .find(|l| l.contains("CID TrueType"))
            .unwrap_or_else(|| panic!("{fonts}"));
        assert!(
            line.contains("yes yes yes"),
            "embedded, subset, ToUnicode: {fonts}"
        );
        assert_eq!(fonts.lines().count(), 3, "one font only: {fonts}");
    }
}

#[test]
fn many_operations_break_into_pages_with_the_id_and_page_numbers() {
    let Some(font) = japanese_font() else { return };
    let cert = certificate(60);
    let pdf = render_certificate(&cert, &font).unwrap();
    let doc = Document::open(pdf.clone()).unwrap();
    let pages = doc.page_count().unwrap();
    assert!(pages >= 3, "{pages} pages");
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "long.pdf", &pdf);
    if let Some((ok, text)) = qpdf_clean(&path) {
        assert!(ok, "qpdf --check:\n{text}");
    }
    if require_tool("pdftotext", "reads the pages back").is_none() {
        return;
    }
    let mut all = String::new();
    for page in 1..=pages {
        let text = pdftotext(&path, Some(page));
        assert!(
            text.contains(&format!("締結証明書ID: {ID}")),
            "page {page}:\n{text}"
        );
        assert!(
            text.contains(&format!("{page} / {pages}")),
            "page {page}:\n{text}"
        );
        if page > 1 {
            assert!(
                text.contains("署名者情報"),
                "header repeated on page {page}:\n{text}"
            );
        }
        all.push_str(&text);
    }
    // Nothing is cut: every operation's time and every signer line is there.
    for op in &cert.operations {
        assert!(all.contains(&op.at), "{} missing", op.at);
    }
    assert_eq!(all.matches("CN 山田 太郎").count(), 20);
    assert_eq!(all.matches("hanako@example.jp").count(), 20);
    assert_eq!(all.matches("鈴木 一郎").count(), 20);
    assert!(all.contains(&cert.issued_by));
}

#[test]
fn odd_input_still_gives_a_valid_pdf() {
    let Some(font) = japanese_font() else { return };
    let empty = ConclusionCertificate {
        conclusion_id: ID.to_uppercase(),
        ..Default::default()
    };
    let pdf = render_certificate(&empty, &font).unwrap();
    assert_eq!(id_of(&pdf).as_deref(), Some(ID));

    let long = "長い文書名".repeat(200);
    let mut hostile = certificate(1);
    hostile.title = format!("{long}\u{0}\u{1b}[31m\r\n改行");
    hostile.operations[0].signer = vec!["ｗ".repeat(3000)];
    hostile.documents[0].sha256 = "f".repeat(500);
    let pdf = render_certificate(&hostile, &font).unwrap();
    assert_eq!(id_of(&pdf).as_deref(), Some(ID));
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "hostile.pdf", &pdf);
    if let Some((ok, text)) = qpdf_clean(&path) {
        assert!(ok, "qpdf --check:\n{text}");
    }
    if require_tool("pdftotext", "reads the pages back").is_some() {
        let text = pdftotext(&path, None);
        // Wrapped lines interleave with the label column's English in the layout.
        let squeezed: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .replace("Documenttitle", "");
        assert_eq!(
            squeezed.matches("長い文書名").count(),
            200,
            "the title is all there"
        );
        assert_eq!(
            squeezed.matches('ｗ').count(),
            3000,
            "the signer line is all there"
        );
        assert!(!text.contains('\u{1b}'), "control characters are removed");
    }

    let mut bad = certificate(0);
    bad.conclusion_id = "not an id".into();
    assert!(render_certificate(&bad, &font).is_err());
}

#[test]
fn the_certificate_signs_and_verifies_with_its_id() {
    let Some(font) = japanese_font() else { return };
    let pdf = render_certificate(&certificate(3), &font).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let input = write(tmp.path(), "certificate.pdf", &pdf);
    let signed = tmp.path().join("signed.pdf");
    let s = served();
    let key = s.pki.witness_key().unwrap();
    common::sign(
        &input,
        &signed,
        &key,
        &s.pki.witness_certificate(),
        &SignOptions::new(Level::BT),
    )
    .unwrap();
    let bytes = std::fs::read(&signed).unwrap();
    assert!(bytes.starts_with(&pdf), "signed incrementally");
    assert_eq!(id_of(&bytes).as_deref(), Some(ID));

    let anchors = inkan_pki::x509::from_pem_or_der(&std::fs::read(&s.root_pem).unwrap()).unwrap();
    let options = VerifyOptions {
        anchors,
        offline: false,
        timeout: std::time::Duration::from_secs(5),
        ..VerifyOptions::default()
    };
    let report = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(inkan_pades::verify_pdf(&signed, &options))
        .unwrap();
    assert!(
        report.valid,
        "{}",
        inkan_pades::verify::render_text(&report)
    );
    assert_eq!(report.conclusion_id.as_deref(), Some(ID));
    let text = inkan_pades::verify::render_text(&report);
    assert!(
        text.contains(&format!("締結証明書ID / Conclusion ID: {ID}")),
        "{text}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["conclusion_id"], ID);
    common::assert_valid_everywhere(&signed, &s.root_pem);
}

#[test]
fn the_id_is_read_from_stamped_and_signed_contracts_but_not_foreign_files() {
    let Some(font) = japanese_font() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let input = write(tmp.path(), "in.pdf", &sample_pdf(2));
    assert_eq!(id_of(&sample_pdf(2)), None, "a foreign PDF shows no ID");
    let stamped = tmp.path().join("stamped.pdf");
    inkan_pades::stamp_every_page(&input, &stamped, &format!("締結証明書ID: {ID}"), &font).unwrap();
    assert_eq!(
        id_of(&std::fs::read(&stamped).unwrap()).as_deref(),
        Some(ID)
    );

    let s = served();
    let key = s.pki.witness_key().unwrap();
    let signed = tmp.path().join("signed.pdf");
    common::sign(
        &stamped,
        &signed,
        &key,
        &s.pki.witness_certificate(),
        &SignOptions::new(Level::BB),
    )
    .unwrap();
    assert_eq!(id_of(&std::fs::read(&signed).unwrap()).as_deref(), Some(ID));

    // An unsigned foreign file's report has no ID either.
    let report = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(inkan_pades::verify_pdf(
            &input,
            &VerifyOptions {
                offline: true,
                ..Default::default()
            },
        ))
        .unwrap();
    assert_eq!(report.conclusion_id, None);
}

#[test]
fn garbled_certificates_never_panic() {
    let Some(font) = japanese_font() else { return };
    let pdf = render_certificate(&certificate(3), &font).unwrap();
    // A small deterministic generator: the same cases every run.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let step = (pdf.len() / 97).max(1);
    for cut in (0..pdf.len()).step_by(step) {
        if let Ok(doc) = Document::open(pdf[..cut].to_vec()) {
            let _ = conclusion_id(&doc);
        }
    }
    for _ in 0..300 {
        let mut copy = pdf.clone();
        for _ in 0..1 + next() % 8 {
            let at = (next() % copy.len() as u64) as usize;
            match next() % 3 {
                0 => copy[at] = next() as u8,
                1 => {
                    copy.remove(at);
                }
                _ => copy.insert(at, b"()<>[]{}/%0 R"[(next() % 13) as usize]),
            }
        }
        if let Ok(doc) = Document::open(copy) {
            let _ = conclusion_id(&doc);
        }
    }
}

/// A plain document (the demo's contracts): the title and every paragraph readable, pages
/// numbered, no 締結証明書ID (it is not a certificate), a clean PDF.
#[test]
fn a_plain_document_lays_out_its_paragraphs_on_numbered_pages() {
    let Some(font) = japanese_font() else { return };
    let article = "第1条（目的）甲は、乙に対し、庁舎の清掃業務を委託し、乙はこれを受託する。";
    let mut paragraphs = vec![article; 80];
    paragraphs.push("");
    paragraphs.push("令和　　年　　月　　日");
    let pdf = render_plain_document("業務委託契約書", &paragraphs, &font).unwrap();
    let doc = Document::open(pdf.clone()).unwrap();
    let pages = doc.page_count().unwrap();
    assert!(pages >= 2, "{pages} pages");
    assert_eq!(id_of(&pdf), None);
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "plain.pdf", &pdf);
    if let Some((ok, text)) = qpdf_clean(&path) {
        assert!(ok, "qpdf --check:\n{text}");
    }
    if require_tool("pdftotext", "reads the pages back").is_none() {
        return;
    }
    let all = pdftotext(&path, None);
    assert!(all.contains("業務委託契約書"), "{all}");
    assert_eq!(all.matches("第1条（目的）").count(), 80, "{all}");
    assert!(all.contains("令和"), "{all}");
    assert!(all.contains(&format!("{pages} / {pages}")), "{all}");
    assert!(!all.contains("締結証明書ID"), "{all}");
}
