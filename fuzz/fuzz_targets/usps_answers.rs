//! USPS (v3) answer parsers on arbitrary bytes: the first byte picks the parser (prices, label —
//! as JSON and as `multipart/mixed` —, cancel, tracking, address), the rest is the answer. Each
//! must answer `Ok` or a typed error, and an answer that is not JSON (other than a multipart
//! label) must be `Protocol`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waybill_carriers::CarrierError;
use waybill_carriers::usps::{
    parse_address_answer, parse_cancel_answer, parse_label_answer, parse_rates_answer, parse_tracking_answer,
};

/// The boundary the multipart label answers are read with.
const MULTIPART: &str = "multipart/mixed; boundary=waybill-fuzz";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let selector = selector % 6;
    let result = match selector {
        0 => parse_rates_answer(body).map(|_| ()),
        1 => parse_label_answer("application/json", body, "USPS_GROUND_ADVANTAGE").map(|_| ()),
        2 => parse_label_answer(MULTIPART, body, "USPS_GROUND_ADVANTAGE").map(|_| ()),
        3 => parse_cancel_answer(body),
        4 => parse_tracking_answer(body).map(|_| ()),
        _ => parse_address_answer(body, None).map(|_| ()),
    };
    if selector != 2 && std::str::from_utf8(body).is_err() {
        assert!(matches!(result, Err(CarrierError::Protocol { .. })), "{result:?}");
    }
});
