//! Signatures already found valid in this process.
//!
//! Sealing one envelope checks the same few signatures again and again: each certificate path
//! to the root is validated for every signature, timestamp and OCSP response that leads to it
//! (the CA certificates' RSA-3072 signatures, dozens of times per envelope). A verification is a
//! pure function of the public key, the scheme, the digest and the signature, so a success is
//! remembered under a SHA-256 over all four and not computed twice. Failures are never
//! remembered: they are rare, and each must be reported as it is found.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use sha2::{Digest, Sha256};

/// Enough for every certificate, OCSP response and CRL a busy installation checks between two
/// clearings; the set is emptied when full (a recomputation is all that costs).
const CAPACITY: usize = 8192;

/// What one verification depends on: the public key (DER, with its algorithm), the scheme and
/// digest (their name), the message's digest and the signature. Each part is length-prefixed,
/// so no two different inputs give the same bytes.
pub(crate) fn key_of(spki_der: &[u8], scheme: &str, hash: &[u8], signature: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in [spki_der, scheme.as_bytes(), hash, signature] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn seen() -> MutexGuard<'static, HashSet<[u8; 32]>> {
    static SEEN: OnceLock<Mutex<HashSet<[u8; 32]>>> = OnceLock::new();
    SEEN.get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Whether a verification with this key already succeeded.
pub(crate) fn contains(key: &[u8; 32]) -> bool {
    seen().contains(key)
}

/// Remembers a successful verification.
pub(crate) fn insert(key: [u8; 32]) {
    let mut seen = seen();
    if seen.len() >= CAPACITY {
        seen.clear();
    }
    seen.insert(key);
}

#[cfg(test)]
mod tests {
    use super::key_of;

    #[test]
    fn parts_cannot_slide_into_each_other() {
        assert_ne!(
            key_of(b"ab", "pkcs1", b"c", b"d"),
            key_of(b"a", "pkcs1", b"bc", b"d")
        );
        assert_ne!(
            key_of(b"k", "pkcs1/sha256", b"h", b"s"),
            key_of(b"k", "pkcs1/sha384", b"h", b"s")
        );
    }
}
