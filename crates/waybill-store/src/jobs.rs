//! The durable job queue: one `jobs` table, written in the same transaction as the change
//! that causes a job (the outbox) and claimed under a lease.
//!
//! PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so any number of nodes share the queue
//! without taking the same job. SQLite has one writer at a time, which gives the same
//! guarantee. A claimed job whose node dies becomes claimable again when its lease runs out.
//! Each claim takes a fresh lease token, and completing, failing or rescheduling a job checks
//! it: a worker whose lease ran out (and whose job another node took) cannot settle it.

use rand::Rng;
use rand::distr::Alphanumeric;
use waybill_core::ids::{JobId, TenantId};
use waybill_core::{Mode, Scope};

use crate::db::{Backend, Tx};
use crate::{Result, Store, args, now_ms};

#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub payload: serde_json::Value,
    /// The tenant and mode the job acts in (`None` for work that spans tenants).
    pub scope: Option<Scope>,
    pub run_at: i64,
    /// At most one queued job per key: a second insert with the same key is dropped.
    pub unique_key: Option<String>,
    /// With a `unique_key`: replace a job queued under the key instead of keeping it.
    pub replace: bool,
    /// With a `unique_key`: when the job queued under the key is running, make it run once
    /// more after this run (for jobs that bring something up to date: this run may have read
    /// the state before the change that queues this job).
    pub rerun_if_running: bool,
    pub max_attempts: u32,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    pub id: String,
    pub tenant_id: Option<String>,
    pub mode: Option<String>,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
    /// This claim's token: settling the job checks it.
    pub lease: String,
}
crate::sqlite_row!(ClaimedJob { id, tenant_id, mode, kind, payload, attempts, max_attempts, lease });

impl ClaimedJob {
    pub fn tenant(&self) -> Option<TenantId> {
        self.tenant_id.as_deref().and_then(TenantId::parse)
    }

    /// The scope the job acts in; `None` for jobs queued without one (or before modes existed).
    pub fn scope(&self) -> Option<Scope> {
        Some(Scope::new(self.tenant()?, Mode::parse(self.mode.as_deref()?)?))
    }
}

const INSERT_ONE: &str = "INSERT INTO jobs (id, tenant_id, mode, kind, payload, unique_key, run_at, attempts, max_attempts, state, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, 'queued', $9, $9) ON CONFLICT (unique_key) DO NOTHING";

const INSERT_OR_RERUN: &str = "INSERT INTO jobs (id, tenant_id, mode, kind, payload, unique_key, run_at, attempts, max_attempts, state, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, 'queued', $9, $9) \
     ON CONFLICT (unique_key) DO UPDATE SET again = 1 WHERE jobs.locked_until IS NOT NULL";

/// Two rows in one statement: a booking queues two jobs, and every statement costs.
const INSERT_TWO: &str = "INSERT INTO jobs (id, tenant_id, mode, kind, payload, unique_key, run_at, attempts, max_attempts, state, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, 'queued', $9, $9), ($10, $11, $12, $13, $14, $15, $16, 0, $17, 'queued', $18, $18) \
     ON CONFLICT (unique_key) DO NOTHING";

fn job_args(job: NewJob, now: i64) -> Vec<crate::db::Value> {
    args![
        JobId::generate().as_str(),
        job.scope.as_ref().map(|s| s.tenant.as_str()),
        job.scope.as_ref().map(|s| s.mode.as_str()),
        job.kind,
        job.payload.to_string(),
        job.unique_key,
        job.run_at,
        i64::from(job.max_attempts),
        now
    ]
}

impl Tx {
    /// Queues jobs with this transaction's change.
    pub async fn insert_jobs(&mut self, jobs: Vec<NewJob>) -> Result<()> {
        let now = now_ms();
        for job in jobs.iter().filter(|j| j.replace) {
            if let Some(key) = &job.unique_key {
                self.execute("DELETE FROM jobs WHERE unique_key = $1", args![key.as_str()]).await?;
            }
        }
        let (rerun, jobs): (Vec<_>, Vec<_>) = jobs.into_iter().partition(|j| j.rerun_if_running);
        for job in rerun {
            self.execute(INSERT_OR_RERUN, job_args(job, now)).await?;
        }
        let mut jobs = jobs.into_iter();
        while let Some(first) = jobs.next() {
            match jobs.next() {
                Some(second) => {
                    let mut a = job_args(first, now);
                    a.extend(job_args(second, now));
                    self.execute(INSERT_TWO, a).await?
                }
                None => self.execute(INSERT_ONE, job_args(first, now)).await?,
            };
        }
        Ok(())
    }
}

impl Store {
    /// Queues jobs on their own (work not caused by a change, such as periodic work).
    pub async fn enqueue(&self, jobs: Vec<NewJob>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        tx.insert_jobs(jobs).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes up to `limit` due jobs for `worker` and leases them for `lease_ms`.
    pub async fn claim_jobs(&self, worker: &str, limit: u32, lease_ms: i64) -> Result<Vec<ClaimedJob>> {
        let now = now_ms();
        let lease: String = rand::rng().sample_iter(&Alphanumeric).take(20).map(char::from).collect();
        let a = args![now + lease_ms, worker, lease, now, now, i64::from(limit)];
        // One statement is its own transaction: the claim costs one round trip.
        let jobs = match self.pool.backend() {
            Backend::Sqlite => {
                self.pool
                    .write_returning(
                        "UPDATE jobs SET locked_until = $1, locked_by = $2, lease = $3, attempts = attempts + 1 WHERE id IN \
                         (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= $4 AND (locked_until IS NULL OR locked_until < $5) \
                          ORDER BY run_at LIMIT $6) \
                         RETURNING id, tenant_id, mode, kind, payload, attempts, max_attempts, lease",
                        a,
                    )
                    .await?
            }
            Backend::Postgres => {
                self.pool
                    .write_returning(
                        "UPDATE jobs SET locked_until = $1, locked_by = $2, lease = $3, attempts = attempts + 1 WHERE id IN \
                         (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= $4 AND (locked_until IS NULL OR locked_until < $5) \
                          ORDER BY run_at LIMIT $6 FOR UPDATE SKIP LOCKED) \
                         RETURNING id, tenant_id, mode, kind, payload, attempts, max_attempts, lease",
                        a,
                    )
                    .await?
            }
        };
        Ok(jobs)
    }

    /// The job is done: it leaves the queue, unless it was asked to run once more while it
    /// ran ([`NewJob::rerun_if_running`]); then it is due again now. `false` when this claim
    /// no longer holds it.
    pub async fn complete_job(&self, job: &ClaimedJob) -> Result<bool> {
        let n = self
            .pool
            .execute("DELETE FROM jobs WHERE id = $1 AND lease = $2 AND again = 0", args![&job.id, &job.lease])
            .await?;
        if n == 1 {
            return Ok(true);
        }
        let now = now_ms();
        let n = self
            .pool
            .execute(
                "UPDATE jobs SET again = 0, run_at = $1, attempts = 0, locked_until = NULL, locked_by = NULL, lease = NULL, \
                 last_error = NULL, updated_at = $2 WHERE id = $3 AND lease = $4",
                args![now, now, &job.id, &job.lease],
            )
            .await?;
        Ok(n == 1)
    }

    /// The job did its work and wants to run again at `run_at` (e.g. the next tracking poll).
    /// `false` when this claim no longer holds it.
    pub async fn reschedule_job(&self, job: &ClaimedJob, run_at: i64) -> Result<bool> {
        let n = self
            .pool
            .execute(
                "UPDATE jobs SET run_at = CASE WHEN again = 1 THEN $1 ELSE $2 END, again = 0, attempts = 0, \
                 locked_until = NULL, locked_by = NULL, lease = NULL, last_error = NULL, updated_at = $3 \
                 WHERE id = $4 AND lease = $5",
                args![now_ms().min(run_at), run_at, now_ms(), &job.id, &job.lease],
            )
            .await?;
        Ok(n == 1)
    }

    /// The job failed: retry at `retry_at`, or give up (`None`) and keep it as `dead` for a
    /// person. `false` when this claim no longer holds it.
    pub async fn fail_job(&self, job: &ClaimedJob, error: &str, retry_at: Option<i64>) -> Result<bool> {
        let now = now_ms();
        let n = match retry_at {
            Some(at) => {
                self.pool
                    .execute(
                        "UPDATE jobs SET run_at = $1, again = 0, locked_until = NULL, locked_by = NULL, lease = NULL, \
                         last_error = $2, updated_at = $3 WHERE id = $4 AND lease = $5",
                        args![at, error, now, &job.id, &job.lease],
                    )
                    .await?
            }
            None => {
                self.pool
                    .execute(
                        "UPDATE jobs SET state = 'dead', unique_key = NULL, locked_until = NULL, locked_by = NULL, lease = NULL, \
                         last_error = $1, updated_at = $2 WHERE id = $3 AND lease = $4",
                        args![error, now, &job.id, &job.lease],
                    )
                    .await?
            }
        };
        Ok(n == 1)
    }

    /// Frees for claiming the jobs leased by a node that is gone: `restarted` (this node's own
    /// previous run, which a restart ended) or any node whose last heartbeat is older than
    /// `alive_since`. Their old leases can no longer settle them. Returns how many were freed.
    pub async fn free_abandoned_jobs(&self, restarted: Option<&str>, alive_since: i64) -> Result<u64> {
        let now = now_ms();
        let freed = self
            .pool
            .execute(
                "UPDATE jobs SET locked_until = NULL, locked_by = NULL, lease = NULL, updated_at = $1 \
                 WHERE state = 'queued' AND locked_until > $2 AND locked_by IS NOT NULL \
                 AND (locked_by = $3 OR locked_by IN (SELECT id FROM nodes WHERE heartbeat_at < $4))",
                args![now, now, restarted.unwrap_or(""), alive_since],
            )
            .await?;
        Ok(freed)
    }

    /// Queued jobs per kind (for `/metrics` and tests).
    pub async fn queued_jobs(&self) -> Result<Vec<(String, i64)>> {
        #[derive(sqlx::FromRow)]
        struct Count {
            kind: String,
            n: i64,
        }
        crate::sqlite_row!(Count { kind, n });
        let rows: Vec<Count> = self
            .pool
            .fetch_all(
                "SELECT kind, COUNT(*) AS n FROM jobs WHERE state = 'queued' GROUP BY kind ORDER BY kind",
                vec![],
            )
            .await?;
        Ok(rows.into_iter().map(|c| (c.kind, c.n)).collect())
    }
}
