//! Typed background jobs: the [`Job`] trait, the [`Registry`] of handlers, the table of event
//! consumers, and the [`Worker`] that claims due jobs from the shared queue and runs them.
//!
//! A job kind and its payload are an API boundary: jobs queued by one version are run by the
//! next, so a payload only ever gains optional fields. Settling a job (done, again later,
//! failed) is fenced by the claim's lease: a worker whose lease ran out cannot settle a job
//! another node has taken since. Periodic work is a job that reschedules itself.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use waybill_core::ids::{CarrierAccountId, EventId, OrderId, ShipmentId, TenantId};
use waybill_core::{Event, Mode, OrderStatus, Scope};
use waybill_store::{ClaimedJob, NewJob, now_ms};

use crate::{Engine, EngineError};

/// A kind of background work with a typed payload.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The name stored with the job; never changes once released.
    const KIND: &'static str;
    /// Attempts before the job is given up on (kept as `dead` for a person).
    const MAX_ATTEMPTS: u32 = 10;

    /// A job queued under its key while the job with that key runs makes that run happen once
    /// more ([`NewJob::rerun_if_running`]): for jobs that bring something up to date.
    const RERUN_IF_RUNNING: bool = false;

    /// At most one job with this key is queued at a time.
    fn unique_key(&self) -> Option<String> {
        None
    }

    /// The row to queue for this job.
    fn to_new(&self, scope: Option<&Scope>, run_at: i64) -> NewJob {
        NewJob {
            kind: Self::KIND,
            payload: serde_json::to_value(self).expect("job payloads serialize"),
            scope: scope.cloned(),
            run_at,
            unique_key: self.unique_key(),
            replace: false,
            rerun_if_running: Self::RERUN_IF_RUNNING,
            max_attempts: Self::MAX_ATTEMPTS,
        }
    }
}

/// What a handler wants done with its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Done,
    RunAgainAt(i64),
}

/// What a handler knows about the job it runs besides its payload.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The tenant and mode the job acts in; `None` for work across tenants, and for jobs
    /// queued before modes were stored (their `tenant` is still known).
    pub scope: Option<Scope>,
    pub tenant: Option<TenantId>,
    /// This is the job's n-th run (from 1).
    pub attempt: i64,
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Next, EngineError>> + Send>>;
type Handler = Arc<dyn Fn(Engine, JobContext, &str) -> BoxFuture + Send + Sync>;

/// The handlers of every job kind this node runs.
#[derive(Default, Clone)]
pub struct Registry {
    handlers: HashMap<&'static str, Handler>,
}

impl Registry {
    /// The kinds it has handlers for.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.handlers.keys().copied()
    }

    /// Runs `handler` for every job of kind `J::KIND`.
    pub fn register<J, F, Fut>(&mut self, handler: F)
    where
        J: Job,
        F: Fn(Engine, JobContext, J) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Next, EngineError>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |engine, ctx, payload| match serde_json::from_str::<J>(payload) {
            Ok(job) => Box::pin(handler(engine, ctx, job)),
            Err(e) => {
                let error = EngineError::Internal(format!("a `{}` job's payload cannot be read: {e}", J::KIND));
                Box::pin(async move { Err(error) })
            }
        });
        self.handlers.insert(J::KIND, handler);
    }

    fn get(&self, kind: &str) -> Option<&Handler> {
        self.handlers.get(kind)
    }
}

/// Poll a shipment's scans; reschedules itself until the shipment reaches a final status.
#[derive(Serialize, Deserialize)]
pub struct Track {
    pub shipment_id: ShipmentId,
}

impl Job for Track {
    const KIND: &'static str = "track";
    const MAX_ATTEMPTS: u32 = 50;
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.shipment_id))
    }
}

/// Ask the carrier to push a shipment's scans to us. Jobs queued before the account and
/// number were added carry only the shipment id.
#[derive(Serialize, Deserialize)]
pub struct Subscribe {
    pub shipment_id: ShipmentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_account_id: Option<CarrierAccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
}

impl Job for Subscribe {
    const KIND: &'static str = "subscribe";
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.shipment_id))
    }
}

/// Settle a booking whose outcome was never recorded, by asking the carrier.
#[derive(Serialize, Deserialize)]
pub struct ReconcileBooking {
    pub shipment_id: ShipmentId,
}

impl Job for ReconcileBooking {
    const KIND: &'static str = "reconcile_booking";
    const MAX_ATTEMPTS: u32 = 20;
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.shipment_id))
    }
}

/// Close a delivered order (a consumer of `order.status_changed`).
#[derive(Serialize, Deserialize)]
pub struct CloseOrder {
    pub order_id: OrderId,
    /// The event that asked for it (absent on jobs queued before events existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
}

impl Job for CloseOrder {
    const KIND: &'static str = "close_order";
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.order_id))
    }
}

/// Periodic: reconcile bookings whose node is gone or that stayed pending too long.
#[derive(Serialize, Deserialize)]
pub struct SweepBookings {}

impl Job for SweepBookings {
    const KIND: &'static str = "sweep_bookings";
    const MAX_ATTEMPTS: u32 = u32::MAX;
    fn unique_key(&self) -> Option<String> {
        Some(Self::KIND.to_owned())
    }
}

/// A consumer of events: which events it wants, and the job it gets for each.
pub struct Consumer {
    pub name: &'static str,
    pub wants: fn(&Event) -> bool,
    pub job: fn(&Scope, &EventId, &Event) -> NewJob,
}

/// Which consumer wants which events. Messages, channel updates and KPI rollups join here;
/// none hooks into the workflows. (Merchant webhooks fan out per endpoint in the emitting
/// transaction: `webhooks::fan_out`.)
pub const CONSUMERS: &[Consumer] = &[
    Consumer {
        name: "close_order",
        wants: |e| matches!(e, Event::OrderStatusChanged { order, .. } if order.status == OrderStatus::Delivered),
        job: |scope, id, e| {
            let Event::OrderStatusChanged { order, .. } = e else {
                unreachable!("only order.status_changed is wanted")
            };
            CloseOrder { order_id: order.id.clone(), event_id: Some(id.clone()) }.to_new(Some(scope), now_ms())
        },
    },
    Consumer { name: "customer_messages", wants: crate::notify::wants, job: crate::notify::job },
    Consumer { name: "merchant_alerts", wants: crate::notify::alerts_merchant, job: crate::notify::alert_job },
    Consumer { name: "channel_updates", wants: crate::channels::wants, job: crate::channels::job },
    Consumer { name: "inventory", wants: crate::inventory::wants, job: crate::inventory::job },
    Consumer { name: "channel_stock", wants: crate::channel_stock::wants, job: crate::channel_stock::job },
    Consumer { name: "ndr", wants: crate::ndr::wants, job: crate::ndr::job },
    Consumer { name: "order_cancellation", wants: crate::cancellations::wants, job: crate::cancellations::job },
    Consumer { name: "information", wants: crate::information::wants, job: crate::information::job },
];

/// The engine's own job kinds.
pub(crate) fn builtin() -> Registry {
    let mut r = Registry::default();
    r.register(|engine: Engine, ctx, job: Track| async move {
        let scope = engine.shipment_job_scope(&ctx, &job.shipment_id).await?;
        engine.track_job(&scope, &job.shipment_id).await
    });
    r.register(|engine: Engine, ctx, job: Subscribe| async move {
        let scope = engine.shipment_job_scope(&ctx, &job.shipment_id).await?;
        match (job.carrier_account_id, job.tracking_number) {
            (Some(account), Some(number)) => engine.subscribe_tracking(&scope, &account, &number).await?,
            _ => engine.subscribe(&scope, &job.shipment_id).await?,
        }
        Ok(Next::Done)
    });
    r.register(|engine: Engine, ctx, job: ReconcileBooking| async move {
        let scope = engine.shipment_job_scope(&ctx, &job.shipment_id).await?;
        engine.reconcile_booking(&scope, &job.shipment_id).await.map(|_| Next::Done)
    });
    r.register(|engine: Engine, ctx, job: CloseOrder| async move {
        let scope = match ctx.scope {
            Some(s) => s,
            None => engine.legacy_order_scope(&ctx, &job.order_id).await?,
        };
        engine.close_order(&scope, &job.order_id).await.map(|_| Next::Done)
    });
    r.register(|engine: Engine, _ctx, _job: SweepBookings| async move {
        engine.sweep_orphaned_bookings().await?;
        engine.free_abandoned_jobs(false).await?;
        Ok(Next::RunAgainAt(now_ms() + engine.config().sweep_interval.as_millis() as i64))
    });
    crate::webhooks::register(&mut r);
    crate::notify::register(&mut r);
    crate::channels::register(&mut r);
    crate::inventory::register(&mut r);
    crate::channel_stock::register(&mut r);
    crate::ndr::register(&mut r);
    crate::manifests::register(&mut r);
    crate::cancellations::register(&mut r);
    crate::information::register(&mut r);
    r
}

impl Engine {
    /// The scope of a shipment job. Jobs queued before modes were stored carry none: their
    /// shipment says which mode it is in.
    async fn shipment_job_scope(&self, ctx: &JobContext, shipment: &ShipmentId) -> Result<Scope, EngineError> {
        if let Some(scope) = &ctx.scope {
            return Ok(scope.clone());
        }
        let tenant =
            ctx.tenant.clone().ok_or_else(|| EngineError::Internal("a shipment job without a tenant".into()))?;
        for mode in Mode::ALL {
            let scope = Scope::new(tenant.clone(), *mode);
            if self.store().shipment(&scope, shipment).await.is_ok() {
                return Ok(scope);
            }
        }
        Err(EngineError::Internal(format!("a job names shipment {shipment}, which does not exist")))
    }

    async fn legacy_order_scope(&self, ctx: &JobContext, order: &OrderId) -> Result<Scope, EngineError> {
        let tenant = ctx.tenant.clone().ok_or_else(|| EngineError::Internal("an order job without a tenant".into()))?;
        for mode in Mode::ALL {
            let scope = Scope::new(tenant.clone(), *mode);
            if self.store().order(&scope, order).await.is_ok() {
                return Ok(scope);
            }
        }
        Err(EngineError::Internal(format!("a job names order {order}, which does not exist")))
    }
}

impl Engine {
    /// Lets other claims take the jobs a gone node held, without waiting out their leases:
    /// those of nodes silent past `node_timeout` and, when `restarted`, this node's own
    /// previous run (a node is started again under the same name).
    pub(crate) async fn free_abandoned_jobs(&self, restarted: bool) -> Result<(), EngineError> {
        let alive_since = now_ms() - self.config().node_timeout.as_millis() as i64;
        let node = restarted.then_some(self.config().node.as_str());
        let freed = self.store().free_abandoned_jobs(node, alive_since).await?;
        if freed > 0 {
            tracing::warn!(freed, "freed the jobs of a node that is gone");
        }
        Ok(())
    }
}

/// One node's job runner.
pub struct Worker {
    engine: Engine,
    concurrency: usize,
    idle_wait: Duration,
    lease: Duration,
}

impl Worker {
    pub fn new(engine: Engine) -> Self {
        Self { engine, concurrency: 64, idle_wait: Duration::from_millis(500), lease: Duration::from_secs(120) }
    }

    /// How long a claimed job is this node's before another node may take it.
    pub fn with_lease(self, lease: Duration) -> Self {
        Self { lease, ..self }
    }

    /// Runs until the task is dropped. On start it records this node as alive, at once
    /// reconciles the bookings no live node holds (those a previous run of this node, or a
    /// dead node, left in flight) and frees the jobs its previous run held; then it claims due
    /// jobs.
    pub async fn run(self) {
        let engine = self.engine.clone();
        tokio::spawn(async move { engine.beat_heart().await });
        if let Err(e) = self.engine.store().heartbeat(&self.engine.config().node, self.engine.started_at()).await {
            tracing::error!(error = %e, "cannot record this node as alive");
        }
        if let Err(e) = self.engine.sweep_orphaned_bookings().await {
            tracing::error!(error = %e, "cannot reconcile the bookings left in flight");
        }
        if let Err(e) = self.engine.free_abandoned_jobs(true).await {
            tracing::error!(error = %e, "cannot free the jobs a previous run left leased");
        }
        let sweep = SweepBookings {}.to_new(None, now_ms() + self.engine.config().sweep_interval.as_millis() as i64);
        if let Err(e) = self.engine.store().enqueue(vec![sweep]).await {
            tracing::error!(error = %e, "cannot queue the booking sweep");
        }
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let name = self.engine.config().node.clone();
        loop {
            // A slot first: with every slot busy, the next claim waits for a job to finish
            // (not for the idle timer, which would cap a busy node at `concurrency` jobs per
            // `idle_wait`).
            let slot = permits.clone().acquire_owned().await.expect("the semaphore is never closed");
            let free = (permits.available_permits() + 1).min(32) as u32;
            match self.engine.store().claim_jobs(&name, free, self.lease.as_millis() as i64).await {
                Ok(jobs) if !jobs.is_empty() => {
                    let mut slot = Some(slot);
                    for job in jobs {
                        let permit = match slot.take() {
                            Some(permit) => permit,
                            None => permits.clone().acquire_owned().await.expect("the semaphore is never closed"),
                        };
                        let engine = self.engine.clone();
                        tokio::spawn(async move {
                            run_one(&engine, job).await;
                            drop(permit);
                        });
                    }
                }
                Ok(_) => {
                    drop(slot);
                    let _ = tokio::time::timeout(self.idle_wait, self.engine.inner.jobs_queued.notified()).await;
                }
                Err(e) => {
                    drop(slot);
                    tracing::error!(error = %e, "cannot claim jobs");
                    tokio::time::sleep(self.idle_wait).await;
                }
            }
        }
    }
}

impl Worker {
    /// Runs every job that is due now, and those they make due, until none is left; returns
    /// how many ran. For tests and tools that want the queue's effect without waiting on the
    /// clock.
    pub async fn drain(&self) -> Result<usize, EngineError> {
        let mut ran = 0;
        loop {
            let node = &self.engine.config().node;
            let jobs = self.engine.store().claim_jobs(node, 32, self.lease.as_millis() as i64).await?;
            if jobs.is_empty() {
                return Ok(ran);
            }
            for job in jobs {
                ran += 1;
                run_one(&self.engine, job).await;
            }
        }
    }
}

impl Engine {
    /// Records every `heartbeat` that this node is alive, and forgets nodes long gone.
    async fn beat_heart(&self) {
        let config = self.config();
        loop {
            tokio::time::sleep(config.heartbeat).await;
            if let Err(e) = self.store().heartbeat(&config.node, self.started_at()).await {
                tracing::warn!(error = %e, "cannot record this node as alive");
            }
        }
    }
}

/// Exponential backoff with jitter: 2 s, 4 s, 8 s … capped at an hour.
fn backoff_ms(attempts: i64) -> i64 {
    let base = 1_000i64 << attempts.clamp(1, 12);
    let capped = base.min(3_600_000);
    capped / 2 + rand::random_range(0..=capped / 2)
}

/// Whether a failed job may succeed if run again later.
pub(crate) fn transient(e: &EngineError) -> bool {
    match e {
        EngineError::Carrier(c) => c.is_transient() || matches!(c, waybill_carriers::CarrierError::Unknown { .. }),
        EngineError::Channel(c) => c.is_transient(),
        EngineError::Unavailable(_) | EngineError::Internal(_) => true,
        _ => false,
    }
}

async fn run_one(engine: &Engine, job: ClaimedJob) {
    let store = engine.store();
    // A job whose lease kept running out (its node died mid-job each time) is given up on.
    if job.attempts > job.max_attempts {
        let error = format!("gave up after {} attempts whose leases expired", job.max_attempts);
        if let Err(e) = store.fail_job(&job, &error, None).await {
            tracing::error!(job = %job.id, error = %e, "cannot give up on a job");
        }
        return;
    }
    let result = match engine.registry().get(&job.kind) {
        Some(handler) => {
            let ctx = JobContext { scope: job.scope(), tenant: job.tenant(), attempt: job.attempts };
            handler(engine.clone(), ctx, &job.payload).await
        }
        None => Err(EngineError::Internal(format!("no handler for job kind `{}` on this node", job.kind))),
    };
    let settled = match result {
        Ok(Next::Done) => store.complete_job(&job).await,
        Ok(Next::RunAgainAt(at)) => store.reschedule_job(&job, at).await,
        Err(e) => {
            let retry = (transient(&e) && job.attempts < job.max_attempts).then(|| now_ms() + backoff_ms(job.attempts));
            tracing::warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, error = %e, will_retry = retry.is_some(), "job failed");
            store.fail_job(&job, &e.to_string(), retry).await
        }
    };
    match settled {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(job = %job.id, kind = %job.kind, "the job's lease ran out while it ran; another claim settles it")
        }
        Err(e) => {
            tracing::error!(job = %job.id, error = %e, "cannot record a job's result; its lease will expire and it runs again")
        }
    }
}
