//! The text of a page, as a screen reader should hear it: the text alternative of a page image.
//!
//! hayro interprets the page as for rendering, but into a device that draws nothing and keeps,
//! for each glyph, its Unicode text (from the font's `ToUnicode` map, its encoding or, for a
//! non-embedded Japanese font, its predefined CMap) and where it lands on the page. Glyphs are
//! taken in the order the page draws them, which is reading order for what word processors and
//! PDF libraries write; a new line starts where the baseline moves, a space where a gap opens on
//! the same line. Text a font cannot map to Unicode is left out rather than guessed.

use hayro::hayro_interpret::font::GlyphRun;
use hayro::hayro_interpret::hayro_cmap::BfString;
use hayro::hayro_interpret::{
    interpret_page, BlendMode, ClipPath, Context, Device, DrawMode, DrawProps, Image,
    ImageDrawProps, InterpreterCache, SoftMask,
};
use hayro::hayro_syntax::page::Page;
use hayro::kurbo::{BezPath, Point, Rect};

use hayro::hayro_interpret::util::TransformExt;

/// The most characters kept of one page: a text alternative, not an export; a page of small
/// print has about 3,000.
pub const MAX_PAGE_TEXT_CHARS: usize = 20_000;

/// hayro places every glyph in a space of 1000 units per em (`hayro_font::UNITS_PER_EM`, not
/// re-exported): a glyph's transform scales by 1/1000 on top of the text matrix.
const GLYPH_UNITS_PER_EM: f64 = 1000.0;

/// Collects the text of the glyphs drawn, in page coordinates (points, y down).
#[derive(Default)]
struct TextDevice {
    text: String,
    chars: usize,
    /// Where the last glyph was drawn and how tall its text is, to tell line breaks and gaps.
    last: Option<(Point, f64)>,
}

impl TextDevice {
    fn push(&mut self, at: Point, size: f64, text: &str) {
        if self.chars >= MAX_PAGE_TEXT_CHARS {
            return;
        }
        if let Some((last, last_size)) = self.last {
            let height = size.max(last_size).max(1.0);
            if (at.y - last.y).abs() > height * 0.5 {
                self.text.push('\n');
            } else if at.x - last.x > height * 1.5 && !self.text.ends_with(' ') {
                // The glyph origin moved more than a wide glyph's advance: a gap, not the next
                // character of the same word.
                self.text.push(' ');
            }
        }
        self.text.push_str(text);
        self.chars += text.chars().count();
        self.last = Some((at, size));
    }
}

impl<'a> Device<'a> for TextDevice {
    fn draw_path(&mut self, _: &BezPath, _: DrawProps<'a>, _: &DrawMode) {}
    fn push_clip_path(&mut self, _: &ClipPath) {}
    fn push_transparency_group(&mut self, _: f32, _: Option<SoftMask<'a>>, _: BlendMode) {}
    fn draw_glyph_run(&mut self, run: &GlyphRun<'_, 'a>, props: DrawProps<'a>, _: &DrawMode) {
        for glyph in run.glyphs() {
            let Some(unicode) = glyph.as_unicode() else {
                continue;
            };
            let placed = props.transform * glyph.transform();
            let at = placed * Point::ORIGIN;
            // The glyph's em on the page (its font size there).
            let size = placed.determinant().abs().sqrt() * GLYPH_UNITS_PER_EM;
            match unicode {
                BfString::Char(c) if !c.is_control() => {
                    let mut buf = [0u8; 4];
                    self.push(at, size, c.encode_utf8(&mut buf));
                }
                BfString::Char(_) => {}
                BfString::String(s) => {
                    let clean: String = s.chars().filter(|c| !c.is_control()).collect();
                    if !clean.is_empty() {
                        self.push(at, size, &clean);
                    }
                }
            }
        }
    }
    fn draw_image(&mut self, _: Image<'a, '_>, _: ImageDrawProps<'a>) {}
    fn pop_clip(&mut self) {}
    fn pop_transparency_group(&mut self) {}
}

/// The text of `page`, lines joined by `\n`, trimmed; empty for a page with no text (a scan).
pub(crate) fn page_text(
    page: &Page<'_>,
    settings: hayro::hayro_interpret::InterpreterSettings,
) -> String {
    let (width, height) = page.render_dimensions();
    let target = Rect::new(0.0, 0.0, f64::from(width), f64::from(height));
    let cache = InterpreterCache::new();
    let mut context = Context::new(
        page.initial_transform(true).to_kurbo(),
        target,
        &cache,
        page.xref(),
        settings,
    );
    let mut device = TextDevice::default();
    interpret_page(page, &mut context, &mut device);
    device
        .text
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}
