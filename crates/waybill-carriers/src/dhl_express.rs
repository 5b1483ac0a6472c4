//! `dhl_express`: DHL Express over the MyDHL API (REST), following the OpenAPI document
//! "DHL Express APIs (MyDHL API)" version 2.7.0 (x-release-date 2022-10-16), as published on
//! <https://developer.dhl.com/api-reference/dhl-express-mydhl> and stored in
//! `Korbeil/dhl-express-php-api` @ `3e7f488a` (`resources/dpdhl-express-api-2.7.0-swagger.yaml`).
//! Calls used: `POST /rates` (multi-piece rating), `POST /shipments` (create shipment and label),
//! `GET /shipments/{shipmentTrackingNumber}/tracking`, `POST /pickups` (`plannedPickupDateAndTime`,
//! `closeTime`, `location`, `accounts`, `customerDetails.shipperDetails`, `shipmentDetails[]` →
//! `dispatchConfirmationNumbers`, `readyByTime`, `nextPickupDate`) and `GET /address-validate`
//! (`type=delivery`, `countryCode`, `postalCode`, `cityName` → the `address[]` DHL serves there: it
//! says whether DHL delivers to the place, never whether the street exists or what kind it is).
//!
//! Auth is HTTP Basic with the API key and secret DHL issues for the account (`api_key`,
//! `api_secret`); every request names the shipper account (`account_number`). Errors come as
//! `{"instance", "detail", "title", "status", "message", "additionalDetails"}`: DHL's own code is the
//! number that starts `detail` (`"7008: The requested …"`), or `title` when there is none, and
//! `detail` (with `additionalDetails`) is kept as the message.
//!
//! Labels are requested as PDF (`outputImageProperties.encodingFormat = "pdf"`; MyDHL renders one
//! format per shipment) and every returned document whose `imageFormat` is PDF or ZPL is kept as a
//! `pdf`/`zpl` document. Our reference goes in the shipment's `customerReferences` (type `CU`).
//!
//! Not implemented, on purpose:
//! - `find_booking` (`capabilities.find_booking = false`): it returns `Rejected { code:
//!   "UNSUPPORTED" }`. 2.7.0 documents `GET /tracking?shipmentReference=…&shipperAccountNumber=…`,
//!   but not whether (or how soon) a freshly created, not yet picked-up shipment is found there, so
//!   its "No Shipments Found" cannot be read as "never booked": a booking whose answer was lost
//!   needs a person to check MyDHL before booking again.
//! - `cancel` (`capabilities.cancel = false`): MyDHL has no void for shipments (a shipment that is
//!   never picked up is not billed); it returns `Rejected { code: "UNSUPPORTED" }`.
//! - Cash on delivery (refused before any call), a courier booked with the shipment
//!   (`pickup.isRequested = false`; pickups are booked on their own with `schedule_pickup`), customs data (no declared value or export declaration is sent, so
//!   DHL refuses dutiable international shipments with its own message), pushes (`subscribe` does
//!   nothing, `parse_push` refuses every push).

use std::str::FromStr;

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;
use serde_json::{Value, json};
use waybill_core::{Address, Money, NdrReason, Parcel, TrackingStatus};
use waybill_outbound::Outbound;

use crate::http::{CarrierFault, Http, Repeatable, after_accept, read_body};
use crate::model::*;
use crate::{Carrier, CarrierError};

const SLUG: &str = "dhl_express";

const RATES_PATH: &str = "/rates";
const SHIPMENTS_PATH: &str = "/shipments";
const PICKUPS_PATH: &str = "/pickups";
/// Who asks DHL to call a courier off, and why (both required by MyDHL's cancel call).
const PICKUP_CANCEL_REQUESTOR: &str = "Waybill";
const PICKUP_CANCEL_REASON: &str = "Pickup no longer needed";
const ADDRESS_PATH: &str = "/address-validate";

/// DHL global product code → name (the `productCode` of `/rates` and `/shipments`). The codes are
/// Waybill's service codes for this carrier; which ones an account may use depends on its lanes
/// and contract (`/rates` answers only the available ones).
const SERVICES: &[(&str, &str)] = &[
    ("P", "EXPRESS WORLDWIDE"),
    ("D", "EXPRESS WORLDWIDE (documents)"),
    ("N", "DOMESTIC EXPRESS"),
    ("K", "EXPRESS 9:00"),
    ("T", "EXPRESS 12:00"),
    ("U", "EXPRESS WORLDWIDE (EU)"),
    ("W", "ECONOMY SELECT (EU)"),
    ("H", "ECONOMY SELECT"),
    ("X", "EXPRESS ENVELOPE"),
];

/// Tracking `events[].typeCode` (DHL Express checkpoint code) → normalized status. The OpenAPI
/// document gives only `PU` ("Shipment picked up") as an example; the rest are DHL Express's
/// published checkpoint codes.
const STATUSES: &[(&str, TrackingStatus)] = &[
    ("PU", TrackingStatus::PickedUp),           // shipment picked up
    ("SA", TrackingStatus::PickedUp),           // shipment acceptance
    ("PL", TrackingStatus::InTransit),          // processed at location
    ("DF", TrackingStatus::InTransit),          // departed facility
    ("AF", TrackingStatus::InTransit),          // arrived at facility
    ("AR", TrackingStatus::InTransit),          // arrived at delivery facility
    ("CI", TrackingStatus::InTransit),          // facility check-in
    ("CU", TrackingStatus::InTransit),          // confirm uplift
    ("TR", TrackingStatus::InTransit),          // record of transfer
    ("HN", TrackingStatus::InTransit),          // handover
    ("TP", TrackingStatus::InTransit),          // forwarded to a third party
    ("FD", TrackingStatus::InTransit),          // forward destination
    ("TD", TrackingStatus::InTransit),          // transport delay
    ("SC", TrackingStatus::InTransit),          // service changed
    ("AD", TrackingStatus::InTransit),          // delivery date agreed with the receiver
    ("IC", TrackingStatus::InTransit),          // in clearance processing
    ("ES", TrackingStatus::InTransit),          // customs entry submitted
    ("BN", TrackingStatus::InTransit),          // customer's broker notified
    ("BR", TrackingStatus::InTransit),          // broker release
    ("CR", TrackingStatus::InTransit),          // clearance release
    ("RR", TrackingStatus::InTransit),          // response received
    ("WC", TrackingStatus::OutForDelivery),     // with delivery courier
    ("OK", TrackingStatus::Delivered),          // delivered
    ("DD", TrackingStatus::Delivered),          // delivered damaged
    ("NH", TrackingStatus::DeliveryFailed),     // not home
    ("CA", TrackingStatus::DeliveryFailed),     // closed on arrival
    ("RD", TrackingStatus::DeliveryFailed),     // refused delivery
    ("BA", TrackingStatus::DeliveryFailed),     // bad address
    ("CM", TrackingStatus::DeliveryFailed),     // customer moved
    ("CC", TrackingStatus::AvailableForPickup), // awaiting collection by the receiver
    ("RT", TrackingStatus::ReturnToOrigin),     // returned to shipper (on its way back)
    ("OH", TrackingStatus::Exception),          // on hold
    ("HP", TrackingStatus::Exception),          // held for payment
    ("SS", TrackingStatus::Exception),          // shipment stopped
    ("CD", TrackingStatus::Exception),          // controllable clearance delay
    ("UD", TrackingStatus::Exception),          // uncontrollable clearance delay
    ("MD", TrackingStatus::Exception),          // missed delivery cycle (no attempt was made)
    ("MS", TrackingStatus::Exception),          // mis-sort
    ("MC", TrackingStatus::Exception),          // miscode
    ("DM", TrackingStatus::Exception),          // damaged
    ("PD", TrackingStatus::Exception),          // partial delivery: some pieces still out
    ("DS", TrackingStatus::Exception),          // destroyed / disposed
];

/// A failed-delivery checkpoint → the NDR reason it carries.
const NDR_REASONS: &[(&str, NdrReason)] = &[
    ("NH", NdrReason::CustomerUnavailable),
    ("CA", NdrReason::PremisesClosed),
    ("RD", NdrReason::Refused),
    ("BA", NdrReason::AddressIssue),
    ("CM", NdrReason::AddressIssue),
];

/// A code the tables do not know is kept and logged, and read as `in_transit`: the state
/// machine never lets that move a shipment backwards, and nothing is dropped.
const UNKNOWN_CODE_STATUS: TrackingStatus = TrackingStatus::InTransit;

/// Document `imageFormat` → the document format Waybill serves. Others are not kept.
const DOCUMENT_FORMATS: &[(&str, &str)] = &[("PDF", "pdf"), ("ZPL", "zpl")];

/// The label encoding asked of DHL (`outputImageProperties.encodingFormat`).
const LABEL_ENCODING: &str = "pdf";

/// `customerReferences[].typeCode` for our reference: "customer reference".
const REFERENCE_TYPE: &str = "CU";

pub fn status_for(code: &str) -> Option<TrackingStatus> {
    STATUSES.iter().find(|(c, _)| *c == code).map(|(_, s)| *s)
}

pub fn ndr_reason_for(code: &str) -> Option<NdrReason> {
    NDR_REASONS.iter().find(|(c, _)| *c == code).map(|(_, r)| *r)
}

pub fn service_name(code: &str) -> Option<&'static str> {
    SERVICES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

pub struct DhlExpress {
    http: Http,
    info: CarrierInfo,
}

impl DhlExpress {
    pub fn new(outbound: Outbound) -> Self {
        let info = CarrierInfo {
            slug: SLUG,
            name: "DHL Express",
            services: SERVICES.iter().map(|(code, name)| Service { code, name }).collect(),
            capabilities: Capabilities {
                rates: true,
                cancel: false,
                track: true,
                push: false,
                push_at_booking: false,
                find_booking: false,
                cash_on_delivery: false,
                address_validation: true,
                pickup: true,
                pickup_cancel: true,
                manifest: false,
                update: false,
                rto_request: false,
                serviceability: false,
                returns: false,
                ndr: false,
            },
            credentials: CredentialSchema {
                fields: vec![
                    CredentialField {
                        name: "api_key",
                        description: "MyDHL API key (the HTTP Basic username DHL issued)",
                        required: true,
                    },
                    CredentialField {
                        name: "api_secret",
                        description: "MyDHL API secret (the HTTP Basic password DHL issued)",
                        required: true,
                    },
                    CredentialField {
                        name: "account_number",
                        description: "DHL Express shipper account number the shipments are billed to",
                        required: true,
                    },
                ],
            },
            test_base_url: Some("https://express.api.dhl.com/mydhlapi/test"),
            live_base_url: Some("https://express.api.dhl.com/mydhlapi"),
            carrier_label_formats: vec!["pdf"],
        };
        Self { http: Http::new(outbound), info }
    }

    fn request(&self, account: &Account<'_>, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .client(account)
            .request(method, format!("{}{path}", account.base_url.trim_end_matches('/')))
            .basic_auth(credential(account, "api_key"), Some(credential(account, "api_secret")))
    }
}

fn credential<'a>(account: &Account<'a>, name: &str) -> &'a str {
    account.credentials.get(name).and_then(Value::as_str).unwrap_or_default()
}

fn protocol(message: impl Into<String>) -> CarrierError {
    CarrierError::Protocol { carrier: SLUG, message: message.into() }
}

fn unsupported(message: &str) -> CarrierError {
    CarrierError::Rejected { carrier: SLUG, code: "UNSUPPORTED".into(), message: message.into(), field: None }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DhlError {
    detail: Option<String>,
    title: Option<String>,
    message: Option<String>,
    #[serde(default)]
    additional_details: Vec<Value>,
}

impl DhlError {
    /// DHL's code (the number `detail` starts with, else `title`) and its full message; `None`
    /// when the body has no words of DHL's (the status alone is reported then).
    fn code_and_message(self, status: u16) -> Option<(String, String)> {
        let detail = self.detail.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
        let numbered = detail.as_deref().and_then(|d| {
            let (head, _) = d.split_once(':')?;
            (!head.is_empty() && head.chars().all(|c| c.is_ascii_digit())).then(|| head.to_owned())
        });
        let code = numbered
            .or_else(|| self.title.clone().filter(|t| !t.trim().is_empty()))
            .unwrap_or_else(|| format!("HTTP_{status}"));
        let mut message = detail.or(self.title).or(self.message)?;
        let extra: Vec<String> = self
            .additional_details
            .iter()
            .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
            .collect();
        if !extra.is_empty() {
            message = format!("{message} ({})", extra.join("; "));
        }
        Some((code, message))
    }
}

/// A MyDHL 2xx body, unread, for the `parse_…_answer` functions. Error bodies are RFC 7807
/// problems whose `detail` starts with DHL's numeric code, which is kept with the whole detail.
async fn answer_body(response: reqwest::Response, what: &str, repeatable: Repeatable) -> Result<Vec<u8>, CarrierError> {
    read_body(SLUG, response, what, repeatable, |status, body| {
        let (code, message) = serde_json::from_slice::<DhlError>(body).ok()?.code_and_message(status)?;
        Some(CarrierFault { code, message, field: None })
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------

/// `plannedShippingDateAndTime` as the documents show it: `2021-01-11T13:00:00GMT+00:00`.
fn planned_shipping(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%dT%H:%M:%SGMT+00:00").to_string()
}

fn postal_address(a: &Address) -> Value {
    let mut v = json!({
        "postalCode": a.postal_code,
        "cityName": a.city,
        "countryCode": a.country,
        "addressLine1": a.street1,
    });
    if let Some(line2) = a.street2.as_deref().filter(|s| !s.trim().is_empty()) {
        v["addressLine2"] = json!(line2);
    }
    if let Some(state) = a.state.as_deref().filter(|s| !s.trim().is_empty()) {
        v["provinceCode"] = json!(state);
    }
    v
}

fn party(a: &Address) -> Value {
    let mut contact = json!({
        "fullName": a.name,
        "companyName": a.company.as_deref().unwrap_or(&a.name),
    });
    if let Some(phone) = &a.phone {
        contact["phone"] = json!(phone);
    }
    if let Some(email) = &a.email {
        contact["email"] = json!(email);
    }
    json!({"postalAddress": postal_address(a), "contactInformation": contact})
}

/// Kilograms to three decimals (DHL's precision), rounded up so nothing is under-declared.
pub fn kgs(weight_g: u64) -> f64 {
    let kg = Decimal::from(weight_g) / Decimal::from(1000);
    let kg = kg.round_dp_with_strategy(3, RoundingStrategy::AwayFromZero).max(Decimal::new(1, 3));
    kg.to_f64().unwrap_or(f64::MAX)
}

/// Whole centimetres, rounded up (at least 1).
pub fn cm(mm: u64) -> u64 {
    mm.div_ceil(10).max(1)
}

fn packages(parcels: &[Parcel]) -> Vec<Value> {
    parcels
        .iter()
        .map(|p| {
            let mut v = json!({"weight": kgs(p.weight_g)});
            if let Some(d) = p.dimensions_mm {
                v["dimensions"] = json!({"length": cm(d.length), "width": cm(d.width), "height": cm(d.height)});
            }
            v
        })
        .collect()
}

fn customs_declarable(from: &Address, to: &Address) -> bool {
    !from.country.eq_ignore_ascii_case(&to.country)
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DhlPrice {
    currency_type: Option<String>,
    price_currency: Option<String>,
    price: Option<Value>,
}

/// The price in the billing currency (`BILLC`), else the first one with a currency and amount.
fn charge_from(prices: &[DhlPrice]) -> Result<Option<Money>, CarrierError> {
    let usable = |p: &&DhlPrice| p.price_currency.is_some() && p.price.is_some();
    let Some(p) = prices
        .iter()
        .filter(usable)
        .find(|p| p.currency_type.as_deref() == Some("BILLC"))
        .or_else(|| prices.iter().find(usable))
    else {
        return Ok(None);
    };
    let raw = p.price.as_ref().map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()));
    let raw = raw.unwrap_or_default();
    let amount =
        Decimal::from_str(raw.trim()).map_err(|_| protocol(format!("charge amount `{raw}` is not a decimal")))?;
    let currency = p.price_currency.as_deref().unwrap_or_default().parse().map_err(protocol)?;
    Ok(Some(Money::new(amount, currency)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RateProduct {
    product_code: Option<String>,
    #[serde(default)]
    total_price: Vec<DhlPrice>,
    delivery_capabilities: Option<DeliveryCapabilities>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryCapabilities {
    total_transit_days: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShipmentAnswer {
    shipment_tracking_number: Option<String>,
    #[serde(default)]
    documents: Vec<ShipmentDocument>,
    #[serde(default)]
    shipment_charges: Vec<DhlPrice>,
    estimated_delivery_date: Option<EstimatedDelivery>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShipmentDocument {
    image_format: Option<String>,
    content: Option<String>,
    type_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EstimatedDelivery {
    estimated_delivery_date: Option<String>,
}

fn booking_from(answer: ShipmentAnswer, service: &str) -> Result<Booking, CarrierError> {
    let Some(tracking_number) = answer.shipment_tracking_number.filter(|n| !n.trim().is_empty()) else {
        // DHL said it created something but gave no number (the HTTP path reads this as unknown).
        return Err(protocol("the shipment answer has no shipmentTrackingNumber"));
    };
    let mut documents = Vec::new();
    for doc in &answer.documents {
        let code = doc.image_format.as_deref().unwrap_or_default().to_uppercase();
        let Some(format) = DOCUMENT_FORMATS.iter().find(|(c, _)| *c == code).map(|(_, f)| *f) else {
            tracing::warn!(carrier = SLUG, format = %code, kind = ?doc.type_code, "DHL returned a document format Waybill cannot serve; not kept");
            continue;
        };
        let Some(content) = &doc.content else { continue };
        let bytes = base64::engine::general_purpose::STANDARD.decode(content.trim()).map_err(|e| {
            protocol(format!("the {} document is not base64: {e}", doc.type_code.as_deref().unwrap_or("label")))
        })?;
        documents.push(CarrierDocument { format, bytes });
    }
    Ok(Booking {
        carrier_shipment_id: tracking_number.clone(),
        tracking_number,
        service: service.to_owned(),
        charge: charge_from(&answer.shipment_charges)?,
        edd: answer
            .estimated_delivery_date
            .and_then(|e| e.estimated_delivery_date)
            .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok()),
        routing: None,
        documents,
    })
}

#[derive(Deserialize)]
struct TrackingAnswer {
    #[serde(default)]
    shipments: Vec<TrackedShipment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackedShipment {
    shipment_tracking_number: Option<Value>,
    #[serde(default)]
    events: Vec<Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct TrackingEvent {
    date: Option<String>,
    time: Option<String>,
    #[serde(rename = "GMTOffset")]
    gmt_offset: Option<String>,
    type_code: Option<String>,
    description: Option<String>,
    #[serde(default)]
    service_area: Vec<ServiceArea>,
}

#[derive(Deserialize, Default)]
struct ServiceArea {
    code: Option<String>,
    description: Option<String>,
}

/// When the event happened: DHL gives the local `date` and `time` with the location's
/// `GMTOffset`; without an offset the time is read as `+00:00`.
fn occurred_at(e: &TrackingEvent) -> Option<DateTime<FixedOffset>> {
    let date = NaiveDate::parse_from_str(e.date.as_deref()?.trim(), "%Y-%m-%d").ok()?;
    let time = NaiveTime::parse_from_str(e.time.as_deref()?.trim(), "%H:%M:%S").ok()?;
    let utc = FixedOffset::east_opt(0).expect("zero offset");
    let offset = e.gmt_offset.as_deref().and_then(|o| o.trim().parse::<FixedOffset>().ok()).unwrap_or(utc);
    offset.from_local_datetime(&NaiveDateTime::new(date, time)).single()
}

/// Maps one tracking event; `None` only when it has no readable time.
fn scan_from(raw: Value) -> Option<Scan> {
    let event: TrackingEvent = serde_json::from_value(raw.clone()).unwrap_or_default();
    let Some(at) = occurred_at(&event) else {
        tracing::warn!(carrier = SLUG, event = %raw, "DHL event without a readable date and time; skipped");
        return None;
    };
    let code = event.type_code.unwrap_or_default();
    let status = status_for(&code).unwrap_or_else(|| {
        tracing::warn!(carrier = SLUG, code = %code, "unknown DHL checkpoint code, read as in_transit");
        UNKNOWN_CODE_STATUS
    });
    let ndr_reason =
        (status == TrackingStatus::DeliveryFailed).then(|| ndr_reason_for(&code).unwrap_or(NdrReason::Other));
    let location =
        event.service_area.into_iter().next().and_then(|a| a.description.or(a.code)).filter(|l| !l.trim().is_empty());
    Some(Scan {
        event_id: None,
        code,
        status,
        reason_code: None,
        ndr_reason,
        description: event.description.unwrap_or_default(),
        location,
        occurred_at: at,
        raw,
    })
}

fn same_number(v: &Option<Value>, n: &str) -> bool {
    match v {
        Some(Value::String(s)) => s == n,
        Some(Value::Number(x)) => x.to_string() == n,
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Answer parsers (public so they can be fuzzed; the HTTP paths below call them)
// ---------------------------------------------------------------------------------------------

fn json<T: for<'de> Deserialize<'de>>(body: &[u8], what: &str) -> Result<T, CarrierError> {
    serde_json::from_slice(body).map_err(|e| protocol(format!("unexpected {what} answer: {e}")))
}

/// Reads a `POST /rates` answer: each product with a price, in the billing currency when given.
pub fn parse_rates_answer(body: &[u8]) -> Result<Vec<Rate>, CarrierError> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        products: Vec<RateProduct>,
    }
    let answer: Answer = json(body, "rates")?;
    let mut rates = Vec::new();
    for product in answer.products {
        let Some(service) = product.product_code else { continue };
        let Some(charge) = charge_from(&product.total_price)? else {
            tracing::warn!(carrier = SLUG, product = %service, "DHL product without a price; not offered");
            continue;
        };
        let transit_days = product.delivery_capabilities.and_then(|d| d.total_transit_days).and_then(|v| {
            v.as_u64().and_then(|n| u32::try_from(n).ok()).or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        });
        rates.push(Rate { service, charge, transit_days });
    }
    Ok(rates)
}

/// Reads a `POST /shipments` answer; `service` is the product asked for.
pub fn parse_shipment_answer(body: &[u8], service: &str) -> Result<Booking, CarrierError> {
    booking_from(json(body, "shipment")?, service)
}

/// Reads a tracking answer: the events of `tracking_number`'s shipment (or the first), in DHL's order.
pub fn parse_tracking_answer(body: &[u8], tracking_number: &str) -> Result<Vec<Scan>, CarrierError> {
    let answer: TrackingAnswer = json(body, "tracking")?;
    let mut shipments = answer.shipments;
    let index = shipments.iter().position(|s| same_number(&s.shipment_tracking_number, tracking_number));
    let Some(shipment) = index.or((!shipments.is_empty()).then_some(0)).map(|i| shipments.swap_remove(i)) else {
        return Err(CarrierError::NotFound { carrier: SLUG, what: format!("tracking number {tracking_number}") });
    };
    Ok(shipment.events.into_iter().filter_map(scan_from).collect())
}

/// Reads a `POST /pickups` answer: the first `dispatchConfirmationNumbers` entry is the
/// confirmation; the day is `nextPickupDate` when DHL moved the pickup; `readyByTime` and
/// `warnings` make the note.
pub fn parse_pickup_answer(body: &[u8]) -> Result<Pickup, CarrierError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        #[serde(default)]
        dispatch_confirmation_numbers: Vec<Value>,
        ready_by_time: Option<String>,
        next_pickup_date: Option<String>,
        #[serde(default)]
        warnings: Vec<Value>,
    }
    let answer: Answer = json(body, "pickup")?;
    let confirmation_number = match answer.dispatch_confirmation_numbers.first() {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(protocol("the pickup answer has no dispatchConfirmationNumbers")),
    };
    let date = answer.next_pickup_date.as_deref().and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());
    let mut note: Vec<String> = Vec::new();
    if let Some(ready) = answer.ready_by_time.filter(|t| !t.trim().is_empty()) {
        note.push(format!("ready by {}", ready.trim()));
    }
    note.extend(answer.warnings.iter().map(|w| w.as_str().map(str::to_owned).unwrap_or_else(|| w.to_string())));
    note.retain(|n| !n.trim().is_empty());
    Ok(Pickup { confirmation_number, date, charge: None, note: (!note.is_empty()).then(|| note.join("; ")) })
}

/// An address with nothing known, for reading an answer without the address asked about.
/// Reads a `GET /address-validate` answer (`asked`, when given, fills what DHL does not return). DHL only says whether it serves the
/// city/postcode: a listed place is `valid` (each listed place a candidate, the street kept as
/// asked), none is `invalid`; it never classifies, so the class is `unknown`.
pub fn parse_address_answer(body: &[u8], asked: Option<&Address>) -> Result<AddressCheck, CarrierError> {
    let asked = &asked.cloned().unwrap_or_default();
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        address: Vec<Place>,
        #[serde(default)]
        warnings: Vec<Value>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Place {
        country_code: Option<String>,
        postal_code: Option<String>,
        city_name: Option<String>,
    }
    let answer: Answer = json(body, "address")?;
    let text = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let candidates: Vec<Address> = answer
        .address
        .into_iter()
        .map(|p| Address {
            city: text(p.city_name).unwrap_or_else(|| asked.city.clone()),
            postal_code: text(p.postal_code).unwrap_or_else(|| asked.postal_code.clone()),
            country: text(p.country_code).unwrap_or_else(|| asked.country.clone()),
            ..asked.clone()
        })
        .collect();
    let messages = answer
        .warnings
        .iter()
        .map(|w| w.as_str().map(str::to_owned).unwrap_or_else(|| w.to_string()))
        .filter(|m| !m.trim().is_empty())
        .collect();
    let verdict = if candidates.is_empty() { AddressVerdict::Invalid } else { AddressVerdict::Valid };
    Ok(AddressCheck { verdict, classification: AddressClass::Unknown, candidates, messages })
}

// ---------------------------------------------------------------------------------------------
// Pickup request
// ---------------------------------------------------------------------------------------------

/// The product a pickup's parcels travel with when the request names none.
const DEFAULT_PICKUP_PRODUCT: &str = "P";

/// `plannedPickupDateAndTime`: the ready time, local to the pickup address. Waybill does not know
/// the address's zone, so it is sent as `GMT+00:00` like the shipments' planned time.
fn planned_pickup(request: &PickupRequest) -> String {
    request.date.and_time(request.ready_time).format("%Y-%m-%dT%H:%M:%SGMT+00:00").to_string()
}

fn pickup_body(account_number: &str, request: &PickupRequest) -> Value {
    let accounts = json!([{"typeCode": "shipper", "number": account_number}]);
    let mut body = json!({
        "plannedPickupDateAndTime": planned_pickup(request),
        "closeTime": request.close_time.format("%H:%M").to_string(),
        "location": "reception",
        "accounts": accounts,
        "customerDetails": {"shipperDetails": party(&request.address)},
        "shipmentDetails": [{
            "productCode": request.service.as_deref().unwrap_or(DEFAULT_PICKUP_PRODUCT),
            "accounts": accounts,
            "isCustomsDeclarable": false,
            "unitOfMeasurement": "metric",
            "packages": packages(&request.parcels),
        }],
    });
    if let Some(remark) = request.instructions.as_deref().filter(|s| !s.trim().is_empty()) {
        body["remark"] = json!(remark);
    }
    body
}

#[async_trait::async_trait]
impl Carrier for DhlExpress {
    fn info(&self) -> &CarrierInfo {
        &self.info
    }

    async fn rate(&self, account: &Account<'_>, request: &RateRequest) -> Result<Vec<Rate>, CarrierError> {
        let body = json!({
            "customerDetails": {
                "shipperDetails": postal_address(&request.ship_from),
                "receiverDetails": postal_address(&request.ship_to),
            },
            "accounts": [{"typeCode": "shipper", "number": credential(account, "account_number")}],
            "plannedShippingDateAndTime": planned_shipping(Utc::now()),
            "unitOfMeasurement": "metric",
            "isCustomsDeclarable": customs_declarable(&request.ship_from, &request.ship_to),
            "packages": packages(&request.parcels),
        });
        let req = self.request(account, reqwest::Method::POST, RATES_PATH).json(&body);
        let answer = answer_body(self.http.send(SLUG, req, Repeatable::Yes).await?, "rates", Repeatable::Yes).await?;
        parse_rates_answer(&answer).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    async fn book(&self, account: &Account<'_>, request: &BookingRequest) -> Result<Booking, CarrierError> {
        if request.cod.is_some() {
            return Err(CarrierError::Rejected {
                carrier: SLUG,
                code: "COD_NOT_SUPPORTED".into(),
                message: "cash on delivery is not supported for DHL Express in Waybill".into(),
                field: Some("/cod".into()),
            });
        }
        let body = json!({
            "plannedShippingDateAndTime": planned_shipping(Utc::now()),
            "pickup": {"isRequested": false},
            "productCode": request.service,
            "accounts": [{"typeCode": "shipper", "number": credential(account, "account_number")}],
            "customerReferences": [{"value": request.reference, "typeCode": REFERENCE_TYPE}],
            "outputImageProperties": {
                "encodingFormat": LABEL_ENCODING,
                "imageOptions": [{"typeCode": "label", "isRequested": true}],
            },
            "customerDetails": {
                "shipperDetails": party(&request.ship_from),
                "receiverDetails": party(&request.ship_to),
            },
            "content": {
                "packages": packages(&request.parcels),
                "isCustomsDeclarable": customs_declarable(&request.ship_from, &request.ship_to),
                "description": format!("Waybill {}", request.reference),
                "incoterm": "DAP",
                "unitOfMeasurement": "metric",
            },
        });
        let req = self.request(account, reqwest::Method::POST, SHIPMENTS_PATH).json(&body);
        let answer = answer_body(self.http.send(SLUG, req, Repeatable::No).await?, "shipment", Repeatable::No).await?;
        parse_shipment_answer(&answer, &request.service).map_err(|e| after_accept(Repeatable::No, e))
    }

    async fn find_booking(&self, _account: &Account<'_>, reference: &str) -> Result<Option<Booking>, CarrierError> {
        Err(unsupported(&format!(
            "DHL Express bookings cannot be looked up by reference in Waybill; check MyDHL for reference \
             {reference} before booking again"
        )))
    }

    async fn cancel(&self, _account: &Account<'_>, _booking: &BookedRef<'_>) -> Result<(), CarrierError> {
        Err(unsupported(
            "MyDHL API has no void for shipments: a DHL Express shipment that is never picked up is not billed",
        ))
    }

    async fn track(&self, account: &Account<'_>, tracking_number: &str) -> Result<Vec<Scan>, CarrierError> {
        let path = format!("{SHIPMENTS_PATH}/{tracking_number}/tracking");
        let req = self
            .request(account, reqwest::Method::GET, &path)
            .query(&[("trackingView", "all-checkpoints"), ("levelOfDetail", "shipment")]);
        let what = format!("tracking number {tracking_number}");
        let answer = answer_body(self.http.send(SLUG, req, Repeatable::Yes).await?, &what, Repeatable::Yes).await?;
        parse_tracking_answer(&answer, tracking_number).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    async fn validate_address(&self, account: &Account<'_>, asked: &Address) -> Result<AddressCheck, CarrierError> {
        let query = [
            ("type", "delivery"),
            ("countryCode", asked.country.as_str()),
            ("postalCode", asked.postal_code.as_str()),
            ("cityName", asked.city.as_str()),
        ];
        let req = self.request(account, reqwest::Method::GET, ADDRESS_PATH).query(&query);
        let answer = answer_body(self.http.send(SLUG, req, Repeatable::Yes).await?, "address", Repeatable::Yes).await?;
        parse_address_answer(&answer, Some(asked)).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    /// `DELETE /pickups/{dispatchConfirmationNumber}` with the two query parameters MyDHL
    /// requires, `requestorName` and `reason`.
    async fn cancel_pickup(&self, account: &Account<'_>, confirmation_number: &str) -> Result<(), CarrierError> {
        let number: String = confirmation_number.chars().filter(char::is_ascii_alphanumeric).collect();
        if number.is_empty() || number.len() != confirmation_number.len() {
            return Err(CarrierError::Rejected {
                carrier: SLUG,
                code: "INVALID_CONFIRMATION_NUMBER".into(),
                message: format!("{confirmation_number:?} is not a DHL dispatch confirmation number"),
                field: None,
            });
        }
        let query = [("requestorName", PICKUP_CANCEL_REQUESTOR), ("reason", PICKUP_CANCEL_REASON)];
        let path = format!("{PICKUPS_PATH}/{number}");
        let req = self.request(account, reqwest::Method::DELETE, &path).query(&query);
        answer_body(self.http.send(SLUG, req, Repeatable::Yes).await?, "pickup cancellation", Repeatable::Yes).await?;
        Ok(())
    }

    async fn schedule_pickup(&self, account: &Account<'_>, request: &PickupRequest) -> Result<Pickup, CarrierError> {
        let body = pickup_body(credential(account, "account_number"), request);
        let req = self.request(account, reqwest::Method::POST, PICKUPS_PATH).json(&body);
        // A repeat books a second courier: a lost answer is `Unknown`, never re-sent.
        let answer = answer_body(self.http.send(SLUG, req, Repeatable::No).await?, "pickup", Repeatable::No).await?;
        parse_pickup_answer(&answer).map_err(|e| after_accept(Repeatable::No, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_up_and_codes_map() {
        assert_eq!(kgs(1250), 1.25);
        assert_eq!(kgs(1), 0.001);
        assert_eq!(kgs(0), 0.001);
        assert_eq!(cm(305), 31);
        assert_eq!(cm(300), 30);
        assert_eq!(cm(0), 1);
        for (code, status) in STATUSES {
            assert_eq!(status_for(code), Some(*status));
        }
        for (code, _) in NDR_REASONS {
            assert_eq!(status_for(code), Some(TrackingStatus::DeliveryFailed), "{code}");
        }
        assert_eq!(
            planned_shipping(Utc.with_ymd_and_hms(2021, 1, 11, 13, 0, 0).unwrap()),
            "2021-01-11T13:00:00GMT+00:00"
        );
    }

    #[test]
    fn error_codes_come_from_the_detail() {
        let err = DhlError {
            detail: Some("7008: The requested Special Service Code is not available".into()),
            title: Some("Bad request".into()),
            ..Default::default()
        };
        assert_eq!(
            err.code_and_message(400),
            Some(("7008".into(), "7008: The requested Special Service Code is not available".into()))
        );
        let err = DhlError {
            detail: Some("Multiple problems found, see Additional Details".into()),
            title: Some("Validation error".into()),
            additional_details: vec![json!("#/location: expected maxLength: 80, actual: 85")],
            ..Default::default()
        };
        let (code, message) = err.code_and_message(422).expect("DHL's words");
        assert_eq!(code, "Validation error");
        assert!(message.ends_with("(#/location: expected maxLength: 80, actual: 85)"), "{message}");
        assert_eq!(DhlError::default().code_and_message(418), None);
    }
}
