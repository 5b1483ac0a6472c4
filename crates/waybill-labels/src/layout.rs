//! The label's layout model, computed once per render and drawn by every back end.
//!
//! Coordinates are points on a 288×432 pt page (4×6 in), origin top left, y down. Barcode and
//! QR geometry is chosen in whole printer dots (203 dpi) and every back end draws rectangles
//! at whole dots, so the PDF, the PNG and a ZPL printer make each module the same width.

use crate::fonts::{FontSet, ShapedLine, Weight};
use crate::symbols::{self, QrEncoding, QrMatrix};
use crate::{LabelAddress, LabelError, LabelSpec, qr_payload};

pub(crate) const PAGE_WIDTH: f32 = 288.0;
pub(crate) const PAGE_HEIGHT: f32 = 432.0;
pub(crate) const DOTS_PER_INCH: u32 = 203;
pub(crate) const DOTS_PER_POINT: f32 = DOTS_PER_INCH as f32 / 72.0;
/// 4 in at 203 dpi.
pub(crate) const PAGE_WIDTH_DOTS: u32 = 812;
/// 6 in at 203 dpi.
pub(crate) const PAGE_HEIGHT_DOTS: u32 = 1218;

/// Nearest printer dot of a length in points.
pub(crate) fn to_dots(points: f32) -> i32 {
    (points * DOTS_PER_POINT).round() as i32
}

fn from_dots(dots: u32) -> f32 {
    dots as f32 / DOTS_PER_POINT
}

/// Rounds a length in points to whole dots.
fn snap(points: f32) -> f32 {
    from_dots(to_dots(points).max(0) as u32)
}

/// A filled black rectangle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rect {
    pub(crate) x: f32,
    pub(crate) y: f32,
    pub(crate) w: f32,
    pub(crate) h: f32,
}

impl Rect {
    /// Left, top, right and bottom edges in whole printer dots: where every back end puts
    /// them, so the formats agree to the dot.
    pub(crate) fn dots(&self) -> [i32; 4] {
        [to_dots(self.x), to_dots(self.y), to_dots(self.x + self.w), to_dots(self.y + self.h)]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ink {
    Black,
    /// Over a black rectangle.
    White,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
    Right,
}

/// One line of text in a box.
#[derive(Clone, Debug)]
pub(crate) struct TextItem {
    /// Left edge of the box.
    pub(crate) x: f32,
    pub(crate) width: f32,
    pub(crate) baseline: f32,
    /// Font size in points (the em).
    pub(crate) size: f32,
    pub(crate) align: Align,
    pub(crate) ink: Ink,
    pub(crate) line: ShapedLine,
}

impl TextItem {
    /// Where the first glyph's origin goes.
    pub(crate) fn start_x(&self) -> f32 {
        let free = self.width - self.line.width * self.size;
        match self.align {
            Align::Left => self.x,
            Align::Center => self.x + free / 2.0,
            Align::Right => self.x + free,
        }
    }
}

/// The Code 128 barcode.
#[derive(Clone, Debug)]
pub(crate) struct Barcode {
    /// Top left of the first bar.
    pub(crate) x: f32,
    pub(crate) y: f32,
    pub(crate) height: f32,
    pub(crate) module_dots: u32,
    /// Empty when the printer draws the barcode.
    pub(crate) bars: Vec<Rect>,
    pub(crate) zpl_data: String,
}

/// The QR code.
#[derive(Clone, Debug)]
pub(crate) struct Qr {
    /// Top left of the symbol, inside its quiet zone.
    pub(crate) x: f32,
    pub(crate) y: f32,
    pub(crate) module_dots: u32,
    /// Dark modules, a rectangle per horizontal run; empty when the printer draws the code.
    pub(crate) modules: Vec<Rect>,
    pub(crate) payload: String,
}

/// Everything on the label.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// Frame, separators and the black boxes under white text.
    pub(crate) boxes: Vec<Rect>,
    pub(crate) texts: Vec<TextItem>,
    pub(crate) barcode: Barcode,
    pub(crate) qr: Qr,
}

impl Layout {
    /// Every black rectangle, barcode bars and QR modules included (when drawn).
    pub(crate) fn filled_rects(&self) -> impl Iterator<Item = &Rect> {
        self.boxes.iter().chain(&self.barcode.bars).chain(&self.qr.modules)
    }
}

// Frame and section geometry, in points. The frame sits a little inside the page so a
// slightly misregistered print does not lose it.
const FRAME: f32 = 6.0;
/// Rule thickness: 3 dots.
const RULE: f32 = 3.0 / DOTS_PER_POINT;
const INNER_LEFT: f32 = FRAME + RULE;
const INNER_RIGHT: f32 = PAGE_WIDTH - FRAME - RULE;
const TEXT_LEFT: f32 = 12.0;
const TEXT_RIGHT: f32 = PAGE_WIDTH - 12.0;
const HEADER_END: f32 = 42.0;
const FROM_END: f32 = 110.0;
const TO_END: f32 = 212.0;
const ROUTING_END: f32 = 322.0;
/// Column split between the sender and the shipment details.
const DETAILS_LEFT: f32 = 176.0;
const COD_HEIGHT: f32 = 26.0;
const BARCODE_TOP: f32 = 330.0;
const BARCODE_HEIGHT: f32 = 62.0;
/// Code 128 needs 10 modules of white on either side.
const QUIET_MODULES: u32 = 10;
/// Narrowest module printed: 2 dots (0.25 mm) still scans; widest worth using: 4 dots.
const MODULE_DOTS: [u32; 3] = [4, 3, 2];
/// QR needs 4 modules of white around it.
const QR_QUIET_MODULES: u32 = 4;
/// A QR module of 6 dots (0.75 mm) is as large as a phone or scanner needs.
const QR_MAX_MODULE_DOTS: u32 = 6;

/// Who draws the barcodes' bars and modules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Barcodes {
    /// The back end, from the layout's rectangles.
    Drawn,
    /// The printer, from the data and module size alone (ZPL): the rectangles, and the QR
    /// module placement they need, are skipped.
    Native,
}

/// Where the routing block starts: under the recipient, or under the COD band.
fn routing_top(spec: &LabelSpec) -> f32 {
    TO_END + RULE + if spec.cod.is_some() { COD_HEIGHT } else { 0.0 }
}

/// Dots per QR module when a code `encoding` wide sits in the routing block from `top`.
fn qr_module_dots(encoding: &QrEncoding, top: f32, payload_len: usize) -> Result<u32, LabelError> {
    let side_modules = encoding.width() as u32 + 2 * QR_QUIET_MODULES;
    let room_dots = to_dots(ROUTING_END - top - 2.0).max(0) as u32;
    let module_dots = (room_dots / side_modules).min(QR_MAX_MODULE_DOTS);
    if module_dots < 2 {
        return Err(LabelError::QrPayloadTooLong { len: payload_len });
    }
    Ok(module_dots)
}

/// Dots per Code 128 module: as wide as fits across the frame, never under 2.
fn barcode_module_dots(modules: u32, tracking: &str) -> Result<u32, LabelError> {
    let room = to_dots(INNER_RIGHT - INNER_LEFT) as u32;
    MODULE_DOTS
        .into_iter()
        .find(|d| (modules + 2 * QUIET_MODULES) * d <= room)
        .ok_or(LabelError::TrackingNumberTooLong { len: tracking.chars().count() })
}

/// Whether `spec`'s barcodes fit the label, without laying out any text.
pub(crate) fn check(spec: &LabelSpec) -> Result<(), LabelError> {
    let code = symbols::code128(&spec.tracking_number)?;
    barcode_module_dots(code.modules.len() as u32, &spec.tracking_number)?;
    let payload = qr_payload(spec);
    let qr = symbols::qr(&payload)?;
    qr_module_dots(&qr, routing_top(spec), payload.len()).map(|_| ())
}

/// Lays out `spec`. Fails only on what the barcodes cannot carry.
pub(crate) fn build(spec: &LabelSpec, fonts: &FontSet, barcodes: Barcodes) -> Result<Layout, LabelError> {
    let code = symbols::code128(&spec.tracking_number)?;
    let payload = qr_payload(spec);
    let qr = symbols::qr(&payload)?;

    let mut b = Builder { fonts, barcodes, boxes: Vec::with_capacity(16), texts: Vec::with_capacity(40) };
    b.frame();
    b.header(spec);
    b.sender(&spec.ship_from);
    b.details(spec);
    b.recipient(&spec.ship_to);
    if let Some(cod) = &spec.cod {
        b.cod(cod);
    }
    let routing_top = routing_top(spec);
    let qr = b.routing(spec, routing_top, &qr, payload)?;
    let barcode = b.barcode(&spec.tracking_number, code)?;
    Ok(Layout { boxes: b.boxes, texts: b.texts, barcode, qr })
}

/// Printable form of user text: control characters become spaces, ends are trimmed.
fn clean(text: &str) -> String {
    let cleaned: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    cleaned.trim().to_owned()
}

/// Street lines that fit in `max` lines: empty ones dropped, the overflow joined onto the
/// last line (where it may then be cut short) rather than silently lost.
fn fold_lines(lines: &[String], max: usize) -> Vec<String> {
    let mut kept: Vec<String> = lines.iter().map(|l| clean(l)).filter(|l| !l.is_empty()).collect();
    if max == 0 {
        kept.clear();
    } else if kept.len() > max {
        let rest = kept.split_off(max - 1).join(", ");
        kept.push(rest);
    }
    kept
}

/// A text box request.
struct Text<'t> {
    text: &'t str,
    weight: Weight,
    size: f32,
    min_size: f32,
    x: f32,
    width: f32,
    baseline: f32,
    align: Align,
    ink: Ink,
}

impl<'t> Text<'t> {
    fn new(text: &'t str, weight: Weight, size: f32) -> Self {
        Text {
            text,
            weight,
            size,
            min_size: (size * 0.8).max(5.0),
            x: TEXT_LEFT,
            width: TEXT_RIGHT - TEXT_LEFT,
            baseline: 0.0,
            align: Align::Left,
            ink: Ink::Black,
        }
    }

    fn at(mut self, x: f32, width: f32, baseline: f32) -> Self {
        self.x = x;
        self.width = width;
        self.baseline = baseline;
        self
    }

    /// Lets text that must stay whole (routing, tracking) shrink further before it is cut.
    fn shrink_to(mut self, fraction: f32) -> Self {
        self.min_size = (self.size * fraction).max(5.0);
        self
    }

    fn align(mut self, align: Align) -> Self {
        self.align = align;
        self
    }

    fn white(mut self) -> Self {
        self.ink = Ink::White;
        self
    }
}

struct Builder<'f> {
    fonts: &'f FontSet,
    barcodes: Barcodes,
    boxes: Vec<Rect>,
    texts: Vec<TextItem>,
}

impl Builder<'_> {
    fn fill(&mut self, x: f32, y: f32, w: f32, h: f32) {
        self.boxes.push(Rect { x, y, w, h });
    }

    /// A full-width separator whose top edge is at `y`.
    fn separator(&mut self, y: f32) {
        self.fill(FRAME, y, PAGE_WIDTH - 2.0 * FRAME, RULE);
    }

    fn text(&mut self, t: Text<'_>) {
        let text = clean(t.text);
        if text.is_empty() {
            return;
        }
        let (line, size) = self.fonts.fit(&text, t.weight, t.size, t.min_size, t.width);
        self.texts.push(TextItem {
            x: t.x,
            width: t.width,
            baseline: t.baseline,
            size,
            align: t.align,
            ink: t.ink,
            line,
        });
    }

    fn frame(&mut self) {
        let w = PAGE_WIDTH - 2.0 * FRAME;
        let h = PAGE_HEIGHT - 2.0 * FRAME;
        self.fill(FRAME, FRAME, w, RULE);
        self.fill(FRAME, PAGE_HEIGHT - FRAME - RULE, w, RULE);
        self.fill(FRAME, FRAME, RULE, h);
        self.fill(PAGE_WIDTH - FRAME - RULE, FRAME, RULE, h);
        for y in [HEADER_END, FROM_END, TO_END, ROUTING_END] {
            self.separator(y);
        }
        self.fill(DETAILS_LEFT, HEADER_END, RULE, FROM_END - HEADER_END);
    }

    /// Carrier on the left; service reversed out of a black box on the right.
    fn header(&mut self, spec: &LabelSpec) {
        let service_left = DETAILS_LEFT;
        self.text(Text::new(&spec.carrier_name, Weight::Bold, 15.0).at(
            TEXT_LEFT,
            service_left - TEXT_LEFT - 6.0,
            30.0,
        ));
        let (top, bottom) = (FRAME + RULE + 3.0, HEADER_END - 3.0);
        let right = INNER_RIGHT - 3.0;
        self.fill(service_left, top, right - service_left, bottom - top);
        self.text(
            Text::new(&spec.service_name, Weight::Bold, 16.0)
                .at(service_left + 4.0, right - service_left - 8.0, 30.0)
                .align(Align::Center)
                .white(),
        );
    }

    /// Sender, small, left column.
    fn sender(&mut self, from: &LabelAddress) {
        const SIZE: f32 = 7.5;
        const LEADING: f32 = 8.9;
        const MAX_LINES: usize = 6;
        let width = DETAILS_LEFT - TEXT_LEFT - 4.0;
        self.text(Text::new("FROM", Weight::Bold, 6.5).at(TEXT_LEFT, width, 51.5));
        let company = from.company.as_deref().map(clean).filter(|c| !c.is_empty());
        let phone = from.phone.as_deref().map(clean).filter(|p| !p.is_empty());
        let fixed = 2 + usize::from(company.is_some()) + usize::from(phone.is_some());
        let mut rows: Vec<(String, Weight)> = vec![(from.name.clone(), Weight::Bold)];
        rows.extend(company.map(|c| (c, Weight::Regular)));
        rows.extend(fold_lines(&from.lines, MAX_LINES - fixed).into_iter().map(|l| (l, Weight::Regular)));
        rows.push((format!("{}  {}", clean(&from.city_line), clean(&from.country)), Weight::Regular));
        rows.extend(phone.map(|p| (format!("Tel: {p}"), Weight::Regular)));
        for (i, (row, weight)) in rows.iter().enumerate() {
            let baseline = 61.0 + i as f32 * LEADING;
            self.text(Text::new(row, *weight, SIZE).at(TEXT_LEFT, width, baseline));
        }
    }

    /// Ship date, weight, piece and reference: label left, value right, one row each.
    fn details(&mut self, spec: &LabelSpec) {
        let left = DETAILS_LEFT + RULE + 4.0;
        let right = INNER_RIGHT - 4.0;
        let value_left = left + 38.0;
        let rows = [
            ("DATE", Some(spec.ship_date.as_str())),
            ("WEIGHT", Some(spec.weight.as_str())),
            ("PIECE", Some(spec.piece.as_str())),
            ("REF", spec.reference.as_deref()),
        ];
        for (i, (label, value)) in rows.into_iter().enumerate() {
            let Some(value) = value else { continue };
            let baseline = HEADER_END + RULE + 13.0 + i as f32 * 16.5;
            self.text(Text::new(label, Weight::Bold, 6.5).at(left, 36.0, baseline));
            self.text(
                Text::new(value, Weight::Bold, 10.0)
                    .at(value_left, right - value_left, baseline)
                    .align(Align::Right)
                    .shrink_to(0.6),
            );
        }
    }

    /// Recipient, large.
    fn recipient(&mut self, to: &LabelAddress) {
        const LINE: f32 = 13.0;
        const CITY: f32 = 17.0;
        const PHONE: f32 = 12.0;
        const LAST_BASELINE: f32 = TO_END - 6.0;
        let width = TEXT_RIGHT - TEXT_LEFT;
        self.text(Text::new("TO", Weight::Bold, 7.0).at(TEXT_LEFT, width, FROM_END + 10.0));
        let mut baseline = FROM_END + 27.0;
        self.text(Text::new(&to.name, Weight::Bold, 15.0).at(TEXT_LEFT, width, baseline));

        let company = to.company.as_deref().map(clean).filter(|c| !c.is_empty());
        let phone = to.phone.as_deref().map(clean).filter(|p| !p.is_empty());
        let fixed = CITY + if company.is_some() { LINE } else { 0.0 } + if phone.is_some() { PHONE } else { 0.0 };
        let max_lines = ((LAST_BASELINE - baseline - fixed) / LINE).floor().max(0.0) as usize;
        let mut rows: Vec<String> = company.into_iter().collect();
        rows.extend(fold_lines(&to.lines, max_lines));
        for row in &rows {
            baseline += LINE;
            self.text(Text::new(row, Weight::Regular, 11.0).at(TEXT_LEFT, width, baseline));
        }

        baseline += CITY;
        let country_width = 40.0;
        self.text(Text::new(&to.city_line, Weight::Bold, 14.0).at(TEXT_LEFT, width - country_width - 6.0, baseline));
        self.text(
            Text::new(&to.country, Weight::Bold, 14.0)
                .at(TEXT_RIGHT - country_width, country_width, baseline)
                .align(Align::Right),
        );
        if let Some(phone) = phone {
            baseline += PHONE;
            self.text(Text::new(&format!("Tel: {phone}"), Weight::Regular, 9.0).at(TEXT_LEFT, width, baseline));
        }
    }

    /// Cash on delivery reversed out of a full-width black band under the recipient.
    /// Returns where the routing block starts.
    fn cod(&mut self, cod: &str) {
        let top = TO_END + RULE;
        self.fill(INNER_LEFT, top, INNER_RIGHT - INNER_LEFT, COD_HEIGHT);
        self.text(
            Text::new(cod, Weight::Bold, 17.0)
                .at(TEXT_LEFT, TEXT_RIGHT - TEXT_LEFT, top + 19.0)
                .align(Align::Center)
                .white(),
        );
    }

    /// Destination hub and sort code large on the left, the QR code on the right.
    fn routing(
        &mut self,
        spec: &LabelSpec,
        top: f32,
        encoding: &QrEncoding,
        payload: String,
    ) -> Result<Qr, LabelError> {
        let height = ROUTING_END - top;
        let side_modules = encoding.width() as u32 + 2 * QR_QUIET_MODULES;
        let module_dots = qr_module_dots(encoding, top, payload.len())?;
        let side = from_dots(side_modules * module_dots);
        let box_x = snap(INNER_RIGHT - 2.0 - side);
        let box_y = snap(top + (height - side) / 2.0);
        let quiet = from_dots(QR_QUIET_MODULES * module_dots);
        let (x, y) = (box_x + quiet, box_y + quiet);
        let modules = match self.barcodes {
            Barcodes::Drawn => qr_rects(&encoding.matrix(), x, y, module_dots),
            Barcodes::Native => Vec::new(),
        };
        let qr = Qr { x, y, module_dots, modules, payload };

        let width = box_x - TEXT_LEFT - 4.0;
        let scale = (height / 82.0).min(1.35);
        let hub_size = 24.0 * scale;
        let sort_size = 36.0 * scale;
        let hub_baseline = top + 6.0 + 0.72 * hub_size;
        let sort_baseline = hub_baseline + 0.25 * hub_size + 5.0 + 0.72 * sort_size;
        let routing = &spec.routing;
        self.text(
            Text::new(&routing.destination_hub, Weight::Bold, hub_size)
                .at(TEXT_LEFT, width, hub_baseline)
                .shrink_to(0.4),
        );
        self.text(
            Text::new(&routing.sort_code, Weight::Bold, sort_size).at(TEXT_LEFT, width, sort_baseline).shrink_to(0.4),
        );
        let route = format!("ORIGIN {}  ·  ROUTE {}", clean(&routing.origin_hub), clean(&routing.route));
        self.text(Text::new(&route, Weight::Regular, 8.5).at(TEXT_LEFT, width, ROUTING_END - 5.0));
        Ok(qr)
    }

    /// The Code 128 barcode, centred with its quiet zones inside the frame, and the tracking
    /// number under it. Modules are as wide as fits, but never under 2 dots.
    fn barcode(&mut self, tracking: &str, code: symbols::Code128) -> Result<Barcode, LabelError> {
        let modules = code.modules.len() as u32;
        let module_dots = barcode_module_dots(modules, tracking)?;
        let x_dots = (PAGE_WIDTH_DOTS - modules * module_dots) / 2;
        let x = from_dots(x_dots);
        let y = snap(BARCODE_TOP);
        let height = snap(BARCODE_HEIGHT);
        let mut bars = Vec::with_capacity(modules as usize / 2);
        let mut i = 0;
        while self.barcodes == Barcodes::Drawn && i < code.modules.len() {
            let start = i;
            let dark = code.modules[i] == 1;
            while i < code.modules.len() && (code.modules[i] == 1) == dark {
                i += 1;
            }
            if dark {
                bars.push(Rect {
                    x: from_dots(x_dots + start as u32 * module_dots),
                    y,
                    w: from_dots((i - start) as u32 * module_dots),
                    h: height,
                });
            }
        }
        self.text(
            Text::new(tracking, Weight::Bold, 16.0)
                .at(TEXT_LEFT, TEXT_RIGHT - TEXT_LEFT, y + height + 16.0)
                .align(Align::Center)
                .shrink_to(0.5),
        );
        Ok(Barcode { x, y, height, module_dots, bars, zpl_data: code.zpl_data })
    }
}

/// Dark QR modules as rectangles, one per horizontal run.
fn qr_rects(matrix: &QrMatrix, x: f32, y: f32, module_dots: u32) -> Vec<Rect> {
    let (x_dots, y_dots) = (to_dots(x) as u32, to_dots(y) as u32);
    let mut rects = Vec::with_capacity(matrix.width * matrix.width / 3);
    for (row, cells) in matrix.dark.chunks(matrix.width).enumerate() {
        let mut col = 0;
        while col < cells.len() {
            if !cells[col] {
                col += 1;
                continue;
            }
            let start = col;
            while col < cells.len() && cells[col] {
                col += 1;
            }
            rects.push(Rect {
                x: from_dots(x_dots + start as u32 * module_dots),
                y: from_dots(y_dots + row as u32 * module_dots),
                w: from_dots((col - start) as u32 * module_dots),
                h: from_dots(module_dots),
            });
        }
    }
    rects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_round_trip() {
        assert_eq!(to_dots(PAGE_WIDTH), PAGE_WIDTH_DOTS as i32);
        assert_eq!(to_dots(PAGE_HEIGHT), PAGE_HEIGHT_DOTS as i32);
        for d in 0..2000 {
            assert_eq!(to_dots(from_dots(d)), d as i32);
        }
    }

    #[test]
    fn overflowing_street_lines_are_joined() {
        let lines: Vec<String> = ["a", " ", "b", "c\nd"].map(String::from).to_vec();
        assert_eq!(fold_lines(&lines, 2), vec!["a", "b, c d"]);
        assert_eq!(fold_lines(&lines, 5), vec!["a", "b", "c d"]);
        assert!(fold_lines(&lines, 0).is_empty());
    }
}
