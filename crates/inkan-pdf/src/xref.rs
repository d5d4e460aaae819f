//! Cross-reference data (ISO 32000-2 §7.5.4–7.5.8): `startxref`, classic tables, cross-reference
//! streams, hybrid files (`/XRefStm`), and the `/Prev` chain of incremental updates, merged so the
//! newest section wins.

use std::collections::{HashMap, HashSet};

use crate::error::{PdfError, Result};
use crate::filters::{self, Filter};
use crate::lexer::{next_token, skip_whitespace, Token};
use crate::limits::{MAX_XREF_SECTIONS, MAX_XREF_STREAM_BYTES, STARTXREF_SEARCH};
use crate::object::{Dict, Object};
use crate::parser::parse_indirect;
use crate::source::{find_in, Cursor, Source};

/// The most entries all cross-reference sections together may list (memory stays bounded even
/// when a tiny compressed xref stream claims millions of objects).
pub const MAX_XREF_ENTRIES: usize = 8 << 20;

/// Where an object is, according to the cross-reference data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XrefEntry {
    /// Deleted, or never used: a reference to it means `null`.
    Free,
    /// At a byte offset of the file.
    InFile {
        /// Offset of `num gen obj`.
        offset: u64,
        /// The generation number.
        gen: u16,
    },
    /// Inside an object stream.
    Compressed {
        /// The object stream's object number.
        stream: u32,
        /// The object's index within that stream.
        index: u32,
    },
}

/// How a cross-reference section is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XrefKind {
    /// A classic `xref` table followed by `trailer`.
    Table,
    /// A cross-reference stream (`/Type /XRef`, PDF 1.5).
    Stream,
}

/// One section of the `/Prev` chain, as found in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XrefSection {
    /// Where the section starts (what `startxref` or `/Prev` pointed at).
    pub offset: u64,
    /// Table or stream.
    pub kind: XrefKind,
    /// For a hybrid file's table, the offset of its `/XRefStm` stream.
    pub xref_stm: Option<u64>,
    /// The byte offset just after this section's `%%EOF` (and the end of line after it): where
    /// the revision it closes ends. When no `%%EOF` follows, just after the section.
    pub end: u64,
    /// One more than every object number the section's trailer mentions: its `/Size` and every
    /// reference in it, dangling ones too (a new object must not take a number an older trailer
    /// already names).
    pub mentioned: u32,
}

/// One parsed section.
pub(crate) struct Section {
    pub(crate) entries: Vec<(u32, XrefEntry)>,
    pub(crate) trailer: Dict,
    pub(crate) kind: XrefKind,
    /// Just after the table's trailer dictionary or the stream's `endstream`.
    pub(crate) after: u64,
}

/// All sections merged.
pub(crate) struct XrefTable {
    pub(crate) entries: HashMap<u32, XrefEntry>,
    /// The newest trailer (with `/Root`, `/Info`, `/ID`, `/Encrypt` taken from older ones when
    /// the newest lacks them).
    pub(crate) trailer: Dict,
    /// Newest first.
    pub(crate) sections: Vec<XrefSection>,
}

/// The offset after the last `startxref` of the file.
pub(crate) fn find_startxref(src: &dyn Source) -> Result<u64> {
    let len = src.len();
    let mut window = 1024u64;
    loop {
        let start = len.saturating_sub(window);
        // window <= STARTXREF_SEARCH, which fits any usize.
        let mut tail = vec![0u8; (len - start) as usize];
        src.read_exact_at(start, &mut tail)?;
        if let Some(i) = tail.windows(9).rposition(|w| w == b"startxref") {
            let mut cur = Cursor::new(src, start + i as u64 + 9);
            return match next_token(&mut cur)? {
                Token::Int(n) if n >= 0 => Ok(n as u64),
                _ => Err(PdfError::syntax(
                    start + i as u64,
                    "'startxref' is not followed by an offset",
                )),
            };
        }
        if start == 0 || window >= STARTXREF_SEARCH {
            return Err(PdfError::NoStartxref);
        }
        window = STARTXREF_SEARCH;
    }
}

/// Reads the section at `offset` (a table, or a cross-reference stream).
pub(crate) fn read_section(src: &dyn Source, offset: u64) -> Result<Section> {
    let mut cur = Cursor::new(src, offset);
    skip_whitespace(&mut cur)?;
    if cur.starts_with(b"xref")? {
        cur.seek(cur.pos() + 4);
        return read_table(&mut cur, offset);
    }
    read_stream(src, offset)
}

fn read_table(cur: &mut Cursor<'_>, offset: u64) -> Result<Section> {
    let mut entries = Vec::new();
    loop {
        let at = cur.pos();
        match next_token(cur)? {
            Token::Keyword(k) if k == b"trailer" => break,
            Token::Int(first) => {
                let Token::Int(count) = next_token(cur)? else {
                    return Err(PdfError::bad_xref(
                        offset,
                        format!("no entry count at byte {at}"),
                    ));
                };
                let (Ok(first), Ok(count)) = (u32::try_from(first), u32::try_from(count)) else {
                    return Err(PdfError::bad_xref(
                        offset,
                        format!("negative subsection at byte {at}"),
                    ));
                };
                for i in 0..count {
                    let entry_at = cur.pos();
                    let (Token::Int(pos), Token::Int(gen), Token::Keyword(kind)) =
                        (next_token(cur)?, next_token(cur)?, next_token(cur)?)
                    else {
                        return Err(PdfError::bad_xref(
                            offset,
                            format!("malformed entry at byte {entry_at}"),
                        ));
                    };
                    let Some(num) = first.checked_add(i) else {
                        return Err(PdfError::bad_xref(offset, "object numbers beyond 2^32"));
                    };
                    let gen = u16::try_from(gen).unwrap_or(u16::MAX);
                    let entry = match (kind.as_slice(), u64::try_from(pos)) {
                        // Offset 0 is the header: writers use it for "no object".
                        (b"n", Ok(pos)) if pos > 0 => XrefEntry::InFile { offset: pos, gen },
                        (b"n" | b"f", _) => XrefEntry::Free,
                        _ => {
                            return Err(PdfError::bad_xref(
                                offset,
                                format!("entry at byte {entry_at} is neither 'n' nor 'f'"),
                            ))
                        }
                    };
                    entries.push((num, entry));
                    if entries.len() > MAX_XREF_ENTRIES {
                        return Err(PdfError::Limit {
                            what: "the number of cross-reference entries",
                            limit: MAX_XREF_ENTRIES as u64,
                        });
                    }
                }
            }
            other => {
                return Err(PdfError::bad_xref(
                    offset,
                    format!(
                        "expected a subsection or 'trailer' at byte {at}, found {}",
                        other.describe()
                    ),
                ))
            }
        }
    }
    let at = cur.pos();
    let trailer = match crate::parser::parse_object(cur)? {
        Object::Dict(d) => d,
        other => {
            return Err(PdfError::bad_xref(
                offset,
                format!(
                    "the trailer at byte {at} is {}, not a dictionary",
                    other.type_name()
                ),
            ))
        }
    };
    Ok(Section {
        entries,
        trailer,
        kind: XrefKind::Table,
        after: cur.pos(),
    })
}

fn read_stream(src: &dyn Source, offset: u64) -> Result<Section> {
    let mut cur = Cursor::new(src, offset);
    // No document exists yet to resolve an indirect /Length: measure up to `endstream`.
    let (_, obj) = parse_indirect(&mut cur, &mut |_| Ok(None)).map_err(|e| match e {
        PdfError::Syntax { .. } => PdfError::bad_xref(
            offset,
            format!("neither an 'xref' table nor a cross-reference stream is there ({e})"),
        ),
        other => other,
    })?;
    let after = cur.pos();
    let Object::Stream(stream) = obj else {
        return Err(PdfError::bad_xref(
            offset,
            format!(
                "expected a cross-reference stream, found {}",
                obj.type_name()
            ),
        ));
    };
    let dict = &stream.dict;
    if !dict.has_type("XRef") {
        return Err(PdfError::bad_xref(
            offset,
            "the stream there is not /Type /XRef",
        ));
    }
    let widths = int_array(dict, "W")
        .ok_or_else(|| PdfError::bad_xref(offset, "/W is missing or not three integers"))?;
    let [w0, w1, w2] = widths.as_slice() else {
        return Err(PdfError::bad_xref(offset, "/W must have three entries"));
    };
    let w = [*w0, *w1, *w2].map(|x| usize::try_from(x).unwrap_or(usize::MAX));
    if w.iter().any(|&x| x > 8) || w[1] == 0 {
        return Err(PdfError::bad_xref(
            offset,
            format!("/W {widths:?} is invalid"),
        ));
    }
    let row = w[0] + w[1] + w[2];
    let size = dict
        .get_int("Size")
        .ok_or_else(|| PdfError::bad_xref(offset, "/Size is missing"))?;
    let index = match dict.get("Index") {
        Some(_) => int_array(dict, "Index")
            .ok_or_else(|| PdfError::bad_xref(offset, "/Index is not an array of integers"))?,
        None => vec![0, size],
    };
    if !index.chunks_exact(2).remainder().is_empty()
        || index.iter().any(|&v| v < 0 || v > i64::from(u32::MAX))
    {
        return Err(PdfError::bad_xref(offset, "/Index is malformed"));
    }
    let rows: u64 = index.chunks(2).map(|p| p[1] as u64).sum();
    // PNG predictors add one tag byte per row before they are undone.
    let expected = rows.saturating_mul(row as u64 + 1);
    let limit = usize::try_from(expected)
        .unwrap_or(usize::MAX)
        .min(MAX_XREF_STREAM_BYTES);
    let data = read_stream_data(src, &stream.data, offset)?;
    let decoded = filters::decode(&data, &direct_filters(dict, offset)?, limit)?;

    let mut entries = Vec::new();
    let mut rows_iter = decoded.chunks_exact(row);
    'sections: for pair in index.chunks(2) {
        let (first, count) = (pair[0] as u64, pair[1] as u64);
        for i in 0..count {
            // A stream shorter than /Index says: keep the rows that are there.
            let Some(r) = rows_iter.next() else {
                break 'sections;
            };
            let Ok(num) = u32::try_from(first + i) else {
                break 'sections;
            };
            let (f0, rest) = r.split_at(w[0]);
            let (f1, f2) = rest.split_at(w[1]);
            let kind = if w[0] == 0 { 1 } else { be(f0) };
            let (a, b) = (be(f1), be(f2));
            let entry = match kind {
                0 => XrefEntry::Free,
                1 if a > 0 && a < src.len() => XrefEntry::InFile {
                    offset: a,
                    gen: u16::try_from(b).unwrap_or(u16::MAX),
                },
                1 => XrefEntry::Free,
                2 => match (u32::try_from(a), u32::try_from(b)) {
                    (Ok(stream), Ok(index)) => XrefEntry::Compressed { stream, index },
                    _ => XrefEntry::Free,
                },
                // Unknown types are references to null (§7.5.8.3).
                _ => continue,
            };
            entries.push((num, entry));
        }
    }
    let mut trailer = stream.dict.clone();
    for key in ["Type", "W", "Index", "Filter", "DecodeParms", "Length"] {
        trailer.remove(key);
    }
    Ok(Section {
        entries,
        trailer,
        kind: XrefKind::Stream,
        after,
    })
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b))
}

fn int_array(dict: &Dict, key: &str) -> Option<Vec<i64>> {
    dict.get(key)?
        .as_array()?
        .iter()
        .map(Object::as_int)
        .collect()
}

/// The filter chain of a stream whose dictionary has only direct values (cross-reference
/// streams must: they are read before any object can be resolved).
fn direct_filters(dict: &Dict, offset: u64) -> Result<Vec<Filter>> {
    filters::chain(dict, &mut |o: &Object| match o {
        Object::Reference(_) => Err(PdfError::bad_xref(
            offset,
            "/Filter or /DecodeParms of a cross-reference stream is an indirect reference",
        )),
        other => Ok(other.clone()),
    })
}

fn read_stream_data(
    src: &dyn Source,
    data: &crate::object::StreamData,
    offset: u64,
) -> Result<Vec<u8>> {
    match data {
        crate::object::StreamData::InFile { offset: at, length } => {
            if *length > MAX_XREF_STREAM_BYTES as u64 {
                return Err(PdfError::Limit {
                    what: "a cross-reference stream",
                    limit: MAX_XREF_STREAM_BYTES as u64,
                });
            }
            // Bounded by the check above.
            let mut buf = vec![0u8; *length as usize];
            src.read_exact_at(*at, &mut buf)?;
            Ok(buf)
        }
        crate::object::StreamData::InMemory(_) | crate::object::StreamData::Encrypted { .. } => {
            Err(PdfError::bad_xref(offset, "unexpected in-memory stream"))
        }
    }
}

/// Where the revision closed by a section ends: after the first `%%EOF` following it (and one end
/// of line), or just after the section when none follows closely.
fn revision_end(src: &dyn Source, after: u64) -> Result<u64> {
    // `startxref`, its offset and `%%EOF` take a few dozen bytes; allow for comments and padding.
    let Some(at) = find_in(src, b"%%EOF", after, after.saturating_add(1024))? else {
        return Ok(after);
    };
    let mut end = at + 5;
    let mut cur = Cursor::new(src, end);
    match cur.next()? {
        Some(b'\r') => {
            end += 1;
            if cur.next()? == Some(b'\n') {
                end += 1;
            }
        }
        Some(b'\n') => end += 1,
        _ => {}
    }
    Ok(end)
}

/// Follows the chain from `startxref` through every `/Prev` (and `/XRefStm`), refusing loops and
/// absurd lengths, and merges the sections newest-first. Several hybrid sections may name the same
/// `/XRefStm` (a writer keeping the value in each update): that stream is read once, which is no
/// loop — only a `/Prev` chain that comes back is.
pub(crate) fn load(src: &dyn Source, startxref: u64) -> Result<XrefTable> {
    let len = src.len();
    let mut entries: HashMap<u32, XrefEntry> = HashMap::new();
    let mut trailer: Option<Dict> = None;
    let mut sections = Vec::new();
    let mut visited = HashSet::new();
    let mut hidden_read = HashSet::new();
    let mut next = Some((startxref, "startxref"));
    while let Some((offset, what)) = next.take() {
        if offset >= len {
            return Err(PdfError::OutsideFile { what, offset, len });
        }
        if !visited.insert(offset) {
            return Err(PdfError::XrefLoop { offset });
        }
        if sections.len() >= MAX_XREF_SECTIONS {
            return Err(PdfError::Limit {
                what: "the number of cross-reference sections (/Prev chain)",
                limit: MAX_XREF_SECTIONS as u64,
            });
        }
        let section = read_section(src, offset)?;
        let xref_stm = match (section.kind, section.trailer.get_int("XRefStm")) {
            (XrefKind::Table, Some(at)) => Some(u64::try_from(at).unwrap_or(u64::MAX)),
            _ => None,
        };
        // Within a hybrid section the table's entries win, then the hidden stream's, and only
        // then the table's free entries (a table marks compressed objects free for old readers).
        let (free, used): (Vec<_>, Vec<_>) = section
            .entries
            .into_iter()
            .partition(|(_, e)| *e == XrefEntry::Free);
        for (num, e) in used {
            entries.entry(num).or_insert(e);
        }
        if let Some(stm) = xref_stm {
            if stm >= len {
                return Err(PdfError::OutsideFile {
                    what: "/XRefStm",
                    offset: stm,
                    len,
                });
            }
            // Read before (named by a newer section): its entries are in already, and newer
            // ones win anyway.
            if hidden_read.insert(stm) {
                let hidden = read_section(src, stm)?;
                if hidden.kind != XrefKind::Stream {
                    return Err(PdfError::bad_xref(
                        stm,
                        "/XRefStm does not point at a cross-reference stream",
                    ));
                }
                for (num, e) in hidden.entries {
                    entries.entry(num).or_insert(e);
                }
            }
        }
        for (num, e) in free {
            entries.entry(num).or_insert(e);
        }
        if entries.len() > MAX_XREF_ENTRIES {
            return Err(PdfError::Limit {
                what: "the number of cross-reference entries",
                limit: MAX_XREF_ENTRIES as u64,
            });
        }
        match &mut trailer {
            None => trailer = Some(section.trailer.clone()),
            Some(t) => {
                for key in ["Root", "Info", "ID", "Encrypt"] {
                    if !t.contains_key(key) {
                        if let Some(v) = section.trailer.get(key) {
                            t.insert(key, v.clone());
                        }
                    }
                }
            }
        }
        sections.push(XrefSection {
            offset,
            kind: section.kind,
            xref_stm,
            end: revision_end(src, section.after)?,
            mentioned: mentioned_size(&section.trailer),
        });
        next = match section.trailer.get("Prev") {
            Some(Object::Integer(p)) => Some((u64::try_from(*p).unwrap_or(u64::MAX), "/Prev")),
            // Some writers emit /Prev 123.0.
            Some(Object::Real(p)) if *p >= 0.0 => Some((*p as u64, "/Prev")),
            _ => None,
        };
    }
    Ok(XrefTable {
        entries,
        trailer: trailer.unwrap_or_default(),
        sections,
    })
}

/// One more than the largest object number `trailer` names: `/Size`, and the number of every
/// reference in it (at any depth).
fn mentioned_size(trailer: &Dict) -> u32 {
    fn above(object: &Object) -> u32 {
        match object {
            Object::Reference(r) => r.num.saturating_add(1),
            Object::Array(items) => items.iter().map(above).max().unwrap_or(0),
            Object::Dict(dict) => dict.iter().map(|(_, v)| above(v)).max().unwrap_or(0),
            _ => 0,
        }
    }
    let size = trailer
        .get_int("Size")
        .and_then(|s| u32::try_from(s).ok())
        .unwrap_or(0);
    let named = trailer.iter().map(|(_, v)| above(v)).max().unwrap_or(0);
    size.max(named)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startxref_is_found_past_padding() {
        let mut data = b"%PDF-1.4\n...\nstartxref\n1234\n%%EOF\n".to_vec();
        data.resize(data.len() + 3000, 0);
        assert_eq!(find_startxref(&data).ok(), Some(1234));
        assert!(matches!(
            find_startxref(&&b"%PDF-1.4 nothing"[..]),
            Err(PdfError::NoStartxref)
        ));
    }

    #[test]
    fn table_with_odd_whitespace() {
        let data = b"xref\r0 3\r\n0000000000 65535 f\r\n0000000017 00000 n\n0000000081 00000 n \ntrailer<</Size 3>>";
        let s = read_section(&&data[..], 0).ok();
        let s = s.map(|s| s.entries);
        assert_eq!(
            s,
            Some(vec![
                (0, XrefEntry::Free),
                (1, XrefEntry::InFile { offset: 17, gen: 0 }),
                (2, XrefEntry::InFile { offset: 81, gen: 0 }),
            ])
        );
    }
}
