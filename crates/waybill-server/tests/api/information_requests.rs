//! Information requests end to end: the simulator refuses a booking to a postcode it does not
//! serve, or stops a parcel asking for the recipient's phone; the merchant's fix is checked,
//! sent back (booked again, or updated at the carrier) and the parcel goes on; a request nobody
//! answers is withdrawn when its parcel comes back.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Harness, Options, order_body};

async fn event_count(h: &Harness, subject: &str, kind: &str) -> usize {
    let events = h.store.events_about(&h.scope, subject).await.unwrap();
    events.iter().filter(|e| e.event.kind() == kind).count()
}

/// The open request of `shipment`, once the carrier has asked.
async fn open_request(h: &Harness, shipment: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, list) = h.get("/v1/information-requests?state=open").await;
        assert_eq!(status, StatusCode::OK, "{list}");
        if let Some(found) = list["data"].as_array().unwrap().iter().find(|r| r["shipment_id"] == shipment) {
            return found.clone();
        }
        assert!(Instant::now() < deadline, "[{}] the carrier never asked: {list}", h.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_booking_refused_over_the_postcode_is_booked_again_with_the_fix_once() {
    let h = Harness::start().await;
    let mut body = order_body("i-1", json!({"method": "prepaid"}));
    body["ship_to"]["postal_code"] = json!("34999");
    let (status, order) = h.post("/v1/orders", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let order_id = order["id"].as_str().unwrap();
    let (status, refused) = h.post("/v1/shipments", &h.booking(Some(order_id), "delivered")).await;
    assert!(status.is_client_error(), "[{}] {status} {refused}", h.backend);
    let (_, failed) = h.get("/v1/shipments?booking_state=failed").await;
    let failed_id = failed["data"][0]["id"].as_str().unwrap().to_owned();

    let request = open_request(&h, &failed_id).await;
    assert_eq!(request["field"], "postal_code");
    assert_eq!(request["pointer"], "/ship_to/postal_code");
    assert_eq!(request["source"], "booking_refusal");
    assert_eq!(request["carrier_code"], "PINCODE_NOT_SERVICEABLE");
    assert_eq!(request["order_id"], order_id);
    let id = request["id"].as_str().unwrap();
    let resolve = format!("/v1/information-requests/{id}/resolve");

    for bad in ["ABC", "34999", " "] {
        let (status, problem) = h.post(&resolve, &json!({"value": bad})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], "/value", "{problem}");
    }
    let (status, problem) = h.post(&resolve, &json!({"value": "34710", "note": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "an unknown field: {problem}");
    assert_eq!(h.get(&format!("/v1/information-requests/{id}")).await.1["state"], "open", "refusals change nothing");

    // The carrier is down when the fix is sent: nothing is booked, the request stays open, and
    // the same fix sent again books once.
    h.sim.set_faults(waybill_sim::Faults { error_rate: 1.0, ..Default::default() });
    let (status, problem) = h.post(&resolve, &json!({"value": "34710"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "[{}] {problem}", h.backend);
    assert_eq!(h.get(&format!("/v1/information-requests/{id}")).await.1["state"], "open", "kept for a retry");
    h.sim.set_faults(waybill_sim::Faults::default());

    let (status, resolved) = h.post(&resolve, &json!({"value": "34710"})).await;
    assert_eq!(status, StatusCode::OK, "[{}] {resolved}", h.backend);
    assert_eq!(resolved["state"], "resolved");
    assert_eq!(resolved["resolution"]["by"], "merchant");
    assert_eq!(resolved["resolution"]["method"], "booked_again");
    assert_eq!(resolved["resolution"]["value"], "34710");
    let new_id = resolved["resolution"]["new_shipment_id"].as_str().unwrap();
    let (_, booked) = h.get(&format!("/v1/shipments/{new_id}")).await;
    assert_eq!(booked["booking_state"], "booked", "{booked}");
    assert_eq!(booked["ship_to"]["postal_code"], "34710");
    assert_eq!(booked["order_id"], order_id);
    assert_eq!(h.get(&format!("/v1/orders/{order_id}")).await.1["ship_to"]["postal_code"], "34710", "the order too");

    let (status, again) = h.post(&resolve, &json!({"value": "34711"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "answered once: {again}");
    assert_eq!(h.carrier_bookings(new_id).await.len(), 1, "booked once");
    let (_, failed_now) = h.get("/v1/shipments?booking_state=failed").await;
    assert_eq!(
        failed_now["data"].as_array().unwrap().len(),
        2,
        "the refused booking and the attempt the outage failed"
    );
    assert_eq!(h.get("/v1/shipments?booking_state=booked").await.1["data"].as_array().unwrap().len(), 1);
    assert_eq!(event_count(&h, id, "information_request.opened").await, 1);
    assert_eq!(event_count(&h, id, "information_request.resolved").await, 1);
    assert_eq!(h.get("/v1/information-requests?state=open").await.1["data"], json!([]));
    let (status, problem) = h.get("/v1/information-requests?state=pending").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
}

#[tokio::test]
async fn a_request_is_withdrawn_when_the_merchant_books_the_order_again_by_hand() {
    let h = Harness::start().await;
    let mut body = order_body("i-5", json!({"method": "prepaid"}));
    body["ship_to"]["postal_code"] = json!("34999");
    let (_, order) = h.post("/v1/orders", &body).await;
    let order_id = order["id"].as_str().unwrap();
    h.post("/v1/shipments", &h.booking(Some(order_id), "delivered")).await;
    let (_, failed) = h.get("/v1/shipments?booking_state=failed").await;
    let request = open_request(&h, failed["data"][0]["id"].as_str().unwrap()).await;

    let mut by_hand = h.booking(Some(order_id), "delivered");
    by_hand["ship_to"] = crate::common::istanbul();
    let (status, booked) = h.post("/v1/shipments", &by_hand).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {booked}", h.backend);
    let id = request["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let withdrawn = loop {
        let (_, now) = h.get(&format!("/v1/information-requests/{id}")).await;
        if now["state"] == "withdrawn" {
            break now;
        }
        assert!(Instant::now() < deadline, "[{}] never withdrawn: {now}", h.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let why = withdrawn["withdrawn"].as_str().unwrap();
    assert!(why.contains(booked["id"].as_str().unwrap()), "{why}");
}

#[tokio::test]
async fn a_parcel_held_for_a_phone_number_goes_on_once_the_carrier_has_it() {
    // Days of a second: the carrier asks 1.3 s after booking and holds the parcel 3 s.
    let h = Harness::with(Options { day_seconds: 1.0, ..Options::default() }).await;
    let order = h.create_order("i-2", json!({"method": "prepaid"})).await;
    let (_, shipment) = h.post("/v1/shipments", &h.booking(order["id"].as_str(), "info")).await;
    let shipment_id = shipment["id"].as_str().unwrap();
    let request = open_request(&h, shipment_id).await;
    assert_eq!(request["field"], "phone");
    assert_eq!(request["source"], "carrier_scan");
    assert_eq!(request["carrier_code"], "EX/PHN");
    assert!(request["carrier_message"].as_str().unwrap().contains("phone"), "{request}");

    // The recipient who proves the postcode on the tracking page is offered the request's page.
    let tracking = format!("{}/t/{}", h.api, shipment["tracking_number"].as_str().unwrap());
    let proven = h.http.post(&tracking).form(&[("proof", "34710")]).send().await.unwrap().text().await.unwrap();
    assert!(proven.contains("href=\"&#x2f;i&#x2f;"), "{proven}");
    let anonymous = h.http.get(&tracking).send().await.unwrap().text().await.unwrap();
    assert!(!anonymous.contains("&#x2f;i&#x2f;"), "not without the proof");

    let resolve = format!("/v1/information-requests/{}/resolve", request["id"].as_str().unwrap());
    let (status, problem) = h.post(&resolve, &json!({"value": "call me"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, resolved) = h.post(&resolve, &json!({"value": "+90 532 111 22 33"})).await;
    assert_eq!(status, StatusCode::OK, "[{}] {resolved}", h.backend);
    assert_eq!(resolved["resolution"]["method"], "carrier_update", "the same tracking number: {resolved}");
    assert_eq!(resolved["resolution"]["new_shipment_id"], Value::Null);
    let delivered = h.wait_for_status(shipment_id, "delivered", Duration::from_secs(30)).await;
    assert_eq!(delivered["ship_to"]["phone"], "+90 532 111 22 33");
    let (_, changes) = h.get(&format!("/v1/shipments/{shipment_id}/changes")).await;
    assert_eq!(changes["data"].as_array().unwrap().len(), 1, "kept in the audit trail: {changes}");
}

#[tokio::test]
async fn a_request_nobody_answers_is_withdrawn_when_the_parcel_comes_back() {
    let h = Harness::with(Options { day_seconds: 0.3, ..Options::default() }).await;
    let order = h.create_order("i-3", json!({"method": "prepaid"})).await;
    let (_, shipment) = h.post("/v1/shipments", &h.booking(order["id"].as_str(), "info")).await;
    let shipment_id = shipment["id"].as_str().unwrap();
    let request = open_request(&h, shipment_id).await;
    h.wait_for_status(shipment_id, "returned", Duration::from_secs(30)).await;
    let id = request["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let withdrawn = loop {
        let (_, now) = h.get(&format!("/v1/information-requests/{id}")).await;
        if now["state"] == "withdrawn" {
            break now;
        }
        assert!(Instant::now() < deadline, "[{}] never withdrawn: {now}", h.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(withdrawn["withdrawn"], "the shipment is returned");
    let (status, _) = h.post(&format!("/v1/information-requests/{id}/resolve"), &json!({"value": "+90 532 1"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing after the request is closed");
    assert_eq!(event_count(&h, id, "information_request.withdrawn").await, 1);
}

#[tokio::test]
async fn the_customer_is_emailed_a_page_that_asks_only_for_the_phone_and_the_parcel_goes_on() {
    use waybill_engine::notify::EmailTransport;
    use waybill_notify::email::{Mailer, SmtpSettings};
    use waybill_notify::sink::{Behaviour, SmtpSink};

    let sink = SmtpSink::start(Behaviour::default()).await;
    let settings = SmtpSettings::parse(&sink.url("", "&timeout_ms=3000")).unwrap();
    let email = EmailTransport::Smtp(Mailer::new(&settings).unwrap());
    let h = Harness::with(Options { email, day_seconds: 1.0, ..Options::default() }).await;
    let triggers = json!({"triggers": {"information_needed": {"email": true}}});
    assert_eq!(h.put("/v1/notification-settings", &triggers).await.0, StatusCode::OK);
    let order = h.create_order("i-4", json!({"method": "prepaid"})).await;
    let (_, shipment) = h.post("/v1/shipments", &h.booking(order["id"].as_str(), "info")).await;
    let shipment_id = shipment["id"].as_str().unwrap();
    let request = open_request(&h, shipment_id).await;

    // The email in Turkish (the order ships to Turkey) names the detail and links to the page.
    let prefix = format!("{}/i/", h.api);
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let texts: Vec<String> = sink
            .received()
            .iter()
            .map(|m| {
                let mail = crate::notifications::mime::Part::parse(&m.raw);
                mail.parts().into_iter().find(|p| p.content_type().starts_with("text/plain")).unwrap().text()
            })
            .collect();
        if let Some(found) = texts.into_iter().find(|t| t.contains(&prefix)) {
            break found;
        }
        assert!(Instant::now() < deadline, "[{}] no email with the page's link", h.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(text.contains("telefon numarası"), "the detail in the customer's words: {text}");
    let start = text.find(&prefix).unwrap();
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();

    match crate::browser::Browser::start().await {
        Some(browser) => {
            browser.open(&format!("{link}?lang=tr")).await;
            browser.screenshot("information-page-tr").await;
            browser.type_into("#value", "bir numara").await;
            browser.click("#info-form button").await;
            browser.wait_for("Lütfen telefon numarasını kontrol edin").await;
            browser.screenshot("information-page-refused-tr").await;
            browser.clear("#value").await;
            browser.type_into("#value", "+90 532 111 22 33").await;
            browser.click("#info-form button").await;
            let done = browser.wait_for("Bilgiyi kargo firmasına ilettik").await;
            assert!(!done.contains("<form"), "answered once");
            browser.quit().await;
        }
        None => {
            let r = h.http.post(&link).form(&[("value", "bir numara")]).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let r = h.http.post(&link).form(&[("value", "+90 532 111 22 33")]).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
        }
    }
    let (_, resolved) = h.get(&format!("/v1/information-requests/{}", request["id"].as_str().unwrap())).await;
    assert_eq!(resolved["resolution"]["by"], "customer", "{resolved}");
    assert_eq!(resolved["resolution"]["value"], "+90 532 111 22 33");
    h.wait_for_status(shipment_id, "delivered", Duration::from_secs(30)).await;
    let r = h.http.post(&link).form(&[("value", "+90 532 999 99 99")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "a closed request shows as it stands");
    let (_, after) = h.get(&format!("/v1/shipments/{shipment_id}")).await;
    assert_eq!(after["ship_to"]["phone"], "+90 532 111 22 33", "the second answer changed nothing");
    let forged = format!("{}/i/{}", h.api, "A".repeat(64));
    assert_eq!(h.http.get(&forged).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}
