//! Fault injection: 503s, latency, and hangs after the work is done.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use waybill_sim::{Faults, SimConfig};

use crate::common::{booking, call, get, post, start, start_fast, unique};

#[tokio::test]
async fn error_rate_one_answers_503_and_does_nothing() {
    let sim = start_fast(60.0).await;
    let base = &sim.base;
    let faults_url = format!("{base}/_sim/faults");

    let (status, set) = call(Method::PUT, &faults_url, "", Some(&json!({"error_rate": 1.0}))).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let (_, read) = get(&faults_url, "").await;
    assert_eq!(read, json!({"latency_ms": 0, "error_rate": 1.0, "timeout_rate": 0.0, "hang_ms": 0}));

    let reference = unique("order");
    let (status, body) = post(&format!("{base}/api/v1/shipments"), "key-a", &booking(&reference, "delivered")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE");
    // Faults strike before authentication too.
    let (status, _) = get(&format!("{base}/api/v1/tracking/SIM0000000000"), "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, health) = get(&format!("{base}/_sim/health"), "").await;
    assert_eq!((status, health), (StatusCode::OK, json!({"status": "ok"})));

    let (status, body) = call(Method::PUT, &faults_url, "", Some(&json!({"error_rate": 2}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "error_rate");

    let (status, _) = call(Method::PUT, &faults_url, "", Some(&json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, found) = get(&format!("{base}/api/v1/shipments?reference={reference}"), "key-a").await;
    assert_eq!(found, json!({"shipments": []}), "the 503 booked nothing");
}

#[tokio::test]
async fn latency_delays_answers() {
    let sim =
        start(SimConfig { faults: Faults { latency_ms: 250, ..Faults::default() }, ..SimConfig::default() }).await;
    let started = Instant::now();
    let (status, _) = get(&format!("{}/api/v1/shipments?reference=x", sim.base), "key-a").await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn a_timed_out_booking_can_be_reconciled_by_reference() {
    let sim = start_fast(60.0).await;
    sim.sim.set_faults(Faults { timeout_rate: 1.0, hang_ms: 300, ..Faults::default() });
    let reference = unique("order");
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(100)).build().expect("client");
    let outcome = impatient
        .post(format!("{}/api/v1/shipments", sim.base))
        .header("X-Api-Key", "key-a")
        .json(&booking(&reference, "delivered"))
        .send()
        .await;
    let error = outcome.expect_err("the client gives up");
    assert!(error.is_timeout(), "{error}");

    sim.sim.set_faults(Faults::default());
    let (status, found) = get(&format!("{}/api/v1/shipments?reference={reference}", sim.base), "key-a").await;
    assert_eq!(status, StatusCode::OK);
    let shipments = found["shipments"].as_array().expect("list");
    assert_eq!(shipments.len(), 1, "the booking happened: {found}");
    assert_eq!(shipments[0]["reference"], reference);
    assert!(shipments[0]["awb"].as_str().expect("awb").starts_with("SIM"));
}
