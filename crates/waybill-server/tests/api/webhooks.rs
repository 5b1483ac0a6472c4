//! Merchant webhooks: endpoints with a secret shown once, deliveries signed as the Standard
//! Webhooks specification says and checked here with its verification rule, order per shipment,
//! retries with a delivery log, redelivery, disabling, and the live-mode address policy.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};
use waybill_engine::notify::EmailTransport;
use waybill_notify::email::{Mailer, SmtpSettings};
use waybill_notify::sink::SmtpSink;
use waybill_notify::webhook::verify;

use crate::common::{Harness, Options, sql};
use crate::notifications::mime::Part;

/// One request a receiver got.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// Answer 500 to this many requests before answering 200.
    fail_first: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start(fail_first: usize) -> (Self, String) {
        let receiver = Receiver { fail_first: Arc::new(Mutex::new(fail_first)), ..Default::default() };
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until the receiver has `n` requests, then a little more to catch any extra one.
    async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        while self.got().len() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} deliveries arrived: {:?}",
                self.got().len(),
                types(&self.got())
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.got()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: axum::body::Bytes) -> (AxumStatus, &'static str) {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    r.got.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: body.to_vec(),
    });
    let mut failing = r.fail_first.lock().unwrap();
    if *failing > 0 {
        *failing -= 1;
        return (AxumStatus::INTERNAL_SERVER_ERROR, "down for maintenance");
    }
    (AxumStatus::OK, "ok")
}

fn types(got: &[Received]) -> Vec<String> {
    got.iter().map(|r| r.json()["type"].as_str().unwrap_or_default().to_owned()).collect()
}

async fn endpoint(h: &Harness, url: &str, events: &[&str]) -> (String, String) {
    let (status, created) = h.post("/v1/webhooks", &json!({"url": url, "events": events, "description": "OMS"})).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {created}", h.backend);
    (created["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned())
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn an_endpoint_shows_its_secret_once_and_bad_ones_are_refused_whole() {
    let h = Harness::start().await;
    let (_, url) = Receiver::start(0).await;
    let (status, created) =
        h.post("/v1/webhooks", &json!({"url": url, "events": ["shipment.booked", "order.closed"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("wh_"), "{created}");
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"), "{created}");
    assert_eq!(created["state"], "enabled");
    assert_eq!(created["mode"], "test");

    let (_, one) = h.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(one["events"], json!(["shipment.booked", "order.closed"]));
    assert!(one.get("secret").is_none(), "the secret is shown once: {one}");
    let (_, list) = h.get("/v1/webhooks").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert!(list["data"][0].get("secret").is_none());

    let bad = [
        (json!({"url": "ftp://shop.example/hook", "events": ["shipment.booked"]}), vec!["/url"]),
        (json!({"url": url, "events": ["shipment.booked", "shipment.bookd"]}), vec!["/events/1"]),
        (json!({"url": url, "events": []}), vec!["/events"]),
        (json!({"url": "javascript:alert(1)", "events": ["nope"]}), vec!["/url", "/events/0"]),
    ];
    for (body, pointers) in bad {
        let (status, problem) = h.post("/v1/webhooks", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        let got: Vec<_> =
            problem["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
        assert_eq!(got, pointers, "{problem}");
    }
    let (_, problem) = h.post("/v1/webhooks", &json!({"url": url, "events": ["shipment.bookd"]})).await;
    assert!(problem["errors"][0]["detail"].as_str().unwrap().contains("did you mean `shipment.booked`"), "{problem}");
    let (_, list) = h.get("/v1/webhooks").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "nothing was saved by refused requests");

    let (status, _) = h
        .http
        .delete(format!("{}/v1/webhooks/{id}", h.api))
        .bearer_auth(&h.key)
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = h.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = h.get_as(&format!("/v1/webhooks/{id}"), &h.live_key).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a test endpoint is invisible to a live key");
}

#[tokio::test]
async fn live_endpoints_must_be_public_https() {
    let h = Harness::start().await;
    for (url, says) in [
        ("http://127.0.0.1:9/hook", "https"),
        ("https://127.0.0.1:9/hook", "loopback"),
        ("https://169.254.169.254/latest", "refused"),
        ("https://10.1.2.3/hook", "refused"),
    ] {
        let (status, problem) =
            h.post_with("/v1/webhooks", &json!({"url": url, "events": ["shipment.booked"]}), &h.live_key, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], "/url", "{problem}");
        assert!(problem["errors"][0]["detail"].as_str().unwrap().contains(says), "{url}: {problem}");
    }
}

#[tokio::test]
async fn a_shipments_events_arrive_signed_once_each_and_in_order() {
    let h = Harness::start().await;
    let (receiver, url) = Receiver::start(0).await;
    let (_, secret) =
        endpoint(&h, &url, &["shipment.booked", "shipment.status_changed", "order.status_changed", "order.closed"])
            .await;
    let order = h.create_order("WH-1", json!({"method": "prepaid"})).await;
    let order_id = order["id"].as_str().unwrap();
    let (status, shipment) = h.post("/v1/shipments", &h.booking(Some(order_id), "delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    let shipment_id = shipment["id"].as_str().unwrap();
    h.wait_for_order(order_id, "closed", Duration::from_secs(30)).await;

    // Every event of the shipment and its order, read back from the store, reaches the receiver once.
    let mut expected = wanted_events(&h, shipment_id).await;
    expected.extend(wanted_events(&h, order_id).await);
    expected.sort();
    let got = receiver.wait_for(expected.len(), Duration::from_secs(20)).await;
    let mut ids: Vec<_> = got.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    assert_eq!(ids, expected.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(), "{:?}", types(&got));

    for r in &got {
        verify(&secret, &r.id, &r.timestamp, &r.signature, &r.body, now_secs()).expect("each delivery verifies");
        let body = r.json();
        assert_eq!(body["id"], r.id.as_str(), "the webhook-id is the event id");
        assert_eq!(body["mode"], "test");
    }
    let statuses: Vec<_> = got
        .iter()
        .map(Received::json)
        .filter(|b| b["type"] == "shipment.status_changed")
        .map(|b| {
            (
                b["data"]["previous_status"].as_str().unwrap().to_owned(),
                b["data"]["shipment"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(!statuses.is_empty());
    for pair in statuses.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "one shipment's status changes arrive in order: {statuses:?}");
    }
    assert_eq!(statuses.last().unwrap().1, "delivered", "{statuses:?}");
    let booked = got.iter().map(Received::json).find(|b| b["type"] == "shipment.booked").unwrap();
    assert_eq!(booked["data"]["shipment"]["id"], shipment_id);
    assert_eq!(types(&got).iter().filter(|t| *t == "order.closed").count(), 1);
}

/// The (event id, type) of every stored event about `subject` that the endpoint above wants.
async fn wanted_events(h: &Harness, subject: &str) -> Vec<(String, String)> {
    let wanted = ["shipment.booked", "shipment.status_changed", "order.status_changed", "order.closed"];
    let events = h.store.events_about(&h.scope, subject).await.unwrap();
    events
        .into_iter()
        .filter(|e| wanted.contains(&e.event.kind()))
        .map(|e| (e.id.to_string(), e.event.kind().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_failed_delivery_is_retried_and_logged_then_redelivered_on_request() {
    let h = Harness::start().await;
    let (receiver, url) = Receiver::start(1).await;
    let (endpoint_id, _) = endpoint(&h, &url, &["order.created"]).await;
    h.create_order("WH-2", json!({"method": "prepaid"})).await;

    // The first attempt gets a 500; the retry comes on the schedule's first step (5 s).
    let got = receiver.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 2, "{:?}", types(&got));
    assert_eq!(got[0].id, got[1].id, "a retry carries the same webhook-id");
    let (status, log) = h.get(&format!("/v1/webhooks/{endpoint_id}/deliveries")).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let log = log["data"].as_array().unwrap().clone();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(
        (log[0]["attempt"].clone(), log[0]["status_code"].clone(), log[0]["succeeded"].clone()),
        (json!(1), json!(500), json!(false))
    );
    assert_eq!(log[0]["response_excerpt"], "down for maintenance");
    assert_eq!(
        (log[1]["attempt"].clone(), log[1]["status_code"].clone(), log[1]["succeeded"].clone()),
        (json!(2), json!(200), json!(true))
    );
    assert!(log[1]["latency_ms"].as_i64().unwrap() >= 0);

    let event_id = got[0].id.clone();
    let (status, replay) = h.post(&format!("/v1/events/{event_id}/redeliver"), &json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{replay}");
    assert_eq!(replay["messages"].as_array().unwrap().len(), 1, "{replay}");
    let got = receiver.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].id, event_id, "a replay carries the event's id");

    let (status, problem) = h.post("/v1/events/evt_nope/redeliver", &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
}

#[tokio::test]
async fn an_endpoint_failing_for_days_is_disabled_and_the_merchant_told() {
    let sink = SmtpSink::start(Default::default()).await;
    let mailer = Mailer::new(&SmtpSettings::parse(&sink.url("", "&timeout_ms=3000")).unwrap()).unwrap();
    let h = Harness::with(Options { email: EmailTransport::Smtp(mailer), ..Default::default() }).await;
    let settings = json!({"triggers": {}, "merchant_email": "ops@shop.example"});
    assert_eq!(h.put("/v1/notification-settings", &settings).await.0, StatusCode::OK);
    let (dead, dead_url) = Receiver::start(usize::MAX).await;
    let (watcher, watcher_url) = Receiver::start(0).await;
    let (dead_id, _) = endpoint(&h, &dead_url, &["order.created"]).await;
    endpoint(&h, &watcher_url, &["webhook_endpoint.disabled"]).await;
    // The endpoint has been failing for four days already.
    let four_days_ago = waybill_store::now_ms() - 4 * 24 * 3_600_000;
    sql(&h.db_url, &format!("UPDATE webhook_endpoints SET failing_since = {four_days_ago} WHERE id = '{dead_id}'"))
        .await;

    h.create_order("WH-3", json!({"method": "prepaid"})).await;
    let told = watcher.wait_for(1, Duration::from_secs(20)).await;
    let body = told[0].json();
    assert_eq!(body["type"], "webhook_endpoint.disabled", "{body}");
    assert_eq!(body["data"]["endpoint_id"], dead_id.as_str());
    assert!(body["data"]["reason"].as_str().unwrap().contains("HTTP 500"), "{body}");
    assert_eq!(dead.got().len(), 1, "the failing endpoint got one attempt and no more");

    let (_, endpoint) = h.get(&format!("/v1/webhooks/{dead_id}")).await;
    assert_eq!(endpoint["state"], "disabled", "{endpoint}");
    h.create_order("WH-4", json!({"method": "prepaid"})).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(dead.got().len(), 1, "nothing more goes to a disabled endpoint");

    // The merchant's own address hears of it too: their endpoint may be all they listen to.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sink.received().is_empty() {
        assert!(Instant::now() < deadline, "no email told the merchant");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mails = sink.received();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].rcpt_to, ["ops@shop.example"]);
    let mail = Part::parse(&mails[0].raw);
    assert_eq!(mail.decoded_header("subject"), format!("Webhook endpoint disabled: {dead_url}"));
    let text = mail.parts().into_iter().find(|p| p.content_type().starts_with("text/plain")).unwrap().text();
    assert!(text.contains(&dead_id) && text.contains("HTTP 500"), "{text}");
}

/// A failed delivery's case, and a returned parcel's acknowledgement, reach a subscribed
/// endpoint with the objects in the API's shapes.
#[tokio::test]
async fn ndr_and_rto_events_reach_the_endpoint_in_the_apis_shapes() {
    // Simulated days of 2 s: the two failed attempts are seconds apart, as a carrier stamps them.
    let h = Harness::with(crate::common::Options { day_seconds: 2.0, ..Default::default() }).await;
    let (receiver, url) = Receiver::start(0).await;
    let events =
        ["ndr.opened", "ndr.attempt_failed", "ndr.action_requested", "ndr.closed", "shipment.rto_acknowledged"];
    let (_, secret) = endpoint(&h, &url, &events).await;
    // The simulator's `rto` journey: two failed attempts, then back to the sender.
    let (status, _) = h.put("/v1/ndr-settings", &json!({"window_minutes": 0, "default_action": "rto"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, shipment) = h.post("/v1/shipments", &h.booking(None, "rto")).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    let id = shipment["id"].as_str().unwrap();
    h.wait_for_status(id, "returned", Duration::from_secs(30)).await;
    let (status, receipt) =
        h.post(&format!("/v1/shipments/{id}/rto/acknowledge"), &json!({"condition": "damaged"})).await;
    assert_eq!(status, StatusCode::OK, "{receipt}");

    // The case closes from the same scans, in its own job: wait for it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let case_id = loop {
        let (_, list) = h.get(&format!("/v1/ndr?shipment_id={id}&state=returned_to_origin")).await;
        if let Some(found) = list["data"][0]["id"].as_str() {
            break found.to_owned();
        }
        assert!(Instant::now() < deadline, "the case never closed: {list}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut expected = Vec::new();
    for subject in [case_id.as_str(), id] {
        let stored = h.store.events_about(&h.scope, subject).await.unwrap();
        expected.extend(stored.into_iter().filter(|e| events.contains(&e.event.kind())).map(|e| e.id.to_string()));
    }
    // Whether an action was asked depends on how fast the parcel went back (a closed case takes
    // no default); opening, closing and the acknowledgement are always there.
    assert!(expected.len() >= 3, "{expected:?}");
    let got = receiver.wait_for(expected.len(), Duration::from_secs(20)).await;
    let mut ids: Vec<_> = got.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected, "each event once: {:?}", types(&got));
    for r in &got {
        verify(&secret, &r.id, &r.timestamp, &r.signature, &r.body, now_secs()).expect("each delivery verifies");
    }
    let bodies: Vec<Value> = got.iter().map(Received::json).collect();
    let of = |kind: &str| bodies.iter().find(|b| b["type"] == kind).unwrap_or_else(|| panic!("no {kind}: {bodies:?}"));
    let opened = &of("ndr.opened")["data"]["ndr"];
    assert_eq!((opened["id"].as_str(), opened["shipment_id"].as_str()), (Some(case_id.as_str()), Some(id)));
    assert_eq!(opened["reason"], "address_issue");
    assert!(opened["attempts"][0]["failed_at"].is_string(), "times as the API writes them: {opened}");
    let closed = &of("ndr.closed")["data"]["ndr"];
    assert_eq!(closed["state"], "returned_to_origin");
    assert_eq!(closed["attempts"].as_array().unwrap().len(), 2);
    let acknowledged = &of("shipment.rto_acknowledged")["data"];
    assert_eq!(acknowledged["receipt"]["condition"], "damaged");
    assert_eq!(acknowledged["shipment"]["id"], id);
    assert_eq!(acknowledged["shipment"]["status"], "returned");
}

#[tokio::test]
async fn manifest_change_and_rto_request_events_reach_the_endpoint_in_the_apis_shapes() {
    // Simulated days of 6 s: the parcel waits 1.2 s for its pickup, then travels for 9 s.
    let h = Harness::with(crate::common::Options { day_seconds: 6.0, ..Default::default() }).await;
    let (receiver, url) = Receiver::start(0).await;
    let events = ["manifest.created", "manifest.closed", "shipment.changed", "shipment.rto_requested"];
    let (_, secret) = endpoint(&h, &url, &events).await;
    let (status, shipment) = h.post("/v1/shipments", &h.booking(None, "delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    let id = shipment["id"].as_str().unwrap();
    let (status, manifest) = h.post("/v1/manifests", &json!({"carrier_account_id": h.account_id})).await;
    assert_eq!(status, StatusCode::CREATED, "{manifest}");
    let mut ship_to = shipment["ship_to"].clone();
    ship_to["phone"] = json!("+82 10-9876-5432");
    let r = h.http.patch(format!("{}/v1/shipments/{id}", h.api)).bearer_auth(&h.key).json(&json!({"ship_to": ship_to}));
    assert_eq!(r.send().await.unwrap().status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.get(&format!("/v1/shipments/{id}")).await.1["status"] == "info_received" {
        assert!(Instant::now() < deadline, "never picked up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, asked) = h.post(&format!("/v1/shipments/{id}/rto"), &json!({"reason": "cancelled"})).await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");

    let got = receiver.wait_for(4, Duration::from_secs(20)).await;
    for r in &got {
        verify(&secret, &r.id, &r.timestamp, &r.signature, &r.body, now_secs()).expect("each delivery verifies");
    }
    let bodies: Vec<Value> = got.iter().map(Received::json).collect();
    let of = |kind: &str| bodies.iter().find(|b| b["type"] == kind).unwrap_or_else(|| panic!("no {kind}: {bodies:?}"));
    assert_eq!(of("manifest.created")["data"]["manifest"]["id"], manifest["id"]);
    let closed = &of("manifest.closed")["data"]["manifest"];
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["totals"]["shipments"], 1);
    assert_eq!(closed["entries"][0]["shipment_id"], id);
    let changed = &of("shipment.changed")["data"];
    assert_eq!(changed["change"]["method"], "carrier_update");
    assert_eq!(changed["change"]["fields"], json!(["recipient"]));
    assert_eq!(changed["shipment"]["ship_to"]["phone"], "+82 10-9876-5432");
    let requested = &of("shipment.rto_requested")["data"];
    assert_eq!(requested["request"], asked);
    assert_eq!(requested["shipment"]["id"], id);
}
