//! The JSON shapes of the API: what requests carry and what answers show.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use waybill_carriers::CarrierInfo;
use waybill_core::ids::{CarrierAccountId, OrderId, ShipmentId, TrackingEventId};
use waybill_core::money::Currency;
use waybill_core::parcel::{Parcel, ParcelInput};
use waybill_core::{Address, LineItem, Mode, Money, NdrReason, OrderStatus, Payment, Routing, TrackingStatus};
use waybill_store::{BookingState, CarrierAccount, Order, Shipment, TrackingEvent};

pub fn time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A page of results; pass `next_after` as `?after=` for the next one.
#[derive(Serialize, ToSchema)]
pub struct List<T> {
    pub data: Vec<T>,
    pub next_after: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct OrderCreate {
    /// The order's id in the channel it came from (e.g. the shop's order number).
    pub external_id: String,
    /// Where the order came from; `api` when not given.
    #[serde(default)]
    pub channel: Option<String>,
    pub currency: Currency,
    pub line_items: Vec<LineItem>,
    pub ship_to: Address,
    pub payment: Payment,
}

#[derive(Serialize, ToSchema)]
pub struct OrderView {
    pub id: OrderId,
    pub external_id: String,
    pub channel: String,
    pub status: OrderStatus,
    pub currency: Currency,
    pub line_items: Vec<LineItem>,
    pub ship_to: Address,
    pub payment: Payment,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Order> for OrderView {
    fn from(o: Order) -> Self {
        Self {
            id: o.id,
            external_id: o.external_id,
            channel: o.channel,
            status: o.status,
            currency: o.currency,
            line_items: o.line_items,
            ship_to: o.ship_to,
            payment: o.payment,
            created_at: time(o.created_at),
            updated_at: time(o.updated_at),
        }
    }
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ShipmentOptions {
    /// Test mode only: the journey the sandbox carrier plays
    /// (`delivered`, `ndr_then_delivered`, `rto`, `lost`, `exception`).
    #[serde(default)]
    pub simulate: Option<String>,
    /// `pdf`, `zpl` or `png`: render the label with the booking and keep it with the booked
    /// shipment, so the first `GET …/label` in this format is a plain read. Other formats are
    /// rendered when first fetched. A label the carrier sends in this format is used as is.
    #[serde(default)]
    pub label_format: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct ShipmentCreate {
    /// Book for this order: its address, COD amount and reference are used unless given here.
    #[serde(default)]
    pub order_id: Option<OrderId>,
    pub carrier_account_id: CarrierAccountId,
    pub service: String,
    pub ship_from: Address,
    /// Required without `order_id`.
    #[serde(default)]
    pub ship_to: Option<Address>,
    pub parcels: Vec<ParcelInput>,
    /// Cash to collect on delivery; defaults to the order's COD amount.
    #[serde(default)]
    pub cod: Option<Money>,
    /// Printed on the label; defaults to the order's external id.
    #[serde(default)]
    pub reference: Option<String>,
    /// A customer return: `ship_from` is the customer and `ship_to` the merchant. Carriers
    /// with a return product (`capabilities.returns`) book it through that product.
    #[serde(default)]
    pub is_return: bool,
    /// Generic carrier accounts with a `pattern` only: the merchant's own tracking number
    /// (e.g. from a pre-printed label). Other accounts get theirs from the carrier.
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub options: ShipmentOptions,
}

#[derive(Serialize, ToSchema)]
pub struct BookingErrorView {
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct EventView {
    pub id: TrackingEventId,
    pub status: TrackingStatus,
    /// The carrier's own code for the scan.
    pub carrier_code: String,
    pub reason_code: Option<String>,
    pub ndr_reason: Option<NdrReason>,
    pub description: String,
    pub location: Option<String>,
    /// Carrier time, with the carrier's offset.
    pub occurred_at: String,
    /// `push`, `pull`, `api`, or `merchant` (reported by CSV upload or the events API).
    pub source: String,
    pub received_at: String,
}

impl From<TrackingEvent> for EventView {
    fn from(e: TrackingEvent) -> Self {
        Self {
            id: e.id,
            status: e.status,
            carrier_code: e.code,
            reason_code: e.reason_code,
            ndr_reason: e.ndr_reason,
            description: e.description,
            location: e.location,
            occurred_at: e.occurred_at.to_rfc3339(),
            source: e.source.as_str().to_owned(),
            received_at: time(e.received_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ShipmentView {
    pub id: ShipmentId,
    pub order_id: Option<OrderId>,
    pub carrier: String,
    pub carrier_account_id: CarrierAccountId,
    pub service: String,
    /// `pending`, `booked`, `failed`, or `unknown` (the carrier did not answer; being reconciled).
    #[schema(value_type = String)]
    pub booking_state: BookingState,
    pub status: TrackingStatus,
    /// Why the last delivery attempt failed, when one did.
    pub ndr_reason: Option<NdrReason>,
    pub tracking_number: Option<String>,
    /// The carrier's tracking page for this shipment (generic carrier accounts).
    pub tracking_url: Option<String>,
    pub charge: Option<Money>,
    /// Estimated delivery date (`YYYY-MM-DD`).
    pub edd: Option<String>,
    pub cod: Option<Money>,
    pub is_return: bool,
    pub reference: Option<String>,
    pub ship_from: Address,
    pub ship_to: Address,
    pub parcels: Vec<Parcel>,
    pub routing: Option<Routing>,
    /// Formats `GET /v1/shipments/{id}/label?format=` serves.
    pub label_formats: Vec<String>,
    pub error: Option<BookingErrorView>,
    /// Full scan history, oldest first (only on single-shipment answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventView>>,
    pub created_at: String,
    pub updated_at: String,
}

impl ShipmentView {
    pub fn new(s: Shipment, events: Option<Vec<TrackingEvent>>) -> Self {
        let booked = s.booking_state == BookingState::Booked;
        Self {
            id: s.id,
            order_id: s.order_id,
            carrier: s.carrier,
            carrier_account_id: s.carrier_account_id,
            service: s.service,
            booking_state: s.booking_state,
            status: s.status,
            ndr_reason: s.ndr_reason,
            tracking_number: s.tracking_number,
            tracking_url: None,
            charge: s.charge,
            edd: s.edd.map(|d| d.to_string()),
            cod: s.cod,
            is_return: s.is_return,
            reference: s.reference,
            ship_from: s.ship_from,
            ship_to: s.ship_to,
            parcels: s.parcels,
            routing: s.routing,
            label_formats: if booked { ["pdf", "zpl", "png"].map(String::from).to_vec() } else { vec![] },
            error: s.error.map(|e| BookingErrorView { code: e.code, message: e.message }),
            events: events.map(|ev| ev.into_iter().map(EventView::from).collect()),
            created_at: time(s.created_at),
            updated_at: time(s.updated_at),
        }
    }

    pub fn with_tracking_url(self, tracking_url: Option<String>) -> Self {
        Self { tracking_url, ..self }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TrackerView {
    pub tracking_number: String,
    pub carrier: String,
    pub shipment_id: ShipmentId,
    pub status: TrackingStatus,
    pub ndr_reason: Option<NdrReason>,
    pub edd: Option<String>,
    /// The carrier's tracking page (generic carrier accounts).
    pub tracking_url: Option<String>,
    pub events: Vec<EventView>,
}

#[derive(Deserialize, ToSchema)]
pub struct CarrierAccountCreate {
    /// A carrier slug from `GET /v1/carriers`.
    pub carrier: String,
    pub mode: Mode,
    #[serde(default)]
    pub description: Option<String>,
    /// Overrides the carrier's host (required for carriers without a public one, like `sandbox`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The carrier's credential fields (see its `credentials` schema). Never shown again.
    /// Generic carriers take none.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub credentials: serde_json::Value,
    /// Generic carriers only: `name`, `services` (`[{code, name}]`), `tracking_numbers`
    /// (`{"pattern": "<regex>"}` or `{"range": {prefix, first, last, suffix, width}}`) and
    /// `tracking_url` (with `{tracking_number}`). Not secret: shown back on the account.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct CarrierAccountView {
    pub id: CarrierAccountId,
    pub carrier: String,
    pub mode: Mode,
    pub description: Option<String>,
    pub base_url: Option<String>,
    /// Where this carrier pushes scans. For carriers whose webhooks are set up once per account
    /// (e.g. Delhivery), give them this URL and `push_secret`.
    pub push_url: String,
    /// The secret pushes are signed (or authorized) with. Shown once, in the creation answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_secret: Option<String>,
    /// A generic carrier's settings, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
    pub created_at: String,
}

impl CarrierAccountView {
    pub fn new(a: CarrierAccount, push_url: String, push_secret: Option<String>) -> Self {
        Self {
            id: a.id,
            carrier: a.carrier,
            mode: a.mode,
            description: a.description,
            base_url: a.base_url,
            push_url,
            push_secret,
            settings: a.settings,
            created_at: time(a.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CarrierView {
    #[serde(flatten)]
    pub info: CarrierInfo,
}

#[derive(Deserialize, ToSchema)]
pub struct RateCreate {
    pub carrier_account_id: CarrierAccountId,
    pub ship_from: Address,
    pub ship_to: Address,
    pub parcels: Vec<ParcelInput>,
}

#[derive(Serialize, ToSchema)]
pub struct RateView {
    pub carrier: String,
    pub carrier_account_id: CarrierAccountId,
    pub service: String,
    pub charge: Money,
    pub transit_days: Option<u32>,
}
