//! Generic (no-API) carriers: tenant-configured accounts, tracking numbers from a range or the
//! merchant's pattern, Waybill's label, and scans reported by CSV upload or the events API.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use waybill_core::ids::ShipmentId;

use crate::common::{self, Harness, Options, istanbul, warehouse};

const URL_TEMPLATE: &str = "https://kuryem.example/track?n={tracking_number}";

fn settings(tracking_numbers: Value) -> Value {
    json!({
        "name": "Kuryem Ekspres",
        "services": [{"code": "std", "name": "Standart"}, {"code": "same_day", "name": "Aynı Gün"}],
        "tracking_numbers": tracking_numbers,
        "tracking_url": URL_TEMPLATE,
    })
}

async fn generic_account(h: &Harness, tracking_numbers: Value) -> String {
    let body = json!({"carrier": "generic", "mode": "test", "settings": settings(tracking_numbers)});
    let (status, account) = h.post("/v1/carrier-accounts", &body).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {account}", h.backend);
    account["id"].as_str().unwrap().to_owned()
}

async fn range_account(h: &Harness, first: u64, last: u64) -> String {
    generic_account(h, json!({"range": {"prefix": "KY", "first": first, "last": last, "width": 7}})).await
}

fn booking(account_id: &str) -> Value {
    json!({
        "carrier_account_id": account_id,
        "service": "std",
        "ship_from": warehouse(),
        "ship_to": istanbul(),
        "parcels": [{"weight": {"value": 800, "unit": "g"}}],
    })
}

async fn book(h: &Harness, body: &Value) -> Value {
    let (status, shipment) = h.post("/v1/shipments", body).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {shipment}", h.backend);
    shipment
}

fn pointers(problem: &Value) -> Vec<String> {
    let mut p: Vec<String> = problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {problem}"))
        .iter()
        .map(|e| e["pointer"].as_str().unwrap().to_owned())
        .collect();
    p.sort();
    p
}

async fn upload(h: &Harness, account_id: &str, csv: &str) -> (StatusCode, Value) {
    let r = h
        .http
        .post(format!("{}/v1/carrier-accounts/{account_id}/scans", h.api))
        .bearer_auth(&h.key)
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn decode_png(png: &[u8], format: rxing::BarcodeFormat) -> String {
    let image = image::load_from_memory(png).unwrap().into_luma8();
    let (w, h) = image.dimensions();
    rxing::helpers::detect_in_luma(image.into_raw(), w, h, Some(format))
        .unwrap_or_else(|e| panic!("no {format:?} in the label: {e:?}"))
        .getText()
        .to_owned()
}

#[tokio::test]
async fn account_settings_are_checked_field_by_field() {
    let h = Harness::start().await;
    let mut bad = settings(json!({"range": {"prefix": "KY", "first": 50, "last": 10}}));
    bad["services"] = json!([]);
    bad["tracking_url"] = json!("https://kuryem.example/track");
    let (status, problem) =
        h.post("/v1/carrier-accounts", &json!({"carrier": "generic", "mode": "test", "settings": bad})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        pointers(&problem),
        ["/settings/services", "/settings/tracking_numbers/range/first", "/settings/tracking_url"]
    );

    let bad = settings(json!({"pattern": "KY[0-9"}));
    let body = json!({"carrier": "generic", "mode": "test", "settings": bad, "credentials": {"api_key": "x"}});
    let (status, problem) = h.post("/v1/carrier-accounts", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(pointers(&problem), ["/credentials/api_key", "/settings/tracking_numbers/pattern"]);

    let (status, problem) = h.post("/v1/carrier-accounts", &json!({"carrier": "generic", "mode": "test"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(pointers(&problem), ["/settings"]);

    let body = json!({"carrier": "sandbox", "mode": "test", "base_url": h.sim_url, "credentials": {"api_key": "test"},
                      "settings": settings(json!({"pattern": "[0-9]+"}))});
    let (status, problem) = h.post("/v1/carrier-accounts", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(pointers(&problem), ["/settings"]);

    let (_, accounts) = h.get("/v1/carrier-accounts").await;
    assert_eq!(accounts["data"].as_array().unwrap().len(), 1, "nothing written: only the harness's account");

    let id = range_account(&h, 1, 9).await;
    let (_, accounts) = h.get("/v1/carrier-accounts").await;
    let account = accounts["data"].as_array().unwrap().iter().find(|a| a["id"] == id.as_str()).unwrap().clone();
    assert_eq!(account["carrier"], "generic");
    assert_eq!(account["settings"]["name"], "Kuryem Ekspres");
    assert_eq!(account["settings"]["tracking_numbers"]["range"]["last"], 9);
}

#[tokio::test]
async fn a_range_hands_out_numbers_in_order_and_never_twice() {
    let h = Harness::start().await;
    let account = range_account(&h, 41, 100).await;
    let first = book(&h, &booking(&account)).await;
    assert_eq!(first["tracking_number"], "KY0000041");
    assert_eq!(first["carrier"], "generic");
    assert_eq!(first["booking_state"], "booked");
    assert_eq!(first["tracking_url"], "https://kuryem.example/track?n=KY0000041");
    assert_eq!(book(&h, &booking(&account)).await["tracking_number"], "KY0000042");

    let mut bookings = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let request = h.http.post(format!("{}/v1/shipments", h.api)).bearer_auth(&h.key).json(&booking(&account));
        bookings.spawn(async move {
            let r = request.send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        });
    }
    let mut numbers = BTreeSet::new();
    for (status, shipment) in bookings.join_all().await {
        assert_eq!(status, StatusCode::CREATED, "[{}] {shipment}", h.backend);
        numbers.insert(shipment["tracking_number"].as_str().unwrap().to_owned());
    }
    let expected: BTreeSet<String> = (43..63).map(|n| format!("KY{n:07}")).collect();
    assert_eq!(numbers, expected, "20 concurrent bookings take the next 20 numbers, each once");

    let small = range_account(&h, 7, 7).await;
    assert_eq!(book(&h, &booking(&small)).await["tracking_number"], "KY0000007");
    let (status, problem) = h.post("/v1/shipments", &booking(&small)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("used up"), "{problem}");
}

#[tokio::test]
async fn a_pattern_takes_the_merchants_numbers() {
    let h = Harness::start().await;
    let account = generic_account(&h, json!({"pattern": "PP[0-9]{6}"})).await;
    let mut body = booking(&account);

    let (status, problem) = h.post("/v1/shipments", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(pointers(&problem), ["/tracking_number"]);

    body["tracking_number"] = json!("PP12345");
    body["service"] = json!("overnight");
    let (status, problem) = h.post("/v1/shipments", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(pointers(&problem), ["/service", "/tracking_number"]);

    body["tracking_number"] = json!("PP123456");
    body["service"] = json!("same_day");
    let shipment = book(&h, &body).await;
    assert_eq!(shipment["tracking_number"], "PP123456");
    assert_eq!(shipment["service"], "same_day");

    let (status, problem) = h.post("/v1/shipments", &body).await;
    assert_eq!(status, StatusCode::CONFLICT, "a number is used once per account: {problem}");
    let (_, shipments) = h.get("/v1/shipments").await;
    assert_eq!(shipments["data"].as_array().unwrap().iter().filter(|s| s["tracking_number"] == "PP123456").count(), 1);

    let mut sandbox = h.booking(None, "delivered");
    sandbox["tracking_number"] = json!("PP123457");
    let (status, problem) = h.post("/v1/shipments", &sandbox).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(pointers(&problem), ["/tracking_number"]);

    // Cancelling is local, and allowed until the first scan.
    let id = shipment["id"].as_str().unwrap();
    let (status, cancelled) = h.post(&format!("/v1/shipments/{id}/cancel"), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
}

#[tokio::test]
async fn racing_bookings_of_one_merchant_number_give_one_shipment_and_conflicts() {
    let h = Harness::start().await;
    let account = generic_account(&h, json!({"pattern": "PP[0-9]{6}"})).await;
    let mut body = booking(&account);
    body["tracking_number"] = json!("PP654321");
    let mut bookings = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let request = h.http.post(format!("{}/v1/shipments", h.api)).bearer_auth(&h.key).json(&body);
        bookings.spawn(async move {
            let r = request.send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        });
    }
    let answers = bookings.join_all().await;
    let statuses: Vec<_> = answers.iter().map(|(status, _)| *status).collect();
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    let conflicts = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    assert_eq!((created, conflicts), (1, 9), "[{}] one booking wins, the others are told why: {answers:?}", h.backend);
    let (_, shipments) = h.get("/v1/shipments").await;
    assert_eq!(shipments["data"].as_array().unwrap().iter().filter(|s| s["tracking_number"] == "PP654321").count(), 1);
}

#[tokio::test]
async fn the_label_carries_the_accounts_name_and_a_barcode_of_the_number() {
    let h = Harness::start().await;
    let account = range_account(&h, 1, 1000).await;
    let shipment = book(&h, &booking(&account)).await;
    let id = shipment["id"].as_str().unwrap();
    let tracking_number = shipment["tracking_number"].as_str().unwrap();
    assert_eq!(shipment["label_formats"], json!(["pdf", "zpl", "png"]));

    let (status, ct, png) = h.get_bytes(&format!("/v1/shipments/{id}/label?format=png")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "image/png"));
    assert_eq!(decode_png(&png, rxing::BarcodeFormat::CODE_128), tracking_number);

    let (status, _, zpl) = h.get_bytes(&format!("/v1/shipments/{id}/label?format=zpl")).await;
    assert_eq!(status, StatusCode::OK);
    let zpl = String::from_utf8(zpl).unwrap();
    assert!(zpl.contains("Kuryem Ekspres"), "{zpl}");
    assert!(zpl.contains("^FDStandart^FS"), "{zpl}");

    let (status, ct, pdf) = h.get_bytes(&format!("/v1/shipments/{id}/label?format=pdf")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF"));

    // Named at booking, the label is kept with the booking.
    let mut body = booking(&account);
    body["options"] = json!({"label_format": "pdf"});
    let shipment = book(&h, &body).await;
    let id = ShipmentId::parse(shipment["id"].as_str().unwrap()).unwrap();
    let stored = h.store.document(&h.scope, &id, "pdf").await.unwrap().expect("stored with the booking");
    assert_eq!(lopdf::Document::load_mem(&stored).expect("the stored PDF parses").get_pages().len(), 1);
    assert_eq!(h.get_bytes(&format!("/v1/shipments/{id}/label?format=pdf")).await.2, stored);
}

#[tokio::test]
async fn a_csv_upload_delivers_the_shipment_and_closes_its_order() {
    let h = Harness::start().await;
    let account = range_account(&h, 1, 1000).await;
    let order = h.create_order("G-1001", json!({"method": "prepaid"})).await;
    let order_id = order["id"].as_str().unwrap();
    let mut body = booking(&account);
    body["order_id"] = json!(order_id);
    body.as_object_mut().unwrap().remove("ship_to");
    let shipment = book(&h, &body).await;
    let id = shipment["id"].as_str().unwrap();
    let number = shipment["tracking_number"].as_str().unwrap();

    let csv = format!(
        "tracking_number,status,occurred_at,location,description,ndr_reason\n\
         {number},picked_up,2025-03-01T09:10:00+03:00,Ankara,Teslim alındı,\n\
         {number},delivery_failed,2025-03-02T11:00:00+03:00,İstanbul,\"Alıcı yok, not bırakıldı\",customer_unavailable\n\
         {number},delivered,2025-03-03T15:30:00+03:00,İstanbul,Teslim edildi,\n"
    );
    let (status, report) = upload(&h, &account, &csv).await;
    assert_eq!(status, StatusCode::OK, "[{}] {report}", h.backend);
    assert_eq!(report, json!({"received": 3, "applied": 3, "duplicates": 0, "clock_skewed": []}));

    let (_, shipment) = h.get(&format!("/v1/shipments/{id}")).await;
    assert_eq!(shipment["status"], "delivered");
    assert_eq!(shipment["ndr_reason"], "customer_unavailable");
    let events = shipment["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[1]["description"], "Alıcı yok, not bırakıldı");
    assert_eq!(events[1]["source"], "merchant");
    h.wait_for_order(order_id, "closed", std::time::Duration::from_secs(10)).await;

    let (status, report) = upload(&h, &account, &csv).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report, json!({"received": 3, "applied": 0, "duplicates": 3, "clock_skewed": []}));
    let (_, again) = h.get(&format!("/v1/shipments/{id}")).await;
    assert_eq!(again["events"].as_array().unwrap().len(), 3, "the same file twice adds nothing");

    let (status, problem) = h.post(&format!("/v1/shipments/{id}/cancel"), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
}

#[tokio::test]
async fn a_csv_with_one_bad_row_applies_nothing() {
    let h = Harness::start().await;
    let account = range_account(&h, 1, 1000).await;
    let shipment = book(&h, &booking(&account)).await;
    let id = shipment["id"].as_str().unwrap();
    let number = shipment["tracking_number"].as_str().unwrap();

    let csv = format!(
        "tracking_number,status,occurred_at,location,description,ndr_reason\n\
         {number},picked_up,2025-03-01T09:10:00+03:00,Ankara,,\n\
         {number},in_transit,2025-03-01 12:00,Ankara,,\n\
         {number},teslim,2025-03-03T15:30:00+03:00,İstanbul,,\n\
         KY9999999,in_transit,2025-03-01T12:00:00+03:00,,,\n\
         {number},in_transit,2025-03-01T12:00:00+03:00,Ankara\n\
         {number},in_transit,2025-03-01T13:00:00+03:00,,,refused\n"
    );
    let (status, problem) = upload(&h, &account, &csv).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(pointers(&problem), ["/rows/6"], "a row of the wrong shape is reported first: {problem}");

    let csv: String = csv.lines().filter(|l| !l.ends_with(",Ankara")).map(|l| format!("{l}\n")).collect();
    let (status, problem) = upload(&h, &account, &csv).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        pointers(&problem),
        ["/rows/3/occurred_at", "/rows/4/status", "/rows/5/tracking_number", "/rows/6/ndr_reason"]
    );

    let (_, shipment) = h.get(&format!("/v1/shipments/{id}")).await;
    assert_eq!(shipment["status"], "info_received");
    assert!(shipment["events"].as_array().unwrap().is_empty(), "nothing applied: {shipment}");

    let (status, problem) = upload(&h, &account, "tracking_number,state,occurred_at\n").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(pointers(&problem), ["/rows/1", "/rows/1"]);
}

#[tokio::test]
async fn scans_by_the_events_api() {
    let h = Harness::start().await;
    let account = range_account(&h, 1, 1000).await;
    let shipment = book(&h, &booking(&account)).await;
    let number = shipment["tracking_number"].as_str().unwrap();
    let path = format!("/v1/trackers/{number}/events");

    let events = json!({"carrier_account_id": account, "events": [
        {"status": "picked_up", "occurred_at": "2025-03-01T09:10:00+03:00", "location": "Ankara"},
        {"status": "out_for_delivery", "occurred_at": "2025-03-02T08:00:00+03:00", "code": "OFD"},
    ]});
    let (status, report) = h.post(&path, &events).await;
    assert_eq!(status, StatusCode::OK, "[{}] {report}", h.backend);
    assert_eq!(report, json!({"received": 2, "applied": 2, "duplicates": 0, "clock_skewed": []}));
    let (status, report) = h.post(&path, &events).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report, json!({"received": 2, "applied": 0, "duplicates": 2, "clock_skewed": []}));

    // A late scan does not move the shipment backwards.
    let late = json!({"carrier_account_id": account, "events": [
        {"status": "in_transit", "occurred_at": "2025-03-01T20:00:00+03:00"},
    ]});
    assert_eq!(h.post(&path, &late).await.0, StatusCode::OK);

    let (status, tracker) = h.get(&format!("/v1/trackers/{number}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tracker["status"], "out_for_delivery");
    assert_eq!(tracker["tracking_url"], format!("https://kuryem.example/track?n={number}"));
    assert_eq!(tracker["events"].as_array().unwrap().len(), 3);
    assert_eq!(tracker["events"][2]["carrier_code"], "OFD");

    let bad = json!({"carrier_account_id": account, "events": [
        {"status": "delivered", "occurred_at": "2025-03-03T10:00:00+03:00"},
        {"status": "lost", "occurred_at": "2025-03-03T10:00:00Z", "ndr_reason": "refused"},
    ]});
    let (status, problem) = h.post(&path, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(pointers(&problem), ["/events/1/ndr_reason", "/events/1/status"]);
    assert_eq!(h.get(&format!("/v1/trackers/{number}")).await.1["status"], "out_for_delivery", "nothing applied");

    let (status, problem) = h.post("/v1/trackers/KY0999999/events", &events).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
}

/// A parcel waiting at a branch: the `available_for_pickup` message names where, from the
/// carrier's scan; messages and the tracking page name the carrier as the account does.
#[tokio::test]
async fn messages_and_the_page_name_the_branch_and_the_accounts_carrier_name() {
    let h = Harness::start().await;
    let account = range_account(&h, 1, 1000).await;
    let shipment = book(&h, &booking(&account)).await;
    let number = shipment["tracking_number"].as_str().unwrap();
    let waiting = json!({"carrier_account_id": account, "events": [
        {"status": "available_for_pickup", "occurred_at": "2025-03-02T10:00:00+03:00", "location": "Kadıköy Şube"},
    ]});
    assert_eq!(h.post(&format!("/v1/trackers/{number}/events"), &waiting).await.0, StatusCode::OK);
    let preview = json!({"milestone": "available_for_pickup", "channel": "sms", "language": "tr",
                         "shipment_id": shipment["id"]});
    let (status, rendered) = h.post("/v1/notification-templates/preview", &preview).await;
    assert_eq!(status, StatusCode::OK, "{rendered}");
    assert!(rendered["text"].as_str().unwrap().contains("Kadıköy Şube"), "{rendered}");
    // Customers see the account's own name for the carrier, on messages and on the page.
    let email = json!({"milestone": "booked", "channel": "email", "language": "en", "shipment_id": shipment["id"]});
    let (_, rendered) = h.post("/v1/notification-templates/preview", &email).await;
    assert!(rendered["text"].as_str().unwrap().contains("Carrier: Kuryem Ekspres"), "{rendered}");
    let page = h.http.get(format!("{}/t/{number}", h.api)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Kuryem Ekspres"), "{page}");
}

#[tokio::test]
async fn carriers_with_an_api_take_no_reported_scans() {
    let h = Harness::start().await;
    let (status, problem) =
        upload(&h, &h.account_id, "tracking_number,status,occurred_at\nX1,delivered,2025-03-03T10:00:00Z\n").await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let body = json!({"carrier_account_id": h.account_id, "events": [
        {"status": "delivered", "occurred_at": "2025-03-03T10:00:00Z"},
    ]});
    let (_, shipment) = h.post("/v1/shipments", &h.booking(None, "delivered")).await;
    let booked = format!("/v1/trackers/{}/events", shipment["tracking_number"].as_str().unwrap());
    let (status, problem) = h.post(&booked, &body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (status, problem) = h.post("/v1/trackers/SIM123/events", &body).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a number nothing was booked under: {problem}");

    let (status, problem) =
        h.post("/v1/trackers/SIM123/events", &json!({"carrier_account_id": "ca_nope", "events": []})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(pointers(&problem), ["/carrier_account_id"]);
}

#[tokio::test]
async fn a_generic_booking_interrupted_before_it_was_recorded_is_failed_and_may_be_booked_again() {
    let h = Harness::with(Options { booking_watchdog: Duration::from_secs(1), ..Default::default() }).await;
    let account = range_account(&h, 1, 100).await;
    let id = ShipmentId::generate();
    let pending = common::pending_shipment(&h.scope, &id, &account, "generic", "std");
    common::insert_in_flight(&h.store, &pending, "a-node-that-died").await;

    let deadline = Instant::now() + Duration::from_secs(30);
    let settled = loop {
        let (_, s) = h.get(&format!("/v1/shipments/{id}")).await;
        if s["booking_state"] != "pending" {
            break s;
        }
        assert!(Instant::now() < deadline, "[{}] never swept: {s}", h.backend);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        (settled["booking_state"].as_str(), settled["error"]["code"].as_str()),
        (Some("failed"), Some("NOT_BOOKED"))
    );
    let (status, again) = h.post("/v1/shipments", &booking(&account)).await;
    assert_eq!((status, again["booking_state"].as_str()), (StatusCode::CREATED, Some("booked")), "{again}");
}
