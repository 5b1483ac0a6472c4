//! The `waybill` binary as an operator runs it: CLI commands, a `serve` killed with SIGKILL
//! mid-journey and restarted (queued jobs survive), and two `serve` processes sharing one
//! database. Uses PostgreSQL when `WAYBILL_TEST_DATABASE_URL` is set, else SQLite.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{BIN, Node, database_args, demo_key, free_port, sandbox_account, serve_on};

async fn serve(data_dir: &Path, db: &[String], demo_sim_port: Option<u16>, push_url: Option<&str>) -> Node {
    serve_on(free_port(), data_dir, db, demo_sim_port, push_url, &[]).await
}

/// A sandbox booking from Ankara to İzmir; `scenario` picks the simulator's journey.
fn booking_body(account: &str, scenario: Option<&str>) -> Value {
    let mut body = json!({
        "carrier_account_id": account, "service": "express",
        "ship_from": {"name": "Depo", "street1": "Atatürk Cd. 1", "city": "Ankara", "postal_code": "06100", "country": "TR"},
        "ship_to": {"name": "Ayşe Yılmaz", "street1": "İnönü Sk. 5", "city": "İzmir", "postal_code": "35210", "country": "TR"},
        "parcels": [{"weight": {"value": 800, "unit": "g"}}],
    });
    if let Some(scenario) = scenario {
        body["options"] = json!({"simulate": scenario});
    }
    body
}

async fn book(http: &reqwest::Client, api: &str, key: &str, account: &str, scenario: &str) -> Value {
    let body = booking_body(account, Some(scenario));
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
    let short = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--booking-watchdog", "5"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("--booking-watchdog must be at least 60 seconds"));
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
    let samples = orders["data"].as_array().unwrap().iter().filter(|o| o["channel"] == "demo").count();
    assert_eq!(samples, 2, "demo data is created once (the demo store places an order of its own at each start)");
}

#[tokio::test]
async fn two_nodes_share_one_database_and_queue() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_args().await;
    let http = reqwest::Client::new();
    let metrics_token = ["--metrics-token".to_owned(), "m3trics".to_owned()];
    let first = serve_on(free_port(), dir.path(), &db, Some(free_port()), None, &metrics_token).await;
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
    let metrics = http.get(format!("{}/metrics", first.api)).bearer_auth("m3trics").send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    let subscribe = metrics.lines().find(|l| l.starts_with("waybill_jobs_queued{kind=\"subscribe\"}"));
    assert_eq!(subscribe, Some("waybill_jobs_queued{kind=\"subscribe\"} 0"), "no subscribe job left behind: {metrics}");
}

/// A node killed while the carrier holds its booking (the carrier booked, its answer never came
/// back) and restarted: the client's retry with its key is answered with that booking within
/// seconds (the restarted node reconciles what its previous run left at once), and the carrier
/// booked once.
#[tokio::test]
async fn a_restarted_node_settles_its_interrupted_bookings_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_args().await;
    let http = reqwest::Client::new();
    let cli = |args: &[&str]| support::cli(dir.path(), &db, args);
    let tenant = cli(&["tenant", "create", "Acme"]);
    let key = cli(&["apikey", "create", "--tenant", &tenant, "--mode", "test"]);
    // The carrier does every booking, then never answers (until told otherwise).
    let sim_port = free_port();
    let sim = Node {
        child: Command::new(BIN)
            .args(["sim", "--listen", &format!("127.0.0.1:{sim_port}"), "--timeout-rate", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        api: format!("http://127.0.0.1:{sim_port}"),
    };
    let port = free_port();
    let node = serve_on(port, dir.path(), &db, None, None, &[]).await;
    let account: Value = http
        .post(format!("{}/v1/carrier-accounts", node.api))
        .bearer_auth(&key)
        .json(&json!({"carrier": "sandbox", "mode": "test", "base_url": sim.api, "credentials": {"api_key": "k"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body = booking_body(account["id"].as_str().unwrap(), None);
    let book = |api: String| {
        let (http, key, body) = (http.clone(), key.clone(), body.clone());
        async move {
            http.post(format!("{api}/v1/shipments"))
                .bearer_auth(key)
                .header("Idempotency-Key", "crash-1")
                .json(&body)
                .send()
                .await
        }
    };
    let first = tokio::spawn(book(node.api.clone()));
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    drop(node); // SIGKILL while the carrier holds the booking and its answer
    assert!(first.await.unwrap().is_err(), "the first request died with its node");
    http.put(format!("{}/_sim/faults", sim.api)).json(&json!({})).send().await.unwrap();

    let node = serve_on(port, dir.path(), &db, None, None, &[]).await;
    let started = Instant::now();
    let retry = book(node.api.clone()).await.unwrap();
    let waited = started.elapsed();
    // Left to the 120 s watchdog, the retry would wait out its 60 s and answer 409
    // `idempotency_in_progress`: a 201 means the restart itself settled the booking.
    assert_eq!(retry.status(), 201, "the carrier's booking is the answer (after {waited:?})");
    let shipment: Value = retry.json().await.unwrap();
    assert_eq!(shipment["booking_state"], "booked");
    let at_carrier: Value = http
        .get(format!("{}/api/v1/shipments", sim.api))
        .query(&[("reference", shipment["id"].as_str().unwrap())])
        .header("X-Api-Key", "k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(at_carrier["shipments"].as_array().unwrap().len(), 1, "booked once at the carrier");
    eprintln!("a restarted node answered the retried booking in {waited:?}");
}

/// Runs SQL on the nodes' database (the SQLite file in `data_dir`, or the PostgreSQL one).
async fn sql(data_dir: &Path, db: &[String], statements: &str) {
    use sqlx::Connection;
    let sql = sqlx::AssertSqlSafe(statements.to_owned());
    match db.get(1) {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        }
        None => {
            let url = format!("sqlite://{}", data_dir.join("waybill.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        }
    }
}

/// The fault that booked twice: the carrier booked, then the database failed to record it.
/// The answer is `unknown`, the client's retry on another node gets that same answer (the key
/// is kept), and once the database recovers the booking is reconciled: one carrier booking.
#[tokio::test]
async fn a_database_failure_after_the_carrier_booked_never_books_twice_across_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_args().await;
    let http = reqwest::Client::new();
    let sim_port = free_port();
    let first = serve(dir.path(), &db, Some(sim_port), None).await;
    let second = serve(dir.path(), &db, None, Some(&first.api)).await;
    let key = demo_key(dir.path());
    let account = sandbox_account(&http, &first.api, &key).await;
    let (create, drop_trigger) = if db.is_empty() {
        (
            "CREATE TRIGGER fail_booked BEFORE UPDATE ON shipments WHEN NEW.booking_state = 'booked' \
             BEGIN SELECT RAISE(ABORT, 'forced failure'); END;",
            "DROP TRIGGER fail_booked",
        )
    } else {
        (
            "CREATE FUNCTION waybill_forced_failure() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'forced failure'; END $$ \
             LANGUAGE plpgsql; CREATE TRIGGER fail_booked BEFORE UPDATE ON shipments FOR EACH ROW \
             WHEN (NEW.booking_state = 'booked') EXECUTE FUNCTION waybill_forced_failure();",
            "DROP TRIGGER fail_booked ON shipments",
        )
    };
    sql(dir.path(), &db, create).await;
    let body = booking_body(&account, None);
    let book = |api: &str| {
        http.post(format!("{api}/v1/shipments"))
            .bearer_auth(&key)
            .header("Idempotency-Key", "db-fail")
            .json(&body)
            .send()
    };
    let r = book(&first.api).await.unwrap();
    assert_eq!(r.status(), 202);
    let unknown: Value = r.json().await.unwrap();
    assert_eq!(unknown["booking_state"], "unknown");
    let r = book(&second.api).await.unwrap();
    assert_eq!(r.status(), 202, "the retry on another node gets the first answer");
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["id"], unknown["id"]);
    sql(dir.path(), &db, drop_trigger).await;

    let id = unknown["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let settled = loop {
        let s: Value = http
            .get(format!("{}/v1/shipments/{id}", second.api))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["booking_state"] == "booked" {
            break s;
        }
        assert!(Instant::now() < deadline, "never reconciled: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let at_carrier: Value = http
        .get(format!("http://127.0.0.1:{sim_port}/api/v1/shipments"))
        .query(&[("reference", id)])
        .header("X-Api-Key", "demo")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bookings = at_carrier["shipments"].as_array().unwrap();
    assert_eq!(bookings.len(), 1, "booked once at the carrier");
    assert_eq!(bookings[0]["awb"], settled["tracking_number"]);
}

/// A node killed with SIGKILL while a store sends it order webhooks, and restarted on the same
/// address: every order comes in exactly once (what the node kept before dying is imported
/// after the restart; what it never acknowledged, the store sends again).
#[tokio::test]
async fn a_node_killed_mid_import_imports_every_order_once() {
    use waybill_shopsim::{NewLine, NewOrder, ShopConfig, ShopSim};
    let dir = tempfile::tempdir().unwrap();
    let db = database_args().await;
    let http = reqwest::Client::new();
    let cli = |args: &[&str]| support::cli(dir.path(), &db, args);
    let tenant = cli(&["tenant", "create", "Acme"]);
    let key = cli(&["apikey", "create", "--tenant", &tenant, "--mode", "test"]);
    let shop = ShopSim::new(ShopConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shop_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(shop.clone().serve(listener));

    let port = free_port();
    let node = serve_on(port, dir.path(), &db, None, None, &[]).await;
    let c = shop.config();
    let connection: Value = http
        .post(format!("{}/v1/channel-connections", node.api))
        .bearer_auth(&key)
        .json(&json!({"channel": "shopify", "name": "Acme", "mode": "test", "base_url": shop_url,
            "credentials": {"shop": c.shop, "access_token": c.access_token, "client_secret": c.client_secret},
            "settings": {"sync_interval_seconds": 86400}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    shop.set_webhook(connection["webhook_url"].as_str().expect("a connection"));

    const ORDERS: usize = 120;
    for i in 0..ORDERS {
        shop.place_order(NewOrder {
            email: Some(format!("c{i}@example.com")),
            phone: None,
            currency: Some("TRY".into()),
            gateway: None,
            locale: None,
            shipping_address: json!({"name": "Ayşe Yılmaz", "address1": "Bağdat Cd. 12", "city": "İstanbul",
                "zip": "34710", "country_code": "TR"}),
            line_items: vec![NewLine { sku: "MUG-1".into(), name: "Kupa".into(), quantity: 1, price: "99.90".into() }],
        });
        if i == ORDERS / 3 {
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    drop(node); // SIGKILL mid-import: some webhooks kept and not read, some never answered
    let node = serve_on(port, dir.path(), &db, None, None, &[]).await;

    let count = || async {
        let mut ids = Vec::new();
        let mut after = String::new();
        loop {
            let page: Value = http
                .get(format!("{}/v1/orders?limit=100&after={after}", node.api))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            ids.extend(page["data"].as_array().unwrap().iter().map(|o| o["external_id"].as_str().unwrap().to_owned()));
            match page["next_after"].as_str() {
                Some(next) => after = next.to_owned(),
                None => return ids,
            }
        }
    };
    let deadline = Instant::now() + Duration::from_secs(40);
    let ids = loop {
        let ids = count().await;
        if ids.len() >= ORDERS {
            break ids;
        }
        assert!(Instant::now() < deadline, "only {} of {ORDERS} orders came in", ids.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), ORDERS, "every order once: {} rows for {} ids", ids.len(), distinct.len());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(count().await.len(), ORDERS, "and no more later");
}
