//! Prefixed, time-ordered identifiers (`ord_…`, `shp_…`).
//!
//! The part after the prefix is a lower-case ULID, so ids sort by creation time and lists can
//! page by key (`WHERE id > $after`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One monotonic generator per process, so ids made in the same millisecond still sort in order.
static GENERATOR: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());

fn next_ulid() -> ulid::Ulid {
    let mut generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    // Overflow needs 2^80 ids in one millisecond; fall back to a fresh random one regardless.
    generator.generate().unwrap_or_else(|_| ulid::Ulid::new())
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new id, later than every id made before it in this process.
            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, next_ulid().to_string().to_ascii_lowercase()))
            }

            /// Accepts only `<prefix>_<26 ULID characters>`.
            pub fn parse(s: &str) -> Option<Self> {
                let rest = s.strip_prefix($prefix)?.strip_prefix('_')?;
                (rest.len() == 26 && ulid::Ulid::from_string(rest).is_ok() && rest == rest.to_ascii_lowercase())
                    .then(|| Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// An id that sorts before every id made at or after `epoch_ms`: where a key-set
            /// walk starts to see only what was made since then.
            pub fn before_time(epoch_ms: i64) -> Self {
                let ms = u64::try_from(epoch_ms.max(1) - 1).unwrap_or(0);
                let ulid = ulid::Ulid::from_parts(ms, u128::MAX >> 48);
                Self(format!("{}_{}", $prefix, ulid.to_string().to_ascii_lowercase()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!("`{s}` is not a {} id (`{}_…`)", stringify!($name), $prefix))
                })
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .examples([format!("{}_01jd3xk8w3v6a8g0n6r1c5e2qz", $prefix)])
                    .max_length(Some($prefix.len() + 27))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

prefixed_id!(/** A tenant: one merchant, or one brand of a 3PL. */ TenantId, "ten");
prefixed_id!(/** A sales order. */ OrderId, "ord");
prefixed_id!(/** One booking with one carrier. */ ShipmentId, "shp");
prefixed_id!(/** One carrier scan. */ TrackingEventId, "trk");
prefixed_id!(/** A tenant's credentials for one carrier. */ CarrierAccountId, "car");
prefixed_id!(/** An API key (its public id; the secret is never stored). */ ApiKeyId, "key");
prefixed_id!(/** A durable background job. */ JobId, "job");
prefixed_id!(/** A courier pickup booked with a carrier. */ PickupId, "pku");
prefixed_id!(/** A stored event. */ EventId, "evt");
prefixed_id!(/** One HTTP request, as logs and 500 answers name it. */ RequestId, "req");
prefixed_id!(/** One message to one customer about one milestone. */ NotificationId, "ntf");
prefixed_id!(/** A merchant's webhook endpoint. */ WebhookEndpointId, "wh");
prefixed_id!(/** One event on its way to one webhook endpoint. */ WebhookMessageId, "whm");
prefixed_id!(/** One attempt to deliver a webhook message: a line of the delivery log. */ WebhookDeliveryId, "whd");
prefixed_id!(/** A tenant's link to one sales channel (a Shopify store, a WooCommerce site, …). */ ChannelConnectionId, "chc");
prefixed_id!(/** One order payload a channel sent (or a sync fetched), kept until it is imported. */ ChannelImportId, "chi");
prefixed_id!(/** A warehouse or store that ships: the default sender of bookings. */ LocationId, "loc");
prefixed_id!(/** One line of the stock ledger. */ StockMovementId, "stk");
prefixed_id!(/** A shipment's failed-delivery case (NDR). */ NdrCaseId, "ndr");
prefixed_id!(/** An end-of-day manifest: the parcels one carrier account hands over in one close. */ ManifestId, "mft");
prefixed_id!(/** One change made to a booked shipment, in its audit trail. */ ShipmentChangeId, "chg");
prefixed_id!(/** A carrier's request for one field of a delivery address. */ InformationRequestId, "inf");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_and_sort_by_creation() {
        let a = OrderId::generate();
        let b = OrderId::generate();
        assert!(a < b, "{a} should sort before {b}");
        assert_eq!(OrderId::parse(a.as_str()), Some(a.clone()));
        assert!(a.as_str().starts_with("ord_"));
    }

    #[test]
    fn an_id_before_a_time_sorts_before_ids_made_from_then_on() {
        let now = chrono::Utc::now().timestamp_millis();
        let bound = OrderId::before_time(now);
        assert!(OrderId::parse(bound.as_str()).is_some());
        assert!(bound < OrderId::generate());
        assert!(OrderId::before_time(now + 60_000) > OrderId::generate());
    }

    #[test]
    fn wrong_prefix_or_shape_is_rejected() {
        let s = ShipmentId::generate();
        assert_eq!(OrderId::parse(s.as_str()), None);
        assert_eq!(OrderId::parse("ord_123"), None);
        assert_eq!(OrderId::parse("ord_01JD3XK8W3V6A8G0N6R1C5E2QZ"), None, "upper case is not ours");
        let err = serde_json::from_str::<OrderId>("\"shp_x\"").unwrap_err();
        assert!(err.to_string().contains("ord_"), "{err}");
    }
}
