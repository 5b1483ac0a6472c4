//! `fedex`: FedEx over its REST APIs (developer.fedex.com), following FedEx's published OpenAPI
//! documents as served on developer.fedex.com and stored verbatim in `ToolJet/ToolJet`
//! `marketplace/plugins/fedex/openapi-specs/`: `ship.json` (Ship API 1.0.0, commit `435518c0`:
//! `POST /ship/v1/shipments`, `PUT /ship/v1/shipments/cancel`), `rates-and-transit-times.json`
//! (Rate API 1.0.0, commit `913658b5`: `POST /rate/v1/rates/quotes`) and
//! `tracking-basic-integrated-visibility-.json` ("Basic Integrated Visibility", formerly Track API
//! 1.0.0, commit `913658b5`: `POST /track/v1/trackingnumbers`, `POST /track/v1/referencenumbers`,
//! and the error shape `{"transactionId", "errors": [{"code", "message"}]}`),
//! `address-validation.json` (Address Validation API 1.0.0, commit `435518c0`:
//! `POST /address/v1/addresses/resolve`, `addressesToValidate[].address` → `output.resolvedAddresses[]`
//! with `classification` and `attributes`, `output.alerts[]`) and `pickup-request.json` (Pickup Request
//! API 1.0.0, commit `f906abf5`: `POST /pickup/v1/pickups` with `associatedAccountNumber`, `carrierCode`
//! and `originDetail` (`pickupLocation`, `readyDateTimestamp` and `customerCloseTime` local to the
//! pickup, no zone), `totalWeight` in LB and `packageCount` → `output.pickupConfirmationCode`,
//! `location`), plus FedEx's
//! API Authorization page (`POST /oauth/token`, form `grant_type=client_credentials`,
//! `client_id`, `client_secret` → `access_token`, `expires_in` in seconds).
//!
//! Auth is OAuth2 client credentials sent as a form. Tokens are cached per account and refreshed
//! [`TOKEN_MARGIN`] before they expire; concurrent calls share one token fetch (a per-account
//! async lock is held while fetching). A 401 on an API call drops the cached token and the call
//! is sent once more with a fresh one.
//!
//! Labels are requested as ZPLII on 4x6 stock and returned as a `zpl` document (a PDF label, if
//! FedEx sends one, is kept as `pdf`); Waybill renders other formats itself. Our reference goes
//! into every package's `customerReferences` (`CUSTOMER_REFERENCE`), which is what
//! `find_booking` searches by. Cash on delivery is not implemented (`cash_on_delivery: false`; a
//! COD booking is refused before any call). Pushes are not supported yet (FedEx webhooks need a
//! separate Advanced Integrated Visibility project), so `subscribe` does nothing and `parse_push`
//! refuses every push.
//!
//! FedEx's REST documents list no delivery-exception (`exceptionCode`) values, so the reason for a
//! failed delivery (`DE`) is read from `exceptionDescription` phrases ([`DELIVERY_EXCEPTION_HINTS`]);
//! anything else is `other`.

use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use chrono::DateTime;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;
use serde_json::{Value, json};
use waybill_core::{Address, Money, NdrReason, Parcel, TrackingStatus};
use waybill_outbound::Outbound;

use crate::http::{CarrierFault, Http, Repeatable, after_accept, read_body};
use crate::model::*;
use crate::oauth::{Flow, OAuth, bearer_token};
use crate::{Carrier, CarrierError};

const SLUG: &str = "fedex";

const TOKEN_PATH: &str = "/oauth/token";
const RATE_PATH: &str = "/rate/v1/rates/quotes";
const SHIP_PATH: &str = "/ship/v1/shipments";
const CANCEL_PATH: &str = "/ship/v1/shipments/cancel";
/// Ground End of Day Close (FedEx's "close" API): reconciles the day's Ground shipments.
const CLOSE_PATH: &str = "/ship/v1/endofday/";
const TRACK_PATH: &str = "/track/v1/trackingnumbers";
const TRACK_REFERENCE_PATH: &str = "/track/v1/referencenumbers";
const ADDRESS_PATH: &str = "/address/v1/addresses/resolve";
const PICKUP_PATH: &str = "/pickup/v1/pickups";

/// A cached token is replaced this long before FedEx says it expires.
pub const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// FedEx `serviceType` → name (ship.json / rates-and-transit-times.json service types). The codes
/// are Waybill's service codes for this carrier.
const SERVICES: &[(&str, &str)] = &[
    ("FEDEX_GROUND", "FedEx Ground"),
    ("GROUND_HOME_DELIVERY", "FedEx Home Delivery"),
    ("FEDEX_2_DAY", "FedEx 2Day"),
    ("FEDEX_2_DAY_AM", "FedEx 2Day AM"),
    ("FEDEX_EXPRESS_SAVER", "FedEx Express Saver"),
    ("STANDARD_OVERNIGHT", "FedEx Standard Overnight"),
    ("PRIORITY_OVERNIGHT", "FedEx Priority Overnight"),
    ("FIRST_OVERNIGHT", "FedEx First Overnight"),
    ("INTERNATIONAL_ECONOMY", "FedEx International Economy"),
    ("INTERNATIONAL_PRIORITY", "FedEx International Priority"),
    ("FEDEX_INTERNATIONAL_PRIORITY", "FedEx International Priority"),
    ("INTERNATIONAL_FIRST", "FedEx International First"),
    ("FEDEX_INTERNATIONAL_CONNECT_PLUS", "FedEx International Connect Plus"),
];

/// Track `scanEvents[].eventType` (or, without one, `derivedStatusCode`) → normalized status.
/// Codes as in the Track API's event type list; the first column is what is kept as the scan code.
const STATUSES: &[(&str, TrackingStatus)] = &[
    ("OC", TrackingStatus::InfoReceived), // order created / shipment information sent to FedEx
    ("IN", TrackingStatus::InfoReceived), // initiated (label created)
    ("PU", TrackingStatus::PickedUp),     // picked up
    ("PX", TrackingStatus::PickedUp),     // picked up (see details)
    ("IT", TrackingStatus::InTransit),    // in transit
    ("AR", TrackingStatus::InTransit),    // arrived at a FedEx location
    ("DP", TrackingStatus::InTransit),    // departed a FedEx location
    ("AF", TrackingStatus::InTransit),    // at a FedEx facility
    ("FD", TrackingStatus::InTransit),    // at FedEx destination
    ("OF", TrackingStatus::InTransit),    // at FedEx origin facility
    ("LO", TrackingStatus::InTransit),    // left origin
    ("AA", TrackingStatus::InTransit),    // at airport
    ("PL", TrackingStatus::InTransit),    // plane landed
    ("PF", TrackingStatus::InTransit),    // plane in flight
    ("EA", TrackingStatus::InTransit),    // enroute to airport
    ("ED", TrackingStatus::InTransit),    // enroute to delivery
    ("CC", TrackingStatus::InTransit),    // cleared customs
    ("CP", TrackingStatus::InTransit),    // clearance in progress
    ("AE", TrackingStatus::InTransit),    // shipment arriving early
    ("AO", TrackingStatus::InTransit),    // shipment arriving on time
    ("DY", TrackingStatus::InTransit),    // delay
    ("DD", TrackingStatus::InTransit),    // delivery delay
    ("OD", TrackingStatus::OutForDelivery), // on FedEx vehicle for delivery
    ("DL", TrackingStatus::Delivered),    // delivered
    ("DE", TrackingStatus::DeliveryFailed), // delivery exception (see DELIVERY_EXCEPTION_HINTS)
    ("SE", TrackingStatus::Exception),    // shipment exception
    ("CD", TrackingStatus::Exception),    // clearance delay
    ("CA", TrackingStatus::Cancelled),    // shipment cancelled
    ("RS", TrackingStatus::ReturnToOrigin), // return to shipper
    ("HL", TrackingStatus::AvailableForPickup), // hold at location
    ("HP", TrackingStatus::AvailableForPickup), // ready for recipient pickup
];

/// A `DE` event whose `exceptionDescription` contains one of these (lower-case) phrases failed for
/// that reason; the first match wins, no match is `other`.
const DELIVERY_EXCEPTION_HINTS: &[(&str, NdrReason)] = &[
    ("not available", NdrReason::CustomerUnavailable),
    ("recipient not in", NdrReason::CustomerUnavailable),
    ("no one", NdrReason::CustomerUnavailable),
    ("business closed", NdrReason::PremisesClosed),
    ("business was closed", NdrReason::PremisesClosed),
    ("refused", NdrReason::Refused),
    ("incorrect address", NdrReason::AddressIssue),
    ("address is incorrect", NdrReason::AddressIssue),
    ("incomplete address", NdrReason::AddressIssue),
    ("unable to locate", NdrReason::AddressIssue),
    ("future delivery", NdrReason::RescheduledByCustomer),
    ("requested delivery on another date", NdrReason::RescheduledByCustomer),
    ("c.o.d.", NdrReason::CodNotReady),
    ("cod ", NdrReason::CodNotReady),
    ("outside", NdrReason::OutOfServiceArea),
];

/// An event code the table does not know is kept and logged, and read as `in_transit`: the state
/// machine never lets that move a shipment backwards, and nothing is dropped.
const UNKNOWN_CODE_STATUS: TrackingStatus = TrackingStatus::InTransit;

/// FedEx error codes (track results) that mean "no such tracking or reference number".
const NOT_FOUND_CODES: &[&str] =
    &["TRACKING.TRACKINGNUMBER.NOTFOUND", "TRACKING.REFERENCENUMBER.NOTFOUND", "TRACKING.DATA.NOTFOUND"];

/// Label document types FedEx can return → the document format Waybill serves.
const LABEL_FORMATS: &[(&str, &str)] = &[("ZPLII", "zpl"), ("ZPL", "zpl"), ("PDF", "pdf"), ("PNG", "png")];

/// What a booking asks FedEx for: ZPLII on 4x6 thermal stock.
const LABEL_IMAGE_TYPE: &str = "ZPLII";
const LABEL_STOCK_TYPE: &str = "STOCK_4X6";

/// Rate `operationalDetail.transitTime` words → days.
const TRANSIT_TIMES: &[(&str, u32)] = &[
    ("ONE_DAY", 1),
    ("TWO_DAYS", 2),
    ("THREE_DAYS", 3),
    ("FOUR_DAYS", 4),
    ("FIVE_DAYS", 5),
    ("SIX_DAYS", 6),
    ("SEVEN_DAYS", 7),
    ("EIGHT_DAYS", 8),
    ("NINE_DAYS", 9),
    ("TEN_DAYS", 10),
    ("ELEVEN_DAYS", 11),
    ("TWELVE_DAYS", 12),
    ("THIRTEEN_DAYS", 13),
    ("FOURTEEN_DAYS", 14),
    ("FIFTEEN_DAYS", 15),
];

pub fn status_for(code: &str) -> Option<TrackingStatus> {
    STATUSES.iter().find(|(c, _)| *c == code).map(|(_, s)| *s)
}

pub fn service_name(code: &str) -> Option<&'static str> {
    SERVICES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The reason for a delivery exception, read from its description; `other` when none matches.
pub fn delivery_exception_reason(description: &str) -> NdrReason {
    let d = description.to_lowercase();
    DELIVERY_EXCEPTION_HINTS.iter().find(|(hint, _)| d.contains(hint)).map(|(_, r)| *r).unwrap_or(NdrReason::Other)
}

pub struct Fedex {
    http: Http,
    info: CarrierInfo,
    oauth: OAuth,
}

impl Fedex {
    pub fn new(outbound: Outbound) -> Self {
        let info = CarrierInfo {
            slug: SLUG,
            name: "FedEx",
            services: SERVICES.iter().map(|(code, name)| Service { code, name }).collect(),
            capabilities: Capabilities {
                rates: true,
                cancel: true,
                track: true,
                push: false,
                push_at_booking: false,
                find_booking: true,
                cash_on_delivery: false,
                address_validation: true,
                pickup: true,
                pickup_cancel: false,
                manifest: true,
                update: false,
                rto_request: false,
                serviceability: false,
                returns: false,
                ndr: false,
            },
            credentials: CredentialSchema {
                fields: vec![
                    CredentialField {
                        name: "client_id",
                        description: "API key of the FedEx Developer Portal project",
                        required: true,
                    },
                    CredentialField {
                        name: "client_secret",
                        description: "Secret key of the FedEx Developer Portal project",
                        required: true,
                    },
                    CredentialField {
                        name: "account_number",
                        description: "FedEx account number the shipments are billed to",
                        required: true,
                    },
                ],
            },
            test_base_url: Some("https://apis-sandbox.fedex.com"),
            live_base_url: Some("https://apis.fedex.com"),
            carrier_label_formats: vec!["zpl"],
        };
        let http = Http::new(outbound);
        let flow = Flow {
            carrier: SLUG,
            path: TOKEN_PATH,
            request: |req, account| {
                req.form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", credential(account, "client_id")),
                    ("client_secret", credential(account, "client_secret")),
                ])
            },
            fault,
            token: |body| bearer_token(SLUG, body),
            key_fields: &["client_id"],
            margin: TOKEN_MARGIN,
        };
        Self { oauth: OAuth::new(flow, http.clone()), http, info }
    }

    /// A JSON POST/PUT with the headers FedEx's documents list (`x-locale`, `x-customer-transaction-id`).
    fn json_request(
        &self,
        account: &Account<'_>,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> impl Fn() -> reqwest::RequestBuilder {
        let http = self.http.client(account).clone();
        let url = url(account, path);
        move || {
            http.request(method.clone(), &url)
                .header("x-locale", "en_US")
                .header("x-customer-transaction-id", transaction_id())
                .json(&body)
        }
    }
}

fn credential<'a>(account: &Account<'a>, name: &str) -> &'a str {
    account.credentials.get(name).and_then(Value::as_str).unwrap_or_default()
}

fn url(account: &Account<'_>, path: &str) -> String {
    format!("{}{path}", account.base_url.trim_end_matches('/'))
}

/// An id FedEx echoes back as `customerTransactionId`, for matching logs on both sides.
fn transaction_id() -> String {
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("waybill-{nanos:x}")
}

fn protocol(message: impl Into<String>) -> CarrierError {
    CarrierError::Protocol { carrier: SLUG, message: message.into() }
}

/// A FedEx amount (a JSON number, sometimes a string) as a decimal.
fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => {
            Decimal::from_str(&n.to_string()).or_else(|_| Decimal::from_scientific(&n.to_string())).ok()
        }
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

fn money(amount: &Value, currency: &str) -> Result<Money, CarrierError> {
    let amount = decimal(amount).ok_or_else(|| protocol(format!("charge amount `{amount}` is not a decimal")))?;
    let currency = currency.parse().map_err(protocol)?;
    Ok(Money::new(amount, currency))
}

#[derive(Deserialize)]
struct FedexErrorBody {
    #[serde(default)]
    errors: Vec<FedexError>,
}

#[derive(Deserialize, Clone)]
struct FedexError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// FedEx's first `{"errors":[…]}` entry, kept as the carrier's code and message.
fn fault(_: u16, body: &[u8]) -> Option<CarrierFault> {
    serde_json::from_slice::<FedexErrorBody>(body)
        .ok()
        .and_then(|b| b.errors.into_iter().next())
        .map(|e| CarrierFault { code: e.code, message: e.message, field: None })
}

/// A refusal whose code means "no such number" is `NotFound`.
fn not_found(e: CarrierError, what: &str) -> CarrierError {
    match e {
        CarrierError::Rejected { code, .. } if NOT_FOUND_CODES.contains(&code.as_str()) => {
            CarrierError::NotFound { carrier: SLUG, what: what.to_owned() }
        }
        other => other,
    }
}

/// A FedEx 2xx body, unread, for the `parse_…_answer` functions; error statuses become the
/// matching error kind with FedEx's first code and message kept (a "not found" code is `NotFound`).
async fn answer_body(response: reqwest::Response, what: &str, repeatable: Repeatable) -> Result<Vec<u8>, CarrierError> {
    read_body(SLUG, response, what, repeatable, fault).await.map_err(|e| not_found(e, what))
}

fn json<T: for<'de> Deserialize<'de>>(body: &[u8], what: &str) -> Result<T, CarrierError> {
    serde_json::from_slice(body).map_err(|e| protocol(format!("unexpected {what} answer: {e}")))
}

// ---------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------

fn address(a: &Address) -> Value {
    let mut lines = vec![a.street1.as_str()];
    lines.extend(a.street2.as_deref());
    let mut v = json!({
        "streetLines": lines,
        "city": a.city,
        "postalCode": a.postal_code,
        "countryCode": a.country,
    });
    if let Some(state) = &a.state {
        v["stateOrProvinceCode"] = json!(state);
    }
    v
}

/// A shipper or recipient with contact (Ship API `Party`).
fn party(a: &Address) -> Value {
    let mut contact = json!({"personName": a.name, "phoneNumber": a.phone.as_deref().unwrap_or_default()});
    if let Some(company) = &a.company {
        contact["companyName"] = json!(company);
    }
    if let Some(email) = &a.email {
        contact["emailAddress"] = json!(email);
    }
    json!({"contact": contact, "address": address(a)})
}

/// Kilograms with one decimal, rounded up so the weight is never under-declared (min 0.1).
pub fn kgs(weight_g: u64) -> Decimal {
    let kg = Decimal::from(weight_g) / Decimal::from(1000);
    kg.round_dp_with_strategy(1, RoundingStrategy::AwayFromZero).max(Decimal::new(1, 1)).normalize()
}

/// Whole centimetres, rounded up (FedEx dimensions are integers).
fn cm(mm: u64) -> u64 {
    mm.div_ceil(10)
}

fn line_items(parcels: &[Parcel], reference: Option<&str>) -> Vec<Value> {
    parcels
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let weight: f64 = kgs(p.weight_g).to_string().parse().unwrap_or(0.1);
            let mut v = json!({"sequenceNumber": i + 1, "weight": {"units": "KG", "value": weight}});
            if let Some(d) = p.dimensions_mm {
                v["dimensions"] =
                    json!({"length": cm(d.length), "width": cm(d.width), "height": cm(d.height), "units": "CM"});
            }
            if let Some(r) = reference {
                v["customerReferences"] = json!([{"customerReferenceType": "CUSTOMER_REFERENCE", "value": r}]);
            }
            v
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShipAnswer {
    output: ShipOutput,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShipOutput {
    #[serde(default)]
    transaction_shipments: Vec<TransactionShipment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransactionShipment {
    master_tracking_number: Option<String>,
    service_type: Option<String>,
    #[serde(default)]
    piece_responses: Vec<PieceResponse>,
    completed_shipment_detail: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PieceResponse {
    tracking_number: Option<String>,
    #[serde(default)]
    package_documents: Vec<PackageDocument>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PackageDocument {
    doc_type: Option<String>,
    encoded_label: Option<String>,
}

/// The shipment's total net charge from `completedShipmentDetail.shipmentRating`, when given.
fn shipment_charge(detail: &Value) -> Result<Option<Money>, CarrierError> {
    let Some(ratings) = detail.pointer("/shipmentRating/shipmentRateDetails").and_then(Value::as_array) else {
        return Ok(None);
    };
    let Some(r) = ratings.first() else { return Ok(None) };
    match (r.get("totalNetCharge"), r.get("currency").and_then(Value::as_str)) {
        (Some(amount), Some(currency)) => money(amount, currency).map(Some),
        _ => Ok(None),
    }
}

fn booking_from(output: ShipOutput, service: &str) -> Result<Booking, CarrierError> {
    let shipment = output
        .transaction_shipments
        .into_iter()
        .next()
        .ok_or_else(|| protocol("the shipment answer has no transactionShipments"))?;
    let tracking_number = shipment
        .master_tracking_number
        .clone()
        .or_else(|| shipment.piece_responses.iter().find_map(|p| p.tracking_number.clone()))
        .ok_or_else(|| protocol("the shipment answer has no masterTrackingNumber"))?;
    let charge = shipment.completed_shipment_detail.as_ref().map(shipment_charge).transpose()?.flatten();
    let mut documents = Vec::new();
    for doc in shipment.piece_responses.iter().flat_map(|p| &p.package_documents) {
        let Some(encoded) = &doc.encoded_label else { continue };
        let kind = doc.doc_type.as_deref().unwrap_or(LABEL_IMAGE_TYPE).to_uppercase();
        let Some(format) = LABEL_FORMATS.iter().find(|(c, _)| *c == kind).map(|(_, f)| *f) else {
            tracing::warn!(carrier = SLUG, format = %kind, "FedEx returned a label format Waybill cannot serve; not kept");
            continue;
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| protocol(format!("the label is not base64: {e}")))?;
        documents.push(CarrierDocument { format, bytes });
    }
    Ok(Booking {
        carrier_shipment_id: tracking_number.clone(),
        tracking_number,
        service: shipment.service_type.unwrap_or_else(|| service.to_owned()),
        charge,
        edd: None,
        routing: None,
        documents,
    })
}

#[derive(Deserialize)]
struct TrackAnswer {
    output: TrackOutput,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackOutput {
    #[serde(default)]
    complete_track_results: Vec<CompleteTrackResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompleteTrackResult {
    tracking_number: Option<String>,
    #[serde(default)]
    track_results: Vec<TrackResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackResult {
    tracking_number_info: Option<TrackingNumberInfo>,
    #[serde(default)]
    scan_events: Vec<Value>,
    service_detail: Option<ServiceDetail>,
    error: Option<FedexError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackingNumberInfo {
    tracking_number: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceDetail {
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ScanEvent {
    date: Option<String>,
    event_type: Option<String>,
    event_description: Option<String>,
    exception_code: Option<String>,
    exception_description: Option<String>,
    derived_status_code: Option<String>,
    scan_location: Option<ScanLocation>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ScanLocation {
    city: Option<String>,
    state_or_province_code: Option<String>,
    country_code: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// Maps one scan event; `None` only when it has no readable date (FedEx dates carry an offset).
fn scan_from(raw: Value) -> Option<Scan> {
    let event: ScanEvent = serde_json::from_value(raw.clone()).unwrap_or_default();
    let Some(at) = event.date.as_deref().and_then(|d| DateTime::parse_from_rfc3339(d.trim()).ok()) else {
        tracing::warn!(carrier = SLUG, event = %raw, "FedEx scan event without a readable date; skipped");
        return None;
    };
    let code = non_empty(event.event_type).or(non_empty(event.derived_status_code.clone())).unwrap_or_default();
    let status = status_for(&code)
        .or_else(|| {
            // An event type the table lacks may still carry a known derived status.
            let derived = event.derived_status_code.as_deref()?;
            let s = status_for(derived);
            if s.is_some() {
                tracing::warn!(carrier = SLUG, code = %code, derived, "unknown FedEx event type, read by its derived status");
            }
            s
        })
        .unwrap_or_else(|| {
            tracing::warn!(carrier = SLUG, code = %code, "unknown FedEx event type, read as in_transit");
            UNKNOWN_CODE_STATUS
        });
    let exception_description = non_empty(event.exception_description);
    let ndr_reason = (status == TrackingStatus::DeliveryFailed)
        .then(|| delivery_exception_reason(exception_description.as_deref().unwrap_or_default()));
    let location = event.scan_location.map(|l| {
        [l.city, l.state_or_province_code, l.country_code]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    });
    let description = match (non_empty(event.event_description), &exception_description) {
        (Some(d), Some(x)) => format!("{d}: {x}"),
        (Some(d), None) => d,
        (None, Some(x)) => x.clone(),
        (None, None) => String::new(),
    };
    Some(Scan {
        event_id: None,
        code,
        status,
        reason_code: non_empty(event.exception_code),
        ndr_reason,
        description,
        location: location.filter(|l| !l.is_empty()),
        occurred_at: at,
        raw,
    })
}

/// Every track result in the answer, in FedEx's order.
fn track_results(answer: TrackAnswer) -> Vec<(Option<String>, TrackResult)> {
    answer
        .output
        .complete_track_results
        .into_iter()
        .flat_map(|c| {
            let number = c.tracking_number;
            c.track_results.into_iter().map(move |r| (number.clone(), r))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Answer parsers (public so they can be fuzzed; the HTTP paths below call them)
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct RateAnswer {
    output: RateOutput,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RateOutput {
    #[serde(default)]
    rate_reply_details: Vec<RateReplyDetail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RateReplyDetail {
    service_type: String,
    #[serde(default)]
    rated_shipment_details: Vec<Value>,
    operational_detail: Option<Value>,
    commit: Option<Value>,
}

/// Reads a Rate API answer (`output.rateReplyDetails[]`): the account (negotiated) rate of each
/// service when FedEx gives one, else its first rate.
pub fn parse_rate_answer(body: &[u8]) -> Result<Vec<Rate>, CarrierError> {
    let answer: RateAnswer = json(body, "rates")?;
    answer
        .output
        .rate_reply_details
        .into_iter()
        .filter_map(|r| {
            let rated = r
                .rated_shipment_details
                .iter()
                .find(|d| d.get("rateType").and_then(Value::as_str) == Some("ACCOUNT"))
                .or(r.rated_shipment_details.first())?;
            let currency = rated
                .get("currency")
                .or_else(|| rated.pointer("/shipmentRateDetail/currency"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let amount = rated.get("totalNetCharge").cloned().unwrap_or(Value::Null);
            let transit_days = r
                .operational_detail
                .as_ref()
                .and_then(|o| o.get("transitTime"))
                .or_else(|| r.commit.as_ref().and_then(|c| c.get("transitDays")).and_then(|t| t.get("description")))
                .and_then(Value::as_str)
                .and_then(|t| TRANSIT_TIMES.iter().find(|(w, _)| *w == t).map(|(_, d)| *d));
            Some(money(&amount, &currency).map(|charge| Rate { service: r.service_type, charge, transit_days }))
        })
        .collect()
}

/// Reads a Ship API answer: the first transaction shipment, its charge and its label documents.
/// `service` is what was asked for, used when FedEx does not echo `serviceType`.
pub fn parse_ship_answer(body: &[u8], service: &str) -> Result<Booking, CarrierError> {
    let answer: ShipAnswer = json(body, "shipment")?;
    booking_from(answer.output, service)
}

/// Reads a cancel answer: `cancelledShipment: false` is FedEx refusing in a 200, kept with the
/// first alert's code and message.
pub fn parse_cancel_answer(body: &[u8]) -> Result<(), CarrierError> {
    #[derive(Deserialize)]
    struct Answer {
        output: CancelOutput,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct CancelOutput {
        cancelled_shipment: Option<bool>,
        message: Option<String>,
        #[serde(default)]
        alerts: Vec<FedexError>,
    }
    let answer: Answer = json(body, "cancel")?;
    if answer.output.cancelled_shipment == Some(false) {
        let alert = answer.output.alerts.into_iter().next();
        return Err(CarrierError::Rejected {
            carrier: SLUG,
            code: alert.as_ref().map(|a| a.code.clone()).unwrap_or_else(|| "CANCEL_REFUSED".into()),
            message: alert
                .map(|a| a.message)
                .or(answer.output.message)
                .unwrap_or_else(|| "FedEx did not cancel the shipment".into()),
            field: None,
        });
    }
    Ok(())
}

/// Reads a Ground End of Day Close answer: `output` with the close documents FedEx made (its
/// Ground manifest report). FedEx gives the close no number of its own.
pub fn parse_close_answer(body: &[u8]) -> Result<ClosedManifest, CarrierError> {
    #[derive(Deserialize)]
    struct Answer {
        output: serde_json::Value,
    }
    let answer: Answer = json(body, "end-of-day close")?;
    if !answer.output.is_object() {
        return Err(protocol("an end-of-day close answered without its output"));
    }
    Ok(ClosedManifest { reference: None })
}

/// Reads a track-by-number answer: the scans of `tracking_number`'s result (or the first result),
/// in FedEx's order. A result carrying a "not found" error is `NotFound`, any other error `Rejected`.
pub fn parse_track_answer(body: &[u8], tracking_number: &str) -> Result<Vec<Scan>, CarrierError> {
    let what = format!("tracking number {tracking_number}");
    let results = track_results(json(body, "tracking")?);
    let i = results
        .iter()
        .position(|(n, r)| {
            n.as_deref() == Some(tracking_number)
                || r.tracking_number_info.as_ref().and_then(|i| i.tracking_number.as_deref()) == Some(tracking_number)
        })
        .or((!results.is_empty()).then_some(0));
    let Some((_, result)) = i.and_then(|i| results.into_iter().nth(i)) else {
        return Err(CarrierError::NotFound { carrier: SLUG, what });
    };
    if let Some(e) = result.error {
        return Err(if NOT_FOUND_CODES.contains(&e.code.as_str()) {
            CarrierError::NotFound { carrier: SLUG, what }
        } else {
            CarrierError::Rejected { carrier: SLUG, code: e.code, message: e.message, field: None }
        });
    }
    Ok(result.scan_events.into_iter().filter_map(scan_from).collect())
}

/// Reads a track-by-reference answer: the first result without an error is the booking.
pub fn parse_reference_answer(body: &[u8]) -> Result<Option<Booking>, CarrierError> {
    let found = track_results(json(body, "reference search")?).into_iter().find_map(|(number, r)| {
        if let Some(e) = &r.error {
            tracing::info!(carrier = SLUG, code = %e.code, "FedEx reference search result with an error");
            return None;
        }
        let tracking = r.tracking_number_info.and_then(|i| non_empty(i.tracking_number)).or(non_empty(number))?;
        Some((tracking, r.service_detail.and_then(|s| s.kind)))
    });
    Ok(found.map(|(tracking_number, service)| Booking {
        carrier_shipment_id: tracking_number.clone(),
        tracking_number,
        service: service.unwrap_or_default(),
        charge: None,
        edd: None,
        routing: None,
        documents: vec![],
    }))
}

#[derive(Deserialize)]
struct AddressAnswer {
    output: AddressOutput,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddressOutput {
    #[serde(default)]
    resolved_addresses: Vec<ResolvedAddress>,
    #[serde(default)]
    alerts: Vec<FedexError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResolvedAddress {
    #[serde(default)]
    street_lines_token: Vec<Value>,
    city: Option<String>,
    state_or_province_code: Option<String>,
    postal_code: Option<String>,
    parsed_postal_code: Option<ParsedPostalCode>,
    country_code: Option<String>,
    classification: Option<String>,
    #[serde(default)]
    customer_message: Vec<Value>,
    #[serde(default)]
    attributes: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ParsedPostalCode {
    base: Option<String>,
    add_on: Option<String>,
}

impl ResolvedAddress {
    /// An attribute as a flag: the document types them as booleans, live answers send `"true"`.
    fn flag(&self, name: &str) -> Option<bool> {
        match self.attributes.get(name)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(Value::as_str)
    }

    fn candidate(&self, asked: &Address) -> Address {
        let lines: Vec<String> = self
            .street_lines_token
            .iter()
            .filter_map(|l| l.as_str().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned))
            .collect();
        let postal_code = non_empty(self.postal_code.clone()).or_else(|| {
            let p = self.parsed_postal_code.as_ref()?;
            let base = non_empty(p.base.clone())?;
            Some(match non_empty(p.add_on.clone()) {
                Some(add_on) => format!("{base}-{add_on}"),
                None => base,
            })
        });
        Address {
            street1: lines.first().cloned().unwrap_or_else(|| asked.street1.clone()),
            street2: if lines.is_empty() { asked.street2.clone() } else { lines.get(1).cloned() },
            city: non_empty(self.city.clone()).unwrap_or_else(|| asked.city.clone()),
            state: non_empty(self.state_or_province_code.clone()).or_else(|| asked.state.clone()),
            postal_code: postal_code.unwrap_or_else(|| asked.postal_code.clone()),
            country: non_empty(self.country_code.clone()).unwrap_or_else(|| asked.country.clone()),
            ..asked.clone()
        }
    }
}

/// An address with nothing known, for reading an answer without the address asked about.
/// Reads an Address Validation answer; `asked`, when given, fills what FedEx does not return. The verdict comes from the first resolved
/// address's `attributes`: several matches (`MultipleMatches`, or several resolved addresses) or a
/// missing/invalid suite is `ambiguous`; `Resolved` (or `AddressType` `STANDARDIZED`) is `valid`;
/// anything else `invalid`. A country FedEx does not validate (`CountrySupported` false) is
/// `Unsupported`: FedEx has no opinion on it. `classification` BUSINESS/RESIDENTIAL is
/// commercial/residential, MIXED and UNKNOWN are unknown. Messages are the answer's `alerts` and
/// the address's `customerMessage`s.
pub fn parse_address_answer(body: &[u8], asked: Option<&Address>) -> Result<AddressCheck, CarrierError> {
    let asked = &asked.cloned().unwrap_or_default();
    let answer: AddressAnswer = json(body, "address validation")?;
    let output = answer.output;
    let mut messages: Vec<String> = output
        .alerts
        .iter()
        .map(|a| if a.message.trim().is_empty() { a.code.clone() } else { a.message.clone() })
        .filter(|m| !m.trim().is_empty())
        .collect();
    let Some(first) = output.resolved_addresses.first() else {
        return Ok(AddressCheck {
            verdict: AddressVerdict::Invalid,
            classification: AddressClass::Unknown,
            candidates: vec![],
            messages,
        });
    };
    if first.flag("CountrySupported") == Some(false) {
        return Err(CarrierError::Unsupported { carrier: SLUG, operation: "address validation in this country" });
    }
    for m in output.resolved_addresses.iter().flat_map(|r| &r.customer_message) {
        let text = match m {
            Value::String(s) => s.clone(),
            other => other
                .get("message")
                .or_else(|| other.get("code"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| other.to_string()),
        };
        if !text.trim().is_empty() && !messages.contains(&text) {
            messages.push(text);
        }
    }
    let resolved = first.flag("Resolved") == Some(true) || first.text("AddressType") == Some("STANDARDIZED");
    let several = output.resolved_addresses.len() > 1 || first.flag("MultipleMatches") == Some(true);
    let suite = first.flag("SuiteRequiredButMissing") == Some(true) || first.flag("InvalidSuiteNumber") == Some(true);
    let verdict = match (resolved, several || suite) {
        (true, true) => AddressVerdict::Ambiguous,
        (true, false) => AddressVerdict::Valid,
        (false, _) if several => AddressVerdict::Ambiguous,
        (false, _) => AddressVerdict::Invalid,
    };
    let classification = match first.classification.as_deref().map(str::to_ascii_uppercase).as_deref() {
        Some("BUSINESS") => AddressClass::Commercial,
        Some("RESIDENTIAL") => AddressClass::Residential,
        _ => AddressClass::Unknown,
    };
    let candidates = output.resolved_addresses.iter().map(|r| r.candidate(asked)).collect();
    Ok(AddressCheck { verdict, classification, candidates, messages })
}

/// Reads a Create Pickup answer: `output.pickupConfirmationCode` is the confirmation and
/// `output.location` (the servicing FedEx location) the note. FedEx does not say the day.
pub fn parse_pickup_answer(body: &[u8]) -> Result<Pickup, CarrierError> {
    #[derive(Deserialize)]
    struct Answer {
        output: PickupOutput,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct PickupOutput {
        pickup_confirmation_code: Option<Value>,
        location: Option<String>,
    }
    let answer: Answer = json(body, "pickup")?;
    let confirmation_number = match answer.output.pickup_confirmation_code {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(protocol("the pickup answer has no pickupConfirmationCode")),
    };
    Ok(Pickup { confirmation_number, date: None, charge: None, note: non_empty(answer.output.location) })
}

// ---------------------------------------------------------------------------------------------
// Pickup request
// ---------------------------------------------------------------------------------------------

/// Services that travel with FedEx Ground (`carrierCode` FDXG); the rest are Express (FDXE).
const GROUND_SERVICES: &[&str] = &["FEDEX_GROUND", "GROUND_HOME_DELIVERY"];

/// FedEx limits `remarks` to 60 characters.
const REMARKS_MAX: usize = 60;

/// The operating company for a pickup: the request's service (a FedEx service type, or `FDXE` /
/// `FDXG` itself); Express when none is given.
fn carrier_code(service: Option<&str>) -> &'static str {
    match service {
        Some(s) if s.eq_ignore_ascii_case("FDXG") || GROUND_SERVICES.contains(&s) => "FDXG",
        _ => "FDXE",
    }
}

/// Pounds with one decimal, rounded up (the document gives the pickup's total weight in LB).
pub fn pounds(weight_g: u64) -> Decimal {
    let lb = Decimal::from(weight_g) / Decimal::new(45_359_237, 5);
    lb.round_dp_with_strategy(1, RoundingStrategy::AwayFromZero).max(Decimal::new(1, 1)).normalize()
}

fn pickup_body(account_number: &str, request: &PickupRequest) -> Value {
    let total_g: u64 = request.parcels.iter().map(|p| p.weight_g).fold(0, u64::saturating_add);
    let weight: f64 = pounds(total_g).to_string().parse().unwrap_or(0.1);
    let ready = request.date.and_time(request.ready_time);
    let mut body = json!({
        "associatedAccountNumber": {"value": account_number},
        "originDetail": {
            "pickupLocation": party(&request.address),
            "readyDateTimestamp": ready.format("%Y-%m-%dT%H:%M:%S").to_string(),
            "customerCloseTime": request.close_time.format("%H:%M:%S").to_string(),
            "packageLocation": "NONE",
        },
        "carrierCode": carrier_code(request.service.as_deref()),
        "totalWeight": {"units": "LB", "value": weight},
        "packageCount": request.parcels.len().max(1),
    });
    if let Some(remarks) = request.instructions.as_deref().filter(|s| !s.trim().is_empty()) {
        body["remarks"] = json!(remarks.chars().take(REMARKS_MAX).collect::<String>());
    }
    if let Some(number) = request.tracking_numbers.first() {
        body["trackingNumber"] = json!(number);
    }
    body
}

#[async_trait::async_trait]
impl Carrier for Fedex {
    fn info(&self) -> &CarrierInfo {
        &self.info
    }

    async fn rate(&self, account: &Account<'_>, request: &RateRequest) -> Result<Vec<Rate>, CarrierError> {
        let account_number = credential(account, "account_number");
        let body = json!({
            "accountNumber": {"value": account_number},
            "requestedShipment": {
                "shipper": {"address": address(&request.ship_from)},
                "recipient": {"address": address(&request.ship_to)},
                "pickupType": "DROPOFF_AT_FEDEX_LOCATION",
                "rateRequestType": ["ACCOUNT", "LIST"],
                "requestedPackageLineItems": line_items(&request.parcels, None),
            },
        });
        let build = self.json_request(account, reqwest::Method::POST, RATE_PATH, body);
        let answer =
            answer_body(self.oauth.call(account, build, Repeatable::Yes).await?, "rates", Repeatable::Yes).await?;
        parse_rate_answer(&answer).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    async fn book(&self, account: &Account<'_>, request: &BookingRequest) -> Result<Booking, CarrierError> {
        if request.cod.is_some() {
            return Err(CarrierError::Rejected {
                carrier: SLUG,
                code: "COD_NOT_SUPPORTED".into(),
                message: "cash on delivery is not supported for FedEx in Waybill yet".into(),
                field: Some("/cod".into()),
            });
        }
        let account_number = credential(account, "account_number");
        let body = json!({
            "labelResponseOptions": "LABEL",
            "accountNumber": {"value": account_number},
            "requestedShipment": {
                "shipper": party(&request.ship_from),
                "recipients": [party(&request.ship_to)],
                "shipDatestamp": chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string(),
                "serviceType": request.service,
                "packagingType": "YOUR_PACKAGING",
                "pickupType": "DROPOFF_AT_FEDEX_LOCATION",
                "totalPackageCount": request.parcels.len(),
                "shippingChargesPayment": {
                    "paymentType": "SENDER",
                    "payor": {"responsibleParty": {"accountNumber": {"value": account_number}}},
                },
                "labelSpecification": {"imageType": LABEL_IMAGE_TYPE, "labelStockType": LABEL_STOCK_TYPE},
                "requestedPackageLineItems": line_items(&request.parcels, Some(&request.reference)),
            },
        });
        let build = self.json_request(account, reqwest::Method::POST, SHIP_PATH, body);
        let answer =
            answer_body(self.oauth.call(account, build, Repeatable::No).await?, "shipment", Repeatable::No).await?;
        parse_ship_answer(&answer, &request.service).map_err(|e| after_accept(Repeatable::No, e))
    }

    async fn find_booking(&self, account: &Account<'_>, reference: &str) -> Result<Option<Booking>, CarrierError> {
        let body = json!({
            "referencesInformation": {
                "type": "CUSTOMER_REFERENCE",
                "value": reference,
                "accountNumber": credential(account, "account_number"),
            },
            "includeDetailedScans": false,
        });
        let build = self.json_request(account, reqwest::Method::POST, TRACK_REFERENCE_PATH, body);
        let what = format!("reference {reference}");
        let answer =
            match answer_body(self.oauth.call(account, build, Repeatable::Yes).await?, &what, Repeatable::Yes).await {
                Ok(a) => a,
                Err(CarrierError::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(e),
            };
        parse_reference_answer(&answer).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    async fn cancel(&self, account: &Account<'_>, booking: &BookedRef<'_>) -> Result<(), CarrierError> {
        let body = json!({
            "accountNumber": {"value": credential(account, "account_number")},
            "deletionControl": "DELETE_ALL_PACKAGES",
            "trackingNumber": booking.tracking_number,
        });
        let build = self.json_request(account, reqwest::Method::PUT, CANCEL_PATH, body);
        // Cancelling twice does no harm (the second is refused), so a timeout may be retried.
        let what = format!("shipment {}", booking.tracking_number);
        let answer =
            answer_body(self.oauth.call(account, build, Repeatable::Yes).await?, &what, Repeatable::Yes).await?;
        parse_cancel_answer(&answer).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    async fn track(&self, account: &Account<'_>, tracking_number: &str) -> Result<Vec<Scan>, CarrierError> {
        let body = json!({
            "includeDetailedScans": true,
            "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": tracking_number}}],
        });
        let build = self.json_request(account, reqwest::Method::POST, TRACK_PATH, body);
        let what = format!("tracking number {tracking_number}");
        let answer =
            answer_body(self.oauth.call(account, build, Repeatable::Yes).await?, &what, Repeatable::Yes).await?;
        parse_track_answer(&answer, tracking_number).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    async fn validate_address(&self, account: &Account<'_>, asked: &Address) -> Result<AddressCheck, CarrierError> {
        let body = json!({"addressesToValidate": [{"address": address(asked)}]});
        let build = self.json_request(account, reqwest::Method::POST, ADDRESS_PATH, body);
        let answer =
            answer_body(self.oauth.call(account, build, Repeatable::Yes).await?, "address", Repeatable::Yes).await?;
        parse_address_answer(&answer, Some(asked)).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    async fn close_manifest(
        &self,
        account: &Account<'_>,
        request: &ManifestRequest,
    ) -> Result<ClosedManifest, CarrierError> {
        // Closes every Ground shipment of the day on the account; Express needs no close.
        let body = json!({
            "accountNumber": {"value": credential(account, "account_number")},
            "groundServiceCategory": "GROUND",
            "closeReqType": "GCCLOSE",
            "closeDate": request.date.to_string(),
        });
        let build = self.json_request(account, reqwest::Method::PUT, CLOSE_PATH, body);
        // FedEx takes any number of closes a day, so a timeout may be retried.
        let answer =
            answer_body(self.oauth.call(account, build, Repeatable::Yes).await?, "end-of-day close", Repeatable::Yes)
                .await?;
        parse_close_answer(&answer).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    async fn schedule_pickup(&self, account: &Account<'_>, request: &PickupRequest) -> Result<Pickup, CarrierError> {
        let body = pickup_body(credential(account, "account_number"), request);
        let build = self.json_request(account, reqwest::Method::POST, PICKUP_PATH, body);
        // A repeat books a second courier: a lost answer is `Unknown`, never re-sent.
        let answer =
            answer_body(self.oauth.call(account, build, Repeatable::No).await?, "pickup", Repeatable::No).await?;
        parse_pickup_answer(&answer).map_err(|e| after_accept(Repeatable::No, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_round_up_and_reasons_read_from_descriptions() {
        assert_eq!(kgs(1250).to_string(), "1.3");
        assert_eq!(kgs(2000).to_string(), "2");
        assert_eq!(kgs(10).to_string(), "0.1");
        assert_eq!(cm(105), 11);
        assert_eq!(
            delivery_exception_reason("Customer not available or business closed"),
            NdrReason::CustomerUnavailable
        );
        assert_eq!(delivery_exception_reason("Package refused by recipient"), NdrReason::Refused);
        assert_eq!(delivery_exception_reason("Weather delay"), NdrReason::Other);
        for (code, _) in STATUSES {
            assert!(status_for(code).is_some());
        }
        for (code, _) in SERVICES {
            assert!(service_name(code).is_some());
        }
    }
}
