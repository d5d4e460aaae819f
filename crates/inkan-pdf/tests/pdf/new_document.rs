//! A brand-new document: qpdf finds nothing to complain about, the reader reads it back, and it
//! takes an incremental update like any other file.
#![allow(clippy::unwrap_used)]

use inkan_pdf::{
    Compression, Dict, Document, IncrementalUpdate, NewDocument, ObjRef, Object, ObjectSink,
    PdfString,
};
use inkan_testkit::validators::qpdf_clean;

/// Builds through the trait, as inkan-pades' font and XObject code does.
fn page_with_form(sink: &mut impl ObjectSink, parent: ObjRef) -> ObjRef {
    let mut form = Dict::new();
    form.insert("Type", Object::name("XObject"));
    form.insert("Subtype", Object::name("Form"));
    form.insert(
        "BBox",
        vec![Object::from(0), 0.into(), 100.into(), 100.into()],
    );
    let form = sink
        .add_stream(form, b"0 0 m 100 100 l S", Compression::Flate)
        .unwrap();
    let content = sink
        .add_stream(
            Dict::new(),
            b"q 1 0 0 1 50 50 cm /X Do Q",
            Compression::None,
        )
        .unwrap();
    let mut xobjects = Dict::new();
    xobjects.insert("X", form);
    let mut resources = Dict::new();
    resources.insert("XObject", xobjects);
    let page = sink.reserve();
    let mut dict = Dict::new();
    dict.insert("Type", Object::name("Page"));
    dict.insert("Parent", parent);
    dict.insert(
        "MediaBox",
        vec![Object::from(0), 0.into(), 595.into(), 842.into()],
    );
    dict.insert("Resources", resources);
    dict.insert("Contents", content);
    sink.set(page, dict).unwrap();
    page
}

fn new_pdf(pages: usize) -> Vec<u8> {
    let mut doc = NewDocument::new();
    let tree = doc.reserve();
    let kids: Vec<Object> = (0..pages)
        .map(|_| Object::from(page_with_form(&mut doc, tree)))
        .collect();
    let mut dict = Dict::new();
    dict.insert("Type", Object::name("Pages"));
    dict.insert("Count", Object::Integer(kids.len() as i64));
    dict.insert("Kids", kids);
    doc.set(tree, dict).unwrap();
    let mut catalog = Dict::new();
    catalog.insert("Type", Object::name("Catalog"));
    catalog.insert("Pages", tree);
    let root = doc.add(catalog);
    let mut info = Dict::new();
    info.insert("Title", PdfString::from_text("電子契約締結証明書"));
    let info = doc.add(info);
    doc.finish(root, Some(info)).unwrap()
}

#[test]
fn a_new_document_is_clean_and_reads_back() {
    let pdf = new_pdf(3);
    let doc = Document::open(pdf.clone()).unwrap();
    assert!(!doc.is_reconstructed());
    assert_eq!(doc.page_count().unwrap(), 3);
    assert_eq!(
        doc.info()
            .unwrap()
            .unwrap()
            .get("Title")
            .unwrap()
            .as_string()
            .unwrap()
            .to_text(),
        "電子契約締結証明書"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.pdf");
    std::fs::write(&path, &pdf).unwrap();
    if let Some((ok, text)) = qpdf_clean(&path) {
        assert!(ok, "qpdf --check:\n{text}");
    }

    // An update through the same trait keeps it clean.
    let mut update = IncrementalUpdate::new(&doc).unwrap();
    let tree = doc.catalog().unwrap().get_ref("Pages").unwrap();
    let extra = page_with_form(&mut update, tree);
    let mut pages = doc.get_dict(tree).unwrap();
    let mut kids = pages.get("Kids").unwrap().as_array().unwrap().to_vec();
    kids.push(extra.into());
    pages.insert("Kids", kids);
    pages.insert("Count", 4);
    update.set(tree, pages).unwrap();
    let mut out = Vec::new();
    update.prepare().unwrap().write_to(&mut out).unwrap();
    assert_eq!(
        Document::open(out.clone()).unwrap().page_count().unwrap(),
        4
    );
    let updated = dir.path().join("updated.pdf");
    std::fs::write(&updated, &out).unwrap();
    if let Some((ok, text)) = qpdf_clean(&updated) {
        assert!(ok, "qpdf --check after an update:\n{text}");
    }
}

#[test]
fn an_empty_page_tree_is_still_a_pdf() {
    let pdf = new_pdf(0);
    let doc = Document::open(pdf).unwrap();
    assert_eq!(doc.page_count().unwrap(), 0);
}
