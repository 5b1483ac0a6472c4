//! The normalized tracking taxonomy and the rule for how a shipment's status moves.
//!
//! Every carrier code maps to one [`TrackingStatus`]. Scans arrive late, twice and out of order
//! (push and pull race; carriers batch), so [`TrackingState::apply`] is written to be safe under
//! all three: a scan older than the newest one applied may only move the shipment *forward*, a
//! final status never changes, and applying the same scan again changes nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TrackingStatus {
    InfoReceived,
    PickedUp,
    InTransit,
    OutForDelivery,
    DeliveryFailed,
    AvailableForPickup,
    Delivered,
    Exception,
    ReturnToOrigin,
    Returned,
    Cancelled,
}

/// Why a delivery attempt failed (the reason an NDR case is opened with).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NdrReason {
    CustomerUnavailable,
    AddressIssue,
    Refused,
    CodNotReady,
    PremisesClosed,
    RescheduledByCustomer,
    OutOfServiceArea,
    Other,
}

impl TrackingStatus {
    pub const ALL: [TrackingStatus; 11] = [
        Self::InfoReceived,
        Self::PickedUp,
        Self::InTransit,
        Self::OutForDelivery,
        Self::DeliveryFailed,
        Self::AvailableForPickup,
        Self::Delivered,
        Self::Exception,
        Self::ReturnToOrigin,
        Self::Returned,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InfoReceived => "info_received",
            Self::PickedUp => "picked_up",
            Self::InTransit => "in_transit",
            Self::OutForDelivery => "out_for_delivery",
            Self::DeliveryFailed => "delivery_failed",
            Self::AvailableForPickup => "available_for_pickup",
            Self::Delivered => "delivered",
            Self::Exception => "exception",
            Self::ReturnToOrigin => "return_to_origin",
            Self::Returned => "returned",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// No carrier scan moves a shipment out of these.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Returned | Self::Cancelled)
    }

    /// How far along the parcel's journey this status is. `None` for statuses that say
    /// something went wrong rather than how far the parcel got.
    fn progress(self) -> Option<u8> {
        Some(match self {
            Self::InfoReceived => 0,
            Self::PickedUp => 1,
            Self::InTransit => 2,
            Self::OutForDelivery | Self::DeliveryFailed | Self::AvailableForPickup => 3,
            Self::ReturnToOrigin => 4,
            Self::Delivered => 5,
            Self::Returned => 6,
            Self::Exception | Self::Cancelled => return None,
        })
    }
}

impl NdrReason {
    pub const ALL: [NdrReason; 8] = [
        Self::CustomerUnavailable,
        Self::AddressIssue,
        Self::Refused,
        Self::CodNotReady,
        Self::PremisesClosed,
        Self::RescheduledByCustomer,
        Self::OutOfServiceArea,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerUnavailable => "customer_unavailable",
            Self::AddressIssue => "address_issue",
            Self::Refused => "refused",
            Self::CodNotReady => "cod_not_ready",
            Self::PremisesClosed => "premises_closed",
            Self::RescheduledByCustomer => "rescheduled_by_customer",
            Self::OutOfServiceArea => "out_of_service_area",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A shipment's tracking position: its status, the furthest stage it has reached, and the
/// carrier time of the newest scan applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackingState {
    pub status: TrackingStatus,
    pub progress: u8,
    pub last_scan_at: Option<DateTime<Utc>>,
}

impl TrackingState {
    /// A freshly booked shipment: the carrier has the data, nothing has moved.
    pub fn booked() -> Self {
        Self { status: TrackingStatus::InfoReceived, progress: 0, last_scan_at: None }
    }

    /// The state after one scan of `incoming` taken at carrier time `at`.
    pub fn apply(self, incoming: TrackingStatus, at: DateTime<Utc>) -> Self {
        use TrackingStatus as T;
        if self.status.is_final() {
            return self;
        }
        let late = self.last_scan_at.is_some_and(|last| at < last);
        let moved = |status: TrackingStatus| Self {
            status,
            progress: status.progress().map_or(self.progress, |p| p.max(self.progress)),
            last_scan_at: if late { self.last_scan_at } else { Some(at) },
        };
        let kept = Self { last_scan_at: if late { self.last_scan_at } else { Some(at) }, ..self };
        let in_return = self.status == T::ReturnToOrigin;

        match incoming {
            // A parcel "delivered" while on its way back has reached the shipper.
            T::Delivered if in_return => moved(T::Returned),
            T::Delivered | T::Returned => moved(incoming),
            // Carriers cancel only before the parcel moves; later it becomes a return.
            T::Cancelled if self.progress <= 1 => moved(T::Cancelled),
            T::Cancelled => kept,
            _ if in_return => kept,
            T::ReturnToOrigin => moved(T::ReturnToOrigin),
            T::Exception if late => self,
            T::Exception => moved(T::Exception),
            _ => {
                let p = incoming.progress().expect("forward statuses have progress");
                let recovering = matches!(self.status, T::DeliveryFailed | T::Exception) && p >= 2;
                if p > self.progress || (!late && (p == self.progress || recovering)) { moved(incoming) } else { kept }
            }
        }
    }

    /// The state after a batch of scans, applied in carrier-time order.
    pub fn apply_all(self, scans: impl IntoIterator<Item = (TrackingStatus, DateTime<Utc>)>) -> Self {
        let mut scans: Vec<_> = scans.into_iter().collect();
        // Ties on time are broken by stage, then by name, so a batch has one answer.
        scans.sort_by_key(|(status, at)| (*at, status.progress(), *status));
        scans.into_iter().fold(self, |s, (status, at)| s.apply(status, at))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use TrackingStatus as T;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_790_000_000 + minute * 60, 0).unwrap()
    }

    fn run(scans: &[(T, i64)]) -> TrackingState {
        scans.iter().fold(TrackingState::booked(), |s, (st, m)| s.apply(*st, at(*m)))
    }

    #[test]
    fn a_delivered_journey() {
        let s = run(&[(T::PickedUp, 1), (T::InTransit, 2), (T::OutForDelivery, 3), (T::Delivered, 4)]);
        assert_eq!(s.status, T::Delivered);
        assert_eq!(s.progress, 5);
    }

    #[test]
    fn a_failed_attempt_then_redelivery() {
        let s = run(&[(T::OutForDelivery, 3), (T::DeliveryFailed, 4)]);
        assert_eq!(s.status, T::DeliveryFailed);
        let s = s.apply(T::InTransit, at(5));
        assert_eq!(s.status, T::InTransit, "back at the hub after a failed attempt is a real move");
        let s = s.apply(T::OutForDelivery, at(6)).apply(T::Delivered, at(7));
        assert_eq!(s.status, T::Delivered);
    }

    #[test]
    fn late_scans_do_not_move_backwards() {
        let s = run(&[(T::OutForDelivery, 5)]);
        assert_eq!(s.apply(T::PickedUp, at(1)).status, T::OutForDelivery);
        assert_eq!(s.apply(T::Exception, at(1)).status, T::OutForDelivery);
        assert_eq!(s.apply(T::InTransit, at(6)).status, T::OutForDelivery, "in transit after OFD is backwards");
        assert_eq!(s.apply(T::Delivered, at(1)).status, T::Delivered, "a late delivery still counts");
    }

    #[test]
    fn returns_and_cancellations() {
        let s = run(&[(T::PickedUp, 1), (T::ReturnToOrigin, 2), (T::InTransit, 3)]);
        assert_eq!(s.status, T::ReturnToOrigin, "transit scans during a return keep it a return");
        assert_eq!(s.apply(T::Delivered, at(4)).status, T::Returned);
        assert_eq!(run(&[(T::Cancelled, 1)]).status, T::Cancelled);
        assert_eq!(run(&[(T::InTransit, 1), (T::Cancelled, 2)]).status, T::InTransit);
        assert_eq!(run(&[(T::Delivered, 1), (T::Exception, 2)]).status, T::Delivered);
    }

    #[test]
    fn names_round_trip() {
        for s in T::ALL {
            assert_eq!(T::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for r in NdrReason::ALL {
            assert_eq!(NdrReason::parse(r.as_str()), Some(r));
        }
    }

    fn any_status() -> impl Strategy<Value = T> {
        proptest::sample::select(T::ALL.to_vec())
    }

    fn any_scans() -> impl Strategy<Value = Vec<(T, i64)>> {
        proptest::collection::vec((any_status(), 0i64..50), 0..25)
    }

    /// Lower is earlier on the way to the customer; returns sit past all of it.
    fn rank(s: T) -> u8 {
        s.progress().unwrap_or(0)
    }

    proptest! {
        /// Whatever order scans arrive in: the furthest stage never shrinks, a final status
        /// never changes, and a status only steps back when a failed attempt or exception is
        /// followed by a newer scan.
        #[test]
        fn no_backwards_moves(scans in any_scans()) {
            let mut s = TrackingState::booked();
            for (status, m) in scans {
                let next = s.apply(status, at(m));
                prop_assert!(next.progress >= s.progress);
                if s.status.is_final() {
                    prop_assert_eq!(next, s);
                }
                if next.status != s.status && !matches!(next.status, T::Exception | T::Cancelled) && rank(next.status) < rank(s.status) {
                    prop_assert!(matches!(s.status, T::DeliveryFailed | T::Exception), "{:?} -> {:?}", s.status, next.status);
                    prop_assert!(s.last_scan_at.is_none_or(|last| at(m) >= last), "only a newer scan may recover");
                }
                s = next;
            }
        }

        /// The same scan applied twice is the same as once.
        #[test]
        fn applying_a_scan_is_idempotent(scans in any_scans(), extra in any_status(), m in 0i64..50) {
            let s = run(&scans);
            let once = s.apply(extra, at(m));
            prop_assert_eq!(once.apply(extra, at(m)), once);
        }

        /// A batch gives one answer whatever order it came in, and duplicates change nothing.
        #[test]
        fn batches_are_order_and_duplicate_insensitive(scans in any_scans(), seed in any::<u64>()) {
            let timed: Vec<_> = scans.iter().map(|(s, m)| (*s, at(*m))).collect();
            let mut shuffled = timed.clone();
            let n = shuffled.len();
            for i in (1..n).rev() {
                shuffled.swap(i, (seed.wrapping_mul(i as u64 + 7) % (i as u64 + 1)) as usize);
            }
            shuffled.extend(timed.iter().take(3).copied());
            prop_assert_eq!(
                TrackingState::booked().apply_all(timed),
                TrackingState::booked().apply_all(shuffled)
            );
        }

        /// Without a final status, every stage a scan reached is remembered.
        #[test]
        fn furthest_stage_is_kept(scans in any_scans()) {
            let s = run(&scans);
            if !scans.iter().any(|(st, _)| st.is_final() || *st == T::Cancelled) {
                let furthest = scans.iter().filter_map(|(st, _)| st.progress()).max().unwrap_or(0);
                prop_assert_eq!(s.progress, furthest);
            }
        }
    }
}
