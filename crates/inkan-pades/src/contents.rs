//! Reading back the signatures already in a file: each one's `/Contents` (padding included, as
//! the VRI key needs it) and the exact CMS inside it.

use std::path::Path;

use inkan_pdf::{Document, Source};

use crate::{fields, PadesError};

/// A signature's `/Contents` as stored (zero padding included: the VRI key hashes it) and the
/// CMS inside it.
pub(crate) struct SignatureBytes {
    pub contents: Vec<u8>,
    pub cms: Vec<u8>,
}

/// The `/Contents` and CMS of every signature and document timestamp in the file, oldest first.
pub(crate) fn signature_contents(path: &Path) -> Result<Vec<SignatureBytes>, PadesError> {
    signatures_in(&Document::open_file(path)?)
}

/// [`signature_contents`] of an open document.
pub(crate) fn signatures_in<S: Source>(
    doc: &Document<S>,
) -> Result<Vec<SignatureBytes>, PadesError> {
    let mut found: Vec<(u64, Vec<u8>)> = Vec::new();
    for (_, field) in fields::top_level_fields(doc)? {
        let Some(v) = field.get("V") else { continue };
        let v = doc.resolve(v)?;
        let Some(sig) = v.as_dict() else { continue };
        let Some(contents) = sig.get("Contents").and_then(|c| c.as_string()) else {
            continue;
        };
        let offset = sig
            .get("ByteRange")
            .and_then(|b| b.as_array())
            .and_then(|a| a.get(1))
            .and_then(|o| o.as_int())
            .unwrap_or(0) as u64;
        found.push((offset, contents.bytes.clone()));
    }
    found.sort_by_key(|(offset, _)| *offset);
    Ok(found
        .into_iter()
        .map(|(_, contents)| {
            // The CMS is exactly its outer DER element; the zeros after it are padding. (Trimming
            // zeros instead would also cut a CMS that happens to end in a zero byte.)
            let cms = contents[..der_length(&contents).unwrap_or(contents.len())].to_vec();
            SignatureBytes { contents, cms }
        })
        .collect())
}

/// The length of the DER element at the start of `bytes` (tag, length, value), if it fits.
fn der_length(bytes: &[u8]) -> Option<usize> {
    let first = *bytes.get(1)?;
    let (header, length) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None; // indefinite or absurd: not DER we wrote
        }
        let digits = bytes.get(2..2 + count)?;
        let length = digits
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (2 + count, length)
    };
    let total = header.checked_add(length)?;
    (total <= bytes.len()).then_some(total)
}

/// The newest signature's or document timestamp's `/Contents` and CMS.
pub(crate) fn last_signature_contents(path: &Path) -> Result<SignatureBytes, PadesError> {
    signature_contents(path)?
        .pop()
        .ok_or(PadesError::NoSignature)
}

#[cfg(test)]
mod tests {
    use super::der_length;

    #[test]
    fn der_length_keeps_a_final_zero_byte_and_drops_padding() {
        // SEQUENCE { INTEGER 0 } ends in a zero byte; two zeros of padding follow.
        assert_eq!(
            der_length(&[0x30, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00]),
            Some(5)
        );
        assert_eq!(der_length(&[0x30, 0x82, 0x00, 0x01, 0x05, 0x00]), Some(5));
        assert_eq!(der_length(&[0x30, 0x80, 0x00]), None);
        assert_eq!(der_length(&[0x30, 0x05, 0x00]), None);
        assert_eq!(der_length(&[]), None);
    }
}
