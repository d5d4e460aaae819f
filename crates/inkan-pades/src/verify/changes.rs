//! Modification analysis: what each incremental update after a signature changed, classified
//! from harmless to forbidden (ISO 32000-2 §12.8.2.2 DocMDP; the same spirit as pyHanko's diff
//! policy). Every object a revision's cross-reference sections list is compared with its
//! previous version; only the changes recognised below are allowed, everything else is
//! "other changes".

use std::collections::BTreeSet;

use inkan_pdf::{Dict, Document, ObjRef, Object, Source, StreamData, XrefEntry};

use super::report::{ChangeKind, RevisionChanges};
use super::structure::Structure;

/// The largest stream compared byte for byte when a writer rewrote it (larger: "changed").
const MAX_COMPARED_STREAM: usize = 64 << 20;

/// Details listed per revision before "…": a report stays readable.
const MAX_DETAILS: usize = 20;

/// What revision `index` (≥ 1) changed relative to revision `index - 1`.
pub(crate) fn analyse<S: Source>(doc: &Document<S>, index: usize) -> RevisionChanges {
    let mut acc = Accumulator::default();
    if let Err(e) = analyse_into(doc, index, &mut acc) {
        acc.add(
            ChangeKind::Other,
            format!("the revision cannot be read: {e}"),
        );
    }
    acc.finish(index)
}

#[derive(Default)]
struct Accumulator {
    kind: Option<ChangeKind>,
    details: BTreeSet<(ChangeKind, String)>,
    /// Form fields whose value, signature or appearance changed (for field locks).
    fields: BTreeSet<String>,
}

impl Accumulator {
    fn add(&mut self, kind: ChangeKind, detail: impl Into<String>) {
        self.kind = Some(self.kind.map_or(kind, |k| k.max(kind)));
        let detail = detail.into();
        if kind > ChangeKind::Nothing && !detail.is_empty() {
            self.details.insert((kind, detail));
        }
    }

    fn finish(self, revision: usize) -> RevisionChanges {
        let mut details: Vec<String> = self
            .details
            .into_iter()
            .rev()
            .map(|(kind, text)| format!("{}: {text}", short(kind)))
            .collect();
        if details.len() > MAX_DETAILS {
            let more = details.len() - MAX_DETAILS;
            details.truncate(MAX_DETAILS);
            details.push(format!("… {more} more"));
        }
        RevisionChanges {
            revision,
            kind: self.kind.unwrap_or(ChangeKind::Nothing),
            details,
            fields_changed: self.fields.into_iter().collect(),
        }
    }
}

fn short(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Nothing => "nothing",
        ChangeKind::ValidationData => "validation data",
        ChangeKind::FormFilling => "form/signature",
        ChangeKind::Annotations => "annotation",
        ChangeKind::Other => "OTHER",
    }
}

fn analyse_into<S: Source>(
    doc: &Document<S>,
    index: usize,
    acc: &mut Accumulator,
) -> Result<(), inkan_pdf::PdfError> {
    let Some(revision) = doc.revisions().get(index) else {
        return Ok(());
    };
    let (old_doc, new_doc) = (doc.revision(index - 1)?, doc.revision(index)?);
    let old = Structure::build(&old_doc);
    let new = Structure::build(&new_doc);
    if old.root != new.root {
        acc.add(ChangeKind::Other, "the document catalog was replaced");
    }
    let mut entries = Vec::new();
    for section in doc.xref_sections() {
        if revision.xref_offsets.contains(&section.offset) {
            entries.extend(doc.section_entries(section)?);
        }
    }
    entries.sort_by_key(|(num, _)| *num);
    entries.dedup_by_key(|(num, _)| *num);
    for (num, entry) in entries {
        if num == 0 {
            continue;
        }
        let new_ref = match entry {
            XrefEntry::Free => {
                if old_version(&old, num).is_some() {
                    acc.add(ChangeKind::Other, format!("object {num} was deleted"));
                }
                continue;
            }
            XrefEntry::InFile { gen, .. } => ObjRef::new(num, gen),
            XrefEntry::Compressed { .. } => ObjRef::new(num, 0),
        };
        let Some(new_obj) = new.get(new_ref) else {
            if old_version(&old, num).is_some() {
                acc.add(ChangeKind::Other, format!("object {num} was emptied"));
            }
            continue;
        };
        let old_obj = old_version(&old, num);
        if let Some(old_obj) = &old_obj {
            if same(old.doc(), old_obj, new.doc(), &new_obj) {
                continue;
            }
        } else if is_container(&new_obj) {
            // Object streams and cross-reference streams hold the objects listed separately.
            continue;
        }
        let (kind, detail) = classify(new_ref, old_obj.as_ref(), &new_obj, &old, &new);
        // What a field lock forbids: an existing field filled, signed or drawn anew, and any
        // new signature (but a document timestamp) in a field the lock covers.
        let role = match old_obj {
            Some(_) if kind >= ChangeKind::FormFilling => new
                .fields
                .get(&new_ref)
                .or_else(|| new.widgets.get(&new_ref)),
            None => new
                .signature_values
                .get(&new_ref)
                .filter(|r| !r.doc_timestamp),
            _ => None,
        };
        if let Some(role) = role.filter(|r| !r.name.is_empty()) {
            acc.fields.insert(role.name.clone());
        }
        acc.add(kind, detail);
    }
    Ok(())
}

/// The object with number `num` in the older revision, whatever its generation.
fn old_version<S: Source>(old: &Structure<'_, S>, num: u32) -> Option<Object> {
    let gen = match old.doc().xref_entry(num)? {
        XrefEntry::InFile { gen, .. } => gen,
        XrefEntry::Compressed { .. } => 0,
        XrefEntry::Free => return None,
    };
    old.get(ObjRef::new(num, gen))
}

fn is_container(obj: &Object) -> bool {
    matches!(obj, Object::Stream(s) if matches!(s.dict.get_name("Type"), Some(b"XRef" | b"ObjStm")))
}

/// Equal objects, streams compared by dictionary (but `/Length`) and data.
fn same<S: Source, T: Source>(
    old_doc: &Document<S>,
    old: &Object,
    new_doc: &Document<T>,
    new: &Object,
) -> bool {
    match (old, new) {
        (Object::Stream(a), Object::Stream(b)) => {
            let mut da = a.dict.clone();
            let mut db = b.dict.clone();
            da.remove("Length");
            db.remove("Length");
            if !equivalent(&Object::Dict(da), &Object::Dict(db)) {
                return false;
            }
            if let (StreamData::InFile { length: la, .. }, StreamData::InFile { length: lb, .. }) =
                (&a.data, &b.data)
            {
                if la != lb {
                    return false;
                }
            }
            match (
                old_doc.stream_data(a, MAX_COMPARED_STREAM),
                new_doc.stream_data(b, MAX_COMPARED_STREAM),
            ) {
                (Ok(x), Ok(y)) => x == y,
                _ => false,
            }
        }
        _ => equivalent(old, new),
    }
}

/// Equal as a reader sees them: a number rewritten in another form (`612.0` → `612`, as every
/// writer that re-serializes an object does) is the same number. Acrobat, pyHanko and the
/// reference validator compare so too.
fn equivalent(a: &Object, b: &Object) -> bool {
    match (a, b) {
        (Object::Integer(i), Object::Real(r)) | (Object::Real(r), Object::Integer(i)) => {
            // Integers in PDFs are far below 2^53: exact in an f64.
            (*i as f64) == *r
        }
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equivalent(p, q))
        }
        (Object::Dict(x), Object::Dict(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k.as_bytes()).is_some_and(|w| equivalent(v, w)))
        }
        _ => a == b,
    }
}

fn classify<S: Source>(
    r: ObjRef,
    old_obj: Option<&Object>,
    new_obj: &Object,
    old: &Structure<'_, S>,
    new: &Structure<'_, S>,
) -> (ChangeKind, String) {
    use ChangeKind::*;
    let n = r.num;
    // What the signed pages showed comes first: whatever else it is also used as, changing it
    // changes the document.
    if old.content.contains(&r) || old.page_nodes.contains(&r) {
        return (
            Other,
            format!("page content or resources changed (object {n})"),
        );
    }
    let dict = |o: Option<&Object>| -> Dict {
        match o {
            Some(Object::Dict(d)) => d.clone(),
            Some(Object::Stream(s)) => s.dict.clone(),
            _ => Dict::new(),
        }
    };
    if Some(r) == new.root {
        return catalog(&dict(old_obj), &dict(Some(new_obj)), old, new);
    }
    // Acrobat, pyHanko and the reference let the XMP metadata be updated at every DocMDP level
    // (it describes the document; what a reader shows is elsewhere).
    if Some(r) == new.metadata {
        return (ValidationData, "XMP metadata (/Metadata) updated".into());
    }
    if Some(r) == new.info && (old.info == Some(r) || old.info.is_none()) {
        return (
            ValidationData,
            "document information (/Info) updated".into(),
        );
    }
    if new.dss.contains(&r) {
        return (
            ValidationData,
            "DSS (certificates, OCSP responses, CRLs)".into(),
        );
    }
    if Some(r) == new.acroform {
        return acroform(&dict(old_obj), &dict(Some(new_obj)), old, new);
    }
    if Some(r) == new.fields_array {
        return field_list(array(old, old_obj), array(new, Some(new_obj)), new);
    }
    if let Some(role) = new.signature_values.get(&r) {
        return match (role.doc_timestamp, old_obj) {
            (true, None) => (ValidationData, "document timestamp".into()),
            (false, None) => (FormFilling, format!("signature (object {n})")),
            _ => (
                Other,
                format!("the signature dictionary {n} was changed after signing"),
            ),
        };
    }
    if new.fields.contains_key(&r) || new.widgets.contains_key(&r) {
        return field(r, old_obj.map(|o| dict(Some(o))), &dict(Some(new_obj)), new);
    }
    if let Some(page) = new.pages.get(&r) {
        return page_dict(*page, &dict(old_obj), &dict(Some(new_obj)), old, new);
    }
    if new.annots_arrays.contains(&r) {
        return annots(array(old, old_obj), array(new, Some(new_obj)), old, new);
    }
    if new.appearance.contains(&r) {
        return (
            FormFilling,
            format!("appearance or form resources (object {n})"),
        );
    }
    if new.annotations.contains(&r) {
        return (Annotations, format!("annotation (object {n})"));
    }
    if new.page_groups.contains(&r) && !old.page_groups.contains(&r) {
        return (
            Annotations,
            format!("a page's transparency group (object {n}) added"),
        );
    }
    if new.structure_tree.contains(&r) {
        return structure_element(n, old_obj.map(|o| dict(Some(o))), &dict(Some(new_obj)));
    }
    if old_obj.is_none() && !new.is_reachable(r) {
        // pyHanko too ignores new objects nothing refers to.
        return (Nothing, String::new());
    }
    let what = match old_obj {
        None => "added",
        Some(_) => "changed",
    };
    (Other, format!("object {n} ({}) {what}", describe(new_obj)))
}

/// A tagged-PDF structure update: new elements (a signature's or a form field's `/Form`
/// element), kids appended, the parent tree extended — what Acrobat writes when a field of a
/// tagged PDF is signed or filled. Changing what an existing element says (`/Alt`,
/// `/ActualText`, its role) is not that.
fn structure_element(n: u32, old: Option<Dict>, new: &Dict) -> (ChangeKind, String) {
    const GROWTH: [&str; 5] = ["K", "Nums", "Kids", "Limits", "ParentTreeNextKey"];
    let Some(old) = old else {
        return (
            ChangeKind::FormFilling,
            format!("tagged-PDF structure (object {n}) added"),
        );
    };
    let other: Vec<String> = changed_keys(&old, new)
        .into_iter()
        .filter(|k| !GROWTH.contains(&k.as_str()))
        .collect();
    if other.is_empty() {
        (
            ChangeKind::FormFilling,
            format!("tagged-PDF structure (object {n}) extended"),
        )
    } else {
        (
            ChangeKind::Other,
            format!(
                "tagged-PDF structure element {n}: /{} changed",
                other.join(", /")
            ),
        )
    }
}

fn describe(obj: &Object) -> String {
    let d = match obj {
        Object::Dict(d) => d,
        Object::Stream(s) => &s.dict,
        other => return other.type_name().to_string(),
    };
    match d.get_name("Type").or_else(|| d.get_name("Subtype")) {
        Some(t) => format!("/{}", String::from_utf8_lossy(t)),
        None => obj.type_name().to_string(),
    }
}

fn array<S: Source>(s: &Structure<'_, S>, obj: Option<&Object>) -> Vec<Object> {
    obj.and_then(|o| s.doc().resolve(o).ok())
        .and_then(|o| o.as_array().map(<[Object]>::to_vec))
        .unwrap_or_default()
}

/// The keys whose values differ.
fn changed_keys(old: &Dict, new: &Dict) -> Vec<String> {
    let mut keys: BTreeSet<Vec<u8>> = BTreeSet::new();
    for (k, v) in new.iter() {
        if !old.get(k.as_bytes()).is_some_and(|o| equivalent(o, v)) {
            keys.insert(k.as_bytes().to_vec());
        }
    }
    for (k, _) in old.iter() {
        if !new.contains_key(k.as_bytes()) {
            keys.insert(k.as_bytes().to_vec());
        }
    }
    keys.into_iter()
        .map(|k| String::from_utf8_lossy(&k).into_owned())
        .collect()
}

fn max(results: impl IntoIterator<Item = (ChangeKind, String)>) -> (ChangeKind, String) {
    let mut kind = ChangeKind::Nothing;
    let mut details = Vec::new();
    for (k, d) in results {
        kind = kind.max(k);
        if !d.is_empty() {
            details.push(d);
        }
    }
    (kind, details.join("; "))
}

fn catalog<S: Source>(
    old_cat: &Dict,
    new_cat: &Dict,
    old: &Structure<'_, S>,
    new: &Structure<'_, S>,
) -> (ChangeKind, String) {
    let results = changed_keys(old_cat, new_cat)
        .into_iter()
        .map(|key| match key.as_str() {
            "DSS" => (
                ChangeKind::ValidationData,
                "DSS (certificates, OCSP responses, CRLs)".to_string(),
            ),
            "Extensions" => (ChangeKind::ValidationData, "catalog: /Extensions".into()),
            "AcroForm" => {
                let resolve = |s: &Structure<'_, S>, cat: &Dict| -> Dict {
                    cat.get("AcroForm")
                        .and_then(|a| s.doc().resolve(a).ok())
                        .and_then(|a| a.as_dict().cloned())
                        .unwrap_or_default()
                };
                acroform(&resolve(old, old_cat), &resolve(new, new_cat), old, new)
            }
            "Metadata" if new.metadata.is_some() => (
                ChangeKind::ValidationData,
                "catalog: XMP metadata (/Metadata) replaced".into(),
            ),
            other => (ChangeKind::Other, format!("catalog entry /{other} changed")),
        });
    max(results)
}

fn acroform<S: Source>(
    old_form: &Dict,
    new_form: &Dict,
    old: &Structure<'_, S>,
    new: &Structure<'_, S>,
) -> (ChangeKind, String) {
    let results = changed_keys(old_form, new_form)
        .into_iter()
        .map(|key| match key.as_str() {
            "Fields" => field_list(
                array(old, old_form.get("Fields")),
                array(new, new_form.get("Fields")),
                new,
            ),
            "SigFlags" => (ChangeKind::ValidationData, String::new()),
            "DR" | "DA" | "NeedAppearances" | "CO" | "Q" => (
                ChangeKind::FormFilling,
                format!("form setting /{key} changed"),
            ),
            other => (ChangeKind::Other, format!("form entry /{other} changed")),
        });
    max(results)
}

fn refs(items: &[Object]) -> Vec<ObjRef> {
    items.iter().filter_map(Object::as_ref).collect()
}

fn field_list<S: Source>(
    old_items: Vec<Object>,
    new_items: Vec<Object>,
    new: &Structure<'_, S>,
) -> (ChangeKind, String) {
    let (old_refs, new_refs) = (refs(&old_items), refs(&new_items));
    let mut results = Vec::new();
    if old_refs.iter().any(|r| !new_refs.contains(r)) {
        results.push((ChangeKind::Other, "form fields were removed".to_string()));
    }
    for r in new_refs.iter().filter(|r| !old_refs.contains(r)) {
        let role = new.fields.get(r).or_else(|| new.widgets.get(r));
        results.push(match role {
            Some(role) if role.doc_timestamp => (
                ChangeKind::ValidationData,
                format!("document timestamp field {:?}", role.name),
            ),
            Some(role) if role.signature => (
                ChangeKind::FormFilling,
                format!("signature field {:?} added", role.name),
            ),
            Some(role) => (
                ChangeKind::FormFilling,
                format!("form field {:?} added", role.name),
            ),
            None => (
                ChangeKind::FormFilling,
                format!("form field {} added", r.num),
            ),
        });
    }
    max(results)
}

fn field<S: Source>(
    r: ObjRef,
    old_dict: Option<Dict>,
    new_dict: &Dict,
    new: &Structure<'_, S>,
) -> (ChangeKind, String) {
    let role = new
        .fields
        .get(&r)
        .or_else(|| new.widgets.get(&r))
        .cloned()
        .unwrap_or_default();
    let name = &role.name;
    let Some(old_dict) = old_dict else {
        return if role.doc_timestamp {
            (
                ChangeKind::ValidationData,
                format!("document timestamp field {name:?}"),
            )
        } else if role.signature {
            (
                ChangeKind::FormFilling,
                format!("signature field {name:?} added"),
            )
        } else {
            (
                ChangeKind::FormFilling,
                format!("form field {name:?} added"),
            )
        };
    };
    let results = changed_keys(&old_dict, new_dict)
        .into_iter()
        .map(|key| match key.as_str() {
            "V" if role.signature && old_dict.get("V").is_some_and(|v| !v.is_null()) => (
                ChangeKind::Other,
                format!("the signed field {name:?} was given another signature"),
            ),
            "V" if role.doc_timestamp => (
                ChangeKind::ValidationData,
                format!("document timestamp in field {name:?}"),
            ),
            "V" if role.signature => (ChangeKind::FormFilling, format!("field {name:?} signed")),
            "V" | "AS" => (ChangeKind::FormFilling, format!("field {name:?} filled in")),
            "AP" | "MK" | "DA" | "Q" => (
                ChangeKind::FormFilling,
                format!("appearance of field {name:?}"),
            ),
            // The widget's place in the tagged-PDF structure.
            "StructParent" if !old_dict.contains_key("StructParent") => {
                (ChangeKind::FormFilling, format!("field {name:?} tagged"))
            }
            "Kids" => {
                let old_kids = old_dict.get("Kids").and_then(Object::as_array).map(refs);
                let new_kids = new_dict.get("Kids").and_then(Object::as_array).map(refs);
                let kept = match (&old_kids, &new_kids) {
                    (Some(o), Some(n)) => o.iter().all(|k| n.contains(k)),
                    (None, _) => true,
                    (Some(_), None) => false,
                };
                if kept {
                    (
                        ChangeKind::FormFilling,
                        format!("widgets of field {name:?}"),
                    )
                } else {
                    (
                        ChangeKind::Other,
                        format!("widgets of field {name:?} removed"),
                    )
                }
            }
            other => (
                ChangeKind::Other,
                format!("field {name:?}: /{other} changed"),
            ),
        });
    max(results)
}

fn page_dict<S: Source>(
    page: usize,
    old_page: &Dict,
    new_page: &Dict,
    old: &Structure<'_, S>,
    new: &Structure<'_, S>,
) -> (ChangeKind, String) {
    let results = changed_keys(old_page, new_page).into_iter().map(|key| {
        let added = !old_page.contains_key(key.as_bytes());
        match key.as_str() {
            "Annots" => annots(
                array(old, old_page.get("Annots")),
                array(new, new_page.get("Annots")),
                old,
                new,
            ),
            // A transparency group given to a page that had none: what Acrobat adds with the
            // first annotation or widget drawn with transparency. Allowed with annotations;
            // changing or removing a page's group changes how it is drawn.
            "Group" if added => (
                ChangeKind::Annotations,
                format!("page {page}: transparency group (/Group) added"),
            ),
            // The page's key into the structure tree's parent tree, given when it is tagged.
            "StructParents" if added => (
                ChangeKind::FormFilling,
                format!("page {page}: tagged (/StructParents)"),
            ),
            _ => (ChangeKind::Other, format!("page {page}: /{key} changed")),
        }
    });
    max(results)
}

fn annots<S: Source>(
    old_items: Vec<Object>,
    new_items: Vec<Object>,
    old: &Structure<'_, S>,
    new: &Structure<'_, S>,
) -> (ChangeKind, String) {
    let (old_refs, new_refs) = (refs(&old_items), refs(&new_items));
    let mut results = Vec::new();
    for r in old_refs.iter().filter(|r| !new_refs.contains(r)) {
        results.push(if old.widgets.contains_key(r) {
            (
                ChangeKind::Other,
                format!("form widget {} removed from its page", r.num),
            )
        } else {
            (
                ChangeKind::Annotations,
                format!("annotation {} removed", r.num),
            )
        });
    }
    if old_items.len() > old_refs.len() {
        // Annotations written inside the array have no reference to follow from one revision to
        // the next: whether the signed ones are still as they were cannot be told (pyHanko calls
        // this an illegal modification too).
        results.push((
            ChangeKind::Other,
            "annotations written inline in the page were rewritten".to_string(),
        ));
    } else if new_items.len() > new_refs.len() {
        results.push((ChangeKind::Annotations, "inline annotation".to_string()));
    }
    for r in new_refs.iter().filter(|r| !old_refs.contains(r)) {
        results.push(match new.widgets.get(r) {
            Some(role) if role.doc_timestamp => (ChangeKind::ValidationData, String::new()),
            Some(_) => (ChangeKind::FormFilling, String::new()),
            None => (
                ChangeKind::Annotations,
                format!("annotation {} added", r.num),
            ),
        });
    }
    max(results)
}
