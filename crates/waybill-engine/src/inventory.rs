//! Inventory: counts and adjustments by people, and the `inventory` consumer that moves a
//! shipment's order lines at its location as the shipment is booked, picked up, cancelled or
//! returned (`waybill_core::inventory::shipment_steps`). Every change is an `inventory.changed`
//! event, which channel stock updates will consume.

use serde::{Deserialize, Serialize};
use waybill_core::api::requests::{StockAdjust, StockSet};
use waybill_core::error::Problems;
use waybill_core::ids::{EventId, LocationId, ShipmentId};
use waybill_core::inventory::{StockLevel, StockReason, shipment_steps, stock_problems};
use waybill_core::{Event, Invalid, Page, Scope, TrackingStatus, text};
use waybill_store::{NewJob, StockMove, StoreError, now_ms};

use crate::jobs::{Job, JobContext, Next, Registry};
use crate::{Engine, EngineError};

/// Bring a shipment's stock movements up to date with its state.
#[derive(Serialize, Deserialize)]
pub struct MoveStock {
    pub shipment_id: ShipmentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
}

impl Job for MoveStock {
    const KIND: &'static str = "move_stock";
    const RERUN_IF_RUNNING: bool = true;
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.shipment_id))
    }
}

/// Shipments of orders that ship from a location, whenever they are booked or move, and when
/// a parcel returned to the sender is acknowledged.
pub(crate) fn wants(event: &Event) -> bool {
    match event {
        Event::ShipmentBooked { shipment }
        | Event::ShipmentStatusChanged { shipment, .. }
        | Event::RtoAcknowledged { shipment, .. } => {
            shipment.location_id.is_some() && shipment.order_id.is_some() && !shipment.is_return
        }
        _ => false,
    }
}

pub(crate) fn job(scope: &Scope, id: &EventId, event: &Event) -> NewJob {
    let shipment = match event {
        Event::ShipmentBooked { shipment }
        | Event::ShipmentStatusChanged { shipment, .. }
        | Event::RtoAcknowledged { shipment, .. } => shipment,
        _ => unreachable!("only shipment events are wanted"),
    };
    MoveStock { shipment_id: shipment.id.clone(), event_id: Some(id.clone()) }.to_new(Some(scope), now_ms())
}

pub(crate) fn register(r: &mut Registry) {
    r.register(|engine: Engine, ctx: JobContext, job: MoveStock| async move {
        let scope = ctx.scope.ok_or_else(|| EngineError::Internal("a stock job without a scope".into()))?;
        engine.move_shipment_stock(&scope, &job.shipment_id).await.map(|_| Next::Done)
    });
}

impl Engine {
    /// The location a stock request names, else the default one (a problem at `/location_id`
    /// when neither exists).
    async fn stock_location(
        &self,
        scope: &Scope,
        named: Option<&LocationId>,
        problems: &mut Problems,
    ) -> Result<Option<LocationId>, EngineError> {
        match named {
            Some(id) => Ok(self.check_location(scope, id, "/location_id", problems).await?.map(|l| l.id)),
            None => match self.store().default_location(scope).await? {
                Some(l) => Ok(Some(l.id)),
                None => {
                    problems
                        .add("/location_id", "required: name a location, or make one the default (POST /v1/locations)");
                    Ok(None)
                }
            },
        }
    }

    /// Sets what is on hand of a SKU at a location (a count).
    pub async fn set_stock(&self, scope: &Scope, body: StockSet) -> Result<StockLevel, EngineError> {
        let mut problems = Problems::new();
        problems.extend(stock_problems(&body.sku, body.on_hand, "on_hand"));
        if body.on_hand < 0 {
            problems.add("/on_hand", "cannot be negative");
        }
        let location = self.stock_location(scope, body.location_id.as_ref(), &mut problems).await?;
        problems.finish(())?;
        let location = location.expect("a missing location is a problem above");
        let mut uow = self.begin().await?;
        let level = uow.tx.set_stock(scope, &location, &body.sku, body.on_hand).await?;
        uow.emit(scope, Event::StockChanged { level: level.clone(), reason: StockReason::Set });
        uow.commit(self).await?;
        Ok(level)
    }

    /// Adds `delta` to what is on hand, with the reason a person gave.
    pub async fn adjust_stock(&self, scope: &Scope, body: StockAdjust) -> Result<StockLevel, EngineError> {
        let mut problems = Problems::new();
        problems.extend(stock_problems(&body.sku, body.delta, "delta"));
        if body.delta == 0 {
            problems.add("/delta", "an adjustment changes something: give a positive or negative number");
        }
        problems.extend(text::INSTRUCTIONS.check("/reason", &body.reason).into_iter().collect());
        let location = self.stock_location(scope, body.location_id.as_ref(), &mut problems).await?;
        problems.finish(())?;
        let location = location.expect("a missing location is a problem above");
        let mut uow = self.begin().await?;
        let change = StockMove {
            location: &location,
            sku: &body.sku,
            deltas: (body.delta, 0),
            reason: StockReason::Adjust,
            reference: None,
            note: Some(&body.reason),
        };
        let level = uow
            .tx
            .move_stock(scope, change)
            .await?
            .ok_or_else(|| EngineError::Internal("an adjustment was not written".into()))?;
        uow.emit(scope, Event::StockChanged { level: level.clone(), reason: StockReason::Adjust });
        uow.commit(self).await?;
        Ok(level)
    }

    /// A location's stock by SKU (the default location when none is named).
    pub async fn list_stock(
        &self,
        scope: &Scope,
        location: Option<&LocationId>,
        after_sku: Option<&str>,
        limit: u32,
    ) -> Result<Page<StockLevel>, EngineError> {
        let mut problems = Problems::new();
        let location = self.stock_location(scope, location, &mut problems).await?;
        problems.finish(()).map_err(|Invalid(mut e)| {
            e.iter_mut().for_each(|p| p.pointer = "/query/location_id".into());
            Invalid(e)
        })?;
        let location = location.expect("a missing location is a problem above");
        Ok(self.store().list_stock(scope, &location, after_sku, limit).await?)
    }

    /// Takes the stock steps a shipment's state calls for and has not taken yet, in one unit
    /// of work, each an `inventory.changed` event.
    pub(crate) async fn move_shipment_stock(&self, scope: &Scope, id: &ShipmentId) -> Result<(), EngineError> {
        let shipment = self.store().shipment(scope, id).await?;
        let (Some(location), Some(order_id)) = (&shipment.location_id, &shipment.order_id) else { return Ok(()) };
        let order = match self.store().order(scope, order_id).await {
            Ok(o) => o,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let returned = match shipment.status {
            TrackingStatus::Returned => self.store().rto_receipt(scope, id).await?.map(|r| r.condition),
            _ => None,
        };
        let steps = shipment_steps(shipment.booking_state, shipment.status, returned);
        if steps.is_empty() {
            return Ok(());
        }
        // A shipment of the time before partial shipments holds its whole order.
        let lines = if shipment.lines.is_empty() {
            waybill_core::order::lines_left(&order.line_items, &[])
        } else {
            shipment.lines.clone()
        };
        let mut uow = self.begin().await?;
        for step in steps {
            for line in &lines {
                let deltas = step.deltas(i64::from(line.quantity));
                let change = StockMove {
                    location,
                    sku: &line.sku,
                    deltas,
                    reason: *step,
                    reference: Some(shipment.id.as_str()),
                    note: None,
                };
                let moved = uow.tx.move_stock(scope, change).await?;
                if let Some(level) = moved {
                    uow.emit(scope, Event::StockChanged { level, reason: *step });
                }
            }
        }
        uow.commit(self).await
    }
}
