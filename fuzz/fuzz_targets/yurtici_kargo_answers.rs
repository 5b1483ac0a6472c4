//! Yurtiçi Kargo's answer parsers on arbitrary bytes: the first byte picks the parser
//! (createShipment, cancelShipment, queryShipment, SOAP Fault), the rest is the answer. Each must
//! answer `Ok` or a typed error, and an answer that is not XML must be `Protocol`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waybill_carriers::CarrierError;
use waybill_carriers::yurtici_kargo::{
    parse_cancel_answer, parse_create_answer, parse_fault_answer, parse_query_answer, parse_xml,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let result = match selector % 4 {
        0 => parse_create_answer(body, "shp_01REF"),
        1 => parse_cancel_answer(body, "shp_01REF"),
        2 => parse_query_answer(body, "shp_01REF").map(|_| ()),
        _ => parse_fault_answer(body).map(|_| ()),
    };
    let readable = std::str::from_utf8(body).ok().and_then(parse_xml).is_some();
    if !readable {
        assert!(matches!(result, Err(CarrierError::Protocol { .. })), "{result:?}");
    }
});
