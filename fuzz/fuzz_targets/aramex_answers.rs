//! Aramex's answer parsers on arbitrary bodies: a value or a typed error, never a panic. The first
//! input byte picks the parser; the rest is the answer body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waybill_carriers::aramex;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    let result = match which % 4 {
        0 => aramex::parse_create_answer(body, "EXP:PPX").map(drop),
        1 => aramex::parse_rate_answer(body).map(drop),
        2 => aramex::parse_track_answer(body, "44221012345").map(drop),
        _ => aramex::parse_pickup_answer(body).map(drop),
    };
    // Which typed error it is does not matter here; the adapter tests check that.
    let _: Result<(), waybill_carriers::CarrierError> = result;
});
