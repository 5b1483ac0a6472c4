//! Returns to origin: the merchant asks for a moving parcel back (through the carrier's API, or
//! marked for a person to ask the carrier), and acknowledges a parcel the carrier brought back,
//! with the condition of the goods. The `inventory` consumer puts restockable goods back into stock
//! (`waybill_core::inventory::shipment_steps`); damaged ones stay written off.

use waybill_core::api::requests::{RtoAcknowledge, RtoRequestCreate};
use waybill_core::ids::ShipmentId;
use waybill_core::rto::{RtoReceipt, RtoRequest, RtoVia, check_acknowledgement, check_rto_request};
use waybill_core::{Event, Invalid, Scope, Shipment, text};
use waybill_store::now_ms;

use crate::error::Found;
use crate::{Engine, EngineError};

impl Engine {
    /// Asks for a moving parcel back (after pickup, before delivery), once: through the
    /// carrier's API where it has one, else marked for the merchant to ask the carrier. Asking
    /// again answers the first request (`false`); a refusal changes nothing.
    pub async fn request_rto(
        &self,
        scope: &Scope,
        id: &ShipmentId,
        body: RtoRequestCreate,
    ) -> Result<(RtoRequest, bool), EngineError> {
        let reason = body.reason.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
        if let Some(reason) = &reason {
            let problems: Vec<_> = text::INSTRUCTIONS.check("/reason", reason).into_iter().collect();
            if !problems.is_empty() {
                return Err(Invalid(problems).into());
            }
        }
        let shipment = self.store().shipment(scope, id).await.found(|| format!("shipment {id}"))?;
        if let Some(first) = self.store().rto_request(scope, id).await? {
            return Ok((first, false));
        }
        check_rto_request(&shipment).map_err(|e| EngineError::Conflict(e.to_string()))?;
        let (account, secrets, carrier) = self.account(scope, &shipment.carrier_account_id).await?;
        let via = if carrier.info().capabilities.rto_request {
            let booked = crate::booking::booked_ref(&shipment)
                .ok_or_else(|| EngineError::Conflict(format!("shipment {id} has no tracking number")))?;
            let ctx = self.call_context(&account, &secrets, carrier.as_ref());
            carrier.request_rto(&ctx, &booked).await?;
            RtoVia::Carrier
        } else {
            RtoVia::Merchant
        };
        self.keep_rto_request(scope, &shipment, via, reason).await
    }

    /// Records that `shipment` was asked back (`via` says how), once; a request made at the same
    /// moment that came first is answered instead (`false`).
    pub(crate) async fn keep_rto_request(
        &self,
        scope: &Scope,
        shipment: &Shipment,
        via: RtoVia,
        reason: Option<String>,
    ) -> Result<(RtoRequest, bool), EngineError> {
        let asked = RtoRequest {
            shipment_id: shipment.id.clone(),
            tenant_id: shipment.tenant_id.clone(),
            mode: shipment.mode,
            via,
            reason,
            requested_at: now_ms(),
        };
        let mut uow = self.begin().await?;
        let locked = uow.tx.lock_shipment(scope, &shipment.id).await?;
        let written = uow.tx.insert_rto_request(&asked).await?;
        if written != asked {
            return Ok((written, false));
        }
        uow.emit(scope, Event::RtoRequested { shipment: locked, request: written.clone() });
        uow.commit(self).await?;
        tracing::info!(shipment = %shipment.id, via = written.via.as_str(), "return to origin requested");
        Ok((written, true))
    }

    pub async fn rto_request(&self, scope: &Scope, id: &ShipmentId) -> Result<Option<RtoRequest>, EngineError> {
        self.store().shipment(scope, id).await.found(|| format!("shipment {id}"))?;
        Ok(self.store().rto_request(scope, id).await?)
    }

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
