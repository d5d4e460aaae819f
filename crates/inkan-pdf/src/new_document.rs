//! A brand-new PDF written from scratch (not an update of an existing file): objects numbered
//! from 1, a classic cross-reference table and a trailer — the plainest structure every reader
//! and every incremental updater (signing, above all) accepts.

use std::hash::{DefaultHasher, Hasher};
use std::io::Write;

use crate::error::{PdfError, Result};
use crate::object::{Dict, ObjRef, Object, StreamData};
use crate::serialize::{write_object, write_stream_head};
use crate::sink::ObjectSink;
use crate::writer::{id_array, make_stream, Compression};

/// The objects of a new document, kept in memory until [`NewDocument::finish`].
///
/// ```
/// # use inkan_pdf::*;
/// # fn main() -> Result<()> {
/// let mut doc = NewDocument::new();
/// let pages = doc.reserve();
/// let content = doc.add_stream(Dict::new(), b"0 0 m 10 10 l S", Compression::Flate)?;
/// let mut page = Dict::new();
/// page.insert("Type", Object::name("Page"));
/// page.insert("Parent", pages);
/// page.insert("MediaBox", vec![Object::from(0), 0.into(), 595.into(), 842.into()]);
/// page.insert("Contents", content);
/// let page = doc.add(page);
/// let mut tree = Dict::new();
/// tree.insert("Type", Object::name("Pages"));
/// tree.insert("Kids", vec![Object::from(page)]);
/// tree.insert("Count", 1);
/// doc.set(pages, tree)?;
/// let mut catalog = Dict::new();
/// catalog.insert("Type", Object::name("Catalog"));
/// catalog.insert("Pages", pages);
/// let root = doc.add(catalog);
/// let pdf: Vec<u8> = doc.finish(root, None)?;
/// assert!(pdf.starts_with(b"%PDF-1.7"));
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct NewDocument {
    /// Object `i + 1`; `None` while only reserved.
    objects: Vec<Option<Object>>,
}

impl NewDocument {
    /// An empty document.
    pub fn new() -> Self {
        NewDocument::default()
    }

    /// Allocates the next object number (generation 0), to be given a value with
    /// [`NewDocument::set`].
    pub fn reserve(&mut self) -> ObjRef {
        self.objects.push(None);
        // Beyond u32::MAX objects the file could not be written anyway; `finish` refuses it.
        ObjRef::new(u32::try_from(self.objects.len()).unwrap_or(u32::MAX), 0)
    }

    /// Adds an object; returns its reference.
    pub fn add(&mut self, obj: impl Into<Object>) -> ObjRef {
        self.objects.push(Some(obj.into()));
        ObjRef::new(u32::try_from(self.objects.len()).unwrap_or(u32::MAX), 0)
    }

    /// Adds a stream holding `data` (Flate-compressed if asked; `dict` then must not name a
    /// filter already). `/Length` is set when written.
    pub fn add_stream(
        &mut self,
        dict: Dict,
        data: &[u8],
        compression: Compression,
    ) -> Result<ObjRef> {
        Ok(self.add(make_stream(dict, data, compression)?))
    }

    /// Gives a value to a reserved object (or replaces one added earlier).
    pub fn set(&mut self, r: ObjRef, obj: impl Into<Object>) -> Result<()> {
        let slot = usize::try_from(r.num)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .filter(|_| r.gen == 0)
            .and_then(|i| self.objects.get_mut(i))
            .ok_or_else(|| {
                PdfError::InvalidUpdate(format!(
                    "object {r} is not part of this document: add or reserve it first"
                ))
            })?;
        *slot = Some(obj.into());
        Ok(())
    }

    /// Writes the document: the header, every object, a classic cross-reference table and a
    /// trailer with `/Size`, `/Root`, `/Info` (if given) and an `/ID` derived from the content
    /// (the same objects give the same ID, so output is reproducible).
    pub fn finish(self, root: ObjRef, info: Option<ObjRef>) -> Result<Vec<u8>> {
        for r in std::iter::once(root).chain(info) {
            let index = usize::try_from(r.num).ok().and_then(|n| n.checked_sub(1));
            if r.gen != 0 || index.is_none_or(|i| i >= self.objects.len()) {
                return Err(PdfError::InvalidUpdate(format!(
                    "the trailer names object {r}, which this document does not have"
                )));
            }
        }
        let size = u32::try_from(self.objects.len())
            .ok()
            .and_then(|n| n.checked_add(1))
            .ok_or(PdfError::Limit {
                what: "the number of objects in a new document",
                limit: u64::from(u32::MAX - 1),
            })?;
        // The second line's high bytes mark the file as binary for transfer tools (§7.5.2).
        let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(self.objects.len());
        for (i, value) in self.objects.iter().enumerate() {
            let num = i + 1;
            let Some(value) = value else {
                return Err(PdfError::InvalidUpdate(format!(
                    "object {num} 0 was reserved but never set"
                )));
            };
            offsets.push(out.len());
            let _ = writeln!(out, "{num} 0 obj");
            write_indirect_value(&mut out, value)?;
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        let id = content_id(&out);
        let _ = write!(out, "xref\n0 {size}\n0000000000 65535 f\r\n");
        for offset in offsets {
            // Exactly 20 bytes per entry, ending in CR LF (§7.5.4).
            let _ = write!(out, "{offset:010} 00000 n\r\n");
        }
        let mut trailer = Dict::new();
        trailer.insert("Size", Object::from(size));
        trailer.insert("Root", root);
        if let Some(info) = info {
            trailer.insert("Info", info);
        }
        trailer.insert("ID", id_array(id.clone(), id));
        out.extend_from_slice(b"trailer\n");
        write_object(&mut out, &Object::Dict(trailer))?;
        let _ = write!(out, "\nstartxref\n{xref}\n%%EOF\n");
        Ok(out)
    }
}

impl ObjectSink for NewDocument {
    fn reserve(&mut self) -> ObjRef {
        NewDocument::reserve(self)
    }

    fn add(&mut self, obj: impl Into<Object>) -> ObjRef {
        NewDocument::add(self, obj)
    }

    fn add_stream(&mut self, dict: Dict, data: &[u8], compression: Compression) -> Result<ObjRef> {
        NewDocument::add_stream(self, dict, data, compression)
    }

    fn set(&mut self, r: ObjRef, obj: impl Into<Object>) -> Result<()> {
        NewDocument::set(self, r, obj)
    }
}

/// One object's value; a stream with its data, which a new document always holds in memory.
fn write_indirect_value(out: &mut Vec<u8>, value: &Object) -> Result<()> {
    let Object::Stream(stream) = value else {
        return write_object(out, value);
    };
    let StreamData::InMemory(data) = &stream.data else {
        return Err(PdfError::InvalidUpdate(
            "a new document cannot hold a stream whose data is in another file".into(),
        ));
    };
    write_stream_head(out, &stream.dict, data.len() as u64)?;
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    Ok(())
}

/// 16 bytes derived from the file's body. `/ID` only has to be unique in practice (§14.4), not
/// secret; two keyed passes of the standard hasher give 128 bits without a digest dependency.
fn content_id(body: &[u8]) -> Vec<u8> {
    let mut id = Vec::with_capacity(16);
    for key in [0x496e_6b61_6e31_u64, 0x496e_6b61_6e32] {
        let mut hasher = DefaultHasher::new();
        hasher.write_u64(key);
        hasher.write(body);
        id.extend_from_slice(&hasher.finish().to_be_bytes());
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Document;

    fn one_page() -> Result<Vec<u8>> {
        let mut doc = NewDocument::new();
        let pages = doc.reserve();
        let content = doc.add_stream(Dict::new(), b"0 0 m 10 10 l S", Compression::Flate)?;
        let mut page = Dict::new();
        page.insert("Type", Object::name("Page"));
        page.insert("Parent", pages);
        page.insert(
            "MediaBox",
            vec![Object::from(0), 0.into(), 595.into(), 842.into()],
        );
        page.insert("Contents", content);
        let page = doc.add(page);
        let mut tree = Dict::new();
        tree.insert("Type", Object::name("Pages"));
        tree.insert("Kids", vec![Object::from(page)]);
        tree.insert("Count", 1);
        doc.set(pages, tree)?;
        let mut catalog = Dict::new();
        catalog.insert("Type", Object::name("Catalog"));
        catalog.insert("Pages", pages);
        let root = doc.add(catalog);
        let mut info = Dict::new();
        info.insert("Producer", crate::PdfString::from_text("Inkan"));
        let info = doc.add(info);
        doc.finish(root, Some(info))
    }

    #[test]
    fn reads_back_with_its_pages_and_stream() -> Result<()> {
        let pdf = one_page()?;
        let doc = Document::open(pdf.clone())?;
        assert!(!doc.is_reconstructed());
        assert_eq!(doc.page_count()?, 1);
        assert_eq!(doc.size(), 6);
        assert!(doc.info()?.is_some());
        let (first, second) = doc.id().ok_or(PdfError::NoRoot)?;
        assert_eq!((first.len(), &first), (16, &second));
        let page = doc.page(0)?;
        let content = doc.resolve(page.dict.get("Contents").unwrap_or(&Object::Null))?;
        let stream = content.as_stream().ok_or(PdfError::NoRoot)?;
        assert_eq!(doc.decode_stream(stream, 1 << 20)?, b"0 0 m 10 10 l S");
        // Reproducible: the same objects give the same bytes.
        assert_eq!(one_page()?, pdf);
        Ok(())
    }

    #[test]
    fn unset_and_unknown_objects_are_errors() {
        let mut doc = NewDocument::new();
        let r = doc.reserve();
        assert!(doc.set(ObjRef::new(9, 0), Object::Null).is_err());
        assert!(doc.set(ObjRef::new(0, 0), Object::Null).is_err());
        let root = doc.add(Dict::new());
        assert!(NewDocument::new().finish(root, None).is_err());
        let _ = r;
        assert!(doc.finish(root, None).is_err(), "object 1 was never set");
    }
}
