//! The carrier's network: which hub serves an address, the sort code and
//! route of a shipment, and the fixed UTC offset its scans are written in.
//! Everything is a pure function of country and postal code.

use chrono::{FixedOffset, Offset, Utc};
use serde::{Deserialize, Serialize};

/// A hub of the network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Hub {
    /// Three-letter hub code (`IST`).
    pub code: String,
    /// City name, for scan locations (`Istanbul`).
    pub city: String,
    /// ISO alpha-2 country of the hub.
    pub country: String,
}

impl Hub {
    /// Scan location at this hub: `Istanbul Hub, TR`.
    pub fn location(&self) -> String {
        format!("{} Hub, {}", self.city, self.country)
    }
}

/// Hubs by country. A hub whose postal prefix starts the (normalised)
/// postal code serves it; otherwise one of the country's hubs is picked by a
/// hash of the postal code. Countries not listed get one gateway hub.
const HUBS: &[(&str, &str, &str, &str)] = &[
    // (country, postal prefix, code, city)
    ("TR", "34", "IST", "Istanbul"),
    ("TR", "06", "ANK", "Ankara"),
    ("TR", "35", "IZM", "Izmir"),
    ("TR", "16", "BRS", "Bursa"),
    ("TR", "07", "AYT", "Antalya"),
    ("TR", "01", "ADA", "Adana"),
    ("TR", "42", "KYA", "Konya"),
    ("TR", "27", "GZT", "Gaziantep"),
    ("TR", "55", "SSX", "Samsun"),
    ("TR", "61", "TZX", "Trabzon"),
    ("US", "0", "BOS", "Boston"),
    ("US", "1", "JFK", "New York"),
    ("US", "2", "IAD", "Washington"),
    ("US", "3", "ATL", "Atlanta"),
    ("US", "4", "CVG", "Cincinnati"),
    ("US", "5", "MSP", "Minneapolis"),
    ("US", "6", "ORD", "Chicago"),
    ("US", "7", "DFW", "Dallas"),
    ("US", "8", "DEN", "Denver"),
    ("US", "9", "LAX", "Los Angeles"),
    ("DE", "1", "BER", "Berlin"),
    ("DE", "2", "HAM", "Hamburg"),
    ("DE", "6", "FRA", "Frankfurt"),
    ("DE", "8", "MUC", "Munich"),
    ("GB", "", "LHR", "London"),
    ("GB", "", "MAN", "Manchester"),
    ("GB", "", "BHX", "Birmingham"),
    ("FR", "75", "CDG", "Paris"),
    ("FR", "69", "LYS", "Lyon"),
    ("NL", "", "AMS", "Amsterdam"),
    ("ES", "28", "MAD", "Madrid"),
    ("ES", "08", "BCN", "Barcelona"),
    ("IT", "20", "MXP", "Milan"),
    ("IT", "00", "FCO", "Rome"),
    ("AE", "", "DXB", "Dubai"),
    ("SA", "", "RUH", "Riyadh"),
    ("AZ", "", "GYD", "Baku"),
    ("IN", "1", "DEL", "Delhi"),
    ("IN", "4", "BOM", "Mumbai"),
    ("CN", "", "PVG", "Shanghai"),
    ("JP", "", "NRT", "Tokyo"),
    ("AU", "", "SYD", "Sydney"),
    ("CA", "", "YYZ", "Toronto"),
    ("BR", "", "GRU", "Sao Paulo"),
];

/// Fixed UTC offsets (minutes) of the origin countries; others use +00:00.
const UTC_OFFSETS: &[(&str, i32)] = &[
    ("TR", 180),
    ("AZ", 240),
    ("AE", 240),
    ("SA", 180),
    ("RU", 180),
    ("GR", 120),
    ("EG", 120),
    ("DE", 60),
    ("FR", 60),
    ("NL", 60),
    ("ES", 60),
    ("IT", 60),
    ("PL", 60),
    ("GB", 0),
    ("IN", 330),
    ("CN", 480),
    ("JP", 540),
    ("AU", 600),
    ("US", -300),
    ("CA", -300),
    ("MX", -360),
    ("BR", -180),
];

/// FNV-1a: a hash that never changes between builds, so routing stays put.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

fn normalise_postal(postal_code: &str) -> String {
    postal_code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// The hub serving `postal_code` in `country`.
pub(crate) fn hub_for(country: &str, postal_code: &str) -> Hub {
    let postal = normalise_postal(postal_code);
    let hubs: Vec<_> = HUBS.iter().filter(|h| h.0 == country).collect();
    let by_prefix = hubs.iter().find(|h| !h.1.is_empty() && postal.starts_with(h.1));
    let picked = by_prefix.or_else(|| {
        let index = fnv1a(&[country, &postal]) % hubs.len().max(1) as u64;
        usize::try_from(index).ok().and_then(|i| hubs.get(i))
    });
    match picked {
        Some(&&(_, _, code, city)) => Hub { code: code.into(), city: city.into(), country: country.into() },
        None => Hub { code: format!("{country}X"), city: "Gateway".into(), country: country.into() },
    }
}

/// A city the network knows by the start of its postal codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Place {
    pub prefix: &'static str,
    pub city: &'static str,
}

/// The cities of `country` that own a postal prefix.
pub(crate) fn places(country: &str) -> impl Iterator<Item = Place> + '_ {
    HUBS.iter().filter(move |h| h.0 == country && !h.1.is_empty()).map(|&(_, prefix, _, city)| Place { prefix, city })
}

/// The city owning `postal_code` in `country`, if the network knows one.
pub(crate) fn place_for(country: &str, postal_code: &str) -> Option<Place> {
    let postal = normalise_postal(postal_code);
    places(country).find(|p| postal.starts_with(p.prefix))
}

/// Sort code `HUB-NN-L` for the destination hub and postal code.
pub(crate) fn sort_code(destination: &Hub, postal_code: &str) -> String {
    let hash = fnv1a(&[&destination.country, &normalise_postal(postal_code)]);
    let lane = hash % 40 + 1;
    let letter = char::from(b'A' + u8::try_from((hash >> 16) % 6).unwrap_or(0));
    format!("{}-{lane:02}-{letter}", destination.code)
}

/// Line-haul route `R<n>` between two hubs.
pub(crate) fn route(origin: &Hub, destination: &Hub) -> String {
    format!("R{}", fnv1a(&[&origin.code, &destination.code]) % 60 + 1)
}

/// The fixed UTC offset, in minutes, scans from `country` are written in.
pub(crate) fn utc_offset_minutes(country: &str) -> i32 {
    UTC_OFFSETS.iter().find(|(c, _)| *c == country).map_or(0, |(_, minutes)| *minutes)
}

/// A whole-minute UTC offset as a chrono offset (UTC if out of range).
pub(crate) fn fixed_offset(minutes: i32) -> FixedOffset {
    FixedOffset::east_opt(minutes.saturating_mul(60)).unwrap_or(Utc.fix())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turkish_postal_codes_map_to_their_province_hub() {
        assert_eq!(hub_for("TR", "34710").code, "IST");
        assert_eq!(hub_for("TR", "06530").code, "ANK");
        assert_eq!(hub_for("TR", "34710").location(), "Istanbul Hub, TR");
    }

    #[test]
    fn routing_is_deterministic_and_well_formed() {
        let a = hub_for("GB", "SW1A 1AA");
        assert_eq!(a, hub_for("GB", "sw1a1aa"));
        let code = sort_code(&a, "SW1A 1AA");
        let parts: Vec<_> = code.split('-').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], a.code);
        assert_eq!(parts[1].len(), 2);
        assert!(parts[2].len() == 1 && parts[2].chars().all(|c| c.is_ascii_uppercase()));
        let unknown = hub_for("KZ", "050000");
        assert_eq!(unknown.code, "KZX");
        assert!(route(&a, &unknown).starts_with('R'));
        assert_eq!(utc_offset_minutes("TR"), 180);
        assert_eq!(utc_offset_minutes("KZ"), 0);
    }
}
