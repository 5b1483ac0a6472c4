//! Money: an exact decimal amount (a string in JSON, never a float) and an ISO 4217 currency.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::FieldError;

/// ISO 4217 codes with their minor-unit digits. Currencies outside this table are refused
/// rather than guessed at, because the minor units decide how an amount may be written.
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("MAD", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("VND", 0),
    ("ZAR", 2),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency(&'static str);

impl Currency {
    pub fn code(self) -> &'static str {
        self.0
    }

    /// How many digits may follow the decimal point (JPY 0, USD 2, KWD 3).
    pub fn minor_units(self) -> u32 {
        CURRENCIES.iter().find(|(c, _)| *c == self.0).map(|(_, m)| *m).expect("only known codes are built")
    }
}

impl FromStr for Currency {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == s)
            .map(|(c, _)| Currency(c))
            .ok_or_else(|| format!("`{s}` is not a supported ISO 4217 currency code"))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("ISO 4217 currency code"))
            .examples(["TRY"])
            .max_length(Some(3))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Currency {}

/// An amount of money. `amount` is a decimal string in JSON (`"12.50"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "12.50", max_length = 32))]
    pub amount: Decimal,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Checks the amount is not negative and has no more decimals than the currency allows.
    pub fn check(&self, pointer: &str) -> Result<(), FieldError> {
        if self.amount.is_sign_negative() && !self.amount.is_zero() {
            return Err(FieldError::new(format!("{pointer}/amount"), "amount must not be negative"));
        }
        if self.amount.normalize().scale() > self.currency.minor_units() {
            return Err(FieldError::new(
                format!("{pointer}/amount"),
                format!("{} allows at most {} decimal places", self.currency, self.currency.minor_units()),
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Money {
    /// `12.50 TRY`: the amount padded to the currency's minor units.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut a = self.amount;
        a.rescale(self.currency.minor_units());
        write!(f, "{a} {}", self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_strings_in_json_and_exact() {
        let m: Money = serde_json::from_str(r#"{"amount":"0.10","currency":"TRY"}"#).unwrap();
        assert_eq!(m.amount, Decimal::from_str("0.1").unwrap());
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"amount":"0.10","currency":"TRY"}"#);
        assert_eq!(m.to_string(), "0.10 TRY");
    }

    #[test]
    fn unknown_currency_and_bad_precision_are_refused() {
        assert!(serde_json::from_str::<Money>(r#"{"amount":"1","currency":"XXX"}"#).is_err());
        let yen = Money::new(Decimal::from_str("10.5").unwrap(), "JPY".parse().unwrap());
        assert_eq!(yen.check("/cod").unwrap_err().pointer, "/cod/amount");
        let neg = Money::new(Decimal::from(-1), "USD".parse().unwrap());
        assert!(neg.check("/cod").is_err());
        let fine = Money::new(Decimal::from_str("12.500").unwrap(), "USD".parse().unwrap());
        assert!(fine.check("/cod").is_ok(), "trailing zeros are not extra precision");
    }
}
