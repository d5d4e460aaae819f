//! The PDF reader over arbitrary bytes: opening (strict and with a rebuilt cross-reference
//! table), every revision, every object with its stream decoded, every page and its content
//! operations. Errors are expected; a panic, a hang or unbounded memory is a bug.
#![no_main]

use inkan_pdf::content::Operations;
use inkan_pdf::{Document, ObjRef, Object, OpenOptions, Source, XrefEntry};
use libfuzzer_sys::fuzz_target;

/// A cap on decoded stream bytes, as the verifier's budget has.
const DECODE_LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    for reconstruct in [false, true] {
        if let Ok(doc) = Document::open_with(data.to_vec(), OpenOptions { reconstruct }) {
            walk(&doc);
            for i in 0..doc.revisions().len().min(8) {
                if let Ok(revision) = doc.revision(i) {
                    walk(&revision);
                }
            }
        }
    }
});

fn walk<S: Source>(doc: &Document<S>) {
    let _ = (
        doc.version(),
        doc.catalog(),
        doc.info(),
        doc.acroform(),
        doc.id(),
    );
    let _ = doc.ensure_not_encrypted();
    for section in doc.xref_sections().iter().take(8) {
        let _ = doc.section_entries(section);
    }
    for num in doc.object_numbers().into_iter().take(500) {
        let gen = match doc.xref_entry(num) {
            Some(XrefEntry::InFile { gen, .. }) => gen,
            _ => 0,
        };
        if let Ok(Object::Stream(stream)) = doc.get(ObjRef { num, gen }) {
            // Every stream read as content: the lexer and operand parser see it all.
            if let Ok(data) = doc.decode_stream(&stream, DECODE_LIMIT) {
                for operation in Operations::new(&data).take(10_000) {
                    if operation.is_err() {
                        break;
                    }
                }
            }
        }
    }
    if let Ok(pages) = doc.pages() {
        for page in pages.take(50) {
            let Ok(page) = page else { break };
            let _ = page.media_box.map(|b| (b.width(), b.height()));
            if let Some(resources) = &page.resources {
                let _ = doc.resolve(resources);
            }
        }
    }
    // The text extraction behind the 締結証明書ID lookup.
    let _ = inkan_pades::conclusion_id(doc);
}
