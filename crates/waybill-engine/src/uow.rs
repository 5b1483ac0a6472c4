//! The unit of work: one transaction that carries a change, the events it emits and the jobs
//! they cause, committed together. Each event is stored once and fanned out to one job per
//! consumer that wants it ([`crate::jobs::CONSUMERS`]). Committing wakes this node's workers
//! when a job is due now, so no writer has to remember to.

use waybill_core::ids::EventId;
use waybill_core::{Event, Scope};
use waybill_store::{NewEvent, NewJob, Tx, now_ms};

use crate::jobs::{CONSUMERS, Job};
use crate::{Engine, EngineError};

pub(crate) struct UnitOfWork {
    pub tx: Tx,
    events: Vec<NewEvent>,
    jobs: Vec<NewJob>,
}

impl Engine {
    /// Opens a unit of work.
    pub(crate) async fn begin(&self) -> Result<UnitOfWork, EngineError> {
        Ok(UnitOfWork { tx: self.store().begin().await?, events: Vec::new(), jobs: Vec::new() })
    }
}

impl UnitOfWork {
    /// Records that `event` happened in `scope`, with the jobs of the consumers that want it.
    pub fn emit(&mut self, scope: &Scope, event: Event) {
        let id = EventId::generate();
        for consumer in CONSUMERS.iter().filter(|c| (c.wants)(&event)) {
            self.jobs.push((consumer.job)(scope, &id, &event));
        }
        self.events.push(NewEvent { id, scope: scope.clone(), event });
    }

    /// Queues `job` to run at `run_at` (epoch ms) with this change.
    pub fn enqueue<J: Job>(&mut self, scope: Option<&Scope>, job: &J, run_at: i64) {
        self.jobs.push(job.to_new(scope, run_at));
    }

    /// Queues `job` in place of any job queued under the same unique key.
    pub fn enqueue_replacing<J: Job>(&mut self, scope: Option<&Scope>, job: &J, run_at: i64) {
        self.jobs.push(NewJob { replace: true, ..job.to_new(scope, run_at) });
    }

    /// Writes the events and jobs and commits everything.
    pub async fn commit(mut self, engine: &Engine) -> Result<(), EngineError> {
        for event in &self.events {
            self.tx.insert_event(event).await?;
        }
        let deliveries = crate::webhooks::fan_out(&mut self.tx, &self.events).await?;
        self.jobs.extend(deliveries);
        let now = now_ms();
        let due = self.jobs.iter().any(|j| j.run_at <= now);
        if !self.jobs.is_empty() {
            self.tx.insert_jobs(std::mem::take(&mut self.jobs)).await?;
        }
        self.tx.commit().await.map_err(waybill_store::StoreError::from)?;
        if due {
            engine.inner.jobs_queued.notify_waiters();
        }
        Ok(())
    }
}
