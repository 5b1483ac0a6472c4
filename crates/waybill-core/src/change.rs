//! Changes after booking: what a merchant may still change on a booked shipment, and how.
//!
//! The recipient's details (name, phone, street lines) and the cash to collect go through the
//! carrier's update call where it takes them. Anything else (another city, postcode or country,
//! other parcels, COD added or removed), or a carrier without the call, means voiding the
//! booking and booking again, which only works before the carrier picked the parcel up. After
//! delivery, return or cancellation nothing changes.

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::ids::{ShipmentChangeId, ShipmentId, TenantId};
use crate::money::Money;
use crate::parcel::Parcel;
use crate::scope::Mode;
use crate::shipment::{BookingState, Shipment};
use crate::tracking::TrackingStatus;

crate::named_enum! {
    /// A part of a booked shipment that a change touches.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum ChangedField as "snake_case" {
        /// The recipient's name, company, phone, email or street lines, at the same place.
        Recipient,
        /// The city, postcode, region or country: another delivery route.
        Destination,
        /// The amount of cash to collect, in the same currency.
        Cod,
        /// Cash on delivery added to a prepaid shipment, or taken off one.
        Payment,
        Parcels,
    }
}

crate::named_enum! {
    /// How a change reached the carrier.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum ChangeMethod as "snake_case" {
        /// The carrier's update call changed the booking; the tracking number stays.
        CarrierUpdate,
        /// The booking was voided and the shipment booked again: a new shipment, tracking number
        /// and label.
        Rebooked,
    }
}

/// What of a booking a carrier's update call can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdatableFields {
    pub recipient: bool,
    pub cod: bool,
    pub parcels: bool,
}

impl UpdatableFields {
    pub const NONE: Self = Self { recipient: false, cod: false, parcels: false };

    fn takes(self, field: ChangedField) -> bool {
        match field {
            ChangedField::Recipient => self.recipient,
            ChangedField::Cod => self.cod,
            ChangedField::Parcels => self.parcels,
            ChangedField::Destination | ChangedField::Payment => false,
        }
    }
}

/// What the shipment should become: its fields after the change.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub ship_to: Address,
    pub cod: Option<Money>,
    pub parcels: Vec<Parcel>,
}

impl Target {
    /// The shipment as it is now.
    pub fn of(shipment: &Shipment) -> Self {
        Self { ship_to: shipment.ship_to.clone(), cod: shipment.cod, parcels: shipment.parcels.clone() }
    }
}

/// Why a change is refused. Nothing is changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeRefusal {
    #[error("nothing to change: the values given are the shipment's own")]
    NothingChanged,
    #[error("the shipment is not booked (booking state `{}`)", .0.as_str())]
    NotBooked(BookingState),
    #[error("the shipment is `{}`: it can no longer be changed", .0.as_str())]
    TooLate(TrackingStatus),
    #[error(
        "{carrier} cannot change {} through its API, and the parcel was picked up (status `{}`), so it cannot be \
         booked again; ask the carrier",
        fields.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", "),
        status.as_str()
    )]
    PickedUp { carrier: String, fields: Vec<ChangedField>, status: TrackingStatus },
}

/// The parts of `shipment` that `target` changes.
pub fn changed_fields(shipment: &Shipment, target: &Target) -> Vec<ChangedField> {
    let (a, b) = (&shipment.ship_to, &target.ship_to);
    let mut changed = Vec::new();
    if (&a.name, &a.company, &a.phone, &a.email, &a.street1, &a.street2)
        != (&b.name, &b.company, &b.phone, &b.email, &b.street1, &b.street2)
    {
        changed.push(ChangedField::Recipient);
    }
    if (&a.city, &a.state, &a.postal_code, &a.country) != (&b.city, &b.state, &b.postal_code, &b.country) {
        changed.push(ChangedField::Destination);
    }
    match (&shipment.cod, &target.cod) {
        (Some(x), Some(y)) if x.currency == y.currency && x.amount != y.amount => changed.push(ChangedField::Cod),
        (Some(x), Some(y)) if x.currency != y.currency => changed.push(ChangedField::Payment),
        (None, Some(_)) | (Some(_), None) => changed.push(ChangedField::Payment),
        _ => {}
    }
    if shipment.parcels != target.parcels {
        changed.push(ChangedField::Parcels);
    }
    changed
}

/// How `changed` can reach the carrier of `shipment`, whose update call takes `updatable`.
pub fn plan(
    shipment: &Shipment,
    changed: &[ChangedField],
    updatable: UpdatableFields,
) -> Result<ChangeMethod, ChangeRefusal> {
    if shipment.booking_state != BookingState::Booked {
        return Err(ChangeRefusal::NotBooked(shipment.booking_state));
    }
    if shipment.status.is_final() || shipment.status == TrackingStatus::ReturnToOrigin {
        return Err(ChangeRefusal::TooLate(shipment.status));
    }
    if changed.is_empty() {
        return Err(ChangeRefusal::NothingChanged);
    }
    if changed.iter().all(|f| updatable.takes(*f)) {
        return Ok(ChangeMethod::CarrierUpdate);
    }
    if shipment.status == TrackingStatus::InfoReceived {
        return Ok(ChangeMethod::Rebooked);
    }
    Err(ChangeRefusal::PickedUp {
        carrier: shipment.carrier.clone(),
        fields: changed.iter().copied().filter(|f| !updatable.takes(*f)).collect(),
        status: shipment.status,
    })
}

/// One field's value before and after, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Where in the shipment: `/ship_to`, `/cod`, `/parcels`.
    pub pointer: String,
    pub from: serde_json::Value,
    pub to: serde_json::Value,
}

/// A change kept in a shipment's audit trail (times in epoch milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipmentChange {
    pub id: ShipmentChangeId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    pub shipment_id: ShipmentId,
    pub fields: Vec<ChangedField>,
    pub values: Vec<FieldChange>,
    pub method: ChangeMethod,
    /// The shipment booked in its place (`rebooked`).
    pub replacement_shipment_id: Option<ShipmentId>,
    /// What went wrong on the way, e.g. the carrier refused the new booking.
    pub note: Option<String>,
    pub created_at: i64,
}

/// The before-and-after values of `changed`.
pub fn values(shipment: &Shipment, target: &Target, changed: &[ChangedField]) -> Vec<FieldChange> {
    let mut out = Vec::new();
    if changed.iter().any(|f| matches!(f, ChangedField::Recipient | ChangedField::Destination)) {
        out.push(FieldChange { pointer: "/ship_to".into(), from: json(&shipment.ship_to), to: json(&target.ship_to) });
    }
    if changed.iter().any(|f| matches!(f, ChangedField::Cod | ChangedField::Payment)) {
        out.push(FieldChange { pointer: "/cod".into(), from: json(&shipment.cod), to: json(&target.cod) });
    }
    if changed.contains(&ChangedField::Parcels) {
        out.push(FieldChange { pointer: "/parcels".into(), from: json(&shipment.parcels), to: json(&target.parcels) });
    }
    out
}

fn json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("shipment fields serialize")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn shipment(status: TrackingStatus) -> Shipment {
        let ship_to = serde_json::from_value(serde_json::json!({"name": "Ayşe", "phone": "+905551112233",
            "street1": "İnönü Sk. 5", "city": "İzmir", "postal_code": "35210", "country": "TR"}))
        .unwrap();
        let cod = serde_json::from_value(serde_json::json!({"amount": "100.00", "currency": "TRY"})).unwrap();
        let parcels = vec![crate::parcel::Parcel { weight_g: 1250, dimensions_mm: None }];
        Shipment { status, ship_to, cod: Some(cod), parcels, reference: None, ..crate::shipment::sample() }
    }

    const SANDBOX: UpdatableFields = UpdatableFields { recipient: true, cod: true, parcels: false };

    #[test]
    fn each_part_of_a_change_is_named() {
        let s = shipment(TrackingStatus::InfoReceived);
        let mut t = Target::of(&s);
        assert_eq!(changed_fields(&s, &t), []);
        t.ship_to.phone = Some("+905559998877".into());
        assert_eq!(changed_fields(&s, &t), [ChangedField::Recipient]);
        t.ship_to.postal_code = "35220".into();
        t.cod = Some(Money::new(rust_decimal::Decimal::new(15000, 2), s.cod.unwrap().currency));
        assert_eq!(changed_fields(&s, &t), [ChangedField::Recipient, ChangedField::Destination, ChangedField::Cod]);
        t.cod = None;
        t.parcels[0].weight_g = 2000;
        assert_eq!(
            changed_fields(&s, &t),
            [ChangedField::Recipient, ChangedField::Destination, ChangedField::Payment, ChangedField::Parcels]
        );
        let values = values(&s, &t, &changed_fields(&s, &t));
        let pointers: Vec<_> = values.iter().map(|v| v.pointer.as_str()).collect();
        assert_eq!(pointers, ["/ship_to", "/cod", "/parcels"]);
        assert_eq!(values[1].to, serde_json::Value::Null);
    }

    #[test]
    fn the_carrier_updates_what_it_can_and_a_waiting_parcel_is_booked_again_for_the_rest() {
        let waiting = shipment(TrackingStatus::InfoReceived);
        let moving = shipment(TrackingStatus::InTransit);
        assert_eq!(
            plan(&moving, &[ChangedField::Recipient, ChangedField::Cod], SANDBOX),
            Ok(ChangeMethod::CarrierUpdate)
        );
        assert_eq!(plan(&waiting, &[ChangedField::Destination], SANDBOX), Ok(ChangeMethod::Rebooked));
        assert_eq!(plan(&waiting, &[ChangedField::Recipient], UpdatableFields::NONE), Ok(ChangeMethod::Rebooked));
        match plan(&moving, &[ChangedField::Recipient, ChangedField::Parcels], SANDBOX) {
            Err(ChangeRefusal::PickedUp { fields, .. }) => assert_eq!(fields, [ChangedField::Parcels]),
            other => panic!("{other:?}"),
        }
        assert_eq!(plan(&waiting, &[], SANDBOX), Err(ChangeRefusal::NothingChanged));
    }

    fn status() -> impl Strategy<Value = TrackingStatus> {
        proptest::sample::select(TrackingStatus::ALL.to_vec())
    }

    fn booking() -> impl Strategy<Value = BookingState> {
        proptest::sample::select(BookingState::ALL.to_vec())
    }

    fn fields() -> impl Strategy<Value = Vec<ChangedField>> {
        proptest::sample::subsequence(ChangedField::ALL.to_vec(), 0..=ChangedField::ALL.len())
    }

    proptest! {
        /// Nothing changes a shipment that was delivered, returned, cancelled or is going back;
        /// only a booked one changes; a booking is only redone before pickup; the carrier's
        /// update call is only used for what it takes.
        #[test]
        fn changes_follow_the_parcel_s_journey(
            status in status(),
            booking in booking(),
            changed in fields(),
            recipient in any::<bool>(),
            cod in any::<bool>(),
            parcels in any::<bool>(),
        ) {
            let mut s = shipment(status);
            s.booking_state = booking;
            let updatable = UpdatableFields { recipient, cod, parcels };
            match plan(&s, &changed, updatable) {
                Ok(method) => {
                    prop_assert!(!changed.is_empty());
                    prop_assert_eq!(booking, BookingState::Booked);
                    prop_assert!(!status.is_final() && status != TrackingStatus::ReturnToOrigin);
                    match method {
                        ChangeMethod::CarrierUpdate => prop_assert!(changed.iter().all(|f| updatable.takes(*f))),
                        ChangeMethod::Rebooked => prop_assert_eq!(status, TrackingStatus::InfoReceived),
                    }
                }
                Err(ChangeRefusal::TooLate(s)) => prop_assert!(s.is_final() || s == TrackingStatus::ReturnToOrigin),
                Err(ChangeRefusal::PickedUp { fields, .. }) => {
                    prop_assert!(status != TrackingStatus::InfoReceived);
                    prop_assert!(!fields.is_empty() && fields.iter().all(|f| !updatable.takes(*f)));
                }
                Err(ChangeRefusal::NotBooked(b)) => prop_assert_ne!(b, BookingState::Booked),
                Err(ChangeRefusal::NothingChanged) => prop_assert!(changed.is_empty()),
            }
        }
    }
}
