//! Courier pickups. A pickup is written as `requested` before the carrier is asked, then moved
//! once to what the carrier answered: `scheduled`, `failed`, or `unknown` when the answer was
//! lost (the carrier may have sent a courier; nothing here asks it again).

use chrono::{NaiveDate, NaiveTime};
use waybill_core::ids::{CarrierAccountId, PickupId, ShipmentId, TenantId};
use waybill_core::pickup::{Pickup, PickupOutcome, PickupStatus};
use waybill_core::{Mode, Page, Scope};

use crate::db::Tx;
use crate::{Result, Store, StoreError, args, json, named, now_ms, parse};

const DATE: &str = "%Y-%m-%d";
const CLOCK: &str = "%H:%M";

#[derive(sqlx::FromRow)]
struct PickupRow {
    id: String,
    tenant_id: String,
    mode: String,
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
    mode,
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
/// The columns a pickup row reads, for `SELECT` and `RETURNING` alike.
macro_rules! pickup_columns {
    () => {
        "id, tenant_id, mode, carrier_account_id, carrier, status, confirmation_number, pickup_date, ready_time, \
         close_time, address, parcels, shipment_ids, service, instructions, charge, note, error, created_at, updated_at"
    };
}

macro_rules! pickup_select {
    ($rest:literal) => {
        concat!("SELECT ", pickup_columns!(), " FROM pickups ", $rest)
    };
}

impl PickupRow {
    fn into_record(self) -> Result<Pickup> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("pickup {}: {what}", self.id));
        let ids: Vec<String> = parse(&self.shipment_ids, "pickup shipment ids")?;
        Ok(Pickup {
            id: PickupId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(|| corrupt("tenant"))?,
            mode: named(&self.mode, Mode::parse, "pickup mode")?,
            carrier_account_id: CarrierAccountId::parse(&self.carrier_account_id)
                .ok_or_else(|| corrupt("carrier account"))?,
            status: named(&self.status, PickupStatus::parse, "pickup status")?,
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
    pub async fn pickup(&self, scope: &Scope, id: &PickupId) -> Result<Pickup> {
        let row: PickupRow = self
            .pool
            .fetch_optional(
                pickup_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3"),
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// The scope's pickups, oldest first.
    pub async fn list_pickups(&self, scope: &Scope, after: Option<&PickupId>, limit: u32) -> Result<Page<Pickup>> {
        let rows: Vec<PickupRow> = self
            .pool
            .fetch_all(
                pickup_select!("WHERE tenant_id = $1 AND mode = $2 AND id > $3 ORDER BY id LIMIT $4"),
                crate::page_args(scope, after.map(|a| a.as_str()), limit),
            )
            .await?;
        let items = rows.into_iter().map(PickupRow::into_record).collect::<Result<_>>()?;
        Ok(crate::page(items, limit, |p: &Pickup| p.id.to_string()))
    }
}

impl Tx {
    /// Records a pickup as `requested`, before the carrier is asked.
    pub async fn insert_pickup(&mut self, p: &Pickup) -> Result<()> {
        let shipment_ids: Vec<&str> = p.shipment_ids.iter().map(ShipmentId::as_str).collect();
        self.execute(
            "INSERT INTO pickups (id, tenant_id, mode, carrier_account_id, carrier, status, pickup_date, ready_time, \
             close_time, address, parcels, shipment_ids, service, instructions, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            args![
                p.id.as_str(),
                p.tenant_id.as_str(),
                p.mode.as_str(),
                p.carrier_account_id.as_str(),
                &p.carrier,
                p.status.as_str(),
                p.date.format(DATE).to_string(),
                p.ready_time.format(CLOCK).to_string(),
                p.close_time.format(CLOCK).to_string(),
                json(&p.address),
                json(&p.parcels),
                json(&shipment_ids),
                p.service.clone(),
                p.instructions.clone(),
                p.created_at,
                p.updated_at
            ],
        )
        .await?;
        Ok(())
    }

    /// Moves a `requested` pickup to its outcome; `None` when it was settled already (it
    /// keeps its first outcome).
    /// Marks a scheduled pickup cancelled; `None` when it was not `scheduled` (cancelled
    /// already, or never scheduled).
    pub async fn cancel_pickup(&mut self, scope: &Scope, id: &PickupId) -> Result<Option<Pickup>> {
        let rows: Vec<PickupRow> = self
            .fetch_all(
                concat!(
                    "UPDATE pickups SET status = $1, updated_at = $2 \
                     WHERE id = $3 AND tenant_id = $4 AND mode = $5 AND status = $6 RETURNING ",
                    pickup_columns!()
                ),
                args![
                    PickupStatus::Cancelled.as_str(),
                    now_ms(),
                    id.as_str(),
                    scope.tenant.as_str(),
                    scope.mode.as_str(),
                    PickupStatus::Scheduled.as_str()
                ],
            )
            .await?;
        rows.into_iter().next().map(PickupRow::into_record).transpose()
    }

    pub async fn settle_pickup(
        &mut self,
        scope: &Scope,
        id: &PickupId,
        outcome: PickupOutcome,
    ) -> Result<Option<Pickup>> {
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
        let rows: Vec<PickupRow> = self
            .fetch_all(
                concat!(
                    "UPDATE pickups SET status = $1, confirmation_number = $2, pickup_date = COALESCE($3, pickup_date), \
                     charge = $4, note = $5, error = $6, updated_at = $7 \
                     WHERE id = $8 AND tenant_id = $9 AND mode = $10 AND status = $11 RETURNING ",
                    pickup_columns!()
                ),
                args![
                    status.as_str(),
                    confirmation,
                    date,
                    charge,
                    note,
                    error,
                    now_ms(),
                    id.as_str(),
                    scope.tenant.as_str(),
                    scope.mode.as_str(),
                    PickupStatus::Requested.as_str()
                ],
            )
            .await?;
        rows.into_iter().next().map(PickupRow::into_record).transpose()
    }
}
