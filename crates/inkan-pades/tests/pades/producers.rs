//! Inputs as they come in practice, made at test time by the producers people use: Ghostscript,
//! qpdf (object streams, linearization), reportlab with Japanese text, and files already signed
//! by pyHanko. Each is sealed at B-LTA with the witness key and must be accepted by pyHanko,
//! pdfsig, `qpdf --check` and the offline LTV check. Encrypted, truncated and damaged files are
//! refused with a clear message and nothing written.
//!
//! Every producer is an outside tool: missing, the test prints why it is skipped (a failure under
//! `CI=true`; `.ci/run` installs them all).
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{
    assert_valid_everywhere, ltv_check, pdfsig_all_valid, pyhanko_valid, sample_pdf, served,
};
use inkan_keys::{KeyKind, KeyProtection};
use inkan_pades::{
    Level, PadesError, RevocationFetcher, Services, SignOptions, SignOutcome, Signer,
};
use inkan_pki::tsa::TsaClient;
use inkan_pki::SignerRequest;
use inkan_testkit::{pyhanko, pyhanko_python, require_tool, run, run_ok, skip_or_fail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Seals `input` at B-LTA with the served PKI's witness key and TSA.
fn seal(input: &Path, output: &Path) -> Result<SignOutcome, PadesError> {
    let s = served();
    let key = s.pki.witness_key().unwrap();
    let tsa = TsaClient::new(vec![format!("{}/tsa", s.base_url)]).unwrap();
    let fetcher = RevocationFetcher::default();
    let mut options = SignOptions::new(Level::BLTA);
    options.reason = Some("契約締結 (Inkan witness seal)".into());
    options.location = Some("日本".into());
    let chain = vec![s.pki.issuing_ca().clone()];
    runtime().block_on(inkan_pades::sign_pdf(
        input,
        output,
        &Signer {
            key: key.as_ref(),
            certificate: &s.pki.witness_certificate(),
            chain: &chain,
        },
        &options,
        &Services {
            tsa: Some(&tsa),
            revocation: &fetcher,
            anchors: std::slice::from_ref(s.pki.root()),
        },
    ))
}

/// Seals `input` and requires every validator to accept the result, LTV check included; the
/// original bytes must be untouched (an incremental update).
fn seal_and_check(input: &Path) -> PathBuf {
    let s = served();
    let output = input.with_extension("sealed.pdf");
    let outcome =
        seal(input, &output).unwrap_or_else(|e| panic!("sealing {} failed: {e}", input.display()));
    assert!(outcome.contents_used <= outcome.contents_capacity);
    assert!(
        std::fs::read(&output)
            .unwrap()
            .starts_with(&std::fs::read(input).unwrap()),
        "{}: the original bytes must stay as they were",
        input.display()
    );
    assert_valid_everywhere(&output, &s.root_pem);
    if let Some((ok, text)) = ltv_check(&output, &s.root_pem, None) {
        assert!(ok, "{}: LTV check:\n{text}", output.display());
    }
    output
}

/// Page count according to qpdf (also proves the producer wrote what we think it wrote).
fn qpdf_pages(pdf: &Path) -> Option<usize> {
    require_tool("qpdf", "counts pages (apt install qpdf)")?;
    let text = run_ok(Command::new("qpdf").arg("--show-npages").arg(pdf));
    Some(text.trim().parse().unwrap())
}

/// A PostScript program of `pages` pages: text in two fonts, rules and a filled box.
fn postscript(pages: usize) -> String {
    let mut ps = String::from("%!PS-Adobe-3.0\n%%Title: Inkan producer test\n");
    ps.push_str(&format!("%%Pages: {pages}\n%%EndComments\n"));
    for page in 1..=pages {
        ps.push_str(&format!(
            "%%Page: {page} {page}\n\
             /Helvetica-Bold findfont 20 scalefont setfont\n\
             72 760 moveto (Service agreement - page {page} of {pages}) show\n\
             /Times-Roman findfont 12 scalefont setfont\n"
        ));
        for line in 0..30 {
            ps.push_str(&format!(
                "72 {} moveto (Article {}. The parties agree to the terms set out in this article.) show\n",
                720 - 20 * line,
                (page - 1) * 30 + line + 1
            ));
        }
        ps.push_str(
            "0.5 setlinewidth 72 100 moveto 523 100 lineto stroke\n\
             0.9 0.9 0.7 setrgbcolor 72 60 200 30 rectfill\n\
             showpage\n",
        );
    }
    ps.push_str("%%EOF\n");
    ps
}

#[test]
fn ghostscript_output_is_sealed_valid() {
    let Some(gs) = require_tool(
        "gs",
        "Ghostscript produces an input (apt install ghostscript)",
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let ps = inkan_testkit::write(tmp.path(), "contract.ps", postscript(4));
    let input = tmp.path().join("gs.pdf");
    run_ok(
        Command::new(gs)
            .args(["-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite"])
            .arg(format!("-sOutputFile={}", input.display()))
            .arg(&ps),
    );
    if let Some(pages) = qpdf_pages(&input) {
        assert_eq!(pages, 4);
    }
    seal_and_check(&input);
}

#[test]
fn qpdf_object_streams_and_linearization_are_sealed_valid() {
    if require_tool("qpdf", "rewrites the inputs (apt install qpdf)").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let plain = inkan_testkit::write(tmp.path(), "plain.pdf", sample_pdf(6));
    let variants: [(&str, &[&str]); 3] = [
        ("objstm", &["--object-streams=generate"]),
        ("linearized", &["--linearize"]),
        (
            "objstm-linearized",
            &["--object-streams=generate", "--linearize"],
        ),
    ];
    for (name, args) in variants {
        let input = tmp.path().join(format!("{name}.pdf"));
        run_ok(Command::new("qpdf").args(args).arg(&plain).arg(&input));
        let bytes = std::fs::read(&input).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        if name.contains("objstm") {
            assert!(text.contains("/ObjStm"), "{name}: no object stream written");
        }
        if name.contains("linearized") {
            assert!(text.contains("/Linearized"), "{name}: not linearized");
        }
        assert_eq!(qpdf_pages(&input), Some(6));
        seal_and_check(&input);
    }
}

/// reportlab, writing five pages of Japanese text in its built-in CID font.
const REPORTLAB_JAPANESE: &str = r#"
import sys
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

pdfmetrics.registerFont(UnicodeCIDFont('HeiseiKakuGo-W5'))
c = canvas.Canvas(sys.argv[1], pagesize=A4)
c.setTitle('業務委託契約書')
c.setAuthor('盛岡市')
for page in range(1, 6):
    c.setFont('HeiseiKakuGo-W5', 18)
    c.drawString(72, 780, f'業務委託契約書（第{page}頁）')
    c.setFont('HeiseiKakuGo-W5', 10.5)
    for line in range(32):
        article = (page - 1) * 32 + line + 1
        c.drawString(72, 740 - 20 * line,
                     f'第{article}条　甲及び乙は、信義に従い誠実に本契約を履行するものとする。')
    c.showPage()
c.save()
"#;

#[test]
fn reportlab_japanese_text_is_sealed_valid() {
    let Some(python) = pyhanko_python() else {
        return;
    };
    let probe = run(Command::new(&python).args(["-c", "import reportlab"]));
    if !probe.status.success() {
        skip_or_fail(
            "reportlab is not installed in the pyHanko virtualenv (bash .ci/run installs it)",
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("reportlab.pdf");
    run_ok(
        Command::new(&python)
            .args(["-c", REPORTLAB_JAPANESE])
            .arg(&input),
    );
    let bytes = std::fs::read(&input).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("HeiseiKakuGo-W5") && text.contains("UniJIS-UCS2-H"));
    if let Some(pages) = qpdf_pages(&input) {
        assert_eq!(pages, 5);
    }
    seal_and_check(&input);
}

#[test]
fn files_signed_by_pyhanko_keep_their_signature_valid_beside_inkans() {
    let Some(pyhanko) = pyhanko() else {
        return;
    };
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = s
        .pki
        .issue_signer(
            &SignerRequest {
                name: "佐藤花子".into(),
                email: Some("hanako@example.jp".into()),
                days: 365,
            },
            KeyKind::Rsa2048,
        )
        .unwrap();
    let key_pem = tmp.path().join("signer.key.pem");
    key.write_file(&key_pem, KeyProtection::None).unwrap();
    let cert_pem = inkan_testkit::write(
        tmp.path(),
        "signer.pem",
        der::EncodePem::to_pem(&cert, der::pem::LineEnding::LF).unwrap(),
    );
    let plain = inkan_testkit::write(tmp.path(), "plain.pdf", sample_pdf(3));
    // pyHanko's default (adbe.pkcs7.detached, as the CLI writes without options) and its PAdES.
    let variants: [(&str, &[&str]); 2] = [
        ("pyhanko-default", &[]),
        ("pyhanko-pades", &["--use-pades"]),
    ];
    for (name, extra) in variants {
        let signed = tmp.path().join(format!("{name}.pdf"));
        run_ok(
            Command::new(&pyhanko)
                .args(["sign", "addsig", "--field", "Sig1"])
                .args(extra)
                .args(["pemder", "--key"])
                .arg(&key_pem)
                .arg("--cert")
                .arg(&cert_pem)
                .arg("--chain")
                .arg(s.dir.join("issuing-ca.pem"))
                .arg("--no-pass")
                .arg(&plain)
                .arg(&signed),
        );
        if let Some((ok, text)) = pyhanko_valid(&signed, &s.root_pem) {
            assert!(ok, "{name}: pyHanko's own signature:\n{text}");
        }
        let output = tmp.path().join(format!("{name}-sealed.pdf"));
        seal(&signed, &output).unwrap_or_else(|e| panic!("{name}: sealing failed: {e}"));
        assert!(std::fs::read(&output)
            .unwrap()
            .starts_with(&std::fs::read(&signed).unwrap()));
        if let Some((ok, text)) = common::qpdf_clean(&output) {
            assert!(ok, "{name}: qpdf --check:\n{text}");
        }
        if let Some((ok, text)) = pyhanko_valid(&output, &s.root_pem) {
            assert!(ok, "{name}: pyHanko:\n{text}");
            assert_eq!(
                text.matches("judged VALID").count(),
                2,
                "{name}: pyHanko's and Inkan's signatures must both be VALID:\n{text}"
            );
        }
        if let Some((ok, text)) = pdfsig_all_valid(&output, &s.root_pem, 2) {
            assert!(ok, "{name}: pdfsig:\n{text}");
        }
        // The offline LTV check: Inkan's B-LT embeds validation data for every signature in
        // the file, so pyHanko's B-B signature is LTV-enabled too.
        if let Some((ok, text)) = ltv_check(&output, &s.root_pem, None) {
            let verdicts = common::ltv_verdicts(&text);
            assert_eq!(
                verdicts,
                [
                    ("Sig1".to_string(), "PASS".to_string()),
                    ("Signature1".to_string(), "PASS".to_string())
                ],
                "{name}: LTV check:\n{text}"
            );
            assert!(ok, "{name}: LTV check:\n{text}");
        }
    }
}

fn seal_refused(input: &Path) -> (PadesError, Duration, PathBuf) {
    let output = input.with_extension("sealed.pdf");
    let started = Instant::now();
    let err = seal(input, &output).expect_err("sealing must be refused");
    let elapsed = started.elapsed();
    assert!(
        !output.exists(),
        "nothing is written when signing is refused"
    );
    (err, elapsed, output)
}

/// Only the files the test itself wrote are left: no output, no temporary stage files.
fn assert_only(dir: &Path, names: &[&str]) {
    let mut left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    left.sort();
    let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(left, expected, "files left in {}", dir.display());
}

#[test]
fn encrypted_pdfs_are_refused_clearly() {
    if require_tool("qpdf", "encrypts the input (apt install qpdf)").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let plain = inkan_testkit::write(tmp.path(), "plain.pdf", sample_pdf(2));
    let encrypted = tmp.path().join("enc.pdf");
    run_ok(
        Command::new("qpdf")
            .args(["--encrypt", "user", "owner", "256", "--"])
            .arg(&plain)
            .arg(&encrypted),
    );
    let (err, _, _) = seal_refused(&encrypted);
    let message = err.to_string();
    assert!(message.contains("encrypted"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
    assert_only(tmp.path(), &["plain.pdf", "enc.pdf"]);
}

#[test]
fn truncated_pdfs_fail_fast_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = sample_pdf(20);
    let cuts = [0, 20, whole.len() / 2, whole.len() - 25];
    for cut in cuts {
        let input = inkan_testkit::write(tmp.path(), "broken.pdf", &whole[..cut]);
        let (err, elapsed, _) = seal_refused(&input);
        let message = err.to_string();
        assert!(
            !message.contains('\n') && !message.is_empty(),
            "cut at {cut}: one line expected, got: {message}"
        );
        assert!(
            elapsed < Duration::from_secs(1),
            "cut at {cut}: took {elapsed:?} to say: {message}"
        );
        println!(
            "truncated at {cut} of {} bytes: {message} ({elapsed:?})",
            whole.len()
        );
    }
    assert_only(tmp.path(), &["broken.pdf"]);
}

#[test]
fn damaged_but_readable_pdfs_are_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = sample_pdf(3);
    // Point startxref a few bytes past the real cross-reference table: readers recover by
    // scanning, but an incremental update would chain its /Prev to the broken offset.
    let text = String::from_utf8_lossy(&whole).to_string();
    let at = text.rfind("startxref\n").unwrap() + "startxref\n".len();
    let end = at + text[at..].find('\n').unwrap();
    let offset: usize = text[at..end].parse().unwrap();
    let damaged = format!("{}{}{}", &text[..at], offset + 7, &text[end..]);
    let input = inkan_testkit::write(tmp.path(), "damaged.pdf", damaged.as_bytes());
    if require_tool("qpdf", "confirms the file is readable (apt install qpdf)").is_some() {
        let out = run(Command::new("qpdf").arg("--check").arg(&input));
        let report = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        // qpdf reads it by reconstructing, with a warning (exit 3), not an error (exit 2).
        assert_eq!(out.status.code(), Some(3), "{report}");
    }
    let (err, _, _) = seal_refused(&input);
    let message = err.to_string();
    assert!(message.contains("damaged"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
    assert_only(tmp.path(), &["damaged.pdf"]);
}
