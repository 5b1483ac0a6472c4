//! A running Waybill for tests: the API server, a job worker and the carrier simulator on
//! ephemeral loopback ports, a fresh database (SQLite file, or a new PostgreSQL database when
//! `WAYBILL_TEST_DATABASE_URL` is set), a tenant with a test key and a sandbox account.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use waybill_carriers::Carriers;
use waybill_core::Mode;
use waybill_core::ids::{CarrierAccountId, ShipmentId, TenantId};
use waybill_core::{Address, Parcel};
use waybill_engine::{Engine, EngineConfig, NewAccountInput, Worker};
use waybill_sim::{SimConfig, Simulator};
use waybill_store::{NewShipment, Sealer, Store};

pub struct Harness {
    pub api: String,
    pub sim_url: String,
    pub sim: Simulator,
    pub key: String,
    pub account_id: String,
    pub tenant: TenantId,
    pub store: Store,
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
}

impl Default for Options {
    fn default() -> Self {
        Self {
            day_seconds: 0.2,
            poll_interval: Duration::from_millis(300),
            carrier_timeout: Duration::from_secs(10),
            booking_watchdog: Duration::from_secs(120),
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
        let store = Store::open(&url, Sealer::from_base64(&Sealer::generate_key()).unwrap()).await.unwrap();

        let sim = Simulator::new(SimConfig { day_seconds: options.day_seconds, ..Default::default() }).await.unwrap();
        let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim_url = format!("http://{}", sim_listener.local_addr().unwrap());
        tokio::spawn(sim.clone().serve(sim_listener));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = format!("http://{}", listener.local_addr().unwrap());
        let carrier_http = reqwest::Client::builder().timeout(options.carrier_timeout).build().unwrap();
        let config = EngineConfig {
            public_url: api.clone(),
            poll_interval: options.poll_interval,
            booking_watchdog: options.booking_watchdog,
            ..Default::default()
        };
        let engine = Engine::new(store.clone(), Carriers::new(carrier_http), config);
        tokio::spawn(Worker::new(engine.clone(), "test".into()).run());
        tokio::spawn(waybill_server::serve(listener, engine.clone()));

        let tenant = store.create_tenant("test").await.unwrap();
        let key = store.create_api_key(&tenant.id, Mode::Test).await.unwrap();
        let account = engine
            .create_carrier_account(
                &tenant.id,
                NewAccountInput {
                    carrier: "sandbox".into(),
                    mode: Mode::Test,
                    description: None,
                    base_url: Some(sim_url.clone()),
                    credentials: json!({"api_key": "test"}),
                },
            )
            .await
            .unwrap();
        Self {
            api,
            sim_url,
            sim,
            key,
            account_id: account.id.to_string(),
            tenant: tenant.id,
            store,
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
        let r: Value = self
            .http
            .get(format!("{}/api/v1/shipments", self.sim_url))
            .query(&[("reference", reference)])
            .header("X-Api-Key", "test")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["shipments"].as_array().unwrap().clone()
    }

    /// Counts of the tenant's orders and shipments, to show a rejected request wrote nothing.
    pub async fn counts(&self) -> (usize, usize) {
        let orders = self.store.list_orders(&self.tenant, None, 100).await.unwrap().items.len();
        let shipments = self.store.list_shipments(&self.tenant, None, 100).await.unwrap().items.len();
        (orders, shipments)
    }
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

/// A booking as a node leaves it when it dies between recording the intent and the carrier's
/// answer: a `pending` shipment on `account_id` (for `store.create_pending_shipment`).
pub fn pending_shipment(id: &ShipmentId, account_id: &str, carrier: &str, service: &str) -> NewShipment {
    let address = |name: &str| Address {
        name: name.into(),
        street1: "Istiklal Cd. 1".into(),
        city: "Istanbul".into(),
        postal_code: "34430".into(),
        country: "TR".into(),
        ..Address::default()
    };
    NewShipment {
        id: id.clone(),
        order_id: None,
        carrier_account_id: CarrierAccountId::parse(account_id).expect("an account id"),
        carrier: carrier.into(),
        service: service.into(),
        ship_from: address("Depo"),
        ship_to: address("Ayşe"),
        parcels: vec![Parcel { weight_g: 500, dimensions_mm: None }],
        cod: None,
        simulate: None,
        is_return: false,
        reference: None,
    }
}
