//! Waybill's workflows and its application API: create orders, book a shipment, cancel it,
//! take in its scans (pushed or pulled), print its label, schedule pickups, and the reads the
//! API, webhooks and pages show; plus the typed background jobs that keep all of it moving.
//!
//! Every change takes one path: a [unit of work](uow::UnitOfWork) opens a transaction, applies
//! the domain rule (pure, in `waybill-core`), writes the change, and emits typed events into
//! the same transaction, each fanned out to one job per consumer ([`jobs::CONSUMERS`]). No
//! unit of work stays open across a call to a carrier: the engine records the intent, commits,
//! calls, then records the outcome in a new unit of work.

mod accounts;
mod booking;
mod branding;
pub mod cancellations;
pub mod changes;
mod channel_stock;
pub mod channels;
mod error;
mod generic;
pub mod information;
pub mod inventory;
pub mod jobs;
pub mod labels;
mod locations;
pub mod manifests;
pub mod ndr;
pub mod notify;
mod operations;
mod orders;
mod reads;
mod rto;
mod tracking;
mod uow;
pub mod webhooks;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use accounts::BaseUrlPolicy;
pub use branding::{PublicParcel, PublicTracking, Recipient};
pub use error::EngineError;
pub use generic::{MAX_REPORTED_SCANS, ReportedScan, ScanReport};
pub use jobs::{Job, Next, Registry, Worker};
pub use orders::OrdersImport;
use tokio::sync::Notify;
pub use tracking::PushReceipt;
use waybill_carriers::Carriers;
use waybill_core::account::CarrierAccount;
use waybill_core::ids::CarrierAccountId;
use waybill_labels::LabelRenderer;
use waybill_outbound::Outbound;
use waybill_store::{AccountSecrets, Store};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The base URL carriers push scans to (`{public_url}/v1/hooks/carriers/…`). Every node of
    /// one deployment must have the same one: carriers keep the URL they were given at booking.
    pub public_url: String,
    /// How often an in-transit shipment is polled; earlier and later stages poll less often.
    pub poll_interval: Duration,
    /// Stop polling a shipment that has not reached a final status after this long.
    pub tracking_max_age: Duration,
    /// A booking pending longer than this is reconciled even if its node still looks alive.
    pub booking_watchdog: Duration,
    /// How often any node looks for bookings whose node is gone (and reconciles them).
    pub sweep_interval: Duration,
    /// This node's name, unique among the nodes sharing the database and the same across its
    /// restarts, so a restarted node recognises the bookings its previous run left in flight.
    pub node: String,
    /// How often this node records that it is alive.
    pub heartbeat: Duration,
    /// A node silent for this long is taken as gone.
    pub node_timeout: Duration,
    /// Which `base_url` overrides live carrier accounts may have.
    pub base_urls: BaseUrlPolicy,
    /// Live webhook endpoints may be private, loopback or plain-http addresses
    /// (`--allow-private-webhooks`, for receivers inside the operator's own network).
    pub allow_private_webhooks: bool,
    /// How customer email leaves this node (`--smtp-url`).
    pub email: notify::EmailTransport,
    /// The `From` address of tenants that set none (`--mail-from`).
    pub mail_from: Option<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            poll_interval: Duration::from_secs(15 * 60),
            tracking_max_age: Duration::from_secs(60 * 24 * 3600),
            booking_watchdog: Duration::from_secs(120),
            sweep_interval: Duration::from_secs(5),
            node: "node".into(),
            heartbeat: Duration::from_secs(2),
            node_timeout: Duration::from_secs(10),
            base_urls: BaseUrlPolicy::default(),
            allow_private_webhooks: false,
            email: notify::EmailTransport::None,
            mail_from: None,
        }
    }
}

/// Cheap to clone; every clone shares the store, adapters, label fonts and job registry.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    carriers: Carriers,
    channels: waybill_channels::Channels,
    outbound: Outbound,
    labels: LabelRenderer,
    config: EngineConfig,
    registry: Registry,
    /// When this node started (epoch ms): its heartbeat row says so, and bookings its previous
    /// run left are older.
    started_at: i64,
    /// Wakes this node's workers when a unit of work commits a job that is due now.
    jobs_queued: Notify,
    email: notify::EmailTransport,
    sms: waybill_notify::sms::SmsSender,
    /// Carrier accounts with their opened secrets, as of the account's `updated_at`: an entry
    /// is used only while the account row still shows the same time.
    accounts: RwLock<HashMap<CarrierAccountId, Arc<(CarrierAccount, AccountSecrets)>>>,
    /// Each scope's own SMTP server (its URL and mailer), so it keeps its connection pool
    /// between messages; one entry per scope, replaced when the URL changes.
    tenant_mailers: RwLock<HashMap<waybill_core::Scope, (String, waybill_notify::email::Mailer)>>,
}

impl Engine {
    pub fn new(store: Store, carriers: Carriers, outbound: Outbound, config: EngineConfig) -> Self {
        Self::with_jobs(store, carriers, outbound, config, |_| {})
    }

    /// An engine whose workers also run the jobs `register` adds to the registry.
    pub fn with_jobs(
        store: Store,
        carriers: Carriers,
        outbound: Outbound,
        config: EngineConfig,
        register: impl FnOnce(&mut Registry),
    ) -> Self {
        let mut registry = jobs::builtin();
        register(&mut registry);
        let email = config.email.clone();
        let sms = notify::sms_sender(&outbound);
        Self {
            inner: Arc::new(Inner {
                store,
                carriers,
                channels: waybill_channels::Channels::new(outbound.clone()),
                outbound,
                labels: LabelRenderer::new(),
                config,
                registry,
                started_at: waybill_store::now_ms(),
                jobs_queued: Notify::new(),
                email,
                sms,
                accounts: RwLock::default(),
                tenant_mailers: RwLock::default(),
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

    pub(crate) fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Every job kind this node runs.
    pub fn job_kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.inner.registry.kinds()
    }

    /// When this node started (epoch ms).
    pub fn started_at(&self) -> i64 {
        self.inner.started_at
    }
}
