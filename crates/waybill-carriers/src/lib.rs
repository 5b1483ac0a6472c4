//! Carriers: the [`Carrier`] trait every adapter implements, and one module per carrier.
//!
//! An adapter turns Waybill's booking, cancel and tracking requests into the carrier's own API
//! calls and reads the answers back into Waybill's words. It never touches the store: the
//! engine hands it what it needs (the account's settings and decrypted credentials) and keeps
//! what it returns. Mapping tables (service codes, status codes, failure reasons) live as data
//! at the top of each module, so a reader can check them against the carrier's documents.

pub mod aramex;
pub mod delhivery;
pub mod dhl_express;
mod error;
pub mod fedex;
pub mod generic;
mod http;
pub mod mng_kargo;
mod model;
mod oauth;
pub mod sandbox;
mod tokens;
pub mod ups;
pub mod usps;
pub mod yurtici_kargo;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use error::CarrierError;
pub use model::*;
use waybill_core::FieldError;
use waybill_core::ndr::{NdrAction, NdrCapability};

/// One carrier's API, as every workflow needs it.
///
/// Every call takes the account it acts for. Booking is not idempotent at most carriers, so a
/// booking whose answer was lost comes back as [`CarrierError::Unknown`]; the engine then asks
/// [`Carrier::find_booking`] with the same reference instead of booking again.
#[async_trait::async_trait]
pub trait Carrier: Send + Sync {
    /// What this carrier is and can do; shown by `GET /v1/carriers`.
    fn info(&self) -> &CarrierInfo;

    /// Checks credentials against the carrier's schema before an account is saved.
    fn check_credentials(&self, credentials: &serde_json::Value) -> Result<(), Vec<FieldError>> {
        self.info().credentials.check(credentials)
    }

    async fn rate(&self, account: &Account<'_>, request: &RateRequest) -> Result<Vec<Rate>, CarrierError>;

    async fn book(&self, account: &Account<'_>, request: &BookingRequest) -> Result<Booking, CarrierError>;

    /// The booking made with `reference`, if the carrier has one: how an unknown outcome is settled.
    async fn find_booking(&self, account: &Account<'_>, reference: &str) -> Result<Option<Booking>, CarrierError>;

    async fn cancel(&self, account: &Account<'_>, booking: &BookedRef<'_>) -> Result<(), CarrierError>;

    /// Every scan the carrier has for this tracking number, in the carrier's order.
    async fn track(&self, account: &Account<'_>, tracking_number: &str) -> Result<Vec<Scan>, CarrierError>;

    /// Checks an address with the carrier (`capabilities.address_validation`).
    async fn validate_address(
        &self,
        _account: &Account<'_>,
        _address: &waybill_core::Address,
    ) -> Result<AddressCheck, CarrierError> {
        Err(CarrierError::Unsupported { carrier: self.info().slug, operation: "address validation" })
    }

    /// Asks the carrier to send a courier for parcels (`capabilities.pickup`). Not idempotent
    /// at the carrier: a repeat books a second pickup.
    async fn schedule_pickup(&self, _account: &Account<'_>, _request: &PickupRequest) -> Result<Pickup, CarrierError> {
        Err(CarrierError::Unsupported { carrier: self.info().slug, operation: "pickups" })
    }

    /// Calls off a booked pickup (`capabilities.pickup_cancel`), by the carrier's confirmation
    /// number. Calling it off twice does no harm at the carriers that allow it.
    async fn cancel_pickup(&self, _account: &Account<'_>, _confirmation_number: &str) -> Result<(), CarrierError> {
        Err(CarrierError::Unsupported { carrier: self.info().slug, operation: "cancelling pickups" })
    }

    /// The field of the delivery address a scan asks for (an exception scan saying the
    /// recipient's phone is needed, say), by the scan's code and reason; `None` for the rest.
    fn info_needed(&self, _code: &str, _reason_code: Option<&str>) -> Option<waybill_core::information::InfoField> {
        None
    }

    /// What of a booking [`Carrier::update_shipment`] can change (`capabilities.update`).
    fn updatable(&self) -> waybill_core::change::UpdatableFields {
        waybill_core::change::UpdatableFields::NONE
    }

    /// Changes a booking at the carrier: the recipient's details, the cash to collect or the
    /// parcels, as far as [`Carrier::updatable`] says. Repeating an update does no harm.
    async fn update_shipment(
        &self,
        _account: &Account<'_>,
        _booking: &BookedRef<'_>,
        _update: &ShipmentUpdate,
    ) -> Result<(), CarrierError> {
        Err(CarrierError::Unsupported { carrier: self.info().slug, operation: "updates after booking" })
    }

    /// Asks the carrier to bring a moving parcel back to the sender (`capabilities.rto_request`).
    /// Asking twice does no harm at the carriers that offer it.
    async fn request_rto(&self, _account: &Account<'_>, _booking: &BookedRef<'_>) -> Result<(), CarrierError> {
        Err(CarrierError::Unsupported { carrier: self.info().slug, operation: "return-to-origin requests" })
    }

    /// Closes the day's parcels at the carrier (`capabilities.manifest`). Repeating a close
    /// with the same reference does no harm at the carriers that offer it.
    async fn close_manifest(
        &self,
        _account: &Account<'_>,
        _request: &ManifestRequest,
    ) -> Result<ClosedManifest, CarrierError> {
        Err(CarrierError::Unsupported { carrier: self.info().slug, operation: "manifests" })
    }

    /// What the carrier offers at a postcode (`capabilities.serviceability`).
    async fn serviceability(
        &self,
        _account: &Account<'_>,
        _country: &str,
        _postal_code: &str,
    ) -> Result<Serviceability, CarrierError> {
        Err(CarrierError::Unsupported { carrier: self.info().slug, operation: "serviceability checks" })
    }

    /// What the carrier can be told after a failed delivery: which actions, how many attempts
    /// it makes, how far ahead it reschedules. `api` matches `capabilities.ndr`.
    fn ndr(&self) -> NdrCapability {
        NdrCapability::REPORT
    }

    /// Tells the carrier what to do about a shipment's failed delivery (`capabilities.ndr`).
    /// An action its API does not take is [`CarrierError::Unsupported`]: it goes in the daily
    /// NDR report instead. Repeating an instruction does no harm at the carriers that take them.
    async fn ndr_action(
        &self,
        _account: &Account<'_>,
        _booking: &BookedRef<'_>,
        _action: &NdrAction,
    ) -> Result<(), CarrierError> {
        Err(CarrierError::Unsupported { carrier: self.info().slug, operation: "NDR actions" })
    }

    /// Asks the carrier to push this shipment's scans to `target`. Carriers without pushes
    /// (`capabilities.push` false) keep this default: their scans are pulled.
    async fn subscribe(
        &self,
        _account: &Account<'_>,
        _tracking_number: &str,
        _target: &PushTarget,
    ) -> Result<(), CarrierError> {
        Ok(())
    }

    /// Books and, in the same call, subscribes the new shipment's scans to `target`
    /// (`capabilities.push_at_booking`): one request instead of two, and no booked shipment
    /// is ever left without its subscription.
    async fn book_subscribed(
        &self,
        _account: &Account<'_>,
        _request: &BookingRequest,
        _target: &PushTarget,
    ) -> Result<Booking, CarrierError> {
        Err(CarrierError::Unsupported { carrier: self.info().slug, operation: "subscribing to pushes while booking" })
    }

    /// Checks a pushed request's signature with `secret` and reads its scans. Carriers without
    /// pushes keep this default, which refuses every push.
    fn parse_push(&self, _secret: &str, _push: &PushRequest<'_>) -> Result<Vec<PushedScan>, PushError> {
        Err(PushError::Malformed(format!("{} pushes are not supported yet", self.info().name)))
    }
}

/// Every adapter this build knows, by slug.
#[derive(Clone)]
pub struct Carriers {
    by_slug: BTreeMap<&'static str, Arc<dyn Carrier>>,
}

impl Carriers {
    /// All adapters, sharing the outbound policy's clients (one connection pool each): live
    /// accounts' calls go through its guarded client, test accounts' through its open one.
    pub fn new(outbound: waybill_outbound::Outbound) -> Self {
        let all: Vec<Arc<dyn Carrier>> = vec![
            Arc::new(sandbox::Sandbox::new(outbound.clone())),
            Arc::new(ups::Ups::new(outbound.clone())),
            Arc::new(fedex::Fedex::new(outbound.clone())),
            Arc::new(dhl_express::DhlExpress::new(outbound.clone())),
            Arc::new(usps::Usps::new(outbound.clone())),
            Arc::new(delhivery::Delhivery::new(outbound.clone())),
            Arc::new(aramex::Aramex::new(outbound.clone())),
            Arc::new(yurtici_kargo::YurticiKargo::new(outbound.clone())),
            Arc::new(mng_kargo::MngKargo::new(outbound)),
            Arc::new(generic::Generic::new()),
        ];
        Self { by_slug: all.into_iter().map(|c| (c.info().slug, c)).collect() }
    }

    /// These adapters with `carrier` added (or put in place of the one with its slug): how a
    /// test hands the engine an in-process carrier double.
    pub fn with(mut self, carrier: Arc<dyn Carrier>) -> Self {
        self.by_slug.insert(carrier.info().slug, carrier);
        self
    }

    pub fn get(&self, slug: &str) -> Option<&Arc<dyn Carrier>> {
        self.by_slug.get(slug)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Carrier>> {
        self.by_slug.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_carrier_shows_of_ndr_matches_what_it_takes() {
        let carriers = Carriers::new(waybill_outbound::Outbound::default());
        let with_api: Vec<_> = carriers.iter().filter(|c| c.ndr().api).map(|c| c.info().slug).collect();
        for carrier in carriers.iter() {
            assert_eq!(carrier.info().capabilities.ndr, carrier.ndr().api, "{}", carrier.info().slug);
        }
        assert_eq!(with_api, ["delhivery", "sandbox"]);
    }
}
