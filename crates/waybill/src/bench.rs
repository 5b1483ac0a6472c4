//! `waybill bench`: the figures the README quotes, measured here rather than asserted in tests.
//!
//! `bookings` runs the real thing on this machine: the API server, the job workers and the
//! carrier simulator on loopback ports, with a fresh SQLite database (or `--database-url`),
//! and books shipments over HTTP. `webhooks` and `notifications` time the job workers sending
//! to local receivers (an HTTP endpoint, an SMTP server and an SMS provider's API, all on
//! loopback); `tracking-page` loads the public page over HTTP; `channel-webhooks` posts signed
//! Shopify order webhooks to the server while its workers import them; `labels` times the
//! renderer alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use waybill_carriers::Carriers;
use waybill_core::api::requests::CarrierAccountCreate;
use waybill_core::channel::ImportStatus;
use waybill_core::{Mode, Scope};
use waybill_engine::{Engine, EngineConfig, ReportedScan, Worker};
use waybill_labels::{LabelAddress, LabelFormat, LabelRenderer, LabelSpec, Routing};
use waybill_outbound::Outbound;
use waybill_store::{Sealer, Store};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Book shipments through the HTTP API against the simulator; prints shipments/s and latency.
    Bookings {
        /// How many bookings to time.
        #[arg(long, default_value_t = 2000)]
        n: usize,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Book with a label in this format (`options.label_format`) and fetch it, as part of
        /// the timed operation.
        #[arg(long, value_parser = ["pdf", "zpl", "png"])]
        label: Option<String>,
        /// Benchmark on PostgreSQL instead of a fresh SQLite file (the database is written to).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Deliver webhooks to a local receiver: `n` events queued first, then timed from the
    /// moment the workers start until the receiver has every one (signed, logged, settled).
    Webhooks {
        #[arg(long, default_value_t = 5000)]
        n: usize,
        /// Benchmark on PostgreSQL instead of a fresh SQLite file (the database is written to).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Customer notifications: `n` shipments booked with a carrier that has no API, each
    /// sending its "shipped" email to a local SMTP server and its SMS to a local Twilio-shaped
    /// API; timed from the moment the workers start until every message is recorded as sent.
    Notifications {
        /// Shipments; each sends one email and one SMS.
        #[arg(long, default_value_t = 1000)]
        n: usize,
        /// Benchmark on PostgreSQL instead of a fresh SQLite file (the database is written to).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// The public tracking page over HTTP: `n` loads spread over 200 shipments with their
    /// scans, languages taken in turn; prints pages/s and latency.
    TrackingPage {
        #[arg(long, default_value_t = 20000)]
        n: usize,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Benchmark on PostgreSQL instead of a fresh SQLite file (the database is written to).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Sales-channel webhooks: `n` distinct Shopify orders, each signed as the store signs
    /// them, posted to the running server's hook by `concurrency` clients while this node's
    /// workers import them; prints webhooks acknowledged per second and orders imported per
    /// second (from the first call until every order exists).
    ChannelWebhooks {
        #[arg(long, default_value_t = 5000)]
        n: usize,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Benchmark on PostgreSQL instead of a fresh SQLite file (the database is written to).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// `import orders` of a generated CSV file of `rows` rows (one order per row), read and
    /// written to the database as the command does; prints rows/s.
    ImportOrders {
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        /// Benchmark on PostgreSQL instead of a fresh SQLite file (the database is written to).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Stock out to a channel: `skus` SKUs of a fake store counted at once, timed until the
    /// store shows every one; prints the channel API calls it took.
    ChannelStock {
        /// The fake store: woocommerce, shopify, trendyol or amazon.
        #[arg(long, default_value = "woocommerce")]
        channel: String,
        #[arg(long, default_value_t = 10_000)]
        skus: usize,
        /// Benchmark on PostgreSQL instead of a fresh SQLite file (the database is written to).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Time label rendering per format.
    Labels {
        /// Renders per format.
        #[arg(long, default_value_t = 500)]
        n: usize,
    },
}

pub async fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Bookings { n, concurrency, label, database_url } => {
            bookings(n, concurrency, label, database_url).await
        }
        BenchCommand::Webhooks { n, database_url } => webhooks(n, database_url).await,
        BenchCommand::Notifications { n, database_url } => notifications(n, database_url).await,
        BenchCommand::TrackingPage { n, concurrency, database_url } => {
            tracking_page(n, concurrency, database_url).await
        }
        BenchCommand::ChannelWebhooks { n, concurrency, database_url } => {
            channel_webhooks(n, concurrency, database_url).await
        }
        BenchCommand::ImportOrders { rows, database_url } => import_orders(rows, database_url).await,
        BenchCommand::ChannelStock { channel, skus, database_url } => channel_stock(channel, skus, database_url).await,
        BenchCommand::Labels { n } => {
            labels(n);
            Ok(())
        }
    }
}

/// `p` in 0..=1 of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len().max(1) as u32;
    println!(
        "{name:<6} n={:<6} mean={:>9.3} ms  p50={:>9.3} ms  p99={:>9.3} ms",
        samples.len(),
        mean.as_secs_f64() * 1e3,
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3
    );
}

pub fn sample_label() -> LabelSpec {
    let address = |name: &str, line: &str, city: &str, country: &str| LabelAddress {
        name: name.into(),
        company: None,
        lines: vec![line.into()],
        city_line: city.into(),
        country: country.into(),
        phone: Some("+90 532 123 45 67".into()),
    };
    LabelSpec {
        carrier_name: "Waybill Sandbox".into(),
        service_name: "Sandbox Express".into(),
        tracking_number: "SIM4820193746".into(),
        ship_from: address("Demo Depo", "Atatürk Cd. 1", "06100 Ankara", "TR"),
        ship_to: address("Şükrü Çağlayan 김민준", "Bağdat Caddesi No: 12, 테헤란로 152", "34710 İstanbul", "TR"),
        weight: "1.2 kg".into(),
        piece: "1/1".into(),
        cod: Some("COD 749.90 TRY".into()),
        reference: Some("#1001".into()),
        ship_date: "2026-11-21".into(),
        routing: Routing {
            sort_code: "IST-04-C".into(),
            origin_hub: "ANK".into(),
            destination_hub: "IST".into(),
            route: "R7".into(),
        },
    }
}

fn labels(n: usize) {
    let renderer = LabelRenderer::new();
    let spec = sample_label();
    println!("label rendering, {n} per format (Turkish + Korean text, COD, Code 128 + QR):");
    for format in LabelFormat::ALL {
        let warm = renderer.render(&spec, format).expect("the sample label renders");
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let bytes = renderer.render(&spec, format).expect("the sample label renders");
            samples.push(t.elapsed());
            std::hint::black_box(bytes);
        }
        summary(format.extension(), samples);
        println!("       size={} bytes", warm.len());
    }
}

async fn bookings(n: usize, concurrency: usize, label: Option<String>, database_url: Option<String>) -> Result<()> {
    if n == 0 || concurrency == 0 {
        bail!("--n and --concurrency must be at least 1");
    }
    let dir = tempfile::tempdir()?;
    let url = database_url.unwrap_or_else(|| Store::sqlite_url(dir.path()));
    let store =
        Store::open(&url, Sealer::from_base64(&Sealer::generate_key())?).await.context("opening the bench database")?;

    // One simulated day per real day: the bench measures booking, not a storm of scans.
    let sim =
        waybill_sim::Simulator::new(waybill_sim::SimConfig { day_seconds: 86_400.0, ..Default::default() }).await?;
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sim_url = format!("http://{}", sim_listener.local_addr()?);
    tokio::spawn(sim.serve(sim_listener));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = format!("http://{}", listener.local_addr()?);
    let outbound = Outbound::default();
    let engine = Engine::new(
        store.clone(),
        Carriers::new(outbound.clone()),
        outbound,
        EngineConfig { public_url: api.clone(), node: "bench".into(), ..Default::default() },
    );
    tokio::spawn(Worker::new(engine.clone()).run());
    tokio::spawn(waybill_server::serve(listener, engine.clone()));

    let tenant = store.create_tenant("bench").await?;
    let key = store.create_api_key(&tenant.id, Mode::Test).await?;
    let account = CarrierAccountCreate {
        carrier: "sandbox".into(),
        mode: Mode::Test,
        description: None,
        base_url: Some(sim_url),
        credentials: json!({"api_key": "bench"}),
        settings: None,
    };
    let (account, _) =
        engine.create_carrier_account(&Scope::test(tenant.id), account).await.map_err(|e| anyhow::anyhow!("{e}"))?;

    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency * 2).build()?;
    let mut body = json!({
        "carrier_account_id": account.id,
        "service": "express",
        "ship_from": {"name": "Demo Depo", "street1": "Atatürk Cd. 1", "city": "Ankara", "postal_code": "06100", "country": "TR"},
        "ship_to": {"name": "Şükrü Çağlayan", "street1": "Bağdat Caddesi No: 12", "city": "İstanbul", "postal_code": "34710", "country": "TR", "phone": "+90 532 123 45 67"},
        "parcels": [{"weight": {"value": 1.2, "unit": "kg"}}],
        "cod": {"amount": "749.90", "currency": "TRY"},
    });
    if let Some(format) = &label {
        body["options"] = json!({ "label_format": format });
    }
    let body = body.to_string();
    let job = Arc::new((client, api, key, body, label.clone()));

    let one = |job: Arc<(reqwest::Client, String, String, String, Option<String>)>| async move {
        let (client, api, key, body, label) = &*job;
        let t = Instant::now();
        let r = client
            .post(format!("{api}/v1/shipments"))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        let status = r.status();
        let shipment: serde_json::Value = r.json().await?;
        if status.as_u16() != 201 {
            bail!("booking answered {status}: {shipment}");
        }
        if let Some(format) = label {
            let id = shipment["id"].as_str().context("the shipment has an id")?;
            let r =
                client.get(format!("{api}/v1/shipments/{id}/label?format={format}")).bearer_auth(key).send().await?;
            if !r.status().is_success() {
                bail!("label answered {}", r.status());
            }
            r.bytes().await?;
        }
        Ok::<_, anyhow::Error>(t.elapsed())
    };

    for _ in 0..concurrency.min(50) {
        one(job.clone()).await?;
    }
    let permits = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let permit = permits.clone().acquire_owned().await?;
        let job = job.clone();
        tasks.spawn(async move {
            let r = one(job).await;
            drop(permit);
            r
        });
    }
    let mut samples = Vec::with_capacity(n);
    while let Some(done) = tasks.join_next().await {
        samples.push(done??);
    }
    let elapsed = started.elapsed();
    println!(
        "bookings over HTTP against the simulator ({}, concurrency {concurrency}{}):",
        if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" },
        label.as_deref().map(|f| format!(", each booked with its {f} label and the label fetched")).unwrap_or_default()
    );
    println!("total  {n} in {:.2} s = {:.0} shipments/s", elapsed.as_secs_f64(), n as f64 / elapsed.as_secs_f64());
    summary("each", samples);
    Ok(())
}

async fn webhooks(n: usize, database_url: Option<String>) -> Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    if n == 0 {
        bail!("--n must be at least 1");
    }
    let dir = tempfile::tempdir()?;
    let (store, backend) = bench_store(&dir, database_url).await?;
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let (engine, scope) = bench_engine(&store, EngineConfig { node: "bench".into(), ..Default::default() }).await?;
    let endpoint = waybill_core::api::requests::WebhookCreate {
        url: hook,
        events: vec!["order.created".into()],
        description: None,
    };
    engine.create_webhook(&scope, endpoint).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    for i in 0..n {
        let order: waybill_core::api::requests::OrderCreate = serde_json::from_value(json!({
            "external_id": format!("B{i}"), "currency": "TRY",
            "line_items": [{"sku": "MUG-1", "name": "Kupa", "quantity": 1, "unit_price": "49.90"}],
            "ship_to": {"name": "Şükrü Çağlayan", "street1": "Bağdat Caddesi No: 12", "city": "İstanbul",
                        "postal_code": "34710", "country": "TR"},
            "payment": {"method": "prepaid"}
        }))?;
        engine.create_order(&scope, order).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let started = Instant::now();
    tokio::spawn(Worker::new(engine.clone()).run());
    // The queue is counted only at the end: counting is a scan, and would slow what it measures.
    while received.load(Ordering::Relaxed) < n || queued(&store, "deliver_webhook").await? > 0 {
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {} of {n} deliveries arrived in 10 minutes", received.load(Ordering::Relaxed));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    if received.load(Ordering::Relaxed) != n {
        bail!("the receiver got {} deliveries for {n} events", received.load(Ordering::Relaxed));
    }
    println!("webhook deliveries to a local receiver ({backend}, one endpoint, each signed, logged and settled):");
    println!("total  {n} in {:.2} s = {:.0} deliveries/s", elapsed.as_secs_f64(), n as f64 / elapsed.as_secs_f64());
    Ok(())
}

/// Jobs of `kind` still queued.
async fn queued(store: &Store, kind: &str) -> Result<i64> {
    Ok(store.queued_jobs().await?.into_iter().find(|(k, _)| k == kind).map_or(0, |(_, n)| n))
}

/// A fresh database (`url`, else SQLite in a temporary directory kept alive by the caller).
async fn bench_store(dir: &tempfile::TempDir, database_url: Option<String>) -> Result<(Store, &'static str)> {
    let url = database_url.unwrap_or_else(|| Store::sqlite_url(dir.path()));
    let backend = if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    let store =
        Store::open(&url, Sealer::from_base64(&Sealer::generate_key())?).await.context("opening the bench database")?;
    Ok((store, backend))
}

/// An engine on `store` and a fresh test-mode tenant.
async fn bench_engine(store: &Store, config: EngineConfig) -> Result<(Engine, Scope)> {
    let outbound = Outbound::default();
    let engine = Engine::new(store.clone(), Carriers::new(outbound.clone()), outbound, config);
    let tenant = store.create_tenant("bench").await?;
    Ok((engine, Scope::test(tenant.id)))
}

/// A carrier with no API whose numbers Waybill hands out: booking it costs no carrier call.
async fn generic_account(engine: &Engine, scope: &Scope) -> Result<waybill_core::ids::CarrierAccountId> {
    let account: CarrierAccountCreate = serde_json::from_value(json!({
        "carrier": "generic", "mode": "test", "credentials": {},
        "settings": {"name": "Yerel Kargo", "services": [{"code": "std", "name": "Standart"}],
                     "tracking_numbers": {"range": {"prefix": "YK", "first": 1, "last": 99_999_999, "width": 8}},
                     "tracking_url": "https://kargo.example/t/{tracking_number}"}
    }))?;
    let (account, _) = engine.create_carrier_account(scope, account).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(account.id)
}

/// Books `n` shipments to a Turkish customer with an email address and a mobile number.
async fn book_generic(
    engine: &Engine,
    scope: &Scope,
    account: &waybill_core::ids::CarrierAccountId,
    n: usize,
) -> Result<Vec<waybill_core::Shipment>> {
    let mut shipments = Vec::with_capacity(n);
    for i in 0..n {
        let body: waybill_core::api::requests::ShipmentCreate = serde_json::from_value(json!({
            "carrier_account_id": account, "service": "std", "reference": format!("B-{i}"),
            "ship_from": {"name": "Demo Depo", "street1": "Atatürk Cd. 1", "city": "Ankara", "postal_code": "06100", "country": "TR"},
            "ship_to": {"name": "Şükrü Çağlayan", "street1": "Bağdat Caddesi No: 12", "city": "İstanbul",
                        "postal_code": "34710", "country": "TR", "phone": "+90 532 123 45 67",
                        "email": format!("musteri{i}@example.com")},
            "parcels": [{"weight": {"value": 1.2, "unit": "kg"}}],
        }))?;
        let input = engine.check_booking(scope, body).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let id = waybill_core::ids::ShipmentId::generate();
        shipments.push(engine.book(scope, id, input).await.map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    Ok(shipments)
}

async fn notifications(n: usize, database_url: Option<String>) -> Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    if n == 0 {
        bail!("--n must be at least 1");
    }
    let dir = tempfile::tempdir()?;
    let (store, backend) = bench_store(&dir, database_url).await?;
    let sink = waybill_notify::sink::SmtpSink::start(Default::default()).await;
    let texts = Arc::new(AtomicUsize::new(0));
    let counter = texts.clone();
    let twilio = axum::Router::new().route(
        "/2010-04-01/Accounts/{account}/Messages.json",
        axum::routing::post(move || {
            let id = counter.fetch_add(1, Ordering::Relaxed);
            async move {
                (axum::http::StatusCode::CREATED, axum::Json(json!({"sid": format!("SM{id:032}"), "status": "queued"})))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let twilio_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, twilio).await });

    let smtp = waybill_notify::email::SmtpSettings::parse(&sink.url("", "")).map_err(|e| anyhow::anyhow!(e))?;
    let mailer = waybill_notify::email::Mailer::new(&smtp).map_err(|e| anyhow::anyhow!(e))?;
    let config = EngineConfig {
        node: "bench".into(),
        email: waybill_engine::notify::EmailTransport::Smtp(mailer),
        mail_from: Some("kargo@shop.example".into()),
        ..Default::default()
    };
    let (engine, scope) = bench_engine(&store, config).await?;
    let settings = serde_json::from_value(json!({
        "triggers": {"booked": {"email": true, "sms": true}},
        "sender_name": "Kargo Dükkânı",
        "quiet_hours": null,
        "sms_provider": {"provider": "twilio", "account_sid": format!("AC{}", "0".repeat(32)),
                         "auth_token": "bench-token", "from": "+15005550006", "base_url": twilio_url},
    }))?;
    engine.update_notification_settings(&scope, settings).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let account = generic_account(&engine, &scope).await?;
    book_generic(&engine, &scope, &account, n).await?;

    let started = Instant::now();
    tokio::spawn(Worker::new(engine.clone()).run());
    let done = |store: Store| async move {
        Ok::<_, anyhow::Error>(
            queued(&store, "notify_customer").await? + queued(&store, "send_notification").await? == 0,
        )
    };
    while sink.count() < n || texts.load(Ordering::Relaxed) < n || !done(store.clone()).await? {
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {} emails and {} texts of {n} each in 10 minutes", sink.count(), texts.load(Ordering::Relaxed));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let (emails, sms) = (sink.count(), texts.load(Ordering::Relaxed));
    if emails != n || sms != n {
        bail!("{emails} emails and {sms} texts were sent for {n} shipments");
    }
    let messages = emails + sms;
    println!(
        "customer notifications ({backend}): {n} shipments booked, each sending one email over SMTP and one SMS \
         (rendered from the Turkish templates, recorded as sent):"
    );
    println!(
        "total  {messages} messages in {:.2} s = {:.0} messages/s",
        elapsed.as_secs_f64(),
        messages as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

async fn tracking_page(n: usize, concurrency: usize, database_url: Option<String>) -> Result<()> {
    use waybill_web::{Limit, RateLimits};
    const SHIPMENTS: usize = 200;
    if n == 0 || concurrency == 0 {
        bail!("--n and --concurrency must be at least 1");
    }
    let dir = tempfile::tempdir()?;
    let (store, backend) = bench_store(&dir, database_url).await?;
    let (engine, scope) = bench_engine(&store, EngineConfig { node: "bench".into(), ..Default::default() }).await?;
    let branding = serde_json::from_value(json!({
        "slug": "kargo-dukkani", "store_name": "Kargo Dükkânı", "primary_color": "#1d4ed8",
        "support_email": "destek@shop.example"
    }))?;
    engine.update_branding(&scope, branding).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let account = generic_account(&engine, &scope).await?;
    let shipments = book_generic(&engine, &scope, &account, SHIPMENTS).await?;
    let numbers: Vec<String> = shipments.iter().filter_map(|s| s.tracking_number.clone()).collect();
    let now = chrono::Utc::now();
    for (step, (status, city)) in [
        ("picked_up", "Ankara"),
        ("in_transit", "Ankara"),
        ("in_transit", "İstanbul"),
        ("out_for_delivery", "İstanbul"),
    ]
    .into_iter()
    .enumerate()
    {
        let scans = numbers
            .iter()
            .enumerate()
            .map(|(i, number)| ReportedScan {
                at: format!("/events/{i}"),
                tracking_number: number.clone(),
                status: status.into(),
                occurred_at: (now - chrono::TimeDelta::hours(10 - 2 * step as i64)).to_rfc3339(),
                location: Some(city.into()),
                description: None,
                code: None,
                ndr_reason: None,
            })
            .collect::<Vec<_>>();
        for chunk in scans.chunks(waybill_engine::MAX_REPORTED_SCANS) {
            engine.report_scans(&scope, &account, chunk.to_vec()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }

    // One client address sends everything here: lift the per-client limits.
    let unlimited = Limit { burst: u32::MAX, replenish_every: Duration::from_nanos(1) };
    let config = waybill_server::ServerConfig {
        page_limits: RateLimits { lookups: unlimited, proofs: unlimited },
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app =
        waybill_server::router(engine.clone(), config).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency * 2).build()?;
    let languages = ["tr", "en", "fr", "ko"];
    let one = |client: reqwest::Client, url: String, lang: &'static str| async move {
        let t = Instant::now();
        let r = client.get(url).header("accept-language", lang).send().await?;
        if r.status() != 200 {
            bail!("the page answered {}", r.status());
        }
        let page = r.bytes().await?;
        if page.len() < 1_000 {
            bail!("a page of {} bytes", page.len());
        }
        Ok::<_, anyhow::Error>((t.elapsed(), page.len()))
    };
    let url = |i: usize| format!("{base}/t/kargo-dukkani/{}", numbers[i % numbers.len()]);
    for i in 0..concurrency.min(50) {
        one(client.clone(), url(i), languages[i % 4]).await?;
    }
    let permits = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = permits.clone().acquire_owned().await?;
        let request = one(client.clone(), url(i * 7), languages[i % 4]);
        tasks.spawn(async move {
            let r = request.await;
            drop(permit);
            r
        });
    }
    let mut samples = Vec::with_capacity(n);
    let mut largest = 0;
    while let Some(done) = tasks.join_next().await {
        let (took, size) = done??;
        samples.push(took);
        largest = largest.max(size);
    }
    let elapsed = started.elapsed();
    println!(
        "tracking page over HTTP ({backend}, concurrency {concurrency}, {SHIPMENTS} shipments with 5 scans each, \
         EN/FR/KO/TR in turn, largest page {:.1} KB):",
        largest as f64 / 1024.0
    );
    println!("total  {n} in {:.2} s = {:.0} pages/s", elapsed.as_secs_f64(), n as f64 / elapsed.as_secs_f64());
    summary("each", samples);
    Ok(())
}

async fn channel_webhooks(n: usize, concurrency: usize, database_url: Option<String>) -> Result<()> {
    if n == 0 || concurrency == 0 {
        bail!("--n and --concurrency must be at least 1");
    }
    let dir = tempfile::tempdir()?;
    let (store, backend) = bench_store(&dir, database_url).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let config = EngineConfig { node: "bench".into(), public_url: base.clone(), ..Default::default() };
    let (engine, scope) = bench_engine(&store, config).await?;

    // The store answers the connection's "who am I"; its own webhooks stay off (none is set).
    let shop = waybill_shopsim::ShopSim::new(waybill_shopsim::ShopConfig::default());
    let shop_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let shop_url = format!("http://{}", shop_listener.local_addr()?);
    tokio::spawn(shop.clone().serve(shop_listener));
    let c = shop.config();
    let connection: waybill_core::api::requests::ChannelConnectionCreate = serde_json::from_value(json!({
        "channel": "shopify", "name": "Bench store", "mode": "test", "base_url": shop_url,
        "credentials": {"shop": c.shop, "access_token": c.access_token, "client_secret": c.client_secret},
        "settings": {"sync_interval_seconds": 86_400}
    }))?;
    let (connection, _) =
        engine.create_channel_connection(&scope, connection).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let hook = engine.channel_webhook_url(&connection).context("Shopify takes webhooks")?;

    let app = waybill_server::router(engine.clone(), Default::default())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    tokio::spawn(Worker::new(engine.clone()).run());

    // Distinct orders, as Shopify's REST JSON, each with its signature.
    let now = chrono::Utc::now().to_rfc3339();
    let bodies: Vec<(String, String)> = (0..n)
        .map(|i| {
            let body = json!({
                "id": 7_000_000_000u64 + i as u64, "name": format!("#{}", 10_000 + i), "email": format!("c{i}@example.com"),
                "currency": "TRY", "updated_at": now, "cancelled_at": null, "financial_status": "paid",
                "fulfillment_status": null, "customer_locale": "tr", "payment_gateway_names": ["shopify_payments"],
                "total_outstanding": "0.00",
                "shipping_address": {"name": "Ayşe Yılmaz", "address1": "Bağdat Cd. 12", "city": "İstanbul",
                    "zip": "34710", "country_code": "TR", "phone": "+90 532 000 00 00"},
                "line_items": [{"sku": "TSHIRT-M", "name": "Tişört", "quantity": 2, "current_quantity": 2,
                    "price": "249.90", "requires_shipping": true}]
            })
            .to_string();
            let signature = shop.sign(body.as_bytes());
            (body, signature)
        })
        .collect();

    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency * 2).build()?;
    let permits = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (body, signature)) in bodies.into_iter().enumerate() {
        let permit = permits.clone().acquire_owned().await?;
        let request = client
            .post(&hook)
            .header("content-type", "application/json")
            .header("x-shopify-topic", "orders/create")
            .header("x-shopify-hmac-sha256", signature)
            .header("x-shopify-webhook-id", format!("bench-{i}"))
            .body(body);
        tasks.spawn(async move {
            let t = Instant::now();
            let status = request.send().await.map(|r| r.status());
            drop(permit);
            match status {
                Ok(s) if s.is_success() => Ok(t.elapsed()),
                Ok(s) => Err(anyhow::anyhow!("the hook answered {s}")),
                Err(e) => Err(anyhow::anyhow!("{e}")),
            }
        });
    }
    let mut samples = Vec::with_capacity(n);
    while let Some(done) = tasks.join_next().await {
        samples.push(done??);
    }
    let acknowledged = started.elapsed();
    // Every order imported: no import left pending (one cheap read per look).
    let deadline = Instant::now() + Duration::from_secs(600);
    while !store.list_channel_imports(&scope, Some(ImportStatus::Pending), None, 1).await?.items.is_empty() {
        if Instant::now() > deadline {
            bail!("the imports did not settle in 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let imported = started.elapsed();
    let mut count = 0;
    let mut after = None;
    loop {
        let page = store.list_orders(&scope, after.as_ref(), 1000).await?;
        count += page.items.len();
        match page.next_after.and_then(|a| waybill_core::ids::OrderId::parse(&a)) {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    if count != n {
        bail!("{count} orders for {n} webhooks");
    }
    println!("channel webhooks ({backend}, concurrency {concurrency}, Shopify orders/create, signed, one line each):");
    println!(
        "acknowledged  {n} in {:.2} s = {:.0} webhooks/s",
        acknowledged.as_secs_f64(),
        n as f64 / acknowledged.as_secs_f64()
    );
    println!(
        "imported      {n} in {:.2} s = {:.0} orders/s (from the first call until every order exists)",
        imported.as_secs_f64(),
        n as f64 / imported.as_secs_f64()
    );
    summary("ack", samples);
    Ok(())
}

async fn import_orders(rows: usize, database_url: Option<String>) -> Result<()> {
    if rows == 0 {
        bail!("--rows must be at least 1");
    }
    let dir = tempfile::tempdir()?;
    let (store, backend) = bench_store(&dir, database_url).await?;
    let (engine, scope) = bench_engine(&store, EngineConfig { node: "bench".into(), ..Default::default() }).await?;
    let path = dir.path().join("orders.csv");
    {
        let mut out = csv::Writer::from_path(&path)?;
        out.write_record(waybill_channels::orders_csv::COLUMNS.iter().map(|(c, _)| *c))?;
        for i in 0..rows {
            let cod = if i % 3 == 0 { ("cod", "499.80") } else { ("prepaid", "") };
            out.write_record([
                &format!("CSV-{i}"),
                "csv",
                "TRY",
                cod.0,
                cod.1,
                "tr",
                "Ayşe Yılmaz",
                "",
                "+90 532 000 00 00",
                "ayse@example.com",
                "Bağdat Cd. 12",
                "",
                "İstanbul",
                "",
                "34710",
                "TR",
                "TSHIRT-M",
                "Tişört",
                "2",
                "249.90",
            ])?;
        }
        out.flush()?;
    }
    let size = std::fs::metadata(&path)?.len();
    let started = Instant::now();
    let read = waybill_channels::orders_csv::read_orders(std::io::BufReader::new(std::fs::File::open(&path)?))
        .map_err(|p| anyhow::anyhow!("{p:?}"))?;
    let read_took = started.elapsed();
    if !read.problems.is_empty() {
        bail!("the generated file has problems: {:?}", &read.problems[..read.problems.len().min(3)]);
    }
    let report = engine.import_orders(&scope, read.orders, &|_| {}).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let took = started.elapsed();
    if report.imported != rows {
        bail!("{} of {rows} orders imported", report.imported);
    }
    println!(
        "import orders ({backend}, {rows} rows = {rows} orders, {:.1} MB, each order.created event stored):",
        size as f64 / 1e6
    );
    println!("read     {:.2} s", read_took.as_secs_f64());
    println!("total    {rows} in {:.2} s = {:.0} rows/s", took.as_secs_f64(), rows as f64 / took.as_secs_f64());
    Ok(())
}

/// A fake store that takes stock, as the stock benchmark drives it.
enum StockShop {
    WooCommerce(waybill_shopsim::woocommerce::WooSim),
    Shopify(waybill_shopsim::ShopSim),
    Trendyol(waybill_shopsim::trendyol::TrendyolSim),
    Amazon(waybill_shopsim::amazon::AmazonSim),
}

impl StockShop {
    /// Starts the store with `skus` products; returns it and the connection to make to it.
    async fn start(channel: &str, skus: usize) -> Result<(Self, Value)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let settings = json!({"sync_interval_seconds": 86_400});
        let (shop, credentials) = match channel {
            "woocommerce" => {
                let shop = waybill_shopsim::woocommerce::WooSim::new(Default::default());
                tokio::spawn(shop.clone().serve(listener));
                for i in 0..skus {
                    shop.add_product(&sku(i), None);
                }
                let c = shop.config().clone();
                let credentials = json!({"consumer_key": c.consumer_key, "consumer_secret": c.consumer_secret,
                    "webhook_secret": c.webhook_secret});
                (Self::WooCommerce(shop), credentials)
            }
            "shopify" => {
                let shop = waybill_shopsim::ShopSim::new(Default::default());
                tokio::spawn(shop.clone().serve(listener));
                for i in 0..skus {
                    shop.add_inventory_item(&sku(i), true);
                }
                let c = shop.config().clone();
                let credentials =
                    json!({"shop": c.shop, "access_token": c.access_token, "client_secret": c.client_secret});
                (Self::Shopify(shop), credentials)
            }
            "trendyol" => {
                let shop = waybill_shopsim::trendyol::TrendyolSim::new(Default::default());
                tokio::spawn(shop.clone().serve(listener));
                for i in 0..skus {
                    shop.add_product(&barcode(i), &sku(i));
                }
                let c = shop.config().clone();
                let credentials = json!({"seller_id": c.seller_id, "api_key": c.api_key, "api_secret": c.api_secret,
                    "webhook_api_key": "bench-webhook-key"});
                (Self::Trendyol(shop), credentials)
            }
            "amazon" => {
                let shop = waybill_shopsim::amazon::AmazonSim::new(Default::default());
                tokio::spawn(shop.clone().serve(listener));
                let skus: Vec<String> = (0..skus).map(sku).collect();
                shop.add_listings(skus.iter().map(String::as_str));
                let c = shop.config().clone();
                let credentials = json!({"client_id": c.client_id, "client_secret": c.client_secret,
                    "refresh_token": c.refresh_token, "seller_id": c.seller_id, "marketplace_id": c.marketplace_id,
                    "region": "eu"});
                (Self::Amazon(shop), credentials)
            }
            other => bail!("--channel `{other}`: choose woocommerce, shopify, trendyol or amazon"),
        };
        let connection = json!({"channel": channel, "name": "Bench", "mode": "test", "base_url": url,
            "credentials": credentials, "settings": settings});
        Ok((shop, connection))
    }

    fn api_calls(&self) -> u64 {
        match self {
            Self::WooCommerce(shop) => shop.api_calls(),
            Self::Shopify(shop) => shop.calls().len() as u64,
            Self::Trendyol(shop) => shop.api_calls(),
            Self::Amazon(shop) => shop.api_calls(),
        }
    }

    /// The store's number for the `i`th SKU.
    fn stock(&self, i: usize) -> Option<i64> {
        match self {
            Self::WooCommerce(shop) => shop.stock(&sku(i)),
            Self::Shopify(shop) => shop.stock(&sku(i)).first().copied(),
            Self::Trendyol(shop) => shop.stock(&barcode(i)),
            Self::Amazon(shop) => shop.stock(&sku(i)),
        }
    }
}

/// The Trendyol barcode of the `i`th SKU (Trendyol keys stock by barcode).
fn barcode(i: usize) -> String {
    format!("8680{i:09}")
}

fn sku(i: usize) -> String {
    format!("SKU-{i:06}")
}

async fn channel_stock(channel: String, skus: usize, database_url: Option<String>) -> Result<()> {
    if skus == 0 {
        bail!("--skus must be at least 1");
    }
    let dir = tempfile::tempdir()?;
    let (store, backend) = bench_store(&dir, database_url).await?;
    let (engine, scope) = bench_engine(&store, EngineConfig { node: "bench".into(), ..Default::default() }).await?;
    let (shop, connection) = StockShop::start(&channel, skus).await?;
    let depot = serde_json::from_value(json!({"name": "Depo", "default": true, "address": {"name": "Depo",
        "street1": "Atatürk Cd. 1", "city": "Ankara", "postal_code": "06100", "country": "TR"}}))?;
    engine.create_location(&scope, depot).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let (connection, _) = engine
        .create_channel_connection(&scope, serde_json::from_value(connection)?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tokio::spawn(Worker::new(engine.clone()).run());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = shop.api_calls();
    let started = Instant::now();
    for i in 0..skus {
        let count = serde_json::from_value(json!({"sku": sku(i), "on_hand": 1 + i % 50}))?;
        engine.set_stock(&scope, count).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let counted = started.elapsed();
    let shows = |i: usize| shop.stock(i) == Some((1 + i % 50) as i64);
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if store.pending_channel_stock(&scope, &connection.id, 1).await?.is_empty() && (0..skus).all(shows) {
            break;
        }
        if Instant::now() > deadline {
            let missing = (0..skus).filter(|i| !shows(*i)).count();
            bail!("{missing} SKUs did not show their number in the store within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    let calls = shop.api_calls() - before;
    println!("stock to {channel} ({backend}, {skus} SKUs counted at once, found by SKU and set in batches):");
    println!("counted  {skus} in {:.2} s", counted.as_secs_f64());
    println!(
        "shown    every SKU in {:.2} s, in {calls} API calls ({:.1} SKUs per call)",
        took.as_secs_f64(),
        skus as f64 / calls.max(1) as f64
    );
    Ok(())
}
