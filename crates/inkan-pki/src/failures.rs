//! Process-wide counts of failed outbound trust-service requests, for the metrics endpoint.
//! Every TSA and OCSP request of the process goes through [`crate::tsa::TsaClient`] or
//! [`crate::ocsp::query`], wherever it was started (sealing, verification, readiness), so the
//! counters live here rather than in each caller; like every Prometheus counter they start at
//! zero with the process.

use std::sync::atomic::{AtomicU64, Ordering};

static TSA: AtomicU64 = AtomicU64::new(0);
static OCSP: AtomicU64 = AtomicU64::new(0);

/// TSA requests that brought no valid token (each attempt at each URL counts once).
pub fn tsa() -> u64 {
    TSA.load(Ordering::Relaxed)
}

/// OCSP queries that brought no valid answer.
pub fn ocsp() -> u64 {
    OCSP.load(Ordering::Relaxed)
}

pub(crate) fn count_tsa() {
    TSA.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn count_ocsp() {
    OCSP.fetch_add(1, Ordering::Relaxed);
}
