//! The certificate of conclusion (電子契約締結証明書): a new PDF listing a concluded envelope's
//! documents (with the SHA-256 of each final PDF) and every signing operation, in Japanese with
//! English beside it. The service signs it afterwards with [`crate::sign_pdf`]; this module only
//! lays it out.
//!
//! Layout: A4 portrait; a heading, a key/value table, the documents table, the operations table,
//! an explanatory paragraph and the issuer. Text is wrapped to its column by the font's measured
//! advances, so nothing overflows; a table row that does not fit starts a new page, where the
//! table's header is repeated (a row taller than a whole page is split between pages). Every
//! page carries the `締結証明書ID: …` line bottom-left, exactly where
//! [`crate::stamp_every_page`] puts it on contract pages, and "n / N" bottom-right.

use std::collections::HashMap;
use std::fmt::Write as _;

use inkan_pdf::{Compression, Dict, NewDocument, ObjRef, Object, PdfString};

use crate::font::{Font, FontUse};
use crate::stamp::{MARGIN as FOOTER_MARGIN, SIZE as FOOTER_SIZE};
use crate::PadesError;

/// What the certificate states.
#[derive(Debug, Clone, Default)]
pub struct ConclusionCertificate {
    /// 文書名: the envelope's title.
    pub title: String,
    /// 管理番号.
    pub number: String,
    /// 文書作成者: the organization, maybe with its department.
    pub creator: String,
    /// 文書作成者メールアドレス (may be empty).
    pub creator_email: String,
    /// 締結証明書ID: 32 hex digits (printed lowercase).
    pub conclusion_id: String,
    /// 締結日時, formatted by the caller (e.g. "2026/11/30 13:05 (JST)").
    pub concluded_at: String,
    pub documents: Vec<CertifiedDocument>,
    pub operations: Vec<SigningOperation>,
    /// Who issues the certificate (e.g. "Inkan 電子契約サービス (盛岡市)").
    pub issued_by: String,
}

/// One concluded document.
#[derive(Debug, Clone, Default)]
pub struct CertifiedDocument {
    pub name: String,
    pub pages: u32,
    /// SHA-256 of the final PDF, 64 hex digits.
    pub sha256: String,
}

/// One signing operation.
#[derive(Debug, Clone, Default)]
pub struct SigningOperation {
    /// 操作日時, formatted by the caller.
    pub at: String,
    /// IPアドレス ("" when unknown: printed as 不明).
    pub ip: String,
    /// 署名方法: "実印タイプ" or "契約印タイプ".
    pub method: String,
    /// 署名者情報, one line each.
    pub signer: Vec<String>,
    /// 認証方法.
    pub authentication: String,
}

const PAGE_WIDTH: f64 = 595.0;
const PAGE_HEIGHT: f64 = 842.0;
const LEFT: f64 = 40.0;
const CONTENT_WIDTH: f64 = 515.0;
/// Where the first line of a page starts (its top).
const TOP: f64 = 800.0;
/// Nothing but the footer goes below this.
const BOTTOM: f64 = 48.0;
/// Every line of a table or paragraph takes this much height, whatever its size, so rows split
/// between pages line by line.
const LEADING: f64 = 12.0;
/// Inside a cell, around its text.
const PAD: f64 = 4.0;
const BODY: f64 = 8.5;
const SMALL: f64 = 6.5;
/// Long hex values are shrunk down to this size to stay on one line before being wrapped.
const HEX_MIN_SIZE: f64 = 6.0;

const KEY_COLUMNS: [f64; 2] = [150.0, 365.0];
const DOCUMENT_COLUMNS: [f64; 3] = [190.0, 50.0, 275.0];
const OPERATION_COLUMNS: [f64; 4] = [120.0, 62.0, 178.0, 155.0];

/// Lays out `cert` as a new, unsigned PDF.
pub fn render_certificate(
    cert: &ConclusionCertificate,
    font: &Font,
) -> Result<Vec<u8>, PadesError> {
    let id = conclusion_id_text(&cert.conclusion_id)?;
    let mut layout = Layout::new(font)?;
    layout.heading()?;
    layout.key_values(cert, &id)?;
    layout.documents(&cert.documents)?;
    layout.operations(&cert.operations)?;
    layout.closing(&clean(&cert.issued_by))?;
    let title = clean(&cert.title);
    let info_title = if title.trim().is_empty() {
        "電子契約締結証明書".to_string()
    } else {
        format!("電子契約締結証明書 {title}")
    };
    layout.finish(Some(&id), &info_title)
}

/// A plain Japanese text document: a centred title, then paragraphs wrapped to the page, on as
/// many A4 pages as they need, numbered "n / N". For documents Inkan writes itself that are not
/// certificates (the demo's 業務委託契約書 and 請書); an empty paragraph is a blank line.
pub fn render_plain_document(
    title: &str,
    paragraphs: &[&str],
    font: &Font,
) -> Result<Vec<u8>, PadesError> {
    const SIZE: f64 = 10.5;
    let title = clean(title);
    let mut layout = Layout::new(font)?;
    let line = Line {
        text: title.clone(),
        size: 16.0,
        gray: false,
    };
    let x = LEFT + (CONTENT_WIDTH - layout.width(&title)? * line.size).max(0.0) / 2.0;
    layout.text(x, layout.y - 16.0, &line)?;
    layout.y -= 40.0;
    for paragraph in paragraphs {
        let paragraph = clean(paragraph);
        if paragraph.trim().is_empty() {
            layout.y -= LEADING;
            continue;
        }
        for text in layout.wrap(&paragraph, SIZE, CONTENT_WIDTH)? {
            layout.ensure(LEADING * 1.5);
            layout.y -= LEADING * 1.5;
            layout.text(
                LEFT,
                layout.y + 3.0,
                &Line {
                    text,
                    size: SIZE,
                    gray: false,
                },
            )?;
        }
        layout.y -= 4.0;
    }
    layout.finish(None, &title)
}

/// The ID as printed: exactly 32 hex digits, lowercase. Anything else would make a line that
/// [`crate::verify::conclusion_id`] cannot read back, so it is refused.
fn conclusion_id_text(id: &str) -> Result<String, PadesError> {
    let id = id.trim();
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PadesError::BadConclusionId(clean(id)));
    }
    Ok(id.to_ascii_lowercase())
}

/// Input text without control characters: line breaks and tabs become spaces (a value is laid
/// out by this module, not by the caller's line breaks), other controls are dropped.
fn clean(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' | '\u{2028}' | '\u{2029}' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// One laid-out line of a cell or paragraph.
#[derive(Debug, Clone)]
struct Line {
    text: String,
    size: f64,
    gray: bool,
}

type Cell = Vec<Line>;

/// The pages being drawn, with the one font every page shares.
struct Layout {
    glyphs: FontUse,
    /// Advance of each character at size 1, as measured once.
    widths: HashMap<char, f64>,
    pages: Vec<String>,
    page: String,
    /// The top of the next thing drawn on the current page.
    y: f64,
}

impl Layout {
    fn new(font: &Font) -> Result<Layout, PadesError> {
        Ok(Layout {
            glyphs: FontUse::new(font)?,
            widths: HashMap::new(),
            pages: Vec::new(),
            page: String::new(),
            y: TOP,
        })
    }

    /// The width of `text` at size 1.
    fn width(&mut self, text: &str) -> Result<f64, PadesError> {
        let mut total = 0.0;
        for c in text.chars() {
            total += match self.widths.get(&c) {
                Some(w) => *w,
                None => {
                    let (_, w) = self.glyphs.encode(c.encode_utf8(&mut [0; 4]))?;
                    self.widths.insert(c, w);
                    w
                }
            };
        }
        Ok(total)
    }

    /// `text` broken into lines no wider than `max` at `size`: at the last space when a line
    /// would break a word (English), anywhere otherwise (Japanese, long hex values).
    fn wrap(&mut self, text: &str, size: f64, max: f64) -> Result<Vec<String>, PadesError> {
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut line_width = 0.0;
        for c in text.chars() {
            let w = self.width(c.encode_utf8(&mut [0; 4]))? * size;
            if line_width + w > max && !line.is_empty() {
                let (done, rest) = split_at_space(&line, c);
                lines.push(done.trim_end().to_string());
                line = rest.trim_start().to_string();
                line_width = self.width(&line)? * size;
                // The carried-over word and this character may still not fit: break the word.
                if line_width + w > max && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    line_width = 0.0;
                }
                if c == ' ' && line.is_empty() {
                    continue;
                }
            }
            line.push(c);
            line_width += w;
        }
        lines.push(line.trim_end().to_string());
        Ok(lines)
    }

    /// A cell's lines: `text` wrapped to a column of `column` points.
    fn cell(&mut self, text: &str, size: f64, gray: bool, column: f64) -> Result<Cell, PadesError> {
        Ok(self
            .wrap(&clean(text), size, column - 2.0 * PAD)?
            .into_iter()
            .map(|text| Line { text, size, gray })
            .collect())
    }

    /// A Japanese label with its English beneath, small and gray.
    fn label(&mut self, ja: &str, en: &str, column: f64) -> Result<Cell, PadesError> {
        let mut cell = self.cell(ja, BODY, false, column)?;
        cell.extend(self.cell(en, SMALL, true, column)?);
        Ok(cell)
    }

    /// A hex value on one line when it fits at a size not below [`HEX_MIN_SIZE`], else wrapped.
    fn hex_cell(&mut self, text: &str, column: f64) -> Result<Cell, PadesError> {
        let text = clean(text);
        let room = column - 2.0 * PAD;
        let natural = self.width(&text)?;
        let size = if natural * BODY <= room {
            BODY
        } else {
            (room / natural.max(0.01)).clamp(HEX_MIN_SIZE, BODY)
        };
        self.cell(&text, size, false, column)
    }

    fn text(&mut self, x: f64, y: f64, line: &Line) -> Result<(), PadesError> {
        if line.text.is_empty() {
            return Ok(());
        }
        let (hex, _) = self.glyphs.encode(&line.text)?;
        let gray = if line.gray { 0.35 } else { 0.0 };
        let _ = writeln!(
            self.page,
            "BT {gray} g /F1 {:.2} Tf {x:.2} {y:.2} Td {hex} Tj ET",
            line.size
        );
        Ok(())
    }

    fn rule(&mut self, x1: f64, y1: f64, x2: f64, y2: f64) {
        let _ = writeln!(
            self.page,
            "q 0.4 w 0.45 G {x1:.2} {y1:.2} m {x2:.2} {y2:.2} l S Q"
        );
    }

    fn new_page(&mut self) {
        self.pages.push(std::mem::take(&mut self.page));
        self.y = TOP;
    }

    /// Starts a new page unless `height` more fits on this one.
    fn ensure(&mut self, height: f64) {
        if self.y - height < BOTTOM {
            self.new_page();
        }
    }

    fn heading(&mut self) -> Result<(), PadesError> {
        let title = Line {
            text: "電子契約締結証明書".into(),
            size: 18.0,
            gray: false,
        };
        let beside = LEFT + self.width(&title.text)? * title.size + 12.0;
        self.text(LEFT, self.y - 18.0, &title)?;
        let english = Line {
            text: "Certificate of Conclusion".into(),
            size: 10.0,
            gray: true,
        };
        self.text(beside, self.y - 18.0, &english)?;
        self.y -= 30.0;
        Ok(())
    }

    /// A section title above a table, kept on the page of the table's first rows.
    fn section(&mut self, ja: &str, en: &str) -> Result<(), PadesError> {
        self.y -= 10.0;
        self.ensure(16.0 + 5.0 * LEADING);
        let line = Line {
            text: format!("{ja} / {en}"),
            size: 10.0,
            gray: false,
        };
        self.text(LEFT, self.y - 10.0, &line)?;
        self.y -= 16.0;
        Ok(())
    }

    fn key_values(&mut self, cert: &ConclusionCertificate, id: &str) -> Result<(), PadesError> {
        let [key, value] = KEY_COLUMNS;
        let email = if cert.creator_email.trim().is_empty() {
            "-"
        } else {
            cert.creator_email.as_str()
        };
        let rows = [
            ("文書名", "Document title", cert.title.as_str()),
            ("管理番号", "Reference number", cert.number.as_str()),
            ("文書作成者", "Created by", cert.creator.as_str()),
            ("文書作成者メールアドレス", "Creator's email address", email),
            ("締結証明書ID", "Certificate ID", id),
            ("締結日時", "Concluded at", cert.concluded_at.as_str()),
        ];
        for (ja, en, text) in rows {
            let row = vec![
                self.label(ja, en, key)?,
                self.cell(text, BODY, false, value)?,
            ];
            self.row(&KEY_COLUMNS, &row, None, false)?;
        }
        Ok(())
    }

    fn documents(&mut self, documents: &[CertifiedDocument]) -> Result<(), PadesError> {
        self.section("対象文書", "Documents")?;
        let [name, pages, hash] = DOCUMENT_COLUMNS;
        let header = vec![
            self.label("文書名", "Document", name)?,
            self.label("ページ数", "Pages", pages)?,
            self.label("SHA-256 (最終版PDF)", "SHA-256 of the final PDF", hash)?,
        ];
        self.row(&DOCUMENT_COLUMNS, &header, None, true)?;
        for d in documents {
            let row = vec![
                self.cell(&d.name, BODY, false, name)?,
                self.cell(&d.pages.to_string(), BODY, false, pages)?,
                self.hex_cell(&d.sha256, hash)?,
            ];
            self.row(&DOCUMENT_COLUMNS, &row, Some(&header), false)?;
        }
        Ok(())
    }

    fn operations(&mut self, operations: &[SigningOperation]) -> Result<(), PadesError> {
        self.section("操作履歴", "Signing operations")?;
        let [when, method, signer, auth] = OPERATION_COLUMNS;
        let header = vec![
            self.label("操作日時 / IPアドレス", "Time / IP address", when)?,
            self.label("署名方法", "Signing method", method)?,
            self.label("署名者情報", "Signer", signer)?,
            self.label("認証方法", "Authentication", auth)?,
        ];
        self.row(&OPERATION_COLUMNS, &header, None, true)?;
        for op in operations {
            let ip = if op.ip.trim().is_empty() {
                "不明"
            } else {
                op.ip.as_str()
            };
            let mut first = self.cell(&op.at, BODY, false, when)?;
            first.extend(self.cell(ip, BODY, false, when)?);
            let mut signer_lines = Vec::new();
            for line in &op.signer {
                signer_lines.extend(self.cell(line, BODY, false, signer)?);
            }
            let row = vec![
                first,
                self.cell(&op.method, BODY, false, method)?,
                signer_lines,
                self.cell(&op.authentication, BODY, false, auth)?,
            ];
            self.row(&OPERATION_COLUMNS, &row, Some(&header), false)?;
        }
        Ok(())
    }

    fn closing(&mut self, issued_by: &str) -> Result<(), PadesError> {
        self.y -= 14.0;
        let paragraphs = [
            ("本証明書は、上記の文書が上記の操作により締結されたことを証明するものです。本証明書には発行者の電子署名とタイムスタンプが付与されています。", false),
            ("This certificate attests that the documents above were concluded through the operations above. It carries the issuer's electronic signature and a timestamp.", true),
            (&*format!("発行者 / Issued by: {issued_by}"), false),
        ];
        for (text, gray) in paragraphs {
            let size = if gray { 7.5 } else { BODY };
            for text in self.wrap(text, size, CONTENT_WIDTH)? {
                self.ensure(LEADING);
                self.y -= LEADING;
                self.text(LEFT, self.y + 3.0, &Line { text, size, gray })?;
            }
            self.y -= 4.0;
        }
        Ok(())
    }

    /// Draws a table row, on a new page (after `header`) when it does not fit; a row taller
    /// than a page continues on the next one.
    fn row(
        &mut self,
        columns: &[f64],
        cells: &[Cell],
        header: Option<&[Cell]>,
        shaded: bool,
    ) -> Result<(), PadesError> {
        let total = row_lines(cells);
        let header_height = header.map_or(0.0, |h| row_lines(h) as f64 * LEADING + 2.0 * PAD);
        let fresh = lines_that_fit(TOP - header_height);
        let mut start = 0;
        while start < total {
            let fit = lines_that_fit(self.y);
            let remaining = total - start;
            if remaining > fit && (fit == 0 || remaining <= fresh) {
                // Whole rows are not split when a fresh page holds them.
                self.new_page();
                if let Some(h) = header {
                    self.draw_cells(columns, h, 0..row_lines(h), true)?;
                }
                continue;
            }
            // Progress is certain: `fit` is at least one line here (a fresh page holds dozens).
            let end = start + remaining.min(fit.max(1));
            self.draw_cells(columns, cells, start..end, shaded)?;
            start = end;
        }
        Ok(())
    }

    /// Lines `range` of a row's cells, framed by thin rules.
    fn draw_cells(
        &mut self,
        columns: &[f64],
        cells: &[Cell],
        range: std::ops::Range<usize>,
        shaded: bool,
    ) -> Result<(), PadesError> {
        let top = self.y;
        let height = range.len() as f64 * LEADING + 2.0 * PAD;
        let bottom = top - height;
        if shaded {
            let _ = writeln!(
                self.page,
                "q 0.93 g {LEFT:.2} {bottom:.2} {CONTENT_WIDTH:.2} {height:.2} re f Q"
            );
        }
        let mut x = LEFT;
        for (column, cell) in columns.iter().zip(cells) {
            for (row, line) in cell.iter().enumerate().skip(range.start).take(range.len()) {
                // The baseline sits a little above the bottom of its line's slot.
                let y = top - PAD - ((row - range.start) as f64 + 1.0) * LEADING + 3.0;
                self.text(x + PAD, y, line)?;
            }
            self.rule(x, top, x, bottom);
            x += column;
        }
        self.rule(x, top, x, bottom);
        self.rule(LEFT, top, LEFT + CONTENT_WIDTH, top);
        self.rule(LEFT, bottom, LEFT + CONTENT_WIDTH, bottom);
        self.y = bottom;
        Ok(())
    }

    /// "n / N" as a `TJ` array and its width at size 1. The font's space is narrow, so each
    /// space is widened by a kern: text extractors then see the spaces the text has.
    fn page_number(&mut self, page: usize, count: usize) -> Result<(String, f64), PadesError> {
        const GAP: f64 = 250.0;
        let mut array = String::from("[");
        let mut width = 0.0;
        let parts = [format!("{page} "), "/ ".to_string(), count.to_string()];
        for (i, part) in parts.iter().enumerate() {
            let (hex, w) = self.glyphs.encode(part)?;
            if i > 0 {
                let _ = write!(array, " -{GAP} ");
                width += GAP / 1000.0;
            }
            array.push_str(&hex);
            width += w;
        }
        array.push(']');
        Ok((array, width))
    }

    /// Adds the footers (now that the page count is known), embeds the font once and writes the
    /// document.
    /// The PDF of the pages drawn, each with its footer: "n / N" bottom-right and, for a
    /// certificate, its `締結証明書ID` bottom-left. `info_title` is the document's /Title.
    fn finish(mut self, id: Option<&str>, info_title: &str) -> Result<Vec<u8>, PadesError> {
        self.pages.push(std::mem::take(&mut self.page));
        let count = self.pages.len();
        let id_hex = match id {
            Some(id) => Some(self.glyphs.encode(&format!("締結証明書ID: {id}"))?.0),
            None => None,
        };
        let mut contents = Vec::with_capacity(count);
        for (i, body) in std::mem::take(&mut self.pages).into_iter().enumerate() {
            let (number, width) = self.page_number(i + 1, count)?;
            let number_x = PAGE_WIDTH - FOOTER_MARGIN - width * FOOTER_SIZE;
            // The ID in the same text, size and place as the stamp on contract pages.
            let id_footer = id_hex.as_ref().map_or(String::new(), |hex| {
                format!("BT 0.25 g /F1 {FOOTER_SIZE} Tf {FOOTER_MARGIN} {FOOTER_MARGIN} Td {hex} Tj ET\n")
            });
            let footer = format!(
                "{id_footer}BT 0.25 g /F1 {FOOTER_SIZE} Tf {number_x:.2} {FOOTER_MARGIN} Td {number} TJ ET\n"
            );
            contents.push(format!("{body}{footer}"));
        }

        let mut doc = NewDocument::new();
        let pages_ref = doc.reserve();
        let font_ref = self.glyphs.embed(&mut doc)?;
        let mut kids = Vec::with_capacity(count);
        for content in contents {
            kids.push(Object::from(add_page(
                &mut doc, pages_ref, font_ref, &content,
            )?));
        }
        let mut tree = Dict::new();
        tree.insert("Type", Object::name("Pages"));
        tree.insert("Count", Object::Integer(kids.len() as i64));
        tree.insert("Kids", kids);
        doc.set(pages_ref, tree)?;
        let mut catalog = Dict::new();
        catalog.insert("Type", Object::name("Catalog"));
        catalog.insert("Pages", pages_ref);
        let root = doc.add(catalog);
        let mut info = Dict::new();
        info.insert("Title", PdfString::from_text(info_title));
        info.insert("Producer", PdfString::from_text("Inkan"));
        let info = doc.add(info);
        Ok(doc.finish(root, Some(info))?)
    }
}

fn add_page(
    doc: &mut NewDocument,
    parent: ObjRef,
    font: ObjRef,
    content: &str,
) -> Result<ObjRef, PadesError> {
    let content = doc.add_stream(Dict::new(), content.as_bytes(), Compression::Flate)?;
    let mut resources = Dict::new();
    crate::appearance::add_font_resource(&mut resources, font);
    let mut page = Dict::new();
    page.insert("Type", Object::name("Page"));
    page.insert("Parent", parent);
    page.insert(
        "MediaBox",
        vec![
            Object::from(0),
            Object::from(0),
            Object::from(PAGE_WIDTH),
            Object::from(PAGE_HEIGHT),
        ],
    );
    page.insert("Resources", resources);
    page.insert("Contents", content);
    Ok(doc.add(page))
}

/// How many lines of a row fit between `top` and the bottom margin.
fn lines_that_fit(top: f64) -> usize {
    let room = top - BOTTOM - 2.0 * PAD;
    if room < LEADING {
        0
    } else {
        (room / LEADING).floor() as usize
    }
}

/// The lines a row of `cells` takes (its tallest cell; at least one).
fn row_lines(cells: &[Cell]) -> usize {
    cells.iter().map(Vec::len).max().unwrap_or(0).max(1)
}

/// Splits a full `line` for wrapping before `next`: at its last space when `next` would
/// continue a word (so English words stay whole), else right here.
fn split_at_space(line: &str, next: char) -> (&str, &str) {
    let continues_word = next.is_ascii_alphanumeric()
        && line
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    match line.rfind(' ') {
        Some(at) if continues_word && at > 0 => (&line[..at], &line[at..]),
        _ => (line, ""),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn font() -> Option<Font> {
        Font::japanese().ok()
    }

    #[test]
    fn control_characters_are_cleaned() {
        assert_eq!(clean("a\nb\u{0}c\td\u{7f}"), "a bc d");
    }

    #[test]
    fn ids_are_checked_and_lowercased() {
        assert_eq!(
            conclusion_id_text(" 7DFD11D5126DB4C1699470984EEC8B02").unwrap(),
            "7dfd11d5126db4c1699470984eec8b02"
        );
        for bad in ["", "7dfd", "7dfd11d5126db4c1699470984eec8b0g", "締結"] {
            assert!(conclusion_id_text(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wrapped_lines_never_exceed_their_column() {
        let Some(font) = font() else { return };
        let mut layout = Layout::new(&font).unwrap();
        let texts = [
            "業務委託契約書（第二版）に関する覚書および個別契約書、ならびに秘密保持契約書",
            "This certificate attests that the documents above were concluded.",
            &"0123456789abcdef".repeat(8),
            "",
            "   ",
        ];
        for text in texts {
            for max in [20.0, 60.0, 140.0] {
                let lines = layout.wrap(text, BODY, max).unwrap();
                let joined: String = lines.concat();
                assert_eq!(
                    joined.replace(' ', ""),
                    text.replace(' ', ""),
                    "nothing lost"
                );
                for line in &lines {
                    let w = layout.width(line).unwrap() * BODY;
                    // A single character wider than the column is the only overflow possible.
                    assert!(
                        w <= max || line.chars().count() == 1,
                        "{line:?}: {w} > {max}"
                    );
                }
            }
        }
        let english = layout
            .wrap("concluded through the operations", BODY, 60.0)
            .unwrap();
        assert!(english.iter().all(|l| !l.starts_with(' ')), "{english:?}");
        assert!(english.contains(&"concluded".to_string()), "{english:?}");
    }
}
