//! Annotations in objects of their own, before the first signature.
//!
//! Many producers write a page's annotations inline: dictionaries inside its `/Annots` array,
//! the array inside the page. Every later signature adds a widget to a page, so its update
//! rewrites that page and copies the inline dictionaries; validators compare the annotations of
//! two revisions by reference, find none, and call a P=2 certification broken, or an approval
//! signature illegally modified (pyHanko does; so does Inkan's verifier). So before the first
//! signature, Inkan writes one revision in which every page's `/Annots` is an array
//! object of its own holding references only; later updates then change that array, never a
//! page. Nothing a reader shows changes.

use inkan_pdf::{Document, IncrementalUpdate, Object, Source};

use crate::PadesError;

/// The update moving every page's annotations into objects of their own, when a page needs it
/// and the document holds no signature yet (a revision after a signature would be a change to
/// it).
pub(crate) fn hoist_inline_annotations<S: Source + ?Sized>(
    pdf: &S,
) -> Result<Option<Vec<u8>>, PadesError> {
    let doc = Document::open(pdf)?;
    if crate::fields::has_signatures(&doc)? {
        return Ok(None);
    }
    let mut update = IncrementalUpdate::new(&doc)?;
    let mut changed = false;
    for page in doc.pages()? {
        let page = page?;
        let (array, inline_array) = match page.dict.get("Annots") {
            Some(Object::Array(items)) => (items.clone(), true),
            Some(Object::Reference(r)) => match doc.get(*r)?.as_array() {
                Some(items) => (items.to_vec(), false),
                None => continue,
            },
            _ => continue,
        };
        let inline_items = array
            .iter()
            .any(|item| !matches!(item, Object::Reference(_)));
        if !inline_array && !inline_items {
            continue;
        }
        let hoisted: Vec<Object> = array
            .into_iter()
            .map(|item| match item {
                Object::Dict(annotation) => Object::from(update.add(annotation)),
                other => other,
            })
            .collect();
        match page.dict.get("Annots") {
            Some(Object::Reference(r)) => update.set(*r, hoisted)?,
            _ => {
                let array = update.add(hoisted);
                let mut dict = page.dict.clone();
                dict.insert("Annots", array);
                update.set(page.reference, dict)?;
            }
        }
        changed = true;
    }
    if !changed {
        return Ok(None);
    }
    crate::stages::appended(update).map(Some)
}
