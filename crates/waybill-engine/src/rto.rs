//! Returns to origin: the merchant acknowledges a parcel the carrier brought back, with the
//! condition of the goods. The `inventory` consumer puts restockable goods back into stock
//! (`waybill_core::inventory::shipment_steps`); damaged ones stay written off.

use waybill_core::api::requests::RtoAcknowledge;
use waybill_core::ids::ShipmentId;
use waybill_core::rto::{RtoReceipt, check_acknowledgement};
use waybill_core::{Event, Invalid, Scope, text};
use waybill_store::now_ms;

use crate::error::Found;
use crate::{Engine, EngineError};

impl Engine {
    /// Records what came back in a returned parcel, once.
    pub async fn acknowledge_rto(
        &self,
        scope: &Scope,
        id: &ShipmentId,
        body: RtoAcknowledge,
    ) -> Result<RtoReceipt, EngineError> {
        let note = body.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
        if let Some(note) = &note {
            let problems: Vec<_> = text::INSTRUCTIONS.check("/note", note).into_iter().collect();
            if !problems.is_empty() {
                return Err(Invalid(problems).into());
            }
        }
        self.store().shipment(scope, id).await.found(|| format!("shipment {id}"))?;
        let mut uow = self.begin().await?;
        let shipment = uow.tx.lock_shipment(scope, id).await?;
        let already = uow.tx.rto_receipt(scope, id).await?;
        check_acknowledgement(&shipment, already.as_ref()).map_err(|e| EngineError::Conflict(e.to_string()))?;
        let receipt = RtoReceipt {
            shipment_id: shipment.id.clone(),
            tenant_id: shipment.tenant_id.clone(),
            mode: shipment.mode,
            condition: body.condition,
            note,
            acknowledged_at: now_ms(),
        };
        uow.tx.insert_rto_receipt(&receipt).await?;
        uow.emit(scope, Event::RtoAcknowledged { shipment, receipt: receipt.clone() });
        uow.commit(self).await?;
        tracing::info!(shipment = %id, condition = receipt.condition.as_str(), "return to origin acknowledged");
        Ok(receipt)
    }
}
