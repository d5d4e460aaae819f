//! Inkan's signatures at every level, checked by validators we did not write: pyHanko, the shared
//! offline LTV check, pdfsig and qpdf.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{assert_valid_everywhere, ltv_check, pdfsig_valid, pyhanko_valid, sample_pdf, served};
use inkan_keys::{KeyKind, Pkcs11Token, SigningKey};
use inkan_pades::{
    Certify, Level, PadesError, RevocationFetcher, Services, SignOptions, SignOutcome, Signer,
};
use inkan_pki::tsa::TsaClient;
use inkan_pki::SignerRequest;
use std::path::{Path, PathBuf};
use x509_cert::Certificate;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn sign_with(
    input: &Path,
    output: &Path,
    key: &dyn SigningKey,
    certificate: &Certificate,
    level: Level,
    tweak: impl FnOnce(&mut SignOptions),
) -> Result<SignOutcome, PadesError> {
    let mut options = SignOptions::new(level);
    options.reason = Some(
        "山田太郎様 taro@example.co.jp が 2026-02-01 10:15:30 +09:00 JSTに承認しました".into(),
    );
    options.location = Some("日本".into());
    tweak(&mut options);
    common::sign(input, output, key, certificate, &options)
}

fn input(dir: &Path, pages: usize) -> PathBuf {
    let path = dir.join("in.pdf");
    std::fs::write(&path, sample_pdf(pages)).unwrap();
    path
}

#[test]
fn witness_signatures_at_every_level_are_valid_everywhere() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 3);
    let key = s.pki.witness_key().unwrap();
    let original = std::fs::read(&input).unwrap();
    for level in [Level::BB, Level::BT, Level::BLT, Level::BLTA] {
        let output = tmp.path().join(format!("{level:?}.pdf"));
        let outcome = sign_with(
            &input,
            &output,
            &key,
            &s.pki.witness_certificate(),
            level,
            |_| {},
        )
        .unwrap();
        assert!(outcome.contents_used <= outcome.contents_capacity);
        // Incremental: the original bytes are untouched.
        assert!(std::fs::read(&output).unwrap().starts_with(&original));
        assert_valid_everywhere(&output, &s.root_pem);
        if level >= Level::BT {
            assert!(outcome.timestamp.is_some());
        }
        if level >= Level::BLT {
            if let Some((ok, text)) = ltv_check(&output, &s.root_pem, None) {
                assert!(ok, "{level:?} must be LTV-enabled:\n{text}");
            }
        }
    }
    // B-LTA still validates after the signer's certificate (2 years) has expired, from the
    // embedded data alone; B-T does not even pass the LTV check.
    if let Some((ok, text)) = ltv_check(
        &tmp.path().join("BLTA.pdf"),
        &s.root_pem,
        Some("2029-06-01"),
    ) {
        assert!(ok, "B-LTA in 2029:\n{text}");
    }
    if let Some((ok, _)) = ltv_check(&tmp.path().join("BT.pdf"), &s.root_pem, None) {
        assert!(
            !ok,
            "B-T has no validation data and must not pass the LTV check"
        );
    }
}

#[test]
fn issued_signers_ecdsa_and_rsa_pss_are_valid() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 1);
    for (kind, pss) in [(KeyKind::EcP256, false), (KeyKind::Rsa2048, true)] {
        let (cert, key) = s
            .pki
            .issue_signer(
                &SignerRequest {
                    name: "鈴木一郎".into(),
                    email: Some("ichiro@example.jp".into()),
                    days: 365,
                },
                kind,
            )
            .unwrap();
        let key = if pss {
            key.with_algorithm(inkan_keys::SignatureAlgorithm::RsaPssSha256)
                .unwrap()
        } else {
            key
        };
        let output = tmp.path().join(format!("{kind:?}-{pss}.pdf"));
        sign_with(&input, &output, &key, &cert, Level::BLTA, |_| {}).unwrap();
        assert_valid_everywhere(&output, &s.root_pem);
        if let Some((ok, text)) = ltv_check(&output, &s.root_pem, None) {
            assert!(ok, "{text}");
        }
    }
}

#[test]
fn softhsm_keys_sign_valid_pdfs() {
    let Some(hsm) = inkan_testkit::softhsm() else {
        return;
    };
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 1);
    let token = Pkcs11Token::open(&hsm.module, &hsm.token_label, &hsm.user_pin).unwrap();
    for (label, kind) in [
        ("pades-rsa", KeyKind::Rsa2048),
        ("pades-p256", KeyKind::EcP256),
    ] {
        let key = token.generate_key(label, kind).unwrap();
        let cert = s
            .pki
            .issue_signer_for_key(
                &SignerRequest {
                    name: format!("HSM {label}"),
                    email: None,
                    days: 30,
                },
                key.public_key(),
            )
            .unwrap();
        let output = tmp.path().join(format!("{label}.pdf"));
        sign_with(&input, &output, &key, &cert, Level::BLT, |_| {}).unwrap();
        assert_valid_everywhere(&output, &s.root_pem);
    }
}

#[test]
fn certified_p2_then_approval_keeps_both_valid_and_p1_refuses_more() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 2);
    let witness = s.pki.witness_key().unwrap();
    let certified = tmp.path().join("certified.pdf");
    sign_with(
        &input,
        &certified,
        &witness,
        &s.pki.witness_certificate(),
        Level::BT,
        |o| {
            o.certify = Some(Certify::FormFilling);
            o.field = Some("City".into());
        },
    )
    .unwrap();
    assert_valid_everywhere(&certified, &s.root_pem);
    let (cert, key) = s
        .pki
        .issue_signer(
            &SignerRequest {
                name: "受注者".into(),
                email: None,
                days: 30,
            },
            KeyKind::EcP256,
        )
        .unwrap();
    let approved = tmp.path().join("approved.pdf");
    sign_with(&certified, &approved, &key, &cert, Level::BLTA, |o| {
        o.field = Some("Vendor".into())
    })
    .unwrap();
    assert_valid_everywhere(&approved, &s.root_pem);
    if let Some((_, text)) = pyhanko_valid(&approved, &s.root_pem) {
        assert_eq!(text.matches("judged VALID").count(), 2, "{text}");
    }

    // P=3 (annotations also allowed) is a valid certification too.
    let annotatable = tmp.path().join("p3.pdf");
    sign_with(
        &input,
        &annotatable,
        &witness,
        &s.pki.witness_certificate(),
        Level::BT,
        |o| o.certify = Some(Certify::Annotations),
    )
    .unwrap();
    assert_valid_everywhere(&annotatable, &s.root_pem);
    if let Some((_, text)) = pyhanko_valid(&annotatable, &s.root_pem) {
        assert!(text.to_lowercase().contains("certif"), "{text}");
    }

    let locked = tmp.path().join("locked.pdf");
    sign_with(
        &input,
        &locked,
        &witness,
        &s.pki.witness_certificate(),
        Level::BB,
        |o| o.certify = Some(Certify::NoChanges),
    )
    .unwrap();
    assert_valid_everywhere(&locked, &s.root_pem);
    let refused = tmp.path().join("refused.pdf");
    let err = sign_with(&locked, &refused, &key, &cert, Level::BB, |_| {}).unwrap_err();
    assert!(matches!(err, PadesError::NoChangesAllowed), "{err}");
    assert!(
        !refused.exists(),
        "nothing is written when signing is refused"
    );
    // A second certification signature is refused too.
    let err = sign_with(
        &certified,
        &refused,
        &witness,
        &s.pki.witness_certificate(),
        Level::BB,
        |o| o.certify = Some(Certify::FormFilling),
    )
    .unwrap_err();
    assert!(err.to_string().contains("already certified"), "{err}");
}

#[test]
fn tampering_and_revocation_are_caught_by_the_validators() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 1);
    let (cert, key) = s
        .pki
        .issue_signer(
            &SignerRequest {
                name: "失効予定".into(),
                email: None,
                days: 30,
            },
            KeyKind::EcP256,
        )
        .unwrap();
    let signed = tmp.path().join("signed.pdf");
    sign_with(&input, &signed, &key, &cert, Level::BT, |_| {}).unwrap();
    // One flipped byte inside the signed range (in the page content).
    let mut bytes = std::fs::read(&signed).unwrap();
    let at = bytes.windows(8).position(|w| w == b"Contract").unwrap();
    bytes[at] = b'X';
    let tampered = tmp.path().join("tampered.pdf");
    std::fs::write(&tampered, &bytes).unwrap();
    if let Some((ok, _)) = pyhanko_valid(&tampered, &s.root_pem) {
        assert!(!ok, "pyHanko must reject a tampered file");
    }
    if let Some((ok, text)) = pdfsig_valid(&tampered, &s.root_pem) {
        assert!(!ok && text.contains("Digest Mismatch"), "{text}");
    }
    // A revoked signer: pyHanko (which asks our OCSP responder) says so.
    s.pki
        .revoke(&cert, inkan_pki::RevocationReason::KeyCompromise)
        .unwrap();
    if let Some((ok, text)) = pyhanko_valid(&signed, &s.root_pem) {
        assert!(!ok, "{text}");
        assert!(text.to_lowercase().contains("revoked"), "{text}");
    }
    // And B-LT for a revoked signer is refused: no validation data says "good".
    let err = sign_with(
        &input,
        &tmp.path().join("r.pdf"),
        &key,
        &cert,
        Level::BLT,
        |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, PadesError::Revoked(_)), "{err}");
}

#[test]
fn no_tsa_means_no_signature_and_nothing_written() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 1);
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/tsa", l.local_addr().unwrap())
    };
    let tsa = TsaClient::new(vec![dead])
        .unwrap()
        .with_attempts(1, std::time::Duration::ZERO);
    let fetcher = RevocationFetcher::default();
    let key = s.pki.witness_key().unwrap();
    let chain = vec![s.pki.issuing_ca().clone()];
    let output = tmp.path().join("out.pdf");
    let err = runtime()
        .block_on(inkan_pades::sign_pdf(
            &input,
            &output,
            &Signer {
                key: &key,
                certificate: &s.pki.witness_certificate(),
                chain: &chain,
            },
            &SignOptions::new(Level::BT),
            &Services {
                tsa: Some(&tsa),
                revocation: &fetcher,
                anchors: &[],
            },
        ))
        .unwrap_err();
    assert!(matches!(err, PadesError::Tsa(_)), "{err}");
    assert!(err.to_string().contains("nothing was signed"), "{err}");
    assert!(!output.exists());
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "no temporary files left behind"
    );
}

#[test]
fn archive_renewal_adds_a_second_document_timestamp() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 1);
    let key = s.pki.witness_key().unwrap();
    let signed = tmp.path().join("lta.pdf");
    sign_with(
        &input,
        &signed,
        &key,
        &s.pki.witness_certificate(),
        Level::BLTA,
        |_| {},
    )
    .unwrap();
    let renewed = tmp.path().join("renewed.pdf");
    let tsa = TsaClient::new(vec![format!("{}/tsa", s.base_url)]).unwrap();
    runtime()
        .block_on(inkan_pades::renew_archive_timestamp(
            &signed,
            &renewed,
            &tsa,
            &RevocationFetcher::default(),
            std::slice::from_ref(s.pki.root()),
        ))
        .unwrap();
    assert!(std::fs::read(&renewed)
        .unwrap()
        .starts_with(&std::fs::read(&signed).unwrap()));
    let text = String::from_utf8_lossy(&std::fs::read(&renewed).unwrap()).to_string();
    assert_eq!(text.matches("/ETSI.RFC3161").count(), 2);
    assert_valid_everywhere(&renewed, &s.root_pem);
    if let Some((ok, report)) = ltv_check(&renewed, &s.root_pem, Some("2029-06-01")) {
        assert!(ok, "{report}");
    }
}
