//! Weights and lengths as the API takes them (`{value, unit}`) and as Waybill keeps them
//! (whole grams and millimetres).
//!
//! Conversions round *up* to the next whole gram or millimetre: carriers bill on the heavier,
//! larger side, and a parcel must never be declared lighter than it is.

use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::FieldError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum WeightUnit {
    G,
    Kg,
    Lb,
    Oz,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum LengthUnit {
    Mm,
    Cm,
    M,
    In,
    Ft,
}

impl WeightUnit {
    /// Grams in one of this unit (exact: the pound is defined as 453.59237 g).
    pub fn grams(self) -> Decimal {
        match self {
            Self::G => Decimal::ONE,
            Self::Kg => Decimal::from(1000),
            Self::Lb => Decimal::from_str("453.59237").expect("constant"),
            Self::Oz => Decimal::from_str("28.349523125").expect("constant"),
        }
    }
}

impl LengthUnit {
    /// Millimetres in one of this unit (the inch is defined as 25.4 mm).
    pub fn millimetres(self) -> Decimal {
        match self {
            Self::Mm => Decimal::ONE,
            Self::Cm => Decimal::from(10),
            Self::M => Decimal::from(1000),
            Self::In => Decimal::from_str("25.4").expect("constant"),
            Self::Ft => Decimal::from_str("304.8").expect("constant"),
        }
    }
}

/// A number from JSON kept as an exact decimal (a JSON number or a decimal string).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = f64))]
pub struct Amount(#[serde(with = "rust_decimal::serde::float")] pub Decimal);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(serde_json::Number),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Number(n) => n.to_string(),
            Raw::Text(s) => s,
        };
        Decimal::from_str(&text)
            .or_else(|_| Decimal::from_scientific(&text))
            .map(Amount)
            .map_err(|_| serde::de::Error::custom(format!("`{text}` is not a decimal number")))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Weight {
    pub value: Amount,
    pub unit: WeightUnit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Length {
    pub value: Amount,
    pub unit: LengthUnit,
}

/// The heaviest single parcel we accept: 10 tonnes is freight, not parcel shipping.
pub const MAX_GRAMS: u64 = 10_000_000;
/// The longest side we accept: 20 m.
pub const MAX_MILLIMETRES: u64 = 20_000;

fn to_whole_up(value: Decimal, factor: Decimal) -> Option<u64> {
    value.checked_mul(factor)?.round_dp_with_strategy(0, RoundingStrategy::AwayFromZero).to_u64()
}

impl Weight {
    pub fn grams(grams: u64) -> Self {
        Self { value: Amount(Decimal::from(grams)), unit: WeightUnit::G }
    }

    /// Whole grams, or a field error at `pointer` when the weight is not positive or absurd.
    pub fn to_grams(&self, pointer: &str) -> Result<u64, FieldError> {
        if self.value.0 <= Decimal::ZERO {
            return Err(FieldError::new(format!("{pointer}/value"), "weight must be greater than 0"));
        }
        match to_whole_up(self.value.0, self.unit.grams()) {
            Some(g) if g <= MAX_GRAMS => Ok(g),
            _ => Err(FieldError::new(
                format!("{pointer}/value"),
                format!("weight must be at most {} kg", MAX_GRAMS / 1000),
            )),
        }
    }
}

impl Length {
    pub fn millimetres(mm: u64) -> Self {
        Self { value: Amount(Decimal::from(mm)), unit: LengthUnit::Mm }
    }

    /// Whole millimetres, or a field error at `pointer` when the length is not positive or absurd.
    pub fn to_millimetres(&self, pointer: &str) -> Result<u64, FieldError> {
        if self.value.0 <= Decimal::ZERO {
            return Err(FieldError::new(format!("{pointer}/value"), "length must be greater than 0"));
        }
        match to_whole_up(self.value.0, self.unit.millimetres()) {
            Some(mm) if mm <= MAX_MILLIMETRES => Ok(mm),
            _ => Err(FieldError::new(
                format!("{pointer}/value"),
                format!("length must be at most {} m", MAX_MILLIMETRES / 1000),
            )),
        }
    }
}

/// Grams shown to a person: `850 g`, `1.25 kg`.
pub fn display_grams(grams: u64) -> String {
    if grams < 1000 {
        format!("{grams} g")
    } else {
        format!("{} kg", (Decimal::from(grams) / Decimal::from(1000)).normalize())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn weight(v: &str, unit: WeightUnit) -> Weight {
        Weight { value: Amount(Decimal::from_str(v).unwrap()), unit }
    }

    #[test]
    fn known_conversions() {
        assert_eq!(weight("1.25", WeightUnit::Kg).to_grams("/w"), Ok(1250));
        assert_eq!(weight("1", WeightUnit::Lb).to_grams("/w"), Ok(454), "453.59 g rounds up");
        assert_eq!(weight("16", WeightUnit::Oz).to_grams("/w"), Ok(454));
        let l = Length { value: Amount(Decimal::from(12)), unit: LengthUnit::In };
        assert_eq!(l.to_millimetres("/l"), Ok(305), "304.8 mm rounds up");
        assert_eq!(display_grams(850), "850 g");
        assert_eq!(display_grams(1250), "1.25 kg");
        assert_eq!(display_grams(2000), "2 kg");
    }

    #[test]
    fn non_positive_and_absurd_weights_are_rejected_with_a_pointer() {
        let e = weight("0", WeightUnit::Kg).to_grams("/parcels/0/weight").unwrap_err();
        assert_eq!(e.pointer, "/parcels/0/weight/value");
        assert!(weight("-1", WeightUnit::G).to_grams("/w").is_err());
        assert!(weight("20000", WeightUnit::Kg).to_grams("/w").is_err());
    }

    #[test]
    fn amounts_accept_numbers_and_decimal_strings_exactly() {
        let w: Weight = serde_json::from_str(r#"{"value": 0.1, "unit": "kg"}"#).unwrap();
        assert_eq!(w.value.0, Decimal::from_str("0.1").unwrap());
        let w: Weight = serde_json::from_str(r#"{"value": "2.5", "unit": "lb"}"#).unwrap();
        assert_eq!(w.to_grams("/w"), Ok(1134));
        assert!(serde_json::from_str::<Weight>(r#"{"value": "heavy", "unit": "kg"}"#).is_err());
        assert!(serde_json::from_str::<Weight>(r#"{"value": 1, "unit": "stone"}"#).is_err());
    }

    fn any_weight_unit() -> impl Strategy<Value = WeightUnit> {
        prop_oneof![Just(WeightUnit::G), Just(WeightUnit::Kg), Just(WeightUnit::Lb), Just(WeightUnit::Oz)]
    }

    fn any_length_unit() -> impl Strategy<Value = LengthUnit> {
        prop_oneof![
            Just(LengthUnit::Mm),
            Just(LengthUnit::Cm),
            Just(LengthUnit::M),
            Just(LengthUnit::In),
            Just(LengthUnit::Ft)
        ]
    }

    proptest! {
        /// Whole grams expressed in any unit convert back to the same grams, or at most one
        /// gram more when the unit cannot hold the value exactly (never less).
        #[test]
        fn grams_round_trip_through_any_unit(g in 1u64..MAX_GRAMS, unit in any_weight_unit()) {
            let in_unit = Decimal::from(g).checked_div(unit.grams()).unwrap();
            let back = Weight { value: Amount(in_unit), unit }.to_grams("/w").unwrap();
            prop_assert!(back == g || back == g + 1, "{g} g -> {in_unit} {unit:?} -> {back} g");
        }

        #[test]
        fn millimetres_round_trip_through_any_unit(mm in 1u64..MAX_MILLIMETRES, unit in any_length_unit()) {
            let in_unit = Decimal::from(mm).checked_div(unit.millimetres()).unwrap();
            let back = Length { value: Amount(in_unit), unit }.to_millimetres("/l").unwrap();
            prop_assert!(back == mm || back == mm + 1, "{mm} mm -> {in_unit} {unit:?} -> {back} mm");
        }

        /// A heavier input never converts to fewer grams, and any positive input is at least 1 g.
        #[test]
        fn conversion_is_monotonic_and_positive(a in 1u32..5_000_000, b in 1u32..5_000_000, unit in any_weight_unit()) {
            let (lo, hi) = (a.min(b), a.max(b));
            let to = |milli: u32| Weight { value: Amount(Decimal::new(milli.into(), 3)), unit }.to_grams("/w");
            if let (Ok(l), Ok(h)) = (to(lo), to(hi)) {
                prop_assert!(l >= 1 && l <= h);
            }
        }
    }
}
