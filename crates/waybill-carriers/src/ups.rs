//! `ups`: UPS over its REST APIs, following the official UPS OpenAPI documents
//! (`UPS-API/api-documentation` @ `e6f36df4`), one per call:
//!
//! | call | document | endpoint |
//! |---|---|---|
//! | token | `OAuthClientCredentials.yaml` | `POST /security/v1/oauth/token` |
//! | rate | `Rating.yaml` | `POST /api/rating/v2409/Shop` |
//! | book, cancel | `Shipping.yaml` | `POST /api/shipments/v2409/ship`, `DELETE /api/shipments/v2409/void/cancel/{id}` |
//! | track, find_booking | `Tracking.yaml` | `GET /api/track/v1/details/{n}`, `GET /api/track/v1/reference/details/{ref}` |
//! | validate_address | `AddressValidation.yaml` | `POST /api/addressvalidation/v2/3` (validation and classification) |
//! | schedule_pickup | `Pickup.yaml` | `POST /api/pickupcreation/v2409/pickup` |
//! | cancel_pickup | `Pickup.yaml` | `DELETE /api/shipments/v2409/pickup/02` (by PRN, in the `Prn` header) |
//! | subscribe, parse_push | `UPSTrackAlert.yaml` | `POST /api/track/v1/subscription/standard/package`, then UPS's `TrackingEvent` pushes |
//!
//! Auth is OAuth2 client credentials (HTTP Basic `client_id:client_secret`). Tokens are cached
//! per account and refreshed [`TOKEN_MARGIN`] before they expire; concurrent calls share one
//! token fetch (a per-account async lock is held while fetching). A 401 on an API call drops the
//! cached token and the call is sent once more with a fresh one.
//!
//! UPS answers a single item as an object and several as an array (`RatedShipment`,
//! `PackageResults`, `Candidate`, `AddressLine`, …): every such field is read through [`OneOrMany`].
//! Every answer is read by a pure `parse_…_answer` function (fuzzed), which the HTTP path calls.
//!
//! Labels are requested as ZPL (4x6, the default) and kept as a `zpl` document, or, with the
//! account's `label_format` GIF, as UPS's GIF converted to a `png` document; Waybill renders
//! the other formats itself. Cash on delivery is not implemented (`cash_on_delivery: false`; a COD booking is
//! refused before any call).
//!
//! Address validation (UPS XAV) covers the US and Puerto Rico only; other countries are refused
//! before any call.
//!
//! Pushes: Track Alert v2 dropped the subscription's `destination` and moved webhook
//! credentials to the developer portal, while v1 "remains supported". Waybill subscribes on v1
//! (`destination.url`, `credentialType`, `credential` as in the v1 file, `UPSTrackAlert.yaml` @
//! `1265e981`), because v1 lets each subscription carry its own secret: UPS echoes it in the
//! `credential` header of every push, and `parse_push` compares it with the target's secret in
//! constant time. Each subscription lasts 14 days (UPSTrackAlert.yaml), so
//! long journeys are still pulled by `track`.

use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;
use serde_json::{Value, json};
use waybill_core::{Address, FieldError, Money, NdrReason, Parcel, TrackingStatus};
use waybill_outbound::Outbound;

use crate::http::{CarrierFault, Http, Repeatable, after_accept, read_body};
use crate::model::*;
use crate::oauth::{Flow, OAuth, bearer_token};
use crate::{Carrier, CarrierError};

const SLUG: &str = "ups";

/// API versions of the documents followed.
const RATING_PATH: &str = "/api/rating/v2409/Shop";
const SHIP_PATH: &str = "/api/shipments/v2409/ship";
const VOID_PATH: &str = "/api/shipments/v2409/void/cancel";
const TRACK_PATH: &str = "/api/track/v1/details";
const TRACK_REFERENCE_PATH: &str = "/api/track/v1/reference/details";
const TOKEN_PATH: &str = "/security/v1/oauth/token";
/// Request option 3: validation and classification together.
const ADDRESS_PATH: &str = "/api/addressvalidation/v2/3";
const PICKUP_PATH: &str = "/api/pickupcreation/v2409/pickup";
/// Pickup Cancel by PRN (`CancelBy` 02).
const PICKUP_CANCEL_PATH: &str = "/api/shipments/v2409/pickup/02";
const SUBSCRIBE_PATH: &str = "/api/track/v1/subscription/standard/package";

/// UPS XAV validates street addresses in these countries only (AddressValidation.yaml).
const ADDRESS_COUNTRIES: &[&str] = &["US", "PR"];

/// Pickup `ServiceCode` when the request names no service: UPS Ground (Pickup.yaml appendix
/// codes are the shipping service codes padded to three digits).
const DEFAULT_PICKUP_SERVICE: &str = "03";

/// Track Alert pushes echo the subscription's credential in this header (v1 `TrackingEvent`).
const PUSH_CREDENTIAL_HEADER: &str = "credential";

/// Push `activityStatus.code` values that say more than their type: `OT` comes with type `I`
/// but is the out-for-delivery scan (UPSTrackAlert.yaml example "Out for delivery message").
const PUSH_CODES: &[(&str, TrackingStatus)] = &[("OT", TrackingStatus::OutForDelivery)];

/// A cached token is replaced this long before UPS says it expires.
pub const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// UPS service code → name (Rating.yaml / Shipping.yaml `Service.Code`). The codes are
/// Waybill's service codes for this carrier.
const SERVICES: &[(&str, &str)] = &[
    ("01", "UPS Next Day Air"),
    ("02", "UPS 2nd Day Air"),
    ("03", "UPS Ground"),
    ("07", "UPS Worldwide Express"),
    ("08", "UPS Worldwide Expedited"),
    ("11", "UPS Standard"),
    ("12", "UPS 3 Day Select"),
    ("13", "UPS Next Day Air Saver"),
    ("14", "UPS Next Day Air Early"),
    ("54", "UPS Worldwide Express Plus"),
    ("59", "UPS 2nd Day Air A.M."),
    ("65", "UPS Worldwide Saver"),
];

/// Tracking `activity.status.type` → normalized status. M/MV/X/I/U/D are documented in
/// UPSTrackAlert.yaml; P, O, RS, DO, DD are seen in Track API answers.
const STATUSES: &[(&str, TrackingStatus)] = &[
    ("M", TrackingStatus::InfoReceived),    // manifest: billing information received
    ("MV", TrackingStatus::Cancelled),      // manifest voided
    ("P", TrackingStatus::PickedUp),        // pickup
    ("I", TrackingStatus::InTransit),       // in progress
    ("U", TrackingStatus::InTransit),       // update (e.g. scheduled delivery changed)
    ("O", TrackingStatus::OutForDelivery),  // out for delivery
    ("D", TrackingStatus::Delivered),       // delivered
    ("X", TrackingStatus::Exception),       // exception (see DELIVERY_ATTEMPT_HINTS)
    ("RS", TrackingStatus::ReturnToOrigin), // returned to shipper (on its way back)
    ("DO", TrackingStatus::InTransit),      // delivered to the origin CFS (freight), not the consignee
    ("DD", TrackingStatus::InTransit),      // delivered to the destination CFS (freight), not the consignee
];

/// An `X` activity whose description contains one of these (lower-case) phrases is a failed
/// delivery attempt with that reason. UPS documents no reason codes in its OpenAPI files, so
/// the description is what there is; the first match wins.
const DELIVERY_ATTEMPT_HINTS: &[(&str, NdrReason)] = &[
    ("not available", NdrReason::CustomerUnavailable),
    ("not home", NdrReason::CustomerUnavailable),
    ("refused", NdrReason::Refused),
    ("business was closed", NdrReason::PremisesClosed),
    ("closed at the time", NdrReason::PremisesClosed),
    ("address is incorrect", NdrReason::AddressIssue),
    ("address is incomplete", NdrReason::AddressIssue),
    ("incorrect address", NdrReason::AddressIssue),
    ("rescheduled", NdrReason::RescheduledByCustomer),
    ("requested delivery on another date", NdrReason::RescheduledByCustomer),
    ("c.o.d.", NdrReason::CodNotReady),
    ("outside of the service area", NdrReason::OutOfServiceArea),
];

/// An `X` activity mentioning this is a failed delivery attempt even when no reason matches.
const DELIVERY_ATTEMPT_WORD: &str = "attempt";

/// A status type the table does not know is kept and logged, and read as `in_transit`: the
/// state machine never lets that move a shipment backwards, and nothing is dropped.
const UNKNOWN_CODE_STATUS: TrackingStatus = TrackingStatus::InTransit;

/// UPS error codes on the tracking APIs that mean "no such tracking/reference number". These
/// are not in the stored OpenAPI files (which document only HTTP 404); they are what UPS is
/// known to send with a 4xx and should be checked against a live CIE answer.
const NOT_FOUND_CODES: &[&str] = &["151018", "151044"];

pub fn status_for(code: &str) -> Option<TrackingStatus> {
    STATUSES.iter().find(|(c, _)| *c == code).map(|(_, s)| *s)
}

pub fn service_name(code: &str) -> Option<&'static str> {
    SERVICES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The reason for a failed delivery attempt, if `description` reads as one.
pub fn delivery_attempt_reason(description: &str) -> Option<NdrReason> {
    let d = description.to_lowercase();
    DELIVERY_ATTEMPT_HINTS
        .iter()
        .find(|(hint, _)| d.contains(hint))
        .map(|(_, r)| *r)
        .or_else(|| d.contains(DELIVERY_ATTEMPT_WORD).then_some(NdrReason::Other))
}

pub struct Ups {
    http: Http,
    info: CarrierInfo,
    oauth: OAuth,
}

impl Ups {
    pub fn new(outbound: Outbound) -> Self {
        let info = CarrierInfo {
            slug: SLUG,
            name: "UPS",
            services: SERVICES.iter().map(|(code, name)| Service { code, name }).collect(),
            capabilities: Capabilities {
                rates: true,
                cancel: true,
                track: true,
                push: true,
                push_at_booking: false,
                find_booking: true,
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
                        name: "client_id",
                        description: "OAuth client id of the UPS developer app",
                        required: true,
                    },
                    CredentialField {
                        name: "client_secret",
                        description: "OAuth client secret of the UPS developer app",
                        required: true,
                    },
                    CredentialField {
                        name: "account_number",
                        description: "UPS shipper (account) number the shipments are billed to",
                        required: true,
                    },
                    CredentialField {
                        name: "label_format",
                        description: "the label UPS prints: ZPL (default, 4x6 thermal) or GIF (served as PNG)",
                        required: false,
                    },
                ],
            },
            test_base_url: Some("https://wwwcie.ups.com"),
            live_base_url: Some("https://onlinetools.ups.com"),
            carrier_label_formats: vec!["zpl", "png"],
        };
        let http = Http::new(outbound);
        let flow = Flow {
            carrier: SLUG,
            path: TOKEN_PATH,
            request: |req, account| {
                req.basic_auth(credential(account, "client_id"), Some(credential(account, "client_secret")))
                    .form(&[("grant_type", "client_credentials")])
            },
            fault,
            token: |body| bearer_token(SLUG, body),
            key_fields: &["client_id"],
            margin: TOKEN_MARGIN,
        };
        Self { oauth: OAuth::new(flow, http.clone()), http, info }
    }

    fn track_request(&self, account: &Account<'_>, path: String) -> impl Fn() -> reqwest::RequestBuilder {
        let http = self.http.client(account).clone();
        let url = url(account, &path);
        move || {
            http.get(&url)
                .query(&[("locale", "en_US")])
                .header("transId", trans_id())
                .header("transactionSrc", "waybill")
        }
    }
}

fn credential<'a>(account: &Account<'a>, name: &str) -> &'a str {
    account.credentials.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// The label format the account asks UPS for: `label_format`, ZPL when not given.
fn label_format(account: &Account<'_>) -> String {
    account.credentials.get("label_format").and_then(Value::as_str).map_or("ZPL".to_owned(), str::to_uppercase)
}

fn url(account: &Account<'_>, path: &str) -> String {
    format!("{}{path}", account.base_url.trim_end_matches('/'))
}

/// A request id for the tracking API's required `transId` header (≤ 32 characters).
fn trans_id() -> String {
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("waybill{nanos:x}")
}

fn protocol(message: impl Into<String>) -> CarrierError {
    CarrierError::Protocol { carrier: SLUG, message: message.into() }
}

/// A UPS field that is an object for one item and an array for several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    pub fn into_vec(self) -> Vec<T> {
        match self {
            Self::Many(v) => v,
            Self::One(t) => vec![t],
        }
    }
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        Self::Many(Vec::new())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpsMoney {
    currency_code: String,
    monetary_value: String,
}

impl UpsMoney {
    fn to_money(&self) -> Result<Money, CarrierError> {
        let amount = Decimal::from_str(self.monetary_value.trim())
            .map_err(|_| protocol(format!("charge amount `{}` is not a decimal", self.monetary_value)))?;
        let currency = self.currency_code.parse().map_err(protocol)?;
        Ok(Money::new(amount, currency))
    }
}

#[derive(Deserialize)]
struct UpsErrorBody {
    response: UpsErrorList,
}

#[derive(Deserialize)]
struct UpsErrorList {
    #[serde(default)]
    errors: OneOrMany<UpsError>,
}

#[derive(Deserialize)]
struct UpsError {
    code: String,
    message: String,
}

/// UPS's error bodies are `{"response":{"errors":[{"code","message"}]}}`; the first error is kept.
fn fault(_: u16, body: &[u8]) -> Option<CarrierFault> {
    serde_json::from_slice::<UpsErrorBody>(body)
        .ok()
        .and_then(|b| b.response.errors.into_vec().into_iter().next())
        .map(|e| CarrierFault { code: e.code, message: e.message, field: None })
}

/// Reads a UPS answer's body through [`fault`]. UPS reports some unknown numbers as 4xx with
/// codes of its own.
async fn read(response: reqwest::Response, what: &str, repeatable: Repeatable) -> Result<Vec<u8>, CarrierError> {
    read_body(SLUG, response, what, repeatable, fault).await.map_err(|e| match e {
        CarrierError::Rejected { code, .. } if NOT_FOUND_CODES.contains(&code.as_str()) => {
            CarrierError::NotFound { carrier: SLUG, what: what.to_owned() }
        }
        other => other,
    })
}

fn json<T: for<'de> Deserialize<'de>>(body: &[u8], what: &str) -> Result<T, CarrierError> {
    serde_json::from_slice(body).map_err(|e| protocol(format!("unexpected {what} answer: {e}")))
}

// ---------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------

fn party(a: &Address) -> Value {
    let mut lines = vec![a.street1.as_str()];
    lines.extend(a.street2.as_deref());
    let mut v = json!({
        "Name": a.company.as_deref().unwrap_or(&a.name),
        "AttentionName": a.name,
        "Address": {
            "AddressLine": lines,
            "City": a.city,
            "PostalCode": a.postal_code,
            "CountryCode": a.country,
        },
    });
    if let Some(state) = &a.state {
        v["Address"]["StateProvinceCode"] = json!(state);
    }
    if let Some(phone) = &a.phone {
        v["Phone"] = json!({"Number": phone});
    }
    if let Some(email) = &a.email {
        v["EMailAddress"] = json!(email);
    }
    v
}

fn shipper(a: &Address, account_number: &str) -> Value {
    let mut v = party(a);
    v["ShipperNumber"] = json!(account_number);
    v
}

/// Kilograms with one decimal, rounded up so the weight is never under-declared (min 0.1).
pub fn kgs(weight_g: u64) -> String {
    let kg = Decimal::from(weight_g) / Decimal::from(1000);
    let kg = kg.round_dp_with_strategy(1, RoundingStrategy::AwayFromZero).max(Decimal::new(1, 1));
    kg.normalize().to_string()
}

/// Centimetres with one decimal (exact: Waybill keeps whole millimetres). Rating allows this.
fn cm(mm: u64) -> String {
    (Decimal::from(mm) / Decimal::from(10)).normalize().to_string()
}

/// Whole centimetres, rounded up: Shipping.yaml allows 3 characters per dimension.
fn whole_cm(mm: u64) -> String {
    mm.div_ceil(10).to_string()
}

/// `packaging_key` is `PackagingType` in Rating and `Packaging` in Shipping; `length` writes a
/// dimension as that document allows.
fn packages(parcels: &[Parcel], packaging_key: &str, length: fn(u64) -> String, reference: Option<&str>) -> Vec<Value> {
    parcels
        .iter()
        .map(|p| {
            let mut v = json!({
                packaging_key: {"Code": "02", "Description": "Customer Supplied Package"},
                "PackageWeight": {
                    "UnitOfMeasurement": {"Code": "KGS", "Description": "Kilograms"},
                    "Weight": kgs(p.weight_g),
                },
            });
            if let Some(d) = p.dimensions_mm {
                v["Dimensions"] = json!({
                    "UnitOfMeasurement": {"Code": "CM", "Description": "Centimeters"},
                    "Length": length(d.length),
                    "Width": length(d.width),
                    "Height": length(d.height),
                });
            }
            if let Some(r) = reference {
                v["ReferenceNumber"] = json!([{"Value": r}]);
            }
            v
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RatedShipment {
    service: CodeOnly,
    total_charges: UpsMoney,
    guaranteed_delivery: Option<GuaranteedDelivery>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CodeOnly {
    code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GuaranteedDelivery {
    business_days_in_transit: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ShipmentResults {
    shipment_charges: Option<ShipmentCharges>,
    shipment_identification_number: Option<String>,
    #[serde(default)]
    package_results: OneOrMany<PackageResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ShipmentCharges {
    total_charges: Option<UpsMoney>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PackageResult {
    tracking_number: Option<String>,
    shipping_label: Option<ShippingLabel>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ShippingLabel {
    image_format: Option<CodeOnly>,
    graphic_image: Option<String>,
}

/// Label image formats UPS can return → the document format Waybill serves. GIF labels are
/// converted to PNG (the format Waybill serves images in); EPL and SPL are not kept.
const LABEL_FORMATS: &[(&str, &str)] = &[("ZPL", "zpl"), ("PDF", "pdf"), ("GIF", "png")];

/// The label formats an account may ask UPS for (`label_format`).
const REQUESTABLE_LABELS: &[&str] = &["ZPL", "GIF"];

/// A GIF label as PNG: same pixels, a format every browser and print dialog takes. The size is
/// capped well above a label's (UPS's are 1400×800) so a bad answer cannot exhaust memory.
fn gif_to_png(gif: &[u8]) -> Result<Vec<u8>, CarrierError> {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(4_000);
    limits.max_image_height = Some(4_000);
    limits.max_alloc = Some(64 * 1024 * 1024);
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(gif), image::ImageFormat::Gif);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| protocol(format!("the GIF label cannot be read: {e}")))?;
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| protocol(format!("the GIF label cannot be converted: {e}")))?;
    Ok(png.into_inner())
}

fn booking_from(results: ShipmentResults, service: &str) -> Result<Booking, CarrierError> {
    let packages = results.package_results.into_vec();
    let shipment_id = results
        .shipment_identification_number
        .or_else(|| packages.iter().find_map(|p| p.tracking_number.clone()))
        .ok_or_else(|| protocol("the shipment answer has no ShipmentIdentificationNumber"))?;
    let tracking_number = shipment_id.clone();
    let charge = results.shipment_charges.and_then(|c| c.total_charges).map(|m| m.to_money()).transpose()?;
    let mut documents = Vec::new();
    for label in packages.iter().filter_map(|p| p.shipping_label.as_ref()) {
        let code = label.image_format.as_ref().map(|f| f.code.to_uppercase()).unwrap_or_default();
        let Some(format) = LABEL_FORMATS.iter().find(|(c, _)| *c == code).map(|(_, f)| *f) else {
            tracing::warn!(carrier = SLUG, format = %code, "UPS returned a label format Waybill cannot serve; not kept");
            continue;
        };
        let Some(image) = &label.graphic_image else { continue };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(image.trim())
            .map_err(|e| protocol(format!("the label image is not base64: {e}")))?;
        let bytes = if code == "GIF" { gif_to_png(&bytes)? } else { bytes };
        documents.push(CarrierDocument { format, bytes });
    }
    Ok(Booking {
        tracking_number,
        carrier_shipment_id: shipment_id,
        service: service.to_owned(),
        charge,
        edd: None,
        routing: None,
        documents,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackApiResponse {
    track_response: TrackResponse,
}

#[derive(Deserialize)]
struct TrackResponse {
    #[serde(default)]
    shipment: OneOrMany<TrackShipment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackShipment {
    inquiry_number: Option<String>,
    #[serde(default)]
    package: OneOrMany<TrackPackage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackPackage {
    tracking_number: Option<String>,
    #[serde(default)]
    activity: OneOrMany<Value>,
    service: Option<TrackService>,
    #[serde(default)]
    delivery_date: OneOrMany<TrackDeliveryDate>,
}

#[derive(Deserialize)]
struct TrackService {
    code: Option<String>,
}

#[derive(Deserialize)]
struct TrackDeliveryDate {
    date: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Activity {
    date: Option<String>,
    time: Option<String>,
    gmt_date: Option<String>,
    gmt_time: Option<String>,
    gmt_offset: Option<String>,
    location: Option<ActivityLocation>,
    status: Option<ActivityStatus>,
}

#[derive(Deserialize, Default)]
struct ActivityLocation {
    address: Option<ActivityAddress>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ActivityAddress {
    city: Option<String>,
    state_province: Option<String>,
    country_code: Option<String>,
    country: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ActivityStatus {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
    status_code: Option<String>,
    description: Option<String>,
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y%m%d").ok()
}

/// `HHMMSS`; UPS drops the leading zero in `gmtTime` (`74700`), so short values are padded.
fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    if s.is_empty() || s.len() > 6 {
        return None;
    }
    NaiveTime::parse_from_str(&format!("{s:0>6}"), "%H%M%S").ok()
}

/// When the activity happened. UPS's `date`/`time` are local time at the location with no
/// offset. With `gmtDate`/`gmtTime` (UTC) and `gmtOffset` the instant is exact and shown in the
/// local offset; with `gmtDate`/`gmtTime` alone it is shown in UTC; with only the local
/// `date`/`time` the offset is unknown and `+00:00` is used.
fn occurred_at(a: &Activity) -> Option<DateTime<FixedOffset>> {
    let utc = FixedOffset::east_opt(0).expect("zero offset");
    let gmt = a
        .gmt_date
        .as_deref()
        .and_then(parse_date)
        .zip(a.gmt_time.as_deref().and_then(parse_time))
        .map(|(d, t)| NaiveDateTime::new(d, t));
    if let Some(gmt) = gmt {
        let offset = a.gmt_offset.as_deref().and_then(|o| o.trim().parse::<FixedOffset>().ok()).unwrap_or(utc);
        return Some(utc.from_utc_datetime(&gmt).with_timezone(&offset));
    }
    let local = NaiveDateTime::new(a.date.as_deref().and_then(parse_date)?, parse_time(a.time.as_deref()?)?);
    utc.from_local_datetime(&local).single()
}

/// Maps one tracking activity; `None` only when it has no readable time.
fn scan_from(raw: Value) -> Option<Scan> {
    let activity: Activity = serde_json::from_value(raw.clone()).unwrap_or_default();
    let Some(at) = occurred_at(&activity) else {
        tracing::warn!(carrier = SLUG, activity = %raw, "UPS activity without a readable date and time; skipped");
        return None;
    };
    let status_info = activity.status.unwrap_or_default();
    let code = status_info.kind.unwrap_or_default();
    let description = status_info.description.unwrap_or_default();
    let mut status = status_for(&code).unwrap_or_else(|| {
        tracing::warn!(carrier = SLUG, code = %code, "unknown UPS status type, read as in_transit");
        UNKNOWN_CODE_STATUS
    });
    let mut ndr_reason = None;
    if status == TrackingStatus::Exception
        && let Some(reason) = delivery_attempt_reason(&description)
    {
        status = TrackingStatus::DeliveryFailed;
        ndr_reason = Some(reason);
    }
    let location = activity.location.and_then(|l| l.address).map(|a| {
        [a.city, a.state_province, a.country_code.or(a.country)]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    });
    Some(Scan {
        event_id: None,
        code,
        status,
        reason_code: status_info.code.or(status_info.status_code),
        ndr_reason,
        description,
        location: location.filter(|l| !l.is_empty()),
        occurred_at: at,
        raw,
    })
}

// ---------------------------------------------------------------------------------------------
// Answer parsers: pure, public, fuzzed; the HTTP path calls them
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RateAnswer {
    rate_response: RateResponse,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RateResponse {
    #[serde(default)]
    rated_shipment: OneOrMany<RatedShipment>,
}

/// Reads a Rating `Shop` answer (`RateResponse.RatedShipment`, one object or an array).
pub fn parse_rate_answer(body: &[u8]) -> Result<Vec<Rate>, CarrierError> {
    let answer: RateAnswer = json(body, "rates")?;
    answer
        .rate_response
        .rated_shipment
        .into_vec()
        .into_iter()
        .map(|r| {
            Ok(Rate {
                charge: r.total_charges.to_money()?,
                transit_days: r
                    .guaranteed_delivery
                    .and_then(|g| g.business_days_in_transit)
                    .and_then(|d| d.trim().parse().ok()),
                service: r.service.code,
            })
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ShipAnswer {
    shipment_response: ShipmentResponse,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ShipmentResponse {
    shipment_results: ShipmentResults,
}

/// Reads a Shipping `ship` answer booked with `service`.
pub fn parse_booking_answer(body: &[u8], service: &str) -> Result<Booking, CarrierError> {
    let answer: ShipAnswer = json(body, "shipment")?;
    booking_from(answer.shipment_response.shipment_results, service)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VoidAnswer {
    void_shipment_response: VoidShipmentResponse,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VoidShipmentResponse {
    summary_result: VoidSummary,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VoidSummary {
    status: CodeDescription,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CodeDescription {
    code: String,
    description: Option<String>,
}

/// Reads a Shipping `void` answer: `SummaryResult.Status.Code` 1 is voided; any other status is
/// UPS refusing, with its code kept.
pub fn parse_void_answer(body: &[u8]) -> Result<(), CarrierError> {
    let answer: VoidAnswer = json(body, "void")?;
    let status = answer.void_shipment_response.summary_result.status;
    if status.code.trim() == "1" {
        return Ok(());
    }
    Err(CarrierError::Rejected {
        carrier: SLUG,
        code: status.code,
        message: status.description.unwrap_or_else(|| "the shipment was not voided".into()),
        field: None,
    })
}

/// Reads a Tracking `details` answer: the activities of the package numbered `tracking_number`
/// (or of the first package when none carries that number).
pub fn parse_track_answer(body: &[u8], tracking_number: &str) -> Result<Vec<Scan>, CarrierError> {
    let answer: TrackApiResponse = json(body, "tracking")?;
    let packages: Vec<TrackPackage> =
        answer.track_response.shipment.into_vec().into_iter().flat_map(|s| s.package.into_vec()).collect();
    let Some(package) = packages
        .iter()
        .position(|p| p.tracking_number.as_deref() == Some(tracking_number))
        .or((!packages.is_empty()).then_some(0))
        .and_then(|i| packages.into_iter().nth(i))
    else {
        return Err(CarrierError::NotFound { carrier: SLUG, what: format!("tracking number {tracking_number}") });
    };
    Ok(package.activity.into_vec().into_iter().filter_map(scan_from).collect())
}

/// Reads a Tracking `reference/details` answer: the booking found by our reference, if any.
pub fn parse_reference_answer(body: &[u8]) -> Result<Option<Booking>, CarrierError> {
    let answer: TrackApiResponse = json(body, "reference")?;
    let found = answer.track_response.shipment.into_vec().into_iter().find_map(|s| {
        let inquiry = s.inquiry_number;
        s.package.into_vec().into_iter().next().map(|p| (inquiry, p))
    });
    let Some((inquiry, package)) = found else { return Ok(None) };
    let Some(tracking_number) = package.tracking_number.or(inquiry) else { return Ok(None) };
    let edd = package
        .delivery_date
        .into_vec()
        .into_iter()
        .find(|d| matches!(d.kind.as_deref(), Some("SDD" | "RDD")))
        .and_then(|d| d.date.as_deref().and_then(parse_date));
    Ok(Some(Booking {
        carrier_shipment_id: tracking_number.clone(),
        tracking_number,
        service: package.service.and_then(|s| s.code).unwrap_or_default(),
        charge: None,
        edd,
        routing: None,
        documents: vec![],
    }))
}

#[derive(Deserialize)]
struct XavAnswer {
    #[serde(rename = "XAVResponse")]
    xav_response: XavResponse,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XavResponse {
    response: Option<ResponseAlerts>,
    valid_address_indicator: Option<Value>,
    ambiguous_address_indicator: Option<Value>,
    no_candidates_indicator: Option<Value>,
    address_classification: Option<CodeDescription>,
    #[serde(default)]
    candidate: OneOrMany<XavCandidate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResponseAlerts {
    #[serde(default)]
    alert: OneOrMany<Alert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Alert {
    code: Option<String>,
    description: Option<String>,
}

impl ResponseAlerts {
    fn messages(self) -> Vec<String> {
        self.alert
            .into_vec()
            .into_iter()
            .filter_map(|a| match (a.code, a.description) {
                (Some(c), Some(d)) => Some(format!("{c}: {d}")),
                (c, d) => d.or(c),
            })
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XavCandidate {
    address_classification: Option<CodeDescription>,
    address_key_format: XavAddress,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XavAddress {
    #[serde(default)]
    address_line: OneOrMany<String>,
    political_division2: Option<String>,
    political_division1: Option<String>,
    postcode_primary_low: Option<String>,
    postcode_extended_low: Option<String>,
    country_code: Option<String>,
}

/// `AddressClassification.Code`: 0 unclassified, 1 commercial, 2 residential.
fn address_class(code: &str) -> AddressClass {
    match code.trim() {
        "1" => AddressClass::Commercial,
        "2" => AddressClass::Residential,
        _ => AddressClass::Unknown,
    }
}

/// Reads an Address Validation answer to a check of `asked`. Candidates keep `asked`'s name,
/// company, phone and email, which UPS does not return.
pub fn parse_address_answer(body: &[u8], asked: &Address) -> Result<AddressCheck, CarrierError> {
    let answer: XavAnswer = json(body, "address validation")?;
    let xav = answer.xav_response;
    let verdict = if xav.valid_address_indicator.is_some() {
        AddressVerdict::Valid
    } else if xav.ambiguous_address_indicator.is_some() {
        AddressVerdict::Ambiguous
    } else if xav.no_candidates_indicator.is_some() {
        AddressVerdict::Invalid
    } else {
        return Err(protocol("the address validation answer has no Valid/Ambiguous/NoCandidates indicator"));
    };
    let candidates = xav.candidate.into_vec();
    let classification = xav
        .address_classification
        .as_ref()
        .or_else(|| candidates.first().and_then(|c| c.address_classification.as_ref()))
        .map_or(AddressClass::Unknown, |c| address_class(&c.code));
    let candidates = candidates
        .into_iter()
        .map(|c| {
            let a = c.address_key_format;
            let mut lines = a.address_line.into_vec().into_iter().filter(|l| !l.trim().is_empty());
            let street1 = lines.next().unwrap_or_default();
            let rest: Vec<String> = lines.collect();
            let postal_code = match (a.postcode_primary_low, a.postcode_extended_low) {
                (Some(p), Some(e)) if !e.trim().is_empty() => format!("{p}-{e}"),
                (p, _) => p.unwrap_or_default(),
            };
            Address {
                name: asked.name.clone(),
                company: asked.company.clone(),
                phone: asked.phone.clone(),
                email: asked.email.clone(),
                street1,
                street2: (!rest.is_empty()).then(|| rest.join(", ")),
                city: a.political_division2.unwrap_or_default(),
                state: a.political_division1,
                postal_code,
                country: a.country_code.unwrap_or_else(|| asked.country.clone()),
            }
        })
        .collect();
    let messages = xav.response.map(ResponseAlerts::messages).unwrap_or_default();
    Ok(AddressCheck { verdict, classification, candidates, messages })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PickupAnswer {
    pickup_creation_response: PickupCreationResponse,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PickupCreationResponse {
    response: Option<ResponseAlerts>,
    #[serde(rename = "PRN")]
    prn: Option<String>,
    rate_result: Option<PickupRateResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PickupRateResult {
    currency_code: Option<String>,
    grand_total_of_all_charge: Option<String>,
}

/// Reads a Pickup Creation answer: the PRN (pickup request number) confirms it. The charge is
/// kept only when UPS rated the pickup with a readable amount (Waybill asks for no rating).
pub fn parse_pickup_answer(body: &[u8]) -> Result<Pickup, CarrierError> {
    let answer: PickupAnswer = json(body, "pickup")?;
    let created = answer.pickup_creation_response;
    let confirmation_number = created
        .prn
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .ok_or_else(|| protocol("the pickup answer has no PRN"))?;
    let charge = created.rate_result.and_then(|r| {
        let amount = Decimal::from_str(r.grand_total_of_all_charge?.trim()).ok()?;
        Some(Money::new(amount, r.currency_code?.trim().parse().ok()?))
    });
    let note = created.response.map(ResponseAlerts::messages).filter(|m| !m.is_empty()).map(|m| m.join("; "));
    Ok(Pickup { confirmation_number, date: None, charge, note })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PickupCancelAnswer {
    pickup_cancel_response: PickupCancelResponse,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PickupCancelResponse {
    response: PickupCancelStatus,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PickupCancelStatus {
    response_status: ResponseStatus,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResponseStatus {
    code: String,
    description: Option<String>,
}

/// Reads a Pickup Cancel answer (`PickupCancelResponse`): cancelled when its `ResponseStatus`
/// code is `1` (success); UPS's refusals come as error bodies, which the HTTP path reads.
pub fn parse_pickup_cancel_answer(body: &[u8]) -> Result<(), CarrierError> {
    let answer: PickupCancelAnswer = json(body, "pickup cancellation")?;
    let status = answer.pickup_cancel_response.response.response_status;
    if status.code.trim() == "1" {
        return Ok(());
    }
    Err(protocol(format!(
        "a pickup cancellation answered with status {} ({})",
        status.code.trim(),
        status.description.as_deref().unwrap_or("no description")
    )))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionAnswer {
    #[serde(default)]
    valid_tracking_numbers: Vec<String>,
    #[serde(default)]
    invalid_tracking_numbers: Vec<String>,
}

/// Reads a Track Alert subscription answer for `tracking_number`: subscribed when UPS lists it
/// as valid; refused when it lists it as invalid.
pub fn parse_subscription_answer(body: &[u8], tracking_number: &str) -> Result<(), CarrierError> {
    let answer: SubscriptionAnswer = json(body, "subscription")?;
    let listed = |list: &[String]| list.iter().any(|n| n.trim() == tracking_number);
    if listed(&answer.invalid_tracking_numbers) {
        return Err(CarrierError::Rejected {
            carrier: SLUG,
            code: "INVALID_TRACKING_NUMBER".into(),
            message: format!("UPS refused to subscribe {tracking_number}"),
            field: None,
        });
    }
    if listed(&answer.valid_tracking_numbers) {
        return Ok(());
    }
    Err(protocol(format!("the subscription answer does not mention {tracking_number}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackingEvent {
    tracking_number: String,
    activity_status: PushStatus,
    local_activity_date: Option<String>,
    local_activity_time: Option<String>,
    gmt_activity_date: Option<String>,
    gmt_activity_time: Option<String>,
    activity_location: Option<PushLocation>,
}

#[derive(Deserialize)]
struct PushStatus {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PushLocation {
    city: Option<String>,
    state_province: Option<String>,
    country: Option<String>,
}

fn date_time(date: Option<&str>, time: Option<&str>) -> Option<NaiveDateTime> {
    Some(NaiveDateTime::new(parse_date(date?)?, parse_time(time?)?))
}

/// When a pushed event happened: the GMT date/time is the instant, shown in the offset that the
/// local date/time differ from it by (UPS sends no offset of its own); GMT alone is shown in
/// UTC; local alone gets `+00:00`, as in pulled scans.
fn push_occurred_at(e: &TrackingEvent) -> Option<DateTime<FixedOffset>> {
    let utc = FixedOffset::east_opt(0).expect("zero offset");
    let local = date_time(e.local_activity_date.as_deref(), e.local_activity_time.as_deref());
    let Some(gmt) = date_time(e.gmt_activity_date.as_deref(), e.gmt_activity_time.as_deref()) else {
        return utc.from_local_datetime(&local?).single();
    };
    let offset = local
        .and_then(|l| i32::try_from((l - gmt).num_minutes()).ok())
        .and_then(|m| m.checked_mul(60))
        .and_then(FixedOffset::east_opt)
        .unwrap_or(utc);
    Some(utc.from_utc_datetime(&gmt).with_timezone(&offset))
}

/// Reads a Track Alert push body (`TrackingEventRequest`): one event, one scan. The credential
/// is checked by [`Carrier::parse_push`] before this runs.
pub fn parse_push_body(body: &[u8]) -> Result<Vec<PushedScan>, PushError> {
    let raw: Value = serde_json::from_slice(body).map_err(|e| PushError::Malformed(e.to_string()))?;
    let event: TrackingEvent =
        serde_json::from_value(raw.clone()).map_err(|e| PushError::Malformed(format!("not a tracking event: {e}")))?;
    let tracking_number = event.tracking_number.trim().to_owned();
    if tracking_number.is_empty() {
        return Err(PushError::Malformed("the tracking event has no tracking number".into()));
    }
    let occurred_at = push_occurred_at(&event)
        .ok_or_else(|| PushError::Malformed("the tracking event has no readable time".into()))?;
    let code = event.activity_status.kind.clone().unwrap_or_default();
    let reason_code = event.activity_status.code.clone().filter(|c| !c.trim().is_empty());
    let description = event.activity_status.description.clone().unwrap_or_default();
    let by_code = reason_code.as_deref().and_then(|c| PUSH_CODES.iter().find(|(k, _)| *k == c)).map(|(_, s)| *s);
    let mut status = by_code.or_else(|| status_for(&code)).unwrap_or_else(|| {
        tracing::warn!(carrier = SLUG, code = %code, "unknown UPS status type in a push, read as in_transit");
        UNKNOWN_CODE_STATUS
    });
    let mut ndr_reason = None;
    if status == TrackingStatus::Exception
        && let Some(reason) = delivery_attempt_reason(&description)
    {
        status = TrackingStatus::DeliveryFailed;
        ndr_reason = Some(reason);
    }
    let location = event.activity_location.map(|l| {
        [l.city, l.state_province, l.country]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    });
    let scan = Scan {
        event_id: None,
        code,
        status,
        reason_code,
        ndr_reason,
        description,
        location: location.filter(|l| !l.is_empty()),
        occurred_at,
        raw,
    };
    Ok(vec![PushedScan { tracking_number, scan }])
}

// ---------------------------------------------------------------------------------------------
// Request bodies for address validation, pickups and subscriptions
// ---------------------------------------------------------------------------------------------

/// At most `max` characters of `s`, trimmed (UPS fields have documented maximum lengths).
fn clip(s: &str, max: usize) -> String {
    s.trim().chars().take(max).collect::<String>().trim_end().to_owned()
}

/// Sets `key` to `value` clipped to `max`, unless it is empty (UPS fields have `minLength: 1`).
fn set_text(v: &mut Value, key: &str, value: Option<&str>, max: usize) {
    if let Some(text) = value.map(|t| clip(t, max)).filter(|t| !t.is_empty()) {
        v[key] = json!(text);
    }
}

fn address_request(a: &Address) -> Value {
    let lines: Vec<String> =
        [Some(a.street1.as_str()), a.street2.as_deref()].into_iter().flatten().map(|l| clip(l, 100)).collect();
    let (primary, extended) = a.postal_code.trim().split_once('-').unwrap_or((a.postal_code.trim(), ""));
    let mut key = json!({"AddressLine": lines, "CountryCode": a.country.to_uppercase()});
    set_text(&mut key, "ConsigneeName", Some(a.company.as_deref().unwrap_or(&a.name)), 40);
    set_text(&mut key, "AttentionName", Some(&a.name), 40);
    set_text(&mut key, "PoliticalDivision2", Some(&a.city), 30);
    set_text(&mut key, "PoliticalDivision1", a.state.as_deref(), 30);
    set_text(&mut key, "PostcodePrimaryLow", Some(primary), 10);
    set_text(&mut key, "PostcodeExtendedLow", Some(extended), 10);
    json!({"XAVRequest": {"AddressKeyFormat": key}})
}

fn pickup_request(request: &PickupRequest, account_number: &str) -> Result<Value, CarrierError> {
    let refuse = |code: &str, message: &str, field: &str| CarrierError::Rejected {
        carrier: SLUG,
        code: code.into(),
        message: message.into(),
        field: Some(field.into()),
    };
    let a = &request.address;
    let phone =
        a.phone.as_deref().filter(|p| !p.trim().is_empty()).ok_or_else(|| {
            refuse("PHONE_REQUIRED", "UPS needs a phone number at the pickup address", "/address/phone")
        })?;
    let quantity = request.parcels.len();
    if !(1..=999).contains(&quantity) {
        return Err(refuse("PARCEL_COUNT", "a UPS pickup is for 1 to 999 parcels", "/parcels"));
    }
    let service = request.service.as_deref().unwrap_or(DEFAULT_PICKUP_SERVICE);
    let street = [Some(a.street1.as_str()), a.street2.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(", ");
    let mut address = json!({
        "AddressLine": [clip(&street, 73)],
        "City": clip(&a.city, 50),
        "CountryCode": a.country.to_uppercase(),
        // UPS's default is commercial; an address without a company is someone's home.
        "ResidentialIndicator": if a.company.is_some() { "N" } else { "Y" },
        "Phone": {"Number": clip(phone, 25)},
    });
    set_text(&mut address, "CompanyName", Some(a.company.as_deref().unwrap_or(&a.name)), 27);
    set_text(&mut address, "ContactName", Some(&a.name), 22);
    set_text(&mut address, "StateProvince", a.state.as_deref(), 50);
    set_text(&mut address, "PostalCode", Some(&a.postal_code), 8);
    let total_g: u64 = request.parcels.iter().map(|p| p.weight_g).sum();
    let mut body = json!({
        "Request": {"TransactionReference": {"CustomerContext": clip(&request.reference, 512)}},
        "RatePickupIndicator": "N",
        "Shipper": {"Account": {"AccountNumber": account_number, "AccountCountryCode": a.country.to_uppercase()}},
        "PickupDateInfo": {
            "PickupDate": request.date.format("%Y%m%d").to_string(),
            "ReadyTime": request.ready_time.format("%H%M").to_string(),
            "CloseTime": request.close_time.format("%H%M").to_string(),
        },
        "PickupAddress": address,
        // The pickup address is given in full rather than taken from the account's profile.
        "AlternateAddressIndicator": "Y",
        "PickupPiece": [{
            "ServiceCode": format!("{service:0>3}"),
            "Quantity": quantity.to_string(),
            "DestinationCountryCode": a.country.to_uppercase(),
            "ContainerCode": "01",
        }],
        "TotalWeight": {"Weight": kgs(total_g), "UnitOfMeasurement": "KGS"},
        "PaymentMethod": "01",
    });
    set_text(&mut body, "ReferenceNumber", Some(&request.reference), 35);
    set_text(&mut body, "SpecialInstruction", request.instructions.as_deref(), 57);
    // TrackingData holds 1Z numbers (18 characters); others are not UPS's to collect.
    let tracking: Vec<Value> =
        request.tracking_numbers.iter().filter(|n| n.len() == 18).map(|n| json!({"TrackingNumber": n})).collect();
    if !tracking.is_empty() {
        body["TrackingData"] = json!(tracking);
    }
    Ok(json!({"PickupCreationRequest": body}))
}

fn subscription_request(tracking_number: &str, target: &PushTarget) -> Value {
    json!({
        "locale": "en_US",
        "countryCode": "US",
        "trackingNumberList": [tracking_number],
        "destination": {"url": target.url, "credentialType": "Bearer", "credential": target.secret},
    })
}

#[async_trait::async_trait]
impl Carrier for Ups {
    fn info(&self) -> &CarrierInfo {
        &self.info
    }

    fn check_credentials(&self, credentials: &Value) -> Result<(), Vec<FieldError>> {
        let mut errors = self.info.credentials.check(credentials).err().unwrap_or_default();
        if let Some(format) = credentials.get("label_format").and_then(Value::as_str)
            && !format.trim().is_empty()
            && !REQUESTABLE_LABELS.contains(&format.to_uppercase().as_str())
        {
            errors.push(FieldError::new(
                "/credentials/label_format",
                format!("`{format}` is not a label format Waybill asks UPS for; choose one of: ZPL, GIF"),
            ));
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    async fn rate(&self, account: &Account<'_>, request: &RateRequest) -> Result<Vec<Rate>, CarrierError> {
        let account_number = credential(account, "account_number");
        let body = json!({"RateRequest": {
            "Request": {"RequestOption": "Shop", "TransactionReference": {"CustomerContext": "waybill"}},
            "Shipment": {
                "Shipper": shipper(&request.ship_from, account_number),
                "ShipTo": party(&request.ship_to),
                "ShipFrom": party(&request.ship_from),
                "PaymentDetails": {"ShipmentCharge": [{"Type": "01", "BillShipper": {"AccountNumber": account_number}}]},
                "NumOfPieces": request.parcels.len().to_string(),
                "Package": packages(&request.parcels, "PackagingType", cm, None),
            },
        }});
        let url = url(account, RATING_PATH);
        let response =
            self.oauth.call(account, || self.http.client(account).post(&url).json(&body), Repeatable::Yes).await?;
        let body = read(response, "rates", Repeatable::Yes).await?;
        parse_rate_answer(&body).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    async fn book(&self, account: &Account<'_>, request: &BookingRequest) -> Result<Booking, CarrierError> {
        if request.cod.is_some() {
            return Err(CarrierError::Rejected {
                carrier: SLUG,
                code: "COD_NOT_SUPPORTED".into(),
                message: "cash on delivery is not supported for UPS in Waybill yet".into(),
                field: Some("/cod".into()),
            });
        }
        let account_number = credential(account, "account_number");
        let label_format = label_format(account);
        // Shipping.yaml: package-level reference numbers are valid only for US/US and PR/PR,
        // shipment-level ones only for every other origin/destination pair.
        let domestic = request.ship_from.country.eq_ignore_ascii_case(&request.ship_to.country)
            && ["US", "PR"].iter().any(|c| request.ship_from.country.eq_ignore_ascii_case(c));
        let package_reference = domestic.then_some(request.reference.as_str());
        let mut body = json!({"ShipmentRequest": {
            "Request": {"RequestOption": "nonvalidate", "TransactionReference": {"CustomerContext": request.reference}},
            "Shipment": {
                "Description": format!("Waybill {}", request.reference),
                "Shipper": shipper(&request.ship_from, account_number),
                "ShipTo": party(&request.ship_to),
                "ShipFrom": party(&request.ship_from),
                "PaymentInformation": {"ShipmentCharge": [{"Type": "01", "BillShipper": {"AccountNumber": account_number}}]},
                "Service": {"Code": request.service, "Description": service_name(&request.service).unwrap_or_default()},
                "Package": packages(&request.parcels, "Packaging", whole_cm, package_reference),
            },
            "LabelSpecification": {
                "LabelImageFormat": {"Code": label_format, "Description": label_format},
                "LabelStockSize": {"Height": "6", "Width": "4"},
            },
        }});
        if !domestic {
            body["ShipmentRequest"]["Shipment"]["ReferenceNumber"] = json!([{"Value": request.reference}]);
        }
        let url = url(account, SHIP_PATH);
        let response =
            self.oauth.call(account, || self.http.client(account).post(&url).json(&body), Repeatable::No).await?;
        let body = read(response, "shipment", Repeatable::No).await?;
        parse_booking_answer(&body, &request.service).map_err(|e| after_accept(Repeatable::No, e))
    }

    async fn find_booking(&self, account: &Account<'_>, reference: &str) -> Result<Option<Booking>, CarrierError> {
        let build = self.track_request(account, format!("{TRACK_REFERENCE_PATH}/{reference}"));
        let response = self.oauth.call(account, build, Repeatable::Yes).await?;
        let body = match read(response, &format!("reference {reference}"), Repeatable::Yes).await {
            Ok(body) => body,
            Err(CarrierError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        parse_reference_answer(&body).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    async fn cancel(&self, account: &Account<'_>, booking: &BookedRef<'_>) -> Result<(), CarrierError> {
        let id =
            if booking.carrier_shipment_id.is_empty() { booking.tracking_number } else { booking.carrier_shipment_id };
        let url = url(account, &format!("{VOID_PATH}/{id}"));
        // Voiding twice does no harm (the second is refused), so a timeout may be retried.
        let response = self.oauth.call(account, || self.http.client(account).delete(&url), Repeatable::Yes).await?;
        let body = read(response, &format!("shipment {id}"), Repeatable::Yes).await?;
        parse_void_answer(&body).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    async fn track(&self, account: &Account<'_>, tracking_number: &str) -> Result<Vec<Scan>, CarrierError> {
        let build = self.track_request(account, format!("{TRACK_PATH}/{tracking_number}"));
        let response = self.oauth.call(account, build, Repeatable::Yes).await?;
        let body = read(response, &format!("tracking number {tracking_number}"), Repeatable::Yes).await?;
        parse_track_answer(&body, tracking_number).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    async fn validate_address(&self, account: &Account<'_>, address: &Address) -> Result<AddressCheck, CarrierError> {
        if !ADDRESS_COUNTRIES.iter().any(|c| address.country.trim().eq_ignore_ascii_case(c)) {
            return Err(CarrierError::Rejected {
                carrier: SLUG,
                code: "UNSUPPORTED_COUNTRY".into(),
                message: format!("UPS validates addresses in the US and Puerto Rico only, not `{}`", address.country),
                field: Some("/country".into()),
            });
        }
        let body = address_request(address);
        let url = url(account, ADDRESS_PATH);
        let response =
            self.oauth.call(account, || self.http.client(account).post(&url).json(&body), Repeatable::Yes).await?;
        let body = read(response, "address validation", Repeatable::Yes).await?;
        parse_address_answer(&body, address).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    async fn schedule_pickup(&self, account: &Account<'_>, request: &PickupRequest) -> Result<Pickup, CarrierError> {
        let body = pickup_request(request, credential(account, "account_number"))?;
        let url = url(account, PICKUP_PATH);
        let build = || {
            self.http
                .client(account)
                .post(&url)
                .header("transId", trans_id())
                .header("transactionSrc", "waybill")
                .json(&body)
        };
        let response = self.oauth.call(account, build, Repeatable::No).await?;
        let body = read(response, "pickup", Repeatable::No).await?;
        parse_pickup_answer(&body).map_err(|e| after_accept(Repeatable::No, e))
    }

    async fn cancel_pickup(&self, account: &Account<'_>, confirmation_number: &str) -> Result<(), CarrierError> {
        let url = url(account, PICKUP_CANCEL_PATH);
        let build = || {
            self.http
                .client(account)
                .delete(&url)
                .header("transId", trans_id())
                .header("transactionSrc", "waybill")
                .header("Prn", confirmation_number)
        };
        // A cancelled pickup cannot be cancelled into anything else, so the call may be repeated.
        let response = self.oauth.call(account, build, Repeatable::Yes).await?;
        let body = read(response, &format!("pickup {confirmation_number}"), Repeatable::Yes).await?;
        parse_pickup_cancel_answer(&body).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    /// Subscribing again only renews the subscription, so the call may be repeated.
    async fn subscribe(
        &self,
        account: &Account<'_>,
        tracking_number: &str,
        target: &PushTarget,
    ) -> Result<(), CarrierError> {
        let body = subscription_request(tracking_number, target);
        let url = url(account, SUBSCRIBE_PATH);
        let build = || {
            self.http
                .client(account)
                .post(&url)
                .header("transId", trans_id())
                .header("transactionSrc", "waybill")
                .json(&body)
        };
        let response = self.oauth.call(account, build, Repeatable::Yes).await?;
        let body = read(response, "subscription", Repeatable::Yes).await?;
        parse_subscription_answer(&body, tracking_number).map_err(|e| after_accept(Repeatable::Yes, e))
    }

    fn parse_push(&self, secret: &str, push: &PushRequest<'_>) -> Result<Vec<PushedScan>, PushError> {
        let Some(given) = push.header(PUSH_CREDENTIAL_HEADER) else {
            return Err(PushError::BadSignature(format!("no `{PUSH_CREDENTIAL_HEADER}` header")));
        };
        if secret.is_empty() || !waybill_core::secret::same_secret(given.trim().as_bytes(), secret.as_bytes()) {
            return Err(PushError::BadSignature(format!("the `{PUSH_CREDENTIAL_HEADER}` header does not match")));
        }
        parse_push_body(push.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_round_up_to_a_tenth_of_a_kilogram() {
        assert_eq!(kgs(1500), "1.5");
        assert_eq!(kgs(1501), "1.6");
        assert_eq!(kgs(2000), "2");
        assert_eq!(kgs(10), "0.1");
        assert_eq!(cm(305), "30.5");
        assert_eq!((whole_cm(305), whole_cm(300)), ("31".to_owned(), "30".to_owned()));
    }

    #[test]
    fn times_are_padded_and_attempts_read_from_descriptions() {
        assert_eq!(parse_time("74700"), NaiveTime::from_hms_opt(7, 47, 0));
        assert_eq!(
            delivery_attempt_reason("The receiver was not available for delivery."),
            Some(NdrReason::CustomerUnavailable)
        );
        assert_eq!(delivery_attempt_reason("A delivery attempt was made."), Some(NdrReason::Other));
        assert_eq!(delivery_attempt_reason("Weather delay"), None);
        for (code, _) in STATUSES {
            assert!(status_for(code).is_some());
        }
    }
}
