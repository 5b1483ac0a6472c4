//! Shared by the store's integration tests: one fresh [`Store`] per backend (SQLite always,
//! PostgreSQL when `WAYBILL_TEST_DATABASE_URL` is set, each test in its own new database so
//! tests run in parallel), raw reads of the database for checks the API cannot make, and
//! builders for the records the tests write (in the engine's place: the store only keeps what
//! it is given, so the tests build whole records and write them through a [`Tx`]).

#![allow(dead_code)]

use std::fmt::Debug;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection, PgConnection, SqliteConnection};
use waybill_core::account::CarrierAccount;
use waybill_core::ids::{CarrierAccountId, EventId, OrderId, PickupId, ShipmentId, TenantId};
use waybill_core::pickup::{Pickup, PickupStatus};
use waybill_core::{
    Address, BookingState, Event, Order, OrderStatus, Payment, Routing, ScanSource, Scope, Shipment, TrackingStatus,
};
use waybill_store::db::{Pool, PoolSettings};
use waybill_store::{AccountSecrets, NewCarrierAccount, NewEvent, NewJob, NewScan, Sealer, Store, now_ms};

/// The node name the tests' bookings are made on.
pub const NODE: &str = "node-test";

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

    /// A raw connection pool on the same database (the store's `db` layer).
    pub async fn pool(&self) -> Pool {
        Pool::connect(&self.url, PoolSettings::default()).await.expect("raw pool connects")
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

/// The PostgreSQL server named by `WAYBILL_TEST_DATABASE_URL`, if any.
pub fn postgres_server() -> Option<String> {
    std::env::var("WAYBILL_TEST_DATABASE_URL").ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// A new empty SQLite database (no schema yet): its URL and the guard keeping it.
pub fn empty_sqlite() -> Guard {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = Store::sqlite_url(dir.path());
    Guard { url, key: Sealer::generate_key(), _dir: Some(dir), pg_drop: None }
}

/// A new empty PostgreSQL database on `server` (no schema yet), dropped with its guard.
pub async fn empty_postgres(server: &str) -> Guard {
    let name = format!("waybill_test_{:016x}{:08x}", rand::random::<u64>(), rand::random::<u32>());
    let mut admin = PgConnection::connect(server).await.expect("WAYBILL_TEST_DATABASE_URL connects");
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    admin.close().await.ok();
    let url = with_database(server, &name);
    Guard { url, key: Sealer::generate_key(), _dir: None, pg_drop: Some((server.to_owned(), name)) }
}

/// The empty databases of every backend under test: `("sqlite", …)` always, then
/// `("postgres", …)` when `WAYBILL_TEST_DATABASE_URL` names a server.
pub async fn empty_databases() -> Vec<(String, Guard)> {
    let mut out = vec![("sqlite".to_owned(), empty_sqlite())];
    if let Some(server) = postgres_server() {
        out.push(("postgres".to_owned(), empty_postgres(&server).await));
    }
    out
}

/// A fresh store per backend: `("sqlite", …)` always, then `("postgres", …)` when
/// `WAYBILL_TEST_DATABASE_URL` names a server.
pub async fn stores() -> Vec<(String, Store, Guard)> {
    let mut out = Vec::new();
    for (label, guard) in empty_databases().await {
        let store = Store::open(&guard.url, Sealer::from_base64(&guard.key).unwrap())
            .await
            .unwrap_or_else(|e| panic!("[{label}] store opens: {e:?}"));
        out.push((label, store, guard));
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

pub fn money(amount: &str) -> waybill_core::Money {
    serde_json::from_value(json!({ "amount": amount, "currency": "TRY" })).expect("money")
}

pub fn parcels() -> Vec<waybill_core::Parcel> {
    vec![serde_json::from_value(json!({ "weight_g": 1200 })).expect("parcel")]
}

/// A new tenant's id.
pub async fn tenant(backend: &str, store: &Store, name: &str) -> TenantId {
    store.create_tenant(name).await.must(backend).id
}

/// An open order of `scope`, as the engine would build it.
pub fn order(scope: &Scope, channel: &str, external_id: &str) -> Order {
    let now = now_ms();
    Order {
        id: OrderId::generate(),
        tenant_id: scope.tenant.clone(),
        mode: scope.mode,
        channel: channel.to_owned(),
        external_id: external_id.to_owned(),
        status: OrderStatus::Open,
        currency: "TRY".parse().expect("TRY"),
        payment: Payment::Prepaid,
        ship_to: address("Ayşe Yılmaz"),
        line_items: serde_json::from_value(json!([
            { "sku": "MUG-1", "name": "Mug", "quantity": 2, "unit_price": "49.90" }
        ]))
        .expect("line items"),
        locale: Some("tr-TR".into()),
        connection_id: None,
        number: None,
        channel_updated_at: None,
        assigned_shipping: None,
        created_at: now,
        updated_at: now,
    }
}

/// Writes a new order of `scope` in a transaction of its own.
pub async fn create_order(backend: &str, store: &Store, scope: &Scope, channel: &str, external_id: &str) -> Order {
    let order = order(scope, channel, external_id);
    let mut tx = store.begin().await.must(backend);
    tx.insert_order(&order).await.must(backend);
    tx.commit().await.must(backend);
    order
}

pub fn secrets(credential: &str) -> AccountSecrets {
    AccountSecrets {
        credentials: json!({ "api_key": credential, "customer_no": "C-42" }),
        push_secret: format!("push-{credential}"),
    }
}

/// A sandbox account of `scope` with its secrets in the clear.
pub fn new_account(scope: &Scope, credential: &str) -> NewCarrierAccount {
    let now = now_ms();
    NewCarrierAccount {
        account: CarrierAccount {
            id: CarrierAccountId::generate(),
            tenant_id: scope.tenant.clone(),
            carrier: "sandbox".to_owned(),
            mode: scope.mode,
            description: Some("main account".to_owned()),
            base_url: Some("http://127.0.0.1:9".to_owned()),
            settings: None,
            created_at: now,
            updated_at: now,
        },
        secrets: secrets(credential),
        next_number: None,
    }
}

/// Writes `new` (sealing its secrets) in a transaction of its own.
pub async fn insert_account(backend: &str, store: &Store, new: &NewCarrierAccount) -> CarrierAccount {
    let mut tx = store.begin().await.must(backend);
    tx.insert_carrier_account(new, store.seal_secrets(&new.secrets)).await.must(backend);
    tx.commit().await.must(backend);
    new.account.clone()
}

/// A new sandbox account of `scope`.
pub async fn create_account(backend: &str, store: &Store, scope: &Scope, credential: &str) -> CarrierAccount {
    insert_account(backend, store, &new_account(scope, credential)).await
}

/// A booking's intent (`pending`) on `account`, in the account's scope, as the engine builds it.
pub fn pending_shipment(account: &CarrierAccount, order: Option<&OrderId>) -> Shipment {
    let now = now_ms();
    Shipment {
        id: ShipmentId::generate(),
        tenant_id: account.tenant_id.clone(),
        mode: account.mode,
        order_id: order.cloned(),
        channel_connection_id: None,
        location_id: None,
        carrier_account_id: account.id.clone(),
        carrier: account.carrier.clone(),
        service: "standard".to_owned(),
        lines: vec![],
        booking_state: BookingState::Pending,
        status: TrackingStatus::InfoReceived,
        progress: 0,
        last_scan_at: None,
        ndr_reason: None,
        tracking_number: None,
        carrier_shipment_id: None,
        ship_from: address("Warehouse"),
        ship_to: address("Ayşe Yılmaz"),
        parcels: parcels(),
        cod: None,
        charge: None,
        edd: None,
        routing: None,
        simulate: None,
        is_return: false,
        reference: Some("REF-1".to_owned()),
        error: None,
        created_at: now,
        updated_at: now,
    }
}

/// What a confirmed booking changes on its intent.
pub fn as_booked(pending: &Shipment, tracking_number: &str) -> Shipment {
    Shipment {
        booking_state: BookingState::Booked,
        tracking_number: Some(tracking_number.to_owned()),
        carrier_shipment_id: Some(format!("cs-{tracking_number}")),
        service: "express".to_owned(),
        charge: Some(money("87.50")),
        edd: Some(NaiveDate::from_ymd_opt(2031, 5, 4).expect("date")),
        routing: Some(Routing {
            origin_hub: "IST".to_owned(),
            destination_hub: "ANK".to_owned(),
            sort_code: "A1".to_owned(),
            route: "R7".to_owned(),
        }),
        updated_at: pending.updated_at + 1,
        ..pending.clone()
    }
}

/// Writes a booking's intent made on `node`, in a transaction of its own.
pub async fn insert_pending(backend: &str, store: &Store, shipment: &Shipment, node: &str) {
    let mut tx = store.begin().await.must(backend);
    tx.insert_shipment(shipment, node).await.must(backend);
    tx.commit().await.must(backend);
}

/// A shipment taken through its intent and a confirmed booking, as stored.
pub async fn booked_shipment(
    backend: &str,
    store: &Store,
    account: &CarrierAccount,
    order: Option<&OrderId>,
    tracking_number: &str,
) -> Shipment {
    let pending = pending_shipment(account, order);
    insert_pending(backend, store, &pending, NODE).await;
    let booked = as_booked(&pending, tracking_number);
    let mut tx = store.begin().await.must(backend);
    tx.update_shipment(&booked).await.must(backend);
    tx.commit().await.must(backend);
    booked
}

pub fn at(rfc3339: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(rfc3339).expect("rfc3339 time")
}

/// A carrier scan whose code is its dedupe key, so tests can tell events apart; placed at the
/// carrier's own time.
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
        placed_at: at(occurred_at).to_utc(),
        source: ScanSource::Push,
        raw: json!({ "event": key }),
    }
}

/// A job acting in no scope.
pub fn job(kind: &'static str, unique_key: Option<String>, run_at: i64) -> NewJob {
    NewJob {
        kind,
        payload: json!({ "n": 1 }),
        scope: None,
        run_at,
        unique_key,
        replace: false,
        rerun_if_running: false,
        max_attempts: 5,
    }
}

/// A `requested` pickup on `account`, in the account's scope.
pub fn pickup(account: &CarrierAccount, shipments: &[ShipmentId]) -> Pickup {
    let now = now_ms();
    Pickup {
        id: PickupId::generate(),
        tenant_id: account.tenant_id.clone(),
        mode: account.mode,
        carrier_account_id: account.id.clone(),
        carrier: account.carrier.clone(),
        status: PickupStatus::Requested,
        confirmation_number: None,
        date: NaiveDate::from_ymd_opt(2031, 5, 6).expect("date"),
        ready_time: NaiveTime::from_hms_opt(9, 30, 0).expect("time"),
        close_time: NaiveTime::from_hms_opt(17, 0, 0).expect("time"),
        address: address("Warehouse"),
        parcels: parcels(),
        shipment_ids: shipments.to_vec(),
        service: Some("express".to_owned()),
        instructions: Some("Ring twice".to_owned()),
        charge: None,
        note: None,
        error: None,
        created_at: now,
        updated_at: now,
    }
}

/// Writes a `requested` pickup in a transaction of its own.
pub async fn insert_pickup(backend: &str, store: &Store, pickup: &Pickup) {
    let mut tx = store.begin().await.must(backend);
    tx.insert_pickup(pickup).await.must(backend);
    tx.commit().await.must(backend);
}

/// An `order.created` event about `order`, in its scope.
pub fn order_created(order: &Order) -> NewEvent {
    NewEvent { id: EventId::generate(), scope: order.scope(), event: Event::OrderCreated { order: order.clone() } }
}

/// Writes an event in a transaction of its own.
pub async fn insert_event(backend: &str, store: &Store, event: &NewEvent) {
    let mut tx = store.begin().await.must(backend);
    tx.insert_event(event).await.must(backend);
    tx.commit().await.must(backend);
}
