//! The data that crosses the [`crate::Carrier`] trait, in Waybill's words.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use serde::Serialize;
pub use waybill_core::credentials::{CredentialField, CredentialSchema};
use waybill_core::ids::CarrierAccountId;
use waybill_core::{Address, Mode, Money, NdrReason, Parcel, Routing, TrackingStatus};

/// The account a call acts for: its environment, where to reach the carrier, and its
/// decrypted credentials.
#[derive(Debug, Clone, Copy)]
pub struct Account<'a> {
    pub id: &'a CarrierAccountId,
    pub mode: Mode,
    /// The carrier's host for this mode, or the account's override.
    pub base_url: &'a str,
    pub credentials: &'a serde_json::Value,
}

/// A carrier as `GET /v1/carriers` shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CarrierInfo {
    pub slug: &'static str,
    pub name: &'static str,
    pub services: Vec<Service>,
    pub capabilities: Capabilities,
    pub credentials: CredentialSchema,
    /// Default hosts per mode; `None` when the account must give its own `base_url`.
    pub test_base_url: Option<&'static str>,
    pub live_base_url: Option<&'static str>,
    /// Label formats the carrier itself returns; Waybill renders the others from its own template.
    pub carrier_label_formats: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Service {
    pub code: &'static str,
    pub name: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Capabilities {
    pub rates: bool,
    pub cancel: bool,
    /// Scans can be fetched on demand (the pull side of tracking).
    pub track: bool,
    /// The carrier pushes scans to a subscribed URL.
    pub push: bool,
    /// The push subscription is made by the booking itself
    /// ([`crate::Carrier::book_subscribed`]), so no separate subscribe call follows.
    pub push_at_booking: bool,
    /// A booking can be looked up by our reference, so lost answers can be reconciled.
    pub find_booking: bool,
    pub cash_on_delivery: bool,
    /// The carrier checks and corrects addresses ([`crate::Carrier::validate_address`]).
    pub address_validation: bool,
    /// A courier can be asked to collect parcels ([`crate::Carrier::schedule_pickup`]).
    pub pickup: bool,
    /// A booked pickup can be called off through the API ([`crate::Carrier::cancel_pickup`]).
    pub pickup_cancel: bool,
    /// The carrier takes an end-of-day close of the parcels booked on the account
    /// ([`crate::Carrier::close_manifest`]).
    pub manifest: bool,
    /// A booked shipment's details can be changed through the API
    /// ([`crate::Carrier::update_shipment`]; which ones: [`crate::Carrier::updatable`]).
    pub update: bool,
    /// A moving parcel can be turned back to the sender through the API
    /// ([`crate::Carrier::request_rto`]).
    pub rto_request: bool,
    /// The carrier says which postcodes it serves ([`crate::Carrier::serviceability`]).
    pub serviceability: bool,
    /// Return shipments (customer → merchant) can be booked (`BookingRequest::is_return`).
    pub returns: bool,
    /// The carrier takes instructions after a failed delivery through its API
    /// ([`crate::Carrier::ndr_action`]); for the others they go in the daily NDR report.
    pub ndr: bool,
}

#[derive(Debug, Clone)]
pub struct RateRequest {
    pub ship_from: Address,
    pub ship_to: Address,
    pub parcels: Vec<Parcel>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    pub service: String,
    pub charge: Money,
    pub transit_days: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct BookingRequest {
    /// Our shipment id: the carrier keeps it, so a lost answer can be found again.
    pub reference: String,
    pub service: String,
    pub ship_from: Address,
    pub ship_to: Address,
    pub parcels: Vec<Parcel>,
    pub cod: Option<Money>,
    /// Test-mode journey for carriers that can simulate one (`options.simulate`).
    pub simulate: Option<String>,
    /// A return from the customer (`ship_from`) to the merchant (`ship_to`), for carriers that
    /// book returns apart from outbound shipments (`capabilities.returns`).
    pub is_return: bool,
}

/// What the carrier answered to a booking.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    pub tracking_number: String,
    /// The carrier's own id for the shipment when it differs from the tracking number.
    pub carrier_shipment_id: String,
    pub service: String,
    pub charge: Option<Money>,
    pub edd: Option<NaiveDate>,
    pub routing: Option<Routing>,
    /// Label documents the carrier rendered itself (empty when Waybill renders the label).
    pub documents: Vec<CarrierDocument>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierDocument {
    /// `pdf`, `zpl` or `png`.
    pub format: &'static str,
    pub bytes: Vec<u8>,
}

/// A booked shipment as an adapter needs it to act on it again.
#[derive(Debug, Clone, Copy)]
pub struct BookedRef<'a> {
    pub tracking_number: &'a str,
    pub carrier_shipment_id: &'a str,
}

/// One carrier scan, mapped to Waybill's taxonomy with the carrier's own words kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// The carrier's id for the event, when it gives one (used to drop duplicates).
    pub event_id: Option<String>,
    pub code: String,
    pub status: TrackingStatus,
    pub reason_code: Option<String>,
    pub ndr_reason: Option<NdrReason>,
    pub description: String,
    pub location: Option<String>,
    /// Carrier time, with the offset the carrier gave.
    pub occurred_at: DateTime<FixedOffset>,
    pub raw: serde_json::Value,
}

/// Where the carrier should push scans, and the secret it signs them with.
#[derive(Debug, Clone)]
pub struct PushTarget {
    pub url: String,
    pub secret: String,
}

/// A pushed HTTP request as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct PushRequest<'a> {
    /// Header names in lower case.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl PushRequest<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PushedScan {
    pub tracking_number: String,
    pub scan: Scan,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("the push is not signed correctly: {0}")]
    BadSignature(String),
    #[error("the push body cannot be read: {0}")]
    Malformed(String),
}

/// How sure the carrier is that an address can be delivered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AddressVerdict {
    /// The carrier knows the address as given (possibly with small corrections in `candidates`).
    Valid,
    /// Several addresses match; the merchant should pick one of `candidates`.
    Ambiguous,
    /// The carrier does not know the address.
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AddressClass {
    Residential,
    Commercial,
    Unknown,
}

/// A carrier's verdict on an address.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddressCheck {
    pub verdict: AddressVerdict,
    pub classification: AddressClass,
    /// The carrier's corrected or suggested addresses, best first. Fields the carrier does not
    /// return (name, phone) are copied from the address asked about.
    pub candidates: Vec<waybill_core::Address>,
    /// The carrier's own remarks, kept as it wrote them.
    pub messages: Vec<String>,
}

/// A request for a courier to collect parcels.
#[derive(Debug, Clone)]
pub struct PickupRequest {
    /// Our pickup id: carriers that keep a reference get this one.
    pub reference: String,
    pub address: waybill_core::Address,
    pub date: NaiveDate,
    /// Local time at the pickup address from which parcels are ready.
    pub ready_time: NaiveTime,
    /// Local time by which the courier must have come.
    pub close_time: NaiveTime,
    pub parcels: Vec<Parcel>,
    /// Tracking numbers of the booked shipments to collect, where the carrier wants them.
    pub tracking_numbers: Vec<String>,
    /// The carrier service the parcels travel with, where the carrier asks for it.
    pub service: Option<String>,
    pub instructions: Option<String>,
}

/// A pickup the carrier confirmed.
#[derive(Debug, Clone, PartialEq)]
pub struct Pickup {
    /// The carrier's confirmation (PRN, dispatch confirmation number, pickup id…).
    pub confirmation_number: String,
    /// The day the carrier will come, when it says (it may move the requested day).
    pub date: Option<NaiveDate>,
    pub charge: Option<Money>,
    /// The carrier's own remark, e.g. the servicing location.
    pub note: Option<String>,
}

/// What to change on a booking: only the parts given.
#[derive(Debug, Clone)]
pub struct ShipmentUpdate {
    /// The recipient as they should be (same place; only the details the carrier takes).
    pub ship_to: Option<waybill_core::Address>,
    pub cod: Option<Money>,
    pub parcels: Option<Vec<Parcel>>,
}

/// An end-of-day close of the parcels booked on one account.
#[derive(Debug, Clone)]
pub struct ManifestRequest {
    /// Our manifest id: carriers that keep a reference get this one, and a repeat with the
    /// same reference is the same close.
    pub reference: String,
    /// The day being closed (at the sender).
    pub date: NaiveDate,
    /// The tracking numbers on the manifest.
    pub tracking_numbers: Vec<String>,
}

/// The carrier's confirmation of a close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedManifest {
    /// The carrier's own number for the close, when it gives one.
    pub reference: Option<String>,
}

/// What a carrier offers at one postcode.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Serviceability {
    pub postal_code: String,
    /// The carrier delivers here.
    pub delivery: bool,
    /// Prepaid parcels can be delivered here.
    pub prepaid: bool,
    /// Cash can be collected on delivery here.
    pub cash_on_delivery: bool,
    /// Parcels can be collected (picked up or returned) here.
    pub pickup: bool,
    /// Where the carrier places the postcode (district, city, state), when it says.
    pub place: Option<String>,
    /// The carrier's remark, e.g. an embargo.
    pub remark: Option<String>,
}
