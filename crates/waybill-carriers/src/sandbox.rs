//! `sandbox`: the Waybill carrier simulator (`waybill sim`), spoken to over HTTP exactly like
//! a real carrier. Follows the simulator's API as documented in the `waybill-sim` crate.
//!
//! Auth is an `X-Api-Key` header. Pushes are signed `sha256=<hex HMAC-SHA256(secret,
//! "<X-Sim-Timestamp>.<body>")>` in `X-Sim-Signature`. The carrier renders no label of its
//! own: Waybill prints one from the routing data the booking returns.

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use hmac::{KeyInit, Mac};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use waybill_core::information::InfoField;
use waybill_core::ndr::{NdrAction, NdrCapability};
use waybill_core::{Address, Mode, Money, NdrReason, Parcel, Routing, TrackingStatus};
use waybill_outbound::Outbound;

use crate::http::{CarrierFault, Http, Repeatable, after_accept, read_body};
use crate::model::*;
use crate::{Carrier, CarrierError};

const SLUG: &str = "sandbox";

/// Simulator event code → normalized status.
const STATUSES: &[(&str, TrackingStatus)] = &[
    ("BK", TrackingStatus::InfoReceived),
    ("PU", TrackingStatus::PickedUp),
    ("DP", TrackingStatus::InTransit),
    ("AR", TrackingStatus::InTransit),
    ("OD", TrackingStatus::OutForDelivery),
    ("UD", TrackingStatus::DeliveryFailed),
    ("DL", TrackingStatus::Delivered),
    ("HP", TrackingStatus::AvailableForPickup),
    ("EX", TrackingStatus::Exception),
    ("RT", TrackingStatus::ReturnToOrigin),
    ("RI", TrackingStatus::ReturnToOrigin),
    ("RD", TrackingStatus::Returned),
    ("CX", TrackingStatus::Cancelled),
    ("LS", TrackingStatus::Exception),
];

/// Simulator `UD` reason code → NDR reason.
const NDR_REASONS: &[(&str, NdrReason)] = &[
    ("CNA", NdrReason::CustomerUnavailable),
    ("ADR", NdrReason::AddressIssue),
    ("REF", NdrReason::Refused),
    ("COD", NdrReason::CodNotReady),
    ("CLS", NdrReason::PremisesClosed),
    ("RSC", NdrReason::RescheduledByCustomer),
    ("OOS", NdrReason::OutOfServiceArea),
];

/// Simulator `EX` reason code → the field of the delivery address it asks for.
const INFO_NEEDED: &[(&str, InfoField)] = &[("PHN", InfoField::Phone), ("ADI", InfoField::Street)];

/// The simulator names a refused field by its path in the request (`consignee.postal_code`);
/// Waybill's pointers name the booking's (`/ship_to/postal_code`).
fn sim_pointer(path: &str) -> String {
    match path.split_once('.') {
        Some(("consignee", rest)) => format!("/ship_to/{}", rest.replace('.', "/")),
        Some(("shipper", rest)) => format!("/ship_from/{}", rest.replace('.', "/")),
        _ => format!("/{}", path.replace('.', "/")),
    }
}

/// A code the tables do not know is kept and logged, and read as `in_transit`: the state
/// machine never lets that move a shipment backwards, and nothing is dropped.
const UNKNOWN_CODE_STATUS: TrackingStatus = TrackingStatus::InTransit;

const SERVICES: &[(&str, &str)] = &[("express", "Express"), ("standard", "Standard"), ("economy", "Economy")];

/// Journeys the simulator can play in test mode.
pub const SCENARIOS: &[&str] = &["delivered", "ndr_then_delivered", "ndr", "rto", "lost", "exception", "info"];

/// Pushes older than this are refused, so a captured push cannot be replayed much later.
const PUSH_MAX_AGE_SECS: u64 = 300;

pub struct Sandbox {
    http: Http,
    info: CarrierInfo,
}

impl Sandbox {
    pub fn new(outbound: Outbound) -> Self {
        let info = CarrierInfo {
            slug: SLUG,
            name: "Waybill Sandbox",
            services: SERVICES.iter().map(|(code, name)| Service { code, name }).collect(),
            capabilities: Capabilities {
                rates: true,
                cancel: true,
                track: true,
                push: true,
                push_at_booking: true,
                find_booking: true,
                cash_on_delivery: true,
                address_validation: true,
                pickup: true,
                pickup_cancel: true,
                manifest: true,
                update: true,
                rto_request: true,
                serviceability: true,
                returns: false,
                ndr: true,
            },
            credentials: CredentialSchema {
                fields: vec![CredentialField {
                    name: "api_key",
                    description: "Any non-empty key; it partitions the simulator's data",
                    required: true,
                }],
            },
            test_base_url: None,
            live_base_url: None,
            carrier_label_formats: vec![],
        };
        Self { http: Http::new(outbound), info }
    }

    fn request(&self, account: &Account<'_>, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let key = account.credentials.get("api_key").and_then(Value::as_str).unwrap_or_default();
        self.http
            .client(account)
            .request(method, format!("{}{path}", account.base_url.trim_end_matches('/')))
            .header("X-Api-Key", key)
    }

    /// Books; with `push`, the simulator subscribes the new awb in the same call.
    async fn book_with(
        &self,
        account: &Account<'_>,
        request: &BookingRequest,
        push: Option<&PushTarget>,
    ) -> Result<Booking, CarrierError> {
        let mut body = serde_json::json!({
            "reference": request.reference,
            "service": request.service,
            "shipper": SimAddress::from(&request.ship_from),
            "consignee": SimAddress::from(&request.ship_to),
            "parcels": sim_parcels(&request.parcels),
            "cod": request.cod.map(|m| serde_json::json!({"amount": m.amount.to_string(), "currency": m.currency.code()})),
            "scenario": scenario(request.simulate.as_deref(), account.mode),
        });
        if let Some(target) = push {
            body["webhook"] = serde_json::json!({"url": target.url, "secret": target.secret});
        }
        let req = self.request(account, reqwest::Method::POST, "/api/v1/shipments").json(&body);
        read(self.http.send(SLUG, req, Repeatable::No).await?, "shipment", Repeatable::No, parse_booking_answer).await
    }
}

/// The test journey the simulator is asked to play: never for a live account, which plays the
/// default journey like a real carrier.
fn scenario(simulate: Option<&str>, mode: Mode) -> Option<&str> {
    simulate.filter(|_| matches!(mode, Mode::Test))
}

pub fn status_for(code: &str) -> Option<TrackingStatus> {
    STATUSES.iter().find(|(c, _)| *c == code).map(|(_, s)| *s)
}

pub fn ndr_reason_for(code: &str) -> Option<NdrReason> {
    NDR_REASONS.iter().find(|(c, _)| *c == code).map(|(_, r)| *r)
}

#[derive(Serialize)]
struct SimAddress<'a> {
    name: &'a str,
    company: Option<&'a str>,
    phone: Option<&'a str>,
    email: Option<&'a str>,
    street1: &'a str,
    street2: Option<&'a str>,
    city: &'a str,
    state: Option<&'a str>,
    postal_code: &'a str,
    country: &'a str,
}

impl<'a> From<&'a Address> for SimAddress<'a> {
    fn from(a: &'a Address) -> Self {
        Self {
            name: &a.name,
            company: a.company.as_deref(),
            phone: a.phone.as_deref(),
            email: a.email.as_deref(),
            street1: &a.street1,
            street2: a.street2.as_deref(),
            city: &a.city,
            state: a.state.as_deref(),
            postal_code: &a.postal_code,
            country: &a.country,
        }
    }
}

#[derive(Serialize)]
struct SimParcel {
    weight_g: u64,
    length_mm: Option<u64>,
    width_mm: Option<u64>,
    height_mm: Option<u64>,
}

fn sim_parcels(parcels: &[Parcel]) -> Vec<SimParcel> {
    parcels
        .iter()
        .map(|p| SimParcel {
            weight_g: p.weight_g,
            length_mm: p.dimensions_mm.map(|d| d.length),
            width_mm: p.dimensions_mm.map(|d| d.width),
            height_mm: p.dimensions_mm.map(|d| d.height),
        })
        .collect()
}

#[derive(Deserialize)]
struct SimMoney {
    amount: String,
    currency: String,
}

impl SimMoney {
    fn to_money(&self) -> Result<Money, CarrierError> {
        let amount = Decimal::from_str(&self.amount)
            .map_err(|_| protocol(format!("charge amount `{}` is not a decimal", self.amount)))?;
        let currency = self.currency.parse().map_err(protocol)?;
        Ok(Money::new(amount, currency))
    }
}

#[derive(Deserialize)]
struct SimShipment {
    awb: String,
    shipment_id: String,
    service: String,
    charge: SimMoney,
    edd: Option<NaiveDate>,
    routing: Routing,
}

impl SimShipment {
    fn into_booking(self) -> Result<Booking, CarrierError> {
        Ok(Booking {
            charge: Some(self.charge.to_money()?),
            tracking_number: self.awb,
            carrier_shipment_id: self.shipment_id,
            service: self.service,
            edd: self.edd,
            routing: Some(self.routing),
            documents: vec![],
        })
    }
}

#[derive(Deserialize)]
struct SimErrorBody {
    error: SimError,
}

#[derive(Deserialize)]
struct SimError {
    code: String,
    message: String,
    field: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct SimEvent {
    event_id: String,
    code: String,
    description: String,
    location: Option<String>,
    timestamp: DateTime<FixedOffset>,
    reason_code: Option<String>,
}

fn protocol(message: impl Into<String>) -> CarrierError {
    CarrierError::Protocol { carrier: SLUG, message: message.into() }
}

/// Reads a simulator answer with `parse`; its error bodies are `{"error": {"code", "message", "field"}}`.
async fn read<T>(
    response: reqwest::Response,
    what: &str,
    repeatable: Repeatable,
    parse: impl FnOnce(&[u8]) -> Result<T, CarrierError>,
) -> Result<T, CarrierError> {
    let body = read_body(SLUG, response, what, repeatable, |_, body| {
        serde_json::from_slice::<SimErrorBody>(body).ok().map(|b| CarrierFault {
            code: b.error.code,
            message: b.error.message,
            field: b.error.field.as_deref().map(sim_pointer),
        })
    })
    .await?;
    parse(&body).map_err(|e| after_accept(repeatable, e))
}

fn json_answer<'a, T: Deserialize<'a>>(body: &'a [u8], what: &str) -> Result<T, CarrierError> {
    serde_json::from_slice(body).map_err(|e| protocol(format!("unexpected {what} answer: {e}")))
}

/// Reads the answer to `POST /api/v1/rates`.
pub fn parse_rates_answer(body: &[u8]) -> Result<Vec<Rate>, CarrierError> {
    #[derive(Deserialize)]
    struct Rates {
        rates: Vec<SimRate>,
    }
    #[derive(Deserialize)]
    struct SimRate {
        service: String,
        charge: SimMoney,
        transit_days: Option<u32>,
    }
    let rates: Rates = json_answer(body, "rates")?;
    rates
        .rates
        .into_iter()
        .map(|r| Ok(Rate { charge: r.charge.to_money()?, service: r.service, transit_days: r.transit_days }))
        .collect()
}

/// Reads the answer to `POST /api/v1/shipments`.
pub fn parse_booking_answer(body: &[u8]) -> Result<Booking, CarrierError> {
    json_answer::<SimShipment>(body, "shipment")?.into_booking()
}

/// Reads the answer to `GET /api/v1/shipments?reference=`: the booking made under it, if any.
pub fn parse_found_booking_answer(body: &[u8]) -> Result<Option<Booking>, CarrierError> {
    #[derive(Deserialize)]
    struct Found {
        shipments: Vec<SimShipment>,
    }
    let found: Found = json_answer(body, "shipment search")?;
    found.shipments.into_iter().next().map(SimShipment::into_booking).transpose()
}

/// Reads the answer to `POST /api/v1/shipments/{awb}/cancel`.
pub fn parse_cancel_answer(body: &[u8]) -> Result<(), CarrierError> {
    #[derive(Deserialize)]
    struct Cancelled {
        status_code: String,
    }
    let cancelled: Cancelled = json_answer(body, "cancel")?;
    match cancelled.status_code.as_str() {
        "CX" => Ok(()),
        other => Err(protocol(format!("cancel answered with status `{other}` instead of CX"))),
    }
}

/// The simulator's instruction for an NDR action.
fn ndr_body(action: &NdrAction) -> Value {
    match action {
        NdrAction::Reattempt {} => serde_json::json!({"action": "reattempt"}),
        NdrAction::Reschedule { date } => serde_json::json!({"action": "reschedule", "date": date.to_string()}),
        NdrAction::UpdateAndReattempt { street1, street2, phone, landmark } => {
            let address = [street1.as_deref(), street2.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(", ");
            let mut body = serde_json::json!({"action": "update"});
            for (key, value) in [
                ("address", Some(address).filter(|a| !a.is_empty())),
                ("phone", phone.clone()),
                ("landmark", landmark.clone()),
            ] {
                if let Some(value) = value {
                    body[key] = Value::String(value);
                }
            }
            body
        }
        NdrAction::Rto {} => serde_json::json!({"action": "rto"}),
    }
}

/// Reads the answer to `POST /api/v1/shipments/{awb}/ndr`: the action the simulator took.
pub fn parse_ndr_answer(body: &[u8], expected: &str) -> Result<(), CarrierError> {
    #[derive(Deserialize)]
    struct Taken {
        action: String,
    }
    let taken: Taken = json_answer(body, "NDR instruction")?;
    if taken.action == expected {
        Ok(())
    } else {
        Err(protocol(format!("an NDR `{expected}` was answered as `{}`", taken.action)))
    }
}

/// Reads the answer to `POST /api/v1/pickups/{confirmation_number}/cancel`.
pub fn parse_pickup_cancel_answer(body: &[u8]) -> Result<(), CarrierError> {
    #[derive(Deserialize)]
    struct Cancelled {
        status: String,
    }
    let cancelled: Cancelled = json_answer(body, "pickup cancellation")?;
    match cancelled.status.as_str() {
        "cancelled" => Ok(()),
        other => Err(protocol(format!("a pickup cancellation answered with status `{other}`"))),
    }
}

/// Reads the answer to `POST /api/v1/shipments/{awb}/update`: the shipment as it stands.
pub fn parse_update_answer(body: &[u8], awb: &str) -> Result<(), CarrierError> {
    #[derive(Deserialize)]
    struct Updated {
        awb: String,
    }
    let updated: Updated = json_answer(body, "update")?;
    if updated.awb != awb {
        return Err(protocol(format!("an update of {awb} was answered for {}", updated.awb)));
    }
    Ok(())
}

/// Reads the answer to `POST /api/v1/shipments/{awb}/rto`.
pub fn parse_rto_answer(body: &[u8]) -> Result<(), CarrierError> {
    #[derive(Deserialize)]
    struct Asked {
        status: String,
    }
    let asked: Asked = json_answer(body, "return request")?;
    match asked.status.as_str() {
        "rto_requested" => Ok(()),
        other => Err(protocol(format!("a return request answered with status `{other}`"))),
    }
}

/// Reads the answer to `POST /api/v1/manifests`.
pub fn parse_manifest_answer(body: &[u8]) -> Result<ClosedManifest, CarrierError> {
    #[derive(Deserialize)]
    struct Closed {
        manifest_number: String,
    }
    let closed: Closed = json_answer(body, "manifest")?;
    if closed.manifest_number.trim().is_empty() {
        return Err(protocol("a manifest was answered without its number"));
    }
    Ok(ClosedManifest { reference: Some(closed.manifest_number) })
}

/// Reads the answer to `GET /api/v1/tracking/{awb}`.
pub fn parse_tracking_answer(body: &[u8]) -> Result<Vec<Scan>, CarrierError> {
    #[derive(Deserialize)]
    struct Tracking {
        events: Vec<SimEvent>,
    }
    let tracking: Tracking = json_answer(body, "tracking")?;
    Ok(tracking.events.into_iter().map(scan_from).collect())
}

/// Reads the answer to `POST /api/v1/subscriptions`.
pub fn parse_subscription_answer(body: &[u8]) -> Result<(), CarrierError> {
    #[derive(Deserialize)]
    struct Subscribed {
        #[serde(rename = "subscription_id")]
        _subscription_id: String,
    }
    json_answer::<Subscribed>(body, "subscription").map(drop)
}

/// Reads the answer to `POST /api/v1/addresses/validate` about `asked`; the name, phone and
/// email of every candidate come from `asked`, which the simulator echoes anyway.
pub fn parse_address_answer(body: &[u8], asked: &Address) -> Result<AddressCheck, CarrierError> {
    #[derive(Deserialize)]
    struct Check {
        verdict: String,
        classification: String,
        candidates: Vec<Candidate>,
        messages: Vec<String>,
    }
    #[derive(Deserialize)]
    struct Candidate {
        company: Option<String>,
        street1: String,
        street2: Option<String>,
        city: String,
        state: Option<String>,
        postal_code: String,
        country: String,
    }
    let check: Check = json_answer(body, "address check")?;
    let verdict = match check.verdict.as_str() {
        "valid" => AddressVerdict::Valid,
        "ambiguous" => AddressVerdict::Ambiguous,
        "invalid" => AddressVerdict::Invalid,
        other => return Err(protocol(format!("unknown address verdict `{other}`"))),
    };
    let classification = match check.classification.as_str() {
        "residential" => AddressClass::Residential,
        "commercial" => AddressClass::Commercial,
        _ => AddressClass::Unknown,
    };
    let candidates = check
        .candidates
        .into_iter()
        .map(|c| Address {
            company: c.company,
            street1: c.street1,
            street2: c.street2,
            city: c.city,
            state: c.state,
            postal_code: c.postal_code,
            country: c.country,
            ..asked.clone()
        })
        .collect();
    Ok(AddressCheck { verdict, classification, candidates, messages: check.messages })
}

/// Reads the answer to `GET /api/v1/serviceability`.
pub fn parse_serviceability_answer(body: &[u8]) -> Result<Serviceability, CarrierError> {
    #[derive(Deserialize)]
    struct Coverage {
        postal_code: String,
        delivery: bool,
        prepaid: bool,
        cod: bool,
        pickup: bool,
        place: Option<String>,
        remark: Option<String>,
    }
    let c: Coverage = json_answer(body, "serviceability")?;
    Ok(Serviceability {
        postal_code: c.postal_code,
        delivery: c.delivery,
        prepaid: c.prepaid,
        cash_on_delivery: c.cod,
        pickup: c.pickup,
        place: c.place,
        remark: c.remark,
    })
}

/// Reads the answer to `POST /api/v1/pickups`.
pub fn parse_pickup_answer(body: &[u8]) -> Result<Pickup, CarrierError> {
    #[derive(Deserialize)]
    struct Booked {
        confirmation_number: String,
        date: Option<NaiveDate>,
        charge: Option<SimMoney>,
        note: Option<String>,
    }
    let booked: Booked = json_answer(body, "pickup")?;
    if booked.confirmation_number.trim().is_empty() {
        return Err(protocol("the pickup answer has an empty confirmation number"));
    }
    Ok(Pickup {
        confirmation_number: booked.confirmation_number,
        date: booked.date,
        charge: booked.charge.as_ref().map(SimMoney::to_money).transpose()?,
        note: booked.note,
    })
}

fn scan_from(event: SimEvent) -> Scan {
    let status = status_for(&event.code).unwrap_or_else(|| {
        tracing::warn!(carrier = SLUG, code = %event.code, "unknown carrier status code, read as in_transit");
        UNKNOWN_CODE_STATUS
    });
    let ndr_reason = (status == TrackingStatus::DeliveryFailed).then(|| {
        event.reason_code.as_deref().and_then(ndr_reason_for).unwrap_or_else(|| {
            tracing::warn!(carrier = SLUG, reason = ?event.reason_code, "unknown failed-delivery reason, read as other");
            NdrReason::Other
        })
    });
    Scan {
        raw: serde_json::to_value(&event).unwrap_or(Value::Null),
        event_id: Some(event.event_id),
        code: event.code,
        status,
        reason_code: event.reason_code,
        ndr_reason,
        description: event.description,
        location: event.location,
        occurred_at: event.timestamp,
    }
}

#[async_trait::async_trait]
impl Carrier for Sandbox {
    fn info(&self) -> &CarrierInfo {
        &self.info
    }

    async fn rate(&self, account: &Account<'_>, request: &RateRequest) -> Result<Vec<Rate>, CarrierError> {
        let body = serde_json::json!({
            "shipper": SimAddress::from(&request.ship_from),
            "consignee": SimAddress::from(&request.ship_to),
            "parcels": sim_parcels(&request.parcels),
        });
        let req = self.request(account, reqwest::Method::POST, "/api/v1/rates").json(&body);
        read(self.http.send(SLUG, req, Repeatable::Yes).await?, "rates", Repeatable::Yes, parse_rates_answer).await
    }

    async fn book(&self, account: &Account<'_>, request: &BookingRequest) -> Result<Booking, CarrierError> {
        self.book_with(account, request, None).await
    }

    async fn book_subscribed(
        &self,
        account: &Account<'_>,
        request: &BookingRequest,
        target: &PushTarget,
    ) -> Result<Booking, CarrierError> {
        self.book_with(account, request, Some(target)).await
    }

    async fn find_booking(&self, account: &Account<'_>, reference: &str) -> Result<Option<Booking>, CarrierError> {
        let req = self.request(account, reqwest::Method::GET, "/api/v1/shipments").query(&[("reference", reference)]);
        read(
            self.http.send(SLUG, req, Repeatable::Yes).await?,
            "shipment search",
            Repeatable::Yes,
            parse_found_booking_answer,
        )
        .await
    }

    async fn cancel(&self, account: &Account<'_>, booking: &BookedRef<'_>) -> Result<(), CarrierError> {
        let path = format!("/api/v1/shipments/{}/cancel", booking.tracking_number);
        // Cancelling twice is harmless at this carrier, so a timeout may be retried.
        let req = self.request(account, reqwest::Method::POST, &path);
        let what = format!("shipment {}", booking.tracking_number);
        read(self.http.send(SLUG, req, Repeatable::Yes).await?, &what, Repeatable::Yes, parse_cancel_answer).await
    }

    fn ndr(&self) -> NdrCapability {
        // The simulator takes every action, a week ahead; `ndr` shipments fail once.
        NdrCapability { api: true, ..NdrCapability::REPORT }
    }

    async fn ndr_action(
        &self,
        account: &Account<'_>,
        booking: &BookedRef<'_>,
        action: &NdrAction,
    ) -> Result<(), CarrierError> {
        let path = format!("/api/v1/shipments/{}/ndr", booking.tracking_number);
        let body = ndr_body(action);
        let expected = body["action"].as_str().unwrap_or_default().to_owned();
        // The same instruction again is answered as the first, so a timeout may be retried.
        let req = self.request(account, reqwest::Method::POST, &path).json(&body);
        let what = format!("NDR instruction for {}", booking.tracking_number);
        read(self.http.send(SLUG, req, Repeatable::Yes).await?, &what, Repeatable::Yes, |body| {
            parse_ndr_answer(body, &expected)
        })
        .await
    }

    async fn track(&self, account: &Account<'_>, tracking_number: &str) -> Result<Vec<Scan>, CarrierError> {
        let req = self.request(account, reqwest::Method::GET, &format!("/api/v1/tracking/{tracking_number}"));
        let what = format!("tracking number {tracking_number}");
        read(self.http.send(SLUG, req, Repeatable::Yes).await?, &what, Repeatable::Yes, parse_tracking_answer).await
    }

    async fn validate_address(&self, account: &Account<'_>, address: &Address) -> Result<AddressCheck, CarrierError> {
        let body = serde_json::json!({ "address": SimAddress::from(address) });
        let req = self.request(account, reqwest::Method::POST, "/api/v1/addresses/validate").json(&body);
        read(self.http.send(SLUG, req, Repeatable::Yes).await?, "address check", Repeatable::Yes, |body| {
            parse_address_answer(body, address)
        })
        .await
    }

    async fn cancel_pickup(&self, account: &Account<'_>, confirmation_number: &str) -> Result<(), CarrierError> {
        let path = format!("/api/v1/pickups/{confirmation_number}/cancel");
        // Calling a courier off twice is harmless at this carrier, so a timeout may be retried.
        let req = self.request(account, reqwest::Method::POST, &path);
        let what = format!("pickup {confirmation_number}");
        read(self.http.send(SLUG, req, Repeatable::Yes).await?, &what, Repeatable::Yes, parse_pickup_cancel_answer)
            .await
    }

    fn updatable(&self) -> waybill_core::change::UpdatableFields {
        waybill_core::change::UpdatableFields { recipient: true, cod: true, parcels: false }
    }

    fn info_needed(&self, code: &str, reason_code: Option<&str>) -> Option<InfoField> {
        let reason = reason_code.filter(|_| code == "EX")?;
        INFO_NEEDED.iter().find(|(c, _)| *c == reason).map(|(_, f)| *f)
    }

    async fn update_shipment(
        &self,
        account: &Account<'_>,
        booking: &BookedRef<'_>,
        update: &ShipmentUpdate,
    ) -> Result<(), CarrierError> {
        let mut body = serde_json::Map::new();
        if let Some(to) = &update.ship_to {
            body.insert("name".into(), to.name.clone().into());
            body.extend(to.phone.clone().map(|p| ("phone".to_owned(), p.into())));
            body.insert("street1".into(), to.street1.clone().into());
            body.extend(to.street2.clone().map(|s| ("street2".to_owned(), s.into())));
        }
        if let Some(cod) = &update.cod {
            body.insert(
                "cod".into(),
                serde_json::json!({"amount": cod.amount.to_string(), "currency": cod.currency.code()}),
            );
        }
        if update.parcels.is_some() {
            return Err(CarrierError::Unsupported { carrier: SLUG, operation: "changing parcels after booking" });
        }
        let awb = booking.tracking_number;
        let path = format!("/api/v1/shipments/{awb}/update");
        let req = self.request(account, reqwest::Method::POST, &path).json(&body);
        // The same update twice leaves the booking as the first made it, so a timeout may be retried.
        let what = format!("shipment {awb}");
        read(self.http.send(SLUG, req, Repeatable::Yes).await?, &what, Repeatable::Yes, |b| parse_update_answer(b, awb))
            .await
    }

    async fn request_rto(&self, account: &Account<'_>, booking: &BookedRef<'_>) -> Result<(), CarrierError> {
        let awb = booking.tracking_number;
        let path = format!("/api/v1/shipments/{awb}/rto");
        let req = self.request(account, reqwest::Method::POST, &path);
        // Asking again answers the first request, so a timeout may be retried.
        let what = format!("shipment {awb}");
        read(self.http.send(SLUG, req, Repeatable::Yes).await?, &what, Repeatable::Yes, parse_rto_answer).await
    }

    async fn close_manifest(
        &self,
        account: &Account<'_>,
        request: &ManifestRequest,
    ) -> Result<ClosedManifest, CarrierError> {
        let body = serde_json::json!({ "reference": request.reference, "awbs": request.tracking_numbers });
        let req = self.request(account, reqwest::Method::POST, "/api/v1/manifests").json(&body);
        // A repeat of the reference answers the first close, so a timeout may be retried.
        read(self.http.send(SLUG, req, Repeatable::Yes).await?, "manifest", Repeatable::Yes, parse_manifest_answer)
            .await
    }

    async fn schedule_pickup(&self, account: &Account<'_>, request: &PickupRequest) -> Result<Pickup, CarrierError> {
        let clock = |t: NaiveTime| t.format("%H:%M").to_string();
        let body = serde_json::json!({
            "reference": request.reference,
            "address": SimAddress::from(&request.address),
            "date": request.date.to_string(),
            "ready_time": clock(request.ready_time),
            "close_time": clock(request.close_time),
            "parcels": sim_parcels(&request.parcels),
            "awbs": request.tracking_numbers,
            "instructions": request.instructions,
        });
        let req = self.request(account, reqwest::Method::POST, "/api/v1/pickups").json(&body);
        // A repeat books a second courier: a lost answer is unknown, never retried.
        read(self.http.send(SLUG, req, Repeatable::No).await?, "pickup", Repeatable::No, parse_pickup_answer).await
    }

    async fn serviceability(
        &self,
        account: &Account<'_>,
        country: &str,
        postal_code: &str,
    ) -> Result<Serviceability, CarrierError> {
        let req = self
            .request(account, reqwest::Method::GET, "/api/v1/serviceability")
            .query(&[("country", country), ("postal_code", postal_code)]);
        let what = format!("postal code {postal_code}");
        read(self.http.send(SLUG, req, Repeatable::Yes).await?, &what, Repeatable::Yes, parse_serviceability_answer)
            .await
    }

    async fn subscribe(
        &self,
        account: &Account<'_>,
        tracking_number: &str,
        target: &PushTarget,
    ) -> Result<(), CarrierError> {
        let body = serde_json::json!({"awb": tracking_number, "url": target.url, "secret": target.secret});
        let req = self.request(account, reqwest::Method::POST, "/api/v1/subscriptions").json(&body);
        let what = format!("tracking number {tracking_number}");
        read(self.http.send(SLUG, req, Repeatable::Yes).await?, &what, Repeatable::Yes, parse_subscription_answer).await
    }

    fn parse_push(&self, secret: &str, push: &PushRequest<'_>) -> Result<Vec<PushedScan>, PushError> {
        let timestamp = push
            .header("x-sim-timestamp")
            .ok_or_else(|| PushError::BadSignature("X-Sim-Timestamp is missing".into()))?;
        let signature = push
            .header("x-sim-signature")
            .ok_or_else(|| PushError::BadSignature("X-Sim-Signature is missing".into()))?;
        let given = signature
            .strip_prefix("sha256=")
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| PushError::BadSignature("X-Sim-Signature is not `sha256=<hex>`".into()))?;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(push.body);
        mac.verify_slice(&given).map_err(|_| PushError::BadSignature("signature does not match".into()))?;
        let sent =
            timestamp.parse::<i64>().map_err(|_| PushError::BadSignature("X-Sim-Timestamp is not a number".into()))?;
        if chrono::Utc::now().timestamp().abs_diff(sent) > PUSH_MAX_AGE_SECS {
            return Err(PushError::BadSignature(format!(
                "X-Sim-Timestamp is more than {PUSH_MAX_AGE_SECS} s away from now"
            )));
        }

        #[derive(Deserialize)]
        struct Pushed {
            awb: String,
            event: SimEvent,
        }
        let pushed: Pushed = serde_json::from_slice(push.body).map_err(|e| PushError::Malformed(e.to_string()))?;
        Ok(vec![PushedScan { tracking_number: pushed.awb, scan: scan_from(pushed.event) }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_simulator_code_maps_and_failures_carry_a_reason() {
        for code in ["BK", "PU", "DP", "AR", "OD", "UD", "DL", "HP", "EX", "RT", "RI", "RD", "CX", "LS"] {
            assert!(status_for(code).is_some(), "{code} has no mapping");
        }
        let ev = |code: &str, reason: Option<&str>| SimEvent {
            event_id: "e".into(),
            code: code.into(),
            description: "d".into(),
            location: None,
            timestamp: DateTime::parse_from_rfc3339("2026-11-21T10:00:00+03:00").unwrap(),
            reason_code: reason.map(Into::into),
        };
        assert_eq!(scan_from(ev("UD", Some("CNA"))).ndr_reason, Some(NdrReason::CustomerUnavailable));
        assert_eq!(scan_from(ev("UD", Some("ZZZ"))).ndr_reason, Some(NdrReason::Other));
        let unknown = scan_from(ev("QQ", None));
        assert_eq!(
            (unknown.status, unknown.code.as_str()),
            (TrackingStatus::InTransit, "QQ"),
            "unknown codes are kept, not dropped"
        );
        assert_eq!(scan_from(ev("DL", None)).ndr_reason, None);
    }

    #[test]
    fn live_mode_does_not_send_the_test_scenario() {
        assert_eq!(scenario(Some("teleported"), Mode::Test), Some("teleported"));
        assert_eq!(scenario(Some("teleported"), Mode::Live), None);
        assert_eq!(scenario(None, Mode::Test), None);
    }
}
