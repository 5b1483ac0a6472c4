//! What `confirmShipment`'s `packageDetail` says about the carrier and the package.

use sha2::{Digest, Sha256};

/// The carrier code Amazon takes for the carrier `name` (as Waybill's carriers name themselves),
/// or `Other`, which Amazon takes with the carrier's name in `carrierName`.
///
/// The list of accepted codes is a page of Amazon's documentation, not part of the model
/// (`../shared/notes/channels.md` §1.4). These codes are the long-standing values of Amazon's
/// `CarrierCode` type (the MWS `amzn-base.xsd` list, still the codes of the order-fulfilment
/// feed), chosen only where the spelling is certain. DHL eCommerce (once "DHL Global Mail" in
/// that list), Yurtiçi, MNG, Aras and every carrier not listed go as `Other` with their name.
pub fn carrier_code(name: &str) -> &'static str {
    let key: String = name.trim().to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    match key.as_str() {
        "ups" | "unitedparcelservice" => "UPS",
        "usps" | "unitedstatespostalservice" => "USPS",
        "fedex" | "federalexpress" => "FedEx",
        "dhl" | "dhlexpress" => "DHL",
        "aramex" => "Aramex",
        "delhivery" => "Delhivery",
        "bluedart" => "BlueDart",
        "dtdc" => "DTDC",
        "indiapost" => "India Post",
        "royalmail" => "Royal Mail",
        "parcelforce" | "parcelforceworldwide" => "Parcelforce",
        "dpd" => "DPD",
        "gls" => "GLS",
        "tnt" => "TNT",
        "canadapost" => "Canada Post",
        "chronopost" => "Chronopost",
        "laposte" => "La Poste",
        "deutschepost" => "Deutsche Post",
        "posteitaliane" => "Poste Italiane",
        "yodel" => "Yodel",
        "ontrac" => "OnTrac",
        "lasership" => "Lasership",
        _ => "Other",
    }
}

/// The `packageReferenceId` of the package with this tracking number: Amazon takes only
/// positive numbers, chosen by the seller; this one is derived from the tracking number (the
/// first eight bytes of its SHA-256, below a billion, plus one), so a retry sends the same.
pub fn package_reference_id(tracking_number: &str) -> String {
    let digest = Sha256::digest(tracking_number.trim().as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % 999_999_999 + 1).to_string()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn waybills_carriers_get_amazons_codes_or_other() {
        assert_eq!(carrier_code("UPS"), "UPS");
        assert_eq!(carrier_code("USPS"), "USPS");
        assert_eq!(carrier_code("FedEx"), "FedEx");
        assert_eq!(carrier_code("DHL Express"), "DHL");
        assert_eq!(carrier_code("Aramex"), "Aramex");
        assert_eq!(carrier_code("Delhivery"), "Delhivery");
        assert_eq!(carrier_code("Royal Mail"), "Royal Mail");
        assert_eq!(carrier_code("DHL eCommerce"), "Other");
        assert_eq!(carrier_code("Yurtiçi Kargo"), "Other");
        assert_eq!(carrier_code("MNG Kargo"), "Other");
        assert_eq!(carrier_code("Waybill Sandbox"), "Other");
    }

    #[test]
    fn the_package_reference_is_a_positive_number_fixed_by_the_tracking_number() {
        let id = package_reference_id("1Z999AA10123456784");
        assert_eq!(id, package_reference_id(" 1Z999AA10123456784 "));
        assert_ne!(id, package_reference_id("1Z999AA10123456785"));
        assert!(id.parse::<u64>().unwrap() > 0);
    }

    proptest! {
        #[test]
        fn every_tracking_number_gives_a_positive_number_below_a_billion(tracking in ".{0,40}") {
            let id: u64 = package_reference_id(&tracking).parse().unwrap();
            prop_assert!((1..=999_999_999).contains(&id));
        }
    }
}
