//! What API answers (and webhooks and pages) show.

use serde::Serialize;

use super::time;
use crate::account::CarrierAccount;
use crate::address::Address;
use crate::branding::{BrandLink, Branding};
use crate::cancellation::{CancelledBy, OrderCancellation};
use crate::change::{ChangeMethod, ChangedField, ShipmentChange};
use crate::channel::{AssignedShipping, ChannelConnection, ChannelImport, ConnectionSettings, ImportStatus};
use crate::ids::{
    CarrierAccountId, ChannelConnectionId, ChannelImportId, InformationRequestId, LocationId, ManifestId, NdrCaseId,
    NotificationId, OrderId, PickupId, ShipmentChangeId, ShipmentId, TrackingEventId,
};
use crate::information::{InfoActor, InfoField, InfoMethod, InfoSource, InfoState, InformationRequest};
use crate::inventory::StockLevel;
use crate::location::Location;
use crate::manifest::{Manifest, ManifestEntry};
use crate::message::{Language, MessageChannel, Milestone};
use crate::money::{Currency, Money};
use crate::ndr::{InstructionState, NdrAction, NdrActionKind, NdrActor, NdrAttempt, NdrRecord, NdrState};
use crate::notification::{Notification, NotificationState, mask};
use crate::order::{LineItem, Order, OrderStatus, Payment, ShipmentLine};
use crate::parcel::{Parcel, Routing};
use crate::pickup::Pickup;
use crate::rto::{GoodsCondition, RtoReceipt, RtoRequest, RtoVia};
use crate::scope::Mode;
use crate::shipment::{BookingState, Shipment, TrackingEvent};
use crate::tracking::{NdrReason, TrackingStatus};

/// A page of results; pass `next_after` as `?after=` for the next one.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct List<T> {
    pub data: Vec<T>,
    pub next_after: Option<String>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderView {
    pub id: OrderId,
    pub external_id: String,
    pub channel: String,
    pub status: OrderStatus,
    pub currency: Currency,
    pub line_items: Vec<LineItem>,
    pub ship_to: Address,
    pub payment: Payment,
    pub locale: Option<String>,
    /// The channel connection the order came in through (absent for API and CSV orders).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<ChannelConnectionId>,
    /// The number the channel shows (`#1001`), when it differs from `external_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The carrier and tracking number the marketplace booked for the order itself (Trendyol):
    /// a booking on a generic carrier account takes that tracking number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_shipping: Option<AssignedShipping>,
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
            locale: o.locale,
            connection_id: o.connection_id,
            number: o.number,
            assigned_shipping: o.assigned_shipping,
            created_at: time(o.created_at),
            updated_at: time(o.updated_at),
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocationView {
    pub id: LocationId,
    pub name: String,
    pub address: Address,
    pub default: bool,
    pub created_at: String,
}

impl From<Location> for LocationView {
    fn from(l: Location) -> Self {
        Self { id: l.id, name: l.name, address: l.address, default: l.is_default, created_at: time(l.created_at) }
    }
}

/// One SKU's stock at one location.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockLevelView {
    pub location_id: LocationId,
    pub sku: String,
    pub on_hand: i64,
    /// Booked and not yet picked up.
    pub reserved: i64,
    /// On hand and not reserved: what the channels are told.
    pub available: i64,
    pub updated_at: String,
}

impl From<StockLevel> for StockLevelView {
    fn from(l: StockLevel) -> Self {
        Self {
            available: l.available(),
            location_id: l.location_id,
            sku: l.sku,
            on_hand: l.on_hand,
            reserved: l.reserved,
            updated_at: time(l.updated_at),
        }
    }
}

/// A channel connection as the API shows it: never its credentials.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelConnectionView {
    pub id: ChannelConnectionId,
    pub channel: String,
    pub name: String,
    pub mode: Mode,
    pub base_url: Option<String>,
    pub settings: ConnectionSettings,
    /// Where the channel's webhooks go: register this URL in the channel (absent for channels
    /// without webhooks, such as Amazon, whose orders come by the sync).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// The account the channel said the credentials belong to, when it was asked (at creation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_as: Option<String>,
    pub created_at: String,
}

impl ChannelConnectionView {
    pub fn new(c: ChannelConnection, webhook_url: Option<String>, verified_as: Option<String>) -> Self {
        Self {
            id: c.id,
            channel: c.channel,
            name: c.name,
            mode: c.mode,
            base_url: c.base_url,
            settings: c.settings,
            webhook_url,
            verified_as,
            created_at: time(c.created_at),
        }
    }
}

/// One payload a channel sent, and what became of it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelImportView {
    pub id: ChannelImportId,
    pub connection_id: ChannelConnectionId,
    /// The channel's topic (`orders/create`) or `sync`.
    pub topic: String,
    pub external_id: Option<String>,
    pub status: ImportStatus,
    pub reason: Option<String>,
    pub order_id: Option<OrderId>,
    pub received_at: String,
    pub updated_at: String,
    /// The payload as the channel sent it (only when one import is asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub payload: Option<serde_json::Value>,
}

impl ChannelImportView {
    pub fn new(i: ChannelImport, payload: Option<serde_json::Value>) -> Self {
        Self {
            id: i.id,
            connection_id: i.connection_id,
            topic: i.topic,
            external_id: i.external_id,
            status: i.status,
            reason: i.reason,
            order_id: i.order_id,
            received_at: time(i.received_at),
            updated_at: time(i.updated_at),
            payload,
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookingErrorView {
    pub code: String,
    pub message: String,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventView {
    pub id: TrackingEventId,
    pub status: TrackingStatus,
    /// The carrier's own code for the scan.
    pub carrier_code: String,
    pub reason_code: Option<String>,
    pub ndr_reason: Option<NdrReason>,
    pub description: String,
    pub location: Option<String>,
    /// Carrier time, with the carrier's offset, as the carrier sent it.
    pub occurred_at: String,
    /// Only when the carrier's clock was ahead of Waybill's receipt of the scan (by more than
    /// five minutes): the time the scan is placed at in the history instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placed_at: Option<String>,
    /// `push`, `pull`, `api`, or `merchant` (reported by CSV upload or the events API).
    pub source: String,
    pub received_at: String,
}

impl From<TrackingEvent> for EventView {
    fn from(e: TrackingEvent) -> Self {
        let placed = e.placed();
        Self {
            id: e.id,
            status: e.status,
            carrier_code: e.code,
            reason_code: e.reason_code,
            ndr_reason: e.ndr_reason,
            description: e.description,
            location: e.location,
            occurred_at: e.occurred_at.to_rfc3339(),
            placed_at: placed.clock_ahead_by().map(|_| time(placed.at.timestamp_millis())),
            source: e.source.as_str().to_owned(),
            received_at: time(e.received_at),
        }
    }
}

/// A shipment with what its full view shows: its scans (on single-shipment answers) and the
/// carrier's tracking page (generic carriers).
#[derive(Debug, Clone)]
pub struct ShipmentDetails {
    pub shipment: Shipment,
    pub events: Option<Vec<TrackingEvent>>,
    pub tracking_url: Option<String>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipmentView {
    pub id: ShipmentId,
    pub order_id: Option<OrderId>,
    pub carrier: String,
    pub carrier_account_id: CarrierAccountId,
    pub service: String,
    /// The order's SKUs and quantities in this shipment (absent without an order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<ShipmentLine>,
    /// `pending`, `booked`, `failed`, or `unknown` (the carrier did not answer; being reconciled).
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

impl From<ShipmentDetails> for ShipmentView {
    fn from(d: ShipmentDetails) -> Self {
        let s = d.shipment;
        let booked = s.booking_state == BookingState::Booked;
        Self {
            id: s.id,
            order_id: s.order_id,
            carrier: s.carrier,
            carrier_account_id: s.carrier_account_id,
            service: s.service,
            lines: s.lines,
            booking_state: s.booking_state,
            status: s.status,
            ndr_reason: s.ndr_reason,
            tracking_number: s.tracking_number,
            tracking_url: d.tracking_url,
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
            events: d.events.map(|ev| ev.into_iter().map(EventView::from).collect()),
            created_at: time(s.created_at),
            updated_at: time(s.updated_at),
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackerView {
    pub tracking_number: String,
    pub carrier: String,
    pub carrier_account_id: CarrierAccountId,
    pub shipment_id: ShipmentId,
    pub status: TrackingStatus,
    pub ndr_reason: Option<NdrReason>,
    pub edd: Option<String>,
    /// The carrier's tracking page (generic carrier accounts).
    pub tracking_url: Option<String>,
    pub events: Vec<EventView>,
}

impl From<ShipmentDetails> for TrackerView {
    fn from(d: ShipmentDetails) -> Self {
        let s = d.shipment;
        Self {
            tracking_number: s.tracking_number.unwrap_or_default(),
            carrier: s.carrier,
            carrier_account_id: s.carrier_account_id,
            shipment_id: s.id,
            status: s.status,
            ndr_reason: s.ndr_reason,
            edd: s.edd.map(|d| d.to_string()),
            tracking_url: d.tracking_url,
            events: d.events.unwrap_or_default().into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
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

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateView {
    pub carrier: String,
    pub carrier_account_id: CarrierAccountId,
    pub service: String,
    pub charge: Money,
    pub transit_days: Option<u32>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PickupErrorView {
    pub code: String,
    pub message: String,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PickupView {
    pub id: PickupId,
    pub carrier_account_id: CarrierAccountId,
    pub carrier: String,
    /// `requested`, `scheduled`, `failed`, `unknown` (the carrier's answer was lost: check
    /// with the carrier before asking again) or `cancelled`.
    pub status: String,
    pub confirmation_number: Option<String>,
    pub date: String,
    pub ready_time: String,
    pub close_time: String,
    pub address: Address,
    pub parcels: Vec<Parcel>,
    pub shipment_ids: Vec<ShipmentId>,
    pub service: Option<String>,
    pub instructions: Option<String>,
    pub charge: Option<Money>,
    pub note: Option<String>,
    pub error: Option<PickupErrorView>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Pickup> for PickupView {
    fn from(p: Pickup) -> Self {
        Self {
            id: p.id,
            carrier_account_id: p.carrier_account_id,
            carrier: p.carrier,
            status: p.status.as_str().to_owned(),
            confirmation_number: p.confirmation_number,
            date: p.date.to_string(),
            ready_time: p.ready_time.format("%H:%M").to_string(),
            close_time: p.close_time.format("%H:%M").to_string(),
            address: p.address,
            parcels: p.parcels,
            shipment_ids: p.shipment_ids,
            service: p.service,
            instructions: p.instructions,
            charge: p.charge,
            note: p.note,
            error: p.error.map(|e| PickupErrorView { code: e.code, message: e.message }),
            created_at: time(p.created_at),
            updated_at: time(p.updated_at),
        }
    }
}

/// How an information request was answered.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InfoResolutionView {
    /// `merchant` or `customer`.
    pub by: InfoActor,
    pub value: String,
    /// `booked_again` (the refused booking, with the fix: `new_shipment_id`), `carrier_update`
    /// (same tracking number) or `rebooked` (voided and booked again: `new_shipment_id`, a new
    /// label to print).
    pub method: InfoMethod,
    pub new_shipment_id: Option<ShipmentId>,
    /// Set when the fix went out but booking again did not succeed.
    pub note: Option<String>,
    pub resolved_at: String,
}

/// A carrier's request for one field of a shipment's delivery address.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InformationRequestView {
    pub id: InformationRequestId,
    pub shipment_id: ShipmentId,
    pub order_id: Option<OrderId>,
    /// `postal_code`, `phone`, `street`, `city` or `name`.
    pub field: InfoField,
    /// The field in the shipment: `/ship_to/postal_code`.
    pub pointer: String,
    /// `booking_refusal` (nothing is booked yet) or `carrier_scan` (a booked parcel waits).
    pub source: InfoSource,
    pub carrier_code: String,
    pub carrier_message: String,
    /// `open`, `resolved` or `withdrawn`.
    pub state: InfoState,
    pub raised_at: String,
    pub resolution: Option<InfoResolutionView>,
    /// Why it was withdrawn.
    pub withdrawn: Option<String>,
    pub closed_at: Option<String>,
}

impl From<InformationRequest> for InformationRequestView {
    fn from(r: InformationRequest) -> Self {
        Self {
            id: r.id,
            shipment_id: r.shipment_id,
            order_id: r.order_id,
            field: r.field,
            pointer: r.field.pointer().to_owned(),
            source: r.source,
            carrier_code: r.carrier_code,
            carrier_message: r.carrier_message,
            state: r.state,
            raised_at: time(r.raised_at),
            resolution: r.resolution.map(|x| InfoResolutionView {
                by: x.by,
                value: x.value,
                method: x.method,
                new_shipment_id: x.new_shipment_id,
                note: x.note,
                resolved_at: time(x.at),
            }),
            withdrawn: r.withdrawn,
            closed_at: r.closed_at.map(time),
        }
    }
}

/// An order's cancellation.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderCancellationView {
    pub order_id: OrderId,
    /// `merchant` (the API), `channel` (the sales channel) or `customer` (the cancellation page).
    pub by: CancelledBy,
    pub reason: Option<String>,
    pub cancelled_at: String,
}

impl From<OrderCancellation> for OrderCancellationView {
    fn from(c: OrderCancellation) -> Self {
        Self { order_id: c.order_id, by: c.by, reason: c.reason, cancelled_at: time(c.cancelled_at) }
    }
}

/// `POST /v1/orders/{id}/cancel` and `GET /v1/orders/{id}/cancellation`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderCancellationAnswer {
    pub order: OrderView,
    /// Absent while the order is not cancelled.
    pub cancellation: Option<OrderCancellationView>,
    /// The customer's cancellation page, while customers may cancel (the tenant's setting) and
    /// the order is not cancelled; a path on this server, for links in the shop's own messages.
    pub customer_page: Option<String>,
}

/// Whether customers may cancel their own orders.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CancellationSettingsView {
    pub customers_may_cancel: bool,
}

/// A request to bring a moving parcel back.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RtoRequestView {
    pub shipment_id: ShipmentId,
    /// `carrier`: the carrier was asked through its API and turns the parcel back. `merchant`:
    /// the carrier has no such call; ask it yourself (the request is kept as a reminder).
    pub via: RtoVia,
    pub reason: Option<String>,
    pub requested_at: String,
}

impl From<RtoRequest> for RtoRequestView {
    fn from(r: RtoRequest) -> Self {
        Self { shipment_id: r.shipment_id, via: r.via, reason: r.reason, requested_at: time(r.requested_at) }
    }
}

/// One field's value before and after a change.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChangeView {
    /// `/ship_to`, `/cod` or `/parcels`.
    pub pointer: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub from: serde_json::Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub to: serde_json::Value,
}

/// A change made to a booked shipment, as its audit trail keeps it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipmentChangeView {
    pub id: ShipmentChangeId,
    pub shipment_id: ShipmentId,
    /// The parts changed: `recipient`, `destination`, `cod`, `payment`, `parcels`.
    pub fields: Vec<ChangedField>,
    pub values: Vec<FieldChangeView>,
    /// `carrier_update` (same tracking number) or `rebooked` (voided and booked again).
    pub method: ChangeMethod,
    /// The shipment booked in its place, when `rebooked`.
    pub replacement_shipment_id: Option<ShipmentId>,
    /// What went wrong on the way, e.g. the carrier refused the new booking.
    pub note: Option<String>,
    pub created_at: String,
}

impl From<ShipmentChange> for ShipmentChangeView {
    fn from(c: ShipmentChange) -> Self {
        Self {
            id: c.id,
            shipment_id: c.shipment_id,
            fields: c.fields,
            values: c
                .values
                .into_iter()
                .map(|v| FieldChangeView { pointer: v.pointer, from: v.from, to: v.to })
                .collect(),
            method: c.method,
            replacement_shipment_id: c.replacement_shipment_id,
            note: c.note,
            created_at: time(c.created_at),
        }
    }
}

/// The answer to a change: what was done and the shipment that now carries the parcel (the
/// same one, or its replacement when `rebooked`).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipmentChangedView {
    pub change: ShipmentChangeView,
    pub shipment: ShipmentView,
}

/// One parcel line of a manifest, as printed.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManifestEntryView {
    pub shipment_id: ShipmentId,
    pub order_id: Option<OrderId>,
    pub tracking_number: String,
    pub service: String,
    pub reference: Option<String>,
    /// The recipient's name.
    pub consignee: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
    pub parcels: u32,
    pub weight_g: u64,
    pub cod: Option<Money>,
}

impl From<ManifestEntry> for ManifestEntryView {
    fn from(e: ManifestEntry) -> Self {
        Self {
            shipment_id: e.shipment_id,
            order_id: e.order_id,
            tracking_number: e.tracking_number,
            service: e.service,
            reference: e.reference,
            consignee: e.consignee,
            city: e.city,
            postal_code: e.postal_code,
            country: e.country,
            parcels: e.parcels,
            weight_g: e.weight_g,
            cod: e.cod,
        }
    }
}

/// The sums at the foot of a manifest.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManifestTotalsView {
    pub shipments: u32,
    pub parcels: u32,
    pub weight_g: u64,
    /// Cash the driver collects, one sum per currency.
    pub cod: Vec<Money>,
}

/// An end-of-day manifest: the parcels one carrier account hands over in one close.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManifestView {
    pub id: ManifestId,
    pub carrier_account_id: CarrierAccountId,
    pub carrier: String,
    /// `closing` (the carrier's close call has not answered yet; it is retried), `closed`, or
    /// `failed` (the carrier refused: see `error`; `POST /v1/manifests/{id}/retry` sends it again).
    pub status: String,
    /// Whether the carrier is told through its API; otherwise the printed manifest is the close.
    pub carrier_close: bool,
    /// The carrier's own number for the close, when it gives one.
    pub carrier_reference: Option<String>,
    pub totals: ManifestTotalsView,
    pub entries: Vec<ManifestEntryView>,
    pub error: Option<PickupErrorView>,
    /// Where to fetch the printable manifest (`pdf`) and the spreadsheet (`csv`).
    pub documents: ManifestDocumentsView,
    pub created_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManifestDocumentsView {
    pub pdf: String,
    pub csv: String,
}

impl From<Manifest> for ManifestView {
    fn from(m: Manifest) -> Self {
        let totals = m.totals();
        let document = |format: &str| format!("/v1/manifests/{}/document?format={format}", m.id);
        Self {
            documents: ManifestDocumentsView { pdf: document("pdf"), csv: document("csv") },
            id: m.id,
            carrier_account_id: m.carrier_account_id,
            carrier: m.carrier,
            status: m.status.as_str().to_owned(),
            carrier_close: m.carrier_close,
            carrier_reference: m.carrier_reference,
            totals: ManifestTotalsView {
                shipments: totals.shipments,
                parcels: totals.parcels,
                weight_g: totals.weight_g,
                cod: totals.cod,
            },
            entries: m.entries.into_iter().map(Into::into).collect(),
            error: m.error.map(|e| PickupErrorView { code: e.code, message: e.message }),
            created_at: time(m.created_at),
            updated_at: time(m.updated_at),
            closed_at: m.closed_at.map(time),
        }
    }
}

/// A scan whose carrier time was ahead of its receipt: where it was placed instead.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockSkewView {
    /// Where the scan is in the request (`/events/0`, `/rows/3`), or its tracking number for pushes.
    pub at: String,
    /// The time the carrier (or file) gave.
    pub occurred_at: String,
    /// The time it is placed at: when Waybill received it.
    pub placed_at: String,
}

/// What a report of scans amounted to.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScanReportView {
    pub received: usize,
    /// Scans that were new and went through the shipment's status machine.
    pub applied: usize,
    /// Scans recorded before (the same content sent again): nothing changed for them.
    pub duplicates: usize,
    /// Applied scans whose time was more than five minutes after their receipt: each is placed
    /// at its receipt instead (a clock or typing error; check the source).
    pub clock_skewed: Vec<ClockSkewView>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushReceiptView {
    pub scans: usize,
    pub recorded: usize,
    pub unknown_tracking_numbers: usize,
    /// Recorded scans whose time was ahead of their receipt, placed at the receipt instead.
    pub clock_skewed: usize,
}

/// A merchant webhook endpoint. The secret is shown once, when the endpoint is created.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpointView {
    pub id: crate::ids::WebhookEndpointId,
    pub url: String,
    pub description: Option<String>,
    pub events: Vec<String>,
    pub mode: Mode,
    pub state: crate::webhook::WebhookState,
    /// Why the endpoint was disabled.
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed (none since then succeeded).
    pub failing_since: Option<String>,
    /// `whsec_…`: verify deliveries with it (Standard Webhooks). Only in the answer to create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl WebhookEndpointView {
    pub fn new(e: crate::webhook::WebhookEndpoint, secret: Option<String>) -> Self {
        Self {
            id: e.id,
            url: e.url,
            description: e.description,
            events: e.events,
            mode: e.mode,
            state: e.state,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since.map(time),
            secret,
            created_at: time(e.created_at),
            updated_at: time(e.updated_at),
        }
    }
}

/// One attempt to deliver an event to an endpoint.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDeliveryView {
    pub id: crate::ids::WebhookDeliveryId,
    pub message_id: crate::ids::WebhookMessageId,
    pub event_id: crate::ids::EventId,
    pub event_type: String,
    /// The attempt's number for this message (from 1).
    pub attempt: i64,
    /// The receiver's HTTP status; absent when it did not answer.
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    /// The start of the receiver's answer (at most 512 bytes).
    pub response_excerpt: Option<String>,
    /// Why the attempt failed when the receiver did not answer.
    pub error: Option<String>,
    pub succeeded: bool,
    pub created_at: String,
}

impl From<crate::webhook::WebhookDelivery> for WebhookDeliveryView {
    fn from(d: crate::webhook::WebhookDelivery) -> Self {
        Self {
            id: d.id,
            message_id: d.message_id,
            event_id: d.event_id,
            event_type: d.event_type,
            attempt: d.attempt,
            status_code: d.status_code,
            latency_ms: d.latency_ms,
            response_excerpt: d.excerpt,
            error: d.error,
            succeeded: d.succeeded,
            created_at: time(d.created_at),
        }
    }
}

/// The messages a redelivery queued, one per endpoint.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RedeliveryView {
    pub event_id: crate::ids::EventId,
    pub messages: Vec<RedeliveredMessage>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RedeliveredMessage {
    pub endpoint_id: crate::ids::WebhookEndpointId,
    pub message_id: crate::ids::WebhookMessageId,
}

/// One message as the shipment's log shows it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationView {
    pub id: NotificationId,
    pub milestone: Milestone,
    pub channel: MessageChannel,
    pub language: Language,
    /// `default` or `custom`.
    pub template: String,
    /// Masked: `a•••@example.com`, `+90••••••••67`.
    pub recipient: String,
    pub state: NotificationState,
    pub reason: Option<String>,
    pub provider_message_id: Option<String>,
    pub attempts: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Notification> for NotificationView {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            milestone: n.milestone,
            channel: n.channel,
            language: n.language,
            template: n.template,
            recipient: mask(&n.recipient),
            state: n.state,
            reason: n.reason,
            provider_message_id: n.provider_message_id,
            attempts: n.attempts,
            created_at: time(n.created_at),
            updated_at: time(n.updated_at),
        }
    }
}

/// A template as the API shows it, or a rendered preview.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateView {
    pub milestone: Milestone,
    pub channel: MessageChannel,
    pub language: Language,
    /// `default` (Waybill's) or `custom` (yours).
    pub source: String,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    /// For SMS: the encoding and how many messages it takes; for anything else worth knowing.
    pub warnings: Vec<String>,
}

/// The tenant's branding, shared by both modes.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrandingView {
    /// The tenant's tracking URLs are `/t/{slug}/{tracking_number}`.
    pub slug: String,
    pub store_name: String,
    pub primary_color: String,
    pub accent_color: String,
    pub support_email: Option<String>,
    pub links: Vec<BrandLink>,
    pub default_language: Language,
    /// Where the page shows the stored logo from, when there is one.
    pub logo_path: Option<String>,
    /// Absent while the defaults were never changed.
    pub updated_at: Option<String>,
}

impl From<Branding> for BrandingView {
    fn from(b: Branding) -> Self {
        BrandingView {
            logo_path: b.logo_path(),
            updated_at: (b.updated_at > 0).then(|| time(b.updated_at)),
            slug: b.slug,
            store_name: b.store_name,
            primary_color: b.primary_color,
            accent_color: b.accent_color,
            support_email: b.support_email,
            links: b.links,
            default_language: b.default_language,
        }
    }
}

/// A shipment's failed-delivery case: its attempts, what was asked after each, and what the
/// latest attempt can still take.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NdrCaseView {
    pub id: NdrCaseId,
    pub shipment_id: ShipmentId,
    pub carrier_account_id: CarrierAccountId,
    pub carrier: String,
    pub tracking_number: Option<String>,
    pub state: NdrState,
    /// The latest failed attempt's reason.
    pub reason: NdrReason,
    /// Oldest first.
    pub attempts: Vec<NdrAttemptView>,
    /// What `POST /v1/ndr/{id}/actions` takes now (empty once an action was asked for the
    /// latest attempt, or the case is closed).
    pub allowed_actions: Vec<NdrActionKind>,
    /// When the tenant's default action is taken if nobody acts.
    pub deadline_at: Option<String>,
    pub closed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NdrAttemptView {
    /// 1 for the first failed attempt.
    pub number: u32,
    pub reason: NdrReason,
    /// The carrier's own words.
    pub remark: Option<String>,
    pub failed_at: String,
    pub action: Option<NdrActionView>,
    /// The customer's word that this attempt never happened, kept for a dispute with the carrier.
    pub disputed: Option<String>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NdrActionView {
    #[serde(flatten)]
    pub action: NdrAction,
    pub requested_by: NdrActor,
    pub requested_at: String,
    /// `sent` (the carrier's API took it), `for_report` (for the carrier's contact), `refused`;
    /// absent while the carrier is still to be told.
    pub carrier_state: Option<InstructionState>,
    pub carrier_note: Option<String>,
    pub carrier_at: Option<String>,
}

impl From<NdrAttempt> for NdrAttemptView {
    fn from(a: NdrAttempt) -> Self {
        Self {
            number: a.number,
            reason: a.reason,
            remark: a.remark,
            failed_at: time(a.failed_at),
            action: a.action.map(|t| NdrActionView {
                action: t.action,
                requested_by: t.actor,
                requested_at: time(t.at),
                carrier_state: t.carrier.as_ref().map(|c| c.state),
                carrier_note: t.carrier.as_ref().and_then(|c| c.note.clone()),
                carrier_at: t.carrier.as_ref().map(|c| time(c.at)),
            }),
            disputed: a.disputed,
        }
    }
}

impl From<NdrRecord> for NdrCaseView {
    fn from(r: NdrRecord) -> Self {
        Self {
            id: r.id,
            shipment_id: r.shipment_id,
            carrier_account_id: r.carrier_account_id,
            carrier: r.carrier,
            tracking_number: r.tracking_number,
            state: r.case.state,
            reason: r.case.attempt().reason,
            allowed_actions: r.allowed_actions,
            deadline_at: r.case.deadline_at.map(time),
            closed_at: r.case.closed_at.map(time),
            attempts: r.case.attempts.into_iter().map(Into::into).collect(),
            created_at: time(r.created_at),
            updated_at: time(r.updated_at),
        }
    }
}

/// The merchant's acknowledgement of a parcel returned to them.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RtoReceiptView {
    pub shipment_id: ShipmentId,
    /// `restockable` (its lines went back into stock) or `damaged` (written off).
    pub condition: GoodsCondition,
    pub note: Option<String>,
    pub acknowledged_at: String,
}

impl From<RtoReceipt> for RtoReceiptView {
    fn from(r: RtoReceipt) -> Self {
        Self {
            shipment_id: r.shipment_id,
            condition: r.condition,
            note: r.note,
            acknowledged_at: time(r.acknowledged_at),
        }
    }
}
