//! What the API, webhooks and pages show: each read built once, here, over the store.

use waybill_core::account::CarrierAccount;
use waybill_core::api::views::ShipmentDetails;
use waybill_core::ids::{CarrierAccountId, OrderId, ShipmentId};
use waybill_core::{Order, Page, Scope, Shipment};
use waybill_store::ShipmentFilter;

use crate::error::Found;
use crate::{Engine, EngineError};

/// How many shipments one tracking number may match before the answer asks for the carrier.
const MAX_TRACKER_MATCHES: usize = 20;

impl Engine {
    pub async fn order(&self, scope: &Scope, id: &OrderId) -> Result<Order, EngineError> {
        self.store().order(scope, id).await.found(|| format!("order {id}"))
    }

    pub async fn list_orders(
        &self,
        scope: &Scope,
        after: Option<&OrderId>,
        limit: u32,
    ) -> Result<Page<Order>, EngineError> {
        Ok(self.store().list_orders(scope, after, limit).await?)
    }

    /// A shipment the caller named: "not found" when the scope has no such shipment.
    pub(crate) async fn shipment(&self, scope: &Scope, id: &ShipmentId) -> Result<Shipment, EngineError> {
        self.store().shipment(scope, id).await.found(|| format!("shipment {id}"))
    }

    /// A shipment's full view: the shipment, its scans, and its carrier's tracking page.
    pub async fn shipment_details(&self, scope: &Scope, id: &ShipmentId) -> Result<ShipmentDetails, EngineError> {
        let shipment = self.shipment(scope, id).await?;
        self.details_of(shipment, true).await
    }

    /// The view of a shipment already read; its scans only when `with_events` (and only when
    /// a scan has reached it: a shipment nothing has scanned has no history to read).
    pub async fn details_of(&self, shipment: Shipment, with_events: bool) -> Result<ShipmentDetails, EngineError> {
        let events = match (with_events, shipment.last_scan_at) {
            (false, _) => None,
            (true, None) => Some(vec![]),
            (true, Some(_)) => Some(self.store().tracking_events(&shipment.scope(), &shipment.id).await?),
        };
        let tracking_url = self.tracking_url(&shipment).await?;
        Ok(ShipmentDetails { shipment, events, tracking_url })
    }

    /// A page of shipments (without their scans), oldest first.
    pub async fn list_shipments(
        &self,
        scope: &Scope,
        filter: ShipmentFilter,
        after: Option<&ShipmentId>,
        limit: u32,
    ) -> Result<Page<ShipmentDetails>, EngineError> {
        let page = self.store().list_shipments(scope, filter, after, limit).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for s in page.items {
            items.push(self.details_of(s, false).await?);
        }
        Ok(Page { items, next_after: page.next_after })
    }

    /// Every shipment of the scope with `tracking_number` (on `account` when given), newest
    /// first, each with its scans. Only generic accounts can share a number.
    pub async fn trackers(
        &self,
        scope: &Scope,
        tracking_number: &str,
        account: Option<&CarrierAccountId>,
    ) -> Result<Vec<ShipmentDetails>, EngineError> {
        let found = self.store().shipments_by_tracking_number(scope, tracking_number).await?;
        let mut out = Vec::new();
        for s in
            found.into_iter().filter(|s| account.is_none_or(|a| &s.carrier_account_id == a)).take(MAX_TRACKER_MATCHES)
        {
            out.push(self.details_of(s, true).await?);
        }
        if out.is_empty() {
            return Err(EngineError::NotFound(format!("tracking number {tracking_number}")));
        }
        Ok(out)
    }

    pub async fn list_carrier_accounts(
        &self,
        scope: &Scope,
        after: Option<&CarrierAccountId>,
        limit: u32,
    ) -> Result<Page<CarrierAccount>, EngineError> {
        Ok(self.store().list_carrier_accounts(scope, after, limit).await?)
    }
}
