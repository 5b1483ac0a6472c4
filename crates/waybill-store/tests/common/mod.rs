//! Shared by the store's integration tests: one fresh [`Store`] per backend (SQLite always,
//! PostgreSQL when `WAYBILL_TEST_DATABASE_URL` is set, each test in its own new database so
//! tests run in parallel), raw reads of the database for checks the API cannot make, and
//! builders for the records the tests write.

#![allow(dead_code)]

use std::fmt::Debug;

use chrono::{DateTime, FixedOffset};
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection, PgConnection, SqliteConnection};
use waybill_core::ids::{CarrierAccountId, OrderId, ShipmentId, TenantId};
use waybill_core::{Address, Mode, Money, Payment, Routing, TrackingStatus};
use waybill_store::{
    AccountSecrets, BookedFields, NewCarrierAccount, NewJob, NewOrder, NewScan, NewShipment, ScanSource, Sealer,
    Shipment, Store,
};

/// Keeps one backend's database alive for a test: the SQLite temp dir, or the PostgreSQL
/// database, which is dropped when the guard is.
pub struct Guard {
    /// What the store was opened on (for raw reads and second stores).
    pub url: String,
    /// The key the store was opened with.
    pub key: String,
    _dir: Option<tempfile::TempDir>,
    pg_drop: Option<(String, String)>,
}

impl Guard {
    /// Another store on the same database, sealing with `key`.
    pub async fn reopen(&self, key: &str) -> Result<Store, waybill_store::StoreError> {
        Store::open(&self.url, Sealer::from_base64(key).expect("valid key")).await
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.pg_drop.take() else { return };
        // Drop runs inside the test's runtime, so the clean-up gets a thread and runtime of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// A fresh store per backend: `("sqlite", …)` always, then `("postgres", …)` when
/// `WAYBILL_TEST_DATABASE_URL` names a server.
pub async fn stores() -> Vec<(String, Store, Guard)> {
    let mut out = Vec::new();

    let dir = tempfile::tempdir().expect("temp dir");
    let url = Store::sqlite_url(dir.path());
    let key = Sealer::generate_key();
    let store = Store::open(&url, Sealer::from_base64(&key).unwrap()).await.expect("sqlite store opens");
    out.push(("sqlite".to_owned(), store, Guard { url, key, _dir: Some(dir), pg_drop: None }));

    if let Ok(server) = std::env::var("WAYBILL_TEST_DATABASE_URL")
        && !server.trim().is_empty()
    {
        let server = server.trim().to_owned();
        let name = format!("waybill_test_{:016x}{:08x}", rand::random::<u64>(), rand::random::<u32>());
        let mut admin = PgConnection::connect(&server).await.expect("WAYBILL_TEST_DATABASE_URL connects");
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        admin.close().await.ok();
        let url = with_database(&server, &name);
        let key = Sealer::generate_key();
        let store = Store::open(&url, Sealer::from_base64(&key).unwrap()).await.expect("postgres store opens");
        out.push(("postgres".to_owned(), store, Guard { url, key, _dir: None, pg_drop: Some((server, name)) }));
    }
    out
}

/// `url` with its database name replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Unwraps with the backend in the panic message.
pub trait Must<T> {
    fn must(self, backend: &str) -> T;
}

impl<T, E: Debug> Must<T> for Result<T, E> {
    #[track_caller]
    fn must(self, backend: &str) -> T {
        match self {
            Ok(v) => v,
            Err(e) => panic!("[{backend}] unexpected error: {e:?}"),
        }
    }
}

/// Every value of every text column of `table`, read with sqlx straight from the database.
pub async fn table_text(url: &str, table: &str) -> Vec<String> {
    if url.starts_with("postgres") {
        let mut conn = PgConnection::connect(url).await.expect("raw postgres connection");
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = $1 AND data_type = 'text' ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&mut conn)
        .await
        .expect("list postgres columns");
        assert!(!columns.is_empty(), "table {table} has text columns");
        let mut out = Vec::new();
        for column in columns {
            let sql = format!("SELECT {column} FROM {table}");
            let values: Vec<Option<String>> =
                sqlx::query_scalar(AssertSqlSafe(sql)).fetch_all(&mut conn).await.expect("read postgres column");
            out.extend(values.into_iter().flatten());
        }
        conn.close().await.ok();
        out
    } else {
        let mut conn = SqliteConnection::connect(url).await.expect("raw sqlite connection");
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info($1) WHERE upper(type) = 'TEXT' ORDER BY cid")
                .bind(table)
                .fetch_all(&mut conn)
                .await
                .expect("list sqlite columns");
        assert!(!columns.is_empty(), "table {table} has text columns");
        let mut out = Vec::new();
        for column in columns {
            let sql = format!("SELECT CAST({column} AS TEXT) FROM {table}");
            let values: Vec<Option<String>> =
                sqlx::query_scalar(AssertSqlSafe(sql)).fetch_all(&mut conn).await.expect("read sqlite column");
            out.extend(values.into_iter().flatten());
        }
        conn.close().await.ok();
        out
    }
}

/// Queued jobs of `kind` (0 when none).
pub async fn queued(store: &Store, kind: &str) -> i64 {
    store.queued_jobs().await.expect("queued_jobs").into_iter().find(|(k, _)| k == kind).map_or(0, |(_, n)| n)
}

pub fn address(name: &str) -> Address {
    Address {
        name: name.to_owned(),
        company: None,
        phone: Some("+905321234567".to_owned()),
        email: None,
        street1: "Istiklal Cd. 1".to_owned(),
        street2: None,
        city: "Istanbul".to_owned(),
        state: None,
        postal_code: "34430".to_owned(),
        country: "TR".to_owned(),
    }
}

pub fn money(amount: &str) -> Money {
    serde_json::from_value(json!({ "amount": amount, "currency": "TRY" })).expect("money")
}

pub fn new_order(channel: &str, external_id: &str) -> NewOrder {
    NewOrder {
        channel: channel.to_owned(),
        external_id: external_id.to_owned(),
        currency: "TRY".parse().expect("TRY"),
        payment: Payment::Prepaid,
        ship_to: address("Ayşe Yılmaz"),
        line_items: serde_json::from_value(json!([
            { "sku": "MUG-1", "name": "Mug", "quantity": 2, "unit_price": "49.90" }
        ]))
        .expect("line items"),
    }
}

pub fn secrets(credential: &str) -> AccountSecrets {
    AccountSecrets {
        credentials: json!({ "api_key": credential, "customer_no": "C-42" }),
        push_secret: format!("push-{credential}"),
    }
}

pub fn new_account(credential: &str) -> NewCarrierAccount {
    NewCarrierAccount {
        carrier: "sandbox".to_owned(),
        mode: Mode::Test,
        description: Some("main account".to_owned()),
        base_url: Some("http://127.0.0.1:9".to_owned()),
        secrets: secrets(credential),
    }
}

pub fn new_shipment(id: &ShipmentId, account: &CarrierAccountId, order: Option<&OrderId>) -> NewShipment {
    NewShipment {
        id: id.clone(),
        order_id: order.cloned(),
        carrier_account_id: account.clone(),
        carrier: "sandbox".to_owned(),
        service: "standard".to_owned(),
        ship_from: address("Warehouse"),
        ship_to: address("Ayşe Yılmaz"),
        parcels: vec![serde_json::from_value(json!({ "weight_g": 1200 })).expect("parcel")],
        cod: None,
        simulate: None,
        is_return: false,
        reference: Some("REF-1".to_owned()),
    }
}

pub fn job(kind: &'static str, unique_key: Option<String>, run_at: i64) -> NewJob {
    NewJob { kind, payload: json!({ "n": 1 }), run_at, unique_key, max_attempts: 5 }
}

pub fn booked(tracking_number: &str) -> BookedFields {
    BookedFields {
        tracking_number: tracking_number.to_owned(),
        carrier_shipment_id: format!("cs-{tracking_number}"),
        service: "express".to_owned(),
        charge: Some(money("87.50")),
        edd: Some("2031-05-04".parse().expect("date")),
        routing: Some(Routing {
            origin_hub: "IST".to_owned(),
            destination_hub: "ANK".to_owned(),
            sort_code: "A1".to_owned(),
            route: "R7".to_owned(),
        }),
        documents: vec![],
    }
}

/// A shipment taken through intent and a confirmed booking, with no follow-up jobs.
pub async fn booked_shipment(
    backend: &str,
    store: &Store,
    tenant: &TenantId,
    account: &CarrierAccountId,
    order: Option<&OrderId>,
    tracking_number: &str,
) -> Shipment {
    let id = ShipmentId::generate();
    store.create_pending_shipment(tenant, new_shipment(&id, account, order)).await.must(backend);
    store.record_booking(tenant, &id, booked(tracking_number), vec![]).await.must(backend)
}

pub fn at(rfc3339: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(rfc3339).expect("rfc3339 time")
}

/// A carrier scan whose code is its dedupe key, so tests can tell events apart.
pub fn scan(key: &str, status: TrackingStatus, occurred_at: &str) -> NewScan {
    NewScan {
        dedupe_key: key.to_owned(),
        code: key.to_owned(),
        status,
        reason_code: None,
        ndr_reason: None,
        description: format!("{} scan", status.as_str()),
        location: Some("Istanbul Hub".to_owned()),
        occurred_at: at(occurred_at),
        source: ScanSource::Push,
        raw: json!({ "event": key }),
    }
}
