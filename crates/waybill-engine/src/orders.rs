//! Orders: creating them, moving them with their shipment, closing them.

use waybill_channels::orders_csv::{CsvOrder, CsvProblem};
use waybill_core::api::requests::OrderCreate;
use waybill_core::ids::OrderId;
use waybill_core::{Event, Invalid, Order, OrderStatus, Scope, Shipment, TrackingStatus};
use waybill_store::{StoreError, now_ms};

use crate::uow::UnitOfWork;
use crate::{Engine, EngineError};

impl Engine {
    /// Creates an order in the key's scope. Another order with the same channel and external
    /// id is a conflict that names it.
    pub async fn create_order(&self, scope: &Scope, body: OrderCreate) -> Result<Order, EngineError> {
        let problems = body.problems();
        if !problems.is_empty() {
            return Err(Invalid(problems).into());
        }
        let order = new_order(scope, body);
        let mut uow = self.begin().await?;
        match uow.tx.insert_order(&order).await {
            Ok(()) => {}
            Err(StoreError::Conflict(existing)) => {
                return Err(EngineError::Conflict(format!(
                    "an order with this channel and external_id already exists: {existing}"
                )));
            }
            Err(e) => return Err(e.into()),
        }
        uow.emit(scope, Event::OrderCreated { order: order.clone() });
        uow.commit(self).await?;
        Ok(order)
    }

    /// Creates the orders of a CSV file (already checked, see `waybill_channels::orders_csv`),
    /// a batch per unit of work; an order whose channel and external id exist already is left
    /// as it is and told as a problem with its first row. `progress` hears how many orders are
    /// done after each batch.
    pub async fn import_orders(
        &self,
        scope: &Scope,
        orders: Vec<CsvOrder>,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<OrdersImport, EngineError> {
        const BATCH: usize = 500;
        let mut report = OrdersImport::default();
        let mut done = 0;
        let mut orders = orders.into_iter().peekable();
        while orders.peek().is_some() {
            let mut uow = self.begin().await?;
            for csv in orders.by_ref().take(BATCH) {
                let order = new_order(scope, csv.order);
                match uow.tx.insert_order(&order).await {
                    Ok(()) => {
                        report.imported += 1;
                        uow.emit(scope, Event::OrderCreated { order });
                    }
                    Err(StoreError::Conflict(existing)) => report.duplicates.push(CsvProblem {
                        row: csv.rows[0],
                        column: "external_id".into(),
                        detail: format!("an order with this channel and external_id exists already: {existing}"),
                    }),
                    Err(e) => return Err(e.into()),
                }
                done += 1;
            }
            uow.commit(self).await?;
            progress(done);
        }
        Ok(report)
    }
}

/// What an import of orders did.
#[derive(Debug, Default)]
pub struct OrdersImport {
    pub imported: usize,
    /// Orders left as they were because their channel and external id exist already.
    pub duplicates: Vec<CsvProblem>,
}

/// A new open order from a checked request.
fn new_order(scope: &Scope, body: OrderCreate) -> Order {
    let now = now_ms();
    Order {
        id: OrderId::generate(),
        tenant_id: scope.tenant.clone(),
        mode: scope.mode,
        channel: body.channel.unwrap_or_else(|| "api".into()),
        external_id: body.external_id,
        status: OrderStatus::Open,
        currency: body.currency,
        payment: body.payment,
        ship_to: body.ship_to.normalized(),
        line_items: body.line_items,
        locale: body.locale,
        connection_id: None,
        number: None,
        channel_updated_at: None,
        assigned_shipping: None,
        created_at: now,
        updated_at: now,
    }
}

impl Engine {
    /// Closes a delivered order (a consumer of `order.status_changed`). An order in any other
    /// state is left as it is.
    pub(crate) async fn close_order(&self, scope: &Scope, id: &OrderId) -> Result<(), EngineError> {
        let mut uow = self.begin().await?;
        let mut order = uow.tx.lock_order(scope, id).await?;
        if order.status != OrderStatus::Delivered {
            return Ok(());
        }
        let from = order.status;
        order.status = OrderStatus::Closed;
        order.updated_at = now_ms();
        uow.tx.update_order_status(&order).await?;
        uow.emit(scope, Event::OrderStatusChanged { order: order.clone(), from });
        uow.emit(scope, Event::OrderClosed { order });
        uow.commit(self).await?;
        tracing::info!(order = %id, "order closed");
        Ok(())
    }
}

/// Moves the shipment's order along with the shipment's status, inside the shipment's unit of
/// work; the move is an `order.status_changed` event.
pub(crate) async fn follow_order(uow: &mut UnitOfWork, shipment: &Shipment) -> Result<(), EngineError> {
    let Some(order_id) = &shipment.order_id else { return Ok(()) };
    let scope = shipment.scope();
    let mut order = match uow.tx.lock_order(&scope, order_id).await {
        Ok(order) => order,
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let from = order.status;
    // The order stands where the least advanced of its parts stands (`shipment` is written
    // already, so it is among them).
    let mut shipments = uow.tx.shipments_for_order(&scope, order_id).await?;
    match shipments.iter_mut().find(|s| s.id == shipment.id) {
        Some(s) => *s = shipment.clone(),
        None => shipments.push(shipment.clone()),
    }
    let active: Vec<TrackingStatus> =
        shipments.iter().filter(|s| crate::booking::holds_lines(s)).map(|s| s.status).collect();
    let next = if shipment.is_return {
        from.after_shipment(shipment.status)
    } else {
        let left = !crate::booking::lines_left_of(&order, &shipments).is_empty();
        from.with_shipments(&active, left)
    };
    if next == from {
        return Ok(());
    }
    order.status = next;
    order.updated_at = now_ms();
    uow.tx.update_order_status(&order).await?;
    uow.emit(&scope, Event::OrderStatusChanged { order, from });
    Ok(())
}
