//! Fuzzing the DER parsing behind the OCSP and TSA endpoints (bounded, so it runs in every CI):
//! random bytes, and random mutations of valid requests, must always get a well-formed answer,
//! never a panic.
#![allow(clippy::unwrap_used)]

use crate::common;

use der::Decode;
use inkan_keys::DigestAlgorithm;
use inkan_pki::ocsp::OcspResponder;
use inkan_pki::tsa::TimeStampAuthority;
use proptest::prelude::*;
use std::sync::{Arc, OnceLock};

struct Targets {
    ocsp: OcspResponder,
    tsa: TimeStampAuthority,
    ocsp_request: Vec<u8>,
    tsa_request: Vec<u8>,
}

fn targets() -> &'static Targets {
    static TARGETS: OnceLock<Targets> = OnceLock::new();
    TARGETS.get_or_init(|| {
        let s = common::served();
        let pki: Arc<inkan_pki::Pki> = s.pki.clone();
        Targets {
            ocsp: OcspResponder::new(pki.clone()).unwrap(),
            tsa: TimeStampAuthority::new(&pki).unwrap(),
            ocsp_request: inkan_pki::ocsp::build_request(
                &pki.tsa_certificate(),
                pki.issuing_ca(),
                Some(&[5; 16]),
            )
            .unwrap(),
            tsa_request: inkan_pki::tsa::build_request(DigestAlgorithm::Sha256, &[3; 32], &[9, 9])
                .unwrap(),
        }
    })
}

fn check(input: &[u8]) {
    let t = targets();
    let ocsp = t.ocsp.respond(input);
    assert!(matches!(ocsp.http_status, 200 | 400));
    x509_ocsp::OcspResponse::from_der(&ocsp.body).expect("the OCSP answer is always DER");
    let tsa = t.tsa.respond(input);
    assert!(matches!(tsa.http_status, 200 | 400));
    der::Any::from_der(&tsa.body).expect("the TSA answer is always DER");
}

fn mutate(base: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for &(position, value, op) in edits {
        if bytes.is_empty() {
            break;
        }
        let i = position % bytes.len();
        match op % 4 {
            0 => bytes[i] = value,
            1 => bytes[i] ^= 1 << (value % 8),
            2 => {
                bytes.truncate(i);
            }
            _ => bytes.insert(i, value),
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(&input);
    }

    #[test]
    fn mutated_ocsp_requests_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)) {
        check(&mutate(&targets().ocsp_request, &edits));
    }

    #[test]
    fn mutated_tsa_requests_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)) {
        check(&mutate(&targets().tsa_request, &edits));
    }
}

#[test]
fn every_truncation_and_bit_flip_of_valid_requests_is_answered() {
    let t = targets();
    for base in [&t.ocsp_request, &t.tsa_request] {
        for len in 0..base.len() {
            check(&base[..len]);
        }
        for i in 0..base.len() {
            for bit in 0..8 {
                let mut bytes = base.clone();
                bytes[i] ^= 1 << bit;
                check(&bytes);
            }
        }
    }
}
