//! `waybill`: the one binary. It parses arguments and wires the library crates together;
//! the work itself lives in those crates.

mod bench;
mod demo;
mod transfer;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use waybill_carriers::Carriers;
use waybill_channels::Channels;
use waybill_core::Mode;
use waybill_core::ids::TenantId;
use waybill_engine::notify::EmailTransport;
use waybill_engine::{BaseUrlPolicy, Engine, EngineConfig, Worker};
use waybill_notify::email::{Mailer, SmtpSettings};
use waybill_outbound::Outbound;
use waybill_server::ServerConfig;
use waybill_store::{PoolSettings, Sealer, Store};

#[derive(Parser)]
#[command(name = "waybill", version, about = "Self-hostable shipping integration platform")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives: a data directory (SQLite file and master key) and, optionally, PostgreSQL.
#[derive(clap::Args, Clone)]
struct DataArgs {
    /// Directory for the embedded SQLite database and the master key file.
    #[arg(long, env = "WAYBILL_DATA_DIR", default_value = "./waybill-data")]
    data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite database.
    #[arg(long, env = "WAYBILL_DATABASE_URL")]
    database_url: Option<String>,
    /// PostgreSQL connections this node may hold at most (nodes × this must fit the server's
    /// `max_connections`, with room for everything else that connects).
    #[arg(long, env = "WAYBILL_DB_POOL_SIZE", default_value_t = 16)]
    db_pool_size: u32,
    /// Seconds a request waits for a free database connection before it is answered 503.
    #[arg(long, env = "WAYBILL_DB_ACQUIRE_TIMEOUT", default_value_t = 5.0)]
    db_acquire_timeout: f64,
}

// Parsed once at start-up: the size of the `serve` variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API and this node's job workers.
    Serve {
        #[arg(long, env = "WAYBILL_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        data: DataArgs,
        /// Base URL carriers push to; defaults to `http://<listen>`.
        #[arg(long, env = "WAYBILL_PUBLIC_URL")]
        public_url: Option<String>,
        /// Seconds between tracking polls of an in-transit shipment (other stages poll less often).
        #[arg(long, env = "WAYBILL_POLL_INTERVAL")]
        poll_interval: Option<f64>,
        /// This node's name: unique among the nodes sharing a database, the same across its
        /// restarts (defaults to `<hostname>:<listen port>`).
        #[arg(long, env = "WAYBILL_NODE_NAME")]
        node_name: Option<String>,
        /// Seconds a booking may stay pending before any node reconciles it, even if the node
        /// making it still looks alive (bookings of a dead or restarted node are reconciled at once).
        #[arg(long, env = "WAYBILL_BOOKING_WATCHDOG", default_value_t = 120.0)]
        booking_watchdog: f64,
        /// Let live carrier accounts set `base_url` to any public host.
        #[arg(long, env = "WAYBILL_ALLOW_BASE_URL_OVERRIDE")]
        allow_base_url_override: bool,
        /// Hosts live carrier accounts may set `base_url` to (comma-separated), e.g. a carrier's
        /// regional host. Private, loopback and metadata addresses are refused whatever this says.
        #[arg(long, env = "WAYBILL_BASE_URL_HOSTS", value_delimiter = ',')]
        base_url_hosts: Vec<String>,
        /// Let live webhook endpoints be plain http or private addresses (receivers inside your
        /// own network). Without it, live deliveries go only to public https addresses.
        #[arg(long, env = "WAYBILL_ALLOW_PRIVATE_WEBHOOKS")]
        allow_private_webhooks: bool,
        /// Where customer email is sent: `smtp://user:pass@host:587` (STARTTLS), `smtps://…:465`
        /// (TLS) or `smtp://host:25?tls=none`. Without it, email is not sent (with `--demo`, it
        /// is printed to the log).
        #[arg(long, env = "WAYBILL_SMTP_URL")]
        smtp_url: Option<String>,
        /// The `From` address of tenants that set none in their notification settings.
        #[arg(long, env = "WAYBILL_MAIL_FROM")]
        mail_from: Option<String>,
        /// Serve `/metrics` on the API's address to `Authorization: Bearer <token>`.
        #[arg(long, env = "WAYBILL_METRICS_TOKEN")]
        metrics_token: Option<String>,
        /// Serve `/metrics` without a key on this separate address (keep it private).
        #[arg(long, env = "WAYBILL_METRICS_LISTEN")]
        metrics_listen: Option<SocketAddr>,
        /// Also run the carrier simulator and a demo tenant with a sandbox account and sample orders.
        #[arg(long)]
        demo: bool,
        /// Where the demo's simulator listens.
        #[arg(long, default_value = "127.0.0.1:8090")]
        sim_listen: SocketAddr,
        /// Where the demo's fake Shopify store listens.
        #[arg(long, default_value = "127.0.0.1:8092")]
        shop_listen: SocketAddr,
        /// Real seconds per simulated day for the demo's simulator.
        #[arg(long, default_value_t = 60.0)]
        day_seconds: f64,
    },
    /// Run the carrier simulator alone.
    Sim {
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        /// Real seconds per simulated day.
        #[arg(long, default_value_t = 60.0)]
        day_seconds: f64,
        /// Keep shipments and subscriptions across restarts in this JSON-lines file.
        #[arg(long)]
        state_file: Option<PathBuf>,
        /// Milliseconds added to every answer.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Share of requests answered 503 before doing anything (0–1).
        #[arg(long, default_value_t = 0.0)]
        error_rate: f64,
        /// Share of requests that do their work and then hang (0–1).
        #[arg(long, default_value_t = 0.0)]
        timeout_rate: f64,
    },
    /// Bring the database schema up to date and exit.
    Migrate {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage API keys.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// Print every carrier with its capabilities, services and credential fields.
    Carriers,
    /// Print every sales channel with what it supports and its credential fields.
    Channels,
    /// Import from a CSV file (the columns are in the README).
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Export a tenant's orders or shipments as CSV, streamed (to stdout unless `--output`).
    Export {
        /// `orders` (one row per line item, as `import orders` reads them) or `shipments`.
        #[arg(value_parser = ["orders", "shipments"])]
        what: String,
        #[arg(long)]
        tenant: String,
        #[arg(long, value_parser = ["test", "live"])]
        mode: String,
        /// Only those made since this date (`2026-12-01`) or time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Measure throughput and latency.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant and print its id.
    Create {
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Orders: one row per line item; each order all or nothing; every problem told by row and column.
    Orders {
        file: PathBuf,
        #[arg(long)]
        tenant: String,
        #[arg(long, value_parser = ["test", "live"])]
        mode: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Stock counts: `location_id` (the default location when empty), `sku`, `on_hand`; each row set on its own.
    Inventory {
        file: PathBuf,
        #[arg(long)]
        tenant: String,
        #[arg(long, value_parser = ["test", "live"])]
        mode: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum ApikeyCommand {
    /// Create an API key and print only the key (it is stored hashed and cannot be shown again).
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_parser = ["test", "live"])]
        mode: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// The master key: `WAYBILL_MASTER_KEY`, else `master.key` in the data directory (created on first use).
fn sealer(data_dir: &Path) -> Result<Sealer> {
    if let Ok(key) = std::env::var("WAYBILL_MASTER_KEY") {
        return Sealer::from_base64(&key).context("WAYBILL_MASTER_KEY");
    }
    let path = data_dir.join("master.key");
    if !path.exists() {
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        write_private(&path, &Sealer::generate_key())?;
    }
    let key = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Sealer::from_base64(&key).with_context(|| format!("{} is not a valid master key", path.display()))
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

async fn open_store(data: &DataArgs) -> Result<Store> {
    std::fs::create_dir_all(&data.data_dir).with_context(|| format!("creating {}", data.data_dir.display()))?;
    let url = data.database_url.clone().unwrap_or_else(|| Store::sqlite_url(&data.data_dir));
    if !(data.db_acquire_timeout.is_finite() && data.db_acquire_timeout > 0.0) || data.db_pool_size == 0 {
        bail!("--db-pool-size must be at least 1 and --db-acquire-timeout a positive number of seconds");
    }
    let pool = PoolSettings {
        max_connections: data.db_pool_size,
        acquire_timeout: Duration::from_secs_f64(data.db_acquire_timeout),
    };
    Store::open_with(&url, sealer(&data.data_dir)?, pool)
        .await
        .with_context(|| format!("opening the database at {}", redact(&url)))
}

fn seconds(value: f64, flag: &str) -> Result<Duration> {
    if !(value.is_finite() && value > 0.0) {
        bail!("{flag} must be a positive number of seconds");
    }
    Ok(Duration::from_secs_f64(value))
}

/// The booking watchdog: at least a minute, so a booking whose carrier call is still in flight
/// (up to the 30 s carrier timeout) is never settled as "not booked" and booked again.
fn watchdog(value: f64) -> Result<Duration> {
    let watchdog = seconds(value, "--booking-watchdog")?;
    if watchdog < Duration::from_secs(60) {
        bail!(
            "--booking-watchdog must be at least 60 seconds: a booking's carrier call may take up to 30 s, and \
             settling one still in flight could book it twice"
        );
    }
    Ok(watchdog)
}

/// A database URL with its password hidden, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WAYBILL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            listen,
            data,
            public_url,
            poll_interval,
            node_name,
            booking_watchdog,
            allow_base_url_override,
            base_url_hosts,
            allow_private_webhooks,
            smtp_url,
            mail_from,
            metrics_token,
            metrics_listen,
            demo,
            sim_listen,
            shop_listen,
            day_seconds,
        } => {
            init_tracing("info,sqlx=warn,tower_http=warn");
            let store = open_store(&data).await?;
            let listener =
                tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
            let poll = seconds(poll_interval.unwrap_or(if demo { 10.0 } else { 900.0 }), "--poll-interval")?;
            let config = EngineConfig {
                public_url: public_url.unwrap_or_else(|| format!("http://{listen}")),
                poll_interval: poll,
                booking_watchdog: watchdog(booking_watchdog)?,
                node: node_name.unwrap_or_else(|| format!("{}:{}", hostname(), listen.port())),
                base_urls: BaseUrlPolicy {
                    allow_any: allow_base_url_override,
                    hosts: base_url_hosts.into_iter().map(|h| h.trim().to_owned()).filter(|h| !h.is_empty()).collect(),
                },
                allow_private_webhooks,
                email: email_transport(smtp_url.as_deref(), demo)?,
                mail_from: mail_from.or_else(|| demo.then(|| "shop@demo.waybill.local".to_owned())),
                ..EngineConfig::default()
            };
            let node = config.node.clone();
            let outbound = Outbound::default();
            let engine = Engine::new(store.clone(), Carriers::new(outbound.clone()), outbound, config);
            if demo {
                let places = demo::Places { data_dir: &data.data_dir, sim: sim_listen, shop: shop_listen, api: listen };
                demo::start(&engine, places, day_seconds).await?;
            }
            if let Some(address) = metrics_listen {
                let metrics = tokio::net::TcpListener::bind(address)
                    .await
                    .with_context(|| format!("metrics cannot listen on {address}"))?;
                tokio::spawn(waybill_server::serve_metrics(metrics, engine.clone()));
            }
            // Alive before the first request: a booking this node takes names it, and other
            // nodes must not mistake it for one left by a dead node.
            store.heartbeat(&node, engine.started_at()).await.context("recording this node as alive")?;
            tokio::spawn(Worker::new(engine.clone()).run());
            tracing::info!(%listen, %node, backend = ?store.backend(), "waybill is serving");
            let server = ServerConfig { metrics_token, ..Default::default() };
            waybill_server::serve_until(listener, engine, server, shutdown_signal()).await?;
            if let Err(e) = store.forget_node(&node, 0).await {
                tracing::warn!(error = %e, "cannot record that this node stopped");
            }
            tracing::info!("stopped; jobs in flight run again after their lease expires");
        }
        Command::Sim { listen, day_seconds, state_file, latency_ms, error_rate, timeout_rate } => {
            init_tracing("info");
            let faults = waybill_sim::Faults { latency_ms, error_rate, timeout_rate, hang_ms: 0 };
            let sim = waybill_sim::Simulator::new(waybill_sim::SimConfig { day_seconds, state_file, faults }).await?;
            let listener =
                tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
            tracing::info!(%listen, day_seconds, "carrier simulator is serving");
            sim.serve(listener).await?;
        }
        Command::Migrate { data } => {
            init_tracing("warn");
            open_store(&data).await?;
            eprintln!("the database schema is up to date");
        }
        Command::Tenant { command: TenantCommand::Create { name, data } } => {
            init_tracing("warn");
            if name.trim().is_empty() {
                bail!("the tenant name must not be empty");
            }
            let tenant = open_store(&data).await?.create_tenant(name.trim()).await?;
            println!("{}", tenant.id);
        }
        Command::Apikey { command: ApikeyCommand::Create { tenant, mode, data } } => {
            init_tracing("warn");
            let tenant_id =
                TenantId::parse(&tenant).with_context(|| format!("`{tenant}` is not a tenant id (`ten_…`)"))?;
            let mode = Mode::parse(&mode).expect("clap checked the mode");
            let store = open_store(&data).await?;
            let key = store.create_api_key(&tenant_id, mode).await.map_err(|e| match e {
                waybill_store::StoreError::NotFound => anyhow::anyhow!("no tenant {tenant_id}"),
                other => other.into(),
            })?;
            println!("{key}");
        }
        Command::Carriers => print!("{}", carriers_table(&Carriers::new(Outbound::default()))),
        Command::Channels => print!("{}", channels_table(&Channels::new(Outbound::default()))),
        Command::Import { command: ImportCommand::Orders { file, tenant, mode, data } } => {
            init_tracing("warn");
            let (engine, scope) = offline_engine(&data, &tenant, &mode).await?;
            transfer::import_orders(&engine, &scope, &file).await?;
        }
        Command::Import { command: ImportCommand::Inventory { file, tenant, mode, data } } => {
            init_tracing("warn");
            let (engine, scope) = offline_engine(&data, &tenant, &mode).await?;
            transfer::import_inventory(&engine, &scope, &file).await?;
        }
        Command::Export { what, tenant, mode, since, output, data } => {
            init_tracing("warn");
            let since = since.as_deref().map(transfer::parse_since).transpose()?;
            let (engine, scope) = offline_engine(&data, &tenant, &mode).await?;
            let written = match output {
                Some(path) => {
                    let file = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
                    transfer::export(&engine, &scope, &what, since, std::io::BufWriter::new(file)).await?
                }
                None => transfer::export(&engine, &scope, &what, since, std::io::stdout().lock()).await?,
            };
            eprintln!("{written} {what} exported");
        }
        Command::Bench { command } => {
            init_tracing("warn");
            bench::run(command).await?;
        }
    }
    Ok(())
}

/// Ctrl-C or SIGTERM (what service managers send).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "node".into())
}

/// The carriers table, in Markdown so the README can carry it as printed.
fn carriers_table(carriers: &Carriers) -> String {
    let yes = |b: bool| if b { "yes" } else { "—" };
    let mut out = String::from(
        "| carrier | name | services | rates | cancel | update | RTO request | track | push | reconcile | COD | address check | pickup | pickup cancel | manifest close | serviceability | returns | NDR actions | credentials |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in carriers.iter() {
        let i = c.info();
        let services: Vec<_> = i.services.iter().map(|s| s.code).collect();
        let creds: Vec<_> = i
            .credentials
            .fields
            .iter()
            .map(|f| if f.required { f.name.to_owned() } else { format!("{}?", f.name) })
            .collect();
        // A generic carrier's services are set per account, and it takes no credentials.
        let services = if services.is_empty() { "set per account".to_owned() } else { services.join(", ") };
        let creds = if creds.is_empty() { "none".to_owned() } else { creds.join(", ") };
        let cap = &i.capabilities;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            i.slug,
            i.name,
            services,
            yes(cap.rates),
            yes(cap.cancel),
            yes(cap.update),
            yes(cap.rto_request),
            yes(cap.track),
            yes(cap.push),
            yes(cap.find_booking),
            yes(cap.cash_on_delivery),
            yes(cap.address_validation),
            yes(cap.pickup),
            yes(cap.pickup_cancel),
            yes(cap.manifest),
            yes(cap.serviceability),
            yes(cap.returns),
            yes(cap.ndr),
            creds
        ));
    }
    out
}

/// An engine on the data directory's database for a command that runs no workers (their jobs
/// are run by the serving nodes), and the scope of `--tenant` and `--mode`.
async fn offline_engine(data: &DataArgs, tenant: &str, mode: &str) -> Result<(Engine, waybill_core::Scope)> {
    let tenant_id = TenantId::parse(tenant).with_context(|| format!("`{tenant}` is not a tenant id (`ten_…`)"))?;
    let mode = Mode::parse(mode).expect("clap checked the mode");
    let store = open_store(data).await?;
    store.tenant(&tenant_id).await.map_err(|e| match e {
        waybill_store::StoreError::NotFound => anyhow::anyhow!("no tenant {tenant_id}"),
        other => other.into(),
    })?;
    let outbound = Outbound::default();
    let engine = Engine::new(store, Carriers::new(outbound.clone()), outbound, EngineConfig::default());
    Ok((engine, waybill_core::Scope::new(tenant_id, mode)))
}

/// The channels table, in Markdown so the README can carry it as printed.
fn channels_table(channels: &Channels) -> String {
    let yes = |b: bool| if b { "yes" } else { "—" };
    let mut out = String::from(
        "| channel | name | API | order webhooks | order sync | order queue | fulfilment | progress | inventory | ready when | credentials |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in channels.iter() {
        let i = c.info();
        let s = &i.supports;
        let creds: Vec<_> = i
            .credentials
            .fields
            .iter()
            .map(|f| if f.required { f.name.to_owned() } else { format!("{}?", f.name) })
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            i.slug,
            i.name,
            i.api,
            yes(s.order_webhooks),
            yes(s.order_sync),
            yes(s.order_queue),
            yes(s.fulfilment),
            yes(s.progress),
            yes(s.inventory),
            i.default_ready_statuses.join(", "),
            creds.join(", ")
        ));
    }
    out
}

/// How customer email leaves: the SMTP server of `--smtp-url`, else printed (demo) or not sent.
fn email_transport(smtp_url: Option<&str>, demo: bool) -> Result<EmailTransport> {
    match smtp_url {
        Some(url) => {
            let settings = SmtpSettings::parse(url).map_err(|e| anyhow::anyhow!("--smtp-url: {e}"))?;
            Ok(EmailTransport::Smtp(Mailer::new(&settings).map_err(|e| anyhow::anyhow!("--smtp-url: {e}"))?))
        }
        None if demo => Ok(EmailTransport::Print),
        None => Ok(EmailTransport::None),
    }
}
