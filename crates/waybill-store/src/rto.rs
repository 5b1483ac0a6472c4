//! Acknowledgements of parcels returned to the sender (RTO).

use waybill_core::ids::{ShipmentId, TenantId};
use waybill_core::rto::{GoodsCondition, RtoReceipt, RtoRequest, RtoVia};
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

#[derive(sqlx::FromRow)]
struct RequestRow {
    shipment_id: String,
    tenant_id: String,
    mode: String,
    via: String,
    reason: Option<String>,
    requested_at: i64,
}
crate::sqlite_row!(RequestRow { shipment_id, tenant_id, mode, via, reason, requested_at });

const SELECT_REQUEST: &str = "SELECT shipment_id, tenant_id, mode, via, reason, requested_at FROM rto_requests \
                              WHERE shipment_id = $1 AND tenant_id = $2 AND mode = $3";

impl RequestRow {
    fn into_record(self) -> Result<RtoRequest> {
        let corrupt = || StoreError::Corrupt(format!("RTO request of {}", self.shipment_id));
        Ok(RtoRequest {
            shipment_id: ShipmentId::parse(&self.shipment_id).ok_or_else(corrupt)?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(corrupt)?,
            mode: named(&self.mode, Mode::parse, "RTO request mode")?,
            via: named(&self.via, RtoVia::parse, "RTO request route")?,
            reason: self.reason,
            requested_at: self.requested_at,
        })
    }
}

impl Store {
    /// The merchant's request to bring the shipment back, if they made one.
    pub async fn rto_request(&self, scope: &Scope, shipment: &ShipmentId) -> Result<Option<RtoRequest>> {
        let row: Option<RequestRow> = self
            .pool
            .fetch_optional(SELECT_REQUEST, args![shipment.as_str(), scope.tenant.as_str(), scope.mode.as_str()])
            .await?;
        row.map(RequestRow::into_record).transpose()
    }

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

    /// Records a request unless the shipment has one; the request as it stands.
    pub async fn insert_rto_request(&mut self, r: &RtoRequest) -> Result<RtoRequest> {
        self.execute(
            "INSERT INTO rto_requests (shipment_id, tenant_id, mode, via, reason, requested_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (shipment_id) DO NOTHING",
            args![
                r.shipment_id.as_str(),
                r.tenant_id.as_str(),
                r.mode.as_str(),
                r.via.as_str(),
                r.reason.as_deref(),
                r.requested_at
            ],
        )
        .await?;
        let row: Option<RequestRow> = self
            .fetch_optional(SELECT_REQUEST, args![r.shipment_id.as_str(), r.tenant_id.as_str(), r.mode.as_str()])
            .await?;
        row.ok_or(StoreError::NotFound)?.into_record()
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
