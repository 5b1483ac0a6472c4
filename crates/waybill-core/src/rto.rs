//! Returns to origin (RTO): a parcel the carrier brought back to the sender is acknowledged by
//! the merchant with the condition of the goods, which decides whether they go back on the
//! shelf (`inventory::shipment_steps`) or are written off. Once per shipment.

use serde::{Deserialize, Serialize};

use crate::ids::{ShipmentId, TenantId};
use crate::tracking::TrackingStatus;
use crate::{FieldError, Mode, Shipment};

crate::named_enum! {
    /// What came back.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum GoodsCondition as "snake_case" {
        /// Fit to sell again: the shipment's lines go back into stock.
        Restockable,
        /// Damaged, opened or incomplete: written off, stock stays as it is.
        Damaged,
    }
}

/// The merchant's acknowledgement of a returned parcel (times in epoch milliseconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RtoReceipt {
    pub shipment_id: ShipmentId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    pub condition: GoodsCondition,
    pub note: Option<String>,
    pub acknowledged_at: i64,
}

/// Why an acknowledgement was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RtoError {
    #[error("the parcel is not back with the sender yet (its status is `{}`); acknowledge it once it is `returned`", .0.as_str())]
    NotReturned(TrackingStatus),
    #[error("this is a customer's return, not a return to origin")]
    CustomerReturn,
    #[error("the return was already acknowledged ({})", .0.as_str())]
    AlreadyAcknowledged(GoodsCondition),
}

impl RtoError {
    /// The request field it is about, for an answer that names one.
    pub fn to_field_error(&self) -> FieldError {
        FieldError::new("/condition", self.to_string())
    }
}

/// Whether `shipment` may be acknowledged now, given the receipt it may have already.
pub fn check_acknowledgement(shipment: &Shipment, already: Option<&RtoReceipt>) -> Result<(), RtoError> {
    if shipment.is_return {
        return Err(RtoError::CustomerReturn);
    }
    if let Some(receipt) = already {
        return Err(RtoError::AlreadyAcknowledged(receipt.condition));
    }
    if shipment.status != TrackingStatus::Returned {
        return Err(RtoError::NotReturned(shipment.status));
    }
    Ok(())
}

crate::named_enum! {
    /// How a return was asked for.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum RtoVia as "snake_case" {
        /// Through the carrier's API: the carrier turns the parcel back.
        Carrier,
        /// Marked for the merchant: the carrier has no such call, so a person must ask it (phone,
        /// email, its portal). The parcel is followed as usual meanwhile.
        Merchant,
    }
}

/// A merchant's request to bring a moving parcel back (times in epoch milliseconds). One per
/// shipment: asking again answers the first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RtoRequest {
    pub shipment_id: ShipmentId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    pub via: RtoVia,
    pub reason: Option<String>,
    pub requested_at: i64,
}

/// Why a return cannot be asked for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RtoRequestRefusal {
    #[error("the shipment is not booked (booking state `{}`)", .0.as_str())]
    NotBooked(crate::BookingState),
    #[error("the parcel has not been picked up: cancel the shipment instead (`POST /v1/shipments/{{id}}/cancel`)")]
    NotPickedUp,
    #[error("the shipment is `{}`: there is nothing to bring back", .0.as_str())]
    Done(TrackingStatus),
    #[error("the parcel is already on its way back (`{}`)", .0.as_str())]
    Returning(TrackingStatus),
    #[error("this is a customer's return, already on its way to you")]
    CustomerReturn,
}

/// Whether a return may be asked for `shipment` now.
pub fn check_rto_request(shipment: &Shipment) -> Result<(), RtoRequestRefusal> {
    if shipment.is_return {
        return Err(RtoRequestRefusal::CustomerReturn);
    }
    if shipment.booking_state != crate::BookingState::Booked {
        return Err(RtoRequestRefusal::NotBooked(shipment.booking_state));
    }
    match shipment.status {
        TrackingStatus::InfoReceived => Err(RtoRequestRefusal::NotPickedUp),
        TrackingStatus::ReturnToOrigin | TrackingStatus::Returned => Err(RtoRequestRefusal::Returning(shipment.status)),
        s if s.is_final() => Err(RtoRequestRefusal::Done(s)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A return is asked for only of a booked parcel that is moving towards the customer.
        #[test]
        fn a_return_is_asked_for_only_between_pickup_and_delivery(
            status in proptest::sample::select(TrackingStatus::ALL.to_vec()),
            booking in proptest::sample::select(crate::BookingState::ALL.to_vec()),
            is_return in proptest::bool::ANY,
        ) {
            let mut s = shipment(status, is_return);
            s.booking_state = booking;
            let allowed = check_rto_request(&s).is_ok();
            let moving = !matches!(status, TrackingStatus::InfoReceived | TrackingStatus::ReturnToOrigin)
                && !status.is_final();
            proptest::prop_assert_eq!(allowed, moving && !is_return && booking == crate::BookingState::Booked);
        }
    }

    fn shipment(status: TrackingStatus, is_return: bool) -> Shipment {
        Shipment { status, is_return, ..crate::shipment::sample() }
    }

    #[test]
    fn only_a_parcel_back_with_the_sender_is_acknowledged_and_only_once() {
        let back = shipment(TrackingStatus::Returned, false);
        assert_eq!(check_acknowledgement(&back, None), Ok(()));
        let on_its_way = shipment(TrackingStatus::ReturnToOrigin, false);
        assert_eq!(
            check_acknowledgement(&on_its_way, None),
            Err(RtoError::NotReturned(TrackingStatus::ReturnToOrigin))
        );
        let delivered = shipment(TrackingStatus::Delivered, false);
        assert!(check_acknowledgement(&delivered, None).is_err(), "a delivered parcel did not come back");
        let customers = shipment(TrackingStatus::Returned, true);
        assert_eq!(check_acknowledgement(&customers, None), Err(RtoError::CustomerReturn));
        let receipt = RtoReceipt {
            shipment_id: back.id.clone(),
            tenant_id: back.tenant_id.clone(),
            mode: back.mode,
            condition: GoodsCondition::Damaged,
            note: None,
            acknowledged_at: 1,
        };
        let again = check_acknowledgement(&back, Some(&receipt));
        assert_eq!(again, Err(RtoError::AlreadyAcknowledged(GoodsCondition::Damaged)), "no double restock");
        assert_eq!(again.unwrap_err().to_field_error().pointer, "/condition");
    }
}
