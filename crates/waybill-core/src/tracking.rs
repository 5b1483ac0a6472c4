//! The normalized tracking taxonomy and the rule for how a shipment's status moves.
//!
//! Every carrier code maps to one [`TrackingStatus`]. Scans arrive late, twice and out of order
//! (push and pull race; carriers batch), and carrier clocks are wrong (drift, a time zone sent
//! as UTC, a year typo in a merchant's file). So a shipment's state is the fold of *all* its
//! scans in the order they happened ([`TrackingState::replay`]), never of the arrival order, and
//! each scan is first [placed](place): a time ahead of when Waybill received the scan is
//! impossible, so it is clamped to the receipt time (the carrier's own time is kept and the
//! clamp reported). One bad timestamp can then neither jump the queue nor make every honest
//! scan after it look old. Within that order, [`TrackingState::apply`] moves a status forward,
//! lets a failed attempt or exception be followed by a newer scan, and never changes a final
//! status.

use chrono::{DateTime, TimeDelta, Utc};

crate::named_enum! {
    /// One normalized status for every carrier's codes.
    #[derive(PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum TrackingStatus as "snake_case" {
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
}

crate::named_enum! {
    /// Why a delivery attempt failed (the reason an NDR case is opened with).
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum NdrReason as "snake_case" {
        CustomerUnavailable,
        AddressIssue,
        Refused,
        CodNotReady,
        PremisesClosed,
        RescheduledByCustomer,
        OutOfServiceArea,
        Other,
    }
}

impl TrackingStatus {
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

/// How far ahead of its receipt a scan's time may be before it is reported as a clock error.
/// Smaller differences are ordinary clock drift; either way the scan is placed no later than
/// its receipt.
pub const CLOCK_TOLERANCE: TimeDelta = TimeDelta::minutes(5);

/// A scan as the status machine orders it: its status, the carrier's own time, and the time
/// it is placed at (the carrier's time, or the receipt time when that is earlier).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlacedScan {
    pub status: TrackingStatus,
    pub at: DateTime<Utc>,
    pub stamped: DateTime<Utc>,
}

impl PlacedScan {
    /// Scans are applied in this order: placed time, then the carrier's own time (which keeps
    /// the order of scans a skewed clock stamped, all placed at one receipt), then stage.
    fn order_key(&self) -> (DateTime<Utc>, DateTime<Utc>, Option<u8>, TrackingStatus) {
        (self.at, self.stamped, self.status.progress(), self.status)
    }

    /// How far the carrier's time was ahead of the receipt, when beyond [`CLOCK_TOLERANCE`].
    pub fn clock_ahead_by(&self) -> Option<TimeDelta> {
        let ahead = self.stamped - self.at;
        (ahead > CLOCK_TOLERANCE).then_some(ahead)
    }
}

/// Places a scan stamped `stamped` by the carrier and received by Waybill at `received`.
pub fn place(status: TrackingStatus, stamped: DateTime<Utc>, received: DateTime<Utc>) -> PlacedScan {
    PlacedScan { status, at: stamped.min(received), stamped }
}

/// A shipment's tracking position: its status, the furthest stage it has reached, and the
/// placed time of the newest scan applied.
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

    /// The state after one scan of `incoming` placed at `at`. A scan older than the newest one
    /// applied ("late") may only move the shipment forward; [`TrackingState::replay`] applies
    /// scans in order, so only callers folding scans one by one meet late ones.
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

    /// The state of a shipment from every scan it has, whatever order they arrived in: the
    /// scans applied from a freshly booked state in placed order.
    pub fn replay(scans: impl IntoIterator<Item = PlacedScan>) -> Self {
        let mut scans: Vec<_> = scans.into_iter().collect();
        scans.sort_by_key(PlacedScan::order_key);
        scans.into_iter().fold(Self::booked(), |s, scan| s.apply(scan.status, scan.at))
    }

    /// Whether scans placed at or after `at` can be folded onto this state one by one and give
    /// what [`TrackingState::replay`] would: only when none of them sorts before the newest
    /// scan already applied.
    pub fn extends_to(&self, at: DateTime<Utc>) -> bool {
        self.last_scan_at.is_none_or(|last| at > last)
    }

    /// Folds scans that all sort after the ones already applied (see
    /// [`TrackingState::extends_to`]) onto this state.
    pub fn extend(self, scans: impl IntoIterator<Item = PlacedScan>) -> Self {
        let mut scans: Vec<_> = scans.into_iter().collect();
        scans.sort_by_key(PlacedScan::order_key);
        scans.into_iter().fold(self, |s, scan| s.apply(scan.status, scan.at))
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
            assert_eq!(T::parse(s.as_str()), Some(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for r in NdrReason::ALL {
            assert_eq!(NdrReason::parse(r.as_str()), Some(*r));
        }
        assert_eq!(T::parse("Delivered"), None);
    }

    /// The fault that froze statuses: one push stamped an hour ahead made every honest scan
    /// after it "late", so the failed delivery never showed.
    #[test]
    fn a_scan_from_the_future_does_not_freeze_the_status() {
        let pushed = |status, stamped: i64, received: i64| place(status, at(stamped), at(received));
        let scans = [
            pushed(T::PickedUp, 1, 1),
            pushed(T::OutForDelivery, 70, 10), // the carrier's clock is an hour ahead
            pushed(T::DeliveryFailed, 20, 20),
        ];
        assert_eq!(scans[1].at, at(10), "placed at its receipt");
        assert_eq!(scans[1].clock_ahead_by(), Some(TimeDelta::minutes(60)));
        assert_eq!(scans[2].clock_ahead_by(), None);
        assert_eq!(TrackingState::replay(scans).status, T::DeliveryFailed);
    }

    #[test]
    fn small_drift_is_placed_but_not_reported() {
        let s = place(T::InTransit, at(12), at(10));
        assert_eq!((s.at, s.clock_ahead_by()), (at(10), None));
    }

    #[test]
    fn extending_equals_replaying_when_new_scans_are_newer() {
        let old = [place(T::PickedUp, at(1), at(1)), place(T::OutForDelivery, at(3), at(3))];
        let new = [place(T::DeliveryFailed, at(4), at(4))];
        let state = TrackingState::replay(old);
        assert!(state.extends_to(at(4)) && !state.extends_to(at(3)));
        assert_eq!(state.extend(new), TrackingState::replay(old.into_iter().chain(new)));
    }

    // --- Property tests --------------------------------------------------------------------

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

    /// A parcel's honest journey: statuses at strictly increasing true times (minutes), at
    /// least `gap` apart, ending with at most one final status.
    fn journey() -> impl Strategy<Value = Vec<(T, i64)>> {
        let moving = proptest::sample::select(T::ALL.iter().copied().filter(|s| !s.is_final()).collect::<Vec<_>>());
        let ending = proptest::option::of(proptest::sample::select(vec![T::Delivered, T::Returned, T::Cancelled]));
        (proptest::collection::vec((moving, 10i64..120), 1..14), ending, 10i64..120).prop_map(
            |(steps, end, last_gap)| {
                let mut t = 0;
                let mut out: Vec<(T, i64)> = steps
                    .into_iter()
                    .map(|(s, gap)| {
                        t += gap;
                        (s, t)
                    })
                    .collect();
                if let Some(end) = end {
                    out.push((end, t + last_gap));
                }
                out
            },
        )
    }

    /// The status the honest journey gives: every scan in true order, stamped truly.
    fn honest(journey: &[(T, i64)]) -> T {
        TrackingState::replay(journey.iter().map(|(s, t)| place(*s, at(*t), at(*t)))).status
    }

    /// What Waybill ends up with after `deliveries`: each is a batch of scan indexes received
    /// at one time. A scan's first receipt places it (later copies are dropped as duplicates,
    /// as the store does by the scan's key); the state is replayed after every batch, and
    /// extended instead when every new scan sorts after the ones applied, as the store does.
    fn received(journey: &[(T, i64)], stamps: &[i64], deliveries: &[(i64, Vec<usize>)]) -> TrackingState {
        let mut recorded: Vec<Option<PlacedScan>> = vec![None; journey.len()];
        let mut state = TrackingState::booked();
        for (when, batch) in deliveries {
            let mut fresh = Vec::new();
            for &i in batch {
                if recorded[i].is_none() {
                    let scan = place(journey[i].0, at(stamps[i]), at(*when));
                    recorded[i] = Some(scan);
                    fresh.push(scan);
                }
            }
            if fresh.is_empty() || state.status.is_final() {
                continue;
            }
            state = if fresh.iter().all(|s| state.extends_to(s.at)) {
                state.extend(fresh)
            } else {
                TrackingState::replay(recorded.iter().flatten().copied())
            };
        }
        state
    }

    /// A clock fault: one scan stamped `ahead` minutes late, or every scan from `from` on.
    #[derive(Debug, Clone)]
    enum Clock {
        Honest,
        OneAhead { index: usize, ahead: i64 },
        JumpsAhead { from: usize, ahead: i64 },
    }

    fn clock() -> impl Strategy<Value = Clock> {
        prop_oneof![
            Just(Clock::Honest),
            (any::<prop::sample::Index>(), 1i64..=525_600)
                .prop_map(|(i, ahead)| Clock::OneAhead { index: i.index(usize::MAX), ahead }),
            (any::<prop::sample::Index>(), 1i64..=1_440)
                .prop_map(|(i, ahead)| Clock::JumpsAhead { from: i.index(usize::MAX), ahead }),
        ]
    }

    fn stamps(journey: &[(T, i64)], clock: &Clock) -> Vec<i64> {
        let n = journey.len();
        journey
            .iter()
            .enumerate()
            .map(|(i, (_, t))| match *clock {
                Clock::OneAhead { index, ahead } if i == index % n => t + ahead,
                Clock::JumpsAhead { from, ahead } if i >= from % n => t + ahead,
                _ => *t,
            })
            .collect()
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

        /// A replay gives one answer whatever order the scans came in, and duplicates change nothing.
        #[test]
        fn replays_are_order_and_duplicate_insensitive(scans in any_scans(), seed in any::<u64>()) {
            let placed: Vec<_> = scans.iter().map(|(s, m)| place(*s, at(*m), at(60))).collect();
            let mut shuffled = placed.clone();
            let n = shuffled.len();
            for i in (1..n).rev() {
                shuffled.swap(i, (seed.wrapping_mul(i as u64 + 7) % (i as u64 + 1)) as usize);
            }
            shuffled.extend(placed.iter().take(3).copied());
            prop_assert_eq!(TrackingState::replay(placed), TrackingState::replay(shuffled));
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

        /// Pushed scans, each received within minutes of happening (before the next event),
        /// arriving in any order, some sent twice, under any clock fault: one scan stamped up to a
        /// year ahead, or the carrier's clock jumping up to a day ahead from some scan on. The
        /// shipment ends where the honest journey ends. (A final status is a parcel's last scan
        /// and arrives last: it is never changed once recorded.)
        #[test]
        fn pushed_scans_end_where_the_honest_journey_ends(
            journey in journey(),
            clock in clock(),
            delays in proptest::collection::vec(0i64..10, 15),
            order in any::<u64>(),
            repeats in proptest::collection::vec(any::<prop::sample::Index>(), 0..5),
        ) {
            let stamps = stamps(&journey, &clock);
            let mut deliveries: Vec<(i64, Vec<usize>)> =
                journey.iter().enumerate().map(|(i, (_, t))| (t + delays[i], vec![i])).collect();
            // Any arrival order among the non-final scans: pushes overtake each other.
            let last = journey.len() - 1;
            let movable = if journey[last].0.is_final() { last } else { journey.len() };
            for i in (1..movable).rev() {
                deliveries.swap(i, (order.wrapping_mul(i as u64 + 3) % (i as u64 + 1)) as usize);
            }
            let end = deliveries.iter().map(|(when, _)| *when).max().unwrap_or(0);
            for r in repeats {
                deliveries.push((end + 1, vec![r.index(journey.len())]));
            }
            let state = received(&journey, &stamps, &deliveries);
            prop_assert_eq!(state.status, honest(&journey), "{:?} {:?}", clock, deliveries);
        }

        /// Pulled scans: polls at any times each return every scan that has happened so far,
        /// the carrier's clock jumping ahead (up to a day, from any scan on, or from the first:
        /// a time zone sent as UTC). The shipment ends where the honest journey ends.
        #[test]
        fn pulled_scans_under_a_clock_jump_end_where_the_honest_journey_ends(
            journey in journey(),
            from in any::<prop::sample::Index>(),
            ahead in 1i64..=1_440,
            polls in proptest::collection::vec(1i64..2_000, 1..12),
        ) {
            let clock = Clock::JumpsAhead { from: from.index(journey.len()), ahead };
            let stamps = stamps(&journey, &clock);
            let mut polls = polls;
            polls.sort_unstable();
            let last_event = journey.last().map_or(0, |(_, t)| *t);
            polls.push(last_event + 1);
            let deliveries: Vec<(i64, Vec<usize>)> = polls
                .into_iter()
                .map(|when| (when, (0..journey.len()).filter(|&i| journey[i].1 <= when).collect()))
                .collect();
            let state = received(&journey, &stamps, &deliveries);
            prop_assert_eq!(state.status, honest(&journey), "{:?} {:?}", clock, deliveries);
        }
    }
}
