//! End-of-day manifests: the list of parcels a carrier's driver takes away, one per carrier
//! account per close. A manifest holds every shipment booked on the account that is still
//! waiting for its pickup and was on no manifest before; its entries are fixed when it is
//! made (the printed sheet never changes). Where the carrier has a close call, the manifest is
//! `closing` until the carrier confirmed it (`closed`) or refused (`failed`, which may be sent
//! again); without one it is `closed` at once.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::{CarrierAccountId, ManifestId, OrderId, ShipmentId, TenantId};
use crate::money::Money;
use crate::scope::{Mode, Scope};
use crate::shipment::{BookingState, Shipment};
use crate::tracking::TrackingStatus;

crate::named_enum! {
    /// Where a manifest stands with its carrier.
    pub enum ManifestStatus as "snake_case" {
        /// Made; the carrier's close call has not answered yet (it is retried until it does).
        Closing,
        /// Confirmed by the carrier, or made for a carrier without a close call.
        Closed,
        /// The carrier refused the close; it can be sent again.
        Failed,
    }
}

/// What the carrier said about a close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseOutcome {
    /// Accepted, with the carrier's own manifest number when it gives one.
    Closed {
        carrier_reference: Option<String>,
    },
    Refused {
        code: String,
        message: String,
    },
}

/// Why a manifest is `failed`, for the merchant to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestError {
    pub code: String,
    pub message: String,
}

/// Why a manifest cannot move as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestRefusal {
    #[error("the manifest is `{}`; only a failed close can be sent again", .0.as_str())]
    NotFailed(ManifestStatus),
    #[error("the manifest is `{}`; only a closing manifest takes the carrier's answer", .0.as_str())]
    NotClosing(ManifestStatus),
}

/// One parcel line of the manifest, as printed: a snapshot of the shipment when it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub shipment_id: ShipmentId,
    pub order_id: Option<OrderId>,
    pub tracking_number: String,
    pub service: String,
    pub reference: Option<String>,
    pub consignee: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
    pub parcels: u32,
    pub weight_g: u64,
    pub cod: Option<Money>,
}

impl ManifestEntry {
    /// The entry for `shipment` when it belongs on a manifest of `account`: booked there, with
    /// a tracking number, and not yet picked up or cancelled.
    pub fn of(shipment: &Shipment, account: &CarrierAccountId) -> Option<Self> {
        if &shipment.carrier_account_id != account
            || shipment.booking_state != BookingState::Booked
            || shipment.status != TrackingStatus::InfoReceived
            || shipment.is_return
        {
            return None;
        }
        let tracking_number = shipment.tracking_number.clone()?;
        Some(ManifestEntry {
            shipment_id: shipment.id.clone(),
            order_id: shipment.order_id.clone(),
            tracking_number,
            service: shipment.service.clone(),
            reference: shipment.reference.clone(),
            consignee: shipment.ship_to.name.clone(),
            city: shipment.ship_to.city.clone(),
            postal_code: shipment.ship_to.postal_code.clone(),
            country: shipment.ship_to.country.clone(),
            parcels: shipment.parcels.len().max(1) as u32,
            weight_g: shipment.parcels.iter().map(|p| p.weight_g).sum(),
            cod: shipment.cod,
        })
    }
}

/// The sums printed at the foot of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestTotals {
    pub shipments: u32,
    pub parcels: u32,
    pub weight_g: u64,
    /// Cash to collect, one sum per currency (in currency order).
    pub cod: Vec<Money>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: ManifestId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    pub carrier_account_id: CarrierAccountId,
    pub carrier: String,
    pub status: ManifestStatus,
    /// Whether the carrier is told through its API (`capabilities.manifest`).
    pub carrier_close: bool,
    /// The carrier's own number for the close, when it gives one.
    pub carrier_reference: Option<String>,
    pub entries: Vec<ManifestEntry>,
    pub error: Option<ManifestError>,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
}

impl Manifest {
    pub fn scope(&self) -> Scope {
        Scope::new(self.tenant_id.clone(), self.mode)
    }

    pub fn totals(&self) -> ManifestTotals {
        let mut cod: BTreeMap<&str, Money> = BTreeMap::new();
        for money in self.entries.iter().filter_map(|e| e.cod.as_ref()) {
            cod.entry(money.currency.code()).or_insert_with(|| Money::new(Decimal::ZERO, money.currency)).amount +=
                money.amount;
        }
        ManifestTotals {
            shipments: self.entries.len() as u32,
            parcels: self.entries.iter().map(|e| e.parcels).sum(),
            weight_g: self.entries.iter().map(|e| e.weight_g).sum(),
            cod: cod.into_values().collect(),
        }
    }

    /// Takes the carrier's answer to a close: only a `closing` manifest moves, once.
    pub fn settle(&mut self, outcome: CloseOutcome, now: i64) -> Result<(), ManifestRefusal> {
        if self.status != ManifestStatus::Closing {
            return Err(ManifestRefusal::NotClosing(self.status));
        }
        match outcome {
            CloseOutcome::Closed { carrier_reference } => {
                self.status = ManifestStatus::Closed;
                self.carrier_reference = carrier_reference;
                self.error = None;
                self.closed_at = Some(now);
            }
            CloseOutcome::Refused { code, message } => {
                self.status = ManifestStatus::Failed;
                self.error = Some(ManifestError { code, message });
            }
        }
        self.updated_at = now;
        Ok(())
    }

    /// Sends a refused close again: back to `closing`, its entries unchanged.
    pub fn retry(&mut self, now: i64) -> Result<(), ManifestRefusal> {
        if self.status != ManifestStatus::Failed {
            return Err(ManifestRefusal::NotFailed(self.status));
        }
        self.status = ManifestStatus::Closing;
        self.error = None;
        self.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn shipment(status: TrackingStatus, booking: BookingState, cod: Option<i64>, parcels: usize) -> Shipment {
        let parcels =
            (0..parcels).map(|i| crate::parcel::Parcel { weight_g: 500 + i as u64, dimensions_mm: None }).collect();
        Shipment { status, booking_state: booking, cod: cod.map(lira), parcels, ..crate::shipment::sample() }
    }

    fn money(amount: i64, currency: &str) -> Money {
        Money::new(Decimal::new(amount, 2), currency.parse().unwrap())
    }

    fn lira(amount: i64) -> Money {
        money(amount, "TRY")
    }

    fn account() -> CarrierAccountId {
        CarrierAccountId::parse("car_01jd3xk8w3v6a8g0n6r1c5e2qz").unwrap()
    }

    fn manifest(entries: Vec<ManifestEntry>) -> Manifest {
        Manifest {
            id: ManifestId::generate(),
            tenant_id: TenantId::generate(),
            mode: Mode::Test,
            carrier_account_id: account(),
            carrier: "sandbox".into(),
            status: ManifestStatus::Closing,
            carrier_close: true,
            carrier_reference: None,
            entries,
            error: None,
            created_at: 0,
            updated_at: 0,
            closed_at: None,
        }
    }

    #[test]
    fn only_booked_parcels_waiting_for_pickup_on_this_account_are_listed() {
        let waiting = shipment(TrackingStatus::InfoReceived, BookingState::Booked, None, 2);
        let entry = ManifestEntry::of(&waiting, &account()).unwrap();
        assert_eq!((entry.parcels, entry.weight_g, entry.consignee.as_str()), (2, 1001, "Ayşe"));
        for status in [TrackingStatus::PickedUp, TrackingStatus::Cancelled, TrackingStatus::Delivered] {
            assert!(ManifestEntry::of(&shipment(status, BookingState::Booked, None, 1), &account()).is_none());
        }
        for booking in [BookingState::Pending, BookingState::Failed, BookingState::Unknown] {
            assert!(ManifestEntry::of(&shipment(TrackingStatus::InfoReceived, booking, None, 1), &account()).is_none());
        }
        let other = CarrierAccountId::generate();
        assert!(ManifestEntry::of(&waiting, &other).is_none());
        let mut customer_return = waiting.clone();
        customer_return.is_return = true;
        assert!(ManifestEntry::of(&customer_return, &account()).is_none());
        let mut no_awb = waiting;
        no_awb.tracking_number = None;
        assert!(ManifestEntry::of(&no_awb, &account()).is_none());
    }

    #[test]
    fn totals_sum_cash_on_delivery_per_currency() {
        let mut entries: Vec<_> = [Some(1000), None, Some(250)]
            .into_iter()
            .map(|cod| {
                ManifestEntry::of(&shipment(TrackingStatus::InfoReceived, BookingState::Booked, cod, 1), &account())
                    .unwrap()
            })
            .collect();
        entries[1].cod = Some(money(700, "EUR"));
        let totals = manifest(entries).totals();
        assert_eq!((totals.shipments, totals.parcels, totals.weight_g), (3, 3, 1500));
        assert_eq!(totals.cod, vec![money(700, "EUR"), lira(1250)]);
    }

    fn outcome() -> impl Strategy<Value = CloseOutcome> {
        prop_oneof![
            proptest::option::of("[A-Z0-9]{4,10}")
                .prop_map(|carrier_reference| CloseOutcome::Closed { carrier_reference }),
            ("[A-Z_]{3,12}", ".{0,20}").prop_map(|(code, message)| CloseOutcome::Refused { code, message }),
        ]
    }

    #[derive(Debug, Clone)]
    enum Step {
        Answer(CloseOutcome),
        Retry,
    }

    proptest! {
        /// However answers and retries interleave, a closed manifest never changes again, its
        /// entries never change, and a failed one always says why.
        #[test]
        fn a_closed_manifest_is_final_and_entries_are_fixed(
            steps in proptest::collection::vec(prop_oneof![outcome().prop_map(Step::Answer), Just(Step::Retry)], 0..12),
        ) {
            let entries = vec![ManifestEntry::of(&shipment(TrackingStatus::InfoReceived, BookingState::Booked, Some(5), 1), &account()).unwrap()];
            let mut m = manifest(entries.clone());
            let mut closed: Option<Manifest> = None;
            for (now, step) in steps.into_iter().enumerate() {
                let before = m.clone();
                let result = match step {
                    Step::Answer(o) => m.settle(o, now as i64),
                    Step::Retry => m.retry(now as i64),
                };
                if result.is_err() {
                    prop_assert_eq!(&m, &before, "a refused step changes nothing");
                }
                if let Some(c) = &closed {
                    prop_assert_eq!(&m, c);
                }
                if m.status == ManifestStatus::Closed {
                    prop_assert!(m.closed_at.is_some());
                    closed.get_or_insert(m.clone());
                }
                prop_assert_eq!(m.status == ManifestStatus::Failed, m.error.is_some());
                prop_assert_eq!(&m.entries, &entries);
            }
        }
    }
}
