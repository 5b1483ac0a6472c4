//! The label's font set: parsing the embedded fonts once, splitting text into runs by glyph
//! coverage, and measuring runs from the fonts' horizontal advances.
//!
//! No single bundled font covers both Turkish Latin and Hangul, so every string is cut into
//! runs that each use one font that has all of the run's glyphs. There is no shaping beyond
//! one glyph per character: Latin and precomposed Hangul syllables need none, and it keeps
//! the three back ends on exactly the same glyphs and advances.

use std::ops::Range;

use ttf_parser::{Face, GlyphId};

/// Nanum Gothic, for Hangul (SIL Open Font License 1.1, see `fonts/OFL-NanumGothic.txt`).
const NANUM_GOTHIC: &[u8] = include_bytes!("../fonts/NanumGothic.ttf");

/// Character appended to text cut short to fit its box.
pub(crate) const ELLIPSIS: char = '…';

/// Outline stroke width, in ems, that makes a regular face look bold.
pub(crate) const EMBOLDEN: f32 = 0.04;

/// Regular or bold text. Nanum Gothic has one weight, so bold Hangul is drawn regular.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Weight {
    Regular,
    Bold,
}

/// One of the bundled fonts; the discriminant indexes [`FontSet::faces`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FontId {
    NotoRegular = 0,
    NotoBold = 1,
    Nanum = 2,
}

impl FontId {
    pub(crate) const ALL: [FontId; 3] = [FontId::NotoRegular, FontId::NotoBold, FontId::Nanum];

    /// Fonts to try, in order, for a character of the given weight.
    fn fallbacks(weight: Weight) -> [FontId; 2] {
        match weight {
            Weight::Regular => [FontId::NotoRegular, FontId::Nanum],
            Weight::Bold => [FontId::NotoBold, FontId::Nanum],
        }
    }
}

/// A parsed font and the metrics the layout needs.
pub(crate) struct FontFace {
    pub(crate) data: &'static [u8],
    pub(crate) face: Face<'static>,
    /// Font units per em, as f32 because every use divides by it.
    pub(crate) units_per_em: f32,
}

impl FontFace {
    fn parse(data: &'static [u8]) -> Self {
        // The fonts are compiled in: failing to parse them is a build defect, not an input error.
        let face = Face::parse(data, 0).expect("bundled font parses");
        let units_per_em = f32::from(face.units_per_em());
        FontFace { data, face, units_per_em }
    }

    fn glyph(&self, c: char) -> Option<GlyphId> {
        self.face.glyph_index(c).filter(|g| g.0 != 0)
    }

    /// Advance of a glyph in ems.
    fn advance(&self, glyph: GlyphId) -> f32 {
        f32::from(self.face.glyph_hor_advance(glyph).unwrap_or(0)) / self.units_per_em
    }
}

/// A glyph placed in a run.
#[derive(Clone, Debug)]
pub(crate) struct PlacedGlyph {
    pub(crate) id: u16,
    /// Horizontal advance in ems.
    pub(crate) advance: f32,
    /// Bytes of the run's text this glyph stands for.
    pub(crate) text: Range<usize>,
}

/// A stretch of text drawn with one font.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub(crate) font: FontId,
    pub(crate) text: String,
    pub(crate) glyphs: Vec<PlacedGlyph>,
    /// Sum of the glyph advances, in ems.
    pub(crate) width: f32,
    /// Bold was asked for but the font has one weight: thicken the outlines when drawing.
    pub(crate) embolden: bool,
}

/// A single line of text split into runs, ready to draw at any size.
#[derive(Clone, Debug)]
pub(crate) struct ShapedLine {
    pub(crate) text: String,
    pub(crate) runs: Vec<Run>,
    /// Width in ems.
    pub(crate) width: f32,
}

/// The bundled fonts, parsed once.
pub(crate) struct FontSet {
    faces: [FontFace; 3],
}

impl FontSet {
    pub(crate) fn new() -> Self {
        FontSet {
            faces: [
                FontFace::parse(notosans::REGULAR_TTF),
                FontFace::parse(notosans::BOLD_TTF),
                FontFace::parse(NANUM_GOTHIC),
            ],
        }
    }

    pub(crate) fn face(&self, id: FontId) -> &FontFace {
        &self.faces[id as usize]
    }

    /// Picks the font and glyph for `c`. Spaces, digits and punctuation stay in the current
    /// run's font when it has them, so a Korean address is not cut into a run per word.
    fn pick(&self, c: char, weight: Weight, current: Option<FontId>) -> (FontId, GlyphId) {
        if let Some(font) = current.filter(|_| !c.is_alphabetic())
            && let Some(glyph) = self.face(font).glyph(c)
        {
            return (font, glyph);
        }
        let fallbacks = FontId::fallbacks(weight);
        for font in fallbacks {
            if let Some(glyph) = self.face(font).glyph(c) {
                return (font, glyph);
            }
        }
        // No bundled font has it: draw the primary font's "missing glyph" box.
        (fallbacks[0], GlyphId(0))
    }

    /// Splits `text` into runs by font coverage and measures it.
    pub(crate) fn shape(&self, text: &str, weight: Weight) -> ShapedLine {
        let mut runs: Vec<Run> = Vec::new();
        for c in text.chars() {
            let current = runs.last().map(|r| r.font);
            let (font, glyph) = self.pick(c, weight, current);
            if current != Some(font) {
                runs.push(Run {
                    font,
                    text: String::new(),
                    glyphs: Vec::new(),
                    width: 0.0,
                    embolden: weight == Weight::Bold && font == FontId::Nanum,
                });
            }
            let run = runs.last_mut().expect("a run was just pushed");
            let advance = self.face(font).advance(glyph);
            let start = run.text.len();
            run.text.push(c);
            run.glyphs.push(PlacedGlyph { id: glyph.0, advance, text: start..run.text.len() });
            run.width += advance;
        }
        let width = runs.iter().map(|r| r.width).sum();
        ShapedLine { text: text.to_owned(), runs, width }
    }

    /// Shapes `text` to fit `max_width` points: at `size` if it fits, else shrunk down to
    /// `min_size`, else cut short with an ellipsis at `min_size`. Returns the line and size.
    pub(crate) fn fit(
        &self,
        text: &str,
        weight: Weight,
        size: f32,
        min_size: f32,
        max_width: f32,
    ) -> (ShapedLine, f32) {
        let line = self.shape(text, weight);
        if line.width * size <= max_width {
            return (line, size);
        }
        let shrunk = max_width / line.width;
        if shrunk >= min_size {
            return (line, shrunk);
        }
        let ellipsis = self.shape(&ELLIPSIS.to_string(), weight).width;
        let budget = max_width / min_size - ellipsis;
        let mut used = 0.0;
        let mut cut = 0;
        let mut run_start = 0;
        'runs: for run in &line.runs {
            for glyph in &run.glyphs {
                if used + glyph.advance > budget {
                    break 'runs;
                }
                used += glyph.advance;
                cut = run_start + glyph.text.end;
            }
            run_start += run.text.len();
        }
        let mut short = line.text[..cut].trim_end().to_owned();
        short.push(ELLIPSIS);
        (self.shape(&short, weight), min_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turkish_uses_noto_and_hangul_uses_nanum() {
        let fonts = FontSet::new();
        let line = fonts.shape("Şükrü 김민준 İğ", Weight::Regular);
        let fonts_used: Vec<(FontId, &str)> = line.runs.iter().map(|r| (r.font, r.text.as_str())).collect();
        assert_eq!(
            fonts_used,
            vec![(FontId::NotoRegular, "Şükrü "), (FontId::Nanum, "김민준 "), (FontId::NotoRegular, "İğ"),]
        );
        assert!(line.runs.iter().flat_map(|r| &r.glyphs).all(|g| g.id != 0));
    }

    #[test]
    fn korean_address_stays_one_run() {
        let fonts = FontSet::new();
        let line = fonts.shape("서울특별시 강남구 테헤란로 152", Weight::Bold);
        assert_eq!(line.runs.len(), 1);
        assert_eq!(line.runs[0].font, FontId::Nanum);
    }

    #[test]
    fn width_is_sum_of_advances() {
        let fonts = FontSet::new();
        let a = fonts.shape("Ankara", Weight::Regular).width;
        let b = fonts.shape("서울", Weight::Regular).width;
        let ab = fonts.shape("Ankara서울", Weight::Regular).width;
        assert!((a + b - ab).abs() < 1e-4);
        assert!(a > 2.0 && b > 1.5);
    }

    #[test]
    fn fit_shrinks_then_truncates() {
        let fonts = FontSet::new();
        let (line, size) = fonts.fit("Ankara", Weight::Regular, 10.0, 6.0, 1000.0);
        assert_eq!((line.text.as_str(), size), ("Ankara", 10.0));

        let natural = fonts.shape("Ankara", Weight::Regular).width * 10.0;
        let (line, size) = fonts.fit("Ankara", Weight::Regular, 10.0, 6.0, natural * 0.8);
        assert_eq!(line.text, "Ankara");
        assert!((6.0..10.0).contains(&size));

        let long = "Büyükdere Caddesi 서울특별시 강남구 ".repeat(10);
        let (line, size) = fonts.fit(&long, Weight::Regular, 10.0, 6.0, 100.0);
        assert_eq!(size, 6.0);
        assert!(line.text.ends_with(ELLIPSIS));
        assert!(line.width * size <= 100.0 + 1e-3);
    }
}
