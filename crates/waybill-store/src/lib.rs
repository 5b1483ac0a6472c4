//! Waybill's persistence: SQLite (embedded default) or PostgreSQL behind one API.
//!
//! Every call that reads or writes a tenant's data takes the tenant, and every query filters
//! on it: no call can reach another tenant's rows. State changes and the jobs they cause are
//! written in one transaction (the outbox), so a crash never loses the follow-up work.

mod accounts;
pub mod db;
mod generic;
mod idempotency;
mod jobs;
mod orders;
mod pickups;
mod records;
mod seal;
mod shipments;
mod tenants;

use std::path::Path;

pub use db::Backend;
use db::Pool;
pub use idempotency::{IdemBegin, IdemRecord, request_hash};
pub use jobs::{ClaimedJob, NewJob};
pub use pickups::{NewPickup, Pickup, PickupError, PickupOutcome, PickupStatus};
pub use records::*;
pub use seal::{SealError, Sealer};
pub use shipments::{BookedFields, NewScan, ScanOutcome};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] db::DbError),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database plus the key that seals secrets in it. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    sealer: Sealer,
}

/// Milliseconds since the Unix epoch: how the store writes every instant.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and brings its schema up to date.
    pub async fn open(url: &str, sealer: Sealer) -> Result<Self> {
        let pool = Pool::connect(url).await?;
        pool.migrate().await?;
        Ok(Self { pool, sealer })
    }

    /// The SQLite URL for a data directory (the database file inside it).
    pub fn sqlite_url(data_dir: &Path) -> String {
        format!("sqlite://{}", data_dir.join("waybill.db").display())
    }

    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        self.pool.execute("SELECT 1", vec![]).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("store values serialize")
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn is_unique_violation(e: &db::DbError) -> bool {
    e.is_unique_violation()
}

/// Cuts a `limit + 1` fetch to `limit` items and a cursor when more remain.
fn page<T>(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Result<Page<T>> {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_after = if more { items.last().map(&key) } else { None };
    Ok(Page { items, next_after })
}
