//! Any printable text renders in every format; only tracking numbers Code 128 cannot carry
//! are refused, with an error rather than a panic.

use proptest::prelude::*;
use waybill_labels::{LabelAddress, LabelError, LabelFormat, LabelRenderer, LabelSpec, Routing};

use crate::specs;

/// Printable text in any script (no control, format or unassigned code points).
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("\\PC{{0,{max}}}")).expect("valid regex")
}

prop_compose! {
    fn address()(
        name in text(60),
        company in proptest::option::of(text(60)),
        lines in proptest::collection::vec(text(60), 0..6),
        city_line in text(20),
        country in text(4),
        phone in proptest::option::of(text(30)),
    ) -> LabelAddress {
        LabelAddress { name, company, lines, city_line, country, phone }
    }
}

prop_compose! {
    /// Tracking numbers are printable ASCII, as carriers issue them; the QR fields are kept
    /// to lengths real routing data has, so the QR code fits its box.
    fn spec()(
        carrier_name in text(40),
        service_name in text(30),
        tracking_number in "[ -~]{1,24}",
        ship_from in address(),
        ship_to in address(),
        weight in text(12),
        piece in text(8),
        cod in proptest::option::of(text(30)),
        reference in proptest::option::of(text(30)),
        ship_date in text(12),
        routing in (text(12), text(12), text(16), text(12)),
    ) -> LabelSpec {
        let (sort_code, origin_hub, destination_hub, route) = routing;
        LabelSpec {
            carrier_name, service_name, tracking_number, ship_from, ship_to, weight, piece,
            cod, reference, ship_date,
            routing: Routing { sort_code, origin_hub, destination_hub, route },
        }
    }
}

fn renderer() -> &'static LabelRenderer {
    static RENDERER: std::sync::OnceLock<LabelRenderer> = std::sync::OnceLock::new();
    RENDERER.get_or_init(LabelRenderer::new)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_printable_text_renders_in_every_format(spec in spec()) {
        let pdf = renderer().render(&spec, LabelFormat::Pdf).expect("PDF");
        prop_assert!(pdf.starts_with(b"%PDF-"));
        let zpl = renderer().render(&spec, LabelFormat::Zpl).expect("ZPL");
        let zpl = String::from_utf8(zpl).expect("UTF-8");
        prop_assert!(zpl.starts_with("^XA") && zpl.trim_end().ends_with("^XZ"));
        // User text can never end the format early or start a command.
        prop_assert_eq!(zpl.matches("^XZ").count(), 1);
        prop_assert!(!zpl.contains('~'));
        let png = renderer().render(&spec, LabelFormat::Png).expect("PNG");
        prop_assert!(png.starts_with(b"\x89PNG"));
    }

    #[test]
    fn any_tracking_number_renders_or_is_refused(tracking in "\\PC{0,40}") {
        let mut spec = specs::turkish(true);
        spec.tracking_number = tracking.clone();
        let encodable = !tracking.is_empty()
            && tracking.len() <= 30
            && tracking.chars().all(|c| (' '..='~').contains(&c));
        for format in LabelFormat::ALL {
            match renderer().render(&spec, format) {
                Ok(_) => prop_assert!(encodable, "{tracking:?} rendered"),
                Err(
                    LabelError::EmptyTrackingNumber
                    | LabelError::UnencodableTrackingNumber(_)
                    | LabelError::TrackingNumberTooLong { .. },
                ) => prop_assert!(!encodable, "{tracking:?} refused"),
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The check a booking runs before the carrier is called says exactly what rendering will:
    /// any tracking number, and routing and city text long enough to overflow the QR code.
    #[test]
    fn the_check_agrees_with_rendering(
        tracking in "\\PC{0,40}",
        city_line in text(400),
        destination_hub in text(200),
        cod in any::<bool>(),
    ) {
        let mut spec = specs::turkish(cod);
        spec.tracking_number = tracking;
        spec.ship_to.city_line = city_line;
        spec.routing.destination_hub = destination_hub;
        let checked = renderer().check(&spec).map_err(|e| e.to_string());
        let rendered = renderer().render(&spec, LabelFormat::Zpl).map(|_| ()).map_err(|e| e.to_string());
        prop_assert_eq!(checked, rendered);
    }
}

#[test]
fn non_ascii_tracking_number_is_an_error() {
    let mut spec = specs::turkish(false);
    spec.tracking_number = "WB12ş34".into();
    for format in LabelFormat::ALL {
        let err = renderer().render(&spec, format).unwrap_err();
        assert!(matches!(err, LabelError::UnencodableTrackingNumber('ş')), "{err:?}");
        assert!(err.to_string().contains("'ş'"));
    }
}

#[test]
fn empty_and_overlong_tracking_numbers_are_errors() {
    let mut spec = specs::turkish(false);
    spec.tracking_number = String::new();
    assert!(matches!(renderer().render(&spec, LabelFormat::Zpl), Err(LabelError::EmptyTrackingNumber)));
    spec.tracking_number = "WBABCDEFGHIJKLMNOPQRSTUVWXYZ-XY".into();
    assert!(matches!(renderer().render(&spec, LabelFormat::Pdf), Err(LabelError::TrackingNumberTooLong { len: 31 })));
    // Digits pack two to a character, so long numeric tracking numbers still fit.
    spec.tracking_number = "1".repeat(50);
    assert!(renderer().render(&spec, LabelFormat::Png).is_ok());
}
