//! Delhivery's answer parsers on arbitrary bodies: a value or a typed error, never a panic. The
//! first input byte picks the parser; the rest is the answer body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waybill_carriers::delhivery;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    let result = match which % 10 {
        0 => delhivery::parse_create_answer(body, "surface").map(drop),
        1 => delhivery::parse_cancel_answer(body).map(drop),
        2 => delhivery::parse_track_answer(body, "1490810000123").map(drop),
        3 => delhivery::parse_find_answer(body, "shp_01REF").map(drop),
        4 => delhivery::parse_charges_answer(body).map(drop),
        5 => delhivery::parse_serviceability_answer(body, "110020").map(drop),
        6 => delhivery::parse_packing_slip_answer(body, "1490810000123").map(drop),
        7 => delhivery::parse_ndr_answer(body).map(drop),
        8 => delhivery::parse_update_answer(body).map(drop),
        _ => delhivery::parse_pickup_answer(body).map(drop),
    };
    // Which typed error it is does not matter here; the adapter tests check that.
    let _: Result<(), waybill_carriers::CarrierError> = result;
});
