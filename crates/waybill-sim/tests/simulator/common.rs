//! Helpers shared by the simulator tests: a simulator served on an ephemeral
//! port, JSON requests, and sample bodies.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use waybill_sim::{SimConfig, Simulator};

/// A simulator served on `127.0.0.1:<ephemeral>`; stops when dropped.
pub struct Running {
    pub base: String,
    pub sim: Simulator,
    task: JoinHandle<std::io::Result<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start(config: SimConfig) -> Running {
    let sim = Simulator::new(config).await.expect("simulator starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(sim.clone().serve(listener));
    Running { base, sim, task }
}

/// A simulator with `day_seconds` and nothing else configured.
pub async fn start_fast(day_seconds: f64) -> Running {
    start(SimConfig { day_seconds, ..SimConfig::default() }).await
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client")
}

/// Sends a request with `X-Api-Key: key` (none when `key` is empty) and
/// returns the status and JSON body.
pub async fn call(method: reqwest::Method, url: &str, key: &str, body: Option<&Value>) -> (StatusCode, Value) {
    let mut request = client().request(method, url);
    if !key.is_empty() {
        request = request.header("X-Api-Key", key);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request is answered");
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

pub async fn get(url: &str, key: &str) -> (StatusCode, Value) {
    call(reqwest::Method::GET, url, key, None).await
}

pub async fn post(url: &str, key: &str, body: &Value) -> (StatusCode, Value) {
    call(reqwest::Method::POST, url, key, Some(body)).await
}

pub fn address(name: &str, city: &str, postal_code: &str, country: &str) -> Value {
    json!({
        "name": name,
        "phone": "+905551112233",
        "street1": "Ataturk Cd. 1",
        "city": city,
        "postal_code": postal_code,
        "country": country,
    })
}

/// Istanbul → Ankara, one 1.2 kg parcel.
pub fn booking(reference: &str, scenario: &str) -> Value {
    json!({
        "reference": reference,
        "service": "standard",
        "shipper": address("Acme Store", "Istanbul", "34710", "TR"),
        "consignee": address("Ayse Yilmaz", "Ankara", "06530", "TR"),
        "parcels": [{"weight_g": 1200, "length_mm": 300, "width_mm": 200, "height_mm": 100}],
        "cod": null,
        "scenario": scenario,
    })
}

/// Books `booking(reference, scenario)` and returns the 201 body.
pub async fn book(base: &str, key: &str, reference: &str, scenario: &str) -> Value {
    let (status, body) = post(&format!("{base}/api/v1/shipments"), key, &booking(reference, scenario)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// Polls tracking until the latest code is `code`, and returns the tracking
/// body then.
pub async fn track_until(base: &str, key: &str, awb: &str, code: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = get(&format!("{base}/api/v1/tracking/{awb}"), key).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["status_code"] == code {
            return body;
        }
        assert!(Instant::now() < deadline, "never reached {code}: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `code` of each event of a tracking body.
pub fn codes(tracking: &Value) -> Vec<String> {
    tracking["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["code"].as_str().expect("code").to_owned())
        .collect()
}

/// A unique name for a temporary file or a reference.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new())
}
