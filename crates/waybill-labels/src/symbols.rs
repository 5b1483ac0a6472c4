//! Barcode symbols: the Code 128 module pattern of the tracking number (with the same code-set
//! choice spelled out for ZPL printers) and the QR module matrix of the routing payload.

use barcoders::sym::code128::Code128 as Code128Encoder;
use qrcode::bits;
use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::ec;
use qrcode::types::{Color, EcLevel, Version};

use crate::LabelError;

/// A Code 128 symbol.
#[derive(Clone, Debug)]
pub(crate) struct Code128 {
    /// One entry per module, 1 = bar, including start, check and stop characters.
    pub(crate) modules: Vec<u8>,
    /// The same symbol as ZPL `^BC` mode N field data, with explicit start and switch codes
    /// so the printer draws exactly the modules above.
    pub(crate) zpl_data: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CodeSet {
    B,
    C,
}

/// Encodes a tracking number, switching to code set C for long digit runs to keep the
/// symbol short (a digit pair is one character there).
pub(crate) fn code128(data: &str) -> Result<Code128, LabelError> {
    if data.is_empty() {
        return Err(LabelError::EmptyTrackingNumber);
    }
    // Code set B holds printable ASCII; anything else would need FNC4/extended ASCII, which
    // scanners handle inconsistently, and barcoders would read some letters as control codes.
    if let Some(c) = data.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(LabelError::UnencodableTrackingNumber(c));
    }
    let segments = segments(data);
    let mut barcoders_input = String::with_capacity(data.len() + 2 * segments.len());
    let mut zpl_data = String::with_capacity(data.len() + 4 * segments.len());
    for (i, &(set, text)) in segments.iter().enumerate() {
        let (selector, zpl_code) = match (set, i) {
            (CodeSet::B, 0) => ('Ɓ', ">:"),
            (CodeSet::C, 0) => ('Ć', ">;"),
            (CodeSet::B, _) => ('Ɓ', ">6"),
            (CodeSet::C, _) => ('Ć', ">5"),
        };
        barcoders_input.push(selector);
        barcoders_input.push_str(text);
        zpl_data.push_str(zpl_code);
        for c in text.chars() {
            // `^`, `>` and `~` mean something to ZPL, so set B spells them as invocation codes.
            match c {
                '^' => zpl_data.push_str("><"),
                '>' => zpl_data.push_str(">0"),
                '~' => zpl_data.push_str(">="),
                c => zpl_data.push(c),
            }
        }
    }
    let encoder = Code128Encoder::new(&barcoders_input).map_err(|e| LabelError::Barcode(e.to_string()))?;
    Ok(Code128 { modules: encoder.encode(), zpl_data })
}

/// Splits printable ASCII into code set runs. A digit run goes to set C when the saving pays
/// for the switch: 4+ digits at either end (or an all-digit even string), 6+ in the middle.
/// An odd run leaves one digit in set B, next to the neighbouring set B text.
fn segments(data: &str) -> Vec<(CodeSet, &str)> {
    let bytes = data.as_bytes();
    let mut spans: Vec<(CodeSet, usize, usize)> = Vec::new();
    let mut push = |set: CodeSet, start: usize, end: usize| {
        if start == end {
            return;
        }
        match spans.last_mut() {
            Some((last, _, last_end)) if *last == set => *last_end = end,
            _ => spans.push((set, start, end)),
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let digits = bytes[i].is_ascii_digit();
        while i < bytes.len() && bytes[i].is_ascii_digit() == digits {
            i += 1;
        }
        let len = i - start;
        let at_start = start == 0;
        let at_end = i == bytes.len();
        let use_c = digits && (len >= 6 || (len >= 4 && (at_start || at_end)) || (at_start && at_end && len % 2 == 0));
        if !use_c {
            push(CodeSet::B, start, i);
        } else if len % 2 == 0 {
            push(CodeSet::C, start, i);
        } else if at_start {
            push(CodeSet::C, start, i - 1);
            push(CodeSet::B, i - 1, i);
        } else {
            push(CodeSet::B, start, start + 1);
            push(CodeSet::C, start + 1, i);
        }
    }
    spans.into_iter().map(|(set, start, end)| (set, &data[start..end])).collect()
}

/// A QR symbol's codewords, before module placement.
pub(crate) struct QrEncoding {
    version: Version,
    data: Vec<u8>,
    ec: Vec<u8>,
}

/// A QR symbol's dark modules.
#[derive(Clone, Debug)]
pub(crate) struct QrMatrix {
    /// Modules per side, without the quiet zone.
    pub(crate) width: usize,
    /// Row-major, `true` = dark.
    pub(crate) dark: Vec<bool>,
}

const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// Encodes the routing payload at error correction level M (what ZPL `^BQ` is told too), in
/// the smallest version that holds it.
pub(crate) fn qr(payload: &str) -> Result<QrEncoding, LabelError> {
    let too_long = |_| LabelError::QrPayloadTooLong { len: payload.len() };
    let bits = bits::encode_auto(payload.as_bytes(), EcLevel::M).map_err(too_long)?;
    let version = bits.version();
    let (data, ec) = ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).map_err(too_long)?;
    Ok(QrEncoding { version, data, ec })
}

impl QrEncoding {
    /// Modules per side, without the quiet zone.
    pub(crate) fn width(&self) -> usize {
        self.version.width() as usize
    }

    /// Places the modules under each of the eight masks and keeps the one with the lowest
    /// ISO/IEC 18004 penalty. (`QrCode::new` does the same, but its scoring takes most of a
    /// millisecond, longer than the rest of a PDF label.)
    pub(crate) fn matrix(&self) -> QrMatrix {
        let mut canvas = Canvas::new(self.version, EcLevel::M);
        canvas.draw_all_functional_patterns();
        canvas.draw_data(&self.data, &self.ec);
        let width = self.width();
        let dark = MASKS
            .iter()
            .map(|&mask| {
                let mut masked = canvas.clone();
                masked.apply_mask(mask);
                let dark: Vec<bool> = masked.into_colors().into_iter().map(|c| c == Color::Dark).collect();
                (penalty(&dark, width), dark)
            })
            .min_by_key(|(score, _)| *score)
            .map(|(_, dark)| dark)
            .expect("there are eight masks");
        QrMatrix { width, dark }
    }
}

/// The ISO/IEC 18004 mask penalty: runs of 5+ equal modules (N1), 2×2 equal blocks (N2),
/// finder-like 1:1:3:1:1 patterns beside 4 light modules (N3), dark/light imbalance (N4).
fn penalty(dark: &[bool], width: usize) -> u32 {
    const FINDER: [bool; 7] = [true, false, true, true, true, false, true];
    let at = |x: usize, y: usize| dark[y * width + x];
    let mut score = 0;
    let mut line = vec![false; width];
    for vertical in [false, true] {
        for i in 0..width {
            for (j, cell) in line.iter_mut().enumerate() {
                *cell = if vertical { at(i, j) } else { at(j, i) };
            }
            let mut run = 1;
            for j in 1..width {
                if line[j] == line[j - 1] {
                    run += 1;
                    score += match run {
                        5 => 3,
                        6.. => 1,
                        _ => 0,
                    };
                } else {
                    run = 1;
                }
            }
            // Outside the symbol is quiet zone, so light.
            let light = |from: isize, to: isize| (from..to).all(|k| k < 0 || k >= width as isize || !line[k as usize]);
            for j in 0..width.saturating_sub(FINDER.len() - 1) {
                if line[j..j + FINDER.len()] == FINDER {
                    let j = j as isize;
                    if light(j - 4, j) || light(j + 7, j + 11) {
                        score += 40;
                    }
                }
            }
        }
    }
    for y in 1..width {
        for x in 1..width {
            let c = at(x, y);
            if c == at(x - 1, y) && c == at(x, y - 1) && c == at(x - 1, y - 1) {
                score += 3;
            }
        }
    }
    let dark_percent = dark.iter().filter(|&&d| d).count() * 100 / dark.len().max(1);
    score + 10 * (dark_percent.abs_diff(50) / 5) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_pick_set_c_for_long_digit_runs() {
        assert_eq!(segments("WB12"), vec![(CodeSet::B, "WB12")]);
        assert_eq!(segments("WB123456789TR"), vec![(CodeSet::B, "WB1"), (CodeSet::C, "23456789"), (CodeSet::B, "TR")]);
        assert_eq!(segments("1234"), vec![(CodeSet::C, "1234")]);
        assert_eq!(segments("12345"), vec![(CodeSet::C, "1234"), (CodeSet::B, "5")]);
        assert_eq!(segments("AB1234"), vec![(CodeSet::B, "AB"), (CodeSet::C, "1234")]);
        assert_eq!(segments("12"), vec![(CodeSet::C, "12")]);
        assert_eq!(segments("1"), vec![(CodeSet::B, "1")]);
    }

    #[test]
    fn zpl_data_matches_segments() {
        let c = code128("WB123456789TR").unwrap();
        assert_eq!(c.zpl_data, ">:WB1>523456789>6TR");
        let c = code128("A^B>C~").unwrap();
        assert_eq!(c.zpl_data, ">:A><B>0C>=");
    }

    #[test]
    fn module_count_follows_code128_structure() {
        // Start + 13 set B characters + check = 15 characters of 11 modules, stop is 13.
        let c = code128("ABCDEFGHIJKLM").unwrap();
        assert_eq!(c.modules.len(), 15 * 11 + 13);
        // Start C + 6 digit pairs + check.
        let c = code128("123456789012").unwrap();
        assert_eq!(c.modules.len(), 8 * 11 + 13);
    }

    #[test]
    fn penalty_counts_each_rule() {
        // 5×5 all light: 10 runs of 5 (N1 30), 16 blocks (N2 48), 0% dark (N4 100).
        assert_eq!(penalty(&[false; 25], 5), 178);
        // A checkerboard has no runs, no blocks, no finder look-alikes and 13 of 25 dark.
        let checkerboard: Vec<bool> = (0..25).map(|i| (i / 5 + i % 5) % 2 == 0).collect();
        assert_eq!(penalty(&checkerboard, 5), 0);
    }

    #[test]
    fn qr_matrix_has_the_version_size_and_finder_patterns() {
        let encoding = qr("WB1|WB123456789TR|34-KDK-07|IST-KDK|R12|TR|34000 İstanbul").unwrap();
        let matrix = encoding.matrix();
        assert_eq!(matrix.width, encoding.width());
        assert_eq!(matrix.dark.len(), matrix.width * matrix.width);
        // Top-left finder: a dark 7×7 ring around a light ring around a dark 3×3 core.
        let w = matrix.width;
        assert!((0..7).all(|i| matrix.dark[i] && matrix.dark[6 * w + i]));
        assert!(!matrix.dark[w + 1] && matrix.dark[3 * w + 3]);
    }

    #[test]
    fn rejects_what_code128_cannot_carry() {
        assert!(matches!(code128(""), Err(LabelError::EmptyTrackingNumber)));
        assert!(matches!(code128("AŞ1"), Err(LabelError::UnencodableTrackingNumber('Ş'))));
        assert!(matches!(code128("A\tB"), Err(LabelError::UnencodableTrackingNumber('\t'))));
    }
}
