//! Input validation, authentication, key isolation and duplicate references.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{book, booking, get, post, start_fast, unique};

/// Posts `body` to `path` and checks the 422 names `field`.
async fn assert_invalid(base: &str, path: &str, body: &Value, field: &str) {
    let (status, answer) = post(&format!("{base}{path}"), "key-a", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["code"], "VALIDATION_ERROR", "{answer}");
    assert_eq!(answer["error"]["field"], field, "{answer}");
    assert!(!answer["error"]["message"].as_str().expect("message").is_empty());
}

#[tokio::test]
async fn bad_bodies_name_the_offending_field() {
    let sim = start_fast(60.0).await;
    let base = &sim.base;
    let good = booking("ref-1", "delivered");
    let with = |pointer: &str, value: Value| {
        let mut body = good.clone();
        *body.pointer_mut(pointer).expect("pointer exists") = value;
        body
    };
    let without = |object: &str, key: &str| {
        let mut body = good.clone();
        body.pointer_mut(object).and_then(Value::as_object_mut).expect("object").remove(key);
        body
    };

    let shipments = "/api/v1/shipments";
    assert_invalid(base, shipments, &without("/consignee", "postal_code"), "consignee.postal_code").await;
    assert_invalid(base, shipments, &without("/shipper", "name"), "shipper.name").await;
    assert_invalid(base, shipments, &with("/shipper/street1", json!("  ")), "shipper.street1").await;
    assert_invalid(base, shipments, &with("/consignee/city", json!(7)), "consignee.city").await;
    assert_invalid(base, shipments, &with("/consignee/country", json!("tr")), "consignee.country").await;
    assert_invalid(base, shipments, &with("/consignee/country", json!("TUR")), "consignee.country").await;
    assert_invalid(base, shipments, &with("/parcels", json!([])), "parcels").await;
    assert_invalid(base, shipments, &with("/parcels/0/weight_g", json!(0)), "parcels[0].weight_g").await;
    assert_invalid(
        base,
        shipments,
        &with("/parcels", json!([{"weight_g": 100}, {"weight_g": -5}])),
        "parcels[1].weight_g",
    )
    .await;
    assert_invalid(base, shipments, &with("/service", json!("overnight")), "service").await;
    assert_invalid(base, shipments, &with("/scenario", json!("teleported")), "scenario").await;
    assert_invalid(base, shipments, &without("", "reference"), "reference").await;
    assert_invalid(base, shipments, &with("/reference", json!("x".repeat(65))), "reference").await;
    assert_invalid(base, shipments, &with("/cod", json!({"amount": "12,50", "currency": "TRY"})), "cod.amount").await;

    // The same address rules apply to rating.
    let mut rate_body = good.clone();
    *rate_body.pointer_mut("/consignee/postal_code").expect("postal") = Value::Null;
    assert_invalid(base, "/api/v1/rates", &rate_body, "consignee.postal_code").await;

    // A reference of exactly 64 characters and a COD amount are fine.
    let mut ok = with("/reference", json!("y".repeat(64)));
    ok["cod"] = json!({"amount": "12.50", "currency": "TRY"});
    let (status, body) = post(&format!("{base}{shipments}"), "key-a", &ok).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let response = crate::common::client()
        .post(format!("{base}{shipments}"))
        .header("X-Api-Key", "key-a")
        .body("{not json")
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn api_key_is_required_and_partitions_data() {
    let sim = start_fast(60.0).await;
    let base = &sim.base;

    let (status, body) = post(&format!("{base}/api/v1/shipments"), "", &booking("r", "delivered")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");
    let response = crate::common::client()
        .get(format!("{base}/api/v1/tracking/SIM0000000000"))
        .header("X-Api-Key", "")
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let reference = unique("order");
    let booked = book(base, "key-a", &reference, "delivered").await;
    let awb = booked["awb"].as_str().expect("awb");
    for path in [format!("/api/v1/shipments/{awb}"), format!("/api/v1/tracking/{awb}")] {
        let (status, body) = get(&format!("{base}{path}"), "key-b").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["error"]["code"], "NOT_FOUND");
    }
    let (status, _) = post(&format!("{base}/api/v1/shipments/{awb}/cancel"), "key-b", &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, found) = get(&format!("{base}/api/v1/shipments?reference={reference}"), "key-b").await;
    assert_eq!(found, json!({"shipments": []}));

    // The same reference is free under another key.
    book(base, "key-b", &reference, "delivered").await;
}

#[tokio::test]
async fn duplicate_reference_names_the_existing_awb() {
    let sim = start_fast(60.0).await;
    let reference = unique("order");
    let booked = book(&sim.base, "key-a", &reference, "delivered").await;

    let (status, body) = post(&format!("{}/api/v1/shipments", sim.base), "key-a", &booking(&reference, "rto")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "DUPLICATE_REFERENCE");
    assert_eq!(body["error"]["awb"], booked["awb"]);

    let (_, found) = get(&format!("{}/api/v1/shipments?reference={reference}", sim.base), "key-a").await;
    assert_eq!(found["shipments"].as_array().expect("list").len(), 1);
}
