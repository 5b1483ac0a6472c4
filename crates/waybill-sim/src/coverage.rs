//! Where the carrier goes: address checks and serviceability by postcode.
//! Pure functions of the address, so tests and demos get the same verdict
//! every time.

use crate::geo;
use crate::model::Address;

/// Postcode shapes the carrier knows, per country: `9` is a digit, `A` a
/// letter, anything else itself. Countries not listed have no address data.
const POSTCODE_SHAPES: &[(&str, &[&str])] = &[
    ("TR", &["99999"]),
    ("US", &["99999", "99999-9999"]),
    ("DE", &["99999"]),
    ("FR", &["99999"]),
    ("ES", &["99999"]),
    ("IT", &["99999"]),
    ("IN", &["999999"]),
];

/// Postcodes the carrier does not serve at all.
pub(crate) const NO_SERVICE: &[(&str, &str)] = &[("TR", "34999"), ("TR", "65000"), ("US", "99950")];

/// Postcodes served for prepaid parcels only: no cash on delivery.
pub(crate) const NO_COD: &[(&str, &str)] = &[("TR", "06999"), ("TR", "34998"), ("US", "10999")];

/// How sure the carrier is about an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    Valid,
    Ambiguous,
    Invalid,
}

/// The carrier's answer about one address.
#[derive(Debug, serde::Serialize)]
pub(crate) struct AddressCheck {
    pub verdict: Verdict,
    /// `commercial` when a company is given, else `residential`.
    pub classification: &'static str,
    pub candidates: Vec<Address>,
    pub messages: Vec<String>,
}

/// What the carrier offers at a postcode.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Coverage {
    pub country: String,
    pub postal_code: String,
    pub delivery: bool,
    pub prepaid: bool,
    pub cod: bool,
    pub pickup: bool,
    pub place: String,
    pub remark: Option<String>,
}

fn matches_shape(postal: &str, shape: &str) -> bool {
    postal.len() == shape.len()
        && postal.bytes().zip(shape.bytes()).all(|(p, s)| match s {
            b'9' => p.is_ascii_digit(),
            b'A' => p.is_ascii_alphabetic(),
            other => p == other,
        })
}

/// A city name folded for comparison: lower case, without accents or
/// punctuation (`İstanbul` and `istanbul` are the same city).
fn fold(city: &str) -> String {
    city.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            'ı' => Some('i'),
            'ş' => Some('s'),
            'ğ' => Some('g'),
            'ü' => Some('u'),
            'ö' => Some('o'),
            'ç' => Some('c'),
            'é' | 'è' | 'ê' => Some('e'),
            'á' | 'à' | 'â' | 'ä' => Some('a'),
            c if c.is_alphanumeric() && c.is_ascii() => Some(c),
            _ => None,
        })
        .collect()
}

/// The address with the carrier's spelling of the city and postcode.
fn corrected(address: &Address, city: &str, postal_code: &str) -> Address {
    Address { city: city.to_owned(), postal_code: postal_code.to_owned(), ..address.clone() }
}

/// Checks an address: `valid` when the postcode has the country's shape and
/// belongs to the city given, `ambiguous` when the postcode is known but
/// belongs to another city, `invalid` otherwise.
pub(crate) fn check_address(address: &Address) -> AddressCheck {
    let classification = if address.company.is_some() { "commercial" } else { "residential" };
    let answer = |verdict, candidates, message: String| AddressCheck {
        verdict,
        classification,
        candidates,
        messages: vec![message],
    };
    let country = address.country.as_str();
    let postal = address.postal_code.trim().to_ascii_uppercase();
    let Some((_, shapes)) = POSTCODE_SHAPES.iter().find(|(c, _)| *c == country) else {
        return answer(Verdict::Invalid, vec![], format!("no address data for country {country}"));
    };
    if !shapes.iter().any(|shape| matches_shape(&postal, shape)) {
        return answer(Verdict::Invalid, vec![], format!("postal code {postal} does not exist in {country}"));
    }
    let Some(place) = geo::place_for(country, &postal) else {
        return answer(Verdict::Invalid, vec![], format!("postal code {postal} is not in the carrier's network"));
    };
    let given = fold(&address.city);
    if given == fold(place.city) || given.ends_with(&fold(place.city)) {
        let message = format!("address confirmed in {}", place.city);
        return answer(Verdict::Valid, vec![corrected(address, place.city, &postal)], message);
    }
    let mut candidates = vec![corrected(address, place.city, &postal)];
    if let Some(other) = geo::places(country).find(|p| fold(p.city) == given) {
        let suffix = postal.get(other.prefix.len()..).unwrap_or_default();
        candidates.push(corrected(address, other.city, &format!("{}{suffix}", other.prefix)));
    }
    let message = format!("postal code {postal} belongs to {}, not {}", place.city, address.city);
    answer(Verdict::Ambiguous, candidates, message)
}

/// What is offered at a postcode: everything, except at the postcodes of
/// [`NO_SERVICE`] (nothing) and [`NO_COD`] (no cash on delivery).
pub(crate) fn coverage(country: &str, postal_code: &str) -> Coverage {
    let postal = postal_code.trim().to_ascii_uppercase();
    let listed = |list: &[(&str, &str)]| list.iter().any(|(c, p)| *c == country && *p == postal);
    let served = !listed(NO_SERVICE);
    let cod = served && !listed(NO_COD);
    let remark = if !served {
        Some("no service at this postal code".to_owned())
    } else if !cod {
        Some("cash on delivery is not offered at this postal code".to_owned())
    } else {
        None
    };
    Coverage {
        country: country.to_owned(),
        postal_code: postal.clone(),
        delivery: served,
        prepaid: served,
        cod,
        pickup: served,
        place: geo::hub_for(country, &postal).location(),
        remark,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(city: &str, postal_code: &str, company: Option<&str>) -> Address {
        Address {
            name: "A".into(),
            company: company.map(Into::into),
            phone: None,
            email: None,
            street1: "S 1".into(),
            street2: None,
            city: city.into(),
            state: None,
            postal_code: postal_code.into(),
            country: "TR".into(),
        }
    }

    #[test]
    fn verdicts_follow_the_postcode_and_city() {
        let valid = check_address(&address("İstanbul", "34710", None));
        assert_eq!((valid.verdict, valid.classification), (Verdict::Valid, "residential"));
        assert_eq!(valid.candidates[0].city, "Istanbul");

        let ambiguous = check_address(&address("Ankara", "34710", Some("Acme")));
        assert_eq!((ambiguous.verdict, ambiguous.classification), (Verdict::Ambiguous, "commercial"));
        let cities: Vec<_> = ambiguous.candidates.iter().map(|a| (a.city.as_str(), a.postal_code.as_str())).collect();
        assert_eq!(cities, [("Istanbul", "34710"), ("Ankara", "06710")]);

        assert_eq!(check_address(&address("Sivas", "58000", None)).verdict, Verdict::Invalid);
        assert_eq!(check_address(&address("Istanbul", "3471", None)).verdict, Verdict::Invalid);
    }

    #[test]
    fn listed_postcodes_lose_service_or_cod() {
        let full = coverage("TR", "34710");
        assert!(full.delivery && full.cod && full.remark.is_none());
        let none = coverage("TR", "34999");
        assert!(!none.delivery && !none.prepaid && !none.cod && !none.pickup);
        let prepaid_only = coverage("TR", "06999");
        assert!(prepaid_only.delivery && prepaid_only.prepaid && !prepaid_only.cod);
    }
}
