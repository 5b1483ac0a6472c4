//! Cancelling an order: through the API, a booking not yet picked up is voided at the carrier
//! and a parcel on its way is turned back; once only; never after delivery. The customer's
//! cancellation page (`/c/…`) works only while the shop allows it and nothing has left.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Harness, Options};

async fn event_count(h: &Harness, subject: &str, kind: &str) -> usize {
    let events = h.store.events_about(&h.scope, subject).await.unwrap();
    events.iter().filter(|e| e.event.kind() == kind).count()
}

async fn page(h: &Harness, path: &str) -> (StatusCode, String) {
    let r = h.http.get(format!("{}{path}", h.api)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn submit(h: &Harness, path: &str, reason: &str) -> (StatusCode, String) {
    let r = h.http.post(format!("{}{path}?lang=en", h.api)).form(&[("reason", reason)]).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn a_booking_not_yet_picked_up_is_voided_with_its_order_once() {
    let h = Harness::with(Options { day_seconds: 3600.0, ..Options::default() }).await;
    let order = h.create_order("c-1", json!({"method": "prepaid"})).await;
    let order_id = order["id"].as_str().unwrap();
    let (_, shipment) = h.post("/v1/shipments", &h.booking(Some(order_id), "delivered")).await;
    let shipment_id = shipment["id"].as_str().unwrap();

    let path = format!("/v1/orders/{order_id}/cancel");
    let (status, problem) = h.post(&path, &json!({"reason": "x".repeat(201)})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/reason");
    let (status, problem) = h.post(&path, &json!({"reason": "ok", "refund": true})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "an unknown field: {problem}");
    assert_eq!(h.get(&format!("/v1/orders/{order_id}")).await.1["status"], "shipped", "refusals change nothing");

    let (status, cancelled) = h.post(&path, &json!({"reason": "Customer ordered the wrong size"})).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {cancelled}", h.backend);
    assert_eq!(cancelled["order"]["status"], "cancelled");
    assert_eq!(cancelled["cancellation"]["by"], "merchant");
    assert_eq!(cancelled["cancellation"]["reason"], "Customer ordered the wrong size");
    let (status, again) = h.post(&path, &json!({"reason": "another reason"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["cancellation"], cancelled["cancellation"], "asking again answers the first");

    let voided = h.wait_for_status(shipment_id, "cancelled", Duration::from_secs(10)).await;
    assert_eq!(voided["booking_state"], "booked", "{voided}");
    assert_eq!(event_count(&h, order_id, "order.cancelled").await, 1);
    let (_, answer) = h.get(&format!("/v1/orders/{order_id}/cancellation")).await;
    assert_eq!(answer["cancellation"], cancelled["cancellation"]);
    assert_eq!(answer["customer_page"], Value::Null, "customers may not cancel by default");
    let (status, problem) = h.post("/v1/shipments", &h.booking(Some(order_id), "delivered")).await;
    assert_eq!(status, StatusCode::CONFLICT, "a cancelled order is not booked again: {problem}");

    let (status, _) = h.post("/v1/orders/ord_01jd3xk8w3v6a8g0n6r1c5e2qz/cancel", &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_parcel_on_its_way_is_turned_back_and_a_delivered_order_is_not_cancelled() {
    // Days of four seconds: picked up after 0.8 s; without the request, delivered after 7.2 s.
    let h = Harness::with(Options { day_seconds: 4.0, ..Options::default() }).await;
    let order = h.create_order("c-2", json!({"method": "prepaid"})).await;
    let order_id = order["id"].as_str().unwrap();
    let (_, shipment) = h.post("/v1/shipments", &h.booking(Some(order_id), "delivered")).await;
    let shipment_id = shipment["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.get(&format!("/v1/shipments/{shipment_id}")).await.1["status"] == "info_received" {
        assert!(Instant::now() < deadline, "never picked up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (status, cancelled) = h.post(&format!("/v1/orders/{order_id}/cancel"), &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{cancelled}");
    h.wait_for_status(shipment_id, "returned", Duration::from_secs(30)).await;
    let (_, asked) = h.get(&format!("/v1/shipments/{shipment_id}/rto")).await;
    assert_eq!(asked["via"], "carrier", "{asked}");
    assert_eq!(asked["reason"], "order cancelled by the merchant");
    assert_eq!(h.get(&format!("/v1/orders/{order_id}")).await.1["status"], "cancelled", "a final status stays");

    let delivered = h.create_order("c-3", json!({"method": "prepaid"})).await;
    let delivered_id = delivered["id"].as_str().unwrap();
    let (_, parcel) = h.post("/v1/shipments", &h.booking(Some(delivered_id), "delivered")).await;
    h.wait_for_status(parcel["id"].as_str().unwrap(), "delivered", Duration::from_secs(30)).await;
    let (status, problem) = h.post(&format!("/v1/orders/{delivered_id}/cancel"), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("nothing left to cancel"), "{problem}");
    assert_eq!(event_count(&h, delivered_id, "order.cancelled").await, 0);
}

#[tokio::test]
async fn a_customer_cancels_on_the_page_only_while_allowed_and_nothing_has_left() {
    let h = Harness::with(Options { day_seconds: 3600.0, ..Options::default() }).await;
    let order = h.create_order("c-4", json!({"method": "prepaid"})).await;
    let order_id = order["id"].as_str().unwrap();
    let (_, shipment) = h.post("/v1/shipments", &h.booking(Some(order_id), "delivered")).await;
    assert_eq!(h.get("/v1/cancellation-settings").await.1, json!({"customers_may_cancel": false}));
    let (status, problem) = h.put("/v1/cancellation-settings", &json!({"customers_may_cancel": "yes"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, on) = h.put("/v1/cancellation-settings", &json!({"customers_may_cancel": true})).await;
    assert_eq!((status, on), (StatusCode::OK, json!({"customers_may_cancel": true})));

    let (_, answer) = h.get(&format!("/v1/orders/{order_id}/cancellation")).await;
    let link = answer["customer_page"].as_str().expect("offered while allowed").to_owned();
    assert!(link.starts_with("/c/"), "{link}");
    let (status, html) = page(&h, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("c-4") && html.contains("<form"), "{html}");
    assert_eq!(h.get(&format!("/v1/orders/{order_id}")).await.1["status"], "shipped", "opening cancels nothing");

    // The shop turns it off: the same link offers nothing and a form sent anyway does nothing.
    h.put("/v1/cancellation-settings", &json!({"customers_may_cancel": false})).await;
    let (status, html) = submit(&h, &link, "changed my mind").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("cannot be cancelled here") && !html.contains("<form"), "{html}");
    assert_eq!(h.get(&format!("/v1/orders/{order_id}")).await.1["status"], "shipped");

    h.put("/v1/cancellation-settings", &json!({"customers_may_cancel": true})).await;
    let (status, html) = submit(&h, &link, &"x".repeat(201)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a reason the API refuses is refused here too");
    assert!(html.contains("200 characters"), "{html}");
    // In a real browser, in Korean: the customer gives a reason and cancels.
    let reason = "다른 곳에서 더 싸게 샀어요";
    match crate::browser::Browser::start().await {
        Some(browser) => {
            browser.open(&format!("{}{link}?lang=ko", h.api)).await;
            browser.screenshot("cancel-page-ko").await;
            browser.type_into("#reason", reason).await;
            browser.click("#cancel-form button").await;
            let done = browser.wait_for("주문이 취소되었습니다").await;
            assert!(!done.contains("<form"), "nothing left to submit");
            browser.screenshot("cancel-page-done-ko").await;
            browser.quit().await;
        }
        None => {
            let (status, html) = submit(&h, &link, reason).await;
            assert_eq!(status, StatusCode::OK);
            assert!(html.contains("Your order is cancelled"), "{html}");
        }
    }
    h.wait_for_status(shipment["id"].as_str().unwrap(), "cancelled", Duration::from_secs(10)).await;
    let (_, answer) = h.get(&format!("/v1/orders/{order_id}/cancellation")).await;
    assert_eq!(answer["cancellation"]["by"], "customer");
    assert_eq!(answer["cancellation"]["reason"], reason);
    assert_eq!(answer["customer_page"], Value::Null);

    let forged = format!("/c/{}", "A".repeat(64));
    assert_eq!(page(&h, &forged).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_page_refuses_a_customer_once_a_parcel_has_left() {
    let h = Harness::with(Options { day_seconds: 4.0, ..Options::default() }).await;
    h.put("/v1/cancellation-settings", &json!({"customers_may_cancel": true})).await;
    let order = h.create_order("c-5", json!({"method": "prepaid"})).await;
    let order_id = order["id"].as_str().unwrap();
    let link =
        h.get(&format!("/v1/orders/{order_id}/cancellation")).await.1["customer_page"].as_str().unwrap().to_owned();
    let (_, shipment) = h.post("/v1/shipments", &h.booking(Some(order_id), "delivered")).await;
    let shipment_id = shipment["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.get(&format!("/v1/shipments/{shipment_id}")).await.1["status"] == "info_received" {
        assert!(Instant::now() < deadline, "never picked up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, html) = submit(&h, &link, "too late?").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("already on its way") && !html.contains("<form"), "{html}");
    assert_ne!(h.get(&format!("/v1/orders/{order_id}")).await.1["status"], "cancelled");
    assert_eq!(event_count(&h, order_id, "order.cancelled").await, 0);
}
