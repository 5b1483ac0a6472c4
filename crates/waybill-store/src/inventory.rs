//! Stock per SKU and location, and its ledger: every change is a movement row written with it,
//! and a shipment's step is written once (its movement's key), so a repeat moves nothing.

use waybill_core::ids::{LocationId, StockMovementId};
use waybill_core::inventory::{StockLevel, StockReason};
use waybill_core::{Page, Scope};

use crate::db::{Backend, Tx};
use crate::{Result, Store, StoreError, args, now_ms};

#[derive(sqlx::FromRow)]
struct LevelRow {
    location_id: String,
    sku: String,
    on_hand: i64,
    reserved: i64,
    updated_at: i64,
}
crate::sqlite_row!(LevelRow { location_id, sku, on_hand, reserved, updated_at });

impl LevelRow {
    fn into_record(self) -> Result<StockLevel> {
        Ok(StockLevel {
            location_id: LocationId::parse(&self.location_id)
                .ok_or_else(|| StoreError::Corrupt(format!("stock of {}: location", self.sku)))?,
            sku: self.sku,
            on_hand: self.on_hand,
            reserved: self.reserved,
            updated_at: self.updated_at,
        })
    }
}

impl Store {
    pub async fn stock_level(&self, scope: &Scope, location: &LocationId, sku: &str) -> Result<Option<StockLevel>> {
        let row: Option<LevelRow> = self
            .pool
            .fetch_optional(
                "SELECT location_id, sku, on_hand, reserved, updated_at FROM inventory_levels \
                 WHERE tenant_id = $1 AND mode = $2 AND location_id = $3 AND sku = $4",
                args![scope.tenant.as_str(), scope.mode.as_str(), location.as_str(), sku],
            )
            .await?;
        row.map(LevelRow::into_record).transpose()
    }

    /// A location's stock, by SKU.
    pub async fn list_stock(
        &self,
        scope: &Scope,
        location: &LocationId,
        after_sku: Option<&str>,
        limit: u32,
    ) -> Result<Page<StockLevel>> {
        let rows: Vec<LevelRow> = self
            .pool
            .fetch_all(
                "SELECT location_id, sku, on_hand, reserved, updated_at FROM inventory_levels \
                 WHERE tenant_id = $1 AND mode = $2 AND location_id = $3 AND sku > $4 ORDER BY sku LIMIT $5",
                args![
                    scope.tenant.as_str(),
                    scope.mode.as_str(),
                    location.as_str(),
                    after_sku.unwrap_or(""),
                    i64::from(limit) + 1
                ],
            )
            .await?;
        let items = rows.into_iter().map(LevelRow::into_record).collect::<Result<_>>()?;
        Ok(crate::page(items, limit, |l: &StockLevel| l.sku.clone()))
    }
}

/// One movement of stock.
#[derive(Debug, Clone, Copy)]
pub struct StockMove<'a> {
    pub location: &'a LocationId,
    pub sku: &'a str,
    /// The change to (on hand, reserved).
    pub deltas: (i64, i64),
    pub reason: StockReason,
    /// The shipment a step belongs to: a step is written once per shipment.
    pub reference: Option<&'a str>,
    /// What a person said about an adjustment.
    pub note: Option<&'a str>,
}

impl Tx {
    /// Moves stock and writes the movement. A step of a shipment (`reference`) is written once:
    /// `None` when this step was taken before (nothing moves). Returns the new level.
    pub async fn move_stock(&mut self, scope: &Scope, m: StockMove<'_>) -> Result<Option<StockLevel>> {
        let StockMove { location, sku, deltas, reason, reference, note } = m;
        let now = now_ms();
        let written = self
            .execute(
                "INSERT INTO inventory_movements (id, tenant_id, mode, location_id, sku, on_hand_delta, reserved_delta, \
                 reason, reference, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (tenant_id, mode, reference, reason, location_id, sku) DO NOTHING",
                args![
                    StockMovementId::generate().as_str(),
                    scope.tenant.as_str(),
                    scope.mode.as_str(),
                    location.as_str(),
                    sku,
                    deltas.0,
                    deltas.1,
                    reason.as_str(),
                    reference,
                    note,
                    now
                ],
            )
            .await?;
        if written == 0 {
            return Ok(None);
        }
        let row: Option<LevelRow> = self
            .fetch_optional(
                "INSERT INTO inventory_levels (tenant_id, mode, location_id, sku, on_hand, reserved, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, mode, location_id, sku) DO UPDATE SET \
                 on_hand = inventory_levels.on_hand + excluded.on_hand, \
                 reserved = inventory_levels.reserved + excluded.reserved, updated_at = excluded.updated_at \
                 RETURNING location_id, sku, on_hand, reserved, updated_at",
                args![scope.tenant.as_str(), scope.mode.as_str(), location.as_str(), sku, deltas.0, deltas.1, now],
            )
            .await?;
        row.map(LevelRow::into_record).transpose()
    }

    /// Sets what is on hand (a count), as a movement of the difference. Locked on PostgreSQL,
    /// so two counts at once cannot both read the old number.
    pub async fn set_stock(
        &mut self,
        scope: &Scope,
        location: &LocationId,
        sku: &str,
        on_hand: i64,
    ) -> Result<StockLevel> {
        let a = || args![scope.tenant.as_str(), scope.mode.as_str(), location.as_str(), sku];
        self.execute(
            "INSERT INTO inventory_levels (tenant_id, mode, location_id, sku, on_hand, reserved, updated_at) \
             VALUES ($1, $2, $3, $4, 0, 0, 0) ON CONFLICT (tenant_id, mode, location_id, sku) DO NOTHING",
            a(),
        )
        .await?;
        let current: Option<LevelRow> = match self.backend() {
            Backend::Sqlite => {
                self.fetch_optional(
                    "SELECT location_id, sku, on_hand, reserved, updated_at FROM inventory_levels \
                     WHERE tenant_id = $1 AND mode = $2 AND location_id = $3 AND sku = $4",
                    a(),
                )
                .await?
            }
            Backend::Postgres => {
                self.fetch_optional(
                    "SELECT location_id, sku, on_hand, reserved, updated_at FROM inventory_levels \
                     WHERE tenant_id = $1 AND mode = $2 AND location_id = $3 AND sku = $4 FOR UPDATE",
                    a(),
                )
                .await?
            }
        };
        let before = current.map_or(0, |r| r.on_hand);
        let change = StockMove {
            location,
            sku,
            deltas: (on_hand - before, 0),
            reason: StockReason::Set,
            reference: None,
            note: None,
        };
        let level = self.move_stock(scope, change).await?;
        level.ok_or_else(|| StoreError::Corrupt(format!("a count of {sku} was not written")))
    }
}
