//! The ByteRange: it must cover one whole revision of the file except exactly the `/Contents`
//! hex string (`[0 a b c]`, no gaps, nothing else left out), and the digest of what it covers
//! must be what was signed.

use inkan_keys::DigestAlgorithm;
use inkan_pdf::{Document, Source, XrefEntry};

use super::signatures::FoundSignature;

/// The most bytes a `/Contents` gap may have: far above any real signature (a few tens of KB),
/// low enough to read it whole.
const MAX_CONTENTS_GAP: u64 = 16 << 20;

/// A ByteRange that passed the layout checks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Coverage {
    /// `[0, a, b, c]`.
    pub range: [u64; 4],
    /// The revision whose end the range reaches.
    pub revision: usize,
}

/// Checks the ByteRange's layout against the file. Errors say, in English, what is wrong.
pub(crate) fn check_layout<S: Source>(
    doc: &Document<S>,
    found: &FoundSignature,
) -> Result<Coverage, String> {
    let numbers = found.byte_range();
    let [a, b, c, d] = numbers.as_slice() else {
        return Err(format!(
            "the /ByteRange must have 4 numbers, not {}",
            numbers.len()
        ));
    };
    let [a, b, c, d] = [*a, *b, *c, *d].map(|n| u64::try_from(n).ok());
    let (Some(a), Some(b), Some(c), Some(d)) = (a, b, c, d) else {
        return Err("the /ByteRange holds a negative or non-integer number".into());
    };
    if a != 0 {
        return Err(format!(
            "the /ByteRange starts at byte {a}: the beginning of the file is not signed"
        ));
    }
    let gap_start = b;
    let gap_end = c;
    let end = c.checked_add(d).ok_or("the /ByteRange overflows")?;
    if gap_end <= gap_start || end > doc.len() {
        return Err(format!(
            "the /ByteRange [0 {b} {c} {d}] does not fit the file ({} bytes)",
            doc.len()
        ));
    }
    let revision = covered_revision(doc, end)?;
    check_gap(doc, found, gap_start, gap_end)?;
    check_position(doc, found, revision, gap_start)?;
    Ok(Coverage {
        range: [0, b, c, d],
        revision,
    })
}

/// The revision that ends where the signed range ends: exactly, or followed only by the end of
/// line after its `%%EOF`.
fn covered_revision<S: Source>(doc: &Document<S>, end: u64) -> Result<usize, String> {
    let revisions = doc.revisions();
    for (index, revision) in revisions.iter().enumerate() {
        if revision.end == end {
            return Ok(index);
        }
        // Only the end of line after `%%EOF` may be left out: a few bytes at most.
        if revision.end > end && revision.end - end <= 4 {
            let tail = read(doc, end, revision.end)?;
            let previous_end = index
                .checked_sub(1)
                .and_then(|i| revisions.get(i))
                .map_or(0, |r| r.end);
            if end > previous_end && tail.iter().all(u8::is_ascii_whitespace) {
                return Ok(index);
            }
        }
        if revision.end > end {
            break;
        }
    }
    Err(format!(
        "the signed range ends at byte {end}, which is not the end of a revision of the file: \
         part of the revision is unsigned"
    ))
}

/// The gap must be exactly the `/Contents` hex string.
fn check_gap<S: Source>(
    doc: &Document<S>,
    found: &FoundSignature,
    start: u64,
    end: u64,
) -> Result<(), String> {
    let contents = found
        .sig
        .get("Contents")
        .and_then(inkan_pdf::Object::as_string)
        .ok_or("the signature dictionary has no /Contents string")?;
    if end - start > MAX_CONTENTS_GAP {
        return Err("the unsigned gap is larger than any signature".into());
    }
    let gap = read(doc, start, end)?;
    let inner = match gap.as_slice() {
        [b'<', inner @ .., b'>'] => inner,
        _ => {
            return Err(
                "the unsigned gap of the /ByteRange is not a hex string: something other than \
                 the signature is left unsigned"
                    .into(),
            )
        }
    };
    let mut digits: Vec<u8> = Vec::with_capacity(inner.len());
    for byte in inner {
        match byte {
            b if b.is_ascii_hexdigit() => digits.push(*b),
            b if b.is_ascii_whitespace() => {}
            _ => {
                return Err(
                    "the unsigned gap of the /ByteRange holds more than the signature's hex string"
                        .into(),
                )
            }
        }
    }
    if digits.len() % 2 == 1 {
        digits.push(b'0');
    }
    let decoded = hex::decode(&digits).map_err(|e| format!("the /Contents hex: {e}"))?;
    if decoded != contents.bytes {
        return Err("the unsigned gap is not this signature's /Contents".into());
    }
    Ok(())
}

/// The signature dictionary must be an object of the signed revision written around the gap,
/// so the gap really is its `/Contents`.
fn check_position<S: Source>(
    doc: &Document<S>,
    found: &FoundSignature,
    revision: usize,
    gap_start: u64,
) -> Result<(), String> {
    let Some(sig_ref) = found.sig_ref else {
        return Ok(());
    };
    let signed = doc
        .revision(revision)
        .map_err(|e| format!("the signed revision cannot be read: {e}"))?;
    match signed.xref_entry(sig_ref.num) {
        Some(XrefEntry::InFile { offset, .. }) if offset < gap_start => Ok(()),
        _ => Err(format!(
            "the signature dictionary {sig_ref} is not where the /ByteRange's gap is"
        )),
    }
}

fn read<S: Source>(doc: &Document<S>, start: u64, end: u64) -> Result<Vec<u8>, String> {
    let len = usize::try_from(end.saturating_sub(start)).map_err(|_| "range too large")?;
    let mut buf = vec![0u8; len];
    doc.source()
        .read_exact_at(start, &mut buf)
        .map_err(|e| format!("reading the file: {e}"))?;
    Ok(buf)
}

/// The digest of the bytes the range covers, if the budget allows hashing them.
pub(crate) fn digest<S: Source>(
    doc: &Document<S>,
    budget: &super::budget::Budget,
    range: &[u64; 4],
    algorithm: DigestAlgorithm,
) -> Result<Vec<u8>, String> {
    if !budget.hash(range[1].saturating_add(range[3])) {
        return Err("not checked: the verification's limits were reached".into());
    }
    let mut hasher = algorithm.hasher();
    inkan_pdf::hash_byte_range(doc.source(), range, &mut |chunk| hasher.update(chunk))
        .map_err(|e| e.to_string())?;
    Ok(hasher.finalize().to_vec())
}

/// The name validators print for a digest algorithm.
pub(crate) fn digest_name(algorithm: DigestAlgorithm) -> &'static str {
    match algorithm {
        DigestAlgorithm::Sha1 => "sha1",
        DigestAlgorithm::Sha256 => "sha256",
        DigestAlgorithm::Sha384 => "sha384",
        DigestAlgorithm::Sha512 => "sha512",
    }
}
