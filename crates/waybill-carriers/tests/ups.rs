//! The `ups` adapter over real HTTP against a local axum server that plays UPS.
//!
//! The server answers the OAuth token endpoint itself (counting fetches and issuing `tok-<n>`)
//! and answers API calls from a per-route script of UPS answers, recording every request
//! Waybill sent so the tests can check the bodies and headers against UPS's documents.
//!
//! Every JSON body Waybill POSTs to the fake UPS is validated against the request-body schema of
//! that operation in UPS's own OpenAPI file (`tests/fixtures/ups/openapi/`, see [`schema`]); a body
//! that breaks it, or a POST with no schema to check it against, fails the test when its server
//! is dropped, naming the JSON path at fault.
//!
//! Fixtures (tests/fixtures/ups/), with their origins:
//! - `rate_single.json`: `UPS-API/java-api-examples` @ c5ffb9a6,
//!   `rating/src/main/resources/scenarios/simpleRateResponse.json` (one `RatedShipment` object),
//!   copied from ../shared/specs/ups/fixtures_java-api-examples/rating__scenarios__simpleRateResponse.json.
//! - `rate_shop.json`: same repo, `rating/src/main/resources/scenarios/simpleRateShopResponse.json`
//!   (a `RatedShipment` array of 7 services).
//! - `ship_zpl.json`: same repo, `shipping/src/main/resources/Response/ShipToAUPSAccessPointResponse.json`
//!   (one `PackageResults` object with a base64 ZPL label).
//! - `ship_multi_zpl_derived.json`: DERIVED by us from `ship_zpl.json`: `PackageResults` turned into
//!   an array of two packages (second tracking number `1Z2866YYYZ38400103`). The stored UPS examples
//!   have no multi-package answer with an array, though Shipping.yaml documents it.
//! - `track_details_synthetic.json`, `track_reference_synthetic.json`: SYNTHETIC, built by us on the
//!   `TrackApiResponse` schema of `UPS-API/api-documentation` @ e6f36df4 `Tracking.yaml`, using its field
//!   examples (inquiry number `1Z023E2X0214323462`, `gmtOffset` `-05:00`, `gmtTime` `74700`-style
//!   unpadded times). UPS publishes no complete tracking answer in the stored specs.
//! - `xav_valid_synthetic.json`, `xav_ambiguous_synthetic.json`, `xav_no_candidates_synthetic.json`:
//!   SYNTHETIC, built by us on the `XAVResponseWrapper` schema of `AddressValidation.yaml` @ e6f36df4
//!   (one `Candidate` object with a string `AddressLine`; an array of candidates with arrays). UPS
//!   publishes no address validation answer in the stored specs.
//! - `pickup_created.json`: `UPS-API/api-documentation` @ e6f36df4, `Pickup.yaml`, pickup creation 200
//!   example "A sample JSON response (Standard Example)", copied from
//!   ../shared/specs/ups/examples/Pickup__pickup_creation__resp200_1_a_sample_json_response_standard_example.json.
//! - `push_out_for_delivery.json`, `push_delivered.json`: `UPSTrackAlert.yaml` @ e6f36df4, webhook
//!   `TrackingEvent` examples '1' ("Out for delivery message") and '2' ("Delivery message"), with
//!   `descriptionCode` written as the string the v1 file's examples show (`'021'`, `'011'`).
//! - Error bodies (inline below) follow the `Response`/`ErrorResponse`/`Error` schema of `Tracking.yaml`
//!   (`{"response":{"errors":[{"code","message"}]}}`); their codes and messages are illustrative.

mod account;
mod support;
mod us;

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use account::TestAccount;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use us::address;
use waybill_carriers::{
    AddressClass, AddressVerdict, BookedRef, BookingRequest, Carrier, CarrierError, Carriers, PickupRequest, PushError,
    PushRequest, PushTarget, RateRequest, ups,
};
use waybill_core::ids::CarrierAccountId;
use waybill_core::{Address, NdrReason, Parcel, TrackingStatus};
use waybill_outbound::Outbound;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/ups/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The fake UPS
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Recorded {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Recorded {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

#[derive(Clone)]
enum Answer {
    Json(u16, String),
}

#[derive(Default)]
struct Ups {
    token_fetches: AtomicUsize,
    /// `expires_in` for successive token answers; the last one repeats.
    expires_in: Mutex<VecDeque<Value>>,
    token_requests: Mutex<Vec<Recorded>>,
    /// Tokens the API calls refuse with 401 (as if UPS had revoked them).
    revoked: Mutex<HashSet<String>>,
    /// `(method, path prefix)` → answers in turn; the last one repeats.
    script: Mutex<Vec<(Method, String, VecDeque<Answer>)>>,
    calls: Mutex<Vec<Recorded>>,
    /// Request bodies that break UPS's schema, as `METHOD path: at /pointer: message`.
    violations: Mutex<Vec<String>>,
}

impl Ups {
    fn on(&self, method: Method, prefix: &str, answers: Vec<Answer>) {
        self.script.lock().unwrap().push((method, prefix.to_owned(), answers.into()));
    }

    fn calls(&self) -> Vec<Recorded> {
        self.calls.lock().unwrap().clone()
    }
}

async fn token(State(ups): State<Arc<Ups>>, headers: HeaderMap, body: Bytes) -> Response {
    let n = ups.token_fetches.fetch_add(1, Ordering::SeqCst) + 1;
    ups.token_requests.lock().unwrap().push(Recorded {
        method: Method::POST,
        path: "/security/v1/oauth/token".into(),
        headers,
        body,
    });
    // Slow enough that concurrent callers overlap with the fetch.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let expires_in = {
        let mut q = ups.expires_in.lock().unwrap();
        if q.len() > 1 { q.pop_front().unwrap() } else { q.front().cloned().unwrap_or(json!("14399")) }
    };
    // Shape of OAuthClientCredentials.yaml `tokenSuccessResponse` (expires_in is a string there).
    axum::Json(json!({
        "token_type": "Bearer",
        "issued_at": "1700000000000",
        "client_id": "cid",
        "access_token": format!("tok-{n}"),
        "expires_in": expires_in,
        "status": "approved",
    }))
    .into_response()
}

async fn api(State(ups): State<Arc<Ups>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    if method == Method::POST {
        let found = match schema::violations(&path, &body) {
            Some(found) => found,
            None => vec![format!("no UPS schema to check a POST to {path} against")],
        };
        ups.violations.lock().unwrap().extend(found.into_iter().map(|v| format!("POST {path}: {v}")));
    }
    ups.calls.lock().unwrap().push(Recorded { method: method.clone(), path: path.clone(), headers, body });
    let Some(bearer) = bearer else { return StatusCode::UNAUTHORIZED.into_response() };
    if ups.revoked.lock().unwrap().contains(&bearer) {
        return (StatusCode::UNAUTHORIZED, axum::Json(error_body("250002", "Invalid Authentication Information.")))
            .into_response();
    }
    let answer = {
        let mut script = ups.script.lock().unwrap();
        let Some((_, _, answers)) = script.iter_mut().find(|(m, p, _)| *m == method && path.starts_with(p.as_str()))
        else {
            return (StatusCode::NOT_FOUND, format!("no script for {method} {path}")).into_response();
        };
        if answers.len() > 1 { answers.pop_front().unwrap() } else { answers.front().cloned().unwrap() }
    };
    let Answer::Json(status, body) = answer;
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("retry-after", "7")
        .body(Body::from(body))
        .unwrap()
}

fn error_body(code: &str, message: &str) -> Value {
    json!({"response": {"errors": [{"code": code, "message": message}]}})
}

fn ok(body: String) -> Answer {
    Answer::Json(200, body)
}

struct Server {
    url: String,
    ups: Arc<Ups>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
        let violations = self.ups.violations.lock().unwrap().clone();
        if !violations.is_empty() && !std::thread::panicking() {
            panic!("requests that break UPS's schemas:\n{}", violations.join("\n"));
        }
    }
}

async fn start() -> Server {
    let ups = Arc::new(Ups::default());
    let app = Router::new().route("/security/v1/oauth/token", post(token)).fallback(api).with_state(ups.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    Server { url, ups, task }
}

// ---------------------------------------------------------------------------------------------
// Waybill side
// ---------------------------------------------------------------------------------------------

impl TestAccount {
    fn on(server: &Server) -> Self {
        Self::new(
            server.url.clone(),
            json!({"client_id": "cid", "client_secret": "csecret", "account_number": "A1B2C3"}),
        )
    }
}

fn ups() -> Arc<dyn Carrier> {
    Carriers::new(Outbound::default()).get("ups").expect("the ups adapter is registered").clone()
}

fn rate_request() -> RateRequest {
    us::route("30005")
}

fn booking_request(reference: &str) -> BookingRequest {
    let route = rate_request();
    BookingRequest {
        reference: reference.into(),
        service: "03".into(),
        ship_from: route.ship_from,
        ship_to: route.ship_to,
        parcels: vec![route.parcels[0], Parcel { weight_g: 2000, dimensions_mm: None }],
        cod: None,
        simulate: None,
        is_return: false,
    }
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn rejected_code<T: std::fmt::Debug>(result: Result<T, CarrierError>) -> (String, String) {
    match result {
        Err(CarrierError::Rejected { carrier: "ups", code, message, .. }) => (code, message),
        other => panic!("expected Rejected, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Token
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_rate_calls_share_one_token_fetch() {
    let server = start().await;
    server.ups.on(Method::POST, "/api/rating/v2409/Shop", vec![ok(fixture("rate_shop.json"))]);
    let carrier = ups();
    let account = TestAccount::on(&server);
    let account = Arc::new(account);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (carrier, account) = (carrier.clone(), account.clone());
            tokio::spawn(async move { carrier.rate(&account.account(), &rate_request()).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task").expect("rates").len(), 7);
    }
    assert_eq!(server.ups.token_fetches.load(Ordering::SeqCst), 1);

    // The token request itself: HTTP Basic client_id:client_secret, client-credentials form.
    let token_request = server.ups.token_requests.lock().unwrap()[0].clone();
    let basic = token_request.headers["authorization"].to_str().unwrap().to_owned();
    assert_eq!(basic, "Basic Y2lkOmNzZWNyZXQ=", "base64 of cid:csecret");
    assert_eq!(&token_request.body[..], b"grant_type=client_credentials");
    assert!(server.ups.calls().iter().all(|c| c.headers["authorization"] == "Bearer tok-1"));
}

#[tokio::test]
async fn a_token_near_expiry_is_refreshed() {
    let server = start().await;
    server.ups.on(Method::POST, "/api/rating/v2409/Shop", vec![ok(fixture("rate_single.json"))]);
    // First token lives 30 s (inside the 60 s margin), the next one ~4 h, given as a number.
    *server.ups.expires_in.lock().unwrap() = VecDeque::from([json!("30"), json!(14399)]);
    let carrier = ups();
    let account = TestAccount::on(&server);
    for _ in 0..3 {
        carrier.rate(&account.account(), &rate_request()).await.expect("rates");
    }
    assert_eq!(server.ups.token_fetches.load(Ordering::SeqCst), 2, "refreshed once, then cached");
    let bearers: Vec<_> =
        server.ups.calls().iter().map(|c| c.headers["authorization"].to_str().unwrap().to_owned()).collect();
    assert_eq!(bearers, ["Bearer tok-1", "Bearer tok-2", "Bearer tok-2"]);
}

#[tokio::test]
async fn a_401_drops_the_token_and_retries_once() {
    let server = start().await;
    server.ups.on(Method::POST, "/api/rating/v2409/Shop", vec![ok(fixture("rate_single.json"))]);
    let carrier = ups();
    let account = TestAccount::on(&server);
    carrier.rate(&account.account(), &rate_request()).await.expect("rates");
    server.ups.revoked.lock().unwrap().insert("tok-1".into());
    let rates = carrier.rate(&account.account(), &rate_request()).await.expect("retried with a new token");
    assert_eq!(rates.len(), 1);
    assert_eq!(server.ups.token_fetches.load(Ordering::SeqCst), 2);
    assert_eq!(server.ups.calls().len(), 3, "first call, refused call, one retry");

    // A token refused again after the retry is an Auth error, not a loop.
    server.ups.revoked.lock().unwrap().insert("tok-2".into());
    server.ups.revoked.lock().unwrap().insert("tok-3".into());
    let err = carrier.rate(&account.account(), &rate_request()).await.unwrap_err();
    assert!(matches!(err, CarrierError::Auth { carrier: "ups", .. }), "{err:?}");
    assert_eq!(server.ups.calls().len(), 5);
}

// ---------------------------------------------------------------------------------------------
// Rate
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rates_parse_from_a_single_object_and_from_an_array() {
    let server = start().await;
    server.ups.on(
        Method::POST,
        "/api/rating/v2409/Shop",
        vec![ok(fixture("rate_single.json")), ok(fixture("rate_shop.json"))],
    );
    let carrier = ups();
    let account = TestAccount::on(&server);

    let single = carrier.rate(&account.account(), &rate_request()).await.expect("rates");
    assert_eq!(single.len(), 1);
    assert_eq!((single[0].service.as_str(), single[0].charge.amount), ("03", dec("9.45")));
    assert_eq!(single[0].charge.currency.code(), "USD");

    let shop = carrier.rate(&account.account(), &rate_request()).await.expect("rates");
    let got: Vec<_> = shop.iter().map(|r| (r.service.as_str(), r.charge.amount, r.transit_days)).collect();
    assert_eq!(
        got,
        [
            ("12", dec("20.25"), Some(3)),
            ("14", dec("117.15"), Some(1)),
            ("59", dec("31.43"), Some(2)),
            ("03", dec("12.49"), None),
            ("13", dec("70.26"), Some(1)),
            ("01", dec("81.07"), Some(1)),
            ("02", dec("27.74"), Some(2)),
        ]
    );

    let sent = server.ups.calls()[0].json();
    let shipment = &sent["RateRequest"]["Shipment"];
    assert_eq!(shipment["Shipper"]["ShipperNumber"], "A1B2C3");
    assert_eq!(shipment["PaymentDetails"]["ShipmentCharge"][0]["BillShipper"]["AccountNumber"], "A1B2C3");
    assert_eq!(
        shipment["Package"][0]["PackageWeight"],
        json!({"UnitOfMeasurement": {"Code": "KGS", "Description": "Kilograms"}, "Weight": "1.3"})
    );
    assert_eq!(
        shipment["Package"][0]["Dimensions"],
        json!({"UnitOfMeasurement": {"Code": "CM", "Description": "Centimeters"}, "Length": "30", "Width": "20", "Height": "10.5"})
    );
}

// ---------------------------------------------------------------------------------------------
// Book
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn booking_sends_the_required_fields_and_returns_the_zpl_label() {
    let server = start().await;
    server.ups.on(Method::POST, "/api/shipments/v2409/ship", vec![ok(fixture("ship_zpl.json"))]);
    let carrier = ups();
    let account = TestAccount::on(&server);
    let booking = carrier.book(&account.account(), &booking_request("shp_01REF")).await.expect("booked");

    assert_eq!(booking.tracking_number, "1Z2866YYYZ38400094");
    assert_eq!(booking.carrier_shipment_id, "1Z2866YYYZ38400094");
    assert_eq!(booking.service, "03");
    let charge = booking.charge.expect("a charge");
    assert_eq!((charge.amount, charge.currency.code()), (dec("4.57"), "EUR"));
    assert_eq!(booking.documents.len(), 1);
    assert_eq!(booking.documents[0].format, "zpl");
    assert!(booking.documents[0].bytes.starts_with(b"\n^XA"), "decoded ZPL");

    let call = &server.ups.calls()[0];
    assert_eq!((call.method.clone(), call.path.as_str()), (Method::POST, "/api/shipments/v2409/ship"));
    let sent = call.json();
    let s = &sent["ShipmentRequest"]["Shipment"];
    assert_eq!(s["Shipper"]["ShipperNumber"], "A1B2C3");
    assert_eq!(s["Shipper"]["Address"]["CountryCode"], "US");
    assert_eq!(s["ShipTo"]["Address"]["CountryCode"], "US");
    assert_eq!(s["ShipTo"]["Address"]["AddressLine"], json!(["100 Main St", "Suite 2"]));
    assert_eq!(s["ShipFrom"]["Address"]["PostalCode"], "21093");
    assert_eq!(s["Service"]["Code"], "03");
    assert_eq!(s["PaymentInformation"]["ShipmentCharge"][0]["Type"], "01");
    assert_eq!(s["PaymentInformation"]["ShipmentCharge"][0]["BillShipper"]["AccountNumber"], "A1B2C3");
    // Shipping.yaml allows 3 characters per dimension: whole centimetres, rounded up.
    assert_eq!(s["Package"][0]["Dimensions"]["Height"], "11");
    // US/US: the reference goes on the packages (Shipping.yaml: shipment level is not valid).
    assert!(s.get("ReferenceNumber").is_none());
    assert_eq!(s["Package"][0]["ReferenceNumber"], json!([{"Value": "shp_01REF"}]));
    let packages = s["Package"].as_array().expect("packages");
    assert_eq!(packages.len(), 2);
    assert_eq!(packages[0]["PackageWeight"]["UnitOfMeasurement"]["Code"], "KGS");
    assert_eq!(packages[0]["PackageWeight"]["Weight"], "1.3");
    assert_eq!(packages[1]["PackageWeight"]["Weight"], "2");
    assert!(packages[1].get("Dimensions").is_none());
    assert_eq!(packages[1]["ReferenceNumber"][0]["Value"], "shp_01REF");
    let label = &sent["ShipmentRequest"]["LabelSpecification"];
    assert_eq!(label["LabelImageFormat"]["Code"], "ZPL");
    assert_eq!(label["LabelStockSize"], json!({"Height": "6", "Width": "4"}));
}

#[tokio::test]
async fn a_multi_package_answer_parses() {
    let server = start().await;
    server.ups.on(Method::POST, "/api/shipments/v2409/ship", vec![ok(fixture("ship_multi_zpl_derived.json"))]);
    let mut request = booking_request("shp_02");
    request.ship_to.country = "CA".into();
    let booking = ups().book(&TestAccount::on(&server).account(), &request).await.expect("booked");
    assert_eq!(booking.tracking_number, "1Z2866YYYZ38400094");
    assert_eq!(booking.documents.len(), 2);
    assert!(booking.documents.iter().all(|d| d.format == "zpl" && d.bytes.starts_with(b"\n^XA")));
    // US/CA: the reference goes on the shipment (Shipping.yaml: package level is US/US, PR/PR only).
    let sent = server.ups.calls()[0].json();
    assert_eq!(sent["ShipmentRequest"]["Shipment"]["ReferenceNumber"], json!([{"Value": "shp_02"}]));
    assert!(sent["ShipmentRequest"]["Shipment"]["Package"][0].get("ReferenceNumber").is_none());
}

#[tokio::test]
async fn booking_failures_are_sorted_by_what_the_caller_may_do() {
    let server = start().await;
    server.ups.on(
        Method::POST,
        "/api/shipments/v2409/ship",
        vec![
            Answer::Json(400, error_body("120802", "Address Validation Error on ShipTo address").to_string()),
            Answer::Json(503, error_body("10001", "The service is temporarily unavailable").to_string()),
            ok(fixture("ship_zpl.json")[..300].to_owned()),
        ],
    );
    let carrier = ups();
    let account = TestAccount::on(&server);
    let (account, request) = (account.account(), booking_request("shp_03"));
    let book = || carrier.book(&account, &request);

    let (code, message) = rejected_code(book().await);
    assert_eq!((code.as_str(), message.as_str()), ("120802", "Address Validation Error on ShipTo address"));

    match book().await {
        Err(e @ CarrierError::Unavailable { retry_after, .. }) => {
            assert!(e.is_transient());
            assert_eq!(retry_after, Some(Duration::from_secs(7)));
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }

    let garbled = book().await;
    assert!(matches!(garbled, Err(CarrierError::Unknown { carrier: "ups", .. })), "truncated JSON: {garbled:?}");
}

/// A raw HTTP/1.1 server: answers the token request, then answers the booking with headers and
/// half its body and closes the connection (hyper refuses to send such an answer itself).
async fn start_cutting_server() -> String {
    support::start_cutting_server(
        Some(("/security/v1/oauth/token", r#"{"access_token":"tok-raw","expires_in":"14399"}"#)),
        fixture("ship_zpl.json"),
    )
    .await
}

#[tokio::test]
async fn a_booking_answer_cut_off_mid_body_is_unknown() {
    let url = start_cutting_server().await;
    let account = TestAccount {
        id: CarrierAccountId::generate(),
        base_url: url,
        credentials: json!({"client_id": "cid", "client_secret": "csecret", "account_number": "A1B2C3"}),
    };
    let cut = ups().book(&account.account(), &booking_request("shp_cut")).await;
    assert!(
        matches!(&cut, Err(CarrierError::Unknown { carrier: "ups", message }) if message.contains("cut off")),
        "cut off: {cut:?}"
    );
}

#[tokio::test]
async fn cash_on_delivery_is_refused_without_a_call() {
    let server = start().await;
    let carrier = ups();
    assert!(!carrier.info().capabilities.cash_on_delivery);
    let mut request = booking_request("shp_cod");
    request.cod = Some(waybill_core::Money::new(dec("10"), "USD".parse().unwrap()));
    let (code, _) = rejected_code(carrier.book(&TestAccount::on(&server).account(), &request).await);
    assert_eq!(code, "COD_NOT_SUPPORTED");
    assert!(server.ups.calls().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Cancel
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn cancel_voids_the_shipment_and_keeps_ups_refusals() {
    let server = start().await;
    // VoidShipmentResponse per Shipping.yaml (`SummaryResult.Status.Code` 1 = voided).
    let voided = json!({"VoidShipmentResponse": {
        "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
        "SummaryResult": {"Status": {"Code": "1", "Description": "Voided"}}
    }});
    server.ups.on(
        Method::DELETE,
        "/api/shipments/v2409/void/cancel/",
        vec![
            ok(voided.to_string()),
            Answer::Json(
                400,
                error_body("190117", "The package has already been picked up and cannot be voided.").to_string(),
            ),
        ],
    );
    let carrier = ups();
    let account = TestAccount::on(&server);
    let booked = BookedRef { tracking_number: "1Z2866YYYZ38400094", carrier_shipment_id: "1Z2866YYYZ38400094" };
    carrier.cancel(&account.account(), &booked).await.expect("voided");
    assert_eq!(server.ups.calls()[0].path, "/api/shipments/v2409/void/cancel/1Z2866YYYZ38400094");
    assert_eq!(server.ups.calls()[0].method, Method::DELETE);

    let (code, message) = rejected_code(carrier.cancel(&account.account(), &booked).await);
    assert_eq!(code, "190117");
    assert!(message.contains("picked up"));
}

// ---------------------------------------------------------------------------------------------
// Track and find_booking
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_activity_maps_in_order() {
    let server = start().await;
    server.ups.on(Method::GET, "/api/track/v1/details/", vec![ok(fixture("track_details_synthetic.json"))]);
    let carrier = ups();
    let account = TestAccount::on(&server);
    let scans = carrier.track(&account.account(), "1Z023E2X0214323462").await.expect("tracked");

    let got: Vec<_> = scans.iter().map(|s| (s.code.as_str(), s.status, s.ndr_reason)).collect();
    assert_eq!(
        got,
        [
            ("D", TrackingStatus::Delivered, None),
            ("O", TrackingStatus::OutForDelivery, None),
            ("X", TrackingStatus::DeliveryFailed, Some(NdrReason::CustomerUnavailable)),
            ("O", TrackingStatus::OutForDelivery, None),
            ("I", TrackingStatus::InTransit, None),
            ("P", TrackingStatus::PickedUp, None),
            ("M", TrackingStatus::InfoReceived, None),
        ]
    );
    let at = |s: &str| DateTime::<FixedOffset>::parse_from_rfc3339(s).unwrap();
    // gmtDate/gmtTime with gmtOffset: the exact instant, in the local offset.
    assert_eq!(scans[0].occurred_at, at("2021-02-12T14:30:00-05:00"));
    assert_eq!(scans[0].occurred_at.offset().local_minus_utc(), -5 * 3600);
    // Unpadded gmtTime `40000` is 04:00:00 UTC.
    assert_eq!(scans[4].occurred_at, at("2021-02-10T23:00:00-05:00"));
    // Local date/time only: no offset is given, so +00:00.
    assert_eq!(scans[5].occurred_at, at("2021-02-10T18:00:00+00:00"));
    assert_eq!(scans[0].reason_code.as_deref(), Some("KB"));
    assert_eq!(scans[0].location.as_deref(), Some("Wayne, NJ, US"));
    assert_eq!(scans[6].location.as_deref(), Some("US"));
    assert_eq!(scans[0].raw["status"]["code"], "KB");

    let call = &server.ups.calls()[0];
    assert_eq!(call.path, "/api/track/v1/details/1Z023E2X0214323462");
    assert_eq!(call.headers["transactionSrc"], "waybill");
    assert!(!call.headers["transId"].is_empty());
}

#[tokio::test]
async fn an_unknown_status_type_is_kept() {
    let server = start().await;
    let mut answer: Value = serde_json::from_str(&fixture("track_details_synthetic.json")).unwrap();
    answer["trackResponse"]["shipment"][0]["package"][0]["activity"][1]["status"]["type"] = json!("ZQ");
    server.ups.on(Method::GET, "/api/track/v1/details/", vec![ok(answer.to_string())]);
    let scans = ups().track(&TestAccount::on(&server).account(), "1Z023E2X0214323462").await.expect("tracked");
    assert_eq!(scans.len(), 7, "nothing dropped");
    assert_eq!((scans[1].code.as_str(), scans[1].status), ("ZQ", TrackingStatus::InTransit));
    assert_eq!(scans[1].description, "Out For Delivery Today");
}

#[tokio::test]
async fn find_booking_finds_by_reference_or_says_none() {
    let server = start().await;
    server.ups.on(
        Method::GET,
        "/api/track/v1/reference/details/",
        vec![
            ok(fixture("track_reference_synthetic.json")),
            Answer::Json(404, error_body("151044", "No tracking information available").to_string()),
        ],
    );
    let carrier = ups();
    let account = TestAccount::on(&server);
    let found = carrier.find_booking(&account.account(), "ShipRef123").await.expect("searched").expect("found");
    assert_eq!(found.tracking_number, "1Z023E2X0214323462");
    assert!(found.documents.is_empty());
    assert_eq!(found.edd, chrono::NaiveDate::from_ymd_opt(2021, 2, 12));
    assert_eq!(server.ups.calls()[0].path, "/api/track/v1/reference/details/ShipRef123");
    assert_eq!(server.ups.calls()[0].headers["transactionSrc"], "waybill");

    assert_eq!(carrier.find_booking(&account.account(), "nope").await.expect("searched"), None);
}

// ---------------------------------------------------------------------------------------------
// Credentials, info and pushes
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_credentials_point_at_their_fields() {
    let carrier = ups();
    let errors = carrier.check_credentials(&json!({"client_id": "cid", "client_secret": ""})).unwrap_err();
    let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
    assert!(pointers.contains(&"/credentials/client_secret"), "{pointers:?}");
    assert!(pointers.contains(&"/credentials/account_number"), "{pointers:?}");
    assert!(!pointers.contains(&"/credentials/client_id"));
    carrier
        .check_credentials(&json!({"client_id": "a", "client_secret": "b", "account_number": "c"}))
        .expect("complete credentials pass");
}

#[tokio::test]
async fn info_shows_what_ups_offers() {
    let carrier = ups();
    let info = carrier.info();
    assert_eq!((info.slug, info.name), ("ups", "UPS"));
    assert_eq!(info.test_base_url, Some("https://wwwcie.ups.com"));
    assert_eq!(info.live_base_url, Some("https://onlinetools.ups.com"));
    assert!(info.services.iter().any(|s| s.code == "65"));
    let c = &info.capabilities;
    assert!(c.push && c.address_validation && c.pickup && c.track && c.rates && c.cancel && c.find_booking);
    assert!(!c.cash_on_delivery && !c.serviceability && !c.returns);
}

// ---------------------------------------------------------------------------------------------
// Address validation
// ---------------------------------------------------------------------------------------------

fn asked_address() -> Address {
    Address {
        name: "Jane Doe".into(),
        company: Some("Doe Optics".into()),
        phone: Some("+19165550100".into()),
        email: Some("jane@example.com".into()),
        street1: "123 Main St".into(),
        street2: None,
        city: "Rocklin".into(),
        state: Some("CA".into()),
        postal_code: "95677-3536".into(),
        country: "US".into(),
    }
}

#[tokio::test]
async fn address_validation_reads_valid_ambiguous_and_unknown_addresses() {
    let server = start().await;
    server.ups.on(
        Method::POST,
        "/api/addressvalidation/v2/3",
        vec![
            ok(fixture("xav_valid_synthetic.json")),
            ok(fixture("xav_ambiguous_synthetic.json")),
            ok(fixture("xav_no_candidates_synthetic.json")),
        ],
    );
    let carrier = ups();
    let account = TestAccount::on(&server);
    let asked = asked_address();

    let valid = carrier.validate_address(&account.account(), &asked).await.expect("checked");
    assert_eq!((valid.verdict, valid.classification), (AddressVerdict::Valid, AddressClass::Residential));
    assert_eq!(
        valid.candidates,
        [Address {
            street1: "123 MAIN ST".into(),
            city: "ROCKLIN".into(),
            postal_code: "95677-3536".into(),
            ..asked.clone()
        }],
        "one Candidate object with a string AddressLine; name, company, phone and email kept"
    );

    let ambiguous = carrier.validate_address(&account.account(), &asked).await.expect("checked");
    assert_eq!((ambiguous.verdict, ambiguous.classification), (AddressVerdict::Ambiguous, AddressClass::Commercial));
    let streets: Vec<_> = ambiguous
        .candidates
        .iter()
        .map(|c| (c.street1.as_str(), c.street2.as_deref(), c.postal_code.as_str()))
        .collect();
    assert_eq!(
        streets,
        [("26601 ALISO CREEK RD", Some("STE D"), "92656-1521"), ("26601 ALISO CREEK RD", None, "92656")]
    );
    assert!(
        ambiguous.candidates.iter().all(|c| c.name == "Jane Doe" && c.email.as_deref() == Some("jane@example.com"))
    );
    assert_eq!(ambiguous.messages, ["XAV001: More than one address matches"]);

    let unknown = carrier.validate_address(&account.account(), &asked).await.expect("checked");
    assert_eq!((unknown.verdict, unknown.classification), (AddressVerdict::Invalid, AddressClass::Unknown));
    assert!(unknown.candidates.is_empty());

    let call = &server.ups.calls()[0];
    assert_eq!(call.path, "/api/addressvalidation/v2/3", "request option 3: validation and classification");
    let key = &call.json()["XAVRequest"]["AddressKeyFormat"];
    assert_eq!(key["AddressLine"], json!(["123 Main St"]));
    assert_eq!(key["ConsigneeName"], "Doe Optics");
    assert_eq!(key["PoliticalDivision2"], "Rocklin");
    assert_eq!(key["PoliticalDivision1"], "CA");
    assert_eq!(
        (key["PostcodePrimaryLow"].as_str(), key["PostcodeExtendedLow"].as_str()),
        (Some("95677"), Some("3536"))
    );
    assert_eq!(key["CountryCode"], "US");
}

#[tokio::test]
async fn address_validation_outside_the_us_and_puerto_rico_is_refused_without_a_call() {
    let server = start().await;
    let mut asked = asked_address();
    asked.country = "CA".into();
    let result = ups().validate_address(&TestAccount::on(&server).account(), &asked).await;
    match result {
        Err(CarrierError::Rejected { carrier: "ups", code, field, .. }) => {
            assert_eq!((code.as_str(), field.as_deref()), ("UNSUPPORTED_COUNTRY", Some("/country")));
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(server.ups.calls().is_empty());
    assert_eq!(server.ups.token_fetches.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_address_answer_without_a_verdict_is_a_protocol_error() {
    let server = start().await;
    let answer = json!({"XAVResponse": {"Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}}}});
    server.ups.on(Method::POST, "/api/addressvalidation/v2/3", vec![ok(answer.to_string())]);
    let result = ups().validate_address(&TestAccount::on(&server).account(), &asked_address()).await;
    assert!(matches!(result, Err(CarrierError::Protocol { carrier: "ups", .. })), "{result:?}");
}

// ---------------------------------------------------------------------------------------------
// Pickup
// ---------------------------------------------------------------------------------------------

fn pickup_request() -> PickupRequest {
    PickupRequest {
        reference: "pkp_01".into(),
        address: address("Acme Store", "Timonium", "MD", "21093"),
        date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        ready_time: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        close_time: NaiveTime::from_hms_opt(17, 30, 0).unwrap(),
        parcels: vec![Parcel { weight_g: 1250, dimensions_mm: None }, Parcel { weight_g: 2000, dimensions_mm: None }],
        tracking_numbers: vec!["1Z2866YYYZ38400094".into(), "not-ups".into()],
        service: Some("03".into()),
        instructions: Some("Ring at the loading dock".into()),
    }
}

#[tokio::test]
async fn a_pickup_is_scheduled_with_the_documented_fields() {
    let server = start().await;
    server.ups.on(Method::POST, "/api/pickupcreation/v2409/pickup", vec![ok(fixture("pickup_created.json"))]);
    let carrier = ups();
    let pickup = carrier.schedule_pickup(&TestAccount::on(&server).account(), &pickup_request()).await.expect("booked");
    // The documented example's PRN; its placeholder charge ("stringst") is not a charge.
    assert_eq!(pickup.confirmation_number, "stringstrin");
    assert_eq!(pickup.charge, None);
    assert_eq!(pickup.note.as_deref(), Some("string: string"));

    let call = &server.ups.calls()[0];
    assert_eq!(call.path, "/api/pickupcreation/v2409/pickup");
    assert_eq!(call.headers["transactionSrc"], "waybill");
    assert!(!call.headers["transId"].is_empty());
    let sent = call.json();
    let p = &sent["PickupCreationRequest"];
    assert_eq!(p["PickupDateInfo"], json!({"PickupDate": "20261124", "ReadyTime": "0900", "CloseTime": "1730"}));
    assert_eq!(p["Shipper"]["Account"], json!({"AccountNumber": "A1B2C3", "AccountCountryCode": "US"}));
    assert_eq!(
        p["PickupPiece"],
        json!([{"ServiceCode": "003", "Quantity": "2", "DestinationCountryCode": "US", "ContainerCode": "01"}])
    );
    assert_eq!(p["TotalWeight"], json!({"Weight": "3.3", "UnitOfMeasurement": "KGS"}));
    assert_eq!(p["PaymentMethod"], "01");
    assert_eq!(p["RatePickupIndicator"], "N");
    assert_eq!(p["PickupAddress"]["AddressLine"], json!(["100 Main St, Suite 2"]));
    assert_eq!(p["PickupAddress"]["Phone"]["Number"], "+12125551234");
    assert_eq!(p["PickupAddress"]["ResidentialIndicator"], "Y");
    assert_eq!(p["TrackingData"], json!([{"TrackingNumber": "1Z2866YYYZ38400094"}]));
    assert_eq!(p["ReferenceNumber"], "pkp_01");
    assert_eq!(p["SpecialInstruction"], "Ring at the loading dock");
}

#[tokio::test]
async fn pickup_failures_keep_ups_codes_and_a_lost_answer_is_unknown() {
    let server = start().await;
    server.ups.on(
        Method::POST,
        "/api/pickupcreation/v2409/pickup",
        vec![
            // ErrorResponse shape of Pickup.yaml; code and message are illustrative.
            Answer::Json(400, error_body("9510131", "Pickup date is in the past").to_string()),
            ok(json!({"PickupCreationResponse": {"Response": {"ResponseStatus": {"Code": "1"}}}}).to_string()),
        ],
    );
    let carrier = ups();
    let account = TestAccount::on(&server);
    let (code, message) = rejected_code(carrier.schedule_pickup(&account.account(), &pickup_request()).await);
    assert_eq!((code.as_str(), message.as_str()), ("9510131", "Pickup date is in the past"));
    // A 200 without a PRN: UPS may have booked the pickup, so it must not be sent again.
    let lost = carrier.schedule_pickup(&account.account(), &pickup_request()).await;
    assert!(matches!(lost, Err(CarrierError::Unknown { carrier: "ups", .. })), "{lost:?}");
}

#[tokio::test]
async fn a_pickup_is_cancelled_by_its_prn_and_refusals_keep_ups_codes() {
    let server = start().await;
    // `PickupCancelResponse` in the shape of Pickup.yaml (`PICKUPCancelResponseWrapper`); the
    // status description and the refusal's code and message are illustrative.
    let cancelled = json!({"PickupCancelResponse": {
        "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}}, "PickupType": "01"}});
    server.ups.on(
        Method::DELETE,
        "/api/shipments/v2409/pickup/02",
        vec![
            ok(cancelled.to_string()),
            Answer::Json(400, error_body("9510113", "No pickup found for this PRN").to_string()),
        ],
    );
    let carrier = ups();
    assert!(carrier.info().capabilities.pickup_cancel);
    let account = TestAccount::on(&server);
    carrier.cancel_pickup(&account.account(), "2929602E9CP").await.expect("cancelled");
    let call = &server.ups.calls()[0];
    assert_eq!(call.path, "/api/shipments/v2409/pickup/02");
    assert_eq!(call.headers["Prn"], "2929602E9CP");
    assert_eq!(call.headers["transactionSrc"], "waybill");
    let (code, message) = rejected_code(carrier.cancel_pickup(&account.account(), "2929602E9CP").await);
    assert_eq!((code.as_str(), message.as_str()), ("9510113", "No pickup found for this PRN"));

    let failed = waybill_carriers::ups::parse_pickup_cancel_answer(
        br#"{"PickupCancelResponse": {"Response": {"ResponseStatus": {"Code": "0", "Description": "Failure"}}}}"#,
    );
    assert!(matches!(failed, Err(CarrierError::Protocol { .. })), "{failed:?}");
}

#[tokio::test]
async fn a_pickup_without_a_phone_is_refused_without_a_call() {
    let server = start().await;
    let mut request = pickup_request();
    request.address.phone = None;
    let (code, _) = rejected_code(ups().schedule_pickup(&TestAccount::on(&server).account(), &request).await);
    assert_eq!(code, "PHONE_REQUIRED");
    assert!(server.ups.calls().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Track Alert: subscription and pushes
// ---------------------------------------------------------------------------------------------

const PUSH_SECRET: &str = "whsec-7f3a9c";

#[tokio::test]
async fn subscribe_sends_the_tracking_number_and_the_push_destination() {
    let server = start().await;
    server.ups.on(
        Method::POST,
        "/api/track/v1/subscription/standard/package",
        vec![
            ok(json!({"validTrackingNumbers": ["1Z204W4R0308071865"]}).to_string()),
            ok(json!({"validTrackingNumbers": [], "invalidTrackingNumbers": ["1Z204W4R0308071865"]}).to_string()),
            // PackageSubscriptionErrorResponse example of UPSTrackAlert.yaml.
            Answer::Json(
                400,
                json!({"invalidTrackingNumbers": [], "response": {"errors": [{"code": "VSS300", "message": "Locale is required. The Subscription request has been rejected."}]}})
                    .to_string(),
            ),
        ],
    );
    let carrier = ups();
    let account = TestAccount::on(&server);
    let target = PushTarget { url: "https://waybill.example/v1/push/ups/acc_1".into(), secret: PUSH_SECRET.into() };
    carrier.subscribe(&account.account(), "1Z204W4R0308071865", &target).await.expect("subscribed");

    let call = &server.ups.calls()[0];
    assert_eq!(call.path, "/api/track/v1/subscription/standard/package");
    assert_eq!(call.headers["transactionSrc"], "waybill");
    assert!(!call.headers["transId"].is_empty());
    assert_eq!(
        call.json(),
        json!({
            "locale": "en_US",
            "countryCode": "US",
            "trackingNumberList": ["1Z204W4R0308071865"],
            "destination": {"url": target.url, "credentialType": "Bearer", "credential": PUSH_SECRET},
        })
    );

    let (code, _) = rejected_code(carrier.subscribe(&account.account(), "1Z204W4R0308071865", &target).await);
    assert_eq!(code, "INVALID_TRACKING_NUMBER");
    let (code, _) = rejected_code(carrier.subscribe(&account.account(), "1Z204W4R0308071865", &target).await);
    assert_eq!(code, "VSS300");
}

fn push_headers(credential: Option<&str>) -> Vec<(String, String)> {
    let mut headers = vec![("user-agent".to_owned(), "UPSPubSubTrackingService".to_owned())];
    headers.extend(credential.map(|c| ("credential".to_owned(), c.to_owned())));
    headers
}

#[test]
fn a_push_with_the_subscription_credential_is_mapped() {
    let carrier = ups();
    let at = |s: &str| DateTime::<FixedOffset>::parse_from_rfc3339(s).unwrap();

    let body = fixture("push_out_for_delivery.json");
    let headers = push_headers(Some(PUSH_SECRET));
    let scans =
        carrier.parse_push(PUSH_SECRET, &PushRequest { headers: &headers, body: body.as_bytes() }).expect("read");
    assert_eq!(scans.len(), 1);
    let pushed = &scans[0];
    assert_eq!(pushed.tracking_number, "1Z204W4R0308071865");
    assert_eq!((pushed.scan.code.as_str(), pushed.scan.reason_code.as_deref()), ("I", Some("OT")));
    assert_eq!(pushed.scan.status, TrackingStatus::OutForDelivery);
    assert_eq!(pushed.scan.description, "Out for Delivery");
    assert_eq!(pushed.scan.location.as_deref(), Some("Charlotte, NC, US"));
    // GMT 13:15:19 is the instant; local 09:15:19 gives the offset.
    assert_eq!(pushed.scan.occurred_at, at("2024-04-23T09:15:19-04:00"));
    assert_eq!(pushed.scan.occurred_at.offset().local_minus_utc(), -4 * 3600);
    assert_eq!(pushed.scan.raw["activityStatus"]["descriptionCode"], "021");

    let body = fixture("push_delivered.json");
    let scans =
        carrier.parse_push(PUSH_SECRET, &PushRequest { headers: &headers, body: body.as_bytes() }).expect("read");
    assert_eq!((scans[0].scan.code.as_str(), scans[0].scan.status), ("D", TrackingStatus::Delivered));
    assert_eq!(scans[0].scan.occurred_at, at("2024-04-23T09:50:04-04:00"));

    // An exception push that reads as a failed attempt carries its reason.
    let mut event: Value = serde_json::from_str(&fixture("push_out_for_delivery.json")).unwrap();
    event["activityStatus"] =
        json!({"type": "X", "code": "48", "description": "The receiver was not available for delivery."});
    let body = event.to_string();
    let scans =
        carrier.parse_push(PUSH_SECRET, &PushRequest { headers: &headers, body: body.as_bytes() }).expect("read");
    assert_eq!(scans[0].scan.status, TrackingStatus::DeliveryFailed);
    assert_eq!(scans[0].scan.ndr_reason, Some(NdrReason::CustomerUnavailable));
}

#[test]
fn a_push_with_a_forged_or_missing_credential_is_refused() {
    let carrier = ups();
    let body = fixture("push_delivered.json");
    for credential in [None, Some("whsec-forged"), Some(""), Some("whsec-7f3a9")] {
        let headers = push_headers(credential);
        let result = carrier.parse_push(PUSH_SECRET, &PushRequest { headers: &headers, body: body.as_bytes() });
        assert!(matches!(result, Err(PushError::BadSignature(_))), "{credential:?}: {result:?}");
    }
    // With the right credential, an unreadable body is malformed, not forged.
    let headers = push_headers(Some(PUSH_SECRET));
    for body in [&b"{\"trackingNumber\": "[..], b"{\"activityStatus\": {}}", b"[]"] {
        let result = carrier.parse_push(PUSH_SECRET, &PushRequest { headers: &headers, body });
        assert!(matches!(result, Err(PushError::Malformed(_))), "{result:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Requests checked against UPS's schemas
// ---------------------------------------------------------------------------------------------

/// Request bodies checked against the OpenAPI files UPS publishes (`UPS-API/api-documentation`
/// @ e6f36df4, copied unchanged into `tests/fixtures/ups/openapi/`).
mod schema {
    use std::path::PathBuf;
    use std::sync::LazyLock;

    use serde_json::{Map, Value, json};

    /// `(file, OpenAPI path of the POST, path prefix of the calls it checks)`.
    const OPERATIONS: &[(&str, &str, &str)] = &[
        ("Rating.yaml", "/rating/{version}/{requestoption}", "/api/rating/"),
        ("Shipping.yaml", "/shipments/{version}/ship", "/api/shipments/"),
        ("AddressValidation.yaml", "/addressvalidation/{version}/{requestoption}", "/api/addressvalidation/"),
        ("Pickup.yaml", "/pickupcreation/{version}/pickup", "/api/pickupcreation/"),
        ("UPSTrackAlert.yaml", "/subscription/{type}/package", "/api/track/v1/subscription/"),
    ];

    /// Where a schema contradicts its own description and its published example, the
    /// description wins: `PickupDate` is `yyyyMMdd` (example `20221214`) though the schema says
    /// 4 characters; `TotalWeight.Weight` allows one decimal (examples `10.9`, `5.5`) though the
    /// schema says exactly 6 characters.
    fn errata(file: &str) -> Vec<(&'static str, Value)> {
        match file {
            "Pickup.yaml" => vec![
                (
                    "/components/schemas/PickupCreationRequest_PickupDateInfo/properties/PickupDate",
                    json!({"type": "string", "minLength": 8, "maxLength": 8}),
                ),
                (
                    "/components/schemas/PickupCreationRequest_TotalWeight/properties/Weight",
                    json!({"type": "string", "minLength": 1, "maxLength": 6}),
                ),
            ],
            _ => vec![],
        }
    }

    pub fn spec_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ups/openapi")
    }

    fn to_json(yaml: serde_norway::Value) -> Value {
        use serde_norway::Value as Y;
        match yaml {
            Y::Null => Value::Null,
            Y::Bool(b) => Value::Bool(b),
            Y::Number(n) => serde_json::to_value(&n).expect("a YAML number is a JSON number"),
            Y::String(s) => Value::String(s),
            Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
            Y::Mapping(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        let key = match k {
                            Y::String(s) => s,
                            other => serde_norway::to_string(&other).expect("a YAML key").trim().to_owned(),
                        };
                        (key, to_json(v))
                    })
                    .collect::<Map<_, _>>(),
            ),
            Y::Tagged(tagged) => to_json(tagged.value),
        }
    }

    /// The OpenAPI file as JSON. The files have CRLF line ends and trailing TABs after quoted
    /// strings, which YAML parsers refuse: trailing whitespace is dropped line by line.
    pub fn load(file: &str) -> Value {
        let path = spec_dir().join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let clean = text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
        let yaml: serde_norway::Value =
            serde_norway::from_str(&clean).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        to_json(yaml)
    }

    /// A JSON Schema document for one operation's request body: the operation's schema at the
    /// root, beside the file's `components`, so its `#/components/schemas/…` refs resolve.
    pub fn request_schema(file: &str, openapi_path: &str) -> Value {
        let mut spec = load(file);
        for (pointer, fixed) in errata(file) {
            *spec.pointer_mut(pointer).unwrap_or_else(|| panic!("{file}: no {pointer}")) = fixed;
        }
        let body = spec
            .pointer(&format!(
                "/paths/{}/post/requestBody/content/application~1json/schema",
                openapi_path.replace('~', "~0").replace('/', "~1")
            ))
            .cloned()
            .unwrap_or_else(|| panic!("{file}: no JSON request body for POST {openapi_path}"));
        let mut root = body.as_object().cloned().expect("a schema object");
        root.insert("components".into(), spec["components"].take());
        Value::Object(root)
    }

    static VALIDATORS: LazyLock<Vec<(&'static str, jsonschema::Validator)>> = LazyLock::new(|| {
        OPERATIONS
            .iter()
            .map(|(file, openapi_path, prefix)| {
                let schema = request_schema(file, openapi_path);
                let validator = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{file}: {e}"));
                (*prefix, validator)
            })
            .collect()
    });

    /// What is wrong with `body` as a request to `path`, as `at /pointer: message`; `None` when
    /// no operation covers `path`.
    pub fn violations(path: &str, body: &[u8]) -> Option<Vec<String>> {
        let (_, validator) = VALIDATORS.iter().find(|(prefix, _)| path.starts_with(prefix))?;
        let body: Value = match serde_json::from_slice(body) {
            Ok(body) => body,
            Err(e) => return Some(vec![format!("not JSON: {e}")]),
        };
        Some(validator.iter_errors(&body).map(|e| format!("at {}: {e}", e.instance_path())).collect())
    }
}

#[test]
fn the_schemas_catch_a_wrong_body_and_name_the_path() {
    // The documented request example passes (AddressValidation.yaml, "A sample JSON request").
    // xav_request_example.json: AddressValidation.yaml's request example, as extracted into
    // the shared specs' examples/ (UPS-API/api-documentation @ e6f36df4).
    let example = include_bytes!("fixtures/ups/xav_request_example.json");
    assert_eq!(schema::violations("/api/addressvalidation/v2/3", example), Some(vec![]));

    let wrong = json!({"XAVRequest": {"AddressKeyFormat": {"AddressLine": ["1 Main St"], "CountryCode": "USA"}}});
    let found = schema::violations("/api/addressvalidation/v2/3", wrong.to_string().as_bytes()).expect("a schema");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("at /XAVRequest/AddressKeyFormat/CountryCode: "), "{found:?}");

    let no_date = json!({"PickupCreationRequest": {"RatePickupIndicator": "N"}});
    let found = schema::violations("/api/pickupcreation/v2409/pickup", no_date.to_string().as_bytes()).unwrap();
    assert!(!found.is_empty());
    assert_eq!(schema::violations("/api/unknown", b"{}"), None);
}

#[tokio::test]
#[should_panic(expected = "POST /api/addressvalidation/v2/3: at /XAVRequest/AddressKeyFormat/CountryCode")]
async fn a_request_that_breaks_the_schema_fails_the_test() {
    let server = start().await;
    let wrong = json!({"XAVRequest": {"AddressKeyFormat": {"AddressLine": ["1 Main St"], "CountryCode": "USA"}}});
    let sent =
        Outbound::default().open().post(format!("{}/api/addressvalidation/v2/3", server.url)).json(&wrong).send().await;
    assert_eq!(sent.expect("sent").status(), 401, "no token: refused, but checked and recorded");
    drop(server);
}

// ---------------------------------------------------------------------------------------------
// Answer parsers: never a panic
// ---------------------------------------------------------------------------------------------

const ANSWER_FIXTURES: &[&str] = &[
    "rate_single.json",
    "rate_shop.json",
    "ship_zpl.json",
    "ship_multi_zpl_derived.json",
    "track_details_synthetic.json",
    "track_reference_synthetic.json",
    "xav_valid_synthetic.json",
    "xav_ambiguous_synthetic.json",
    "xav_no_candidates_synthetic.json",
    "pickup_created.json",
    "push_out_for_delivery.json",
    "push_delivered.json",
];

/// Runs every UPS answer parser on `body`: each returns `Ok` or a typed error (a panic fails).
fn parse_everything(body: &[u8]) {
    let asked = asked_address();
    let _ = ups::parse_rate_answer(body);
    let _ = ups::parse_booking_answer(body, "03");
    let _ = ups::parse_void_answer(body);
    let _ = ups::parse_track_answer(body, "1Z023E2X0214323462");
    let _ = ups::parse_reference_answer(body);
    let _ = ups::parse_address_answer(body, &asked);
    let _ = ups::parse_pickup_answer(body);
    let _ = ups::parse_subscription_answer(body, "1Z204W4R0308071865");
    let _ = ups::parse_push_body(body);
}

#[test]
fn the_parsers_read_their_fixtures() {
    let rates = ups::parse_rate_answer(fixture("rate_shop.json").as_bytes()).expect("rates");
    assert_eq!(rates.len(), 7);
    assert!(ups::parse_booking_answer(fixture("ship_zpl.json").as_bytes(), "03").is_ok());
    assert_eq!(ups::parse_track_answer(fixture("track_details_synthetic.json").as_bytes(), "x").unwrap().len(), 7);
    assert!(ups::parse_reference_answer(fixture("track_reference_synthetic.json").as_bytes()).unwrap().is_some());
    assert!(ups::parse_pickup_answer(fixture("pickup_created.json").as_bytes()).is_ok());
    assert_eq!(ups::parse_push_body(fixture("push_delivered.json").as_bytes()).unwrap().len(), 1);
    let refused = ups::parse_void_answer(
        json!({"VoidShipmentResponse": {"SummaryResult": {"Status": {"Code": "0", "Description": "Failed"}}}})
            .to_string()
            .as_bytes(),
    );
    assert!(matches!(refused, Err(CarrierError::Rejected { ref code, .. }) if code == "0"), "{refused:?}");
    assert!(matches!(ups::parse_rate_answer(b"{"), Err(CarrierError::Protocol { carrier: "ups", .. })));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_parsers_survive_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        parse_everything(&body);
    }

    #[test]
    fn the_parsers_survive_mutated_fixtures(
        which in 0..ANSWER_FIXTURES.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<Option<prop::sample::Index>>(),
    ) {
        let mut body = fixture(ANSWER_FIXTURES[which]).into_bytes();
        for (at, byte) in edits {
            let i = at.index(body.len());
            body[i] = byte;
        }
        if let Some(cut) = cut {
            body.truncate(cut.index(body.len() + 1));
        }
        parse_everything(&body);
    }

    #[test]
    fn the_parsers_survive_fixtures_with_values_swapped(
        which in 0..ANSWER_FIXTURES.len(),
        replacement in prop_oneof![
            Just(json!(null)), Just(json!("")), Just(json!([])), Just(json!({})), Just(json!(-1)),
            Just(json!("99999999999")), Just(json!("2024-13-45")), Just(json!("ÿ\u{0}")),
        ],
        pick in any::<prop::sample::Index>(),
    ) {
        let mut doc: Value = serde_json::from_str(&fixture(ANSWER_FIXTURES[which])).unwrap();
        let mut pointers = Vec::new();
        collect_pointers(&doc, String::new(), &mut pointers);
        let pointer = pick.get(&pointers).clone();
        if let Some(v) = doc.pointer_mut(&pointer) {
            *v = replacement;
        }
        parse_everything(doc.to_string().as_bytes());
    }
}

fn collect_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                collect_pointers(child, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

#[tokio::test]
async fn a_gif_label_is_asked_for_and_served_as_png() {
    use base64::Engine as _;
    let server = start().await;
    // ship_gif.json: `UPS-API/java-api-examples` @ c5ffb9a6,
    // `shipping/src/main/resources/Response/ShipmentResponse.json` (a base64 GIF label).
    server.ups.on(Method::POST, "/api/shipments/v2409/ship", vec![ok(fixture("ship_gif.json"))]);
    let mut account = TestAccount::on(&server);
    account.credentials["label_format"] = json!("GIF");
    let carrier = ups();
    assert_eq!(carrier.check_credentials(&account.credentials), Ok(()));
    let booking = carrier.book(&account.account(), &booking_request("shp_01GIF")).await.expect("booked");

    let label = &server.ups.calls()[0].json()["ShipmentRequest"]["LabelSpecification"];
    assert_eq!(label["LabelImageFormat"]["Code"], "GIF", "{label}");
    assert_eq!(label["LabelStockSize"], json!({"Height": "6", "Width": "4"}), "Shipping.yaml requires it");

    let answer: Value = serde_json::from_str(&fixture("ship_gif.json")).unwrap();
    let gif = base64::engine::general_purpose::STANDARD
        .decode(
            answer["ShipmentResponse"]["ShipmentResults"]["PackageResults"]["ShippingLabel"]["GraphicImage"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert!(gif.starts_with(b"GIF89a"));
    assert_eq!(booking.documents.len(), 1);
    assert_eq!(booking.documents[0].format, "png");
    let png = &booking.documents[0].bytes;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let from_gif = image::load_from_memory(&gif).unwrap().to_rgba8();
    let from_png = image::load_from_memory(png).unwrap().to_rgba8();
    assert_eq!(from_png.dimensions(), from_gif.dimensions());
    assert!(from_png == from_gif, "the PNG has the GIF's pixels");
}

#[test]
fn a_label_format_ups_is_not_asked_for_is_refused() {
    let credentials = json!({"client_id": "cid", "client_secret": "s", "account_number": "A1", "label_format": "EPL"});
    let errors = ups().check_credentials(&credentials).expect_err("EPL is refused");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].pointer, "/credentials/label_format");
}

#[test]
fn a_gif_label_claiming_a_huge_image_is_refused_not_decoded() {
    use base64::Engine as _;
    // A GIF whose screen and single frame claim 65535 × 65535 pixels (16 GiB as RGBA).
    let mut gif = b"GIF89a".to_vec();
    gif.extend([0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00]);
    gif.extend([0x2C, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]);
    gif.extend([0x02, 0x02, 0x4C, 0x01, 0x00, 0x3B]);
    let answer = json!({"ShipmentResponse": {"ShipmentResults": {
        "ShipmentIdentificationNumber": "1Z999AA10123456784",
        "PackageResults": {"TrackingNumber": "1Z999AA10123456784", "ShippingLabel": {
            "ImageFormat": {"Code": "GIF"},
            "GraphicImage": base64::engine::general_purpose::STANDARD.encode(&gif),
        }},
    }}});
    let read = ups::parse_booking_answer(answer.to_string().as_bytes(), "03");
    assert!(matches!(&read, Err(CarrierError::Protocol { carrier: "ups", .. })), "{read:?}");
}
