//! `Idempotency-Key`: a repeat returns the first answer, and the carrier is asked once even
//! when many identical requests are in flight together.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::Harness;

#[tokio::test]
async fn fifty_identical_requests_book_once() {
    let h = Harness::start().await;
    let order = h.create_order("idem-1", json!({"method": "prepaid"})).await;
    let body = h.booking(Some(order["id"].as_str().unwrap()), "delivered");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (http, api, key, body) = (h.http.clone(), h.api.clone(), h.key.clone(), body.clone());
        tasks.spawn(async move {
            let r = http
                .post(format!("{api}/v1/shipments"))
                .bearer_auth(key)
                .header("Idempotency-Key", "order-idem-1")
                .json(&body)
                .send()
                .await
                .unwrap();
            let replayed = r.headers().contains_key("idempotent-replayed");
            (r.status(), replayed, r.text().await.unwrap())
        });
    }
    let mut ids = HashSet::new();
    let mut bodies = HashSet::new();
    let mut replays = 0;
    while let Some(done) = tasks.join_next().await {
        let (status, replayed, text) = done.unwrap();
        assert_eq!(status, StatusCode::CREATED, "[{}] {text}", h.backend);
        replays += usize::from(replayed);
        let v: Value = serde_json::from_str(&text).unwrap();
        ids.insert(v["id"].as_str().unwrap().to_owned());
        bodies.insert(text);
    }
    assert_eq!(ids.len(), 1, "every request got the same shipment");
    assert_eq!(bodies.len(), 1, "every request got the first answer, byte for byte");
    assert_eq!(replays, 49);
    let id = ids.into_iter().next().unwrap();
    assert_eq!(h.carrier_bookings(&id).await.len(), 1, "the carrier was asked exactly once");
    assert_eq!(h.counts().await.1, 1, "one shipment stored");

    // Later, with the order already shipped, a repeat still gets the first answer.
    let again = h
        .http
        .post(format!("{}/v1/shipments", h.api))
        .bearer_auth(&h.key)
        .header("Idempotency-Key", "order-idem-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert!(bodies.contains(&again.text().await.unwrap()));

    // The same key with a different request is refused, and books nothing.
    let mut other = body.clone();
    other["service"] = json!("economy");
    let (status, problem) = h.post_with("/v1/shipments", &other, &h.key, Some("order-idem-1")).await;
    assert_eq!((status, problem["type"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_key_reused")));
    assert_eq!(h.counts().await.1, 1);
}

#[tokio::test]
async fn without_a_key_each_request_is_a_new_booking() {
    let h = Harness::start().await;
    let body = h.booking(None, "delivered");
    let (_, a) = h.post("/v1/shipments", &body).await;
    let (_, b) = h.post("/v1/shipments", &body).await;
    assert_ne!(a["tracking_number"], b["tracking_number"]);
}
