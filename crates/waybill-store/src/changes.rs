//! The audit trail of changes made to booked shipments.

use waybill_core::change::{ChangeMethod, ShipmentChange};
use waybill_core::ids::{ShipmentChangeId, ShipmentId, TenantId};
use waybill_core::{Mode, Scope};

use crate::db::Tx;
use crate::{Result, Store, StoreError, args, json, named, parse};

#[derive(sqlx::FromRow)]
struct ChangeRow {
    id: String,
    tenant_id: String,
    mode: String,
    shipment_id: String,
    fields: String,
    change_values: String,
    method: String,
    replacement_shipment_id: Option<String>,
    note: Option<String>,
    created_at: i64,
}
crate::sqlite_row!(ChangeRow {
    id,
    tenant_id,
    mode,
    shipment_id,
    fields,
    change_values,
    method,
    replacement_shipment_id,
    note,
    created_at
});

impl ChangeRow {
    fn into_record(self) -> Result<ShipmentChange> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("shipment change {}: {what}", self.id));
        Ok(ShipmentChange {
            id: ShipmentChangeId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(|| corrupt("tenant"))?,
            mode: named(&self.mode, Mode::parse, "shipment change mode")?,
            shipment_id: ShipmentId::parse(&self.shipment_id).ok_or_else(|| corrupt("shipment"))?,
            fields: parse(&self.fields, "changed fields")?,
            values: parse(&self.change_values, "changed values")?,
            method: named(&self.method, ChangeMethod::parse, "change method")?,
            replacement_shipment_id: match self.replacement_shipment_id.as_deref() {
                Some(id) => Some(ShipmentId::parse(id).ok_or_else(|| corrupt("replacement"))?),
                None => None,
            },
            note: self.note,
            created_at: self.created_at,
        })
    }
}

impl Store {
    /// The changes made to a shipment, and the one that booked it in another's place; oldest first.
    pub async fn shipment_changes(&self, scope: &Scope, shipment: &ShipmentId) -> Result<Vec<ShipmentChange>> {
        let rows: Vec<ChangeRow> = self
            .pool
            .fetch_all(
                "SELECT id, tenant_id, mode, shipment_id, fields, change_values, method, replacement_shipment_id, note, \
                 created_at FROM shipment_changes WHERE tenant_id = $1 AND mode = $2 \
                 AND (shipment_id = $3 OR replacement_shipment_id = $3) ORDER BY id",
                args![scope.tenant.as_str(), scope.mode.as_str(), shipment.as_str()],
            )
            .await?;
        rows.into_iter().map(ChangeRow::into_record).collect()
    }
}

impl Tx {
    pub async fn insert_shipment_change(&mut self, c: &ShipmentChange) -> Result<()> {
        self.execute(
            "INSERT INTO shipment_changes (id, tenant_id, mode, shipment_id, fields, change_values, method, \
             replacement_shipment_id, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            args![
                c.id.as_str(),
                c.tenant_id.as_str(),
                c.mode.as_str(),
                c.shipment_id.as_str(),
                json(&c.fields),
                json(&c.values),
                c.method.as_str(),
                c.replacement_shipment_id.as_ref().map(|s| s.as_str().to_owned()),
                c.note.clone(),
                c.created_at
            ],
        )
        .await?;
        Ok(())
    }
}
