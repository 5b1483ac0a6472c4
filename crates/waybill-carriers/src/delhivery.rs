//! `delhivery`: Delhivery B2C (Express) over its REST APIs, following Delhivery's public API
//! documentation at `https://delhivery-express-api-doc.readme.io/reference/`:
//! `order-creation-api` (`POST /api/cmu/create.json`, form body `format=json&data=<json>`),
//! `cancel-order-api` (`POST /api/p/edit` with `"cancellation": "true"`; the same call edits a
//! shipment's consignee `name`, `add`, `phone`, its `cod` amount and weight `gm`), the shipment tracking
//! API (`GET /api/v1/packages/json/?waybill=` and `?ref_ids=`), `invoice-shipping-charge-api`
//! (`GET /api/kinko/v1/invoice/charges/.json`), `package-lifecycle-1` (StatusType/Status pairs),
//! `asynchronous-ndr-package-action-api` (the NSL codes that mark an NDR package) and
//! `tracking-via-push-api-webhook-1` (the pushed scan). Status notes were cross-checked with
//! `../shared/specs/taxonomies/tracking_status_taxonomies.json` (`delhivery`).
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
//! Added later, from the same documentation site: `pincode-serviceability-api`
//! (`GET /c/api/pin-codes/json/?filter_codes=<pin>`, read from `delivery_codes[].postal_code`:
//! `pre_paid`, `cash`, `pickup`, `repl` as `Y`/`N`, `remarks` such as `Embargo`, `district`,
//! `state_code`), `packing-slip-api` (`GET /api/p/packing_slip?wbns=<waybill>`, read from
//! `packages[]`: `sort_code`, `origin`, `destination`, `pin`) and `pickup-request-creation-api`
//! (`POST /fm/request/new/`, JSON `{pickup_time "HH:MM:SS", pickup_date "YYYY-MM-DD",
//! pickup_location, expected_package_count}`, answered with `pickup_id`). The readme pages we could
//! reach show request fields but few complete answers; the answer fields were cross-checked with
//! the OpenAPI description in the `open-logistics` crate (0.3.0, `delhivery/models`).
//!
//! After a booking the packing slip is read for Delhivery's routing (sort code, origin and
//! destination centres, pin), which Waybill prints on its own label. A packing slip that cannot be
//! had does not fail the booking: it is logged, and the create answer's `sort_code` (if any) is
//! the only routing kept. Pickups go to the warehouse named by the `pickup_location` credential.
//!
//! Every answer is read by a pure `parse_…_answer` function (fuzzed in
//! `fuzz/fuzz_targets/delhivery_answers.rs`); the HTTP path calls the same functions.
//!
//! Not implemented: multi-piece shipments (they need pre-fetched waybills per box; a booking of
//! more than one parcel is refused before any call) and reverse pickups (`capabilities.returns`
//! false). Rates use the invoice API's documented parameters with the parcels' actual weight as
//! `cgm`; Delhivery's answer is an estimate by its own account.
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
use waybill_core::ndr::{NdrAction, NdrActionKind, NdrCapability};
use waybill_core::{Address, Money, NdrReason, Parcel, Routing, TrackingStatus};
use waybill_outbound::Outbound;

use crate::http::{CarrierFault, Http, Repeatable, after_accept, read_body};
use crate::model::*;
use crate::{Carrier, CarrierError};

const SLUG: &str = "delhivery";

const CREATE_PATH: &str = "/api/cmu/create.json";
const EDIT_PATH: &str = "/api/p/edit";
const TRACK_PATH: &str = "/api/v1/packages/json/";
const CHARGES_PATH: &str = "/api/kinko/v1/invoice/charges/.json";
const SERVICEABILITY_PATH: &str = "/c/api/pin-codes/json/";
const PACKING_SLIP_PATH: &str = "/api/p/packing_slip";
const PICKUP_PATH: &str = "/fm/request/new/";
/// The NDR API: instructions after a failed delivery (`RE-ATTEMPT`, `DEFER_DLV`, `EDIT_DETAILS`).
const NDR_PATH: &str = "/api/p/update";

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
    http: Http,
    info: CarrierInfo,
}

impl Delhivery {
    pub fn new(outbound: Outbound) -> Self {
        let info = CarrierInfo {
            slug: SLUG,
            name: "Delhivery",
            services: SERVICES.iter().map(|(code, name, ..)| Service { code, name }).collect(),
            capabilities: Capabilities {
                rates: true,
                cancel: true,
                track: true,
                push: true,
                push_at_booking: false,
                find_booking: true,
                cash_on_delivery: true,
                address_validation: false,
                pickup: true,
                pickup_cancel: false,
                manifest: false,
                update: true,
                rto_request: false,
                serviceability: true,
                returns: false,
                ndr: true,
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
        Self { http: Http::new(outbound), info }
    }

    fn request(&self, account: &Account<'_>, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .client(account)
            .request(method, format!("{}{path}", account.base_url.trim_end_matches('/')))
            .header(reqwest::header::AUTHORIZATION, format!("Token {}", credential(account, "api_token")))
            .header(reqwest::header::ACCEPT, "application/json")
    }

    /// GETs `path` with `query` (a call that changes nothing) and hands back the answer body.
    async fn get(
        &self,
        account: &Account<'_>,
        path: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Vec<u8>, CarrierError> {
        let req = self.request(account, reqwest::Method::GET, path).query(query);
        answer(self.http.send(SLUG, req, Repeatable::Yes).await?, what, Repeatable::Yes).await
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
        // The pickup API nests it: `{"error": {"message": …}}`.
        Some(nested @ Value::Object(_)) => carrier_message(nested),
        _ => None,
    })
}

/// Delhivery's error body as a fault: its remark (`rmk`, `error`, …) is kept.
fn fault(status: u16, body: &[u8]) -> Option<CarrierFault> {
    let message = serde_json::from_slice::<Value>(body).ok().as_ref().and_then(carrier_message)?;
    Some(CarrierFault { code: format!("HTTP_{status}"), message, field: None })
}

/// A Delhivery answer body; refusals sent with HTTP 200 are read by the `parse_…_answer`
/// functions, which know each answer's shape.
async fn answer(response: reqwest::Response, what: &str, repeatable: Repeatable) -> Result<Vec<u8>, CarrierError> {
    read_body(SLUG, response, what, repeatable, fault).await
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8], what: &str) -> Result<T, CarrierError> {
    serde_json::from_slice(body).map_err(|e| protocol(format!("unexpected {what} answer: {e}")))
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

// ---------------------------------------------------------------------------------------------
// Answer parsers: pure, so they can be fuzzed; the HTTP path calls them.
// ---------------------------------------------------------------------------------------------

/// The create answer (`order-creation-api`) as a booking; refusals sent with HTTP 200 are
/// [`CarrierError::Rejected`] with Delhivery's remarks. The routing is the answer's `sort_code`.
pub fn parse_create_answer(body: &[u8], service: &str) -> Result<Booking, CarrierError> {
    booking_from(json_body(body, "shipment")?, service)
}

/// The cancel answer (`cancel-order-api`): `status` true, or a refusal with Delhivery's remark.
pub fn parse_cancel_answer(body: &[u8]) -> Result<(), CarrierError> {
    edit_answer(body, "cancel", "CANCEL_FAILED", "Delhivery did not cancel the shipment")
}

/// Reads the answer to an edit of a shipment's details (`POST /api/p/edit`), shaped as a
/// cancellation's: `status`, `remark`.
pub fn parse_update_answer(body: &[u8]) -> Result<(), CarrierError> {
    edit_answer(body, "edit", "UPDATE_FAILED", "Delhivery did not change the shipment")
}

/// The edit API's answer: `status` true (or `"Success"`), else a refusal with its remark.
fn edit_answer(body: &[u8], what: &str, code: &str, fallback: &str) -> Result<(), CarrierError> {
    let answer: Value = json_body(body, what)?;
    let ok = match answer.get("status") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("success"),
        _ => answer.get("error").is_none_or(|e| e.is_null() || e == &Value::Bool(false)),
    };
    if ok {
        return Ok(());
    }
    let message = carrier_message(&answer).unwrap_or_else(|| fallback.into());
    Err(rejected(code, message, None))
}

/// The edit API's body for `update` of `waybill`: the consignee's `name`, `add` (the street
/// lines) and `phone`, the `cod` amount, the weight in grams (`gm`, all parcels together: a
/// waybill is one package).
pub fn update_body(waybill: &str, update: &ShipmentUpdate) -> Value {
    let mut body = serde_json::Map::new();
    body.insert("waybill".into(), waybill.into());
    if let Some(to) = &update.ship_to {
        body.insert("name".into(), to.name.clone().into());
        let lines = [Some(to.street1.as_str()), to.street2.as_deref()];
        body.insert("add".into(), lines.into_iter().flatten().collect::<Vec<_>>().join(", ").into());
        if let Some(p) = &to.phone {
            body.insert("phone".into(), phone(p).into());
        }
    }
    if let Some(cod) = &update.cod {
        body.insert("cod".into(), cod.amount.to_string().into());
    }
    if let Some(parcels) = &update.parcels {
        body.insert("gm".into(), parcels.iter().map(|p| p.weight_g).sum::<u64>().into());
    }
    Value::Object(body)
}

/// One instruction of the NDR API for `action` on `waybill`; `None` for what the API does not
/// take: a return to origin, or a correction that gives neither a street nor a phone (a
/// landmark alone cannot be sent without the rest of the address).
pub fn ndr_instruction(waybill: &str, action: &NdrAction) -> Option<Value> {
    match action {
        NdrAction::Reattempt {} => Some(json!({"waybill": waybill, "act": "RE-ATTEMPT"})),
        NdrAction::Reschedule { date } => Some(json!({
            "waybill": waybill,
            "act": "DEFER_DLV",
            "action_data": {"deferred_date": date.format("%Y-%m-%d").to_string()},
        })),
        NdrAction::UpdateAndReattempt { street1, street2, phone, landmark } => {
            let mut data = serde_json::Map::new();
            if let Some(street1) = street1 {
                let lines = [Some(street1.as_str()), street2.as_deref(), landmark.as_deref()];
                data.insert("add".into(), lines.into_iter().flatten().collect::<Vec<_>>().join(", ").into());
            }
            if let Some(phone) = phone {
                data.insert("phone".into(), self::phone(phone).into());
            }
            (!data.is_empty()).then(|| json!({"waybill": waybill, "act": "EDIT_DETAILS", "action_data": data}))
        }
        NdrAction::Rto {} => None,
    }
}

/// The NDR API's answer: a request id when the instruction was taken, or a refusal with
/// Delhivery's remark (`status` false, or an `error`).
pub fn parse_ndr_answer(body: &[u8]) -> Result<(), CarrierError> {
    let answer: Value = json_body(body, "NDR instruction")?;
    let refused = matches!(answer.get("status"), Some(Value::Bool(false)))
        || answer.get("error").is_some_and(|e| !e.is_null() && e != &Value::Bool(false));
    if !refused {
        return Ok(());
    }
    let message = carrier_message(&answer).unwrap_or_else(|| "Delhivery did not take the NDR instruction".into());
    Err(rejected("NDR_REFUSED", message, None))
}

/// The shipments a tracking answer lists (empty when Delhivery knows none).
fn shipments(body: &[u8], what: &str) -> Result<Vec<TrackShipment>, CarrierError> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "ShipmentData", default)]
        shipment_data: Vec<Value>,
    }
    let answer: Answer = json_body(body, what)?;
    answer
        .shipment_data
        .into_iter()
        .filter_map(|mut d| d.get_mut("Shipment").map(Value::take))
        .map(|raw| serde_json::from_value(raw).map_err(|e| protocol(format!("unexpected {what} answer: {e}"))))
        .collect()
}

/// The tracking answer (`?waybill=`): the scans of `tracking_number`, in Delhivery's order.
pub fn parse_track_answer(body: &[u8], tracking_number: &str) -> Result<Vec<Scan>, CarrierError> {
    let what = format!("tracking number {tracking_number}");
    let found = shipments(body, &what)?;
    let Some(index) = found
        .iter()
        .position(|s| text(&s.awb).as_deref() == Some(tracking_number))
        .or((!found.is_empty()).then_some(0))
    else {
        return Err(CarrierError::NotFound { carrier: SLUG, what });
    };
    let Some(shipment) = found.into_iter().nth(index) else {
        return Err(CarrierError::NotFound { carrier: SLUG, what });
    };
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

/// The tracking answer to a `?ref_ids=` query: the booking made with `reference`, if any.
pub fn parse_find_answer(body: &[u8], reference: &str) -> Result<Option<Booking>, CarrierError> {
    let found = shipments(body, &format!("reference {reference}"))?;
    let Some(shipment) = found.into_iter().find(|s| text(&s.reference_no).is_none_or(|r| r == reference)) else {
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

/// The invoice charges answer: the first row's `total_amount`, or a refusal with Delhivery's words.
pub fn parse_charges_answer(body: &[u8]) -> Result<Money, CarrierError> {
    let answer: Value = json_body(body, "shipping charges")?;
    let Some(first) = answer.as_array().and_then(|a| a.first()) else {
        let message = carrier_message(&answer).unwrap_or_else(|| "Delhivery priced nothing for this shipment".into());
        return Err(rejected("CHARGES_FAILED", message, None));
    };
    first
        .get("total_amount")
        .and_then(money_from)
        .ok_or_else(|| protocol("shipping charges answer without a readable total_amount"))
}

/// A `Y`/`N` flag of the pincode answer (a JSON boolean is read too).
fn flag(v: Option<&Value>) -> bool {
    match v {
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("y") || s.trim().eq_ignore_ascii_case("true"),
        Some(Value::Bool(b)) => *b,
        _ => false,
    }
}

fn field_text(v: &Value, key: &str) -> Option<String> {
    text(&v.get(key).cloned()).filter(|s| !s.is_empty())
}

/// The pincode serviceability answer for `postal_code`. No `delivery_codes` entry means Delhivery
/// does not serve the pin; an embargoed pin (`remarks` "Embargo") is served by nothing for now.
pub fn parse_serviceability_answer(body: &[u8], postal_code: &str) -> Result<Serviceability, CarrierError> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        delivery_codes: Vec<Value>,
    }
    let answer: Answer = json_body(body, "pincode serviceability")?;
    let codes: Vec<&Value> = answer.delivery_codes.iter().filter_map(|c| c.get("postal_code")).collect();
    let code =
        codes.iter().find(|c| field_text(c, "pin").as_deref() == Some(postal_code.trim())).or(codes.first()).copied();
    let Some(code) = code else {
        return Ok(Serviceability {
            postal_code: postal_code.to_owned(),
            delivery: false,
            prepaid: false,
            cash_on_delivery: false,
            pickup: false,
            place: None,
            remark: None,
        });
    };
    let remark = field_text(code, "remarks");
    let open = !remark.as_deref().is_some_and(|r| r.to_lowercase().contains("embargo"));
    let prepaid = open && flag(code.get("pre_paid"));
    let cash_on_delivery = open && flag(code.get("cash"));
    let place = [field_text(code, "district").or_else(|| field_text(code, "city")), field_text(code, "state_code")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Serviceability {
        postal_code: postal_code.to_owned(),
        delivery: prepaid || cash_on_delivery,
        prepaid,
        cash_on_delivery,
        pickup: open && (flag(code.get("pickup")) || flag(code.get("repl"))),
        place: (!place.is_empty()).then_some(place),
        remark,
    })
}

/// The packing slip answer for `waybill` as the routing Waybill prints: `sort_code`, the origin
/// and destination centres, and the destination `pin` as the route.
pub fn parse_packing_slip_answer(body: &[u8], waybill: &str) -> Result<Routing, CarrierError> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        packages: Vec<Value>,
    }
    let answer: Answer = json_body(body, "packing slip")?;
    let slip = answer
        .packages
        .iter()
        .find(|p| field_text(p, "wbn").as_deref() == Some(waybill))
        .or(answer.packages.first())
        .ok_or_else(|| CarrierError::NotFound { carrier: SLUG, what: format!("a packing slip for {waybill}") })?;
    let sort_code = field_text(slip, "sort_code").ok_or_else(|| protocol("a packing slip without a sort_code"))?;
    Ok(Routing {
        origin_hub: field_text(slip, "origin").unwrap_or_default(),
        destination_hub: field_text(slip, "destination").unwrap_or_default(),
        sort_code,
        route: field_text(slip, "pin").unwrap_or_default(),
    })
}

/// The pickup request answer: `pickup_id` is the confirmation; an answer without one carries
/// Delhivery's refusal (`error`, `message`, `rmk`), sent with HTTP 200 at times.
pub fn parse_pickup_answer(body: &[u8]) -> Result<Pickup, CarrierError> {
    let answer: Value = json_body(body, "pickup")?;
    if let Some(id) = field_text(&answer, "pickup_id") {
        let date =
            field_text(&answer, "pickup_date").and_then(|d| NaiveDate::parse_from_str(d.get(..10)?, "%Y-%m-%d").ok());
        return Ok(Pickup {
            confirmation_number: id,
            date,
            charge: None,
            note: field_text(&answer, "incoming_center_name"),
        });
    }
    let code = answer.get("error").and_then(|e| field_text(e, "code")).unwrap_or_else(|| "PICKUP_FAILED".into());
    match carrier_message(&answer) {
        Some(message) => Err(rejected(&code, message, None)),
        None => Err(protocol("a pickup answer without pickup_id or a reason")),
    }
}

#[async_trait::async_trait]
impl Carrier for Delhivery {
    fn info(&self) -> &CarrierInfo {
        &self.info
    }

    async fn rate(&self, account: &Account<'_>, request: &RateRequest) -> Result<Vec<Rate>, CarrierError> {
        let grams = request.parcels.iter().map(|p| p.weight_g).sum::<u64>().to_string();
        let mut rates = Vec::new();
        for (code, _, _, md) in SERVICES {
            let query = [
                ("md", *md),
                ("ss", "Delivered"),
                ("d_pin", request.ship_to.postal_code.as_str()),
                ("o_pin", request.ship_from.postal_code.as_str()),
                ("cgm", grams.as_str()),
            ];
            let body = self.get(account, CHARGES_PATH, &query, "shipping charges").await?;
            let charge = parse_charges_answer(&body)?;
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
        let body = answer(self.http.send(SLUG, req, Repeatable::No).await?, "shipment", Repeatable::No).await?;
        let mut booking = parse_create_answer(&body, &request.service).map_err(|e| after_accept(Repeatable::No, e))?;
        let waybill = booking.tracking_number.clone();
        let slip = self.get(account, PACKING_SLIP_PATH, &[("wbns", waybill.as_str())], "packing slip").await;
        match slip.and_then(|body| parse_packing_slip_answer(&body, &waybill)) {
            Ok(routing) => booking.routing = Some(routing),
            // The shipment exists at Delhivery: a missing slip only costs the label its routing.
            Err(e) => {
                tracing::warn!(carrier = SLUG, waybill, error = %e, "no packing slip; booked without its routing")
            }
        }
        Ok(booking)
    }

    async fn find_booking(&self, account: &Account<'_>, reference: &str) -> Result<Option<Booking>, CarrierError> {
        let what = format!("reference {reference}");
        match self.get(account, TRACK_PATH, &[("ref_ids", reference)], &what).await {
            Ok(body) => parse_find_answer(&body, reference),
            Err(CarrierError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn cancel(&self, account: &Account<'_>, booking: &BookedRef<'_>) -> Result<(), CarrierError> {
        let waybill = booking.tracking_number;
        let req = self
            .request(account, reqwest::Method::POST, EDIT_PATH)
            .json(&json!({"waybill": waybill, "cancellation": "true"}));
        // Cancelling twice does no harm (the second is refused), so a timeout may be retried.
        let body =
            answer(self.http.send(SLUG, req, Repeatable::Yes).await?, &format!("waybill {waybill}"), Repeatable::Yes)
                .await?;
        parse_cancel_answer(&body)
    }

    fn updatable(&self) -> waybill_core::change::UpdatableFields {
        waybill_core::change::UpdatableFields { recipient: true, cod: true, parcels: true }
    }

    async fn update_shipment(
        &self,
        account: &Account<'_>,
        booking: &BookedRef<'_>,
        update: &ShipmentUpdate,
    ) -> Result<(), CarrierError> {
        let waybill = booking.tracking_number;
        let req = self.request(account, reqwest::Method::POST, EDIT_PATH).json(&update_body(waybill, update));
        // The same edit twice leaves the shipment as the first made it, so a timeout may be retried.
        let body =
            answer(self.http.send(SLUG, req, Repeatable::Yes).await?, &format!("waybill {waybill}"), Repeatable::Yes)
                .await?;
        parse_update_answer(&body)
    }

    fn ndr(&self) -> NdrCapability {
        // Its NDR API takes three actions; a return to origin is asked of Delhivery's team
        // (the daily NDR report).
        NdrCapability {
            api: true,
            actions: &[NdrActionKind::Reattempt, NdrActionKind::Reschedule, NdrActionKind::UpdateAndReattempt],
            ..NdrCapability::REPORT
        }
    }

    async fn ndr_action(
        &self,
        account: &Account<'_>,
        booking: &BookedRef<'_>,
        action: &NdrAction,
    ) -> Result<(), CarrierError> {
        let Some(instruction) = ndr_instruction(booking.tracking_number, action) else {
            return Err(CarrierError::Unsupported { carrier: SLUG, operation: "this NDR action" });
        };
        let req = self.request(account, reqwest::Method::POST, NDR_PATH).json(&json!({ "data": [instruction] }));
        let what = format!("NDR instruction for waybill {}", booking.tracking_number);
        // An instruction given twice is the same instruction, so a timeout may be retried.
        let body = answer(self.http.send(SLUG, req, Repeatable::Yes).await?, &what, Repeatable::Yes).await?;
        parse_ndr_answer(&body)
    }

    async fn track(&self, account: &Account<'_>, tracking_number: &str) -> Result<Vec<Scan>, CarrierError> {
        let what = format!("tracking number {tracking_number}");
        let body = self.get(account, TRACK_PATH, &[("waybill", tracking_number)], &what).await?;
        parse_track_answer(&body, tracking_number)
    }

    async fn serviceability(
        &self,
        account: &Account<'_>,
        country: &str,
        postal_code: &str,
    ) -> Result<Serviceability, CarrierError> {
        if !country.trim().eq_ignore_ascii_case("IN") {
            return Err(rejected(
                "DOMESTIC_ONLY",
                format!("Delhivery serves Indian pin codes, not `{country}`"),
                Some("/country"),
            ));
        }
        let pin = postal_code.trim();
        let body = self.get(account, SERVICEABILITY_PATH, &[("filter_codes", pin)], &format!("pin code {pin}")).await?;
        parse_serviceability_answer(&body, pin)
    }

    async fn schedule_pickup(&self, account: &Account<'_>, request: &PickupRequest) -> Result<Pickup, CarrierError> {
        let count = request.parcels.len().max(request.tracking_numbers.len()).max(1);
        let req = self.request(account, reqwest::Method::POST, PICKUP_PATH).json(&json!({
            "pickup_time": request.ready_time.format("%H:%M:%S").to_string(),
            "pickup_date": request.date.format("%Y-%m-%d").to_string(),
            "pickup_location": credential(account, "pickup_location"),
            "expected_package_count": count,
        }));
        // A repeat books a second pickup, so a lost answer is unknown, not retried.
        let body = answer(self.http.send(SLUG, req, Repeatable::No).await?, "pickup", Repeatable::No).await?;
        parse_pickup_answer(&body).map_err(|e| after_accept(Repeatable::No, e))
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
        if secret.is_empty() || !waybill_core::secret::same_secret(token.as_bytes(), secret.as_bytes()) {
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
