//! The faults a hostile client and an unlucky operator found, each through the public API:
//! server-side request forgery, a carrier's error body echoed, a scan from the future, slow
//! recovery after a crash, a database error after the carrier booked, a full connection pool,
//! and the smaller leaks (trackers, metrics, the push URL, failed bookings in lists).

use std::time::{Duration, Instant};

use hmac::{KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use waybill_core::ids::{CarrierAccountId, ShipmentId};

use crate::common::{self, Harness, Options, generic_account};

fn pointers(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map_or(vec![], |e| e.iter().map(|x| x["pointer"].as_str().unwrap().to_owned()).collect())
}

/// A local HTTP server answering every request with `status` and `body`, counting requests.
async fn fake_service(status: u16, body: &'static str) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            (axum::http::StatusCode::from_u16(status).unwrap(), body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

#[tokio::test]
async fn live_accounts_cannot_point_at_internal_addresses() {
    let (internal, hits) = fake_service(200, r#"{"secret":"internal"}"#).await;
    let h = Harness::start().await;
    let account =
        |url: &str| json!({"carrier": "sandbox", "mode": "live", "base_url": url, "credentials": {"api_key": "k"}});
    // Without the operator's leave, a live account keeps the carrier's own host.
    let (status, problem) =
        h.post_with("/v1/carrier-accounts", &account("https://carrier.example"), &h.live_key, None).await;
    assert_eq!((status, pointers(&problem)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["/base_url".to_owned()]));
    assert!(problem["detail"].as_str().unwrap().contains("--allow-base-url-override"), "{problem}");

    // With it, the host is still checked after DNS: loopback, private, link-local and metadata
    // addresses are refused, however they are spelt.
    let open = Harness::with(Options {
        base_urls: waybill_engine::BaseUrlPolicy { allow_any: true, hosts: vec![] },
        ..Default::default()
    })
    .await;
    let port = internal.rsplit(':').next().unwrap();
    for url in [
        format!("https://127.0.0.1:{port}"),
        format!("https://localhost:{port}"),
        format!("https://[::ffff:127.0.0.1]:{port}"),
        "https://169.254.169.254".to_owned(),
        "https://10.0.0.5".to_owned(),
        format!("{internal}/"),
    ] {
        let (status, problem) = open.post_with("/v1/carrier-accounts", &account(&url), &open.live_key, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {url}: {problem}", open.backend);
        assert_eq!(pointers(&problem), ["/base_url"], "{url}");
    }
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0, "the internal service was never called");
    // Test accounts may point anywhere: tests and the demo run carriers on this machine.
    let (status, _) = h
        .post(
            "/v1/carrier-accounts",
            &json!({"carrier": "sandbox", "mode": "test", "base_url": internal,
        "credentials": {"api_key": "k"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_carriers_error_body_is_never_echoed() {
    let (internal, _) = fake_service(500, "db password=hunter2 at 10.0.0.7:5432").await;
    let h = Harness::start().await;
    let (status, account) = h
        .post(
            "/v1/carrier-accounts",
            &json!({"carrier": "sandbox", "mode": "test", "base_url": internal,
            "credentials": {"api_key": "k"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut body = h.booking(None, "delivered");
    body["carrier_account_id"] = account["id"].clone();
    let (status, problem) = h.post("/v1/shipments", &body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert!(!problem.to_string().contains("hunter2"), "the body leaked: {problem}");
    assert!(problem["detail"].as_str().unwrap().contains("HTTP 500"), "{problem}");
}

/// Signs a sandbox push the way the simulator does.
fn signed_push(
    h: &Harness,
    secret: &str,
    tracking_number: &str,
    code: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> reqwest::RequestBuilder {
    let body = json!({"awb": tracking_number, "event": {"event_id": format!("{tracking_number}-{code}"), "code": code,
        "description": code, "location": "İzmir", "timestamp": at.to_rfc3339(), "reason_code": if code == "UD" { json!("CNA") } else { json!(null) }}})
    .to_string();
    let ts = chrono::Utc::now().timestamp().to_string();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    h.http
        .post(format!("{}/v1/hooks/carriers/sandbox/{}", h.api, h.account_id))
        .header("content-type", "application/json")
        .header("X-Sim-Timestamp", ts)
        .header("X-Sim-Signature", format!("sha256={}", hex::encode(mac.finalize().into_bytes())))
        .body(body)
}

#[tokio::test]
async fn a_push_stamped_an_hour_ahead_does_not_freeze_the_status() {
    let h =
        Harness::with(Options { day_seconds: 3600.0, poll_interval: Duration::from_secs(3600), ..Default::default() })
            .await;
    let account: CarrierAccountId = serde_json::from_value(json!(h.account_id)).unwrap();
    let secret = h.store.account_secrets(&h.scope, &account).await.unwrap().push_secret;
    let (_, shipment) = h.post("/v1/shipments", &h.booking(None, "delivered")).await;
    let tn = shipment["tracking_number"].as_str().unwrap();
    let now = chrono::Utc::now();
    let r = signed_push(&h, &secret, tn, "OD", now + chrono::Duration::hours(1)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let receipt: Value = r.json().await.unwrap();
    assert_eq!((receipt["recorded"].as_u64(), receipt["clock_skewed"].as_u64()), (Some(1), Some(1)), "{receipt}");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let r = signed_push(&h, &secret, tn, "UD", chrono::Utc::now()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, after) = h.get(&format!("/v1/shipments/{}", shipment["id"].as_str().unwrap())).await;
    assert_eq!(after["status"], "delivery_failed", "[{}] {after}", h.backend);
    let od = after["events"].as_array().unwrap().iter().find(|e| e["carrier_code"] == "OD").unwrap();
    assert!(od["placed_at"].is_string(), "the skewed scan shows where it was placed: {od}");
}

#[tokio::test]
async fn bookings_a_previous_run_left_in_flight_are_settled_at_once() {
    let h = Harness::start().await;
    // What this node's previous run left when it was killed mid-booking: a pending row (the
    // carrier never heard of it) and the client's idempotency key still in progress.
    let id = ShipmentId::generate();
    let mut pending = common::pending_shipment(&h.scope, &id, &h.account_id, "sandbox", "standard");
    pending.created_at = h.engine.started_at() - 5_000;
    common::insert_in_flight(&h.store, &pending, &h.engine.config().node).await;
    let body = h.booking(None, "delivered");
    let raw = serde_json::to_vec(&body).unwrap();
    let node = h.engine.config().node.clone();
    h.store.idempotency_begin(&h.scope, "crashed-1", "POST /v1/shipments", &raw, id.as_str(), &node).await.unwrap();
    let before_start = h.engine.started_at() - 5_000;
    common::sql(&h.db_url, &format!("UPDATE idempotency_keys SET created_at = {before_start} WHERE key = 'crashed-1'"))
        .await;

    // The client retries with its key. Left to the watchdog, it would wait out its minute and
    // get 409 `idempotency_in_progress`; settled at start, it learns the carrier never got it.
    let r = h
        .http
        .post(format!("{}/v1/shipments", h.api))
        .bearer_auth(&h.key)
        .header("Idempotency-Key", "crashed-1")
        .header("content-type", "application/json")
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["type"], "idempotency_retry", "[{}] the carrier never got it: {problem}", h.backend);
    let (_, settled) = h.get(&format!("/v1/shipments/{id}")).await;
    assert_eq!(settled["error"]["code"], "NOT_BOOKED", "[{}] {settled}", h.backend);
    // Sent again, the same key books once.
    let (status, booked) = h.post_with("/v1/shipments", &body, &h.key, Some("crashed-1")).await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {booked}", h.backend);
    assert_eq!(h.carrier_bookings(booked["id"].as_str().unwrap()).await.len(), 1);
}

#[tokio::test]
async fn a_database_failure_after_the_carrier_booked_keeps_the_key_and_books_once() {
    let h = Harness::start().await;
    common::break_writes(&h.db_url, "fail_booked", "UPDATE", "shipments", "NEW.booking_state = 'booked'").await;
    let body = h.booking(None, "delivered");
    let (status, first) = h.post_with("/v1/shipments", &body, &h.key, Some("db-fail-1")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "[{}] {first}", h.backend);
    assert_eq!(first["booking_state"], "unknown");
    // A retry with the key gets the same answer: the key was not released.
    let (status, again) = h.post_with("/v1/shipments", &body, &h.key, Some("db-fail-1")).await;
    assert_eq!((status, &again["id"]), (StatusCode::ACCEPTED, &first["id"]), "[{}] {again}", h.backend);
    common::mend_writes(&h.db_url, "fail_booked", "shipments").await;
    let id = first["id"].as_str().unwrap();
    let settled = h.wait_for_booking(id, "booked", Duration::from_secs(30)).await;
    assert!(settled["tracking_number"].as_str().unwrap().starts_with("SIM"));
    assert_eq!(h.carrier_bookings(id).await.len(), 1, "[{}] the carrier booked once", h.backend);
    assert_eq!(h.all_carrier_bookings().await, 1, "[{}] and nothing else", h.backend);
}

#[tokio::test]
async fn a_full_pool_answers_503_with_retry_after() {
    let pool = waybill_store::PoolSettings { max_connections: 1, acquire_timeout: Duration::from_millis(300) };
    let h = Harness::with(Options { pool, ..Default::default() }).await;
    if h.backend != "postgres" {
        eprintln!(
            "SKIPPED a_full_pool_answers_503_with_retry_after: the pool is PostgreSQL's (set WAYBILL_TEST_DATABASE_URL)"
        );
        return;
    }
    // The node's own worker shares the one connection: take it when it is free.
    let deadline = Instant::now() + Duration::from_secs(10);
    let held = loop {
        match h.store.begin().await {
            Ok(tx) => break tx,
            Err(e) => assert!(Instant::now() < deadline, "never got the connection: {e}"),
        }
    };
    let r = h.http.get(format!("{}/v1/orders", h.api)).bearer_auth(&h.key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "2");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = h.get("/v1/orders").await;
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "only ever waiting, never failing");
        assert!(Instant::now() < deadline, "never served again once the connection was free");
    }
}

#[tokio::test]
async fn a_tracking_number_two_accounts_share_asks_for_the_account() {
    let h = Harness::start().await;
    let mut accounts = Vec::new();
    for _ in 0..2 {
        let mut account = generic_account("test");
        account["settings"]["tracking_numbers"] = json!({"pattern": "^PP[0-9]{4}$"});
        let (status, a) = h.post("/v1/carrier-accounts", &account).await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        accounts.push(a["id"].as_str().unwrap().to_owned());
        let mut booking = h.booking(None, "delivered");
        booking["carrier_account_id"] = a["id"].clone();
        booking["service"] = json!("std");
        booking["tracking_number"] = json!("PP1234");
        booking["options"] = json!({});
        let (status, s) = h.post("/v1/shipments", &booking).await;
        assert_eq!(status, StatusCode::CREATED, "{s}");
    }
    let (status, problem) = h.get("/v1/trackers/PP1234").await;
    assert_eq!((status, problem["type"].as_str()), (StatusCode::CONFLICT, Some("ambiguous_tracking_number")));
    for a in &accounts {
        assert!(problem["detail"].as_str().unwrap().contains(a.as_str()), "{problem}");
        let (status, tracker) = h.get(&format!("/v1/trackers/PP1234?carrier_account_id={a}")).await;
        assert_eq!((status, tracker["carrier_account_id"].as_str()), (StatusCode::OK, Some(a.as_str())));
    }
}

#[tokio::test]
async fn metrics_need_the_token_or_their_own_address() {
    let h = Harness::start().await;
    let r = h.http.get(format!("{}/metrics", h.api)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "not served on the API without a token");

    let server = waybill_server::ServerConfig { metrics_token: Some("m3trics".into()), ..Default::default() };
    let t = Harness::with(Options { server, ..Default::default() }).await;
    let r = t.http.get(format!("{}/metrics", t.api)).bearer_auth(&t.key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "an API key is not the metrics token");
    let r = t.http.get(format!("{}/metrics", t.api)).bearer_auth("m3trics").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(text.contains("waybill_jobs_queued") && text.contains("waybill_http_responses_total"), "{text}");
    assert!(!text.contains(t.scope.tenant.as_str()), "no tenant appears in metrics");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    tokio::spawn(waybill_server::serve_metrics(listener, t.engine.clone()));
    let r = t.http.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the metrics listener needs no key");
}

#[tokio::test]
async fn the_push_url_tells_a_stranger_nothing_about_accounts() {
    let h = Harness::start().await;
    let (_, generic) = h.post("/v1/carrier-accounts", &generic_account("test")).await;
    let body = json!({"awb": "SIM1", "event": {}});
    let mut answers = Vec::new();
    for (carrier, account) in [
        ("sandbox", "car_01jd3xk8w3v6a8g0n6r1c5e2qz".to_owned()), // no such account
        ("ups", h.account_id.clone()),                            // another carrier's slug
        ("generic", generic["id"].as_str().unwrap().to_owned()),  // a carrier that does not push
        ("sandbox", h.account_id.clone()),                        // unsigned
        ("sandbox", "not-an-id".to_owned()),
    ] {
        let r =
            h.http.post(format!("{}/v1/hooks/carriers/{carrier}/{account}", h.api)).json(&body).send().await.unwrap();
        let status = r.status();
        let mut problem: Value = r.json().await.unwrap();
        problem.as_object_mut().unwrap().remove("request_id");
        answers.push((status, problem));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "every refusal is the same: {answers:?}");
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failed_bookings_are_listed_and_can_be_filtered() {
    let h = Harness::start().await;
    h.sim.set_faults(waybill_sim::Faults { error_rate: 1.0, ..Default::default() });
    let (status, _) = h.post("/v1/shipments", &h.booking(None, "delivered")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    h.sim.set_faults(waybill_sim::Faults::default());
    let (status, _) = h.post("/v1/shipments", &h.booking(None, "delivered")).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, all) = h.get("/v1/shipments").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
    let (_, failed) = h.get("/v1/shipments?booking_state=failed").await;
    let failed = failed["data"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["booking_state"], "failed");
    let (_, booked) = h.get("/v1/shipments?booking_state=booked&limit=5").await;
    assert_eq!(booked["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_fault_of_ours_is_a_logged_500_with_the_request_id_never_a_404() {
    let h = Harness::start().await;
    let (_, shipment) = h.post("/v1/shipments", &h.booking(None, "delivered")).await;
    let id = shipment["id"].as_str().unwrap();
    // A row this version cannot read: the store's fault, not a missing shipment.
    common::sql(&h.db_url, &format!("UPDATE shipments SET status = 'teleported' WHERE id = '{id}'")).await;
    let r = h.http.get(format!("{}/v1/shipments/{id}", h.api)).bearer_auth(&h.key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let header = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["type"], "internal_error");
    assert_eq!(problem["request_id"], header.as_str(), "the answer names the request the log has");
    assert!(!problem.to_string().contains("teleported"), "the fault's details stay in the log: {problem}");
}
