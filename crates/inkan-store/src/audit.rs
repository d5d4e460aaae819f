//! The audit trail's hash chain: each entry's hash covers the previous entry's hash and the
//! entry's own canonical JSON, so editing, deleting or reordering any entry breaks every hash
//! after it. Both backends compute hashes with this one function.

use sha2::{Digest, Sha256};

use crate::{AuditEntry, NewAuditEntry};

/// The `prev_hash` of an organization's first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of entry number `seq` following `prev_hash`.
pub fn chain_hash(prev_hash: &str, seq: i64, entry: &NewAuditEntry) -> String {
    // serde_json writes struct fields in declaration order and maps (detail) sorted, since
    // serde_json's Map is a BTreeMap without the preserve_order feature: the bytes are canonical.
    let body = serde_json::to_vec(entry).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(seq.to_string().as_bytes());
    h.update(b"\n");
    h.update(&body);
    hex::encode(h.finalize())
}

/// Where a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {seq}: expected sequence number {expected} (an entry was deleted or moved)")]
    Gap { seq: i64, expected: i64 },
    #[error("entry {seq}: it does not follow the previous entry's hash (an entry before it was removed, reordered or edited)")]
    Link { seq: i64 },
    #[error("the chain ends at entry {last} but its head records entry {head} (the newest entries were deleted)")]
    Truncated { last: i64, head: i64 },
    #[error("entry {seq}: its content does not match its hash (it was edited)")]
    Content { seq: i64 },
}

/// Checks one organization's entries, in stored order, from its first entry, against the chain
/// head the store keeps (`None` when the organization has no entries).
pub fn verify_chain(entries: &[AuditEntry], head: Option<(i64, &str)>) -> Result<(), ChainBreak> {
    let mut prev = GENESIS_HASH.to_string();
    for (i, e) in entries.iter().enumerate() {
        let expected = i as i64 + 1;
        if e.seq != expected {
            return Err(ChainBreak::Gap {
                seq: e.seq,
                expected,
            });
        }
        if e.prev_hash != prev {
            return Err(ChainBreak::Link { seq: e.seq });
        }
        if chain_hash(&e.prev_hash, e.seq, &e.entry) != e.hash {
            return Err(ChainBreak::Content { seq: e.seq });
        }
        prev = e.hash.clone();
    }
    let last = entries.last().map_or(0, |e| e.seq);
    match head {
        Some((seq, hash)) if seq != last || (seq > 0 && hash != prev) => {
            Err(ChainBreak::Truncated { last, head: seq })
        }
        None if last > 0 => Err(ChainBreak::Truncated { last, head: 0 }),
        _ => Ok(()),
    }
}
