//! The independent validators every signing test ends with — pyHanko, the shared offline LTV
//! check, pdfsig, qpdf — and sample PDFs to sign. Each returns `None` (after printing why) when
//! its tool is absent, which fails under CI.

use crate::{
    nss_db_trusting, pyhanko, pyhanko_python, require_tool, run, run_with_input, shared_file,
};
use std::path::Path;
use std::process::Command;

pub use inkan_pdf::sample::sample_pdf;

/// `pyhanko sign validate`: `Some(true)` when every signature is VALID.
pub fn pyhanko_valid(pdf: &Path, root: &Path) -> Option<(bool, String)> {
    pyhanko_validate(pdf, root, None)
}

/// [`pyhanko_valid`] for an encrypted file that opens without a password: pyHanko asks for one
/// on its input, and is given an empty line.
pub fn pyhanko_valid_encrypted(pdf: &Path, root: &Path) -> Option<(bool, String)> {
    pyhanko_validate(pdf, root, Some(b"\n"))
}

fn pyhanko_validate(pdf: &Path, root: &Path, input: Option<&[u8]>) -> Option<(bool, String)> {
    let pyhanko = pyhanko()?;
    let mut cmd = Command::new(pyhanko);
    cmd.args(["sign", "validate", "--pretty-print", "--trust"])
        .arg(root)
        .arg("--trust-replace")
        .arg(pdf);
    let out = match input {
        None => run(&mut cmd),
        Some(input) => run_with_input(&mut cmd, input),
    };
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

/// pyHanko's PAdES-LTA indication for each signature (document timestamps aside) at `at`
/// (`2029-06-01T00:00:00`, UTC), from the file's embedded data alone, assuming only that the
/// newest timestamp's TSA certificate is not revoked then (`python/pyhanko_lta_at.py` says
/// why): `AdESPassed.OK` when the archive still proves the signature at that moment.
pub fn lta_indications_at(pdf: &Path, root: &Path, at: &str) -> Option<(Vec<String>, String)> {
    let python = pyhanko_python()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/pyhanko_lta_at.py");
    let out = run(Command::new(python)
        .arg(script)
        .arg("--trust")
        .arg(root)
        .args(["--at", at])
        .arg(pdf));
    let text = output_text(&out);
    if !out.status.success() {
        panic!("pyhanko_lta_at.py failed on {}:\n{text}", pdf.display());
    }
    let indications = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1).map(str::to_string))
        .collect();
    Some((indications, text))
}

/// pyHanko's verdict on every document timestamp of `pdf` (`python/pyhanko_doc_timestamps.py`:
/// intact, valid and trusted under `root`), which `pyhanko sign validate` does not report when a
/// file has no other signature: `Some(true)` when there is one at least and all pass.
pub fn pyhanko_doc_timestamps_valid(pdf: &Path, root: &Path) -> Option<(bool, String)> {
    let python = pyhanko_python()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/pyhanko_doc_timestamps.py");
    let out = run(Command::new(python)
        .arg(script)
        .arg("--trust")
        .arg(root)
        .arg(pdf));
    Some((out.status.success(), output_text(&out)))
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

/// The Prometheus project's own OpenMetrics parser (the `prometheus-client` package in the
/// pyHanko environment) over `text`: every sample as `{"name", "labels", "value"}`, or the
/// parser's error as `Err`. `None` when the parser is absent.
pub fn openmetrics_samples(text: &str) -> Option<Result<Vec<serde_json::Value>, String>> {
    let python = pyhanko_python()?;
    let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        samples.append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(samples))
"#;
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take()?;
        stdin.write_all(text.as_bytes()).ok()?;
    }
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        let error = String::from_utf8_lossy(&out.stderr).to_string();
        if error.contains("No module named 'prometheus_client'") {
            crate::skip_or_fail("prometheus-client is not installed in the pyHanko environment (bash .ci/run installs it)");
            return None;
        }
        return Some(Err(error));
    }
    Some(serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).map_err(|e| e.to_string()))
}
