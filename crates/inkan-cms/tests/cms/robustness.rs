//! `parse` (and what follows it) never panics: truncations, bit flips and random bytes are
//! errors, whatever arrives in a PDF's /Contents.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::SystemTime;

use common::TestPki;
use inkan_cms::*;
use inkan_keys::{KeyKind, SoftwareKey};

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Everything a caller would do with untrusted bytes; must return, never panic.
fn exercise(bytes: &[u8], token: &[u8], anchors: &[Certificate], digest: &[u8]) -> bool {
    let _ = add_signature_timestamp(bytes, token);
    let _ = add_signature_timestamp(token, bytes);
    match parse(bytes) {
        Ok(parsed) => {
            let _ = parsed.encapsulated_content_digest();
            let _ = parsed.timestamp_tokens();
            let _ = verify(
                &parsed,
                digest,
                &VerifyOptions::new(anchors, SystemTime::now()),
            );
            true
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            false
        }
    }
}

#[test]
fn garbage_never_panics() {
    for input in [
        &b""[..],
        &[0x30],
        &[0x30, 0x80, 0x00, 0x00],             // BER indefinite length
        &[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF], // length far beyond the input
        &[0x00; 64],
        &[0xFF; 64],
        b"%PDF-1.7 not a cms",
    ] {
        let err = parse(input).unwrap_err();
        assert!(!err.to_string().is_empty());
    }
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    for _ in 0..20_000 {
        let len = rng.below(300);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Make a fair share look like DER so the decoder goes deeper than the first byte.
        if len > 4 && rng.below(2) == 0 {
            bytes[0] = 0x30;
            bytes[1] = 0x82;
            bytes[2] = ((len - 4) >> 8) as u8;
            bytes[3] = (len - 4) as u8;
            bytes[4] = 0x06;
        }
        assert!(parse(&bytes).is_err());
    }
}

#[test]
fn mutations_of_a_valid_cms_never_panic() {
    let Some(pki) = TestPki::new("makes the certificates of the CMS to mutate") else {
        return;
    };
    let anchors = [pki.root.clone()];
    let key = SoftwareKey::generate(KeyKind::EcP256).unwrap();
    let leaf = pki.issue_for_key("fuzz", &key, "leaf");
    let content = b"mutated content";
    let digest = DigestAlgorithm::Sha256.hash(content);
    let request = SignRequest {
        content_type: oid::ID_DATA,
        encapsulated: None,
        content_digest: &digest,
        digest: DigestAlgorithm::Sha256,
        key: &key,
        certificate: &leaf.cert,
        chain: std::slice::from_ref(&pki.inter),
        include_certificates: true,
    };
    let token = sign(&SignRequest {
        content_type: oid::ID_CT_TST_INFO,
        encapsulated: Some(b"tst"),
        ..request
    })
    .unwrap();
    let valid = add_signature_timestamp(&sign(&request).unwrap(), &token).unwrap();
    assert!(exercise(&valid, &token, &anchors, &digest));

    for cut in 0..valid.len() {
        assert!(
            parse(&valid[..cut]).is_err(),
            "prefix of {cut} bytes parsed"
        );
    }
    let mut still_parsing = 0;
    for at in 0..valid.len() {
        for mask in [0x01u8, 0xFF] {
            let mut bytes = valid.clone();
            bytes[at] ^= mask;
            if exercise(&bytes, &token, &anchors, &digest) {
                still_parsing += 1;
            }
        }
    }
    // Most flips land in certificates, keys and signatures, which stay decodable: the point is
    // that none of them panicked and none of them verified (checked below for the signed part).
    assert!(still_parsing > 0);
    let mut rng = Rng(42);
    for _ in 0..1_500 {
        let mut bytes = valid.clone();
        for _ in 0..=rng.below(8) {
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[at] = rng.next() as u8,
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, rng.next() as u8),
            }
        }
        exercise(&bytes, &token, &anchors, &digest);
    }
}

#[test]
fn no_flip_in_the_signed_part_verifies() {
    let Some(pki) = TestPki::new("makes the certificates of the CMS to mutate") else {
        return;
    };
    let anchors = [pki.root.clone()];
    let key = SoftwareKey::generate(KeyKind::EcP256).unwrap();
    let leaf = pki.issue_for_key("flip", &key, "leaf");
    let digest = DigestAlgorithm::Sha256.hash(b"x");
    let valid = sign(&SignRequest {
        content_type: oid::ID_DATA,
        encapsulated: None,
        content_digest: &digest,
        digest: DigestAlgorithm::Sha256,
        key: &key,
        certificate: &leaf.cert,
        chain: std::slice::from_ref(&pki.inter),
        include_certificates: true,
    })
    .unwrap();
    let parsed = parse(&valid).unwrap();
    let attrs = parsed.signed_attributes_der().unwrap();
    // The signed attributes are stored with tag 0x31 and appear in the CMS with tag 0xA0.
    let start = valid
        .windows(attrs.len() - 1)
        .position(|w| w == &attrs[1..])
        .unwrap();
    let signature = parsed.signature_value();
    let sig_start = valid
        .windows(signature.len())
        .position(|w| w == signature)
        .unwrap();
    for at in (start..start + attrs.len() - 1).chain(sig_start..sig_start + signature.len()) {
        let mut bytes = valid.clone();
        bytes[at] ^= 0x01;
        if let Ok(p) = parse(&bytes) {
            assert!(
                verify(
                    &p,
                    &digest,
                    &VerifyOptions::new(&anchors, SystemTime::now())
                )
                .is_err(),
                "a flip at byte {at} still verified"
            );
        }
    }
}
