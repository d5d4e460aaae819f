//! Object streams (`/Type /ObjStm`, ISO 32000-2 §7.5.7): many small objects compressed together.

use crate::error::{PdfError, Result};
use crate::lexer::{next_token, Token};
use crate::limits::MAX_OBJSTM_OBJECTS;
use crate::object::{Dict, Object};
use crate::parser::parse_object;
use crate::source::Cursor;

/// A decoded object stream and its table of (object number, offset).
pub(crate) struct ObjectStream {
    pub(crate) num: u32,
    data: Vec<u8>,
    first: usize,
    table: Vec<(u32, usize)>,
}

impl ObjectStream {
    /// Reads the header of object stream `num` whose decoded data is `data`.
    pub(crate) fn parse(num: u32, dict: &Dict, data: Vec<u8>) -> Result<Self> {
        let bad = |reason: String| PdfError::ObjStm { num, reason };
        let n = dict
            .get_int("N")
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| bad("/N is missing or negative".into()))?;
        let first = dict
            .get_int("First")
            .and_then(|f| usize::try_from(f).ok())
            .filter(|&f| f <= data.len())
            .ok_or_else(|| bad("/First is missing or beyond the data".into()))?;
        // Each pair takes at least four bytes ("1 0 "), so /N cannot exceed /First / 4 … except
        // that /First sometimes lacks the last space: allow one spare.
        if n > MAX_OBJSTM_OBJECTS || n > (first as u64) / 3 + 1 {
            return Err(bad(format!(
                "/N {n} does not fit in a header of {first} bytes"
            )));
        }
        let header = &data[..first];
        let mut cur = Cursor::new(&header, 0);
        let mut table = Vec::with_capacity(n as usize);
        for i in 0..n {
            match (next_token(&mut cur)?, next_token(&mut cur)?) {
                (Token::Int(obj), Token::Int(off)) => {
                    let (Ok(obj), Ok(off)) = (u32::try_from(obj), usize::try_from(off)) else {
                        return Err(bad(format!("entry {i} of the header is negative")));
                    };
                    table.push((obj, off));
                }
                _ => return Err(bad(format!("entry {i} of the header is not two integers"))),
            }
        }
        Ok(ObjectStream {
            num,
            data,
            first,
            table,
        })
    }

    /// The object numbers and their indices, in stream order.
    pub(crate) fn numbers(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.table
            .iter()
            .enumerate()
            .map(|(i, (num, _))| (*num, i as u32))
    }

    /// The object at `index`, which must be object `expected`.
    pub(crate) fn object(&self, index: u32, expected: u32) -> Result<Object> {
        let slot = self
            .table
            .get(index as usize)
            .filter(|(num, _)| *num == expected)
            // Writers that renumber badly put the object elsewhere: look it up by number.
            .or_else(|| self.table.iter().find(|(num, _)| *num == expected))
            .ok_or_else(|| PdfError::ObjStm {
                num: self.num,
                reason: format!("it does not contain object {expected}"),
            })?;
        let at = self.first.saturating_add(slot.1);
        if at >= self.data.len() {
            return Err(PdfError::ObjStm {
                num: self.num,
                reason: format!("object {expected} is placed beyond the data"),
            });
        }
        let mut cur = Cursor::new(&self.data, at as u64);
        parse_object(&mut cur).map_err(|e| PdfError::ObjStm {
            num: self.num,
            reason: format!("object {expected}: {e}"),
        })
    }

    /// The decoded size, for cache accounting.
    pub(crate) fn size(&self) -> usize {
        self.data.len() + self.table.len() * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(n: i64, first: i64, data: &[u8]) -> Result<ObjectStream> {
        let mut d = Dict::new();
        d.insert("N", Object::Integer(n));
        d.insert("First", Object::Integer(first));
        ObjectStream::parse(9, &d, data.to_vec())
    }

    #[test]
    fn reads_objects() {
        let data = b"3 0 4 11 << /A 1 >> [1 2]";
        let os = stream(2, 9, data).ok();
        let os = os.as_ref();
        assert_eq!(
            os.and_then(|o| o.object(1, 4).ok()),
            Some(Object::Array(vec![1.into(), 2.into()]))
        );
        assert!(
            os.map(|o| o.object(0, 4).is_ok()).unwrap_or(false),
            "found by number"
        );
        assert!(os.map(|o| o.object(0, 5).is_err()).unwrap_or(false));
    }

    #[test]
    fn absurd_headers_are_refused() {
        assert!(stream(1_000_000_000, 8, b"3 0 4 8 x").is_err());
        assert!(stream(1, 100, b"3 0").is_err());
        assert!(stream(2, 4, b"3 0 ").is_err());
    }
}
