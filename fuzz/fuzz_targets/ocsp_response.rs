//! The OCSP response reader over arbitrary bytes: what an OCSP responder (or a PDF's DSS)
//! hands the verifier, checked about the fixture witness certificate.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use x509_cert::Certificate;

#[path = "../fixtures/mod.rs"]
mod fixtures;

fn certificates() -> &'static (Certificate, Certificate) {
    static CERTS: OnceLock<(Certificate, Certificate)> = OnceLock::new();
    CERTS.get_or_init(|| (fixtures::witness(), fixtures::issuing_ca()))
}

fuzz_target!(|data: &[u8]| {
    let (cert, issuer) = certificates();
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let _ = inkan_pki::ocsp::responder_of(data);
    let _ = inkan_pki::ocsp::check_response(data, cert, issuer, None, at);
});
