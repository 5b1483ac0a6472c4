//! `/v1/locations`: a booking that names no sender ships from the location it names, else
//! from its channel connection's, else from the default one.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::Harness;

async fn location(h: &Harness, name: &str, city: &str, postal_code: &str, default: bool) -> Value {
    let (status, location) = h
        .post(
            "/v1/locations",
            &json!({"name": name, "default": default, "address": {"name": "Kargo Dükkânı", "street1": "Atatürk Cd. 1",
                "city": city, "postal_code": postal_code, "country": "TR"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{location}");
    location
}

fn without_sender(h: &Harness, order_id: Option<&str>) -> Value {
    let mut body = h.booking(order_id, "delivered");
    body.as_object_mut().unwrap().remove("ship_from");
    body
}

#[tokio::test]
async fn a_booking_without_a_sender_ships_from_the_location_it_names_or_the_default() {
    let h = Harness::start().await;
    let (status, problem) = h.post("/v1/shipments", &without_sender(&h, None)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["pointer"], "/ship_from", "{problem}");
    assert!(problem["errors"][0]["detail"].as_str().unwrap().contains("POST /v1/locations"));

    let ankara = location(&h, "Ankara depo", "Ankara", "06100", true).await;
    let izmir = location(&h, "İzmir depo", "İzmir", "35210", false).await;
    assert_eq!(ankara["default"], true);
    let (status, shipment) = h.post("/v1/shipments", &without_sender(&h, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    assert_eq!(shipment["ship_from"]["city"], "Ankara", "the default location");

    let mut named = without_sender(&h, None);
    named["location_id"] = izmir["id"].clone();
    let (status, shipment) = h.post("/v1/shipments", &named).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    assert_eq!(shipment["ship_from"]["postal_code"], "35210");

    let both = {
        let mut b = h.booking(None, "delivered");
        b["location_id"] = izmir["id"].clone();
        b
    };
    let (status, problem) = h.post("/v1/shipments", &both).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["pointer"], "/location_id");
    let mut unknown = without_sender(&h, None);
    unknown["location_id"] = json!("loc_01jd3xk8w3v6a8g0n6r1c5e2qz");
    let (status, problem) = h.post("/v1/shipments", &unknown).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["pointer"], "/location_id");

    // A newer default takes the flag; a live key sees none of the test locations.
    location(&h, "Bursa depo", "Bursa", "16010", true).await;
    let (_, list) = h.get("/v1/locations").await;
    let defaults: Vec<_> =
        list["data"].as_array().unwrap().iter().filter(|l| l["default"] == true).map(|l| l["name"].clone()).collect();
    assert_eq!(defaults, [json!("Bursa depo")]);
    let (_, live) = h.get_as("/v1/locations", &h.live_key).await;
    assert!(live["data"].as_array().unwrap().is_empty());
    let (status, _) = h.get(&format!("/v1/locations/{}", izmir["id"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    let (status, bad) = h.post("/v1/locations", &json!({"name": "", "address": {"name": "x", "street1": "y", "city": "z", "postal_code": "1", "country": "TR"}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let pointers: Vec<_> = bad["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    assert!(pointers.contains(&"/name") && pointers.contains(&"/address/postal_code"), "{pointers:?}");
}
