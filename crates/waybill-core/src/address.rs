//! Postal addresses and the checks a carrier would otherwise fail a booking on: a real
//! country, a postcode that can exist in it, and a phone number that can be dialled there.
//!
//! Postcode shapes follow the `zip` patterns of Google's libaddressinput data (CC-BY 4.0).

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::text;

/// Where a parcel comes from or goes to. `country` is ISO 3166-1 alpha-2.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub company: Option<String>,
    /// Digits, spaces and `+ - ( ) . /`; national form or `+` and the country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 32))]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: Option<String>,
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub street1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub street2: Option<String>,
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub city: String,
    /// State, province or region, where the country uses one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub state: Option<String>,
    /// Letters A–Z, digits, spaces and hyphens; checked against the country's pattern where
    /// one is known.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 12))]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    #[cfg_attr(feature = "openapi", schema(max_length = 2))]
    pub country: String,
}

/// Postcode patterns per country (whole-string match, case-insensitive).
const POSTCODES: &[(&str, &str)] = &[
    ("AR", r"(?:[A-HJ-NP-Z])?\d{4}(?:[A-Z]{3})?"),
    ("AT", r"\d{4}"),
    ("AU", r"\d{4}"),
    ("BE", r"\d{4}"),
    ("BG", r"\d{4}"),
    ("BR", r"\d{5}-?\d{3}"),
    ("CA", r"[ABCEGHJKLMNPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d"),
    ("CH", r"\d{4}"),
    ("CN", r"\d{6}"),
    ("CZ", r"\d{3} ?\d{2}"),
    ("DE", r"\d{5}"),
    ("DK", r"\d{4}"),
    ("EG", r"\d{5}"),
    ("ES", r"\d{5}"),
    ("FI", r"\d{5}"),
    ("FR", r"\d{2} ?\d{3}"),
    ("GB", r"GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"),
    ("GR", r"\d{3} ?\d{2}"),
    ("HR", r"\d{5}"),
    ("HU", r"\d{4}"),
    ("ID", r"\d{5}"),
    ("IE", r"[\dA-Z]{3} ?[\dA-Z]{4}"),
    ("IL", r"\d{5}(?:\d{2})?"),
    ("IN", r"[1-9]\d{5}"),
    ("IT", r"\d{5}"),
    ("JP", r"\d{3}-?\d{4}"),
    ("KR", r"\d{5}"),
    ("KZ", r"\d{6}"),
    ("MA", r"\d{5}"),
    ("MX", r"\d{5}"),
    ("MY", r"\d{5}"),
    ("NL", r"\d{4} ?[A-Z]{2}"),
    ("NO", r"\d{4}"),
    ("NZ", r"\d{4}"),
    ("PH", r"\d{4}"),
    ("PK", r"\d{5}"),
    ("PL", r"\d{2}-\d{3}"),
    ("PT", r"\d{4}-\d{3}"),
    ("RO", r"\d{6}"),
    ("RU", r"\d{6}"),
    ("SA", r"\d{5}(?:-\d{4})?"),
    ("SE", r"\d{3} ?\d{2}"),
    ("SG", r"\d{6}"),
    ("SK", r"\d{3} ?\d{2}"),
    ("TH", r"\d{5}"),
    ("TR", r"\d{5}"),
    ("TW", r"\d{3}(?:\d{2,3})?"),
    ("UA", r"\d{5}"),
    ("US", r"\d{5}(?:[ -]\d{4})?"),
    ("VN", r"\d{6}"),
    ("ZA", r"\d{4}"),
];

/// Countries whose addresses carry no postcode at all.
const NO_POSTCODE: &[&str] = &["AE", "AO", "BS", "BZ", "FJ", "GH", "HK", "JM", "MO", "QA", "TZ", "UG", "ZW"];

/// Countries where a carrier cannot route without a state or province.
const STATE_REQUIRED: &[&str] = &["US", "CA", "AU", "MX", "BR"];

static POSTCODE_RES: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    POSTCODES
        .iter()
        .map(|(c, p)| (*c, Regex::new(&format!("(?i)^(?:{p})$")).expect("postcode pattern compiles")))
        .collect()
});

impl Address {
    /// Every problem with this address, each with a JSON pointer under `prefix`.
    pub fn problems(&self, prefix: &str) -> Vec<FieldError> {
        let mut out = Vec::new();
        let mut bad = std::collections::BTreeSet::new();
        for (name, value, rule) in [
            ("name", Some(&self.name), text::NAME),
            ("company", self.company.as_ref(), text::NAME),
            ("phone", self.phone.as_ref(), text::PHONE),
            ("email", self.email.as_ref(), text::EMAIL),
            ("street1", Some(&self.street1), text::STREET),
            ("street2", self.street2.as_ref(), text::STREET),
            ("city", Some(&self.city), text::NAME),
            ("state", self.state.as_ref(), text::NAME),
            ("postal_code", Some(&self.postal_code), text::POSTCODE.optional()),
        ] {
            if let Some(e) = value.and_then(|v| rule.check(&format!("{prefix}/{name}"), v)) {
                out.push(e);
                bad.insert(name);
            }
        }

        let country = self.country.as_str();
        let known = country.len() == 2 && rust_iso3166::from_alpha2(country).is_some();
        if !known {
            out.push(FieldError::new(
                format!("{prefix}/country"),
                format!("`{country}` is not an ISO 3166-1 alpha-2 country code (e.g. `TR`, `US`)"),
            ));
            return out;
        }

        if STATE_REQUIRED.contains(&country) && self.state.as_deref().is_none_or(|s| s.trim().is_empty()) {
            out.push(FieldError::new(
                format!("{prefix}/state"),
                format!("addresses in {country} need a state or province"),
            ));
        }

        let postcode = self.postal_code.trim();
        match POSTCODE_RES.iter().find(|(c, _)| *c == country) {
            _ if bad.contains("postal_code") => {}
            Some((_, re)) if !re.is_match(postcode) => out.push(FieldError::new(
                format!("{prefix}/postal_code"),
                if postcode.is_empty() {
                    format!("addresses in {country} need a postal code")
                } else {
                    format!("`{postcode}` is not a valid postal code in {country}")
                },
            )),
            None if postcode.is_empty() && !NO_POSTCODE.contains(&country) => out.push(FieldError::new(
                format!("{prefix}/postal_code"),
                format!("addresses in {country} need a postal code"),
            )),
            _ => {}
        }
        if let Some(phone) = self.phone.as_ref().filter(|p| !bad.contains("phone") && !phone_is_dialable(p, country)) {
            out.push(FieldError::new(
                format!("{prefix}/phone"),
                format!("`{phone}` is not a valid phone number for {country} (use the national form or +country code)"),
            ));
        }
        if let Some(email) = self.email.as_ref().filter(|e| !bad.contains("email") && !text::is_email(e)) {
            out.push(FieldError::new(format!("{prefix}/email"), format!("`{email}` is not an email address")));
        }
        out
    }

    /// The postcode in its usual written form (upper case, surrounding space removed).
    pub fn normalized(mut self) -> Self {
        self.postal_code = self.postal_code.trim().to_ascii_uppercase();
        self
    }
}

/// A phone number of `country` in E.164 (`+905321234567`), as SMS providers take it.
pub fn e164(phone: &str, country: &str) -> Option<String> {
    let region = country.parse::<phonenumber::country::Id>().ok();
    let number = phonenumber::parse(region, phone).ok().filter(phonenumber::is_valid)?;
    Some(number.format().mode(phonenumber::Mode::E164).to_string())
}

fn phone_is_dialable(phone: &str, country: &str) -> bool {
    let region = country.parse::<phonenumber::country::Id>().ok();
    phonenumber::parse(region, phone).is_ok_and(|n| phonenumber::is_valid(&n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn istanbul() -> Address {
        Address {
            name: "Şükrü Çağlayan".into(),
            company: None,
            phone: Some("+90 532 123 45 67".into()),
            email: Some("sukru@example.com.tr".into()),
            street1: "Bağdat Caddesi No: 12".into(),
            street2: None,
            city: "İstanbul".into(),
            state: None,
            postal_code: "34710".into(),
            country: "TR".into(),
        }
    }

    fn pointers(a: &Address) -> Vec<String> {
        a.problems("/ship_to").into_iter().map(|e| e.pointer).collect()
    }

    #[test]
    fn a_good_turkish_address_has_no_problems() {
        assert_eq!(istanbul().problems("/ship_to"), vec![]);
    }

    #[test]
    fn unknown_country_is_pointed_at() {
        let a = Address { country: "XX".into(), ..istanbul() };
        assert_eq!(pointers(&a), vec!["/ship_to/country"]);
        let a = Address { country: "tr".into(), ..istanbul() };
        assert_eq!(pointers(&a), vec!["/ship_to/country"], "codes are upper case");
    }

    #[test]
    fn postcode_must_fit_the_country() {
        assert_eq!(pointers(&Address { postal_code: "3471".into(), ..istanbul() }), vec!["/ship_to/postal_code"]);
        assert_eq!(pointers(&Address { postal_code: "".into(), ..istanbul() }), vec!["/ship_to/postal_code"]);
        let london = Address {
            country: "GB".into(),
            postal_code: "sw1a 1aa".into(),
            phone: Some("020 7946 0958".into()),
            ..istanbul()
        };
        assert_eq!(pointers(&london), Vec::<String>::new());
        let dubai = Address { country: "AE".into(), postal_code: "".into(), phone: None, ..istanbul() };
        assert_eq!(pointers(&dubai), Vec::<String>::new(), "the UAE has no postcodes");
    }

    #[test]
    fn phone_must_be_dialable_in_the_country() {
        assert_eq!(pointers(&Address { phone: Some("12345".into()), ..istanbul() }), vec!["/ship_to/phone"]);
        assert_eq!(pointers(&Address { phone: Some("0532 123 45 67".into()), ..istanbul() }), Vec::<String>::new());
    }

    #[test]
    fn us_addresses_need_a_state_and_zip() {
        let a = Address { country: "US".into(), postal_code: "10001".into(), phone: None, state: None, ..istanbul() };
        assert_eq!(pointers(&a), vec!["/ship_to/state"]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let a = Address { name: " ".into(), street1: "".into(), email: Some("nope".into()), ..istanbul() };
        assert_eq!(pointers(&a), vec!["/ship_to/name", "/ship_to/street1", "/ship_to/email"]);
    }
}
