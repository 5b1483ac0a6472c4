//! The API's JSON body extractor (`waybill_server::extract::parse_json`) on arbitrary bytes,
//! for every request type: a value or a 422 problem, never a panic; and an accepted body
//! holds no control character and no string over the API's general limit, and its own
//! checks run without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waybill_core::api::requests::{
    AddressValidate, CarrierAccountCreate, OrderCreate, PickupCreate, RateCreate, ScanEventsCreate, ShipmentCreate,
};
use waybill_server::extract::parse_json;

/// Every string in an accepted body keeps the limits the extractor promises.
fn strings_are_clean(bytes: &[u8]) {
    fn walk(v: &serde_json::Value) {
        match v {
            serde_json::Value::String(s) => {
                assert!(s.chars().count() <= 4096, "an accepted string over the limit");
                assert!(!s.chars().any(waybill_core::text::is_forbidden_char), "an accepted control character: {s:?}");
            }
            serde_json::Value::Array(items) => items.iter().for_each(walk),
            serde_json::Value::Object(map) => map.values().for_each(walk),
            _ => {}
        }
    }
    walk(&serde_json::from_slice(bytes).expect("an accepted body is JSON"));
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    let accepted = match which % 7 {
        0 => parse_json::<OrderCreate>(body).map(|o| drop(o.problems())).is_ok(),
        1 => parse_json::<ShipmentCreate>(body)
            .map(|s| s.shape_problems(&mut waybill_core::error::Problems::new()))
            .is_ok(),
        2 => parse_json::<CarrierAccountCreate>(body).map(|a| drop(a.text_problems())).is_ok(),
        3 => parse_json::<RateCreate>(body).is_ok(),
        4 => parse_json::<AddressValidate>(body).map(|a| drop(a.address.problems("/address"))).is_ok(),
        5 => parse_json::<PickupCreate>(body)
            .map(|p| drop(p.check(chrono::NaiveDate::from_ymd_opt(2030, 1, 1).expect("a date"))))
            .is_ok(),
        _ => parse_json::<ScanEventsCreate>(body).is_ok(),
    };
    if accepted {
        strings_are_clean(body);
    }
});
