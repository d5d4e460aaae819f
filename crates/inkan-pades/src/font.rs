//! Japanese text in PDF appearances: a TrueType font, subset to the glyphs used and embedded as a
//! CID-keyed Type 0 font (Identity-H), with widths and a ToUnicode map so the text can be copied
//! and searched.
//!
//! The font is the file the process chose (`inkan_domain::font::choose`: the `font` setting,
//! `INKAN_FONT`) or found on the system (Debian's `fonts-ipaexfont-gothic` by default); a
//! missing font is a clear error, not a tofu box.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use inkan_pdf::{Compression, Dict, ObjRef, Object, ObjectSink, PdfString};
use sha2::{Digest, Sha256};

use crate::PadesError;

/// A TrueType font file in memory.
#[derive(Clone)]
pub struct Font {
    data: Arc<Vec<u8>>,
    name: String,
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Font").field("name", &self.name).finish()
    }
}

impl Font {
    /// The font the process chose (the `font` setting, `INKAN_FONT`), or the first Japanese font
    /// found on the system ([`inkan_domain::font::japanese_font_path`]).
    pub fn japanese() -> Result<Font, PadesError> {
        let path = inkan_domain::font::japanese_font_path(Path::exists).ok_or_else(|| {
                PadesError::Font(
                    "no Japanese font found: install fonts-ipaexfont-gothic or set INKAN_FONT to a TrueType file"
                        .into(),
                )
            })?;
        Font::from_file(&path)
    }

    pub fn from_file(path: &Path) -> Result<Font, PadesError> {
        let data = std::fs::read(path).map_err(|e| PadesError::io(path, e))?;
        let face = ttf_parser::Face::parse(&data, 0).map_err(|e| {
            PadesError::Font(format!(
                "{} is not a usable TrueType font: {e}",
                path.display()
            ))
        })?;
        let name = face
            .names()
            .into_iter()
            .find(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
            .and_then(|n| n.to_string())
            .unwrap_or_else(|| "InkanFont".into())
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        Ok(Font {
            data: Arc::new(data),
            name,
        })
    }

    fn face(&self) -> Result<ttf_parser::Face<'_>, PadesError> {
        ttf_parser::Face::parse(&self.data, 0).map_err(|e| PadesError::Font(format!("font: {e}")))
    }
}

/// The glyphs one appearance uses, collected while its text is laid out, then embedded once.
pub struct FontUse {
    font: Font,
    remapper: subsetter::GlyphRemapper,
    /// New glyph id → (the text it stands for, advance in 1/1000 em).
    glyphs: BTreeMap<u16, (String, f64)>,
    units_per_em: f64,
}

impl FontUse {
    pub fn new(font: &Font) -> Result<FontUse, PadesError> {
        let units_per_em = f64::from(font.face()?.units_per_em().max(1));
        let mut remapper = subsetter::GlyphRemapper::new();
        remapper.remap(0); // .notdef stays glyph 0
        Ok(FontUse {
            font: font.clone(),
            remapper,
            glyphs: BTreeMap::new(),
            units_per_em,
        })
    }

    /// Encodes `text` as a hex string of 2-byte CIDs for `Tj`, and returns its width at size 1.
    pub fn encode(&mut self, text: &str) -> Result<(String, f64), PadesError> {
        let face = self.font.face()?;
        let mut hex = String::with_capacity(text.len() * 4 + 2);
        hex.push('<');
        let mut width = 0.0;
        for ch in text.chars() {
            // A character the font lacks is drawn as .notdef rather than failing the signature.
            let gid = face.glyph_index(ch).map(|g| g.0).unwrap_or(0);
            let advance = face
                .glyph_hor_advance(ttf_parser::GlyphId(gid))
                .map(f64::from)
                .unwrap_or(0.0)
                * 1000.0
                / self.units_per_em;
            let cid = self.remapper.remap(gid);
            self.glyphs
                .entry(cid)
                .or_insert_with(|| (ch.to_string(), advance));
            hex.push_str(&format!("{cid:04X}"));
            width += advance / 1000.0;
        }
        hex.push('>');
        Ok((hex, width))
    }

    /// Embeds the subset as a Type 0 font into an incremental update or a new document;
    /// returns the font dictionary's reference.
    pub fn embed(&self, update: &mut impl ObjectSink) -> Result<ObjRef, PadesError> {
        let face = self.font.face()?;
        let subset = subsetter::subset(&self.font.data, 0, &self.remapper)
            .map_err(|e| PadesError::Font(format!("font subsetting failed: {e:?}")))?;
        let scale = |v: i16| (f64::from(v) * 1000.0 / self.units_per_em).round() as i64;

        // The subset's name carries a tag derived from its glyphs (ISO 32000 §9.9.2).
        let digest = Sha256::digest(
            self.glyphs
                .keys()
                .flat_map(|g| g.to_be_bytes())
                .collect::<Vec<_>>(),
        );
        let tag: String = digest
            .iter()
            .take(6)
            .map(|b| char::from(b'A' + b % 26))
            .collect();
        let base_font = format!("{tag}+{}", self.font.name);

        let mut file_dict = Dict::new();
        file_dict.insert("Length1", subset.len() as i64);
        let file = update.add_stream(file_dict, &subset, Compression::Flate)?;

        let bbox = face.global_bounding_box();
        let mut descriptor = Dict::new();
        descriptor.insert("Type", Object::name("FontDescriptor"));
        descriptor.insert("FontName", Object::name(&base_font));
        descriptor.insert("Flags", 4); // symbolic: glyphs addressed by CID, not a standard encoding
        descriptor.insert(
            "FontBBox",
            vec![
                Object::from(scale(bbox.x_min)),
                Object::from(scale(bbox.y_min)),
                Object::from(scale(bbox.x_max)),
                Object::from(scale(bbox.y_max)),
            ],
        );
        descriptor.insert("ItalicAngle", 0);
        descriptor.insert("Ascent", scale(face.ascender()));
        descriptor.insert("Descent", scale(face.descender()));
        descriptor.insert(
            "CapHeight",
            scale(face.capital_height().unwrap_or(face.ascender())),
        );
        descriptor.insert("StemV", 80);
        descriptor.insert("FontFile2", file);
        let descriptor = update.add(descriptor);

        let mut widths = Vec::new();
        for (cid, (_, advance)) in &self.glyphs {
            widths.push(Object::from(i64::from(*cid)));
            widths.push(Object::from(vec![Object::from(advance.round() as i64)]));
        }
        let mut system_info = Dict::new();
        system_info.insert("Registry", PdfString::literal("Adobe"));
        system_info.insert("Ordering", PdfString::literal("Identity"));
        system_info.insert("Supplement", 0);
        let mut cid_font = Dict::new();
        cid_font.insert("Type", Object::name("Font"));
        cid_font.insert("Subtype", Object::name("CIDFontType2"));
        cid_font.insert("BaseFont", Object::name(&base_font));
        cid_font.insert("CIDSystemInfo", system_info);
        cid_font.insert("FontDescriptor", descriptor);
        cid_font.insert("DW", 1000);
        cid_font.insert("W", widths);
        // The subset numbers its glyphs by CID already.
        cid_font.insert("CIDToGIDMap", Object::name("Identity"));
        let cid_font = update.add(cid_font);

        let to_unicode = update.add_stream(
            Dict::new(),
            self.to_unicode_cmap().as_bytes(),
            Compression::Flate,
        )?;
        let mut font = Dict::new();
        font.insert("Type", Object::name("Font"));
        font.insert("Subtype", Object::name("Type0"));
        font.insert("BaseFont", Object::name(&base_font));
        font.insert("Encoding", Object::name("Identity-H"));
        font.insert("DescendantFonts", vec![Object::from(cid_font)]);
        font.insert("ToUnicode", to_unicode);
        Ok(update.add(font))
    }

    /// A ToUnicode CMap mapping each CID back to its text.
    fn to_unicode_cmap(&self) -> String {
        let mut cmap = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
             /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
             /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
             1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        let entries: Vec<_> = self.glyphs.iter().filter(|(cid, _)| **cid != 0).collect();
        for chunk in entries.chunks(100) {
            cmap.push_str(&format!("{} beginbfchar\n", chunk.len()));
            for (cid, (text, _)) in chunk {
                let utf16: String = text.encode_utf16().map(|u| format!("{u:04X}")).collect();
                cmap.push_str(&format!("<{cid:04X}> <{utf16}>\n"));
            }
            cmap.push_str("endbfchar\n");
        }
        cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
        cmap
    }
}
