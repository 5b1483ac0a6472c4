//! The job runner: claims due jobs from the shared queue and runs their handlers.
//!
//! Job kinds and their payloads are an API boundary: jobs queued by one version are run by
//! the next, so a kind's payload only ever gains optional fields.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Semaphore;
use waybill_core::ids::{CarrierAccountId, OrderId, ShipmentId, TenantId};
use waybill_store::{ClaimedJob, now_ms};

use crate::{Engine, EngineError};

/// Poll a shipment's scans; reschedules itself until the shipment reaches a final status.
pub const TRACK: &str = "track";
/// Ask the carrier to push a shipment's scans to us.
pub const SUBSCRIBE: &str = "subscribe";
/// Settle a booking whose outcome was never recorded.
pub const RECONCILE_BOOKING: &str = "reconcile_booking";
/// Close a delivered order.
pub const CLOSE_ORDER: &str = "close_order";

#[derive(Deserialize)]
struct ShipmentPayload {
    shipment_id: ShipmentId,
}

/// Jobs queued before the account and number were added carry only the shipment id.
#[derive(Deserialize)]
struct SubscribePayload {
    shipment_id: ShipmentId,
    carrier_account_id: Option<CarrierAccountId>,
    tracking_number: Option<String>,
}

#[derive(Deserialize)]
struct OrderPayload {
    order_id: OrderId,
}

/// What a handler wants done with its job.
enum Next {
    Done,
    RunAgainAt(i64),
}

/// One node's job runner.
pub struct Worker {
    engine: Engine,
    name: String,
    concurrency: usize,
    idle_wait: Duration,
}

impl Worker {
    pub fn new(engine: Engine, name: String) -> Self {
        Self { engine, name, concurrency: 64, idle_wait: Duration::from_millis(500) }
    }

    /// Runs until the task is dropped. Jobs are leased, so a node that dies mid-job only
    /// delays that job until its lease runs out.
    pub async fn run(self) {
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let sweep_every = (self.engine.config().booking_watchdog / 4).max(Duration::from_secs(1));
        let mut next_sweep = tokio::time::Instant::now();
        loop {
            if tokio::time::Instant::now() >= next_sweep {
                if let Err(e) = self.engine.sweep_pending_bookings().await {
                    tracing::error!(error = %e, "cannot sweep pending bookings");
                }
                next_sweep = tokio::time::Instant::now() + sweep_every;
            }
            let free = permits.available_permits().min(32) as u32;
            let claimed =
                if free == 0 { Ok(vec![]) } else { self.engine.store().claim_jobs(&self.name, free, 120_000).await };
            match claimed {
                Ok(jobs) if !jobs.is_empty() => {
                    for job in jobs {
                        let permit = permits.clone().acquire_owned().await.expect("the semaphore is never closed");
                        let engine = self.engine.clone();
                        tokio::spawn(async move {
                            run_one(&engine, job).await;
                            drop(permit);
                        });
                    }
                }
                Ok(_) => {
                    let _ = tokio::time::timeout(self.idle_wait, self.engine.inner.jobs_queued.notified()).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim jobs");
                    tokio::time::sleep(self.idle_wait).await;
                }
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

async fn run_one(engine: &Engine, job: ClaimedJob) {
    // A job whose lease kept running out (its node died mid-job each time) is given up on.
    if job.attempts > job.max_attempts {
        let error = format!("gave up after {} attempts whose leases expired", job.max_attempts);
        if let Err(e) = engine.store().fail_job(&job.id, &error, None).await {
            tracing::error!(job = %job.id, error = %e, "cannot give up on a job");
        }
        return;
    }
    let result = handle(engine, &job).await;
    let store = engine.store();
    let recorded = match result {
        Ok(Next::Done) => store.complete_job(&job.id).await,
        Ok(Next::RunAgainAt(at)) => store.reschedule_job(&job.id, at).await,
        Err(e) => {
            let transient = match &e {
                EngineError::Carrier(c) => {
                    c.is_transient() || matches!(c, waybill_carriers::CarrierError::Unknown { .. })
                }
                EngineError::Store(_) => true,
                _ => false,
            };
            let retry = (transient && job.attempts < job.max_attempts).then(|| now_ms() + backoff_ms(job.attempts));
            tracing::warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, error = %e, will_retry = retry.is_some(), "job failed");
            store.fail_job(&job.id, &e.to_string(), retry).await
        }
    };
    if let Err(e) = recorded {
        tracing::error!(job = %job.id, error = %e, "cannot record a job's result; its lease will expire and it runs again");
    }
}

async fn handle(engine: &Engine, job: &ClaimedJob) -> Result<Next, EngineError> {
    let tenant = job.tenant().ok_or_else(|| EngineError::Conflict(format!("job {} has no tenant", job.id)))?;
    let bad_payload = |e: serde_json::Error| EngineError::Conflict(format!("job {} payload: {e}", job.id));
    match job.kind.as_str() {
        TRACK => {
            let p: ShipmentPayload = serde_json::from_str(&job.payload).map_err(bad_payload)?;
            track(engine, &tenant, &p.shipment_id).await
        }
        SUBSCRIBE => {
            let p: SubscribePayload = serde_json::from_str(&job.payload).map_err(bad_payload)?;
            match (p.carrier_account_id, p.tracking_number) {
                (Some(account), Some(number)) => engine.subscribe_tracking(&tenant, &account, &number).await,
                _ => engine.subscribe(&tenant, &p.shipment_id).await,
            }
            .map(|_| Next::Done)
        }
        RECONCILE_BOOKING => {
            let p: ShipmentPayload = serde_json::from_str(&job.payload).map_err(bad_payload)?;
            engine.reconcile_booking(&tenant, &p.shipment_id).await.map(|_| Next::Done)
        }
        CLOSE_ORDER => {
            let p: OrderPayload = serde_json::from_str(&job.payload).map_err(bad_payload)?;
            if engine.store().close_order(&tenant, &p.order_id).await? {
                tracing::info!(order = %p.order_id, "order closed");
            }
            Ok(Next::Done)
        }
        other => Err(EngineError::Conflict(format!("unknown job kind `{other}`"))),
    }
}

async fn track(engine: &Engine, tenant: &TenantId, id: &ShipmentId) -> Result<Next, EngineError> {
    let shipment = engine.track_now(tenant, id).await?;
    let age = now_ms() - shipment.created_at;
    if shipment.status.is_final() || age > engine.config().tracking_max_age.as_millis() as i64 {
        return Ok(Next::Done);
    }
    Ok(Next::RunAgainAt(now_ms() + engine.poll_delay(shipment.status)))
}
