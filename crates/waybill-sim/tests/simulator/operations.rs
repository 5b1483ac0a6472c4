//! Address checks, serviceability and courier pickups.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use waybill_sim::{Faults, SimConfig};

use crate::common::{address, book, get, post, start, start_fast, unique};

fn tomorrow() -> String {
    (chrono::Utc::now() + chrono::Duration::days(1)).date_naive().to_string()
}

fn pickup(reference: &str) -> Value {
    json!({
        "reference": reference,
        "address": address("Acme Store", "Istanbul", "34710", "TR"),
        "date": tomorrow(),
        "ready_time": "09:00",
        "close_time": "17:00",
        "parcels": [{"weight_g": 1200}],
    })
}

#[tokio::test]
async fn addresses_are_valid_ambiguous_or_invalid() {
    let sim = start_fast(60.0).await;
    let url = format!("{}/api/v1/addresses/validate", sim.base);
    let check = |a: Value| {
        let url = url.clone();
        async move { post(&url, "key-a", &json!({ "address": a })).await }
    };

    let (status, valid) = check(address("Ayse", "İSTANBUL", "34710", "TR")).await;
    assert_eq!(status, StatusCode::OK, "{valid}");
    assert_eq!((valid["verdict"].as_str(), valid["classification"].as_str()), (Some("valid"), Some("residential")));
    assert_eq!(valid["candidates"][0]["city"], "Istanbul");

    let mut company = address("Ayse", "Ankara", "34710", "TR");
    company["company"] = json!("Acme");
    let (_, ambiguous) = check(company).await;
    assert_eq!(ambiguous["verdict"], "ambiguous");
    assert_eq!(ambiguous["classification"], "commercial");
    let cities: Vec<_> = ambiguous["candidates"].as_array().unwrap().iter().map(|c| c["city"].clone()).collect();
    assert_eq!(cities, [json!("Istanbul"), json!("Ankara")]);

    for (city, postal_code, country) in [("Sivas", "58000", "TR"), ("Istanbul", "347100", "TR"), ("Baku", "1000", "AZ")]
    {
        let (_, invalid) = check(address("Ayse", city, postal_code, country)).await;
        assert_eq!(invalid["verdict"], "invalid", "{city} {postal_code}: {invalid}");
        assert!(invalid["candidates"].as_array().unwrap().is_empty());
    }

    let (status, missing) = post(&url, "key-a", &json!({})).await;
    assert_eq!((status, missing["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("address")));
}

#[tokio::test]
async fn serviceability_follows_the_documented_lists() {
    let sim = start_fast(60.0).await;
    let at = |postal_code: &str| format!("{}/api/v1/serviceability?country=TR&postal_code={postal_code}", sim.base);
    let (status, full) = get(&at("34710"), "key-a").await;
    assert_eq!(status, StatusCode::OK, "{full}");
    assert_eq!((full["delivery"].as_bool(), full["cod"].as_bool()), (Some(true), Some(true)));
    assert_eq!(full["place"], "Istanbul Hub, TR");
    let (_, none) = get(&at("34999"), "key-a").await;
    assert_eq!((none["delivery"].as_bool(), none["pickup"].as_bool()), (Some(false), Some(false)));
    let (_, prepaid) = get(&at("06999"), "key-a").await;
    assert_eq!((prepaid["prepaid"].as_bool(), prepaid["cod"].as_bool()), (Some(true), Some(false)));
    let (status, body) = get(&format!("{}/api/v1/serviceability?country=TR", sim.base), "key-a").await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("postal_code")));
}

#[tokio::test]
async fn pickups_are_confirmed_and_every_repeat_books_another() {
    let sim = start_fast(60.0).await;
    let url = format!("{}/api/v1/pickups", sim.base);
    let reference = unique("pickup");
    let (status, first) = post(&url, "key-a", &pickup(&reference)).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let confirmation = first["confirmation_number"].as_str().unwrap();
    assert!(confirmation.starts_with("PRN") && confirmation.len() == 11, "{confirmation}");
    assert_eq!(first["charge"], json!({"amount": "4.50", "currency": "USD"}));
    assert_eq!(first["note"], "courier from Istanbul Hub, TR");

    let (status, _) = post(&url, "key-a", &pickup(&reference)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, found) = get(&format!("{url}?reference={reference}"), "key-a").await;
    assert_eq!(found["pickups"].as_array().unwrap().len(), 2, "a repeat is a second courier");
    let (_, other_key) = get(&format!("{url}?reference={reference}"), "key-b").await;
    assert_eq!(other_key, json!({"pickups": []}));

    let booked = book(&sim.base, "key-a", &unique("order"), "delivered").await;
    let by_awb = json!({"reference": unique("pickup"), "address": address("A", "Istanbul", "34710", "TR"),
        "date": tomorrow(), "ready_time": "09:00", "close_time": "12:00", "awbs": [booked["awb"]]});
    let (status, body) = post(&url, "key-a", &by_awb).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["awbs"], json!([booked["awb"]]));
}

#[tokio::test]
async fn a_pickup_is_called_off_once_and_only_by_its_key() {
    let sim = start_fast(60.0).await;
    let url = format!("{}/api/v1/pickups", sim.base);
    let reference = unique("pickup");
    let (_, booked) = post(&url, "key-a", &pickup(&reference)).await;
    let confirmation = booked["confirmation_number"].as_str().unwrap();
    let cancel = format!("{url}/{confirmation}/cancel");
    let (status, _) = post(&cancel, "key-b", &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another key's pickup is not there");
    let (status, cancelled) = post(&cancel, "key-a", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled, json!({"confirmation_number": confirmation, "status": "cancelled"}));
    let (status, again) = post(&cancel, "key-a", &json!({})).await;
    assert_eq!((status, again), (StatusCode::OK, cancelled), "calling it off twice is harmless");
    let (_, found) = get(&format!("{url}?reference={reference}"), "key-a").await;
    assert!(found["pickups"][0]["cancelled_at"].is_string(), "{found}");
    let (status, _) = post(&format!("{url}/PRN00000000/cancel"), "key-a", &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pickup_requests_are_checked_field_by_field() {
    let sim = start_fast(60.0).await;
    let url = format!("{}/api/v1/pickups", sim.base);
    let reference = unique("pickup");
    let with = |key: &str, value: Value| {
        let mut body = pickup(&reference);
        body[key] = value;
        body
    };
    let mut no_parcels = pickup(&reference);
    no_parcels.as_object_mut().unwrap().remove("parcels");
    let cases = [
        (with("date", json!("2001-01-01")), "date"),
        (with("date", json!("tomorrow")), "date"),
        (with("ready_time", json!("9am")), "ready_time"),
        (with("close_time", json!("08:00")), "close_time"),
        (no_parcels, "parcels"),
        (with("awbs", json!(["SIM0000000000"])), "awbs[0]"),
        (with("address", address("A", "Istanbul", "34999", "TR")), "address.postal_code"),
    ];
    for (body, field) in cases {
        let (status, answer) = post(&url, "key-a", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {answer}");
        assert_eq!(answer["error"]["field"], field);
    }
    let (_, found) = get(&format!("{url}?reference={reference}"), "key-a").await;
    assert_eq!(found, json!({"pickups": []}), "no refused request booked a courier");
}

#[tokio::test]
async fn a_pickup_whose_answer_hangs_is_booked_and_journaled() {
    let path = std::env::temp_dir().join(format!("{}.jsonl", unique("waybill-sim")));
    let reference = unique("pickup");
    {
        let sim = start(SimConfig { state_file: Some(path.clone()), ..SimConfig::default() }).await;
        sim.sim.set_faults(Faults { timeout_rate: 1.0, hang_ms: 1_000, ..Faults::default() });
        let impatient = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
        let sent = impatient
            .post(format!("{}/api/v1/pickups", sim.base))
            .header("X-Api-Key", "key-a")
            .json(&pickup(&reference))
            .send()
            .await;
        assert!(sent.is_err_and(|e| e.is_timeout()), "the answer is lost");
    }
    let restarted = start(SimConfig { state_file: Some(path.clone()), ..SimConfig::default() }).await;
    let (_, found) = get(&format!("{}/api/v1/pickups?reference={reference}", restarted.base), "key-a").await;
    assert_eq!(found["pickups"].as_array().unwrap().len(), 1, "booked before the hang, kept across a restart");
    let _ = std::fs::remove_file(&path);
}
