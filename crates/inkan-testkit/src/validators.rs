//! The independent validators every signing test ends with — pyHanko, the shared offline LTV
//! check, pdfsig, qpdf — and sample PDFs to sign. Each returns `None` (after printing why) when
//! its tool is absent, which fails under CI.

use crate::{nss_db_trusting, pyhanko, pyhanko_python, require_tool, run, shared_file};
use std::path::Path;
use std::process::Command;

/// A small valid PDF with `pages` pages (classic xref table), with a Japanese title.
pub fn sample_pdf(pages: usize) -> Vec<u8> {
    let mut objects: Vec<Vec<u8>> = Vec::new();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 5 + 2 * i)).collect();
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        )
        .into_bytes(),
    );
    objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec());
    // /Info with a UTF-16BE title: 業務委託契約書
    let title: Vec<u8> = "業務委託契約書"
        .encode_utf16()
        .flat_map(|u| u.to_be_bytes())
        .collect();
    objects.push(format!("<< /Title <FEFF{}> /Producer (inkan test) >>", hex(&title)).into_bytes());
    for i in 0..pages {
        let page_num = 5 + 2 * i;
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {} 0 R /Resources << /Font << /F1 3 0 R >> >> >>",
                page_num + 1
            )
            .into_bytes(),
        );
        let content = format!("BT /F1 18 Tf 72 760 Td (Contract page {}) Tj ET", i + 1);
        objects.push(
            format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len()
            )
            .into_bytes(),
        );
    }
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(object);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 4 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// `pyhanko sign validate`: `Some(true)` when every signature is VALID.
pub fn pyhanko_valid(pdf: &Path, root: &Path) -> Option<(bool, String)> {
    let pyhanko = pyhanko()?;
    let out = run(Command::new(pyhanko)
        .args(["sign", "validate", "--pretty-print", "--trust"])
        .arg(root)
        .arg("--trust-replace")
        .arg(pdf));
    let text = output_text(&out);
    let valid = out.status.success() && text.contains("judged VALID") && !text.contains("INVALID");
    Some((valid, text))
}

/// The shared offline LTV check: `Some(true)` on PASS.
pub fn ltv_check(pdf: &Path, root: &Path, future: Option<&str>) -> Option<(bool, String)> {
    let python = pyhanko_python()?;
    let script = shared_file("tools/pyhanko_ltv_check.py")?;
    let mut cmd = Command::new(python);
    cmd.arg(script).arg("--trust").arg(root);
    if let Some(date) = future {
        cmd.args(["--future", date, "--require-future"]);
    }
    let out = run(cmd.arg(pdf));
    let text = output_text(&out);
    Some((out.status.success(), text))
}

/// pdfsig's verdict per signature (it does not check document timestamps): every signature
/// "Signature is Valid." and "Certificate is Trusted.".
pub fn pdfsig_valid(pdf: &Path, root: &Path) -> Option<(bool, String)> {
    let text = pdfsig_report(pdf, root)?;
    let signatures = text.matches("Signature Type: ETSI.CAdES.detached").count();
    Some((
        signatures > 0 && all_valid_and_trusted(&text, signatures),
        text,
    ))
}

/// What pdfsig prints for `pdf`, trusting `root`.
fn pdfsig_report(pdf: &Path, root: &Path) -> Option<String> {
    require_tool("pdfsig", "independent check (apt install poppler-utils)")?;
    let db = nss_db_trusting(root)?;
    let out = run(Command::new("pdfsig")
        .arg("-nssdir")
        .arg(format!("sql:{}", db.path().display()))
        .arg(pdf));
    Some(output_text(&out))
}

/// Whether pdfsig's report says "Signature is Valid." and "Certificate is Trusted." for each of
/// `signatures` signatures.
fn all_valid_and_trusted(report: &str, signatures: usize) -> bool {
    report.matches("Signature is Valid.").count() == signatures
        && report.matches("Certificate is Trusted.").count() == signatures
}

/// A finished command's stdout and stderr as one text.
fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `qpdf --check` passes with no warning.
pub fn qpdf_clean(pdf: &Path) -> Option<(bool, String)> {
    require_tool("qpdf", "structure check (apt install qpdf)")?;
    let out = run(Command::new("qpdf").arg("--check").arg(pdf));
    let text = output_text(&out);
    Some((
        out.status.success() && !text.to_lowercase().contains("warning"),
        text,
    ))
}

/// Every independent validator accepts the file.
pub fn assert_valid_everywhere(pdf: &Path, root: &Path) {
    if let Some((ok, text)) = qpdf_clean(pdf) {
        assert!(ok, "qpdf --check:\n{text}");
    }
    if let Some((ok, text)) = pyhanko_valid(pdf, root) {
        assert!(ok, "pyHanko:\n{text}");
    }
    if let Some((ok, text)) = pdfsig_valid(pdf, root) {
        assert!(ok, "pdfsig:\n{text}");
    }
}

/// pdfsig's verdict on a file holding `expected` signatures of any kind (`adbe.pkcs7.detached`
/// from other signers as well as Inkan's `ETSI.CAdES.detached`; pdfsig does not check document
/// timestamps): each "Signature is Valid." and "Certificate is Trusted.".
pub fn pdfsig_all_valid(pdf: &Path, root: &Path, expected: usize) -> Option<(bool, String)> {
    let text = pdfsig_report(pdf, root)?;
    let signatures = text.matches("Signature Type: ETSI.CAdES.detached").count()
        + text.matches("Signature Type: adbe.pkcs7.detached").count();
    Some((
        signatures == expected && all_valid_and_trusted(&text, signatures),
        text,
    ))
}

/// The per-signature verdicts of the offline LTV check's JSON report: (field, "PASS"/"FAIL").
pub fn ltv_verdicts(report: &str) -> Vec<(String, String)> {
    fn value_after(text: &str, key: &str) -> Option<String> {
        let start = text.rfind(key)? + key.len();
        let end = start + text[start..].find('"')?;
        Some(text[start..end].to_string())
    }
    let mut verdicts = Vec::new();
    let mut rest = 0;
    while let Some(found) = report[rest..].find("\"verdict\": \"") {
        let at = rest + found;
        let field = value_after(&report[..at], "\"field\": \"").unwrap_or_default();
        let start = at + "\"verdict\": \"".len();
        let verdict = report[start..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_string();
        verdicts.push((field, verdict));
        rest = at + 1;
    }
    verdicts
}
