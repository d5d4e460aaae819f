//! The incremental writer on every variant: the original is an exact prefix, qpdf --check is
//! clean, the reader reads the new objects back, and placeholders are exactly where reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Cursor as IoCursor;

use common::*;
use inkan_pdf::*;
use sha2::{Digest, Sha256};

/// What a PAdES signature update adds, built the way the PAdES layer will.
struct Signed {
    output: Vec<u8>,
    sig: ObjRef,
    field: ObjRef,
    extra_stream: ObjRef,
    contents: PlaceholderSpan,
    byte_range: PlaceholderSpan,
    range: [u64; 4],
    digest: Vec<u8>,
    der: Vec<u8>,
    new_kind_expected: Option<XrefKind>,
}

fn sign_once(original: &[u8], field_name: &str, seed: u64) -> Signed {
    let doc = Document::open(original.to_vec()).unwrap();
    let page = doc.page(0).unwrap();
    let mut up = IncrementalUpdate::new(&doc).unwrap();

    let sig = up.reserve();
    let field = up.reserve();
    let contents = up
        .placeholder(sig, "Contents", Placeholder::Hex { capacity: 4096 })
        .unwrap();
    let byte_range = up
        .placeholder(sig, "ByteRange", Placeholder::ByteRange)
        .unwrap();
    let mut sig_dict = Dict::new();
    sig_dict.insert("Type", Object::name("Sig"));
    sig_dict.insert("Filter", Object::name("Adobe.PPKLite"));
    sig_dict.insert("SubFilter", Object::name("ETSI.CAdES.detached"));
    // A ByteRange key already present: the placeholder takes its place.
    sig_dict.insert("ByteRange", Object::Null);
    sig_dict.insert("M", PdfString::literal(b"D:20250101120000+09'00'".to_vec()));
    sig_dict.insert("Name", PdfString::from_text("山田 太郎"));
    up.set(sig, sig_dict).unwrap();

    let mut field_dict = Dict::new();
    field_dict.insert("FT", Object::name("Sig"));
    field_dict.insert("T", PdfString::from_text(field_name));
    field_dict.insert("V", sig);
    field_dict.insert("Type", Object::name("Annot"));
    field_dict.insert("Subtype", Object::name("Widget"));
    field_dict.insert("F", 132);
    field_dict.insert("P", page.reference);
    field_dict.insert(
        "Rect",
        Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]),
    );
    up.set(field, field_dict).unwrap();

    let mut page_dict = page.dict.clone();
    let mut annots = match page_dict.get("Annots") {
        Some(a) => doc.resolve(a).unwrap().as_array().unwrap().to_vec(),
        None => Vec::new(),
    };
    annots.push(field.into());
    page_dict.insert("Annots", Object::Array(annots));
    up.set(page.reference, page_dict).unwrap();

    let root = doc.root_ref().unwrap();
    let mut catalog = doc.catalog().unwrap();
    let mut fields = match doc.acroform().unwrap() {
        Some(f) => doc
            .resolve(f.get("Fields").unwrap())
            .unwrap()
            .as_array()
            .unwrap()
            .to_vec(),
        None => Vec::new(),
    };
    fields.push(field.into());
    let mut form = Dict::new();
    form.insert("Fields", Object::Array(fields));
    form.insert("SigFlags", 3);
    catalog.insert("AcroForm", form);
    up.set(root, catalog).unwrap();

    let extra_stream = up
        .add_stream(
            Dict::new(),
            &b"DSS-like data ".repeat(100),
            Compression::Flate,
        )
        .unwrap();
    up.set_second_id(vec![seed as u8; 16]);

    let new_kind_expected = doc.last_xref_kind();
    let mut prepared = up.prepare().unwrap();
    let range = prepared.fill_byte_range(byte_range, contents).unwrap();
    let contents_span = prepared.span(contents).unwrap();
    let byte_range_span = prepared.span(byte_range).unwrap();

    let mut out = IoCursor::new(Vec::new());
    let mut hasher = Sha256::new();
    let written = prepared
        .write_signed(&mut out, contents, &mut |b| hasher.update(b))
        .unwrap();
    assert_eq!(written, prepared.len());
    let digest = hasher.finalize().to_vec();
    let der = Rng(seed).bytes(3000);
    prepared.patch_hex(&mut out, contents, &der).unwrap();
    Signed {
        output: out.into_inner(),
        sig,
        field,
        extra_stream,
        contents: contents_span,
        byte_range: byte_range_span,
        range,
        digest,
        der,
        new_kind_expected,
    }
}

fn check_signed(name: &str, original: &[u8], s: &Signed) {
    let out = &s.output;
    // (a) the original bytes are an exact prefix.
    assert!(out.starts_with(original), "{name}: original changed");
    // (d) placeholders are where reported.
    let (cs, ce) = (s.contents.start as usize, s.contents.end as usize);
    assert_eq!(out[cs], b'<', "{name}");
    assert_eq!(out[ce - 1], b'>', "{name}");
    assert_eq!(&out[cs - 10..cs], b"/Contents ", "{name}");
    assert_eq!(ce - cs, 2 * 4096 + 2);
    let (bs, be) = (s.byte_range.start as usize, s.byte_range.end as usize);
    assert_eq!(out[bs], b'[', "{name}");
    assert_eq!(out[be - 1], b']', "{name}");
    assert_eq!(s.range, [0, cs as u64, ce as u64, (out.len() - ce) as u64]);
    let text = String::from_utf8_lossy(&out[bs..be]).into_owned();
    let nums: Vec<u64> = text
        .trim_matches(|c| c == '[' || c == ']')
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(nums, s.range.to_vec(), "{name}: {text}");
    // The hash taken while writing is the hash of the byte ranges of the final file.
    let mut h = Sha256::new();
    hash_byte_range(out, &s.range, &mut |b| h.update(b)).unwrap();
    assert_eq!(h.finalize().to_vec(), s.digest, "{name}");

    // (c) the reader reads the new objects back.
    let doc = Document::open(out.clone()).unwrap();
    assert!(!doc.is_reconstructed(), "{name}");
    let before = Document::open(original.to_vec()).unwrap();
    assert_eq!(
        doc.revisions().len(),
        before.revisions().len() + 1,
        "{name}"
    );
    assert_eq!(doc.revisions().last().unwrap().end, out.len() as u64);
    assert_eq!(
        doc.revisions()[doc.revisions().len() - 2].end,
        original.len() as u64,
        "{name}"
    );
    assert_eq!(
        doc.last_xref_kind(),
        s.new_kind_expected,
        "{name}: same xref kind"
    );
    let sig = doc.get_dict(s.sig).unwrap();
    assert!(sig.has_type("Sig"));
    let contents = sig.get("Contents").and_then(Object::as_string).unwrap();
    assert_eq!(&contents.bytes[..s.der.len()], &s.der[..], "{name}");
    assert!(contents.bytes[s.der.len()..].iter().all(|&b| b == 0));
    let br: Vec<u64> = sig
        .get("ByteRange")
        .and_then(Object::as_array)
        .unwrap()
        .iter()
        .map(|v| v.as_int().unwrap() as u64)
        .collect();
    assert_eq!(br, s.range.to_vec());
    assert_eq!(
        sig.get("Name")
            .and_then(Object::as_string)
            .map(PdfString::to_text)
            .as_deref(),
        Some("山田 太郎")
    );
    let form = doc.acroform().unwrap().unwrap();
    let fields = form.get("Fields").and_then(Object::as_array).unwrap();
    assert_eq!(fields.last().and_then(Object::as_ref), Some(s.field));
    let page = doc.page(0).unwrap();
    let annots = doc.resolve(page.dict.get("Annots").unwrap()).unwrap();
    assert!(annots
        .as_array()
        .unwrap()
        .contains(&Object::Reference(s.field)));
    let stream = doc.get(s.extra_stream).unwrap();
    let data = doc
        .decode_stream(stream.as_stream().unwrap(), 1 << 20)
        .unwrap();
    assert_eq!(data, b"DSS-like data ".repeat(100));
    assert_eq!(doc.page_count().unwrap(), before.page_count().unwrap());
    assert_eq!(
        doc.id().map(|(a, _)| a),
        before.id().map(|(a, _)| a),
        "{name}: first /ID kept"
    );
    assert_eq!(
        doc.info().unwrap(),
        before.info().unwrap(),
        "{name}: /Info carried over"
    );
}

fn variants() -> Vec<(String, Vec<u8>)> {
    let mut all = vec![
        ("minimal".to_string(), minimal_pdf(3, true)),
        ("hybrid".to_string(), hybrid_pdf()),
        (
            "manual-update".to_string(),
            with_manual_update(&minimal_pdf(2, false), "改訂"),
        ),
    ];
    if qpdf().is_some() {
        let dir = tempfile::tempdir().unwrap();
        for (name, args) in VARIANTS {
            all.push((
                name.to_string(),
                qpdf_convert(dir.path(), name, &minimal_pdf(12, true), args),
            ));
        }
    }
    all
}

#[test]
fn signature_update_on_every_variant() {
    let dir = tempfile::tempdir().unwrap();
    for (name, original) in variants() {
        let first = sign_once(&original, "Signature1", 1);
        check_signed(&name, &original, &first);
        // A second signature on top of the first (a countersignature).
        let second = sign_once(&first.output, "Signature2", 2);
        check_signed(&format!("{name}+2"), &first.output, &second);
        let doc = Document::open(second.output.clone()).unwrap();
        let fields = doc.acroform().unwrap().unwrap();
        assert_eq!(
            fields
                .get("Fields")
                .and_then(Object::as_array)
                .map(<[Object]>::len),
            Some(2)
        );
        // (b) qpdf --check passes without warnings.
        if qpdf().is_some() {
            qpdf_check(dir.path(), &name, &first.output);
            qpdf_check(dir.path(), &format!("{name}-2"), &second.output);
        }
    }
}

#[test]
fn xref_stream_originals_get_xref_stream_updates() {
    if qpdf().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let original = qpdf_convert(
        dir.path(),
        "objstm",
        &minimal_pdf(3, false),
        &["--object-streams=generate"],
    );
    let signed = sign_once(&original, "S", 7);
    let tail = &signed.output[original.len()..];
    let text = String::from_utf8_lossy(tail);
    assert!(text.contains("/Type /XRef"), "{text}");
    assert!(!text.contains("\nxref\n"));
    let plain = sign_once(&minimal_pdf(3, false), "S", 7);
    let text = String::from_utf8_lossy(&plain.output[minimal_pdf(3, false).len()..]).into_owned();
    assert!(text.contains("\nxref\n") && text.contains("trailer"));
}

#[test]
fn writer_refuses_inconsistent_requests() {
    let pdf = minimal_pdf(1, false);
    let doc = Document::open(pdf.clone()).unwrap();
    let mut up = IncrementalUpdate::new(&doc).unwrap();
    assert!(
        up.set(ObjRef::new(500, 0), Object::Null).is_err(),
        "unknown object"
    );
    assert!(
        up.set(ObjRef::new(1, 3), Object::Null).is_err(),
        "wrong generation"
    );
    assert!(
        up.placeholder(ObjRef::new(1, 0), "Contents", Placeholder::ByteRange)
            .is_err(),
        "not in update"
    );
    let r = up.reserve();
    let c = up
        .placeholder(r, "Contents", Placeholder::Hex { capacity: 8 })
        .unwrap();
    assert!(
        up.placeholder(r, "Contents", Placeholder::Hex { capacity: 8 })
            .is_err(),
        "twice"
    );
    let err = match up.prepare() {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a reserved object without value was accepted"),
    };
    assert!(err.contains("reserved but never set"), "{err}");

    let mut up = IncrementalUpdate::new(&doc).unwrap();
    let r = up.reserve();
    let c2 = up
        .placeholder(r, "Contents", Placeholder::Hex { capacity: 8 })
        .unwrap();
    let br = up
        .placeholder(r, "ByteRange", Placeholder::ByteRange)
        .unwrap();
    up.set(r, Dict::new()).unwrap();
    let mut prepared = up.prepare().unwrap();
    assert_eq!(c, c2);
    // Hashing before the byte range is filled would sign zeros.
    assert!(prepared
        .write_signed(&mut std::io::sink(), c2, &mut |_| {})
        .is_err());
    prepared.fill_byte_range(br, c2).unwrap();
    assert!(prepared
        .write_signed(&mut std::io::sink(), c2, &mut |_| {})
        .is_ok());
    let too_big = prepared.fill_hex(c2, &[1; 9]).unwrap_err();
    assert_eq!(
        too_big.to_string(),
        "the value needs 9 bytes but the placeholder reserves only 8"
    );
    prepared.fill_hex(c2, &[0xAB; 8]).unwrap();
    let mut out = Vec::new();
    prepared.write_to(&mut out).unwrap();
    assert!(String::from_utf8_lossy(&out).contains("/Contents <ABABABABABABABAB>"));

    // A file with broken xref data is readable but not updatable.
    let mut broken = pdf.clone();
    let at = broken.windows(9).rposition(|w| w == b"startxref").unwrap();
    broken.truncate(at);
    broken.extend_from_slice(b"startxref\n5\n%%EOF\n");
    let doc = Document::open(broken).unwrap();
    assert!(doc.is_reconstructed());
    assert!(matches!(
        IncrementalUpdate::new(&doc),
        Err(PdfError::Damaged)
    ));
}

#[test]
fn files_without_final_newline_or_id() {
    let mut b = Builder::new("1.4");
    b.obj(1, "<< /Type /Catalog /Pages 2 0 R >>");
    b.obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    b.obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>");
    let mut pdf = b.finish("/Root 1 0 R");
    pdf.pop(); // no newline after %%EOF
    let doc = Document::open(pdf.clone()).unwrap();
    let mut up = IncrementalUpdate::new(&doc).unwrap();
    let r = up.add(Dict::new());
    up.set_second_id(b"new".to_vec());
    let prepared = up.prepare().unwrap();
    let mut out = Vec::new();
    prepared.write_to(&mut out).unwrap();
    assert!(out.starts_with(&pdf));
    assert_eq!(out[pdf.len()], b'\n');
    let doc = Document::open(out.clone()).unwrap();
    assert_eq!(doc.get_dict(r).unwrap(), Dict::new());
    assert_eq!(doc.id(), Some((b"new".to_vec(), b"new".to_vec())));
    if qpdf().is_some() {
        let dir = tempfile::tempdir().unwrap();
        qpdf_check(dir.path(), "no-newline", &out);
    }
}

/// An older trailer names an object that does not exist (`/Info 9 0 R`, above `/Size` — a
/// dangling reference a later revision dropped): new objects are numbered above it, so the old
/// trailer never comes to mean something written later.
#[test]
fn new_objects_are_numbered_above_dangling_trailer_references() {
    let mut b = Builder::new("1.4");
    b.obj(1, "<< /Type /Catalog /Pages 2 0 R >>");
    b.obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    b.obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>");
    let base = b.finish("/Root 1 0 R /Info 9 0 R");
    let prev = Document::open(base.clone()).unwrap().startxref().unwrap();
    let mut b = Builder::after(&base);
    b.obj(4, "<< /Title (Later) >>");
    let pdf = b.finish_update(&format!("/Size 5 /Root 1 0 R /Info 4 0 R /Prev {prev}"));
    let doc = Document::open(pdf.clone()).unwrap();
    assert_eq!(doc.size(), 10, "above the dangling 9 0 R");
    let mut up = IncrementalUpdate::new(&doc).unwrap();
    let r = up.add(Dict::new());
    assert_eq!(r.num, 10);
    let mut out = Vec::new();
    up.prepare().unwrap().write_to(&mut out).unwrap();
    let doc = Document::open(out.clone()).unwrap();
    assert_eq!(doc.get_dict(r).unwrap(), Dict::new());
    if qpdf().is_some() {
        let dir = tempfile::tempdir().unwrap();
        qpdf_check(dir.path(), "dangling", &out);
    }
}
