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

    /// What the carrier offers at a postcode (`capabilities.serviceability`).
    async fn serviceability(
        &self,
        _account: &Account<'_>,
        _country: &str,
        _postal_code: &str,
    ) -> Result<Serviceability, CarrierError> {
        Err(CarrierError::Unsupported { carrier: self.info().slug, operation: "serviceability checks" })
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
    /// All adapters, sharing one HTTP client (one connection pool).
    pub fn new(http: reqwest::Client) -> Self {
        let all: Vec<Arc<dyn Carrier>> = vec![
            Arc::new(sandbox::Sandbox::new(http.clone())),
            Arc::new(ups::Ups::new(http.clone())),
            Arc::new(fedex::Fedex::new(http.clone())),
            Arc::new(dhl_express::DhlExpress::new(http.clone())),
            Arc::new(usps::Usps::new(http.clone())),
            Arc::new(delhivery::Delhivery::new(http.clone())),
            Arc::new(aramex::Aramex::new(http.clone())),
            Arc::new(yurtici_kargo::YurticiKargo::new(http.clone())),
            Arc::new(mng_kargo::MngKargo::new(http)),
            Arc::new(generic::Generic::new()),
        ];
        Self { by_slug: all.into_iter().map(|c| (c.info().slug, c)).collect() }
    }

    pub fn get(&self, slug: &str) -> Option<&Arc<dyn Carrier>> {
        self.by_slug.get(slug)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Carrier>> {
        self.by_slug.values()
    }
}

/// The HTTP client adapters share: bounded timeouts on every call, so a silent carrier can
/// never hold a booking open.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(30))
        .pool_max_idle_per_host(64)
        .user_agent(concat!("waybill/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client builds with static settings")
}
