//! Courier pickups. A pickup is written as `requested` before the carrier is asked, then moved
//! once to what the carrier answered: `scheduled`, `failed`, or `unknown` when the answer was
//! lost (the carrier may have sent a courier; nothing asks it again).

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::ids::{CarrierAccountId, PickupId, ShipmentId, TenantId};
use crate::money::Money;
use crate::parcel::Parcel;
use crate::scope::{Mode, Scope};

crate::named_enum! {
    /// Where a pickup stands with the carrier.
    pub enum PickupStatus as "snake_case" {
        /// Recorded; the carrier's answer is not recorded yet.
        Requested,
        Scheduled,
        /// The carrier refused, or could not be reached before acting.
        Failed,
        /// The carrier was asked and its answer was lost: a person must check with the carrier.
        Unknown,
        /// Called off at the carrier after it was scheduled.
        Cancelled,
    }
}

/// Why a pickup is `failed` or `unknown`, for the merchant to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickupError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pickup {
    pub id: PickupId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    pub carrier_account_id: CarrierAccountId,
    pub carrier: String,
    pub status: PickupStatus,
    pub confirmation_number: Option<String>,
    /// The day asked for, or the day the carrier confirmed.
    pub date: NaiveDate,
    pub ready_time: NaiveTime,
    pub close_time: NaiveTime,
    pub address: Address,
    pub parcels: Vec<Parcel>,
    pub shipment_ids: Vec<ShipmentId>,
    /// The carrier service the parcels travel with, when one was given.
    pub service: Option<String>,
    pub instructions: Option<String>,
    pub charge: Option<Money>,
    pub note: Option<String>,
    pub error: Option<PickupError>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Pickup {
    pub fn scope(&self) -> Scope {
        Scope::new(self.tenant_id.clone(), self.mode)
    }
}

/// What became of a `requested` pickup.
#[derive(Debug, Clone)]
pub enum PickupOutcome {
    Scheduled { confirmation_number: String, date: Option<NaiveDate>, charge: Option<Money>, note: Option<String> },
    Failed(PickupError),
    Unknown(PickupError),
}
