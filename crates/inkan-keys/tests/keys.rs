//! Every key kind signs, and OpenSSL (not only our own verifier) accepts the signatures;
//! software keys survive encryption at rest; SoftHSM2 keys sign the same way.
#![allow(clippy::unwrap_used)]

use der::Encode;
use inkan_keys::*;
use inkan_testkit::{require_tool, run, softhsm, write};
use std::process::Command;

const MESSAGE: &[u8] = "電子契約 — signed bytes".as_bytes();

fn spki_pem(key: &dyn SigningKey) -> String {
    let der = key.public_key().to_der().unwrap();
    pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, &der).unwrap()
}

/// `openssl dgst -verify` accepts the signature.
fn openssl_accepts(key: &dyn SigningKey, signature: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let public = write(dir.path(), "pub.pem", spki_pem(key));
    let data = write(dir.path(), "data.bin", MESSAGE);
    let sig = write(dir.path(), "sig.bin", signature);
    let digest = match key.algorithm().digest() {
        DigestAlgorithm::Sha384 => "-sha384",
        _ => "-sha256",
    };
    let mut cmd = Command::new("openssl");
    cmd.args(["dgst", digest, "-verify"]).arg(&public);
    if key.algorithm() == SignatureAlgorithm::RsaPssSha256 {
        cmd.args([
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:32",
        ]);
    }
    cmd.arg("-signature").arg(&sig).arg(&data);
    let out = run(&mut cmd);
    let text = String::from_utf8_lossy(&out.stdout);
    out.status.success() && text.contains("Verified OK")
}

fn check_key(key: &dyn SigningKey, openssl: bool) {
    let signature = key.sign(MESSAGE).unwrap();
    // Room reserved from max_signature_len always holds the real signature.
    assert!(
        signature.len() <= key.max_signature_len(),
        "{:?}",
        key.algorithm()
    );
    if key.algorithm().is_rsa() {
        assert_eq!(signature.len(), key.max_signature_len());
    }
    let alg = key.algorithm().identifier();
    verify_signature(key.public_key(), &alg, None, MESSAGE, &signature)
        .unwrap_or_else(|e| panic!("{:?}: {e}", key.algorithm()));
    assert_eq!(
        verify_signature(key.public_key(), &alg, None, b"other bytes", &signature),
        Err(VerifyError::BadSignature)
    );
    if openssl {
        assert!(
            openssl_accepts(key, &signature),
            "OpenSSL rejected {:?}",
            key.algorithm()
        );
    }
}

fn all_software_keys() -> Vec<SoftwareKey> {
    vec![
        SoftwareKey::generate(KeyKind::Rsa2048).unwrap(),
        SoftwareKey::generate(KeyKind::Rsa2048)
            .unwrap()
            .with_algorithm(SignatureAlgorithm::RsaPssSha256)
            .unwrap(),
        SoftwareKey::generate(KeyKind::Rsa3072).unwrap(),
        SoftwareKey::generate(KeyKind::EcP256).unwrap(),
        SoftwareKey::generate(KeyKind::EcP384).unwrap(),
    ]
}

#[test]
fn software_keys_sign_and_openssl_verifies() {
    let openssl = require_tool("openssl", "independent signature check").is_some();
    for key in all_software_keys() {
        check_key(&key, openssl);
    }
}

#[test]
fn software_keys_round_trip_encrypted_at_rest() {
    let kek = [7u8; 32];
    for key in all_software_keys().into_iter().step_by(2) {
        let signature = key.sign(MESSAGE).unwrap();
        let alg = key.algorithm().identifier();
        for protection in [
            KeyProtection::None,
            KeyProtection::Passphrase(b"correct horse"),
            KeyProtection::Kek(&kek),
        ] {
            let pem = key.to_pem(protection).unwrap();
            let back = SoftwareKey::from_pem(&pem, protection).unwrap();
            assert_eq!(back.public_key(), key.public_key());
            let again = back.sign(MESSAGE).unwrap();
            verify_signature(back.public_key(), &alg, None, MESSAGE, &again).unwrap();
            verify_signature(key.public_key(), &alg, None, MESSAGE, &signature).unwrap();
        }
        // Wrong or missing secrets are refused with a clear error, not a panic.
        let pem = key.to_pem(KeyProtection::Passphrase(b"right")).unwrap();
        assert!(matches!(
            SoftwareKey::from_pem(&pem, KeyProtection::Passphrase(b"wrong")),
            Err(KeyError::WrongSecret)
        ));
        assert!(matches!(
            SoftwareKey::from_pem(&pem, KeyProtection::None),
            Err(KeyError::SecretNeeded)
        ));
        let wrapped = key.to_pem(KeyProtection::Kek(&kek)).unwrap();
        assert!(!wrapped.contains("BEGIN PRIVATE KEY"));
        assert!(matches!(
            SoftwareKey::from_pem(&wrapped, KeyProtection::Kek(&[8u8; 32])),
            Err(KeyError::WrongSecret)
        ));
    }
}

#[test]
fn openssl_reads_passphrase_encrypted_keys() {
    if require_tool("openssl", "reads our encrypted PKCS#8").is_none() {
        return;
    }
    let key = SoftwareKey::generate(KeyKind::EcP256).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.pem");
    key.write_file(&path, KeyProtection::Passphrase(b"pass phrase"))
        .unwrap();
    let out = run(Command::new("openssl")
        .args(["pkey", "-pubout", "-passin", "pass:pass phrase", "-in"])
        .arg(&path));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        spki_pem(&key).trim()
    );
}

#[test]
fn garbage_key_files_are_clear_errors() {
    for input in [
        "",
        "not pem at all",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
        "-----BEGIN INKAN WRAPPED PRIVATE KEY-----\nAAAA\n-----END INKAN WRAPPED PRIVATE KEY-----\n",
    ] {
        let err = SoftwareKey::from_pem(input, KeyProtection::Kek(&[0; 32])).unwrap_err();
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn softhsm_keys_sign_and_openssl_verifies() {
    let Some(hsm) = softhsm() else { return };
    let openssl = require_tool("openssl", "independent signature check").is_some();
    let token = Pkcs11Token::open(&hsm.module, &hsm.token_label, &hsm.user_pin).unwrap();
    for (label, kind, pss) in [
        ("rsa2048", KeyKind::Rsa2048, false),
        ("rsa2048-pss", KeyKind::Rsa2048, true),
        ("p256", KeyKind::EcP256, false),
        ("p384", KeyKind::EcP384, false),
    ] {
        let mut key = token
            .generate_key(&format!("keys-test-{label}"), kind)
            .unwrap();
        if pss {
            key = key
                .with_algorithm(SignatureAlgorithm::RsaPssSha256)
                .unwrap();
        }
        check_key(&key, openssl);
        // Found again by label, with the same public key.
        let again = token.key(&format!("keys-test-{label}")).unwrap();
        assert_eq!(again.public_key(), key.public_key());
    }
    assert!(token.key("no-such-key").is_err());
    assert!(Pkcs11Token::open(&hsm.module, &hsm.token_label, "000000").is_err());
    assert!(Pkcs11Token::open(&hsm.module, "no-such-token", &hsm.user_pin).is_err());
}
