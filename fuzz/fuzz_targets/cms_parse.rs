//! The CMS (RFC 5652) reader over arbitrary bytes, as it meets a PDF signature's /Contents:
//! parsing, every accessor, then integrity and path verification against the fixture root.
#![no_main]

use std::time::{Duration, SystemTime};

use inkan_cms::{verify, verify_integrity, VerifyOptions};
use libfuzzer_sys::fuzz_target;

#[path = "../fixtures/mod.rs"]
mod fixtures;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = inkan_cms::parse(data) else {
        return;
    };
    let _ = (
        parsed.econtent_type(),
        parsed.certificates().len(),
        parsed.signed_attributes_der(),
        parsed.message_digest(),
        parsed.content_type_attribute(),
        parsed.timestamp_tokens(),
        parsed.encapsulated_content(),
    );
    let digest = parsed
        .encapsulated_content_digest()
        .unwrap_or_else(|_| vec![0; 32]);
    let _ = verify_integrity(&parsed, &digest, &[], true);
    let anchors = [fixtures::root()];
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let _ = verify(&parsed, &digest, &VerifyOptions::new(&anchors, at));
});
