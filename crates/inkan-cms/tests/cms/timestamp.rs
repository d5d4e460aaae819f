//! B-T: a signature timestamp added as an unsigned attribute leaves the signature valid, and
//! RFC 3161 tokens (OpenSSL's TSA with ESS v1 and v2) parse and verify as SignedData.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Command;
use std::time::SystemTime;

use common::{openssl_cms_verify, Issued, TestPki};
use inkan_cms::*;
use inkan_keys::{KeyKind, SoftwareKey};
use inkan_testkit::{run_ok, write};

const CONTENT: &[u8] = b"PDF byte ranges to be timestamped";

/// An RFC 3161 token from OpenSSL's TSA over `data`; `ess` is "sha1" (ESS v1) or "sha256" (v2).
/// With `tsa_name`, the TSTInfo names the TSA (then only that TSA's certificate verifies it).
fn openssl_token(pki: &TestPki, tsa: &Issued, data: &[u8], ess: &str, tsa_name: bool) -> Vec<u8> {
    let tsa_name = if tsa_name { "yes" } else { "no" };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    write(dir.path(), "serial", "01\n");
    let config = write(
        dir.path(),
        "ts.cnf",
        format!(
            "[tsa]\ndefault_tsa = tsa_config1\n[tsa_config1]\nserial = {d}/serial\n\
             crypto_device = builtin\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n\
             digests = sha256, sha384, sha512\naccuracy = secs:1\nordering = yes\n\
             tsa_name = {tsa_name}\ness_cert_id_chain = no\ness_cert_id_alg = {ess}\n"
        ),
    );
    let data = write(dir.path(), "data.bin", data);
    let query = dir.path().join("q.tsq");
    run_ok(
        Command::new("openssl")
            .args(["ts", "-query", "-sha256", "-cert", "-data"])
            .arg(&data)
            .arg("-out")
            .arg(&query),
    );
    let token = dir.path().join("token.der");
    run_ok(
        Command::new("openssl")
            .args(["ts", "-reply", "-token_out", "-config"])
            .arg(&config)
            .arg("-queryfile")
            .arg(&query)
            .arg("-signer")
            .arg(&tsa.pem)
            .arg("-inkey")
            .arg(tsa.key.as_ref().unwrap())
            .arg("-chain")
            .arg(&pki.inter_pem)
            .arg("-out")
            .arg(&token),
    );
    std::fs::read(token).unwrap()
}

fn openssl_ts_verify(pki: &TestPki, token: &[u8], data: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let token = write(dir.path(), "token.der", token);
    let data = write(dir.path(), "data.bin", data);
    run_ok(
        Command::new("openssl")
            .args(["ts", "-verify", "-token_in", "-in"])
            .arg(&token)
            .arg("-data")
            .arg(&data)
            .arg("-CAfile")
            .arg(&pki.root_pem)
            .arg("-untrusted")
            .arg(&pki.inter_pem),
    )
}

fn verify_token(token: &[u8], anchors: &[Certificate]) -> VerifiedSigner {
    let parsed = parse(token).unwrap();
    assert_eq!(parsed.econtent_type(), oid::ID_CT_TST_INFO);
    let mut options = VerifyOptions::new(anchors, SystemTime::now());
    options.required_eku = Some(oid::ID_KP_TIME_STAMPING);
    verify(
        &parsed,
        &parsed.encapsulated_content_digest().unwrap(),
        &options,
    )
    .unwrap()
}

#[test]
fn signature_timestamp_round_trip() {
    let Some(pki) = TestPki::new("is the TSA and the independent verifier") else {
        return;
    };
    let anchors = [pki.root.clone()];
    let tsa = pki.issue_openssl("tsa", "rsa:2048", "tsa");
    let key = SoftwareKey::generate(KeyKind::Rsa2048).unwrap();
    let leaf = pki.issue_for_key("bt-signer", &key, "leaf");
    let digest = DigestAlgorithm::Sha256;
    let der = sign(&SignRequest {
        content_type: oid::ID_DATA,
        encapsulated: None,
        content_digest: &digest.hash(CONTENT),
        digest,
        key: &key,
        certificate: &leaf.cert,
        chain: std::slice::from_ref(&pki.inter),
        include_certificates: true,
    })
    .unwrap();
    let signature = parse(&der).unwrap().signature_value().to_vec();

    // OpenSSL's TSA, ESS v1 (SHA-1) and v2: both tokens verify as CMS with the TSA EKU.
    let token_v1 = openssl_token(&pki, &tsa, &signature, "sha1", true);
    let token_v2 = openssl_token(&pki, &tsa, &signature, "sha256", true);
    for token in [&token_v1, &token_v2] {
        assert!(openssl_ts_verify(&pki, token, &signature).contains("Verification: OK"));
        let tsa_signer = verify_token(token, &anchors);
        assert_eq!(tsa_signer.certificate, tsa.cert);
    }
    assert!(!parse(&token_v1)
        .unwrap()
        .signed_attribute_values(oid::ID_AA_SIGNING_CERTIFICATE)
        .is_empty());
    // The leaf is no TSA: requiring id-kp-timeStamping of it fails with a clear reason.
    let mut options = VerifyOptions::new(&anchors, SystemTime::now());
    options.required_eku = Some(oid::ID_KP_TIME_STAMPING);
    let err = verify(&parse(&der).unwrap(), &digest.hash(CONTENT), &options).unwrap_err();
    assert!(
        matches!(err, CmsError::Path(PathError::MissingEku { .. })),
        "{err}"
    );

    // Add the token; the signed part is untouched, OpenSSL and Inkan still verify.
    let stamped = add_signature_timestamp(&der, &token_v2).unwrap();
    let parsed = parse(&stamped).unwrap();
    assert_eq!(parsed.timestamp_tokens().unwrap(), vec![token_v2.clone()]);
    assert_eq!(parsed.signature_value(), &signature[..]);
    assert_eq!(
        parsed.signed_attributes_der(),
        parse(&der).unwrap().signed_attributes_der()
    );
    let (ok, text) = openssl_cms_verify(&stamped, Some(CONTENT), &pki.root_pem);
    assert!(ok, "{text}");
    verify(
        &parsed,
        &digest.hash(CONTENT),
        &VerifyOptions::new(&anchors, SystemTime::now()),
    )
    .unwrap();
    let printed = common::openssl_cms_print(&stamped);
    assert!(
        printed.contains("id-smime-aa-timeStampToken")
            || printed.contains("1.2.840.113549.1.9.16.2.14"),
        "{printed}"
    );

    // A second token (e.g. an Inkan-made one) becomes a second attribute; still valid.
    let twice = add_signature_timestamp(&stamped, &token_v1).unwrap();
    let parsed = parse(&twice).unwrap();
    let mut tokens = parsed.timestamp_tokens().unwrap();
    tokens.sort();
    let mut expected = vec![token_v1.clone(), token_v2.clone()];
    expected.sort();
    assert_eq!(tokens, expected);
    assert!(openssl_cms_verify(&twice, Some(CONTENT), &pki.root_pem).0);

    // Zero padding as in a PDF /Contents is accepted, garbage tokens are refused.
    let mut padded = der.clone();
    padded.resize(der.len() + 500, 0);
    assert_eq!(parse(&padded).unwrap().signature_value(), &signature[..]);
    add_signature_timestamp(&padded, &token_v2).unwrap();
    assert!(add_signature_timestamp(&der, b"not a token").is_err());
    assert!(add_signature_timestamp(b"not a cms", &token_v2).is_err());
    assert!(add_signature_timestamp(&der, &der[..der.len() - 1]).is_err());
}

#[test]
fn inkan_tsa_style_token_in_openssl_ts() {
    // What inkan-pki's TSA will do: sign a TSTInfo with `sign`. Here the TSTInfo is OpenSSL's,
    // re-signed by Inkan, and `openssl ts -verify` must accept Inkan's token.
    let Some(pki) = TestPki::new("is the reference TSA") else {
        return;
    };
    let anchors = [pki.root.clone()];
    let tsa_key = SoftwareKey::generate(KeyKind::EcP256).unwrap();
    let tsa = pki.issue_for_key("inkan-tsa", &tsa_key, "tsa");
    let openssl_tsa = pki.issue_openssl("openssl-tsa", "ec", "tsa");
    let data = b"signature value bytes";
    let reference = parse(&openssl_token(&pki, &openssl_tsa, data, "sha256", false)).unwrap();
    let tst_info = reference.encapsulated_content().unwrap();
    let digest = DigestAlgorithm::Sha256;
    let token = sign(&SignRequest {
        content_type: oid::ID_CT_TST_INFO,
        encapsulated: Some(tst_info),
        content_digest: &digest.hash(tst_info),
        digest,
        key: &tsa_key,
        certificate: &tsa.cert,
        chain: std::slice::from_ref(&pki.inter),
        include_certificates: true,
    })
    .unwrap();
    verify_token(&token, &anchors);
    assert!(openssl_ts_verify(&pki, &token, data).contains("Verification: OK"));
}
