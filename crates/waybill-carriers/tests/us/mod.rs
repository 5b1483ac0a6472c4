//! The US shipment the FedEx, UPS and USPS tests quote and book: a shop in Timonium, MD to a
//! customer in Alpharetta, GA, one 1.25 kg parcel of 30 × 20 × 10.5 cm.

use waybill_carriers::RateRequest;
use waybill_core::Address;
use waybill_core::parcel::{Dimensions, Parcel};

pub fn address(name: &str, city: &str, state: &str, postal_code: &str) -> Address {
    Address {
        name: name.into(),
        phone: Some("+12125551234".into()),
        street1: "100 Main St".into(),
        street2: Some("Suite 2".into()),
        city: city.into(),
        state: Some(state.into()),
        postal_code: postal_code.into(),
        country: "US".into(),
        ..Address::default()
    }
}

/// The route, with the customer's ZIP code as the carrier's test expects it (5 digits or ZIP+4).
pub fn route(customer_zip: &str) -> RateRequest {
    RateRequest {
        ship_from: address("Acme Store", "Timonium", "MD", "21093"),
        ship_to: address("Jane Doe", "Alpharetta", "GA", customer_zip),
        parcels: vec![Parcel {
            weight_g: 1250,
            dimensions_mm: Some(Dimensions { length: 300, width: 200, height: 105 }),
        }],
    }
}
