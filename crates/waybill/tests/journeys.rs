//! Whole journeys through two `serve` processes sharing one database: the simulator plays the
//! `delivered`, `ndr_then_delivered` and `rto` scenarios, and the customer hears about each
//! milestone once by email (a real SMTP exchange with a server the test runs) and by SMS (a
//! Twilio-shaped API the test runs), while the merchant's endpoint gets each webhook event once,
//! in order. Run again with one node killed with SIGKILL mid-way, and with the SMTP server and
//! the webhook receiver down for the first seconds: nothing is lost and nothing sent twice.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use support::{database_args, demo_key, free_port, sandbox_account, serve_on};
use waybill_notify::sink::{Behaviour, SmtpSink};

/// A loopback port that refuses connections until `open` serves `app` on it.
struct LateServer {
    port: u16,
}

impl LateServer {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn open(&self, app: axum::Router) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
}

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Value>>>);

impl Received {
    fn all(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }
}

/// The merchant's endpoint: keeps each delivery's `webhook-id` and body.
async fn webhook(State(r): State<Received>, headers: HeaderMap, body: String) -> StatusCode {
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    r.0.lock().unwrap().push(json!({"id": id, "body": body}));
    StatusCode::NO_CONTENT
}

/// Twilio's Messages API: keeps `To` and `Body`, answers with a message sid.
async fn twilio(State(r): State<Received>, body: String) -> (StatusCode, axum::Json<Value>) {
    let form: BTreeMap<String, String> = serde_urlencoded_pairs(&body);
    let mut texts = r.0.lock().unwrap();
    let sid = format!("SM{:032}", texts.len());
    texts.push(json!({"to": form.get("To"), "body": form.get("Body"), "sid": sid}));
    (StatusCode::CREATED, axum::Json(json!({"sid": sid, "status": "queued"})))
}

fn serde_urlencoded_pairs(body: &str) -> BTreeMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{body}")).unwrap().query_pairs().into_owned().collect()
}

/// The milestones each scenario tells the customer about, in order, and the statuses its
/// `shipment.status_changed` events carry, in order.
const SCENARIOS: [(&str, &[&str], &[&str]); 3] = [
    (
        "delivered",
        &["booked", "picked_up", "out_for_delivery", "delivered"],
        &["picked_up", "in_transit", "out_for_delivery", "delivered"],
    ),
    (
        "ndr_then_delivered",
        &["booked", "picked_up", "out_for_delivery", "delivery_failed", "delivered"],
        &["picked_up", "in_transit", "out_for_delivery", "delivery_failed", "out_for_delivery", "delivered"],
    ),
    (
        "rto",
        &["booked", "picked_up", "out_for_delivery", "delivery_failed", "return_to_origin"],
        &[
            "picked_up",
            "in_transit",
            "out_for_delivery",
            "delivery_failed",
            "out_for_delivery",
            "delivery_failed",
            "return_to_origin",
            "returned",
        ],
    ),
];

/// The milestone a customer hears about when a shipment reaches `status`.
fn milestone_of(status: &str) -> Option<&'static str> {
    Some(match status {
        "picked_up" => "picked_up",
        "out_for_delivery" => "out_for_delivery",
        "delivery_failed" => "delivery_failed",
        "delivered" => "delivered",
        "return_to_origin" | "returned" => "return_to_origin",
        _ => return None,
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Trouble {
    None,
    /// The second node is killed with SIGKILL while the parcels are on their way.
    KillANode,
    /// The SMTP server and the webhook receiver are down for the first seconds.
    ReceiversDown,
}

async fn journeys(trouble: Trouble) {
    let dir = tempfile::tempdir().unwrap();
    let db = database_args().await;
    let http = reqwest::Client::new();

    let smtp_port = free_port();
    // Slow to accept, so the node killed mid-way is likely to die holding sends in flight.
    let behaviour = Behaviour { accept_delay: Duration::from_millis(1_500), ..Default::default() };
    let sink = match trouble {
        Trouble::ReceiversDown => None,
        Trouble::KillANode => Some(SmtpSink::start_on(smtp_port, behaviour).await),
        Trouble::None => Some(SmtpSink::start_on(smtp_port, Default::default()).await),
    };
    let hooks = Received::default();
    let hook_server = LateServer { port: free_port() };
    let hook_app = axum::Router::new().route("/hooks", axum::routing::post(webhook)).with_state(hooks.clone());
    if trouble != Trouble::ReceiversDown {
        hook_server.open(hook_app.clone()).await;
    }
    let texts = Received::default();
    let sms_server = LateServer { port: free_port() };
    let sms_app = axum::Router::new()
        .route("/2010-04-01/Accounts/{sid}/Messages.json", axum::routing::post(twilio))
        .with_state(texts.clone());
    sms_server.open(sms_app).await;

    let mail = [
        "--smtp-url".to_owned(),
        format!("smtp://127.0.0.1:{smtp_port}?tls=none&timeout_ms=2000"),
        "--mail-from".to_owned(),
        "kargo@shop.example".to_owned(),
    ];
    // The carrier pushes to the second node, so it does much of the work and dies holding some.
    let second_port = free_port();
    let second_api = format!("http://127.0.0.1:{second_port}");
    let first = serve_on(free_port(), dir.path(), &db, Some(free_port()), Some(&second_api), &mail).await;
    let second = serve_on(second_port, dir.path(), &db, None, Some(&second_api), &mail).await;
    let key = demo_key(dir.path());
    let account = sandbox_account(&http, &first.api, &key).await;

    let every: serde_json::Map<String, Value> = [
        "booked",
        "picked_up",
        "out_for_delivery",
        "delivery_failed",
        "available_for_pickup",
        "delivered",
        "exception",
        "return_to_origin",
        "cancelled",
    ]
    .into_iter()
    .map(|m| (m.to_owned(), json!({"email": true, "sms": true})))
    .collect();
    let settings = json!({
        "triggers": every, "sender_name": "Kargo Dükkânı", "quiet_hours": null,
        "sms_provider": {"provider": "twilio", "account_sid": format!("AC{}", "1".repeat(32)), "auth_token": "t",
                         "from": "+15005550006", "base_url": sms_server.url()},
    });
    let r = http.put(format!("{}/v1/notification-settings", first.api)).bearer_auth(&key).json(&settings);
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let endpoint = json!({"url": format!("{}/hooks", hook_server.url()),
                          "events": ["shipment.booked", "shipment.status_changed"]});
    let r = http.post(format!("{}/v1/webhooks", first.api)).bearer_auth(&key).json(&endpoint).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    let mut shipments = Vec::new();
    for (i, (scenario, _, _)) in SCENARIOS.iter().enumerate() {
        let body = json!({
            "carrier_account_id": account, "service": "express", "options": {"simulate": scenario},
            "ship_from": {"name": "Depo", "street1": "Atatürk Cd. 1", "city": "Ankara", "postal_code": "06100", "country": "TR"},
            "ship_to": {"name": "Ayşe Yılmaz", "street1": "İnönü Sk. 5", "city": "İzmir", "postal_code": "35210",
                        "country": "TR", "email": format!("ayse{i}@example.com"), "phone": format!("+90 532 000 00 0{i}")},
            "parcels": [{"weight": {"value": 800, "unit": "g"}}],
        });
        let api = if i % 2 == 0 { &first.api } else { &second.api };
        let r = http.post(format!("{api}/v1/shipments")).bearer_auth(&key).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let shipment: Value = r.json().await.unwrap();
        shipments.push(shipment["id"].as_str().unwrap().to_owned());
    }

    let mut second = Some(second);
    let mut sink = sink;
    // The kill lands while the first messages are being sent (the server takes 1.5 s each).
    let wait = if trouble == Trouble::KillANode { 1_000 } else { 2_500 };
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let troubled = Instant::now();
    match trouble {
        Trouble::KillANode => drop(second.take()),
        Trouble::ReceiversDown => {
            sink = Some(SmtpSink::start_on(smtp_port, Default::default()).await);
            hook_server.open(hook_app).await;
        }
        Trouble::None => {}
    }
    let sink = sink.unwrap();
    let api = first.api.clone();

    // Every parcel reaches its end and every message settles.
    let deadline = Instant::now() + Duration::from_secs(120);
    let logs = loop {
        let mut logs = Vec::new();
        for id in &shipments {
            let get = |path: String| http.get(format!("{api}{path}")).bearer_auth(&key).send();
            let s: Value = get(format!("/v1/shipments/{id}")).await.unwrap().json().await.unwrap();
            let log: Value = get(format!("/v1/shipments/{id}/notifications")).await.unwrap().json().await.unwrap();
            let log = log["data"].as_array().unwrap().clone();
            let fin = s["status"].as_str().filter(|s| matches!(*s, "delivered" | "returned"));
            // A send that died with its node is taken over once the node is seen gone (10 s);
            // a webhook message it had claimed waits out that claim (30 s) before it is sent again.
            let merchant_told = hooks.all().iter().any(|h| {
                h["body"]["data"]["shipment"]["id"] == id.as_str()
                    && h["body"]["data"]["shipment"]["status"] == json!(fin)
            });
            let done = fin.is_some() && merchant_told && log.iter().all(|n| n["state"] != "queued");
            logs.push((done, log));
        }
        if logs.iter().all(|(done, _)| *done) {
            break logs.into_iter().map(|(_, log)| log).collect::<Vec<_>>();
        }
        assert!(Instant::now() < deadline, "[{trouble:?}] journeys never ended: {logs:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    eprintln!("[{trouble:?}] every journey ended and every message settled {:?} after the trouble", troubled.elapsed());
    // Anything still to arrive would arrive now.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // A node killed between a send and its record sends again when the job is retried: the
    // email with the same Message-ID and the webhook with the same id (the receiver's dedupe
    // keys); an SMS may go twice (no provider takes a dedupe key). Otherwise: exactly once.
    let once = |copies: usize| if trouble == Trouble::KillANode { copies >= 1 } else { copies == 1 };
    let emails = sink.received();
    let texts = texts.all();
    let hooks = hooks.all();
    for (((scenario, milestones, statuses), id), log) in SCENARIOS.iter().zip(&shipments).zip(&logs) {
        let mut about: Vec<&Value> = Vec::new();
        let mut copies = BTreeMap::<&str, usize>::new();
        for h in hooks.iter().filter(|h| h["body"]["data"]["shipment"]["id"] == id.as_str()) {
            let count = copies.entry(h["id"].as_str().unwrap()).or_default();
            if *count == 0 {
                about.push(h);
            }
            *count += 1;
        }
        assert!(copies.values().all(|c| once(*c)), "[{trouble:?}] {scenario}: deliveries per event id {copies:?}");
        let types: Vec<_> = about.iter().map(|h| h["body"]["type"].as_str().unwrap()).collect();
        assert_eq!(types.first(), Some(&"shipment.booked"), "[{trouble:?}] {scenario}: {types:?}");
        let changes: Vec<_> = about
            .iter()
            .filter(|h| h["body"]["type"] == "shipment.status_changed")
            .map(|h| h["body"]["data"]["shipment"]["status"].as_str().unwrap())
            .collect();
        if trouble == Trouble::KillANode {
            // With the node the carrier pushed to dead, scans come by polling, and one poll may
            // bring two: the status jumps over the one between (no message is owed for it).
            let mut expected = statuses.iter();
            assert!(
                changes.iter().all(|c| expected.any(|s| s == c)) && changes.last() == statuses.last(),
                "[{trouble:?}] {scenario}: status changes in order, ending at the end: {changes:?}"
            );
        } else {
            assert_eq!(changes, *statuses, "[{trouble:?}] {scenario}: each status change, in order");
        }
        // One message per milestone the shipment reached, in the order it reached them.
        let mut reached = vec!["booked"];
        for status in &changes {
            if let Some(m) = milestone_of(status).filter(|m| !reached.contains(m)) {
                reached.push(m);
            }
        }
        if trouble != Trouble::KillANode {
            assert_eq!(reached, *milestones, "[{trouble:?}] {scenario}");
        }
        for channel in ["email", "sms"] {
            let sent: Vec<_> = log.iter().filter(|n| n["channel"] == channel).collect();
            let mut names: Vec<_> = sent.iter().map(|n| n["milestone"].as_str().unwrap()).collect();
            let mut expected = reached.clone();
            if trouble == Trouble::KillANode {
                // A message the dead node was working out comes when another node takes it
                // over, possibly after later ones: each once, in whatever order.
                names.sort_unstable();
                expected.sort_unstable();
            }
            assert_eq!(names, expected, "[{trouble:?}] {scenario}: {channel} messages once each");
            assert!(sent.iter().all(|n| n["state"] == "sent"), "[{trouble:?}] {scenario}: {sent:?}");
        }
        for n in log.iter().filter(|n| n["channel"] == "email") {
            let message_id = format!("<{}@shop.example>", n["id"].as_str().unwrap());
            let copies = emails
                .iter()
                .filter(|m| String::from_utf8_lossy(&m.raw).contains(&format!("Message-ID: {message_id}")))
                .count();
            assert!(once(copies), "[{trouble:?}] {scenario}: email {message_id} reached the server {copies} times");
        }
        for n in log.iter().filter(|n| n["channel"] == "sms") {
            let sid = n["provider_message_id"].as_str().unwrap();
            assert!(texts.iter().any(|t| t["sid"] == sid), "[{trouble:?}] {scenario}: SMS {sid} reached the provider");
        }
    }
    let sms_rows: usize = logs.iter().map(|l| l.iter().filter(|n| n["channel"] == "sms").count()).sum();
    let email_rows: usize = logs.iter().map(|l| l.iter().filter(|n| n["channel"] == "email").count()).sum();
    if trouble == Trouble::KillANode {
        assert!(emails.len() >= email_rows && texts.len() >= sms_rows, "[{trouble:?}] nothing lost");
        eprintln!(
            "after SIGKILL: {} emails for {email_rows} messages, {} SMS for {sms_rows}, {} webhook deliveries for {} events",
            emails.len(),
            texts.len(),
            hooks.len(),
            hooks.iter().map(|h| h["id"].as_str().unwrap()).collect::<std::collections::BTreeSet<_>>().len()
        );
    } else {
        assert_eq!(emails.len(), email_rows, "[{trouble:?}] no other email was sent");
        assert_eq!(texts.len(), sms_rows, "[{trouble:?}] no other SMS was sent");
    }
}

#[tokio::test]
async fn each_scenario_tells_customer_and_merchant_each_milestone_once_in_order() {
    journeys(Trouble::None).await;
}

#[tokio::test]
async fn a_node_killed_mid_journey_loses_nothing_and_sends_nothing_twice() {
    journeys(Trouble::KillANode).await;
}

#[tokio::test]
async fn mail_server_and_webhook_receiver_down_for_a_while_get_everything_once_when_back() {
    journeys(Trouble::ReceiversDown).await;
}
