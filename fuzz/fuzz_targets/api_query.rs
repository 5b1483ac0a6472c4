//! The API's query-string extractor (`waybill_server::extract::parse_query`) on arbitrary
//! query strings, for every route's query type: a value or a 422 problem whose pointers are all
//! under `/query/`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waybill_server::extract::parse_query;
use waybill_server::routes::ListQuery;
use waybill_server::routes::operations::ServiceabilityQuery;
use waybill_server::routes::shipments::{LabelQuery, ShipmentListQuery, TrackerQuery};

fn pointers_are_under_query<T>(parsed: Result<T, waybill_server::ApiError>) {
    if let Err(e) = parsed {
        let problem: serde_json::Value = serde_json::from_str(&e.body()).expect("problems are JSON");
        for error in problem["errors"].as_array().into_iter().flatten() {
            let pointer = error["pointer"].as_str().expect("every error has a pointer");
            assert!(pointer.starts_with("/query/"), "{pointer}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let query = String::from_utf8_lossy(rest);
    match which % 5 {
        0 => pointers_are_under_query(parse_query::<ListQuery>(&query).and_then(|q| q.limit().map(|_| q))),
        1 => pointers_are_under_query(parse_query::<ShipmentListQuery>(&query)),
        2 => pointers_are_under_query(parse_query::<TrackerQuery>(&query)),
        3 => pointers_are_under_query(parse_query::<LabelQuery>(&query)),
        _ => pointers_are_under_query(parse_query::<ServiceabilityQuery>(&query)),
    }
});
