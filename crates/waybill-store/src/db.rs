//! One small layer over SQLite and PostgreSQL so the store's queries are written once.
//!
//! Queries are static SQL with `$1…$n` parameters (SQLite reads those too, as names: each
//! value is bound to its `$n` by name, so a query may use them in any order) and portable
//! column types only: TEXT,
//! BIGINT and bytes. The few statements that differ per dialect (claiming jobs, row locks)
//! ask [`Backend`] which to use.

pub use rusqlite;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, Postgres, Transaction};

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

/// Rows readable from both backends: sqlx decodes PostgreSQL rows, [`FromSqlite`] SQLite's.
pub trait Row: for<'r> FromRow<'r, PgRow> + FromSqlite + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, PgRow> + FromSqlite + Send + Unpin {}

/// A row read from a SQLite statement; [`sqlite_row!`](crate::sqlite_row) writes the impl.
pub trait FromSqlite: Sized {
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

/// Reads each named field from the column of the same name, as sqlx's `FromRow` does.
#[macro_export]
#[doc(hidden)]
macro_rules! sqlite_row {
    ($t:ident { $($field:ident),* $(,)? }) => {
        impl $crate::db::FromSqlite for $t {
            fn from_sqlite(row: &$crate::db::rusqlite::Row<'_>) -> $crate::db::rusqlite::Result<Self> {
                Ok(Self { $($field: row.get(stringify!($field))?),* })
            }
        }
    };
}

/// A database error from either driver.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Postgres(#[from] sqlx::Error),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl DbError {
    /// The database could not serve the statement now (no free connection in time, the server
    /// refused more clients, the connection dropped, the file was locked past the busy timeout):
    /// nothing was done, and the same work may be tried again later.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Postgres(e) => match e {
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
                // 53300 too_many_connections, 57P01–57P03 shutdown / cannot connect now, 08… connection failures.
                sqlx::Error::Database(d) => {
                    d.code().is_some_and(|c| c == "53300" || c.starts_with("57P") || c.starts_with("08"))
                }
                _ => false,
            },
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            }
            DbError::Sqlite(_) => false,
        }
    }

    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Postgres(sqlx::Error::Database(d)) => d.is_unique_violation(),
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            _ => false,
        }
    }
}

/// SQLite, driven in-process through rusqlite. A statement takes microseconds (the pages sit
/// in the page cache or the memory map, and WAL with `synchronous = NORMAL` does not fsync a
/// commit), so statements run on the calling task's thread: a hand-off to a database thread
/// per statement (what sqlx's SQLite driver does) cost more than the statements themselves.
///
/// This process writes through one connection, behind an async mutex, so writers queue for it
/// instead of sleeping in SQLite's busy handler, and its page cache stays warm. Reads take a
/// connection of their own from a small idle list, so they never wait for a writer. Other
/// processes sharing the file still wait through the busy timeout.
#[derive(Clone, Debug)]
pub struct SqliteDb {
    options: Arc<SqliteConnectOptions>,
    writer: Arc<tokio::sync::Mutex<rusqlite::Connection>>,
    readers: Arc<std::sync::Mutex<Vec<rusqlite::Connection>>>,
}

/// Idle reader connections kept for reuse; more may be open while reads overlap.
const IDLE_READERS: usize = 8;

impl SqliteDb {
    fn open_connection(&self) -> rusqlite::Result<rusqlite::Connection> {
        open_sqlite(self.options.get_filename())
    }

    /// Runs `read` on an idle reader connection (or a new one).
    fn read<T>(&self, read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        let idle = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open_connection()?,
        };
        let result = read(&conn);
        let mut readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if readers.len() < IDLE_READERS {
            readers.push(conn);
        }
        result
    }
}

fn open_sqlite(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // WAL with NORMAL survives a process crash; only an OS crash can lose the last commits,
    // never corrupt the file. No memory map: SQLite drops a connection's whole map at the
    // start of every read after another connection's commit, and with commits all the time
    // the unmapping (TLB shootdowns on every core) cost more than the reads it saved
    // (measured on 2 cores: webhook deliveries ~2,950 → ~3,900/s, messages ~1,800 → ~1,980/s,
    // bookings unchanged). Checkpoints every ~40 MB of WAL rather than every 4 MB: the job
    // and index pages every booking rewrites are then copied into the database once per
    // checkpoint instead of ten times (measured: ~830 → ~900+ bookings/s).
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA mmap_size = 0; PRAGMA wal_autocheckpoint = 10000;",
    )?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

/// `$1` … `$32`, the names most queries bind, without formatting one per value.
const PARAMETER_NAMES: [&str; 32] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15", "$16", "$17",
    "$18", "$19", "$20", "$21", "$22", "$23", "$24", "$25", "$26", "$27", "$28", "$29", "$30", "$31", "$32",
];

/// Binds `args[i]` to `$i+1`. SQLite numbers `$n` parameters by first appearance, not by `n`:
/// binding by position would give `$3` in `SET b = $3 WHERE a = $1` the second value.
fn bind_sqlite(stmt: &mut rusqlite::CachedStatement<'_>, args: Vec<Value>) -> rusqlite::Result<()> {
    for (i, arg) in args.into_iter().enumerate() {
        let index = match PARAMETER_NAMES.get(i) {
            Some(name) => stmt.parameter_index(name)?,
            None => stmt.parameter_index(&format!("${}", i + 1))?,
        };
        let index = index.ok_or_else(|| rusqlite::Error::InvalidParameterName(format!("${}", i + 1)))?;
        match arg {
            Value::Text(s) => stmt.raw_bind_parameter(index, s)?,
            Value::Int(v) => stmt.raw_bind_parameter(index, v)?,
            Value::Bytes(b) => stmt.raw_bind_parameter(index, b)?,
            Value::NullText | Value::NullInt => stmt.raw_bind_parameter(index, rusqlite::types::Null)?,
        }
    }
    Ok(())
}

/// Runs one statement to its end; the rows it changed.
fn sqlite_execute(conn: &rusqlite::Connection, sql: &str, args: Vec<Value>) -> rusqlite::Result<u64> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind_sqlite(&mut stmt, args)?;
    let mut rows = stmt.raw_query();
    while rows.next()?.is_some() {}
    Ok(conn.changes())
}

fn sqlite_fetch_all<O: FromSqlite>(
    conn: &rusqlite::Connection,
    sql: &str,
    args: Vec<Value>,
) -> rusqlite::Result<Vec<O>> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind_sqlite(&mut stmt, args)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(O::from_sqlite(row)?);
    }
    Ok(out)
}

#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqliteDb),
    Postgres(PgPool),
}

/// A SQLite write transaction: holds the writer connection; rolled back if dropped uncommitted.
pub struct SqliteTx {
    conn: tokio::sync::OwnedMutexGuard<rusqlite::Connection>,
    open: bool,
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.open
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::error!(error = %e, "cannot roll back an abandoned SQLite transaction");
        }
    }
}

pub enum Tx {
    Sqlite(SqliteTx),
    Postgres(Transaction<'static, Postgres>),
}

/// How a node uses PostgreSQL's connections (SQLite has one writer and opens readers as needed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSettings {
    /// Connections this node may hold at most. Every node's share must fit, with room to
    /// spare, in the server's `max_connections` (or a pooler in front of it).
    pub max_connections: u32,
    /// How long a request waits for a free connection before it is answered 503.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: 16, acquire_timeout: Duration::from_secs(5) }
    }
}

impl Pool {
    /// Opens `url`: `sqlite://path` (created if missing, WAL) or `postgres://…`. PostgreSQL
    /// connections are opened as needed up to `settings.max_connections` and closed when idle.
    pub async fn connect(url: &str, settings: PoolSettings) -> Result<Self, DbError> {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(settings.max_connections.max(1))
                .min_connections(0)
                .acquire_timeout(settings.acquire_timeout)
                .connect(url)
                .await?;
            Ok(Pool::Postgres(pool))
        } else {
            let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
            let writer = open_sqlite(options.get_filename())?;
            Ok(Pool::Sqlite(SqliteDb {
                options: Arc::new(options),
                writer: Arc::new(tokio::sync::Mutex::new(writer)),
                readers: Arc::default(),
            }))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Brings the schema up to date with sqlx's migrator (its `_sqlx_migrations` table records
    /// what ran); on SQLite through a short-lived connection of its own, while this process's
    /// writer is held, with foreign keys off so a migration can rebuild a table to change its
    /// keys (SQLite cannot alter them in place, and the pragma is fixed inside a transaction).
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Pool::Sqlite(db) => {
                let _writer = db.writer.lock().await;
                let options = SqliteConnectOptions::clone(&db.options)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(false);
                let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
                let ran = sqlx::migrate!("./migrations/sqlite").run(&pool).await;
                pool.close().await;
                ran
            }
            Pool::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await,
        }
    }

    /// A write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`), so
    /// two writers queue on the busy timeout instead of failing on a lock upgrade.
    pub async fn begin(&self) -> Result<Tx, DbError> {
        Ok(match self {
            Pool::Sqlite(db) => {
                let conn = db.writer.clone().lock_owned().await;
                conn.execute_batch("BEGIN IMMEDIATE")?;
                Tx::Sqlite(SqliteTx { conn, open: true })
            }
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// One statement on its own; on SQLite it goes through the writer connection.
    pub async fn execute(&self, sql: &'static str, args: Vec<Value>) -> Result<u64, DbError> {
        match self {
            Pool::Sqlite(db) => Ok(sqlite_execute(&*db.writer.lock().await, sql, args)?),
            Pool::Postgres(p) => Ok(bind_all!(sqlx::query(sql), args).execute(p).await?.rows_affected()),
        }
    }

    /// One writing statement that returns rows (`… RETURNING`), as its own transaction; on
    /// SQLite it goes through the writer connection.
    pub async fn write_returning<O: Row>(&self, sql: &'static str, args: Vec<Value>) -> Result<Vec<O>, DbError> {
        match self {
            Pool::Sqlite(db) => Ok(sqlite_fetch_all(&*db.writer.lock().await, sql, args)?),
            Pool::Postgres(p) => Ok(bind_all!(sqlx::query_as::<_, O>(sql), args).fetch_all(p).await?),
        }
    }

    pub async fn fetch_all<O: Row>(&self, sql: &'static str, args: Vec<Value>) -> Result<Vec<O>, DbError> {
        match self {
            Pool::Sqlite(db) => Ok(db.read(|conn| sqlite_fetch_all(conn, sql, args))?),
            Pool::Postgres(p) => Ok(bind_all!(sqlx::query_as::<_, O>(sql), args).fetch_all(p).await?),
        }
    }

    pub async fn fetch_optional<O: Row>(&self, sql: &'static str, args: Vec<Value>) -> Result<Option<O>, DbError> {
        Ok(self.fetch_all(sql, args).await?.into_iter().next())
    }

    pub async fn close(&self) {
        match self {
            Pool::Sqlite(db) => db.readers.lock().unwrap_or_else(|e| e.into_inner()).clear(),
            Pool::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn execute(&mut self, sql: &'static str, args: Vec<Value>) -> Result<u64, DbError> {
        match self {
            Tx::Sqlite(t) => Ok(sqlite_execute(&t.conn, sql, args)?),
            Tx::Postgres(t) => Ok(bind_all!(sqlx::query(sql), args).execute(&mut **t).await?.rows_affected()),
        }
    }

    pub async fn fetch_all<O: Row>(&mut self, sql: &'static str, args: Vec<Value>) -> Result<Vec<O>, DbError> {
        match self {
            Tx::Sqlite(t) => Ok(sqlite_fetch_all(&t.conn, sql, args)?),
            Tx::Postgres(t) => Ok(bind_all!(sqlx::query_as::<_, O>(sql), args).fetch_all(&mut **t).await?),
        }
    }

    pub async fn fetch_optional<O: Row>(&mut self, sql: &'static str, args: Vec<Value>) -> Result<Option<O>, DbError> {
        Ok(self.fetch_all(sql, args).await?.into_iter().next())
    }

    pub async fn commit(self) -> Result<(), DbError> {
        match self {
            Tx::Sqlite(mut t) => {
                t.conn.execute_batch("COMMIT")?;
                t.open = false;
                Ok(())
            }
            Tx::Postgres(t) => Ok(t.commit().await?),
        }
    }
}
