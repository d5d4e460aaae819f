//! What people see on the page: the 締結証明書ID line on every page, with an embedded Japanese
//! font subset, and signatures that stay valid on top of it.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{assert_valid_everywhere, sample_pdf, served};
use inkan_pades::font::Font;
use inkan_testkit::{require_tool, run_ok, skip_or_fail};
use std::process::Command;

fn japanese_font() -> Option<Font> {
    match Font::japanese() {
        Ok(font) => Some(font),
        Err(e) => {
            skip_or_fail(&format!("{e} (apt install fonts-ipaexfont-gothic)"));
            None
        }
    }
}

const ID_LINE: &str = "締結証明書ID: 7dfd11d5126db4c1699470984eec8b02";

#[test]
fn the_id_is_stamped_on_every_page_and_extractable() {
    let Some(font) = japanese_font() else { return };
    if require_tool(
        "pdftotext",
        "reads the stamped text back (apt install poppler-utils)",
    )
    .is_none()
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.pdf");
    std::fs::write(&input, sample_pdf(3)).unwrap();
    let stamped = tmp.path().join("stamped.pdf");
    inkan_pades::stamp_every_page(&input, &stamped, ID_LINE, &font).unwrap();
    assert!(std::fs::read(&stamped)
        .unwrap()
        .starts_with(&std::fs::read(&input).unwrap()));
    for page in 1..=3 {
        let text = run_ok(
            Command::new("pdftotext")
                .args(["-f", &page.to_string(), "-l", &page.to_string(), "-layout"])
                .arg(&stamped)
                .arg("-"),
        );
        assert!(text.contains(ID_LINE), "page {page}: {text}");
        assert!(
            text.contains(&format!("Contract page {page}")),
            "the page's own text is intact: {text}"
        );
    }
    // The font is embedded (a subset), so the text shows the same everywhere.
    if require_tool("pdffonts", "lists embedded fonts").is_some() {
        let fonts = run_ok(Command::new("pdffonts").arg(&stamped));
        let line = fonts
            .lines()
            .find(|l| l.contains("CID TrueType"))
            .unwrap_or_else(|| panic!("{fonts}"));
        assert!(
            line.contains("yes yes yes"),
            "embedded, subset, with ToUnicode: {fonts}"
        );
    }

    // Signing afterwards is valid everywhere; stamping a signed file is refused.
    let s = served();
    let key = s.pki.witness_key().unwrap();
    let signed = tmp.path().join("signed.pdf");
    common::sign(
        &stamped,
        &signed,
        &key,
        &s.pki.witness_certificate(),
        &inkan_pades::SignOptions::new(inkan_pades::Level::BLTA),
    )
    .unwrap();
    assert_valid_everywhere(&signed, &s.root_pem);
    let err = inkan_pades::stamp_every_page(&signed, &tmp.path().join("again.pdf"), ID_LINE, &font)
        .unwrap_err();
    assert!(err.to_string().contains("already signed"), "{err}");
}

#[test]
fn visible_signatures_show_the_signer_in_japanese_and_stay_valid() {
    let Some(_font) = japanese_font() else { return };
    if require_tool(
        "pdftoppm",
        "makes the JPEG seal (apt install poppler-utils)",
    )
    .is_none()
    {
        return;
    }
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.pdf");
    std::fs::write(&input, sample_pdf(2)).unwrap();
    // Any JPEG will do as a seal: render the first page small.
    run_ok(
        Command::new("pdftoppm")
            .args(["-jpeg", "-r", "12", "-singlefile", "-f", "1", "-l", "1"])
            .arg(&input)
            .arg(tmp.path().join("seal")),
    );
    let seal = std::fs::read(tmp.path().join("seal.jpg")).unwrap();

    let (cert, key) = s
        .pki
        .issue_signer(
            &inkan_pki::SignerRequest {
                name: "山田太郎".into(),
                email: Some("taro@example.co.jp".into()),
                days: 30,
            },
            inkan_keys::KeyKind::EcP256,
        )
        .unwrap();
    let mut options = inkan_pades::SignOptions::new(inkan_pades::Level::BLTA);
    let mut visible = inkan_pades::Visible::parse("2:330,60,220,64").unwrap();
    visible.seal_jpeg = Some(seal);
    options.visible = Some(visible);
    let signed = tmp.path().join("visible.pdf");
    common::sign(&input, &signed, &key, &cert, &options).unwrap();
    assert_valid_everywhere(&signed, &s.root_pem);
    if let Some((ok, text)) = common::ltv_check(&signed, &s.root_pem, None) {
        assert!(ok, "{text}");
    }
    // The appearance is on page 2 and readable as text.
    if require_tool("pdftotext", "reads the appearance").is_some() {
        let text = run_ok(
            Command::new("pdftotext")
                .args(["-f", "2", "-l", "2"])
                .arg(&signed)
                .arg("-"),
        );
        assert!(text.contains("山田太郎"), "{text}");
        assert!(text.contains("電子署名"), "{text}");
        assert!(text.contains("JST"), "{text}");
    }
    run_ok(
        Command::new("pdftoppm")
            .args(["-png", "-r", "50", "-f", "2", "-l", "2", "-singlefile"])
            .arg(&signed)
            .arg(tmp.path().join("page2")),
    );
    if let Ok(dir) = std::env::var("INKAN_TEST_ARTIFACTS") {
        std::fs::copy(
            tmp.path().join("page2.png"),
            std::path::Path::new(&dir).join("visible-signature.png"),
        )
        .unwrap();
    }
}
