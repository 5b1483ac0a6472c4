//! What the store hands back: tenants, keys, carrier accounts, orders, shipments, scans.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use waybill_core::ids::{CarrierAccountId, OrderId, ShipmentId, TenantId, TrackingEventId};
use waybill_core::{
    Address, Currency, LineItem, Mode, Money, NdrReason, OrderStatus, Parcel, Payment, Routing, TrackingStatus,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub created_at: i64,
}

/// The tenant and mode an API key acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: TenantId,
    pub mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierAccount {
    pub id: CarrierAccountId,
    pub tenant_id: TenantId,
    pub carrier: String,
    pub mode: Mode,
    pub description: Option<String>,
    pub base_url: Option<String>,
    /// What the tenant told us about a carrier without an API (`generic`); `None` for others.
    pub settings: Option<serde_json::Value>,
    pub created_at: i64,
}

/// The sealed part of a carrier account: never shown by the API, never stored in the clear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSecrets {
    pub credentials: serde_json::Value,
    /// The secret the carrier signs its pushes to us with.
    pub push_secret: String,
}

#[derive(Debug, Clone)]
pub struct NewCarrierAccount {
    pub carrier: String,
    pub mode: Mode,
    pub description: Option<String>,
    pub base_url: Option<String>,
    pub secrets: AccountSecrets,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: OrderId,
    pub tenant_id: TenantId,
    pub channel: String,
    pub external_id: String,
    pub status: OrderStatus,
    pub currency: Currency,
    pub payment: Payment,
    pub ship_to: Address,
    pub line_items: Vec<LineItem>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    pub channel: String,
    pub external_id: String,
    pub currency: Currency,
    pub payment: Payment,
    pub ship_to: Address,
    pub line_items: Vec<LineItem>,
}

/// Where a booking stands with the carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingState {
    /// Recorded, the carrier not yet asked (or the answer not yet recorded).
    Pending,
    Booked,
    /// The carrier refused or could not be reached before acting.
    Failed,
    /// The carrier was asked and no answer came: being reconciled.
    Unknown,
}

impl BookingState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Booked => "booked",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Booked, Self::Failed, Self::Unknown].into_iter().find(|x| x.as_str() == s)
    }
}

/// The carrier's refusal, kept on a failed booking for the merchant to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Shipment {
    pub id: ShipmentId,
    pub tenant_id: TenantId,
    pub order_id: Option<OrderId>,
    pub carrier_account_id: CarrierAccountId,
    pub carrier: String,
    pub service: String,
    pub booking_state: BookingState,
    pub status: TrackingStatus,
    pub progress: u8,
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

#[derive(Debug, Clone)]
pub struct NewShipment {
    pub id: ShipmentId,
    pub order_id: Option<OrderId>,
    pub carrier_account_id: CarrierAccountId,
    pub carrier: String,
    pub service: String,
    pub ship_from: Address,
    pub ship_to: Address,
    pub parcels: Vec<Parcel>,
    pub cod: Option<Money>,
    pub simulate: Option<String>,
    pub is_return: bool,
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanSource {
    Push,
    Pull,
    /// Recorded by Waybill itself, e.g. a cancellation confirmed by the carrier's API.
    Api,
    /// Reported by the merchant for a carrier without an API (CSV upload or the events API).
    Merchant,
}

impl ScanSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Pull => "pull",
            Self::Api => "api",
            Self::Merchant => "merchant",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Push, Self::Pull, Self::Api, Self::Merchant].into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrackingEvent {
    pub id: TrackingEventId,
    pub code: String,
    pub status: TrackingStatus,
    pub reason_code: Option<String>,
    pub ndr_reason: Option<NdrReason>,
    pub description: String,
    pub location: Option<String>,
    pub occurred_at: DateTime<FixedOffset>,
    pub source: ScanSource,
    pub received_at: i64,
}

/// One page of a list, and the cursor for the next page when there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<String>,
}
