//! One small layer over SQLite and PostgreSQL so the store's queries are written once.
//!
//! Queries are static SQL with `$1…$n` parameters (SQLite reads those too; each query must
//! use them in ascending order of first appearance) and portable column types only: TEXT,
//! BIGINT and bytes. The few statements that differ per dialect (claiming jobs, row locks)
//! ask [`Backend`] which to use.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{FromRow, Postgres, Sqlite, Transaction};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A bound parameter. Nulls carry their type: PostgreSQL will not put a text NULL in a BIGINT.
#[derive(Debug, Clone)]
pub enum Value {
    Text(String),
    Int(i64),
    Bytes(Vec<u8>),
    NullText,
    NullInt,
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        v.map_or(Value::NullText, Value::Text)
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Value::NullText, |s| Value::Text(s.to_owned()))
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::NullInt, Value::Int)
    }
}

/// Builds a `Vec<Value>` from anything that converts.
#[macro_export]
#[doc(hidden)]
macro_rules! args {
    ($($v:expr),* $(,)?) => { vec![$($crate::db::Value::from($v)),*] };
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Value::Text(s) => q.bind(s),
                Value::Int(i) => q.bind(i),
                Value::Bytes(b) => q.bind(b),
                Value::NullText => q.bind(None::<String>),
                Value::NullInt => q.bind(None::<i64>),
            };
        }
        q
    }};
}

/// Rows readable from both backends.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// SQLite has one writer at a time, so this process writes through one connection: writers
/// queue for it asynchronously instead of sleeping in SQLite's busy handler (steps of up to
/// 100 ms), and its page cache stays warm because no other connection of ours writes. Reads go
/// through a pool. Other processes sharing the file still wait through the busy timeout.
#[derive(Clone, Debug)]
pub struct SqliteDb {
    pool: SqlitePool,
    writer: SqlitePool,
}

#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqliteDb),
    Postgres(PgPool),
}

pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs the same body against whichever pool `$target` holds (`$c` is the executor).
macro_rules! on_pool {
    ($target:expr, $c:ident => $body:expr) => {
        match $target {
            Pool::Sqlite(db) => {
                let $c = &db.pool;
                $body
            }
            Pool::Postgres($c) => $body,
        }
    };
}

/// Runs the same body against whichever transaction `$target` holds.
macro_rules! on_tx {
    ($target:expr, $c:ident => $body:expr) => {
        match $target {
            Tx::Sqlite($c) => $body,
            Tx::Postgres($c) => $body,
        }
    };
}

impl Pool {
    /// Opens `url`: `sqlite://path` (created if missing, WAL) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool =
                PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
            Ok(Pool::Postgres(pool))
        } else {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // WAL with NORMAL survives a process crash; only an OS crash can lose the
                // last commits, never corrupt the file.
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Reads through the OS page cache without a system call per page.
                .pragma("mmap_size", "268435456")
                // Checkpoint every ~40 MB of WAL rather than every 4 MB: the job and index
                // pages every booking rewrites are then copied into the database once per
                // checkpoint instead of ten times (measured: ~830 → ~900+ bookings/s).
                .pragma("wal_autocheckpoint", "10000");
            let writer = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
            let pool = SqlitePoolOptions::new().max_connections(6).connect_with(options).await?;
            Ok(Pool::Sqlite(SqliteDb { pool, writer }))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Pool::Sqlite(db) => sqlx::migrate!("./migrations/sqlite").run(&db.writer).await,
            Pool::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await,
        }
    }

    /// A write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`), so
    /// two writers queue on the busy timeout instead of failing on a lock upgrade.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(db) => Tx::Sqlite(db.writer.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// One statement on its own; on SQLite it goes through the writer connection.
    pub async fn execute(&self, sql: &'static str, args: Vec<Value>) -> Result<u64, sqlx::Error> {
        match self {
            Pool::Sqlite(db) => Ok(bind_all!(sqlx::query(sql), args).execute(&db.writer).await?.rows_affected()),
            Pool::Postgres(p) => Ok(bind_all!(sqlx::query(sql), args).execute(p).await?.rows_affected()),
        }
    }

    /// One writing statement that returns rows (`… RETURNING`), as its own transaction; on
    /// SQLite it goes through the writer connection. A single round trip where `BEGIN`,
    /// statement and `COMMIT` would be three.
    pub async fn write_returning<O: Row>(&self, sql: &'static str, args: Vec<Value>) -> Result<Vec<O>, sqlx::Error> {
        match self {
            Pool::Sqlite(db) => bind_all!(sqlx::query_as::<_, O>(sql), args).fetch_all(&db.writer).await,
            Pool::Postgres(p) => bind_all!(sqlx::query_as::<_, O>(sql), args).fetch_all(p).await,
        }
    }

    pub async fn fetch_all<O: Row>(&self, sql: &'static str, args: Vec<Value>) -> Result<Vec<O>, sqlx::Error> {
        on_pool!(self, p => bind_all!(sqlx::query_as::<_, O>(sql), args).fetch_all(p).await)
    }

    pub async fn fetch_optional<O: Row>(&self, sql: &'static str, args: Vec<Value>) -> Result<Option<O>, sqlx::Error> {
        on_pool!(self, p => bind_all!(sqlx::query_as::<_, O>(sql), args).fetch_optional(p).await)
    }

    pub async fn close(&self) {
        if let Pool::Sqlite(db) = self {
            db.writer.close().await;
        }
        on_pool!(self, p => p.close().await)
    }
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn execute(&mut self, sql: &'static str, args: Vec<Value>) -> Result<u64, sqlx::Error> {
        on_tx!(self, t => Ok(bind_all!(sqlx::query(sql), args).execute(&mut **t).await?.rows_affected()))
    }

    pub async fn fetch_all<O: Row>(&mut self, sql: &'static str, args: Vec<Value>) -> Result<Vec<O>, sqlx::Error> {
        on_tx!(self, t => bind_all!(sqlx::query_as::<_, O>(sql), args).fetch_all(&mut **t).await)
    }

    pub async fn fetch_optional<O: Row>(
        &mut self,
        sql: &'static str,
        args: Vec<Value>,
    ) -> Result<Option<O>, sqlx::Error> {
        on_tx!(self, t => bind_all!(sqlx::query_as::<_, O>(sql), args).fetch_optional(&mut **t).await)
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        on_tx!(self, t => t.commit().await)
    }
}
