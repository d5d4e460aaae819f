//! A minimal raw DER walker.
//!
//! Why: a signature covers exact bytes. Decoding into typed structures and re-encoding may
//! change them (the `der` crate silently re-sorts SET OF on decode), so the signed attributes
//! are taken from, and a timestamp is spliced into, the bytes as received.

use der::{Decode, Encode, Header, Length, Reader, SliceReader, Tag, TagNumber};

/// One tag-length-value element, borrowing its bytes from the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    /// The element's tag.
    pub tag: Tag,
    /// The contents octets.
    pub value: &'a [u8],
    /// The whole element: header and contents.
    pub raw: &'a [u8],
}

/// Splits the first DER element off `input`; returns it and the bytes after it.
pub(crate) fn split(input: &[u8]) -> der::Result<(Tlv<'_>, &[u8])> {
    let mut reader = SliceReader::new(input)?;
    let header = Header::decode(&mut reader)?;
    let header_len = usize::try_from(reader.position())?;
    let value_len = usize::try_from(header.length)?;
    let incomplete = || der::Error::incomplete(Length::ZERO);
    let end = header_len.checked_add(value_len).ok_or_else(incomplete)?;
    let raw = input.get(..end).ok_or_else(incomplete)?;
    let value = raw.get(header_len..).ok_or_else(incomplete)?;
    let rest = input.get(end..).ok_or_else(incomplete)?;
    Ok((
        Tlv {
            tag: header.tag,
            value,
            raw,
        },
        rest,
    ))
}

/// The elements making up a constructed value, in order.
pub(crate) fn children(mut value: &[u8]) -> der::Result<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !value.is_empty() {
        let (tlv, rest) = split(value)?;
        out.push(tlv);
        value = rest;
    }
    Ok(out)
}

/// Encodes `tag` with contents `value`.
pub(crate) fn encode(tag: Tag, value: &[u8]) -> der::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(value.len() + 6);
    Header::new(tag, Length::try_from(value.len())?)?.encode_to_vec(&mut out)?;
    out.extend_from_slice(value);
    Ok(out)
}

/// Encodes `tag` around the concatenation of `parts`.
pub(crate) fn encode_parts(tag: Tag, parts: &[&[u8]]) -> der::Result<Vec<u8>> {
    encode(tag, &parts.concat())
}

/// The tag `[n]` constructed, as IMPLICIT SET OFs and EXPLICIT wrappers use.
pub(crate) fn context(number: TagNumber) -> Tag {
    Tag::ContextSpecific {
        constructed: true,
        number,
    }
}

/// Drops zero padding after the outer element. Why: a PDF's /Contents is reserved larger than
/// the CMS and filled with zeros, and callers naturally hand over the whole decoded string.
pub(crate) fn strip_zero_padding(input: &[u8]) -> der::Result<&[u8]> {
    let (tlv, rest) = split(input)?;
    if rest.iter().all(|b| *b == 0) {
        Ok(tlv.raw)
    } else {
        Err(der::Error::new(
            der::ErrorKind::TrailingData {
                decoded: Length::try_from(tlv.raw.len())?,
                remaining: Length::try_from(rest.len())?,
            },
            Length::try_from(tlv.raw.len())?,
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn splits_and_rebuilds() {
        let der = [0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xAA, 0x00, 0x00];
        let outer = strip_zero_padding(&der).unwrap();
        assert_eq!(outer.len(), 8);
        let (tlv, _) = split(outer).unwrap();
        let kids = children(tlv.value).unwrap();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[1].tag, Tag::OctetString);
        let again = encode_parts(Tag::Sequence, &[kids[0].raw, kids[1].raw]).unwrap();
        assert_eq!(again, outer);
        assert!(strip_zero_padding(&[0x30, 0x00, 0x01]).is_err());
        assert!(split(&[0x30, 0x05, 0x00]).is_err());
        assert!(split(&[]).is_err());
    }
}
