//! Cancelling an order: who cancelled it and why, whether it may be cancelled, and what each of
//! its shipments needs afterwards: a booking not yet picked up is voided at the carrier, a
//! parcel on its way is asked back (return to origin), the rest is left as it is.

use serde::{Deserialize, Serialize};

use crate::ids::{OrderId, TenantId};
use crate::tracking::TrackingStatus;
use crate::{BookingState, Mode, Order, OrderStatus, Shipment};

crate::named_enum! {
    /// Who cancelled an order.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum CancelledBy as "snake_case" {
        /// Through the API (or, later, the dashboard).
        Merchant,
        /// In the sales channel the order came from.
        Channel,
        /// The customer, on the cancellation page.
        Customer,
    }
}

/// An order's cancellation (times in epoch milliseconds). One per order: cancelling again
/// answers the first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancellation {
    pub order_id: OrderId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    pub by: CancelledBy,
    pub reason: Option<String>,
    pub cancelled_at: i64,
}

/// Why an order cannot be cancelled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CancelRefusal {
    #[error(
        "the order is `{}`: there is nothing left to cancel; what the customer sends back is a return",
        .0.as_str()
    )]
    Finished(OrderStatus),
    /// Only a merchant may cancel an order whose parcels have left: it takes a return to
    /// origin, which the merchant pays for.
    #[error("a parcel of this order has left the warehouse; ask the shop to cancel it")]
    Dispatched,
}

/// What a cancelled order's shipment needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShipmentStep {
    /// Nothing: never booked, already cancelled, finished, already on its way back, or a
    /// customer's return.
    Leave,
    /// Void the booking at the carrier: the parcel has not been picked up.
    Void,
    /// Ask the carrier to bring the parcel back: it is on its way to the customer.
    AskBack,
    /// The booking's outcome is not known yet: decide once it is.
    Wait,
}

/// What `shipment` of a cancelled order needs now.
pub fn shipment_step(shipment: &Shipment) -> ShipmentStep {
    if shipment.is_return || shipment.booking_state == BookingState::Failed {
        return ShipmentStep::Leave;
    }
    if matches!(shipment.booking_state, BookingState::Pending | BookingState::Unknown) {
        return ShipmentStep::Wait;
    }
    match shipment.status {
        TrackingStatus::InfoReceived => ShipmentStep::Void,
        TrackingStatus::ReturnToOrigin => ShipmentStep::Leave,
        s if s.is_final() => ShipmentStep::Leave,
        _ => ShipmentStep::AskBack,
    }
}

/// Whether `by` may cancel `order` now, given its shipments. A delivered, closed or returned
/// order is past cancelling; a customer may cancel only while no parcel has left.
pub fn check_cancel(order: &Order, shipments: &[Shipment], by: CancelledBy) -> Result<(), CancelRefusal> {
    if !order.status.can_cancel() {
        return Err(CancelRefusal::Finished(order.status));
    }
    if by == CancelledBy::Customer && shipments.iter().any(|s| shipment_step(s) == ShipmentStep::AskBack) {
        return Err(CancelRefusal::Dispatched);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipment(status: TrackingStatus, booking: BookingState, is_return: bool) -> Shipment {
        Shipment { status, booking_state: booking, is_return, ..crate::shipment::sample() }
    }

    fn order(status: OrderStatus) -> Order {
        let mut o: Order = serde_json::from_value(serde_json::json!({
            "id": OrderId::generate(), "tenant_id": TenantId::generate(), "mode": "test", "channel": "api",
            "external_id": "A-1", "status": "open", "currency": "TRY", "payment": {"method": "prepaid"},
            "ship_to": {"name": "B", "street1": "S", "city": "C", "postal_code": "06000", "country": "TR"},
            "line_items": [], "locale": null, "created_at": 0, "updated_at": 0
        }))
        .unwrap();
        o.status = status;
        o
    }

    proptest::proptest! {
        /// A booking is voided only before pickup, a parcel is asked back only while it travels
        /// towards the customer, and a shipment whose booking is unsettled waits; nothing else
        /// is touched.
        #[test]
        fn each_shipment_gets_the_one_step_its_stage_allows(
            status in proptest::sample::select(TrackingStatus::ALL.to_vec()),
            booking in proptest::sample::select(BookingState::ALL.to_vec()),
            is_return in proptest::bool::ANY,
        ) {
            let step = shipment_step(&shipment(status, booking, is_return));
            let live = !is_return && booking == BookingState::Booked;
            let moving = !status.is_final() && !matches!(status, TrackingStatus::InfoReceived | TrackingStatus::ReturnToOrigin);
            proptest::prop_assert_eq!(step == ShipmentStep::Void, live && status == TrackingStatus::InfoReceived);
            proptest::prop_assert_eq!(step == ShipmentStep::AskBack, live && moving);
            proptest::prop_assert_eq!(
                step == ShipmentStep::Wait,
                !is_return && matches!(booking, BookingState::Pending | BookingState::Unknown)
            );
        }

        /// Whoever asks, a finished order is never cancelled; a customer is refused exactly when
        /// one of the order's parcels is on its way.
        #[test]
        fn a_customer_cancels_only_what_has_not_left(
            order_status in proptest::sample::select(OrderStatus::ALL.to_vec()),
            statuses in proptest::collection::vec(proptest::sample::select(TrackingStatus::ALL.to_vec()), 0..4),
            by in proptest::sample::select(CancelledBy::ALL.to_vec()),
        ) {
            let shipments: Vec<Shipment> =
                statuses.iter().map(|s| shipment(*s, BookingState::Booked, false)).collect();
            let outcome = check_cancel(&order(order_status), &shipments, by);
            let finished = matches!(order_status, OrderStatus::Delivered | OrderStatus::Closed | OrderStatus::Returned);
            let left = shipments.iter().any(|s| shipment_step(s) == ShipmentStep::AskBack);
            if finished {
                proptest::prop_assert_eq!(outcome, Err(CancelRefusal::Finished(order_status)));
            } else if by == CancelledBy::Customer && left {
                proptest::prop_assert_eq!(outcome, Err(CancelRefusal::Dispatched));
            } else {
                proptest::prop_assert_eq!(outcome, Ok(()));
            }
        }
    }

    #[test]
    fn a_customers_return_and_a_refused_booking_are_left_alone() {
        let ret = shipment(TrackingStatus::InTransit, BookingState::Booked, true);
        assert_eq!(shipment_step(&ret), ShipmentStep::Leave);
        let refused = shipment(TrackingStatus::InfoReceived, BookingState::Failed, false);
        assert_eq!(shipment_step(&refused), ShipmentStep::Leave);
        let returning = shipment(TrackingStatus::ReturnToOrigin, BookingState::Booked, false);
        assert_eq!(shipment_step(&returning), ShipmentStep::Leave, "already coming back");
    }
}
