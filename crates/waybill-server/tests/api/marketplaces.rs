//! Marketplaces end to end over real HTTP: a Trendyol-shaped seller account and an Amazon-shaped
//! Selling Partner API (`waybill-shopsim`) against the running server and the carrier simulator.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use waybill_shopsim::trendyol::{AssignedCargo, TrendyolConfig, TrendyolSim, WebhookAuth};
use waybill_shopsim::{NewLine, NewOrder};

use crate::common::Harness;

/// Polls `f` until it gives a value, or fails saying `what` after 30 s.
async fn eventually<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A listener on a free loopback port for a fake channel, and its address.
async fn loopback() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

async fn order_by_external_id(h: &Harness, external_id: &str) -> Option<Value> {
    let (_, orders) = h.get("/v1/orders?limit=100").await;
    orders["data"].as_array().unwrap().iter().find(|o| o["external_id"] == external_id).cloned()
}

fn package(sku: &str, quantity: u32) -> NewOrder {
    NewOrder {
        email: Some("pf+ayse@trendyolmail.com".into()),
        phone: None,
        currency: Some("TRY".into()),
        gateway: None,
        locale: None,
        shipping_address: json!({"name": "Ayşe Yılmaz", "address1": "Bağdat Cd. 12", "city": "İstanbul",
            "district": "Kadıköy", "zip": "34710", "country_code": "TR", "phone": "+90 532 000 00 00"}),
        line_items: vec![NewLine { sku: sku.into(), name: "Kupa".into(), quantity, price: "99.90".into() }],
    }
}

#[tokio::test]
async fn a_trendyol_package_ships_with_trendyols_own_carrier_and_tracking_and_its_steps_come_back() {
    let h = Harness::start().await;
    let shop = TrendyolSim::new(TrendyolConfig::default());
    let (listener, shop_url) = loopback().await;
    tokio::spawn(shop.clone().serve(listener));
    shop.add_product("8680000000017", "KUPA-1");
    let (status, depot) = h
        .post(
            "/v1/locations",
            &json!({"name": "Bursa depo", "default": true, "address": {"name": "Kupa Dükkânı",
                "street1": "Atatürk Cd. 1", "city": "Bursa", "postal_code": "16010", "country": "TR"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{depot}");
    let (status, level) = h.put("/v1/inventory", &json!({"sku": "KUPA-1", "on_hand": 10})).await;
    assert_eq!(status, StatusCode::OK, "{level}");

    let c = shop.config().clone();
    let (status, connection) = h
        .post(
            "/v1/channel-connections",
            &json!({"channel": "trendyol", "name": "Kupa on Trendyol", "mode": "test", "base_url": shop_url,
                "credentials": {"seller_id": c.seller_id, "api_key": c.api_key, "api_secret": c.api_secret,
                    "webhook_api_key": "a-long-random-webhook-key"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {connection}", h.backend);
    let webhook_url = connection["webhook_url"].as_str().unwrap().to_owned();

    // An unsigned marketplace: a call without the registered key is refused and kept nowhere.
    let forged = h.http.post(&webhook_url).header("x-api-key", "guess").body("{}").send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    shop.set_webhook(&webhook_url, WebhookAuth::ApiKey("a-long-random-webhook-key".into()));

    // Trendyol booked the parcel with its own contract; the number is longer than 64 bits.
    let number = "72602420957047272632";
    let cargo = AssignedCargo {
        provider: "Yurtiçi Kargo Marketplace".into(),
        tracking_number: number.into(),
        tracking_link: Some(format!("https://kargotakip.example/?code={number}")),
    };
    let id = shop.place_package(package("KUPA-1", 2), Some(cargo));
    let order = eventually("the package came in", async || order_by_external_id(&h, &id.to_string()).await).await;
    assert_eq!(order["status"], "ready", "{order}");
    assert_eq!(order["assigned_shipping"]["tracking_number"], number, "{order}");
    assert_eq!(order["assigned_shipping"]["carrier_code"], "YKMP", "{order}");

    // A generic account for Trendyol's marketplace shipping: the booking takes the assigned number.
    let (status, account) = h
        .post(
            "/v1/carrier-accounts",
            &json!({"carrier": "generic", "mode": "test", "settings": {"name": "Trendyol kargo",
                "services": [{"code": "marketplace", "name": "Trendyol anlaşmalı kargo"}],
                "tracking_numbers": {"pattern": "[0-9]{8,30}"},
                "tracking_url": "https://kargotakip.example/?code={tracking_number}"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    let (status, shipment) = h
        .post(
            "/v1/shipments",
            &json!({"order_id": order["id"], "carrier_account_id": account["id"], "service": "marketplace",
                "parcels": [{"weight": {"value": 0.8, "unit": "kg"}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    assert_eq!(shipment["tracking_number"], number);
    let label = h
        .http
        .get(format!("{}/v1/shipments/{}/label?format=zpl", h.api, shipment["id"].as_str().unwrap()))
        .bearer_auth(&h.key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(label.contains(number), "the label's barcode carries Trendyol's number");

    // Back to Trendyol: the package is picked, once; its stock is what is left to sell.
    let updates = eventually("Trendyol was told the package is being picked", async || {
        Some(shop.package_updates()).filter(|u| !u.is_empty())
    })
    .await;
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0].1["status"], "Picking");
    eventually("the stock reached Trendyol", async || (shop.stock("8680000000017") == Some(8)).then_some(())).await;

    // Trendyol follows its carrier: its package states are the shipment's scans.
    shop.set_status(id, "Shipped");
    let shipment_id = shipment["id"].as_str().unwrap();
    h.wait_for_status(shipment_id, "in_transit", Duration::from_secs(30)).await;
    shop.set_status(id, "Delivered");
    let delivered = h.wait_for_status(shipment_id, "delivered", Duration::from_secs(30)).await;
    assert!(
        delivered["events"].as_array().unwrap().iter().any(|e| e["description"] == "Trendyol: delivered"),
        "{delivered}"
    );
    h.wait_for_order(order["id"].as_str().unwrap(), "closed", Duration::from_secs(30)).await;
    assert_eq!(shop.package_updates().len(), 1, "nothing was sent twice");

    // A package the merchant ships with its own carrier: alternative delivery with the tracking
    // link, and once delivered, Trendyol is told so (by the number Trendyol gave it).
    let own = shop.place_order(package("KUPA-1", 1));
    let order =
        eventually("the second package came in", async || order_by_external_id(&h, &own.to_string()).await).await;
    let mut booking = h.booking(order["id"].as_str(), "delivered");
    booking.as_object_mut().unwrap().remove("ship_from");
    let (status, shipment) = h.post("/v1/shipments", &booking).await;
    assert_eq!(status, StatusCode::CREATED, "{shipment}");
    let deliveries = eventually("Trendyol got the alternative delivery", async || {
        Some(shop.alternative_deliveries()).filter(|d| !d.is_empty())
    })
    .await;
    let link = deliveries[0].1["trackingInfo"].as_str().unwrap().to_owned();
    assert!(link.ends_with(shipment["tracking_number"].as_str().unwrap()), "{link}");
    eventually("Trendyol was told the package was delivered", async || {
        (shop.manual_steps() == [(own, "Delivered".to_owned())]).then_some(())
    })
    .await;
    h.wait_for_order(order["id"].as_str().unwrap(), "closed", Duration::from_secs(30)).await;
    assert_eq!(shop.alternative_deliveries().len(), 1);
    assert_eq!(shop.manual_steps().len(), 1, "told once");
}

#[tokio::test]
async fn an_amazon_order_comes_in_by_the_sync_ships_in_two_parts_and_is_confirmed_once_each() {
    use waybill_shopsim::amazon::{AmazonConfig, AmazonSim, FulfilledBy};
    let h = Harness::start().await;
    let shop = AmazonSim::new(AmazonConfig::default());
    let (listener, shop_url) = loopback().await;
    tokio::spawn(shop.clone().serve(listener));
    shop.add_listings(["KUPA-1", "TS-M"]);
    let (status, _) = h
        .post(
            "/v1/locations",
            &json!({"name": "Bursa depo", "default": true, "address": {"name": "Kupa Dükkânı",
                "street1": "Atatürk Cd. 1", "city": "Bursa", "postal_code": "16010", "country": "TR"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    h.put("/v1/inventory", &json!({"sku": "KUPA-1", "on_hand": 10})).await;

    let mut two_lines = package("KUPA-1", 2);
    two_lines.line_items.push(NewLine {
        sku: "TS-M".into(),
        name: "Tişört".into(),
        quantity: 1,
        price: "149.50".into(),
    });
    let merchant = shop.place_order(two_lines, FulfilledBy::Merchant);
    let fba = shop.place_order(package("ECHO-1", 1), FulfilledBy::Amazon);

    let c = shop.config().clone();
    let (status, connection) = h
        .post(
            "/v1/channel-connections",
            &json!({"channel": "amazon", "name": "Kupa on Amazon.com.tr", "mode": "test", "base_url": shop_url,
                "credentials": {"client_id": c.client_id, "client_secret": c.client_secret,
                    "refresh_token": c.refresh_token, "seller_id": c.seller_id, "marketplace_id": c.marketplace_id,
                    "region": "eu"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {connection}", h.backend);
    assert!(connection.get("webhook_url").is_none(), "Amazon's orders come by the sync: {connection}");

    // The first sync brings the merchant-fulfilled order; Amazon's own (FBA) is not asked for.
    let order = eventually("the sync brought the order", async || order_by_external_id(&h, &merchant).await).await;
    assert_eq!(order["status"], "ready", "{order}");
    assert!(order_by_external_id(&h, &fba).await.is_none());

    let mut first = h.booking(order["id"].as_str(), "delivered");
    first.as_object_mut().unwrap().remove("ship_from");
    first["lines"] = json!([{"sku": "KUPA-1", "quantity": 2}]);
    let (status, first) = h.post("/v1/shipments", &first).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let confirmed = eventually("Amazon got the first confirmation", async || {
        Some(shop.confirmations(&merchant)).filter(|c| !c.is_empty())
    })
    .await;
    let detail = &confirmed[0]["packageDetail"];
    assert_eq!(detail["trackingNumber"], first["tracking_number"]);
    assert_eq!(detail["carrierCode"], "Other");
    assert_eq!(detail["carrierName"], "Waybill Sandbox");
    assert_eq!(detail["orderItems"].as_array().unwrap().len(), 1, "only the first part: {detail}");
    eventually("the stock reached Amazon", async || (shop.stock("KUPA-1") == Some(8)).then_some(())).await;

    let mut rest = h.booking(order["id"].as_str(), "delivered");
    rest.as_object_mut().unwrap().remove("ship_from");
    let (status, second) = h.post("/v1/shipments", &rest).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["lines"], json!([{"sku": "TS-M", "quantity": 1}]));
    h.wait_for_order(order["id"].as_str().unwrap(), "closed", Duration::from_secs(30)).await;
    let confirmed = eventually("Amazon got the second confirmation", async || {
        Some(shop.confirmations(&merchant)).filter(|c| c.len() == 2)
    })
    .await;
    assert_eq!(confirmed[1]["packageDetail"]["trackingNumber"], second["tracking_number"]);
    // The syncs after the confirmations changed nothing Waybill keeps: nothing is held.
    let (_, imports) = h.get("/v1/channel-imports?limit=100").await;
    assert!(
        imports["data"].as_array().unwrap().iter().all(|i| i["status"] != "held" && i["status"] != "failed"),
        "{imports}"
    );
}

#[tokio::test]
async fn with_the_sellers_sqs_queue_an_amazon_order_and_its_cancellation_arrive_between_syncs() {
    use waybill_shopsim::amazon::{AmazonConfig, AmazonSim, FulfilledBy};
    let h = Harness::start().await;
    let shop = AmazonSim::new(AmazonConfig::default());
    let (listener, shop_url) = loopback().await;
    tokio::spawn(shop.clone().serve(listener));

    let (c, q) = (shop.config().clone(), shop.queue().config().clone());
    let (status, connection) = h
        .post(
            "/v1/channel-connections",
            &json!({"channel": "amazon", "name": "Kupa on Amazon.com.tr", "mode": "test", "base_url": shop_url,
                "credentials": {"client_id": c.client_id, "client_secret": c.client_secret,
                    "refresh_token": c.refresh_token, "seller_id": c.seller_id, "marketplace_id": c.marketplace_id,
                    "region": "eu", "sqs_queue_url": shop.queue().queue_url(&shop_url),
                    "aws_access_key_id": q.access_key_id, "aws_secret_access_key": q.secret_access_key,
                    "aws_region": q.region},
                "settings": {"sync_interval_seconds": 3600}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "[{}] {connection}", h.backend);
    assert!(connection["verified_as"].as_str().unwrap().contains("arn:aws:sqs:eu-west-1"), "{connection}");
    assert!(connection["credentials"].is_null(), "credentials are never shown again: {connection}");
    let searches = || {
        shop.calls_to("GET", "/orders/2026-01-01/orders")
            .iter()
            .filter(|c| c.path == "/orders/2026-01-01/orders")
            .count()
    };
    eventually("the first sync ran", async || (searches() > 0).then_some(())).await;
    let searched = searches();

    let placed = shop.place_order(package("KUPA-1", 1), FulfilledBy::Merchant);
    let fba = shop.place_order(package("ECHO-1", 1), FulfilledBy::Amazon);
    let order = eventually("the queue brought the order", async || order_by_external_id(&h, &placed).await).await;
    assert_eq!(order["status"], "ready", "{order}");
    assert!(shop.cancel_order(&placed));
    let id = order["id"].as_str().unwrap().to_owned();
    eventually("the queue brought the cancellation", async || {
        let (_, order) = h.get(&format!("/v1/orders/{id}")).await;
        (order["status"] == "cancelled").then_some(())
    })
    .await;
    eventually("every message was deleted", async || (shop.queue().pending() == 0).then_some(())).await;
    assert_eq!(searches(), searched, "the hourly sync did not run again: the queue brought both");
    assert!(order_by_external_id(&h, &fba).await.is_none(), "an FBA order is Amazon's to ship");
    let (_, imports) = h.get("/v1/channel-imports?limit=100").await;
    assert_eq!(imports["data"].as_array().unwrap().len(), 2, "one import per change: {imports}");
}
