//! The `ups` adapter's answer parsers on arbitrary bytes: Waybill values or a typed error, never
//! a panic. The first input byte picks the parser; the rest is the answer body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waybill_carriers::ups;
use waybill_core::Address;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    match which % 10 {
        0 => drop(ups::parse_rate_answer(body)),
        1 => drop(ups::parse_booking_answer(body, "03")),
        2 => drop(ups::parse_void_answer(body)),
        3 => drop(ups::parse_track_answer(body, "1Z023E2X0214323462")),
        4 => drop(ups::parse_reference_answer(body)),
        5 => {
            let asked = Address {
                name: "Jane Doe".into(),
                company: None,
                phone: None,
                email: None,
                street1: "123 Main St".into(),
                street2: None,
                city: "Rocklin".into(),
                state: Some("CA".into()),
                postal_code: "95677".into(),
                country: "US".into(),
            };
            drop(ups::parse_address_answer(body, &asked))
        }
        6 => drop(ups::parse_pickup_answer(body)),
        7 => drop(ups::parse_subscription_answer(body, "1Z204W4R0308071865")),
        8 => drop(ups::parse_pickup_cancel_answer(body)),
        _ => drop(ups::parse_push_body(body)),
    }
});
