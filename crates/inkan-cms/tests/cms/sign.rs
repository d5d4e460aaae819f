//! Inkan's CMS is accepted by OpenSSL for every key kind (software and SoftHSM2), carries
//! exactly the PAdES signed attributes, and verifies with Inkan's own verifier.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::SystemTime;

use common::{openssl_cms_print, openssl_cms_verify, TestPki};
use inkan_cms::*;
use inkan_keys::{KeyKind, Pkcs11Token, SignatureAlgorithm, SoftwareKey};
use inkan_testkit::softhsm;

const CONTENT: &[u8] = b"%PDF-1.7 byte range one ... byte range two %%EOF";

/// Signs CONTENT detached with `key` and checks it with OpenSSL and with Inkan.
fn check_detached(pki: &TestPki, name: &str, key: &dyn SigningKey) {
    let leaf = pki.issue_for_key(name, key, "leaf");
    let digest = key.algorithm().digest();
    let der = sign(&SignRequest {
        content_type: oid::ID_DATA,
        encapsulated: None,
        content_digest: &digest.hash(CONTENT),
        digest,
        key,
        certificate: &leaf.cert,
        chain: std::slice::from_ref(&pki.inter),
        include_certificates: true,
    })
    .unwrap();

    let (ok, text) = openssl_cms_verify(&der, Some(CONTENT), &pki.root_pem);
    assert!(
        ok,
        "OpenSSL rejected {name} ({:?}):\n{text}",
        key.algorithm()
    );

    // Exactly content-type, message-digest, signing-certificate-v2; never signing-time.
    let parsed = parse(&der).unwrap();
    let mut types = parsed.signed_attribute_types();
    types.sort();
    let mut expected = vec![
        oid::ID_CONTENT_TYPE,
        oid::ID_MESSAGE_DIGEST,
        oid::ID_AA_SIGNING_CERTIFICATE_V2,
    ];
    expected.sort();
    assert_eq!(types, expected);
    let printed = openssl_cms_print(&der);
    assert!(!printed.contains("signingTime"), "{printed}");
    let signed_part = printed
        .split("signedAttrs:")
        .nth(1)
        .and_then(|rest| rest.split("signatureAlgorithm:").next())
        .unwrap();
    let objects: Vec<&str> = signed_part
        .lines()
        .filter_map(|l| l.trim().strip_prefix("object: "))
        .collect();
    assert_eq!(
        objects,
        [
            "contentType (1.2.840.113549.1.9.3)",
            "messageDigest (1.2.840.113549.1.9.4)",
            "id-smime-aa-signingCertificateV2 (1.2.840.113549.1.9.16.2.47)"
        ],
        "{printed}"
    );
    assert_eq!(
        parsed.signer_info().version,
        cms::content_info::CmsVersion::V1
    );
    assert_eq!(
        parsed.signed_data().version,
        cms::content_info::CmsVersion::V1
    );
    assert_eq!(parsed.certificates().len(), 2);
    assert_eq!(parsed.signer_certificate(), Some(&leaf.cert));
    assert_eq!(parsed.encapsulated_content(), None);

    let anchors = [pki.root.clone()];
    let signer = verify(
        &parsed,
        &digest.hash(CONTENT),
        &VerifyOptions::new(&anchors, SystemTime::now()),
    )
    .unwrap();
    assert_eq!(signer.certificate, leaf.cert);
    assert_eq!(
        signer.path,
        vec![leaf.cert, pki.inter.clone(), pki.root.clone()]
    );
}

#[test]
fn software_keys_make_cms_openssl_accepts() {
    let Some(pki) = TestPki::new("verifies Inkan's CMS independently") else {
        return;
    };
    let keys: Vec<(&str, SoftwareKey)> = vec![
        (
            "sw-rsa-pkcs1",
            SoftwareKey::generate(KeyKind::Rsa2048).unwrap(),
        ),
        (
            "sw-rsa-pss",
            SoftwareKey::generate(KeyKind::Rsa2048)
                .unwrap()
                .with_algorithm(SignatureAlgorithm::RsaPssSha256)
                .unwrap(),
        ),
        ("sw-p256", SoftwareKey::generate(KeyKind::EcP256).unwrap()),
        ("sw-p384", SoftwareKey::generate(KeyKind::EcP384).unwrap()),
    ];
    for (name, key) in &keys {
        check_detached(&pki, name, key);
    }
}

#[test]
fn softhsm_keys_make_cms_openssl_accepts() {
    let Some(hsm) = softhsm() else { return };
    let Some(pki) = TestPki::new("verifies Inkan's CMS independently") else {
        return;
    };
    let token = Pkcs11Token::open(&hsm.module, &hsm.token_label, &hsm.user_pin).unwrap();
    for (label, kind) in [
        ("cms-rsa2048", KeyKind::Rsa2048),
        ("cms-p256", KeyKind::EcP256),
    ] {
        let key = token.generate_key(label, kind).unwrap();
        check_detached(&pki, label, &key);
    }
}

#[test]
fn encapsulated_tstinfo_style_content() {
    let Some(pki) = TestPki::new("verifies Inkan's CMS independently") else {
        return;
    };
    let key = SoftwareKey::generate(KeyKind::EcP256).unwrap();
    let leaf = pki.issue_for_key("tsa-style", &key, "tsa");
    let content = b"pretend TSTInfo DER";
    let der = sign(&SignRequest {
        content_type: oid::ID_CT_TST_INFO,
        encapsulated: Some(content),
        content_digest: &DigestAlgorithm::Sha256.hash(content),
        digest: DigestAlgorithm::Sha256,
        key: &key,
        certificate: &leaf.cert,
        chain: &[pki.inter.clone(), leaf.cert.clone()], // a duplicate is dropped
        include_certificates: true,
    })
    .unwrap();
    let parsed = parse(&der).unwrap();
    assert_eq!(
        parsed.signed_data().version,
        cms::content_info::CmsVersion::V3
    );
    assert_eq!(parsed.econtent_type(), oid::ID_CT_TST_INFO);
    assert_eq!(parsed.encapsulated_content(), Some(&content[..]));
    assert_eq!(parsed.certificates().len(), 2);
    let anchors = [pki.root.clone()];
    let mut options = VerifyOptions::new(&anchors, SystemTime::now());
    options.required_eku = Some(oid::ID_KP_TIME_STAMPING);
    verify(
        &parsed,
        &parsed.encapsulated_content_digest().unwrap(),
        &options,
    )
    .unwrap();

    let (ok, text) = openssl_cms_verify(&der, None, &pki.root_pem);
    assert!(ok, "{text}");
}

#[test]
fn inconsistent_requests_are_refused() {
    let key = SoftwareKey::generate(KeyKind::EcP384).unwrap();
    let other = SoftwareKey::generate(KeyKind::EcP384).unwrap();
    let Some(pki) = TestPki::new("issues the certificate") else {
        return;
    };
    let leaf = pki.issue_for_key("mismatch", &other, "leaf");
    let base = SignRequest {
        content_type: oid::ID_DATA,
        encapsulated: None,
        content_digest: &[0u8; 48],
        digest: DigestAlgorithm::Sha384,
        key: &key,
        certificate: &leaf.cert,
        chain: &[],
        include_certificates: true,
    };
    let err = sign(&base).unwrap_err();
    assert!(err.to_string().contains("public key"), "{err}");
    let err = sign(&SignRequest {
        digest: DigestAlgorithm::Sha256,
        key: &other,
        ..base
    })
    .unwrap_err();
    assert!(err.to_string().contains("digest"), "{err}");
    let err = sign(&SignRequest {
        content_digest: &[0u8; 32],
        key: &other,
        ..base
    })
    .unwrap_err();
    assert!(err.to_string().contains("bytes"), "{err}");
}
