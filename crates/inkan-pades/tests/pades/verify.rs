//! `verify_pdf` against files we did not make (pyHanko's, checked against pyHanko's own verdict)
//! and against Inkan's own at every level; modification analysis; broken files.
#![allow(clippy::unwrap_used)]

use crate::common;
mod updates;
use crate::verify_support;

use common::{pyhanko_valid, sample_pdf, served};
use inkan_keys::{KeyKind, SigningKey};
use inkan_pades::verify::report::{
    CertStatus, ChangeKind, Report, RevocationSource, RevocationStatus, SignatureKind,
    SignatureReport, TrustStatus,
};
use inkan_pades::{
    Certify, Level, RevocationFetcher, Services, SignOptions, Signer, VerifyOptions,
};
use inkan_pdf::{Dict, Document, IncrementalUpdate, Object};
use inkan_pki::tsa::TsaClient;
use inkan_pki::{Pki, SignerRequest};
use std::path::{Path, PathBuf};
use std::time::Duration;
use verify_support::{proxied, pyhanko_sign, signer_files};
use x509_cert::Certificate;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn verify_with(path: &Path, root: &Path, offline: bool) -> Report {
    let anchors = inkan_pki::x509::from_pem_or_der(&std::fs::read(root).unwrap()).unwrap();
    let options = VerifyOptions {
        anchors,
        offline,
        timeout: Duration::from_secs(5),
        ..VerifyOptions::default()
    };
    runtime()
        .block_on(inkan_pades::verify_pdf(path, &options))
        .unwrap()
}

fn verify(path: &Path) -> Report {
    verify_with(path, &served().root_pem, false)
}

fn input(dir: &Path, pages: usize) -> PathBuf {
    let path = dir.join("in.pdf");
    std::fs::write(&path, sample_pdf(pages)).unwrap();
    path
}

/// The report's signatures of one kind.
fn of_kind(report: &Report, kind: SignatureKind) -> Vec<&SignatureReport> {
    report
        .signatures
        .iter()
        .filter(|s| s.kind == kind)
        .collect()
}

fn only_signature(report: &Report) -> &SignatureReport {
    let sigs = of_kind(report, SignatureKind::Signature);
    assert_eq!(sigs.len(), 1, "{report:#?}");
    sigs[0]
}

/// A copy of `pdf` with one byte of the original page content changed (inside every signed
/// range).
fn tampered(pdf: &Path) -> PathBuf {
    let mut bytes = std::fs::read(pdf).unwrap();
    let at = bytes.windows(8).position(|w| w == b"Contract").unwrap();
    bytes[at] = b'X';
    let out = pdf.with_extension("tampered.pdf");
    std::fs::write(&out, bytes).unwrap();
    out
}

/// Signs with Inkan against `pki` (its TSA at `base_url`).
#[allow(clippy::too_many_arguments)]
fn inkan_sign(
    pki: &Pki,
    base_url: &str,
    input: &Path,
    output: &Path,
    key: &dyn SigningKey,
    certificate: &Certificate,
    level: Level,
    tweak: impl FnOnce(&mut SignOptions),
) {
    let tsa = TsaClient::new(vec![format!("{base_url}/tsa")]).unwrap();
    let fetcher = RevocationFetcher::default();
    let mut options = SignOptions::new(level);
    options.reason = Some("契約内容に同意します".into());
    options.location = Some("東京都千代田区".into());
    tweak(&mut options);
    let chain = vec![pki.issuing_ca().clone()];
    runtime()
        .block_on(inkan_pades::sign_pdf(
            input,
            output,
            &Signer {
                key,
                certificate,
                chain: &chain,
            },
            &options,
            &Services {
                tsa: Some(&tsa),
                revocation: &fetcher,
                anchors: std::slice::from_ref(pki.root()),
            },
        ))
        .unwrap();
}

fn served_sign(
    input: &Path,
    output: &Path,
    key: &dyn SigningKey,
    certificate: &Certificate,
    level: Level,
    tweak: impl FnOnce(&mut SignOptions),
) {
    let s = served();
    inkan_sign(
        &s.pki,
        &s.base_url,
        input,
        output,
        key,
        certificate,
        level,
        tweak,
    );
}

/// Certifies `input` as the service does: the witness key, DocMDP P=2, B-T.
fn certify_p2(input: &Path, output: &Path) {
    let s = served();
    let witness = s.pki.witness_key().unwrap();
    served_sign(
        input,
        output,
        witness.as_ref(),
        &s.pki.witness_certificate(),
        Level::BT,
        |o| o.certify = Some(Certify::FormFilling),
    );
}

fn new_signer(pki: &Pki, name: &str) -> (Certificate, inkan_keys::SoftwareKey) {
    pki.issue_signer(
        &SignerRequest {
            name: name.into(),
            email: Some("keiyaku@example.jp".into()),
            days: 30,
        },
        KeyKind::EcP256,
    )
    .unwrap()
}

#[test]
fn pyhanko_files_at_every_level_agree_with_pyhanko() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 2);
    let (_, _, key, cert) = signer_files(&s.pki, tmp.path(), "佐藤花子");
    let chain = s.dir.join("issuing-ca.pem");
    let root = s.root_pem.to_str().unwrap();
    let tsa = format!("{}/tsa", s.base_url);
    let ltv = ["--with-validation-info", "--trust", root, "--trust-replace"];
    let cases: Vec<(&str, Vec<&str>, &str, bool)> = vec![
        ("bb", vec!["--use-pades"], "B-B", false),
        (
            "bt",
            vec!["--use-pades", "--timestamp-url", &tsa],
            "B-T",
            false,
        ),
        (
            "blt",
            [vec!["--use-pades", "--timestamp-url", &tsa], ltv.to_vec()].concat(),
            "B-LT",
            false,
        ),
        (
            "blta",
            [
                vec!["--use-pades", "--timestamp-url", &tsa, "--use-pades-lta"],
                ltv.to_vec(),
            ]
            .concat(),
            "B-LTA",
            true,
        ),
        (
            "certified",
            vec!["--certify", "--use-pades", "--timestamp-url", &tsa],
            "B-T",
            false,
        ),
    ];
    for (name, args, level, ltv) in cases {
        let out = tmp.path().join(format!("{name}.pdf"));
        if pyhanko_sign(&input, &out, "Sig1", &args, &key, &cert, &chain).is_none() {
            return;
        }
        let report = verify(&out);
        assert!(report.valid, "{name}: {report:#?}");
        let sig = only_signature(&report);
        assert_eq!(sig.level.as_deref(), Some(level), "{name}: {sig:#?}");
        assert_eq!(sig.ltv, ltv, "{name}: {sig:#?}");
        assert_eq!(sig.trust.status, TrustStatus::Trusted);
        assert_eq!(sig.revocation.status, RevocationStatus::Good);
        assert_eq!(
            sig.signer.as_ref().unwrap().common_name.as_deref(),
            Some("佐藤花子")
        );
        assert!(sig.claimed_signing_time.is_some());
        assert_eq!(sig.field, "Sig1");
        if name == "certified" {
            assert_eq!(sig.certification.as_ref().map(|c| c.permission), Some(2));
        } else {
            assert!(sig.certification.is_none());
        }
        if name == "blta" {
            let ts = of_kind(&report, SignatureKind::DocumentTimestamp);
            assert_eq!(ts.len(), 1, "{report:#?}");
            assert!(ts[0].valid);
            // pyHanko's DSS update after its document timestamp is validation data.
            assert_eq!(sig.modifications.kind, ChangeKind::ValidationData);
        }
        if name == "blt" || name == "blta" {
            // The revocation data came from the DSS.
            let sources: Vec<_> = sig
                .revocation
                .certificates
                .iter()
                .map(|c| c.source)
                .collect();
            assert!(
                sources.contains(&RevocationSource::EmbeddedOcsp),
                "{sources:?}"
            );
        }
        if let Some((theirs, text)) = pyhanko_valid(&out, &s.root_pem) {
            assert_eq!(theirs, report.valid, "{name}: pyHanko says\n{text}");
        }

        let bad = tampered(&out);
        let report = verify(&bad);
        assert!(!report.valid, "{name} tampered: {report:#?}");
        let sig = only_signature(&report);
        assert!(!sig.integrity.ok && !sig.valid, "{sig:#?}");
        if let Some((theirs, text)) = pyhanko_valid(&bad, &s.root_pem) {
            assert_eq!(
                theirs, report.valid,
                "{name} tampered: pyHanko says\n{text}"
            );
        }
    }
}

#[test]
fn revoked_signers_are_invalid_like_pyhanko_says() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 1);
    let chain = s.dir.join("issuing-ca.pem");
    let tsa = format!("{}/tsa", s.base_url);

    // B-B: valid, then revoked → invalid (no timestamp: a revocation at any time counts).
    let (cert, _, key, cert_pem) = signer_files(&s.pki, tmp.path(), "失効予定");
    let bb = tmp.path().join("bb.pdf");
    if pyhanko_sign(
        &input,
        &bb,
        "Sig1",
        &["--use-pades"],
        &key,
        &cert_pem,
        &chain,
    )
    .is_none()
    {
        return;
    }
    let bt = tmp.path().join("bt.pdf");
    pyhanko_sign(
        &input,
        &bt,
        "Sig1",
        &["--use-pades", "--timestamp-url", &tsa],
        &key,
        &cert_pem,
        &chain,
    );
    assert!(verify(&bb).valid);
    // Revocation times have whole seconds: revoke in a later second than the timestamp's.
    std::thread::sleep(Duration::from_millis(1100));
    s.pki
        .revoke(&cert, inkan_pki::RevocationReason::KeyCompromise)
        .unwrap();
    let report = verify(&bb);
    assert!(!report.valid, "{report:#?}");
    let sig = only_signature(&report);
    assert_eq!(sig.revocation.status, RevocationStatus::Revoked);
    assert_eq!(sig.revocation.certificates[0].status, CertStatus::Revoked);
    assert_eq!(
        sig.revocation.certificates[0].source,
        RevocationSource::OnlineOcsp
    );
    if let Some((theirs, text)) = pyhanko_valid(&bb, &s.root_pem) {
        assert!(!theirs && text.to_lowercase().contains("revoked"), "{text}");
    }
    // B-T made before the revocation: the timestamp proves the signature is older than the
    // revocation, so it stays valid (with a warning). pyHanko's `sign validate` checks the
    // certificate as of now and says INVALID here: a known, deliberate difference.
    let report = verify(&bt);
    assert!(report.valid, "{report:#?}");
    let sig = only_signature(&report);
    assert_eq!(
        sig.revocation.certificates[0].status,
        CertStatus::RevokedAfterSigning
    );
    assert!(!sig.warnings.is_empty());

    // B-T made after the revocation: invalid for both.
    let late = tmp.path().join("late.pdf");
    std::thread::sleep(Duration::from_millis(1100));
    pyhanko_sign(
        &input,
        &late,
        "Sig1",
        &["--use-pades", "--timestamp-url", &tsa],
        &key,
        &cert_pem,
        &chain,
    );
    let report = verify(&late);
    assert!(!report.valid, "{report:#?}");
    assert_eq!(
        only_signature(&report).revocation.status,
        RevocationStatus::Revoked
    );
    if let Some((theirs, text)) = pyhanko_valid(&late, &s.root_pem) {
        assert!(!theirs, "{text}");
    }
}

#[test]
fn inkan_files_at_every_level_report_their_level_and_ltv() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 2);
    let (cert, key) = new_signer(&s.pki, "山田太郎");
    for (level, name, ltv) in [
        (Level::BB, "B-B", false),
        (Level::BT, "B-T", false),
        (Level::BLT, "B-LT", false),
        (Level::BLTA, "B-LTA", true),
    ] {
        let out = tmp.path().join(format!("{name}.pdf"));
        served_sign(&input, &out, &key, &cert, level, |_| {});
        let report = verify(&out);
        assert!(report.valid, "{name}: {report:#?}");
        let sig = only_signature(&report);
        assert_eq!(sig.level.as_deref(), Some(name), "{sig:#?}");
        assert_eq!(sig.ltv, ltv, "{name}: {sig:#?}");
        assert_eq!(sig.reason.as_deref(), Some("契約内容に同意します"));
        assert_eq!(sig.location.as_deref(), Some("東京都千代田区"));
        assert_eq!(sig.name.as_deref(), Some("山田太郎"));
        let signer = sig.signer.as_ref().unwrap();
        assert!(signer.subject.contains("CN=山田太郎"), "{signer:?}");
        assert_eq!(signer.email.as_deref(), Some("keiyaku@example.jp"));
        assert_eq!(sig.timestamp.is_some(), level >= Level::BT);
        assert_eq!(
            of_kind(&report, SignatureKind::DocumentTimestamp).len(),
            usize::from(level == Level::BLTA)
        );
        if let Some((theirs, text)) = pyhanko_valid(&out, &s.root_pem) {
            assert_eq!(theirs, report.valid, "{name}: pyHanko says\n{text}");
        }
    }
    // Without the trust anchor, the chain ends in a root nobody said to trust: invalid.
    let anchors = VerifyOptions {
        timeout: Duration::from_secs(5),
        ..VerifyOptions::default()
    };
    let report = runtime()
        .block_on(inkan_pades::verify_pdf(
            &tmp.path().join("B-T.pdf"),
            &anchors,
        ))
        .unwrap();
    assert!(!report.valid);
    assert_eq!(
        only_signature(&report).trust.status,
        TrustStatus::NotTrusted,
        "{report:#?}"
    );
}

#[test]
fn offline_lt_and_lta_are_valid_from_the_dss_alone_without_any_request() {
    let p = proxied();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 1);
    let (cert, key) = new_signer(&p.pki, "オフライン検証");
    let files: Vec<(Level, PathBuf)> = [Level::BT, Level::BLT, Level::BLTA]
        .into_iter()
        .map(|level| {
            let out = tmp.path().join(format!("{level:?}.pdf"));
            inkan_sign(
                &p.pki,
                &p.proxy.base_url,
                &input,
                &out,
                &key,
                &cert,
                level,
                |_| {},
            );
            (level, out)
        })
        .collect();
    // From here on the PKI's services are gone.
    p.proxy.refuse(true);
    let before = p.proxy.connections();
    for (level, file) in &files {
        let report = verify_with(file, &p.root_pem, true);
        let sig = only_signature(&report);
        if *level == Level::BT {
            // Nothing embedded: valid, with "revocation unknown" as a warning.
            assert!(report.valid, "{report:#?}");
            assert_eq!(sig.revocation.status, RevocationStatus::Unknown);
            assert!(sig
                .warnings
                .iter()
                .any(|w| w.contains("revocation unknown")));
            assert!(!sig.ltv);
            continue;
        }
        assert!(report.valid, "{level:?} offline: {report:#?}");
        assert_eq!(sig.revocation.status, RevocationStatus::Good);
        for c in &sig.revocation.certificates {
            assert!(
                matches!(
                    c.source,
                    RevocationSource::EmbeddedOcsp
                        | RevocationSource::EmbeddedCrl
                        | RevocationSource::NotNeeded
                ),
                "{c:?}"
            );
        }
        assert!(sig.warnings.is_empty(), "{:?}", sig.warnings);
        assert_eq!(sig.ltv, *level == Level::BLTA);
    }
    assert_eq!(p.proxy.connections(), before, "--offline made requests");
    // Online too, a timestamped signature with embedded data needs no request.
    let report = verify_with(&files[2].1, &p.root_pem, false);
    assert!(report.valid, "{report:#?}");
    assert_eq!(p.proxy.connections(), before);
    p.proxy.refuse(false);
}

#[test]
fn certified_p2_then_approval_keeps_both_valid_as_form_filling() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 2);
    let certified = tmp.path().join("certified.pdf");
    certify_p2(&input, &certified);
    let (cert, key) = new_signer(&s.pki, "受注者");
    let approved = tmp.path().join("approved.pdf");
    served_sign(&certified, &approved, &key, &cert, Level::BLTA, |o| {
        o.field = Some("Vendor".into())
    });
    let report = verify(&approved);
    assert!(report.valid, "{report:#?}");
    let sigs = of_kind(&report, SignatureKind::Signature);
    assert_eq!(sigs.len(), 2);
    let (first, second) = (sigs[0], sigs[1]);
    assert_eq!(first.certification.as_ref().map(|c| c.permission), Some(2));
    assert_eq!(
        first.modifications.kind,
        ChangeKind::FormFilling,
        "{first:#?}"
    );
    assert!(first.modifications.allowed);
    assert!(!first.integrity.covers_whole_file);
    assert_eq!(second.field, "Vendor");
    assert_eq!(second.level.as_deref(), Some("B-LTA"));
    assert_eq!(second.modifications.kind, ChangeKind::ValidationData);
    if let Some((theirs, text)) = pyhanko_valid(&approved, &s.root_pem) {
        assert!(theirs, "{text}");
    }

    // An annotation added under P=2 is not allowed.
    let annotated = tmp.path().join("annotated.pdf");
    add_annotation(&certified, &annotated);
    let report = verify(&annotated);
    assert!(!report.valid, "{report:#?}");
    let sig = only_signature(&report);
    assert_eq!(sig.modifications.kind, ChangeKind::Annotations);
    assert!(!sig.modifications.allowed);
}

/// Appends an update adding a text annotation (a comment) to the first page.
/// A sticky note (`/Text` annotation) 20 points square at (`at`, `at`) saying `text`.
fn text_note(at: i64, text: &str) -> Dict {
    let mut note = Dict::new();
    note.insert("Type", Object::name("Annot"));
    note.insert("Subtype", Object::name("Text"));
    note.insert(
        "Rect",
        [at, at, at + 20, at + 20].map(Object::from).to_vec(),
    );
    note.insert("Contents", inkan_pdf::PdfString::from_text(text));
    note
}

fn add_annotation(input: &Path, output: &Path) {
    let doc = Document::open_file(input).unwrap();
    let page = doc.page(0).unwrap();
    let mut update = IncrementalUpdate::new(&doc).unwrap();
    let note = update.add(text_note(10, "確認しました"));
    let mut annots: Vec<Object> = match page.dict.get("Annots") {
        Some(a) => doc.resolve(a).unwrap().as_array().unwrap().to_vec(),
        None => Vec::new(),
    };
    annots.push(note.into());
    match page.dict.get("Annots").and_then(Object::as_ref) {
        Some(r) => update.set(r, annots).unwrap(),
        None => {
            let mut dict = page.dict.clone();
            dict.insert("Annots", annots);
            update.set(page.reference, dict).unwrap();
        }
    }
    write(update, output);
}

fn write<S: inkan_pdf::Source>(update: IncrementalUpdate<'_, S>, output: &Path) {
    let prepared = update.prepare().unwrap();
    let mut file = std::fs::File::create(output).unwrap();
    prepared.write_to(&mut file).unwrap();
}

#[test]
fn changing_page_content_after_signing_is_other_changes_and_invalid() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 1);
    let (cert, key) = new_signer(&s.pki, "内容改変");
    let signed = tmp.path().join("signed.pdf");
    served_sign(&input, &signed, &key, &cert, Level::BT, |_| {});

    // The page's content stream is replaced in a new revision: the signed bytes are intact,
    // but what the page shows is not what was signed.
    let doc = Document::open_file(&signed).unwrap();
    let page = doc.page(0).unwrap();
    let content = page.dict.get_ref("Contents").unwrap();
    let mut update = IncrementalUpdate::new(&doc).unwrap();
    let text = b"BT /F1 18 Tf 72 760 Td (Contract page 1: price doubled) Tj ET";
    update
        .set(content, inkan_pdf::Stream::new(Dict::new(), text.to_vec()))
        .unwrap();
    let changed = tmp.path().join("changed.pdf");
    write(update, &changed);

    let report = verify(&changed);
    assert!(!report.valid, "{report:#?}");
    let sig = only_signature(&report);
    assert!(sig.integrity.ok, "the signed revision itself is intact");
    assert_eq!(sig.modifications.kind, ChangeKind::Other, "{sig:#?}");
    assert!(!sig.modifications.allowed);
    assert!(
        sig.errors.iter().any(|e| e.contains("modifications")),
        "{sig:#?}"
    );
    let text = inkan_pades::verify::render_text(&report);
    assert!(text.contains("その他の変更 / other changes"), "{text}");
    if let Some((theirs, out)) = pyhanko_valid(&changed, &s.root_pem) {
        assert!(!theirs, "pyHanko agrees:\n{out}");
    }

    // A comment after an approval signature in an uncertified document is allowed.
    let annotated = tmp.path().join("annotated.pdf");
    add_annotation(&signed, &annotated);
    let report = verify(&annotated);
    assert!(report.valid, "{report:#?}");
    assert_eq!(
        only_signature(&report).modifications.kind,
        ChangeKind::Annotations
    );
}

#[test]
fn certified_p1_followed_by_validation_data_only_stays_valid() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 1);
    let witness = s.pki.witness_key().unwrap();
    let locked = tmp.path().join("locked.pdf");
    // B-LT: the signature revision, then a DSS update.
    served_sign(
        &input,
        &locked,
        witness.as_ref(),
        &s.pki.witness_certificate(),
        Level::BLT,
        |o| o.certify = Some(Certify::NoChanges),
    );
    let report = verify(&locked);
    assert!(report.valid, "{report:#?}");
    let sig = only_signature(&report);
    assert_eq!(sig.certification.as_ref().map(|c| c.permission), Some(1));
    assert_eq!(
        sig.modifications.kind,
        ChangeKind::ValidationData,
        "{sig:#?}"
    );
    assert_eq!(sig.modifications.revisions.len(), 1);
    assert_eq!(sig.level.as_deref(), Some("B-LT"));
    if let Some((theirs, text)) = pyhanko_valid(&locked, &s.root_pem) {
        assert!(theirs, "{text}");
    }

    // Under P=1 even a comment is not allowed.
    let annotated = tmp.path().join("annotated.pdf");
    add_annotation(&locked, &annotated);
    let report = verify(&annotated);
    assert!(!report.valid, "{report:#?}");
    assert!(!only_signature(&report).modifications.allowed);
}

#[test]
fn unreadable_files_are_errors_and_unsigned_files_have_no_signatures() {
    let tmp = tempfile::tempdir().unwrap();
    let options = VerifyOptions::default();
    let mut signed = sample_pdf(1);
    // A signed-looking tail cut in the middle: an incomplete update.
    signed.extend_from_slice(b"7 0 obj\n<< /Type /Sig /Contents <3082");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        (
            "garbage",
            (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
        ("header only", b"%PDF-1.7\n".to_vec()),
        ("truncated", signed),
        ("half", sample_pdf(2)[..300].to_vec()),
    ];
    for (name, bytes) in cases {
        let path = tmp.path().join("bad.pdf");
        std::fs::write(&path, bytes).unwrap();
        let started = std::time::Instant::now();
        let result = runtime().block_on(inkan_pades::verify_pdf(&path, &options));
        assert!(result.is_err(), "{name}: {result:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{name} took long"
        );
        let message = result.unwrap_err().to_string();
        assert!(!message.contains('\n'), "{name}: {message}");
    }
    let missing = runtime().block_on(inkan_pades::verify_pdf(
        &tmp.path().join("nope.pdf"),
        &options,
    ));
    assert!(missing.unwrap_err().to_string().contains("nope.pdf"));

    let unsigned = input(tmp.path(), 1);
    let report = runtime()
        .block_on(inkan_pades::verify_pdf(&unsigned, &options))
        .unwrap();
    assert!(!report.valid);
    assert!(report.signatures.is_empty());
    assert!(inkan_pades::verify::render_text(&report).contains("署名がありません"));
}

#[test]
fn json_report_has_the_documented_fields() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 1);
    let (cert, key) = new_signer(&s.pki, "JSON");
    let out = tmp.path().join("lta.pdf");
    served_sign(&input, &out, &key, &cert, Level::BLTA, |_| {});
    let report = verify(&out);
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert_eq!(json["valid"], true);
    let sig = &json["signatures"][0];
    for field in [
        "index",
        "field",
        "type",
        "valid",
        "errors",
        "warnings",
        "signer",
        "integrity",
        "signature",
        "trust",
        "revocation",
        "timestamp",
        "level",
        "ltv",
        "claimed_signing_time",
        "reason",
        "location",
        "name",
        "certification",
        "modifications",
    ] {
        assert!(sig.get(field).is_some(), "missing {field}: {sig:#}");
    }
    assert_eq!(sig["type"], "signature");
    assert_eq!(sig["level"], "B-LTA");
    assert_eq!(sig["ltv"], true);
    assert_eq!(sig["integrity"]["ok"], true);
    assert_eq!(sig["trust"]["status"], "trusted");
    assert_eq!(sig["signer"]["common_name"], "JSON");
    assert_eq!(json["signatures"][1]["type"], "document_timestamp");
}

#[test]
fn multi_party_form_filling_with_visible_signatures_stays_valid() {
    use inkan_pades::forms::{FieldKind, FieldSpec, FieldValue};
    if !inkan_testkit::japanese_font_installed() {
        return;
    }
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name);
    std::fs::write(p("0.pdf"), sample_pdf(1)).unwrap();
    let mut specs = Vec::new();
    for (i, who) in ["vendor", "city"].iter().enumerate() {
        let y = 600.0 - 150.0 * i as f64;
        let spec = |name: String, kind, rect| FieldSpec {
            name,
            label: None,
            kind,
            page: 0,
            rect,
            lock: None,
        };
        specs.push(spec(
            format!("{who}_date"),
            FieldKind::Text { required: true },
            [60.0, y + 40.0, 210.0, y + 68.0],
        ));
        specs.push(spec(
            format!("{who}_agree"),
            FieldKind::Checkbox,
            [230.0, y + 48.0, 242.0, y + 60.0],
        ));
        specs.push(spec(
            format!("{who}_signature"),
            FieldKind::Signature,
            [300.0, y, 500.0, y + 60.0],
        ));
    }
    inkan_pades::forms::add_fields(&p("0.pdf"), &p("1.pdf"), &specs).unwrap();
    let witness = s.pki.witness_key().unwrap();
    served_sign(
        &p("1.pdf"),
        &p("2.pdf"),
        witness.as_ref(),
        &s.pki.witness_certificate(),
        Level::BT,
        |o| {
            o.certify = Some(Certify::FormFilling);
            o.field = Some("certification".into());
        },
    );
    let mut current = p("2.pdf");
    for (i, who) in ["vendor", "city"].iter().enumerate() {
        let (cert, key) = new_signer(&s.pki, &format!("{who} 署名者"));
        let next = p(&format!("{}.pdf", 3 + i));
        let level = if i == 1 { Level::BLTA } else { Level::BT };
        served_sign(&current, &next, &key, &cert, level, |o| {
            o.field = Some(format!("{who}_signature"));
            o.fill = vec![
                (
                    format!("{who}_date"),
                    FieldValue::Text("2026年2月1日".into()),
                ),
                (format!("{who}_agree"), FieldValue::Checked(true)),
            ];
        });
        current = next;
    }
    let report = verify(&current);
    assert!(
        report.valid,
        "{}",
        inkan_pades::verify::render_text(&report)
    );
    let sigs = of_kind(&report, SignatureKind::Signature);
    assert_eq!(sigs.len(), 3);
    assert_eq!(
        sigs[0].certification.as_ref().map(|c| c.permission),
        Some(2)
    );
    assert_eq!(sigs[0].modifications.kind, ChangeKind::FormFilling);
    assert_eq!(sigs[1].modifications.kind, ChangeKind::FormFilling);
    assert_eq!(sigs[2].level.as_deref(), Some("B-LTA"));
    if let Some((theirs, text)) = pyhanko_valid(&current, &s.root_pem) {
        assert!(theirs, "{text}");
    }
}

#[test]
fn damaged_signed_files_never_panic_or_hang() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 1);
    let (cert, key) = new_signer(&s.pki, "破損");
    let signed = tmp.path().join("lta.pdf");
    served_sign(&input, &signed, &key, &cert, Level::BLTA, |_| {});
    let original = std::fs::read(&signed).unwrap();
    let anchors = inkan_pki::x509::from_pem_or_der(&std::fs::read(&s.root_pem).unwrap()).unwrap();
    let options = VerifyOptions {
        anchors,
        offline: true,
        ..VerifyOptions::default()
    };
    let rt = runtime();
    let mut seed: u64 = 0x1a2b_3c4d;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize % n
    };
    let range = rt
        .block_on(inkan_pades::verify_pdf(&signed, &options))
        .unwrap()
        .signatures[0]
        .integrity
        .byte_range
        .clone();
    let signed_byte = |at: usize| {
        let at = at as i64;
        at < range[1] || (at >= range[2] && at < range[2] + range[3])
    };
    let damaged = tmp.path().join("damaged.pdf");
    let (mut valid, mut invalid, mut unreadable) = (0, 0, 0);
    for round in 0..150 {
        let mut bytes = original.clone();
        let mut signed_changed = false;
        match round % 3 {
            0 => {
                for _ in 0..1 + next(4) {
                    let at = next(bytes.len());
                    let value = next(256) as u8;
                    signed_changed |= signed_byte(at) && bytes[at] != value;
                    bytes[at] = value;
                }
            }
            1 => bytes.truncate(next(bytes.len())),
            _ => {
                // Overwrite a run with PDF-looking junk.
                let at = next(bytes.len());
                let junk = b" 0 R >> [ << /Type /Sig 9999999999 obj endobj";
                for (i, b) in junk.iter().enumerate() {
                    if let Some(slot) = bytes.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
        }
        std::fs::write(&damaged, &bytes).unwrap();
        let started = std::time::Instant::now();
        match rt.block_on(inkan_pades::verify_pdf(&damaged, &options)) {
            Ok(report) if report.valid => {
                assert!(
                    !signed_changed,
                    "round {round}: a signed byte changed: {report:#?}"
                );
                valid += 1;
            }
            Ok(report) => {
                invalid += 1;
                // Rendering never fails either.
                assert!(!inkan_pades::verify::render_text(&report).is_empty());
            }
            Err(e) => {
                unreadable += 1;
                assert!(!e.to_string().contains('\n'), "{e}");
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "round {round} took {:?}",
            started.elapsed()
        );
    }
    // Most damage is noticed one way or the other.
    assert!(
        invalid + unreadable > valid,
        "{valid} {invalid} {unreadable}"
    );
}

/// Timestamps with fractions of a second (`20261204153001.482Z`: RFC 3161 allows them and several
/// public TSAs send them). Inkan signs B-LTA with such a TSA — its client accepts the tokens —
/// and pyHanko validates the result; pyHanko signs B-LTA with it and Inkan's verifier, like
/// pyHanko, calls the signature, its timestamp and the document timestamp valid.
#[test]
fn timestamps_with_fractions_of_a_second_are_read_like_any_other() {
    let s = served();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let fractional = format!("http://{}", listener.local_addr().unwrap());
    let services = inkan_pki::server::PkiServices::new(s.pki.clone())
        .unwrap()
        .with_fractional_seconds();
    inkan_pki::server::spawn_services(services, listener);
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 1);

    let (cert, key) = new_signer(&s.pki, "小数秒 確認");
    let ours = tmp.path().join("ours.pdf");
    inkan_sign(
        &s.pki,
        &fractional,
        &input,
        &ours,
        &key,
        &cert,
        Level::BLTA,
        |_| {},
    );
    let report = verify(&ours);
    assert!(report.valid, "{report:#?}");
    assert_eq!(report.signatures.len(), 2, "{report:#?}");
    assert!(only_signature(&report).timestamp.as_ref().unwrap().ok);
    if let Some((ok, text)) = pyhanko_valid(&ours, &s.root_pem) {
        assert!(ok, "{text}");
    }

    let (_, _, key_file, cert_file) = signer_files(&s.pki, tmp.path(), "佐藤花子");
    let chain = s.dir.join("issuing-ca.pem");
    let root = s.root_pem.to_str().unwrap();
    let tsa = format!("{fractional}/tsa");
    let theirs = tmp.path().join("theirs.pdf");
    let args = [
        "--use-pades",
        "--timestamp-url",
        &tsa,
        "--use-pades-lta",
        "--with-validation-info",
        "--trust",
        root,
        "--trust-replace",
    ];
    if pyhanko_sign(
        &input, &theirs, "Sig1", &args, &key_file, &cert_file, &chain,
    )
    .is_none()
    {
        return;
    }
    let report = verify(&theirs);
    assert!(report.valid, "{report:#?}");
    assert_eq!(
        of_kind(&report, SignatureKind::DocumentTimestamp).len(),
        1,
        "{report:#?}"
    );
    assert!(report.signatures.iter().all(|s| s.valid), "{report:#?}");
}

/// Forms of PDF signature that other vendors write, made here by OpenSSL's `cms`:
/// `adbe.pkcs7.detached` without signed attributes (the signature over the signed bytes' digest
/// itself), `adbe.pkcs7.sha1` (the SHA-1 of the signed bytes encapsulated, and signed), and a
/// CAdES signature in BER with indefinite lengths (`-stream`, as Adobe Acrobat Sign writes).
/// Intact, each is valid in Inkan — never "the signed bytes were changed" — as in the
/// independent check (pyHanko for the first; for the second, which pyHanko skips as unsupported,
/// OpenSSL verifying the CMS and its content being the SHA-1 `openssl dgst` computes); with one
/// byte of the page changed, each is invalid in both.
#[test]
fn legacy_and_ber_forms_are_verified_not_called_changed() {
    if inkan_testkit::require_tool("openssl", "signing in the legacy PKCS#7 forms").is_none() {
        return;
    }
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 1);
    let (cert, key, key_file, cert_file) = signer_files(&s.pki, tmp.path(), "旧形式 署名者");
    // An Inkan signature with room to spare (B-T reserves a token's worth), re-signed below.
    let template = tmp.path().join("template.pdf");
    served_sign(&input, &template, &key, &cert, Level::BT, |_| {});
    let chain = s.dir.join("issuing-ca.pem");
    for (name, sub_filter) in [
        ("no-attributes.pdf", "/adbe.pkcs7.detached"),
        ("sha1.pdf", "/adbe.pkcs7.sha1    "),
        ("ber.pdf", "/ETSI.CAdES.detached"),
    ] {
        let out = tmp.path().join(name);
        resign_with_openssl(&template, &out, sub_filter, &key_file, &cert_file, &chain);
        let report = verify(&out);
        let sig = only_signature(&report);
        assert!(sig.signature.ok, "{name}: {:#?}", sig.signature);
        assert_eq!(
            sig.sub_filter.as_deref(),
            Some(sub_filter.trim().trim_start_matches('/'))
        );
        assert!(sig.integrity.ok, "{name}: {:#?}", sig.integrity);
        assert!(sig.valid && report.valid, "{name}: {report:#?}");
        let independent = |pdf: &Path| {
            if sub_filter.contains("sha1") {
                Some(openssl_sha1_verdict(pdf, &s.root_pem, &chain))
            } else {
                pyhanko_valid(pdf, &s.root_pem)
            }
        };
        if let Some((ok, text)) = independent(&out) {
            assert!(ok, "{name}: {text}");
        }
        let changed = tampered(&out);
        let report = verify(&changed);
        let sig = only_signature(&report);
        assert!(!sig.integrity.ok && !report.valid, "{name}: {report:#?}");
        if let Some((ok, text)) = independent(&changed) {
            assert!(!ok, "{name} changed: {text}");
        }
    }
}

/// Removes the content OpenSSL's `-stream` always encapsulates (`[0] { OCTET STRING in pieces }`,
/// both of indefinite length, after the first id-data OID), leaving the detached signature a
/// PDF wants — still BER, the signed attributes untouched.
fn detach_streamed_content(cms: &mut Vec<u8>) {
    let id_data = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
    ];
    let oid_at = cms
        .windows(id_data.len())
        .position(|w| w == id_data)
        .unwrap();
    let start = oid_at + id_data.len();
    assert_eq!(cms[start..start + 4], [0xa0, 0x80, 0x24, 0x80]);
    let mut at = start + 4;
    while cms[at..at + 2] != [0, 0] {
        assert_eq!(cms[at], 0x04, "a piece of the OCTET STRING");
        let (header, len) = der_header(&cms[at..]);
        at += header + len;
    }
    assert_eq!(
        cms[at..at + 4],
        [0, 0, 0, 0],
        "the ends of the pieces and of [0]"
    );
    cms.drain(start..at + 4);
}

/// The ByteRange of `pdf`'s one signature.
fn byte_range(pdf: &[u8]) -> [usize; 4] {
    let start = pdf.windows(10).position(|w| w == b"/ByteRange").unwrap();
    let end = start + pdf[start..].iter().position(|b| *b == b']').unwrap();
    let range: Vec<usize> = String::from_utf8_lossy(&pdf[start + 10..end])
        .trim()
        .trim_start_matches('[')
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    [range[0], range[1], range[2], range[3]]
}

/// OpenSSL's verdict on an adbe.pkcs7.sha1 signature: `openssl cms -verify` accepts the CMS (to
/// `root`), and the content it signs is the SHA-1 of the signed bytes by `openssl dgst`.
fn openssl_sha1_verdict(pdf: &Path, root: &Path, chain: &Path) -> (bool, String) {
    let bytes = std::fs::read(pdf).unwrap();
    let [a, b, c, d] = byte_range(&bytes);
    let dir = tempfile::tempdir().unwrap();
    let signed = dir.path().join("signed.bin");
    std::fs::write(&signed, [&bytes[a..a + b], &bytes[c..c + d]].concat()).unwrap();
    let mut cms = hex::decode(&bytes[a + b + 1..c - 1]).unwrap();
    // The DER's own length, without the zero padding after it.
    let (header, len) = der_header(&cms);
    cms.truncate(header + len);
    let cms_file = dir.path().join("cms.der");
    std::fs::write(&cms_file, cms).unwrap();
    let content = dir.path().join("content.bin");
    let verified = std::process::Command::new("openssl")
        .args([
            "cms", "-verify", "-binary", "-purpose", "any", "-inform", "DER",
        ])
        .arg("-in")
        .arg(&cms_file)
        .arg("-CAfile")
        .arg(root)
        .arg("-certfile")
        .arg(chain)
        .arg("-out")
        .arg(&content)
        .output()
        .unwrap();
    let digest = std::process::Command::new("openssl")
        .args(["dgst", "-sha1", "-binary"])
        .arg(&signed)
        .output()
        .unwrap();
    let embedded = std::fs::read(&content).unwrap_or_default();
    let text = format!(
        "openssl cms -verify: {}; content {} the SHA-1 of the signed bytes",
        String::from_utf8_lossy(&verified.stderr).trim(),
        if embedded == digest.stdout {
            "is"
        } else {
            "is not"
        }
    );
    (verified.status.success() && embedded == digest.stdout, text)
}

/// `template`'s one signature made again by `openssl cms` in a legacy form: its /SubFilter
/// replaced by `sub_filter` (of the same length), its /Contents by OpenSSL's CMS over the new
/// signed bytes — without signed attributes for adbe.pkcs7.detached, over the bytes' SHA-1
/// encapsulated for adbe.pkcs7.sha1, in BER with indefinite lengths and the ESS
/// signing-certificate-v2 attribute (`-stream -cades`) for ETSI.CAdES.detached.
fn resign_with_openssl(
    template: &Path,
    out: &Path,
    sub_filter: &str,
    key: &Path,
    cert: &Path,
    chain: &Path,
) {
    let mut pdf = std::fs::read(template).unwrap();
    let old = b"/ETSI.CAdES.detached";
    assert_eq!(sub_filter.len(), old.len());
    let at = pdf.windows(old.len()).position(|w| w == old).unwrap();
    pdf[at..at + old.len()].copy_from_slice(sub_filter.as_bytes());
    let [a, b, c, d] = byte_range(&pdf);
    let signed = [&pdf[a..a + b], &pdf[c..c + d]].concat();
    let dir = out.parent().unwrap();
    let sha1 = sub_filter.contains("sha1");
    let ber = sub_filter.contains("CAdES");
    let content = if sha1 {
        inkan_keys::DigestAlgorithm::Sha1.hash(&signed)
    } else {
        signed
    };
    let content_file = dir.join("content.bin");
    let cms_file = dir.join("cms.der");
    std::fs::write(&content_file, content).unwrap();
    let mut command = std::process::Command::new("openssl");
    command
        .args([
            "cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER",
        ])
        .args(match (sha1, ber) {
            (true, _) => vec!["-nodetach"],
            (_, true) => vec!["-stream", "-cades"],
            _ => vec!["-noattr"],
        })
        .arg("-in")
        .arg(&content_file)
        .arg("-signer")
        .arg(cert)
        .arg("-inkey")
        .arg(key)
        .arg("-certfile")
        .arg(chain)
        .arg("-out")
        .arg(&cms_file);
    inkan_testkit::run_ok(&mut command);
    let mut cms = std::fs::read(&cms_file).unwrap();
    assert_eq!(
        cms[1] == 0x80,
        ber,
        "indefinite length exactly when BER is asked for"
    );
    if ber {
        detach_streamed_content(&mut cms);
    }
    let cms = hex::encode(cms);
    // /Contents is `<hex…>` between the two ranges.
    let room = c - (a + b) - 2;
    assert!(cms.len() <= room, "{} > {room}", cms.len());
    let contents = format!("{cms:0<room$}");
    pdf[a + b + 1..c - 1].copy_from_slice(contents.as_bytes());
    std::fs::write(out, pdf).unwrap();
}

/// A signature whose signature-timestamp attribute holds the same token twice (one SET OF, two
/// identical values: the typed DER decoders refuse the repeat, the reference reads one): Inkan
/// reads it as one timestamp and calls the signature valid, as pyHanko does.
#[test]
fn a_signature_timestamp_repeated_in_its_set_is_read_once() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let input = input(tmp.path(), 1);
    let (cert, key) = new_signer(&s.pki, "重複 タイムスタンプ");
    // Room for a second token: the template's CMS carries certificates dropped below.
    let mut spare = vec![s.pki.issuing_ca().clone(), s.pki.root().clone()];
    spare.extend([
        (*s.pki.tsa_certificate()).clone(),
        (*s.pki.witness_certificate()).clone(),
        (*s.pki.ocsp_certificate()).clone(),
    ]);
    let template = tmp.path().join("template.pdf");
    let tsa = TsaClient::new(vec![format!("{}/tsa", s.base_url)]).unwrap();
    let fetcher = RevocationFetcher::default();
    runtime()
        .block_on(inkan_pades::sign_pdf(
            &input,
            &template,
            &Signer {
                key: &key,
                certificate: &cert,
                chain: &spare,
            },
            &SignOptions::new(Level::BT),
            &Services {
                tsa: Some(&tsa),
                revocation: &fetcher,
                anchors: std::slice::from_ref(s.pki.root()),
            },
        ))
        .unwrap();
    let mut pdf = std::fs::read(&template).unwrap();
    let [a, b, c, _] = byte_range(&pdf);
    let cms = inkan_cms::parse(&hex::decode(&pdf[a + b + 1..c - 1]).unwrap()).unwrap();
    let original = hex::decode(&pdf[a + b + 1..c - 1]).unwrap();
    let mut tree = Node::read(&original[..Node::length_of(&original)]);
    // ContentInfo → [0] → SignedData: keep the signer's and the issuing CA's certificates.
    let der_of = |c: &Certificate| der::Encode::to_der(c).unwrap();
    let keep = [der_of(&cert), der_of(s.pki.issuing_ca())];
    let signed_data = &mut tree.children_mut()[1].children_mut()[0];
    let parts = signed_data.children_mut();
    let certificates = parts.iter_mut().find(|p| p.tag() == 0xa0).unwrap();
    certificates
        .children_mut()
        .retain(|c| keep.contains(&c.encode()));
    // SignerInfos → the SignerInfo → [1] unsigned attributes → the timestamp's value SET.
    let signer_info = &mut parts.last_mut().unwrap().children_mut()[0];
    let unsigned = signer_info.children_mut().last_mut().unwrap();
    assert_eq!(unsigned.tag(), 0xa1);
    let values = &mut unsigned.children_mut()[0].children_mut()[1];
    let token = values.children_mut()[0].clone();
    values.children_mut().push(token);
    let doubled = tree.encode();
    assert!(
        inkan_cms::ParsedSignedData::clone(&cms)
            .timestamp_tokens()
            .unwrap()
            .len()
            == 1
    );
    let hex = hex::encode(&doubled);
    let room = c - (a + b) - 2;
    assert!(hex.len() <= room, "{} > {room}", hex.len());
    pdf[a + b + 1..c - 1].copy_from_slice(format!("{hex:0<room$}").as_bytes());
    let out = tmp.path().join("doubled.pdf");
    std::fs::write(&out, &pdf).unwrap();

    let report = verify(&out);
    let sig = only_signature(&report);
    assert!(sig.valid && report.valid, "{report:#?}");
    assert!(sig.timestamp.as_ref().unwrap().ok, "{:#?}", sig.timestamp);
    if let Some((ok, text)) = pyhanko_valid(&out, &s.root_pem) {
        assert!(ok, "{text}");
    }
}

/// The header length and the contents length of the DER element at the start of `der`.
fn der_header(der: &[u8]) -> (usize, usize) {
    match der[1] {
        n if n < 0x80 => (2, usize::from(n)),
        n => {
            let count = usize::from(n & 0x7f);
            let len = der[2..2 + count]
                .iter()
                .fold(0usize, |v, b| (v << 8) | usize::from(*b));
            (2 + count, len)
        }
    }
}

/// A DER element as a tree, for editing signatures in tests: SEQUENCE, SET and `[0]`/`[1]`
/// constructed elements are opened, everything else kept as bytes.
#[derive(Clone)]
enum Node {
    Leaf(Vec<u8>),
    Constructed(u8, Vec<Node>),
}

impl Node {
    /// The total length of the element at the start of `der`.
    fn length_of(der: &[u8]) -> usize {
        let (header, len) = der_header(der);
        header + len
    }

    fn read(der: &[u8]) -> Node {
        let (header, len) = der_header(der);
        if !matches!(der[0], 0x30 | 0x31 | 0xa0 | 0xa1) {
            return Node::Leaf(der[..header + len].to_vec());
        }
        let mut children = Vec::new();
        let mut rest = &der[header..header + len];
        while !rest.is_empty() {
            let n = Self::length_of(rest);
            children.push(Node::read(&rest[..n]));
            rest = &rest[n..];
        }
        Node::Constructed(der[0], children)
    }

    fn tag(&self) -> u8 {
        match self {
            Node::Leaf(bytes) => bytes[0],
            Node::Constructed(tag, _) => *tag,
        }
    }

    fn children_mut(&mut self) -> &mut Vec<Node> {
        match self {
            Node::Constructed(_, children) => children,
            Node::Leaf(_) => panic!("not a constructed element"),
        }
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            Node::Leaf(bytes) => bytes.clone(),
            Node::Constructed(tag, children) => {
                let contents: Vec<u8> = children.iter().flat_map(Node::encode).collect();
                let length = der::Length::try_from(contents.len()).unwrap();
                let header = der::Header::new(der::Tag::try_from(*tag).unwrap(), length).unwrap();
                let mut out = der::Encode::to_der(&header).unwrap();
                out.extend(contents);
                out
            }
        }
    }
}

/// A page that keeps its annotations inline — dictionaries written inside its /Annots array, a
/// common producer habit — is certified with P=2, then signed by another party and brought to
/// B-LTA (a document timestamp). Every one of those updates is P=2-safe: pyHanko and Inkan both
/// keep the certification valid, and both still catch an annotation added afterwards.
#[test]
fn certifying_a_page_with_inline_annotations_survives_every_later_update() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let plain = input(tmp.path(), 2);
    let inline = tmp.path().join("inline.pdf");
    write_inline_annotation(&plain, &inline);
    let certified = tmp.path().join("certified.pdf");
    certify_p2(&inline, &certified);
    let (cert, key) = new_signer(&s.pki, "受注者");
    let signed = tmp.path().join("signed.pdf");
    served_sign(&certified, &signed, &key, &cert, Level::BLTA, |o| {
        o.field = Some("Vendor".into())
    });
    let report = verify(&signed);
    assert!(report.valid, "{report:#?}");
    let first = of_kind(&report, SignatureKind::Signature)[0];
    assert_eq!(first.certification.as_ref().map(|c| c.permission), Some(2));
    assert!(first.modifications.allowed, "{first:#?}");
    if let Some((theirs, text)) = pyhanko_valid(&signed, &s.root_pem) {
        assert!(theirs, "{text}");
    }
    // An annotation added after the certification is still caught by both.
    let annotated = tmp.path().join("annotated.pdf");
    add_annotation(&signed, &annotated);
    let report = verify(&annotated);
    assert!(!report.valid, "{report:#?}");
    if let Some((theirs, text)) = pyhanko_valid(&annotated, &s.root_pem) {
        assert!(!theirs, "{text}");
    }
}

/// The same page without any certification: two approval signatures by Inkan keep the first
/// valid in pyHanko and Inkan. And where another tool's update rewrote such a page (pyHanko's
/// signature first, then a page rewrite adding a note), Inkan agrees with pyHanko that the
/// signed annotations can no longer be vouched for.
#[test]
fn approval_signatures_on_a_page_with_inline_annotations_agree_with_pyhanko() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let plain = input(tmp.path(), 1);
    let inline = tmp.path().join("inline.pdf");
    write_inline_annotation(&plain, &inline);

    let (cert, key) = new_signer(&s.pki, "発注者");
    let first = tmp.path().join("first.pdf");
    served_sign(&inline, &first, &key, &cert, Level::BT, |_| {});
    let (cert, key) = new_signer(&s.pki, "受注者");
    let second = tmp.path().join("second.pdf");
    served_sign(&first, &second, &key, &cert, Level::BT, |o| {
        o.field = Some("Vendor".into())
    });
    let report = verify(&second);
    assert!(report.valid, "{report:#?}");
    if let Some((theirs, text)) = pyhanko_valid(&second, &s.root_pem) {
        assert!(theirs, "{text}");
    }

    let (_, _, key_file, cert_file) = signer_files(&s.pki, tmp.path(), "佐藤花子");
    let chain = s.dir.join("issuing-ca.pem");
    let theirs = tmp.path().join("pyhanko.pdf");
    if pyhanko_sign(
        &inline,
        &theirs,
        "Sig1",
        &["--use-pades"],
        &key_file,
        &cert_file,
        &chain,
    )
    .is_none()
    {
        return;
    }
    let rewritten = tmp.path().join("rewritten.pdf");
    add_annotation(&theirs, &rewritten);
    let report = verify(&rewritten);
    let sig = only_signature(&report);
    assert!(!sig.modifications.allowed && !report.valid, "{report:#?}");
    assert_eq!(sig.modifications.kind, ChangeKind::Other, "{sig:#?}");
    if let Some((theirs, text)) = pyhanko_valid(&rewritten, &s.root_pem) {
        assert!(!theirs, "{text}");
    }
}

/// `input` with a note written inline on its first page (the dictionary inside /Annots).
fn write_inline_annotation(input: &Path, output: &Path) {
    let doc = Document::open_file(input).unwrap();
    let page = doc.page(0).unwrap();
    let mut update = IncrementalUpdate::new(&doc).unwrap();
    let mut dict = page.dict.clone();
    dict.insert("Annots", vec![Object::from(text_note(40, "社内メモ"))]);
    update.set(page.reference, dict).unwrap();
    write(update, output);
}

/// After a P=2 certification, another tool's update that replaces the XMP metadata stream and
/// rewrites a page with its numbers in another form (`595.0` → `595`, nothing else changed):
/// allowed, in Inkan as in pyHanko. The same update also moving the page's edge is a change to
/// what the page shows, refused by both.
#[test]
fn xmp_updates_and_numbers_in_another_form_are_no_change() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    // The page's MediaBox with a real number, the same length as the sample's text.
    let mut bytes = sample_pdf(1);
    let (from, to) = (
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]",
        "<</Type/Page /Parent 2 0 R /MediaBox [0 0 595.0 842]",
    );
    assert_eq!(from.len(), to.len());
    let at = bytes
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap();
    bytes[at..at + from.len()].copy_from_slice(to.as_bytes());
    let plain = tmp.path().join("plain.pdf");
    std::fs::write(&plain, &bytes).unwrap();
    assert!(!Document::open_file(&plain).unwrap().is_reconstructed());

    let with_xmp = tmp.path().join("xmp.pdf");
    let metadata = {
        let doc = Document::open_file(&plain).unwrap();
        let mut update = IncrementalUpdate::new(&doc).unwrap();
        let r = update
            .add_stream(xmp_dict(), &xmp("初版"), inkan_pdf::Compression::None)
            .unwrap();
        let mut catalog = doc.catalog().unwrap();
        catalog.insert("Metadata", r);
        update.set(doc.root_ref().unwrap(), catalog).unwrap();
        write(update, &with_xmp);
        r
    };
    let certified = tmp.path().join("certified.pdf");
    certify_p2(&with_xmp, &certified);

    let later = |name: &str, media_box: Option<[i64; 4]>| -> PathBuf {
        let doc = Document::open_file(&certified).unwrap();
        let page = doc.page(0).unwrap();
        let mut update = IncrementalUpdate::new(&doc).unwrap();
        update
            .set(metadata, inkan_pdf::Stream::new(xmp_dict(), xmp("改訂")))
            .unwrap();
        let mut dict = page.dict.clone();
        if let Some(b) = media_box {
            dict.insert("MediaBox", b.map(Object::from).to_vec());
        }
        update.set(page.reference, dict).unwrap();
        let out = tmp.path().join(name);
        write(update, &out);
        out
    };
    let harmless = later("harmless.pdf", None);
    let needle = b"/MediaBox [0 0 595 842]";
    assert!(
        std::fs::read(&harmless)
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle),
        "the page was written again, with integers"
    );
    let report = verify(&harmless);
    assert!(report.valid, "{report:#?}");
    let sig = only_signature(&report);
    assert!(sig.modifications.allowed, "{sig:#?}");
    if let Some((theirs, text)) = pyhanko_valid(&harmless, &s.root_pem) {
        assert!(theirs, "{text}");
    }

    let moved = later("moved.pdf", Some([0, 0, 600, 842]));
    let report = verify(&moved);
    assert!(!report.valid, "{report:#?}");
    assert_eq!(
        only_signature(&report).modifications.kind,
        ChangeKind::Other
    );
    if let Some((theirs, text)) = pyhanko_valid(&moved, &s.root_pem) {
        assert!(!theirs, "{text}");
    }
}

fn xmp_dict() -> Dict {
    let mut dict = Dict::new();
    dict.insert("Type", Object::name("Metadata"));
    dict.insert("Subtype", Object::name("XML"));
    dict
}

/// A small XMP packet whose title is `title`.
fn xmp(title: &str) -> Vec<u8> {
    format!(
        r#"<?xpacket begin="﻿" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title></rdf:Description>
</rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"#
    )
    .into_bytes()
}
