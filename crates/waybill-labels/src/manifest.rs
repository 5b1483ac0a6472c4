//! The end-of-day manifest as a printed A4 document: a header naming the carrier and the
//! manifest (with a Code 128 of its id), one row per parcel with a Code 128 of its tracking
//! number for the driver to scan, the totals, and lines for both signatures. Rows run over as
//! many pages as they need; every page says which page of how many it is.

use krilla::page::PageSettings;
use krilla::{Document, SerializeSettings};

use crate::LabelError;
use crate::fonts::{FontSet, Weight};
use crate::layout::{Align, DOTS_PER_POINT, Ink, Rect, TextItem, to_dots};
use crate::pdf::{PdfFonts, draw_texts, fill_rects};
use crate::symbols;

/// Everything printed on a manifest. Strings are printed as given; text too long for its
/// column is shrunk, then cut short.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestSpec {
    /// Printed large and as a Code 128 barcode.
    pub manifest_id: String,
    pub carrier_name: String,
    /// The carrier account, as the merchant names it.
    pub account: String,
    /// Already formatted, e.g. "2026-12-07 17:45 UTC".
    pub created: String,
    /// The carrier's own number for the close, when it gave one.
    pub carrier_reference: Option<String>,
    pub rows: Vec<ManifestRow>,
    pub totals: ManifestSums,
}

/// One parcel line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestRow {
    /// Printed and, when Code 128 can carry it and it fits, as a barcode.
    pub tracking_number: String,
    pub reference: Option<String>,
    pub consignee: String,
    /// e.g. "06000 Ankara, TR".
    pub destination: String,
    pub parcels: u32,
    /// Already formatted, e.g. "1.25 kg".
    pub weight: String,
    /// Already formatted, e.g. "1,250.00 TRY".
    pub cod: Option<String>,
}

/// The manifest's sums, already formatted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestSums {
    pub shipments: u32,
    pub parcels: u32,
    pub weight: String,
    /// Cash to collect, one per currency; empty when there is none.
    pub cod: Vec<String>,
}

// A4 portrait, in points.
const WIDTH: f32 = 595.28;
const HEIGHT: f32 = 841.89;
const MARGIN: f32 = 36.0;
const RIGHT: f32 = WIDTH - MARGIN;
const ROW_HEIGHT: f32 = 44.0;
const TABLE_HEADER: f32 = 18.0;
/// Room kept at the foot of every page for its page number.
const FOOTER: f32 = 40.0;
/// Room the totals and signatures need on the last page.
const CLOSING: f32 = 150.0;
const BARCODE_HEIGHT: f32 = 24.0;
/// Where the header's barcode of the manifest id starts.
const ID_LEFT: f32 = 250.0;
/// Code 128 needs 10 modules of white on either side.
const QUIET_MODULES: u32 = 10;
/// Widest and narrowest module drawn, in printer dots (203 dpi): 2 dots (0.25 mm) still scans.
const MODULE_DOTS: [u32; 2] = [3, 2];

/// A table column: its left edge, width and alignment.
struct Column {
    x: f32,
    width: f32,
    align: Align,
}

const NUMBER: Column = Column { x: MARGIN, width: 18.0, align: Align::Right };
const TRACKING: Column = Column { x: 60.0, width: 180.0, align: Align::Left };
const REFERENCE: Column = Column { x: 246.0, width: 64.0, align: Align::Left };
const RECIPIENT: Column = Column { x: 314.0, width: 120.0, align: Align::Left };
const PIECES: Column = Column { x: 436.0, width: 20.0, align: Align::Right };
const WEIGHT: Column = Column { x: 460.0, width: 40.0, align: Align::Right };
const COD: Column = Column { x: 504.0, width: RIGHT - 504.0, align: Align::Right };

/// One page being laid out.
#[derive(Default)]
struct Page {
    texts: Vec<TextItem>,
    rects: Vec<Rect>,
}

struct Painter<'f> {
    fonts: &'f FontSet,
}

impl Painter<'_> {
    fn text(&self, page: &mut Page, text: &str, column: &Column, baseline: f32, size: f32, weight: Weight) {
        let (line, size) = self.fonts.fit(text, weight, size, size * 0.7, column.width);
        page.texts.push(TextItem {
            x: column.x,
            width: column.width,
            baseline,
            size,
            align: column.align,
            ink: Ink::Black,
            line,
        });
    }

    fn rule(&self, page: &mut Page, y: f32, thickness: f32) {
        page.rects.push(Rect { x: MARGIN, y, w: RIGHT - MARGIN, h: thickness });
    }

    /// A Code 128 of `data` at (`x`, `y`) within `width`; `false` when it cannot be drawn
    /// (a character Code 128 does not carry, or too long for the room).
    fn barcode(&self, page: &mut Page, data: &str, x: f32, y: f32, width: f32, height: f32) -> bool {
        let Ok(code) = symbols::code128(data) else { return false };
        let modules = code.modules.len() as u32 + 2 * QUIET_MODULES;
        let room = to_dots(width).max(0) as u32;
        let Some(module) = MODULE_DOTS.into_iter().find(|d| modules * d <= room) else { return false };
        let module_points = module as f32 / DOTS_PER_POINT;
        let left = x + QUIET_MODULES as f32 * module_points;
        let mut i = 0;
        while i < code.modules.len() {
            if code.modules[i] == 1 {
                let start = i;
                while i < code.modules.len() && code.modules[i] == 1 {
                    i += 1;
                }
                page.rects.push(Rect {
                    x: left + start as f32 * module_points,
                    y,
                    w: (i - start) as f32 * module_points,
                    h: height,
                });
            } else {
                i += 1;
            }
        }
        true
    }
}

fn full(x: f32, width: f32, align: Align) -> Column {
    Column { x, width, align }
}

/// Lays the manifest out page by page and draws it as one PDF.
pub(crate) fn render(spec: &ManifestSpec, fonts: &FontSet, pdf_fonts: &PdfFonts) -> Result<Vec<u8>, LabelError> {
    let painter = Painter { fonts };
    let mut pages: Vec<Page> = Vec::new();
    let mut page = Page::default();

    // Header on the first page.
    let wide = full(MARGIN, RIGHT - MARGIN, Align::Left);
    painter.text(&mut page, "Manifest", &wide, MARGIN + 18.0, 20.0, Weight::Bold);
    // A manifest id (`mft_` and 26 characters) needs about 270 pt of bars at 2 dots a module.
    let id_column = full(ID_LEFT, RIGHT - ID_LEFT, Align::Right);
    painter.barcode(&mut page, &spec.manifest_id, ID_LEFT, MARGIN, RIGHT - ID_LEFT, 26.0);
    painter.text(&mut page, &spec.manifest_id, &id_column, MARGIN + 36.0, 9.0, Weight::Regular);
    let carrier = format!("{} · {}", spec.carrier_name, spec.account);
    let left_half = full(MARGIN, ID_LEFT - MARGIN - 8.0, Align::Left);
    painter.text(&mut page, &carrier, &left_half, MARGIN + 40.0, 11.0, Weight::Bold);
    painter.text(&mut page, &format!("Made {}", spec.created), &left_half, MARGIN + 55.0, 9.0, Weight::Regular);
    if let Some(reference) = &spec.carrier_reference {
        let line = format!("Carrier close {reference}");
        painter.text(&mut page, &line, &left_half, MARGIN + 68.0, 9.0, Weight::Regular);
    }
    let summary = format!(
        "{} shipments · {} parcels · {}{}",
        spec.totals.shipments,
        spec.totals.parcels,
        spec.totals.weight,
        if spec.totals.cod.is_empty() { String::new() } else { format!(" · COD {}", spec.totals.cod.join(" + ")) }
    );
    painter.text(&mut page, &summary, &wide, MARGIN + 86.0, 10.0, Weight::Regular);
    let mut y = MARGIN + 96.0;

    let table_header = |page: &mut Page, y: f32| {
        let baseline = y + 12.0;
        for (caption, column) in [
            ("#", &NUMBER),
            ("Tracking number", &TRACKING),
            ("Reference", &REFERENCE),
            ("Recipient", &RECIPIENT),
            ("Pcs", &PIECES),
            ("Weight", &WEIGHT),
            ("COD", &COD),
        ] {
            painter.text(page, caption, column, baseline, 8.0, Weight::Bold);
        }
        painter.rule(page, y + TABLE_HEADER - 1.0, 1.0);
        y + TABLE_HEADER
    };
    y = table_header(&mut page, y);

    for (i, row) in spec.rows.iter().enumerate() {
        if y + ROW_HEIGHT > HEIGHT - FOOTER {
            pages.push(std::mem::take(&mut page));
            y = table_header(&mut page, MARGIN);
        }
        let top = y + 4.0;
        painter.text(&mut page, &(i + 1).to_string(), &NUMBER, top + 12.0, 9.0, Weight::Regular);
        let drawn =
            painter.barcode(&mut page, &row.tracking_number, TRACKING.x - 4.0, top, TRACKING.width, BARCODE_HEIGHT);
        let number_baseline = if drawn { top + BARCODE_HEIGHT + 10.0 } else { top + 12.0 };
        painter.text(&mut page, &row.tracking_number, &TRACKING, number_baseline, 9.0, Weight::Bold);
        painter.text(&mut page, row.reference.as_deref().unwrap_or("–"), &REFERENCE, top + 12.0, 9.0, Weight::Regular);
        painter.text(&mut page, &row.consignee, &RECIPIENT, top + 12.0, 9.0, Weight::Regular);
        painter.text(&mut page, &row.destination, &RECIPIENT, top + 24.0, 8.0, Weight::Regular);
        painter.text(&mut page, &row.parcels.to_string(), &PIECES, top + 12.0, 9.0, Weight::Regular);
        painter.text(&mut page, &row.weight, &WEIGHT, top + 12.0, 9.0, Weight::Regular);
        if let Some(cod) = &row.cod {
            painter.text(&mut page, cod, &COD, top + 12.0, 9.0, Weight::Bold);
        }
        y += ROW_HEIGHT;
        painter.rule(&mut page, y - 1.0, 0.5);
    }

    // Totals and signatures, on a page of their own when the last one is full.
    if y + CLOSING > HEIGHT - FOOTER {
        pages.push(std::mem::take(&mut page));
        y = MARGIN;
    }
    let mut line = y + 20.0;
    let totals = [
        ("Shipments", spec.totals.shipments.to_string()),
        ("Parcels", spec.totals.parcels.to_string()),
        ("Weight", spec.totals.weight.clone()),
        ("Cash on delivery", if spec.totals.cod.is_empty() { "none".into() } else { spec.totals.cod.join(" + ") }),
    ];
    let caption = full(MARGIN, 110.0, Align::Left);
    let value = full(MARGIN + 110.0, 200.0, Align::Left);
    for (name, amount) in &totals {
        painter.text(&mut page, name, &caption, line, 10.0, Weight::Bold);
        painter.text(&mut page, amount, &value, line, 10.0, Weight::Regular);
        line += 15.0;
    }
    line += 36.0;
    let half = (RIGHT - MARGIN - 24.0) / 2.0;
    for (x, caption_text) in [
        (MARGIN, "Handed over by (name, signature)"),
        (MARGIN + half + 24.0, "Received by driver (name, signature, time)"),
    ] {
        page.rects.push(Rect { x, y: line, w: half, h: 0.75 });
        painter.text(&mut page, caption_text, &full(x, half, Align::Left), line + 11.0, 8.0, Weight::Regular);
    }
    let received = full(MARGIN + half + 24.0, half, Align::Left);
    painter.text(&mut page, "Parcels received: ______", &received, line + 28.0, 9.0, Weight::Regular);
    pages.push(page);

    let count = pages.len();
    let footer = full(MARGIN, RIGHT - MARGIN, Align::Center);
    for (n, page) in pages.iter_mut().enumerate() {
        let text = format!("{} · page {} of {count}", spec.manifest_id, n + 1);
        painter.text(page, &text, &footer, HEIGHT - MARGIN / 2.0 - 4.0, 8.0, Weight::Regular);
    }

    // Content streams are mostly bar rectangles; deflating them is worth it on a many-page list.
    let mut document = Document::new_with(SerializeSettings::default());
    let settings = PageSettings::from_wh(WIDTH, HEIGHT).expect("page size is positive");
    for page in &pages {
        let mut pdf_page = document.start_page_with(settings.clone());
        let mut surface = pdf_page.surface();
        fill_rects(&mut surface, page.rects.iter());
        draw_texts(&mut surface, &page.texts, pdf_fonts);
        surface.finish();
        pdf_page.finish();
    }
    document.finish().map_err(|e| LabelError::Pdf(format!("{e:?}")))
}
