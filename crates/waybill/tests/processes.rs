//! The `waybill` binary as an operator runs it: CLI commands, a `serve` killed with SIGKILL
//! mid-journey and restarted (queued jobs survive), and two `serve` processes sharing one
//! database. Uses PostgreSQL when `WAYBILL_TEST_DATABASE_URL` is set, else SQLite.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_waybill");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Extra arguments selecting the database: a fresh PostgreSQL database, or none (SQLite in the data dir).
async fn database_args() -> Vec<String> {
    match std::env::var("WAYBILL_TEST_DATABASE_URL") {
        Ok(server) if !server.is_empty() => {
            use sqlx::Connection;
            let name = format!("waybill_proc_{}", std::process::id() as u64 * 1000 + u64::from(free_port()));
            let mut conn = sqlx::PgConnection::connect(&server).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
            let base = server.rsplit_once('/').unwrap().0;
            vec!["--database-url".into(), format!("{base}/{name}")]
        }
        _ => vec![],
    }
}

struct Node {
    child: Child,
    api: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(data_dir: &Path, db: &[String], demo_sim_port: Option<u16>, push_url: Option<&str>) -> Node {
    let port = free_port();
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--poll-interval", "0.3"])
        .arg("--data-dir")
        .arg(data_dir)
        .args(db)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(sim) = demo_sim_port {
        cmd.args(["--demo", "--day-seconds", "2", "--sim-listen", &format!("127.0.0.1:{sim}")]);
    }
    if let Some(url) = push_url {
        cmd.args(["--public-url", url]);
    }
    let node = Node { child: cmd.spawn().unwrap(), api: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reqwest::get(format!("{}/readyz", node.api)).await.is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "waybill serve did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    node
}

async fn book(http: &reqwest::Client, api: &str, key: &str, account: &str, scenario: &str) -> Value {
    let body = json!({
        "carrier_account_id": account, "service": "express",
        "ship_from": {"name": "Depo", "street1": "Atatürk Cd. 1", "city": "Ankara", "postal_code": "06100", "country": "TR"},
        "ship_to": {"name": "Ayşe Yılmaz", "street1": "İnönü Sk. 5", "city": "İzmir", "postal_code": "35210", "country": "TR"},
        "parcels": [{"weight": {"value": 800, "unit": "g"}}],
        "options": {"simulate": scenario},
    });
    let r = http.post(format!("{api}/v1/shipments")).bearer_auth(key).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

async fn wait_delivered(http: &reqwest::Client, api: &str, key: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s: Value =
            http.get(format!("{api}/v1/shipments/{id}")).bearer_auth(key).send().await.unwrap().json().await.unwrap();
        if s["status"] == "delivered" {
            return s;
        }
        assert!(Instant::now() < deadline, "never delivered: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn demo_key(data_dir: &Path) -> String {
    std::fs::read_to_string(data_dir.join("demo-api-key.txt")).unwrap().trim().to_owned()
}

async fn sandbox_account(http: &reqwest::Client, api: &str, key: &str) -> String {
    let list: Value =
        http.get(format!("{api}/v1/carrier-accounts")).bearer_auth(key).send().await.unwrap().json().await.unwrap();
    list["data"][0]["id"].as_str().unwrap().to_owned()
}

#[test]
fn tenant_and_apikey_commands_print_what_scripts_need() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(BIN).args(args).arg("--data-dir").arg(dir.path()).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let tenant = run(&["tenant", "create", "Acme Kargo"]).trim().to_owned();
    assert!(tenant.starts_with("ten_") && !tenant.contains('\n'), "{tenant}");
    let key = run(&["apikey", "create", "--tenant", &tenant, "--mode", "live"]);
    assert!(key.starts_with("wb_live_") && key.trim().len() == 40 && key.lines().count() == 1, "only the key: {key:?}");
    let bad = Command::new(BIN)
        .args(["apikey", "create", "--tenant", "ten_nope", "--mode", "test"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a tenant id"));
    let carriers = Command::new(BIN).arg("carriers").output().unwrap();
    assert!(String::from_utf8(carriers.stdout).unwrap().contains("| sandbox |"));
}

#[tokio::test]
async fn jobs_survive_a_crash_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_args().await;
    let sim_port = free_port();
    let http = reqwest::Client::new();
    let node = serve(dir.path(), &db, Some(sim_port), None).await;
    let key = demo_key(dir.path());
    let account = sandbox_account(&http, &node.api, &key).await;
    let shipment = book(&http, &node.api, &key, &account, "ndr_then_delivered").await;
    let id = shipment["id"].as_str().unwrap().to_owned();
    drop(node); // SIGKILL: no graceful shutdown

    let node = serve(dir.path(), &db, Some(sim_port), None).await;
    assert_eq!(demo_key(dir.path()), key, "the demo keeps its key across restarts");
    let done = wait_delivered(&http, &node.api, &key, &id).await;
    let codes: Vec<_> =
        done["events"].as_array().unwrap().iter().map(|e| e["carrier_code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["BK", "PU", "DP", "AR", "OD", "UD", "OD", "DL"], "every scan once, none lost");
    let orders: Value =
        http.get(format!("{}/v1/orders", node.api)).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
    assert_eq!(orders["data"].as_array().unwrap().len(), 2, "demo data is created once");
}

#[tokio::test]
async fn two_nodes_share_one_database_and_queue() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_args().await;
    let http = reqwest::Client::new();
    let first = serve(dir.path(), &db, Some(free_port()), None).await;
    // The second node has no simulator of its own; carriers push to the first.
    let second = serve(dir.path(), &db, None, Some(&first.api)).await;
    let key = demo_key(dir.path());
    let account = sandbox_account(&http, &second.api, &key).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let api = if i % 2 == 0 { &first.api } else { &second.api };
        ids.push(book(&http, api, &key, &account, "delivered").await["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        let done = wait_delivered(&http, &second.api, &key, id).await;
        assert_eq!(done["events"].as_array().unwrap().len(), 6, "each scan recorded once across both nodes");
    }
    let metrics = http.get(format!("{}/metrics", first.api)).send().await.unwrap().text().await.unwrap();
    assert!(!metrics.contains("kind=\"subscribe\""), "no subscribe job left behind: {metrics}");
}
