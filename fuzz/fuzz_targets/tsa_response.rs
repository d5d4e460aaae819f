//! The RFC 3161 reader over arbitrary bytes: a TSA's answer to a request (status, token,
//! nonce, imprint) and a timestamp token on its own (as embedded in a signature or a PDF).
#![no_main]

use inkan_keys::DigestAlgorithm;
use libfuzzer_sys::fuzz_target;

/// The imprint and nonce of the requests behind the seed corpus (see README.md).
const IMPRINT: [u8; 32] = [3; 32];
const NONCE: [u8; 8] = [0x41, 1, 2, 3, 4, 5, 6, 7];

fuzz_target!(|data: &[u8]| {
    let _ = inkan_pki::tsa::check_response(data, DigestAlgorithm::Sha256, &IMPRINT, &NONCE);
    let _ = inkan_pki::tsa::check_token(data, DigestAlgorithm::Sha256, &IMPRINT);
});
