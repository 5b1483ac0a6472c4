//! `usps`: USPS over its public REST APIs v3 (developers.usps.com), following the examples USPS
//! publishes in `USPS/api-examples` (`README.md` @ `0232d5d4`, `domesticlabel-v3-request.json` and
//! `domesticlabel-v3-response.json` @ `5e67593e`): OAuth 2.0 (`POST /oauth2/v3/token`, a JSON body
//! with `grant_type=client_credentials`, `client_id`, `client_secret` → `access_token`, `expires_in`
//! in seconds, sent as a string), Payments 3.0 (`POST /payments/v3/payment-authorization` with the
//! `PAYER` and `LABEL_OWNER` roles → `paymentAuthorizationToken`), Domestic Labels 3.0
//! (`POST /labels/v3/label` with the `X-Payment-Authorization-Token` header, answered as
//! `multipart/mixed`: a JSON metadata part and the label image; `DELETE /labels/v3/label/{n}`),
//! Domestic Prices 3.0 (`POST /prices/v3/total-rates/search`), Tracking 3.0
//! (`GET /tracking/v3/tracking/{n}?expand=DETAIL`) and Addresses 3.0 (`GET /addresses/v3/address` with
//! `streetAddress`, `secondaryAddress`, `city`, `state`, `ZIPCode` → `address`, `additionalInfo`
//! `DPVConfirmation`/`business`, `corrections[]`, `warnings[]`, read from the Addresses 3.0 OpenAPI
//! models as generated in `rana/usps-addresses-sdk`; US addresses only, others refused before any call). Error bodies follow the v3 shape
//! `{"apiVersion", "error": {"code", "message", "errors": [{"code", "title", "detail", "source"}]}}`.
//! The Prices and Tracking answer shapes (`rateOptions[].totalBasePrice`/`rates[].mailClass`,
//! `trackingEvents[]`) are read from the USPS developer portal's OpenAPI documents as quoted by
//! third-party clients; they were not checked against a live answer.
//!
//! Auth is OAuth2 client credentials. Tokens are cached per account and refreshed
//! [`TOKEN_MARGIN`] before they expire; concurrent calls share one token fetch (a per-account async
//! lock is held while fetching). A 401 on an API call drops the cached token and the call is sent
//! once more with a fresh one. The payment authorization token is cached the same way (single
//! flight per account) for [`PAYMENT_TOKEN_TTL`] (USPS's answer carries no lifetime; the value is
//! our assumption), and dropped with the OAuth token when a label call is refused with a 401.
//!
//! USPS is US domestic only here: a rate or booking whose origin or destination is not `US` is
//! refused before any call. A booking is one label, so one parcel per booking (more is refused
//! before any call). Labels are requested as ZPL 203 dpi on 4x6 stock and returned as a `zpl`
//! document. USPS cannot look up a label by our reference, so `find_booking` is not supported
//! (`capabilities.find_booking: false`, it answers `Rejected` `UNSUPPORTED`): a booking whose
//! answer was lost needs a person to check the USPS account; an unused label is refunded by USPS
//! after cancellation. Cash on delivery is not supported; pushes (USPS tracking subscriptions)
//! are not supported yet, so `subscribe` does nothing and `parse_push` refuses every push.
//!
//! Scan event codes ([`STATUSES`]) are USPS Publication 199 Appendix G-4 codes as Waybill
//! understands them; the OpenAPI file does not enumerate them
//! (`../shared/specs/taxonomies/tracking_status_taxonomies.json`, `usps`). The table was written
//! from memory of Publication 199 and is UNVERIFIED against the publication itself; unknown codes
//! are kept, logged and read as `in_transit`.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;
use serde_json::{Value, json};
use waybill_core::{Address, Money, NdrReason, Parcel, TrackingStatus};
use waybill_outbound::Outbound;

use crate::http::{CarrierFault, Http, Repeatable, after_accept, read_answer, read_body};
use crate::model::*;
use crate::oauth::{Flow, OAuth, Tokens, bearer_token, once_more_on_401};
use crate::tokens::{Token, TokenCache};
use crate::{Carrier, CarrierError};

const SLUG: &str = "usps";

const TOKEN_PATH: &str = "/oauth2/v3/token";
const PAYMENT_PATH: &str = "/payments/v3/payment-authorization";
const RATES_PATH: &str = "/prices/v3/total-rates/search";
const LABEL_PATH: &str = "/labels/v3/label";
const TRACK_PATH: &str = "/tracking/v3/tracking";
const ADDRESS_PATH: &str = "/addresses/v3/address";

/// The header a label call carries the payment authorization token in.
const PAYMENT_HEADER: &str = "X-Payment-Authorization-Token";

/// A cached token is replaced this long before USPS says it expires.
pub const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// How long a payment authorization token is reused (USPS states no lifetime; our choice).
pub const PAYMENT_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// USPS `mailClass` → name (Domestic Labels / Prices 3.0 mail classes). The codes are Waybill's
/// service codes for this carrier.
const SERVICES: &[(&str, &str)] = &[
    ("USPS_GROUND_ADVANTAGE", "USPS Ground Advantage"),
    ("PRIORITY_MAIL", "Priority Mail"),
    ("PRIORITY_MAIL_EXPRESS", "Priority Mail Express"),
    ("PARCEL_SELECT", "Parcel Select"),
    ("MEDIA_MAIL", "Media Mail"),
    ("LIBRARY_MAIL", "Library Mail"),
];

/// Tracking `trackingEvents[].eventCode` (Publication 199 Appendix G-4) → normalized status.
/// UNVERIFIED against the publication (see the module doc).
const STATUSES: &[(&str, TrackingStatus)] = &[
    ("MA", TrackingStatus::InfoReceived),       // pre-shipment info sent / label created
    ("GX", TrackingStatus::Cancelled),          // shipping label cancelled
    ("03", TrackingStatus::PickedUp),           // accepted at USPS origin facility
    ("OA", TrackingStatus::PickedUp),           // accepted at USPS origin facility
    ("80", TrackingStatus::PickedUp),           // picked up by shipping partner
    ("10", TrackingStatus::InTransit),          // processed through USPS facility
    ("07", TrackingStatus::InTransit),          // arrival at unit
    ("L1", TrackingStatus::InTransit),          // departed USPS facility
    ("A1", TrackingStatus::InTransit),          // arrived at USPS facility
    ("T1", TrackingStatus::InTransit),          // in transit to next facility
    ("U1", TrackingStatus::InTransit),          // arrived at USPS regional facility
    ("OF", TrackingStatus::OutForDelivery),     // out for delivery
    ("01", TrackingStatus::Delivered),          // delivered
    ("17", TrackingStatus::Delivered),          // picked up at the post office
    ("43", TrackingStatus::Delivered),          // picked up at postal facility
    ("16", TrackingStatus::AvailableForPickup), // available for pickup
    ("02", TrackingStatus::DeliveryFailed),     // notice left (no authorized recipient)
    ("52", TrackingStatus::DeliveryFailed),     // notice left (receptacle full / item oversized)
    ("53", TrackingStatus::DeliveryFailed),     // notice left (no secure location)
    ("55", TrackingStatus::DeliveryFailed),     // notice left (business closed)
    ("56", TrackingStatus::DeliveryFailed),     // delivery attempted (no access to location)
    ("04", TrackingStatus::DeliveryFailed),     // refused
    ("05", TrackingStatus::DeliveryFailed),     // undeliverable as addressed
    ("21", TrackingStatus::DeliveryFailed),     // no such number
    ("22", TrackingStatus::DeliveryFailed),     // insufficient address
    ("23", TrackingStatus::DeliveryFailed),     // moved, left no address
    ("25", TrackingStatus::DeliveryFailed),     // addressee unknown
    ("26", TrackingStatus::DeliveryFailed),     // vacant
    ("09", TrackingStatus::ReturnToOrigin),     // return to sender
    ("27", TrackingStatus::ReturnToOrigin),     // unclaimed, being returned
    ("28", TrackingStatus::ReturnToOrigin),     // return to sender (deceased)
    ("29", TrackingStatus::ReturnToOrigin),     // return to sender (not picked up)
    ("31", TrackingStatus::ReturnToOrigin),     // return to sender (processed)
];

/// A failed delivery's event code → why it failed; a failed code missing here is `other`.
const FAILURE_REASONS: &[(&str, NdrReason)] = &[
    ("02", NdrReason::CustomerUnavailable),
    ("52", NdrReason::Other),
    ("53", NdrReason::Other),
    ("55", NdrReason::PremisesClosed),
    ("56", NdrReason::Other),
    ("04", NdrReason::Refused),
    ("05", NdrReason::AddressIssue),
    ("21", NdrReason::AddressIssue),
    ("22", NdrReason::AddressIssue),
    ("23", NdrReason::AddressIssue),
    ("25", NdrReason::AddressIssue),
    ("26", NdrReason::AddressIssue),
];

/// An event code the table does not know is kept and logged, and read as `in_transit`: the state
/// machine never lets that move a shipment backwards, and nothing is dropped.
const UNKNOWN_CODE_STATUS: TrackingStatus = TrackingStatus::InTransit;

/// What a booking asks USPS for: ZPL at 203 dpi on 4x6 stock.
const LABEL_IMAGE_TYPE: &str = "ZPL203DPI";
const LABEL_TYPE: &str = "4X6LABELZPL";

/// Package description defaults for a single parcel shipped from a merchant (Domestic Labels 3.0).
const PROCESSING_CATEGORY: &str = "MACHINABLE";
const RATE_INDICATOR: &str = "SP";
const DESTINATION_ENTRY: &str = "NONE";
const PRICE_TYPE: &str = "COMMERCIAL";
const ACCOUNT_TYPE: &str = "EPS";

pub fn status_for(code: &str) -> Option<TrackingStatus> {
    STATUSES.iter().find(|(c, _)| *c == code).map(|(_, s)| *s)
}

pub fn service_name(code: &str) -> Option<&'static str> {
    SERVICES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

pub fn failure_reason(code: &str) -> NdrReason {
    FAILURE_REASONS.iter().find(|(c, _)| *c == code).map(|(_, r)| *r).unwrap_or(NdrReason::Other)
}

pub struct Usps {
    http: Http,
    info: CarrierInfo,
    oauth: OAuth,
    /// Payment authorization tokens, under the same keys as the OAuth tokens.
    payments: TokenCache,
}

impl Usps {
    pub fn new(outbound: Outbound) -> Self {
        let field = |name, description| CredentialField { name, description, required: true };
        let info = CarrierInfo {
            slug: SLUG,
            name: "USPS",
            services: SERVICES.iter().map(|(code, name)| Service { code, name }).collect(),
            capabilities: Capabilities {
                rates: true,
                cancel: true,
                track: true,
                push: false,
                push_at_booking: false,
                find_booking: false,
                cash_on_delivery: false,
                address_validation: true,
                pickup: false,
                pickup_cancel: false,
                manifest: false,
                update: false,
                rto_request: false,
                serviceability: false,
                returns: false,
                ndr: false,
            },
            credentials: CredentialSchema {
                fields: vec![
                    field("client_id", "Consumer key of the app on the USPS Developer Portal"),
                    field("client_secret", "Consumer secret of the app on the USPS Developer Portal"),
                    field("crid", "Customer Registration ID (CRID) of the Business Customer Gateway account"),
                    field("mid", "Mailer ID (MID) the labels are made for"),
                    field("account_number", "Enterprise Payment System (EPS) account number labels are paid from"),
                ],
            },
            test_base_url: Some("https://apis-tem.usps.com"),
            live_base_url: Some("https://apis.usps.com"),
            carrier_label_formats: vec!["zpl"],
        };
        let http = Http::new(outbound);
        let flow = Flow {
            carrier: SLUG,
            path: TOKEN_PATH,
            request: |req, account| {
                req.json(&json!({
                    "grant_type": "client_credentials",
                    "client_id": credential(account, "client_id"),
                    "client_secret": credential(account, "client_secret"),
                }))
            },
            fault,
            token: |body| bearer_token(SLUG, body),
            key_fields: &["client_id", "account_number"],
            margin: TOKEN_MARGIN,
        };
        Self { oauth: OAuth::new(flow, http.clone()), http, info, payments: TokenCache::default() }
    }

    /// A valid payment authorization token (single flight per account).
    async fn payment_token(&self, account: &Account<'_>) -> Result<String, CarrierError> {
        self.payments.get(&self.oauth.key(account), TOKEN_MARGIN, || self.fetch_payment_token(account)).await
    }

    async fn fetch_payment_token(&self, account: &Account<'_>) -> Result<Token, CarrierError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct PaymentAnswer {
            payment_authorization_token: String,
        }
        let role = |name: &str| {
            json!({
                "roleName": name,
                "CRID": credential(account, "crid"),
                "MID": credential(account, "mid"),
                "manifestMID": credential(account, "mid"),
                "accountType": ACCOUNT_TYPE,
                "accountNumber": credential(account, "account_number"),
            })
        };
        let body = json!({"roles": [role("PAYER"), role("LABEL_OWNER")]});
        let http = self.http.client(account).clone();
        let target = url(account, PAYMENT_PATH);
        let build = move || http.post(&target).json(&body);
        let answer: PaymentAnswer =
            read(self.oauth.call(account, build, Repeatable::Yes).await?, "payment authorization", Repeatable::Yes)
                .await?;
        Ok(Token { access_token: answer.payment_authorization_token, expires_at: Instant::now() + PAYMENT_TOKEN_TTL })
    }

    /// A call that also carries the payment authorization token; a 401 drops both tokens and the
    /// call is sent once more with fresh ones.
    async fn paid_call(
        &self,
        account: &Account<'_>,
        build: impl Fn() -> reqwest::RequestBuilder,
        repeatable: Repeatable,
    ) -> Result<reqwest::Response, CarrierError> {
        once_more_on_401(self, &self.http, SLUG, account, build, repeatable).await
    }
}

/// A label call's tokens: the payment authorization and the OAuth token, renewed together.
impl Tokens for Usps {
    type Held = (String, String);

    async fn get(&self, account: &Account<'_>) -> Result<Self::Held, CarrierError> {
        Ok((self.payment_token(account).await?, self.oauth.token(account).await?))
    }

    async fn forget(&self, account: &Account<'_>, (payment, token): &Self::Held) {
        self.oauth.forget(account, token).await;
        self.payments.forget(&self.oauth.key(account), payment).await;
    }

    fn authorize(&self, request: reqwest::RequestBuilder, (payment, token): &Self::Held) -> reqwest::RequestBuilder {
        request.bearer_auth(token).header(PAYMENT_HEADER, payment)
    }
}

fn credential<'a>(account: &Account<'a>, name: &str) -> &'a str {
    account.credentials.get(name).and_then(Value::as_str).unwrap_or_default()
}

fn url(account: &Account<'_>, path: &str) -> String {
    format!("{}{path}", account.base_url.trim_end_matches('/'))
}

fn protocol(message: impl Into<String>) -> CarrierError {
    CarrierError::Protocol { carrier: SLUG, message: message.into() }
}

/// Refuses anything but a US-to-US shipment, before any call.
fn domestic_only(from: &Address, to: &Address) -> Result<(), CarrierError> {
    for (a, pointer) in [(from, "/ship_from/country"), (to, "/ship_to/country")] {
        if !a.country.eq_ignore_ascii_case("US") {
            return Err(CarrierError::Rejected {
                carrier: SLUG,
                code: "NOT_DOMESTIC".into(),
                message: format!("USPS in Waybill ships within the US only, not from or to {}", a.country),
                field: Some(pointer.into()),
            });
        }
    }
    Ok(())
}

/// A USPS amount (a JSON number, sometimes a string) as a decimal.
fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => {
            Decimal::from_str(&n.to_string()).or_else(|_| Decimal::from_scientific(&n.to_string())).ok()
        }
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

fn usd(amount: &Value) -> Result<Money, CarrierError> {
    let amount = decimal(amount).ok_or_else(|| protocol(format!("price `{amount}` is not a decimal")))?;
    Ok(Money::new(amount, "USD".parse().map_err(protocol)?))
}

#[derive(Deserialize)]
struct UspsErrorBody {
    error: Option<UspsError>,
}

#[derive(Deserialize)]
struct UspsError {
    code: Option<Value>,
    message: Option<String>,
    #[serde(default)]
    errors: Vec<UspsErrorItem>,
}

#[derive(Deserialize)]
struct UspsErrorItem {
    code: Option<Value>,
    title: Option<String>,
    detail: Option<String>,
    source: Option<Value>,
}

fn code_text(v: &Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// USPS's own account of a failure: the first detailed error's code when there is one, else the
/// top-level code; the message joins the top-level message and the detail.
fn fault(_: u16, body: &[u8]) -> Option<CarrierFault> {
    let e = serde_json::from_slice::<UspsErrorBody>(body).ok()?.error?;
    let first = e.errors.first();
    let code = first.and_then(|i| code_text(&i.code)).or_else(|| code_text(&e.code))?;
    let detail = first.and_then(|i| i.detail.clone().or(i.title.clone()));
    let message = match (e.message, detail) {
        (Some(m), Some(d)) if m != d => format!("{m}: {d}"),
        (Some(m), _) => m,
        (None, Some(d)) => d,
        (None, None) => String::new(),
    };
    let field = first
        .and_then(|i| i.source.as_ref())
        .and_then(|s| s.get("parameter").or_else(|| s.get("pointer")))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some(CarrierFault { code, message, field })
}

/// Reads a USPS JSON answer through [`read_answer`] with USPS's error body (the payment
/// answer, which has no public parser).
async fn read<T: for<'de> Deserialize<'de>>(
    response: reqwest::Response,
    what: &str,
    repeatable: Repeatable,
) -> Result<T, CarrierError> {
    read_answer(SLUG, response, what, repeatable, fault).await
}

/// A USPS 2xx body, unread, for the `parse_…_answer` functions; error statuses keep USPS's code
/// and message.
async fn answer_body(response: reqwest::Response, what: &str, repeatable: Repeatable) -> Result<Vec<u8>, CarrierError> {
    read_body(SLUG, response, what, repeatable, fault).await
}

fn json<T: for<'de> Deserialize<'de>>(body: &[u8], what: &str) -> Result<T, CarrierError> {
    serde_json::from_slice(body).map_err(|e| protocol(format!("unexpected {what} answer: {e}")))
}

// ---------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------

/// Pounds with one decimal, rounded up so the weight is never under-declared (min 0.1).
pub fn pounds(weight_g: u64) -> Decimal {
    let lb = Decimal::from(weight_g) / Decimal::new(45_359_237, 5);
    lb.round_dp_with_strategy(1, RoundingStrategy::ToPositiveInfinity).max(Decimal::new(1, 1)).normalize()
}

/// Inches with one decimal, rounded up.
pub fn inches(mm: u64) -> Decimal {
    (Decimal::from(mm) / Decimal::new(254, 1))
        .round_dp_with_strategy(1, RoundingStrategy::ToPositiveInfinity)
        .normalize()
}

fn number(d: Decimal) -> Value {
    d.to_string().parse::<f64>().map(|f| json!(f)).unwrap_or(Value::Null)
}

/// ZIP code: the first five digits of the postcode.
fn zip(a: &Address) -> String {
    a.postal_code.chars().filter(char::is_ascii_digit).take(5).collect()
}

fn label_address(a: &Address) -> Value {
    let name = a.name.trim();
    let (first, last) = name.rsplit_once(' ').unwrap_or(("", name));
    let mut v = json!({
        "firstName": first.trim(),
        "lastName": last,
        "streetAddress": a.street1,
        "city": a.city,
        "state": a.state.as_deref().unwrap_or_default(),
        "ZIPCode": zip(a),
    });
    let plus4: String = a.postal_code.chars().filter(char::is_ascii_digit).skip(5).take(4).collect();
    if plus4.len() == 4 {
        v["ZIPPlus4"] = json!(plus4);
    }
    if let Some(s) = a.street2.as_deref().filter(|s| !s.trim().is_empty()) {
        v["secondaryAddress"] = json!(s);
    }
    if let Some(c) = &a.company {
        v["firm"] = json!(c);
    }
    if let Some(p) = &a.phone {
        let digits: String = p.chars().filter(char::is_ascii_digit).collect();
        v["phone"] = json!(digits.strip_prefix('1').filter(|_| digits.len() == 11).unwrap_or(&digits));
    }
    if let Some(e) = &a.email {
        v["email"] = json!(e);
    }
    v
}

fn dimensions(p: &Parcel, v: &mut Value) {
    let (l, w, h) = p.dimensions_mm.map(|d| (inches(d.length), inches(d.width), inches(d.height))).unwrap_or_default();
    v["dimensionsUOM"] = json!("in");
    v["length"] = number(l);
    v["width"] = number(w);
    v["height"] = number(h);
}

fn today() -> String {
    chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string()
}

// ---------------------------------------------------------------------------------------------
// Label answers
// ---------------------------------------------------------------------------------------------

/// The label's metadata part (Domestic Labels 3.0 `labelMetadata`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LabelMetadata {
    tracking_number: Option<String>,
    postage: Option<Value>,
    routing_information: Option<String>,
    commitment: Option<Commitment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Commitment {
    schedule_delivery_date: Option<String>,
}

/// One part of a multipart answer: its headers (names in lower case) and body.
struct Part<'a> {
    headers: Vec<(String, String)>,
    body: &'a [u8],
}

impl Part<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The `name` of `Content-Disposition`, when given.
    fn name(&self) -> Option<&str> {
        let d = self.header("content-disposition")?;
        d.split(';').find_map(|p| p.trim().strip_prefix("name=")).map(|n| n.trim_matches('"'))
    }

    fn is_json(&self) -> bool {
        self.header("content-type").is_some_and(|t| t.to_ascii_lowercase().contains("json"))
    }
}

/// The `boundary` parameter of a multipart `Content-Type`.
fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case("boundary").then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..].windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

/// Splits a multipart body into its parts. `None` unless the closing delimiter is there: an
/// answer without it was cut off.
fn multipart<'a>(body: &'a [u8], boundary: &str) -> Option<Vec<Part<'a>>> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut at = find(body, delimiter, 0)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body[at..].starts_with(b"--") {
            return Some(parts);
        }
        let next = find(body, delimiter, at)?;
        let mut chunk = &body[at..next];
        // The line break after the delimiter, and the one before the next belong to the delimiters.
        chunk = chunk.strip_prefix(b"\r\n").or_else(|| chunk.strip_prefix(b"\n")).unwrap_or(chunk);
        chunk = chunk.strip_suffix(b"\r\n").or_else(|| chunk.strip_suffix(b"\n")).unwrap_or(chunk);
        let (head, content) = match (find(chunk, b"\r\n\r\n", 0), find(chunk, b"\n\n", 0)) {
            (Some(i), Some(j)) if j < i => (&chunk[..j], &chunk[j + 2..]),
            (Some(i), _) => (&chunk[..i], &chunk[i + 4..]),
            (None, Some(j)) => (&chunk[..j], &chunk[j + 2..]),
            (None, None) => (chunk, &chunk[chunk.len()..]),
        };
        let headers = String::from_utf8_lossy(head)
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        parts.push(Part { headers, body: content });
        at = next + delimiter.len();
    }
}

/// The label bytes: USPS sends the image base64-encoded; anything that is not base64 is kept as
/// sent (a raw ZPL document).
fn label_bytes(body: &[u8]) -> Vec<u8> {
    let text: Vec<u8> = body.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(&text).unwrap_or_else(|_| body.to_vec())
}

/// Reads a label answer: `multipart/mixed` (or `form-data`) with the metadata and label parts, or a
/// JSON answer with `labelMetadata` and a base64 `labelImage`. `content_type` is the answer's
/// header and `service` the mail class asked for. USPS has made the label when it answers 2xx, so
/// the HTTP path turns what this cannot read into `Unknown`.
pub fn parse_label_answer(content_type: &str, body: &[u8], service: &str) -> Result<Booking, CarrierError> {
    let (metadata, label): (Value, Vec<u8>) = if content_type.to_ascii_lowercase().starts_with("multipart/") {
        let boundary = boundary(content_type).ok_or_else(|| protocol("the label answer has no multipart boundary"))?;
        let parts =
            multipart(body, &boundary).ok_or_else(|| protocol("the label answer was cut off (no closing boundary)"))?;
        let meta = parts
            .iter()
            .find(|p| p.name() == Some("labelMetadata"))
            .or_else(|| parts.iter().find(|p| p.is_json()))
            .ok_or_else(|| protocol("the label answer has no labelMetadata part"))?;
        let image = parts
            .iter()
            .find(|p| p.name() == Some("labelImage"))
            .or_else(|| parts.iter().find(|p| !p.is_json() && p.name() != Some("receiptImage")))
            .ok_or_else(|| protocol("the label answer has no label image part"))?;
        let metadata =
            serde_json::from_slice(meta.body).map_err(|e| protocol(format!("unreadable labelMetadata: {e}")))?;
        (metadata, label_bytes(image.body))
    } else {
        let v: Value = serde_json::from_slice(body).map_err(|e| protocol(format!("unreadable label answer: {e}")))?;
        let image = v
            .get("labelImage")
            .and_then(Value::as_str)
            .ok_or_else(|| protocol("the label answer has no labelImage"))?;
        (v.get("labelMetadata").cloned().unwrap_or(Value::Null), label_bytes(image.as_bytes()))
    };
    let meta: LabelMetadata =
        serde_json::from_value(metadata).map_err(|e| protocol(format!("unreadable labelMetadata: {e}")))?;
    let tracking_number = meta
        .tracking_number
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| protocol("the label answer has no trackingNumber"))?;
    if label.is_empty() {
        return Err(protocol("the label answer has an empty label image"));
    }
    let charge = meta.postage.as_ref().map(usd).transpose()?;
    let edd = meta
        .commitment
        .and_then(|c| c.schedule_delivery_date)
        .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());
    if let Some(r) = &meta.routing_information {
        tracing::debug!(carrier = SLUG, routing = %r, "USPS routing information");
    }
    Ok(Booking {
        carrier_shipment_id: tracking_number.clone(),
        tracking_number,
        service: service.to_owned(),
        charge,
        edd,
        routing: None,
        documents: vec![CarrierDocument { format: "zpl", bytes: label }],
    })
}

// ---------------------------------------------------------------------------------------------
// Tracking answers
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct TrackingEvent {
    event_type: Option<String>,
    event_code: Option<String>,
    event_timestamp: Option<String>,
    #[serde(rename = "GMTTimestamp")]
    gmt_timestamp: Option<String>,
    #[serde(rename = "GMTOffset")]
    gmt_offset: Option<String>,
    event_city: Option<String>,
    event_state: Option<String>,
    #[serde(rename = "eventZIPCode")]
    event_zip_code: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// `+hh:mm` / `-hh:mm` as an offset.
fn offset(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'-' => (-1, &s[1..]),
        b'+' => (1, &s[1..]),
        _ => (1, s),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m) = (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?);
    // Anything past a day is no offset (and would overflow the seconds).
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// The event time: an RFC 3339 timestamp as given; a local time without offset takes `GMTOffset`
/// when USPS sends one, else it is read as UTC wall time.
fn event_time(e: &TrackingEvent) -> Option<DateTime<FixedOffset>> {
    let ts = e.event_timestamp.as_deref().or(e.gmt_timestamp.as_deref())?.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(ts) {
        return Some(t);
    }
    let naive = NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M"))
        .ok()?;
    let offset = e.gmt_offset.as_deref().and_then(offset).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"));
    offset.from_local_datetime(&naive).single()
}

fn scan_from(raw: Value) -> Option<Scan> {
    let event: TrackingEvent = serde_json::from_value(raw.clone()).unwrap_or_default();
    let Some(at) = event_time(&event) else {
        tracing::warn!(carrier = SLUG, event = %raw, "USPS tracking event without a readable time; skipped");
        return None;
    };
    let code = non_empty(event.event_code.clone()).unwrap_or_default();
    let status = status_for(&code).unwrap_or_else(|| {
        tracing::warn!(carrier = SLUG, code = %code, "unknown USPS event code, read as in_transit");
        UNKNOWN_CODE_STATUS
    });
    let ndr_reason = (status == TrackingStatus::DeliveryFailed).then(|| failure_reason(&code));
    let location = [event.event_city, event.event_state, event.event_zip_code]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    Some(Scan {
        event_id: None,
        reason_code: None,
        code,
        status,
        ndr_reason,
        description: non_empty(event.event_type).unwrap_or_default(),
        location: (!location.is_empty()).then_some(location),
        occurred_at: at,
        raw,
    })
}

// ---------------------------------------------------------------------------------------------
// Answer parsers (public so they can be fuzzed; the HTTP paths below call them)
// ---------------------------------------------------------------------------------------------

/// Reads one Domestic Prices search answer (`rateOptions[]`): the cheapest price of each mail
/// class, in mail class order.
pub fn parse_rates_answer(body: &[u8]) -> Result<Vec<Rate>, CarrierError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        #[serde(default)]
        rate_options: Vec<RateOption>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RateOption {
        total_price: Option<Value>,
        total_base_price: Option<Value>,
        #[serde(default)]
        rates: Vec<Value>,
    }
    let answer: Answer = json(body, "rates")?;
    let mut cheapest: BTreeMap<String, Decimal> = BTreeMap::new();
    for option in answer.rate_options {
        let Some(class) = option.rates.iter().find_map(|r| r.get("mailClass").and_then(Value::as_str)) else {
            continue;
        };
        let Some(price) = option.total_price.as_ref().or(option.total_base_price.as_ref()) else { continue };
        let price = decimal(price).ok_or_else(|| protocol(format!("price `{price}` is not a decimal")))?;
        let e = cheapest.entry(class.to_owned()).or_insert(price);
        *e = (*e).min(price);
    }
    cheapest
        .into_iter()
        .map(|(service, amount)| Ok(Rate { service, charge: usd(&json!(amount.to_string()))?, transit_days: None }))
        .collect()
}

/// Reads a label cancel answer: a `status` that says rejected or denied is USPS refusing in a 2xx.
pub fn parse_cancel_answer(body: &[u8]) -> Result<(), CarrierError> {
    let answer: Value = json(body, "cancel")?;
    let status = answer.get("status").and_then(Value::as_str).unwrap_or_default().to_ascii_uppercase();
    if status.contains("REJECT") || status.contains("DENIED") {
        return Err(CarrierError::Rejected {
            carrier: SLUG,
            code: status,
            message: answer
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("USPS did not cancel the label")
                .to_owned(),
            field: None,
        });
    }
    Ok(())
}

/// Reads a Tracking 3.0 answer: every `trackingEvents[]` entry with a readable time, in USPS's order.
pub fn parse_tracking_answer(body: &[u8]) -> Result<Vec<Scan>, CarrierError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        #[serde(default)]
        tracking_events: Vec<Value>,
    }
    let answer: Answer = json(body, "tracking")?;
    Ok(answer.tracking_events.into_iter().filter_map(scan_from).collect())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddressAnswer {
    firm: Option<String>,
    address: Option<StandardAddress>,
    additional_info: Option<AdditionalInfo>,
    #[serde(default)]
    corrections: Vec<AddressNote>,
    #[serde(default)]
    warnings: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StandardAddress {
    street_address: Option<String>,
    secondary_address: Option<String>,
    city: Option<String>,
    state: Option<String>,
    #[serde(rename = "ZIPCode")]
    zip_code: Option<String>,
    #[serde(rename = "ZIPPlus4")]
    zip_plus4: Option<String>,
}

#[derive(Deserialize)]
struct AdditionalInfo {
    #[serde(rename = "DPVConfirmation")]
    dpv_confirmation: Option<String>,
    business: Option<String>,
}

#[derive(Deserialize)]
struct AddressNote {
    code: Option<Value>,
    text: Option<String>,
}

/// USPS `DPVConfirmation` → verdict: Y confirmed; D (secondary missing) and S (secondary not
/// confirmed) leave the unit open, so the merchant must pick; N (or none) is not deliverable.
const DPV_VERDICTS: &[(&str, AddressVerdict)] = &[
    ("Y", AddressVerdict::Valid),
    ("D", AddressVerdict::Ambiguous),
    ("S", AddressVerdict::Ambiguous),
    ("N", AddressVerdict::Invalid),
];

/// An address with nothing known, for reading an answer without the address asked about.
/// Reads an Addresses 3.0 answer (`asked`, when given, fills what USPS does not return): the standardized address is the one candidate,
/// `additionalInfo.DPVConfirmation` the verdict ([`DPV_VERDICTS`]), `business` Y/N the
/// classification, and `corrections[].text` and `warnings[]` the messages.
pub fn parse_address_answer(body: &[u8], asked: Option<&Address>) -> Result<AddressCheck, CarrierError> {
    let asked = &asked.cloned().unwrap_or_default();
    let answer: AddressAnswer = json(body, "address")?;
    let info = answer.additional_info;
    let dpv = info.as_ref().and_then(|i| i.dpv_confirmation.as_deref()).map(str::trim).unwrap_or_default();
    let verdict = DPV_VERDICTS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(dpv))
        .map(|(_, v)| *v)
        .unwrap_or(AddressVerdict::Invalid);
    let classification = match info.as_ref().and_then(|i| i.business.as_deref()).map(str::trim) {
        Some(b) if b.eq_ignore_ascii_case("Y") => AddressClass::Commercial,
        Some(b) if b.eq_ignore_ascii_case("N") => AddressClass::Residential,
        _ => AddressClass::Unknown,
    };
    let mut messages: Vec<String> =
        answer.corrections.iter().filter_map(|c| non_empty(c.text.clone()).or_else(|| code_text(&c.code))).collect();
    messages.extend(answer.warnings.iter().map(|w| w.as_str().map(str::to_owned).unwrap_or_else(|| w.to_string())));
    messages.retain(|m| !m.trim().is_empty());
    let candidates = answer
        .address
        .map(|a| {
            let zip5 = non_empty(a.zip_code).unwrap_or_else(|| asked.postal_code.clone());
            Address {
                company: non_empty(answer.firm).or_else(|| asked.company.clone()),
                street1: non_empty(a.street_address).unwrap_or_else(|| asked.street1.clone()),
                street2: non_empty(a.secondary_address),
                city: non_empty(a.city).unwrap_or_else(|| asked.city.clone()),
                state: non_empty(a.state).or_else(|| asked.state.clone()),
                postal_code: match non_empty(a.zip_plus4) {
                    Some(plus4) => format!("{zip5}-{plus4}"),
                    None => zip5,
                },
                country: "US".into(),
                ..asked.clone()
            }
        })
        .into_iter()
        .collect();
    Ok(AddressCheck { verdict, classification, candidates, messages })
}

#[async_trait::async_trait]
impl Carrier for Usps {
    fn info(&self) -> &CarrierInfo {
        &self.info
    }

    async fn rate(&self, account: &Account<'_>, request: &RateRequest) -> Result<Vec<Rate>, CarrierError> {
        domestic_only(&request.ship_from, &request.ship_to)?;
        // One search per parcel; a service is offered when every parcel can go by it.
        let mut totals: BTreeMap<String, (Decimal, usize)> = BTreeMap::new();
        for parcel in &request.parcels {
            let mut body = json!({
                "originZIPCode": zip(&request.ship_from),
                "destinationZIPCode": zip(&request.ship_to),
                "weight": number(pounds(parcel.weight_g)),
                "mailClasses": SERVICES.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
                "priceType": PRICE_TYPE,
                "mailingDate": today(),
                "accountType": ACCOUNT_TYPE,
                "accountNumber": credential(account, "account_number"),
            });
            dimensions(parcel, &mut body);
            let http = self.http.client(account).clone();
            let target = url(account, RATES_PATH);
            let build = move || http.post(&target).json(&body);
            let answer =
                answer_body(self.oauth.call(account, build, Repeatable::Yes).await?, "rates", Repeatable::Yes).await?;
            let cheapest = parse_rates_answer(&answer).map_err(|e| after_accept(Repeatable::Yes, e))?;
            for rate in cheapest {
                let e = totals.entry(rate.service).or_insert((Decimal::ZERO, 0));
                e.0 += rate.charge.amount;
                e.1 += 1;
            }
        }
        totals
            .into_iter()
            .filter(|(_, (_, n))| *n == request.parcels.len())
            .map(|(service, (amount, _))| {
                if service_name(&service).is_none() {
                    tracing::warn!(carrier = SLUG, service = %service, "USPS priced a mail class Waybill does not list");
                }
                Ok(Rate { service, charge: usd(&json!(amount.to_string()))?, transit_days: None })
            })
            .collect()
    }

    async fn book(&self, account: &Account<'_>, request: &BookingRequest) -> Result<Booking, CarrierError> {
        domestic_only(&request.ship_from, &request.ship_to)?;
        let refuse = |code: &str, message: &str, field: &str| CarrierError::Rejected {
            carrier: SLUG,
            code: code.into(),
            message: message.into(),
            field: Some(field.into()),
        };
        if request.cod.is_some() {
            return Err(refuse("COD_NOT_SUPPORTED", "cash on delivery is not supported for USPS", "/cod"));
        }
        let [parcel] = request.parcels.as_slice() else {
            return Err(refuse(
                "ONE_PARCEL_PER_LABEL",
                "a USPS booking is one label: book one parcel at a time",
                "/parcels",
            ));
        };
        let mut package = json!({
            "mailClass": request.service,
            "rateIndicator": RATE_INDICATOR,
            "weightUOM": "lb",
            "weight": number(pounds(parcel.weight_g)),
            "processingCategory": PROCESSING_CATEGORY,
            "mailingDate": today(),
            "destinationEntryFacilityType": DESTINATION_ENTRY,
            "customerReference": [{"referenceNumber": request.reference, "printReferenceNumber": true}],
        });
        dimensions(parcel, &mut package);
        let body = json!({
            "imageInfo": {"imageType": LABEL_IMAGE_TYPE, "labelType": LABEL_TYPE, "receiptOption": "NONE"},
            "toAddress": label_address(&request.ship_to),
            "fromAddress": label_address(&request.ship_from),
            "packageDescription": package,
        });
        let http = self.http.client(account).clone();
        let target = url(account, LABEL_PATH);
        let build = move || http.post(&target).json(&body);
        let response = self.paid_call(account, build, Repeatable::No).await?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = answer_body(response, "label", Repeatable::No).await?;
        parse_label_answer(&content_type, &body, &request.service).map_err(|e| after_accept(Repeatable::No, e))
    }

    async fn find_booking(&self, _account: &Account<'_>, _reference: &str) -> Result<Option<Booking>, CarrierError> {
        Err(CarrierError::Rejected {
            carrier: SLUG,
            code: "UNSUPPORTED".into(),
            message: "USPS cannot look up a label by reference; check the USPS account by hand".into(),
            field: None,
        })
    }

    async fn cancel(&self, account: &Account<'_>, booking: &BookedRef<'_>) -> Result<(), CarrierError> {
        let http = self.http.client(account).clone();
        let target = format!("{}/{}", url(account, LABEL_PATH), booking.tracking_number);
        let build = move || http.delete(&target);
        // Cancelling twice does no harm (the second is refused), so a timeout may be retried.
        let what = format!("label {}", booking.tracking_number);
        let answer =
            answer_body(self.paid_call(account, build, Repeatable::Yes).await?, &what, Repeatable::Yes).await?;
        parse_cancel_answer(&answer).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    async fn track(&self, account: &Account<'_>, tracking_number: &str) -> Result<Vec<Scan>, CarrierError> {
        let http = self.http.client(account).clone();
        let target = format!("{}/{tracking_number}", url(account, TRACK_PATH));
        let build = move || http.get(&target).query(&[("expand", "DETAIL")]);
        let what = format!("tracking number {tracking_number}");
        let answer =
            answer_body(self.oauth.call(account, build, Repeatable::Yes).await?, &what, Repeatable::Yes).await?;
        parse_tracking_answer(&answer).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    async fn validate_address(&self, account: &Account<'_>, asked: &Address) -> Result<AddressCheck, CarrierError> {
        if !asked.country.eq_ignore_ascii_case("US") {
            return Err(CarrierError::Rejected {
                carrier: SLUG,
                code: "NOT_DOMESTIC".into(),
                message: format!("USPS validates US addresses only, not addresses in {}", asked.country),
                field: Some("/country".into()),
            });
        }
        let mut query = vec![("streetAddress", asked.street1.clone()), ("city", asked.city.clone())];
        if let Some(secondary) = asked.street2.as_deref().filter(|s| !s.trim().is_empty()) {
            query.push(("secondaryAddress", secondary.to_owned()));
        }
        if let Some(state) = asked.state.as_deref().filter(|s| !s.trim().is_empty()) {
            query.push(("state", state.to_owned()));
        }
        let zip5 = zip(asked);
        if !zip5.is_empty() {
            query.push(("ZIPCode", zip5));
        }
        let http = self.http.client(account).clone();
        let target = url(account, ADDRESS_PATH);
        let build = move || http.get(&target).query(&query);
        let answer =
            answer_body(self.oauth.call(account, build, Repeatable::Yes).await?, "address", Repeatable::Yes).await?;
        parse_address_answer(&answer, Some(asked)).map_err(|e| after_accept(Repeatable::Yes, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_up_and_tables_are_consistent() {
        assert_eq!(pounds(1250).to_string(), "2.8");
        assert_eq!(pounds(453).to_string(), "1");
        assert_eq!(pounds(10).to_string(), "0.1");
        assert_eq!(inches(300).to_string(), "11.9");
        assert_eq!(inches(254).to_string(), "10");
        for (code, status) in STATUSES {
            assert_eq!(status_for(code), Some(*status));
        }
        for (code, _) in FAILURE_REASONS {
            assert_eq!(status_for(code), Some(TrackingStatus::DeliveryFailed), "{code}");
        }
        assert_eq!(boundary("multipart/mixed; boundary=\"abc\""), Some("abc".into()));
    }

    #[test]
    fn multipart_needs_its_closing_delimiter() {
        let body =
            b"--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b\r\nContent-Type: x\r\n\r\n^XA^XZ\r\n--b--\r\n";
        let parts = multipart(body, "b").expect("parts");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].body, b"^XA^XZ");
        assert!(multipart(&body[..body.len() - 8], "b").is_none());
    }
}
