//! The audit trail's chain: each entry's hash covers the previous entry's hash and the entry's
//! own canonical JSON, so editing, deleting or reordering any entry breaks every hash after it.
//!
//! The hashes are keyed (HMAC-SHA256 under a [`ChainKey`] that the database does not hold), so
//! someone who can write to the database but not read the key cannot recompute a rewritten
//! chain. Entries written before chains were keyed keep their plain SHA-256 hashes; such a
//! legacy hash is accepted only before the first keyed entry, and (checked by the service) only
//! when a timestamp anchor covers it. An [`AuditAnchor`] is an RFC 3161 timestamp over a chain
//! head ([`anchor_imprint`]): whoever holds the key still cannot rewrite what an anchor covers.
//!
//! Both backends compute hashes with these functions.

use hmac::{Hmac, Mac};
use inkan_domain::OrganizationId;
use sha2::{Digest, Sha256};
use std::fmt;

use crate::{AuditEntry, NewAuditEntry};

/// The `prev_hash` of an organization's first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The prefix of a keyed hash (HMAC-SHA256, hex); a hash without it is a legacy SHA-256.
const KEYED: &str = "k1:";

/// The secret that keys the audit chains: 32 bytes kept outside the database.
#[derive(Clone)]
pub struct ChainKey([u8; 32]);

impl ChainKey {
    pub fn from_bytes(bytes: [u8; 32]) -> ChainKey {
        ChainKey(bytes)
    }

    /// A fresh random key (for tests and in-memory stores).
    pub fn random() -> ChainKey {
        use rand::RngCore;
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        ChainKey(k)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length, so this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC accepts 32-byte keys")
    }
}

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChainKey(…)")
    }
}

/// The bytes an entry's hash covers: the previous hash, the sequence number and the entry.
fn chained_bytes(prev_hash: &str, seq: i64, entry: &NewAuditEntry) -> Vec<u8> {
    // serde_json writes struct fields in declaration order and maps (detail) sorted, since
    // serde_json's Map is a BTreeMap without the preserve_order feature: the bytes are canonical.
    let body = serde_json::to_vec(entry).unwrap_or_default();
    let mut bytes = Vec::with_capacity(prev_hash.len() + body.len() + 24);
    bytes.extend_from_slice(prev_hash.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(seq.to_string().as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(&body);
    bytes
}

/// The keyed hash of entry number `seq` following `prev_hash`: `k1:` and hex HMAC-SHA256.
pub fn chain_hash(key: &ChainKey, prev_hash: &str, seq: i64, entry: &NewAuditEntry) -> String {
    let mut mac = key.mac();
    mac.update(&chained_bytes(prev_hash, seq, entry));
    format!("{KEYED}{}", hex::encode(mac.finalize().into_bytes()))
}

/// The unkeyed hash entries had before chains were keyed (hex SHA-256).
pub fn legacy_chain_hash(prev_hash: &str, seq: i64, entry: &NewAuditEntry) -> String {
    hex::encode(Sha256::digest(chained_bytes(prev_hash, seq, entry)))
}

/// Whether `hash` is the keyed hash of the entry, checked in constant time.
fn keyed_hash_matches(
    key: &ChainKey,
    hash: &str,
    prev_hash: &str,
    seq: i64,
    e: &NewAuditEntry,
) -> bool {
    let Some(tag) = hash.strip_prefix(KEYED).and_then(|h| hex::decode(h).ok()) else {
        return false;
    };
    let mut mac = key.mac();
    mac.update(&chained_bytes(prev_hash, seq, e));
    mac.verify_slice(&tag).is_ok()
}

/// An RFC 3161 timestamp over an organization's chain head: proof that the chain had entry `seq`
/// with `hash` at the token's time. Kept in its own table, apart from the entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditAnchor {
    pub organization: OrganizationId,
    pub seq: i64,
    pub hash: String,
    /// When the anchor was made (the token's genTime is the authority; this is for queries).
    pub at: i64,
    /// The TimeStampToken (DER) over [`anchor_imprint`].
    pub token: Vec<u8>,
}

/// The SHA-256 a timestamp anchor covers: the organization, the entry number and its hash.
pub fn anchor_imprint(organization: OrganizationId, seq: i64, hash: &str) -> [u8; 32] {
    Sha256::digest(format!(
        "inkan-audit-anchor-v1\n{organization}\n{seq}\n{hash}"
    ))
    .into()
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
    #[error("entry {seq}: its content does not match its hash (it was edited, or the chain was recomputed without the audit key)")]
    Content { seq: i64 },
    #[error("entry {seq}: it has an unkeyed hash after keyed entries (the chain was recomputed without the audit key)")]
    Unkeyed { seq: i64 },
}

/// What a sound chain looks like, for the checks that need more than the rows (anchors).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainSummary {
    /// The last entry whose hash is a legacy (unkeyed) one: only an anchor vouches for it.
    pub last_unkeyed: Option<i64>,
}

/// Checks one organization's entries, in stored order, from its first entry, against the chain
/// head the store keeps (`None` when the organization has no entries), with the chain key.
pub fn verify_chain(
    key: &ChainKey,
    entries: &[AuditEntry],
    head: Option<(i64, &str)>,
) -> Result<ChainSummary, ChainBreak> {
    let mut prev = GENESIS_HASH.to_string();
    let mut summary = ChainSummary::default();
    let mut keyed_seen = false;
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
        if e.hash.starts_with(KEYED) {
            if !keyed_hash_matches(key, &e.hash, &e.prev_hash, e.seq, &e.entry) {
                return Err(ChainBreak::Content { seq: e.seq });
            }
            keyed_seen = true;
        } else if keyed_seen {
            return Err(ChainBreak::Unkeyed { seq: e.seq });
        } else if legacy_chain_hash(&e.prev_hash, e.seq, &e.entry) != e.hash {
            return Err(ChainBreak::Content { seq: e.seq });
        } else {
            summary.last_unkeyed = Some(e.seq);
        }
        prev = e.hash.clone();
    }
    let last = entries.last().map_or(0, |e| e.seq);
    match head {
        Some((seq, hash)) if seq != last || (seq > 0 && hash != prev) => {
            Err(ChainBreak::Truncated { last, head: seq })
        }
        None if last > 0 => Err(ChainBreak::Truncated { last, head: 0 }),
        _ => Ok(summary),
    }
}
