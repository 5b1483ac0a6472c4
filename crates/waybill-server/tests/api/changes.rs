//! Changes after booking through the running server and the simulator: the carrier's update
//! call where it takes the change, a new booking before pickup where it does not, a refusal
//! after pickup or delivery, and the audit trail of each.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use waybill_core::Mode;

use crate::common::{Harness, Options};

/// The simulator's own record of a booking, by tracking number.
async fn at_carrier(h: &Harness, awb: &str) -> Value {
    h.http
        .get(format!("{}/api/v1/shipments/{awb}", h.sim_url))
        .header("X-Api-Key", "test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn patch(h: &Harness, id: &str, body: &Value) -> (StatusCode, Value) {
    let r = h.http.patch(format!("{}/v1/shipments/{id}", h.api)).bearer_auth(&h.key).json(body).send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

async fn trail(h: &Harness, id: &str) -> Vec<Value> {
    let (status, list) = h.get(&format!("/v1/shipments/{id}/changes")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["data"].as_array().unwrap().clone()
}

async fn book_cod_order(h: &Harness, reference: &str) -> Value {
    let order = h.create_order(reference, json!({"method": "cod", "amount": "499.90"})).await;
    let (status, shipment) = h.post("/v1/shipments", &h.booking(order["id"].as_str(), "delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {shipment}", h.backend);
    shipment
}

#[tokio::test]
async fn the_recipient_s_phone_and_the_cod_amount_change_at_the_carrier_and_stay_in_the_trail() {
    let h = Harness::with(Options { day_seconds: 600.0, ..Options::default() }).await;
    let shipment = book_cod_order(&h, "c-1").await;
    let id = shipment["id"].as_str().unwrap();
    let awb = shipment["tracking_number"].as_str().unwrap();

    // Wrong changes say where they are wrong and change nothing.
    let mut bad_postcode = shipment["ship_to"].clone();
    bad_postcode["postal_code"] = json!("ABC");
    for (body, pointer) in [
        (json!({}), ""),
        (json!({"ship_to": shipment["ship_to"]}), ""),
        (json!({"cod": {"amount": "-5", "currency": "TRY"}}), "/cod/amount"),
        (json!({"cod": {"amount": "10.00", "currency": "EUR"}}), "/cod/currency"),
        (json!({"ship_to": bad_postcode}), "/ship_to/postal_code"),
        (json!({"weight": 2}), "/weight"),
    ] {
        let (status, problem) = patch(&h, id, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{body}: {problem}");
    }
    assert_eq!(h.get(&format!("/v1/shipments/{id}")).await.1["ship_to"], shipment["ship_to"]);
    assert!(trail(&h, id).await.is_empty());

    let mut ship_to = shipment["ship_to"].clone();
    ship_to["phone"] = json!("+90 555 999 88 77");
    ship_to["street1"] = json!("Bağdat Caddesi No: 12 D:4");
    let (status, changed) =
        patch(&h, id, &json!({"ship_to": ship_to, "cod": {"amount": "450.00", "currency": "TRY"}})).await;
    assert_eq!(status, StatusCode::OK, "[{}] {changed}", h.backend);
    assert_eq!(changed["change"]["method"], "carrier_update");
    assert_eq!(changed["change"]["fields"], json!(["recipient", "cod"]));
    assert!(changed["change"]["replacement_shipment_id"].is_null());
    assert_eq!(changed["shipment"]["id"], id);
    assert_eq!(changed["shipment"]["tracking_number"], awb, "the same booking");
    assert_eq!(changed["shipment"]["ship_to"]["phone"], "+90 555 999 88 77");
    assert_eq!(changed["shipment"]["cod"], json!({"amount": "450.00", "currency": "TRY"}));

    let carrier = at_carrier(&h, awb).await;
    assert_eq!(carrier["consignee"]["phone"], "+90 555 999 88 77", "{carrier}");
    assert_eq!(carrier["consignee"]["street1"], "Bağdat Caddesi No: 12 D:4");
    assert_eq!(carrier["cod"]["amount"], "450.00");

    let changes = trail(&h, id).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["id"], changed["change"]["id"]);
    let values = changes[0]["values"].as_array().unwrap();
    assert_eq!(values[0]["pointer"], "/ship_to");
    assert_eq!(values[0]["from"]["phone"], shipment["ship_to"]["phone"]);
    assert_eq!(values[0]["to"]["phone"], "+90 555 999 88 77");
    assert_eq!(
        values[1],
        json!({"pointer": "/cod", "from": {"amount": "499.90", "currency": "TRY"}, "to": {"amount": "450.00", "currency": "TRY"}})
    );
    let events = h.store.events_about(&h.scope, id).await.unwrap();
    assert!(events.iter().any(|e| e.event.kind() == "shipment.changed"), "{events:?}");

    let other = h.store.create_tenant("other").await.unwrap();
    let other_key = h.store.create_api_key(&other.id, Mode::Test).await.unwrap();
    let (status, _) = h.get_as(&format!("/v1/shipments/{id}/changes"), &other_key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn another_postcode_before_pickup_voids_the_booking_and_books_it_again() {
    let h = Harness::with(Options { day_seconds: 600.0, ..Options::default() }).await;
    let shipment = book_cod_order(&h, "c-2").await;
    let id = shipment["id"].as_str().unwrap();
    let old_awb = shipment["tracking_number"].as_str().unwrap();

    let mut ship_to = shipment["ship_to"].clone();
    ship_to["city"] = json!("Ankara");
    ship_to["postal_code"] = json!("06100");
    let (status, changed) = patch(&h, id, &json!({"ship_to": ship_to})).await;
    assert_eq!(status, StatusCode::OK, "[{}] {changed}", h.backend);
    assert_eq!(changed["change"]["method"], "rebooked");
    assert_eq!(changed["change"]["fields"], json!(["destination"]));
    let new_id = changed["shipment"]["id"].as_str().unwrap();
    assert_ne!(new_id, id);
    assert_eq!(changed["change"]["replacement_shipment_id"], new_id);
    assert_eq!(changed["shipment"]["booking_state"], "booked");
    assert_eq!(changed["shipment"]["ship_to"]["postal_code"], "06100");
    assert_eq!(changed["shipment"]["order_id"], shipment["order_id"]);
    assert_eq!(changed["shipment"]["cod"], shipment["cod"]);
    let new_awb = changed["shipment"]["tracking_number"].as_str().unwrap();
    assert_ne!(new_awb, old_awb, "a new tracking number, and a new label to print");
    let (status, media, _) = h.get_bytes(&format!("/v1/shipments/{new_id}/label")).await;
    assert_eq!((status, media.as_str()), (StatusCode::OK, "application/pdf"));

    assert_eq!(h.get(&format!("/v1/shipments/{id}")).await.1["status"], "cancelled");
    assert!(at_carrier(&h, old_awb).await["status_code"] == "CX", "voided at the carrier");
    assert_eq!(trail(&h, id).await.len(), 1);
    assert_eq!(trail(&h, new_id).await[0]["id"], changed["change"]["id"], "the new shipment knows where it came from");

    // The voided booking is done with: it cannot be changed (or booked again) a second time.
    let (status, problem) = patch(&h, id, &json!({"ship_to": shipment["ship_to"]})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("can no longer be changed"), "{problem}");
    assert_eq!(trail(&h, id).await.len(), 1);
}

#[tokio::test]
async fn after_pickup_only_what_the_carrier_updates_changes_and_after_delivery_nothing() {
    // Days of four seconds: picked up after 0.8 s, delivered after 7.2 s.
    let h = Harness::with(Options { day_seconds: 4.0, ..Options::default() }).await;
    let shipment = book_cod_order(&h, "c-3").await;
    let id = shipment["id"].as_str().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while h.get(&format!("/v1/shipments/{id}")).await.1["status"] == "info_received" {
        assert!(std::time::Instant::now() < deadline, "never picked up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut moved = shipment["ship_to"].clone();
    moved["postal_code"] = json!("34000");
    let (status, problem) = patch(&h, id, &json!({"ship_to": moved})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("destination") && detail.contains("picked up"), "{problem}");
    let mut phone = shipment["ship_to"].clone();
    phone["phone"] = json!("+90 555 111 22 33");
    let (status, changed) = patch(&h, id, &json!({"ship_to": phone.clone()})).await;
    assert_eq!((status, &changed["change"]["method"]), (StatusCode::OK, &json!("carrier_update")), "{changed}");

    h.wait_for_status(id, "delivered", Duration::from_secs(30)).await;
    phone["phone"] = json!("+90 555 444 55 66");
    let (status, problem) = patch(&h, id, &json!({"ship_to": phone})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("`delivered`"), "{problem}");
    assert_eq!(trail(&h, id).await.len(), 1, "only the change that was made");
}
