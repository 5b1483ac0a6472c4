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

/// Stock changes go to a WooCommerce store by SKU: a burst of changes to one SKU is one update
/// with the final number, and a SKU the store does not have is reported, not retried.
#[tokio::test]
async fn stock_changes_reach_the_store_by_sku_coalesced_and_unknown_skus_are_reported() {
    use waybill_shopsim::woocommerce::{WooConfig, WooSim};
    let h = Harness::start().await;
    let shop = WooSim::new(WooConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shop_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(shop.clone().serve(listener));
    shop.add_product("MUG-1", None);
    let shirt = shop.add_product("SHIRT", None);
    shop.add_product("SHIRT-M", Some(shirt));
    h.post(
        "/v1/locations",
        &json!({"name": "Depo", "default": true, "address": {"name": "Depo", "street1": "Atatürk Cd. 1",
            "city": "Ankara", "postal_code": "06100", "country": "TR"}}),
    )
    .await;
    let c = shop.config().clone();
    let (status, connection) = h
        .post(
            "/v1/channel-connections",
            &json!({"channel": "woocommerce", "name": "Kupa", "mode": "test", "base_url": shop_url,
                "credentials": {"consumer_key": c.consumer_key, "consumer_secret": c.consumer_secret, "webhook_secret": c.webhook_secret},
                "settings": {"sync_interval_seconds": 86400}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{connection}");
    let before = shop.api_calls();
    for n in [5, 6, 7, 8, 9] {
        h.put("/v1/inventory", &json!({"sku": "MUG-1", "on_hand": n})).await;
    }
    h.put("/v1/inventory", &json!({"sku": "SHIRT-M", "on_hand": 4})).await;
    h.put("/v1/inventory", &json!({"sku": "NOPE-1", "on_hand": 1})).await;

    let id = connection["id"].as_str().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let states = loop {
        let (_, list) = h.get(&format!("/v1/channel-connections/{id}/stock")).await;
        let states: Vec<(String, String, i64)> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["sku"].as_str().unwrap().to_owned(),
                    s["state"].as_str().unwrap().to_owned(),
                    s["quantity"].as_i64().unwrap(),
                )
            })
            .collect();
        if states.len() == 3 && states.iter().all(|s| s.1 != "pending") {
            break states;
        }
        assert!(std::time::Instant::now() < deadline, "stock never settled: {states:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        states,
        [
            ("MUG-1".to_owned(), "sent".to_owned(), 9),
            ("NOPE-1".to_owned(), "unknown".to_owned(), 1),
            ("SHIRT-M".to_owned(), "sent".to_owned(), 4)
        ]
    );
    assert_eq!(shop.stock("MUG-1"), Some(9), "the final number");
    assert_eq!(shop.stock("SHIRT-M"), Some(4), "a variation, through its parent");
    let calls = shop.api_calls() - before;
    assert!(calls <= 8, "a burst goes in a few batched calls, not one per change: {calls}");
    let (_, unknown) = h.get(&format!("/v1/channel-connections/{id}/stock?state=unknown")).await;
    assert!(unknown["data"][0]["reason"].as_str().unwrap().contains("NOPE-1"), "{unknown}");
}

/// Two orders come back to the sender (`rto`): the one acknowledged fit to sell goes back into
/// stock, the damaged one is written off; each is acknowledged once, and only once it is back.
#[tokio::test]
async fn a_returned_parcel_is_restocked_or_written_off_when_the_merchant_acknowledges_it() {
    let h = Harness::start().await;
    h.post(
        "/v1/locations",
        &json!({"name": "Depo", "default": true, "address": {"name": "Depo", "street1": "Atatürk Cd. 1",
            "city": "Ankara", "postal_code": "06100", "country": "TR"}}),
    )
    .await;
    let (status, _) = h.put("/v1/inventory", &json!({"sku": "LAMP-1", "on_hand": 10})).await;
    assert_eq!(status, StatusCode::OK);
    let mut shipments = Vec::new();
    for external in ["RTO-1", "RTO-2"] {
        let mut order = crate::common::order_body(external, json!({"method": "prepaid"}));
        order["line_items"] = json!([{"sku": "LAMP-1", "quantity": 2, "unit_price": "45.00"}]);
        let (_, order) = h.post("/v1/orders", &order).await;
        let mut booking = h.booking(order["id"].as_str(), "rto");
        booking.as_object_mut().unwrap().remove("ship_from");
        let (status, shipment) = h.post("/v1/shipments", &booking).await;
        assert_eq!(status, StatusCode::CREATED, "{shipment}");
        shipments.push((order["id"].as_str().unwrap().to_owned(), shipment["id"].as_str().unwrap().to_owned()));
    }
    let (early_order, early) = &shipments[0];
    let path = |id: &str| format!("/v1/shipments/{id}/rto/acknowledge");
    let (status, problem) = h.post(&path(early), &json!({"condition": "restockable"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "not back yet: {problem}");
    assert!(problem["detail"].as_str().unwrap().contains("not back with the sender yet"), "{problem}");
    for (order, shipment) in &shipments {
        h.wait_for_status(shipment, "returned", Duration::from_secs(30)).await;
        h.wait_for_order(order, "returned", Duration::from_secs(30)).await;
    }
    // Back at the depot but not looked at: neither counted yet.
    wait_level(&h, "LAMP-1", 6, 0).await;

    for (body, pointer) in [
        (json!({"condition": "lost"}), "/condition"),
        (json!({"condition": "damaged", "note": "x".repeat(201)}), "/note"),
        (json!({}), "/condition"),
    ] {
        let (status, problem) = h.post(&path(early), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{problem}");
    }
    let (status, receipt) =
        h.post(&path(early), &json!({"condition": "restockable", "note": "Box dented, lamp fine"})).await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    assert_eq!(receipt["condition"], "restockable");
    assert_eq!(receipt["note"], "Box dented, lamp fine");
    assert_eq!(receipt["shipment_id"], early.as_str());
    let (status, again) = h.post(&path(early), &json!({"condition": "restockable"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "no second restock: {again}");
    let (_, broken) = &shipments[1];
    let (status, _) = h.post(&path(broken), &json!({"condition": "damaged", "note": "Glass shattered"})).await;
    assert_eq!(status, StatusCode::OK);

    // Two lamps back on the shelf, two written off, and nothing more whatever runs again.
    wait_level(&h, "LAMP-1", 8, 0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    wait_level(&h, "LAMP-1", 8, 0).await;
    let (_, order) = h.get(&format!("/v1/orders/{early_order}")).await;
    assert_eq!(order["status"], "returned");
    let events = h.store.events_about(&h.scope, early).await.unwrap();
    let acknowledged = events.iter().filter(|e| e.event.kind() == "shipment.rto_acknowledged").count();
    assert_eq!(acknowledged, 1);
}
