//! Space reserved in the output for values known only after writing (a signature's `/Contents`
//! and `/ByteRange`), and hashing of byte ranges.

use crate::error::{PdfError, Result};
use crate::source::{copy_range, Source};

/// What to reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// A hex string of `capacity` bytes, written `<000…000>` (2 × capacity zeros). A shorter
    /// value is padded with zeros, which DER-reading validators ignore.
    Hex {
        /// Bytes (not hex digits) the value may have.
        capacity: usize,
    },
    /// A `/ByteRange` array, written `[0 0000000000 0000000000 0000000000]`: room for any offset
    /// below 10 GB.
    ByteRange,
}

impl Placeholder {
    /// The placeholder's bytes as first written.
    pub(crate) fn initial_bytes(&self) -> Vec<u8> {
        match self {
            Placeholder::Hex { capacity } => {
                let mut v = Vec::with_capacity(2 * capacity + 2);
                v.push(b'<');
                v.resize(2 * capacity + 1, b'0');
                v.push(b'>');
                v
            }
            Placeholder::ByteRange => b"[0 0000000000 0000000000 0000000000]".to_vec(),
        }
    }
}

/// Identifies a placeholder within one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlaceholderId(pub(crate) usize);

/// Where a placeholder ended up in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaceholderSpan {
    /// Offset of its first byte: the `<` of a hex string, the `[` of a byte range.
    pub start: u64,
    /// Offset just after its last byte (after `>` or `]`).
    pub end: u64,
    /// What it reserves.
    pub kind: Placeholder,
}

impl PlaceholderSpan {
    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Never empty; here for API completeness.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// For a byte range, the offsets of its last three ten-digit number fields (the first number
    /// is always 0), for callers that patch `{:010}` numbers in place.
    pub fn number_fields(&self) -> Option<[std::ops::Range<u64>; 3]> {
        match self.kind {
            Placeholder::ByteRange => {
                let f = |i: u64| {
                    let s = self.start.saturating_add(3 + i * 11);
                    s..s.saturating_add(10)
                };
                Some([f(0), f(1), f(2)])
            }
            Placeholder::Hex { .. } => None,
        }
    }

    /// The exact bytes that replace this hex placeholder for `value` (hex, zero padded).
    pub fn render_hex(&self, value: &[u8]) -> Result<Vec<u8>> {
        let Placeholder::Hex { capacity } = self.kind else {
            return Err(PdfError::InvalidUpdate(
                "render_hex on a byte range placeholder".into(),
            ));
        };
        if value.len() > capacity {
            return Err(PdfError::PlaceholderTooSmall {
                needed: value.len(),
                reserved: capacity,
            });
        }
        let mut out = Vec::with_capacity(2 * capacity + 2);
        out.push(b'<');
        crate::serialize::write_hex(&mut out, value);
        out.resize(2 * capacity + 1, b'0');
        out.push(b'>');
        Ok(out)
    }

    /// The exact bytes that replace this byte range placeholder: `[0 a b c]` padded with spaces
    /// to the reserved width.
    pub fn render_byte_range(&self, range: [u64; 4]) -> Result<Vec<u8>> {
        if self.kind != Placeholder::ByteRange {
            return Err(PdfError::InvalidUpdate(
                "render_byte_range on a hex placeholder".into(),
            ));
        }
        let text = format!("[{} {} {} {}", range[0], range[1], range[2], range[3]);
        let width = self.len() as usize;
        if text.len() + 1 > width {
            return Err(PdfError::PlaceholderTooSmall {
                needed: text.len() + 1,
                reserved: width,
            });
        }
        let mut out = text.into_bytes();
        out.resize(width - 1, b' ');
        out.push(b']');
        Ok(out)
    }
}

/// Feeds the bytes a `/ByteRange [a b c d]` covers (`a..a+b` and `c..c+d`) to `sink`, reading
/// `source` in chunks: how a written file is hashed for signing or verification without loading
/// it.
pub fn hash_byte_range(
    source: &impl Source,
    byte_range: &[u64],
    sink: &mut dyn FnMut(&[u8]),
) -> Result<()> {
    if !byte_range.chunks_exact(2).remainder().is_empty() || byte_range.is_empty() {
        return Err(PdfError::InvalidUpdate(format!(
            "a byte range needs pairs of offset and length, got {} numbers",
            byte_range.len()
        )));
    }
    let len = source.len();
    for pair in byte_range.chunks(2) {
        let (start, n) = (pair[0], pair[1]);
        let end = start.checked_add(n).filter(|&e| e <= len).ok_or_else(|| {
            PdfError::InvalidUpdate(format!(
                "the byte range {start}+{n} goes beyond the end of the file ({len} bytes)"
            ))
        })?;
        copy_range(source, start, end, &mut |chunk| {
            sink(chunk);
            Ok(())
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(kind: Placeholder) -> PlaceholderSpan {
        let len = kind.initial_bytes().len() as u64;
        PlaceholderSpan {
            start: 100,
            end: 100 + len,
            kind,
        }
    }

    #[test]
    fn renders_keep_the_width() {
        let hex = span(Placeholder::Hex { capacity: 4 });
        assert_eq!(
            hex.render_hex(&[0xAB, 1]).ok(),
            Some(b"<AB010000>".to_vec())
        );
        assert!(matches!(
            hex.render_hex(&[0; 5]),
            Err(PdfError::PlaceholderTooSmall {
                needed: 5,
                reserved: 4
            })
        ));
        let br = span(Placeholder::ByteRange);
        let r = br
            .render_byte_range([0, 1234, 5678, 90])
            .unwrap_or_default();
        assert_eq!(r.len() as u64, br.len());
        assert!(r.starts_with(b"[0 1234 5678 90 "));
        assert_eq!(br.number_fields().map(|f| f[0].clone()), Some(103..113));
    }

    #[test]
    fn hashes_two_ranges() {
        let data = b"0123456789".to_vec();
        let mut seen = Vec::new();
        assert!(hash_byte_range(&data, &[0, 3, 7, 3], &mut |c| seen.extend_from_slice(c)).is_ok());
        assert_eq!(seen, b"012789");
        assert!(hash_byte_range(&data, &[0, 3, 8, 3], &mut |_| {}).is_err());
    }
}
