//! The state file: shipments, cancellations and subscriptions survive a
//! restart.

use std::io::Write;
use std::path::Path;

use reqwest::StatusCode;
use serde_json::json;
use waybill_sim::SimConfig;

use crate::common::{book, codes, get, post, start, track_until, unique};

fn config(path: &Path, day_seconds: f64) -> SimConfig {
    SimConfig { day_seconds, state_file: Some(path.to_owned()), ..SimConfig::default() }
}

#[tokio::test]
async fn state_survives_restarts() {
    let path = std::env::temp_dir().join(format!("{}.jsonl", unique("waybill-sim")));
    let hook = "http://127.0.0.1:9/hook";

    // First run, fast clock: book and subscribe.
    let reference = unique("order");
    let (awb, booked, subscription_id) = {
        let first = start(config(&path, 0.05)).await;
        let booked = book(&first.base, "key-a", &reference, "delivered").await;
        let awb = booked["awb"].as_str().expect("awb").to_owned();
        let (status, created) = post(
            &format!("{}/api/v1/subscriptions", first.base),
            "key-a",
            &json!({"awb": awb, "url": hook, "secret": "k"}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        (awb, booked, created["subscription_id"].clone())
    };
    // A write torn by a crash must hide nothing before or after it.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("state file exists")
        .write_all(br#"{"type":"shipment_cre"#)
        .expect("append");

    // Second run, slow clock: the shipment keeps the clock it was booked on.
    let cancelled_awb = {
        let second = start(config(&path, 60.0)).await;
        let base = &second.base;
        let (status, again) = get(&format!("{base}/api/v1/shipments/{awb}"), "key-a").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again["shipment_id"], booked["shipment_id"]);
        assert_eq!(again["created_at"], booked["created_at"]);
        let (_, found) = get(&format!("{base}/api/v1/shipments?reference={reference}"), "key-a").await;
        assert_eq!(found["shipments"][0]["awb"], awb.as_str());
        let tracking = track_until(base, "key-a", &awb, "DL").await;
        assert_eq!(codes(&tracking), ["BK", "PU", "DP", "AR", "OD", "DL"]);

        // The subscription came back: setting it again only replaces it.
        let (status, replaced) =
            post(&format!("{base}/api/v1/subscriptions"), "key-a", &json!({"awb": awb, "url": hook, "secret": "k2"}))
                .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(replaced["subscription_id"], subscription_id);

        let later = book(base, "key-a", &unique("order"), "delivered").await;
        let later_awb = later["awb"].as_str().expect("awb").to_owned();
        let (status, _) = post(&format!("{base}/api/v1/shipments/{later_awb}/cancel"), "key-a", &json!({})).await;
        assert_eq!(status, StatusCode::OK);
        later_awb
    };

    // Third run: the booking after the torn line and its cancellation are back.
    let third = start(config(&path, 60.0)).await;
    let (status, tracking) = get(&format!("{}/api/v1/tracking/{cancelled_awb}", third.base), "key-a").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(codes(&tracking), ["BK", "CX"]);
    drop(third);
    std::fs::remove_file(&path).expect("cleanup");
}
