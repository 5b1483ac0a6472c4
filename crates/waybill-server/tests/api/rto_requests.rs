//! Bringing a moving parcel back (an order cancelled after dispatch): through the carrier's API
//! where it has one, the parcel turns back and ends `returned`; a carrier without one keeps a
//! marked request for a person; before pickup the answer is to cancel; once only.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Harness, Options, istanbul, warehouse};

async fn wait_until_moving(h: &Harness, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.get(&format!("/v1/shipments/{id}")).await.1["status"] == "info_received" {
        assert!(Instant::now() < deadline, "[{}] never picked up", h.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn event_types(h: &Harness, id: &str) -> Vec<String> {
    let events = h.store.events_about(&h.scope, id).await.unwrap();
    events.into_iter().map(|e| e.event.kind().to_owned()).collect()
}

#[tokio::test]
async fn a_parcel_on_its_way_is_turned_back_at_the_carrier_once_and_ends_returned() {
    // Days of four seconds: picked up after 0.8 s; without the request, delivered after 7.2 s.
    let h = Harness::with(Options { day_seconds: 4.0, ..Options::default() }).await;
    let order = h.create_order("r-1", json!({"method": "prepaid"})).await;
    let (_, shipment) = h.post("/v1/shipments", &h.booking(order["id"].as_str(), "delivered")).await;
    let id = shipment["id"].as_str().unwrap();

    let (status, problem) = h.post(&format!("/v1/shipments/{id}/rto"), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("cancel the shipment instead"), "{problem}");
    let (status, _) = h.get(&format!("/v1/shipments/{id}/rto")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    wait_until_moving(&h, id).await;
    let (status, problem) = h.post(&format!("/v1/shipments/{id}/cancel"), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(problem["detail"].as_str().unwrap().contains(&format!("POST /v1/shipments/{id}/rto")), "{problem}");
    let (status, problem) = h.post(&format!("/v1/shipments/{id}/rto"), &json!({"reason": "x".repeat(201)})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/reason");

    let body = json!({"reason": "Order cancelled by the customer after dispatch"});
    let (status, asked) = h.post(&format!("/v1/shipments/{id}/rto"), &body).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {asked}", h.backend);
    assert_eq!(asked["via"], "carrier");
    assert_eq!(asked["reason"], "Order cancelled by the customer after dispatch");
    let (status, again) = h.post(&format!("/v1/shipments/{id}/rto"), &json!({})).await;
    assert_eq!((status, &again), (StatusCode::OK, &asked), "asking again answers the first request");
    assert_eq!(h.get(&format!("/v1/shipments/{id}/rto")).await.1, asked);

    let returned = h.wait_for_status(id, "returned", Duration::from_secs(30)).await;
    assert_eq!(returned["id"], id);
    let (_, events) = h.get(&format!("/v1/shipments/{id}")).await;
    let codes: Vec<&str> =
        events["events"].as_array().unwrap().iter().map(|e| e["carrier_code"].as_str().unwrap()).collect();
    assert!(!codes.contains(&"DL"), "never delivered: {codes:?}");
    assert!(codes.ends_with(&["RT", "RI", "RD"]), "{codes:?}");
    let kinds = event_types(&h, id).await;
    assert_eq!(kinds.iter().filter(|k| *k == "shipment.rto_requested").count(), 1, "{kinds:?}");

    // The merchant then takes the goods back as for any return to origin.
    let (status, receipt) =
        h.post(&format!("/v1/shipments/{id}/rto/acknowledge"), &json!({"condition": "restockable"})).await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    h.wait_for_order(order["id"].as_str().unwrap(), "returned", Duration::from_secs(10)).await;
    let (status, first) = h.post(&format!("/v1/shipments/{id}/rto"), &json!({})).await;
    assert_eq!((status, &first), (StatusCode::OK, &asked), "still the first request");
}

#[tokio::test]
async fn a_carrier_without_the_call_gets_a_marked_request_for_a_person() {
    let h = Harness::start().await;
    let settings = json!({"name": "Kuryem Ekspres", "services": [{"code": "std", "name": "Standart"}],
        "tracking_numbers": {"range": {"prefix": "KY", "first": 1, "last": 100, "width": 7}},
        "tracking_url": "https://kuryem.example/track?n={tracking_number}"});
    let (_, account) =
        h.post("/v1/carrier-accounts", &json!({"carrier": "generic", "mode": "test", "settings": settings})).await;
    let booking = json!({"carrier_account_id": account["id"], "service": "std", "ship_from": warehouse(),
        "ship_to": istanbul(), "parcels": [{"weight": {"value": 800, "unit": "g"}}]});
    let (status, shipment) = h.post("/v1/shipments", &booking).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    let id = shipment["id"].as_str().unwrap();
    let number = shipment["tracking_number"].as_str().unwrap();
    let scans = json!({"carrier_account_id": account["id"], "events": [
        {"status": "picked_up", "occurred_at": "2025-03-01T09:10:00+03:00"}]});
    assert_eq!(h.post(&format!("/v1/trackers/{number}/events"), &scans).await.0, StatusCode::OK);

    let (status, asked): (StatusCode, Value) = h.post(&format!("/v1/shipments/{id}/rto"), &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {asked}", h.backend);
    assert_eq!(asked["via"], "merchant", "marked for a person to ask the carrier");
    assert_eq!(h.get(&format!("/v1/shipments/{id}")).await.1["status"], "picked_up", "nothing moved by itself");
    assert_eq!(event_types(&h, id).await.iter().filter(|k| *k == "shipment.rto_requested").count(), 1);
}
