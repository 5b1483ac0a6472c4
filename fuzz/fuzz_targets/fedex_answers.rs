//! FedEx's answer parsers on arbitrary bytes: the first byte picks the parser (rate, ship, cancel,
//! track, reference search, address validation, pickup, end-of-day close), the rest is the answer. Each must answer
//! `Ok` or a typed error, and an answer that is not JSON must be `Protocol`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waybill_carriers::CarrierError;
use waybill_carriers::fedex::{
    parse_address_answer, parse_cancel_answer, parse_close_answer, parse_pickup_answer, parse_rate_answer, parse_reference_answer,
    parse_ship_answer, parse_track_answer,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let result = match selector % 8 {
        0 => parse_rate_answer(body).map(|_| ()),
        1 => parse_ship_answer(body, "FEDEX_GROUND").map(|_| ()),
        2 => parse_cancel_answer(body),
        3 => parse_track_answer(body, "794953535000").map(|_| ()),
        4 => parse_reference_answer(body).map(|_| ()),
        5 => parse_address_answer(body, None).map(|_| ()),
        6 => parse_close_answer(body).map(|_| ()),
        _ => parse_pickup_answer(body).map(|_| ()),
    };
    if std::str::from_utf8(body).is_err() {
        assert!(matches!(result, Err(CarrierError::Protocol { .. })), "{result:?}");
    }
});
