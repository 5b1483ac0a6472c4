//! The `yurtici_kargo` adapter over real HTTP against a local axum server that plays Yurtiçi
//! Kargo's `ShippingOrderDispatcherServices` SOAP service.
//!
//! The server parses every SOAP request it gets (operation = the Body's first element, fields by
//! local name), records it, and answers from a per-operation script.
//!
//! Fixtures (tests/fixtures/yurtici_kargo/), all SYNTHETIC, written by us on the answer shapes the
//! public WSDL-based clients read (`MeryemAkar/Yurt-i-Kargo` @ 84246df9 `orderShipment.php`,
//! `cancelShipment.php`, `queryShipment.php`: `ShippingOrderResultVO{outFlag, outResult, count,
//! jobId, shippingOrderDetailVO|shippingCancelDetailVO{cargoKey, errCode, errMessage, …}}`,
//! `ShippingDeliveryVO{…, shippingDeliveryDetailVO{…, shippingDeliveryItemDetailVO{docId,
//! invDocCargoVOArray{unitId, unitName, eventId, eventName, reasonId, reasonName, eventDate,
//! eventTime, cityName, townName}}}}`); error codes 80859, 60020 and 82516 and their texts are from
//! a public Python client's table of Yurtiçi codes. Event ids/names, unit names, reason id `12`,
//! cancel error `82547` and its text, docIds and the SOAP Fault texts are illustrative.
//! - `create_success_synthetic.xml`, `create_refused_synthetic.xml` (82516), `create_exists_synthetic.xml` (60020)
//! - `fault_client_synthetic.xml`, `fault_server_synthetic.xml` (SOAP 1.1 Faults)
//! - `cancel_ok_synthetic.xml`, `cancel_refused_synthetic.xml`
//! - `query_history_synthetic.xml` (a failed attempt "ALICI ADRESTE YOK", an unknown event),
//!   `query_nop_synthetic.xml` (known, not processed), `query_not_found_synthetic.xml` (80859)

mod account;

use std::sync::{Arc, Mutex};

use account::TestAccount;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use chrono::{DateTime, FixedOffset};
use proptest::prelude::*;
use serde_json::json;
use waybill_carriers::yurtici_kargo::{
    CARGO_KEY_MAX, Node, SoapFault, YurticiKargo, cargo_key, parse_cancel_answer, parse_create_answer,
    parse_fault_answer, parse_query_answer, parse_xml, soap_fault,
};
use waybill_carriers::{
    BookedRef, BookingRequest, Carrier, CarrierError, PushError, PushRequest, PushTarget, RateRequest,
};
use waybill_core::parcel::Dimensions;
use waybill_core::{Address, Money, NdrReason, Parcel, TrackingStatus};
use waybill_outbound::Outbound;

const PATH: &str = "/KOPSWebServices/ShippingOrderDispatcherServices";

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/yurtici_kargo/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The fake Yurtiçi
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Recorded {
    path: String,
    headers: HeaderMap,
    raw: String,
    operation: String,
    call: Node,
}

impl Recorded {
    fn field(&self, name: &str) -> String {
        self.call.text_of(name)
    }

    fn order(&self) -> &Node {
        self.call.child("ShippingOrderVO").expect("a ShippingOrderVO")
    }
}

type Script = Vec<(String, Vec<(u16, String)>)>;

#[derive(Default)]
struct Yk {
    /// operation → answers in turn; the last one repeats.
    script: Mutex<Script>,
    calls: Mutex<Vec<Recorded>>,
}

impl Yk {
    fn on(&self, operation: &str, answers: Vec<(u16, String)>) {
        self.script.lock().unwrap().push((operation.to_owned(), answers));
    }

    fn calls(&self) -> Vec<Recorded> {
        self.calls.lock().unwrap().clone()
    }
}

async fn api(State(yk): State<Arc<Yk>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let raw = String::from_utf8(body.to_vec()).expect("the request is UTF-8");
    let envelope = parse_xml(&raw).expect("the request is well-formed XML");
    assert_eq!(envelope.name, "Envelope");
    let call = envelope.child("Body").and_then(|b| b.children.first()).cloned().expect("an operation");
    let operation = call.name.clone();
    yk.calls.lock().unwrap().push(Recorded {
        path: uri.path().to_owned(),
        headers,
        raw,
        operation: operation.clone(),
        call,
    });
    let (status, body) = {
        let mut script = yk.script.lock().unwrap();
        match script.iter_mut().find(|(op, _)| *op == operation) {
            Some((_, answers)) if answers.len() > 1 => answers.remove(0),
            Some((_, answers)) => answers[0].clone(),
            None => (500, fixture("fault_server_synthetic.xml")),
        }
    };
    Response::builder()
        .status(status)
        .header("content-type", "text/xml; charset=utf-8")
        .header("retry-after", "7")
        .body(Body::from(body))
        .unwrap()
}

struct Server {
    url: String,
    yk: Arc<Yk>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start() -> Server {
    let yk = Arc::new(Yk::default());
    let app = Router::new().fallback(api).with_state(yk.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    Server { url, yk, task }
}

/// A raw HTTP/1.1 server that answers every request with headers and half its body, then closes.
async fn start_cutting_server(body: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{}",
                    body.len(),
                    &body[..body.len() / 2]
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

// ---------------------------------------------------------------------------------------------
// Waybill side
// ---------------------------------------------------------------------------------------------

impl TestAccount {
    fn at(url: &str) -> Self {
        Self::new(url.to_owned(), json!({"username": "YKTEST", "password": "p&ss<1>"}))
    }
}

fn yurtici() -> YurticiKargo {
    YurticiKargo::new(Outbound::default())
}

fn address(name: &str, district: &str, province: &str) -> Address {
    Address {
        name: name.into(),
        company: None,
        phone: Some("+90 532 123 45 67".into()),
        email: None,
        street1: "Bağdat Cad. No:5 D:3".into(),
        street2: Some("Kat 2".into()),
        city: district.into(),
        state: Some(province.into()),
        postal_code: "06690".into(),
        country: "TR".into(),
    }
}

fn booking_request(reference: &str) -> BookingRequest {
    BookingRequest {
        reference: reference.into(),
        service: "standard".into(),
        ship_from: address("Acme Mağaza", "Beşiktaş", "İstanbul"),
        ship_to: address("Şükrü & Sons <Ltd>", "Çankaya", "Ankara"),
        parcels: vec![
            Parcel { weight_g: 1250, dimensions_mm: Some(Dimensions { length: 300, width: 200, height: 100 }) },
            Parcel { weight_g: 750, dimensions_mm: None },
        ],
        cod: None,
        simulate: None,
        is_return: false,
    }
}

fn try_money(amount: &str) -> Money {
    Money::new(amount.parse().unwrap(), "TRY".parse().unwrap())
}

fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

fn rejected<T: std::fmt::Debug>(result: Result<T, CarrierError>) -> (String, String, Option<String>) {
    match result {
        Err(CarrierError::Rejected { carrier: "yurtici_kargo", code, message, field }) => (code, message, field),
        other => panic!("expected Rejected, got {other:?}"),
    }
}

const BOOKED: BookedRef<'static> = BookedRef { tracking_number: "shp_01REF", carrier_shipment_id: "shp_01REF" };

// ---------------------------------------------------------------------------------------------
// Info and credentials
// ---------------------------------------------------------------------------------------------

#[test]
fn info_and_credentials() {
    let carrier = yurtici();
    let info = carrier.info();
    assert_eq!(info.slug, "yurtici_kargo");
    assert_eq!(info.name, "Yurtiçi Kargo");
    assert!(!info.capabilities.rates && !info.capabilities.push);
    assert!(info.capabilities.cash_on_delivery && info.capabilities.find_booking && info.capabilities.cancel);
    assert!(info.carrier_label_formats.is_empty());
    assert!(carrier.check_credentials(&json!({"username": "u", "password": "p"})).is_ok());
    let errors = carrier.check_credentials(&json!({"username": "", "api_key": "x"})).unwrap_err();
    let mut pointers: Vec<_> = errors.iter().map(|e| e.pointer.clone()).collect();
    pointers.sort();
    assert_eq!(pointers, ["/credentials/api_key", "/credentials/password", "/credentials/username"]);
}

// ---------------------------------------------------------------------------------------------
// Book
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_booking_sends_the_order_escaped_and_reads_the_cargo_key() {
    let server = start().await;
    server.yk.on("createShipment", vec![(200, fixture("create_success_synthetic.xml"))]);
    let account = TestAccount::at(&server.url);
    let booking = yurtici().book(&account.account(), &booking_request("shp_01REF")).await.expect("booked");
    assert_eq!(booking.tracking_number, "shp_01REF");
    assert_eq!(booking.carrier_shipment_id, "shp_01REF");
    assert_eq!(booking.service, "standard");
    assert!(booking.documents.is_empty());
    assert!(booking.routing.is_none());

    let calls = server.yk.calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.path, PATH);
    assert_eq!(call.operation, "createShipment");
    assert!(call.headers["content-type"].to_str().unwrap().starts_with("text/xml"));
    assert!(call.raw.contains("http://yurticikargo.com.tr/ShippingOrderDispatcherServices"));
    assert_eq!(call.field("wsUserName"), "YKTEST");
    assert_eq!(call.field("wsPassword"), "p&ss<1>");
    assert_eq!(call.field("userLanguage"), "TR");
    let o = call.order();
    assert_eq!(o.text_of("cargoKey"), "shp_01REF");
    assert_eq!(o.text_of("invoiceKey"), "shp_01REF");
    assert_eq!(o.text_of("receiverCustName"), "Şükrü & Sons <Ltd>");
    assert_eq!(o.text_of("receiverAddress"), "Bağdat Cad. No:5 D:3 Kat 2");
    assert_eq!(o.text_of("receiverPhone1"), "905321234567");
    assert_eq!(o.text_of("cityName"), "Ankara");
    assert_eq!(o.text_of("townName"), "Çankaya");
    assert_eq!(o.text_of("cargoCount"), "2");
    assert_eq!(o.text_of("kg"), "2");
    assert_eq!(o.text_of("desi"), "2");
    assert!(o.child("ttInvoiceAmount").is_none() && o.child("ttDocumentId").is_none());
    // Escaped on the wire, Turkish letters unchanged.
    assert!(call.raw.contains("<receiverCustName>Şükrü &amp; Sons &lt;Ltd&gt;</receiverCustName>"));
    assert!(call.raw.contains("<wsPassword>p&amp;ss&lt;1&gt;</wsPassword>"));
}

#[tokio::test]
async fn a_cod_booking_sends_the_collection_fields() {
    let server = start().await;
    server.yk.on("createShipment", vec![(200, fixture("create_success_synthetic.xml"))]);
    let mut request = booking_request("shp_01REF");
    request.cod = Some(try_money("1249.90"));
    yurtici().book(&TestAccount::at(&server.url).account(), &request).await.expect("booked");
    let call = &server.yk.calls()[0];
    let o = call.order();
    assert_eq!(o.text_of("ttInvoiceAmount"), "1249.90");
    assert_eq!(o.text_of("ttDocumentId"), "shp_01REF");
    assert_eq!(o.text_of("ttCollectionType"), "0");
}

#[tokio::test]
async fn a_cod_in_another_currency_is_refused_without_a_call() {
    let server = start().await;
    let mut request = booking_request("shp_01REF");
    request.cod = Some(Money::new("10".parse().unwrap(), "EUR".parse().unwrap()));
    let (code, _, field) = rejected(yurtici().book(&TestAccount::at(&server.url).account(), &request).await);
    assert_eq!((code.as_str(), field.as_deref()), ("COD_CURRENCY", Some("/cod")));
    assert!(server.yk.calls().is_empty());
}

#[tokio::test]
async fn a_non_turkish_address_is_refused_without_a_call() {
    let server = start().await;
    let mut request = booking_request("shp_01REF");
    request.ship_to.country = "DE".into();
    let (code, _, field) = rejected(yurtici().book(&TestAccount::at(&server.url).account(), &request).await);
    assert_eq!((code.as_str(), field.as_deref()), ("DOMESTIC_ONLY", Some("/ship_to/country")));
    let mut request = booking_request("shp_01REF");
    request.ship_from.country = "GR".into();
    let (code, _, field) = rejected(yurtici().book(&TestAccount::at(&server.url).account(), &request).await);
    assert_eq!((code.as_str(), field.as_deref()), ("DOMESTIC_ONLY", Some("/ship_from/country")));
    assert!(server.yk.calls().is_empty());
}

#[tokio::test]
async fn a_refusal_at_http_200_keeps_yurticis_code_and_messages() {
    let server = start().await;
    server.yk.on("createShipment", vec![(200, fixture("create_refused_synthetic.xml"))]);
    let (code, message, _) =
        rejected(yurtici().book(&TestAccount::at(&server.url).account(), &booking_request("shp_01REF")).await);
    assert_eq!(code, "82516");
    assert!(message.contains("Hata oluştu") && message.contains("Hatalı telefon bilgisi"), "{message}");
}

#[tokio::test]
async fn an_existing_cargo_key_is_an_unknown_outcome_to_reconcile() {
    let server = start().await;
    server.yk.on("createShipment", vec![(200, fixture("create_exists_synthetic.xml"))]);
    let result = yurtici().book(&TestAccount::at(&server.url).account(), &booking_request("shp_01REF")).await;
    assert!(matches!(result, Err(CarrierError::Unknown { .. })), "{result:?}");
}

#[tokio::test]
async fn soap_faults_client_is_rejected_server_is_unknown_for_booking_and_unavailable_for_queries() {
    let server = start().await;
    server.yk.on(
        "createShipment",
        vec![(500, fixture("fault_client_synthetic.xml")), (500, fixture("fault_server_synthetic.xml"))],
    );
    server.yk.on("queryShipment", vec![(500, fixture("fault_server_synthetic.xml"))]);
    let account = TestAccount::at(&server.url);
    let (code, message, _) = rejected(yurtici().book(&account.account(), &booking_request("shp_01REF")).await);
    assert_eq!(code, "Client");
    assert!(message.contains("Unmarshalling Error"));
    let result = yurtici().book(&account.account(), &booking_request("shp_01REF")).await;
    assert!(matches!(result, Err(CarrierError::Unknown { .. })), "{result:?}");
    match yurtici().track(&account.account(), "shp_01REF").await {
        Err(CarrierError::Unavailable { retry_after, message, .. }) => {
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(7)));
            assert!(message.contains("Server"));
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn http_statuses_are_sorted() {
    let server = start().await;
    server.yk.on("createShipment", vec![(503, "Service Unavailable".into()), (401, "no".into())]);
    let account = TestAccount::at(&server.url);
    match yurtici().book(&account.account(), &booking_request("shp_01REF")).await {
        Err(CarrierError::Unavailable { retry_after, .. }) => {
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(7)))
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let result = yurtici().book(&account.account(), &booking_request("shp_01REF")).await;
    assert!(matches!(result, Err(CarrierError::Auth { .. })), "{result:?}");
}

#[tokio::test]
async fn a_cut_off_booking_answer_is_unknown() {
    let url = start_cutting_server(fixture("create_success_synthetic.xml")).await;
    let result = yurtici().book(&TestAccount::at(&url).account(), &booking_request("shp_01REF")).await;
    assert!(matches!(result, Err(CarrierError::Unknown { .. })), "{result:?}");
}

#[tokio::test]
async fn an_unreadable_booking_answer_is_unknown() {
    let server = start().await;
    server.yk.on("createShipment", vec![(200, "<html><body>gateway".into())]);
    let result = yurtici().book(&TestAccount::at(&server.url).account(), &booking_request("shp_01REF")).await;
    assert!(matches!(result, Err(CarrierError::Unknown { .. })), "{result:?}");
}

// ---------------------------------------------------------------------------------------------
// Cancel, find, rates, pushes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn cancel_sends_the_cargo_key_and_reads_refusals() {
    let server = start().await;
    server.yk.on(
        "cancelShipment",
        vec![(200, fixture("cancel_ok_synthetic.xml")), (200, fixture("cancel_refused_synthetic.xml"))],
    );
    let account = TestAccount::at(&server.url);
    yurtici().cancel(&account.account(), &BOOKED).await.expect("cancelled");
    let call = &server.yk.calls()[0];
    assert_eq!(call.operation, "cancelShipment");
    assert_eq!(call.field("cargoKeys"), "shp_01REF");
    assert_eq!(call.field("wsUserName"), "YKTEST");
    let (code, message, _) = rejected(yurtici().cancel(&account.account(), &BOOKED).await);
    assert_eq!(code, "82547");
    assert!(message.contains("iptal edilemez"), "{message}");
}

#[tokio::test]
async fn find_booking_queries_by_cargo_key() {
    let server = start().await;
    server.yk.on(
        "queryShipment",
        vec![(200, fixture("query_nop_synthetic.xml")), (200, fixture("query_not_found_synthetic.xml"))],
    );
    let account = TestAccount::at(&server.url);
    let found = yurtici().find_booking(&account.account(), "shp_01REF").await.expect("answered").expect("found");
    assert_eq!(found.tracking_number, "shp_01REF");
    assert_eq!(found.carrier_shipment_id, "shp_01REF");
    let call = &server.yk.calls()[0];
    assert_eq!(call.operation, "queryShipment");
    assert_eq!(call.field("keys"), "shp_01REF");
    assert_eq!(call.field("keyType"), "0");
    assert_eq!(call.field("onlyTracking"), "false");
    assert_eq!(yurtici().find_booking(&account.account(), "shp_NOPE").await.expect("answered"), None);
}

#[tokio::test]
async fn rates_are_unsupported_and_pushes_are_not_read() {
    let carrier = yurtici();
    let account = TestAccount::at("http://127.0.0.1:9");
    let request = RateRequest {
        ship_from: address("A", "Beşiktaş", "İstanbul"),
        ship_to: address("B", "Çankaya", "Ankara"),
        parcels: vec![Parcel { weight_g: 100, dimensions_mm: None }],
    };
    let (code, _, _) = rejected(carrier.rate(&account.account(), &request).await);
    assert_eq!(code, "UNSUPPORTED");
    let target = PushTarget { url: "https://example.test/push".into(), secret: "s".into() };
    carrier.subscribe(&account.account(), "shp_01REF", &target).await.expect("no-op");
    let push = PushRequest { headers: &[], body: b"<x/>" };
    assert!(matches!(carrier.parse_push("s", &push), Err(PushError::Malformed(m)) if m.contains("not supported yet")));
}

// ---------------------------------------------------------------------------------------------
// Track
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn tracking_maps_the_history_with_turkey_times() {
    let server = start().await;
    server.yk.on("queryShipment", vec![(200, fixture("query_history_synthetic.xml"))]);
    let scans = yurtici().track(&TestAccount::at(&server.url).account(), "shp_01REF").await.expect("tracked");
    let call = &server.yk.calls()[0];
    assert_eq!(call.field("addHistoricalData"), "true");
    assert_eq!(call.field("keyType"), "0");

    let statuses: Vec<_> = scans.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [
            TrackingStatus::PickedUp,
            TrackingStatus::InTransit,
            TrackingStatus::InTransit, // unknown event, kept
            TrackingStatus::OutForDelivery,
            TrackingStatus::DeliveryFailed,
            TrackingStatus::Delivered,
        ]
    );
    assert_eq!(scans[0].occurred_at, at("2024-03-04T10:15:00+03:00"));
    assert_eq!(scans[0].occurred_at.offset().local_minus_utc(), 3 * 3600);
    assert_eq!(scans[0].location.as_deref(), Some("BEŞİKTAŞ ŞUBE, BEŞİKTAŞ, İSTANBUL"));
    assert_eq!(scans[2].code, "XQZ");
    assert_eq!(scans[2].description, "Özel İşlem Yapıldı");
    let failed = &scans[4];
    assert_eq!(failed.ndr_reason, Some(NdrReason::CustomerUnavailable));
    assert_eq!(failed.reason_code.as_deref(), Some("12"));
    assert_eq!(failed.occurred_at, at("2024-03-05T14:20:00+03:00"));
    assert!(failed.description.contains("ALICI ADRESTE YOK"));
    assert_eq!(scans[5].occurred_at, at("2024-03-06T11:10:05+03:00"));
    assert_eq!(scans[5].raw["docId"], "102345678901");
    assert_eq!(scans[5].raw["eventName"], "Teslim Edildi");
    assert_eq!(scans[5].raw["operationStatus"], "DLV");
}

#[tokio::test]
async fn tracking_an_unknown_cargo_key_is_not_found_and_an_unprocessed_one_has_no_scans() {
    let server = start().await;
    server.yk.on(
        "queryShipment",
        vec![(200, fixture("query_not_found_synthetic.xml")), (200, fixture("query_nop_synthetic.xml"))],
    );
    let account = TestAccount::at(&server.url);
    let result = yurtici().track(&account.account(), "shp_NOPE").await;
    assert!(matches!(result, Err(CarrierError::NotFound { .. })), "{result:?}");
    assert_eq!(yurtici().track(&account.account(), "shp_01REF").await.expect("tracked"), vec![]);
}

// ---------------------------------------------------------------------------------------------
// Cargo keys
// ---------------------------------------------------------------------------------------------

/// A shipment id as Waybill makes them: `shp_` + a lower-case ULID, 30 characters.
const SHIPMENT_ID: &str = "shp_01hq3k5v8xw2c9m4n7p0r6t1ya";

#[test]
fn a_shipment_id_is_too_long_for_a_cargo_key_and_gets_a_stable_short_one() {
    assert_eq!(SHIPMENT_ID.len(), 30);
    let key = cargo_key(SHIPMENT_ID);
    assert_eq!(key.len(), CARGO_KEY_MAX);
    assert!(key.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()), "{key}");
    assert_eq!(cargo_key(SHIPMENT_ID), key, "the same reference gives the same key");
    assert_eq!(cargo_key(&key), key, "a key is its own key");
    // Ids made in the same millisecond differ only at the end; their keys differ too.
    assert_ne!(cargo_key("shp_01hq3k5v8xw2c9m4n7p0r6t1yb"), key);
    assert_eq!(cargo_key("shp_01REF"), "shp_01REF", "a reference that fits is sent as it is");
    assert_eq!(cargo_key("ABCDEFGHIJ0123456789"), "ABCDEFGHIJ0123456789");
    assert_eq!(cargo_key("ABCDEFGHIJ01234567890").len(), CARGO_KEY_MAX);
    assert_ne!(cargo_key("sipariş 1"), "sipariş 1", "only ASCII letters, digits, _ and - pass as they are");
}

#[tokio::test]
async fn a_long_reference_is_booked_found_tracked_and_cancelled_by_its_short_key() {
    let server = start().await;
    server.yk.on("createShipment", vec![(200, fixture("create_success_synthetic.xml"))]);
    server.yk.on("queryShipment", vec![(200, fixture("query_nop_synthetic.xml"))]);
    server.yk.on("cancelShipment", vec![(200, fixture("cancel_ok_synthetic.xml"))]);
    let account = TestAccount::at(&server.url);
    let key = cargo_key(SHIPMENT_ID);
    let mut request = booking_request(SHIPMENT_ID);
    request.cod = Some(try_money("100"));
    let booking = yurtici().book(&account.account(), &request).await.expect("booked");
    assert_eq!((booking.tracking_number.as_str(), booking.carrier_shipment_id.as_str()), (key.as_str(), key.as_str()));
    let found = yurtici().find_booking(&account.account(), SHIPMENT_ID).await.expect("answered").expect("found");
    assert_eq!(found, booking);
    yurtici().track(&account.account(), &booking.tracking_number).await.expect("tracked");
    let booked = BookedRef { tracking_number: &key, carrier_shipment_id: &key };
    yurtici().cancel(&account.account(), &booked).await.expect("cancelled");

    let calls = server.yk.calls();
    let ops: Vec<_> = calls.iter().map(|c| c.operation.as_str()).collect();
    assert_eq!(ops, ["createShipment", "queryShipment", "queryShipment", "cancelShipment"]);
    let order = calls[0].order();
    assert_eq!(order.text_of("cargoKey"), key);
    assert_eq!(order.text_of("invoiceKey"), key);
    assert_eq!(order.text_of("ttDocumentId"), key);
    assert!(order.text_of("description").contains(SHIPMENT_ID), "the full id stays readable for the branch");
    assert_eq!(calls[1].field("keys"), key);
    assert_eq!(calls[2].field("keys"), key);
    assert_eq!(calls[3].field("cargoKeys"), key);
}

// ---------------------------------------------------------------------------------------------
// The answer parsers, pure
// ---------------------------------------------------------------------------------------------

#[test]
fn the_parsers_read_the_fixtures() {
    let bytes = |name: &str| fixture(name).into_bytes();
    assert_eq!(parse_create_answer(&bytes("create_success_synthetic.xml"), "shp_01REF"), Ok(()));
    let (code, _, _) = rejected(parse_create_answer(&bytes("create_refused_synthetic.xml"), "shp_01REF"));
    assert_eq!(code, "82516");
    let exists = parse_create_answer(&bytes("create_exists_synthetic.xml"), "shp_01REF");
    assert!(matches!(exists, Err(CarrierError::Unknown { .. })), "{exists:?}");
    let fault = parse_create_answer(&bytes("fault_server_synthetic.xml"), "shp_01REF");
    assert!(matches!(fault, Err(CarrierError::Unknown { .. })), "{fault:?}");
    let (code, _, _) = rejected(parse_create_answer(&bytes("fault_client_synthetic.xml"), "shp_01REF"));
    assert_eq!(code, "Client");

    assert_eq!(parse_cancel_answer(&bytes("cancel_ok_synthetic.xml"), "shp_01REF"), Ok(()));
    let (code, _, _) = rejected(parse_cancel_answer(&bytes("cancel_refused_synthetic.xml"), "shp_01REF"));
    assert_eq!(code, "82547");

    let scans = parse_query_answer(&bytes("query_history_synthetic.xml"), "shp_01REF").unwrap().expect("known");
    assert_eq!(scans.len(), 6);
    assert_eq!(parse_query_answer(&bytes("query_nop_synthetic.xml"), "shp_01REF"), Ok(Some(vec![])));
    assert_eq!(parse_query_answer(&bytes("query_not_found_synthetic.xml"), "shp_NOPE"), Ok(None));
    let fault = parse_query_answer(&bytes("fault_server_synthetic.xml"), "shp_01REF");
    assert!(matches!(fault, Err(CarrierError::Unavailable { .. })), "{fault:?}");

    let fault = parse_fault_answer(&bytes("fault_client_synthetic.xml")).unwrap().expect("a fault");
    assert_eq!(fault.code, "Client");
    assert!(fault.message.contains("Unmarshalling Error"));
    assert_eq!(parse_fault_answer(&bytes("cancel_ok_synthetic.xml")), Ok(None));

    for garbage in [&b"<html><body>gateway"[..], b"\xff\xfe<a/>", b"", b"<a><b></a>"] {
        for result in [
            parse_create_answer(garbage, "k").map(|_| ()),
            parse_cancel_answer(garbage, "k"),
            parse_query_answer(garbage, "k").map(|_| ()),
            parse_fault_answer(garbage).map(|_| ()),
        ] {
            assert!(matches!(result, Err(CarrierError::Protocol { .. })), "{garbage:?}: {result:?}");
        }
    }
    // Well-formed XML that is not the answer asked for.
    let other = bytes("query_nop_synthetic.xml");
    assert!(matches!(parse_create_answer(&other, "k"), Err(CarrierError::Protocol { .. })));
    assert!(matches!(parse_cancel_answer(&other, "k"), Err(CarrierError::Protocol { .. })));
    assert!(matches!(parse_query_answer(&bytes("cancel_ok_synthetic.xml"), "k"), Err(CarrierError::Protocol { .. })));
}

// ---------------------------------------------------------------------------------------------
// The answer reader never panics
// ---------------------------------------------------------------------------------------------

const ANSWER_FIXTURES: &[&str] = &[
    "create_success_synthetic.xml",
    "create_refused_synthetic.xml",
    "create_exists_synthetic.xml",
    "fault_client_synthetic.xml",
    "fault_server_synthetic.xml",
    "cancel_ok_synthetic.xml",
    "cancel_refused_synthetic.xml",
    "query_history_synthetic.xml",
    "query_nop_synthetic.xml",
    "query_not_found_synthetic.xml",
];

/// Every parser on `body`: each answers `Ok` or a typed error; none panics. Unreadable answers are
/// `Protocol`, never a refusal.
fn every_parser_answers(body: &[u8]) {
    let readable = std::str::from_utf8(body).ok().and_then(parse_xml).is_some();
    let results = [
        parse_create_answer(body, "shp_01REF").map(|_| ()),
        parse_cancel_answer(body, "shp_01REF"),
        parse_query_answer(body, "shp_01REF").map(|_| ()),
        parse_fault_answer(body).map(|_| ()),
    ];
    for result in results {
        if !readable {
            assert!(matches!(result, Err(CarrierError::Protocol { .. })), "{result:?}");
        }
    }
}

proptest! {
    #[test]
    fn the_parsers_never_panic_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        every_parser_answers(&body);
    }

    #[test]
    fn the_parsers_never_panic_on_arbitrary_text(input in ".*") {
        every_parser_answers(input.as_bytes());
    }

    #[test]
    fn the_parsers_never_panic_on_mangled_answers(
        which in 0..ANSWER_FIXTURES.len(),
        cut in 0usize..2000,
        drop in 0usize..64,
        junk in "[<>&;#a-zA-Z0-9:/ =\"'İış]{0,40}",
    ) {
        let answer = fixture(ANSWER_FIXTURES[which]).into_bytes();
        let cut = cut.min(answer.len());
        let rest = (cut + drop).min(answer.len());
        let mangled = [&answer[..cut], junk.as_bytes(), &answer[rest..]].concat();
        every_parser_answers(&mangled);
    }

    #[test]
    fn a_fault_is_read_whatever_it_says(code in "[a-zA-Z:]{0,20}", text in "[^<&]{0,60}") {
        let body = format!(
            "<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body><s:Fault>\
             <faultcode>{code}</faultcode><faultstring>{text}</faultstring></s:Fault></s:Body></s:Envelope>"
        );
        let fault: SoapFault = parse_fault_answer(body.as_bytes()).unwrap().expect("a fault");
        prop_assert!(!fault.code.is_empty() && !fault.code.contains(':'));
        prop_assert_eq!(fault.message, text.trim());
        let created = parse_create_answer(body.as_bytes(), "k");
        if fault.code.eq_ignore_ascii_case("Client") {
            prop_assert!(matches!(created, Err(CarrierError::Rejected { .. })), "{:?}", created);
        } else {
            prop_assert!(matches!(created, Err(CarrierError::Unknown { .. })), "{:?}", created);
        }
    }

    #[test]
    fn the_xml_reader_never_panics(input in ".*") {
        if let Some(root) = parse_xml(&input) {
            let _ = soap_fault(&root);
        }
    }
}
