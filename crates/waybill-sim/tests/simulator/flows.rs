//! Booking, lookups, cancellation and tracking over time.

use std::time::Duration;

use chrono::DateTime;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{book, codes, get, post, start_fast, track_until, unique};

#[tokio::test]
async fn book_find_and_cancel_before_pickup() {
    // PU comes 0.6 s after booking, DL 5.4 s after.
    let sim = start_fast(3.0).await;
    let base = &sim.base;
    let reference = unique("order");
    let booked = book(base, "key-a", &reference, "delivered").await;
    let awb = booked["awb"].as_str().expect("awb").to_owned();

    assert!(awb.starts_with("SIM") && awb.len() == 13, "{awb}");
    assert!(awb[3..].bytes().all(|b| b.is_ascii_digit()));
    assert!(booked["shipment_id"].as_str().expect("id").starts_with("ss_"));
    assert_eq!(booked["reference"], reference);
    assert_eq!(booked["service"], "standard");
    assert_eq!(booked["status_code"], "BK");
    assert_eq!(booked["charge"], json!({"amount": "10.10", "currency": "USD"}));
    assert_eq!(booked["routing"]["origin_hub"], "IST");
    assert_eq!(booked["routing"]["destination_hub"], "ANK");
    let sort_code = booked["routing"]["sort_code"].as_str().expect("sort code");
    assert!(sort_code.starts_with("ANK-") && sort_code.len() == 8, "{sort_code}");
    assert!(booked["routing"]["route"].as_str().expect("route").starts_with('R'));
    assert_eq!(booked["pieces"], json!([{"piece_id": format!("{awb}-1"), "weight_g": 1200}]));
    assert!(DateTime::parse_from_rfc3339(booked["created_at"].as_str().expect("created_at")).is_ok());
    assert_eq!(booked["edd"].as_str().expect("edd").len(), 10);

    let (status, by_awb) = get(&format!("{base}/api/v1/shipments/{awb}"), "key-a").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_awb, booked);

    let (status, found) = get(&format!("{base}/api/v1/shipments?reference={reference}"), "key-a").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found, json!({"shipments": [booked]}));
    let (_, none) = get(&format!("{base}/api/v1/shipments?reference=nope"), "key-a").await;
    assert_eq!(none, json!({"shipments": []}));

    let cancel_url = format!("{base}/api/v1/shipments/{awb}/cancel");
    let (status, cancelled) = post(&cancel_url, "key-a", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled, json!({"awb": awb, "status_code": "CX"}));
    let (status, again) = post(&cancel_url, "key-a", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "cancelling twice is idempotent");
    assert_eq!(again, cancelled);

    // Wait past the time the whole scenario would have taken.
    tokio::time::sleep(Duration::from_millis(5600)).await;
    let (_, tracking) = get(&format!("{base}/api/v1/tracking/{awb}"), "key-a").await;
    assert_eq!(tracking["status_code"], "CX");
    assert_eq!(codes(&tracking), ["BK", "CX"]);
    let cx = &tracking["events"][1];
    assert_eq!(cx["event_id"], format!("{awb}-2"));
    assert_eq!(cx["description"], "Shipment cancelled by shipper");
    let (_, shipment) = get(&format!("{base}/api/v1/shipments/{awb}"), "key-a").await;
    assert_eq!(shipment["status_code"], "CX");
}

#[tokio::test]
async fn cancel_after_pickup_is_refused() {
    let sim = start_fast(0.5).await;
    let booked = book(&sim.base, "key-a", &unique("order"), "delivered").await;
    let awb = booked["awb"].as_str().expect("awb");
    track_until(&sim.base, "key-a", awb, "PU").await;

    let (status, body) = post(&format!("{}/api/v1/shipments/{awb}/cancel", sim.base), "key-a", &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "CANCEL_NOT_ALLOWED");
    assert_eq!(body["error"]["message"], "shipment already picked up");
    let (_, tracking) = get(&format!("{}/api/v1/tracking/{awb}", sim.base), "key-a").await;
    assert!(!codes(&tracking).contains(&"CX".to_owned()));
}

#[tokio::test]
async fn delivered_scenario_runs_on_the_accelerated_clock() {
    let sim = start_fast(0.05).await;
    let booked = book(&sim.base, "key-a", &unique("order"), "delivered").await;
    let awb = booked["awb"].as_str().expect("awb");

    let tracking = track_until(&sim.base, "key-a", awb, "DL").await;
    assert_eq!(codes(&tracking), ["BK", "PU", "DP", "AR", "OD", "DL"]);
    assert_eq!(tracking["awb"], awb);

    let events = tracking["events"].as_array().expect("events");
    let mut previous = None;
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["event_id"], format!("{awb}-{}", i + 1));
        assert!(event["reason_code"].is_null());
        assert!(!event["description"].as_str().expect("description").is_empty());
        let text = event["timestamp"].as_str().expect("timestamp");
        assert!(text.ends_with("+03:00"), "Turkish origin offset: {text}");
        let at = DateTime::parse_from_rfc3339(text).expect("RFC 3339");
        assert!(previous.is_none_or(|p| p <= at), "time goes forward");
        previous = Some(at);
    }
    assert_eq!(events[0]["location"], "Istanbul Hub, TR");
    assert_eq!(events[5]["location"], "Ankara Hub, TR");
    assert_eq!(events[5]["description"], "Delivered");

    let (_, shipment) = get(&format!("{}/api/v1/shipments/{awb}", sim.base), "key-a").await;
    assert_eq!(shipment["status_code"], "DL");
}

#[tokio::test]
async fn undelivered_scans_carry_reason_codes() {
    let sim = start_fast(0.02).await;
    let booked = book(&sim.base, "key-a", &unique("order"), "rto").await;
    let awb = booked["awb"].as_str().expect("awb");
    let tracking = track_until(&sim.base, "key-a", awb, "RD").await;
    assert_eq!(codes(&tracking), ["BK", "PU", "DP", "AR", "OD", "UD", "OD", "UD", "RT", "RI", "RD"]);
    let reasons: Vec<_> = tracking["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["code"] == "UD")
        .map(|e| e["reason_code"].clone())
        .collect();
    assert_eq!(reasons, [json!("ADR"), json!("REF")]);
}

#[tokio::test]
async fn rates_quote_every_service() {
    let sim = start_fast(60.0).await;
    let body = json!({
        "shipper": crate::common::address("Acme", "Istanbul", "34710", "TR"),
        "consignee": crate::common::address("Jane", "Berlin", "10115", "DE"),
        "parcels": [{"weight_g": 400}, {"weight_g": 700}],
    });
    let (status, rates) = post(&format!("{}/api/v1/rates", sim.base), "key-a", &body).await;
    assert_eq!(status, StatusCode::OK, "{rates}");
    let rates = rates["rates"].as_array().expect("rates");
    let services: Vec<_> = rates.iter().map(|r| r["service"].clone()).collect();
    assert_eq!(services, [json!("express"), json!("standard"), json!("economy")]);
    for rate in rates {
        let amount = rate["charge"]["amount"].as_str().expect("amount");
        assert_eq!(amount.split_once('.').expect("decimal").1.len(), 2);
        assert_eq!(rate["charge"]["currency"], "USD");
        assert!(rate["transit_days"].as_u64().expect("days") >= 1);
    }
    // 1.1 kg across the border by express: 3 started half-kilos.
    assert_eq!(rates[0]["charge"]["amount"], "44.90");
}
