//! Shipping labels for Waybill: one 4×6 inch label rendered as PDF, ZPL or PNG, and the A4
//! end-of-day manifest a carrier's driver signs ([`LabelRenderer::render_manifest`]).
//!
//! A [`LabelSpec`] is laid out once per render into a single model (text boxes and filled
//! rectangles in points on a 288×432 pt page) that the three back ends draw, so every format
//! shows the same label: carrier and service, sender, recipient, shipment details, an optional
//! cash-on-delivery box, routing (destination hub and sort code), a Code 128 barcode of the
//! tracking number and a QR code of the routing data ([`qr_payload`]).
//!
//! Text may be in any script the bundled fonts cover; each string is split into runs by glyph
//! coverage and every run drawn with a font that has its glyphs:
//!
//! - Latin, Greek and Cyrillic (Turkish included): Noto Sans Regular and Bold, shipped by the
//!   `notosans` crate, under the SIL Open Font License 1.1.
//! - Hangul: Nanum Gothic (`fonts/NanumGothic.ttf`, by NAVER), under the SIL Open Font
//!   License 1.1 (`fonts/OFL-NanumGothic.txt`).
//!
//! PDF embeds subsets of those fonts. ZPL leaves text and barcodes to the printer (UTF-8 via
//! `^CI28`, its font 0, native `^BC` and `^BQ`); Hangul then needs a printer font that has it.
//! PNG is rasterised at the printers' 203 dpi.
//!
//! ```
//! use waybill_labels::{LabelAddress, LabelFormat, LabelRenderer, LabelSpec, Routing};
//!
//! let renderer = LabelRenderer::new();
//! let address = |name: &str, city: &str| LabelAddress {
//!     name: name.into(),
//!     company: None,
//!     lines: vec!["Büyükdere Cd. 1".into()],
//!     city_line: city.into(),
//!     country: "TR".into(),
//!     phone: None,
//! };
//! let spec = LabelSpec {
//!     carrier_name: "Waybill Sandbox".into(),
//!     service_name: "Express".into(),
//!     tracking_number: "WB123456789TR".into(),
//!     ship_from: address("Depo", "34000 İstanbul"),
//!     ship_to: address("Şükrü Çağlayan", "06000 Ankara"),
//!     weight: "1.25 kg".into(),
//!     piece: "1/1".into(),
//!     cod: None,
//!     reference: Some("#1001".into()),
//!     ship_date: "2026-11-21".into(),
//!     routing: Routing {
//!         sort_code: "06-A1".into(),
//!         origin_hub: "IST".into(),
//!         destination_hub: "ANK".into(),
//!         route: "R12".into(),
//!     },
//! };
//! let zpl = renderer.render(&spec, LabelFormat::Zpl).unwrap();
//! assert!(zpl.starts_with(b"^XA"));
//! ```

mod fonts;
mod layout;
mod manifest;
mod pdf;
mod png;
mod symbols;
mod zpl;

use fonts::FontSet;
use layout::Barcodes;
pub use manifest::{ManifestRow, ManifestSpec, ManifestSums};

/// Everything printed on a label. Strings are printed as given (no case changes, so Turkish
/// dotted and dotless i stay right); text too long for its box is shrunk, then cut short.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelSpec {
    /// Carrier display name, e.g. "Waybill Sandbox".
    pub carrier_name: String,
    /// Service name, e.g. "Express".
    pub service_name: String,
    /// Printed large and as a Code 128 barcode: printable ASCII only.
    pub tracking_number: String,
    pub ship_from: LabelAddress,
    pub ship_to: LabelAddress,
    /// Already formatted, e.g. "1.25 kg".
    pub weight: String,
    /// Piece of the shipment, e.g. "1/1".
    pub piece: String,
    /// Cash on delivery, e.g. "COD 1,250.00 TRY"; printed prominently when present.
    pub cod: Option<String>,
    /// Order reference, e.g. "#1001".
    pub reference: Option<String>,
    /// Already formatted, e.g. "2026-11-21".
    pub ship_date: String,
    pub routing: Routing,
}

/// A postal address as printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelAddress {
    pub name: String,
    pub company: Option<String>,
    /// Street lines; lines that do not fit are joined onto the last one that does.
    pub lines: Vec<String>,
    /// Postal code and city, e.g. "34000 İstanbul".
    pub city_line: String,
    /// ISO 3166-1 alpha-2 country code, e.g. "TR".
    pub country: String,
    pub phone: Option<String>,
}

/// Carrier sorting data, printed in the routing block and carried by the QR code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routing {
    pub sort_code: String,
    pub origin_hub: String,
    pub destination_hub: String,
    pub route: String,
}

/// A label document format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelFormat {
    Pdf,
    Zpl,
    Png,
}

impl LabelFormat {
    /// Every format, in a stable order.
    pub const ALL: [LabelFormat; 3] = [LabelFormat::Pdf, LabelFormat::Zpl, LabelFormat::Png];

    /// The IANA media type of the rendered bytes.
    pub fn media_type(self) -> &'static str {
        match self {
            LabelFormat::Pdf => "application/pdf",
            // No registered type exists for ZPL; this is what printer vendors and carriers use.
            LabelFormat::Zpl => "application/zpl",
            LabelFormat::Png => "image/png",
        }
    }

    /// File name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            LabelFormat::Pdf => "pdf",
            LabelFormat::Zpl => "zpl",
            LabelFormat::Png => "png",
        }
    }

    /// Parses `"pdf"`, `"zpl"` or `"png"`, ignoring ASCII case.
    pub fn parse(s: &str) -> Option<Self> {
        LabelFormat::ALL.into_iter().find(|f| f.extension().eq_ignore_ascii_case(s))
    }
}

/// Why a label could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("the tracking number is empty")]
    EmptyTrackingNumber,
    #[error("the tracking number contains {0:?}, which Code 128 cannot encode")]
    UnencodableTrackingNumber(char),
    #[error("the tracking number ({len} characters) is too long for a scannable Code 128 barcode on a 4×6 label")]
    TrackingNumberTooLong { len: usize },
    #[error("the routing data ({len} bytes) is too long for the label's QR code")]
    QrPayloadTooLong { len: usize },
    #[error("barcode encoding failed: {0}")]
    Barcode(String),
    #[error("PDF generation failed: {0}")]
    Pdf(String),
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// The QR code's payload: `WB1|tracking|sort code|destination hub|route|country|city line`.
pub fn qr_payload(spec: &LabelSpec) -> String {
    format!(
        "WB1|{}|{}|{}|{}|{}|{}",
        spec.tracking_number,
        spec.routing.sort_code,
        spec.routing.destination_hub,
        spec.routing.route,
        spec.ship_to.country,
        spec.ship_to.city_line
    )
}

/// Renders labels. Parsing the fonts is the expensive part, so create one and share it
/// (it is `Send + Sync`, e.g. in an `Arc`).
pub struct LabelRenderer {
    fonts: FontSet,
    pdf_fonts: pdf::PdfFonts,
}

impl LabelRenderer {
    pub fn new() -> Self {
        let fonts = FontSet::new();
        let pdf_fonts = pdf::PdfFonts::new(&fonts);
        LabelRenderer { fonts, pdf_fonts }
    }

    /// Whether `spec`'s barcode and QR code fit the label (all else shrinks or wraps to fit),
    /// without laying out or drawing anything: a booking checks its label before the carrier is
    /// called, so a label that could never print is refused while nothing has happened yet.
    pub fn check(&self, spec: &LabelSpec) -> Result<(), LabelError> {
        layout::check(spec)
    }

    /// Renders `spec` as a complete document in `format`.
    pub fn render(&self, spec: &LabelSpec, format: LabelFormat) -> Result<Vec<u8>, LabelError> {
        let barcodes = match format {
            LabelFormat::Zpl => Barcodes::Native,
            LabelFormat::Pdf | LabelFormat::Png => Barcodes::Drawn,
        };
        let layout = layout::build(spec, &self.fonts, barcodes)?;
        match format {
            LabelFormat::Pdf => pdf::render(&layout, &self.pdf_fonts),
            LabelFormat::Zpl => Ok(zpl::render(&layout).into_bytes()),
            LabelFormat::Png => png::render(&layout, &self.fonts),
        }
    }

    /// Renders an end-of-day manifest as an A4 PDF of as many pages as its rows need.
    pub fn render_manifest(&self, spec: &ManifestSpec) -> Result<Vec<u8>, LabelError> {
        manifest::render(spec, &self.fonts, &self.pdf_fonts)
    }
}

impl Default for LabelRenderer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LabelRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelRenderer").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renderer_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<LabelRenderer>();
    }

    #[test]
    fn format_names_round_trip() {
        for format in LabelFormat::ALL {
            assert_eq!(LabelFormat::parse(format.extension()), Some(format));
        }
        assert_eq!(LabelFormat::parse("PDF"), Some(LabelFormat::Pdf));
        assert_eq!(LabelFormat::parse("jpg"), None);
        assert_eq!(LabelFormat::Png.media_type(), "image/png");
    }
}
