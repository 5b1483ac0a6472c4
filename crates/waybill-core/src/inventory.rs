//! Stock by SKU and location, and how a shipment moves it: booking reserves its order's lines
//! at the location it ships from, the first scan ships them (on hand and reserved both go
//! down), a cancelled booking releases them, and a parcel returned to the sender restocks them
//! once the merchant acknowledges it as fit to sell (`rto`).

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::ids::LocationId;
use crate::rto::GoodsCondition;
use crate::shipment::BookingState;
use crate::text;
use crate::tracking::TrackingStatus;

/// One SKU's stock at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub location_id: LocationId,
    pub sku: String,
    pub on_hand: i64,
    /// Booked and not yet picked up.
    pub reserved: i64,
    pub updated_at: i64,
}

impl StockLevel {
    /// What can still be sold: on hand and not reserved.
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }
}

crate::named_enum! {
    /// What moved stock: a person (set, adjust) or a step of a shipment.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum StockReason as "snake_case" {
        /// Counted: the level was set to a number.
        Set,
        /// Received, damaged, found, lost: a change by a person.
        Adjust,
        /// A shipment was booked: its lines are set aside.
        Reserve,
        /// The carrier picked the shipment up: its lines left the building.
        Ship,
        /// The booking was cancelled before pickup: what it set aside is free again.
        Release,
        /// The parcel came back to the sender: its lines are back on the shelf.
        Restock,
    }
}

impl StockReason {
    /// The change to (on hand, reserved) of moving `quantity` for this step of a shipment.
    pub fn deltas(self, quantity: i64) -> (i64, i64) {
        match self {
            Self::Reserve => (0, quantity),
            Self::Ship => (-quantity, -quantity),
            Self::Release => (0, -quantity),
            Self::Restock => (quantity, 0),
            Self::Set | Self::Adjust => (0, 0),
        }
    }
}

/// The steps a shipment in this state has taken, in order. Each is applied once (the ledger
/// remembers), so asking again after a later scan applies only the steps not yet taken. A
/// parcel returned to the sender goes back into stock only once the merchant acknowledged it
/// as fit to sell (`returned`); damaged goods are written off (no step).
pub fn shipment_steps(
    booking: BookingState,
    status: TrackingStatus,
    returned: Option<GoodsCondition>,
) -> &'static [StockReason] {
    use StockReason::*;
    use TrackingStatus as T;
    if booking != BookingState::Booked {
        return &[];
    }
    match status {
        T::InfoReceived => &[Reserve],
        T::Cancelled => &[Reserve, Release],
        T::Returned if returned == Some(GoodsCondition::Restockable) => &[Reserve, Ship, Restock],
        T::PickedUp
        | T::InTransit
        | T::OutForDelivery
        | T::DeliveryFailed
        | T::AvailableForPickup
        | T::Delivered
        | T::Exception
        | T::ReturnToOrigin
        | T::Returned => &[Reserve, Ship],
    }
}

/// Problems with a SKU and a quantity a person sets or adjusts, under `at`.
pub fn stock_problems(sku: &str, quantity: i64, what: &str) -> Vec<FieldError> {
    let mut out = Vec::new();
    out.extend(text::SKU.check("/sku", sku));
    if quantity.abs() > 1_000_000_000 {
        out.push(FieldError::new(format!("/{what}"), "at most 1,000,000,000"));
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The net change of every step a shipment in `status` has taken.
    fn net(status: TrackingStatus, q: i64) -> (i64, i64) {
        net_after(status, None, q)
    }

    fn net_after(status: TrackingStatus, returned: Option<GoodsCondition>, q: i64) -> (i64, i64) {
        shipment_steps(BookingState::Booked, status, returned).iter().fold((0, 0), |(h, r), s| {
            let (dh, dr) = s.deltas(q);
            (h + dh, r + dr)
        })
    }

    #[test]
    fn a_shipment_reserves_ships_releases_and_restocks() {
        assert_eq!(net(TrackingStatus::InfoReceived, 2), (0, 2), "booked: set aside");
        assert_eq!(net(TrackingStatus::InTransit, 2), (-2, 0), "picked up: gone");
        assert_eq!(net(TrackingStatus::Cancelled, 2), (0, 0), "cancelled before pickup: back");
        assert_eq!(net(TrackingStatus::Returned, 2), (-2, 0), "returned to the sender: not counted until looked at");
        let restocked = net_after(TrackingStatus::Returned, Some(GoodsCondition::Restockable), 2);
        assert_eq!(restocked, (0, 0), "acknowledged fit to sell: back on the shelf");
        let damaged = net_after(TrackingStatus::Returned, Some(GoodsCondition::Damaged), 2);
        assert_eq!(damaged, (-2, 0), "acknowledged damaged: written off");
        assert!(shipment_steps(BookingState::Failed, TrackingStatus::InfoReceived, None).is_empty());
        assert!(shipment_steps(BookingState::Unknown, TrackingStatus::InfoReceived, None).is_empty());
    }

    proptest! {
        /// Whatever order a shipment's states are seen in, reserved never stays set once it has
        /// left, and each state's steps extend the earlier ones (a step is never undone).
        #[test]
        fn later_states_only_add_steps(
            a in 0usize..TrackingStatus::ALL.len(),
            returned in proptest::option::of(proptest::sample::select(GoodsCondition::ALL.to_vec())),
            q in 1i64..100,
        ) {
            let status = TrackingStatus::ALL[a];
            let steps = shipment_steps(BookingState::Booked, status, returned);
            prop_assert_eq!(steps.first(), Some(&StockReason::Reserve));
            let (_, reserved) = net_after(status, returned, q);
            prop_assert!(reserved == 0 || status == TrackingStatus::InfoReceived);
            // An acknowledgement adds at most the restock, and only to a returned parcel.
            let before = shipment_steps(BookingState::Booked, status, None);
            prop_assert_eq!(&steps[..before.len()], before);
            prop_assert!(steps.len() == before.len() || (status == TrackingStatus::Returned && steps.last() == Some(&StockReason::Restock)));
        }
    }
}
