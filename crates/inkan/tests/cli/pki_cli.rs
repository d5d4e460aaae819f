//! `inkan pki init | issue | revoke | serve | status | rollover`, run exactly as the README and the issue write them.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{free_port, inkan, serve};
use inkan_testkit::{require_tool, run, run_ok, softhsm};
use std::path::Path;
use std::process::Command;

fn ocsp_status(dir: &Path, cert: &Path, port: u16) -> String {
    run_ok(
        Command::new("openssl")
            .arg("ocsp")
            .arg("-issuer")
            .arg(dir.join("issuing-ca.pem"))
            .arg("-cert")
            .arg(cert)
            .arg("-url")
            .arg(format!("http://127.0.0.1:{port}/ocsp"))
            .arg("-CAfile")
            .arg(dir.join("root.pem")),
    )
}

#[test]
fn init_issue_serve_revoke_as_documented() {
    if require_tool("openssl", "checks what the commands produce").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let port = free_port();
    let out = run_ok(inkan().args(["pki", "init", "--dir"]).arg(&dir).args([
        "--base-url",
        &format!("http://127.0.0.1:{port}"),
        "--org",
        "南九州市",
    ]));
    assert!(out.contains("root.pem"), "{out}");
    for file in [
        "root.pem",
        "issuing-ca.pem",
        "chain.pem",
        "tsa.pem",
        "ocsp.pem",
        "witness.pem",
    ] {
        assert!(dir.join(file).exists(), "{file} missing");
    }
    let prefix = tmp.path().join("taro");
    run_ok(
        inkan()
            .args(["pki", "issue", "--dir"])
            .arg(&dir)
            .args([
                "--name",
                "山田太郎",
                "--email",
                "taro@example.co.jp",
                "--out",
            ])
            .arg(&prefix),
    );
    let cert = tmp.path().join("taro.pem");
    let key = tmp.path().join("taro.key");
    assert!(cert.exists() && key.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // The key belongs to the certificate (OpenSSL reads both and they match).
    let from_cert = run_ok(
        Command::new("openssl")
            .args(["x509", "-noout", "-pubkey", "-in"])
            .arg(&cert),
    );
    let from_key = run_ok(
        Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&key),
    );
    assert_eq!(from_cert, from_key);
    let verify = run_ok(
        Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(dir.join("root.pem"))
            .arg("-untrusted")
            .arg(dir.join("chain.pem"))
            .arg(&cert),
    );
    assert!(verify.contains(": OK"), "{verify}");
    let text = run_ok(
        Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(&cert),
    );
    for expected in [
        "Digital Signature, Non Repudiation",
        "E-mail Protection",
        "email:taro@example.co.jp",
        &format!("http://127.0.0.1:{port}/ocsp"),
        &format!("http://127.0.0.1:{port}/crl/issuing-ca.crl"),
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }

    let _server = serve(&dir, port);
    assert!(ocsp_status(&dir, &cert, port).contains(": good"));
    run_ok(
        inkan()
            .args(["pki", "revoke", "--dir"])
            .arg(&dir)
            .arg("--cert")
            .arg(&cert)
            .args(["--reason", "key-compromise"]),
    );
    // Revoked by another process; the running server sees it at once.
    assert!(ocsp_status(&dir, &cert, port).contains(": revoked"));

    // Errors are one clear line and exit code 2, never a panic.
    let again = run(inkan()
        .args(["pki", "init", "--dir"])
        .arg(&dir)
        .args(["--base-url", "http://x.example"]));
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a PKI"));
    let missing = run(inkan()
        .args(["pki", "issue", "--dir"])
        .arg(tmp.path().join("nope"))
        .args(["--name", "x", "--out"])
        .arg(tmp.path().join("x")));
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("pki init"));
    let reason = run(inkan()
        .args(["pki", "revoke", "--dir"])
        .arg(&dir)
        .arg("--cert")
        .arg(&cert)
        .args(["--reason", "bored"]));
    assert_eq!(reason.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&reason.stderr).contains("unknown revocation reason"));
    let bad_url = run(inkan()
        .args(["pki", "init", "--dir"])
        .arg(tmp.path().join("p2"))
        .args(["--base-url", "ftp://nope"]));
    assert_eq!(bad_url.status.code(), Some(2));
}

#[test]
fn init_with_keys_in_a_pkcs11_token() {
    let Some(hsm) = softhsm() else { return };
    if require_tool("openssl", "checks what the commands produce").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    run_ok(
        inkan()
            .env("INKAN_PKCS11_PIN", &hsm.user_pin)
            .args(["pki", "init", "--dir"])
            .arg(&dir)
            .args(["--base-url", "http://127.0.0.1:9"])
            .arg("--pkcs11-module")
            .arg(&hsm.module)
            .args([
                "--pkcs11-token",
                &hsm.token_label,
                "--pkcs11-label-prefix",
                "cli-test",
            ]),
    );
    assert!(!dir.join("keys").exists(), "no key files with a token");
    run_ok(
        inkan()
            .env("INKAN_PKCS11_PIN", &hsm.user_pin)
            .args(["pki", "issue", "--dir"])
            .arg(&dir)
            .args(["--name", "HSM signer", "--key-type", "p256", "--out"])
            .arg(tmp.path().join("s")),
    );
    let verify = run_ok(
        Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(dir.join("root.pem"))
            .arg("-untrusted")
            .arg(dir.join("chain.pem"))
            .arg(tmp.path().join("s.pem")),
    );
    assert!(verify.contains(": OK"), "{verify}");
    // Without the PIN: a clear error naming the variable.
    let no_pin = run(inkan()
        .env_remove("INKAN_PKCS11_PIN")
        .args(["pki", "issue", "--dir"])
        .arg(&dir)
        .args(["--name", "x", "--out"])
        .arg(tmp.path().join("x")));
    assert_eq!(no_pin.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_pin.stderr).contains("INKAN_PKCS11_PIN"));
}

/// `inkan pki status` lists when each of the PKI's certificates ends, soonest first, and exits 1
/// when one ends within `--warn-days` (what monitoring alerts on), 0 otherwise.
#[test]
fn status_lists_every_expiry_and_warns_before_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    run_ok(inkan().args(["pki", "init", "--dir"]).arg(&dir).args([
        "--base-url",
        "http://127.0.0.1:9",
        "--org",
        "盛岡市",
    ]));
    let fine = run(inkan().args(["pki", "status", "--dir"]).arg(&dir));
    let text = String::from_utf8_lossy(&fine.stdout).to_string();
    assert_eq!(fine.status.code(), Some(0), "{text}");
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert!(rows.iter().all(|r| r.starts_with("g1 ")), "{text}");
    let roles: Vec<&str> = rows
        .iter()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    let mut sorted = roles.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["issuing-ca", "ocsp", "root", "tsa", "witness"],
        "{text}"
    );
    // Soonest first: the short-lived OCSP responder certificate (renewed by `serve`), the CAs last.
    assert_eq!(roles.first(), Some(&"ocsp"), "{text}");
    let days: Vec<u64> = rows
        .iter()
        .filter_map(|r| {
            r.split(" JST")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(days.len(), 5, "{text}");
    assert!(days.windows(2).all(|w| w[0] <= w[1]), "{text}");
    assert!(days[4] > 3000, "the CAs live ten years: {text}");
    assert!(
        rows.iter().all(|r| r.contains("年") && r.contains("JST")),
        "{text}"
    );
    assert!(!text.contains("まもなく"), "{text}");
    // Every certificate ends within 100 years: all flagged, exit 1.
    let warned = run(inkan()
        .args(["pki", "status", "--warn-days", "36500", "--dir"])
        .arg(&dir));
    let text = String::from_utf8_lossy(&warned.stdout).to_string();
    assert_eq!(warned.status.code(), Some(1), "{text}");
    assert_eq!(text.matches("まもなく期限切れ").count(), 5, "{text}");
    assert!(
        text.contains("5 certificate(s) end within 36500 days"),
        "{text}"
    );
    // A rollover: a second generation and its cross certificate join the list.
    let rolled = run_ok(inkan().args(["pki", "rollover", "--dir"]).arg(&dir));
    assert!(
        rolled.contains("generation 2") && rolled.contains("cross-certified.pem"),
        "{rolled}"
    );
    assert!(dir.join("g2").join("cross-certified.pem").exists());
    let text = run_ok(inkan().args(["pki", "status", "--dir"]).arg(&dir));
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 11, "{text}");
    assert_eq!(
        rows.iter().filter(|r| r.starts_with("g2 ")).count(),
        6,
        "{text}"
    );
    assert!(
        rows.iter().any(|r| r.starts_with("g2 ")
            && r.contains("cross-certified")
            && r.contains("Root CA G2")),
        "{text}"
    );
    // No PKI there: a clear error and exit 2, as every command's errors.
    let missing = run(inkan()
        .args(["pki", "status", "--dir"])
        .arg(tmp.path().join("none")));
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("cannot open the PKI"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}
