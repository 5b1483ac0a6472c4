//! PDF back end: draws the layout with krilla on one 288×432 pt page. Glyphs are placed from
//! the layout's own runs (glyph ids and advances), so no shaping happens here, and krilla
//! embeds a subset of each font used together with a ToUnicode map for text extraction.

use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect, Transform};
use krilla::page::PageSettings;
use krilla::paint::{Fill, LineJoin, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use krilla::{Document, SerializeSettings};

use crate::LabelError;
use crate::fonts::{EMBOLDEN, FontId, FontSet};
use crate::layout::{DOTS_PER_POINT, Ink, Layout, PAGE_HEIGHT, PAGE_WIDTH, Rect as Filled, TextItem};

/// krilla's handles to the bundled fonts, made once and cloned (cheaply) into every document:
/// creating one parses and hashes the font.
pub(crate) struct PdfFonts([Font; 3]);

impl PdfFonts {
    pub(crate) fn new(fonts: &FontSet) -> Self {
        PdfFonts(FontId::ALL.map(|id| Font::new(fonts.face(id).data.into(), 0).expect("bundled font loads in krilla")))
    }

    fn get(&self, id: FontId) -> Font {
        self.0[id as usize].clone()
    }
}

pub(crate) fn render(layout: &Layout, fonts: &PdfFonts) -> Result<Vec<u8>, LabelError> {
    // Deflating the ~18 KB content stream (mostly barcode and QR rectangles) took longer than
    // all the rest of the PDF; left plain, a label is ~40 KB instead of ~25 KB. Fonts are
    // still compressed.
    let mut document =
        Document::new_with(SerializeSettings { compress_content_streams: false, ..SerializeSettings::default() });
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).expect("page size is positive");
    let mut page = document.start_page_with(settings);
    let mut surface = page.surface();

    fill_rects(&mut surface, layout.filled_rects());
    draw_texts(&mut surface, &layout.texts, fonts);
    surface.finish();
    page.finish();
    document.finish().map_err(|e| LabelError::Pdf(format!("{e:?}")))
}

/// Fills every rectangle as one path, one fill for hundreds of bars and modules. They are
/// drawn in printer dots, as the other formats place them; whole numbers also keep the content
/// stream short.
pub(crate) fn fill_rects<'a>(surface: &mut Surface<'_>, rects: impl Iterator<Item = &'a Filled>) {
    let mut path = PathBuilder::new();
    for r in rects {
        let [left, top, right, bottom] = r.dots().map(|d| d as f32);
        if let Some(rect) = Rect::from_ltrb(left, top, right, bottom) {
            path.push_rect(rect);
        }
    }
    if let Some(path) = path.finish() {
        let to_points = 1.0 / DOTS_PER_POINT;
        surface.push_transform(&Transform::from_scale(to_points, to_points));
        surface.set_fill(Some(Fill::default()));
        surface.draw_path(&path);
        surface.pop();
    }
}

/// Draws each text item from its runs' own glyph ids and advances.
pub(crate) fn draw_texts(surface: &mut Surface<'_>, texts: &[TextItem], fonts: &PdfFonts) {
    let mut glyphs: Vec<KrillaGlyph> = Vec::new();
    for item in texts {
        let color = match item.ink {
            Ink::Black => luma::Color::black(),
            Ink::White => luma::Color::white(),
        };
        surface.set_fill(Some(Fill { paint: color.into(), ..Fill::default() }));
        let mut x = item.start_x();
        for run in &item.line.runs {
            surface.set_stroke(run.embolden.then(|| Stroke {
                paint: color.into(),
                width: EMBOLDEN * item.size,
                line_join: LineJoin::Round,
                ..Stroke::default()
            }));
            glyphs.clear();
            glyphs.extend(run.glyphs.iter().map(|g| {
                KrillaGlyph::new(GlyphId::new(u32::from(g.id)), g.advance, 0.0, 0.0, 0.0, g.text.clone(), None)
            }));
            surface.draw_glyphs(
                Point::from_xy(x, item.baseline),
                &glyphs,
                fonts.get(run.font),
                &run.text,
                item.size,
                false,
            );
            x += run.width * item.size;
        }
    }
}
