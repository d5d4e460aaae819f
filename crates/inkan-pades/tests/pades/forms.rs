//! The multi-party sequence peers get wrong: the service certifies with P=2, three signers each
//! fill their own fields (Japanese text, with appearances) and sign, then B-LTA — and every
//! signature stays valid in pyHanko and pdfsig.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{assert_valid_everywhere, ltv_check, pdfsig_valid, pyhanko_valid, sample_pdf, served};
use inkan_pades::forms::{FieldKind, FieldSpec, FieldValue};
use inkan_pades::{Certify, Level, SignOptions};
use inkan_pki::SignerRequest;
use std::path::Path;

fn sign(
    input: &Path,
    output: &Path,
    key: &dyn inkan_keys::SigningKey,
    cert: &x509_cert::Certificate,
    options: SignOptions,
) {
    common::sign(input, output, key, cert, &options).unwrap();
}

fn field(name: &str, kind: FieldKind, page: usize, y: f64, x: f64) -> FieldSpec {
    let width = if kind == FieldKind::Checkbox {
        12.0
    } else {
        150.0
    };
    let height = if kind == FieldKind::Checkbox {
        12.0
    } else {
        28.0
    };
    FieldSpec {
        name: name.into(),
        label: Some(format!("{name} の入力欄")),
        kind,
        page,
        rect: [x, y, x + width, y + height],
        lock: None,
    }
}

#[test]
fn four_parties_certify_fill_sign_and_every_signature_stays_valid() {
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name);
    std::fs::write(p("0.pdf"), sample_pdf(2)).unwrap();
    let font = inkan_pades::font::Font::japanese().unwrap();
    inkan_pades::stamp_every_page(
        &p("0.pdf"),
        &p("1.pdf"),
        "締結証明書ID: 7dfd11d5126db4c1699470984eec8b02",
        &font,
    )
    .unwrap();

    let signers = ["vendor", "approver", "city"];
    let mut specs = Vec::new();
    for (i, who) in signers.iter().enumerate() {
        let y = 600.0 - 120.0 * i as f64;
        specs.push(field(
            &format!("{who}_date"),
            FieldKind::Text { required: true },
            1,
            y + 40.0,
            60.0,
        ));
        specs.push(field(
            &format!("{who}_agree"),
            FieldKind::Checkbox,
            1,
            y + 48.0,
            230.0,
        ));
        specs.push(field(
            &format!("{who}_signature"),
            FieldKind::Signature,
            1,
            y,
            300.0,
        ));
    }
    inkan_pades::forms::add_fields(&p("1.pdf"), &p("2.pdf"), &specs).unwrap();

    // The service certifies the prepared document, allowing form filling and signing.
    let witness = s.pki.witness_key().unwrap();
    let mut options = SignOptions::new(Level::BT);
    options.certify = Some(Certify::FormFilling);
    options.field = Some("certification".into());
    options.reason = Some("電子契約サービスによる証明".into());
    sign(
        &p("2.pdf"),
        &p("3.pdf"),
        &witness,
        &s.pki.witness_certificate(),
        options,
    );

    let mut current = p("3.pdf");
    for (i, who) in signers.iter().enumerate() {
        let (cert, key) = s
            .pki
            .issue_signer(
                &SignerRequest {
                    name: format!("{who} 署名者"),
                    email: None,
                    days: 30,
                },
                inkan_keys::KeyKind::EcP256,
            )
            .unwrap();
        let last = i == signers.len() - 1;
        let mut options = SignOptions::new(if last { Level::BLTA } else { Level::BT });
        options.field = Some(format!("{who}_signature"));
        options.fill = vec![
            (
                format!("{who}_date"),
                FieldValue::Text(format!("2026年2月{}日", i + 1)),
            ),
            (format!("{who}_agree"), FieldValue::Checked(true)),
        ];
        let next = p(&format!("{}-{who}.pdf", 4 + i));
        sign(&current, &next, &key, &cert, options);
        current = next;
        // After every step, every signature so far is still valid.
        if let Some((ok, text)) = pyhanko_valid(&current, &s.root_pem) {
            assert!(ok, "after {who}:\n{text}");
            assert_eq!(
                text.matches("judged VALID").count(),
                i + 2,
                "after {who}:\n{text}"
            );
        }
    }
    assert_valid_everywhere(&current, &s.root_pem);
    if let Some((_, text)) = pdfsig_valid(&current, &s.root_pem) {
        assert_eq!(text.matches("Signature is Valid.").count(), 4, "{text}");
    }
    if let Some((ok, text)) = ltv_check(&current, &s.root_pem, None) {
        assert!(
            ok,
            "every signature LTV-enabled after the last signer's B-LTA:\n{text}"
        );
    }
    // The filled values are in the document, readable.
    if inkan_testkit::require_tool("pdftotext", "reads the filled fields").is_some() {
        let text = inkan_testkit::run_ok(
            std::process::Command::new("pdftotext")
                .args(["-f", "2", "-l", "2"])
                .arg(&current)
                .arg("-"),
        );
        assert!(
            text.contains("2026年2月1日") && text.contains("2026年2月3日"),
            "{text}"
        );
    }
    // Fields cannot be added once signing has begun.
    let err = inkan_pades::forms::add_fields(
        &current,
        &p("x.pdf"),
        &[field("late", FieldKind::Checkbox, 0, 10.0, 10.0)],
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("before the first signature"),
        "{err}"
    );
}
