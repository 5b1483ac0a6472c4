//! Signed webhook pushes: order, exactly-once delivery and retries.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{book, booking, post, start_fast, unique};

/// One successful delivery as the receiver saw it.
struct Received {
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
}

/// A webhook endpoint that refuses its first `fail_first` requests.
#[derive(Clone)]
struct Receiver {
    fail_first: usize,
    attempts: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<Received>>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if receiver.attempts.fetch_add(1, Ordering::SeqCst) < receiver.fail_first {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    receiver.received.lock().expect("lock").push(Received { headers, body, at: Instant::now() });
    StatusCode::NO_CONTENT
}

/// Serves a receiver on an ephemeral port; returns its URL.
async fn start_receiver(fail_first: usize) -> (String, Receiver) {
    let receiver = Receiver { fail_first, attempts: Arc::default(), received: Arc::default() };
    let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, receiver)
}

impl Receiver {
    /// Waits until `count` deliveries arrived, then a little longer so that
    /// duplicates would show.
    async fn wait_for(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.received.lock().expect("lock").len() < count {
            assert!(Instant::now() < deadline, "only some webhooks arrived");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
    }

    /// Checks every delivery's signature and headers; returns the bodies.
    fn verified_bodies(&self, secret: &str) -> Vec<Value> {
        let received = self.received.lock().expect("lock");
        received
            .iter()
            .map(|r| {
                let header = |name: &str| {
                    r.headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_else(|| panic!("{name} header"))
                        .to_owned()
                };
                assert_eq!(header("content-type"), "application/json");
                let timestamp = header("x-sim-timestamp");
                let sent_at: i64 = timestamp.parse().expect("unix seconds");
                assert!((chrono::Utc::now().timestamp() - sent_at).abs() < 60);
                let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
                mac.update(timestamp.as_bytes());
                mac.update(b".");
                mac.update(&r.body);
                let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
                assert_eq!(header("x-sim-signature"), expected, "valid signature");
                let body: Value = serde_json::from_slice(&r.body).expect("JSON body");
                assert_eq!(header("x-sim-event-id"), body["event"]["event_id"]);
                body
            })
            .collect()
    }
}

fn event_ids(bodies: &[Value]) -> Vec<String> {
    bodies.iter().map(|b| b["event"]["event_id"].as_str().expect("id").to_owned()).collect()
}

fn expected_ids(awb: &str, count: usize) -> Vec<String> {
    (1..=count).map(|seq| format!("{awb}-{seq}")).collect()
}

#[tokio::test]
async fn every_event_arrives_once_in_order_and_signed() {
    let sim = start_fast(0.05).await;
    let (url, receiver) = start_receiver(0).await;
    let booked = book(&sim.base, "key-a", &unique("order"), "ndr_then_delivered").await;
    let awb = booked["awb"].as_str().expect("awb");
    let subscriptions = format!("{}/api/v1/subscriptions", sim.base);

    let (status, created) = post(&subscriptions, "key-a", &json!({"awb": awb, "url": url, "secret": "s3cret"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["subscription_id"].as_str().expect("id");
    assert!(id.starts_with("sub_"));

    receiver.wait_for(8).await;
    let bodies = receiver.verified_bodies("s3cret");
    assert_eq!(event_ids(&bodies), expected_ids(awb, 8), "each once, in order");
    let codes: Vec<_> = bodies.iter().map(|b| b["event"]["code"].clone()).collect();
    assert_eq!(codes, ["BK", "PU", "DP", "AR", "OD", "UD", "OD", "DL"].map(|c| json!(c)));
    assert_eq!(bodies[5]["event"]["reason_code"], "CNA");
    assert!(bodies.iter().all(|b| b["awb"] == awb));

    // Same AWB and URL: the secret is replaced, the subscription stays.
    let (status, replaced) = post(&subscriptions, "key-a", &json!({"awb": awb, "url": url, "secret": "new"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replaced["subscription_id"], id);

    let (status, _) = post(&subscriptions, "key-b", &json!({"awb": awb, "url": url, "secret": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another key's shipment");
    let (status, body) =
        post(&subscriptions, "key-a", &json!({"awb": awb, "url": "ftp://example", "secret": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "url");
    assert_eq!(receiver.received.lock().expect("lock").len(), 8, "no re-sends");
}

#[tokio::test]
async fn failed_deliveries_are_retried() {
    let sim = start_fast(0.05).await;
    let (url, receiver) = start_receiver(2).await;
    let booked = book(&sim.base, "key-a", &unique("order"), "delivered").await;
    let awb = booked["awb"].as_str().expect("awb");
    let (status, _) =
        post(&format!("{}/api/v1/subscriptions", sim.base), "key-a", &json!({"awb": awb, "url": url, "secret": "k"}))
            .await;
    assert_eq!(status, StatusCode::CREATED);

    receiver.wait_for(6).await;
    let bodies = receiver.verified_bodies("k");
    assert_eq!(event_ids(&bodies), expected_ids(awb, 6));
    assert_eq!(receiver.attempts.load(Ordering::SeqCst), 6 + 2);
}

#[tokio::test]
async fn a_webhook_given_with_the_booking_subscribes_it() {
    let sim = start_fast(0.05).await;
    let (url, receiver) = start_receiver(0).await;
    let shipments = format!("{}/api/v1/shipments", sim.base);

    let reference = unique("order");
    let mut bad = booking(&reference, "delivered");
    bad["webhook"] = json!({"url": "ftp://example", "secret": "k"});
    let (status, body) = post(&shipments, "key-a", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "webhook.url");
    let mut no_secret = booking(&reference, "delivered");
    no_secret["webhook"] = json!({"url": url});
    let (status, body) = post(&shipments, "key-a", &no_secret).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // The refused bookings took nothing: the same reference books now.
    let mut good = booking(&reference, "delivered");
    good["webhook"] = json!({"url": url, "secret": "k"});
    let (status, booked) = post(&shipments, "key-a", &good).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let awb = booked["awb"].as_str().expect("awb");
    let answered = Instant::now();

    receiver.wait_for(6).await;
    let bodies = receiver.verified_bodies("k");
    assert_eq!(event_ids(&bodies), expected_ids(awb, 6), "each once, in order, without a subscribe call");
    // The first push trails the booking's answer, so the client can record the booking first.
    let first = receiver.received.lock().expect("lock")[0].at;
    assert!(first.duration_since(answered) >= Duration::from_millis(800), "first push came too soon");
}
