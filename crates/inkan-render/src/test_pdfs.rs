//! Handcrafted PDFs for the tests, shared by the unit tests (`src/lib.rs`) and the integration
//! tests (`tests/render.rs`).

#![allow(dead_code)] // each test binary uses part of it

/// The text of [`japanese_pdf`], 契約書 ("contract"), twice: in UniJIS-UCS2-H a character code is the UCS-2 code.
pub const TEXT: &str = "契約書";

/// A one-page PDF whose Japanese text uses a font that is NOT embedded: the Type 0 font
/// `/HeiseiKakuGo-W5` with the predefined CMap `UniJIS-UCS2-H` and Adobe-Japan1 glyphs. Such files
/// come from older Japanese software (and anything relying on Acrobat's Asian font packs); they
/// are the hard case for a renderer, which must supply a CJK font of its own. An A4 page with
/// [`TEXT`] at 48 pt, near the top left.
pub fn japanese_pdf() -> Vec<u8> {
    let codes: String = TEXT.encode_utf16().map(|u| format!("{u:04X}")).collect();
    let content = format!("BT /F1 48 Tf 72 720 Td <{codes}> Tj 0 -60 Td <{codes}> Tj ET");
    build(&[
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type0 /BaseFont /HeiseiKakuGo-W5 /Encoding /UniJIS-UCS2-H \
         /DescendantFonts [6 0 R] >>"
            .to_string(),
        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /HeiseiKakuGo-W5 \
         /CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 2 >> \
         /FontDescriptor 7 0 R /DW 1000 >>"
            .to_string(),
        "<< /Type /FontDescriptor /FontName /HeiseiKakuGo-W5 /Flags 4 \
         /FontBBox [-92 -250 1010 922] /ItalicAngle 0 /Ascent 752 /Descent -221 \
         /CapHeight 737 /StemV 114 >>"
            .to_string(),
    ])
}

/// A one-page PDF: `page_entries` are added to the page dictionary (e.g. `/MediaBox [0 0 595 842]
/// /Rotate 90`), `content` is its content stream, with Helvetica as `/F1`.
pub fn one_page(page_entries: &str, content: &str) -> Vec<u8> {
    build(&[
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        format!(
            "<< /Type /Page /Parent 2 0 R {page_entries} /Contents 4 0 R \
             /Resources << /Font << /F1 5 0 R >> >> >>"
        ),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ])
}

/// A PDF with these objects (numbered from 1, the first being the catalog) and a correct xref.
pub fn build(objects: &[String]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}
