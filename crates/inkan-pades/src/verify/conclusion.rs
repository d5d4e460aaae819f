//! Reading back the 締結証明書ID a PDF shows: the `締結証明書ID: <32 hex>` line that
//! [`crate::stamp_every_page`] draws on contract pages and [`crate::render_certificate`] on the
//! certificate of conclusion.
//!
//! The text of the first page is extracted as a viewer would copy it: its content streams and,
//! recursively, the form XObjects they draw, with shown strings decoded through each font's
//! ToUnicode CMap (raw bytes for simple fonts without one). Everything is bounded — streams
//! decoded, bytes, operations, form depth, CMap size, text kept — so a hostile file costs little
//! and a broken stream or font only loses its own text.

use std::collections::HashMap;
use std::rc::Rc;

use inkan_pdf::content::{Operation, Operations};
use inkan_pdf::{Dict, Document, ObjRef, Object, Source};

use crate::PadesError;

/// How deep form XObjects drawing form XObjects are followed (Inkan's stamp is one level).
const MAX_FORM_DEPTH: usize = 8;
/// The most content streams and forms decoded for one page.
const MAX_STREAMS: usize = 256;
/// The most decoded bytes of one stream, and of all of them together.
const MAX_STREAM_BYTES: usize = 16 << 20;
const MAX_TOTAL_BYTES: usize = 64 << 20;
/// The most operations interpreted for one page.
const MAX_OPERATIONS: usize = 2_000_000;
/// The most characters of text kept (the ID line is near the end of Inkan's pages, but a page
/// with megabytes of text is not one of them).
const MAX_TEXT: usize = 4 << 20;
/// The most code → text entries one ToUnicode CMap may give (a bfrange can name 65536 at once).
const MAX_CMAP_ENTRIES: usize = 1 << 17;
/// The most nested `q` kept (graphics state saves text fonts).
const MAX_SAVED_STATES: usize = 64;

const LABEL: &str = "締結証明書ID";

/// The 締結証明書ID shown on the first page of `doc` (lowercase hex), or `None` when the page
/// shows none (a PDF Inkan did not make). An `Err` only when the page itself cannot be found
/// (encrypted file, broken page tree); unreadable content just yields no text.
pub fn conclusion_id<S: Source>(doc: &Document<S>) -> Result<Option<String>, PadesError> {
    doc.ensure_readable()?;
    if doc.page_count()? == 0 {
        return Ok(None);
    }
    let page = doc.page(0)?;
    let resources = match &page.resources {
        Some(r) => dict_of(doc, r),
        None => Dict::new(),
    };
    let mut extractor = Extractor::new(doc);
    for stream in content_streams(doc, page.dict.get("Contents")) {
        extractor.run_stream(&stream, &resources, 0);
    }
    Ok(find_id(&extractor.text))
}

/// The page's content streams (one, or an array of them), at most [`MAX_STREAMS`].
fn content_streams<S: Source>(doc: &Document<S>, contents: Option<&Object>) -> Vec<Object> {
    let Some(contents) = contents.and_then(|c| doc.resolve(c).ok()) else {
        return Vec::new();
    };
    match contents {
        Object::Array(parts) => parts
            .iter()
            .take(MAX_STREAMS)
            .filter_map(|p| doc.resolve(p).ok())
            .collect(),
        other => vec![other],
    }
}

/// `obj` resolved to a dictionary (a stream's dictionary too); empty when it is none.
fn dict_of<S: Source>(doc: &Document<S>, obj: &Object) -> Dict {
    match doc.resolve(obj) {
        Ok(Object::Dict(d)) => d,
        Ok(Object::Stream(s)) => s.dict,
        _ => Dict::new(),
    }
}

/// What a font's codes mean.
#[derive(Default)]
struct FontMap {
    /// Composite (Type 0) fonts here use 2-byte codes (Identity-H and the like).
    two_byte: bool,
    /// (code length, code) → text, from the ToUnicode CMap.
    map: HashMap<(u8, u32), String>,
}

impl FontMap {
    fn decode(&self, bytes: &[u8], out: &mut String) {
        if self.two_byte {
            for pair in bytes.chunks_exact(2) {
                let code = u32::from(u16::from_be_bytes([pair[0], pair[1]]));
                if let Some(text) = self.map.get(&(2, code)) {
                    out.push_str(text);
                }
            }
            return;
        }
        for &b in bytes {
            match self.map.get(&(1, u32::from(b))) {
                Some(text) => out.push_str(text),
                // A simple font without a map: its standard encodings agree with Latin-1 on the
                // ASCII an ID line is made of.
                None => out.push(char::from(b)),
            }
        }
    }
}

struct Extractor<'d, S: Source> {
    doc: &'d Document<S>,
    text: String,
    fonts: HashMap<ObjRef, Rc<FontMap>>,
    streams_left: usize,
    bytes_left: usize,
    operations_left: usize,
}

impl<'d, S: Source> Extractor<'d, S> {
    fn new(doc: &'d Document<S>) -> Self {
        Extractor {
            doc,
            text: String::new(),
            fonts: HashMap::new(),
            streams_left: MAX_STREAMS,
            bytes_left: MAX_TOTAL_BYTES,
            operations_left: MAX_OPERATIONS,
        }
    }

    fn exhausted(&self) -> bool {
        self.streams_left == 0 || self.operations_left == 0 || self.text.len() >= MAX_TEXT
    }

    /// Decoded data of a stream object within the budgets; `None` when it is not a stream, is
    /// too big or does not decode.
    fn decode(&mut self, obj: &Object) -> Option<Vec<u8>> {
        let stream = obj.as_stream()?;
        if self.streams_left == 0 {
            return None;
        }
        self.streams_left -= 1;
        let limit = MAX_STREAM_BYTES.min(self.bytes_left);
        let data = self.doc.decode_stream(stream, limit).ok()?;
        self.bytes_left = self.bytes_left.saturating_sub(data.len());
        Some(data)
    }

    fn run_stream(&mut self, stream: &Object, resources: &Dict, depth: usize) {
        if self.exhausted() {
            return;
        }
        let Some(data) = self.decode(stream) else {
            return;
        };
        let mut font: Option<Rc<FontMap>> = None;
        let mut saved: Vec<Option<Rc<FontMap>>> = Vec::new();
        // A syntax error ends this stream's text, not the extraction.
        for op in Operations::new(&data).map_while(Result::ok) {
            if self.exhausted() {
                return;
            }
            self.operations_left -= 1;
            match op.operator.as_slice() {
                b"q" if saved.len() < MAX_SAVED_STATES => saved.push(font.clone()),
                b"Q" => font = saved.pop().unwrap_or(font),
                b"Tf" => font = self.font(resources, op.operands.first()),
                b"Do" => self.draw_form(resources, op.operands.first(), depth),
                _ => self.show(&op, font.as_deref()),
            }
        }
    }

    /// Appends the text an operation shows; line changes become line breaks, so text from
    /// different places never runs together into something that looks like an ID.
    fn show(&mut self, op: &Operation, font: Option<&FontMap>) {
        let decode = |bytes: &[u8], out: &mut String| match font {
            Some(f) => f.decode(bytes, out),
            None => out.extend(bytes.iter().map(|&b| char::from(b))),
        };
        let string = |i: usize| op.operands.get(i).and_then(Object::as_string);
        match op.operator.as_slice() {
            b"Tj" => {
                if let Some(s) = string(0) {
                    decode(&s.bytes, &mut self.text);
                }
            }
            b"'" | b"\"" => {
                self.text.push('\n');
                let at = if op.operator == b"'" { 0 } else { 2 };
                if let Some(s) = string(at) {
                    decode(&s.bytes, &mut self.text);
                }
            }
            b"TJ" => {
                let items = op.operands.first().and_then(Object::as_array);
                for item in items.unwrap_or_default() {
                    if let Some(s) = item.as_string() {
                        decode(&s.bytes, &mut self.text);
                    }
                }
            }
            b"BT" | b"ET" | b"Td" | b"TD" | b"T*" | b"Tm" => self.text.push('\n'),
            _ => {}
        }
    }

    /// The font named by a `Tf` operand in `resources`.
    fn font(&mut self, resources: &Dict, name: Option<&Object>) -> Option<Rc<FontMap>> {
        let name = name?.as_name()?;
        let fonts = dict_of(self.doc, resources.get("Font")?);
        let entry = fonts.get(name)?;
        if let Some(r) = entry.as_ref() {
            if let Some(known) = self.fonts.get(&r) {
                return Some(known.clone());
            }
            let map = Rc::new(self.load_font(entry));
            self.fonts.insert(r, map.clone());
            return Some(map);
        }
        Some(Rc::new(self.load_font(entry)))
    }

    fn load_font(&mut self, font: &Object) -> FontMap {
        let dict = dict_of(self.doc, font);
        let mut map = FontMap {
            two_byte: dict.get_name("Subtype") == Some(b"Type0"),
            map: HashMap::new(),
        };
        let cmap = dict
            .get("ToUnicode")
            .and_then(|t| self.doc.resolve(t).ok())
            .and_then(|t| self.decode(&t));
        if let Some(cmap) = cmap {
            read_to_unicode(&cmap, &mut map.map);
        }
        map
    }

    /// Follows `Do` into a form XObject, with its own resources (or the page's when it has
    /// none, as older files do).
    fn draw_form(&mut self, resources: &Dict, name: Option<&Object>, depth: usize) {
        if depth >= MAX_FORM_DEPTH {
            return;
        }
        let Some(name) = name.and_then(Object::as_name) else {
            return;
        };
        let Some(xobjects) = resources.get("XObject").map(|x| dict_of(self.doc, x)) else {
            return;
        };
        let Some(form) = xobjects.get(name).and_then(|x| self.doc.resolve(x).ok()) else {
            return;
        };
        let Some(stream) = form.as_stream() else {
            return;
        };
        if stream.dict.get_name("Subtype") != Some(b"Form") {
            return;
        }
        let own = stream.dict.get("Resources").map(|r| dict_of(self.doc, r));
        let resources = own.unwrap_or_else(|| resources.clone());
        self.run_stream(&form, &resources, depth + 1);
    }
}

/// Reads the `bfchar` and `bfrange` sections of a ToUnicode CMap into `map`.
fn read_to_unicode(cmap: &[u8], map: &mut HashMap<(u8, u32), String>) {
    let data = cmap.to_vec();
    for op in Operations::new(&data).map_while(Result::ok) {
        match op.operator.as_slice() {
            b"endbfchar" => {
                for pair in op.operands.chunks_exact(2) {
                    let (Some(code), Some(text)) = (code_of(&pair[0]), text_of(&pair[1], 0)) else {
                        continue;
                    };
                    if map.len() < MAX_CMAP_ENTRIES {
                        map.insert(code, text);
                    }
                }
            }
            b"endbfrange" => {
                for range in op.operands.chunks_exact(3) {
                    read_range(range, map);
                }
            }
            _ => {}
        }
    }
}

/// One `<lo> <hi> dst` entry: `dst` a string (incremented for each code) or an array of one
/// string per code.
fn read_range(range: &[Object], map: &mut HashMap<(u8, u32), String>) {
    let (Some((len, lo)), Some((hi_len, hi))) = (code_of(&range[0]), code_of(&range[1])) else {
        return;
    };
    if len != hi_len || hi < lo {
        return;
    }
    for (offset, code) in (lo..=hi).enumerate() {
        if map.len() >= MAX_CMAP_ENTRIES {
            return;
        }
        let text = match &range[2] {
            Object::Array(items) => items.get(offset).and_then(|t| text_of(t, 0)),
            dst => text_of(dst, offset as u32),
        };
        if let Some(text) = text {
            map.insert((len, code), text);
        }
    }
}

/// A source code: 1 to 4 bytes, big-endian.
fn code_of(obj: &Object) -> Option<(u8, u32)> {
    let bytes = &obj.as_string()?.bytes;
    if bytes.is_empty() || bytes.len() > 4 {
        return None;
    }
    let value = bytes.iter().fold(0u32, |v, &b| v << 8 | u32::from(b));
    Some((bytes.len() as u8, value))
}

/// A destination: UTF-16BE, its last code unit advanced by `offset` (for bfrange).
fn text_of(obj: &Object, offset: u32) -> Option<String> {
    let bytes = &obj.as_string()?.bytes;
    let mut units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    let last = units.last_mut()?;
    *last = u16::try_from(u32::from(*last) + offset).ok()?;
    Some(
        char::decode_utf16(units)
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
    )
}

/// The first `締結証明書ID: <32 hex>` in `text` (optional spaces around the colon, which may be
/// full-width); exactly 32 hex digits, lowercased.
fn find_id(text: &str) -> Option<String> {
    let is_space = |c: char| c == ' ' || c == '\u{3000}';
    text.match_indices(LABEL).find_map(|(at, _)| {
        let rest = text[at + LABEL.len()..].trim_start_matches(is_space);
        let rest = rest
            .strip_prefix(':')
            .or_else(|| rest.strip_prefix('：'))?
            .trim_start_matches(is_space);
        let hex: String = rest.chars().take(33).collect();
        let digits = hex.chars().take_while(char::is_ascii_hexdigit).count();
        (digits == 32).then(|| hex[..32].to_ascii_lowercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_in_text() {
        let id = "7dfd11d5126db4c1699470984eec8b02";
        for text in [
            format!("page\n締結証明書ID: {id}\n1 / 2"),
            format!("締結証明書ID：{}", id.to_uppercase()),
            format!("締結証明書ID :\u{3000}{id}"),
            format!("締結証明書ID\nCertificate ID\nxx\n締結証明書ID: {id}"),
        ] {
            assert_eq!(find_id(&text).as_deref(), Some(id), "{text}");
        }
        for text in [
            format!("締結証明書ID {id}"),
            format!("締結証明書ID: {id}0"),
            format!("締結証明書ID: {}", &id[..31]),
            "締結証明書ID:".to_string(),
            String::new(),
        ] {
            assert_eq!(find_id(&text), None, "{text}");
        }
    }

    #[test]
    fn cmaps_with_chars_and_ranges() {
        let cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
            1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
            2 beginbfchar <0003> <7DE0> <0004> <D83DDE00> endbfchar\n\
            2 beginbfrange <0010> <0012> <0030> <0020> <0021> [<0041> <00420043>] endbfrange\n\
            1 beginbfrange <41> <5A> <0061> endbfrange\n\
            1 beginbfrange <0000> <FFFF> <FFFF> endbfrange\n\
            endcmap CMapName currentdict /CMap defineresource pop end end";
        let mut map = HashMap::new();
        read_to_unicode(cmap, &mut map);
        let font = FontMap {
            two_byte: true,
            map: map.clone(),
        };
        let mut out = String::new();
        font.decode(
            &[0, 3, 0, 4, 0, 0x10, 0, 0x12, 0, 0x20, 0, 0x21, 0x99],
            &mut out,
        );
        assert_eq!(out, "締😀02AB C".replace(' ', ""));
        let simple = FontMap {
            two_byte: false,
            map,
        };
        out.clear();
        simple.decode(b"AZ1", &mut out);
        assert_eq!(out, "az1");
    }
}
