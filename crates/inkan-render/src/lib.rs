//! Server-side page previews: a PDF page rendered to a PNG image.
//!
//! The web UI shows contract pages as plain `<img>` tags, so the browser needs no CDN and no
//! JavaScript PDF library, and what a signer sees is exactly what the server rendered.
//!
//! Rendering is done by [hayro](https://docs.rs/hayro), a pure Rust rasterizer (no C library, no
//! system fonts needed for most files). Its default features are kept on purpose:
//! - `embed-fonts` ships substitutes for the 14 standard fonts (Helvetica, Times, Courier, …),
//!   which PDFs may use without embedding them;
//! - `embed-cmaps` ships the predefined CJK CMaps (`UniJIS-UCS2-H`, `90ms-RKSJ-H`, …) and the
//!   `Adobe-Japan1-UCS2` map, which is how a character code of a non-embedded Japanese font is
//!   turned into a Unicode character.
//!
//! # Japanese fonts that are not embedded
//! hayro embeds no CJK font. For a Type 0 font that is not embedded (e.g. `/HeiseiKakuGo-W5` with
//! `UniJIS-UCS2-H`, as older Japanese software writes), hayro asks us for a fallback font and,
//! with its default resolver, would get a Latin standard font without any kanji: the text would
//! silently disappear from the preview. So this crate answers such requests with the system's
//! Japanese font, the same one `inkan-pades` uses for appearances: the file the process chose
//! (`inkan_domain::font::choose`: the `font` setting, `INKAN_FONT`), else Debian's `fonts-ipaexfont-gothic` (IPAexGothic). hayro maps each character through
//! Unicode into that font, so the glyphs are right (the typeface is IPAexGothic whatever the PDF
//! asked for: a Mincho font shows as Gothic). When no Japanese font is installed, rendering still
//! succeeds but that text is left out of the image: the page is drawn without it.
//!
//! # Robustness
//! The input comes from users, so neither function panics: hayro's calls run under
//! [`std::panic::catch_unwind`] and a panic becomes [`RenderError::Failed`] (the default panic
//! hook still prints its message to stderr). The output size is bounded (see [`render_page`]).
//! hayro repairs damaged files the way viewers do (a broken xref is rebuilt by scanning), but a
//! file cut short (no `startxref` in its last 1024 bytes) is refused rather than shown with only
//! the pages that survived.
//! Rendering is CPU-bound and synchronous: call it from a blocking thread
//! (`tokio::task::spawn_blocking`), not from an async task.
//!
//! Output is deterministic on a given machine (same input, same PNG bytes), so images can be
//! cached by (document hash, page, width).
#![doc = include_str!("../README.md")]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};

use hayro::hayro_interpret::font::{FallbackFontQuery, FontData, FontQuery};
use hayro::hayro_interpret::hayro_cmap::CidFamily;
use hayro::hayro_interpret::util::TransformExt;
use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::page::Page;
use hayro::hayro_syntax::{LoadPdfError, Pdf};
use hayro::kurbo::Affine;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::vello_cpu::{Pixmap, RasterizerSettings, RenderContext, Resources, TargetInit};
use hayro::{RenderCache, RenderSettings};

#[cfg(test)]
mod test_pdfs;
mod text;

pub use text::MAX_PAGE_TEXT_CHARS;

/// The smallest width a caller can ask for: below it a contract page is unreadable anyway.
pub const MIN_WIDTH_PX: u32 = 200;
/// The largest width a caller can ask for: enough for a sharp full-screen page on a HiDPI screen.
pub const MAX_WIDTH_PX: u32 = 2400;
/// The most pixels one image may have (an A4 page at 2400 px wide is about 2400 × 3394): a page
/// with a huge or very tall box would otherwise cost gigabytes of memory; its width is reduced
/// instead.
pub const MAX_PIXELS: u64 = 2400 * 3400;
/// The longest side in pixels, whatever the aspect ratio (hayro's canvas is limited to u16 sides).
const MAX_SIDE_PX: u32 = 16_384;

/// One rendered page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPage {
    /// The PNG file (8-bit RGB, opaque: the page is painted on white).
    pub png: Vec<u8>,
    /// The image's width in pixels.
    pub width_px: u32,
    /// The image's height in pixels.
    pub height_px: u32,
}

/// The size of a page as it is displayed: its crop box (within its media box), with the page's
/// rotation applied, so a landscape page rotated by 90° is reported as portrait and vice versa.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageSize {
    /// Width in PDF points (1/72 inch).
    pub width_pt: f64,
    /// Height in PDF points (1/72 inch).
    pub height_pt: f64,
}

/// Why a page could not be rendered. The messages are English; callers translate them for users.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The bytes are not a PDF, or one too damaged to be read.
    #[error("not a readable PDF: {0}")]
    NotAPdf(String),
    /// The PDF needs a password (or uses an encryption hayro does not support). A PDF encrypted
    /// with an empty user password (only restricting printing, copying, …) renders normally.
    #[error("the PDF is encrypted and cannot be shown without its password")]
    Encrypted,
    /// The page number is 0 or past the last page (pages are numbered from 1).
    #[error("page {page} does not exist: the document has {pages} page(s)")]
    NoSuchPage {
        /// The page asked for (1-based).
        page: u32,
        /// How many pages the document has.
        pages: u32,
    },
    /// The PDF was read but the page could not be rendered or encoded.
    #[error("the page could not be rendered: {0}")]
    Failed(String),
}

/// The displayed size of every page, in order.
pub fn page_sizes(pdf: &[u8]) -> Result<Vec<PageSize>, RenderError> {
    guarded(|| Ok(load(pdf)?.pages().iter().map(displayed_size).collect()))
}

/// A page's displayed size (crop box, rotation applied).
fn displayed_size(page: &Page<'_>) -> PageSize {
    let (width, height) = page.render_dimensions();
    PageSize {
        width_pt: f64::from(width),
        height_pt: f64::from(height),
    }
}

/// What a page image needs beside its pixels: its size (to lay fields over it) and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct PageOutline {
    pub size: PageSize,
    /// The page's text (see the `text` module for how it is read): the image's text alternative,
    /// for readers who cannot see it. Empty for a page without text (a scan); cut at
    /// [`MAX_PAGE_TEXT_CHARS`] characters.
    pub text: String,
}

/// The size and text of every page, in order, from one reading of the file.
pub fn page_outlines(pdf: &[u8]) -> Result<Vec<PageOutline>, RenderError> {
    let cjk_font = japanese_font();
    guarded(|| {
        let doc = load(pdf)?;
        Ok(doc
            .pages()
            .iter()
            .map(|page| PageOutline {
                size: displayed_size(page),
                text: text::page_text(page, interpreter_settings(cjk_font.clone())),
            })
            .collect())
    })
}

/// Renders one page (`page` is 1-based) to a PNG `width_px` wide.
///
/// `width_px` is clamped to [`MIN_WIDTH_PX`]`..=`[`MAX_WIDTH_PX`]; the height follows the page's
/// aspect ratio. For a page so large or so tall that the image would exceed [`MAX_PIXELS`] (or
/// 16384 px on a side), the width is reduced further, below [`MIN_WIDTH_PX`] if need be: the
/// returned `width_px`/`height_px` are the real size of the image.
pub fn render_page(pdf: &[u8], page: u32, width_px: u32) -> Result<RenderedPage, RenderError> {
    render_page_with(pdf, page, width_px, japanese_font())
}

/// [`render_page`] with the font used for non-embedded CJK text given explicitly, so that the
/// tests can show what happens without one.
fn render_page_with(
    pdf: &[u8],
    page: u32,
    width_px: u32,
    cjk_font: Option<FontData>,
) -> Result<RenderedPage, RenderError> {
    guarded(|| {
        let doc = load(pdf)?;
        let pages = doc.pages();
        let count = u32::try_from(pages.len()).unwrap_or(u32::MAX);
        let index = page
            .checked_sub(1)
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < pages.len())
            .ok_or(RenderError::NoSuchPage { page, pages: count })?;
        let page = &pages[index];
        rasterize(page, width_px, cjk_font)
    })
}

/// Runs `f`, turning a panic inside hayro into [`RenderError::Failed`]: a malformed upload must
/// never take a server thread down.
fn guarded<T>(f: impl FnOnce() -> Result<T, RenderError>) -> Result<T, RenderError> {
    // AssertUnwindSafe: nothing captured by `f` outlives the call in a broken state (every hayro
    // object is created and dropped inside it).
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(RenderError::Failed(format!("the renderer crashed: {what}")))
    })
}

/// Parses the document (hayro reads lazily: this resolves the xref and the page tree only).
fn load(pdf: &[u8]) -> Result<Pdf, RenderError> {
    if pdf.is_empty() {
        return Err(RenderError::NotAPdf("the file is empty".into()));
    }
    // Readers accept the header anywhere in the first 1024 bytes; without it hayro would still
    // try to rebuild a document from any `obj` it finds, which is not what a garbage upload is.
    if !pdf[..pdf.len().min(1024)].windows(5).any(|w| w == b"%PDF-") {
        return Err(RenderError::NotAPdf("no %PDF- header".into()));
    }
    // A PDF ends with `startxref` (then the offset and %%EOF); readers look for it in the last
    // 1024 bytes. Without it the file was cut short (an interrupted upload): hayro would rebuild
    // whatever pages survive, and showing page 1 of a contract whose rest is missing as if it
    // were the whole document is worse than an error.
    if !pdf[pdf.len().saturating_sub(1024)..]
        .windows(9)
        .any(|w| w == b"startxref")
    {
        return Err(RenderError::NotAPdf(
            "no startxref at its end: the file is truncated".into(),
        ));
    }
    // hayro wants owned data; one copy of the file is cheap next to rendering it.
    Pdf::new(pdf.to_vec()).map_err(|e| match e {
        LoadPdfError::Decryption(_) => RenderError::Encrypted,
        LoadPdfError::Invalid => RenderError::NotAPdf(
            "its structure (cross-reference table, page tree) could not be read; the file may be damaged or truncated"
                .into(),
        ),
    })
}

/// The image size for a page of `width_pt` × `height_pt` asked at `requested` pixels wide.
fn output_size(width_pt: f64, height_pt: f64, requested: u32) -> (u32, u32) {
    let aspect = height_pt / width_pt;
    let width = f64::from(requested.clamp(MIN_WIDTH_PX, MAX_WIDTH_PX))
        // width × (width × aspect) ≤ MAX_PIXELS
        .min((MAX_PIXELS as f64 / aspect).sqrt())
        .min(f64::from(MAX_SIDE_PX) / aspect);
    // `as` saturates (and maps NaN to 0); the caller has checked that the size is finite.
    let width_px = (width.floor() as u32).clamp(1, MAX_SIDE_PX);
    let height_px = ((f64::from(width_px) * aspect).round() as u32).clamp(1, MAX_SIDE_PX);
    (width_px, height_px)
}

fn rasterize(
    page: &Page<'_>,
    requested_width: u32,
    cjk_font: Option<FontData>,
) -> Result<RenderedPage, RenderError> {
    let (width_pt, height_pt) = page.render_dimensions();
    let (width_pt, height_pt) = (f64::from(width_pt), f64::from(height_pt));
    // hayro gives at least 1 pt per side; a box of 1e39 pt parses as infinity.
    if !(width_pt.is_finite() && height_pt.is_finite() && width_pt > 0.0 && height_pt > 0.0) {
        return Err(RenderError::Failed(format!(
            "the page has an invalid size ({width_pt} × {height_pt} pt)"
        )));
    }
    let (width_px, height_px) = output_size(width_pt, height_pt, requested_width);
    let (w16, h16) = match (u16::try_from(width_px), u16::try_from(height_px)) {
        (Ok(w), Ok(h)) => (w, h),
        _ => return Err(RenderError::Failed("the image would be too large".into())),
    };

    // Not `hayro::render`: it truncates `points × scale` to whole pixels (800 px could come out
    // 799), while the caller asked for an exact width. So scale to the exact pixel size here,
    // after hayro's own page transform (y axis down, crop box offset, /Rotate).
    let transform = Affine::scale_non_uniform(
        f64::from(width_px) / width_pt,
        f64::from(height_px) / height_pt,
    ) * page.initial_transform(true).to_kurbo();
    let settings = interpreter_settings(cjk_font);
    let cache = RenderCache::new();
    let mut ctx = RenderContext::new(w16, h16);
    hayro::render_into(
        page,
        &cache,
        &settings,
        &RenderSettings::default(),
        &mut ctx,
        transform,
    );
    ctx.flush();
    let mut pixmap = Pixmap::new(w16, h16);
    ctx.render_with(
        &mut pixmap,
        &mut Resources::default(),
        RasterizerSettings {
            // PDF pages are transparent; paper is white.
            target_init: TargetInit::Clear(WHITE),
            ..RasterizerSettings::default()
        },
    );
    let png = pixmap
        .into_png()
        .map_err(|e| RenderError::Failed(format!("PNG encoding failed: {e}")))?;
    Ok(RenderedPage {
        png,
        width_px,
        height_px,
    })
}

/// hayro's settings: our font callback; the CMap resolver stays hayro's default (its embedded
/// predefined CMaps).
fn interpreter_settings(cjk_font: Option<FontData>) -> InterpreterSettings {
    InterpreterSettings {
        font_resolver: Arc::new(move |query| resolve_font(query, cjk_font.as_ref())),
        ..InterpreterSettings::default()
    }
}

/// hayro's font callback: the standard 14 fonts from hayro's embedded substitutes; a non-embedded
/// Japanese (CJK) font from the system's Japanese font; any other non-embedded font from the
/// closest standard font (what hayro does by default).
fn resolve_font(query: &FontQuery, cjk_font: Option<&FontData>) -> Option<(FontData, u32)> {
    match query {
        FontQuery::Standard(standard) => Some(standard.get_font_data()),
        FontQuery::Fallback(fallback) => match cjk_font {
            Some(font) if wants_cjk_font(fallback) => Some((font.clone(), 0)),
            _ => Some(fallback.pick_standard_font().get_font_data()),
        },
    }
}

/// Whether a missing font is a CJK one: a CID font over a CJK character collection (what
/// Japanese PDFs use), or a font whose name says so (`MS-Mincho`, `HeiseiMin-W3`, a name written
/// in Japanese, …): hayro maps such text through Unicode, so any font with the characters works.
/// IPAexGothic also covers the common kanji of Chinese text, and has no Hangul.
fn wants_cjk_font(query: &FallbackFontQuery) -> bool {
    if let Some(collection) = &query.character_collection {
        if matches!(
            collection.family,
            CidFamily::AdobeJapan1
                | CidFamily::AdobeGB1
                | CidFamily::AdobeCNS1
                | CidFamily::AdobeKorea1
        ) {
            return true;
        }
    }
    const JAPANESE_NAMES: &[&str] = &[
        "mincho",
        "gothic",
        "heisei",
        "kozuka",
        "ryumin",
        "hiragino",
        "meiryo",
        "yugoth",
        "yumin",
        "ipaex",
        "ipag",
        "ipam",
        "takao",
        "kakugo",
        "marugo",
        "sourcehan",
        "notosanscjk",
        "notoserifcjk",
    ];
    [
        &query.post_script_name,
        &query.font_name,
        &query.font_family,
    ]
    .into_iter()
    .flatten()
    .any(|name| {
        // hayro shows a name that is not UTF-8 (Shift_JIS, as Japanese Word writes
        // ＭＳ 明朝) as "{non-ascii key}".
        let name = name.to_ascii_lowercase().replace([' ', '-', '_'], "");
        !name.is_ascii()
            || name.contains("{nonasciikey}")
            || JAPANESE_NAMES.iter().any(|n| name.contains(n))
    })
}

/// The Japanese font, read once per process: the one chosen (the `font` setting, `INKAN_FONT`),
/// else the first system font found (the same one `inkan-pades` draws with:
/// [`inkan_domain::font::japanese_font_path`]).
fn japanese_font() -> Option<FontData> {
    static FONT: OnceLock<Option<FontData>> = OnceLock::new();
    FONT.get_or_init(|| {
        let path = inkan_domain::font::japanese_font_path(std::path::Path::exists)?;
        let data: FontData = Arc::new(std::fs::read(path).ok()?);
        Some(data)
    })
    .clone()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn dark_pixels(png_bytes: &[u8]) -> usize {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = info.color_type.samples();
        buf[..info.buffer_size()]
            .chunks(channels)
            .filter(|px| px[..3].iter().map(|&c| u32::from(c)).sum::<u32>() < 3 * 128)
            .count()
    }

    #[test]
    fn same_page_twice_gives_identical_png_bytes() {
        let pdf = inkan_testkit::validators::sample_pdf(2);
        let a = render_page(&pdf, 1, 640).unwrap();
        let b = render_page(&pdf, 1, 640).unwrap();
        assert_eq!(a, b, "rendering must be deterministic: previews are cached");
    }

    #[test]
    fn a_panic_becomes_an_error() {
        let result: Result<(), _> = guarded(|| panic!("boom"));
        match result {
            Err(RenderError::Failed(message)) => assert!(message.contains("boom"), "{message}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn output_size_clamps_and_caps() {
        // A4 portrait.
        assert_eq!(output_size(595.0, 842.0, 800), (800, 1132));
        assert_eq!(output_size(595.0, 842.0, 10), (200, 283));
        assert_eq!(output_size(595.0, 842.0, 100_000).0, 2400);
        // A 200-inch square: the width is capped by the pixel budget.
        let (w, h) = output_size(14_400.0, 14_400.0, 2400);
        assert!(u64::from(w) * u64::from(h) <= MAX_PIXELS, "{w}×{h}");
        // A very long strip: the height is capped, the width shrinks below the minimum.
        let (w, h) = output_size(10.0, 14_400.0, 800);
        assert!(h <= MAX_SIDE_PX && w >= 1 && u64::from(w) * u64::from(h) <= MAX_PIXELS);
        // A very wide strip.
        let (w, h) = output_size(14_400.0, 1.0, 2400);
        assert_eq!((w, h), (2400, 1));
    }

    /// What hayro does with the non-embedded Japanese font when we have no CJK font to give it:
    /// the render succeeds and the text is simply missing (hayro falls back to a Latin standard
    /// font without kanji). This is why `render_page` supplies the system's Japanese font.
    #[test]
    fn without_a_cjk_font_japanese_text_is_left_out() {
        let pdf = test_pdfs::japanese_pdf();
        let page = render_page_with(&pdf, 1, 600, None).unwrap();
        assert_eq!(
            dark_pixels(&page.png),
            0,
            "no glyphs are drawn without a CJK font"
        );
    }

    fn read_texts(pdf: &[u8]) -> Result<Vec<String>, RenderError> {
        Ok(page_outlines(pdf)?.into_iter().map(|o| o.text).collect())
    }

    #[test]
    fn the_text_of_a_page_is_read_in_order_with_its_lines() {
        let texts = read_texts(&test_pdfs::japanese_pdf()).unwrap();
        assert_eq!(texts, vec![format!("{0}\n{0}", test_pdfs::TEXT)]);
        // A Latin page written by the test kit (Helvetica, WinAnsi): words and their gaps.
        let texts = read_texts(&inkan_testkit::validators::sample_pdf(2)).unwrap();
        assert_eq!(texts, vec!["Contract page 1", "Contract page 2"]);
    }

    #[test]
    fn text_is_cut_at_its_bound_and_garbage_is_an_error() {
        let many = "A".repeat(MAX_PAGE_TEXT_CHARS * 2);
        let content = format!("BT /F1 1 Tf 0 800 Td ({many}) Tj ET");
        let pdf = test_pdfs::build(&[
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
             /Resources << /Font << /F1 5 0 R >> >> >>"
                .to_string(),
            format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len()
            ),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
                .to_string(),
        ]);
        let texts = read_texts(&pdf).unwrap();
        assert_eq!(texts[0].chars().count(), MAX_PAGE_TEXT_CHARS);
        assert!(matches!(
            read_texts(b"not a pdf"),
            Err(RenderError::NotAPdf(_))
        ));
    }

    #[test]
    fn japanese_font_names_are_recognised() {
        let query = |name: &str| FallbackFontQuery {
            post_script_name: Some(name.into()),
            ..FallbackFontQuery::default()
        };
        assert!(wants_cjk_font(&query("MS-Mincho")));
        assert!(wants_cjk_font(&query("HeiseiKakuGo-W5")));
        assert!(wants_cjk_font(&query("ＭＳゴシック")));
        assert!(wants_cjk_font(&query("{non-ascii key}")));
        assert!(!wants_cjk_font(&query("Arial-BoldMT")));
        assert!(!wants_cjk_font(&query("TimesNewRomanPSMT")));
    }
}
