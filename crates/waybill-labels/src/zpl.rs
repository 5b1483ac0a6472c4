//! ZPL back end: the layout as ZPL II for 203 dpi printers (812×1218 dots). Text is UTF-8
//! (`^CI28`) in the printer's scalable font 0 placed on the layout's baselines; boxes are `^GB`;
//! the barcodes are left to the printer (`^BC` Code 128 in mode N with the layout's own code
//! sets, `^BQ` QR at the same module size) so they print at full printer sharpness.

use std::fmt::Write;

use crate::layout::{Align, Ink, Layout, PAGE_HEIGHT_DOTS, PAGE_WIDTH_DOTS, TextItem, to_dots};

pub(crate) fn render(layout: &Layout) -> String {
    let mut out = String::with_capacity(4096);
    // Writing to a String cannot fail, hence the ignored fmt::Results below.
    let _ = writeln!(out, "^XA^CI28^PW{PAGE_WIDTH_DOTS}^LL{PAGE_HEIGHT_DOTS}^LH0,0");

    for r in &layout.boxes {
        let [x, y, right, bottom] = r.dots();
        let (w, h) = (right - x, bottom - y);
        // A border as thick as the box's short side fills it.
        let _ = writeln!(out, "^FO{x},{y}^GB{w},{h},{}^FS", w.min(h));
    }

    for item in &layout.texts {
        text(&mut out, item);
    }

    let bc = &layout.barcode;
    let height = to_dots(bc.height);
    let _ = writeln!(
        out,
        "^FO{},{}^BY{},3,{height}^BCN,{height},N,N,N,N^FD{}^FS",
        to_dots(bc.x),
        to_dots(bc.y),
        bc.module_dots,
        bc.zpl_data
    );

    let qr = &layout.qr;
    let _ = write!(out, "^FO{},{}^BQN,2,{}", to_dots(qr.x), to_dots(qr.y), qr.module_dots);
    // "M" error correction as in the other formats, "A" automatic data mode.
    field_data(&mut out, "MA,", &qr.payload);

    out.push_str("^XZ\n");
    out
}

/// A text field on the layout's baseline (`^FT`), centred or right-aligned in its box by `^FB`.
fn text(out: &mut String, item: &TextItem) {
    let height = to_dots(item.size);
    let y = to_dots(item.baseline);
    match item.align {
        Align::Left => {
            let _ = write!(out, "^FT{},{y}^A0N,{height},{height}", to_dots(item.x));
        }
        Align::Center | Align::Right => {
            let justify = if item.align == Align::Center { 'C' } else { 'R' };
            let _ = write!(
                out,
                "^FT{},{y}^A0N,{height},{height}^FB{},1,0,{justify},0",
                to_dots(item.x),
                to_dots(item.width)
            );
        }
    }
    if item.ink == Ink::White {
        // Field reverse: prints white where it overlaps the black box under it.
        out.push_str("^FR");
    }
    field_data(out, "", &item.line.text);
}

/// `^FD…^FS` with `data` after `prefix`. Characters ZPL would read as commands (`^`, `~`),
/// the hex escape character itself (`_`) and control characters are written as `_XX` UTF-8
/// byte escapes, enabled by `^FH`.
fn field_data(out: &mut String, prefix: &str, data: &str) {
    let needs_escape = |c: char| matches!(c, '^' | '~' | '_') || c.is_control();
    if data.chars().any(needs_escape) {
        out.push_str("^FH");
    }
    out.push_str("^FD");
    out.push_str(prefix);
    for c in data.chars() {
        if needs_escape(c) {
            let mut buf = [0; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "_{byte:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out.push_str("^FS\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_data_escapes_zpl_specials() {
        let mut out = String::new();
        field_data(&mut out, "", "a^b~c_d");
        assert_eq!(out, "^FH^FDa_5Eb_7Ec_5Fd^FS\n");
        let mut out = String::new();
        field_data(&mut out, "MA,", "Şükrü\n");
        assert_eq!(out, "^FH^FDMA,Şükrü_0A^FS\n");
        let mut out = String::new();
        field_data(&mut out, "", "İstanbul");
        assert_eq!(out, "^FDİstanbul^FS\n");
    }
}
