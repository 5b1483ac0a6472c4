//! Sales channels end to end: a Shopify-shaped store (`waybill-shopsim`) over real HTTP sends
//! its signed order webhooks to the running server; the order is booked with the carrier
//! simulator; the fulfilment with tracking and each step of the parcel go back to the store.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use waybill_shopsim::{NewLine, NewOrder, SeenFulfilment, ShopConfig, ShopSim};

use crate::common::Harness;

async fn start_shop() -> (ShopSim, String) {
    let shop = ShopSim::new(ShopConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(shop.clone().serve(listener));
    (shop, url)
}

/// Connects the store through the API; returns the connection.
async fn connect(h: &Harness, shop: &ShopSim, shop_url: &str, settings: Value) -> Value {
    let c = shop.config();
    let (status, connection) = h
        .post(
            "/v1/channel-connections",
            &json!({"channel": "shopify", "name": "Demo on Shopify", "mode": "test", "base_url": shop_url,
                "credentials": {"shop": c.shop, "access_token": c.access_token, "client_secret": c.client_secret},
                "settings": settings}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {connection}", h.backend);
    connection
}

fn new_order(zip: &str) -> NewOrder {
    NewOrder {
        email: Some("ayse@example.com".into()),
        phone: None,
        currency: Some("TRY".into()),
        gateway: None,
        locale: Some("tr".into()),
        shipping_address: json!({"name": "Ayşe Yılmaz", "address1": "Bağdat Cd. 12", "city": "İstanbul",
            "zip": zip, "country_code": "TR", "phone": "+90 532 000 00 00"}),
        line_items: vec![NewLine {
            sku: "TSHIRT-M".into(),
            name: "T-shirt".into(),
            quantity: 2,
            price: "249.90".into(),
        }],
    }
}

/// Waits for the Waybill order a channel order became.
async fn channel_order(h: &Harness, external_id: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    let wanted = external_id.to_string();
    loop {
        let (_, orders) = h.get("/v1/orders?limit=100").await;
        if let Some(o) = orders["data"].as_array().unwrap().iter().find(|o| o["external_id"] == wanted.as_str()) {
            return o.clone();
        }
        assert!(Instant::now() < deadline, "[{}] channel order {external_id} never came in", h.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn imports(h: &Harness, query: &str) -> Vec<Value> {
    let (status, list) = h.get(&format!("/v1/channel-imports{query}")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["data"].as_array().unwrap().clone()
}

/// The imports that came by webhook (a new connection's first sync may find the same orders).
async fn webhook_imports(h: &Harness, query: &str) -> Vec<Value> {
    imports(h, query).await.into_iter().filter(|i| i["topic"] != "sync").collect()
}

/// Waits until `until` holds for the store's fulfilments of an order.
async fn fulfilments(shop: &ShopSim, id: u64, until: impl Fn(&[SeenFulfilment]) -> bool) -> Vec<SeenFulfilment> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = shop.fulfilments(id);
        if until(&seen) {
            return seen;
        }
        assert!(Instant::now() < deadline, "the store never saw what was expected: {seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_shopify_order_comes_in_ships_and_its_fulfilment_and_progress_go_back_once() {
    let h = Harness::start().await;
    let (shop, shop_url) = start_shop().await;
    let (_, depot) = h
        .post(
            "/v1/locations",
            &json!({"name": "Bursa depo", "address": {"name": "Demo Store", "street1": "Atatürk Cd. 1", "city": "Bursa",
                "postal_code": "16010", "country": "TR"}}),
        )
        .await;
    let connection = connect(&h, &shop, &shop_url, json!({"notify_customer": true, "location_id": depot["id"]})).await;
    assert_eq!(connection["verified_as"], "Demo Store");
    assert_eq!(connection["settings"]["location_id"], depot["id"]);
    assert!(connection.get("credentials").is_none());
    let webhook_url = connection["webhook_url"].as_str().unwrap();
    assert!(webhook_url.ends_with(&format!("/v1/hooks/channels/shopify/{}", connection["id"].as_str().unwrap())));
    shop.set_webhook(webhook_url);

    let placed = shop.place_order(new_order("34710"));
    let order = channel_order(&h, placed).await;
    assert_eq!(order["channel"], "shopify");
    assert_eq!(order["connection_id"], connection["id"]);
    assert_eq!(order["number"], "#1001");
    assert_eq!(order["status"], "ready", "a paid order is ready to ship: {order}");
    assert_eq!(order["ship_to"]["email"], "ayse@example.com");
    assert_eq!(order["locale"], "tr");

    // No sender in the booking: the connection's location ships its orders.
    let mut booking = h.booking(order["id"].as_str(), "delivered");
    booking.as_object_mut().unwrap().remove("ship_from");
    let (status, shipment) = h.post("/v1/shipments", &booking).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    assert_eq!(shipment["ship_from"]["city"], "Bursa");
    let number = shipment["tracking_number"].as_str().unwrap().to_owned();
    h.wait_for_order(order["id"].as_str().unwrap(), "closed", Duration::from_secs(30)).await;

    let seen = fulfilments(&shop, placed, |f| {
        f.first().is_some_and(|f| f.events.last().map(String::as_str) == Some("DELIVERED"))
    })
    .await;
    assert_eq!(seen.len(), 1, "one fulfilment: {seen:?}");
    assert_eq!(seen[0].tracking_number, number);
    assert_eq!(seen[0].company.as_deref(), Some("Waybill Sandbox"));
    assert!(seen[0].tracking_url.as_deref().is_some_and(|u| u.contains("/t/") && u.ends_with(&number)), "{seen:?}");
    assert!(seen[0].notify_customer);
    // The newest step is posted each time: steps the parcel passed while a post was on its
    // way may be skipped, but they arrive in order, never twice, the delivery last.
    let events = &seen[0].events;
    let journey = ["IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"];
    let at: Vec<usize> =
        events.iter().map(|e| journey.iter().position(|j| j == e).expect("a step of the journey")).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "in order and never twice: {events:?}");
    assert_eq!(events.last().map(String::as_str), Some("DELIVERED"), "{events:?}");

    // The store's own `orders/updated` after the fulfilment changed nothing Waybill keeps.
    let deadline = Instant::now() + Duration::from_secs(15);
    let statuses: Vec<String> = loop {
        let statuses: Vec<_> = imports(&h, "").await.iter().map(|i| i["status"].as_str().unwrap().to_owned()).collect();
        if statuses.len() >= 2 && statuses.iter().all(|s| s != "pending") {
            break statuses;
        }
        assert!(Instant::now() < deadline, "[{}] imports never settled: {statuses:?}", h.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(statuses.contains(&"imported".to_owned()), "{statuses:?}");
    assert!(statuses.iter().all(|s| s == "imported" || s == "unchanged"), "{statuses:?}");
}

#[tokio::test]
async fn an_order_shipped_in_two_parts_gets_two_fulfilments_and_closes_when_both_arrive() {
    let h = Harness::start().await;
    let (shop, shop_url) = start_shop().await;
    let connection = connect(&h, &shop, &shop_url, json!({})).await;
    shop.set_webhook(connection["webhook_url"].as_str().unwrap());
    let mut two_skus = new_order("34710");
    two_skus.line_items.push(NewLine { sku: "MUG-1".into(), name: "Kupa".into(), quantity: 1, price: "99.90".into() });
    let placed = shop.place_order(two_skus);
    let order = channel_order(&h, placed).await;
    let order_id = order["id"].as_str().unwrap();

    let part = |lines: Value| {
        let mut booking = h.booking(Some(order_id), "delivered");
        booking["lines"] = lines;
        booking
    };
    // Asking for more than the order holds, or a SKU it does not have: 422, nothing booked.
    let (status, problem) = h
        .post(
            "/v1/shipments",
            &part(json!([{"sku": "TSHIRT-M", "quantity": 3},
        {"sku": "CAP-9", "quantity": 1}])),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let pointers: Vec<_> = problem["errors"].as_array().unwrap().iter().map(|e| e["pointer"].clone()).collect();
    assert_eq!(pointers, [json!("/lines/0/quantity"), json!("/lines/1/sku")], "{problem}");

    let (status, first) = h.post("/v1/shipments", &part(json!([{"sku": "TSHIRT-M", "quantity": 2}]))).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["lines"], json!([{"sku": "TSHIRT-M", "quantity": 2}]));
    h.wait_for_status(first["id"].as_str().unwrap(), "delivered", Duration::from_secs(30)).await;
    // One part delivered, one line still in no shipment: the order is shipped, not delivered.
    let (_, now) = h.get(&format!("/v1/orders/{order_id}")).await;
    assert_eq!(now["status"], "shipped", "{now}");

    // No lines given: the booking takes what is left.
    let (status, second) = h.post("/v1/shipments", &h.booking(Some(order_id), "delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["lines"], json!([{"sku": "MUG-1", "quantity": 1}]));
    let (status, none_left) = h.post("/v1/shipments", &h.booking(Some(order_id), "delivered")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{none_left}");
    assert!(none_left["detail"].as_str().unwrap().contains("every line"), "{none_left}");

    h.wait_for_order(order_id, "closed", Duration::from_secs(30)).await;
    let seen = fulfilments(&shop, placed, |f| f.len() == 2).await;
    let lines: Vec<_> = seen.iter().map(|f| f.lines.clone()).collect();
    assert_eq!(lines, [vec![("TSHIRT-M".to_owned(), 2)], vec![("MUG-1".to_owned(), 1)]], "{seen:?}");
    assert_eq!(seen[0].tracking_number, first["tracking_number"].as_str().unwrap());
    assert_eq!(seen[1].tracking_number, second["tracking_number"].as_str().unwrap());
}

#[tokio::test]
async fn unsigned_foreign_and_repeated_webhooks_change_nothing_and_a_bad_payload_fails_alone() {
    let h = Harness::start().await;
    let (shop, shop_url) = start_shop().await;
    let connection = connect(&h, &shop, &shop_url, json!({})).await;
    let url = connection["webhook_url"].as_str().unwrap().to_owned();
    let order = shop.order_json(shop.place_order(new_order("34710"))).unwrap();
    let body = order.to_string();
    let send = |body: String, signature: Option<String>, webhook_id: &'static str, topic: &'static str| {
        let mut request = h
            .http
            .post(&url)
            .header("content-type", "application/json")
            .header("x-shopify-topic", topic)
            .header("x-shopify-webhook-id", webhook_id)
            .body(body);
        if let Some(s) = signature {
            request = request.header("x-shopify-hmac-sha256", s);
        }
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(send(body.clone(), None, "w1", "orders/create").await, StatusCode::UNAUTHORIZED);
    let forged = body.replace("249.90", "0.01");
    assert_eq!(send(forged, Some(shop.sign(body.as_bytes())), "w1", "orders/create").await, StatusCode::UNAUTHORIZED);
    let other = url.replace(connection["id"].as_str().unwrap(), "chc_01jd3xk8w3v6a8g0n6r1c5e2qz");
    let r = h
        .http
        .post(&other)
        .header("x-shopify-hmac-sha256", shop.sign(body.as_bytes()))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "an unknown connection looks like a bad signature");
    assert!(webhook_imports(&h, "").await.is_empty(), "nothing kept from refused calls");

    let garbage = "{\"id\": \"not a number\"}".to_owned();
    assert_eq!(send(garbage.clone(), Some(shop.sign(garbage.as_bytes())), "w2", "orders/create").await, StatusCode::OK);
    let products = "{\"id\": 1}".to_owned();
    assert_eq!(
        send(products.clone(), Some(shop.sign(products.as_bytes())), "w3", "products/create").await,
        StatusCode::OK
    );
    for _ in 0..3 {
        assert_eq!(send(body.clone(), Some(shop.sign(body.as_bytes())), "w4", "orders/create").await, StatusCode::OK);
    }
    channel_order(&h, order["id"].as_u64().unwrap()).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let all = loop {
        let all = webhook_imports(&h, "").await;
        if all.len() >= 2 && all.iter().all(|i| i["status"] != "pending") {
            break all;
        }
        assert!(Instant::now() < deadline, "imports never settled: {all:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(all.len(), 2, "the garbage and the order kept once; another topic not kept: {all:?}");
    let failed = webhook_imports(&h, "?status=failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0]["reason"].as_str().unwrap().contains("not a Shopify order"), "{failed:?}");
    let (status, one) = h.get(&format!("/v1/channel-imports/{}", failed[0]["id"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["payload"]["id"], "not a number", "the payload is kept as the channel sent it");
    let (status, again) =
        h.post(&format!("/v1/channel-imports/{}/retry", failed[0]["id"].as_str().unwrap()), &json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    let imported = imports(&h, "?status=imported").await;
    let (status, conflict) =
        h.post(&format!("/v1/channel-imports/{}/retry", imported[0]["id"].as_str().unwrap()), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    let (status, bad) = h.get("/v1/channel-imports?status=lost").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["errors"][0]["pointer"], "/query/status");
}

#[tokio::test]
async fn a_missed_webhook_is_found_by_the_sync_and_a_cancellation_after_delivery_is_held() {
    let h = Harness::start().await;
    let (shop, shop_url) = start_shop().await;
    let connection = connect(&h, &shop, &shop_url, json!({})).await;
    let id = connection["id"].as_str().unwrap();
    // No webhook registered: the store's calls go nowhere, as if they were lost.
    let placed = shop.place_order(new_order("34710"));
    let bad_postcode = shop.place_order(new_order("9"));
    let (status, _) = h.post(&format!("/v1/channel-connections/{id}/sync"), &json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let order = channel_order(&h, placed).await;

    let deadline = Instant::now() + Duration::from_secs(10);
    let failed = loop {
        let failed = imports(&h, "?status=failed").await;
        if !failed.is_empty() {
            break failed;
        }
        assert!(Instant::now() < deadline, "the order with a bad postcode never failed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failed[0]["external_id"], bad_postcode.to_string());
    assert!(failed[0]["reason"].as_str().unwrap().contains("/ship_to/postal_code"), "{failed:?}");

    let (status, shipment) = h.post("/v1/shipments", &h.booking(order["id"].as_str(), "delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    h.wait_for_status(shipment["id"].as_str().unwrap(), "delivered", Duration::from_secs(20)).await;
    shop.set_webhook(connection["webhook_url"].as_str().unwrap());
    shop.cancel_order(placed);
    let deadline = Instant::now() + Duration::from_secs(10);
    let held = loop {
        let held = imports(&h, "?status=held").await;
        if !held.is_empty() {
            break held;
        }
        assert!(Instant::now() < deadline, "the cancellation after delivery was never held");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(held[0]["reason"].as_str().unwrap().contains("/status"), "{held:?}");
    let (_, still) = h.get(&format!("/v1/orders/{}", order["id"].as_str().unwrap())).await;
    assert_ne!(still["status"], "cancelled", "a delivered order is not cancelled behind the merchant's back");

    let (status, _) = h
        .http
        .delete(format!("{}/v1/channel-connections/{id}", h.api))
        .bearer_auth(&h.key)
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = h.get(&format!("/v1/channel-connections/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_connection_is_checked_before_it_is_saved() {
    let h = Harness::start().await;
    let (shop, shop_url) = start_shop().await;
    let (status, problem) = h
        .post("/v1/channel-connections", &json!({"channel": "shopfy", "name": "x", "mode": "test", "credentials": {}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["pointer"], "/channel");
    assert!(problem["errors"][0]["detail"].as_str().unwrap().contains("shopify"), "{problem}");

    let (status, problem) = h
        .post(
            "/v1/channel-connections",
            &json!({"channel": "shopify", "name": "x", "mode": "live", "base_url": shop_url,
                "credentials": {"shop": "demo-store", "access_token": "t"}, "settings": {"sync_interval_seconds": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let pointers: Vec<_> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    for p in ["/settings/sync_interval_seconds", "/credentials/client_secret", "/mode"] {
        assert!(pointers.contains(&p), "{p} in {pointers:?}");
    }

    let c = shop.config();
    let (status, problem) = h
        .post(
            "/v1/channel-connections",
            &json!({"channel": "shopify", "name": "x", "mode": "test", "base_url": shop_url,
                "credentials": {"shop": c.shop, "access_token": c.access_token, "client_secret": c.client_secret},
                "settings": {"location_id": "loc_01jd3xk8w3v6a8g0n6r1c5e2qz"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/settings/location_id");
    let (status, problem) = h
        .post(
            "/v1/channel-connections",
            &json!({"channel": "shopify", "name": "x", "mode": "test", "base_url": shop_url,
                "credentials": {"shop": c.shop, "access_token": "shpat_wrong", "client_secret": c.client_secret}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/credentials");
    let (_, list) = h.get("/v1/channel-connections").await;
    assert!(list["data"].as_array().unwrap().is_empty(), "nothing saved: {list}");

    let (status, channels) = h.get("/v1/channels").await;
    assert_eq!(status, StatusCode::OK);
    let slugs: Vec<_> = channels["data"].as_array().unwrap().iter().map(|c| c["slug"].clone()).collect();
    assert_eq!(slugs, [json!("amazon"), json!("shopify"), json!("trendyol"), json!("woocommerce")]);
    assert!(channels["data"].as_array().unwrap().iter().all(|c| c["supports"]["fulfilment"] == true));
    assert_eq!(channels["data"][0]["supports"]["order_webhooks"], false, "Amazon's notifications go to AWS");
}

#[tokio::test]
async fn the_store_being_down_delays_the_fulfilment_but_never_loses_or_repeats_it() {
    let h = Harness::start().await;
    let (shop, shop_url) = start_shop().await;
    let connection = connect(&h, &shop, &shop_url, json!({})).await;
    shop.set_webhook(connection["webhook_url"].as_str().unwrap());
    let placed = shop.place_order(new_order("34710"));
    let order = channel_order(&h, placed).await;
    shop.set_faults(true, 0);
    let (status, shipment) = h.post("/v1/shipments", &h.booking(order["id"].as_str(), "delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(shop.fulfilments(placed).is_empty());
    shop.set_faults(false, 2);
    let seen = fulfilments(&shop, placed, |f| {
        f.first().is_some_and(|f| f.events.last().map(String::as_str) == Some("DELIVERED"))
    })
    .await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].tracking_number, shipment["tracking_number"].as_str().unwrap());
}

#[tokio::test]
async fn a_woocommerce_order_comes_in_ships_gets_its_tracking_note_and_completes_on_delivery() {
    use waybill_shopsim::woocommerce::{WooConfig, WooSim};
    let h = Harness::start().await;
    let shop = WooSim::new(WooConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shop_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(shop.clone().serve(listener));
    let c = shop.config().clone();
    let body = json!({"channel": "woocommerce", "name": "Kupa Dükkânı", "mode": "test", "base_url": shop_url,
        "credentials": {"consumer_key": c.consumer_key, "consumer_secret": c.consumer_secret, "webhook_secret": c.webhook_secret},
        "settings": {"notify_customer": true}});
    let (status, connection) = h.post("/v1/channel-connections", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{connection}");
    let (status, twice) = h.post("/v1/channel-connections", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "one site per tenant and mode: {twice}");
    assert_eq!(twice["errors"][0]["pointer"], "/channel");
    let webhook_url = connection["webhook_url"].as_str().unwrap();

    // WooCommerce's ping when the webhook is created, unsigned: acknowledged, nothing kept.
    let ping = h.http.post(webhook_url).body("webhook_id=7").send().await.unwrap();
    assert_eq!(ping.status(), StatusCode::OK);
    let unsigned =
        h.http.post(webhook_url).header("x-wc-webhook-topic", "order.created").body("{}").send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);

    shop.set_webhook(webhook_url);
    let mut order_in = new_order("34710");
    order_in.gateway = Some("Cash on delivery".into());
    let placed = shop.place_order(order_in);
    let order = channel_order(&h, placed).await;
    assert_eq!(order["channel"], "woocommerce");
    assert_eq!(order["status"], "ready", "`processing` is ready to ship: {order}");
    assert_eq!(order["payment"], json!({"method": "cod", "amount": "499.80"}));

    let (status, shipment) = h.post("/v1/shipments", &h.booking(order["id"].as_str(), "delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    let number = shipment["tracking_number"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while shop.order(placed).unwrap()["status"] != "completed" {
        assert!(Instant::now() < deadline, "never completed: {:?}", shop.order(placed));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let notes = shop.notes(placed);
    assert_eq!(notes.len(), 1, "one note: {notes:?}");
    assert!(notes[0]["note"].as_str().unwrap().contains(&number), "{notes:?}");
    assert_eq!(notes[0]["customer_note"], true);
}

/// A booking of an order the merchant has fulfilled in the store's admin meanwhile: the store
/// refuses its fulfilment for good, which is told once as `channel.update_failed` and not retried.
#[tokio::test]
async fn a_fulfilment_the_store_refuses_for_good_is_told_once_and_not_retried() {
    let h = Harness::start().await;
    let (shop, shop_url) = start_shop().await;
    let connection = connect(&h, &shop, &shop_url, json!({})).await;
    shop.set_webhook(connection["webhook_url"].as_str().unwrap());
    let placed = shop.place_order(new_order("34710"));
    let order = channel_order(&h, placed).await;
    assert!(shop.fulfil_in_admin(placed, "HANDWRITTEN-1"));
    let (status, shipment) = h.post("/v1/shipments", &h.booking(order["id"].as_str(), "delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    let id = shipment["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let failed = |events: &[waybill_store::StoredEvent]| {
        events.iter().filter(|e| e.event.kind() == "channel.update_failed").count()
    };
    loop {
        let events = h.store.events_about(&h.scope, &id).await.unwrap();
        if failed(&events) > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "[{}] the refusal was never told", h.backend);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Longer than a retry's first backoff (at most 2 s): no retry tells it again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(failed(&h.store.events_about(&h.scope, &id).await.unwrap()), 1, "told once");
    assert_eq!(shop.fulfilments(placed).len(), 1, "the store kept its one fulfilment");
    let calls = shop.calls().iter().filter(|c| c.field == "fulfillmentCreate").count();
    assert_eq!(calls, 0, "the refused fulfilment was not sent: it was found to have nothing left");
}

/// An order cancelled in the store after it was booked, before pickup: Waybill cancels it too,
/// voids the booking at the carrier and withdraws the fulfilment from the store.
#[tokio::test]
async fn an_order_cancelled_in_the_store_before_pickup_voids_its_booking() {
    let h = Harness::with(crate::common::Options { day_seconds: 3600.0, ..Default::default() }).await;
    let (shop, shop_url) = start_shop().await;
    let connection = connect(&h, &shop, &shop_url, json!({})).await;
    shop.set_webhook(connection["webhook_url"].as_str().unwrap());
    let placed = shop.place_order(new_order("34710"));
    let order = channel_order(&h, placed).await;
    let order_id = order["id"].as_str().unwrap();
    let (_, booked) = h.post("/v1/shipments", &h.booking(Some(order_id), "delivered")).await;
    fulfilments(&shop, placed, |f| f.len() == 1).await;

    shop.cancel_order(placed);
    h.wait_for_order(order_id, "cancelled", Duration::from_secs(10)).await;
    let voided = h.wait_for_status(booked["id"].as_str().unwrap(), "cancelled", Duration::from_secs(10)).await;
    assert_eq!(voided["booking_state"], "booked", "[{}] voided, not failed: {voided}", h.backend);
    let (_, cancellation) = h.get(&format!("/v1/orders/{order_id}/cancellation")).await;
    assert_eq!(cancellation["cancellation"]["by"], "channel", "{cancellation}");
    fulfilments(&shop, placed, |f| f.first().is_some_and(|f| f.cancelled)).await;
}

/// A booking cancelled in Waybill withdraws its fulfilment from the store, so the order's next
/// booking is fulfilled there in its place.
#[tokio::test]
async fn a_cancelled_booking_withdraws_its_fulfilment_and_the_next_booking_is_fulfilled() {
    // A slow clock: the first parcel is not picked up, so its booking can be cancelled.
    let h = Harness::with(crate::common::Options { day_seconds: 3600.0, ..Default::default() }).await;
    let (shop, shop_url) = start_shop().await;
    let connection = connect(&h, &shop, &shop_url, json!({})).await;
    shop.set_webhook(connection["webhook_url"].as_str().unwrap());
    let placed = shop.place_order(new_order("34710"));
    let order = channel_order(&h, placed).await;
    let (_, first) = h.post("/v1/shipments", &h.booking(order["id"].as_str(), "delivered")).await;
    fulfilments(&shop, placed, |f| f.len() == 1).await;
    let (status, cancelled) =
        h.post(&format!("/v1/shipments/{}/cancel", first["id"].as_str().unwrap()), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    fulfilments(&shop, placed, |f| f.first().is_some_and(|f| f.cancelled)).await;

    let (status, second) = h.post("/v1/shipments", &h.booking(order["id"].as_str(), "delivered")).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let seen = fulfilments(&shop, placed, |f| f.len() == 2).await;
    assert_eq!(seen[1].tracking_number, second["tracking_number"].as_str().unwrap());
    assert!(!seen[1].cancelled);
    assert_eq!(seen[1].lines, [("TSHIRT-M".to_owned(), 2)]);
    let cancels = shop.calls().iter().filter(|c| c.field == "fulfillmentCancel").count();
    assert_eq!(cancels, 1, "withdrawn once");
    let events = h.store.events_about(&h.scope, second["id"].as_str().unwrap()).await.unwrap();
    assert!(events.iter().all(|e| e.event.kind() != "channel.update_failed"));
}
