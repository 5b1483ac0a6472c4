//! Events: typed facts about changes, written in the same transaction as the change itself.
//!
//! Every consumer of changes (merchant webhooks, customer messages, channel updates, workflow
//! follow-ups, KPI rollups) reads events; none hooks into the workflows. An event's JSON is
//! `{"type": "shipment.booked", "data": {…}}`. Events are an API boundary: stored events outlive
//! the version that wrote them, so a payload only ever gains optional fields.

use serde::{Deserialize, Serialize};

use crate::account::CarrierAccount;
use crate::cancellation::OrderCancellation;
use crate::change::ShipmentChange;
use crate::ids::{ChannelConnectionId, ChannelImportId, ShipmentId, WebhookEndpointId};
use crate::information::InformationRequest;
use crate::inventory::{StockLevel, StockReason};
use crate::manifest::Manifest;
use crate::ndr::NdrRecord;
use crate::order::{Order, OrderStatus};
use crate::pickup::Pickup;
use crate::rto::{RtoReceipt, RtoRequest};
use crate::shipment::{Shipment, TrackingEvent};
use crate::tracking::TrackingStatus;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Event {
    #[serde(rename = "order.created")]
    OrderCreated { order: Order },
    /// The order moved with its shipment (or was closed).
    #[serde(rename = "order.status_changed")]
    OrderStatusChanged { order: Order, from: OrderStatus },
    /// The order's channel changed it before it shipped, and Waybill applied the change.
    /// `changes` are pointers into the order (`/ship_to`, `/line_items`, `/payment`, `/status`).
    #[serde(rename = "order.updated")]
    OrderUpdated { order: Order, changes: Vec<String> },
    /// The order's channel changed (or cancelled) an order that already has a shipment: the
    /// change is recorded with the import, not applied; a person decides what to do.
    #[serde(rename = "order.update_held")]
    OrderUpdateHeld { order: Order, changes: Vec<String>, import_id: ChannelImportId },
    /// A shipment's sales channel refused its fulfilment or a step of its progress for good (an
    /// order already fulfilled there, credentials revoked): a person must look; it is not retried.
    #[serde(rename = "channel.update_failed")]
    ChannelUpdateFailed { shipment: Shipment, connection_id: ChannelConnectionId, reason: String },
    /// A SKU's stock at a location changed (by a person, or a shipment's step).
    #[serde(rename = "inventory.changed")]
    StockChanged { level: StockLevel, reason: StockReason },
    /// The order was cancelled (by the merchant, its channel or its customer). Its bookings
    /// not yet picked up are voided and its parcels on their way asked back, by a job.
    #[serde(rename = "order.cancelled")]
    OrderCancelled { order: Order, cancellation: OrderCancellation },
    /// A delivered order was closed: the work that hangs off delivery has been queued.
    #[serde(rename = "order.closed")]
    OrderClosed { order: Order },
    #[serde(rename = "carrier_account.created")]
    CarrierAccountCreated { account: CarrierAccount },
    /// The carrier confirmed the booking: tracking number, label and charge are known.
    #[serde(rename = "shipment.booked")]
    ShipmentBooked { shipment: Shipment },
    /// The carrier refused, or has no record of a booking whose answer was lost.
    #[serde(rename = "shipment.booking_failed")]
    ShipmentBookingFailed { shipment: Shipment },
    /// The carrier was asked and its answer was lost (or could not be recorded); Waybill is
    /// settling it by asking the carrier, never by booking again.
    #[serde(rename = "shipment.booking_unknown")]
    ShipmentBookingUnknown { shipment: Shipment },
    /// New scans moved the shipment's status. `scans` are the scans that were new.
    #[serde(rename = "shipment.status_changed")]
    ShipmentStatusChanged { shipment: Shipment, from: TrackingStatus, scans: Vec<TrackingEvent> },
    /// The estimated delivery date passed and the parcel is still on its way (emitted once).
    #[serde(rename = "shipment.delayed")]
    ShipmentDelayed { shipment: Shipment },
    /// New scans were recorded, whether or not they moved the status. `scans` are the new ones.
    #[serde(rename = "tracker.updated")]
    TrackerUpdated { shipment: Shipment, scans: Vec<TrackingEvent> },
    /// A label document was stored (at booking, or on its first fetch).
    #[serde(rename = "shipment.document_stored")]
    ShipmentDocumentStored { shipment_id: ShipmentId, format: String },
    #[serde(rename = "pickup.scheduled")]
    PickupScheduled { pickup: Pickup },
    #[serde(rename = "pickup.failed")]
    PickupFailed { pickup: Pickup },
    /// A scheduled pickup was called off at the carrier.
    #[serde(rename = "pickup.cancelled")]
    PickupCancelled { pickup: Pickup },
    /// The carrier's answer to a pickup request was lost: a person must check with it.
    #[serde(rename = "pickup.unknown")]
    PickupUnknown { pickup: Pickup },
    /// A booked shipment was changed: at the carrier through its update call, or voided and
    /// booked again (`change.replacement_shipment_id` is the new shipment).
    #[serde(rename = "shipment.changed")]
    ShipmentChanged { shipment: Shipment, change: ShipmentChange },
    /// An end-of-day manifest was made: its parcels are listed and its documents can be printed.
    #[serde(rename = "manifest.created")]
    ManifestCreated { manifest: Manifest },
    /// The carrier confirmed a manifest's close (or the carrier has no close call).
    #[serde(rename = "manifest.closed")]
    ManifestClosed { manifest: Manifest },
    /// The carrier refused a manifest's close, or could not be reached: it can be sent again.
    #[serde(rename = "manifest.failed")]
    ManifestFailed { manifest: Manifest },
    /// The merchant asked for a moving parcel back: through the carrier's API, or marked for a
    /// person to ask the carrier (`request.via`).
    #[serde(rename = "shipment.rto_requested")]
    RtoRequested { shipment: Shipment, request: RtoRequest },
    /// The merchant acknowledged a parcel returned to them, with the goods' condition.
    #[serde(rename = "shipment.rto_acknowledged")]
    RtoAcknowledged { shipment: Shipment, receipt: RtoReceipt },
    /// A delivery failed for the first time: an NDR case waits for an action until its deadline.
    #[serde(rename = "ndr.opened")]
    NdrOpened { ndr: NdrRecord },
    /// Another delivery attempt failed: the same case waits for an action again.
    #[serde(rename = "ndr.attempt_failed")]
    NdrAttemptFailed { ndr: NdrRecord },
    /// An action was asked for (by the customer, the merchant, or the deadline's default).
    #[serde(rename = "ndr.action_requested")]
    NdrActionRequested { ndr: NdrRecord },
    /// The carrier refused an action: a person must follow it up with the carrier.
    #[serde(rename = "ndr.instruction_refused")]
    NdrInstructionRefused { ndr: NdrRecord, reason: String },
    /// The case ended: the parcel was delivered, or goes back to the sender.
    #[serde(rename = "ndr.closed")]
    NdrClosed { ndr: NdrRecord },
    /// A carrier asked for one field of a delivery address (a refused booking, or a scan).
    #[serde(rename = "information_request.opened")]
    InformationRequested { shipment: Shipment, request: InformationRequest },
    /// The field was fixed and sent to the carrier (booked again, updated, or rebooked).
    #[serde(rename = "information_request.resolved")]
    InformationResolved { request: InformationRequest },
    /// No longer needed: the shipment ended or was booked again by other means.
    #[serde(rename = "information_request.withdrawn")]
    InformationWithdrawn { request: InformationRequest },
    /// A webhook endpoint kept failing and was disabled; its pending deliveries were dropped.
    #[serde(rename = "webhook_endpoint.disabled")]
    WebhookEndpointDisabled { endpoint_id: WebhookEndpointId, url: String, reason: String },
}

impl Event {
    /// The event's type, as in its JSON (`shipment.booked`).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::OrderCreated { .. } => "order.created",
            Event::OrderStatusChanged { .. } => "order.status_changed",
            Event::OrderClosed { .. } => "order.closed",
            Event::OrderCancelled { .. } => "order.cancelled",
            Event::OrderUpdated { .. } => "order.updated",
            Event::OrderUpdateHeld { .. } => "order.update_held",
            Event::StockChanged { .. } => "inventory.changed",
            Event::ChannelUpdateFailed { .. } => "channel.update_failed",
            Event::CarrierAccountCreated { .. } => "carrier_account.created",
            Event::ShipmentBooked { .. } => "shipment.booked",
            Event::ShipmentBookingFailed { .. } => "shipment.booking_failed",
            Event::ShipmentBookingUnknown { .. } => "shipment.booking_unknown",
            Event::ShipmentStatusChanged { .. } => "shipment.status_changed",
            Event::ShipmentDelayed { .. } => "shipment.delayed",
            Event::TrackerUpdated { .. } => "tracker.updated",
            Event::ShipmentDocumentStored { .. } => "shipment.document_stored",
            Event::PickupScheduled { .. } => "pickup.scheduled",
            Event::PickupFailed { .. } => "pickup.failed",
            Event::PickupCancelled { .. } => "pickup.cancelled",
            Event::PickupUnknown { .. } => "pickup.unknown",
            Event::WebhookEndpointDisabled { .. } => "webhook_endpoint.disabled",
            Event::RtoAcknowledged { .. } => "shipment.rto_acknowledged",
            Event::RtoRequested { .. } => "shipment.rto_requested",
            Event::ShipmentChanged { .. } => "shipment.changed",
            Event::ManifestCreated { .. } => "manifest.created",
            Event::ManifestClosed { .. } => "manifest.closed",
            Event::ManifestFailed { .. } => "manifest.failed",
            Event::NdrOpened { .. } => "ndr.opened",
            Event::NdrAttemptFailed { .. } => "ndr.attempt_failed",
            Event::NdrActionRequested { .. } => "ndr.action_requested",
            Event::NdrInstructionRefused { .. } => "ndr.instruction_refused",
            Event::NdrClosed { .. } => "ndr.closed",
            Event::InformationRequested { .. } => "information_request.opened",
            Event::InformationResolved { .. } => "information_request.resolved",
            Event::InformationWithdrawn { .. } => "information_request.withdrawn",
        }
    }

    /// The id of the object the event is about (`ord_…`, `shp_…`, `pku_…`, `car_…`).
    pub fn subject(&self) -> &str {
        match self {
            Event::OrderCreated { order }
            | Event::OrderStatusChanged { order, .. }
            | Event::OrderClosed { order }
            | Event::OrderCancelled { order, .. }
            | Event::OrderUpdated { order, .. }
            | Event::OrderUpdateHeld { order, .. } => order.id.as_str(),
            Event::CarrierAccountCreated { account } => account.id.as_str(),
            Event::ShipmentBooked { shipment }
            | Event::ShipmentBookingFailed { shipment }
            | Event::ShipmentBookingUnknown { shipment }
            | Event::ShipmentStatusChanged { shipment, .. }
            | Event::ShipmentDelayed { shipment }
            | Event::TrackerUpdated { shipment, .. }
            | Event::RtoAcknowledged { shipment, .. }
            | Event::RtoRequested { shipment, .. }
            | Event::ShipmentChanged { shipment, .. }
            | Event::ChannelUpdateFailed { shipment, .. } => shipment.id.as_str(),
            Event::ShipmentDocumentStored { shipment_id, .. } => shipment_id.as_str(),
            Event::PickupScheduled { pickup }
            | Event::PickupFailed { pickup }
            | Event::PickupUnknown { pickup }
            | Event::PickupCancelled { pickup } => pickup.id.as_str(),
            Event::ManifestCreated { manifest }
            | Event::ManifestClosed { manifest }
            | Event::ManifestFailed { manifest } => manifest.id.as_str(),
            Event::WebhookEndpointDisabled { endpoint_id, .. } => endpoint_id.as_str(),
            Event::StockChanged { level, .. } => level.location_id.as_str(),
            Event::NdrOpened { ndr }
            | Event::NdrAttemptFailed { ndr }
            | Event::NdrActionRequested { ndr }
            | Event::NdrInstructionRefused { ndr, .. }
            | Event::NdrClosed { ndr } => ndr.id.as_str(),
            Event::InformationRequested { request, .. }
            | Event::InformationResolved { request }
            | Event::InformationWithdrawn { request } => request.id.as_str(),
        }
    }

    /// Whether merchants may subscribe webhooks to events of type `kind`: every event but the
    /// ones only Waybill's own workflows need.
    pub fn is_public(kind: &str) -> bool {
        PUBLIC_EVENT_TYPES.contains(&kind)
    }
}

/// The event types merchant webhooks may subscribe to, in the order the API lists them.
pub const PUBLIC_EVENT_TYPES: &[&str] = &[
    "order.created",
    "order.status_changed",
    "order.closed",
    "order.cancelled",
    "order.updated",
    "order.update_held",
    "shipment.booked",
    "shipment.booking_failed",
    "shipment.booking_unknown",
    "shipment.status_changed",
    "shipment.delayed",
    "shipment.rto_requested",
    "shipment.rto_acknowledged",
    "shipment.changed",
    "tracker.updated",
    "pickup.scheduled",
    "pickup.failed",
    "pickup.unknown",
    "pickup.cancelled",
    "manifest.created",
    "manifest.closed",
    "manifest.failed",
    "webhook_endpoint.disabled",
    "inventory.changed",
    "channel.update_failed",
    "ndr.opened",
    "ndr.attempt_failed",
    "ndr.action_requested",
    "ndr.instruction_refused",
    "ndr.closed",
    "information_request.opened",
    "information_request.resolved",
    "information_request.withdrawn",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ShipmentId;

    #[test]
    fn events_are_tagged_by_type_and_read_back() {
        let id = ShipmentId::generate();
        let e = Event::ShipmentDocumentStored { shipment_id: id.clone(), format: "pdf".into() };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "shipment.document_stored");
        assert_eq!(json["type"], e.kind());
        assert_eq!(json["data"]["shipment_id"], id.as_str());
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), e);
        assert_eq!(e.subject(), id.as_str());
    }

    #[test]
    fn an_event_stored_by_an_older_version_still_reads_when_fields_are_added_later() {
        // Payloads only gain optional fields, so a stored event with fewer fields must read.
        let id = ShipmentId::generate();
        let stored =
            serde_json::json!({"type": "shipment.document_stored", "data": {"shipment_id": id, "format": "zpl"}});
        assert!(serde_json::from_value::<Event>(stored).is_ok());
    }
}
