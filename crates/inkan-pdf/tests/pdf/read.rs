//! The reader against hand-made PDFs and their qpdf variants (object streams, xref streams,
//! linearized, QDF), hybrid files, incremental updates, big files and many pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use common::*;
use inkan_pdf::*;

/// What every variant of the same document must agree on.
#[derive(Debug, PartialEq)]
struct Summary {
    pages: usize,
    media_boxes: Vec<(f64, f64)>,
    catalog_type: Option<Vec<u8>>,
    title: Option<String>,
    author: Option<String>,
    first_id: Option<Vec<u8>>,
}

fn summarize<S: Source>(doc: &Document<S>) -> Summary {
    let pages: Vec<Page> = doc.pages().unwrap().collect::<Result<_>>().unwrap();
    let info = doc.info().unwrap().unwrap_or_default();
    let text = |key: &str| {
        info.get(key)
            .and_then(|v| doc.resolve(v).ok())
            .and_then(|v| v.as_string().map(PdfString::to_text))
    };
    Summary {
        pages: doc.page_count().unwrap(),
        media_boxes: pages
            .iter()
            .map(|p| {
                p.media_box
                    .map(|r| (r.width(), r.height()))
                    .unwrap_or((0.0, 0.0))
            })
            .collect(),
        catalog_type: doc.catalog().unwrap().get_name("Type").map(<[u8]>::to_vec),
        title: text("Title"),
        author: text("Author"),
        first_id: doc.id().map(|(a, _)| a),
    }
}

#[test]
fn minimal_pdf_reads() {
    let pdf = minimal_pdf(3, true);
    let doc = Document::open(pdf.clone()).unwrap();
    let s = summarize(&doc);
    assert_eq!(s.pages, 3);
    assert_eq!(s.media_boxes, vec![(595.0, 842.0); 3]);
    assert_eq!(s.catalog_type.as_deref(), Some(&b"Catalog"[..]));
    assert_eq!(s.title.as_deref(), Some(JA_TITLE));
    assert_eq!(s.author.as_deref(), Some(JA_AUTHOR));
    assert_eq!(doc.header_version(), (1, 7));
    assert_eq!(doc.last_xref_kind(), Some(XrefKind::Table));
    assert_eq!(doc.revisions().len(), 1);
    assert_eq!(doc.revisions()[0].end, pdf.len() as u64);
    assert!(!doc.is_encrypted() && !doc.is_reconstructed());
    let page = doc.page(2).unwrap();
    assert_eq!(page.index, 2);
    assert_eq!(doc.page_ref(0).unwrap(), ObjRef::new(5, 0));
    assert!(matches!(
        doc.page(3),
        Err(PdfError::NoSuchPage { index: 3, count: 3 })
    ));
    let contents = doc.get(ObjRef::new(4, 0)).unwrap();
    let data = doc
        .decode_stream(contents.as_stream().unwrap(), 1 << 20)
        .unwrap();
    assert_eq!(data, b"0 0 m 100 100 l S");
    assert_eq!(doc.get(ObjRef::new(999, 0)).unwrap(), Object::Null);
    assert!(matches!(
        doc.get_dict(ObjRef::new(999, 0)),
        Err(PdfError::MissingObject(_))
    ));
    let err = doc.get_dict(doc.page(0).unwrap().dict.get_ref("Contents").unwrap());
    assert!(err.is_ok(), "a stream's dictionary is a dictionary");

    if qpdf().is_some() {
        let dir = tempfile::tempdir().unwrap();
        qpdf_check(dir.path(), "minimal", &pdf);
        qpdf_check(dir.path(), "hybrid", &hybrid_pdf());
        qpdf_check(
            dir.path(),
            "manual-update",
            &with_manual_update(&pdf, "更新"),
        );
    }
}

#[test]
fn qpdf_variants_read_the_same() {
    if qpdf().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (pages, japanese) in [(1, true), (3, false), (25, true)] {
        let original = minimal_pdf(pages, japanese);
        let expected = summarize(&Document::open(original.clone()).unwrap());
        assert_eq!(expected.pages, pages);
        for (name, args) in VARIANTS {
            let variant = qpdf_convert(dir.path(), name, &original, args);
            let doc = Document::open(variant.clone())
                .unwrap_or_else(|e| panic!("{name} ({pages} pages): {e}"));
            assert!(!doc.is_reconstructed(), "{name}: xref was rebuilt");
            assert_eq!(summarize(&doc), expected, "{name} ({pages} pages)");
            assert_eq!(doc.revisions().len(), 1, "{name}: one revision");
            assert_eq!(doc.revisions()[0].end, variant.len() as u64, "{name}");
            let kind = doc.last_xref_kind();
            if name.contains("objstm") {
                assert_eq!(kind, Some(XrefKind::Stream), "{name}");
                let compressed = doc
                    .object_numbers()
                    .into_iter()
                    .filter(|n| matches!(doc.xref_entry(*n), Some(XrefEntry::Compressed { .. })))
                    .count();
                assert!(compressed > 0, "{name}: has compressed objects");
            } else {
                assert_eq!(kind, Some(XrefKind::Table), "{name}");
            }
            if name.starts_with("linearized") {
                assert_eq!(
                    doc.xref_sections().len(),
                    2,
                    "{name}: first-page + main xref"
                );
            }
        }
    }
}

#[test]
fn hybrid_file_reads_hidden_objects() {
    let pdf = hybrid_pdf();
    let doc = Document::open(pdf).unwrap();
    assert!(!doc.is_reconstructed());
    assert_eq!(
        doc.xref_entry(3),
        Some(XrefEntry::Compressed {
            stream: 5,
            index: 0
        })
    );
    assert!(doc.xref_sections()[0].xref_stm.is_some());
    assert_eq!(doc.page_count().unwrap(), 1);
    assert_eq!(doc.page_ref(0).unwrap(), ObjRef::new(3, 0));
    assert_eq!(doc.revisions().len(), 1);
}

/// An update to a hybrid file whose table names the same /XRefStm as the first section (some
/// writers keep the value in every update): read as two revisions, the hidden objects still
/// found — no "loop", no reconstruction.
#[test]
fn two_sections_naming_the_same_xref_stream_are_no_loop() {
    let base = hybrid_pdf();
    let first = Document::open(base.clone()).unwrap();
    let prev = first.startxref().unwrap();
    let stm = first.xref_sections()[0].xref_stm.unwrap();
    let mut b = Builder::after(&base);
    b.obj(4, "<< /Title (Updated) >>");
    let updated = b.finish_update(&format!(
        "/Size 7 /Root 1 0 R /Info 4 0 R /Prev {prev} /XRefStm {stm} /ID [<AA><AA>]"
    ));
    let doc = Document::open(updated.clone()).unwrap();
    assert!(!doc.is_reconstructed());
    assert_eq!(doc.revisions().len(), 2);
    assert_eq!(doc.xref_sections().len(), 2);
    assert_eq!(doc.page_ref(0).unwrap(), ObjRef::new(3, 0));
    assert_eq!(
        doc.xref_entry(3),
        Some(XrefEntry::Compressed {
            stream: 5,
            index: 0
        })
    );
    if qpdf().is_some() {
        let dir = tempfile::tempdir().unwrap();
        qpdf_check(dir.path(), "same-xrefstm", &updated);
    }
}

#[test]
fn incremental_update_revisions_and_prev() {
    let base = minimal_pdf(2, false);
    let updated = with_manual_update(&base, "改訂版");
    let doc = Document::open(updated.clone()).unwrap();
    let revs = doc.revisions();
    assert_eq!(revs.len(), 2);
    assert_eq!(
        revs[0].end,
        base.len() as u64,
        "the first revision ends where the original did"
    );
    assert_eq!(revs[1].end, updated.len() as u64);
    let info = doc.info().unwrap().unwrap();
    assert_eq!(
        info.get("Title")
            .and_then(Object::as_string)
            .map(PdfString::to_text)
            .as_deref(),
        Some("改訂版")
    );
    let added = doc.get_dict(ObjRef::new(doc.size() - 1, 0)).unwrap();
    assert!(added.contains_key("Note"));
    assert_eq!(
        doc.page_count().unwrap(),
        2,
        "pages come from the first revision"
    );
    // The first revision opens on its own, as it was signed.
    let first = doc.revision(0).unwrap();
    assert_eq!(first.len(), base.len() as u64);
    assert_eq!(first.revisions().len(), 1);
    assert!(doc.revision(2).is_err());
    assert_eq!(
        first
            .info()
            .unwrap()
            .unwrap()
            .get("Title")
            .and_then(Object::as_string)
            .map(PdfString::to_text)
            .as_deref(),
        Some("Plain (test) title")
    );
    let newest = &doc.xref_sections()[0];
    let entries = doc.section_entries(newest).unwrap();
    let nums: Vec<u32> = entries.iter().map(|(n, _)| *n).collect();
    assert_eq!(nums, vec![3, doc.size() - 1], "what the update changed");
}

#[test]
fn pdf20_utf8_and_pdfdoc_strings() {
    let mut b = Builder::new("2.0");
    b.obj(1, "<< /Type /Catalog /Pages 2 0 R >>");
    b.obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    b.obj(
        3,
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Rotate -90 >>",
    );
    let mut info = b"<< /Title (\xEF\xBB\xBF".to_vec();
    info.extend_from_slice("契約書".as_bytes());
    info.extend_from_slice(b") /Subject (caf\xE9 \x85 \xA0) >>");
    b.obj_bytes(4, &info);
    let pdf = b.finish("/Root 1 0 R /Info 4 0 R");
    let doc = Document::open(pdf).unwrap();
    assert_eq!(doc.header_version(), (2, 0));
    let info = doc.info().unwrap().unwrap();
    let text = |k: &str| {
        info.get(k)
            .and_then(Object::as_string)
            .map(PdfString::to_text)
    };
    assert_eq!(text("Title").as_deref(), Some("契約書"));
    assert_eq!(text("Subject").as_deref(), Some("café – €"));
    let page = doc.page(0).unwrap();
    assert_eq!(page.rotate, 270);
    assert_eq!(page.media_box.map(|r| r.width()), Some(612.0));
}

#[test]
fn versions_and_type_errors() {
    for (v, expected) in [
        ("1.3", (1, 3)),
        ("1.4", (1, 4)),
        ("1.7", (1, 7)),
        ("2.0", (2, 0)),
    ] {
        let doc = Document::open(minimal_pdf_version(1, true, v)).unwrap();
        assert_eq!(doc.header_version(), expected);
        assert_eq!(doc.version().unwrap(), expected);
    }
    let mut b = Builder::new("1.4");
    b.obj(1, "<< /Type /Catalog /Pages 2 0 R /Version /1.7 >>");
    b.obj(2, "<< /Type /Pages /Kids [] /Count 0 >>");
    b.obj(12, "[1 2 3]");
    let doc = Document::open(b.finish("/Root 1 0 R")).unwrap();
    assert_eq!(
        doc.version().unwrap(),
        (1, 7),
        "the catalog's /Version raises the header's"
    );
    assert_eq!(doc.page_count().unwrap(), 0);
    assert_eq!(
        doc.get_dict(ObjRef::new(12, 0)).unwrap_err().to_string(),
        "object 12 0 is not a dictionary (it is an array)"
    );
    assert_eq!(
        doc.get_dict(ObjRef::new(13, 0)).unwrap_err().to_string(),
        "object 13 0 does not exist"
    );
}

#[test]
fn documents_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Document<FileSource>>();
    send_sync::<Document<Vec<u8>>>();
    let doc = std::sync::Arc::new(Document::open(minimal_pdf(20, true)).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let doc = doc.clone();
            std::thread::spawn(move || doc.page_count().unwrap())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 20);
    }
}

#[test]
fn thousands_of_pages() {
    let pdf = minimal_pdf(3000, true);
    let start = Instant::now();
    let doc = Document::open(pdf).unwrap();
    assert_eq!(doc.page_count().unwrap(), 3000);
    let last = doc.page(2999).unwrap();
    assert_eq!(last.index, 2999);
    assert_eq!(
        last.media_box.map(|r| r.height()),
        Some(842.0),
        "inherited from the root"
    );
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
}

#[test]
fn acroform_and_existing_signature() {
    let mut b = Builder::new("1.7");
    b.obj(
        1,
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /SigFlags 3 >> >>",
    );
    b.obj(
        2,
        "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>",
    );
    b.obj(3, "<< /Type /Page /Parent 2 0 R /Annots [4 0 R] >>");
    b.obj(4, &format!("<< /FT /Sig /T {} /V 5 0 R /Type /Annot /Subtype /Widget /F 132 /P 3 0 R /Rect [0 0 0 0] >>", utf16_hex("署名1")));
    let contents = "AB".repeat(4000) + &"0".repeat(8000);
    b.obj(5, &format!("<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 10 20 30] /Contents <{contents}> /M (D:20240101000000Z) >>"));
    let pdf = b.finish("/Root 1 0 R");
    let doc = Document::open(pdf).unwrap();
    let form = doc.acroform().unwrap().unwrap();
    assert_eq!(form.get_int("SigFlags"), Some(3));
    let field = doc
        .get_dict(
            form.get("Fields").unwrap().as_array().unwrap()[0]
                .as_ref()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        field
            .get("T")
            .and_then(Object::as_string)
            .map(PdfString::to_text)
            .as_deref(),
        Some("署名1")
    );
    let sig = doc.get_dict(field.get_ref("V").unwrap()).unwrap();
    let c = sig.get("Contents").and_then(Object::as_string).unwrap();
    assert_eq!(c.format, StringFormat::Hex);
    assert_eq!(c.bytes.len(), 8000);
    assert_eq!(&c.bytes[..2], &[0xAB, 0xAB]);
}

#[test]
fn encrypted_files_are_detected_and_refused() {
    let mut b = Builder::new("1.7");
    b.obj(1, "<< /Type /Catalog /Pages 2 0 R >>");
    b.obj(2, "<< /Type /Pages /Kids [] /Count 0 >>");
    b.obj(
        3,
        "<< /Filter /Standard /V 4 /R 4 /Length 128 /O <00> /U <00> /P -4 >>",
    );
    let pdf = b.finish("/Root 1 0 R /Encrypt 3 0 R /ID [<01><01>]");
    let doc = Document::open(pdf).unwrap();
    assert!(doc.is_encrypted());
    let err = IncrementalUpdate::new(&doc).err().unwrap();
    assert_eq!(
        err.to_string(),
        "encrypted PDFs cannot be changed (the file has an /Encrypt dictionary)"
    );
    assert!(matches!(
        doc.ensure_readable(),
        Err(PdfError::EncryptedUnreadable(_))
    ));
}

/// Files protected only by an owner password (the user password empty, as "no printing" or "no
/// copying" files are) open like any other and read the same as the clear original: strings
/// and streams decrypted, in every encryption qpdf writes (RC4 40 and 128 bits, AES-128 with
/// object streams, AES-256). A user password makes the file unreadable, said so. Writing stays
/// refused.
#[test]
fn encrypted_files_that_open_without_a_password_read_like_the_original() {
    if qpdf().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let original = minimal_pdf(2, true);
    let clear = summarize(&Document::open(original.clone()).unwrap());
    let content_of = |doc: &Document<Vec<u8>>| -> Vec<u8> {
        let page = doc.page(0).unwrap();
        let contents = page.dict.get("Contents").unwrap();
        let stream = doc.resolve(contents).unwrap();
        doc.decode_stream(stream.as_stream().unwrap(), 1 << 20)
            .unwrap()
    };
    for (name, args) in inkan_testkit::QPDF_OPEN_ENCRYPTIONS {
        let enc = qpdf_convert(dir.path(), name, &original, args);
        let doc = Document::open(enc).unwrap();
        assert!(doc.is_encrypted(), "{name}");
        doc.ensure_readable().unwrap();
        let s = summarize(&doc);
        assert_eq!(s.title, clear.title, "{name}");
        assert_eq!(s.author, clear.author, "{name}");
        assert_eq!(s.pages, clear.pages, "{name}");
        assert_eq!(content_of(&doc), b"0 0 m 100 100 l S", "{name}");
        assert!(matches!(
            IncrementalUpdate::new(&doc).err(),
            Some(PdfError::Encrypted)
        ));
    }
    let locked = qpdf_convert(
        dir.path(),
        "locked",
        &original,
        &["--encrypt", "user", "owner", "256", "--"],
    );
    let doc = Document::open(locked).unwrap();
    assert!(matches!(
        doc.ensure_readable(),
        Err(PdfError::PasswordRequired)
    ));
}

/// Counts what is read from the source, to show a big file is not loaded.
struct Counting<S> {
    inner: S,
    bytes: AtomicU64,
}

impl<S: Source> Source for Counting<S> {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read_at(offset, buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[test]
fn a_50_mb_scan_is_opened_and_updated_reading_little() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.pdf");
    // A one-page "scan": a 50 MB image stream written in chunks.
    let image_len: usize = 50 << 20;
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut offsets = Vec::new();
    let mut pos = 0usize;
    let put = |f: &mut std::io::BufWriter<std::fs::File>, bytes: &[u8], pos: &mut usize| {
        f.write_all(bytes).unwrap();
        *pos += bytes.len();
    };
    put(&mut f, b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n", &mut pos);
    for (num, body) in [
        (1, "<< /Type /Catalog /Pages 2 0 R >>".to_string()),
        (2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string()),
        (3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>".to_string()),
    ] {
        offsets.push(pos);
        put(&mut f, format!("{num} 0 obj\n{body}\nendobj\n").as_bytes(), &mut pos);
    }
    offsets.push(pos);
    put(&mut f, format!("4 0 obj\n<< /Type /XObject /Subtype /Image /Width 5000 /Height 10485 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode /Length {image_len} >>\nstream\n").as_bytes(), &mut pos);
    let chunk = vec![0x5Au8; 1 << 20];
    for _ in 0..50 {
        put(&mut f, &chunk, &mut pos);
    }
    put(&mut f, b"\nendstream\nendobj\n", &mut pos);
    offsets.push(pos);
    put(
        &mut f,
        b"5 0 obj\n<< /Length 20 >>\nstream\nq 595 0 0 842 0 0 cm\nendstream\nendobj\n",
        &mut pos,
    );
    let xref = pos;
    let mut t = String::from("xref\n0 6\n0000000000 65535 f\r\n");
    for o in &offsets {
        t.push_str(&format!("{o:010} 00000 n\r\n"));
    }
    t.push_str(&format!(
        "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ));
    put(&mut f, t.as_bytes(), &mut pos);
    f.flush().unwrap();
    drop(f);

    let src = Counting {
        inner: FileSource::open(&path).unwrap(),
        bytes: AtomicU64::new(0),
    };
    let doc = Document::open(&src).unwrap();
    assert_eq!(doc.page_count().unwrap(), 1);
    let page = doc.page(0).unwrap();
    let image = doc.get(ObjRef::new(4, 0)).unwrap();
    let stream = image.as_stream().unwrap();
    assert!(matches!(stream.data, StreamData::InFile { length, .. } if length == image_len as u64));
    assert!(matches!(
        doc.decode_stream(stream, 1 << 20),
        Err(PdfError::Limit { .. })
    ));
    let mut update = IncrementalUpdate::new(&doc).unwrap();
    let mut page_dict = page.dict.clone();
    page_dict.insert("Annots", Object::Array(vec![]));
    update.set(page.reference, page_dict).unwrap();
    let prepared = update.prepare().unwrap();
    let read = src.bytes.load(Ordering::Relaxed);
    assert!(
        read < 256 * 1024,
        "opening, walking pages and preparing read {read} bytes"
    );

    // Writing streams the 50 MB through in chunks.
    let out_path = dir.path().join("out.pdf");
    let mut out = std::fs::File::create(&out_path).unwrap();
    let written = prepared.write_to(&mut out).unwrap();
    assert_eq!(written, std::fs::metadata(&out_path).unwrap().len());
    let reread = Document::open_file(&out_path).unwrap();
    assert_eq!(reread.revisions().len(), 2);
}
