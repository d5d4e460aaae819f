//! The PAdES verifier over arbitrary bytes, offline, with the public endpoint's budget: what
//! `/verify` does with an upload. Any verdict is fine; a panic, a hang past the budget or
//! unbounded memory is a bug.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use inkan_pades::{verify_source, VerifyLimits, VerifyOptions};
use libfuzzer_sys::fuzz_target;

#[path = "../fixtures/mod.rs"]
mod fixtures;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime")
    })
}

fn options() -> &'static VerifyOptions {
    static OPTIONS: OnceLock<VerifyOptions> = OnceLock::new();
    OPTIONS.get_or_init(|| VerifyOptions {
        // The root that signed the seed corpus, so that inputs near the seeds reach trust
        // checks, revocation and levels, not only parsing.
        anchors: vec![fixtures::root()],
        offline: true,
        timeout: Duration::from_secs(1),
        now: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
        limits: VerifyLimits::public(),
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = runtime().block_on(verify_source(data.to_vec(), "fuzz.pdf", options()));
});
