//! `/v1/inventory`: counts and adjustments, and stock that follows a shipment of an order from
//! its location: reserved when booked, gone when picked up, back when a booking is cancelled.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::Harness;

async fn level(h: &Harness, sku: &str) -> Value {
    let (status, list) = h.get("/v1/inventory?limit=100").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["data"].as_array().unwrap().iter().find(|l| l["sku"] == sku).cloned().unwrap_or(Value::Null)
}

/// Waits for the SKU's level to have `on_hand` and `reserved`.
async fn wait_level(h: &Harness, sku: &str, on_hand: i64, reserved: i64) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let l = level(h, sku).await;
        if l["on_hand"] == on_hand && l["reserved"] == reserved {
            return l;
        }
        assert!(std::time::Instant::now() < deadline, "[{}] {sku} never reached {on_hand}/{reserved}: {l}", h.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn stock_is_counted_adjusted_reserved_shipped_and_released() {
    let h = Harness::start().await;
    let (status, problem) = h.put("/v1/inventory", &json!({"sku": "MUG-1", "on_hand": 10})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no location yet: {problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/location_id");
    let (_, depot) = h
        .post(
            "/v1/locations",
            &json!({"name": "Depo", "default": true, "address": {"name": "Depo", "street1": "Atatürk Cd. 1",
                "city": "Ankara", "postal_code": "06100", "country": "TR"}}),
        )
        .await;
    for sku in ["MUG-1"] {
        let (status, set) = h.put("/v1/inventory", &json!({"sku": sku, "on_hand": 10})).await;
        assert_eq!(status, StatusCode::OK, "{set}");
        assert_eq!(set["available"], 10);
        assert_eq!(set["location_id"], depot["id"]);
    }
    let (status, adjusted) = h
        .post("/v1/inventory/adjustments", &json!({"sku": "MUG-1", "delta": -1, "reason": "broken on the shelf"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{adjusted}");
    assert_eq!(adjusted["on_hand"], 9);
    let (status, bad) = h.post("/v1/inventory/adjustments", &json!({"sku": "MUG-1", "delta": 0, "reason": ""})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let pointers: Vec<_> = bad["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    assert!(pointers.contains(&"/delta") && pointers.contains(&"/reason"), "{pointers:?}");

    // An order of 2 mugs, booked from the default location: reserved, then gone at pickup.
    let mut order = crate::common::order_body("INV-1", json!({"method": "prepaid"}));
    order["line_items"] = json!([{"sku": "MUG-1", "quantity": 2, "unit_price": "99.90"}]);
    let (_, order) = h.post("/v1/orders", &order).await;
    let mut booking = h.booking(order["id"].as_str(), "delivered");
    booking.as_object_mut().unwrap().remove("ship_from");
    let (status, shipment) = h.post("/v1/shipments", &booking).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    wait_level(&h, "MUG-1", 7, 0).await;
    h.wait_for_order(order["id"].as_str().unwrap(), "closed", Duration::from_secs(30)).await;
    wait_level(&h, "MUG-1", 7, 0).await;
}

#[tokio::test]
async fn a_booking_cancelled_before_pickup_gives_back_what_it_set_aside() {
    // A slow clock: the parcel is not picked up while the test runs.
    let h = Harness::with(crate::common::Options { day_seconds: 3600.0, ..Default::default() }).await;
    h.post(
        "/v1/locations",
        &json!({"name": "Depo", "default": true, "address": {"name": "Depo", "street1": "Atatürk Cd. 1",
            "city": "Ankara", "postal_code": "06100", "country": "TR"}}),
    )
    .await;
    h.put("/v1/inventory", &json!({"sku": "SHIRT-1", "on_hand": 10})).await;
    let mut order = crate::common::order_body("INV-2", json!({"method": "prepaid"}));
    order["line_items"] = json!([{"sku": "SHIRT-1", "quantity": 3, "unit_price": "199"}]);
    let (_, order) = h.post("/v1/orders", &order).await;
    let mut booking = h.booking(order["id"].as_str(), "delivered");
    booking.as_object_mut().unwrap().remove("ship_from");
    let (_, shipment) = h.post("/v1/shipments", &booking).await;
    let reserved = wait_level(&h, "SHIRT-1", 10, 3).await;
    assert_eq!(reserved["available"], 7);
    let (status, cancelled) =
        h.post(&format!("/v1/shipments/{}/cancel", shipment["id"].as_str().unwrap()), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    let released = wait_level(&h, "SHIRT-1", 10, 0).await;
    assert_eq!(released["available"], 10);
}
