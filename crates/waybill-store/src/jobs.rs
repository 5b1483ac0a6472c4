//! The durable job queue: one `jobs` table, written in the same transaction as the change
//! that causes a job (the outbox) and claimed with a lease.
//!
//! PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so any number of nodes share the queue
//! without taking the same job. SQLite has one writer at a time, which gives the same
//! guarantee. A claimed job whose node dies becomes claimable again when its lease runs out.

use waybill_core::ids::{JobId, TenantId};

use crate::db::{Backend, Tx};
use crate::{Result, Store, args, now_ms};

#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub payload: serde_json::Value,
    pub run_at: i64,
    /// At most one queued job per key: a second insert with the same key is dropped.
    pub unique_key: Option<String>,
    pub max_attempts: u32,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    pub id: String,
    pub tenant_id: Option<String>,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
}
crate::sqlite_row!(ClaimedJob { id, tenant_id, kind, payload, attempts, max_attempts });

impl ClaimedJob {
    pub fn tenant(&self) -> Option<TenantId> {
        self.tenant_id.as_deref().and_then(TenantId::parse)
    }
}

const INSERT_ONE: &str = "INSERT INTO jobs (id, tenant_id, kind, payload, unique_key, run_at, attempts, max_attempts, state, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, 0, $7, 'queued', $8, $8) ON CONFLICT (unique_key) DO NOTHING";

/// Two rows in one statement: a booking queues two jobs, and on SQLite every statement is a
/// round trip to the database thread.
const INSERT_TWO: &str = "INSERT INTO jobs (id, tenant_id, kind, payload, unique_key, run_at, attempts, max_attempts, state, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, 0, $7, 'queued', $8, $8), ($9, $10, $11, $12, $13, $14, 0, $15, 'queued', $16, $16) \
     ON CONFLICT (unique_key) DO NOTHING";

fn job_args(tenant: Option<&TenantId>, job: NewJob, now: i64) -> Vec<crate::db::Value> {
    args![
        JobId::generate().as_str(),
        tenant.map(|t| t.as_str()),
        job.kind,
        job.payload.to_string(),
        job.unique_key,
        job.run_at,
        i64::from(job.max_attempts),
        now
    ]
}

pub(crate) async fn insert_jobs(tx: &mut Tx, tenant: Option<&TenantId>, jobs: Vec<NewJob>) -> Result<()> {
    let now = now_ms();
    let mut jobs = jobs.into_iter();
    while let Some(first) = jobs.next() {
        match jobs.next() {
            Some(second) => {
                let mut a = job_args(tenant, first, now);
                a.extend(job_args(tenant, second, now));
                tx.execute(INSERT_TWO, a).await?
            }
            None => tx.execute(INSERT_ONE, job_args(tenant, first, now)).await?,
        };
    }
    Ok(())
}

impl Store {
    pub async fn enqueue(&self, tenant: Option<&TenantId>, jobs: Vec<NewJob>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_jobs(&mut tx, tenant, jobs).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes up to `limit` due jobs for `worker` and leases them for `lease_ms`.
    pub async fn claim_jobs(&self, worker: &str, limit: u32, lease_ms: i64) -> Result<Vec<ClaimedJob>> {
        let now = now_ms();
        let a = args![now + lease_ms, worker, now, now, i64::from(limit)];
        // One statement is its own transaction: the claim costs one round trip.
        let jobs = match self.pool.backend() {
            Backend::Sqlite => {
                self.pool
                    .write_returning(
                        "UPDATE jobs SET locked_until = $1, locked_by = $2, attempts = attempts + 1 WHERE id IN \
                         (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= $3 AND (locked_until IS NULL OR locked_until < $4) \
                          ORDER BY run_at LIMIT $5) \
                         RETURNING id, tenant_id, kind, payload, attempts, max_attempts",
                        a,
                    )
                    .await?
            }
            Backend::Postgres => {
                self.pool
                    .write_returning(
                        "UPDATE jobs SET locked_until = $1, locked_by = $2, attempts = attempts + 1 WHERE id IN \
                         (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= $3 AND (locked_until IS NULL OR locked_until < $4) \
                          ORDER BY run_at LIMIT $5 FOR UPDATE SKIP LOCKED) \
                         RETURNING id, tenant_id, kind, payload, attempts, max_attempts",
                        a,
                    )
                    .await?
            }
        };
        Ok(jobs)
    }

    /// The job is done: it leaves the queue.
    pub async fn complete_job(&self, id: &str) -> Result<()> {
        self.pool.execute("DELETE FROM jobs WHERE id = $1", args![id]).await?;
        Ok(())
    }

    /// The job did its work and wants to run again at `run_at` (e.g. the next tracking poll).
    pub async fn reschedule_job(&self, id: &str, run_at: i64) -> Result<()> {
        self.pool
            .execute(
                "UPDATE jobs SET run_at = $1, attempts = 0, locked_until = NULL, locked_by = NULL, last_error = NULL, updated_at = $2 \
                 WHERE id = $3",
                args![run_at, now_ms(), id],
            )
            .await?;
        Ok(())
    }

    /// The job failed: retry at `retry_at`, or give up (`None`) and keep it as `dead` for a person.
    pub async fn fail_job(&self, id: &str, error: &str, retry_at: Option<i64>) -> Result<()> {
        let now = now_ms();
        match retry_at {
            Some(at) => {
                self.pool
                    .execute(
                        "UPDATE jobs SET run_at = $1, locked_until = NULL, locked_by = NULL, last_error = $2, updated_at = $3 WHERE id = $4",
                        args![at, error, now, id],
                    )
                    .await?
            }
            None => {
                self.pool
                    .execute(
                        "UPDATE jobs SET state = 'dead', unique_key = NULL, locked_until = NULL, locked_by = NULL, last_error = $1, \
                         updated_at = $2 WHERE id = $3",
                        args![error, now, id],
                    )
                    .await?
            }
        };
        Ok(())
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
