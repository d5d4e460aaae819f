//! Form fields for multi-party contracts: text, checkbox and signature fields placed for given
//! signers before anyone signs, and filled later — each fill with its own appearance stream
//! (Japanese text in an embedded font subset) — in the same update as that signer's signature,
//! which a certification signature with DocMDP P=2 allows.

use std::path::Path;

use inkan_pdf::{
    Compression, Dict, Document, IncrementalUpdate, ObjRef, Object, PdfString, Source,
};

use crate::error::FieldProblem;
use crate::font::{Font, FontUse};
use crate::PadesError;

/// What kind of field to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    /// A text field; `required` sets the Required flag.
    Text {
        required: bool,
    },
    Checkbox,
    /// An empty signature field a signer will sign into.
    Signature,
}

/// A field to create.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    /// The field's name (e.g. `vendor_date`; a period would make it a hierarchy, ISO 32000 §12.7.4.2); its tooltip shows `label` when given.
    pub name: String,
    pub label: Option<String>,
    pub kind: FieldKind,
    /// The page, counted from 0.
    pub page: usize,
    /// `[llx, lly, urx, ury]`.
    pub rect: [f64; 4],
    /// For a signature field: the fields its signature will lock (its `/Lock`).
    pub lock: Option<crate::FieldLock>,
}

/// A value to fill in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    Checked(bool),
}

/// Writes `input` plus an update creating `fields` into `output`. Must happen before the first
/// signature (new fields after a certification would be a change it does not allow).
pub fn add_fields(input: &Path, output: &Path, fields: &[FieldSpec]) -> Result<(), PadesError> {
    crate::stages::extend_file(input, output, |pdf| fields_update(pdf, fields))
}

/// [`add_fields`] in memory: `pdf` with the fields' update appended.
pub fn add_fields_bytes(pdf: Vec<u8>, fields: &[FieldSpec]) -> Result<Vec<u8>, PadesError> {
    crate::stages::extended(pdf, |pdf| fields_update(pdf, fields))
}

fn fields_update<S: Source + ?Sized>(pdf: &S, fields: &[FieldSpec]) -> Result<Vec<u8>, PadesError> {
    let doc = Document::open(pdf)?;
    if crate::fields::has_signatures(&doc)? {
        return Err(PadesError::AlreadySigned(
            "fields must be placed before the first signature",
        ));
    }
    let existing: Vec<String> = crate::fields::top_level_fields(&doc)?
        .iter()
        .filter_map(|(_, d)| crate::fields::field_name(d))
        .collect();
    let pages: Vec<_> = doc.pages()?.collect::<Result<_, _>>()?;
    let mut update = IncrementalUpdate::new(&doc)?;
    let mut new_fields = Vec::new();
    let mut annotations: Vec<Vec<ObjRef>> = vec![Vec::new(); pages.len()];
    let mut checkbox_appearances = None;
    for spec in fields {
        crate::fields::check_field_name(&spec.name)?;
        if existing.contains(&spec.name)
            || fields.iter().filter(|f| f.name == spec.name).count() > 1
        {
            return Err(PadesError::Field {
                field: spec.name.clone(),
                problem: FieldProblem::UsedTwice,
            });
        }
        let page = pages.get(spec.page).ok_or_else(|| PadesError::Field {
            field: spec.name.clone(),
            problem: FieldProblem::NoPage(spec.page + 1),
        })?;
        let mut widget = Dict::new();
        widget.insert("Type", Object::name("Annot"));
        widget.insert("Subtype", Object::name("Widget"));
        widget.insert("T", PdfString::from_text(&spec.name));
        if let Some(label) = &spec.label {
            widget.insert("TU", PdfString::from_text(label));
        }
        widget.insert(
            "Rect",
            spec.rect
                .iter()
                .map(|v| Object::from(*v))
                .collect::<Vec<_>>(),
        );
        widget.insert("P", page.reference);
        widget.insert("F", 4); // printed
        match spec.kind {
            FieldKind::Text { required } => {
                widget.insert("FT", Object::name("Tx"));
                widget.insert("Ff", if required { 2 } else { 0 });
                widget.insert("DA", PdfString::literal("/Helv 10 Tf 0 g"));
            }
            FieldKind::Checkbox => {
                widget.insert("FT", Object::name("Btn"));
                widget.insert("V", Object::name("Off"));
                widget.insert("AS", Object::name("Off"));
                let (on, off) = match checkbox_appearances {
                    Some(pair) => pair,
                    None => {
                        let pair = checkbox_streams(&mut update)?;
                        checkbox_appearances = Some(pair);
                        pair
                    }
                };
                let mut states = Dict::new();
                states.insert("Yes", on);
                states.insert("Off", off);
                let mut ap = Dict::new();
                ap.insert("N", states);
                widget.insert("AP", ap);
            }
            FieldKind::Signature => {
                widget.insert("FT", Object::name("Sig"));
                if let Some(lock) = &spec.lock {
                    widget.insert("Lock", lock.lock_dict());
                }
            }
        }
        let r = update.add(widget);
        new_fields.push(Object::from(r));
        annotations[spec.page].push(r);
    }
    for (page, refs) in pages.iter().zip(annotations) {
        if refs.is_empty() {
            continue;
        }
        let mut annots: Vec<Object> = match page.dict.get("Annots") {
            Some(a) => doc
                .resolve(a)?
                .as_array()
                .map(|a| a.to_vec())
                .unwrap_or_default(),
            None => Vec::new(),
        };
        annots.extend(refs.into_iter().map(Object::from));
        let mut dict = page.dict.clone();
        dict.insert("Annots", annots);
        update.set(page.reference, dict)?;
    }
    add_to_acroform(&doc, &mut update, new_fields)?;
    crate::stages::appended(update)
}

fn add_to_acroform<S: Source>(
    doc: &Document<S>,
    update: &mut IncrementalUpdate<'_, S>,
    new_fields: Vec<Object>,
) -> Result<(), PadesError> {
    let root = doc.root_ref()?;
    let mut catalog = doc.catalog()?;
    let mut acroform = crate::fields::AcroForm::read(doc, &catalog)?;
    acroform.fields.extend(new_fields);
    // A default font for viewers that regenerate appearances; ours are generated already.
    if !acroform.dict.contains_key("DR") {
        let mut helv = Dict::new();
        helv.insert("Type", Object::name("Font"));
        helv.insert("Subtype", Object::name("Type1"));
        helv.insert("BaseFont", Object::name("Helvetica"));
        let mut fonts = Dict::new();
        fonts.insert("Helv", helv);
        let mut dr = Dict::new();
        dr.insert("Font", fonts);
        acroform.dict.insert("DR", dr);
        acroform
            .dict
            .insert("DA", PdfString::literal("/Helv 10 Tf 0 g"));
    }
    if acroform.store(update, &mut catalog)? {
        update.set(root, catalog)?;
    }
    Ok(())
}

/// The "Yes" (a check mark) and "Off" appearances of a checkbox, drawn in a 1×1 box scaled by
/// the widget.
fn checkbox_streams<S: Source>(
    update: &mut IncrementalUpdate<'_, S>,
) -> Result<(ObjRef, ObjRef), PadesError> {
    let form = || {
        let mut d = Dict::new();
        d.insert("Type", Object::name("XObject"));
        d.insert("Subtype", Object::name("Form"));
        d.insert(
            "BBox",
            vec![
                Object::from(0),
                Object::from(0),
                Object::from(12),
                Object::from(12),
            ],
        );
        d
    };
    let on = update.add_stream(
        form(),
        b"0.5 w 0.5 0.5 11 11 re S 1.5 w 2.5 6 m 5 3 l 9.5 9.5 l S\n",
        Compression::None,
    )?;
    let off = update.add_stream(form(), b"0.5 w 0.5 0.5 11 11 re S\n", Compression::None)?;
    Ok((on, off))
}

/// Fills `values` into their fields as part of `update` (the update that also carries the
/// signer's signature).
pub(crate) fn fill<S: Source>(
    doc: &Document<S>,
    update: &mut IncrementalUpdate<'_, S>,
    values: &[(String, FieldValue)],
) -> Result<(), PadesError> {
    if values.is_empty() {
        return Ok(());
    }
    let mut font: Option<Font> = None;
    for (name, value) in values {
        let (field_ref, mut field) =
            crate::fields::find_field(doc, name)?.ok_or_else(|| PadesError::Field {
                field: name.clone(),
                problem: FieldProblem::Missing,
            })?;
        match (field.get_name("FT"), value) {
            (Some(b"Tx"), FieldValue::Text(text)) => {
                let font = match &font {
                    Some(f) => f.clone(),
                    None => {
                        let f = Font::japanese()?;
                        font = Some(f.clone());
                        f
                    }
                };
                let rect = rect_of(&field);
                let appearance = text_appearance(update, &font, text, rect)?;
                field.insert("V", PdfString::from_text(text));
                let mut ap = Dict::new();
                ap.insert("N", appearance);
                field.insert("AP", ap);
            }
            (Some(b"Btn"), FieldValue::Checked(on)) => {
                let state = if *on { "Yes" } else { "Off" };
                field.insert("V", Object::name(state));
                field.insert("AS", Object::name(state));
            }
            (kind, _) => {
                return Err(PadesError::Field {
                    field: name.clone(),
                    problem: FieldProblem::WrongValue(
                        kind.map(|k| String::from_utf8_lossy(k).to_string())
                            .unwrap_or_else(|| "no type".into()),
                    ),
                })
            }
        }
        update.set(field_ref, field)?;
    }
    Ok(())
}

pub(crate) fn rect_of(field: &Dict) -> [f64; 4] {
    let mut rect = [0.0; 4];
    if let Some(values) = field.get("Rect").and_then(|r| r.as_array()) {
        for (slot, value) in rect.iter_mut().zip(values) {
            *slot = value.as_f64().unwrap_or(0.0);
        }
    }
    [
        rect[0].min(rect[2]),
        rect[1].min(rect[3]),
        rect[0].max(rect[2]),
        rect[1].max(rect[3]),
    ]
}

fn text_appearance<S: Source>(
    update: &mut IncrementalUpdate<'_, S>,
    font: &Font,
    text: &str,
    rect: [f64; 4],
) -> Result<ObjRef, PadesError> {
    let (width, height) = ((rect[2] - rect[0]).max(1.0), (rect[3] - rect[1]).max(1.0));
    let mut glyphs = FontUse::new(font)?;
    let (hex, text_width) = glyphs.encode(text)?;
    let size = ((height - 2.0) * 0.7)
        .min((width - 4.0) / text_width.max(0.01))
        .clamp(2.0, 12.0);
    let baseline = (height - size * 0.8) / 2.0;
    let content =
        format!("/Tx BMC q BT 0 g /F1 {size:.2} Tf 2 {baseline:.2} Td {hex} Tj ET Q EMC\n");
    let font_ref = glyphs.embed(update)?;
    let mut resources = Dict::new();
    crate::appearance::add_font_resource(&mut resources, font_ref);
    crate::appearance::form_xobject(
        update,
        [0.0, 0.0, width, height],
        resources,
        content.as_bytes(),
    )
}
