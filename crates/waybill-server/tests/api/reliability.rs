//! When the carrier misbehaves: an unknown outcome is reconciled (never re-sent), a carrier
//! that is down fails cleanly and frees the idempotency key, and forged pushes are refused.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use waybill_carriers::{Account, BookingRequest, Carriers};
use waybill_core::ids::{CarrierAccountId, ShipmentId};
use waybill_core::{BookingState, Mode};
use waybill_outbound::Outbound;
use waybill_sim::Faults;

use crate::common::{self, Harness, Options};

#[tokio::test]
async fn a_booking_whose_answer_is_lost_is_reconciled_not_resent() {
    let h = Harness::with(Options { carrier_timeout: Duration::from_millis(500), ..Default::default() }).await;
    h.sim.set_faults(Faults { timeout_rate: 1.0, hang_ms: 2_000, ..Default::default() });
    let (status, shipment) = h.post("/v1/shipments", &h.booking(None, "delivered")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "[{}] {shipment}", h.backend);
    assert_eq!(shipment["booking_state"], "unknown");
    assert_eq!(shipment["tracking_number"], json!(null));
    h.sim.set_faults(Faults::default());

    let id = shipment["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let settled = loop {
        let (_, s) = h.get(&format!("/v1/shipments/{id}")).await;
        if s["booking_state"] == "booked" {
            break s;
        }
        assert!(Instant::now() < deadline, "never reconciled: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(settled["tracking_number"].as_str().unwrap().starts_with("SIM"));
    let bookings = h.carrier_bookings(id).await;
    assert_eq!(bookings.len(), 1, "booked once at the carrier");
    assert_eq!(bookings[0]["awb"], settled["tracking_number"]);
}

#[tokio::test]
async fn a_booking_left_pending_by_a_dead_node_is_swept_and_settled() {
    let h = Harness::with(Options { booking_watchdog: Duration::from_secs(1), ..Default::default() }).await;
    // What a node leaves behind when it dies between recording the intent and the answer:
    // a pending row the carrier never heard of.
    let id = ShipmentId::generate();
    let pending = common::pending_shipment(&h.scope, &id, &h.account_id, "sandbox", "standard");
    common::insert_in_flight(&h.store, &pending, "a-node-that-died").await;

    let deadline = Instant::now() + Duration::from_secs(30);
    let settled = loop {
        let (_, s) = h.get(&format!("/v1/shipments/{id}")).await;
        if s["booking_state"] != "pending" {
            break s;
        }
        assert!(Instant::now() < deadline, "[{}] never swept: {s}", h.backend);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(settled["booking_state"], "failed", "[{}] {settled}", h.backend);
    assert_eq!(settled["error"]["code"], "NOT_BOOKED", "[{}] the carrier was asked, not re-sent to", h.backend);
    assert!(h.carrier_bookings(id.as_str()).await.is_empty(), "[{}] nothing was booked at the carrier", h.backend);
}

#[tokio::test]
async fn a_carrier_that_is_down_fails_cleanly_and_frees_the_key() {
    let h = Harness::start().await;
    h.sim.set_faults(Faults { error_rate: 1.0, ..Default::default() });
    let body = h.booking(None, "delivered");
    let r = h
        .http
        .post(format!("{}/v1/shipments", h.api))
        .bearer_auth(&h.key)
        .header("Idempotency-Key", "k-down")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    let problem: serde_json::Value = r.json().await.unwrap();
    assert_eq!(problem["type"], "carrier_unavailable");

    h.sim.set_faults(Faults::default());
    let (status, shipment) = h.post_with("/v1/shipments", &body, &h.key, Some("k-down")).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the same key may be retried after a failure that booked nothing: {shipment}"
    );
}

#[tokio::test]
async fn forged_pushes_are_refused_and_record_nothing() {
    let h =
        Harness::with(Options { day_seconds: 3600.0, poll_interval: Duration::from_secs(3600), ..Default::default() })
            .await;
    let (_, shipment) = h.post("/v1/shipments", &h.booking(None, "delivered")).await;
    let tn = shipment["tracking_number"].as_str().unwrap();
    let body = json!({"awb": tn, "event": {"event_id": format!("{tn}-9"), "code": "DL", "description": "Delivered",
        "location": "x", "timestamp": "2026-11-21T10:00:00+03:00", "reason_code": null}});
    let ts = chrono::Utc::now().timestamp().to_string();
    let url = format!("{}/v1/hooks/carriers/sandbox/{}", h.api, h.account_id);
    let r = h
        .http
        .post(&url)
        .header("X-Sim-Timestamp", &ts)
        .header("X-Sim-Signature", format!("sha256={}", "ab".repeat(32)))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = h.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "unsigned");
    let r = h
        .http
        .post(format!("{}/v1/hooks/carriers/sandbox/car_01jd3xk8w3v6a8g0n6r1c5e2qz", h.api))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "an unknown account is refused like a bad signature");
    let (_, after) = h.get(&format!("/v1/shipments/{}", shipment["id"].as_str().unwrap())).await;
    assert_ne!(after["status"], "delivered");
    assert!(after["events"].as_array().unwrap().iter().all(|e| e["carrier_code"] != "DL"));
}

#[tokio::test]
async fn a_push_that_overtakes_its_booking_is_refused_until_the_booking_exists() {
    use hmac::{KeyInit, Mac};
    let h =
        Harness::with(Options { day_seconds: 3600.0, poll_interval: Duration::from_secs(3600), ..Default::default() })
            .await;
    let account: waybill_core::ids::CarrierAccountId = serde_json::from_value(json!(h.account_id)).unwrap();
    let secret = h.store.account_secrets(&h.scope, &account).await.unwrap().push_secret;
    let push = |tn: &str| {
        let body = json!({"awb": tn, "event": {"event_id": format!("{tn}-2"), "code": "PU", "description": "Picked up",
            "location": "Ankara Hub, TR", "timestamp": chrono::Utc::now().to_rfc3339(), "reason_code": null}})
        .to_string();
        let ts = chrono::Utc::now().timestamp().to_string();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{ts}.{body}").as_bytes());
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        h.http
            .post(format!("{}/v1/hooks/carriers/sandbox/{}", h.api, h.account_id))
            .header("content-type", "application/json")
            .header("X-Sim-Timestamp", ts)
            .header("X-Sim-Signature", signature)
            .body(body)
    };
    let r = push("SIM0000000001").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT, "the carrier must send it again later");

    let (_, shipment) = h.post("/v1/shipments", &h.booking(None, "delivered")).await;
    let tn = shipment["tracking_number"].as_str().unwrap();
    let r = push(tn).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, after) = h.get(&format!("/v1/shipments/{}", shipment["id"].as_str().unwrap())).await;
    assert_eq!(after["status"], "picked_up");
    let r = push(tn).send().await.unwrap();
    let receipt: serde_json::Value = r.json().await.unwrap();
    assert_eq!(receipt["recorded"], 0, "a repeated push records nothing");
}

#[tokio::test]
async fn a_subscribe_job_queued_by_an_earlier_version_still_subscribes() {
    let h = Harness::start().await;
    let id = ShipmentId::generate();
    let mut shipment = common::pending_shipment(&h.scope, &id, &h.account_id, "sandbox", "standard");
    // Booked at the carrier and recorded, but with no jobs: the job below is the only subscriber.
    let sandbox = Carriers::new(Outbound::default()).get("sandbox").unwrap().clone();
    let account_id = CarrierAccountId::parse(&h.account_id).unwrap();
    let credentials = json!({"api_key": "test"});
    let account = Account { id: &account_id, mode: Mode::Test, base_url: &h.sim_url, credentials: &credentials };
    let request = BookingRequest {
        reference: id.to_string(),
        service: shipment.service.clone(),
        ship_from: shipment.ship_from.clone(),
        ship_to: shipment.ship_to.clone(),
        parcels: shipment.parcels.clone(),
        cod: None,
        simulate: Some("delivered".into()),
        is_return: false,
    };
    let booking = sandbox.book(&account, &request).await.unwrap();
    common::insert_in_flight(&h.store, &shipment, h.engine.config().node.as_str()).await;
    shipment.booking_state = BookingState::Booked;
    shipment.tracking_number = Some(booking.tracking_number);
    shipment.carrier_shipment_id = Some(booking.carrier_shipment_id);
    let mut tx = h.store.begin().await.unwrap();
    tx.update_shipment(&shipment).await.unwrap();
    tx.commit().await.unwrap();
    // The subscribe job as the first version queued it: the shipment id alone, and no mode.
    common::insert_legacy_job(&h.db_url, &h.scope, "subscribe", &json!({ "shipment_id": id })).await;

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, s) = h.get(&format!("/v1/shipments/{id}")).await;
        if s["events"].as_array().unwrap().iter().any(|e| e["source"] == "push") {
            break;
        }
        assert!(Instant::now() < deadline, "[{}] no pushed scan arrived: {s}", h.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
