//! Acknowledgements of parcels returned to the sender (RTO).

use waybill_core::ids::{ShipmentId, TenantId};
use waybill_core::rto::{GoodsCondition, RtoReceipt};
use waybill_core::{Mode, Scope};

use crate::db::Tx;
use crate::{Result, Store, StoreError, args, named};

#[derive(sqlx::FromRow)]
struct ReceiptRow {
    shipment_id: String,
    tenant_id: String,
    mode: String,
    condition: String,
    note: Option<String>,
    acknowledged_at: i64,
}
crate::sqlite_row!(ReceiptRow { shipment_id, tenant_id, mode, condition, note, acknowledged_at });

const SELECT: &str = "SELECT shipment_id, tenant_id, mode, condition, note, acknowledged_at FROM rto_receipts \
                      WHERE shipment_id = $1 AND tenant_id = $2 AND mode = $3";

impl ReceiptRow {
    fn into_record(self) -> Result<RtoReceipt> {
        let corrupt = || StoreError::Corrupt(format!("RTO receipt of {}", self.shipment_id));
        Ok(RtoReceipt {
            shipment_id: ShipmentId::parse(&self.shipment_id).ok_or_else(corrupt)?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(corrupt)?,
            mode: named(&self.mode, Mode::parse, "RTO receipt mode")?,
            condition: named(&self.condition, GoodsCondition::parse, "goods condition")?,
            note: self.note,
            acknowledged_at: self.acknowledged_at,
        })
    }
}

impl Store {
    /// The merchant's acknowledgement of a shipment returned to them, if they gave one.
    pub async fn rto_receipt(&self, scope: &Scope, shipment: &ShipmentId) -> Result<Option<RtoReceipt>> {
        let row: Option<ReceiptRow> = self
            .pool
            .fetch_optional(SELECT, args![shipment.as_str(), scope.tenant.as_str(), scope.mode.as_str()])
            .await?;
        row.map(ReceiptRow::into_record).transpose()
    }
}

impl Tx {
    pub async fn rto_receipt(&mut self, scope: &Scope, shipment: &ShipmentId) -> Result<Option<RtoReceipt>> {
        let row: Option<ReceiptRow> =
            self.fetch_optional(SELECT, args![shipment.as_str(), scope.tenant.as_str(), scope.mode.as_str()]).await?;
        row.map(ReceiptRow::into_record).transpose()
    }

    pub async fn insert_rto_receipt(&mut self, r: &RtoReceipt) -> Result<()> {
        self.execute(
            "INSERT INTO rto_receipts (shipment_id, tenant_id, mode, condition, note, acknowledged_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                r.shipment_id.as_str(),
                r.tenant_id.as_str(),
                r.mode.as_str(),
                r.condition.as_str(),
                r.note.as_deref(),
                r.acknowledged_at
            ],
        )
        .await?;
        Ok(())
    }
}
