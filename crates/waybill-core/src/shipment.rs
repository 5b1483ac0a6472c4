//! Shipments (one booking with one carrier) and the scans recorded on them.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::ids::{CarrierAccountId, ChannelConnectionId, LocationId, OrderId, ShipmentId, TenantId, TrackingEventId};
use crate::money::Money;
use crate::order::ShipmentLine;
use crate::parcel::{Parcel, Routing};
use crate::scope::{Mode, Scope};
use crate::tracking::{NdrReason, PlacedScan, TrackingState, TrackingStatus};

crate::named_enum! {
    /// Where a booking stands with the carrier.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum BookingState as "snake_case" {
        /// Recorded, the carrier not yet asked (or the answer not yet recorded).
        Pending,
        Booked,
        /// The carrier refused or could not be reached before acting.
        Failed,
        /// The carrier was asked and no answer came (or it could not be recorded): being reconciled.
        Unknown,
    }
}

crate::named_enum! {
    /// How a scan reached Waybill.
    pub enum ScanSource as "snake_case" {
        Push,
        Pull,
        /// Recorded by Waybill itself, e.g. a cancellation confirmed by the carrier's API.
        Api,
        /// Reported by the merchant for a carrier without an API (CSV upload or the events API).
        Merchant,
        /// Reported by the sales channel whose own carrier contract carries the parcel (Trendyol).
        Channel,
    }
}

/// The carrier's refusal, kept on a failed booking for the merchant to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    pub id: ShipmentId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    pub order_id: Option<OrderId>,
    /// The channel connection of its order, so channel updates know the shipment is theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_connection_id: Option<ChannelConnectionId>,
    /// The location it ships from, when the booking named one (or took the default): its
    /// order's lines are reserved and shipped there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<LocationId>,
    pub carrier_account_id: CarrierAccountId,
    pub carrier: String,
    pub service: String,
    /// The order's SKUs and quantities in this shipment; empty for a shipment without an order
    /// (or one booked before partial shipments, which holds its whole order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<ShipmentLine>,
    pub booking_state: BookingState,
    pub status: TrackingStatus,
    pub progress: u8,
    /// Placed time (epoch ms) of the newest scan applied.
    pub last_scan_at: Option<i64>,
    pub ndr_reason: Option<NdrReason>,
    pub tracking_number: Option<String>,
    pub carrier_shipment_id: Option<String>,
    pub ship_from: Address,
    pub ship_to: Address,
    pub parcels: Vec<Parcel>,
    pub cod: Option<Money>,
    pub charge: Option<Money>,
    pub edd: Option<NaiveDate>,
    pub routing: Option<Routing>,
    pub simulate: Option<String>,
    /// A return from the customer to the merchant.
    pub is_return: bool,
    /// The merchant's reference printed on the label (the order's external id by default).
    pub reference: Option<String>,
    pub error: Option<BookingError>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Shipment {
    pub fn scope(&self) -> Scope {
        Scope::new(self.tenant_id.clone(), self.mode)
    }

    /// Its estimated delivery date has passed (`today` is later) and it is still on its way
    /// to the customer: not delivered, returned, cancelled or going back to the sender.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.edd.is_some_and(|edd| edd < today)
            && !self.status.is_final()
            && self.status != TrackingStatus::ReturnToOrigin
    }

    /// The shipment's tracking position, as the status machine sees it.
    pub fn tracking_state(&self) -> TrackingState {
        TrackingState {
            status: self.status,
            progress: self.progress,
            last_scan_at: self.last_scan_at.and_then(DateTime::from_timestamp_millis),
        }
    }

    /// Takes on a new tracking position.
    pub fn set_tracking_state(&mut self, state: TrackingState) {
        self.status = state.status;
        self.progress = state.progress;
        self.last_scan_at = state.last_scan_at.map(|t| t.timestamp_millis());
    }
}

/// One scan recorded on a shipment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackingEvent {
    pub id: TrackingEventId,
    pub code: String,
    pub status: TrackingStatus,
    pub reason_code: Option<String>,
    pub ndr_reason: Option<NdrReason>,
    pub description: String,
    pub location: Option<String>,
    /// The carrier's own time, with its offset, as the carrier sent it.
    pub occurred_at: DateTime<FixedOffset>,
    /// Where the scan sits in the shipment's history: the carrier's time, or the time Waybill
    /// received the scan when the carrier's clock was ahead of it.
    pub placed_at: DateTime<Utc>,
    pub source: ScanSource,
    pub received_at: i64,
}

impl TrackingEvent {
    pub fn placed(&self) -> PlacedScan {
        PlacedScan { status: self.status, at: self.placed_at, stamped: self.occurred_at.to_utc() }
    }
}

/// A booked shipment waiting for its pickup, for the rules' tests to shape.
#[cfg(test)]
pub(crate) fn sample() -> Shipment {
    serde_json::from_value(serde_json::json!({
        "id": ShipmentId::generate(), "tenant_id": TenantId::generate(), "mode": "test", "order_id": null,
        "carrier_account_id": "car_01jd3xk8w3v6a8g0n6r1c5e2qz", "carrier": "sandbox", "service": "express",
        "booking_state": "booked", "status": "info_received", "progress": 0, "last_scan_at": null,
        "ndr_reason": null, "tracking_number": "SIM1", "carrier_shipment_id": null,
        "ship_from": {"name": "A", "street1": "S", "city": "C", "postal_code": "34000", "country": "TR"},
        "ship_to": {"name": "Ayşe", "street1": "S", "city": "Ankara", "postal_code": "06000", "country": "TR"},
        "parcels": [], "cod": null, "charge": null, "edd": null, "routing": null, "simulate": null,
        "is_return": false, "reference": "#1", "error": null, "created_at": 0, "updated_at": 0
    }))
    .expect("the sample shipment reads")
}
