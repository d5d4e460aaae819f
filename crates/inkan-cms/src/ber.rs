//! BER to DER, for the SignedData other producers write; and SET OFs without repeats.
//!
//! Adobe Acrobat Sign, OpenSSL's `cms -stream` and several European vendors encode their CMS in
//! BER: indefinite lengths closed by end-of-contents octets, OCTET STRINGs in constructed
//! pieces, lengths in more octets than needed. The reference validator and pyHanko read them; the
//! typed decoders here read DER only. This rewrites one element in DER — definite, minimal
//! lengths and primitive OCTET STRINGs — keeping every other content octet as it is. Signed
//! attributes are signed over their DER encoding (RFC 5652 §5.4), which is what they become.
//!
//! The typed decoders also refuse a SET OF holding the same element twice (two identical
//! signature timestamps, a certificate listed twice), which the reference validator reads as
//! one. A repeat adds nothing, so it is dropped here: from a SET, and from the `[0]`/`[1]` SET OFs
//! of a SignedData (certificates, CRLs, attributes).

use der::Encode;

/// Deeper than any SignedData nests (certificates included); bounds the recursion.
const MAX_DEPTH: usize = 48;

/// Why the input is not BER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BerError(pub &'static str);

impl std::fmt::Display for BerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// The first element of `input` in DER; only zeros may follow it (a PDF's /Contents padding).
pub(crate) fn to_der(input: &[u8]) -> Result<Vec<u8>, BerError> {
    let mut out = Vec::with_capacity(input.len());
    let used = element(input, 0, &mut out)?;
    if input[used..].iter().any(|b| *b != 0) {
        return Err(BerError("data after the element"));
    }
    Ok(out)
}

/// Where an element's contents end: at a length, or at the end-of-contents octets.
enum Extent {
    Definite(usize),
    Indefinite,
}

/// Reads one element at the start of `input`, appends its DER to `out`, returns the bytes read.
fn element(input: &[u8], depth: usize, out: &mut Vec<u8>) -> Result<usize, BerError> {
    if depth > MAX_DEPTH {
        return Err(BerError("nested too deeply"));
    }
    let (tag, mut at) = identifier(input)?;
    let constructed = tag[0] & 0x20 != 0;
    let (extent, length_len) = length(&input[at..])?;
    at += length_len;
    let mut contents = Vec::new();
    match (constructed, extent) {
        (false, Extent::Definite(len)) => {
            let end = at.checked_add(len).filter(|e| *e <= input.len());
            let end = end.ok_or(BerError("a length runs past the end"))?;
            contents.extend_from_slice(&input[at..end]);
            at = end;
        }
        (false, Extent::Indefinite) => {
            return Err(BerError("a primitive element with an indefinite length"))
        }
        (true, Extent::Definite(len)) => {
            let end = at.checked_add(len).filter(|e| *e <= input.len());
            let end = end.ok_or(BerError("a length runs past the end"))?;
            while at < end {
                at += element(&input[at..end], depth + 1, &mut contents)?;
            }
        }
        (true, Extent::Indefinite) => loop {
            match input.get(at..at + 2) {
                Some([0, 0]) => {
                    at += 2;
                    break;
                }
                Some(_) => at += element(&input[at..], depth + 1, &mut contents)?,
                None => return Err(BerError("no end-of-contents octets")),
            }
        },
    }
    if matches!(tag.as_slice(), [0x31] | [0xa0] | [0xa1]) {
        contents = without_repeats(&contents)?;
    }
    // A constructed OCTET STRING is its pieces' contents, one after the other.
    if tag == [0x24] {
        let mut joined = Vec::with_capacity(contents.len());
        let mut rest = contents.as_slice();
        while !rest.is_empty() {
            let (piece_tag, header) = identifier(rest)?;
            if piece_tag != [0x04] {
                return Err(BerError(
                    "a piece of an OCTET STRING is not an OCTET STRING",
                ));
            }
            let (Extent::Definite(len), length_len) = length(&rest[header..])? else {
                return Err(BerError("an OCTET STRING piece without a length"));
            };
            let start = header + length_len;
            let piece = rest.get(start..start + len);
            joined.extend_from_slice(piece.ok_or(BerError("an OCTET STRING piece is cut short"))?);
            rest = &rest[start + len..];
        }
        write(&[0x04], &joined, out)?;
    } else {
        write(&tag, &contents, out)?;
    }
    Ok(at)
}

/// `contents` (DER elements, as written here) with each element after its first occurrence
/// dropped.
fn without_repeats(contents: &[u8]) -> Result<Vec<u8>, BerError> {
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut out = Vec::with_capacity(contents.len());
    let mut rest = contents;
    while !rest.is_empty() {
        let (_, header) = identifier(rest)?;
        let (Extent::Definite(len), length_len) = length(&rest[header..])? else {
            return Err(BerError("an element without a length"));
        };
        let end = (header + length_len)
            .checked_add(len)
            .filter(|e| *e <= rest.len())
            .ok_or(BerError("a length runs past the end"))?;
        let (element, after) = rest.split_at(end);
        if !seen.contains(&element) {
            seen.push(element);
            out.extend_from_slice(element);
        }
        rest = after;
    }
    Ok(out)
}

/// The identifier octets (one, or more for tag numbers above 30) and how many there are.
fn identifier(input: &[u8]) -> Result<(Vec<u8>, usize), BerError> {
    let first = *input.first().ok_or(BerError("an element is cut short"))?;
    if first & 0x1f != 0x1f {
        return Ok((vec![first], 1));
    }
    let mut len = 1;
    loop {
        let byte = *input.get(len).ok_or(BerError("a tag is cut short"))?;
        len += 1;
        if byte & 0x80 == 0 {
            break;
        }
        if len > 6 {
            return Err(BerError("a tag number too large"));
        }
    }
    Ok((input[..len].to_vec(), len))
}

/// The length octets: the extent and how many octets they took.
fn length(input: &[u8]) -> Result<(Extent, usize), BerError> {
    let first = *input.first().ok_or(BerError("a length is cut short"))?;
    match first {
        0x80 => Ok((Extent::Indefinite, 1)),
        n if n < 0x80 => Ok((Extent::Definite(usize::from(n)), 1)),
        n => {
            let count = usize::from(n & 0x7f);
            if count > 4 {
                return Err(BerError("a length of more than four octets"));
            }
            let octets = input
                .get(1..1 + count)
                .ok_or(BerError("a length is cut short"))?;
            let value = octets
                .iter()
                .fold(0usize, |value, b| (value << 8) | usize::from(*b));
            Ok((Extent::Definite(value), 1 + count))
        }
    }
}

/// `tag`, the minimal definite length of `contents`, and `contents`.
fn write(tag: &[u8], contents: &[u8], out: &mut Vec<u8>) -> Result<(), BerError> {
    out.extend_from_slice(tag);
    der::Length::try_from(contents.len())
        .and_then(|len| len.encode_to_vec(out))
        .map_err(|_| BerError("an element too long"))?;
    out.extend_from_slice(contents);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn indefinite_lengths_pieces_and_long_lengths_become_der() {
        // SEQUENCE (indefinite) { INTEGER 5, OCTET STRING in two pieces, [0] { NULL } with a
        // two-octet length }, then padding.
        let ber = [
            0x30, 0x80, 0x02, 0x01, 0x05, 0x24, 0x80, 0x04, 0x01, 0xaa, 0x04, 0x02, 0xbb, 0xcc,
            0x00, 0x00, 0xa0, 0x82, 0x00, 0x02, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let der = to_der(&ber).unwrap();
        assert_eq!(
            der,
            [0x30, 0x0c, 0x02, 0x01, 0x05, 0x04, 0x03, 0xaa, 0xbb, 0xcc, 0xa0, 0x02, 0x05, 0x00]
        );
        // DER stays as it is.
        assert_eq!(to_der(&der).unwrap(), der);
        // Long contents get a long-form length.
        let mut long = vec![0x04, 0x81, 0xc8];
        long.extend_from_slice(&[7; 200]);
        assert_eq!(to_der(&long).unwrap(), long);
    }

    #[test]
    fn repeats_in_a_set_of_are_dropped() {
        // SET { INTEGER 1, INTEGER 2, INTEGER 1 } and [1] { NULL, NULL }; a SEQUENCE keeps its
        // repeats.
        let set = [
            0x31, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02, 0x02, 0x01, 0x01,
        ];
        assert_eq!(
            to_der(&set).unwrap(),
            [0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02]
        );
        let implicit = [0xa1, 0x04, 0x05, 0x00, 0x05, 0x00];
        assert_eq!(to_der(&implicit).unwrap(), [0xa1, 0x02, 0x05, 0x00]);
        let sequence = [0x30, 0x04, 0x05, 0x00, 0x05, 0x00];
        assert_eq!(to_der(&sequence).unwrap(), sequence);
    }

    #[test]
    fn what_is_not_ber_is_an_error_never_a_panic() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x80],
            &[0x30, 0x80, 0x02, 0x01],
            &[0x04, 0x80, 0x00, 0x00],
            &[0x30, 0x05, 0x02, 0x01],
            &[0x30, 0x85, 0, 0, 0, 0, 1],
            &[0x24, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00],
            &[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00],
            &[0x30, 0x00, 0x01],
        ] {
            assert!(to_der(bad).is_err(), "{bad:02x?}");
        }
        let deep: Vec<u8> = [[0x30u8, 0x80]; 100]
            .concat()
            .into_iter()
            .chain([0; 200])
            .collect();
        assert!(to_der(&deep).is_err());
    }
}
