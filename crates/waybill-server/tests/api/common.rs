//! A running Waybill for tests: the API server, a job worker and the carrier simulator on
//! ephemeral loopback ports, a fresh database (SQLite file, or a new PostgreSQL database when
//! `WAYBILL_TEST_DATABASE_URL` is set), a tenant with a test key and a sandbox account.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use waybill_carriers::Carriers;
use waybill_core::api::requests::CarrierAccountCreate;
use waybill_core::ids::{CarrierAccountId, ShipmentId};
use waybill_core::{Address, BookingState, Mode, Parcel, Scope, Shipment, TrackingStatus};
use waybill_engine::{Engine, EngineConfig, Worker};
use waybill_outbound::{Outbound, OutboundSettings};
use waybill_sim::{SimConfig, Simulator};
use waybill_store::{Sealer, Store};

pub struct Harness {
    pub api: String,
    pub sim_url: String,
    pub sim: Simulator,
    pub key: String,
    /// A live-mode key of the same tenant.
    pub live_key: String,
    pub account_id: String,
    /// The tenant in test mode: what `key` acts as.
    pub scope: Scope,
    pub store: Store,
    pub engine: Engine,
    /// The database the store was opened on, for raw reads.
    pub db_url: String,
    pub http: reqwest::Client,
    pub backend: &'static str,
    _dir: tempfile::TempDir,
}

/// A database URL for one test: SQLite in `dir`, or a fresh PostgreSQL database.
pub async fn database_url(dir: &std::path::Path) -> (String, &'static str) {
    match std::env::var("WAYBILL_TEST_DATABASE_URL") {
        Ok(server) if !server.is_empty() => {
            use sqlx::Connection;
            let name = format!("waybill_api_{}", ulid_lower());
            let mut conn = sqlx::PgConnection::connect(&server).await.expect("WAYBILL_TEST_DATABASE_URL connects");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create database");
            let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b).to_owned();
            (format!("{base}/{name}"), "postgres")
        }
        _ => (Store::sqlite_url(dir), "sqlite"),
    }
}

fn ulid_lower() -> String {
    waybill_core::ids::JobId::generate().as_str().trim_start_matches("job_").to_owned()
}

pub struct Options {
    pub day_seconds: f64,
    pub poll_interval: Duration,
    /// Timeout of the HTTP client the carrier adapters use.
    pub carrier_timeout: Duration,
    /// How long a booking may stay pending before the sweep reconciles it.
    pub booking_watchdog: Duration,
    /// How often the sweep looks for bookings no live node is recording.
    pub sweep_interval: Duration,
    /// Which base URLs live carrier accounts may have.
    pub base_urls: waybill_engine::BaseUrlPolicy,
    /// PostgreSQL pool of the server's store.
    pub pool: waybill_store::PoolSettings,
    pub server: waybill_server::ServerConfig,
    /// How customer email leaves (none by default: email messages are suppressed).
    pub email: waybill_engine::notify::EmailTransport,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            day_seconds: 0.2,
            poll_interval: Duration::from_millis(300),
            carrier_timeout: Duration::from_secs(10),
            booking_watchdog: Duration::from_secs(120),
            sweep_interval: Duration::from_millis(500),
            base_urls: Default::default(),
            pool: Default::default(),
            server: Default::default(),
            email: Default::default(),
        }
    }
}

impl Harness {
    pub async fn start() -> Self {
        Self::with(Options::default()).await
    }

    pub async fn with(options: Options) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (url, backend) = database_url(dir.path()).await;
        let store =
            Store::open_with(&url, Sealer::from_base64(&Sealer::generate_key()).unwrap(), options.pool).await.unwrap();

        let sim = Simulator::new(SimConfig { day_seconds: options.day_seconds, ..Default::default() }).await.unwrap();
        let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim_url = format!("http://{}", sim_listener.local_addr().unwrap());
        tokio::spawn(sim.clone().serve(sim_listener));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = format!("http://{}", listener.local_addr().unwrap());
        let outbound =
            Outbound::new(OutboundSettings { timeout: options.carrier_timeout, ..Default::default() }).unwrap();
        let config = EngineConfig {
            public_url: api.clone(),
            poll_interval: options.poll_interval,
            booking_watchdog: options.booking_watchdog,
            sweep_interval: options.sweep_interval,
            base_urls: options.base_urls,
            node: format!("test-{}", ulid_lower()),
            email: options.email,
            mail_from: Some("shop@waybill.test".into()),
            ..Default::default()
        };
        let engine = Engine::new(store.clone(), Carriers::new(outbound.clone()), outbound, config);
        tokio::spawn(Worker::new(engine.clone()).run());
        let app = waybill_server::router(engine.clone(), options.server);
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });

        let tenant = store.create_tenant("test").await.unwrap();
        let key = store.create_api_key(&tenant.id, Mode::Test).await.unwrap();
        let live_key = store.create_api_key(&tenant.id, Mode::Live).await.unwrap();
        let scope = Scope::test(tenant.id);
        let (account, _) = engine.create_carrier_account(&scope, sandbox_account(&sim_url)).await.unwrap();
        Self {
            api,
            sim_url,
            sim,
            key,
            live_key,
            account_id: account.id.to_string(),
            scope,
            store,
            engine,
            db_url: url,
            http: reqwest::Client::new(),
            backend,
            _dir: dir,
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.post_with(path, body, &self.key, None).await
    }

    pub async fn post_with(
        &self,
        path: &str,
        body: &Value,
        key: &str,
        idempotency_key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.post(format!("{}{path}", self.api)).bearer_auth(key).json(body);
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let r = self.http.put(format!("{}{path}", self.api)).bearer_auth(&self.key).json(body).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.get_as(path, &self.key).await
    }

    pub async fn get_as(&self, path: &str, key: &str) -> (StatusCode, Value) {
        let r = self.http.get(format!("{}{path}", self.api)).bearer_auth(key).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get_bytes(&self, path: &str) -> (StatusCode, String, Vec<u8>) {
        let r = self.http.get(format!("{}{path}", self.api)).bearer_auth(&self.key).send().await.unwrap();
        let status = r.status();
        let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, ct, r.bytes().await.unwrap().to_vec())
    }

    pub async fn create_order(&self, external_id: &str, payment: Value) -> Value {
        let (status, order) = self.post("/v1/orders", &order_body(external_id, payment)).await;
        assert_eq!(status, StatusCode::CREATED, "[{}] {order}", self.backend);
        order
    }

    pub fn booking(&self, order_id: Option<&str>, scenario: &str) -> Value {
        let mut body = json!({
            "carrier_account_id": self.account_id,
            "service": "express",
            "ship_from": warehouse(),
            "parcels": [{"weight": {"value": 1.25, "unit": "kg"}, "dimensions": {"length": 30, "width": 20, "height": 10, "unit": "cm"}}],
            "options": {"simulate": scenario},
        });
        match order_id {
            Some(id) => body["order_id"] = json!(id),
            None => body["ship_to"] = seoul(),
        }
        body
    }

    /// Polls the shipment until its status is `status` (or the time runs out).
    pub async fn wait_for_status(&self, shipment_id: &str, status: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let (code, shipment) = self.get(&format!("/v1/shipments/{shipment_id}")).await;
            assert_eq!(code, StatusCode::OK);
            if shipment["status"] == status {
                return shipment;
            }
            assert!(Instant::now() < deadline, "[{}] shipment never reached {status}: {shipment}", self.backend);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls the shipment until its booking state is `state` (or the time runs out).
    pub async fn wait_for_booking(&self, shipment_id: &str, state: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let (_, shipment) = self.get(&format!("/v1/shipments/{shipment_id}")).await;
            if shipment["booking_state"] == state {
                return shipment;
            }
            assert!(Instant::now() < deadline, "[{}] booking never became {state}: {shipment}", self.backend);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_for_order(&self, order_id: &str, status: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let (_, order) = self.get(&format!("/v1/orders/{order_id}")).await;
            if order["status"] == status {
                return order;
            }
            assert!(Instant::now() < deadline, "[{}] order never reached {status}: {order}", self.backend);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The simulator's own record of bookings made under `reference` (our shipment id).
    pub async fn carrier_bookings(&self, reference: &str) -> Vec<Value> {
        self.carrier_records("shipments", reference).await
    }

    /// The simulator's own `kind` (`shipments`, `pickups`, `manifests`) made under `reference`
    /// (our id of the booking, pickup or manifest).
    pub async fn carrier_records(&self, kind: &str, reference: &str) -> Vec<Value> {
        let r: Value = self
            .http
            .get(format!("{}/api/v1/{kind}", self.sim_url))
            .query(&[("reference", reference)])
            .header("X-Api-Key", "test")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r[kind].as_array().unwrap().clone()
    }

    /// Every booking the simulator holds.
    pub async fn all_carrier_bookings(&self) -> usize {
        self.sim.shipments_booked()
    }

    /// Counts of the tenant's orders and shipments, to show a rejected request wrote nothing.
    pub async fn counts(&self) -> (usize, usize) {
        let orders = self.store.list_orders(&self.scope, None, 100).await.unwrap().items.len();
        let filter = waybill_store::ShipmentFilter::default();
        let shipments = self.store.list_shipments(&self.scope, filter, None, 100).await.unwrap().items.len();
        (orders, shipments)
    }

    /// Rows in every table a request can write to: equal before and after means nothing was
    /// written (the job queue is left out: the workers change it on their own).
    pub async fn rows(&self) -> Vec<(&'static str, i64)> {
        table_rows(&self.db_url).await
    }
}

/// A test-mode sandbox account pointed at the simulator.
pub fn sandbox_account(sim_url: &str) -> CarrierAccountCreate {
    CarrierAccountCreate {
        carrier: "sandbox".into(),
        mode: Mode::Test,
        description: None,
        base_url: Some(sim_url.into()),
        credentials: json!({"api_key": "test"}),
        settings: None,
    }
}

/// The tables any request may write to.
pub const WRITTEN_TABLES: [&str; 10] = [
    "orders",
    "shipments",
    "shipment_documents",
    "tracking_events",
    "pickups",
    "carrier_accounts",
    "idempotency_keys",
    "events",
    "tenants",
    "webhook_endpoints",
];

/// Row counts of [`WRITTEN_TABLES`], read with a connection of their own.
pub async fn table_rows(url: &str) -> Vec<(&'static str, i64)> {
    use sqlx::{Connection, Row};
    let mut out = Vec::new();
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        for table in WRITTEN_TABLES {
            let sql = format!("SELECT COUNT(*) AS n FROM {table}");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&mut conn).await.unwrap();
            out.push((table, row.get::<i64, _>("n")));
        }
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        for table in WRITTEN_TABLES {
            let sql = format!("SELECT COUNT(*) AS n FROM {table}");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&mut conn).await.unwrap();
            out.push((table, row.get::<i64, _>("n")));
        }
    }
    out
}

/// Runs SQL statements straight on the database (faults, rows as an earlier version left them).
pub async fn sql(url: &str, statements: &str) {
    use sqlx::Connection;
    let sql = sqlx::AssertSqlSafe(statements.to_owned());
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    }
}

/// Makes every `event` on `table` where `when` (a condition on `NEW`) holds fail with a real
/// database error, as a lost connection or a failover would.
pub async fn break_writes(url: &str, name: &str, event: &str, table: &str, when: &str) {
    let statements = if url.starts_with("postgres") {
        format!(
            "CREATE OR REPLACE FUNCTION waybill_forced_failure() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'forced failure'; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW WHEN ({when}) \
             EXECUTE FUNCTION waybill_forced_failure();"
        )
    } else {
        format!(
            "CREATE TRIGGER {name} BEFORE {event} ON {table} WHEN {when} BEGIN SELECT RAISE(ABORT, 'forced failure'); END;"
        )
    };
    sql(url, &statements).await
}

pub async fn mend_writes(url: &str, name: &str, table: &str) {
    let statement = if url.starts_with("postgres") {
        format!("DROP TRIGGER {name} ON {table}")
    } else {
        format!("DROP TRIGGER {name}")
    };
    sql(url, &statement).await
}

/// Queues a job as the first version of Waybill did: a tenant, but no mode or lease.
pub async fn insert_legacy_job(url: &str, scope: &Scope, kind: &str, payload: &Value) {
    use sqlx::Connection;
    let sql = "INSERT INTO jobs (id, tenant_id, kind, payload, unique_key, run_at, attempts, max_attempts, state, \
               created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, 10, 'queued', $6, $6)";
    let id = waybill_core::ids::JobId::generate().to_string();
    let key = format!("{kind}:legacy:{id}");
    let now = waybill_store::now_ms();
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let q = sqlx::query(sql).bind(&id).bind(scope.tenant.as_str()).bind(kind).bind(payload.to_string());
        q.bind(&key).bind(now).execute(&mut conn).await.unwrap();
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        let q = sqlx::query(sql).bind(&id).bind(scope.tenant.as_str()).bind(kind).bind(payload.to_string());
        q.bind(&key).bind(now).execute(&mut conn).await.unwrap();
    }
}

/// Writes `shipment` as a booking in flight on `node`, as a node leaves it when it dies
/// between recording the intent and the carrier's answer.
pub async fn insert_in_flight(store: &Store, shipment: &Shipment, node: &str) {
    let mut tx = store.begin().await.unwrap();
    tx.insert_shipment(shipment, node).await.unwrap();
    tx.commit().await.unwrap();
}

/// A generic (no-API) carrier account's request: booking with it calls no carrier, so it
/// works in live mode too.
pub fn generic_account(mode: &str) -> Value {
    json!({
        "carrier": "generic", "mode": mode, "credentials": {},
        "settings": {"name": "Yerel Kargo", "services": [{"code": "std", "name": "Standart"}],
                     "tracking_numbers": {"range": {"prefix": "YK", "first": 1, "last": 99999, "width": 6}},
                     "tracking_url": "https://kargo.example/t/{tracking_number}"}
    })
}

pub fn warehouse() -> Value {
    json!({"name": "Demo Depo", "company": "Örnek Ticaret A.Ş.", "street1": "Atatürk Cd. 1", "city": "Ankara",
           "postal_code": "06100", "country": "TR", "phone": "+90 312 555 12 34"})
}

pub fn istanbul() -> Value {
    json!({"name": "Şükrü Çağlayan", "street1": "Bağdat Caddesi No: 12", "city": "İstanbul", "postal_code": "34710",
           "country": "TR", "phone": "+90 532 123 45 67", "email": "sukru@example.com"})
}

pub fn seoul() -> Value {
    json!({"name": "김민준", "street1": "테헤란로 152", "street2": "강남파이낸스센터 10층", "city": "서울특별시 강남구",
           "postal_code": "06236", "country": "KR", "phone": "+82 10-1234-5678"})
}

pub fn order_body(external_id: &str, payment: Value) -> Value {
    json!({
        "external_id": external_id,
        "currency": "TRY",
        "line_items": [{"sku": "TSHIRT-M", "name": "Tişört", "quantity": 2, "unit_price": "249.95"}],
        "ship_to": istanbul(),
        "payment": payment,
    })
}

/// A pending booking on `account_id` in `scope` (for [`insert_in_flight`]).
pub fn pending_shipment(scope: &Scope, id: &ShipmentId, account_id: &str, carrier: &str, service: &str) -> Shipment {
    let address = |name: &str| Address {
        name: name.into(),
        street1: "Istiklal Cd. 1".into(),
        city: "Istanbul".into(),
        postal_code: "34430".into(),
        country: "TR".into(),
        ..Address::default()
    };
    let now = waybill_store::now_ms();
    Shipment {
        id: id.clone(),
        tenant_id: scope.tenant.clone(),
        mode: scope.mode,
        order_id: None,
        channel_connection_id: None,
        location_id: None,
        carrier_account_id: CarrierAccountId::parse(account_id).expect("an account id"),
        carrier: carrier.into(),
        service: service.into(),
        lines: vec![],
        booking_state: BookingState::Pending,
        status: TrackingStatus::InfoReceived,
        progress: 0,
        last_scan_at: None,
        ndr_reason: None,
        tracking_number: None,
        carrier_shipment_id: None,
        ship_from: address("Depo"),
        ship_to: address("Ayşe"),
        parcels: vec![Parcel { weight_g: 500, dimensions_mm: None }],
        cod: None,
        charge: None,
        edd: None,
        routing: None,
        simulate: None,
        is_return: false,
        reference: None,
        error: None,
        created_at: now,
        updated_at: now,
    }
}
