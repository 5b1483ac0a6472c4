//! Waybill's workflows: book a shipment, cancel it, take in its scans (pushed or pulled),
//! print its label, and run the background jobs that keep all of that moving.
//!
//! The engine is the only place that calls both a carrier and the store. It never holds a
//! transaction across a carrier call: it records the intent, calls, then records the outcome.

mod booking;
mod error;
mod generic;
mod jobs;
pub mod labels;
mod operations;
mod tracking;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use booking::{BookInput, NewAccountInput};
pub use error::EngineError;
pub use generic::{MAX_REPORTED_SCANS, ReportedScan, ScanReport};
pub use jobs::Worker;
pub use operations::PickupInput;
use tokio::sync::Notify;
pub use tracking::PushReceipt;
use waybill_carriers::Carriers;
use waybill_core::ids::CarrierAccountId;
use waybill_labels::LabelRenderer;
use waybill_store::{AccountSecrets, CarrierAccount, Store};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The base URL carriers push scans to (`{public_url}/v1/hooks/carriers/…`).
    pub public_url: String,
    /// How often an in-transit shipment is polled; earlier and later stages poll less often.
    pub poll_interval: Duration,
    /// Stop polling a shipment that has not reached a final status after this long.
    pub tracking_max_age: Duration,
    /// How long a booking may stay pending before the watchdog reconciles it.
    pub booking_watchdog: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            poll_interval: Duration::from_secs(15 * 60),
            tracking_max_age: Duration::from_secs(60 * 24 * 3600),
            booking_watchdog: Duration::from_secs(120),
        }
    }
}

/// Cheap to clone; every clone shares the store, adapters and label fonts.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    carriers: Carriers,
    labels: LabelRenderer,
    config: EngineConfig,
    /// Wakes this node's workers when it queues a job that is due now.
    jobs_queued: Notify,
    /// Carrier accounts with their opened secrets. Accounts cannot be changed or removed
    /// through any API yet, so entries never go stale; whatever adds that must evict here.
    accounts: RwLock<HashMap<CarrierAccountId, Arc<(CarrierAccount, AccountSecrets)>>>,
}

impl Engine {
    pub fn new(store: Store, carriers: Carriers, config: EngineConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                carriers,
                labels: LabelRenderer::new(),
                config,
                jobs_queued: Notify::new(),
                accounts: RwLock::default(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn carriers(&self) -> &Carriers {
        &self.inner.carriers
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }
}
