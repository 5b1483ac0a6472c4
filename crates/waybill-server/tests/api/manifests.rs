//! End-of-day manifests through the running server and the simulator: a close takes every
//! parcel waiting for its pickup once, the carrier is told once (later, when it is down), a
//! refused close can be sent again, and the PDF and CSV list what the driver takes.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use waybill_core::Mode;
use waybill_sim::Faults;

use crate::common::{Harness, Options};

/// Days of ten minutes: booked parcels stay `info_received` for the whole test.
fn waiting_parcels() -> Options {
    Options { day_seconds: 600.0, ..Options::default() }
}

async fn book(h: &Harness) -> Value {
    let (status, shipment) = h.post("/v1/shipments", &h.booking(None, "delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {shipment}", h.backend);
    shipment
}

/// The simulator's own record of the close made under `reference` (our manifest id).
async fn carrier_manifests(h: &Harness, reference: &str) -> Vec<Value> {
    h.carrier_records("manifests", reference).await
}

async fn manifest_until(h: &Harness, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, manifest) = h.get(&format!("/v1/manifests/{id}")).await;
        assert_eq!(code, StatusCode::OK, "{manifest}");
        if manifest["status"] == status {
            return manifest;
        }
        assert!(Instant::now() < deadline, "[{}] the manifest never became {status}: {manifest}", h.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn event_types(h: &Harness, id: &str) -> Vec<String> {
    let events = h.store.events_about(&h.scope, id).await.unwrap();
    events.into_iter().map(|e| e.event.kind().to_owned()).collect()
}

fn tracking_numbers(manifest: &Value) -> Vec<String> {
    let mut numbers: Vec<String> = manifest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["tracking_number"].as_str().unwrap().to_owned())
        .collect();
    numbers.sort();
    numbers
}

#[tokio::test]
async fn a_day_is_closed_once_at_the_carrier_with_a_pdf_and_a_csv() {
    let h = Harness::with(waiting_parcels()).await;
    let first = book(&h).await;
    let second = book(&h).await;
    let cancelled = book(&h).await;
    let (status, _) = h.post(&format!("/v1/shipments/{}/cancel", cancelled["id"].as_str().unwrap()), &json!({})).await;
    assert_eq!(status, StatusCode::OK);

    // Wrong requests say where they are wrong and make nothing.
    for (body, pointer) in [
        (json!({}), "/carrier_account_id"),
        (json!({"carrier_account_id": "car_01jd3xk8w3v6a8g0n6r1c5e2qz"}), "/carrier_account_id"),
        (json!({"carrier_account_id": h.account_id, "date": "2026-12-07"}), "/date"),
    ] {
        let (status, problem) = h.post("/v1/manifests", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{problem}");
    }
    let (_, none) = h.get("/v1/manifests").await;
    assert_eq!(none["data"], json!([]));

    let (status, made) = h.post("/v1/manifests", &json!({"carrier_account_id": h.account_id})).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {made}", h.backend);
    let id = made["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("mft_"), "{made}");
    assert_eq!(made["carrier_close"], true);
    let mut expected = vec![
        first["tracking_number"].as_str().unwrap().to_owned(),
        second["tracking_number"].as_str().unwrap().to_owned(),
    ];
    expected.sort();
    assert_eq!(tracking_numbers(&made), expected, "the cancelled parcel is not handed over");
    assert_eq!(made["totals"], json!({"shipments": 2, "parcels": 2, "weight_g": 2500, "cod": []}));
    assert_eq!(made["entries"][0]["consignee"], first["ship_to"]["name"]);
    assert_eq!(made["documents"]["pdf"], format!("/v1/manifests/{id}/document?format=pdf"));

    let closed = manifest_until(&h, &id, "closed").await;
    let number = closed["carrier_reference"].as_str().unwrap();
    assert!(number.starts_with("MAN"), "{closed}");
    assert!(closed["closed_at"].is_string());
    let at_carrier = carrier_manifests(&h, &id).await;
    assert_eq!(at_carrier.len(), 1, "{at_carrier:?}");
    assert_eq!(at_carrier[0]["manifest_number"], number);
    let mut sent: Vec<String> =
        at_carrier[0]["awbs"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect();
    sent.sort();
    assert_eq!(sent, expected);
    assert_eq!(event_types(&h, &id).await, ["manifest.created", "manifest.closed"]);

    // Every parcel is on one manifest: closing again finds nothing, a new booking goes on the next.
    let (status, problem) = h.post("/v1/manifests", &json!({"carrier_account_id": h.account_id})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("nothing to manifest"), "{problem}");
    let third = book(&h).await;
    let (status, next) = h.post("/v1/manifests", &json!({"carrier_account_id": h.account_id})).await;
    assert_eq!(status, StatusCode::CREATED, "{next}");
    assert_eq!(tracking_numbers(&next), [third["tracking_number"].as_str().unwrap()]);
    let (_, list) = h.get("/v1/manifests").await;
    let ids: Vec<_> = list["data"].as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
    assert_eq!(ids, [json!(id), next["id"].clone()]);

    // The documents.
    let (status, media, pdf) = h.get_bytes(&format!("/v1/manifests/{id}/document")).await;
    assert_eq!((status, media.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    let (status, media, csv) = h.get_bytes(&format!("/v1/manifests/{id}/document?format=csv")).await;
    assert_eq!((status, media.as_str()), (StatusCode::OK, "text/csv; charset=utf-8"));
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("manifest_id,line,tracking_number,shipment_id"), "{csv}");
    for number in &expected {
        assert!(csv.contains(number.as_str()), "{number} in {csv}");
    }
    let (status, problem) = h.get(&format!("/v1/manifests/{id}/document?format=xls")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["pointer"], "/query/format");

    // A closed manifest is not sent again, and another tenant sees none of it.
    let (status, problem) = h.post(&format!("/v1/manifests/{id}/retry"), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let other = h.store.create_tenant("other").await.unwrap();
    let other_key = h.store.create_api_key(&other.id, Mode::Test).await.unwrap();
    let (status, _) = h.get_as(&format!("/v1/manifests/{id}"), &other_key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        h.post_with("/v1/manifests", &json!({"carrier_account_id": h.account_id}), &other_key, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "another tenant's account");
}

#[tokio::test]
async fn a_close_made_while_the_carrier_is_down_reaches_it_once_later() {
    let h = Harness::with(waiting_parcels()).await;
    book(&h).await;
    h.sim.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    let key = Some("close-monday");
    let body = json!({"carrier_account_id": h.account_id});
    let (status, made) = h.post_with("/v1/manifests", &body, &h.key, key).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    let (status, repeat) = h.post_with("/v1/manifests", &body, &h.key, key).await;
    assert_eq!((status, &repeat["id"]), (StatusCode::CREATED, &json!(id)), "the repeat answers the first: {repeat}");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(h.get(&format!("/v1/manifests/{id}")).await.1["status"], "closing", "kept while the carrier is down");
    h.sim.set_faults(Faults::default());
    let closed = manifest_until(&h, &id, "closed").await;
    assert_eq!(carrier_manifests(&h, &id).await.len(), 1, "{closed}");
    assert_eq!(event_types(&h, &id).await, ["manifest.created", "manifest.closed"]);
}

#[tokio::test]
async fn a_close_the_carrier_refuses_is_failed_with_its_reason_and_can_be_sent_again() {
    let h = Harness::with(waiting_parcels()).await;
    let shipment = book(&h).await;
    let awb = shipment["tracking_number"].as_str().unwrap();
    // The parcel went on a close made outside Waybill: the carrier refuses a second one.
    let status = h
        .http
        .post(format!("{}/api/v1/manifests", h.sim_url))
        .header("X-Api-Key", "test")
        .json(&json!({"reference": "made-by-hand", "awbs": [awb]}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::CREATED);

    let (_, made) = h.post("/v1/manifests", &json!({"carrier_account_id": h.account_id})).await;
    let id = made["id"].as_str().unwrap().to_owned();
    let failed = manifest_until(&h, &id, "failed").await;
    assert_eq!(failed["error"]["code"], "AWB_ALREADY_MANIFESTED", "{failed}");
    assert!(failed["error"]["message"].as_str().unwrap().contains(awb), "{failed}");
    assert_eq!(tracking_numbers(&failed), [awb], "its parcels stay on it");

    let (status, again) = h.post(&format!("/v1/manifests/{id}/retry"), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["status"], "closing");
    assert!(again["error"].is_null());
    manifest_until(&h, &id, "failed").await;
    assert_eq!(event_types(&h, &id).await, ["manifest.created", "manifest.failed", "manifest.failed"]);
    assert!(carrier_manifests(&h, &id).await.is_empty(), "the carrier closed nothing");
}
