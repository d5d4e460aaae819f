//! Broken inputs: every one returns an error (or, when recoverable, a document) quickly, and
//! nothing panics, hangs or allocates without bound.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::Rng;
use common::*;
use inkan_pdf::*;
use proptest::prelude::*;

const STRICT: OpenOptions = OpenOptions { reconstruct: false };

/// Everything a caller does with an untrusted PDF. Returns whether it opened.
fn exercise(bytes: &[u8], options: OpenOptions) -> Result<()> {
    let doc = Document::open_with(bytes, options)?;
    let _ = doc.info();
    let _ = doc.acroform();
    let _ = doc.version();
    let _ = doc.id();
    let _ = doc.revisions();
    for section in doc.xref_sections() {
        let _ = doc.section_entries(section);
    }
    if let Ok(pages) = doc.pages() {
        for page in pages.take(10_000) {
            if page.is_err() {
                break;
            }
        }
    }
    for num in doc.object_numbers().into_iter().take(300) {
        if let Ok(Object::Stream(s)) = doc.get(ObjRef::new(num, 0)) {
            let _ = doc.decode_stream(&s, 1 << 20);
        }
    }
    if let Ok(mut up) = IncrementalUpdate::new(&doc) {
        let r = up.reserve();
        if let Ok(c) = up.placeholder(r, "Contents", Placeholder::Hex { capacity: 16 }) {
            if up.set(r, Dict::new()).is_ok() {
                if let Ok(p) = up.prepare() {
                    let _ = p.write_signed(&mut std::io::sink(), c, &mut |_| {});
                    let _ = p.write_to(&mut std::io::sink());
                }
            }
        }
    }
    doc.catalog()?;
    doc.page_count().map(|_| ())
}

/// Runs `exercise` both ways and checks it is fast.
fn timed(name: &str, bytes: &[u8]) -> (Result<()>, Result<()>) {
    let start = Instant::now();
    let strict = exercise(bytes, STRICT);
    let lenient = exercise(bytes, OpenOptions::default());
    let took = start.elapsed();
    assert!(took < Duration::from_millis(900), "{name} took {took:?}");
    if let Err(e) = &strict {
        assert!(!e.to_string().is_empty());
    }
    (strict, lenient)
}

fn replace(pdf: &[u8], from: &str, to: &str) -> Vec<u8> {
    let at = pdf
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap_or_else(|| panic!("{from} not found"));
    let mut out = pdf[..at].to_vec();
    out.extend_from_slice(to.as_bytes());
    out.extend_from_slice(&pdf[at + from.len()..]);
    out
}

fn set_startxref(pdf: &[u8], offset: &str) -> Vec<u8> {
    let at = pdf.windows(9).rposition(|w| w == b"startxref").unwrap();
    let mut out = pdf[..at].to_vec();
    out.extend_from_slice(format!("startxref\n{offset}\n%%EOF\n").as_bytes());
    out
}

#[test]
fn empty_headerless_and_random() {
    let mut rng = Rng(42);
    for (name, bytes) in [
        ("empty", Vec::new()),
        ("no header", b"hello world, not a pdf at all".to_vec()),
        ("header only", b"%PDF-1.7\n".to_vec()),
        ("random", rng.bytes(5000)),
        (
            "header + random",
            [b"%PDF-1.4\n".to_vec(), rng.bytes(5000)].concat(),
        ),
        ("zeros", vec![0; 100_000]),
    ] {
        let (strict, lenient) = timed(name, &bytes);
        assert!(strict.is_err() && lenient.is_err(), "{name}");
    }
    let err = Document::open(Vec::new()).unwrap_err();
    assert_eq!(err.to_string(), "not a PDF: no %PDF header");
    let err = Document::open_with(b"%PDF-1.7\n1 0 obj\n".to_vec(), STRICT).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no startxref at the end of the file (is it truncated?)"
    );
}

#[test]
fn truncated_at_many_points() {
    let pdfs = [minimal_pdf(3, true), hybrid_pdf()];
    for pdf in &pdfs {
        let startxref = pdf.windows(9).rposition(|w| w == b"startxref").unwrap();
        for cut in (0..pdf.len()).step_by(3) {
            let (strict, _) = timed(&format!("cut at {cut}"), &pdf[..cut]);
            // Cut within the final `startxref N %%EOF` the offset may still be readable.
            assert!(
                cut > startxref || strict.is_err(),
                "cut at {cut} opened strictly"
            );
        }
    }
}

#[test]
fn wrong_startxref() {
    let pdf = minimal_pdf(2, false);
    let beyond = set_startxref(&pdf, "99999999");
    let (strict, lenient) = timed("beyond", &beyond);
    assert!(matches!(
        strict,
        Err(PdfError::OutsideFile {
            what: "startxref",
            ..
        })
    ));
    assert!(lenient.is_ok(), "recovered by scanning");
    assert_eq!(
        Document::open_with(&beyond[..], STRICT)
            .unwrap_err()
            .to_string(),
        format!(
            "startxref points outside the file (offset 99999999, the file has {} bytes)",
            beyond.len()
        )
    );
    let inside = set_startxref(&pdf, "20");
    let (strict, lenient) = timed("inside", &inside);
    assert!(
        matches!(strict, Err(PdfError::BadXref { .. })),
        "{strict:?}"
    );
    assert!(lenient.is_ok());
    let negative = set_startxref(&pdf, "-5");
    assert!(timed("negative", &negative).0.is_err());
    let doc = Document::open(&inside[..]).unwrap();
    assert!(doc.is_reconstructed());
    assert_eq!(doc.page_count().unwrap(), 2);
}

#[test]
fn prev_loops() {
    // A → B → A: two sections pointing at each other.
    let base = minimal_pdf(1, false);
    let first_xref = Document::open(base.clone()).unwrap().startxref().unwrap();
    let mut b = Builder::after(&base);
    b.obj(3, "<< /Title (B) >>");
    let second_xref = b.out.len();
    let looped = b.finish_update(&format!("/Size 6 /Root 1 0 R /Prev {first_xref}"));
    // Make the first section's trailer point at the second (same length, offsets unchanged).
    let looped = replace(&looped, "/Info 3 0 R", &format!("/Prev {second_xref:<5}"));
    let (strict, lenient) = timed("prev loop", &looped);
    assert!(
        matches!(strict, Err(PdfError::XrefLoop { .. })),
        "{strict:?}"
    );
    assert!(lenient.is_ok());
    assert!(Document::open_with(&looped[..], STRICT)
        .unwrap_err()
        .to_string()
        .starts_with("cross-reference loop at offset"));
    // A section whose /Prev is itself.
    let self_loop = replace(
        &base,
        "/Root 1 0 R",
        &format!("/Prev {first_xref} /Root 1 0 R"),
    );
    assert!(matches!(
        timed("self prev", &self_loop).0,
        Err(PdfError::XrefLoop { .. })
    ));
}

#[test]
fn cyclic_and_deep_page_trees() {
    let mut b = Builder::new("1.7");
    b.obj(1, "<< /Type /Catalog /Pages 2 0 R >>");
    b.obj(2, "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>");
    b.obj(3, "<< /Type /Page /Parent 2 0 R >>");
    // An intermediate node whose kids include the root: a cycle.
    b.obj(
        4,
        "<< /Type /Pages /Parent 2 0 R /Kids [5 0 R 2 0 R] /Count 1 >>",
    );
    b.obj(5, "<< /Type /Page /Parent 4 0 R >>");
    let pdf = b.finish("/Root 1 0 R");
    let _ = timed("cyclic", &pdf);
    let doc = Document::open(pdf).unwrap();
    let pages: Vec<Result<Page>> = doc.pages().unwrap().collect();
    assert_eq!(pages.len(), 3, "two pages, then the error");
    assert!(matches!(pages[2], Err(PdfError::PageTreeCycle(r)) if r == ObjRef::new(2, 0)));
    assert_eq!(
        doc.page_count().unwrap_err().to_string(),
        "the page tree is cyclic: 2 0 appears twice"
    );

    // A chain of 1000 nested /Pages nodes.
    let mut b = Builder::new("1.7");
    b.obj(1, "<< /Type /Catalog /Pages 2 0 R >>");
    for n in 2..1002u32 {
        b.obj(
            n,
            &format!("<< /Type /Pages /Kids [{} 0 R] /Count 1 >>", n + 1),
        );
    }
    b.obj(1002, "<< /Type /Page >>");
    let pdf = b.finish("/Root 1 0 R");
    let _ = timed("deep tree", &pdf);
    let doc = Document::open(pdf).unwrap();
    assert!(matches!(doc.page_count(), Err(PdfError::Limit { .. })));

    // A node whose /Kids is itself a reference to the node.
    let mut b = Builder::new("1.7");
    b.obj(1, "<< /Type /Catalog /Pages 2 0 R >>");
    b.obj(2, "<< /Type /Pages /Kids 2 0 R /Count 1 >>");
    let pdf = b.finish("/Root 1 0 R");
    let _ = timed("kids is self", &pdf);
    assert!(Document::open(pdf).unwrap().page_count().is_err());
}

#[test]
fn absurd_lengths_and_nesting() {
    let mut b = Builder::new("1.7");
    b.obj(1, "<< /Type /Catalog /Pages 2 0 R >>");
    b.obj(2, "<< /Type /Pages /Kids [] /Count 0 >>");
    b.obj_bytes(3, b"<< /Length 999999999999 >>\nstream\nabc\nendstream");
    b.obj_bytes(4, b"<< /Length 5 0 R >>\nstream\nabcdef\nendstream");
    b.obj(5, "4 0 R"); // a length that refers back to the stream
    b.obj_bytes(6, b"<< /Length -3 >>\nstream\nxy\r\nendstream");
    b.obj_bytes(7, "[".repeat(100_000).as_bytes());
    b.obj_bytes(8, b"<< /Length 6 0 R >>\nstream\nno end in sight");
    let pdf = b.finish("/Root 1 0 R");
    let _ = timed("lengths", &pdf);
    let doc = Document::open(pdf).unwrap();
    let stream = |n| {
        doc.get(ObjRef::new(n, 0))
            .unwrap()
            .as_stream()
            .cloned()
            .unwrap()
    };
    assert_eq!(doc.stream_data(&stream(3), 100).unwrap(), b"abc");
    assert_eq!(doc.stream_data(&stream(4), 100).unwrap(), b"abcdef");
    assert_eq!(doc.stream_data(&stream(6), 100).unwrap(), b"xy");
    let deep = doc.get(ObjRef::new(7, 0)).unwrap_err();
    assert!(
        deep.to_string().contains("nested deeper than 256"),
        "{deep}"
    );
    assert!(doc.get(ObjRef::new(8, 0)).is_err());
}

/// An xref-stream file whose object stream 4 holds the page tree and whose own entry says it is
/// inside itself.
fn self_referencing_objstm() -> Vec<u8> {
    objstm_pdf("2", "9", "2 0 3 50 ", true)
}

/// An xref-stream file with object stream 4 (`/N n /First first`, header `header`) holding the
/// page tree; with `self_ref`, its own xref entry says it is inside itself.
fn objstm_pdf(n: &str, first: &str, header: &str, self_ref: bool) -> Vec<u8> {
    let mut b = Builder::new("1.5");
    b.obj(1, "<< /Type /Catalog /Pages 2 0 R >>");
    let mut data = header.as_bytes().to_vec();
    let start = data.len();
    data.extend_from_slice(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    data.resize(start + 50, b' ');
    data.extend_from_slice(b"<< /Type /Page /Parent 2 0 R >>");
    b.stream(4, &format!("/Type /ObjStm /N {n} /First {first}"), &data);
    let off1 = b.offset(1) as u32;
    let off4 = b.offset(4) as u32;
    let off5 = b.out.len() as u32;
    let row = |t: u8, a: u32, c: u16| {
        let mut r = vec![t];
        r.extend_from_slice(&a.to_be_bytes());
        r.extend_from_slice(&c.to_be_bytes());
        r
    };
    let rows = [
        row(0, 0, 65535),
        row(1, off1, 0),
        row(2, 4, 0),
        row(2, 4, 1),
        if self_ref {
            row(2, 4, 2)
        } else {
            row(1, off4, 0)
        },
        row(1, off5, 0),
    ]
    .concat();
    b.stream(5, "/Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R", &rows);
    let mut out = b.out;
    out.extend_from_slice(format!("startxref\n{off5}\n%%EOF\n").as_bytes());
    out
}

#[test]
fn object_stream_inside_itself() {
    let pdf = self_referencing_objstm();
    let (strict, _) = timed("objstm self", &pdf);
    let err = strict.unwrap_err().to_string();
    assert!(
        err.contains("object stream 4 0 is broken: it is itself inside an object stream"),
        "{err}"
    );
    // The catalog is readable, so the document opens; its pages are not.
    let doc = Document::open(&pdf[..]).unwrap();
    assert!(!doc.is_reconstructed());
    assert!(matches!(
        doc.page_count(),
        Err(PdfError::ObjStm { num: 4, .. })
    ));
}

#[test]
fn object_streams_with_absurd_headers() {
    let good = objstm_pdf("2", "9", "2 0 3 50 ", false);
    let doc = Document::open_with(&good[..], STRICT).unwrap();
    assert_eq!(doc.page_count().unwrap(), 1);
    for (n, first, header) in [
        ("1000000000", "9", "2 0 3 50 "),
        ("2", "999999", "2 0 3 50 "),
        ("2", "9", "2 0 3 99999999 "),
        ("-1", "9", "2 0 3 50 "),
        ("2", "9", "2 0 2 50 "),
        ("2", "9", "9 0 3 50 "),
    ] {
        let pdf = objstm_pdf(n, first, header, false);
        let (strict, _) = timed(&format!("objstm /N {n} /First {first} {header}"), &pdf);
        assert!(strict.is_err(), "/N {n} /First {first} {header}");
    }
}

fn mutate(rng: &mut Rng, pdf: &[u8]) -> Vec<u8> {
    let mut out = pdf.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len().max(1));
        match rng.below(6) {
            0 => {
                if let Some(b) = out.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
            }
            1 => {
                if at < out.len() {
                    out.remove(at);
                }
            }
            2 => out.insert(at.min(out.len()), rng.next() as u8),
            3 => {
                // A digit changed: offsets and lengths go wrong.
                if let Some(b) = out.get_mut(at) {
                    *b = b'0' + rng.below(10) as u8;
                }
            }
            4 => {
                let tokens: [&[u8]; 8] = [
                    b"[",
                    b"<<",
                    b"(",
                    b"R",
                    b" 0 obj ",
                    b"stream",
                    b"/Prev 0",
                    b"9999999999",
                ];
                let t = tokens[rng.below(tokens.len())];
                let at = at.min(out.len());
                out.splice(at..at, t.iter().copied());
            }
            _ => {
                let end = (at + rng.below(64)).min(out.len());
                let chunk = out[at.min(end)..end].to_vec();
                let to = rng.below(out.len().max(1));
                out.splice(to..to, chunk);
            }
        }
    }
    out
}

#[test]
fn mutations_never_panic() {
    let mut seeds: Vec<(String, Vec<u8>)> = vec![
        ("minimal".into(), minimal_pdf(4, true)),
        ("hybrid".into(), hybrid_pdf()),
        (
            "update".into(),
            with_manual_update(&minimal_pdf(2, true), "更新"),
        ),
        ("objstm-self".into(), self_referencing_objstm()),
    ];
    if qpdf().is_some() {
        let dir = tempfile::tempdir().unwrap();
        for (name, args) in VARIANTS {
            seeds.push((
                name.to_string(),
                qpdf_convert(dir.path(), name, &minimal_pdf(4, true), args),
            ));
        }
    }
    let mut rng = Rng(0x1A2B_3C4D);
    let start = Instant::now();
    let mut opened = 0;
    let mut total = 0;
    for (name, pdf) in &seeds {
        for i in 0..1500 {
            let m = mutate(&mut rng, pdf);
            let (_, lenient) = timed(&format!("{name} mutation {i}"), &m);
            opened += usize::from(lenient.is_ok());
            total += 1;
        }
    }
    eprintln!("{opened}/{total} mutants opened in {:?}", start.elapsed());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_edits_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut pdf = minimal_pdf(3, true);
        for (at, byte) in edits {
            let i = at.index(pdf.len());
            pdf[i] = byte;
        }
        let keep = cut.index(pdf.len() + 1).max(pdf.len() * 9 / 10);
        pdf.truncate(keep);
        let _ = exercise(&pdf, OpenOptions::default());
        let _ = exercise(&pdf, STRICT);
    }

    #[test]
    fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let mut pdf = b"%PDF-1.7\n".to_vec();
        pdf.extend_from_slice(&tail);
        let _ = exercise(&pdf, OpenOptions::default());
    }
}
