//! Inkan's verifier accepts what OpenSSL signs, and rejects tampering, untrusted chains,
//! expired certificates and a signing-certificate attribute naming another certificate.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Command;
use std::time::{Duration, SystemTime};

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use common::{openssl_cms_verify, Issued, TestPki};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use inkan_cms::ess::SigningCertificateV2;
use inkan_cms::*;
use inkan_keys::{KeyKind, SoftwareKey};
use inkan_testkit::{run_ok, write};

const CONTENT: &[u8] = b"contract bytes \x00\x01\x02 signed by OpenSSL";

/// `openssl cms -sign` with `extra` options; returns the DER.
fn openssl_sign(pki: &TestPki, signer: &Issued, extra: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "data.bin", CONTENT);
    let out = dir.path().join("sig.der");
    run_ok(
        Command::new("openssl")
            .args([
                "cms", "-sign", "-binary", "-outform", "DER", "-md", "sha256",
            ])
            .args(extra)
            .arg("-signer")
            .arg(&signer.pem)
            .arg("-inkey")
            .arg(signer.key.as_ref().unwrap())
            .arg("-certfile")
            .arg(&pki.inter_pem)
            .arg("-in")
            .arg(&data)
            .arg("-out")
            .arg(&out),
    );
    std::fs::read(out).unwrap()
}

#[test]
fn accepts_what_openssl_signs() {
    let Some(pki) = TestPki::new("makes reference signatures") else {
        return;
    };
    let anchors = [pki.root.clone()];
    for keyspec in ["rsa:2048", "ec"] {
        let signer = pki.issue_openssl(&format!("openssl-{}", &keyspec[..2]), keyspec, "leaf");
        for (extra, detached) in [
            (&["-nodetach"][..], false),
            (&["-nodetach", "-nosmimecap"][..], false),
            (&[][..], true),
            (&["-nosmimecap"][..], true),
            (&["-cades"][..], true),
        ] {
            let der = openssl_sign(&pki, &signer, extra);
            let parsed = parse(&der).unwrap();
            let digest = if detached {
                assert_eq!(parsed.encapsulated_content(), None);
                parsed.digest_algorithm().unwrap().hash(CONTENT)
            } else {
                assert_eq!(parsed.encapsulated_content(), Some(CONTENT));
                parsed.encapsulated_content_digest().unwrap()
            };
            let cades = extra.contains(&"-cades");
            let mut options = VerifyOptions::new(&anchors, SystemTime::now());
            // Plain `openssl cms -sign` writes no ESS attribute; `-cades` writes v2.
            options.require_signing_certificate = cades;
            let signer_ok = verify(&parsed, &digest, &options)
                .unwrap_or_else(|e| panic!("{keyspec} {extra:?}: {e}"));
            assert_eq!(signer_ok.certificate, signer.cert);
            assert_eq!(signer_ok.path.len(), 3);
            if !cades {
                options.require_signing_certificate = true;
                assert!(matches!(
                    verify(&parsed, &digest, &options),
                    Err(CmsError::MissingSigningCertificate)
                ));
            }
        }
    }
}

#[test]
fn rejects_tampering_untrusted_expired_and_wrong_ess() {
    let Some(pki) = TestPki::new("makes reference signatures") else {
        return;
    };
    let anchors = [pki.root.clone()];
    let key = SoftwareKey::generate(KeyKind::EcP256).unwrap();
    let leaf = pki.issue_for_key("victim", &key, "leaf");
    // After issuing: the certificate is valid from the second it was made.
    let options = VerifyOptions::new(&anchors, SystemTime::now());
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
    let parsed = parse(&der).unwrap();
    verify(&parsed, &digest.hash(CONTENT), &options).unwrap();

    // One flipped content byte: the digest no longer matches (OpenSSL agrees).
    let mut changed = CONTENT.to_vec();
    changed[3] ^= 1;
    let err = verify(&parsed, &digest.hash(&changed), &options).unwrap_err();
    assert!(matches!(err, CmsError::DigestMismatch), "{err}");
    assert!(!openssl_cms_verify(&der, Some(&changed), &pki.root_pem).0);

    // One flipped signature byte.
    let sig = parsed.signature_value().to_vec();
    let at = der.windows(sig.len()).position(|w| w == sig).unwrap();
    let mut bad = der.clone();
    bad[at + sig.len() / 2] ^= 0x40;
    let err = match parse(&bad) {
        Ok(p) => verify(&p, &digest.hash(CONTENT), &options).unwrap_err(),
        Err(e) => e, // the flip may have broken the ECDSA DER itself: still rejected
    };
    assert!(matches!(err, CmsError::BadSignature(_)), "{err}");
    assert!(!openssl_cms_verify(&bad, Some(CONTENT), &pki.root_pem).0);

    // A chain that does not reach the anchors.
    let (other_root, _, _) = pki.unrelated_root("Unrelated Root");
    let other = [other_root];
    let err = verify(
        &parsed,
        &digest.hash(CONTENT),
        &VerifyOptions::new(&other, SystemTime::now()),
    )
    .unwrap_err();
    assert!(
        matches!(err, CmsError::Path(PathError::NoIssuer { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("Issuing CA"), "{err}");

    // Validated after the leaf expired (365 days), and before it existed.
    let later = SystemTime::now() + Duration::from_secs(400 * 86_400);
    let err = verify(
        &parsed,
        &digest.hash(CONTENT),
        &VerifyOptions::new(&anchors, later),
    )
    .unwrap_err();
    assert!(
        matches!(err, CmsError::Path(PathError::Expired { ref subject, .. }) if subject.contains("victim")),
        "{err}"
    );
    let earlier = SystemTime::now() - Duration::from_secs(2 * 86_400);
    let err = verify(
        &parsed,
        &digest.hash(CONTENT),
        &VerifyOptions::new(&anchors, earlier),
    )
    .unwrap_err();
    assert!(
        matches!(err, CmsError::Path(PathError::NotYetValid { .. })),
        "{err}"
    );

    // A correctly signed CMS whose signing-certificate-v2 names another certificate.
    let forged = resign_with_ess_of(&der, &key, &pki.inter);
    let parsed_forged = parse(&forged).unwrap();
    // OpenSSL 3.0's `cms -verify` ignores the ESS binding, so it accepts the forgery: proof that
    // everything else in it is valid and only the binding check catches it.
    let (accepted, text) = openssl_cms_verify(&forged, Some(CONTENT), &pki.root_pem);
    assert!(accepted, "{text}");
    let err = verify(&parsed_forged, &digest.hash(CONTENT), &options).unwrap_err();
    assert!(
        matches!(err, CmsError::SigningCertificateMismatch(_)),
        "{err}"
    );
}

/// Replaces the ESS attribute with one naming `other`, and signs the attributes again with `key`
/// so that only the binding is wrong.
fn resign_with_ess_of(der: &[u8], key: &dyn SigningKey, other: &Certificate) -> Vec<u8> {
    let ci = ContentInfo::from_der(der).unwrap();
    let mut sd: SignedData = ci.content.decode_as().unwrap();
    let mut signers: Vec<_> = sd.signer_infos.0.into_vec();
    let signer = &mut signers[0];
    let attrs: Vec<_> = signer
        .signed_attrs
        .take()
        .unwrap()
        .into_vec()
        .into_iter()
        .map(|mut attr| {
            if attr.oid == oid::ID_AA_SIGNING_CERTIFICATE_V2 {
                let ess =
                    SigningCertificateV2::for_certificate(other, DigestAlgorithm::Sha256).unwrap();
                attr.values = SetOfVec::try_from(vec![Any::encode_from(&ess).unwrap()]).unwrap();
            }
            attr
        })
        .collect();
    let attrs = SetOfVec::try_from(attrs).unwrap();
    signer.signature = OctetString::new(key.sign(&attrs.to_der().unwrap()).unwrap()).unwrap();
    signer.signed_attrs = Some(attrs);
    sd.signer_infos = cms::signed_data::SignerInfos(SetOfVec::try_from(signers).unwrap());
    ContentInfo {
        content_type: ci.content_type,
        content: Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// An RSA key of an unusual size — 6,143 bits, as some real signers have — signs with OpenSSL and
/// verifies here (the rsa crate's own limit is 4,096 bits).
#[test]
fn accepts_rsa_keys_of_unusual_sizes() {
    let Some(pki) = TestPki::new("signs with a 6,143-bit RSA key") else {
        return;
    };
    let signer = pki.issue_openssl("openssl-rsa6143", "rsa:6143", "leaf");
    let text = run_ok(
        Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(&signer.pem),
    );
    // (OpenSSL may make it a bit shorter: 6,142 bits is as unusual.)
    assert!(text.contains("Public-Key: (614"), "{text}");
    let der = openssl_sign(&pki, &signer, &["-cades"]);
    let parsed = parse(&der).unwrap();
    let digest = parsed.digest_algorithm().unwrap().hash(CONTENT);
    let anchors = [pki.root.clone()];
    let verified = verify(
        &parsed,
        &digest,
        &VerifyOptions::new(&anchors, SystemTime::now()),
    )
    .unwrap();
    assert_eq!(verified.certificate, signer.cert);
    let other = parsed.digest_algorithm().unwrap().hash(b"other bytes");
    assert!(verify(
        &parsed,
        &other,
        &VerifyOptions::new(&anchors, SystemTime::now())
    )
    .is_err());
}
