//! The `usps` adapter over real HTTP against a local axum server that plays USPS.
//!
//! The server answers the OAuth token endpoint itself (counting fetches and issuing `tok-<n>`),
//! answers the payment authorization endpoint (counting fetches and issuing `pay-<n>`), and answers
//! API calls from a per-route script of USPS answers, recording every request Waybill sent.
//!
//! Fixtures (tests/fixtures/usps/), with their origins. USPS's documents are the v3 API examples
//! USPS publishes in `USPS/api-examples` (README.md @ `0232d5d4`, `domesticlabel-v3-response.json`
//! @ `5e67593e`). Every fixture is SYNTHETIC, built by us:
//! - `label_metadata_synthetic.json`: the JSON part of `domesticlabel-v3-response.json` (same field
//!   set: `labelAddress`, `routingInformation`, `trackingNumber` 9205590109769900012613 is the
//!   example's, `postage`, `commitment.scheduleDeliveryDate`, `SKU`); addresses and amounts are ours.
//!   The tests wrap it in a `multipart/mixed` answer with a base64 ZPL label part, as that example
//!   wraps its PDF.
//! - `rates_synthetic.json`: Domestic Prices 3.0 total-rates answer (`rateOptions[]` with
//!   `totalBasePrice` and `rates[]` `mailClass`/`price`/`SKU`) as described by third-party clients of
//!   the OpenAPI file; not copied from a USPS example. Amounts are ours.
//! - `tracking_synthetic.json`: Tracking 3.0 `expand=DETAIL` answer (`trackingEvents[]` with
//!   `eventType`, `eventCode`, `eventTimestamp`, `GMTOffset`, `eventCity/State/ZIPCode`), shaped after
//!   the tracking-v3r2 OpenAPI field list quoted in the shared taxonomy file; codes, places and
//!   times are ours.
//! - `address_synthetic.json`: Addresses 3.0 `GET /addresses/v3/address` answer (`firm`, `address`
//!   with `streetAddress`/`secondaryAddress`/`city`/`state`/`ZIPCode`/`ZIPPlus4`, `additionalInfo` with
//!   `DPVConfirmation` and `business`, `corrections[]`, `matches[]`, `warnings[]`), following the
//!   Addresses 3.0 OpenAPI models as generated in `rana/usps-addresses-sdk` (`docs/AddressAdditionalInfo.md`);
//!   the address and texts are ours.
//! - Error bodies (inline below) follow the v3 error shape `{"apiVersion", "error": {"code",
//!   "message", "errors": [{"status", "code", "title", "detail", "source"}]}}`; the codes are
//!   illustrative.

mod account;
mod answers;
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
use base64::Engine as _;
use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use us::address;
use waybill_carriers::usps::{self, Usps};
use waybill_carriers::{
    AddressClass, AddressVerdict, BookedRef, BookingRequest, Carrier, CarrierError, PushError, PushRequest, PushTarget,
    RateRequest,
};
use waybill_core::{Address, NdrReason, Parcel, TrackingStatus};
use waybill_outbound::Outbound;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/usps/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const ZPL: &str = "^XA^FO50,50^A0N,40,40^FDUSPS TEST^FS^XZ";
const BOUNDARY: &str = "726UYUDSQB6JWJXFDY";

/// A label answer as USPS sends it: multipart/mixed, metadata then the base64 label image.
fn label_answer() -> String {
    let zpl = base64::engine::general_purpose::STANDARD.encode(ZPL);
    format!(
        "--{BOUNDARY}\r\nContent-Type: application/json\r\nContent-Disposition: form-data; name=\"labelMetadata\"\r\n\r\n{}\r\n--{BOUNDARY}\r\nContent-Type: application/zpl\r\nContent-Disposition: form-data; filename=\"labelImage.zpl\"; name=\"labelImage\"\r\n\r\n{zpl}\r\n--{BOUNDARY}--\r\n",
        fixture("label_metadata_synthetic.json")
    )
}

// ---------------------------------------------------------------------------------------------
// The fake USPS
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Recorded {
    method: Method,
    path: String,
    query: Option<String>,
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
    Raw(u16, String, String),
}

#[derive(Default)]
struct FakeUsps {
    token_fetches: AtomicUsize,
    token_requests: Mutex<Vec<Recorded>>,
    payment_fetches: AtomicUsize,
    payment_requests: Mutex<Vec<Recorded>>,
    revoked: Mutex<HashSet<String>>,
    script: Mutex<Vec<(Method, String, VecDeque<Answer>)>>,
    calls: Mutex<Vec<Recorded>>,
}

impl FakeUsps {
    fn on(&self, method: Method, path: &str, answers: Vec<Answer>) {
        self.script.lock().unwrap().push((method, path.to_owned(), answers.into()));
    }

    fn calls(&self) -> Vec<Recorded> {
        self.calls.lock().unwrap().clone()
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ").map(str::to_owned)
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(error_body("401", "Unauthorized", "OAUTH.TOKEN.EXPIRED", "The access token has expired.")),
    )
        .into_response()
}

async fn token(State(usps): State<Arc<FakeUsps>>, headers: HeaderMap, body: Bytes) -> Response {
    let n = usps.token_fetches.fetch_add(1, Ordering::SeqCst) + 1;
    let rec = Recorded { method: Method::POST, path: "/oauth2/v3/token".into(), query: None, headers, body };
    usps.token_requests.lock().unwrap().push(rec);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // README.md "Example OAuth Client Credentials Token request" answer (expires_in is a string).
    axum::Json(json!({
        "access_token": format!("tok-{n}"),
        "token_type": "Bearer",
        "issued_at": "1763715050000",
        "expires_in": "28799",
        "status": "approved",
        "scope": "addresses prices tracking labels payments",
        "issuer": "api.usps.com",
    }))
    .into_response()
}

async fn payment(State(usps): State<Arc<FakeUsps>>, headers: HeaderMap, body: Bytes) -> Response {
    let token = bearer(&headers);
    let rec = Recorded {
        method: Method::POST,
        path: "/payments/v3/payment-authorization".into(),
        query: None,
        headers,
        body: body.clone(),
    };
    usps.payment_requests.lock().unwrap().push(rec);
    if token.is_none_or(|t| usps.revoked.lock().unwrap().contains(&t)) {
        return unauthorized();
    }
    let n = usps.payment_fetches.fetch_add(1, Ordering::SeqCst) + 1;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sent: Value = serde_json::from_slice(&body).unwrap_or_default();
    axum::Json(json!({"paymentAuthorizationToken": format!("pay-{n}"), "roles": sent["roles"]})).into_response()
}

async fn api(State(usps): State<Arc<FakeUsps>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let token = bearer(&headers);
    usps.calls.lock().unwrap().push(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: uri.query().map(str::to_owned),
        headers,
        body,
    });
    if token.is_none_or(|t| usps.revoked.lock().unwrap().contains(&t)) {
        return unauthorized();
    }
    let answer = {
        let mut script = usps.script.lock().unwrap();
        let Some((_, _, answers)) = script.iter_mut().find(|(m, p, _)| *m == method && path == *p) else {
            return (StatusCode::NOT_FOUND, format!("no script for {method} {path}")).into_response();
        };
        if answers.len() > 1 { answers.pop_front().unwrap() } else { answers.front().cloned().unwrap() }
    };
    let (status, content_type, body) = match answer {
        Answer::Json(s, b) => (s, "application/json".to_owned(), b),
        Answer::Raw(s, t, b) => (s, t, b),
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("retry-after", "7")
        .body(Body::from(body))
        .unwrap()
}

fn error_body(top: &str, message: &str, code: &str, detail: &str) -> Value {
    json!({"apiVersion": "/labels/v3", "error": {"code": top, "message": message, "errors": [
        {"status": top, "code": code, "title": message, "detail": detail, "source": {"parameter": "toAddress.ZIPCode"}}
    ]}})
}

fn ok(body: String) -> Answer {
    Answer::Json(200, body)
}

fn multipart_ok(body: String) -> Answer {
    Answer::Raw(200, format!("multipart/mixed; boundary={BOUNDARY}"), body)
}

struct Server {
    url: String,
    usps: Arc<FakeUsps>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start() -> Server {
    let usps = Arc::new(FakeUsps::default());
    let app = Router::new()
        .route("/oauth2/v3/token", post(token))
        .route("/payments/v3/payment-authorization", post(payment))
        .fallback(api)
        .with_state(usps.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    Server { url, usps, task }
}

// ---------------------------------------------------------------------------------------------
// Waybill side
// ---------------------------------------------------------------------------------------------

impl TestAccount {
    fn at(base_url: String) -> Self {
        Self::new(
            base_url,
            json!({
                "client_id": "cid", "client_secret": "csecret", "crid": "56982563",
                "mid": "904128936", "account_number": "1000405525",
            }),
        )
    }

    fn on(server: &Server) -> Self {
        Self::at(server.url.clone())
    }
}

fn usps() -> Arc<dyn Carrier> {
    Arc::new(Usps::new(Outbound::default()))
}

fn rate_request() -> RateRequest {
    us::route("30005-2628")
}

fn booking_request(reference: &str) -> BookingRequest {
    let route = rate_request();
    BookingRequest {
        reference: reference.into(),
        service: "USPS_GROUND_ADVANTAGE".into(),
        ship_from: route.ship_from,
        ship_to: route.ship_to,
        parcels: route.parcels,
        cod: None,
        simulate: None,
        is_return: false,
    }
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn rejected(result: Result<impl std::fmt::Debug, CarrierError>) -> (String, String, Option<String>) {
    match result {
        Err(CarrierError::Rejected { carrier: "usps", code, message, field }) => (code, message, field),
        other => panic!("expected Rejected, got {other:?}"),
    }
}

const RATES: &str = "/prices/v3/total-rates/search";
const LABEL: &str = "/labels/v3/label";
const TRACK: &str = "/tracking/v3/tracking/9205590109769900012613";

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_rate_calls_share_one_token_fetch() {
    let server = start().await;
    server.usps.on(Method::POST, RATES, vec![ok(fixture("rates_synthetic.json"))]);
    let carrier = usps();
    let account = Arc::new(TestAccount::on(&server));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (carrier, account) = (carrier.clone(), account.clone());
            tokio::spawn(async move { carrier.rate(&account.account(), &rate_request()).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task").expect("rates").len(), 3);
    }
    assert_eq!(server.usps.token_fetches.load(Ordering::SeqCst), 1);
    let token_request = server.usps.token_requests.lock().unwrap()[0].clone();
    assert_eq!(token_request.headers["content-type"], "application/json");
    assert_eq!(
        token_request.json(),
        json!({"grant_type": "client_credentials", "client_id": "cid", "client_secret": "csecret"})
    );
    assert!(server.usps.calls().iter().all(|c| c.headers["authorization"] == "Bearer tok-1"));
}

#[tokio::test]
async fn a_401_drops_the_token_and_retries_once() {
    let server = start().await;
    server.usps.on(Method::POST, RATES, vec![ok(fixture("rates_synthetic.json"))]);
    let carrier = usps();
    let account = TestAccount::on(&server);
    carrier.rate(&account.account(), &rate_request()).await.expect("rates");
    server.usps.revoked.lock().unwrap().insert("tok-1".into());
    carrier.rate(&account.account(), &rate_request()).await.expect("retried with a new token");
    assert_eq!(server.usps.token_fetches.load(Ordering::SeqCst), 2);
    assert_eq!(server.usps.calls().len(), 3, "first call, refused call, one retry");

    server.usps.revoked.lock().unwrap().extend(["tok-2".to_owned(), "tok-3".to_owned()]);
    let err = carrier.rate(&account.account(), &rate_request()).await.unwrap_err();
    assert!(
        matches!(&err, CarrierError::Auth { carrier: "usps", message } if message.contains("OAUTH.TOKEN.EXPIRED")),
        "{err:?}"
    );
    assert_eq!(server.usps.calls().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_payment_authorization_is_fetched_once_and_sent_on_label_calls() {
    let server = start().await;
    server.usps.on(Method::POST, LABEL, vec![multipart_ok(label_answer())]);
    server.usps.on(Method::DELETE, &format!("{LABEL}/9205590109769900012613"), vec![ok("{}".into())]);
    let carrier = usps();
    let account = Arc::new(TestAccount::on(&server));
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let (carrier, account) = (carrier.clone(), account.clone());
            tokio::spawn(async move { carrier.book(&account.account(), &booking_request(&format!("shp_{i}"))).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("booked");
    }
    let booked = BookedRef { tracking_number: "9205590109769900012613", carrier_shipment_id: "9205590109769900012613" };
    carrier.cancel(&account.account(), &booked).await.expect("cancelled");
    assert_eq!(server.usps.payment_fetches.load(Ordering::SeqCst), 1);
    let sent = server.usps.payment_requests.lock().unwrap()[0].json();
    let role = json!({"CRID": "56982563", "MID": "904128936", "manifestMID": "904128936", "accountType": "EPS", "accountNumber": "1000405525"});
    for (i, name) in ["PAYER", "LABEL_OWNER"].into_iter().enumerate() {
        let mut expected = role.clone();
        expected["roleName"] = json!(name);
        assert_eq!(sent["roles"][i], expected);
    }
    let calls = server.usps.calls();
    assert_eq!(calls.len(), 6);
    assert!(calls.iter().all(|c| c.headers["x-payment-authorization-token"] == "pay-1"));
}

#[tokio::test]
async fn a_401_on_a_label_call_renews_both_tokens_and_retries_once() {
    let server = start().await;
    let tracking = "9205590109769900012613";
    server.usps.on(Method::POST, LABEL, vec![multipart_ok(label_answer())]);
    server.usps.on(Method::DELETE, &format!("{LABEL}/{tracking}"), vec![ok("{}".into())]);
    let carrier = usps();
    let account = TestAccount::on(&server);
    carrier.book(&account.account(), &booking_request("shp_1")).await.expect("booked");
    server.usps.revoked.lock().unwrap().insert("tok-1".into());
    let booked = BookedRef { tracking_number: tracking, carrier_shipment_id: tracking };
    carrier.cancel(&account.account(), &booked).await.expect("cancelled with fresh tokens");
    assert_eq!(server.usps.token_fetches.load(Ordering::SeqCst), 2);
    assert_eq!(server.usps.payment_fetches.load(Ordering::SeqCst), 2);
    let sent: Vec<_> = server
        .usps
        .calls()
        .iter()
        .map(|c| {
            (
                c.headers["authorization"].to_str().unwrap().to_owned(),
                c.headers["x-payment-authorization-token"].to_str().unwrap().to_owned(),
            )
        })
        .collect();
    let pair = |t: &str, p: &str| (format!("Bearer {t}"), p.to_owned());
    assert_eq!(
        sent,
        [pair("tok-1", "pay-1"), pair("tok-1", "pay-1"), pair("tok-2", "pay-2")],
        "booked, refused, retried once"
    );
}

// ---------------------------------------------------------------------------------------------
// Rates
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rates_parse_and_the_request_follows_the_prices_api() {
    let server = start().await;
    server.usps.on(Method::POST, RATES, vec![ok(fixture("rates_synthetic.json"))]);
    let account = TestAccount::on(&server);
    let rates = usps().rate(&account.account(), &rate_request()).await.expect("rates");
    let got: Vec<_> = rates.iter().map(|r| (r.service.as_str(), r.charge.amount, r.transit_days)).collect();
    assert_eq!(
        got,
        [
            ("PRIORITY_MAIL", dec("11.25"), None),
            ("PRIORITY_MAIL_EXPRESS", dec("48.5"), None),
            ("USPS_GROUND_ADVANTAGE", dec("7.64"), None), // the cheaper of two options
        ]
    );
    assert!(rates.iter().all(|r| r.charge.currency.code() == "USD"));
    let sent = server.usps.calls()[0].json();
    assert_eq!(sent["originZIPCode"], "21093");
    assert_eq!(sent["destinationZIPCode"], "30005");
    assert_eq!(sent["weight"], json!(2.8));
    assert_eq!(
        (sent["length"].clone(), sent["width"].clone(), sent["height"].clone()),
        (json!(11.9), json!(7.9), json!(4.2))
    );
    assert_eq!(sent["priceType"], "COMMERCIAL");
    assert_eq!(sent["accountNumber"], "1000405525");
    assert!(sent["mailClasses"].as_array().is_some_and(|m| m.contains(&json!("USPS_GROUND_ADVANTAGE"))));
}

#[tokio::test]
async fn non_us_shipments_are_refused_without_a_call() {
    let server = start().await;
    let carrier = usps();
    let account = TestAccount::on(&server);
    let mut request = rate_request();
    request.ship_to.country = "CA".into();
    let (code, _, field) = rejected(carrier.rate(&account.account(), &request).await);
    assert_eq!((code.as_str(), field.as_deref()), ("NOT_DOMESTIC", Some("/ship_to/country")));
    let mut booking = booking_request("shp_ca");
    booking.ship_from.country = "MX".into();
    let (code, _, field) = rejected(carrier.book(&account.account(), &booking).await);
    assert_eq!((code.as_str(), field.as_deref()), ("NOT_DOMESTIC", Some("/ship_from/country")));
    assert!(server.usps.calls().is_empty());
    assert_eq!(server.usps.token_fetches.load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_label_sends_the_required_fields_and_returns_the_zpl() {
    let server = start().await;
    server.usps.on(Method::POST, LABEL, vec![multipart_ok(label_answer())]);
    let account = TestAccount::on(&server);
    let booking = usps().book(&account.account(), &booking_request("shp_01REF")).await.expect("booked");
    assert_eq!(booking.tracking_number, "9205590109769900012613");
    assert_eq!(booking.carrier_shipment_id, "9205590109769900012613");
    assert_eq!(booking.service, "USPS_GROUND_ADVANTAGE");
    let charge = booking.charge.expect("postage");
    assert_eq!((charge.amount, charge.currency.code()), (dec("7.64"), "USD"));
    assert_eq!(booking.edd, Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()));
    assert_eq!(booking.documents.len(), 1);
    assert_eq!(booking.documents[0].format, "zpl");
    assert_eq!(booking.documents[0].bytes, ZPL.as_bytes());

    let call = &server.usps.calls()[0];
    assert_eq!((call.method.clone(), call.path.as_str()), (Method::POST, LABEL));
    assert_eq!(call.headers["x-payment-authorization-token"], "pay-1");
    let sent = call.json();
    assert_eq!(sent["imageInfo"]["imageType"], "ZPL203DPI");
    assert_eq!(sent["imageInfo"]["labelType"], "4X6LABELZPL");
    let to = &sent["toAddress"];
    assert_eq!((to["firstName"].clone(), to["lastName"].clone()), (json!("Jane"), json!("Doe")));
    assert_eq!(to["streetAddress"], "100 Main St");
    assert_eq!(to["secondaryAddress"], "Suite 2");
    assert_eq!((to["city"].clone(), to["state"].clone()), (json!("Alpharetta"), json!("GA")));
    assert_eq!((to["ZIPCode"].clone(), to["ZIPPlus4"].clone()), (json!("30005"), json!("2628")));
    assert_eq!(to["phone"], "2125551234");
    assert_eq!(sent["fromAddress"]["ZIPCode"], "21093");
    let p = &sent["packageDescription"];
    assert_eq!(p["mailClass"], "USPS_GROUND_ADVANTAGE");
    assert_eq!(p["processingCategory"], "MACHINABLE");
    assert_eq!(p["rateIndicator"], "SP");
    assert_eq!(p["destinationEntryFacilityType"], "NONE");
    assert_eq!((p["weightUOM"].clone(), p["weight"].clone()), (json!("lb"), json!(2.8)));
    assert_eq!(p["dimensionsUOM"], "in");
    assert_eq!((p["length"].clone(), p["width"].clone(), p["height"].clone()), (json!(11.9), json!(7.9), json!(4.2)));
    assert!(p["mailingDate"].as_str().is_some_and(|d| d.len() == 10));
    assert_eq!(p["customerReference"][0]["referenceNumber"], "shp_01REF");
}

#[tokio::test]
async fn label_failures_are_sorted_by_what_the_caller_may_do() {
    let server = start().await;
    server.usps.on(
        Method::POST,
        LABEL,
        vec![
            Answer::Json(400, error_body("400", "Bad Request", "020104", "The destination ZIP Code is invalid.").to_string()),
            Answer::Json(503, error_body("503", "Service Unavailable", "503", "Try again later.").to_string()),
            multipart_ok(label_answer().replace(&format!("--{BOUNDARY}--\r\n"), "")),
            ok(json!({"labelMetadata": serde_json::from_str::<Value>(&fixture("label_metadata_synthetic.json")).unwrap(),
                "labelImage": base64::engine::general_purpose::STANDARD.encode(ZPL)})
            .to_string()),
        ],
    );
    let carrier = usps();
    let account = TestAccount::on(&server);
    let (account, request) = (account.account(), booking_request("shp_03"));
    let (code, message, field) = rejected(carrier.book(&account, &request).await);
    assert_eq!(code, "020104");
    assert_eq!(message, "Bad Request: The destination ZIP Code is invalid.");
    assert_eq!(field.as_deref(), Some("toAddress.ZIPCode"));
    match carrier.book(&account, &request).await {
        Err(e @ CarrierError::Unavailable { retry_after, .. }) => {
            assert!(e.is_transient());
            assert_eq!(retry_after, Some(Duration::from_secs(7)));
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let cut = carrier.book(&account, &request).await;
    assert!(matches!(&cut, Err(CarrierError::Unknown { carrier: "usps", .. })), "no closing boundary: {cut:?}");
    let json_label = carrier.book(&account, &request).await.expect("a JSON label answer is read too");
    assert_eq!(json_label.documents[0].bytes, ZPL.as_bytes());
}

/// A raw HTTP/1.1 server: answers token and payment requests, then answers the label with its
/// headers and half its body and closes the connection.
async fn start_cutting_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
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
                    buf.drain(..head_end + length);
                    let body = if head.contains("/oauth2/v3/token") {
                        r#"{"access_token":"tok-raw","token_type":"Bearer","expires_in":"28799"}"#.to_owned()
                    } else if head.contains("/payments/v3/") {
                        r#"{"paymentAuthorizationToken":"pay-raw"}"#.to_owned()
                    } else {
                        let body = label_answer();
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: multipart/mixed; boundary={BOUNDARY}\r\ncontent-length: {}\r\n\r\n{}",
                            body.len(),
                            &body[..body.len() / 2]
                        );
                        let _ = socket.write_all(answer.as_bytes()).await;
                        let _ = socket.shutdown().await;
                        return;
                    };
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

#[tokio::test]
async fn a_label_answer_cut_off_mid_body_is_unknown() {
    let account = TestAccount::at(start_cutting_server().await);
    let cut = usps().book(&account.account(), &booking_request("shp_cut")).await;
    assert!(
        matches!(&cut, Err(CarrierError::Unknown { carrier: "usps", message }) if message.contains("cut off")),
        "cut off: {cut:?}"
    );
}

#[tokio::test]
async fn cod_several_parcels_and_find_booking_are_refused_without_a_call() {
    let server = start().await;
    let carrier = usps();
    let account = TestAccount::on(&server);
    let mut request = booking_request("shp_cod");
    request.cod = Some(waybill_core::Money::new(dec("10"), "USD".parse().unwrap()));
    assert_eq!(rejected(carrier.book(&account.account(), &request).await).0, "COD_NOT_SUPPORTED");
    let mut request = booking_request("shp_two");
    request.parcels.push(Parcel { weight_g: 500, dimensions_mm: None });
    assert_eq!(rejected(carrier.book(&account.account(), &request).await).0, "ONE_PARCEL_PER_LABEL");
    assert_eq!(rejected(carrier.find_booking(&account.account(), "shp_01REF").await).0, "UNSUPPORTED");
    assert!(server.usps.calls().is_empty());
    assert_eq!(server.usps.token_fetches.load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------------------------
// Cancel
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn cancel_deletes_the_label_and_keeps_usps_refusals() {
    let server = start().await;
    let path = format!("{LABEL}/9205590109769900012613");
    server.usps.on(
        Method::DELETE,
        &path,
        vec![
            ok(json!({"trackingNumber": "9205590109769900012613", "status": "CANCELED"}).to_string()),
            Answer::Json(
                400,
                error_body("400", "Bad Request", "040302", "The label has already been scanned.").to_string(),
            ),
        ],
    );
    let carrier = usps();
    let account = TestAccount::on(&server);
    let booked = BookedRef { tracking_number: "9205590109769900012613", carrier_shipment_id: "9205590109769900012613" };
    carrier.cancel(&account.account(), &booked).await.expect("cancelled");
    let call = &server.usps.calls()[0];
    assert_eq!((call.method.clone(), call.path.as_str()), (Method::DELETE, path.as_str()));
    let (code, message, _) = rejected(carrier.cancel(&account.account(), &booked).await);
    assert_eq!((code.as_str(), message.as_str()), ("040302", "Bad Request: The label has already been scanned."));
}

// ---------------------------------------------------------------------------------------------
// Track
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_tracking_event_maps_in_order() {
    let server = start().await;
    server.usps.on(Method::GET, TRACK, vec![ok(fixture("tracking_synthetic.json"))]);
    let account = TestAccount::on(&server);
    let scans = usps().track(&account.account(), "9205590109769900012613").await.expect("tracked");
    let got: Vec<_> = scans.iter().map(|s| (s.code.as_str(), s.status, s.ndr_reason)).collect();
    assert_eq!(
        got,
        [
            ("01", TrackingStatus::Delivered, None),
            ("OF", TrackingStatus::OutForDelivery, None),
            ("02", TrackingStatus::DeliveryFailed, Some(NdrReason::CustomerUnavailable)),
            ("A1", TrackingStatus::InTransit, None),
            ("L1", TrackingStatus::InTransit, None),
            ("03", TrackingStatus::PickedUp, None),
            ("MA", TrackingStatus::InfoReceived, None),
        ]
    );
    let at = |s: &str| DateTime::<FixedOffset>::parse_from_rfc3339(s).unwrap();
    assert_eq!(scans[0].occurred_at, at("2026-11-25T14:05:00-05:00"));
    assert_eq!(scans[0].occurred_at.offset().local_minus_utc(), -5 * 3600);
    assert_eq!(scans[3].occurred_at, at("2026-11-23T22:41:00-05:00"), "local time takes GMTOffset");
    assert_eq!(scans[0].location.as_deref(), Some("ALPHARETTA, GA, 30005"));
    assert_eq!(scans[6].location, None);
    assert_eq!(scans[2].description, "Notice Left (No Authorized Recipient Available)");
    let call = &server.usps.calls()[0];
    assert_eq!((call.method.clone(), call.path.as_str()), (Method::GET, TRACK));
    assert_eq!(call.query.as_deref(), Some("expand=DETAIL"));
}

#[tokio::test]
async fn failed_attempt_codes_carry_reasons_and_unknown_codes_are_kept() {
    let server = start().await;
    let mut answer: Value = serde_json::from_str(&fixture("tracking_synthetic.json")).unwrap();
    let events = &mut answer["trackingEvents"];
    events[1]["eventCode"] = json!("05");
    events[2]["eventCode"] = json!("04");
    events[3]["eventCode"] = json!("Q9");
    events[4]["eventCode"] = json!("09");
    server.usps.on(Method::GET, TRACK, vec![ok(answer.to_string())]);
    let scans = usps().track(&TestAccount::on(&server).account(), "9205590109769900012613").await.expect("tracked");
    assert_eq!(scans.len(), 7, "nothing dropped");
    assert_eq!((scans[1].status, scans[1].ndr_reason), (TrackingStatus::DeliveryFailed, Some(NdrReason::AddressIssue)));
    assert_eq!((scans[2].status, scans[2].ndr_reason), (TrackingStatus::DeliveryFailed, Some(NdrReason::Refused)));
    assert_eq!((scans[3].code.as_str(), scans[3].status), ("Q9", TrackingStatus::InTransit));
    assert_eq!(scans[3].description, "Arrived at USPS Regional Facility");
    assert_eq!(scans[4].status, TrackingStatus::ReturnToOrigin);
}

#[tokio::test]
async fn an_unknown_tracking_number_is_not_found() {
    let server = start().await;
    let body = json!({"apiVersion": "/tracking/v3", "error": {"code": "404", "message": "Not Found", "errors": [
        {"status": "404", "code": "404", "title": "Tracking number not found", "detail": "The tracking number may be incorrect."}]}});
    server.usps.on(Method::GET, "/tracking/v3/tracking/nope", vec![Answer::Json(404, body.to_string())]);
    let err = usps().track(&TestAccount::on(&server).account(), "nope").await.unwrap_err();
    assert!(matches!(err, CarrierError::NotFound { carrier: "usps", .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Credentials, info and pushes
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_credentials_point_at_their_fields() {
    let carrier = usps();
    let errors = carrier
        .check_credentials(&json!({"client_id": "cid", "client_secret": "", "crid": "1", "extra": "x"}))
        .unwrap_err();
    let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
    for p in ["/credentials/client_secret", "/credentials/mid", "/credentials/account_number", "/credentials/extra"] {
        assert!(pointers.contains(&p), "{p}: {pointers:?}");
    }
    assert!(!pointers.contains(&"/credentials/client_id") && !pointers.contains(&"/credentials/crid"));
    carrier
        .check_credentials(
            &json!({"client_id": "a", "client_secret": "b", "crid": "c", "mid": "d", "account_number": "e"}),
        )
        .expect("complete credentials pass");
}

#[tokio::test]
async fn info_and_pushes() {
    let carrier = usps();
    let info = carrier.info();
    assert_eq!((info.slug, info.name), ("usps", "USPS"));
    assert_eq!(info.test_base_url, Some("https://apis-tem.usps.com"));
    assert_eq!(info.live_base_url, Some("https://apis.usps.com"));
    for code in [
        "USPS_GROUND_ADVANTAGE",
        "PRIORITY_MAIL",
        "PRIORITY_MAIL_EXPRESS",
        "PARCEL_SELECT",
        "MEDIA_MAIL",
        "LIBRARY_MAIL",
    ] {
        assert!(info.services.iter().any(|s| s.code == code), "{code}");
    }
    let c = &info.capabilities;
    assert!(c.rates && c.cancel && c.track && !c.push && !c.find_booking && !c.cash_on_delivery);
    assert_eq!(info.carrier_label_formats, ["zpl"]);
    let server = start().await;
    let target = PushTarget { url: "http://x".into(), secret: "s".into() };
    carrier.subscribe(&TestAccount::on(&server).account(), "9205590109769900012613", &target).await.expect("no-op");
    assert!(server.usps.calls().is_empty() && server.usps.token_fetches.load(Ordering::SeqCst) == 0);
    let push = PushRequest { headers: &[], body: b"{}" };
    assert_eq!(carrier.parse_push("s", &push), Err(PushError::Malformed("USPS pushes are not supported yet".into())));
}

// ---------------------------------------------------------------------------------------------
// Address validation
// ---------------------------------------------------------------------------------------------

const ADDRESS: &str = "/addresses/v3/address";

fn georgetown() -> Address {
    Address { street1: "3120 M St NW".into(), street2: None, ..address("Jane Doe", "Washington", "DC", "20007") }
}

#[tokio::test]
async fn address_validation_sends_the_query_and_reads_the_dpv_verdict() {
    let server = start().await;
    let mut secondary_missing: Value = serde_json::from_str(&fixture("address_synthetic.json")).unwrap();
    secondary_missing["additionalInfo"]["DPVConfirmation"] = json!("D");
    secondary_missing["additionalInfo"]["business"] = json!("N");
    let mut not_confirmed = secondary_missing.clone();
    not_confirmed["additionalInfo"]["DPVConfirmation"] = json!("N");
    server.usps.on(
        Method::GET,
        ADDRESS,
        vec![ok(fixture("address_synthetic.json")), ok(secondary_missing.to_string()), ok(not_confirmed.to_string())],
    );
    let carrier = usps();
    let account = TestAccount::on(&server);
    let asked = georgetown();
    let check = carrier.validate_address(&account.account(), &asked).await.expect("check");
    assert_eq!(check.verdict, AddressVerdict::Valid, "DPV Y");
    assert_eq!(check.classification, AddressClass::Commercial, "business Y");
    assert_eq!(check.messages, vec!["The address was standardized; the street suffix was corrected.".to_owned()]);
    let best = &check.candidates[0];
    assert_eq!((best.street1.as_str(), best.street2.as_deref()), ("3120 M ST NW", None));
    assert_eq!((best.city.as_str(), best.state.as_deref()), ("WASHINGTON", Some("DC")));
    assert_eq!((best.postal_code.as_str(), best.country.as_str()), ("20007-3704", "US"));
    assert_eq!((best.name.as_str(), best.phone.as_deref()), ("Jane Doe", asked.phone.as_deref()), "copied from asked");

    let call = &server.usps.calls()[0];
    assert_eq!((call.method.clone(), call.path.as_str()), (Method::GET, ADDRESS));
    assert!(call.headers.get("authorization").unwrap().to_str().unwrap().starts_with("Bearer tok-"));
    let query = call.query.clone().unwrap_or_default();
    // Required by Addresses 3.0: streetAddress and state, with city or ZIPCode.
    for pair in ["streetAddress=3120+M+St+NW", "city=Washington", "state=DC", "ZIPCode=20007"] {
        assert!(query.split('&').any(|p| p == pair), "{pair} in {query}");
    }

    let unit = carrier.validate_address(&account.account(), &asked).await.expect("check");
    assert_eq!((unit.verdict, unit.classification), (AddressVerdict::Ambiguous, AddressClass::Residential));
    let bad = carrier.validate_address(&account.account(), &asked).await.expect("check");
    assert_eq!(bad.verdict, AddressVerdict::Invalid, "DPV N");
}

#[tokio::test]
async fn address_refusals_keep_usps_code_and_foreign_addresses_are_refused_without_a_call() {
    let server = start().await;
    let refusal = error_body("400", "Address Not Found.", "010005", "Address Not Found.");
    server.usps.on(Method::GET, ADDRESS, vec![Answer::Json(400, refusal.to_string())]);
    let carrier = usps();
    let account = TestAccount::on(&server);
    let (code, message, _) = rejected(carrier.validate_address(&account.account(), &georgetown()).await);
    assert_eq!((code.as_str(), message.as_str()), ("010005", "Address Not Found."));

    let calls = server.usps.calls().len();
    let mut berlin = georgetown();
    berlin.country = "DE".into();
    let (code, _, field) = rejected(carrier.validate_address(&account.account(), &berlin).await);
    assert_eq!((code.as_str(), field.as_deref()), ("NOT_DOMESTIC", Some("/country")));
    assert_eq!(server.usps.calls().len(), calls, "no call for a foreign address");
}

// ---------------------------------------------------------------------------------------------
// Answer parsers never panic
// ---------------------------------------------------------------------------------------------

fn parse_all(body: &[u8]) {
    let asked = georgetown();
    let multipart = format!("multipart/mixed; boundary={BOUNDARY}");
    let _ = usps::parse_rates_answer(body);
    let _ = usps::parse_label_answer("application/json", body, "USPS_GROUND_ADVANTAGE");
    let _ = usps::parse_label_answer(&multipart, body, "USPS_GROUND_ADVANTAGE");
    let _ = usps::parse_cancel_answer(body);
    let _ = usps::parse_tracking_answer(body);
    let _ = usps::parse_address_answer(body, Some(&asked));
    let _ = usps::parse_address_answer(body, None);
}

fn fixtures() -> Vec<Vec<u8>> {
    let names = ["rates_synthetic.json", "tracking_synthetic.json", "address_synthetic.json"];
    let mut all: Vec<Vec<u8>> = names.iter().map(|f| fixture(f).into_bytes()).collect();
    all.push(label_answer().into_bytes());
    all
}

#[test]
fn answer_parsers_never_panic() {
    answers::never_panic(&fixtures(), parse_all);
}

#[test]
fn an_offset_past_a_day_is_ignored_not_a_panic() {
    let body = json!({"trackingEvents": [{
        "eventCode": "10", "eventTimestamp": "2026-11-20T10:00:00", "GMTOffset": "+99999999:00"
    }]});
    let scans = usps::parse_tracking_answer(body.to_string().as_bytes()).expect("scans");
    assert_eq!(scans[0].occurred_at.offset().local_minus_utc(), 0, "read as UTC wall time");
}
