//! DHL Express (MyDHL API) answer parsers on arbitrary bytes: the first byte picks the parser
//! (rates, shipment, tracking, pickup, address validation), the rest is the answer. Each must
//! answer `Ok` or a typed error, and an answer that is not JSON must be `Protocol`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waybill_carriers::CarrierError;
use waybill_carriers::dhl_express::{
    parse_address_answer, parse_pickup_answer, parse_rates_answer, parse_shipment_answer, parse_tracking_answer,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let result = match selector % 5 {
        0 => parse_rates_answer(body).map(|_| ()),
        1 => parse_shipment_answer(body, "P").map(|_| ()),
        2 => parse_tracking_answer(body, "1234567890").map(|_| ()),
        3 => parse_pickup_answer(body).map(|_| ()),
        _ => parse_address_answer(body, None).map(|_| ()),
    };
    if std::str::from_utf8(body).is_err() {
        assert!(matches!(result, Err(CarrierError::Protocol { .. })), "{result:?}");
    }
});
