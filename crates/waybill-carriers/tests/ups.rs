//! The `ups` adapter over real HTTP against a local axum server that plays UPS.
//!
//! The server answers the OAuth token endpoint itself (counting fetches and issuing `tok-<n>`)
//! and answers API calls from a per-route script of UPS answers, recording every request
//! Waybill sent so the tests can check the bodies and headers against UPS's documents.
//!
//! Fixtures (tests/fixtures/ups/), with their origins:
//! - `rate_single.json`: `UPS-API/java-api-examples` @ c5ffb9a6,
//!   `rating/src/main/resources/scenarios/simpleRateResponse.json` (one `RatedShipment` object),
//!   copied from /work/shared/specs/ups/fixtures_java-api-examples/rating__scenarios__simpleRateResponse.json.
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
//! - Error bodies (inline below) follow the `Response`/`ErrorResponse`/`Error` schema of `Tracking.yaml`
//!   (`{"response":{"errors":[{"code","message"}]}}`); their codes and messages are illustrative.

mod support;

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use waybill_carriers::{
    Account, BookedRef, BookingRequest, Carrier, CarrierError, Carriers, PushError, PushRequest, PushTarget,
    RateRequest, http_client,
};
use waybill_core::ids::CarrierAccountId;
use waybill_core::parcel::Dimensions;
use waybill_core::{Address, Mode, NdrReason, Parcel, TrackingStatus};

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

struct TestAccount {
    id: CarrierAccountId,
    base_url: String,
    credentials: Value,
}

impl TestAccount {
    fn on(server: &Server) -> Self {
        Self {
            id: CarrierAccountId::generate(),
            base_url: server.url.clone(),
            credentials: json!({"client_id": "cid", "client_secret": "csecret", "account_number": "A1B2C3"}),
        }
    }

    fn account(&self) -> Account<'_> {
        Account { id: &self.id, mode: Mode::Test, base_url: &self.base_url, credentials: &self.credentials }
    }
}

fn ups() -> Arc<dyn Carrier> {
    Carriers::new(http_client()).get("ups").expect("the ups adapter is registered").clone()
}

fn address(name: &str, city: &str, state: &str, postal_code: &str) -> Address {
    Address {
        name: name.into(),
        company: None,
        phone: Some("+12125551234".into()),
        email: None,
        street1: "100 Main St".into(),
        street2: Some("Suite 2".into()),
        city: city.into(),
        state: Some(state.into()),
        postal_code: postal_code.into(),
        country: "US".into(),
    }
}

fn rate_request() -> RateRequest {
    RateRequest {
        ship_from: address("Acme Store", "Timonium", "MD", "21093"),
        ship_to: address("Jane Doe", "Alpharetta", "GA", "30005"),
        parcels: vec![Parcel {
            weight_g: 1250,
            dimensions_mm: Some(Dimensions { length: 300, width: 200, height: 105 }),
        }],
    }
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
    assert_eq!(shipment["Package"][0]["PackageWeight"], json!({"UnitOfMeasurement": {"Code": "KGS"}, "Weight": "1.3"}));
    assert_eq!(
        shipment["Package"][0]["Dimensions"],
        json!({"UnitOfMeasurement": {"Code": "CM"}, "Length": "30", "Width": "20", "Height": "10.5"})
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
    assert_eq!(s["PaymentInformation"]["ShipmentCharge"]["Type"], "01");
    assert_eq!(s["PaymentInformation"]["ShipmentCharge"]["BillShipper"]["AccountNumber"], "A1B2C3");
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
async fn info_and_pushes() {
    let carrier = ups();
    let info = carrier.info();
    assert_eq!((info.slug, info.name), ("ups", "UPS"));
    assert_eq!(info.test_base_url, Some("https://wwwcie.ups.com"));
    assert_eq!(info.live_base_url, Some("https://onlinetools.ups.com"));
    assert!(info.services.iter().any(|s| s.code == "65"));
    assert!(!info.capabilities.push);
    let target = PushTarget { url: "http://x".into(), secret: "s".into() };
    let server = start().await;
    carrier.subscribe(&TestAccount::on(&server).account(), "1Z", &target).await.expect("no-op");
    assert!(server.ups.calls().is_empty() && server.ups.token_fetches.load(Ordering::SeqCst) == 0);
    let push = PushRequest { headers: &[], body: b"{}" };
    assert_eq!(carrier.parse_push("s", &push), Err(PushError::Malformed("UPS pushes are not supported yet".into())));
}
