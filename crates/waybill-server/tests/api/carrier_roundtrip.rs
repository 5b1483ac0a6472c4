//! A real carrier adapter end to end: a UPS carrier account created over the API, bookings,
//! labels, tracking pulled by the worker, cancelling and refusals, against a small local axum
//! server that plays UPS (token, ship, void and track endpoints) and records every request.
//!
//! Fixtures are the `ups` adapter's own (crates/waybill-carriers/tests/fixtures/ups/), with
//! their origins:
//! - `ship_zpl.json`: `UPS-API/java-api-examples` @ c5ffb9a6,
//!   `shipping/src/main/resources/Response/ShipToAUPSAccessPointResponse.json`
//!   (one `PackageResults` object with a base64 ZPL label).
//! - `track_details_synthetic.json`: SYNTHETIC, built on the `TrackApiResponse` schema of
//!   `UPS-API/api-documentation` @ e6f36df4 `Tracking.yaml`, using its field examples (inquiry
//!   number `1Z023E2X0214323462`, `gmtOffset` `-05:00`, unpadded `gmtTime`s). UPS publishes no
//!   complete tracking answer in the stored specs.
//! - The token answer follows `OAuthClientCredentials.yaml` `tokenSuccessResponse`, the void
//!   answer `Shipping.yaml` `VoidShipmentResponse`, and the error body the
//!   `{"response":{"errors":[{"code","message"}]}}` schema; their codes and messages are
//!   illustrative.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, Harness};

/// `ship_zpl.json`: `UPS-API/java-api-examples` @ c5ffb9a6,
/// `shipping/src/main/resources/Response/ShipToAUPSAccessPointResponse.json`.
const SHIP_ZPL: &str = include_str!("../../../waybill-carriers/tests/fixtures/ups/ship_zpl.json");
/// `track_details_synthetic.json`: SYNTHETIC, on `Tracking.yaml` (`UPS-API/api-documentation` @ e6f36df4).
const TRACK_DETAILS: &str = include_str!("../../../waybill-carriers/tests/fixtures/ups/track_details_synthetic.json");

const TOKEN_PATH: &str = "/security/v1/oauth/token";
const SHIP_PATH: &str = "/api/shipments/v2409/ship";
const VOID_PREFIX: &str = "/api/shipments/v2409/void/cancel/";
const TRACK_PREFIX: &str = "/api/track/v1/details/";
const SUBSCRIBE_PATH: &str = "/api/track/v1/subscription/standard/package";

const ACCOUNT_NUMBER: &str = "A1B2C3";

// ---------------------------------------------------------------------------------------------
// The fake UPS
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Recorded {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
}

impl Recorded {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

struct FakeState {
    requests: Mutex<Vec<Recorded>>,
    /// What the ship endpoint answers: HTTP status and body.
    ship_answer: Mutex<(u16, String)>,
}

struct FakeUps {
    url: String,
    state: Arc<FakeState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeUps {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeUps {
    async fn start() -> Self {
        let state =
            Arc::new(FakeState { requests: Mutex::new(vec![]), ship_answer: Mutex::new((200, SHIP_ZPL.to_owned())) });
        let app = Router::new().fallback(answer).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, state, task }
    }

    fn answer_ship_with(&self, status: u16, body: Value) {
        *self.state.ship_answer.lock().unwrap() = (status, body.to_string());
    }

    fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    fn matching(&self, method: Method, path_prefix: &str) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.method == method && r.path.starts_with(path_prefix)).collect()
    }
}

async fn answer(
    State(state): State<Arc<FakeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    state.requests.lock().unwrap().push(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: uri.query().map(str::to_owned),
        headers: headers.clone(),
        body: body.clone(),
        at: Instant::now(),
    });
    let bearer_ok = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer tok-1");
    let (status, body) = if method == Method::POST && path == TOKEN_PATH {
        // OAuthClientCredentials.yaml `tokenSuccessResponse` (expires_in is a string there).
        let token = json!({"token_type": "Bearer", "issued_at": "1700000000000", "client_id": "cid",
                           "access_token": "tok-1", "expires_in": "14399", "status": "approved"});
        (200, token.to_string())
    } else if !bearer_ok {
        (401, error_body("250002", "Invalid Authentication Information.").to_string())
    } else if method == Method::POST && path == SHIP_PATH {
        state.ship_answer.lock().unwrap().clone()
    } else if method == Method::DELETE && path.starts_with(VOID_PREFIX) {
        // Shipping.yaml `VoidShipmentResponse` (`SummaryResult.Status.Code` 1 = voided).
        let voided = json!({"VoidShipmentResponse": {
            "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
            "SummaryResult": {"Status": {"Code": "1", "Description": "Voided"}}
        }});
        (200, voided.to_string())
    } else if method == Method::GET && path.starts_with(TRACK_PREFIX) {
        (200, TRACK_DETAILS.to_owned())
    } else if method == Method::POST && path == SUBSCRIBE_PATH {
        // UPSTrackAlert.yaml `SubscriptionResponse`: every number asked for is valid.
        let asked: Value = serde_json::from_slice(&body).unwrap_or_default();
        let numbers = asked["trackingNumberList"].clone();
        (200, json!({"validTrackingNumbers": numbers, "invalidTrackingNumbers": []}).to_string())
    } else {
        (404, error_body("151044", &format!("no route for {method} {path}")).to_string())
    };
    Response::builder().status(status).header("content-type", "application/json").body(Body::from(body)).unwrap()
}

fn error_body(code: &str, message: &str) -> Value {
    json!({"response": {"errors": [{"code": code, "message": message}]}})
}

// ---------------------------------------------------------------------------------------------
// Waybill side
// ---------------------------------------------------------------------------------------------

/// The fixture's label: the base64 `GraphicImage` of its one `PackageResults`, decoded.
fn fixture_label() -> Vec<u8> {
    let v: Value = serde_json::from_str(SHIP_ZPL).unwrap();
    let image = v["ShipmentResponse"]["ShipmentResults"]["PackageResults"]["ShippingLabel"]["GraphicImage"]
        .as_str()
        .expect("the fixture carries a label");
    base64_decode(image)
}

fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64 character") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn shop() -> Value {
    json!({"name": "Acme Store", "street1": "100 Main St", "street2": "Suite 2", "city": "Timonium", "state": "MD",
           "postal_code": "21093", "country": "US", "phone": "+1 212 555 1234"})
}

fn customer() -> Value {
    json!({"name": "Jane Doe", "street1": "200 Oak Ave", "city": "Alpharetta", "state": "GA", "postal_code": "30005",
           "country": "US", "email": "jane@example.com"})
}

fn parcels() -> Value {
    json!([{"weight": {"value": 1.25, "unit": "kg"}, "dimensions": {"length": 30, "width": 20, "height": 10, "unit": "cm"}}])
}

/// A harness whose worker polls every `poll_interval`, a fake UPS and a UPS account on it.
async fn setup(poll_interval: Duration) -> (Harness, FakeUps, String) {
    let h = Harness::with(common::Options { poll_interval, ..Default::default() }).await;
    let ups = FakeUps::start().await;
    let body = json!({"carrier": "ups", "mode": "test", "base_url": ups.url,
                      "credentials": {"client_id": "cid", "client_secret": "csecret", "account_number": ACCOUNT_NUMBER}});
    let (status, account) = h.post("/v1/carrier-accounts", &body).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {account}", h.backend);
    assert_eq!(account["carrier"], "ups");
    assert!(!account.to_string().contains("csecret"), "credentials are never shown: {account}");
    assert!(ups.requests().is_empty(), "creating an account calls nobody");
    let account_id = account["id"].as_str().unwrap().to_owned();
    (h, ups, account_id)
}

async fn create_us_order(h: &Harness, external_id: &str) -> String {
    let body = json!({
        "external_id": external_id,
        "currency": "USD",
        "line_items": [{"sku": "MUG-1", "name": "Mug", "quantity": 2, "unit_price": "12.50"}],
        "ship_to": customer(),
        "payment": {"method": "prepaid"},
    });
    let (status, order) = h.post("/v1/orders", &body).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {order}", h.backend);
    order["id"].as_str().unwrap().to_owned()
}

fn ups_booking(account_id: &str, order_id: &str) -> Value {
    json!({"order_id": order_id, "carrier_account_id": account_id, "service": "03", "ship_from": shop(),
           "parcels": parcels()})
}

/// Books a prepaid UPS Ground shipment for a new order; returns the shipment.
async fn book(h: &Harness, account_id: &str, external_id: &str) -> Value {
    let order_id = create_us_order(h, external_id).await;
    let (status, shipment) = h.post("/v1/shipments", &ups_booking(account_id, &order_id)).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {shipment}", h.backend);
    shipment
}

/// A long poll interval: the worker's first tracking poll comes long after the test is done.
const NO_POLLING: Duration = Duration::from_secs(600);

const TRACKING_NUMBER: &str = "1Z2866YYYZ38400094";

#[tokio::test]
async fn ups_booking_through_the_api() {
    let (h, ups, account_id) = setup(NO_POLLING).await;
    let order_id = create_us_order(&h, "ups-1001").await;

    // COD is refused for UPS before anything is written or sent.
    let before = h.counts().await;
    let mut cod = json!({"carrier_account_id": account_id, "service": "03", "ship_from": shop(), "ship_to": customer(),
                         "parcels": parcels(), "cod": {"amount": "25.00", "currency": "USD"}});
    let r = h.http.post(format!("{}/v1/shipments", h.api)).bearer_auth(&h.key).json(&cod).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let problem: Value = r.json().await.unwrap();
    let pointers: Vec<_> = problem["errors"].as_array().unwrap().iter().map(|e| e["pointer"].clone()).collect();
    assert_eq!(pointers, [json!("/cod")], "{problem}");
    // The same through the order: a COD order cannot be booked with UPS either.
    cod.as_object_mut().unwrap().remove("ship_to");
    cod["order_id"] = json!(order_id);
    let (status, problem) = h.post("/v1/shipments", &cod).await;
    assert_eq!((status, problem["errors"][0]["pointer"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("/cod")));
    assert_eq!(h.counts().await, before, "[{}] a refused COD booking wrote something", h.backend);
    assert!(ups.requests().is_empty(), "a refused COD booking reached UPS: {:?}", ups.requests());

    let (status, shipment) = h.post("/v1/shipments", &ups_booking(&account_id, &order_id)).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {shipment}", h.backend);
    let id = shipment["id"].as_str().unwrap();
    assert_eq!(shipment["carrier"], "ups");
    assert_eq!(shipment["booking_state"], "booked");
    assert_eq!(shipment["status"], "info_received");
    assert_eq!(shipment["service"], "03");
    assert_eq!(shipment["tracking_number"], TRACKING_NUMBER, "the fixture's ShipmentIdentificationNumber");
    assert_eq!(shipment["charge"], json!({"amount": "4.57", "currency": "EUR"}), "the fixture's TotalCharges");
    assert_eq!(shipment["cod"], Value::Null);
    assert_eq!(shipment["reference"], "ups-1001");
    assert_eq!(shipment["error"], Value::Null);
    let (_, order) = h.get(&format!("/v1/orders/{order_id}")).await;
    assert_eq!(order["status"], "shipped", "{order}");

    // ZPL: exactly the label UPS sent.
    let (status, ct, zpl) = h.get_bytes(&format!("/v1/shipments/{id}/label?format=zpl")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/zpl"));
    let expected = fixture_label();
    assert!(expected.starts_with(b"\n^XA") && expected.len() > 1000, "the fixture label decodes to ZPL");
    assert!(zpl == expected, "the ZPL label is not the carrier's own ({} bytes vs {})", zpl.len(), expected.len());

    // PDF and PNG: rendered by Waybill, with the UPS tracking number.
    let (status, ct, pdf) = h.get_bytes(&format!("/v1/shipments/{id}/label?format=pdf")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    let doc = lopdf::Document::load_mem(&pdf).expect("the PDF label parses");
    assert_eq!(doc.get_pages().len(), 1);
    let (status, ct, png) = h.get_bytes(&format!("/v1/shipments/{id}/label?format=png")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "image/png"));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let image = image::load_from_memory(&png).unwrap().into_luma8();
    let (w, hgt) = image.dimensions();
    let code128 = rxing::helpers::detect_in_luma(image.into_raw(), w, hgt, Some(rxing::BarcodeFormat::CODE_128))
        .expect("a CODE 128 barcode on the PNG label");
    assert_eq!(code128.getText(), TRACKING_NUMBER);
    // A second fetch serves the same bytes: labels never change once printed.
    assert!(h.get_bytes(&format!("/v1/shipments/{id}/label?format=zpl")).await.2 == expected);

    // What UPS saw besides the Track Alert subscription the worker sends in the background:
    // one token fetch and one ship request.
    let deadline = Instant::now() + Duration::from_secs(10);
    let subscription = loop {
        if let Some(r) = ups.matching(Method::POST, SUBSCRIBE_PATH).pop() {
            break r.json();
        }
        assert!(Instant::now() < deadline, "the worker never subscribed the shipment to Track Alert");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(subscription["trackingNumberList"], json!([TRACKING_NUMBER]), "{subscription}");
    let destination = subscription["destination"]["url"].as_str().unwrap_or_default();
    assert!(destination.ends_with(&format!("/v1/hooks/carriers/ups/{account_id}")), "{subscription}");
    let requests: Vec<_> = ups.requests().into_iter().filter(|r| r.path != SUBSCRIBE_PATH).collect();
    let summary: Vec<_> = requests.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(summary, [format!("POST {TOKEN_PATH}"), format!("POST {SHIP_PATH}")]);
    let token = &requests[0];
    assert!(token.header("authorization").is_some_and(|a| a.starts_with("Basic ")), "{:?}", token.headers);
    assert_eq!(std::str::from_utf8(&token.body).unwrap(), "grant_type=client_credentials");
    let ship = &requests[1];
    assert_eq!(ship.header("authorization"), Some("Bearer tok-1"));
    let body = ship.json();
    let s = &body["ShipmentRequest"]["Shipment"];
    assert_eq!(s["Shipper"]["ShipperNumber"], ACCOUNT_NUMBER, "{body}");
    assert_eq!(s["PaymentInformation"]["ShipmentCharge"][0]["BillShipper"]["AccountNumber"], ACCOUNT_NUMBER);
    assert_eq!(s["Service"]["Code"], "03");
    assert_eq!(s["ShipTo"]["Address"]["StateProvinceCode"], "GA");
    assert_eq!(s["ShipTo"]["Address"]["PostalCode"], "30005");
    assert_eq!(s["Package"].as_array().map(Vec::len), Some(1));
    assert_eq!(s["Package"][0]["PackageWeight"]["Weight"], "1.3", "1.25 kg rounded up to a tenth");
    // Our shipment id is the reference (package level: a US→US shipment).
    assert_eq!(s["Package"][0]["ReferenceNumber"], json!([{"Value": id}]), "{body}");
    assert_eq!(body["ShipmentRequest"]["Request"]["TransactionReference"]["CustomerContext"], id);
    assert_eq!(body["ShipmentRequest"]["LabelSpecification"]["LabelImageFormat"]["Code"], "ZPL");
}

#[tokio::test]
async fn ups_tracking_moves_the_shipment() {
    let interval = Duration::from_millis(200);
    let (h, ups, account_id) = setup(interval).await;
    let booked_at = Instant::now();
    let shipment = book(&h, &account_id, "ups-2001").await;
    let id = shipment["id"].as_str().unwrap();
    let order_id = shipment["order_id"].as_str().unwrap();

    // The fixture's last activity is `D` (delivered): the first poll settles the shipment.
    let done = h.wait_for_status(id, "delivered", Duration::from_secs(20)).await;
    let events = done["events"].as_array().unwrap();
    let statuses: Vec<_> = events.iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        [
            "info_received",
            "picked_up",
            "in_transit",
            "out_for_delivery",
            "delivery_failed",
            "out_for_delivery",
            "delivered"
        ],
        "[{}] {done}",
        h.backend
    );
    let codes: Vec<_> = events.iter().map(|e| e["carrier_code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["M", "P", "I", "O", "X", "O", "D"]);
    assert!(events.iter().all(|e| e["source"] == "pull"), "every scan was pulled: {done}");
    let failed = &events[4];
    assert_eq!(failed["ndr_reason"], "customer_unavailable");
    assert_eq!(failed["reason_code"], "48");
    assert_eq!(failed["location"], "Wayne, NJ, US");
    assert_eq!(events[6]["occurred_at"], "2021-02-12T14:30:00-05:00", "UPS's GMT time shown in its offset");
    assert_eq!(events[6]["description"], "DELIVERED");
    assert_eq!(done["ndr_reason"], "customer_unavailable");
    h.wait_for_order(order_id, "closed", Duration::from_secs(20)).await;

    // Tracked at UPS's details endpoint for our tracking number, not before the first poll was due.
    let tracks = ups.matching(Method::GET, TRACK_PREFIX);
    assert!(!tracks.is_empty());
    assert_eq!(tracks[0].path, format!("{TRACK_PREFIX}{TRACKING_NUMBER}"));
    assert_eq!(tracks[0].query.as_deref(), Some("locale=en_US"));
    assert_eq!(tracks[0].header("authorization"), Some("Bearer tok-1"));
    assert!(tracks[0].header("transid").is_some_and(|t| !t.is_empty() && t.len() <= 32));
    assert!(
        tracks[0].at - booked_at >= interval * 4,
        "the first poll of an info_received shipment waits 4× the interval"
    );
    assert_eq!(ups.matching(Method::POST, TOKEN_PATH).len(), 1, "the token is reused for tracking");

    // A delivered shipment is not polled any more.
    tokio::time::sleep(interval * 6).await;
    assert_eq!(ups.matching(Method::GET, TRACK_PREFIX).len(), tracks.len(), "polled after delivery");
    let (_, tracker) = h.get(&format!("/v1/trackers/{TRACKING_NUMBER}")).await;
    assert_eq!((tracker["status"].as_str(), tracker["events"].as_array().map(Vec::len)), (Some("delivered"), Some(7)));
}

#[tokio::test]
async fn ups_cancel_voids_at_the_carrier() {
    let (h, ups, account_id) = setup(NO_POLLING).await;
    let shipment = book(&h, &account_id, "ups-3001").await;
    let id = shipment["id"].as_str().unwrap();
    let order_id = shipment["order_id"].as_str().unwrap();

    let (status, cancelled) = h.post(&format!("/v1/shipments/{id}/cancel"), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "[{}] {cancelled}", h.backend);
    assert_eq!(cancelled["status"], "cancelled");
    let last = cancelled["events"].as_array().unwrap().last().cloned().unwrap_or_default();
    assert_eq!((last["status"].as_str(), last["source"].as_str()), (Some("cancelled"), Some("api")), "{cancelled}");
    let voids = ups.matching(Method::DELETE, VOID_PREFIX);
    assert_eq!(voids.len(), 1, "{:?}", ups.requests());
    assert_eq!(voids[0].path, format!("{VOID_PREFIX}{TRACKING_NUMBER}"), "voided by UPS's shipment id");
    assert_eq!(voids[0].header("authorization"), Some("Bearer tok-1"));
    let (_, order) = h.get(&format!("/v1/orders/{order_id}")).await;
    assert_eq!(order["status"], "open", "a cancelled booking hands the order back");

    let (status, again) = h.post(&format!("/v1/shipments/{id}/cancel"), &json!({})).await;
    assert_eq!((status, again["status"].as_str()), (StatusCode::OK, Some("cancelled")), "{again}");
    assert_eq!(ups.matching(Method::DELETE, VOID_PREFIX).len(), 1, "a second cancel voided again");
    let (_, stored) = h.get(&format!("/v1/shipments/{id}")).await;
    assert_eq!(stored["status"], "cancelled");
    let cancels = stored["events"].as_array().unwrap().iter().filter(|e| e["status"] == "cancelled").count();
    assert_eq!(cancels, 1, "{stored}");
}

#[tokio::test]
async fn ups_refusal_keeps_the_carriers_code() {
    let (h, ups, account_id) = setup(NO_POLLING).await;
    ups.answer_ship_with(400, error_body("120100", "Missing or invalid shipper number"));
    let order_id = create_us_order(&h, "ups-4001").await;

    let r = h
        .http
        .post(format!("{}/v1/shipments", h.api))
        .bearer_auth(&h.key)
        .json(&ups_booking(&account_id, &order_id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["type"], "carrier_refused", "{problem}");
    assert_eq!(problem["carrier_code"], "120100");
    assert_eq!(problem["status"], 422);
    assert!(problem["detail"].as_str().unwrap().contains("Missing or invalid shipper number"), "{problem}");

    // The attempt is kept, failed, with UPS's code and message.
    let (status, list) = h.get("/v1/shipments").await;
    assert_eq!(status, StatusCode::OK);
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{list}");
    let failed = &data[0];
    assert_eq!(failed["booking_state"], "failed", "{failed}");
    assert_eq!(failed["carrier"], "ups");
    assert_eq!(failed["tracking_number"], Value::Null);
    assert_eq!(failed["label_formats"], json!([]));
    assert_eq!(failed["error"]["code"], "120100");
    assert!(failed["error"]["message"].as_str().unwrap().contains("Missing or invalid shipper number"), "{failed}");
    let id = failed["id"].as_str().unwrap();

    // It is the shipment UPS was asked for, once.
    let ships = ups.matching(Method::POST, SHIP_PATH);
    assert_eq!(ships.len(), 1);
    assert_eq!(ships[0].json()["ShipmentRequest"]["Shipment"]["Package"][0]["ReferenceNumber"][0]["Value"], id);
    let (status, _) = h.get(&format!("/v1/shipments/{id}/label?format=pdf")).await;
    assert_eq!(status, StatusCode::CONFLICT, "a failed booking has no label");
    let (_, order) = h.get(&format!("/v1/orders/{order_id}")).await;
    assert_eq!(order["status"], "open", "a refused booking leaves the order bookable");

    // The order can be booked again once UPS accepts.
    ups.answer_ship_with(200, serde_json::from_str(SHIP_ZPL).unwrap());
    let (status, shipment) = h.post("/v1/shipments", &ups_booking(&account_id, &order_id)).await;
    assert_eq!((status, shipment["booking_state"].as_str()), (StatusCode::CREATED, Some("booked")), "{shipment}");
}
