//! The `mng_kargo` adapter over real HTTP against a local axum server that plays MNG Kargo.
//!
//! The server answers the identity endpoint itself (counting fetches and issuing `jwt-<n>`) and
//! answers API calls from a per-route script, recording every request Waybill sent so the tests
//! can check bodies and headers.
//!
//! Fixtures (tests/fixtures/mng_kargo/), with their origins. MNG's API Zone documents
//! (apizone.mngkargo.com.tr) sit behind a developer login and were not available, so every
//! fixture is SYNTHETIC, written by us on the field names the API Zone product descriptions and
//! public clients of the same API use:
//! - `create_order_synthetic.json`: a Standard Command `createOrder` answer
//!   (`[{orderInvoiceId, orderInvoiceDetailId, shipperBranchCode, referenceId}]`); values are ours.
//! - `create_barcode_synthetic.json`: a Barcode Command `createbarcode` answer
//!   (`[{referenceId, invoiceId, shipmentId, barcodes: [{pieceNumber, value, barcode}]}]`, the ZPL in
//!   `value`); the ZPL, with Turkish text, is a tiny label we wrote.
//! - `get_shipment_synthetic.json`: a Standard Query `getshipment` answer (`[{order, shipment}]`).
//! - `track_synthetic.json`: a `trackshipment` movement list (`eventSequence`, `eventStatus`,
//!   `eventDateTime` in Turkey time without an offset, `location`, `reason`); the descriptions are
//!   those MNG shows on its tracking pages, the places, times and reasons are ours; event 6 is a
//!   description the adapter's table does not know.
//! - `create_return_order_synthetic.json`: a Standard Command `createReturnOrder` answer, the same
//!   shape public clients of that endpoint read (`[{orderInvoiceId, orderInvoiceDetailId,
//!   shipperBranchCode, referenceId}]`); values are ours.
//! - Error bodies (inline below) follow `{"error": {"code", "message", "description"}}`; the codes
//!   are illustrative.

mod account;
mod answers;
mod support;

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
use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use waybill_carriers::mng_kargo::{self, MngKargo};
use waybill_carriers::{BookedRef, BookingRequest, Carrier, CarrierError, PushError, PushRequest, PushTarget};
use waybill_core::parcel::Dimensions;
use waybill_core::{Address, Money, NdrReason, Parcel, TrackingStatus};
use waybill_outbound::Outbound;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/mng_kargo/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const TOKEN: &str = "/mngapi/api/token";
const CREATE_ORDER: &str = "/mngapi/api/standardcmdapi/createOrder";
const CREATE_BARCODE: &str = "/mngapi/api/barcodecmdapi/createbarcode";
const CREATE_RETURN_ORDER: &str = "/mngapi/api/standardcmdapi/createReturnOrder";

// ---------------------------------------------------------------------------------------------
// The fake MNG
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
struct Answer(u16, String);

#[derive(Default)]
struct FakeMng {
    token_fetches: AtomicUsize,
    token_requests: Mutex<Vec<Recorded>>,
    revoked: Mutex<HashSet<String>>,
    /// `(method, path)` → answers in turn; the last one repeats.
    script: Mutex<Vec<(Method, String, VecDeque<Answer>)>>,
    calls: Mutex<Vec<Recorded>>,
}

impl FakeMng {
    fn on(&self, method: Method, path: &str, answers: Vec<Answer>) {
        self.script.lock().unwrap().push((method, path.to_owned(), answers.into()));
    }

    fn calls(&self) -> Vec<Recorded> {
        self.calls.lock().unwrap().clone()
    }
}

async fn token(State(mng): State<Arc<FakeMng>>, headers: HeaderMap, body: Bytes) -> Response {
    let n = mng.token_fetches.fetch_add(1, Ordering::SeqCst) + 1;
    mng.token_requests.lock().unwrap().push(Recorded { method: Method::POST, path: TOKEN.into(), headers, body });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Expiry dates in Turkey time, `dd.MM.yyyy HH:mm:ss`.
    let turkey = FixedOffset::east_opt(3 * 3600).unwrap();
    let at = |hours| (chrono::Utc::now() + chrono::Duration::hours(hours)).with_timezone(&turkey);
    axum::Json(json!({
        "jwt": format!("jwt-{n}"),
        "refreshToken": format!("refresh-{n}"),
        "jwtExpireDate": at(8).format("%d.%m.%Y %H:%M:%S").to_string(),
        "refreshTokenExpireDate": at(24).format("%d.%m.%Y %H:%M:%S").to_string(),
    }))
    .into_response()
}

async fn api(State(mng): State<Arc<FakeMng>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    mng.calls.lock().unwrap().push(Recorded { method: method.clone(), path: path.clone(), headers, body });
    let Some(bearer) = bearer else { return StatusCode::UNAUTHORIZED.into_response() };
    if mng.revoked.lock().unwrap().contains(&bearer) {
        return (StatusCode::UNAUTHORIZED, axum::Json(error_body("401", "Unauthorized", "Token süresi doldu")))
            .into_response();
    }
    let answer = {
        let mut script = mng.script.lock().unwrap();
        let Some((_, _, answers)) = script.iter_mut().find(|(m, p, _)| *m == method && path == *p) else {
            return (StatusCode::NOT_FOUND, format!("no script for {method} {path}")).into_response();
        };
        if answers.len() > 1 { answers.pop_front().unwrap() } else { answers.front().cloned().unwrap() }
    };
    let Answer(status, body) = answer;
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("retry-after", "7")
        .body(Body::from(body))
        .unwrap()
}

fn error_body(code: &str, message: &str, description: &str) -> Value {
    json!({"error": {"code": code, "message": message, "description": description}})
}

fn ok(body: String) -> Answer {
    Answer(200, body)
}

struct Server {
    url: String,
    mng: Arc<FakeMng>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start() -> Server {
    let mng = Arc::new(FakeMng::default());
    let app = Router::new().route(TOKEN, post(token)).fallback(api).with_state(mng.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    Server { url, mng, task }
}

// ---------------------------------------------------------------------------------------------
// Waybill side
// ---------------------------------------------------------------------------------------------

impl TestAccount {
    fn at(base_url: String) -> Self {
        Self::new(
            base_url,
            json!({
                "client_id": "cid",
                "client_secret": "csecret",
                "customer_number": "312947702",
                "password": "Şifre-ğüİı",
            }),
        )
    }

    fn on(server: &Server) -> Self {
        Self::at(server.url.clone())
    }
}

fn mng() -> Arc<dyn Carrier> {
    Arc::new(MngKargo::new(Outbound::default()))
}

fn sender() -> Address {
    Address {
        name: "Acme Mağaza".into(),
        company: None,
        phone: Some("+90 212 555 12 34".into()),
        email: None,
        street1: "Barbaros Bulvarı No:1".into(),
        street2: None,
        city: "Beşiktaş".into(),
        state: Some("İstanbul".into()),
        postal_code: "34353".into(),
        country: "TR".into(),
    }
}

fn recipient() -> Address {
    Address {
        name: "Ayşe Yılmaz".into(),
        company: None,
        phone: Some("0532 123 45 67".into()),
        email: Some("ayse@example.com.tr".into()),
        street1: "Caferağa Mah. Şair Nefi Sok. No:5".into(),
        street2: Some("Daire 3".into()),
        city: "Kadıköy".into(),
        state: Some("İstanbul".into()),
        postal_code: "34710".into(),
        country: "TR".into(),
    }
}

fn booking_request(reference: &str) -> BookingRequest {
    BookingRequest {
        reference: reference.into(),
        service: "standard".into(),
        ship_from: sender(),
        ship_to: recipient(),
        parcels: vec![
            Parcel { weight_g: 1250, dimensions_mm: Some(Dimensions { length: 300, width: 200, height: 250 }) },
            Parcel { weight_g: 2000, dimensions_mm: None },
        ],
        cod: Some(Money::new("249.90".parse::<Decimal>().unwrap(), "TRY".parse().unwrap())),
        simulate: None,
        is_return: false,
    }
}

fn book_script(server: &Server) {
    server.mng.on(Method::POST, CREATE_ORDER, vec![ok(fixture("create_order_synthetic.json"))]);
    server.mng.on(Method::POST, CREATE_BARCODE, vec![ok(fixture("create_barcode_synthetic.json"))]);
}

fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

fn assert_headers(call: &Recorded, jwt: &str) {
    assert_eq!(call.headers["x-ibm-client-id"], "cid", "{} {}", call.method, call.path);
    assert_eq!(call.headers["x-ibm-client-secret"], "csecret", "{} {}", call.method, call.path);
    assert_eq!(call.headers["authorization"], format!("Bearer {jwt}").as_str(), "{} {}", call.method, call.path);
}

// ---------------------------------------------------------------------------------------------
// Token
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_share_one_jwt_fetch_and_every_call_carries_the_headers() {
    let server = start().await;
    server.mng.on(
        Method::GET,
        "/mngapi/api/standardqueryapi/trackshipment/WB-0001",
        vec![ok(fixture("track_synthetic.json"))],
    );
    let carrier = mng();
    let account = Arc::new(TestAccount::on(&server));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (carrier, account) = (carrier.clone(), account.clone());
            tokio::spawn(async move { carrier.track(&account.account(), "WB-0001").await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task").expect("scans").len(), 7);
    }
    assert_eq!(server.mng.token_fetches.load(Ordering::SeqCst), 1);

    let token_request = server.mng.token_requests.lock().unwrap()[0].clone();
    assert_eq!(token_request.headers["x-ibm-client-id"], "cid");
    assert_eq!(token_request.headers["x-ibm-client-secret"], "csecret");
    assert_eq!(token_request.headers["content-type"], "application/json");
    let sent: Value = serde_json::from_slice(&token_request.body).unwrap();
    assert_eq!(sent, json!({"customerNumber": "312947702", "password": "Şifre-ğüİı", "identityType": 1}));
    let calls = server.mng.calls();
    assert_eq!(calls.len(), 20);
    calls.iter().for_each(|c| assert_headers(c, "jwt-1"));
}

#[tokio::test]
async fn a_401_fetches_a_new_jwt_and_retries_once() {
    let server = start().await;
    let path = "/mngapi/api/standardqueryapi/trackshipment/WB-0001";
    server.mng.on(Method::GET, path, vec![ok(fixture("track_synthetic.json"))]);
    let carrier = mng();
    let account = TestAccount::on(&server);
    carrier.track(&account.account(), "WB-0001").await.expect("scans");
    server.mng.revoked.lock().unwrap().insert("jwt-1".into());
    carrier.track(&account.account(), "WB-0001").await.expect("retried with a new JWT");
    assert_eq!(server.mng.token_fetches.load(Ordering::SeqCst), 2);
    let calls = server.mng.calls();
    assert_eq!(calls.len(), 3, "first call, refused call, one retry");
    assert_headers(&calls[2], "jwt-2");

    // Refused again after the retry: an Auth error, not a loop.
    server.mng.revoked.lock().unwrap().extend(["jwt-2".to_owned(), "jwt-3".to_owned()]);
    let err = carrier.track(&account.account(), "WB-0001").await.unwrap_err();
    assert!(matches!(&err, CarrierError::Auth { carrier: "mng_kargo", .. }), "{err:?}");
    assert_eq!(server.mng.calls().len(), 5);
}

// ---------------------------------------------------------------------------------------------
// Book
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn booking_creates_the_order_then_the_barcode_and_returns_the_zpl() {
    let server = start().await;
    book_script(&server);
    let account = TestAccount::on(&server);
    let booking = mng().book(&account.account(), &booking_request("WB-0001")).await.expect("booked");

    assert_eq!(booking.tracking_number, "WB-0001");
    assert_eq!(booking.carrier_shipment_id, "614118757013");
    assert_eq!(booking.service, "standard");
    assert_eq!(booking.documents.len(), 2, "one label per piece");
    for doc in &booking.documents {
        assert_eq!(doc.format, "zpl");
        let zpl = String::from_utf8(doc.bytes.clone()).unwrap();
        assert!(zpl.starts_with("^XA") && zpl.ends_with("^XZ"));
        assert!(zpl.contains("Ayşe Yılmaz, Kadıköy/İstanbul"), "Turkish text kept: {zpl}");
    }

    let calls = server.mng.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!((calls[0].method.clone(), calls[0].path.as_str()), (Method::POST, CREATE_ORDER));
    assert_eq!((calls[1].method.clone(), calls[1].path.as_str()), (Method::POST, CREATE_BARCODE));
    calls.iter().for_each(|c| assert_headers(c, "jwt-1"));
    assert_eq!(calls[0].headers["content-type"], "application/json");

    let sent = calls[0].json();
    let order = &sent["order"];
    assert_eq!(order["referenceId"], "WB-0001");
    assert_eq!(order["barcode"], "WB-0001");
    assert_eq!(order["billOfLandingId"], "WB-0001");
    assert_eq!(order["isCOD"], 1);
    assert_eq!(order["codAmount"], 249.9);
    assert_eq!(order["shipmentServiceType"], 1);
    for key in ["packagingType", "paymentType", "deliveryType", "smsPreference1", "smsPreference2", "smsPreference3"] {
        assert!(order[key].is_number(), "{key}");
    }
    assert!(order["content"].is_string());
    let pieces = sent["orderPieceList"].as_array().expect("pieces");
    assert_eq!(pieces.len(), 2);
    // 30 x 20 x 25 cm = 15000 cm³ → 5 desi; 1.25 kg → 2 kg.
    assert_eq!(pieces[0], json!({"barcode": "WB-0001-1", "desi": 5, "kg": 2, "content": ""}));
    assert_eq!(pieces[1], json!({"barcode": "WB-0001-2", "desi": 2, "kg": 2, "content": ""}));
    let r = &sent["recipient"];
    // Turkish text passes through exactly as given.
    assert_eq!(r["fullName"], "Ayşe Yılmaz");
    assert_eq!(r["cityName"], "İstanbul");
    assert_eq!(r["districtName"], "Kadıköy");
    assert_eq!(r["address"], "Caferağa Mah. Şair Nefi Sok. No:5 Daire 3");
    assert_eq!(r["email"], "ayse@example.com.tr");
    assert_eq!(r["mobilePhoneNumber"], "5321234567");
    assert!(r.get("customerId").is_some() && r.get("refCustomerId").is_some());

    let barcode = calls[1].json();
    assert_eq!(barcode["referenceId"], "WB-0001");
    assert_eq!(barcode["isCOD"], 1);
    assert_eq!(barcode["orderPieceList"], sent["orderPieceList"]);
}

#[tokio::test]
async fn a_failed_createbarcode_still_returns_the_booking() {
    let server = start().await;
    server.mng.on(Method::POST, CREATE_ORDER, vec![ok(fixture("create_order_synthetic.json"))]);
    server.mng.on(
        Method::POST,
        CREATE_BARCODE,
        vec![Answer(500, json!({"error": {"Code": "20001", "Description": "VARIŞ ŞUBESİ BULUNAMADI"}}).to_string())],
    );
    let account = TestAccount::on(&server);
    let booking = mng().book(&account.account(), &booking_request("WB-0002")).await.expect("booking kept");
    assert_eq!(booking.tracking_number, "WB-0002");
    assert_eq!(booking.carrier_shipment_id, "WB-0002");
    assert!(booking.documents.is_empty());
    assert_eq!(server.mng.calls().len(), 2);
}

#[tokio::test]
async fn booking_failures_are_sorted_by_what_the_caller_may_do() {
    let server = start().await;
    server.mng.on(
        Method::POST,
        CREATE_ORDER,
        vec![
            Answer(400, error_body("30012", "Validation Error", "Alıcı telefon numarası geçersiz").to_string()),
            Answer(503, error_body("503", "Service Unavailable", "Servis geçici olarak kullanılamıyor").to_string()),
            ok(fixture("create_order_synthetic.json")[..60].to_owned()),
        ],
    );
    let carrier = mng();
    let account = TestAccount::on(&server);
    let (account, request) = (account.account(), booking_request("WB-0003"));
    let book = || carrier.book(&account, &request);

    match book().await {
        Err(CarrierError::Rejected { carrier: "mng_kargo", code, message, .. }) => {
            assert_eq!(code, "30012");
            assert!(message.contains("Alıcı telefon numarası geçersiz"), "{message}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    match book().await {
        Err(e @ CarrierError::Unavailable { retry_after, .. }) => {
            assert!(e.is_transient());
            assert_eq!(retry_after, Some(Duration::from_secs(7)));
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let garbled = book().await;
    assert!(matches!(garbled, Err(CarrierError::Unknown { carrier: "mng_kargo", .. })), "truncated: {garbled:?}");
    // Nothing after a failed createOrder: no barcode call.
    assert!(server.mng.calls().iter().all(|c| c.path == CREATE_ORDER));
}

/// A raw HTTP/1.1 server: answers the token request, then answers createOrder with headers and
/// half its body and closes the connection.
async fn start_cutting_server() -> String {
    support::start_cutting_server(Some(("/mngapi/api/token", r#"{"jwt":"jwt-raw","refreshToken":"r","jwtExpireDate":"01.01.2099 00:00:00","refreshTokenExpireDate":"01.01.2099 00:00:00"}"#)), fixture("create_order_synthetic.json")).await
}

#[tokio::test]
async fn a_create_order_answer_cut_off_mid_body_is_unknown() {
    let account = TestAccount::at(start_cutting_server().await);
    let cut = mng().book(&account.account(), &booking_request("WB-CUT")).await;
    assert!(
        matches!(&cut, Err(CarrierError::Unknown { carrier: "mng_kargo", message }) if message.contains("cut off")),
        "cut off: {cut:?}"
    );
}

#[tokio::test]
async fn non_turkish_addresses_are_refused_without_a_call() {
    let server = start().await;
    book_script(&server);
    let account = TestAccount::on(&server);
    let mut request = booking_request("WB-0004");
    request.ship_to.country = "DE".into();
    match mng().book(&account.account(), &request).await {
        Err(CarrierError::Rejected { carrier: "mng_kargo", code, field, .. }) => {
            assert_eq!(code, "DOMESTIC_ONLY");
            assert_eq!(field.as_deref(), Some("/ship_to/country"));
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    let mut request = booking_request("WB-0005");
    request.ship_from.country = "GR".into();
    assert!(matches!(mng().book(&account.account(), &request).await, Err(CarrierError::Rejected { .. })));
    assert_eq!(server.mng.token_fetches.load(Ordering::SeqCst), 0);
    assert!(server.mng.calls().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Find, cancel, track
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn find_booking_queries_by_reference() {
    let server = start().await;
    server.mng.on(
        Method::GET,
        "/mngapi/api/standardqueryapi/getshipment/WB-0001",
        vec![ok(fixture("get_shipment_synthetic.json"))],
    );
    let carrier = mng();
    let account = TestAccount::on(&server);
    let found = carrier.find_booking(&account.account(), "WB-0001").await.expect("found").expect("some");
    assert_eq!((found.tracking_number.as_str(), found.carrier_shipment_id.as_str()), ("WB-0001", "614118757013"));
    // Unknown reference: the fake answers 404.
    assert_eq!(carrier.find_booking(&account.account(), "WB-NONE").await.expect("none"), None);
    assert_headers(&server.mng.calls()[0], "jwt-1");
}

#[tokio::test]
async fn cancel_puts_cancelorder_by_reference() {
    let server = start().await;
    let path = "/mngapi/api/standardcmdapi/cancelorder/WB-0001";
    server.mng.on(
        Method::PUT,
        path,
        vec![
            Answer(200, String::new()),
            Answer(400, error_body("40005", "Bad Request", "Gönderi çıkışı yapıldığı için iptal edilemez").to_string()),
        ],
    );
    let carrier = mng();
    let account = TestAccount::on(&server);
    let booked = BookedRef { tracking_number: "WB-0001", carrier_shipment_id: "614118757013" };
    carrier.cancel(&account.account(), &booked).await.expect("cancelled");
    let calls = server.mng.calls();
    assert_eq!((calls[0].method.clone(), calls[0].path.as_str()), (Method::PUT, path));
    assert_headers(&calls[0], "jwt-1");
    match carrier.cancel(&account.account(), &booked).await {
        Err(CarrierError::Rejected { code, message, .. }) => {
            assert_eq!(code, "40005");
            assert!(message.contains("iptal edilemez"));
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn tracking_maps_the_movement_list_in_turkey_time() {
    let server = start().await;
    server.mng.on(
        Method::GET,
        "/mngapi/api/standardqueryapi/trackshipment/WB-0001",
        vec![ok(fixture("track_synthetic.json"))],
    );
    let account = TestAccount::on(&server);
    let scans = mng().track(&account.account(), "WB-0001").await.expect("scans");
    let got: Vec<_> = scans.iter().map(|s| (s.status, s.ndr_reason, s.occurred_at)).collect();
    assert_eq!(
        got,
        [
            (TrackingStatus::PickedUp, None, at("2026-11-18T14:05:00+03:00")),
            (TrackingStatus::InTransit, None, at("2026-11-18T22:40:12+03:00")),
            (TrackingStatus::OutForDelivery, None, at("2026-11-19T08:30:00+03:00")),
            (TrackingStatus::DeliveryFailed, Some(NdrReason::CustomerUnavailable), at("2026-11-19T15:12:44+03:00")),
            (TrackingStatus::DeliveryFailed, Some(NdrReason::AddressIssue), at("2026-11-20T11:00:00+03:00")),
            (TrackingStatus::InTransit, None, at("2026-11-20T13:00:00+03:00")),
            (TrackingStatus::Delivered, None, at("2026-11-21T10:15:00+03:00")),
        ]
    );
    assert!(scans.iter().all(|s| s.occurred_at.offset().local_minus_utc() == 3 * 3600));
    // MNG's words kept unchanged, Turkish letters included.
    assert_eq!(scans[1].location.as_deref(), Some("İstanbul Avrupa Transfer Merkezi"));
    assert_eq!(scans[2].description, "Dağıtıma Çıkarıldı");
    assert_eq!(scans[3].reason_code.as_deref(), Some("Alıcı Adreste Yok"));
    assert_eq!(scans[3].description, "Teslim Edilemedi: Alıcı Adreste Yok");
    assert_eq!(scans[4].reason_code.as_deref(), Some("Adres Yetersiz/Hatalı"));
    assert_eq!(scans[6].description, "TESLİM EDİLDİ");
    assert_eq!(scans[0].event_id.as_deref(), Some("1"));
    // The unknown movement is kept, with its own words, as in_transit.
    assert_eq!(scans[5].code, "Gümrük Kontrolünde");
    assert_eq!(scans[5].raw["eventSequence"], 6);
}

// ---------------------------------------------------------------------------------------------
// Info, credentials, push
// ---------------------------------------------------------------------------------------------

#[test]
fn info_and_credentials_point_at_the_right_fields() {
    let carrier = mng();
    let info = carrier.info();
    assert_eq!((info.slug, info.name), ("mng_kargo", "MNG Kargo"));
    assert!(info.capabilities.cash_on_delivery && !info.capabilities.push && !info.capabilities.rates);
    assert_eq!(info.test_base_url, Some("https://testapi.mngkargo.com.tr"));
    assert_eq!(info.live_base_url, Some("https://api.mngkargo.com.tr"));
    assert_eq!(info.services.iter().map(|s| s.code).collect::<Vec<_>>(), ["standard"]);
    assert_eq!(info.carrier_label_formats, ["zpl"]);

    let good = json!({"client_id": "a", "client_secret": "b", "customer_number": "c", "password": "d"});
    assert!(carrier.check_credentials(&good).is_ok());
    let errors = carrier
        .check_credentials(&json!({"client_id": "a", "client_secret": " ", "password": "d", "api_key": "x"}))
        .unwrap_err();
    let mut pointers: Vec<_> = errors.iter().map(|e| e.pointer.clone()).collect();
    pointers.sort();
    assert_eq!(
        pointers,
        ["/credentials/api_key", "/credentials/client_secret", "/credentials/customer_number"].map(String::from)
    );
}

#[tokio::test]
async fn pushes_are_not_supported_yet() {
    let carrier = mng();
    let account = TestAccount::at("http://127.0.0.1:9".into());
    let target = PushTarget { url: "https://example.com/push".into(), secret: "s".into() };
    carrier.subscribe(&account.account(), "WB-0001", &target).await.expect("no-op");
    let push = PushRequest { headers: &[], body: b"{}" };
    assert!(matches!(carrier.parse_push("s", &push), Err(PushError::Malformed(m)) if m.contains("not supported yet")));
}

// ---------------------------------------------------------------------------------------------
// Returns
// ---------------------------------------------------------------------------------------------

/// A return: the customer sends the parcel back to the merchant, without cash on delivery.
fn return_request(reference: &str) -> BookingRequest {
    let mut request = booking_request(reference);
    request.ship_from = recipient();
    request.ship_to = sender();
    request.parcels.truncate(1);
    request.cod = None;
    request.is_return = true;
    request
}

#[tokio::test]
async fn a_return_books_through_create_return_order_then_the_barcode() {
    let server = start().await;
    server.mng.on(Method::POST, CREATE_RETURN_ORDER, vec![ok(fixture("create_return_order_synthetic.json"))]);
    server.mng.on(Method::POST, CREATE_BARCODE, vec![ok(fixture("create_barcode_synthetic.json"))]);
    let carrier = mng();
    assert!(carrier.info().capabilities.returns);
    let account = TestAccount::on(&server);
    let booking = carrier.book(&account.account(), &return_request("RT-0001")).await.expect("return booked");
    assert_eq!(booking.tracking_number, "RT-0001");
    assert_eq!(booking.carrier_shipment_id, "614118757013");
    assert!(!booking.documents.is_empty() && booking.documents.iter().all(|d| d.format == "zpl"));

    let calls = server.mng.calls();
    let paths: Vec<_> = calls.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, [CREATE_RETURN_ORDER, CREATE_BARCODE], "never createOrder");
    calls.iter().for_each(|c| assert_headers(c, "jwt-1"));
    let sent = calls[0].json();
    let order = &sent["order"];
    assert_eq!(order["referenceId"], "RT-0001");
    assert_eq!(order["barcode"], "RT-0001");
    assert_eq!(order["isCOD"], 0);
    assert_eq!(order["shipmentServiceType"], 1);
    for key in ["packagingType", "paymentType", "deliveryType"] {
        assert!(order[key].is_number(), "{key}");
    }
    assert_eq!(sent["orderPieceList"].as_array().map(Vec::len), Some(1));
    // The customer who sends it back is the shipper; MNG delivers to the account itself.
    let shipper = &sent["shipper"];
    assert_eq!(shipper["fullName"], "Ayşe Yılmaz");
    assert_eq!(shipper["cityName"], "İstanbul");
    assert_eq!(shipper["districtName"], "Kadıköy");
    assert_eq!(shipper["mobilePhoneNumber"], "5321234567");
    assert!(sent.get("recipient").is_none());
    assert_eq!(calls[1].json()["referenceId"], "RT-0001");
}

#[tokio::test]
async fn return_refusals_keep_mng_code_and_message_even_with_http_200() {
    let server = start().await;
    server.mng.on(
        Method::POST,
        CREATE_RETURN_ORDER,
        vec![
            ok(error_body("30042", "İADE SİPARİŞİ OLUŞTURULAMADI", "referenceId daha önce kullanılmış").to_string()),
            Answer(400, error_body("10011", "GEÇERSİZ İSTEK", "shipper.cityName boş olamaz").to_string()),
            ok("[{\"orderInvoiceId\": ".into()),
        ],
    );
    let carrier = mng();
    let account = TestAccount::on(&server);
    let refused = carrier.book(&account.account(), &return_request("RT-0002")).await;
    assert!(
        matches!(&refused, Err(CarrierError::Rejected { code, message, .. })
            if code == "30042" && message == "İADE SİPARİŞİ OLUŞTURULAMADI: referenceId daha önce kullanılmış"),
        "{refused:?}"
    );
    let refused = carrier.book(&account.account(), &return_request("RT-0002")).await;
    assert!(
        matches!(&refused, Err(CarrierError::Rejected { code, message, .. })
            if code == "10011" && message.contains("shipper.cityName")),
        "{refused:?}"
    );
    let garbled = carrier.book(&account.account(), &return_request("RT-0002")).await;
    assert!(matches!(garbled, Err(CarrierError::Unknown { carrier: "mng_kargo", .. })), "{garbled:?}");
    assert!(server.mng.calls().iter().all(|c| c.path == CREATE_RETURN_ORDER), "no barcode after a failed return");
}

#[tokio::test]
async fn an_error_sent_with_http_200_on_create_order_or_cancel_is_a_refusal() {
    let server = start().await;
    server.mng.on(
        Method::POST,
        CREATE_ORDER,
        vec![ok(error_body("20002", "SİPARİŞ HATASI", "alıcı eksik").to_string())],
    );
    server.mng.on(
        Method::PUT,
        "/mngapi/api/standardcmdapi/cancelorder/WB-0009",
        vec![ok(json!({"error": {"Code": "40001", "Message": "GÖNDERİ ÇIKIŞ YAPMIŞ"}}).to_string())],
    );
    let carrier = mng();
    let account = TestAccount::on(&server);
    let refused = carrier.book(&account.account(), &booking_request("WB-0009")).await;
    assert!(matches!(&refused, Err(CarrierError::Rejected { code, .. }) if code == "20002"), "{refused:?}");
    let booked = BookedRef { tracking_number: "WB-0009", carrier_shipment_id: "WB-0009" };
    let refused = carrier.cancel(&account.account(), &booked).await;
    assert!(
        matches!(&refused, Err(CarrierError::Rejected { code, message, .. }) if code == "40001" && message == "GÖNDERİ ÇIKIŞ YAPMIŞ"),
        "{refused:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Answer parsers never panic
// ---------------------------------------------------------------------------------------------

fn parse_everything(body: &[u8]) {
    let _ = mng_kargo::parse_token_answer(body);
    let _ = mng_kargo::parse_create_answer(body, "WB-0001");
    let _ = mng_kargo::parse_return_answer(body, "RT-0001");
    let _ = mng_kargo::parse_barcode_answer(body);
    let _ = mng_kargo::parse_cancel_answer(body);
    let _ = mng_kargo::parse_track_answer(body);
    let _ = mng_kargo::parse_find_answer(body, "WB-0001");
}

const ANSWER_FIXTURES: &[&str] = &[
    "create_order_synthetic.json",
    "create_return_order_synthetic.json",
    "create_barcode_synthetic.json",
    "get_shipment_synthetic.json",
    "track_synthetic.json",
];

#[test]
fn the_parsers_read_their_fixtures_and_refuse_garble() {
    let (shipment_id, labels) =
        mng_kargo::parse_barcode_answer(fixture("create_barcode_synthetic.json").as_bytes()).expect("labels");
    assert_eq!((shipment_id.as_deref(), labels.len()), (Some("614118757013"), 2));
    mng_kargo::parse_return_answer(fixture("create_return_order_synthetic.json").as_bytes(), "RT-0001").expect("read");
    let token =
        mng_kargo::parse_token_answer(br#"{"jwt": "j", "jwtExpireDate": "21.11.2026 10:15:00"}"#).expect("read");
    assert_eq!(token.expires_at, Some(at("2026-11-21T10:15:00+03:00")));
    for garbled in [&b"<html>"[..], b"", b"{\"jwt\": 5}"] {
        let read = mng_kargo::parse_token_answer(garbled);
        assert!(matches!(read, Err(CarrierError::Protocol { carrier: "mng_kargo", .. })), "{read:?}");
    }
    mng_kargo::parse_cancel_answer(b"").expect("an empty cancel answer is a confirmation");
}

#[test]
fn answer_parsers_never_panic() {
    answers::never_panic(
        &ANSWER_FIXTURES.iter().map(|f| fixture(f).into_bytes()).collect::<Vec<_>>(),
        parse_everything,
    );
}
