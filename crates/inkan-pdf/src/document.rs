//! A PDF opened for reading: its cross-reference data and trailer, and objects parsed on demand
//! through a small cache.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use crate::crypt::Decryptor;
use crate::error::{PdfError, Result};
use crate::filters;
use crate::limits::{CACHE_OBJECTS, CACHE_OBJECT_STREAMS, MAX_OBJSTM_BYTES, MAX_RESOLVE_DEPTH};
use crate::object::{Dict, ObjRef, Object, Stream, StreamData};
use crate::objstm::ObjectStream;
use crate::parser::parse_indirect;
use crate::source::{copy_range, Cursor, Prefix, Source};
use crate::xref::{self, XrefEntry, XrefKind, XrefSection};

/// How to open a document.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// When the cross-reference data is broken, rebuild it by scanning the file for objects (as
    /// qpdf and Acrobat do). The document then says [`Document::is_reconstructed`], and the
    /// incremental writer refuses it. On by default: users send such files.
    pub reconstruct: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { reconstruct: true }
    }
}

/// One revision of the file: the original, then one per incremental update, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The byte just after the revision's `%%EOF` (and its end of line): the revision is bytes
    /// `0..end` of the file, and a signature covering exactly that much signed this revision.
    pub end: u64,
    /// The offsets of its cross-reference sections (two for a linearized original: the
    /// first-page section and the main one).
    pub xref_offsets: Vec<u64>,
}

/// The most values (all nesting counted) the object cache holds: a few MB at most.
const CACHE_WEIGHT: usize = 1 << 16;

/// The number of values in `obj`, counting stops past `cap`.
fn weight(obj: &Object, cap: usize) -> usize {
    let mut total = 1;
    let add = |o: &Object, total: &mut usize| {
        if *total <= cap {
            *total += weight(o, cap);
        }
    };
    match obj {
        Object::Array(items) => items.iter().for_each(|o| add(o, &mut total)),
        Object::Dict(d) => d.iter().for_each(|(_, o)| add(o, &mut total)),
        Object::Stream(s) => s.dict.iter().for_each(|(_, o)| add(o, &mut total)),
        Object::String(s) => total += s.bytes.len() / 32,
        _ => {}
    }
    total
}

/// What an `/Encrypt` dictionary means for reading the document.
#[derive(Debug, Clone)]
enum Protection {
    /// Not encrypted.
    Clear,
    /// Encrypted, opened with the empty user password: strings and streams are decrypted.
    Readable(Arc<Decryptor>),
    /// Encrypted with a user password, or in a way that is not read: why.
    Unreadable(Arc<PdfError>),
}

#[derive(Default)]
struct Cache {
    objects: HashMap<ObjRef, Object>,
    /// The summed [`weight`] of `objects`.
    weight: usize,
    streams: VecDeque<Arc<ObjectStream>>,
}

/// A PDF opened for reading. Only the trailer and cross-reference data are read at opening;
/// every object is parsed when asked for, and stream data is read only through
/// [`Document::stream_data`] and friends.
///
/// The document is `Send` and `Sync` when its source is; its cache is behind a mutex.
pub struct Document<S: Source> {
    source: S,
    header_version: (u8, u8),
    xref: HashMap<u32, XrefEntry>,
    trailer: Dict,
    sections: Vec<XrefSection>,
    revisions: Vec<Revision>,
    startxref: Option<u64>,
    reconstructed: bool,
    protection: Protection,
    cache: Mutex<Cache>,
}

impl<S: Source> std::fmt::Debug for Document<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("len", &self.source.len())
            .field("header_version", &self.header_version)
            .field("objects", &self.xref.len())
            .field("revisions", &self.revisions.len())
            .field("reconstructed", &self.reconstructed)
            .finish_non_exhaustive()
    }
}

/// Finds `%PDF-x.y` in the first KB (some files carry junk before it).
fn read_header(src: &dyn Source) -> Result<(u8, u8)> {
    let n = src.len().min(1024) as usize;
    let mut head = vec![0u8; n];
    src.read_exact_at(0, &mut head)?;
    let at = head
        .windows(5)
        .position(|w| w == b"%PDF-")
        .ok_or(PdfError::NotPdf)?;
    let digit = |i: usize| {
        head.get(at + i)
            .filter(|b| b.is_ascii_digit())
            .map(|b| b - b'0')
    };
    Ok(match (digit(5), head.get(at + 6), digit(7)) {
        (Some(major), Some(b'.'), Some(minor)) => (major, minor),
        // A header without a readable version: what most readers assume.
        _ => (1, 4),
    })
}

impl Document<crate::source::FileSource> {
    /// Opens the PDF file at `path`.
    pub fn open_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        Document::open(crate::source::FileSource::open(path)?)
    }
}

impl<S: Source> Document<S> {
    /// Opens a PDF: reads its header, `startxref`, every cross-reference section of the `/Prev`
    /// chain and the trailer, and checks that the catalog can be read.
    pub fn open(source: S) -> Result<Self> {
        Self::open_with(source, OpenOptions::default())
    }

    /// [`Document::open`] with options.
    pub fn open_with(source: S, options: OpenOptions) -> Result<Self> {
        let header_version = read_header(&source)?;
        let loaded =
            xref::find_startxref(&source).and_then(|sx| xref::load(&source, sx).map(|t| (sx, t)));
        let (startxref, table) = match loaded {
            Ok(found) => found,
            Err(PdfError::Io(e)) => return Err(PdfError::Io(e)),
            Err(e) if options.reconstruct => {
                return crate::reconstruct::rebuild(source, header_version).map_err(|_| e)
            }
            Err(e) => return Err(e),
        };
        let revisions = group_revisions(&table.sections);
        let doc = Document {
            source,
            header_version,
            xref: table.entries,
            trailer: table.trailer,
            sections: table.sections,
            revisions,
            startxref: Some(startxref),
            reconstructed: false,
            protection: Protection::Clear,
            cache: Mutex::new(Cache::default()),
        }
        .with_protection();
        // Offsets that point at the wrong bytes are only found by reading through them: the
        // catalog is the first object every use needs.
        match doc.catalog() {
            Ok(_) => Ok(doc),
            Err(e @ PdfError::Io(_)) => Err(e),
            // An encrypted file's catalog may hold undecryptable strings but is still a
            // dictionary; whatever failed, callers will refuse it for being encrypted.
            Err(_) if doc.is_encrypted() => Ok(doc),
            Err(e) if options.reconstruct => {
                let Document { source, .. } = doc;
                crate::reconstruct::rebuild(source, header_version).map_err(|_| e)
            }
            Err(e) => Err(e),
        }
    }

    /// Assembles a document whose cross-reference data was rebuilt by scanning.
    pub(crate) fn from_scan(
        source: S,
        header_version: (u8, u8),
        xref: HashMap<u32, XrefEntry>,
        trailer: Dict,
    ) -> Self {
        Document {
            source,
            header_version,
            xref,
            trailer,
            sections: Vec::new(),
            revisions: Vec::new(),
            startxref: None,
            reconstructed: true,
            protection: Protection::Clear,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Reads the `/Encrypt` dictionary, if any, and tries the empty user password.
    pub(crate) fn with_protection(mut self) -> Self {
        let Some(encrypt) = self.trailer.get("Encrypt").cloned() else {
            return self;
        };
        let id0 = self.id().map(|(first, _)| first).unwrap_or_default();
        let opened = self.resolve(&encrypt).and_then(|dict| {
            let dict = dict.expect_dict("the /Encrypt entry")?.clone();
            Decryptor::open(&dict, encrypt.as_ref(), &id0)
        });
        self.protection = match opened {
            Ok(decryptor) => Protection::Readable(Arc::new(decryptor)),
            Err(e) => Protection::Unreadable(Arc::new(e)),
        };
        self.lock().objects.clear();
        self
    }

    pub(crate) fn xref_mut(&mut self) -> &mut HashMap<u32, XrefEntry> {
        &mut self.xref
    }

    pub(crate) fn set_trailer(&mut self, trailer: Dict) {
        self.trailer = trailer;
    }

    /// The source the document reads from (the incremental writer copies it).
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The file's length in bytes.
    pub fn len(&self) -> u64 {
        self.source.len()
    }

    /// True for an empty source (never, for an opened document).
    pub fn is_empty(&self) -> bool {
        self.source.is_empty()
    }

    /// The version in the `%PDF-x.y` header.
    pub fn header_version(&self) -> (u8, u8) {
        self.header_version
    }

    /// The PDF version: the header's, or the catalog's `/Version` when that is later (an
    /// incremental update can raise the version only that way).
    pub fn version(&self) -> Result<(u8, u8)> {
        let catalog = self.catalog()?;
        let from_catalog = catalog
            .get_name("Version")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.split_once('.'))
            .and_then(|(a, b)| Some((a.parse::<u8>().ok()?, b.parse::<u8>().ok()?)));
        Ok(from_catalog.map_or(self.header_version, |v| v.max(self.header_version)))
    }

    /// The newest trailer dictionary (for a cross-reference stream, its dictionary without the
    /// stream's own keys).
    pub fn trailer(&self) -> &Dict {
        &self.trailer
    }

    /// The offset the file's last `startxref` names (`None` when the cross-reference data was
    /// rebuilt by scanning).
    pub fn startxref(&self) -> Option<u64> {
        self.startxref
    }

    /// Whether the last section (the one `startxref` names) is a table or a stream: the
    /// incremental writer writes the same kind.
    pub fn last_xref_kind(&self) -> Option<XrefKind> {
        self.sections.first().map(|s| s.kind)
    }

    /// The cross-reference sections of the `/Prev` chain, newest first.
    pub fn xref_sections(&self) -> &[XrefSection] {
        &self.sections
    }

    /// The entries one cross-reference section lists (hybrid: with its `/XRefStm` stream's), to
    /// tell what a revision changed.
    pub fn section_entries(&self, section: &XrefSection) -> Result<Vec<(u32, XrefEntry)>> {
        let mut entries = xref::read_section(&self.source, section.offset)?.entries;
        if let Some(stm) = section.xref_stm {
            entries.extend(xref::read_section(&self.source, stm)?.entries);
        }
        Ok(entries)
    }

    /// The revisions, oldest first (empty when the cross-reference data was rebuilt).
    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }

    /// The document as it was at the end of revision `index` (0 = the original): what a
    /// signature covering that revision signed. Reads the same source; copies nothing.
    pub fn revision(&self, index: usize) -> Result<Document<Prefix<&S>>> {
        let count = self.revisions.len();
        let rev = self
            .revisions
            .get(index)
            .ok_or(PdfError::NoSuchRevision { index, count })?;
        Document::open_with(
            Prefix::new(&self.source, rev.end),
            OpenOptions { reconstruct: false },
        )
    }

    /// True when the cross-reference data was broken and rebuilt by scanning the file.
    pub fn is_reconstructed(&self) -> bool {
        self.reconstructed
    }

    /// True when the file has an `/Encrypt` dictionary.
    pub fn is_encrypted(&self) -> bool {
        self.trailer.contains_key("Encrypt")
    }

    /// An error for encrypted files that cannot be read (a password is needed to open them, or
    /// the encryption is of a kind not read); `Ok` for clear files and files that open with the
    /// empty user password, whose strings and streams are decrypted as they are read.
    pub fn ensure_readable(&self) -> Result<()> {
        match &self.protection {
            Protection::Clear | Protection::Readable(_) => Ok(()),
            Protection::Unreadable(e) => Err(match e.as_ref() {
                PdfError::PasswordRequired => PdfError::PasswordRequired,
                PdfError::EncryptedUnreadable(why) => PdfError::EncryptedUnreadable(why.clone()),
                other => PdfError::EncryptedUnreadable(format!("a damaged /Encrypt ({other})")),
            }),
        }
    }

    /// An error for encrypted files, so a writer can refuse them in one line.
    pub fn ensure_not_encrypted(&self) -> Result<()> {
        if self.is_encrypted() {
            return Err(PdfError::Encrypted);
        }
        Ok(())
    }

    /// The first number a new object can take: one more than the highest object number in use,
    /// declared by any trailer's `/Size`, or named by a reference in any trailer (a dangling
    /// `/Info 50 0 R` must not come to mean the next object written).
    pub fn size(&self) -> u32 {
        let declared = self
            .trailer
            .get_int("Size")
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(0);
        let used = self.xref.keys().max().map_or(0, |m| m.saturating_add(1));
        let mentioned = self.sections.iter().map(|s| s.mentioned).max().unwrap_or(0);
        declared.max(used).max(mentioned)
    }

    /// The cross-reference entry of object `num`.
    pub fn xref_entry(&self, num: u32) -> Option<XrefEntry> {
        self.xref.get(&num).copied()
    }

    /// Every object number with an entry that is not free, in increasing order.
    pub fn object_numbers(&self) -> Vec<u32> {
        let mut nums: Vec<u32> = self
            .xref
            .iter()
            .filter(|(_, e)| **e != XrefEntry::Free)
            .map(|(n, _)| *n)
            .collect();
        nums.sort_unstable();
        nums
    }

    /// The catalog's reference (trailer `/Root`).
    pub fn root_ref(&self) -> Result<ObjRef> {
        self.trailer.get_ref("Root").ok_or(PdfError::NoRoot)
    }

    /// The document catalog.
    pub fn catalog(&self) -> Result<Dict> {
        let root = self.root_ref()?;
        self.get_dict_named(root, "the catalog")
    }

    /// The document information dictionary's reference, if any.
    pub fn info_ref(&self) -> Option<ObjRef> {
        self.trailer.get_ref("Info")
    }

    /// The document information dictionary (`/Title`, `/Author` …), if any.
    pub fn info(&self) -> Result<Option<Dict>> {
        match self.trailer.get("Info") {
            None => Ok(None),
            Some(v) => match self.resolve(v)? {
                Object::Null => Ok(None),
                other => Ok(Some(other.expect_dict("the /Info entry")?.clone())),
            },
        }
    }

    /// The file identifier pair (`/ID [<first> <second>]`), if present and well formed.
    pub fn id(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        let id = self.trailer.get("ID")?.as_array()?;
        match id {
            [a, b] => Some((a.as_string()?.bytes.clone(), b.as_string()?.bytes.clone())),
            _ => None,
        }
    }

    /// The interactive form dictionary (`/AcroForm` of the catalog), if any.
    pub fn acroform(&self) -> Result<Option<Dict>> {
        match self.catalog()?.get("AcroForm") {
            None => Ok(None),
            Some(v) => match self.resolve(v)? {
                Object::Null => Ok(None),
                other => Ok(Some(other.expect_dict("the /AcroForm entry")?.clone())),
            },
        }
    }

    /// Object `r`. A reference to a missing or free object, or to another generation than the
    /// current one, is `null` (ISO 32000-2 §7.3.10).
    pub fn get(&self, r: ObjRef) -> Result<Object> {
        self.get_at(r, 0)
    }

    /// Object `r`, which must be a dictionary (or a stream, whose dictionary is returned).
    pub fn get_dict(&self, r: ObjRef) -> Result<Dict> {
        self.get_dict_named(r, format!("object {r}"))
    }

    fn get_dict_named(&self, r: ObjRef, what: impl std::fmt::Display) -> Result<Dict> {
        match self.get(r)? {
            Object::Null if !self.exists(r) => Err(PdfError::MissingObject(r)),
            Object::Dict(d) => Ok(d),
            Object::Stream(s) => Ok(s.dict),
            other => Err(PdfError::WrongType {
                what: what.to_string(),
                expected: "a dictionary",
                found: other.type_name(),
            }),
        }
    }

    fn exists(&self, r: ObjRef) -> bool {
        matches!(self.xref.get(&r.num), Some(XrefEntry::InFile { gen, .. }) if *gen == r.gen)
            || matches!(self.xref.get(&r.num), Some(XrefEntry::Compressed { .. }) if r.gen == 0)
    }

    /// `obj`, with references followed until a direct object is reached.
    pub fn resolve(&self, obj: &Object) -> Result<Object> {
        let mut current = obj.clone();
        for _ in 0..MAX_RESOLVE_DEPTH {
            match current {
                Object::Reference(r) => current = self.get(r)?,
                other => return Ok(other),
            }
        }
        Err(PdfError::Limit {
            what: "a chain of references to references",
            limit: MAX_RESOLVE_DEPTH as u64,
        })
    }

    fn get_at(&self, r: ObjRef, depth: usize) -> Result<Object> {
        if depth > MAX_RESOLVE_DEPTH {
            return Err(PdfError::Limit {
                what: "nested lookups (a /Length or object stream that refers back to itself?)",
                limit: MAX_RESOLVE_DEPTH as u64,
            });
        }
        if let Some(hit) = self.lock().objects.get(&r) {
            return Ok(hit.clone());
        }
        let obj = match self.xref.get(&r.num).copied() {
            None | Some(XrefEntry::Free) => return Ok(Object::Null),
            Some(XrefEntry::InFile { offset, gen }) => {
                if gen != r.gen {
                    return Ok(Object::Null);
                }
                let mut obj = self.parse_at(r, offset, depth)?;
                if let Protection::Readable(decryptor) = &self.protection {
                    decryptor.decrypt_object(r, &mut obj)?;
                }
                obj
            }
            Some(XrefEntry::Compressed { stream, index }) => {
                if r.gen != 0 {
                    return Ok(Object::Null);
                }
                self.object_stream(stream, depth + 1)?
                    .object(index, r.num)?
            }
        };
        let weight = weight(&obj, CACHE_WEIGHT);
        if weight < CACHE_WEIGHT / 8 {
            let mut cache = self.lock();
            if cache.objects.len() >= CACHE_OBJECTS || cache.weight + weight > CACHE_WEIGHT {
                // Starting afresh keeps the cache's memory bounded without bookkeeping; page-order
                // access patterns refill it quickly.
                cache.objects.clear();
                cache.weight = 0;
            }
            if cache.objects.insert(r, obj.clone()).is_none() {
                cache.weight += weight;
            }
        }
        Ok(obj)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic elsewhere cannot leave the cache inconsistent: entries are inserted whole.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn parse_at(&self, r: ObjRef, offset: u64, depth: usize) -> Result<Object> {
        let len = self.source.len();
        if offset >= len {
            return Err(PdfError::ObjectMismatch {
                expected: r,
                offset,
                found: format!("the file ends (it has {len} bytes)"),
            });
        }
        let mut cur = Cursor::new(&self.source, offset);
        let mut resolve_length = |len_ref: ObjRef| -> Result<Option<i64>> {
            Ok(self.get_at(len_ref, depth + 1)?.as_int())
        };
        let (found, obj) = parse_indirect(&mut cur, &mut resolve_length).map_err(|e| match e {
            PdfError::Syntax { reason, .. } if reason.starts_with("expected an object header") => {
                PdfError::ObjectMismatch {
                    expected: r,
                    offset,
                    found: "no object header is".into(),
                }
            }
            other => other,
        })?;
        if found.num != r.num {
            return Err(PdfError::ObjectMismatch {
                expected: r,
                offset,
                found: format!("object {found} is"),
            });
        }
        Ok(obj)
    }

    fn object_stream(&self, num: u32, depth: usize) -> Result<Arc<ObjectStream>> {
        if let Some(hit) = self.lock().streams.iter().find(|s| s.num == num) {
            return Ok(hit.clone());
        }
        let bad = |reason: &str| PdfError::ObjStm {
            num,
            reason: reason.into(),
        };
        let gen = match self.xref.get(&num) {
            Some(XrefEntry::InFile { gen, .. }) => *gen,
            Some(XrefEntry::Compressed { .. }) => {
                return Err(bad("it is itself inside an object stream"))
            }
            _ => return Err(bad("it does not exist")),
        };
        let obj = self.get_at(ObjRef::new(num, gen), depth + 1)?;
        let Object::Stream(stream) = obj else {
            return Err(bad(&format!("it is {}, not a stream", obj.type_name())));
        };
        let data = self.decode_at(&stream, MAX_OBJSTM_BYTES, depth + 1)?;
        let parsed = Arc::new(ObjectStream::parse(num, &stream.dict, data)?);
        let mut cache = self.lock();
        if cache.streams.len() >= CACHE_OBJECT_STREAMS {
            cache.streams.pop_front();
        }
        // A stream far above the usual size is used and dropped rather than kept.
        if parsed.size() <= MAX_OBJSTM_BYTES / 4 {
            cache.streams.push_back(parsed.clone());
        }
        Ok(parsed)
    }

    /// The numbers of the objects object stream `num` holds, with their index in it.
    pub(crate) fn object_stream_members(&self, num: u32) -> Result<Vec<(u32, u32)>> {
        Ok(self.object_stream(num, 0)?.numbers().collect())
    }

    /// A stream's encoded data, as stored in the file (at most `limit` bytes, else an error).
    pub fn stream_data(&self, stream: &Stream, limit: usize) -> Result<Vec<u8>> {
        match &stream.data {
            StreamData::InMemory(v) => {
                if v.len() > limit {
                    return Err(stream_too_big(limit));
                }
                Ok(v.clone())
            }
            StreamData::InFile { offset, length } => {
                if *length > limit as u64 {
                    return Err(stream_too_big(limit));
                }
                // Bounded by `limit` just above.
                let mut buf = vec![0u8; *length as usize];
                self.source.read_exact_at(*offset, &mut buf)?;
                Ok(buf)
            }
            StreamData::Encrypted {
                offset,
                length,
                object,
            } => {
                // AES adds an IV and up to a block of padding.
                if *length > (limit as u64).saturating_add(32) {
                    return Err(stream_too_big(limit));
                }
                let Protection::Readable(decryptor) = &self.protection else {
                    return Err(PdfError::Encrypted);
                };
                let mut buf = vec![0u8; *length as usize];
                self.source.read_exact_at(*offset, &mut buf)?;
                let clear = decryptor.decrypt_stream(*object, &buf)?;
                if clear.len() > limit {
                    return Err(stream_too_big(limit));
                }
                Ok(clear)
            }
        }
    }

    /// Passes a stream's encoded data to `sink` in chunks, never holding it whole.
    pub fn copy_stream_data(
        &self,
        stream: &Stream,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        match &stream.data {
            StreamData::InMemory(v) => sink(v),
            StreamData::InFile { offset, length } => {
                copy_range(&self.source, *offset, offset.saturating_add(*length), sink)
            }
            StreamData::Encrypted { .. } => {
                sink(&self.stream_data(stream, crate::limits::DEFAULT_DECODE_LIMIT)?)
            }
        }
    }

    /// A stream's data decoded through its filters (at most `limit` bytes, else an error; see
    /// [`crate::limits::DEFAULT_DECODE_LIMIT`]).
    pub fn decode_stream(&self, stream: &Stream, limit: usize) -> Result<Vec<u8>> {
        self.decode_at(stream, limit, 0)
    }

    fn decode_at(&self, stream: &Stream, limit: usize, depth: usize) -> Result<Vec<u8>> {
        let chain = filters::chain(&stream.dict, &mut |o: &Object| match o {
            Object::Reference(r) => self.get_at(*r, depth + 1),
            other => Ok(other.clone()),
        })?;
        // Encoded data is rarely larger than decoded data; refusing it early avoids reading it.
        let raw = self.stream_data(stream, limit)?;
        filters::decode(&raw, &chain, limit)
    }
}

fn stream_too_big(limit: usize) -> PdfError {
    PdfError::Limit {
        what: "stream data",
        limit: limit as u64,
    }
}

/// Revisions from the sections: oldest first, a section physically before the end of an older
/// revision (a linearized file's first-page section) belonging to that revision.
fn group_revisions(sections: &[XrefSection]) -> Vec<Revision> {
    let mut revisions: Vec<Revision> = Vec::new();
    for s in sections.iter().rev() {
        match revisions.last_mut() {
            Some(last) if s.end <= last.end => last.xref_offsets.push(s.offset),
            _ => revisions.push(Revision {
                end: s.end,
                xref_offsets: vec![s.offset],
            }),
        }
    }
    revisions
}
