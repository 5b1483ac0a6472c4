//! Cancelling orders: by the merchant (the API), by the order's sales channel, or by its customer
//! on the cancellation page (`/c/…`, when the tenant allows it). The cancellation is recorded
//! once with the order's new status; the `order_cancellation` consumer then voids each booking
//! not yet picked up and asks each parcel on its way back (return to origin), retrying while a
//! carrier is down. The rules are `waybill_core::cancellation`'s.

use serde::{Deserialize, Serialize};
use waybill_core::api::requests::RtoRequestCreate;
use waybill_core::branding::Branding;
use waybill_core::cancellation::{CancelledBy, OrderCancellation, ShipmentStep, check_cancel, shipment_step};
use waybill_core::ids::{EventId, OrderId};
use waybill_core::rto::RtoVia;
use waybill_core::{Event, Invalid, Order, OrderStatus, Scope, Shipment, text};
use waybill_store::{NewJob, now_ms};

use crate::error::Found;
use crate::jobs::{Job, JobContext, Next, Registry, transient};
use crate::uow::UnitOfWork;
use crate::{Engine, EngineError};

/// Void the bookings and ask back the parcels of a cancelled order.
#[derive(Serialize, Deserialize)]
pub struct SettleCancelledOrder {
    pub order_id: OrderId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
}

impl Job for SettleCancelledOrder {
    const KIND: &'static str = "settle_cancelled_order";
    const MAX_ATTEMPTS: u32 = 16;
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.order_id))
    }
}

/// How long a cancelled order's shipment whose booking is still unsettled is waited for.
const UNSETTLED_BOOKING_WAIT_MS: i64 = 60_000;

pub(crate) fn wants(event: &Event) -> bool {
    matches!(event, Event::OrderCancelled { .. })
}

pub(crate) fn job(scope: &Scope, id: &EventId, event: &Event) -> NewJob {
    let Event::OrderCancelled { order, .. } = event else { unreachable!("only order.cancelled is wanted") };
    SettleCancelledOrder { order_id: order.id.clone(), event_id: Some(id.clone()) }.to_new(Some(scope), now_ms())
}

pub(crate) fn register(r: &mut Registry) {
    r.register(|engine: Engine, ctx: JobContext, job: SettleCancelledOrder| async move {
        let scope = ctx.scope.ok_or_else(|| EngineError::Internal("a cancellation job without a scope".into()))?;
        engine.settle_cancelled_order(&scope, &job.order_id).await
    });
}

/// An order and where its cancellation stands.
pub struct CancellationState {
    pub order: Order,
    pub cancellation: Option<OrderCancellation>,
    /// The customer's cancellation page, while customers may cancel and the order is not
    /// cancelled.
    pub customer_page: Option<String>,
}

/// An order as its customer sees it on the cancellation page.
pub struct CustomerOrder {
    pub branding: Branding,
    /// The number the customer knows (the channel's, else the order's own reference).
    pub number: String,
    /// Each line's name (else its SKU) and quantity.
    pub items: Vec<(String, u32)>,
    /// The order's language, when it has one.
    pub locale: Option<String>,
    pub standing: CustomerStanding,
}

/// What the customer may do on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerStanding {
    /// Not dispatched yet: the customer may cancel it.
    Cancellable,
    /// Cancelled (by anyone).
    Cancelled,
    /// A parcel has left, or the order is finished: only the shop can help now.
    TooLate,
    /// The shop does not let customers cancel (any more).
    NotOffered,
}

/// Records `order`'s cancellation by `by` in `uow` (status and events included), unless it has
/// one; the cancellation as it stands and whether it is this one.
pub(crate) async fn record_cancellation(
    uow: &mut UnitOfWork,
    scope: &Scope,
    mut order: Order,
    by: CancelledBy,
    reason: Option<String>,
) -> Result<(OrderCancellation, bool), EngineError> {
    let asked = OrderCancellation {
        order_id: order.id.clone(),
        tenant_id: order.tenant_id.clone(),
        mode: order.mode,
        by,
        reason,
        cancelled_at: now_ms(),
    };
    let written = uow.tx.insert_order_cancellation(&asked).await?;
    if written != asked {
        return Ok((written, false));
    }
    let from = order.status;
    if from != OrderStatus::Cancelled {
        order.status = OrderStatus::Cancelled;
        order.updated_at = written.cancelled_at;
        uow.tx.update_order_status(&order).await?;
        uow.emit(scope, Event::OrderStatusChanged { order: order.clone(), from });
    }
    uow.emit(scope, Event::OrderCancelled { order, cancellation: written.clone() });
    Ok((written, true))
}

impl Engine {
    /// Cancels an order, once: asking again answers the first cancellation (`false`). A
    /// refusal changes nothing.
    pub async fn cancel_order(
        &self,
        scope: &Scope,
        id: &OrderId,
        by: CancelledBy,
        reason: Option<&str>,
    ) -> Result<(OrderCancellation, Order, bool), EngineError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
        if let Some(reason) = &reason {
            let problems: Vec<_> = text::INSTRUCTIONS.check("/reason", reason).into_iter().collect();
            if !problems.is_empty() {
                return Err(Invalid(problems).into());
            }
        }
        self.store().order(scope, id).await.found(|| format!("order {id}"))?;
        let mut uow = self.begin().await?;
        let order = uow.tx.lock_order(scope, id).await?;
        if let Some(first) = uow.tx.order_cancellation(scope, id).await? {
            return Ok((first, order, false));
        }
        let shipments = uow.tx.shipments_for_order(scope, id).await?;
        check_cancel(&order, &shipments, by).map_err(|e| EngineError::Conflict(e.to_string()))?;
        let (cancellation, fresh) = record_cancellation(&mut uow, scope, order, by, reason).await?;
        uow.commit(self).await?;
        if fresh {
            tracing::info!(order = %id, by = cancellation.by.as_str(), "order cancelled");
        }
        let order = self.store().order(scope, id).await?;
        Ok((cancellation, order, fresh))
    }

    /// The order, its cancellation if any, and the customer's page while it is offered.
    pub async fn order_cancellation(&self, scope: &Scope, id: &OrderId) -> Result<CancellationState, EngineError> {
        let order = self.store().order(scope, id).await.found(|| format!("order {id}"))?;
        let cancellation = self.store().order_cancellation(scope, id).await?;
        let offered = cancellation.is_none() && self.store().customers_may_cancel(scope).await?;
        let customer_page = offered.then(|| self.customer_cancel_path(scope, id));
        Ok(CancellationState { order, cancellation, customer_page })
    }

    pub async fn customers_may_cancel(&self, scope: &Scope) -> Result<bool, EngineError> {
        Ok(self.store().customers_may_cancel(scope).await?)
    }

    pub async fn set_customers_may_cancel(&self, scope: &Scope, on: bool) -> Result<bool, EngineError> {
        let mut uow = self.begin().await?;
        uow.tx.put_customers_may_cancel(scope, on, now_ms()).await?;
        uow.commit(self).await?;
        Ok(on)
    }

    /// The path of an order's cancellation page for its customer (`/c/{token}`).
    pub(crate) fn customer_cancel_path(&self, scope: &Scope, order: &OrderId) -> String {
        format!("/c/{}", self.store().cancel_token(scope, order))
    }

    /// The customer's cancellation page for `order`, while the scope lets customers cancel and
    /// they still may (not cancelled, nothing left).
    pub(crate) async fn customer_cancel_offer(
        &self,
        scope: &Scope,
        order: &OrderId,
    ) -> Result<Option<String>, EngineError> {
        if !self.store().customers_may_cancel(scope).await? {
            return Ok(None);
        }
        let found = match self.store().order(scope, order).await {
            Ok(found) => found,
            Err(waybill_store::StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if found.status == OrderStatus::Cancelled {
            return Ok(None);
        }
        let shipments = self.store().shipments_for_order(scope, order).await?;
        let open = check_cancel(&found, &shipments, CancelledBy::Customer).is_ok();
        Ok(open.then(|| self.customer_cancel_path(scope, order)))
    }

    /// The order a cancellation link names; `None` when the token is not one of ours.
    pub async fn customer_order(&self, token: &str) -> Result<Option<CustomerOrder>, EngineError> {
        let Some((scope, id)) = self.store().open_cancel_token(token) else { return Ok(None) };
        let order = match self.store().order(&scope, &id).await {
            Ok(order) => order,
            Err(waybill_store::StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let shipments = self.store().shipments_for_order(&scope, &id).await?;
        let standing = if order.status == OrderStatus::Cancelled {
            CustomerStanding::Cancelled
        } else if !self.store().customers_may_cancel(&scope).await? {
            CustomerStanding::NotOffered
        } else if check_cancel(&order, &shipments, CancelledBy::Customer).is_err() {
            CustomerStanding::TooLate
        } else {
            CustomerStanding::Cancellable
        };
        let branding = self.branding_of(&scope.tenant).await?;
        let items =
            order.line_items.iter().map(|l| (l.name.clone().unwrap_or_else(|| l.sku.clone()), l.quantity)).collect();
        Ok(Some(CustomerOrder {
            branding,
            number: order.number.clone().unwrap_or_else(|| order.external_id.clone()),
            items,
            locale: order.locale.clone(),
            standing,
        }))
    }

    /// The customer cancels the order a link names (while the tenant allows it and nothing has
    /// left); the page after it. A refusal is a `Conflict` (the page then shows why) or, for
    /// the reason, `Invalid`.
    pub async fn customer_cancel(
        &self,
        token: &str,
        reason: Option<&str>,
    ) -> Result<Option<CustomerOrder>, EngineError> {
        let Some((scope, id)) = self.store().open_cancel_token(token) else { return Ok(None) };
        if !self.store().customers_may_cancel(&scope).await? {
            return self.customer_order(token).await;
        }
        match self.cancel_order(&scope, &id, CancelledBy::Customer, reason).await {
            Ok(_) | Err(EngineError::Conflict(_)) => self.customer_order(token).await,
            Err(EngineError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The `order_cancellation` consumer: voids each booking not yet picked up and asks each
    /// parcel on its way back. Bookings whose outcome is unknown are waited for; a carrier that
    /// is down is retried; what a carrier refuses is marked for the merchant.
    async fn settle_cancelled_order(&self, scope: &Scope, id: &OrderId) -> Result<Next, EngineError> {
        let Some(cancellation) = self.store().order_cancellation(scope, id).await? else { return Ok(Next::Done) };
        let reason = match &cancellation.reason {
            Some(r) => format!("order cancelled by the {}: {r}", cancellation.by.as_str()),
            None => format!("order cancelled by the {}", cancellation.by.as_str()),
        };
        let mut waiting = false;
        for shipment in self.store().shipments_for_order(scope, id).await? {
            self.withdraw_information(scope, &shipment, "the order was cancelled").await?;
            match shipment_step(&shipment) {
                ShipmentStep::Leave => {}
                ShipmentStep::Wait => waiting = true,
                ShipmentStep::Void => match self.cancel(scope, &shipment.id).await {
                    Ok(_) => tracing::info!(order = %id, shipment = %shipment.id, "booking voided with its order"),
                    Err(e) if transient(&e) => return Err(e),
                    // Picked up since it was read: it is brought back instead.
                    Err(EngineError::Conflict(_)) => self.ask_back(scope, id, &shipment, &reason).await?,
                    Err(e) => {
                        let why =
                            format!("{reason}; the carrier did not void the booking ({e}): void it with the carrier");
                        self.keep_rto_request(scope, &shipment, RtoVia::Merchant, Some(why)).await?;
                    }
                },
                ShipmentStep::AskBack => self.ask_back(scope, id, &shipment, &reason).await?,
            }
        }
        Ok(if waiting { Next::RunAgainAt(now_ms() + UNSETTLED_BOOKING_WAIT_MS) } else { Next::Done })
    }

    /// Asks a cancelled order's moving parcel back: through the carrier where it can, else
    /// marked for the merchant (also when the carrier refuses).
    async fn ask_back(
        &self,
        scope: &Scope,
        order: &OrderId,
        shipment: &Shipment,
        reason: &str,
    ) -> Result<(), EngineError> {
        let asked = RtoRequestCreate { reason: Some(reason.chars().take(200).collect()) };
        match self.request_rto(scope, &shipment.id, asked).await {
            Ok(_) => {}
            Err(e) if transient(&e) => return Err(e),
            // Delivered, or already coming back, since it was read: nothing to ask.
            Err(EngineError::Conflict(why)) => {
                tracing::info!(order = %order, shipment = %shipment.id, why, "cancelled order's parcel not asked back");
            }
            Err(e) => {
                let why = format!("{reason}; the carrier did not take the return request ({e}): ask it yourself");
                self.keep_rto_request(scope, shipment, RtoVia::Merchant, Some(why)).await?;
            }
        }
        Ok(())
    }
}
