//! Strict input: the body is one JSON value, unknown fields are refused by name, strings keep
//! their limits and alphabets, query parameters are checked, a booking whose label could never
//! print is refused before the carrier is called, and every error (the framework's own too) is
//! problem+json. Nothing is written by any of these.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Harness, order_body};

fn problems(problem: &Value) -> Vec<(String, String)> {
    problem["errors"].as_array().map_or(vec![], |e| {
        e.iter()
            .map(|x| (x["pointer"].as_str().unwrap().to_owned(), x["detail"].as_str().unwrap().to_owned()))
            .collect()
    })
}

/// Sends `body` as raw bytes and checks the answer is a problem with `status`; nothing written.
async fn refused_raw(h: &Harness, method: reqwest::Method, path: &str, body: Vec<u8>, status: StatusCode) -> Value {
    let before = h.rows().await;
    let r = h
        .http
        .request(method, format!("{}{path}", h.api))
        .bearer_auth(&h.key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), status, "[{}] {path}", h.backend);
    assert_eq!(r.headers()["content-type"], "application/problem+json", "[{}] {path}", h.backend);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["status"], status.as_u16(), "[{}] {path}: {problem}", h.backend);
    assert_eq!(h.rows().await, before, "[{}] {path} wrote something: {problem}", h.backend);
    problem
}

async fn refused(h: &Harness, path: &str, body: &Value) -> Vec<(String, String)> {
    let problem = refused_raw(
        h,
        reqwest::Method::POST,
        path,
        serde_json::to_vec(body).unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problems(&problem)
}

#[tokio::test]
async fn a_body_is_exactly_one_json_value() {
    let h = Harness::start().await;
    let mut body = serde_json::to_vec(&h.booking(None, "delivered")).unwrap();
    body.extend_from_slice(b"}}} not json");
    let problem = refused_raw(&h, reqwest::Method::POST, "/v1/shipments", body, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problems(&problem)[0].0, "", "{problem}");
    assert_eq!(h.all_carrier_bookings().await, 0, "nothing was booked");
}

#[tokio::test]
async fn unknown_fields_are_refused_with_the_likely_typo() {
    let h = Harness::start().await;
    let mut body = h.booking(None, "delivered");
    body["options"]["lable_format"] = json!("pdf");
    body["ship_to"]["postcode"] = json!("06236");
    let mut p = refused(&h, "/v1/shipments", &body).await;
    p.sort();
    assert_eq!(
        p,
        vec![
            ("/options/lable_format".into(), "unknown field `lable_format`; did you mean `label_format`?".into()),
            ("/ship_to/postcode".into(), "unknown field `postcode`; did you mean `postal_code`?".into()),
        ]
    );
    let mut order = order_body("u-1", json!({"method": "cod", "amount": "10", "currency": "TRY"}));
    order["line_items"][0]["qty"] = json!(1);
    let p = refused(&h, "/v1/orders", &order).await;
    let pointers: Vec<_> = p.iter().map(|(p, _)| p.as_str()).collect();
    assert!(pointers.contains(&"/line_items/0/qty"), "{p:?}");
    assert!(pointers.contains(&"/payment") || pointers.contains(&"/payment/currency"), "{p:?}");
}

#[tokio::test]
async fn control_characters_and_oversize_text_are_refused_everywhere() {
    let h = Harness::start().await;
    for (field, value) in [
        ("/external_id", json!("10\u{0}01")),
        ("/line_items/0/sku", json!("SKU\u{1b}[31m")),
        ("/ship_to/street1", json!("Bağdat Cd.\r\nX-Injected: 1")),
        ("/ship_to/name", json!("a\u{202e}b")),
    ] {
        let mut body = order_body("c-1", json!({"method": "prepaid"}));
        let path: Vec<&str> = field.trim_start_matches('/').split('/').collect();
        let mut at = &mut body;
        for key in &path[..path.len() - 1] {
            at = match key.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*key],
            };
        }
        at[*path.last().unwrap()] = value;
        let p = refused(&h, "/v1/orders", &body).await;
        assert_eq!(p[0].0, field, "{p:?}");
        assert!(p[0].1.contains("control characters"), "{p:?}");
    }
    // A 900 KB description and a 300 KB postcode (in a country without a postcode pattern).
    let account = json!({"carrier": "sandbox", "mode": "test", "base_url": h.sim_url, "credentials": {"api_key": "k"},
                         "description": "x".repeat(900_000)});
    let p = refused(&h, "/v1/carrier-accounts", &account).await;
    assert_eq!(p, [("/description".into(), "must be at most 200 characters (this is 900000)".into())]);
    let mut body = h.booking(None, "delivered");
    body["ship_to"]["country"] = json!("LU");
    body["ship_to"]["postal_code"] = json!("1".repeat(300_000));
    let p = refused(&h, "/v1/shipments", &body).await;
    assert_eq!(p, [("/ship_to/postal_code".into(), "must be at most 12 characters (this is 300000)".into())]);
    // Postcodes and references keep to their alphabets for every country.
    body["ship_to"]["postal_code"] = json!("L-1;DROP");
    body["reference"] = json!("sipariş #1");
    let p = refused(&h, "/v1/shipments", &body).await;
    let pointers: Vec<_> = p.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(pointers, ["/reference", "/ship_to/postal_code"], "{p:?}");
    assert_eq!(h.counts().await, (0, 0));
}

#[tokio::test]
async fn a_booking_whose_label_cannot_print_is_refused_before_anything_is_written() {
    let h = Harness::start().await;
    let mut account = crate::common::generic_account("test");
    account["settings"]["tracking_numbers"] = json!({"pattern": "^[A-Z]{8,64}$"});
    let (status, account) = h.post("/v1/carrier-accounts", &account).await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    let mut body = h.booking(None, "delivered");
    body["carrier_account_id"] = account["id"].clone();
    body["service"] = json!("std");
    body["options"] = json!({"label_format": "pdf"});
    // 60 letters: a valid number for this account, but too long for a scannable Code 128.
    body["tracking_number"] = json!("QWERTYUIOPASDFGHJKLZ".repeat(3));
    let p = refused(&h, "/v1/shipments", &body).await;
    assert_eq!(p[0].0, "/tracking_number", "{p:?}");
    assert!(p[0].1.contains("label could not be printed") && p[0].1.contains("too long"), "{p:?}");
    body["tracking_number"] = json!("QWERTYUI");
    let (status, booked) = h.post("/v1/shipments", &body).await;
    assert_eq!(status, StatusCode::CREATED, "a printable one books: {booked}");
}

#[tokio::test]
async fn query_parameters_are_checked_and_every_error_is_problem_json() {
    let h = Harness::start().await;
    for query in ["limit=-1", "limit=1e9", "limit=abc", "limit=1&limit=2", "limit=1000", "after=garbage", "afer=x"] {
        let r = h.http.get(format!("{}/v1/orders?{query}", h.api)).bearer_auth(&h.key).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(r.headers()["content-type"], "application/problem+json", "{query}");
        let problem: Value = r.json().await.unwrap();
        let pointer = problems(&problem)[0].0.clone();
        assert!(pointer.starts_with("/query/"), "{query}: {problem}");
    }
    let (_, p) = h.get("/v1/shipments?booking_state=lost").await;
    assert_eq!(problems(&p)[0].0, "/query/booking_state");

    // The framework's own errors: no route, wrong method, a body over the limit.
    let r = h.http.get(format!("{}/v1/nowhere", h.api)).send().await.unwrap();
    assert_eq!(
        (r.status(), r.headers()["content-type"].to_str().unwrap()),
        (StatusCode::NOT_FOUND, "application/problem+json")
    );
    assert!(r.headers().contains_key("x-request-id"));
    let r = h.http.delete(format!("{}/v1/orders", h.api)).bearer_auth(&h.key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(r.headers()["allow"].to_str().unwrap().contains("GET"), "the Allow header is kept");
    let huge = vec![b' '; 2 * 1024 * 1024];
    let problem = refused_raw(&h, reqwest::Method::POST, "/v1/orders", huge, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(problem["type"], "body_too_large");
}
