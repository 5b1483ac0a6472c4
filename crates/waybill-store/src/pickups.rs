//! Courier pickups. A pickup is written as `requested` before the carrier is asked, then moved
//! once to what the carrier answered: `scheduled`, `failed`, or `unknown` when the answer was
//! lost (the carrier may have sent a courier; nothing here asks it again).

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use waybill_core::ids::{CarrierAccountId, PickupId, ShipmentId, TenantId};
use waybill_core::{Address, Money, Parcel};

use crate::{Page, Result, Store, StoreError, args, json, now_ms, parse};

const DATE: &str = "%Y-%m-%d";
const CLOCK: &str = "%H:%M";

/// Where a pickup stands with the carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PickupStatus {
    /// Recorded; the carrier's answer is not recorded yet.
    Requested,
    Scheduled,
    /// The carrier refused, or could not be reached before acting.
    Failed,
    /// The carrier was asked and its answer was lost: a person must check with the carrier.
    Unknown,
}

impl PickupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Scheduled => "scheduled",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Requested, Self::Scheduled, Self::Failed, Self::Unknown].into_iter().find(|x| x.as_str() == s)
    }
}

/// Why a pickup is `failed` or `unknown`, for the merchant to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickupError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pickup {
    pub id: PickupId,
    pub tenant_id: TenantId,
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

#[derive(Debug, Clone)]
pub struct NewPickup {
    pub id: PickupId,
    pub carrier_account_id: CarrierAccountId,
    pub carrier: String,
    pub date: NaiveDate,
    pub ready_time: NaiveTime,
    pub close_time: NaiveTime,
    pub address: Address,
    pub parcels: Vec<Parcel>,
    pub shipment_ids: Vec<ShipmentId>,
    pub service: Option<String>,
    pub instructions: Option<String>,
}

/// What became of a `requested` pickup.
#[derive(Debug, Clone)]
pub enum PickupOutcome {
    Scheduled { confirmation_number: String, date: Option<NaiveDate>, charge: Option<Money>, note: Option<String> },
    Failed(PickupError),
    Unknown(PickupError),
}

#[derive(sqlx::FromRow)]
struct PickupRow {
    id: String,
    tenant_id: String,
    carrier_account_id: String,
    carrier: String,
    status: String,
    confirmation_number: Option<String>,
    pickup_date: String,
    ready_time: String,
    close_time: String,
    address: String,
    parcels: String,
    shipment_ids: String,
    service: Option<String>,
    instructions: Option<String>,
    charge: Option<String>,
    note: Option<String>,
    error: Option<String>,
    created_at: i64,
    updated_at: i64,
}
crate::sqlite_row!(PickupRow {
    id,
    tenant_id,
    carrier_account_id,
    carrier,
    status,
    confirmation_number,
    pickup_date,
    ready_time,
    close_time,
    address,
    parcels,
    shipment_ids,
    service,
    instructions,
    charge,
    note,
    error,
    created_at,
    updated_at
});

/// `SELECT <every pickup column> FROM pickups <rest>`, as one static string.
macro_rules! pickup_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, tenant_id, carrier_account_id, carrier, status, confirmation_number, pickup_date, ready_time, ",
            "close_time, address, parcels, shipment_ids, service, instructions, charge, note, error, created_at, updated_at ",
            "FROM pickups ",
            $rest
        )
    };
}

impl PickupRow {
    fn into_record(self) -> Result<Pickup> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("pickup {}: {what}", self.id));
        let ids: Vec<String> = parse(&self.shipment_ids, "pickup shipment ids")?;
        Ok(Pickup {
            id: PickupId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(|| corrupt("tenant"))?,
            carrier_account_id: CarrierAccountId::parse(&self.carrier_account_id)
                .ok_or_else(|| corrupt("carrier account"))?,
            status: PickupStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            date: NaiveDate::parse_from_str(&self.pickup_date, DATE).map_err(|_| corrupt("date"))?,
            ready_time: NaiveTime::parse_from_str(&self.ready_time, CLOCK).map_err(|_| corrupt("ready time"))?,
            close_time: NaiveTime::parse_from_str(&self.close_time, CLOCK).map_err(|_| corrupt("close time"))?,
            address: parse(&self.address, "pickup address")?,
            parcels: parse(&self.parcels, "pickup parcels")?,
            shipment_ids: ids
                .iter()
                .map(|id| ShipmentId::parse(id).ok_or_else(|| corrupt("shipment id")))
                .collect::<Result<_>>()?,
            charge: self.charge.as_deref().map(|c| parse(c, "pickup charge")).transpose()?,
            error: self.error.as_deref().map(|e| parse(e, "pickup error")).transpose()?,
            carrier: self.carrier,
            confirmation_number: self.confirmation_number,
            service: self.service,
            instructions: self.instructions,
            note: self.note,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl Store {
    /// Records a pickup as `requested`, before the carrier is asked.
    pub async fn create_pickup(&self, tenant: &TenantId, new: NewPickup) -> Result<Pickup> {
        let now = now_ms();
        let shipment_ids: Vec<&str> = new.shipment_ids.iter().map(ShipmentId::as_str).collect();
        self.pool
            .execute(
                "INSERT INTO pickups (id, tenant_id, carrier_account_id, carrier, status, pickup_date, ready_time, \
                 close_time, address, parcels, shipment_ids, service, instructions, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                args![
                    new.id.as_str(),
                    tenant.as_str(),
                    new.carrier_account_id.as_str(),
                    &new.carrier,
                    PickupStatus::Requested.as_str(),
                    new.date.format(DATE).to_string(),
                    new.ready_time.format(CLOCK).to_string(),
                    new.close_time.format(CLOCK).to_string(),
                    json(&new.address),
                    json(&new.parcels),
                    json(&shipment_ids),
                    new.service.clone(),
                    new.instructions.clone(),
                    now,
                    now
                ],
            )
            .await?;
        Ok(Pickup {
            id: new.id,
            tenant_id: tenant.clone(),
            carrier_account_id: new.carrier_account_id,
            carrier: new.carrier,
            status: PickupStatus::Requested,
            confirmation_number: None,
            date: new.date,
            ready_time: new.ready_time,
            close_time: new.close_time,
            address: new.address,
            parcels: new.parcels,
            shipment_ids: new.shipment_ids,
            service: new.service,
            instructions: new.instructions,
            charge: None,
            note: None,
            error: None,
            created_at: now,
            updated_at: now,
        })
    }

    /// Moves a `requested` pickup to its outcome. A pickup already settled keeps its outcome.
    pub async fn record_pickup_outcome(
        &self,
        tenant: &TenantId,
        id: &PickupId,
        outcome: PickupOutcome,
    ) -> Result<Pickup> {
        let now = now_ms();
        let (status, confirmation, date, charge, note, error) = match outcome {
            PickupOutcome::Scheduled { confirmation_number, date, charge, note } => (
                PickupStatus::Scheduled,
                Some(confirmation_number),
                date.map(|d| d.format(DATE).to_string()),
                charge.map(|c| json(&c)),
                note,
                None,
            ),
            PickupOutcome::Failed(e) => (PickupStatus::Failed, None, None, None, None, Some(json(&e))),
            PickupOutcome::Unknown(e) => (PickupStatus::Unknown, None, None, None, None, Some(json(&e))),
        };
        self.pool
            .execute(
                "UPDATE pickups SET status = $1, confirmation_number = $2, pickup_date = COALESCE($3, pickup_date), \
                 charge = $4, note = $5, error = $6, updated_at = $7 \
                 WHERE id = $8 AND tenant_id = $9 AND status = $10",
                args![
                    status.as_str(),
                    confirmation,
                    date,
                    charge,
                    note,
                    error,
                    now,
                    id.as_str(),
                    tenant.as_str(),
                    PickupStatus::Requested.as_str()
                ],
            )
            .await?;
        self.pickup(tenant, id).await
    }

    pub async fn pickup(&self, tenant: &TenantId, id: &PickupId) -> Result<Pickup> {
        let row: PickupRow = self
            .pool
            .fetch_optional(pickup_select!("WHERE id = $1 AND tenant_id = $2"), args![id.as_str(), tenant.as_str()])
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// The tenant's pickups, oldest first.
    pub async fn list_pickups(&self, tenant: &TenantId, after: Option<&str>, limit: u32) -> Result<Page<Pickup>> {
        let rows: Vec<PickupRow> = self
            .pool
            .fetch_all(
                pickup_select!("WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"),
                args![tenant.as_str(), after.unwrap_or(""), i64::from(limit) + 1],
            )
            .await?;
        crate::page(rows.into_iter().map(PickupRow::into_record).collect::<Result<_>>()?, limit, |p: &Pickup| {
            p.id.to_string()
        })
    }
}
