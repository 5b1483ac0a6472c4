//! `waybill bench`: the figures the README quotes, measured here rather than asserted in tests.
//!
//! `bookings` runs the real thing on this machine: the API server, the job workers and the
//! carrier simulator on loopback ports, with a fresh SQLite database (or `--database-url`),
//! and books shipments over HTTP. `labels` times the renderer alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::json;
use tokio::sync::Semaphore;
use waybill_carriers::Carriers;
use waybill_core::api::requests::CarrierAccountCreate;
use waybill_core::{Mode, Scope};
use waybill_engine::{Engine, EngineConfig, Worker};
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
    let url = database_url.unwrap_or_else(|| Store::sqlite_url(dir.path()));
    let store =
        Store::open(&url, Sealer::from_base64(&Sealer::generate_key())?).await.context("opening the bench database")?;
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

    let outbound = Outbound::default();
    let engine = Engine::new(
        store.clone(),
        Carriers::new(outbound.clone()),
        outbound,
        EngineConfig { node: "bench".into(), ..Default::default() },
    );
    let tenant = store.create_tenant("bench").await?;
    let scope = Scope::test(tenant.id);
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
    while received.load(Ordering::Relaxed) < n {
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {} of {n} deliveries arrived in 10 minutes", received.load(Ordering::Relaxed));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    println!(
        "webhook deliveries to a local receiver ({}, one endpoint, each signed, logged and settled):",
        if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" }
    );
    println!("total  {n} in {:.2} s = {:.0} deliveries/s", elapsed.as_secs_f64(), n as f64 / elapsed.as_secs_f64());
    Ok(())
}
