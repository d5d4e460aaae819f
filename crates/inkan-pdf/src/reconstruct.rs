//! Rebuilding the cross-reference data of a damaged file by scanning it for `N G obj`, as qpdf
//! and Acrobat do. One linear pass over the file; memory proportional to the objects found.

use std::collections::HashMap;

use crate::document::Document;
use crate::error::{PdfError, Result};
use crate::lexer::next_token;
use crate::lexer::{is_delimiter, is_whitespace};
use crate::object::{Dict, ObjRef, Object};
use crate::parser::parse_object;
use crate::source::{Cursor, Source};
use crate::xref::{XrefEntry, MAX_XREF_ENTRIES};

const CHUNK: usize = 256 * 1024;
/// Longest `NNNNNNNNNN GGGGG ` before `obj` that is looked back for.
const LOOKBACK: usize = 32;

/// Scans `source` and opens it with the objects found. Fails when no catalog can be found.
pub(crate) fn rebuild<S: Source>(source: S, header_version: (u8, u8)) -> Result<Document<S>> {
    let (mut entries, trailers) = scan(&source)?;
    // Keep the newest trailer that names a catalog (updates append newer trailers later).
    let mut trailer = trailers
        .into_iter()
        .rev()
        .find(|t| t.get_ref("Root").is_some())
        .unwrap_or_default();

    // Cross-reference streams hold the trailer keys of xref-stream files, and object streams
    // hold objects that the scan cannot see.
    let mut objstms = Vec::new();
    let mut catalog = None;
    let mut nums: Vec<(u32, u64)> = entries
        .iter()
        .filter_map(|(n, e)| match e {
            XrefEntry::InFile { offset, .. } => Some((*n, *offset)),
            _ => None,
        })
        .collect();
    nums.sort_unstable_by_key(|(_, offset)| *offset);
    for (num, offset) in nums {
        let Some((dict, is_stream)) = dict_at(&source, offset) else {
            continue;
        };
        let dict = &dict;
        if dict.has_type("XRef") && !trailer.contains_key("Root") {
            let mut t = dict.clone();
            for key in [
                "Type",
                "W",
                "Index",
                "Filter",
                "DecodeParms",
                "Length",
                "Prev",
            ] {
                t.remove(key);
            }
            if t.get_ref("Root").is_some() {
                trailer = t;
            }
        } else if dict.has_type("ObjStm") && is_stream {
            objstms.push(num);
        } else if dict.has_type("Catalog") {
            catalog = Some(num);
        }
    }
    if !trailer.contains_key("Root") {
        let Some(num) = catalog else {
            return Err(PdfError::NoRoot);
        };
        let gen = match entries.get(&num) {
            Some(XrefEntry::InFile { gen, .. }) => *gen,
            _ => 0,
        };
        trailer.insert("Root", Object::Reference(ObjRef::new(num, gen)));
    }
    trailer.remove("Prev");
    trailer.remove("XRefStm");

    let mut doc = Document::from_scan(
        source,
        header_version,
        std::mem::take(&mut entries),
        Dict::new(),
    );
    for stm in objstms {
        let Ok(members) = doc.object_stream_members(stm) else {
            continue;
        };
        for (num, index) in members {
            // An object written in the file itself is newer than a compressed copy.
            doc.xref_mut()
                .entry(num)
                .or_insert(XrefEntry::Compressed { stream: stm, index });
        }
    }
    doc.set_trailer(trailer);
    let doc = doc.with_protection();
    doc.catalog()?;
    Ok(doc)
}

/// The dictionary of the object at `offset` and whether a stream follows it — without measuring
/// the stream, which for a damaged file could mean scanning to its end once per object.
fn dict_at(source: &dyn Source, offset: u64) -> Option<(Dict, bool)> {
    let mut cur = Cursor::new(source, offset);
    for _ in 0..3 {
        next_token(&mut cur).ok()?;
    }
    let Object::Dict(dict) = parse_object(&mut cur).ok()? else {
        return None;
    };
    let is_stream = next_token(&mut cur).ok()?.is_keyword(b"stream");
    Some((dict, is_stream))
}

/// Finds every `N G obj` (the last one of each number wins) and every `trailer` dictionary.
fn scan(source: &dyn Source) -> Result<(HashMap<u32, XrefEntry>, Vec<Dict>)> {
    let len = source.len();
    let mut entries = HashMap::new();
    let mut trailers = Vec::new();
    let mut buf = Vec::new();
    let mut start = 0u64;
    while start < len {
        // Each chunk is read with LOOKBACK bytes before it, so headers across chunks are found.
        let from = start.saturating_sub(LOOKBACK as u64);
        let n = (len - from).min((CHUNK + LOOKBACK) as u64) as usize;
        buf.resize(n, 0);
        source.read_exact_at(from, &mut buf)?;
        let skip = (start - from) as usize;
        for i in skip..n {
            let at = from + i as u64;
            if buf[i..].starts_with(b"obj") && followed_by_delimiter(&buf, i + 3, at + 3 == len) {
                if let Some((num, gen, header)) = header_before(&buf, i) {
                    entries.insert(
                        num,
                        XrefEntry::InFile {
                            offset: from + header as u64,
                            gen,
                        },
                    );
                    if entries.len() > MAX_XREF_ENTRIES {
                        return Err(PdfError::Limit {
                            what: "the number of objects found by scanning",
                            limit: MAX_XREF_ENTRIES as u64,
                        });
                    }
                }
            } else if buf[i..].starts_with(b"trailer") {
                let mut cur = Cursor::new(source, at + 7);
                if let Ok(Object::Dict(d)) = parse_object(&mut cur) {
                    trailers.push(d);
                }
            }
        }
        start += CHUNK as u64;
    }
    Ok((entries, trailers))
}

fn followed_by_delimiter(buf: &[u8], i: usize, at_end: bool) -> bool {
    match buf.get(i) {
        Some(&b) => is_whitespace(b) || is_delimiter(b),
        None => at_end,
    }
}

/// Reads `num gen ` backwards from the `obj` at `i`; returns them and where `num` starts.
fn header_before(buf: &[u8], i: usize) -> Option<(u32, u16, usize)> {
    let mut j = i;
    let skip_ws = |j: &mut usize| {
        let before = *j;
        while *j > 0 && is_whitespace(buf[*j - 1]) {
            *j -= 1;
        }
        *j < before
    };
    let digits = |j: &mut usize| -> Option<u64> {
        let end = *j;
        while *j > 0 && buf[*j - 1].is_ascii_digit() && end - *j < 10 {
            *j -= 1;
        }
        let text = std::str::from_utf8(&buf[*j..end]).ok()?;
        text.parse().ok()
    };
    skip_ws(&mut j);
    let gen = digits(&mut j)?;
    if !skip_ws(&mut j) {
        return None;
    }
    let num = digits(&mut j)?;
    if j > 0 && !(is_whitespace(buf[j - 1]) || is_delimiter(buf[j - 1])) {
        return None;
    }
    Some((u32::try_from(num).ok()?, u16::try_from(gen).ok()?, j))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_backwards() {
        let buf = b"junk\n12 0 obj<<>>";
        assert_eq!(header_before(buf, 10), Some((12, 0, 5)));
        assert_eq!(header_before(b"x12 0 obj", 6), None);
        assert_eq!(header_before(b"120 obj", 4), None);
    }
}
