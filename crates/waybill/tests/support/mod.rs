//! Running `waybill serve` processes from tests: free ports, the database they share (a fresh
//! PostgreSQL database when `WAYBILL_TEST_DATABASE_URL` is set, else SQLite in the data dir),
//! and a node that is killed with SIGKILL when dropped.
#![allow(dead_code)] // each test file uses its own part of this

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_waybill");

/// A port nothing listens on now, and one this test process has not handed out before: a port
/// handed out but not yet bound (a node started later) must not be handed out again.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if GIVEN.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
            return port;
        }
    }
}

/// Extra arguments selecting the database: a fresh PostgreSQL database, or none (SQLite in the data dir).
pub async fn database_args() -> Vec<String> {
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

pub struct Node {
    pub child: Child,
    pub api: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn serve_on(
    port: u16,
    data_dir: &Path,
    db: &[String],
    demo_sim_port: Option<u16>,
    push_url: Option<&str>,
    extra: &[String],
) -> Node {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--poll-interval", "0.3"])
        .arg("--data-dir")
        .arg(data_dir)
        .args(db)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(sim) = demo_sim_port {
        cmd.args(["--demo", "--day-seconds", "2", "--sim-listen", &format!("127.0.0.1:{sim}")]);
        cmd.args(["--shop-listen", &format!("127.0.0.1:{}", free_port())]);
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

pub fn demo_key(data_dir: &Path) -> String {
    std::fs::read_to_string(data_dir.join("demo-api-key.txt")).unwrap().trim().to_owned()
}

pub async fn sandbox_account(http: &reqwest::Client, api: &str, key: &str) -> String {
    let list: Value =
        http.get(format!("{api}/v1/carrier-accounts")).bearer_auth(key).send().await.unwrap().json().await.unwrap();
    list["data"][0]["id"].as_str().unwrap().to_owned()
}

/// Runs a `waybill` command on this data directory and database; it must succeed: its output,
/// trimmed.
pub fn cli(data_dir: &Path, db: &[String], args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).arg("--data-dir").arg(data_dir).args(db).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
