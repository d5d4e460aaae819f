//! Incremental updates (ISO 32000-2 §7.5.6): new and changed objects, a cross-reference section
//! and a trailer appended after the original bytes, which are copied through unchanged — the
//! only way to add a signature without invalidating the earlier ones.
//!
//! Everything appended is built in memory first ([`IncrementalUpdate::prepare`]), so every
//! offset — placeholders included — is known before a single byte is written, and the output can
//! be hashed in the same pass that writes it.

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};

use crate::document::Document;
use crate::error::{PdfError, Result};
use crate::filters::flate_encode;
use crate::object::{Dict, Name, ObjRef, Object, PdfString, Stream, StreamData};
use crate::placeholder::{Placeholder, PlaceholderId, PlaceholderSpan};
use crate::serialize::{write_dict, write_object, write_stream_head};
use crate::source::{copy_range, Source};
use crate::xref::{XrefEntry, XrefKind};

/// How [`IncrementalUpdate::add_stream`] stores data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// As given.
    None,
    /// Flate-compressed, with `/Filter /FlateDecode` added.
    Flate,
}

struct PlaceholderDef {
    num: u32,
    key: Name,
    kind: Placeholder,
}

/// New and changed objects for one incremental update of a document.
///
/// ```no_run
/// # use inkan_pdf::*;
/// # fn main() -> Result<()> {
/// let doc = Document::open_file("in.pdf")?;
/// let mut update = IncrementalUpdate::new(&doc)?;
/// let sig = update.reserve();
/// let contents = update.placeholder(sig, "Contents", Placeholder::Hex { capacity: 8192 })?;
/// let byte_range = update.placeholder(sig, "ByteRange", Placeholder::ByteRange)?;
/// let mut dict = Dict::new();
/// dict.insert("Type", Object::name("Sig"));
/// update.set(sig, dict)?;
/// let mut prepared = update.prepare()?;
/// prepared.fill_byte_range(byte_range, contents)?;
/// let mut out = std::fs::File::create("out.pdf")?;
/// prepared.write_signed(&mut out, contents, &mut |bytes| { /* hash */ })?;
/// prepared.patch_hex(&mut out, contents, b"DER bytes of the CMS")?;
/// # Ok(()) }
/// ```
pub struct IncrementalUpdate<'d, S: Source> {
    doc: &'d Document<S>,
    next_num: u32,
    /// Object number → (generation, value; `None` while only reserved).
    objects: BTreeMap<u32, (u16, Option<Object>)>,
    placeholders: Vec<PlaceholderDef>,
    info: Option<ObjRef>,
    second_id: Option<Vec<u8>>,
}

impl<'d, S: Source> IncrementalUpdate<'d, S> {
    /// Starts an update of `doc`. Refuses encrypted files and files whose cross-reference data
    /// had to be rebuilt (an appended section would chain to broken data).
    pub fn new(doc: &'d Document<S>) -> Result<Self> {
        doc.ensure_not_encrypted()?;
        if doc.is_reconstructed() || doc.startxref().is_none() {
            return Err(PdfError::Damaged);
        }
        Ok(IncrementalUpdate {
            doc,
            next_num: doc.size().max(1),
            objects: BTreeMap::new(),
            placeholders: Vec::new(),
            info: None,
            second_id: None,
        })
    }

    /// Allocates a new object number (generation 0) to be given a value with
    /// [`IncrementalUpdate::set`] — for objects that must refer to each other.
    pub fn reserve(&mut self) -> ObjRef {
        let num = self.next_num;
        self.next_num = self.next_num.saturating_add(1);
        self.objects.insert(num, (0, None));
        ObjRef::new(num, 0)
    }

    /// Adds a new object; returns its reference.
    pub fn add(&mut self, obj: impl Into<Object>) -> ObjRef {
        let r = self.reserve();
        self.objects.insert(r.num, (0, Some(obj.into())));
        r
    }

    /// Adds a new stream holding `data` (compressed if asked; `dict` then must not name a
    /// filter already). `/Length` is set by the writer.
    pub fn add_stream(
        &mut self,
        dict: Dict,
        data: &[u8],
        compression: Compression,
    ) -> Result<ObjRef> {
        Ok(self.add(make_stream(dict, data, compression)?))
    }

    /// Gives a value to a reserved object, or replaces an existing object of the document (the
    /// catalog, a page getting an annotation …), keeping its number and generation.
    pub fn set(&mut self, r: ObjRef, obj: impl Into<Object>) -> Result<()> {
        if r.num == 0 {
            return Err(PdfError::InvalidUpdate("object 0 cannot be written".into()));
        }
        let gen = match self.objects.get(&r.num) {
            Some((gen, _)) => *gen,
            None => match self.doc.xref_entry(r.num) {
                Some(XrefEntry::InFile { gen, .. }) => gen,
                Some(XrefEntry::Compressed { .. }) => 0,
                _ => {
                    return Err(PdfError::InvalidUpdate(format!(
                        "object {r} does not exist in the document: add or reserve new objects"
                    )))
                }
            },
        };
        if gen != r.gen {
            return Err(PdfError::InvalidUpdate(format!(
                "object {r} has generation {gen} in the document"
            )));
        }
        self.objects.insert(r.num, (gen, Some(obj.into())));
        Ok(())
    }

    /// Reserves room for the value of `key` in object `r` (new or changed, whose value must be a
    /// dictionary when the update is prepared). The key's value in that dictionary, if any, is
    /// ignored; the placeholder is written in its place (or at the end).
    pub fn placeholder(
        &mut self,
        r: ObjRef,
        key: &str,
        kind: Placeholder,
    ) -> Result<PlaceholderId> {
        if !self.objects.contains_key(&r.num) {
            return Err(PdfError::InvalidUpdate(format!(
                "object {r} is not part of this update: set or reserve it first"
            )));
        }
        if let Placeholder::Hex { capacity } = kind {
            if capacity == 0 || capacity > crate::limits::MAX_TOKEN_BYTES / 2 {
                return Err(PdfError::InvalidUpdate(format!(
                    "a hex placeholder of {capacity} bytes"
                )));
            }
        }
        let key = Name::from(key);
        if self
            .placeholders
            .iter()
            .any(|p| p.num == r.num && p.key == key)
        {
            return Err(PdfError::InvalidUpdate(format!(
                "object {r} already has a placeholder for {key}"
            )));
        }
        self.placeholders.push(PlaceholderDef {
            num: r.num,
            key,
            kind,
        });
        Ok(PlaceholderId(self.placeholders.len() - 1))
    }

    /// Points the trailer's `/Info` at another (new) information dictionary.
    pub fn set_info(&mut self, info: ObjRef) {
        self.info = Some(info);
    }

    /// Sets the second element of the trailer's `/ID` (the first stays: it identifies the
    /// document across revisions). Files without `/ID` get `[id id]`.
    pub fn set_second_id(&mut self, id: Vec<u8>) {
        self.second_id = Some(id);
    }

    /// The trailer of the new section: every key of the previous trailer except `/Prev` and
    /// `/XRefStm` (ISO 32000-2 §7.5.6), with `/Size`, `/Prev`, `/Info`, `/ID` updated.
    fn trailer(&self, size: u32) -> Result<Dict> {
        let mut t = self.doc.trailer().clone();
        t.remove("Prev");
        t.remove("XRefStm");
        self.doc.root_ref()?;
        t.insert("Size", Object::from(size));
        if let Some(info) = self.info {
            t.insert("Info", info);
        }
        // An indirect /ID (seen in broken files) is written direct.
        let id = self.doc.id();
        match (&self.second_id, id) {
            (Some(second), Some((first, _))) => {
                t.insert("ID", id_array(first, second.clone()));
            }
            (Some(second), None) => {
                t.insert("ID", id_array(second.clone(), second.clone()));
            }
            (None, Some((first, second))) => {
                t.insert("ID", id_array(first, second));
            }
            (None, None) => {
                t.remove("ID");
            }
        }
        if let Some(prev) = self.doc.startxref() {
            t.insert("Prev", Object::Integer(prev as i64));
        }
        Ok(t)
    }

    /// Lays out everything to append; after this every offset is final.
    pub fn prepare(self) -> Result<PreparedUpdate<'d, S>> {
        let base = self.doc.len();
        let mut tail = Vec::new();
        // The original's last line must end before ours begins.
        let mut last = [0u8; 1];
        if base > 0 {
            self.doc.source().read_exact_at(base - 1, &mut last)?;
        }
        if base > 0 && last[0] != b'\n' && last[0] != b'\r' {
            tail.push(b'\n');
        }
        let mut spans: Vec<Option<PlaceholderSpan>> = vec![None; self.placeholders.len()];
        let mut offsets: BTreeMap<u32, (u64, u16)> = BTreeMap::new();
        for (&num, (gen, value)) in &self.objects {
            let Some(value) = value else {
                return Err(PdfError::InvalidUpdate(format!(
                    "object {num} {gen} was reserved but never set"
                )));
            };
            offsets.insert(num, (base + tail.len() as u64, *gen));
            let _ = writeln!(tail, "{num} {gen} obj");
            self.write_value(&mut tail, base, num, value, &mut spans)?;
            tail.extend_from_slice(b"\nendobj\n");
        }
        let mut placeholder_spans = Vec::with_capacity(spans.len());
        for (i, span) in spans.into_iter().enumerate() {
            let Some(span) = span else {
                let p = &self.placeholders[i];
                return Err(PdfError::InvalidUpdate(format!(
                    "object {} of the placeholder for {} is not a dictionary",
                    p.num, p.key
                )));
            };
            placeholder_spans.push(span);
        }

        let xref_offset = base + tail.len() as u64;
        match self.doc.last_xref_kind() {
            Some(XrefKind::Stream) => {
                let xref_num = self.next_num;
                offsets.insert(xref_num, (xref_offset, 0));
                let size = xref_num.saturating_add(1).max(self.doc.size());
                let trailer = self.trailer(size)?;
                write_xref_stream(&mut tail, xref_num, &offsets, trailer)?;
            }
            _ => {
                let size = self.next_num.max(self.doc.size());
                let trailer = self.trailer(size)?;
                write_xref_table(&mut tail, &offsets, &trailer)?;
            }
        }
        let _ = writeln!(tail, "startxref\n{xref_offset}\n%%EOF");
        Ok(PreparedUpdate {
            doc: self.doc,
            tail,
            base,
            spans: placeholder_spans,
            filled: vec![false; self.placeholders.len()],
            startxref: xref_offset,
            objects: offsets,
        })
    }

    fn write_value(
        &self,
        out: &mut Vec<u8>,
        base: u64,
        num: u32,
        value: &Object,
        spans: &mut [Option<PlaceholderSpan>],
    ) -> Result<()> {
        let mine: Vec<(usize, &PlaceholderDef)> = self
            .placeholders
            .iter()
            .enumerate()
            .filter(|(_, p)| p.num == num)
            .collect();
        match value {
            Object::Dict(dict) if !mine.is_empty() => {
                // Keys without a value in the dictionary get one at the end.
                let mut dict = dict.clone();
                for (_, p) in &mine {
                    if !dict.contains_key(p.key.as_bytes()) {
                        dict.insert(p.key.clone(), Object::Null);
                    }
                }
                write_dict(out, &dict, &mut |out, key| {
                    let Some((i, p)) = mine.iter().find(|(_, p)| &p.key == key) else {
                        return Ok(false);
                    };
                    let start = base + out.len() as u64;
                    out.extend_from_slice(&p.kind.initial_bytes());
                    spans[*i] = Some(PlaceholderSpan {
                        start,
                        end: base + out.len() as u64,
                        kind: p.kind,
                    });
                    Ok(true)
                })
            }
            Object::Stream(stream) => {
                let length = match &stream.data {
                    StreamData::InMemory(v) => v.len() as u64,
                    StreamData::InFile { length, .. } | StreamData::Encrypted { length, .. } => {
                        *length
                    }
                };
                write_stream_head(out, &stream.dict, length)?;
                self.doc.copy_stream_data(stream, &mut |chunk| {
                    out.extend_from_slice(chunk);
                    Ok(())
                })?;
                out.extend_from_slice(b"\nendstream");
                Ok(())
            }
            other => write_object(out, other),
        }
    }
}

/// A stream holding `data`, Flate-compressed if asked (`dict` then must not name a filter
/// already: compressing twice would need a filter chain nobody asked for).
pub(crate) fn make_stream(mut dict: Dict, data: &[u8], compression: Compression) -> Result<Stream> {
    let data = match compression {
        Compression::None => data.to_vec(),
        Compression::Flate => {
            if dict.contains_key("Filter") {
                return Err(PdfError::InvalidUpdate(
                    "cannot Flate-compress a stream whose dictionary already has a /Filter".into(),
                ));
            }
            dict.insert("Filter", Object::name("FlateDecode"));
            flate_encode(data)
        }
    };
    Ok(Stream::new(dict, data))
}

pub(crate) fn id_array(first: Vec<u8>, second: Vec<u8>) -> Object {
    Object::Array(vec![
        Object::String(PdfString::hex(first)),
        Object::String(PdfString::hex(second)),
    ])
}

/// Runs of consecutive object numbers: the subsections of a table, the `/Index` of a stream.
fn runs(offsets: &BTreeMap<u32, (u64, u16)>) -> Vec<(u32, Vec<(u64, u16)>)> {
    let mut runs: Vec<(u32, Vec<(u64, u16)>)> = Vec::new();
    for (&num, &entry) in offsets {
        match runs.last_mut() {
            Some((start, entries)) if *start as u64 + entries.len() as u64 == num as u64 => {
                entries.push(entry)
            }
            _ => runs.push((num, vec![entry])),
        }
    }
    runs
}

fn write_xref_table(
    out: &mut Vec<u8>,
    offsets: &BTreeMap<u32, (u64, u16)>,
    trailer: &Dict,
) -> Result<()> {
    out.extend_from_slice(b"xref\n");
    for (start, entries) in runs(offsets) {
        let _ = writeln!(out, "{start} {}", entries.len());
        for (offset, gen) in entries {
            // Exactly 20 bytes per entry, ending in CR LF (§7.5.4).
            let _ = write!(out, "{offset:010} {gen:05} n\r\n");
        }
    }
    out.extend_from_slice(b"trailer\n");
    write_object(out, &Object::Dict(trailer.clone()))?;
    out.push(b'\n');
    Ok(())
}

fn write_xref_stream(
    out: &mut Vec<u8>,
    xref_num: u32,
    offsets: &BTreeMap<u32, (u64, u16)>,
    trailer: Dict,
) -> Result<()> {
    let max = offsets.values().map(|(o, _)| *o).max().unwrap_or(0);
    let width = (8 - (max.leading_zeros() / 8) as usize).max(1);
    let mut index = Vec::new();
    let mut data = Vec::new();
    for (start, entries) in runs(offsets) {
        index.push(Object::from(start));
        index.push(Object::Integer(entries.len() as i64));
        for (offset, gen) in entries {
            data.push(1);
            data.extend_from_slice(&offset.to_be_bytes()[8 - width..]);
            data.extend_from_slice(&gen.to_be_bytes());
        }
    }
    let mut dict = Dict::new();
    dict.insert("Type", Object::name("XRef"));
    dict.insert(
        "W",
        Object::Array(vec![1.into(), Object::Integer(width as i64), 2.into()]),
    );
    dict.insert("Index", Object::Array(index));
    for (k, v) in trailer.iter() {
        dict.insert(k.clone(), v.clone());
    }
    dict.insert("Length", Object::Integer(data.len() as i64));
    let _ = writeln!(out, "{xref_num} 0 obj");
    write_object(out, &Object::Dict(dict))?;
    out.extend_from_slice(b"\nstream\n");
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    Ok(())
}

/// An update laid out and ready to write: the original's length, the bytes to append, and where
/// every placeholder and object is.
pub struct PreparedUpdate<'d, S: Source> {
    doc: &'d Document<S>,
    tail: Vec<u8>,
    base: u64,
    spans: Vec<PlaceholderSpan>,
    filled: Vec<bool>,
    startxref: u64,
    objects: BTreeMap<u32, (u64, u16)>,
}

impl<S: Source> PreparedUpdate<'_, S> {
    /// The output's total length.
    pub fn len(&self) -> u64 {
        self.base + self.tail.len() as u64
    }

    /// Never empty (the original is not empty); here for API completeness.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The length of the original, which the output starts with unchanged.
    pub fn original_len(&self) -> u64 {
        self.base
    }

    /// The appended bytes (placeholders as currently filled).
    pub fn appended(&self) -> &[u8] {
        &self.tail
    }

    /// The appended bytes, taken: what to add after the original when it is held in memory
    /// (`original.extend(update.into_appended())` is the whole output).
    pub fn into_appended(self) -> Vec<u8> {
        self.tail
    }

    /// The offset of the new cross-reference section (what the new `startxref` says).
    pub fn startxref(&self) -> u64 {
        self.startxref
    }

    /// Where object `num` of the update was written.
    pub fn object_offset(&self, num: u32) -> Option<u64> {
        self.objects.get(&num).map(|(o, _)| *o)
    }

    /// Where a placeholder is in the output.
    pub fn span(&self, id: PlaceholderId) -> Result<PlaceholderSpan> {
        self.spans
            .get(id.0)
            .copied()
            .ok_or_else(|| PdfError::InvalidUpdate(format!("no placeholder {}", id.0)))
    }

    /// The `/ByteRange` that signs everything except the hex placeholder `contents`:
    /// `[0, start, end, len − end]`.
    pub fn byte_range(&self, contents: PlaceholderId) -> Result<[u64; 4]> {
        let span = self.span(contents)?;
        if !matches!(span.kind, Placeholder::Hex { .. }) {
            return Err(PdfError::InvalidUpdate(
                "the excluded range must be a hex placeholder".into(),
            ));
        }
        Ok([0, span.start, span.end, self.len() - span.end])
    }

    fn put(&mut self, id: PlaceholderId, bytes: &[u8]) -> Result<()> {
        let span = self.span(id)?;
        let at = (span.start - self.base) as usize;
        let Some(slot) = self.tail.get_mut(at..at + bytes.len()) else {
            return Err(PdfError::InvalidUpdate(
                "placeholder outside the update".into(),
            ));
        };
        slot.copy_from_slice(bytes);
        self.filled[id.0] = true;
        Ok(())
    }

    /// Writes the byte range excluding `contents` into the byte range placeholder `byte_range`
    /// (in the appended bytes, before writing); returns it.
    pub fn fill_byte_range(
        &mut self,
        byte_range: PlaceholderId,
        contents: PlaceholderId,
    ) -> Result<[u64; 4]> {
        let range = self.byte_range(contents)?;
        let bytes = self.span(byte_range)?.render_byte_range(range)?;
        self.put(byte_range, &bytes)?;
        Ok(range)
    }

    /// Writes `value` into a hex placeholder (in the appended bytes, before writing).
    pub fn fill_hex(&mut self, id: PlaceholderId, value: &[u8]) -> Result<()> {
        let bytes = self.span(id)?.render_hex(value)?;
        self.put(id, &bytes)
    }

    /// Writes the whole output: the original, copied in chunks, then the appended bytes.
    /// Returns the number of bytes written.
    pub fn write_to(&self, out: &mut impl Write) -> Result<u64> {
        copy_range(self.doc.source(), 0, self.base, &mut |chunk| {
            out.write_all(chunk).map_err(PdfError::from)
        })?;
        out.write_all(&self.tail)?;
        Ok(self.len())
    }

    /// Writes the whole output and, in the same pass, feeds `signed` every byte except those of
    /// the hex placeholder `contents` — exactly what the `/ByteRange` covers. Fails if a byte
    /// range placeholder has not been filled yet (its bytes are signed). Pass
    /// [`std::io::sink()`] as `out` to only hash.
    pub fn write_signed(
        &self,
        out: &mut impl Write,
        contents: PlaceholderId,
        signed: &mut dyn FnMut(&[u8]),
    ) -> Result<u64> {
        let span = self.span(contents)?;
        self.byte_range(contents)?;
        for (i, s) in self.spans.iter().enumerate() {
            if s.kind == Placeholder::ByteRange && !self.filled[i] {
                return Err(PdfError::InvalidUpdate(
                    "fill the /ByteRange placeholder before hashing: its bytes are signed".into(),
                ));
            }
        }
        copy_range(self.doc.source(), 0, self.base, &mut |chunk| {
            signed(chunk);
            out.write_all(chunk).map_err(PdfError::from)
        })?;
        let (a, b) = (
            (span.start - self.base) as usize,
            (span.end - self.base) as usize,
        );
        let (before, rest) = self.tail.split_at(a);
        let (hole, after) = rest.split_at(b - a);
        signed(before);
        out.write_all(before)?;
        out.write_all(hole)?;
        signed(after);
        out.write_all(after)?;
        Ok(self.len())
    }

    /// Writes `value` into the hex placeholder `id` of an output already written by
    /// [`PreparedUpdate::write_to`] or [`PreparedUpdate::write_signed`] (seeking to its offset).
    pub fn patch_hex<W: Write + Seek>(
        &self,
        out: &mut W,
        id: PlaceholderId,
        value: &[u8],
    ) -> Result<()> {
        let span = self.span(id)?;
        let bytes = span.render_hex(value)?;
        out.seek(SeekFrom::Start(span.start))?;
        out.write_all(&bytes)?;
        out.flush()?;
        Ok(())
    }
}
