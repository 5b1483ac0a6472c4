//! Test and live are kept apart: a key sees and touches only objects of its own mode (the
//! other mode's ids answer 404, like another tenant's), a test key cannot connect a live
//! account or book on one, and an `Idempotency-Key` is scoped per tenant and mode.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Harness, generic_account, order_body};

fn pointers(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map_or(vec![], |e| e.iter().map(|x| x["pointer"].as_str().unwrap().to_owned()).collect())
}

/// A live order, a live generic account and a live shipment booked on it (no carrier is
/// called, so no outbound policy stands in the way).
async fn live_objects(h: &Harness) -> (String, String, Value) {
    let (status, account) = h.post_with("/v1/carrier-accounts", &generic_account("live"), &h.live_key, None).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {account}", h.backend);
    let (status, order) =
        h.post_with("/v1/orders", &order_body("live-1", json!({"method": "prepaid"})), &h.live_key, None).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {order}", h.backend);
    let mut booking = h.booking(Some(order["id"].as_str().unwrap()), "delivered");
    booking["carrier_account_id"] = account["id"].clone();
    booking["service"] = json!("std");
    booking["options"] = json!({});
    let (status, shipment) = h.post_with("/v1/shipments", &booking, &h.live_key, None).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {shipment}", h.backend);
    (account["id"].as_str().unwrap().to_owned(), order["id"].as_str().unwrap().to_owned(), shipment)
}

#[tokio::test]
async fn each_key_sees_only_its_own_modes_objects() {
    let h = Harness::start().await;
    let test_order = h.create_order("test-1", json!({"method": "prepaid"})).await;
    let (_, test_shipment) =
        h.post("/v1/shipments", &h.booking(Some(test_order["id"].as_str().unwrap()), "delivered")).await;
    let (live_account, live_order, live_shipment) = live_objects(&h).await;

    let test_paths = [
        format!("/v1/orders/{}", test_order["id"].as_str().unwrap()),
        format!("/v1/shipments/{}", test_shipment["id"].as_str().unwrap()),
        format!("/v1/shipments/{}/label?format=zpl", test_shipment["id"].as_str().unwrap()),
        format!("/v1/trackers/{}", test_shipment["tracking_number"].as_str().unwrap()),
    ];
    let live_paths = [
        format!("/v1/orders/{live_order}"),
        format!("/v1/shipments/{}", live_shipment["id"].as_str().unwrap()),
        format!("/v1/shipments/{}/label?format=zpl", live_shipment["id"].as_str().unwrap()),
        format!("/v1/trackers/{}", live_shipment["tracking_number"].as_str().unwrap()),
    ];
    for (paths, own, other) in [(&test_paths, &h.key, &h.live_key), (&live_paths, &h.live_key, &h.key)] {
        for path in paths.iter() {
            let (status, _) = h.get_as(path, own).await;
            assert_eq!(status, StatusCode::OK, "[{}] {path} with its own mode's key", h.backend);
            let (status, problem) = h.get_as(path, other).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "[{}] {path} with the other mode's key: {problem}", h.backend);
        }
    }
    for (path, live_id, test_id) in [
        ("/v1/orders", live_order.clone(), test_order["id"].as_str().unwrap().to_owned()),
        ("/v1/carrier-accounts", live_account.clone(), h.account_id.clone()),
    ] {
        let (_, test_list) = h.get(path).await;
        let (_, live_list) = h.get_as(path, &h.live_key).await;
        let ids = |l: &Value| {
            l["data"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        };
        assert!(ids(&test_list).contains(&test_id) && !ids(&test_list).contains(&live_id), "[{}] {path}", h.backend);
        assert!(ids(&live_list).contains(&live_id) && !ids(&live_list).contains(&test_id), "[{}] {path}", h.backend);
    }
    // A shipment can be cancelled only with a key of its own mode.
    let (status, _) = h
        .post_with(
            &format!("/v1/shipments/{}/cancel", test_shipment["id"].as_str().unwrap()),
            &json!({}),
            &h.live_key,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "[{}]", h.backend);
}

#[tokio::test]
async fn a_test_key_cannot_connect_a_live_account_nor_book_on_one() {
    let h = Harness::start().await;
    let (live_account, live_order, _) = live_objects(&h).await;
    let before = h.rows().await;

    let (status, problem) = h.post("/v1/carrier-accounts", &generic_account("live")).await;
    assert_eq!(
        (status, pointers(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["/mode".to_owned()]),
        "[{}]",
        h.backend
    );
    let (status, problem) = h.post_with("/v1/carrier-accounts", &generic_account("test"), &h.live_key, None).await;
    assert_eq!(
        (status, pointers(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["/mode".to_owned()]),
        "[{}]",
        h.backend
    );

    let mut booking = h.booking(None, "delivered");
    booking["carrier_account_id"] = json!(live_account);
    booking["service"] = json!("std");
    let (status, problem) = h.post("/v1/shipments", &booking).await;
    assert_eq!(
        (status, pointers(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["/carrier_account_id".to_owned()]),
        "[{}] a live account is not found with a test key: {problem}",
        h.backend
    );
    let (status, _) = h.post("/v1/shipments", &h.booking(Some(&live_order), "delivered")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "[{}] nor is a live order", h.backend);
    let (status, problem) = h.post_with("/v1/shipments", &h.booking(None, "delivered"), &h.live_key, None).await;
    assert_eq!(
        (status, pointers(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["/options/simulate".to_owned(), "/carrier_account_id".to_owned()]),
        "[{}] a live key does not book on a test account: {problem}",
        h.backend
    );
    assert_eq!(h.rows().await, before, "[{}] nothing was written", h.backend);
}

#[tokio::test]
async fn idempotency_keys_and_order_numbers_are_per_mode() {
    let h = Harness::start().await;
    let (live_account, _, _) = live_objects(&h).await;
    let test_booking = h.booking(None, "delivered");
    let (status, first) = h.post_with("/v1/shipments", &test_booking, &h.key, Some("order-77")).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {first}", h.backend);

    // The same key with a live key is another key: it books, and never replays the test answer.
    let mut live_booking = h.booking(None, "delivered");
    live_booking["carrier_account_id"] = json!(live_account);
    live_booking["service"] = json!("std");
    live_booking["options"] = json!({});
    let r = h
        .http
        .post(format!("{}/v1/shipments", h.api))
        .bearer_auth(&h.live_key)
        .header("Idempotency-Key", "order-77")
        .json(&live_booking)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "[{}]", h.backend);
    assert!(!r.headers().contains_key("idempotent-replayed"), "[{}] not a replay", h.backend);
    let live: Value = r.json().await.unwrap();
    assert_ne!(live["id"], first["id"], "[{}]", h.backend);
    assert_eq!(live["carrier"], "generic", "[{}]", h.backend);

    // The same shop order number may exist once in each mode.
    let (status, _) = h.post("/v1/orders", &order_body("shop-1001", json!({"method": "prepaid"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, live_order) =
        h.post_with("/v1/orders", &order_body("shop-1001", json!({"method": "prepaid"})), &h.live_key, None).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {live_order}", h.backend);
    let (status, problem) = h.post("/v1/orders", &order_body("shop-1001", json!({"method": "prepaid"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "[{}]", h.backend);
    assert!(!problem["detail"].as_str().unwrap().contains(live_order["id"].as_str().unwrap()), "no live id leaks");
}
