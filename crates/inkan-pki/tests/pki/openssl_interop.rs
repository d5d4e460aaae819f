//! Proof against OpenSSL: it accepts Inkan's chains, OCSP answers and timestamps; Inkan's clients
//! accept what OpenSSL's own OCSP responder and TSA produce.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{export_key, http_get, http_post, openssl, served};
use inkan_keys::{DigestAlgorithm, KeyKind};
use inkan_pki::{RevocationReason, RevocationStatus, SignerRequest};
use inkan_testkit::{run_ok, write};
use std::process::Command;
use std::time::SystemTime;

fn issue(
    name: &str,
) -> (
    x509_cert::Certificate,
    std::path::PathBuf,
    tempfile::TempDir,
) {
    let s = served();
    let (cert, _key) = s
        .pki
        .issue_signer(
            &SignerRequest {
                name: name.into(),
                email: Some("taro@example.co.jp".into()),
                days: 365,
            },
            KeyKind::EcP256,
        )
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = write(
        tmp.path(),
        "cert.pem",
        inkan_pki::x509::to_pem(std::slice::from_ref(&cert)).unwrap(),
    );
    (cert, path, tmp)
}

#[test]
fn openssl_verify_accepts_every_issued_chain() {
    if !openssl() {
        return;
    }
    let s = served();
    let (_, signer, _tmp) = issue("山田太郎");
    let out = run_ok(
        Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(s.dir.join("root.pem"))
            .arg("-untrusted")
            .arg(s.dir.join("issuing-ca.pem"))
            .arg(&signer)
            .arg(s.dir.join("tsa.pem"))
            .arg(s.dir.join("ocsp.pem"))
            .arg(s.dir.join("witness.pem"))
            .arg(s.dir.join("issuing-ca.pem")),
    );
    assert_eq!(out.matches(": OK").count(), 5, "{out}");
    // The chain file is issuing CA then root, and verifies as a whole.
    let chain = std::fs::read_to_string(s.dir.join("chain.pem")).unwrap();
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2);
    // The Japanese name is a UTF8String that OpenSSL prints back intact.
    let text = run_ok(
        Command::new("openssl")
            .args([
                "x509",
                "-noout",
                "-subject",
                "-nameopt",
                "utf8,sep_comma_plus",
                "-in",
            ])
            .arg(&signer),
    );
    assert!(text.contains("CN=山田太郎"), "{text}");
    assert!(text.contains("O=盛岡市"), "{text}");
}

#[test]
fn openssl_ocsp_sees_good_then_revoked() {
    if !openssl() {
        return;
    }
    let s = served();
    let (cert, path, _tmp) = issue("OCSP 確認");
    let ask = || {
        run_ok(
            Command::new("openssl")
                .arg("ocsp")
                .arg("-issuer")
                .arg(s.dir.join("issuing-ca.pem"))
                .arg("-cert")
                .arg(&path)
                .arg("-url")
                .arg(format!("{}/ocsp", s.base_url))
                .arg("-CAfile")
                .arg(s.dir.join("root.pem")),
        )
    };
    let before = ask();
    assert!(before.contains("Response verify OK"), "{before}");
    assert!(before.contains(": good"), "{before}");
    assert!(
        before.contains("Next Update"),
        "nextUpdate must be set: {before}"
    );
    s.pki
        .revoke(&cert, RevocationReason::KeyCompromise)
        .unwrap();
    let after = ask();
    assert!(after.contains("Response verify OK"), "{after}");
    assert!(
        after.contains(": revoked"),
        "revocation must be visible at once: {after}"
    );
    assert!(after.contains("keyCompromise"), "{after}");
}

#[test]
fn openssl_ocsp_get_form_works() {
    if !openssl() {
        return;
    }
    let s = served();
    let (_, path, _tmp) = issue("GET 確認");
    let out = run_ok(
        Command::new("openssl")
            .arg("ocsp")
            .arg("-issuer")
            .arg(s.dir.join("issuing-ca.pem"))
            .arg("-cert")
            .arg(&path)
            .arg("-url")
            .arg(format!("{}/ocsp", s.base_url))
            .arg("-CAfile")
            .arg(s.dir.join("root.pem"))
            .arg("-no_nonce")
            .arg("-reqout")
            .arg(_tmp.path().join("req.der")),
    );
    assert!(out.contains(": good"), "{out}");
    // The same request by GET (RFC 6960 A.1), with its base64 URL-encoded.
    let req = std::fs::read(_tmp.path().join("req.der")).unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&req);
    let encoded = b64
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let (status, answer) = http_get(&format!("{}/ocsp/{encoded}", s.base_url));
    assert_eq!(status, 200);
    let pki = &s.pki;
    let checked = inkan_pki::ocsp::check_response(
        &answer,
        &inkan_pki::read_certificate(&path).unwrap(),
        pki.issuing_ca(),
        None,
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(checked.status, RevocationStatus::Good);
}

#[test]
fn openssl_ts_verify_accepts_inkan_tokens() {
    if !openssl() {
        return;
    }
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let data = write(tmp.path(), "data.bin", "契約書 PDF の中身".as_bytes());
    for digest in ["-sha256", "-sha384", "-sha512"] {
        let query = tmp.path().join("q.tsq");
        run_ok(
            Command::new("openssl")
                .args(["ts", "-query", "-data"])
                .arg(&data)
                .args([digest, "-cert", "-out"])
                .arg(&query),
        );
        let reply = http_post(
            &format!("{}/tsa", s.base_url),
            "application/timestamp-query",
            std::fs::read(&query).unwrap(),
        );
        assert_eq!(reply.0, 200);
        let reply_path = write(tmp.path(), "r.tsr", &reply.1);
        let out = run_ok(
            Command::new("openssl")
                .args(["ts", "-verify", "-in"])
                .arg(&reply_path)
                .arg("-queryfile")
                .arg(&query)
                .arg("-CAfile")
                .arg(s.dir.join("root.pem"))
                .arg("-untrusted")
                .arg(s.dir.join("chain.pem")),
        );
        assert!(out.contains("Verification: OK"), "{digest}: {out}");
        let text = run_ok(
            Command::new("openssl")
                .args(["ts", "-reply", "-text", "-in"])
                .arg(&reply_path),
        );
        assert!(text.contains("Status: Granted."), "{text}");
        assert!(text.contains("Policy OID: 1.3.6.1.4.1.99999.1.1"), "{text}");
        assert!(text.contains("Accuracy: 0x01 seconds"), "{text}");
        assert!(text.contains("Nonce: 0x"), "{text}");
    }
}

#[test]
fn inkan_ocsp_client_accepts_openssl_index_responses() {
    if !openssl() {
        return;
    }
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let ca_key = tmp.path().join("ca.key");
    export_key(&s.dir, "issuing-ca", &ca_key);
    let (good, _, _t1) = issue("good one");
    let (revoked, _, _t2) = issue("revoked one");
    let subject = |c: &x509_cert::Certificate| {
        let out = run_ok(
            Command::new("openssl")
                .args(["x509", "-noout", "-subject", "-nameopt", "compat", "-in"])
                .arg(write(
                    tmp.path(),
                    "c.pem",
                    inkan_pki::x509::to_pem(std::slice::from_ref(c)).unwrap(),
                )),
        );
        out.trim().trim_start_matches("subject=").to_string()
    };
    let serial = |c: &x509_cert::Certificate| {
        inkan_pki::serial_hex(&c.tbs_certificate.serial_number).to_uppercase()
    };
    let index = format!(
        "V\t361231000000Z\t\t{}\tunknown\t{}\nR\t361231000000Z\t261101000000Z,keyCompromise\t{}\tunknown\t{}\n",
        serial(&good),
        subject(&good),
        serial(&revoked),
        subject(&revoked)
    );
    let index_path = write(tmp.path(), "index.txt", index);
    for (cert, expected_good) in [(&good, true), (&revoked, false)] {
        let nonce = [9u8; 16];
        let request =
            inkan_pki::ocsp::build_request(cert, s.pki.issuing_ca(), Some(&nonce)).unwrap();
        let req_path = write(tmp.path(), "req.der", &request);
        let resp_path = tmp.path().join("resp.der");
        run_ok(
            Command::new("openssl")
                .arg("ocsp")
                .arg("-index")
                .arg(&index_path)
                .arg("-rsigner")
                .arg(s.dir.join("issuing-ca.pem"))
                .arg("-rkey")
                .arg(&ca_key)
                .arg("-CA")
                .arg(s.dir.join("issuing-ca.pem"))
                .arg("-reqin")
                .arg(&req_path)
                .arg("-respout")
                .arg(&resp_path)
                .args(["-ndays", "1"]),
        );
        let answer = inkan_pki::ocsp::check_response(
            &std::fs::read(&resp_path).unwrap(),
            cert,
            s.pki.issuing_ca(),
            Some(&nonce),
            SystemTime::now(),
        )
        .unwrap();
        if expected_good {
            assert_eq!(answer.status, RevocationStatus::Good);
        } else {
            assert!(
                matches!(
                    answer.status,
                    RevocationStatus::Revoked {
                        reason: Some(RevocationReason::KeyCompromise),
                        ..
                    }
                ),
                "{:?}",
                answer.status
            );
        }
        // Our client rejects the same answer for another certificate.
        let (other, _, _t3) = issue("other");
        assert!(inkan_pki::ocsp::check_response(
            &std::fs::read(&resp_path).unwrap(),
            &other,
            s.pki.issuing_ca(),
            None,
            SystemTime::now()
        )
        .is_err());
    }
}

#[test]
fn inkan_tsa_client_accepts_openssl_ts_reply_tokens() {
    if !openssl() {
        return;
    }
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let tsa_key = tmp.path().join("tsa.key");
    export_key(&s.dir, "tsa", &tsa_key);
    let config = write(
        tmp.path(),
        "tsa.cnf",
        format!(
            "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = {}\ncrypto_device = builtin\n\
             signer_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\n\
             accuracy = secs:1\nordering = no\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
            tmp.path().join("serial").display()
        ),
    );
    std::fs::write(tmp.path().join("serial"), "01\n").unwrap();
    let imprint = DigestAlgorithm::Sha256.hash("請書".as_bytes());
    let nonce = [0x11u8, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x08];
    let request = inkan_pki::tsa::build_request(DigestAlgorithm::Sha256, &imprint, &nonce).unwrap();
    let query = write(tmp.path(), "q.tsq", &request);
    let reply = tmp.path().join("r.tsr");
    run_ok(
        Command::new("openssl")
            .args(["ts", "-reply", "-config"])
            .arg(&config)
            .arg("-queryfile")
            .arg(&query)
            .arg("-signer")
            .arg(s.dir.join("tsa.pem"))
            .arg("-inkey")
            .arg(&tsa_key)
            .arg("-chain")
            .arg(s.dir.join("chain.pem"))
            .arg("-out")
            .arg(&reply),
    );
    let (token, time, signer) = inkan_pki::tsa::check_response(
        &std::fs::read(&reply).unwrap(),
        DigestAlgorithm::Sha256,
        &imprint,
        &nonce,
    )
    .unwrap();
    assert!(!token.is_empty());
    assert!(time <= SystemTime::now() + std::time::Duration::from_secs(5));
    assert_eq!(signer.unwrap(), *s.pki.tsa_certificate());
    // The same reply does not pass for other data or another nonce.
    let other = DigestAlgorithm::Sha256.hash(b"other");
    assert!(inkan_pki::tsa::check_response(
        &std::fs::read(&reply).unwrap(),
        DigestAlgorithm::Sha256,
        &other,
        &nonce
    )
    .is_err());
    assert!(inkan_pki::tsa::check_response(
        &std::fs::read(&reply).unwrap(),
        DigestAlgorithm::Sha256,
        &imprint,
        &[1, 2, 3]
    )
    .is_err());
}
