//! `delhivery`: Delhivery B2C (Express) over its REST APIs, following Delhivery's public API
//! documentation at `https://delhivery-express-api-doc.readme.io/reference/`:
//! `order-creation-api` (`POST /api/cmu/create.json`, form body `format=json&data=<json>`),
//! `cancel-order-api` (`POST /api/p/edit` with `"cancellation": "true"`), the shipment tracking
//! API (`GET /api/v1/packages/json/?waybill=` and `?ref_ids=`), `invoice-shipping-charge-api`
//! (`GET /api/kinko/v1/invoice/charges/.json`), `package-lifecycle-1` (StatusType/Status pairs),
//! `asynchronous-ndr-package-action-api` (the NSL codes that mark an NDR package) and
//! `tracking-via-push-api-webhook-1` (the pushed scan). Status notes were cross-checked with
//! `/work/shared/specs/taxonomies/tracking_status_taxonomies.json` (`delhivery`).
//!
//! Auth is a static API token sent as `Authorization: Token <api_token>`. Shipments are created
//! against a warehouse registered with Delhivery, named by the `pickup_location` credential.
//! Waybill's service codes `surface` and `express` are Delhivery's `shipping_mode`
//! (`Surface`/`Express`) and the invoice API's billing mode `md` (`S`/`E`).
//!
//! Delhivery answers many failures with HTTP 200 (`{"success": false, "rmk": …,
//! "packages": [{"status": "Fail", "remarks": [...]}]}`); those are read and become
//! [`CarrierError::Rejected`] with Delhivery's remarks kept.
//!
//! Not implemented: multi-piece shipments (they need pre-fetched waybills per box; a booking of
//! more than one parcel is refused before any call), reverse pickups, the pincode
//! serviceability API (Delhivery refuses unserviceable pins at creation), and the packing slip
//! API (Waybill renders the label itself from the routing data). Rates use the invoice API's
//! documented parameters with the parcels' actual weight as `cgm`; Delhivery's answer is an
//! estimate by its own account.
//!
//! Pushes: Delhivery posts scans to a URL agreed with its team for the whole client account,
//! with whatever authorization header the client asks for. Waybill asks for
//! `Authorization: <secret>` (a `Bearer `/`Token ` prefix is accepted too), so `subscribe` does
//! nothing per shipment and `parse_push` checks that shared token.

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use waybill_core::{Address, Money, NdrReason, Parcel, Routing, TrackingStatus};

use crate::http::{CarrierFault, Repeatable, read_answer, send};
use crate::model::*;
use crate::{Carrier, CarrierError};

const SLUG: &str = "delhivery";

const CREATE_PATH: &str = "/api/cmu/create.json";
const EDIT_PATH: &str = "/api/p/edit";
const TRACK_PATH: &str = "/api/v1/packages/json/";
const CHARGES_PATH: &str = "/api/kinko/v1/invoice/charges/.json";

/// Delhivery gives times without an offset; they are India Standard Time.
const IST_OFFSET_SECS: i32 = 5 * 3600 + 30 * 60;

/// Waybill service code → (name, Delhivery `shipping_mode`, invoice API `md`).
const SERVICES: &[(&str, &str, &str, &str)] =
    &[("surface", "Delhivery Surface", "Surface", "S"), ("express", "Delhivery Express", "Express", "E")];

/// (`StatusType`, `Status`) → normalized status (package-lifecycle-1). `Status` is compared
/// without regard to case. RT legs report `In Transit` etc. while going back to the shipper.
const STATUSES: &[(&str, &str, TrackingStatus)] = &[
    ("UD", "Manifested", TrackingStatus::InfoReceived),
    ("UD", "Not Picked", TrackingStatus::InfoReceived),
    ("UD", "Open", TrackingStatus::InfoReceived),
    ("UD", "In Transit", TrackingStatus::InTransit),
    ("UD", "Pending", TrackingStatus::InTransit),
    ("UD", "Scheduled", TrackingStatus::InTransit),
    ("UD", "Dispatched", TrackingStatus::OutForDelivery),
    ("DL", "Delivered", TrackingStatus::Delivered),
    ("RT", "In Transit", TrackingStatus::ReturnToOrigin),
    ("RT", "Pending", TrackingStatus::ReturnToOrigin),
    ("RT", "Dispatched", TrackingStatus::ReturnToOrigin),
    ("DL", "RTO", TrackingStatus::Returned),
    ("CN", "Canceled", TrackingStatus::Cancelled),
    ("CN", "Cancelled", TrackingStatus::Cancelled),
];

/// NSL (`StatusCode`) values that Delhivery's NDR API accepts actions for: a forward (`UD`) scan
/// carrying one is a failed delivery attempt (asynchronous-ndr-package-action-api).
const NDR_CODES: &[&str] =
    &["EOD-3", "EOD-6", "EOD-11", "EOD-15", "EOD-16", "EOD-43", "EOD-69", "EOD-74", "EOD-86", "EOD-104", "ST-108"];

/// A failed attempt's reason, read from its `Instructions` (lower-case phrase → reason; first
/// match wins). The documents list the NDR codes but not what each means, so the text is used.
const NDR_HINTS: &[(&str, NdrReason)] = &[
    ("refused", NdrReason::Refused),
    ("cancelled the order", NdrReason::Refused),
    ("order cancelled", NdrReason::Refused),
    ("unavailable", NdrReason::CustomerUnavailable),
    ("not available", NdrReason::CustomerUnavailable),
    ("not reachable", NdrReason::CustomerUnavailable),
    ("not contactable", NdrReason::CustomerUnavailable),
    ("cash not", NdrReason::CodNotReady),
    ("cod amount", NdrReason::CodNotReady),
    ("payment", NdrReason::CodNotReady),
    ("door locked", NdrReason::PremisesClosed),
    ("office closed", NdrReason::PremisesClosed),
    ("premises closed", NdrReason::PremisesClosed),
    ("future delivery", NdrReason::RescheduledByCustomer),
    ("reschedul", NdrReason::RescheduledByCustomer),
    ("another date", NdrReason::RescheduledByCustomer),
    ("out of delivery area", NdrReason::OutOfServiceArea),
    ("not serviceable", NdrReason::OutOfServiceArea),
    ("address", NdrReason::AddressIssue),
];

/// A pair the table does not know is kept and logged, and read as `in_transit`: the state
/// machine never lets that move a shipment backwards, and nothing is dropped.
const UNKNOWN_CODE_STATUS: TrackingStatus = TrackingStatus::InTransit;

pub fn status_for(status_type: &str, status: &str) -> Option<TrackingStatus> {
    STATUSES
        .iter()
        .find(|(t, s, _)| t.eq_ignore_ascii_case(status_type.trim()) && s.eq_ignore_ascii_case(status.trim()))
        .map(|(_, _, st)| *st)
}

/// The reason for a failed attempt, from the scan's instructions (`Other` when none matches).
pub fn ndr_reason_for(instructions: &str) -> NdrReason {
    let text = instructions.to_lowercase();
    NDR_HINTS.iter().find(|(hint, _)| text.contains(hint)).map(|(_, r)| *r).unwrap_or(NdrReason::Other)
}

/// A Delhivery time: RFC 3339 when it carries an offset, otherwise local IST.
pub fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    let ist = FixedOffset::east_opt(IST_OFFSET_SECS)?;
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .and_then(|n| ist.from_local_datetime(&n).single())
}

fn service(code: &str) -> Option<&'static (&'static str, &'static str, &'static str, &'static str)> {
    SERVICES.iter().find(|(c, ..)| *c == code)
}

pub struct Delhivery {
    http: reqwest::Client,
    info: CarrierInfo,
}

impl Delhivery {
    pub fn new(http: reqwest::Client) -> Self {
        let info = CarrierInfo {
            slug: SLUG,
            name: "Delhivery",
            services: SERVICES.iter().map(|(code, name, ..)| Service { code, name }).collect(),
            capabilities: Capabilities {
                rates: true,
                cancel: true,
                track: true,
                push: true,
                find_booking: true,
                cash_on_delivery: true,
                address_validation: false,
                pickup: false,
                serviceability: false,
                returns: false,
            },
            credentials: CredentialSchema {
                fields: vec![
                    CredentialField {
                        name: "api_token",
                        description: "Delhivery API token (sent as `Authorization: Token <api_token>`)",
                        required: true,
                    },
                    CredentialField {
                        name: "pickup_location",
                        description: "Name of the warehouse registered with Delhivery that parcels are picked up from",
                        required: true,
                    },
                ],
            },
            test_base_url: Some("https://staging-express.delhivery.com"),
            live_base_url: Some("https://track.delhivery.com"),
            carrier_label_formats: vec![],
        };
        Self { http, info }
    }

    fn request(&self, account: &Account<'_>, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", account.base_url.trim_end_matches('/')))
            .header(reqwest::header::AUTHORIZATION, format!("Token {}", credential(account, "api_token")))
            .header(reqwest::header::ACCEPT, "application/json")
    }

    /// The shipments the tracking API answers for a query (`waybill` or `ref_ids`), raw and read;
    /// empty when Delhivery knows none.
    async fn shipments(
        &self,
        account: &Account<'_>,
        query: (&str, &str),
        what: &str,
    ) -> Result<Vec<(Value, TrackShipment)>, CarrierError> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(rename = "ShipmentData", default)]
            shipment_data: Vec<Value>,
        }
        let req = self.request(account, reqwest::Method::GET, TRACK_PATH).query(&[query]);
        let answer: Answer = read(send(SLUG, req, Repeatable::Yes).await?, what, Repeatable::Yes).await?;
        answer
            .shipment_data
            .into_iter()
            .filter_map(|mut d| d.get_mut("Shipment").map(Value::take))
            .map(|raw| {
                let parsed = serde_json::from_value::<TrackShipment>(raw.clone())
                    .map_err(|e| protocol(format!("unexpected {what} answer: {e}")))?;
                Ok((raw, parsed))
            })
            .collect()
    }
}

fn credential<'a>(account: &Account<'a>, name: &str) -> &'a str {
    account.credentials.get(name).and_then(Value::as_str).unwrap_or_default()
}

fn protocol(message: impl Into<String>) -> CarrierError {
    CarrierError::Protocol { carrier: SLUG, message: message.into() }
}

fn rejected(code: &str, message: impl Into<String>, field: Option<&str>) -> CarrierError {
    CarrierError::Rejected { carrier: SLUG, code: code.into(), message: message.into(), field: field.map(Into::into) }
}

/// Delhivery's own words in an error body: the first of its known message keys.
fn carrier_message(body: &Value) -> Option<String> {
    ["rmk", "error", "message", "detail", "remark", "Error"].iter().find_map(|k| match body.get(*k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    })
}

/// Reads a Delhivery answer; error bodies carry a remark (`rmk`, `error`, …) that is kept. Its
/// refusals sent with HTTP 200 are read by the callers, which know each answer's shape.
async fn read<T: for<'de> Deserialize<'de>>(
    response: reqwest::Response,
    what: &str,
    repeatable: Repeatable,
) -> Result<T, CarrierError> {
    read_answer(SLUG, response, what, repeatable, |status, body| {
        let message = serde_json::from_slice::<Value>(body).ok().as_ref().and_then(carrier_message)?;
        Some(CarrierFault { code: format!("HTTP_{status}"), message, field: None })
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------

/// Digits only, without India's `+91`/`0` prefix when the rest is a 10-digit number.
fn phone(raw: &str) -> String {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        12 if digits.starts_with("91") => digits[2..].to_owned(),
        11 if digits.starts_with('0') => digits[1..].to_owned(),
        _ => digits,
    }
}

fn street(a: &Address) -> String {
    let mut lines = vec![a.street1.as_str()];
    lines.extend(a.street2.as_deref());
    lines.join(", ")
}

/// Whole centimetres, rounded up so no side is under-declared.
fn cm(mm: u64) -> u64 {
    mm.div_ceil(10)
}

fn shipment_body(request: &BookingRequest, parcel: &Parcel, shipping_mode: &str, ship_phone: String) -> Value {
    let to = &request.ship_to;
    let mut shipment = json!({
        "name": to.name,
        "add": street(to),
        "pin": to.postal_code,
        "city": to.city,
        "state": to.state.as_deref().unwrap_or_default(),
        "country": to.country,
        "phone": ship_phone,
        "order": request.reference,
        "payment_mode": if request.cod.is_some() { "COD" } else { "Prepaid" },
        "weight": parcel.weight_g,
        "shipping_mode": shipping_mode,
        "quantity": "1",
        "seller_name": request.ship_from.company.as_deref().unwrap_or(&request.ship_from.name),
        "seller_add": street(&request.ship_from),
    });
    if let Some(cod) = &request.cod {
        shipment["cod_amount"] = json!(cod.amount.to_string());
        shipment["total_amount"] = json!(cod.amount.to_string());
    }
    if let Some(d) = parcel.dimensions_mm {
        shipment["shipment_length"] = json!(cm(d.length));
        shipment["shipment_width"] = json!(cm(d.width));
        shipment["shipment_height"] = json!(cm(d.height));
    }
    if let Some(email) = &to.email {
        shipment["email"] = json!(email);
    }
    shipment
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct CreateAnswer {
    success: Option<bool>,
    rmk: Option<String>,
    #[serde(default)]
    packages: Vec<CreatedPackage>,
}

#[derive(Deserialize)]
struct CreatedPackage {
    status: Option<String>,
    waybill: Option<String>,
    #[serde(default)]
    remarks: Value,
    sort_code: Option<String>,
}

fn remarks_text(remarks: &Value) -> String {
    match remarks {
        Value::String(s) => s.trim().to_owned(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; "),
        _ => String::new(),
    }
}

fn booking_from(answer: CreateAnswer, service: &str) -> Result<Booking, CarrierError> {
    let failed_package =
        answer.packages.iter().find(|p| !p.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("success")));
    if answer.success != Some(false) && failed_package.is_none() && answer.packages.is_empty() {
        // Not refused, yet no package: Delhivery may have created it. Reconcile, do not re-send.
        return Err(CarrierError::Unknown { carrier: SLUG, message: "a create answer without packages".into() });
    }
    if answer.success == Some(false) || failed_package.is_some() {
        let message = failed_package
            .map(|p| remarks_text(&p.remarks))
            .filter(|m| !m.is_empty())
            .or(answer.rmk.filter(|r| !r.trim().is_empty()))
            .unwrap_or_else(|| "Delhivery did not create the shipment and gave no reason".into());
        return Err(rejected("CREATE_FAILED", message, None));
    }
    let package = answer.packages.into_iter().next().expect("checked non-empty");
    let waybill = package.waybill.filter(|w| !w.trim().is_empty()).ok_or_else(|| CarrierError::Unknown {
        carrier: SLUG,
        message: "a created package without a waybill".into(),
    })?;
    let routing = package.sort_code.filter(|s| !s.trim().is_empty()).map(|sort_code| Routing {
        origin_hub: String::new(),
        destination_hub: String::new(),
        sort_code,
        route: String::new(),
    });
    Ok(Booking {
        carrier_shipment_id: waybill.clone(),
        tracking_number: waybill,
        service: service.to_owned(),
        charge: None,
        edd: None,
        routing,
        documents: vec![],
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct TrackShipment {
    #[serde(rename = "AWB")]
    awb: Option<Value>,
    reference_no: Option<Value>,
    status: Option<Value>,
    #[serde(default)]
    scans: Vec<Value>,
    expected_delivery_date: Option<String>,
    promised_delivery_date: Option<String>,
}

/// A Delhivery field given as a string or a number, as text.
fn text(v: &Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// One scan, whichever document shape it came in.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Event {
    scan: Option<String>,
    status: Option<String>,
    scan_type: Option<String>,
    status_type: Option<String>,
    scan_date_time: Option<String>,
    status_date_time: Option<String>,
    scanned_location: Option<String>,
    status_location: Option<String>,
    instructions: Option<String>,
    status_code: Option<String>,
}

/// Maps one scan (`ScanDetail`, tracking `Status` or pushed `Status` object); `nsl` is the NSL
/// code when it is given beside the object (pushes). `None` only without a readable time.
fn scan_from(raw: Value, nsl: Option<String>) -> Option<Scan> {
    let e: Event = serde_json::from_value(raw.clone()).unwrap_or_default();
    let status_type = e.scan_type.or(e.status_type).unwrap_or_default();
    let status_text = e.scan.or(e.status).unwrap_or_default();
    let when = e.scan_date_time.or(e.status_date_time).unwrap_or_default();
    let Some(at) = parse_time(&when) else {
        tracing::warn!(carrier = SLUG, scan = %raw, "Delhivery scan without a readable time; skipped");
        return None;
    };
    let code = format!("{status_type}/{status_text}");
    let reason_code = e.status_code.filter(|c| !c.trim().is_empty()).or(nsl);
    let instructions = e.instructions.unwrap_or_default();
    let mut status = status_for(&status_type, &status_text).unwrap_or_else(|| {
        tracing::warn!(carrier = SLUG, code = %code, "unknown Delhivery status, read as in_transit");
        UNKNOWN_CODE_STATUS
    });
    let mut ndr_reason = None;
    if status_type.eq_ignore_ascii_case("UD")
        && reason_code.as_deref().is_some_and(|c| NDR_CODES.iter().any(|n| n.eq_ignore_ascii_case(c.trim())))
    {
        status = TrackingStatus::DeliveryFailed;
        ndr_reason = Some(ndr_reason_for(&instructions));
    }
    Some(Scan {
        event_id: None,
        code,
        status,
        reason_code,
        ndr_reason,
        description: if instructions.is_empty() { status_text } else { instructions },
        location: e.scanned_location.or(e.status_location).filter(|l| !l.trim().is_empty()),
        occurred_at: at,
        raw,
    })
}

fn money_from(v: &Value) -> Option<Money> {
    let amount = match v {
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok()?,
        Value::String(s) => Decimal::from_str(s.trim()).ok()?,
        _ => return None,
    };
    Some(Money::new(amount.round_dp(2), "INR".parse().ok()?))
}

/// Compares without an early exit, so the time taken does not tell how much matched.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[async_trait::async_trait]
impl Carrier for Delhivery {
    fn info(&self) -> &CarrierInfo {
        &self.info
    }

    async fn rate(&self, account: &Account<'_>, request: &RateRequest) -> Result<Vec<Rate>, CarrierError> {
        let grams: u64 = request.parcels.iter().map(|p| p.weight_g).sum();
        let mut rates = Vec::new();
        for (code, _, _, md) in SERVICES {
            let req = self.request(account, reqwest::Method::GET, CHARGES_PATH).query(&[
                ("md", *md),
                ("ss", "Delivered"),
                ("d_pin", request.ship_to.postal_code.as_str()),
                ("o_pin", request.ship_from.postal_code.as_str()),
                ("cgm", grams.to_string().as_str()),
            ]);
            let answer: Value =
                read(send(SLUG, req, Repeatable::Yes).await?, "shipping charges", Repeatable::Yes).await?;
            let Some(first) = answer.as_array().and_then(|a| a.first()) else {
                let message =
                    carrier_message(&answer).unwrap_or_else(|| answer.to_string().chars().take(200).collect());
                return Err(rejected("CHARGES_FAILED", message, None));
            };
            let charge = first
                .get("total_amount")
                .and_then(money_from)
                .ok_or_else(|| protocol("shipping charges answer without a readable total_amount"))?;
            rates.push(Rate { service: (*code).to_owned(), charge, transit_days: None });
        }
        Ok(rates)
    }

    async fn book(&self, account: &Account<'_>, request: &BookingRequest) -> Result<Booking, CarrierError> {
        let Some((_, _, shipping_mode, _)) = service(&request.service) else {
            return Err(rejected(
                "UNKNOWN_SERVICE",
                format!("`{}` is not a Delhivery service (surface, express)", request.service),
                Some("/service"),
            ));
        };
        let [parcel] = request.parcels.as_slice() else {
            return Err(rejected(
                "MPS_NOT_SUPPORTED",
                "Delhivery multi-piece shipments are not supported in Waybill yet; book one parcel per shipment",
                Some("/parcels"),
            ));
        };
        if let Some(cod) = &request.cod
            && cod.currency.code() != "INR"
        {
            return Err(rejected("COD_CURRENCY", "Delhivery collects cash on delivery in INR only", Some("/cod")));
        }
        let Some(ship_phone) = request.ship_to.phone.as_deref().map(phone).filter(|p| !p.is_empty()) else {
            return Err(rejected(
                "PHONE_REQUIRED",
                "Delhivery needs the consignee's phone number",
                Some("/ship_to/phone"),
            ));
        };
        let data = json!({
            "shipments": [shipment_body(request, parcel, shipping_mode, ship_phone)],
            "pickup_location": {"name": credential(account, "pickup_location")},
        });
        let req = self
            .request(account, reqwest::Method::POST, CREATE_PATH)
            .form(&[("format", "json"), ("data", data.to_string().as_str())]);
        let answer: CreateAnswer = read(send(SLUG, req, Repeatable::No).await?, "shipment", Repeatable::No).await?;
        booking_from(answer, &request.service)
    }

    async fn find_booking(&self, account: &Account<'_>, reference: &str) -> Result<Option<Booking>, CarrierError> {
        let found = match self.shipments(account, ("ref_ids", reference), &format!("reference {reference}")).await {
            Ok(found) => found,
            Err(CarrierError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some((_, shipment)) = found.into_iter().find(|(_, s)| text(&s.reference_no).is_none_or(|r| r == reference))
        else {
            return Ok(None);
        };
        let Some(waybill) = text(&shipment.awb).filter(|w| !w.is_empty()) else { return Ok(None) };
        let edd = shipment
            .expected_delivery_date
            .or(shipment.promised_delivery_date)
            .and_then(|d| NaiveDate::parse_from_str(d.get(..10)?, "%Y-%m-%d").ok());
        Ok(Some(Booking {
            carrier_shipment_id: waybill.clone(),
            tracking_number: waybill,
            service: String::new(),
            charge: None,
            edd,
            routing: None,
            documents: vec![],
        }))
    }

    async fn cancel(&self, account: &Account<'_>, booking: &BookedRef<'_>) -> Result<(), CarrierError> {
        let waybill = booking.tracking_number;
        let req = self
            .request(account, reqwest::Method::POST, EDIT_PATH)
            .json(&json!({"waybill": waybill, "cancellation": "true"}));
        // Cancelling twice does no harm (the second is refused), so a timeout may be retried.
        let answer: Value =
            read(send(SLUG, req, Repeatable::Yes).await?, &format!("waybill {waybill}"), Repeatable::Yes).await?;
        let ok = match answer.get("status") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("success"),
            _ => answer.get("error").is_none_or(|e| e.is_null() || e == &Value::Bool(false)),
        };
        if ok {
            return Ok(());
        }
        let message = carrier_message(&answer).unwrap_or_else(|| "Delhivery did not cancel the shipment".into());
        Err(rejected("CANCEL_FAILED", message, None))
    }

    async fn track(&self, account: &Account<'_>, tracking_number: &str) -> Result<Vec<Scan>, CarrierError> {
        let what = format!("tracking number {tracking_number}");
        let found = self.shipments(account, ("waybill", tracking_number), &what).await?;
        let Some(index) = found
            .iter()
            .position(|(_, s)| text(&s.awb).as_deref() == Some(tracking_number))
            .or((!found.is_empty()).then_some(0))
        else {
            return Err(CarrierError::NotFound { carrier: SLUG, what });
        };
        let (_, shipment) = found.into_iter().nth(index).expect("index is in range");
        if shipment.scans.is_empty() {
            // No scan list: the current status is the only scan there is.
            return Ok(shipment.status.and_then(|s| scan_from(s, None)).into_iter().collect());
        }
        Ok(shipment
            .scans
            .into_iter()
            .filter_map(|mut s| s.get_mut("ScanDetail").map(Value::take))
            .filter_map(|detail| scan_from(detail, None))
            .collect())
    }

    async fn subscribe(
        &self,
        _account: &Account<'_>,
        _tracking_number: &str,
        _target: &PushTarget,
    ) -> Result<(), CarrierError> {
        // Delhivery's webhook is set up once per client account with its team; it pushes every
        // shipment's scans, so there is nothing to ask for per shipment.
        Ok(())
    }

    fn parse_push(&self, secret: &str, push: &PushRequest<'_>) -> Result<Vec<PushedScan>, PushError> {
        let given = push
            .header("authorization")
            .ok_or_else(|| PushError::BadSignature("the Authorization header is missing".into()))?
            .trim();
        let token = ["Bearer ", "Token "].iter().find_map(|p| given.strip_prefix(p)).unwrap_or(given).trim();
        if secret.is_empty() || !same_secret(token.as_bytes(), secret.as_bytes()) {
            return Err(PushError::BadSignature("the Authorization token does not match".into()));
        }

        let body: Value = serde_json::from_slice(push.body).map_err(|e| PushError::Malformed(e.to_string()))?;
        let items = match body {
            Value::Array(items) => items,
            one => vec![one],
        };
        items
            .into_iter()
            .map(|mut item| {
                let mut shipment = item
                    .get_mut("Shipment")
                    .map(Value::take)
                    .ok_or_else(|| PushError::Malformed("a pushed scan without `Shipment`".into()))?;
                let tracking_number = text(&shipment.get("AWB").cloned())
                    .filter(|w| !w.is_empty())
                    .ok_or_else(|| PushError::Malformed("a pushed scan without `AWB`".into()))?;
                let nsl = text(&shipment.get("NSLCode").cloned()).filter(|c| !c.is_empty());
                let status = shipment
                    .get_mut("Status")
                    .map(Value::take)
                    .ok_or_else(|| PushError::Malformed("a pushed scan without `Status`".into()))?;
                let scan = scan_from(status, nsl)
                    .ok_or_else(|| PushError::Malformed("a pushed scan without a readable StatusDateTime".into()))?;
                Ok(PushedScan { tracking_number, scan })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_without_an_offset_are_ist() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
        assert_eq!(parse_time("2024-09-21T14:31:48.752"), Some(at("2024-09-21T14:31:48.752+05:30")));
        assert_eq!(parse_time("2024-09-21T14:36:53"), Some(at("2024-09-21T14:36:53+05:30")));
        assert_eq!(parse_time("2024-09-21 14:36:53"), Some(at("2024-09-21T14:36:53+05:30")));
        assert_eq!(parse_time("2024-09-21T14:36:53+00:00"), Some(at("2024-09-21T14:36:53Z")));
        assert_eq!(parse_time("soon"), None);
    }

    #[test]
    fn the_status_table_and_ndr_hints_read_as_documented() {
        assert_eq!(status_for("UD", "manifested"), Some(TrackingStatus::InfoReceived));
        assert_eq!(status_for("RT", "In Transit"), Some(TrackingStatus::ReturnToOrigin));
        assert_eq!(status_for("DL", "RTO"), Some(TrackingStatus::Returned));
        assert_eq!(status_for("ZZ", "In Transit"), None);
        assert_eq!(ndr_reason_for("Consignee Unavailable"), NdrReason::CustomerUnavailable);
        assert_eq!(ndr_reason_for("Consignee refused to accept"), NdrReason::Refused);
        assert_eq!(ndr_reason_for("Incomplete address & contact details"), NdrReason::AddressIssue);
        assert_eq!(ndr_reason_for("Cash not ready with consignee"), NdrReason::CodNotReady);
        assert_eq!(ndr_reason_for("Something else"), NdrReason::Other);
        assert_eq!(phone("+91 98765 43210"), "9876543210");
        assert_eq!(phone("09876543210"), "9876543210");
        assert_eq!(cm(305), 31);
    }
}
