//! Stamping a line of text (the 締結証明書ID) at the bottom-left of every page, as an
//! incremental update made before the first signature: afterwards it would be a change to page
//! content, which no signature allows.

use std::path::Path;

use inkan_pdf::{Compression, Dict, Document, IncrementalUpdate, Object, Page, Source};

use crate::font::{Font, FontUse};
use crate::PadesError;

/// Font size of the stamped line, in points (the certificate of conclusion uses it too, so the
/// line looks and sits the same on every page Inkan makes).
pub(crate) const SIZE: f64 = 7.0;
/// Distance from the page edges, in points.
pub(crate) const MARGIN: f64 = 12.0;

/// Writes `input` with `text` stamped bottom-left on every page (as the reader sees the page,
/// whatever its /Rotate) into `output`.
pub fn stamp_every_page(
    input: &Path,
    output: &Path,
    text: &str,
    font: &Font,
) -> Result<(), PadesError> {
    crate::stages::extend_file(input, output, |pdf| stamp_update(pdf, text, font))
}

/// [`stamp_every_page`] in memory: `pdf` with the stamp's update appended.
pub fn stamp_every_page_bytes(
    pdf: Vec<u8>,
    text: &str,
    font: &Font,
) -> Result<Vec<u8>, PadesError> {
    crate::stages::extended(pdf, |pdf| stamp_update(pdf, text, font))
}

fn stamp_update<S: Source + ?Sized>(
    pdf: &S,
    text: &str,
    font: &Font,
) -> Result<Vec<u8>, PadesError> {
    let doc = Document::open(pdf)?;
    if crate::fields::has_signatures(&doc)? {
        return Err(PadesError::AlreadySigned(
            "stamping its pages now would break the signatures",
        ));
    }
    let mut update = IncrementalUpdate::new(&doc)?;

    // One form XObject with the text, drawn on each page by a small content stream.
    let mut glyphs = FontUse::new(font)?;
    let (hex, width) = glyphs.encode(text)?;
    let font_ref = glyphs.embed(&mut update)?;
    let mut resources = Dict::new();
    crate::appearance::add_font_resource(&mut resources, font_ref);
    let content = format!("BT 0.25 g /F1 {SIZE} Tf 0 0 Td {hex} Tj ET\n");
    let form_ref = crate::appearance::form_xobject(
        &mut update,
        [0.0, -2.0, width * SIZE + 2.0, SIZE + 2.0],
        resources,
        content.as_bytes(),
    )?;
    // Saves the graphics state before the page's own content, so the stamp is drawn untouched by it.
    let save = update.add_stream(Dict::new(), b"q\n", Compression::None)?;

    for page in doc.pages()? {
        let page = page?;
        let name = unused_xobject_name(&doc, &page, "InkanID")?;
        let draw = format!("Q\nq {} cm /{name} Do Q\n", placement(&page));
        overlay(&doc, &mut update, &page, save, &draw, &[(name, form_ref)])?;
    }
    crate::stages::appended(update)
}

/// A line of text to draw on a page (差込み項目: a template's merge value).
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedText {
    /// From 1.
    pub page: u32,
    /// The left end of the text's baseline, in the page's user space (points from its
    /// bottom-left corner, before any /Rotate).
    pub x: f64,
    pub y: f64,
    /// Font size in points.
    pub size: f64,
    pub text: String,
}

/// Writes `input` with each of `texts` drawn where it is placed, as an incremental update
/// (the document must not be signed yet: it becomes what its signers sign).
pub fn draw_texts(
    input: &Path,
    output: &Path,
    texts: &[PlacedText],
    font: &Font,
) -> Result<(), PadesError> {
    crate::stages::extend_file(input, output, |pdf| texts_update(pdf, texts, font))
}

/// [`draw_texts`] in memory: `pdf` with the texts' update appended.
pub fn draw_texts_bytes(
    pdf: Vec<u8>,
    texts: &[PlacedText],
    font: &Font,
) -> Result<Vec<u8>, PadesError> {
    crate::stages::extended(pdf, |pdf| texts_update(pdf, texts, font))
}

fn texts_update<S: Source + ?Sized>(
    pdf: &S,
    texts: &[PlacedText],
    font: &Font,
) -> Result<Vec<u8>, PadesError> {
    let doc = Document::open(pdf)?;
    if crate::fields::has_signatures(&doc)? {
        return Err(PadesError::AlreadySigned(
            "drawing on its pages now would break the signatures",
        ));
    }
    let mut update = IncrementalUpdate::new(&doc)?;
    // One font subset for every text, one form XObject per text.
    let mut glyphs = FontUse::new(font)?;
    let mut encoded = Vec::with_capacity(texts.len());
    for t in texts {
        encoded.push(glyphs.encode(&t.text)?);
    }
    let font_ref = glyphs.embed(&mut update)?;
    let save = update.add_stream(Dict::new(), b"q\n", Compression::None)?;
    for (number, page) in doc.pages()?.enumerate() {
        let page = page?;
        let on_page: Vec<_> = texts
            .iter()
            .zip(&encoded)
            .filter(|(t, _)| t.page as usize == number + 1)
            .collect();
        if on_page.is_empty() {
            continue;
        }
        let mut draw = String::from("Q\n");
        let mut forms = Vec::new();
        for (t, (hex, width)) in on_page {
            let mut resources = Dict::new();
            crate::appearance::add_font_resource(&mut resources, font_ref);
            let size = t.size;
            let content = format!("BT 0 g /F1 {size} Tf 0 0 Td {hex} Tj ET\n");
            let form = crate::appearance::form_xobject(
                &mut update,
                [0.0, -size * 0.3, width * size + 1.0, size * 1.1],
                resources,
                content.as_bytes(),
            )?;
            let taken: Vec<&str> = forms
                .iter()
                .map(|(n, _): &(String, _)| n.as_str())
                .collect();
            let name = unused_xobject_name_besides(&doc, &page, "InkanMerge", &taken)?;
            draw.push_str(&format!("q 1 0 0 1 {} {} cm /{name} Do Q\n", t.x, t.y));
            forms.push((name, form));
        }
        overlay(&doc, &mut update, &page, save, &draw, &forms)?;
    }
    crate::stages::appended(update)
}

/// Draws `draw` over the page untouched by its own content: the page's contents become
/// `save` (a `q`), its own streams, then `draw` (which starts with `Q`), with `forms` added to
/// its XObject resources.
fn overlay<S: Source>(
    doc: &Document<S>,
    update: &mut IncrementalUpdate<'_, S>,
    page: &Page,
    save: inkan_pdf::ObjRef,
    draw: &str,
    forms: &[(String, inkan_pdf::ObjRef)],
) -> Result<(), PadesError> {
    let draw_ref = update.add_stream(Dict::new(), draw.as_bytes(), Compression::None)?;
    let mut contents = vec![Object::from(save)];
    match page.dict.get("Contents") {
        Some(Object::Array(parts)) => contents.extend(parts.iter().cloned()),
        Some(Object::Reference(r)) => match doc.get(*r)? {
            Object::Array(parts) => contents.extend(parts),
            _ => contents.push(Object::from(*r)),
        },
        _ => {}
    }
    contents.push(Object::from(draw_ref));

    let mut resources = match &page.resources {
        Some(r) => doc.resolve(r)?.as_dict().cloned().unwrap_or_default(),
        None => Dict::new(),
    };
    let mut xobjects = match resources.get("XObject") {
        Some(x) => doc.resolve(x)?.as_dict().cloned().unwrap_or_default(),
        None => Dict::new(),
    };
    for (name, form) in forms {
        xobjects.insert(name.as_str(), *form);
    }
    resources.insert("XObject", xobjects);

    let mut dict = page.dict.clone();
    dict.insert("Contents", contents);
    dict.insert("Resources", resources);
    update.set(page.reference, dict)?;
    Ok(())
}

/// The matrix putting the stamp at the bottom-left corner of the page as displayed.
fn placement(page: &Page) -> String {
    let b = page
        .crop_box
        .or(page.media_box)
        .map(|r| (r.llx, r.lly, r.urx, r.ury))
        .unwrap_or((0.0, 0.0, 612.0, 792.0));
    let (llx, lly, urx, ury) = (b.0.min(b.2), b.1.min(b.3), b.0.max(b.2), b.1.max(b.3));
    let m = MARGIN;
    match page.rotate {
        90 => format!("0 1 -1 0 {} {}", urx - m, lly + m),
        180 => format!("-1 0 0 -1 {} {}", urx - m, ury - m),
        270 => format!("0 -1 1 0 {} {}", llx + m, ury - m),
        _ => format!("1 0 0 1 {} {}", llx + m, lly + m),
    }
}

fn unused_xobject_name<S: Source>(
    doc: &Document<S>,
    page: &Page,
    prefix: &str,
) -> Result<String, PadesError> {
    unused_xobject_name_besides(doc, page, prefix, &[])
}

/// A name for a new XObject on `page`: `prefix`, or `prefix` and a number, used neither by the
/// page nor in `taken`.
fn unused_xobject_name_besides<S: Source>(
    doc: &Document<S>,
    page: &Page,
    prefix: &str,
    taken: &[&str],
) -> Result<String, PadesError> {
    let existing = match &page.resources {
        Some(r) => doc
            .resolve(r)?
            .as_dict()
            .and_then(|d| d.get("XObject").cloned())
            .map(|x| doc.resolve(&x))
            .transpose()?
            .and_then(|x| x.as_dict().cloned())
            .unwrap_or_default(),
        None => Dict::new(),
    };
    Ok((0..)
        .map(|i| {
            if i == 0 {
                prefix.to_string()
            } else {
                format!("{prefix}{i}")
            }
        })
        .find(|n| !existing.contains_key(n.as_str()) && !taken.contains(&n.as_str()))
        .unwrap_or_else(|| prefix.into()))
}
