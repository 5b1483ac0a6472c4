//! Property tests over HTTP: rating is a deterministic, weight-monotone
//! function, and every scenario's events come in time order.

use std::sync::OnceLock;

use chrono::DateTime;
use proptest::prelude::*;
use proptest::sample::select;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Running, address, post, start_fast, track_until, unique};

/// One simulator (with a very fast clock) shared by every case.
struct Shared {
    runtime: tokio::runtime::Runtime,
    running: Running,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let running = runtime.block_on(start_fast(0.002));
        Shared { runtime, running }
    })
}

fn rate_body(weights: &[u64], international: bool) -> Value {
    let parcels: Vec<_> = weights.iter().map(|w| json!({"weight_g": w})).collect();
    json!({
        "shipper": address("Acme", "Istanbul", "34710", "TR"),
        "consignee": if international {
            address("Jane", "Berlin", "10115", "DE")
        } else {
            address("Ayse", "Ankara", "06530", "TR")
        },
        "parcels": parcels,
    })
}

/// The charge of each service, in cents.
fn quote(body: &Value) -> Vec<u64> {
    let s = shared();
    let (status, rates) = s.runtime.block_on(post(&format!("{}/api/v1/rates", s.running.base), "props", body));
    assert_eq!(status, StatusCode::OK, "{rates}");
    rates["rates"]
        .as_array()
        .expect("rates")
        .iter()
        .map(|r| {
            let amount = r["charge"]["amount"].as_str().expect("amount");
            let (units, cents) = amount.split_once('.').expect("two decimals");
            assert_eq!(cents.len(), 2, "{amount}");
            units.parse::<u64>().expect("units") * 100 + cents.parse::<u64>().expect("cents")
        })
        .collect()
}

/// Final code and number of events of each scenario (`ndr` uninstructed: held, then returned).
const SCENARIOS: [(&str, &str, usize); 6] = [
    ("delivered", "DL", 6),
    ("ndr_then_delivered", "DL", 8),
    ("ndr", "RD", 9),
    ("rto", "RD", 11),
    ("lost", "LS", 4),
    ("exception", "DL", 7),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn charge_is_deterministic_and_grows_with_weight(
        weights in prop::collection::vec(1u64..40_000, 1..4),
        international in any::<bool>(),
        extra in 1u64..5_000,
    ) {
        let body = rate_body(&weights, international);
        let first = quote(&body);
        prop_assert_eq!(&first, &quote(&body));

        let mut heavier = weights.clone();
        heavier[0] += extra;
        let more = quote(&rate_body(&heavier, international));
        for (light, heavy) in first.iter().zip(&more) {
            prop_assert!(heavy >= light);
            // Every started half-kilo is charged.
            if extra >= 500 {
                prop_assert!(heavy > light);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn scenario_events_are_time_ordered(
        (scenario, last, count) in select(SCENARIOS.to_vec()),
        (country, postal_code) in select(vec![("TR", "34710"), ("US", "10001"), ("IN", "110001"), ("KZ", "050000")]),
    ) {
        let s = shared();
        let base = &s.running.base;
        let mut body = crate::common::booking(&unique("prop"), scenario);
        body["shipper"] = address("Acme", "Somewhere", postal_code, country);
        let (status, booked) = s
            .runtime
            .block_on(post(&format!("{base}/api/v1/shipments"), "props", &body));
        prop_assert_eq!(status, StatusCode::CREATED);
        let awb = booked["awb"].as_str().expect("awb");
        let tracking = s.runtime.block_on(track_until(base, "props", awb, last));

        let events = tracking["events"].as_array().expect("events");
        prop_assert_eq!(events.len(), count);
        let times: Vec<_> = events
            .iter()
            .map(|e| DateTime::parse_from_rfc3339(e["timestamp"].as_str().expect("timestamp")).expect("RFC 3339"))
            .collect();
        for pair in times.windows(2) {
            prop_assert!(pair[0] <= pair[1]);
        }
        prop_assert!(times.iter().all(|t| t.offset() == times[0].offset()));
        for (i, event) in events.iter().enumerate() {
            prop_assert_eq!(&event["event_id"], &json!(format!("{awb}-{}", i + 1)));
        }
    }
}
