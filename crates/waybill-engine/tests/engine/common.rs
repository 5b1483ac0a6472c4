//! A test engine: a fresh database per backend, an in-process carrier (`fake`) that books,
//! refuses, loses answers or is down on demand and counts its bookings, and a worker whose
//! queue the test drains.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection};
use waybill_carriers::{
    Account, BookedRef, Booking, BookingRequest, Capabilities, Carrier, CarrierError, CarrierInfo, CredentialField,
    CredentialSchema, Rate, RateRequest, Scan, Service,
};
use waybill_core::api::requests::{CarrierAccountCreate, OrderCreate, ShipmentCreate};
use waybill_core::ids::CarrierAccountId;
use waybill_core::{Mode, Scope};
use waybill_engine::{Engine, EngineConfig, Worker};
use waybill_outbound::Outbound;
use waybill_store::{Sealer, Store};

/// What the double does with the next booking it is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Book,
    Refuse,
    /// Books, then the answer is lost on the way back.
    Lose,
    /// Does nothing and says it is unavailable.
    Down,
}

#[derive(Default)]
pub struct FakeState {
    pub next: VecDeque<Answer>,
    /// Bookings it made, by our reference.
    pub bookings: HashMap<String, Booking>,
    pub book_calls: usize,
    /// What `track` answers, per tracking number.
    pub scans: HashMap<String, Vec<Scan>>,
    /// The credentials the last booking came with.
    pub last_credentials: serde_json::Value,
}

pub struct Fake {
    info: CarrierInfo,
    pub state: Mutex<FakeState>,
}

impl Fake {
    fn new() -> Self {
        let info = CarrierInfo {
            slug: "fake",
            name: "Fake Carrier",
            services: vec![Service { code: "std", name: "Standard" }],
            capabilities: Capabilities {
                rates: true,
                cancel: true,
                track: true,
                push: false,
                push_at_booking: false,
                find_booking: true,
                cash_on_delivery: true,
                address_validation: false,
                pickup: false,
                pickup_cancel: false,
                manifest: false,
                update: false,
                rto_request: false,
                serviceability: false,
                returns: false,
                ndr: false,
            },
            credentials: CredentialSchema {
                fields: vec![CredentialField { name: "api_key", description: "any", required: true }],
            },
            test_base_url: Some("http://fake.invalid"),
            live_base_url: Some("https://fake.invalid"),
            carrier_label_formats: vec![],
        };
        Self { info, state: Mutex::default() }
    }

    pub fn answer_next(&self, answers: &[Answer]) {
        self.state.lock().unwrap().next.extend(answers);
    }

    pub fn book_calls(&self) -> usize {
        self.state.lock().unwrap().book_calls
    }

    /// Bookings the carrier holds for our reference (a shipment id).
    pub fn bookings_for(&self, reference: &str) -> usize {
        usize::from(self.state.lock().unwrap().bookings.contains_key(reference))
    }

    pub fn set_scans(&self, tracking_number: &str, scans: Vec<Scan>) {
        self.state.lock().unwrap().scans.insert(tracking_number.to_owned(), scans);
    }
}

#[async_trait]
impl Carrier for Fake {
    fn info(&self) -> &CarrierInfo {
        &self.info
    }

    async fn rate(&self, _: &Account<'_>, _: &RateRequest) -> Result<Vec<Rate>, CarrierError> {
        Ok(vec![])
    }

    async fn book(&self, account: &Account<'_>, request: &BookingRequest) -> Result<Booking, CarrierError> {
        let mut state = self.state.lock().unwrap();
        state.book_calls += 1;
        state.last_credentials = account.credentials.clone();
        let answer = state.next.pop_front().unwrap_or(Answer::Book);
        let booking = || Booking {
            tracking_number: format!("FAKE{:06}", state.book_calls),
            carrier_shipment_id: format!("cs-{}", request.reference),
            service: request.service.clone(),
            charge: None,
            edd: None,
            routing: None,
            documents: vec![],
        };
        match answer {
            Answer::Book => {
                let b = booking();
                state.bookings.insert(request.reference.clone(), b.clone());
                Ok(b)
            }
            Answer::Lose => {
                let b = booking();
                state.bookings.insert(request.reference.clone(), b);
                Err(CarrierError::Unknown { carrier: "fake", message: "the answer was lost".into() })
            }
            Answer::Refuse => Err(CarrierError::Rejected {
                carrier: "fake",
                code: "BAD_ZIP".into(),
                message: "postcode not served".into(),
                field: None,
            }),
            Answer::Down => {
                Err(CarrierError::Unavailable { carrier: "fake", message: "down".into(), retry_after: None })
            }
        }
    }

    async fn find_booking(&self, _: &Account<'_>, reference: &str) -> Result<Option<Booking>, CarrierError> {
        Ok(self.state.lock().unwrap().bookings.get(reference).cloned())
    }

    async fn cancel(&self, _: &Account<'_>, _: &BookedRef<'_>) -> Result<(), CarrierError> {
        Ok(())
    }

    async fn track(&self, _: &Account<'_>, tracking_number: &str) -> Result<Vec<Scan>, CarrierError> {
        Ok(self.state.lock().unwrap().scans.get(tracking_number).cloned().unwrap_or_default())
    }
}

pub struct Harness {
    pub backend: &'static str,
    pub engine: Engine,
    pub store: Store,
    pub worker: Worker,
    pub fake: Arc<Fake>,
    pub scope: Scope,
    pub account: CarrierAccountId,
    pub url: String,
    _dir: tempfile::TempDir,
}

/// One harness per backend: SQLite always, PostgreSQL when `WAYBILL_TEST_DATABASE_URL` is set.
pub async fn harnesses() -> Vec<Harness> {
    let mut out = vec![Harness::open("sqlite").await];
    if std::env::var("WAYBILL_TEST_DATABASE_URL").is_ok_and(|v| !v.trim().is_empty()) {
        out.push(Harness::open("postgres").await);
    }
    out
}

impl Harness {
    async fn open(backend: &'static str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = match backend {
            "postgres" => {
                let server = std::env::var("WAYBILL_TEST_DATABASE_URL").unwrap();
                let name = format!("waybill_engine_{:016x}", rand::random::<u64>());
                let mut conn = sqlx::PgConnection::connect(&server).await.unwrap();
                sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
                format!("{}/{name}", server.rsplit_once('/').unwrap().0)
            }
            _ => Store::sqlite_url(dir.path()),
        };
        let store = Store::open(&url, Sealer::from_base64(&Sealer::generate_key()).unwrap()).await.unwrap();
        let fake = Arc::new(Fake::new());
        let outbound = Outbound::default();
        let carriers = waybill_carriers::Carriers::new(outbound.clone()).with(fake.clone());
        let config = EngineConfig { node: format!("engine-test-{backend}"), ..EngineConfig::default() };
        let engine = Engine::new(store.clone(), carriers, outbound, config);
        let tenant = store.create_tenant("acme").await.unwrap();
        let scope = Scope::test(tenant.id);
        let account = CarrierAccountCreate {
            carrier: "fake".into(),
            mode: Mode::Test,
            description: None,
            base_url: None,
            credentials: json!({"api_key": "k"}),
            settings: None,
        };
        let (account, _) = engine.create_carrier_account(&scope, account).await.unwrap();
        let worker = Worker::new(engine.clone()).with_lease(Duration::from_secs(30));
        Self { backend, engine, store, worker, fake, scope, account: account.id, url, _dir: dir }
    }

    /// An order to İzmir, paid by cash on delivery.
    pub fn order(&self, external_id: &str) -> OrderCreate {
        serde_json::from_value(json!({
            "external_id": external_id, "currency": "TRY",
            "line_items": [{"sku": "MUG-1", "quantity": 1, "unit_price": "100.00"}],
            "ship_to": {"name": "Ayşe Yılmaz", "street1": "İnönü Sk. 5", "city": "İzmir", "postal_code": "35210", "country": "TR"},
            "payment": {"method": "cod", "amount": "100.00"}
        }))
        .unwrap()
    }

    /// A booking on the fake carrier, for `order` or ad hoc.
    pub fn booking(&self, order: Option<&str>, label_format: Option<&str>) -> ShipmentCreate {
        let mut body = json!({
            "carrier_account_id": self.account, "service": "std",
            "ship_from": {"name": "Depo", "street1": "Atatürk Cd. 1", "city": "Ankara", "postal_code": "06100", "country": "TR"},
            "parcels": [{"weight": {"value": 1, "unit": "kg"}}],
            "options": {"label_format": label_format},
        });
        match order {
            Some(id) => body["order_id"] = json!(id),
            None => {
                body["ship_to"] = json!({"name": "Ayşe", "street1": "İnönü Sk. 5", "city": "İzmir", "postal_code": "35210", "country": "TR"})
            }
        }
        serde_json::from_value(body).unwrap()
    }

    /// Runs a SQL statement straight on the database (faults, legacy rows).
    pub async fn sql(&self, sql: &str) {
        if self.url.starts_with("postgres") {
            let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
            sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.unwrap();
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.unwrap();
        }
    }

    /// Makes every write to `table` matching `when` (an SQL condition on `NEW`) fail, as a lost
    /// connection or a failover would: a real database error, not a stub.
    pub async fn break_writes(&self, name: &str, event: &str, table: &str, when: &str) {
        if self.url.starts_with("postgres") {
            self.sql(&format!(
                "CREATE OR REPLACE FUNCTION waybill_forced_failure() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'forced failure'; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW WHEN ({when}) \
                 EXECUTE FUNCTION waybill_forced_failure();"
            ))
            .await
        } else {
            self.sql(&format!(
                "CREATE TRIGGER {name} BEFORE {event} ON {table} WHEN {when} BEGIN SELECT RAISE(ABORT, 'forced failure'); END;"
            ))
            .await
        }
    }

    pub async fn mend_writes(&self, name: &str, table: &str) {
        if self.url.starts_with("postgres") {
            self.sql(&format!("DROP TRIGGER {name} ON {table}")).await
        } else {
            self.sql(&format!("DROP TRIGGER {name}")).await
        }
    }

    pub async fn event_kinds(&self, subject: &str) -> Vec<&'static str> {
        self.store.events_about(&self.scope, subject).await.unwrap().into_iter().map(|e| e.event.kind()).collect()
    }

    pub async fn queued(&self) -> Vec<(String, i64)> {
        self.store.queued_jobs().await.unwrap().into_iter().filter(|(k, _)| k != "sweep_bookings").collect()
    }
}
