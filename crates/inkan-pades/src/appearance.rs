//! Appearance streams: what a visible signature shows (the signer's name and the time in
//! Japanese, optionally beside a seal image), drawn with an embedded subset of a Japanese font.

use inkan_pdf::{Compression, Dict, ObjRef, Object, ObjectSink};

use crate::font::{Font, FontUse};
use crate::PadesError;

/// A visible signature's place and look.
#[derive(Debug, Clone)]
pub struct Visible {
    /// The page, counted from 0.
    pub page: usize,
    /// `[llx, lly, urx, ury]` in the page's default user space.
    pub rect: [f64; 4],
    /// A JPEG seal (印影) shown at the left of the box.
    pub seal_jpeg: Option<Vec<u8>>,
}

impl Visible {
    /// Parses `PAGE:X,Y,W,H` (page counted from 1), as `inkan sign --visible` takes it.
    pub fn parse(text: &str) -> Result<Visible, PadesError> {
        let bad = || PadesError::BadVisibleSpec(text.to_string());
        let (page, rest) = text.split_once(':').ok_or_else(bad)?;
        let page: usize = page.trim().parse().map_err(|_| bad())?;
        let numbers: Vec<f64> = rest
            .split(',')
            .map(|n| n.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        let [x, y, w, h] = numbers.as_slice() else {
            return Err(bad());
        };
        if page == 0
            || *w <= 0.0
            || *h <= 0.0
            || !(x.is_finite() && y.is_finite() && w.is_finite() && h.is_finite())
        {
            return Err(bad());
        }
        Ok(Visible {
            page: page - 1,
            rect: [*x, *y, x + w, y + h],
            seal_jpeg: None,
        })
    }
}

/// Builds the normal appearance of a visible signature: a thin frame, the seal (if any) and
/// `lines` of text fitted to the box.
pub(crate) fn signature_appearance(
    update: &mut impl ObjectSink,
    font: &Font,
    visible: &Visible,
    lines: &[String],
) -> Result<ObjRef, PadesError> {
    let width = visible.rect[2] - visible.rect[0];
    let height = visible.rect[3] - visible.rect[1];
    let mut resources = Dict::new();
    let mut content = String::from("q 0.2 0.2 0.6 RG 0.8 w ");
    content.push_str(&format!(
        "0.4 0.4 {:.2} {:.2} re S Q\n",
        width - 0.8,
        height - 0.8
    ));

    let mut text_left = 4.0;
    if let Some(jpeg) = &visible.seal_jpeg {
        let image = embed_jpeg(update, jpeg)?;
        let side = height - 6.0;
        let mut xobjects = Dict::new();
        xobjects.insert("Seal", image);
        resources.insert("XObject", xobjects);
        content.push_str(&format!("q {side:.2} 0 0 {side:.2} 3 3 cm /Seal Do Q\n"));
        text_left = side + 8.0;
    }

    let mut glyphs = FontUse::new(font)?;
    let mut encoded = Vec::new();
    for line in lines {
        encoded.push(glyphs.encode(line)?);
    }
    // The largest size at which every line fits the box.
    let available_width = (width - text_left - 4.0).max(1.0);
    let line_count = encoded.len().max(1) as f64;
    let widest = encoded
        .iter()
        .map(|(_, w)| *w)
        .fold(0.0_f64, f64::max)
        .max(0.01);
    let size = (available_width / widest)
        .min((height - 6.0) / (line_count * 1.25))
        .clamp(2.0, 14.0);
    content.push_str(&format!("BT 0 g /F1 {size:.2} Tf {:.2} TL ", size * 1.25));
    content.push_str(&format!("{text_left:.2} {:.2} Td ", height - 3.0 - size));
    for (i, (hex, _)) in encoded.iter().enumerate() {
        if i > 0 {
            content.push_str("T* ");
        }
        content.push_str(&format!("{hex} Tj "));
    }
    content.push_str("ET\n");

    let font_ref = glyphs.embed(update)?;
    add_font_resource(&mut resources, font_ref);
    form_xobject(
        update,
        [0.0, 0.0, width, height],
        resources,
        content.as_bytes(),
    )
}

/// Resources naming `font` as `/F1`, the name every appearance here draws with.
pub(crate) fn add_font_resource(resources: &mut Dict, font: ObjRef) {
    let mut fonts = Dict::new();
    fonts.insert("F1", font);
    resources.insert("Font", fonts);
}

/// A form XObject (an appearance or a stamp) with the given bounding box and resources.
pub(crate) fn form_xobject(
    update: &mut impl ObjectSink,
    bbox: [f64; 4],
    resources: Dict,
    content: &[u8],
) -> Result<ObjRef, PadesError> {
    let mut form = Dict::new();
    form.insert("Type", Object::name("XObject"));
    form.insert("Subtype", Object::name("Form"));
    form.insert(
        "BBox",
        bbox.iter().map(|v| Object::from(*v)).collect::<Vec<_>>(),
    );
    form.insert("Resources", resources);
    Ok(update.add_stream(form, content, Compression::Flate)?)
}

/// Embeds a baseline or progressive JPEG as-is (DCTDecode): reads only its frame header.
fn embed_jpeg(update: &mut impl ObjectSink, jpeg: &[u8]) -> Result<ObjRef, PadesError> {
    let (width, height, components) =
        jpeg_header(jpeg).ok_or(PadesError::SealImage("it is not a JPEG file"))?;
    let color_space = match components {
        1 => "DeviceGray",
        3 => "DeviceRGB",
        4 => "DeviceCMYK",
        _ => {
            return Err(PadesError::SealImage(
                "the JPEG has an unusual colour model",
            ))
        }
    };
    let mut dict = Dict::new();
    dict.insert("Type", Object::name("XObject"));
    dict.insert("Subtype", Object::name("Image"));
    dict.insert("Width", i64::from(width));
    dict.insert("Height", i64::from(height));
    dict.insert("ColorSpace", Object::name(color_space));
    dict.insert("BitsPerComponent", 8);
    dict.insert("Filter", Object::name("DCTDecode"));
    Ok(update.add_stream(dict, jpeg, Compression::None)?)
}

/// Width, height and component count from a JPEG's SOF marker.
fn jpeg_header(data: &[u8]) -> Option<(u16, u16, u8)> {
    if data.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    while at + 4 <= data.len() {
        if data[at] != 0xFF {
            return None;
        }
        let marker = data[at + 1];
        let length = usize::from(u16::from_be_bytes([data[at + 2], data[at + 3]]));
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let frame = data.get(at + 4..at + 4 + 6)?;
            let height = u16::from_be_bytes([frame[1], frame[2]]);
            let width = u16::from_be_bytes([frame[3], frame[4]]);
            return (width > 0 && height > 0).then_some((width, height, frame[5]));
        }
        at += 2 + length;
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn visible_specs_parse_or_explain() {
        let v = Visible::parse("2:100,50,200,60").unwrap();
        assert_eq!(v.page, 1);
        assert_eq!(v.rect, [100.0, 50.0, 300.0, 110.0]);
        for bad in [
            "",
            "1",
            "0:1,2,3,4",
            "1:1,2,3",
            "1:1,2,-3,4",
            "x:1,2,3,4",
            "1:1,2,3,NaN",
        ] {
            assert!(Visible::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn jpeg_headers_are_read_or_refused() {
        // A minimal SOF0 header: 8-bit, 20 × 10, 3 components.
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00,
            0x0A, 0x00, 0x14, 0x03,
        ];
        assert_eq!(jpeg_header(&jpeg), Some((20, 10, 3)));
        assert_eq!(jpeg_header(b"\x89PNG"), None);
        assert_eq!(jpeg_header(&jpeg[..12]), None);
        assert_eq!(jpeg_header(&[]), None);
    }
}
