//! Information requests: a carrier refused a booking over one field of the delivery address, or
//! its scan asks for one (a phone number to reach the recipient, a street it cannot find). The
//! request names the field and keeps the carrier's code and words; the fix (from the merchant
//! or the customer) is checked like any address and sent back to the carrier: booked again,
//! updated at the carrier, or voided and booked again before pickup. A request is answered
//! once; one request is open per shipment at a time.

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::error::FieldError;
use crate::ids::{InformationRequestId, OrderId, ShipmentId, TenantId, TrackingEventId};
use crate::order::ShipmentLine;
use crate::{Mode, text};

crate::named_enum! {
    /// The part of the delivery address a carrier asks for.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum InfoField as "snake_case" {
        PostalCode,
        Phone,
        /// The first street line.
        Street,
        City,
        /// The recipient's name.
        Name,
    }
}

impl InfoField {
    /// Where the field is in a shipment: `/ship_to/postal_code`.
    pub fn pointer(self) -> &'static str {
        match self {
            Self::PostalCode => "/ship_to/postal_code",
            Self::Phone => "/ship_to/phone",
            Self::Street => "/ship_to/street1",
            Self::City => "/ship_to/city",
            Self::Name => "/ship_to/name",
        }
    }

    /// The field a carrier's refusal names by pointer (`/ship_to/phone`); `None` for anything
    /// but the recipient's address (the sender, the parcels, the country: not the customer's
    /// to fix).
    pub fn of_pointer(pointer: &str) -> Option<InfoField> {
        match pointer.strip_prefix("/ship_to/")? {
            "postal_code" => Some(Self::PostalCode),
            "phone" => Some(Self::Phone),
            "street1" | "street2" => Some(Self::Street),
            "city" => Some(Self::City),
            "name" => Some(Self::Name),
            _ => None,
        }
    }

    /// `address` with `value` in this field (trimmed; a postcode in capitals).
    pub fn apply(self, address: &Address, value: &str) -> Address {
        let value = value.trim().to_owned();
        let mut fixed = address.clone();
        match self {
            Self::PostalCode => fixed.postal_code = value,
            Self::Phone => fixed.phone = Some(value),
            Self::Street => fixed.street1 = value,
            Self::City => fixed.city = value,
            Self::Name => fixed.name = value,
        }
        fixed.normalized()
    }

    /// The field's value in `address`, as a person would read it.
    pub fn value_in(self, address: &Address) -> String {
        match self {
            Self::PostalCode => address.postal_code.clone(),
            Self::Phone => address.phone.clone().unwrap_or_default(),
            Self::Street => address.street1.clone(),
            Self::City => address.city.clone(),
            Self::Name => address.name.clone(),
        }
    }
}

/// `address` fixed with `value` in `field`, checked as the API checks a whole address: each
/// problem of that field is reported at `/value`; `value` must change the field.
pub fn fix(field: InfoField, address: &Address, value: &str) -> Result<Address, Vec<FieldError>> {
    if value.trim().is_empty() {
        return Err(vec![FieldError::new("/value", "give the corrected value")]);
    }
    let fixed = field.apply(address, value);
    let at = field.pointer();
    let problems: Vec<FieldError> = fixed
        .problems("/ship_to")
        .into_iter()
        .filter(|p| p.pointer == at)
        .map(|p| FieldError::new("/value", p.detail))
        .collect();
    if !problems.is_empty() {
        return Err(problems);
    }
    if field.value_in(&fixed) == field.value_in(address) {
        return Err(vec![FieldError::new("/value", "this is the value the carrier refused; give the corrected one")]);
    }
    Ok(fixed)
}

crate::named_enum! {
    /// What raised the request.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum InfoSource as "snake_case" {
        /// The carrier refused the booking over the field: nothing is booked yet.
        BookingRefusal,
        /// A scan of a booked parcel asks for it.
        CarrierScan,
    }
}

crate::named_enum! {
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum InfoState as "snake_case" {
        /// Waiting for the fix.
        Open,
        /// Fixed and sent to the carrier.
        Resolved,
        /// No longer needed: the shipment ended (delivered, returned, cancelled) or was booked
        /// again by other means.
        Withdrawn,
    }
}

crate::named_enum! {
    /// How the fix reached the carrier.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum InfoMethod as "snake_case" {
        /// The refused booking was booked again with the fix: a new shipment.
        BookedAgain,
        /// The carrier's update call took it: same tracking number.
        CarrierUpdate,
        /// Voided and booked again before pickup: a new shipment, tracking number and label.
        Rebooked,
    }
}

crate::named_enum! {
    /// Who gave the fix.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum InfoActor as "snake_case" {
        Merchant,
        Customer,
    }
}

/// The answer to a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoResolution {
    pub by: InfoActor,
    pub value: String,
    pub method: InfoMethod,
    /// The shipment that now carries the parcel, when it is a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_shipment_id: Option<ShipmentId>,
    /// Said when the fix was sent but booking again did not succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub at: i64,
}

/// A carrier's request for one field of a shipment's delivery address (times in epoch
/// milliseconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InformationRequest {
    pub id: InformationRequestId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    pub shipment_id: ShipmentId,
    pub order_id: Option<OrderId>,
    pub field: InfoField,
    pub source: InfoSource,
    /// The scan that asked, for a request raised by one.
    pub scan_id: Option<TrackingEventId>,
    pub carrier_code: String,
    pub carrier_message: String,
    pub state: InfoState,
    pub raised_at: i64,
    pub resolution: Option<InfoResolution>,
    /// Why it was withdrawn.
    pub withdrawn: Option<String>,
    pub closed_at: Option<i64>,
}

/// The most bookings one fix makes: each after the one before failed without booking.
pub const MAX_BOOKING_ATTEMPTS: u32 = 1000;

/// The `n`-th shipment (from 0) that request `id`'s fix books: named by the request, so a fix
/// sent twice, or by two nodes at once, books under the same id, and the store refuses the
/// second. A new attempt gets the next id only once the one before failed.
pub fn booking_attempt(id: &InformationRequestId, n: u32) -> ShipmentId {
    let base = ulid_of(id.as_str());
    // The attempt number goes into bits 64–79 of the random part: ids made right after the
    // request in the same millisecond differ from it in the low bits only, so none is taken
    // for an attempt.
    let ulid = ulid::Ulid(base.0 ^ (u128::from(n.min(MAX_BOOKING_ATTEMPTS) + 1) << 64));
    ShipmentId::parse(&format!("shp_{}", ulid.to_string().to_ascii_lowercase())).expect("a ULID makes a shipment id")
}

/// Whether `shipment` is one of the shipments request `id`'s fix booked.
pub fn is_booking_attempt(id: &InformationRequestId, shipment: &ShipmentId) -> bool {
    let apart = ulid_of(id.as_str()).0 ^ ulid_of(shipment.as_str()).0;
    apart & u128::from(u64::MAX) == 0 && (1..=u128::from(MAX_BOOKING_ATTEMPTS)).contains(&(apart >> 64))
}

fn ulid_of(prefixed: &str) -> ulid::Ulid {
    let text = prefixed.split_once('_').map_or(prefixed, |(_, rest)| rest);
    ulid::Ulid::from_string(text).expect("ids hold a ULID")
}

/// Whether `booked` carries everything `refused` was to carry (every SKU, at least as many):
/// a request raised by `refused`'s booking is then answered by other means.
pub fn covers(booked: &[ShipmentLine], refused: &[ShipmentLine]) -> bool {
    refused.iter().all(|r| {
        let wanted: u32 = refused.iter().filter(|l| l.sku == r.sku).map(|l| l.quantity).sum();
        let carried: u32 = booked.iter().filter(|l| l.sku == r.sku).map(|l| l.quantity).sum();
        carried >= wanted
    })
}

/// Why a request cannot take a fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InfoRefusal {
    #[error("the request is already {}", .0.as_str())]
    Closed(InfoState),
}

impl InformationRequest {
    /// A request just raised.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        tenant_id: TenantId,
        mode: Mode,
        shipment_id: ShipmentId,
        order_id: Option<OrderId>,
        field: InfoField,
        source: InfoSource,
        scan_id: Option<TrackingEventId>,
        carrier_code: &str,
        carrier_message: &str,
        now: i64,
    ) -> InformationRequest {
        let clip = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        InformationRequest {
            id: InformationRequestId::generate(),
            tenant_id,
            mode,
            shipment_id,
            order_id,
            field,
            source,
            scan_id,
            carrier_code: clip(carrier_code, 64),
            carrier_message: clip(carrier_message, text::INSTRUCTIONS.max),
            state: InfoState::Open,
            raised_at: now,
            resolution: None,
            withdrawn: None,
            closed_at: None,
        }
    }

    /// Whether a fix may still be given.
    pub fn check_open(&self) -> Result<(), InfoRefusal> {
        if self.state == InfoState::Open { Ok(()) } else { Err(InfoRefusal::Closed(self.state)) }
    }

    /// Records the fix, once.
    pub fn resolve(&mut self, resolution: InfoResolution) -> Result<(), InfoRefusal> {
        self.check_open()?;
        self.closed_at = Some(resolution.at);
        self.resolution = Some(resolution);
        self.state = InfoState::Resolved;
        Ok(())
    }

    /// Closes a request nobody needs to answer any more, once.
    pub fn withdraw(&mut self, why: &str, now: i64) -> Result<(), InfoRefusal> {
        self.check_open()?;
        self.withdrawn = Some(why.to_owned());
        self.closed_at = Some(now);
        self.state = InfoState::Withdrawn;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn istanbul() -> Address {
        serde_json::from_value(serde_json::json!({"name": "Ayşe Yılmaz", "phone": "+90 532 000 00 00",
            "street1": "Moda Cd. 1", "city": "İstanbul", "postal_code": "34710", "country": "TR"}))
        .unwrap()
    }

    fn request() -> InformationRequest {
        InformationRequest::open(
            TenantId::generate(),
            Mode::Test,
            ShipmentId::generate(),
            None,
            InfoField::PostalCode,
            InfoSource::BookingRefusal,
            None,
            "PINCODE_NOT_SERVICEABLE",
            "no service at 34999",
            1,
        )
    }

    fn resolution(at: i64) -> InfoResolution {
        InfoResolution {
            by: InfoActor::Merchant,
            value: "34710".into(),
            method: InfoMethod::BookedAgain,
            new_shipment_id: None,
            note: None,
            at,
        }
    }

    #[test]
    fn a_refusal_names_a_field_only_of_the_delivery_address() {
        assert_eq!(InfoField::of_pointer("/ship_to/phone"), Some(InfoField::Phone));
        assert_eq!(InfoField::of_pointer("/ship_to/street2"), Some(InfoField::Street));
        assert_eq!(InfoField::of_pointer("/ship_to/country"), None, "a country is not fixed by a customer");
        assert_eq!(InfoField::of_pointer("/ship_from/postal_code"), None);
        assert_eq!(InfoField::of_pointer("/cod"), None);
        for field in InfoField::ALL {
            assert_eq!(InfoField::of_pointer(field.pointer()), Some(*field));
        }
    }

    #[test]
    fn a_fix_is_checked_like_an_address_and_must_change_the_field() {
        let address = istanbul();
        let fixed = fix(InfoField::PostalCode, &address, " 34 710 ".trim()).map(|a| a.postal_code);
        assert!(fixed.is_err(), "a Turkish postcode has five digits");
        let fixed = fix(InfoField::PostalCode, &address, "06236").unwrap();
        assert_eq!((fixed.postal_code.as_str(), fixed.street1.as_str()), ("06236", "Moda Cd. 1"), "one field moves");
        let same = fix(InfoField::PostalCode, &address, "34710").unwrap_err();
        assert_eq!(same[0].pointer, "/value");
        let blank = fix(InfoField::Phone, &address, "  ").unwrap_err();
        assert_eq!(blank[0].pointer, "/value");
        let letters = fix(InfoField::Phone, &address, "call me maybe").unwrap_err();
        assert!(letters.iter().all(|p| p.pointer == "/value"), "{letters:?}");
        assert_eq!(
            fix(InfoField::Phone, &address, "+90 532 111 22 33").unwrap().phone.as_deref(),
            Some("+90 532 111 22 33")
        );
    }

    #[test]
    fn a_fixs_bookings_are_named_by_its_request_one_id_per_attempt() {
        let id = InformationRequestId::generate();
        let attempts: Vec<ShipmentId> = (0..3).map(|n| booking_attempt(&id, n)).collect();
        assert_eq!(attempts[0], booking_attempt(&id, 0), "the same attempt, the same id");
        assert_eq!(&attempts[0].as_str()[4..14], &id.as_str()[4..14], "made at the request's time");
        assert!(attempts[0] != attempts[1] && attempts[1] != attempts[2]);
        assert!(attempts.iter().all(|a| is_booking_attempt(&id, a)));
        let neighbour = ShipmentId::generate();
        assert!(!is_booking_attempt(&id, &neighbour), "a shipment made in the same millisecond");
        assert!(!is_booking_attempt(&InformationRequestId::generate(), &attempts[0]), "another request's");
    }

    #[test]
    fn a_booking_covers_a_refused_one_only_with_all_its_lines() {
        let line = |sku: &str, quantity| ShipmentLine { sku: sku.into(), quantity };
        let refused = [line("MUG", 2), line("CAP", 1)];
        assert!(covers(&[line("CAP", 1), line("MUG", 2), line("TEA", 5)], &refused));
        assert!(!covers(&[line("MUG", 2)], &refused), "another part of the order");
        assert!(!covers(&[line("MUG", 1), line("CAP", 1)], &refused), "fewer mugs");
    }

    proptest! {
        /// A request is answered at most once, and nothing changes it once it is closed.
        #[test]
        fn a_closed_request_never_changes(steps in proptest::collection::vec(0u8..2, 1..6)) {
            let mut r = request();
            let mut closed: Option<InformationRequest> = None;
            for (i, step) in steps.iter().enumerate() {
                let at = 10 + i as i64;
                let outcome = if *step == 0 { r.resolve(resolution(at)) } else { r.withdraw("delivered", at) };
                match &closed {
                    None => {
                        prop_assert!(outcome.is_ok());
                        prop_assert_ne!(r.state, InfoState::Open);
                        closed = Some(r.clone());
                    }
                    Some(before) => {
                        prop_assert_eq!(outcome, Err(InfoRefusal::Closed(before.state)));
                        prop_assert_eq!(&r, before);
                    }
                }
            }
        }

        /// Whatever is typed, a fix that passes touches only the named field of the address.
        #[test]
        fn a_fix_touches_only_its_field(value in "[0-9A-Za-z +]{1,20}", index in 0usize..5) {
            let field = InfoField::ALL[index];
            let address = istanbul();
            if let Ok(fixed) = fix(field, &address, &value) {
                for other in InfoField::ALL.iter().filter(|f| **f != field) {
                    prop_assert_eq!(other.value_in(&fixed), other.value_in(&address));
                }
                prop_assert_eq!((&fixed.country, &fixed.street2), (&address.country, &address.street2));
            }
        }
    }
}
