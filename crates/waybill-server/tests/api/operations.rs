//! Address validation, serviceability and courier pickups, through the API against the
//! simulator.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use waybill_core::Mode;
use waybill_sim::Faults;

use crate::common::{Harness, Options, istanbul, warehouse};

fn tomorrow() -> String {
    (chrono::Utc::now() + chrono::Duration::days(1)).date_naive().to_string()
}

fn pickup_body(h: &Harness) -> Value {
    json!({
        "carrier_account_id": h.account_id,
        "address": warehouse(),
        "date": tomorrow(),
        "ready_time": "09:00",
        "close_time": "17:00",
        "parcels": [{"weight": {"value": 2, "unit": "kg"}}],
        "service": "standard",
        "instructions": "ring the bell at the loading dock",
    })
}

/// The simulator's own record of pickups booked under `reference` (our pickup id).
async fn carrier_pickups(h: &Harness, reference: &str) -> Vec<Value> {
    h.carrier_records("pickups", reference).await
}

async fn pickup_count(h: &Harness) -> usize {
    h.store.list_pickups(&h.scope, None, 100).await.unwrap().items.len()
}

fn pointers(problem: &Value) -> Vec<String> {
    let mut out: Vec<String> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap().to_owned()).collect();
    out.sort();
    out
}

async fn validate(h: &Harness, address: Value) -> (StatusCode, Value) {
    h.post("/v1/addresses/validate", &json!({"carrier_account_id": h.account_id, "address": address})).await
}

#[tokio::test]
async fn addresses_are_valid_ambiguous_or_invalid() {
    let h = Harness::start().await;
    let (status, valid) = validate(&h, istanbul()).await;
    assert_eq!(status, StatusCode::OK, "[{}] {valid}", h.backend);
    assert_eq!(valid["verdict"], "valid");
    assert_eq!(valid["classification"], "residential");
    let candidate = &valid["candidates"][0];
    assert_eq!((candidate["city"].as_str(), candidate["name"].as_str()), (Some("Istanbul"), Some("Şükrü Çağlayan")));

    let mut elsewhere = warehouse();
    elsewhere["city"] = json!("İstanbul");
    let (_, ambiguous) = validate(&h, elsewhere).await;
    assert_eq!(ambiguous["verdict"], "ambiguous", "{ambiguous}");
    assert_eq!(ambiguous["classification"], "commercial", "the warehouse has a company");
    let cities: Vec<_> = ambiguous["candidates"].as_array().unwrap().iter().map(|c| c["city"].clone()).collect();
    assert_eq!(cities, [json!("Ankara"), json!("Istanbul")]);

    let mut unknown = istanbul();
    unknown["city"] = json!("Sivas");
    unknown["postal_code"] = json!("58000");
    let (_, invalid) = validate(&h, unknown).await;
    assert_eq!(invalid["verdict"], "invalid");
    assert_eq!(invalid["candidates"], json!([]));

    let mut broken = istanbul();
    broken["postal_code"] = json!("1");
    let (status, problem) = validate(&h, broken).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&problem), ["/address/postal_code"]);
}

#[tokio::test]
async fn serviceability_says_where_the_carrier_goes() {
    let h = Harness::start().await;
    let at = |postal_code: &str| {
        format!("/v1/serviceability?carrier_account_id={}&country=TR&postal_code={postal_code}", h.account_id)
    };
    let (status, served) = h.get(&at("34710")).await;
    assert_eq!(status, StatusCode::OK, "[{}] {served}", h.backend);
    assert_eq!(
        served,
        json!({"postal_code": "34710", "delivery": true, "prepaid": true, "cash_on_delivery": true,
        "pickup": true, "place": "Istanbul Hub, TR", "remark": null})
    );
    let (_, none) = h.get(&at("34999")).await;
    assert_eq!((none["delivery"].as_bool(), none["pickup"].as_bool()), (Some(false), Some(false)));
    let (_, prepaid) = h.get(&at("06999")).await;
    assert_eq!((prepaid["delivery"].as_bool(), prepaid["cash_on_delivery"].as_bool()), (Some(true), Some(false)));

    let (status, problem) = h.get("/v1/serviceability?country=T1").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&problem), ["/query/carrier_account_id", "/query/country", "/query/postal_code"]);
}

#[tokio::test]
async fn a_pickup_is_scheduled_listed_and_kept_to_its_tenant() {
    let h = Harness::start().await;
    let (status, pickup) = h.post("/v1/pickups", &pickup_body(&h)).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {pickup}", h.backend);
    assert_eq!(pickup["status"], "scheduled");
    assert!(pickup["confirmation_number"].as_str().unwrap().starts_with("PRN"));
    assert_eq!(pickup["charge"], json!({"amount": "4.50", "currency": "USD"}));
    assert_eq!((pickup["date"].as_str(), pickup["close_time"].as_str()), (Some(tomorrow().as_str()), Some("17:00")));
    assert_eq!(pickup["parcels"], json!([{"weight_g": 2000}]));
    assert_eq!(pickup["service"], "standard", "the service asked for is kept");
    let id = pickup["id"].as_str().unwrap();
    assert!(id.starts_with("pku_"));
    assert_eq!(carrier_pickups(&h, id).await.len(), 1);

    let (status, again) = h.get(&format!("/v1/pickups/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, pickup);
    let (_, list) = h.get("/v1/pickups").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["id"], pickup["id"]);

    // Shipments booked on the account are handed over with their tracking numbers and parcels.
    let (status, shipment) = h.post("/v1/shipments", &h.booking(None, "delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    let mut by_shipment = pickup_body(&h);
    by_shipment.as_object_mut().unwrap().remove("parcels");
    by_shipment["shipment_ids"] = json!([shipment["id"]]);
    let (status, handed) = h.post("/v1/pickups", &by_shipment).await;
    assert_eq!(status, StatusCode::CREATED, "{handed}");
    assert_eq!(handed["parcels"], shipment["parcels"]);
    let at_carrier = carrier_pickups(&h, handed["id"].as_str().unwrap()).await;
    assert_eq!(at_carrier[0]["awbs"], json!([shipment["tracking_number"]]));

    let other = h.store.create_tenant("other").await.unwrap();
    let other_key = h.store.create_api_key(&other.id, Mode::Test).await.unwrap();
    let (status, _) = h.get_as(&format!("/v1/pickups/{id}"), &other_key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, theirs) = h.get_as("/v1/pickups", &other_key).await;
    assert_eq!(theirs["data"], json!([]));
}

#[tokio::test]
async fn a_scheduled_pickup_is_called_off_at_the_carrier_once() {
    let h = Harness::start().await;
    let (_, pickup) = h.post("/v1/pickups", &pickup_body(&h)).await;
    let id = pickup["id"].as_str().unwrap();
    let (status, _) = h.post("/v1/pickups/pku_01jd3xk8w3v6a8g0n6r1c5e2qz/cancel", &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let other = h.store.create_tenant("other").await.unwrap();
    let other_key = h.store.create_api_key(&other.id, Mode::Test).await.unwrap();
    let (status, _) = h.post_with(&format!("/v1/pickups/{id}/cancel"), &json!({}), &other_key, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's pickup");
    assert!(carrier_pickups(&h, id).await[0]["cancelled_at"].is_null(), "nothing reached the carrier");

    let (status, cancelled) = h.post(&format!("/v1/pickups/{id}/cancel"), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "[{}] {cancelled}", h.backend);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["confirmation_number"], pickup["confirmation_number"]);
    assert!(carrier_pickups(&h, id).await[0]["cancelled_at"].is_string(), "the courier was called off");
    let (status, again) = h.post(&format!("/v1/pickups/{id}/cancel"), &json!({})).await;
    assert_eq!((status, &again["status"]), (StatusCode::OK, &json!("cancelled")), "again: {again}");
    let events = h.store.events_about(&h.scope, id).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.event.kind()).collect();
    assert_eq!(kinds, ["pickup.scheduled", "pickup.cancelled"]);

    // A pickup the carrier refused was never scheduled: there is nothing to call off.
    let mut refused = pickup_body(&h);
    refused["address"]["postal_code"] = json!("34999");
    let (status, refusal) = h.post("/v1/pickups", &refused).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refusal}");
    let (_, list) = h.get("/v1/pickups").await;
    let failed = list["data"].as_array().unwrap().iter().find(|p| p["status"] == "failed").cloned().unwrap();
    let failed_id = failed["id"].as_str().unwrap();
    let (status, problem) = h.post(&format!("/v1/pickups/{failed_id}/cancel"), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("only a scheduled pickup"), "{problem}");
    assert_eq!(h.get(&format!("/v1/pickups/{failed_id}")).await.1["status"], "failed");
}

#[tokio::test]
async fn a_repeated_pickup_reaches_the_carrier_once() {
    let h = Harness::start().await;
    let body = pickup_body(&h);
    let (status, first) = h.post_with("/v1/pickups", &body, &h.key, Some("pickup-1")).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {first}", h.backend);
    let (status, repeat) = h.post_with("/v1/pickups", &body, &h.key, Some("pickup-1")).await;
    assert_eq!((status, &repeat), (StatusCode::CREATED, &first));

    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let request = h
            .http
            .post(format!("{}/v1/pickups", h.api))
            .bearer_auth(&h.key)
            .header("Idempotency-Key", "pickup-2")
            .json(&body);
        requests.spawn(async move {
            let r = request.send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        });
    }
    let ids: std::collections::BTreeSet<_> = requests
        .join_all()
        .await
        .iter()
        .map(|(status, pickup)| {
            assert_eq!(*status, StatusCode::CREATED, "{pickup}");
            pickup["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every repeat got the first answer");
    let id = ids.first().unwrap();
    assert_eq!(carrier_pickups(&h, id).await.len(), 1, "one courier booked");
    assert_eq!(pickup_count(&h).await, 2);
}

#[tokio::test]
async fn a_pickup_whose_answer_is_lost_is_unknown_and_not_sent_again() {
    let h = Harness::with(Options { carrier_timeout: Duration::from_millis(500), ..Options::default() }).await;
    h.sim.set_faults(Faults { timeout_rate: 1.0, hang_ms: 1_500, ..Faults::default() });
    let (status, pickup) = h.post("/v1/pickups", &pickup_body(&h)).await;
    h.sim.set_faults(Faults::default());
    assert_eq!(status, StatusCode::ACCEPTED, "[{}] {pickup}", h.backend);
    assert_eq!(pickup["status"], "unknown");
    assert_eq!(pickup["error"]["code"], "NEEDS_ATTENTION");
    assert!(pickup["error"]["message"].as_str().unwrap().contains("Check with the carrier"));
    let id = pickup["id"].as_str().unwrap();
    assert_eq!(carrier_pickups(&h, id).await.len(), 1, "the carrier did book it");

    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, later) = h.get(&format!("/v1/pickups/{id}")).await;
    assert_eq!(later["status"], "unknown", "nothing settles it behind the merchant's back");
    assert_eq!(carrier_pickups(&h, id).await.len(), 1, "never sent again");
}

#[tokio::test]
async fn invalid_pickups_point_at_the_field_and_write_nothing() {
    let h = Harness::start().await;
    let with = |key: &str, value: Value| {
        let mut body = pickup_body(&h);
        body[key] = value;
        body
    };
    let mut bare = pickup_body(&h);
    bare.as_object_mut().unwrap().remove("parcels");
    let mut bad_address = warehouse();
    bad_address["postal_code"] = json!("ABC");
    let cases = [
        (with("date", json!("2001-01-01")), vec!["/date"]),
        (with("date", json!("next week")), vec!["/date"]),
        (with("close_time", json!("08:30")), vec!["/close_time"]),
        (with("ready_time", json!("9")), vec!["/ready_time"]),
        (bare, vec!["/parcels"]),
        (with("shipment_ids", json!(["shp_nope"])), vec!["/shipment_ids/0"]),
        (with("shipment_ids", json!(["shp_01jc0000000000000000000000"])), vec!["/shipment_ids/0"]),
        (with("address", bad_address), vec!["/address/postal_code"]),
        (with("service", json!("overnight")), vec!["/service"]),
        (with("carrier_account_id", json!("car_01jc0000000000000000000000")), vec!["/carrier_account_id"]),
    ];
    for (body, expected) in cases {
        let (status, problem) = h.post_with("/v1/pickups", &body, &h.key, Some("same-key")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {expected:?}: {problem}", h.backend);
        assert_eq!(pointers(&problem), expected, "{problem}");
    }
    assert_eq!(pickup_count(&h).await, 0);
    let (_, list) = h.get("/v1/pickups").await;
    assert_eq!(list["data"], json!([]));
}

#[tokio::test]
async fn a_carrier_without_the_operation_is_refused_with_a_pointer() {
    let h = Harness::start().await;
    let (_, carriers) = h.get("/v1/carriers").await;
    // The first carrier offering neither whose account can be made from its credential schema
    // alone (some, like `generic`, need settings as well).
    let mut made = None;
    let lacking = carriers["data"].as_array().unwrap().iter().filter(|c| {
        c["slug"] != "sandbox" && c["capabilities"]["serviceability"] == false && c["capabilities"]["pickup"] == false
    });
    for carrier in lacking {
        let credentials: serde_json::Map<String, Value> = carrier["credentials"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["name"].as_str().unwrap().to_owned(), json!("x1")))
            .collect();
        let body =
            json!({"carrier": carrier["slug"], "mode": "test", "base_url": h.sim_url, "credentials": credentials});
        if let (StatusCode::CREATED, account) = h.post("/v1/carrier-accounts", &body).await {
            made = Some((carrier["slug"].as_str().unwrap().to_owned(), account["id"].as_str().unwrap().to_owned()));
            break;
        }
    }
    let (slug, account_id) = made.expect("some carrier offers neither serviceability nor pickups");

    let (status, problem) =
        h.get(&format!("/v1/serviceability?carrier_account_id={account_id}&country=TR&postal_code=34710")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(pointers(&problem), ["/query/carrier_account_id"]);
    assert_eq!(problem["errors"][0]["detail"], format!("{slug} does not offer serviceability checks"));

    let mut body = pickup_body(&h);
    body["carrier_account_id"] = json!(account_id);
    let (status, problem) = h.post("/v1/pickups", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["detail"], format!("{slug} does not offer pickups"));
    assert_eq!(pickup_count(&h).await, 0);
}
