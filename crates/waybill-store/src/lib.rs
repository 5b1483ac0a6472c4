//! Waybill's persistence: SQLite (embedded default) or PostgreSQL behind one API.
//!
//! Every call that reads or writes a tenant's data takes its [`Scope`] (tenant and mode), and
//! every query filters on both: no call can reach another tenant's rows, nor a test key a live
//! row. Writes go through a transaction ([`Tx`]) that the engine's unit of work holds: it
//! writes the change, its events and the jobs they fan out to, and commits them together (the
//! outbox), so a crash never loses follow-up work. Reads that need no transaction are on
//! [`Store`].

mod accounts;
mod branding;
mod cancellations;
mod changes;
mod channels;
pub mod db;
mod events;
mod generic;
mod idempotency;
mod information;
mod inventory;
mod jobs;
mod locations;
mod manifests;
mod ndr;
mod nodes;
mod notifications;
mod orders;
mod pickups;
mod rto;
mod seal;
mod shipments;
mod tenants;
mod webhooks;

use std::path::Path;

pub use accounts::{AccountSecrets, NewCarrierAccount};
pub use branding::LogoChange;
pub use channels::{ChannelFulfilment, ChannelStock, NewChannelImport};
pub use db::{Backend, PoolSettings, Tx};
use db::{DbError, Pool};
pub use events::{NewEvent, StoredEvent};
pub use idempotency::{IdemBegin, IdemRecord, request_hash};
pub use inventory::StockMove;
pub use jobs::{ClaimedJob, NewJob};
pub use seal::{SealError, Sealer};
pub use shipments::{NewScan, ShipmentFilter};
pub use tenants::Tenant;
use waybill_core::{Page, Scope};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique key is taken; the text names what holds it.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot serve now (busy, full, unreachable); nothing was done.
    #[error("the database is unavailable: {0}")]
    Unavailable(DbError),
    #[error(transparent)]
    Database(DbError),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        if e.is_unavailable() { StoreError::Unavailable(e) } else { StoreError::Database(e) }
    }
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
        Self::open_with(url, sealer, PoolSettings::default()).await
    }

    /// [`Store::open`] with the PostgreSQL pool sized by `settings`.
    pub async fn open_with(url: &str, sealer: Sealer, settings: PoolSettings) -> Result<Self> {
        let pool = Pool::connect(url, settings).await?;
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

    /// A write transaction; dropped without [`Tx::commit`] it rolls back.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(self.pool.begin().await?)
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

/// Parses a stored name (a status, a mode) or reports the row as corrupt.
fn named<T>(text: &str, parse: fn(&str) -> Option<T>, what: &str) -> Result<T> {
    parse(text).ok_or_else(|| StoreError::Corrupt(format!("{what} `{text}`")))
}

/// Cuts a `limit + 1` fetch to `limit` items and a cursor when more remain.
/// The arguments of a keyset page of the scope's objects (`WHERE tenant_id = $1 AND mode = $2
/// AND id > $3 ORDER BY id LIMIT $4`): one row more than the page, to know if another follows.
fn page_args(scope: &Scope, after: Option<&str>, limit: u32) -> Vec<db::Value> {
    args![scope.tenant.as_str(), scope.mode.as_str(), after.unwrap_or(""), i64::from(limit) + 1]
}

fn page<T>(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Page<T> {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_after = if more { items.last().map(&key) } else { None };
    Page { items, next_after }
}
