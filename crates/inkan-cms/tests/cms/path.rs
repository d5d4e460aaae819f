//! Path validation: the RFC 5280 checks each fail with a message naming the certificate, and
//! cyclic or hostile pools terminate.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::SystemTime;

use common::TestPki;
use inkan_cms::path::validate;
use inkan_cms::{oid, PathError};

#[test]
fn path_checks() {
    let Some(pki) = TestPki::new("makes the test certificates") else {
        return;
    };
    let anchors = [pki.root.clone()];
    let inter = (pki.inter_pem.as_path(), pki.inter_key.as_path());

    // The good path, found among decoys: certificates with the issuing CA's name but other keys
    // and no key identifier (they fail the signature check and are skipped).
    let leaf = pki.issue_openssl("leaf", "ec", "leaf");
    let inter_subject = "/CN=Inkan CMS Test Issuing CA/O=Inkan";
    let mut pool: Vec<_> = (0..5)
        .map(|i| {
            pki.self_signed(&format!("decoy{i}"), inter_subject, "plainca")
                .0
        })
        .collect();
    pool.push(pki.inter.clone());
    let path = validate(&leaf.cert, &pool, &anchors, SystemTime::now(), None).unwrap();
    assert_eq!(
        path,
        vec![leaf.cert.clone(), pki.inter.clone(), pki.root.clone()]
    );
    // A trust anchor validates as itself.
    assert_eq!(
        validate(&pki.root, &[], &anchors, SystemTime::now(), None).unwrap(),
        vec![pki.root.clone()]
    );
    assert_eq!(
        validate(&leaf.cert, &pool, &[], SystemTime::now(), None).unwrap_err(),
        PathError::NoAnchors
    );

    // Missing intermediate.
    let err = validate(&leaf.cert, &[], &anchors, SystemTime::now(), None).unwrap_err();
    assert!(matches!(err, PathError::NoIssuer { .. }), "{err}");
    assert!(err.to_string().contains("Issuing CA"), "{err}");

    // Required EKU missing, then present.
    let err = validate(
        &leaf.cert,
        &pool,
        &anchors,
        SystemTime::now(),
        Some(oid::ID_KP_TIME_STAMPING),
    )
    .unwrap_err();
    assert!(matches!(err, PathError::MissingEku { .. }), "{err}");
    let tsa = pki.issue_openssl("tsa", "ec", "tsa");
    validate(
        &tsa.cert,
        &pool,
        &anchors,
        SystemTime::now(),
        Some(oid::ID_KP_TIME_STAMPING),
    )
    .unwrap();

    // pathLenConstraint: the issuing CA has pathlen 0, so no CA may sit below it.
    let sub = pki.issue_openssl_by("subca", "ec", "/CN=Sub CA/O=Inkan", "subca", 365, inter);
    let under_sub = pki.issue_openssl_by(
        "under-sub",
        "ec",
        "/CN=Under Sub/O=Inkan",
        "leaf",
        365,
        (&sub.pem, sub.key.as_ref().unwrap()),
    );
    let pool2 = [sub.cert.clone(), pki.inter.clone()];
    let err = validate(&under_sub.cert, &pool2, &anchors, SystemTime::now(), None).unwrap_err();
    assert!(
        matches!(err, PathError::PathLength { allowed: 0, found: 1, ref subject } if subject.contains("Issuing CA")),
        "{err}"
    );

    // An end-entity certificate used as a CA.
    let by_leaf = pki.issue_openssl_by(
        "by-leaf",
        "ec",
        "/CN=Issued by a leaf/O=Inkan",
        "leaf",
        365,
        (&leaf.pem, leaf.key.as_ref().unwrap()),
    );
    let pool3 = [leaf.cert.clone(), pki.inter.clone()];
    let err = validate(&by_leaf.cert, &pool3, &anchors, SystemTime::now(), None).unwrap_err();
    assert!(
        matches!(err, PathError::NotCa { ref subject } if subject.contains("leaf")),
        "{err}"
    );

    // A CA without keyCertSign.
    let bad_ca = pki.issue_openssl_by("badca", "ec", "/CN=Bad CA/O=Inkan", "badca", 365, inter);
    let under_bad = pki.issue_openssl_by(
        "under-bad",
        "ec",
        "/CN=Under Bad/O=Inkan",
        "leaf",
        365,
        (&bad_ca.pem, bad_ca.key.as_ref().unwrap()),
    );
    let err = validate(
        &under_bad.cert,
        std::slice::from_ref(&bad_ca.cert),
        std::slice::from_ref(&bad_ca.cert),
        SystemTime::now(),
        None,
    )
    .unwrap_err();
    assert!(matches!(err, PathError::NoKeyCertSign { .. }), "{err}");

    // An unknown critical extension.
    let weird = pki.issue_openssl("weird", "ec", "weird");
    let err = validate(&weird.cert, &pool, &anchors, SystemTime::now(), None).unwrap_err();
    assert!(
        matches!(err, PathError::UnsupportedCriticalExtension { ref oid, .. } if oid.to_string() == "1.3.6.1.4.1.99999.1"),
        "{err}"
    );

    // A forged signature: the leaf's bytes with another certificate's signature.
    let mut forged = leaf.cert.clone();
    forged.signature = tsa.cert.signature.clone();
    let err = validate(&forged, &pool, &anchors, SystemTime::now(), None).unwrap_err();
    assert!(matches!(err, PathError::BadSignature { .. }), "{err}");
}

#[test]
fn cross_certified_loop_terminates() {
    let Some(pki) = TestPki::new("makes the test certificates") else {
        return;
    };
    // A and B certify each other; neither reaches the real root.
    let (_, a_self, a_key) = pki.self_signed("a-self", "/CN=CA A/O=Loop", "subca");
    let (b_self_cert, b_self, b_key) = pki.self_signed("b-self", "/CN=CA B/O=Loop", "subca");
    let a_by_b = pki.issue_for_key_file(
        "a-by-b",
        &a_key,
        "/CN=CA A/O=Loop",
        "subca",
        (&b_self, &b_key),
    );
    let b_by_a = pki.issue_for_key_file(
        "b-by-a",
        &b_key,
        "/CN=CA B/O=Loop",
        "subca",
        (&a_self, &a_key),
    );
    let leaf = pki.issue_openssl_by(
        "loop-leaf",
        "ec",
        "/CN=Loop leaf",
        "leaf",
        365,
        (&a_self, &a_key),
    );
    let pool = [a_by_b.cert.clone(), b_by_a.cert.clone()];
    let err = validate(
        &leaf.cert,
        &pool,
        std::slice::from_ref(&pki.root),
        SystemTime::now(),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(err, PathError::NoIssuer { .. } | PathError::TooLong { .. }),
        "{err}"
    );
    // Trusting B finds leaf -> A (by B) -> B.
    let path = validate(
        &leaf.cert,
        &pool,
        std::slice::from_ref(&b_self_cert),
        SystemTime::now(),
        None,
    )
    .unwrap();
    assert_eq!(path, vec![leaf.cert, a_by_b.cert, b_self_cert]);
}
