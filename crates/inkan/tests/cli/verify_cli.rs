//! `inkan verify` as a user runs it: text and JSON reports, exit codes 0 / 1 / 2, offline.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{free_port, inkan, serve};
use inkan_testkit::{run, run_ok};
use std::process::Output;
use std::time::{Duration, Instant};

/// A one-page PDF with a classic cross-reference table.
fn sample_pdf() -> Vec<u8> {
    let content = "BT /F1 18 Tf 72 760 Td (Contract page 1) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 6\n0000000000 65535 f \n");
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn verify_reports_in_text_and_json_with_the_documented_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let port = free_port();
    run_ok(inkan().args(["pki", "init", "--dir"]).arg(&dir).args([
        "--base-url",
        &format!("http://127.0.0.1:{port}"),
        "--org",
        "検証市",
    ]));
    let root = dir.join("root.pem");
    let input = tmp.path().join("in.pdf");
    std::fs::write(&input, sample_pdf()).unwrap();
    let signed = tmp.path().join("signed.pdf");
    let server = serve(&dir, port);
    run_ok(
        inkan()
            .arg("sign")
            .arg(&input)
            .arg("-o")
            .arg(&signed)
            .arg("--pki")
            .arg(&dir)
            .args(["--level", "b-lta", "--reason", "承認します"]),
    );

    let out = run(inkan().arg("verify").arg(&signed).arg("--trust").arg(&root));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    for expected in [
        "署名 1 / Signature 1: 有効 / VALID",
        "署名者 / Signer: 検証市 電子契約サービス 立会人署名",
        "改ざん検知 / Integrity: OK",
        "タイムスタンプ / Timestamp: 20",
        "レベル / Level: B-LTA",
        "長期検証 / LTV: 有効 / enabled",
        "理由 / Reason: 承認します",
        "文書タイムスタンプ 1 / Document timestamp 1: 有効 / VALID",
        "総合判定 / Overall: 有効 / VALID",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from\n{stdout}"
        );
    }

    let out = run(inkan()
        .arg("verify")
        .arg(&signed)
        .arg("--trust")
        .arg(&root)
        .arg("--json"));
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], true);
    let sig = &json["signatures"][0];
    assert_eq!(sig["type"], "signature");
    assert_eq!(sig["valid"], true);
    assert_eq!(sig["level"], "B-LTA");
    assert_eq!(sig["ltv"], true);
    assert_eq!(sig["integrity"]["ok"], true);
    assert_eq!(sig["trust"]["status"], "trusted");
    assert_eq!(sig["revocation"]["status"], "good");
    assert_eq!(sig["reason"], "承認します");
    assert!(sig["timestamp"]["time"].as_str().unwrap().starts_with("20"));
    assert!(sig["signer"]["subject"]
        .as_str()
        .unwrap()
        .contains("立会人署名"));
    assert_eq!(sig["modifications"]["allowed"], true);
    assert_eq!(json["signatures"][1]["type"], "document_timestamp");

    // The services are gone: --offline still proves B-LTA from the embedded data.
    drop(server);
    let out = run(inkan()
        .arg("verify")
        .arg(&signed)
        .arg("--trust")
        .arg(&root)
        .arg("--offline"));
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));

    // No trust anchor: "not trusted", invalid.
    let out = run(inkan().arg("verify").arg(&signed).arg("--offline"));
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("信頼されていません / not trusted"),
        "{stdout}"
    );

    // One flipped byte in the signed range.
    let mut bytes = std::fs::read(&signed).unwrap();
    let at = bytes.windows(8).position(|w| w == b"Contract").unwrap();
    bytes[at] = b'K';
    let tampered = tmp.path().join("tampered.pdf");
    std::fs::write(&tampered, &bytes).unwrap();
    let out = run(inkan()
        .arg("verify")
        .arg(&tampered)
        .arg("--trust")
        .arg(&root)
        .arg("--offline"));
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("署名 1 / Signature 1: 無効 / INVALID"),
        "{stdout}"
    );
    assert!(stdout.contains("改ざん検知 / Integrity: NG"), "{stdout}");

    // No signature at all: said so, exit 1.
    let out = run(inkan().arg("verify").arg(&input));
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("署名がありません / This file has no signatures"));
    let out = run(inkan().arg("verify").arg(&input).arg("--json"));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["signatures"].as_array().map(Vec::len), Some(0));

    // Unreadable files: exit 2, one line on stderr, nothing on stdout, fast.
    let signed_bytes = std::fs::read(&signed).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "garbage",
            (0..20_000u32).map(|i| (i * 31 % 253) as u8).collect(),
        ),
        ("truncated", signed_bytes[..signed_bytes.len() / 2].to_vec()),
        (
            "truncated near the end",
            signed_bytes[..signed_bytes.len() - 40].to_vec(),
        ),
        ("empty", Vec::new()),
    ];
    for (name, bytes) in cases {
        let bad = tmp.path().join("bad.pdf");
        std::fs::write(&bad, bytes).unwrap();
        let started = Instant::now();
        let out = run(inkan().arg("verify").arg(&bad).arg("--trust").arg(&root));
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {stdout}{stderr}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name} was slow"
        );
        assert!(stdout.is_empty(), "{name}: {stdout}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    let out = run(inkan().arg("verify").arg(tmp.path().join("missing.pdf")));
    assert_eq!(out.status.code(), Some(2));
}
