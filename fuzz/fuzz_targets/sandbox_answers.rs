//! Every answer the `sandbox` adapter reads: the first byte picks the parser, the rest is the
//! answer body. Each must give a value or a typed error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waybill_carriers::CarrierError;
use waybill_carriers::sandbox;
use waybill_core::Address;

fn asked() -> Address {
    Address {
        name: "Ayse Yilmaz".into(),
        company: None,
        phone: None,
        email: None,
        street1: "Ataturk Cd. 1".into(),
        street2: None,
        city: "Istanbul".into(),
        state: None,
        postal_code: "34710".into(),
        country: "TR".into(),
    }
}

fn typed<T>(answer: Result<T, CarrierError>) {
    if let Err(e) = answer {
        assert!(matches!(e, CarrierError::Protocol { carrier: "sandbox", .. }), "{e:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    match which % 14 {
        0 => typed(sandbox::parse_rates_answer(body)),
        1 => typed(sandbox::parse_booking_answer(body)),
        2 => typed(sandbox::parse_found_booking_answer(body)),
        3 => typed(sandbox::parse_cancel_answer(body)),
        4 => typed(sandbox::parse_tracking_answer(body)),
        5 => typed(sandbox::parse_subscription_answer(body)),
        6 => typed(sandbox::parse_address_answer(body, &asked())),
        7 => typed(sandbox::parse_serviceability_answer(body)),
        8 => typed(sandbox::parse_pickup_cancel_answer(body)),
        9 => typed(sandbox::parse_ndr_answer(body, "reattempt")),
        10 => typed(sandbox::parse_manifest_answer(body)),
        11 => typed(sandbox::parse_update_answer(body, "SIM0000000001")),
        12 => typed(sandbox::parse_rto_answer(body)),
        _ => typed(sandbox::parse_pickup_answer(body)),
    }
});
