//! Instructions after a failed delivery: the `ndr` scenario waits for one and follows it.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{book, codes, get, post, start_fast, track_until, unique};

#[tokio::test]
async fn a_reattempt_after_the_failed_delivery_delivers_the_parcel() {
    // UD comes 0.9 s after booking; without an instruction RT would follow 1.5 s later.
    let sim = start_fast(0.5).await;
    let booked = book(&sim.base, "key-a", &unique("order"), "ndr").await;
    let awb = booked["awb"].as_str().expect("awb");
    let url = format!("{}/api/v1/shipments/{awb}/ndr", sim.base);

    let (status, early) = post(&url, "key-a", &json!({"action": "reattempt"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{early}");
    assert_eq!(early["error"]["code"], "NDR_NOT_ALLOWED");

    track_until(&sim.base, "key-a", awb, "UD").await;
    let (status, taken) = post(&url, "key-a", &json!({"action": "reattempt"})).await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(taken["action"], "reattempt");
    assert_eq!(taken["status_code"], "UD");
    let (status, again) = post(&url, "key-a", &json!({"action": "reattempt"})).await;
    assert_eq!(status, StatusCode::OK, "the same instruction again is a client's retry: {again}");
    let (status, other) = post(&url, "key-a", &json!({"action": "rto"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{other}");
    assert_eq!(other["error"]["code"], "NDR_ALREADY_INSTRUCTED");

    let tracking = track_until(&sim.base, "key-a", awb, "DL").await;
    assert_eq!(codes(&tracking), ["BK", "PU", "DP", "AR", "OD", "UD", "OD", "DL"]);
}

#[tokio::test]
async fn an_rto_instruction_returns_the_parcel_and_silence_returns_it_too() {
    let sim = start_fast(0.3).await;
    let told = book(&sim.base, "key-a", &unique("order"), "ndr").await["awb"].as_str().expect("awb").to_owned();
    let silent = book(&sim.base, "key-a", &unique("order"), "ndr").await["awb"].as_str().expect("awb").to_owned();
    track_until(&sim.base, "key-a", &told, "UD").await;
    let (status, body) =
        post(&format!("{}/api/v1/shipments/{told}/ndr", sim.base), "key-a", &json!({"action": "rto"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let returned = ["BK", "PU", "DP", "AR", "OD", "UD", "RT", "RI", "RD"];
    assert_eq!(codes(&track_until(&sim.base, "key-a", &told, "RD").await), returned);
    assert_eq!(codes(&track_until(&sim.base, "key-a", &silent, "RD").await), returned);
}

#[tokio::test]
async fn instructions_are_checked_field_by_field() {
    let sim = start_fast(0.5).await;
    let awb = book(&sim.base, "key-a", &unique("order"), "ndr").await["awb"].as_str().expect("awb").to_owned();
    track_until(&sim.base, "key-a", &awb, "UD").await;
    let url = format!("{}/api/v1/shipments/{awb}/ndr", sim.base);
    let today = (Utc::now() + Duration::hours(3)).date_naive();
    for (body, field) in [
        (json!({"action": "teleport"}), "action"),
        (json!({"action": "reschedule"}), "date"),
        (json!({"action": "reschedule", "date": "tomorrow"}), "date"),
        (json!({"action": "reschedule", "date": today.to_string()}), "date"),
        (json!({"action": "reschedule", "date": (today + Duration::days(8)).to_string()}), "date"),
        (json!({"action": "update", "landmark": "   "}), "address"),
        (json!({"action": "update", "phone": "9".repeat(201)}), "phone"),
    ] {
        let (status, refused) = post(&url, "key-a", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {refused}");
        assert_eq!(refused["error"]["field"], field, "{body}");
    }
    let (status, _) = get(&format!("{}/api/v1/shipments/{awb}", sim.base), "key-b").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = post(&url, "key-b", &json!({"action": "rto"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another key's shipment is not there");

    let date = (today + Duration::days(2)).to_string();
    let (status, taken) = post(&url, "key-a", &json!({"action": "reschedule", "date": date})).await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(taken["action"], "reschedule");
    let tracking = track_until(&sim.base, "key-a", &awb, "DL").await;
    assert_eq!(codes(&tracking).last().map(String::as_str), Some("DL"));
}
