//! MNG Kargo's answer parsers on arbitrary bodies: a value or a typed error, never a panic. The
//! first input byte picks the parser; the rest is the answer body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waybill_carriers::mng_kargo;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    match which % 7 {
        0 => drop(mng_kargo::parse_token_answer(body)),
        1 => drop(mng_kargo::parse_create_answer(body, "WB-0001")),
        2 => drop(mng_kargo::parse_return_answer(body, "WB-0001")),
        3 => drop(mng_kargo::parse_barcode_answer(body)),
        4 => drop(mng_kargo::parse_cancel_answer(body)),
        5 => drop(mng_kargo::parse_track_answer(body)),
        _ => drop(mng_kargo::parse_find_answer(body, "WB-0001")),
    }
});
