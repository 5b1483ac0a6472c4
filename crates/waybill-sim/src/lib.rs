//! # waybill-sim: a carrier simulator
//!
//! A real HTTP service that behaves like a small carrier's API, for demos,
//! end-to-end tests and load tests. Waybill reaches it only over HTTP through
//! its `sandbox` carrier adapter. The vocabulary (status and reason codes) is
//! this carrier's own, not Waybill's.
//!
//! ## Embedding
//!
//! ```no_run
//! use waybill_sim::{Faults, SimConfig, Simulator};
//!
//! # async fn run() -> std::io::Result<()> {
//! let sim = Simulator::new(SimConfig {
//!     day_seconds: 60.0, // one simulated day per real minute
//!     state_file: Some("sim-state.jsonl".into()),
//!     faults: Faults::default(),
//! })
//! .await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! sim.serve(listener).await // API + webhook scheduler, until the process ends
//! # }
//! ```
//!
//! [`Simulator::router`] gives the bare routes (no webhook deliveries);
//! [`Simulator::serve`] runs the routes together with the push scheduler.
//!
//! ## Clock
//!
//! Each shipment follows a *scenario*: a table of scans at offsets in simulated
//! days after booking. One simulated day lasts [`SimConfig::day_seconds`] real
//! seconds, so a scan happens at the wall-clock instant
//! `booking time + offset × day_seconds`. Tracking only shows scans whose
//! instant has come. Timestamps are written in RFC 3339 with the origin hub's
//! fixed UTC offset (`+03:00` for Turkey, `+00:00` for unknown countries).
//!
//! ## HTTP API
//!
//! JSON everywhere. Errors look like
//! `{"error": {"code": "UPPER_SNAKE", "message": "…", "field": "optional.path"}}`.
//! Every `/api` route needs a non-empty `X-Api-Key` header (else 401
//! `UNAUTHORIZED`); keys are not registered, they partition the data: a
//! shipment booked with key A is 404 `NOT_FOUND` for key B.
//!
//! | Route | Purpose |
//! | --- | --- |
//! | `POST /api/v1/rates` | `{"shipper", "consignee", "parcels"}` → `{"rates": [{"service", "charge": {"amount", "currency"}, "transit_days"}]}` |
//! | `POST /api/v1/shipments` | book; 201 with `awb` (`SIM` + 10 digits), `shipment_id`, `reference`, `service`, `status_code`, `charge`, `edd`, `routing`, `pieces`, `created_at` |
//! | `GET /api/v1/shipments?reference=R` | `{"shipments": [shipment]}`, empty when unknown: how a client reconciles an unknown outcome |
//! | `GET /api/v1/shipments/{awb}` | the shipment, `status_code` = latest scan, the `consignee` and `cod` as they stand after any update |
//! | `POST /api/v1/shipments/{awb}/update` | changes the recipient's `name`, `phone`, `street1`, `street2` or the `cod` amount (in its currency; not added to a prepaid shipment) until the parcel is delivered, returned or cancelled (then 409 `UPDATE_NOT_ALLOWED`); answers the shipment |
//! | `POST /api/v1/shipments/{awb}/rto` | turns a parcel back to the shipper between pickup and delivery: the scans still to come give way to `RT`, `RI`, `RD`; asking again answers the first request; before pickup or once delivered or returned 409 `RTO_NOT_ALLOWED` |
//! | `POST /api/v1/shipments/{awb}/ndr` | an instruction after a failed delivery (below) → `{"awb", "action", "instructed_at", "status_code"}` |
//! | `POST /api/v1/shipments/{awb}/cancel` | `{"awb", "status_code": "CX"}` until pickup, then 409 `CANCEL_NOT_ALLOWED`; idempotent |
//! | `GET /api/v1/tracking/{awb}` | `{"awb", "status_code", "events": [event]}`, oldest first |
//! | `POST /api/v1/subscriptions` | `{"awb", "url", "secret"}` → 201 `{"subscription_id"}` (200 when the same awb + url replaces its secret) |
//! | `POST /api/v1/addresses/validate` | `{"address"}` → `{"verdict", "classification", "candidates": [address], "messages"}` |
//! | `GET /api/v1/serviceability?country=&postal_code=` | `{"country", "postal_code", "delivery", "prepaid", "cod", "pickup", "place", "remark"}` |
//! | `POST /api/v1/pickups` | book a courier; 201 with `pickup_id`, `confirmation_number` (`PRN` + 8 digits), `reference`, `date`, `ready_time`, `close_time`, `charge`, `note`, … |
//! | `GET /api/v1/pickups?reference=R` | `{"pickups": [pickup]}`: every pickup booked under `R` |
//! | `POST /api/v1/pickups/{confirmation_number}/cancel` | calls the courier off: `{"confirmation_number", "status": "cancelled"}` until the pickup's day has passed, then 409 `PICKUP_CANCEL_NOT_ALLOWED`; idempotent (a cancelled pickup shows `cancelled_at`) |
//! | `POST /api/v1/manifests` | closes the day for `{"reference", "awbs": [awb, …]}`: 201 with `manifest_number` (`MAN` + 8 digits), `reference`, `awbs`, `created_at`; a repeat of the reference answers the first close with 200; an unknown or cancelled AWB is 422, one on another close 409 `AWB_ALREADY_MANIFESTED` |
//! | `GET /api/v1/manifests?reference=R` | `{"manifests": [manifest]}`: the close made under `R` |
//! | `GET`/`PUT /_sim/faults` | read / change [`Faults`] (no auth) |
//! | `GET /_sim/health` | `{"status": "ok"}` |
//!
//! Addresses are `{"name", "company"?, "phone"?, "email"?, "street1",
//! "street2"?, "city", "state"?, "postal_code", "country"}` (ISO alpha-2
//! country); parcels are `{"weight_g", "length_mm"?, "width_mm"?,
//! "height_mm"?}`. Invalid input is 422 `VALIDATION_ERROR` with `field`
//! (e.g. `consignee.postal_code`, `parcels[0].weight_g`). Booking takes a
//! client `reference` (≤ 64 chars, unique per key: a repeat is 409
//! `DUPLICATE_REFERENCE` carrying the existing `awb`), a `service`
//! (`express`, `standard`, `economy`), an optional `cod`
//! `{"amount": "12.50", "currency": "TRY"}`, an optional `scenario` and an
//! optional `webhook` `{"url", "secret"}`, which subscribes the new awb as
//! `POST /api/v1/subscriptions` would, in the same call; its first push
//! follows one second after the booking's answer.
//!
//! An event is `{"event_id": "<awb>-<seq>", "code", "description",
//! "location", "timestamp", "reason_code"}`.
//!
//! ## Status codes and scenarios
//!
//! Codes: `BK` booked, `PU` picked up, `DP` departed origin hub, `AR` arrived
//! at destination hub, `OD` out for delivery, `UD` undelivered (with a reason),
//! `DL` delivered, `HP` held at pickup point, `EX` exception (with a reason),
//! `RT` return to shipper initiated, `RI` return in transit, `RD` returned to
//! shipper, `CX` cancelled, `LS` declared lost. Reasons for `UD`: `CNA`, `ADR`,
//! `REF`, `COD`, `CLS`, `RSC`, `OOS`; for `EX`: `DMG`, `CUS`, `WTH`, and `PHN` (the
//! consignee's phone is needed) and `ADI` (the street address is incomplete), which ask the
//! shipper for that detail.
//!
//! | Scenario | Scans (simulated days after booking) |
//! | --- | --- |
//! | `delivered` (default) | BK 0, PU 0.2, DP 0.5, AR 1.2, OD 1.6, DL 1.8 |
//! | `ndr_then_delivered` | BK 0, PU 0.2, DP 0.5, AR 1.2, OD 1.6, UD(CNA) 1.8, OD 2.6, DL 2.8 |
//! | `ndr` | BK 0, PU 0.2, DP 0.5, AR 1.2, OD 1.6, UD(CNA) 1.8, then what the shipper instructs (below) |
//! | `rto` | BK 0, PU 0.2, DP 0.5, AR 1.2, OD 1.6, UD(ADR) 1.8, OD 2.6, UD(REF) 2.8, RT 3.0, RI 3.5, RD 4.5 |
//! | `lost` | BK 0, PU 0.2, DP 0.5, LS 7.0 |
//! | `exception` | BK 0, PU 0.2, DP 0.5, EX(DMG) 1.0, AR 1.5, OD 2.0, DL 2.2 |
//! | `info` | BK 0, PU 0.2, DP 0.5, AR 1.2, EX(PHN) 1.3, then, once an update gives the consignee's phone, OD 0.3 and DL 0.5 days after it; without one the parcel is held 3 days and returned (RT, RI, RD) |
//!
//! ## NDR instructions
//!
//! While a shipment's latest scan is `UD`, the shipper may send one instruction (one per
//! shipment, whatever its attempts): `{"action": "reattempt"}`, `{"action": "reschedule",
//! "date": "YYYY-MM-DD"}` (after today, at most 7 days ahead), `{"action": "update",
//! "address"?, "phone"?, "landmark"?}` (at least one) or `{"action": "rto"}`. Otherwise 409
//! `NDR_NOT_ALLOWED`; a second, different instruction is 409 `NDR_ALREADY_INSTRUCTED`, and the
//! same one again answers as the first did, so a client may repeat a request whose answer was
//! lost. Only the
//! `ndr` scenario changes its journey: after `reattempt` or `update`, OD 0.3 and DL 0.5
//! simulated days later; after `reschedule`, the same a simulated day per day ahead, less one;
//! after `rto`, RT 0.2, RI 0.7 and RD 1.7 days later. Without an instruction the carrier holds
//! the parcel 3 simulated days and then returns it (RT, RI, RD from then on). Other scenarios
//! keep their own scans and only record the instruction.
//!
//! A cancelled shipment gets a `CX` scan at the moment of cancellation and no
//! scans after it.
//!
//! ## Addresses, serviceability and pickups
//!
//! An address is `valid` when its postcode has the country's shape (known
//! for TR, US, DE, FR, ES, IT, IN) and starts with the postal prefix of the
//! city given (the hub table: `34` Istanbul, `06` Ankara, `1` New York, …;
//! accents and case are ignored); `ambiguous` when the postcode is known but
//! belongs to another city (candidates: the postcode's city, and the given
//! city with its own prefix); `invalid` otherwise. It is `commercial` when a
//! company is given, else `residential`.
//!
//! Every postcode is served except these, kept small so tests and demos can
//! show both answers: no service at all at TR `34999`, TR `65000` and US
//! `99950`; no cash on delivery at TR `06999`, TR `34998` and US `10999`. A booking to a
//! postcode with no service is refused: 422 `PINCODE_NOT_SERVICEABLE`, field
//! `consignee.postal_code`.
//!
//! A pickup takes a `reference`, an `address`, a `date` (`YYYY-MM-DD`, not
//! past), `ready_time` and `close_time` (`HH:MM`, close after ready),
//! `parcels` and/or `awbs` (shipments of the same key), and optional
//! `instructions`; it costs 4.50 USD. Booking a pickup is not idempotent: a
//! repeat with the same reference books a second courier, as at most
//! carriers.
//!
//! ## Webhooks
//!
//! After a subscription, every event of the AWB (past ones at once, future
//! ones when their time comes) is POSTed to the URL as
//! `{"awb", "event"}` with headers `X-Sim-Event-Id`, `X-Sim-Timestamp` (unix
//! seconds) and `X-Sim-Signature: sha256=<hex HMAC-SHA256(secret,
//! "<timestamp>.<raw body>")>`. Events go out in order, one at a time per
//! subscription; a non-2xx answer or a connection error is retried after
//! 0.5 s, 1 s, 2 s, 4 s and 8 s (six attempts), after which the event is
//! skipped.
//!
//! ## Faults
//!
//! [`Faults`] add latency, answer 503 `SERVICE_UNAVAILABLE` before doing
//! anything, or do the work and then hang (an unknown outcome for the client,
//! which it reconciles with `GET /api/v1/shipments?reference=`). They apply to
//! `/api` routes only.
//!
//! ## Persistence
//!
//! With [`SimConfig::state_file`], every state change (shipment booked,
//! shipment cancelled, NDR instruction, pickup booked or cancelled, subscription set, webhook event done) is appended to a
//! JSON-lines journal that is replayed on start; scans need no journal since
//! they follow from the booking time and the scenario.

mod api;
mod coverage;
mod error;
mod faults;
mod geo;
mod journal;
mod model;
mod push;
mod rates;
mod scenario;
mod store;
mod validate;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use faults::Faults;

use journal::Journal;
use store::Store;

/// Slowest clock accepted: a simulated day per real year keeps every
/// scan and promised date far inside the range of dates.
const MAX_DAY_SECONDS: f64 = 365.0 * 86_400.0;

/// How a [`Simulator`] behaves.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Real seconds per simulated day (the accelerated clock; 86400 is real
    /// time). Must be above 0 and at most a year; default 60.0.
    pub day_seconds: f64,
    /// If set, a JSON-lines journal: shipments and subscriptions survive a
    /// restart (replayed by [`Simulator::new`]).
    pub state_file: Option<PathBuf>,
    /// Faults in force from the start; change them with
    /// [`Simulator::set_faults`] or `PUT /_sim/faults`.
    pub faults: Faults,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self { day_seconds: 60.0, state_file: None, faults: Faults::default() }
    }
}

/// The carrier simulator. Cheap to clone: clones share one state.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

/// State shared by the handlers and the push scheduler.
pub(crate) struct Inner {
    pub(crate) day_seconds: f64,
    store: Mutex<Store>,
    faults: Mutex<Faults>,
    /// Wakes the push scheduler when a delivery becomes due earlier than it
    /// planned (new subscription, cancellation, finished attempt).
    pub(crate) wake: tokio::sync::Notify,
    pub(crate) http: reqwest::Client,
    /// Caps webhook requests in flight, so a load test with thousands of
    /// subscriptions due at once does not open thousands of sockets.
    pub(crate) push_slots: tokio::sync::Semaphore,
}

impl Inner {
    /// The store. A panic while it was held (a bug) must not turn every later
    /// request into a panic too, so a poisoned lock is used as is.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn faults(&self) -> Faults {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        *self.faults.lock().unwrap_or_else(PoisonError::into_inner) = faults;
    }
}

/// Rebuilds the state from the journal at `path` and keeps it open for
/// appending.
fn replay(path: &std::path::Path) -> std::io::Result<Store> {
    let mut store = Store::default();
    for record in journal::replay(path)? {
        if let Err(why) = store.apply(record) {
            tracing::warn!(%why, "skipping journal record that does not apply");
        }
    }
    store.attach_journal(Journal::open(path)?);
    Ok(store)
}

impl Simulator {
    /// Builds a simulator, replaying `config.state_file` if it exists.
    ///
    /// Fails if `day_seconds` is out of range or the state file
    /// cannot be read or opened for appending.
    pub async fn new(config: SimConfig) -> std::io::Result<Self> {
        if !(config.day_seconds > 0.0 && config.day_seconds <= MAX_DAY_SECONDS) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("day_seconds must be above 0 and at most {MAX_DAY_SECONDS}, got {}", config.day_seconds),
            ));
        }
        let mut store = match config.state_file {
            // Replay reads and opens files: keep it off the async workers.
            Some(path) => tokio::task::spawn_blocking(move || replay(&path)).await.map_err(std::io::Error::other)??,
            None => Store::default(),
        };
        store.wake_all_subscriptions(chrono::Utc::now());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            // A redirect is not a delivery: it counts as a failed attempt.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Self {
            inner: Arc::new(Inner {
                day_seconds: config.day_seconds,
                store: Mutex::new(store),
                faults: Mutex::new(config.faults),
                wake: tokio::sync::Notify::new(),
                http,
                push_slots: tokio::sync::Semaphore::new(push::MAX_IN_FLIGHT),
            }),
        })
    }

    /// All HTTP routes (API, `/_sim/faults`, `/_sim/health`). Webhooks are
    /// only delivered while [`Simulator::serve`] runs.
    pub fn router(&self) -> axum::Router {
        api::router(self.inner.clone())
    }

    /// Serves [`Simulator::router`] on `listener` and runs the webhook
    /// scheduler, until the process ends or the server fails.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let app = self.router();
        tokio::select! {
            served = axum::serve(listener, app) => served,
            () = push::run(self.inner.clone()) => Ok(()),
        }
    }

    /// How many shipments the simulator has booked, for every API key.
    pub fn shipments_booked(&self) -> usize {
        self.inner.store().shipment_count()
    }

    /// Replaces the faults in force (same as `PUT /_sim/faults`).
    pub fn set_faults(&self, faults: Faults) {
        self.inner.set_faults(faults);
    }
}
