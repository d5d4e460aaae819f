//! Signature fields: finding or creating the field a signature goes into, with its widget on a
//! page and its entry in the AcroForm, as one incremental update.

use inkan_pdf::{Dict, Document, IncrementalUpdate, ObjRef, Object, PdfString, Source};

use crate::error::FieldProblem;
use crate::PadesError;

/// Names of the top-level fields of the document's AcroForm, with their references.
pub(crate) fn top_level_fields<S: Source>(
    doc: &Document<S>,
) -> Result<Vec<(ObjRef, Dict)>, PadesError> {
    let Some(acroform) = doc.acroform()? else {
        return Ok(Vec::new());
    };
    let Some(fields) = acroform.get("Fields") else {
        return Ok(Vec::new());
    };
    let fields = doc.resolve(fields)?;
    let mut out = Vec::new();
    for field in fields.as_array().unwrap_or(&[]) {
        if let Some(r) = field.as_ref() {
            if let Ok(dict) = doc.get_dict(r) {
                out.push((r, dict));
            }
        }
    }
    Ok(out)
}

pub(crate) fn field_name(dict: &Dict) -> Option<String> {
    dict.get("T")
        .and_then(|t| t.as_string())
        .map(|s| s.to_text())
}

/// A name not used by any top-level field: `Signature1`, `Signature2`, …
pub(crate) fn unused_field_name<S: Source>(
    doc: &Document<S>,
    stem: &str,
) -> Result<String, PadesError> {
    let names: Vec<String> = top_level_fields(doc)?
        .iter()
        .filter_map(|(_, d)| field_name(d))
        .collect();
    Ok((1..)
        .map(|i| format!("{stem}{i}"))
        .find(|n| !names.contains(n))
        .unwrap_or_else(|| stem.to_string()))
}

/// Where a new signature widget goes and what it shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Widget {
    /// The page, counted from 0.
    pub page: usize,
    /// `[llx, lly, urx, ury]`; all zero for an invisible signature.
    pub rect: [f64; 4],
    /// The normal appearance stream of a visible signature.
    pub appearance: Option<ObjRef>,
}

impl Widget {
    pub(crate) const INVISIBLE: Widget = Widget {
        page: 0,
        rect: [0.0; 4],
        appearance: None,
    };
}

/// Puts the signature dictionary `signature` into the field `name`: an existing empty signature
/// field of that name is filled; otherwise a new field and widget are created as `widget` says.
/// Updates the AcroForm (`/SigFlags 3`) and, if given, adds `catalog_extra` entries (e.g.
/// `/Perms`) to the catalog.
pub(crate) fn place_signature<S: Source>(
    doc: &Document<S>,
    update: &mut IncrementalUpdate<'_, S>,
    name: &str,
    signature: ObjRef,
    widget_spec: Widget,
    catalog_extra: Vec<(&str, Object)>,
) -> Result<(), PadesError> {
    let root = doc.root_ref()?;
    let mut catalog = doc.catalog()?;
    let mut catalog_changed = false;

    let mut acroform = AcroForm::read(doc, &catalog)?;
    match find_field(doc, name)? {
        Some((field_ref, mut field)) => {
            if field.get_name("FT") != Some(b"Sig".as_slice()) {
                return Err(PadesError::Field {
                    field: name.to_string(),
                    problem: FieldProblem::NotSignature,
                });
            }
            if field.get("V").is_some() {
                return Err(PadesError::Field {
                    field: name.to_string(),
                    problem: FieldProblem::AlreadySigned,
                });
            }
            field.insert("V", signature);
            if let Some(appearance) = widget_spec.appearance {
                let mut ap = Dict::new();
                ap.insert("N", appearance);
                field.insert("AP", ap);
            }
            update.set(field_ref, field)?;
        }
        None => {
            let page = doc
                .pages()?
                .nth(widget_spec.page)
                .ok_or_else(|| PadesError::NoSuchPage(widget_spec.page + 1))??;
            let mut widget = Dict::new();
            widget.insert("Type", Object::name("Annot"));
            widget.insert("Subtype", Object::name("Widget"));
            widget.insert("FT", Object::name("Sig"));
            widget.insert("T", PdfString::from_text(name));
            widget.insert("V", signature);
            // Print (4) + Locked (128): shown when printed, cannot be moved.
            widget.insert("F", 132);
            widget.insert(
                "Rect",
                widget_spec
                    .rect
                    .iter()
                    .map(|v| Object::from(*v))
                    .collect::<Vec<_>>(),
            );
            if let Some(appearance) = widget_spec.appearance {
                let mut ap = Dict::new();
                ap.insert("N", appearance);
                widget.insert("AP", ap);
            }
            widget.insert("P", page.reference);
            let widget_ref = update.add(widget);
            acroform.fields.push(widget_ref.into());
            add_annotation(doc, update, page.reference, &page.dict, widget_ref)?;
        }
    }

    acroform.dict.insert("SigFlags", 3);
    catalog_changed |= acroform.store(update, &mut catalog)?;
    for (key, value) in catalog_extra {
        catalog.insert(key, value);
        catalog_changed = true;
    }
    if catalog_changed {
        update.set(root, catalog)?;
    }
    Ok(())
}

fn add_annotation<S: Source>(
    doc: &Document<S>,
    update: &mut IncrementalUpdate<'_, S>,
    page_ref: ObjRef,
    page: &Dict,
    annotation: ObjRef,
) -> Result<(), PadesError> {
    match page.get("Annots") {
        Some(Object::Reference(r)) => {
            let mut annots = doc
                .get(*r)?
                .as_array()
                .map(|a| a.to_vec())
                .unwrap_or_default();
            annots.push(annotation.into());
            update.set(*r, annots)?;
        }
        Some(Object::Array(a)) => {
            let mut annots = a.clone();
            annots.push(annotation.into());
            let mut page = page.clone();
            page.insert("Annots", annots);
            update.set(page_ref, page)?;
        }
        _ => {
            let mut page = page.clone();
            page.insert("Annots", vec![Object::from(annotation)]);
            update.set(page_ref, page)?;
        }
    }
    Ok(())
}

/// The DocMDP permission of the document's certification signature, if it has one.
pub(crate) fn docmdp_permission<S: Source>(doc: &Document<S>) -> Result<Option<i64>, PadesError> {
    let catalog = doc.catalog()?;
    let Some(perms) = catalog.get("Perms") else {
        return Ok(None);
    };
    let perms = doc.resolve(perms)?;
    let Some(sig) = perms.as_dict().and_then(|p| p.get("DocMDP")) else {
        return Ok(None);
    };
    let sig = doc.resolve(sig)?;
    let Some(sig) = sig.as_dict() else {
        return Ok(None);
    };
    let Some(references) = sig.get("Reference") else {
        return Ok(Some(2));
    };
    let references = doc.resolve(references)?;
    for reference in references.as_array().unwrap_or(&[]) {
        let reference = doc.resolve(reference)?;
        let Some(reference) = reference.as_dict() else {
            continue;
        };
        if reference.get_name("TransformMethod") != Some(b"DocMDP".as_slice()) {
            continue;
        }
        let params = match reference.get("TransformParams") {
            Some(p) => doc.resolve(p)?,
            None => return Ok(Some(2)),
        };
        // ISO 32000: /P defaults to 2.
        return Ok(Some(
            params.as_dict().and_then(|p| p.get_int("P")).unwrap_or(2),
        ));
    }
    Ok(None)
}

/// The document's AcroForm as an update will rewrite it: its dictionary, where it lives, and its
/// field list resolved to an inline array.
pub(crate) struct AcroForm {
    pub dict: Dict,
    /// The AcroForm's own object, when it is indirect; `None` when it is inline or new.
    reference: Option<ObjRef>,
    pub fields: Vec<Object>,
}

impl AcroForm {
    pub(crate) fn read<S: Source>(
        doc: &Document<S>,
        catalog: &Dict,
    ) -> Result<AcroForm, PadesError> {
        let (dict, reference) = match catalog.get("AcroForm") {
            Some(Object::Reference(r)) => (doc.get_dict(*r)?, Some(*r)),
            Some(Object::Dict(d)) => (d.clone(), None),
            _ => (Dict::new(), None),
        };
        let fields = match dict.get("Fields") {
            Some(f) => doc
                .resolve(f)?
                .as_array()
                .map(|a| a.to_vec())
                .unwrap_or_default(),
            None => Vec::new(),
        };
        Ok(AcroForm {
            dict,
            reference,
            fields,
        })
    }

    /// Writes the AcroForm into `update`; returns whether `catalog` changed (a new AcroForm is
    /// linked from it) and must be written too.
    pub(crate) fn store<S: Source>(
        mut self,
        update: &mut IncrementalUpdate<'_, S>,
        catalog: &mut Dict,
    ) -> Result<bool, PadesError> {
        self.dict.insert("Fields", self.fields);
        match self.reference {
            Some(r) => {
                update.set(r, self.dict)?;
                Ok(false)
            }
            None => {
                let r = update.add(self.dict);
                catalog.insert("AcroForm", r);
                Ok(true)
            }
        }
    }
}

/// The top-level field called `name`.
pub(crate) fn find_field<S: Source>(
    doc: &Document<S>,
    name: &str,
) -> Result<Option<(ObjRef, Dict)>, PadesError> {
    Ok(top_level_fields(doc)?
        .into_iter()
        .find(|(_, d)| field_name(d).as_deref() == Some(name)))
}

/// Whether any top-level field already holds a signature.
pub(crate) fn has_signatures<S: Source>(doc: &Document<S>) -> Result<bool, PadesError> {
    Ok(top_level_fields(doc)?
        .iter()
        .any(|(_, f)| f.get_name("FT") == Some(b"Sig".as_slice()) && f.get("V").is_some()))
}

/// A partial field name: not empty, no period (a period separates levels of the field hierarchy,
/// ISO 32000-2 §12.7.4.2, and validators refuse such names).
pub(crate) fn check_field_name(name: &str) -> Result<(), PadesError> {
    if name.is_empty() || name.contains('.') || name.len() > 200 {
        return Err(PadesError::Field {
            field: name.to_string(),
            problem: FieldProblem::BadName,
        });
    }
    Ok(())
}

/// Every field of the form, terminal or not, with its fully qualified name and `/FT` inherited
/// from its ancestors (bounded: a hostile form's cycles and depth end the walk).
pub(crate) fn all_fields<S: Source>(doc: &Document<S>) -> Result<Vec<(String, Dict)>, PadesError> {
    const MAX_FIELDS: usize = 10_000;
    const MAX_DEPTH: usize = 32;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<(ObjRef, String, Option<Object>, usize)> = top_level_fields(doc)?
        .into_iter()
        .rev()
        .map(|(r, _)| (r, String::new(), None, 0))
        .collect();
    while let Some((r, parent, inherited_ft, depth)) = stack.pop() {
        if depth > MAX_DEPTH || out.len() >= MAX_FIELDS || !seen.insert(r) {
            continue;
        }
        let Ok(mut dict) = doc.get_dict(r) else {
            continue;
        };
        let name = match field_name(&dict) {
            Some(t) if parent.is_empty() => t,
            Some(t) => format!("{parent}.{t}"),
            // A widget of its parent field.
            None => continue,
        };
        if let (None, Some(ft)) = (dict.get("FT"), &inherited_ft) {
            dict.insert("FT", ft.clone());
        }
        let ft = dict.get("FT").cloned();
        if let Some(kids) = dict.get("Kids").and_then(|k| doc.resolve(k).ok()) {
            for kid in kids.as_array().unwrap_or(&[]).iter().rev() {
                if let Some(kid) = kid.as_ref() {
                    stack.push((kid, name.clone(), ft.clone(), depth + 1));
                }
            }
        }
        out.push((name, dict));
    }
    Ok(out)
}
