//! The Trendyol connector over real HTTP against the fake seller account (`waybill-shopsim`).

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use waybill_channels::trendyol::Trendyol;
use waybill_channels::{
    Channel, ChannelError, Connection, Fulfilment, Posted, Progress, SYNC_TOPIC, StockItem, StockOutcome,
    WebhookRequest,
};
use waybill_core::{Mode, TrackingStatus};
use waybill_shopsim::trendyol::{AssignedCargo, TrendyolConfig, TrendyolSim, WebhookAuth};
use waybill_shopsim::{NewLine, NewOrder};

/// The 20-digit number of the claims sample in Trendyol's docs (`../shared/notes/channels.md` §4.3).
const LONG_NUMBER: &str = "72602420957047272632";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

async fn start(shop: &TrendyolSim) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(shop.clone().serve(listener));
    base
}

fn credentials(c: &TrendyolConfig) -> Value {
    json!({"seller_id": c.seller_id, "api_key": c.api_key, "api_secret": c.api_secret, "webhook_api_key": "hook-key"})
}

fn connector() -> Trendyol {
    Trendyol::new(waybill_outbound::Outbound::default())
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/trendyol/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn new_order(sku: &str, quantity: u32) -> NewOrder {
    NewOrder {
        email: Some("pf+ayse@trendyolmail.com".into()),
        phone: None,
        currency: Some("TRY".into()),
        gateway: None,
        locale: None,
        shipping_address: json!({"name": "Ayşe Yılmaz", "address1": "Bağdat Cd. 12", "city": "İstanbul",
            "district": "Kadıköy", "zip": "34710", "country_code": "TR"}),
        line_items: vec![NewLine { sku: sku.into(), name: "Kupa".into(), quantity, price: "149.90".into() }],
    }
}

fn yurtici() -> AssignedCargo {
    AssignedCargo {
        provider: "Yurtiçi Kargo Marketplace".into(),
        tracking_number: LONG_NUMBER.into(),
        tracking_link: Some("https://kargotakip.example/yk/72602420957047272632".into()),
    }
}

#[tokio::test]
async fn packages_are_synced_with_the_twenty_digit_number_exactly_in_fourteen_day_windows() {
    let shop = TrendyolSim::new(TrendyolConfig::default());
    let base = start(&shop).await;
    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let ty = connector();
    assert_eq!(ty.verify(&connection).await.unwrap(), "Trendyol seller 100200");

    let own = shop.place_order(new_order("MUG-1", 2));
    let paid = shop.place_package(new_order("MUG-1", 1), Some(yurtici()));
    // The fake gives each change its own millisecond, running a little ahead of the clock.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let page = ty.orders_since(&connection, None).await.unwrap();
    assert!(!page.more);
    let texts: Vec<String> = page.orders.iter().map(|o| String::from_utf8(o.clone()).unwrap()).collect();
    assert!(texts[1].contains(&format!("\"cargoTrackingNumber\":{LONG_NUMBER}")), "a JSON number: {}", texts[1]);
    let read: Vec<_> = page.orders.iter().map(|o| ty.read_order(SYNC_TOPIC, o).unwrap()).collect();
    assert_eq!(read.iter().map(|o| o.external_id.clone()).collect::<Vec<_>>(), [own.to_string(), paid.to_string()]);
    assert!(read[0].assigned.is_none(), "the seller's own carrier");
    let assigned = read[1].assigned.as_ref().unwrap();
    assert_eq!(assigned.tracking_number, LONG_NUMBER, "every digit, past 64 bits");
    assert_eq!(assigned.carrier_code.as_deref(), Some("YKMP"));
    let ready = &ty.info().default_ready_statuses;
    for order in &read {
        assert!(order.parts().is_ok(), "{:?}", order.parts());
        assert!(order.is_ready(&[], ready));
        let to = order.ship_to.as_ref().unwrap();
        assert_eq!((to.city.as_str(), to.state.as_deref()), ("Kadıköy", Some("İstanbul")));
    }
    // Caught up: the next sync starts a few minutes back, so at most these again.
    let again = ty.orders_since(&connection, Some(&page.cursor)).await.unwrap();
    assert!(again.orders.len() <= 2 && !again.more);

    // A package changed 20 days ago is reached window by window from an older cursor; the
    // fake refuses any window longer than 14 days.
    let now = Utc::now().timestamp_millis();
    assert!(shop.set_last_modified(own, now - 20 * DAY_MS));
    let old = json!({"since": now - 25 * DAY_MS, "page": 0}).to_string();
    let first = ty.orders_since(&connection, Some(&old)).await.unwrap();
    assert_eq!(first.orders.len(), 1);
    assert_eq!(ty.read_order(SYNC_TOPIC, &first.orders[0]).unwrap().external_id, own.to_string());
    assert!(first.more, "the next window follows at once");
    let second = ty.orders_since(&connection, Some(&first.cursor)).await.unwrap();
    assert_eq!(second.orders.len(), 1, "the package changed now");
    assert!(!second.more);
}

#[tokio::test]
async fn trendyol_paid_packages_are_picked_once_and_own_carrier_ones_delivered_once() {
    let shop = TrendyolSim::new(TrendyolConfig::default());
    let base = start(&shop).await;
    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let ty = connector();

    // Trendyol's carrier, Trendyol's number: Picking, once.
    let paid = shop.place_package(new_order("MUG-1", 2), Some(yurtici()));
    let id = paid.to_string();
    let fulfilment = Fulfilment {
        order_id: &id,
        tracking_number: LONG_NUMBER,
        tracking_url: None,
        carrier_name: "Yurtiçi Kargo",
        lines: &[],
        notify_customer: true,
    };
    assert_eq!(ty.fulfil(&connection, &fulfilment).await.unwrap(), id);
    assert_eq!(ty.fulfil(&connection, &fulfilment).await.unwrap(), id, "a retry finds Picking there");
    let updates = shop.package_updates();
    assert_eq!(updates.len(), 1, "{updates:?}");
    let package: Value = serde_json::from_str(&shop.package(paid).unwrap().replace(LONG_NUMBER, "0")).unwrap();
    let line_id = package["lines"][0]["id"].as_u64().unwrap();
    assert_eq!(
        updates[0],
        (paid, json!({"lines": [{"lineId": line_id, "quantity": 2}], "params": {}, "status": "Picking"}))
    );
    // The shape of our vector (`../shared/specs/trendyol/test_vectors/request_bodies.json`).
    let vector = &fixture("request_bodies.json")["updatePackage_Picking"]["body"];
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&updates[0].1), keys(vector));
    assert_eq!(keys(&updates[0].1["lines"][0]), keys(&vector["lines"][0]));
    assert_eq!(shop.status(paid).as_deref(), Some("Picking"));

    // The merchant's own carrier: alternative delivery with the tracking URL, once.
    let own = shop.place_order(new_order("MUG-1", 1));
    let id = own.to_string();
    let url = "https://track.example/t/demo/SIM0000000002";
    let fulfilment = Fulfilment {
        order_id: &id,
        tracking_number: "SIM0000000002",
        tracking_url: Some(url),
        carrier_name: "Waybill Sandbox",
        lines: &[],
        notify_customer: true,
    };
    assert_eq!(ty.fulfil(&connection, &fulfilment).await.unwrap(), id);
    assert_eq!(ty.fulfil(&connection, &fulfilment).await.unwrap(), id, "a retry finds it shipped");
    let deliveries = shop.alternative_deliveries();
    assert_eq!(deliveries, [(own, json!({"isPhoneNumber": false, "trackingInfo": url, "params": {}}))]);
    let vector = &fixture("request_bodies.json")["processAlternativeDelivery_link"]["body"];
    assert_eq!(keys(&deliveries[0].1), keys(vector));
    assert_eq!(shop.status(own).as_deref(), Some("Shipped"));

    // A package sent by alternative delivery is the seller's to end: delivered once, named by
    // the number Trendyol gave it; steps on the way have no Trendyol state.
    let step =
        |status| Progress { status, happened_at: Utc::now().fixed_offset(), city: None, edd: None, delayed: false };
    assert_eq!(ty.post_progress(&connection, &id, &step(TrackingStatus::InTransit)).await.unwrap(), Posted::NoSuchStep);
    assert_eq!(ty.post_progress(&connection, &id, &step(TrackingStatus::Delivered)).await.unwrap(), Posted::Sent);
    assert_eq!(
        ty.post_progress(&connection, &id, &step(TrackingStatus::Delivered)).await.unwrap(),
        Posted::AlreadyThere,
        "a retry after a lost answer sends nothing"
    );
    assert_eq!(shop.manual_steps(), [(own, "Delivered".to_owned())]);
    assert_eq!(shop.status(own).as_deref(), Some("Delivered"));
    // Trendyol's own carrier moves its packages itself: nothing is Waybill's to post.
    let paid_id = paid.to_string();
    assert_eq!(
        ty.post_progress(&connection, &paid_id, &step(TrackingStatus::Delivered)).await.unwrap(),
        Posted::NoSuchStep
    );

    let cancelled = shop.place_order(new_order("MUG-1", 1));
    assert!(shop.set_status(cancelled, "Cancelled"));
    let id = cancelled.to_string();
    let refused = ty.fulfil(&connection, &Fulfilment { order_id: &id, ..fulfilment.clone() }).await.unwrap_err();
    assert!(
        matches!(refused, ChannelError::Rejected { ref message, .. } if message.contains("cancelled")),
        "{refused:?}"
    );
    let missing = ty.fulfil(&connection, &Fulfilment { order_id: "999", ..fulfilment.clone() }).await;
    assert!(matches!(missing, Err(ChannelError::NotFound { .. })), "{missing:?}");
    assert_eq!(shop.alternative_deliveries().len(), 1, "nothing more was sent");
}

#[tokio::test]
async fn stock_goes_out_by_barcode_in_batches_with_unknown_skus_reported() {
    let shop = TrendyolSim::new(TrendyolConfig::default());
    let base = start(&shop).await;
    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let ty = connector();
    let barcode = |i: usize| format!("86800{i:08}");
    for i in 0..2_100 {
        shop.add_product(&barcode(i), &format!("SKU-{i}"));
    }
    shop.add_product("8689999999999", "");
    let skus: Vec<String> = (0..2_100).map(|i| format!("SKU-{i}")).collect();
    let mut items: Vec<StockItem<'_>> =
        skus.iter().enumerate().map(|(i, sku)| StockItem { sku, available: i as i64 % 50 }).collect();
    items[5].available = 25_000;
    items[6].available = -3;
    items.push(StockItem { sku: "8689999999999", available: 7 });
    items.push(StockItem { sku: "NOPE", available: 1 });

    let before = shop.api_calls();
    let outcomes = ty.push_stock(&connection, &items).await.unwrap();
    // 2,101 products at 200 a page, then 2,101 barcodes at 1,000 a call.
    assert_eq!(shop.api_calls() - before, 11 + 3);
    assert_eq!(outcomes.len(), items.len());
    assert!(outcomes[..2_101].iter().all(|o| *o == StockOutcome::Set));
    assert!(matches!(&outcomes[2_101], StockOutcome::UnknownSku(why) if why.contains("NOPE")));
    let batches: Vec<usize> = shop.inventory_calls().iter().map(|b| b["items"].as_array().unwrap().len()).collect();
    assert_eq!(batches, [1_000, 1_000, 101]);
    assert_eq!(shop.stock(&barcode(5)), Some(20_000), "Trendyol's most");
    assert_eq!(shop.stock(&barcode(6)), Some(0));
    assert_eq!(shop.stock(&barcode(49)), Some(49));
    assert_eq!(shop.stock("8689999999999"), Some(7), "a SKU that is a barcode");

    // The catalogue is kept: one change is one call; the same body again within 15 minutes is
    // refused by Trendyol and means the number is there.
    let one = [StockItem { sku: "SKU-1", available: 12 }];
    let before = shop.api_calls();
    assert_eq!(ty.push_stock(&connection, &one).await.unwrap(), [StockOutcome::Set]);
    assert_eq!(ty.push_stock(&connection, &one).await.unwrap(), [StockOutcome::Set]);
    assert_eq!(shop.api_calls() - before, 2);
    assert_eq!(shop.inventory_calls().len(), 4, "the repeat was refused");
    assert_eq!(shop.stock(&barcode(1)), Some(12));
}

/// `../shared/specs/trendyol/test_vectors/auth_headers_vector.json`.
#[tokio::test]
async fn every_call_carries_the_vectors_authorization_and_user_agent() {
    let v = fixture("auth_headers_vector.json");
    let text = |k: &str| v[k].as_str().unwrap().to_owned();
    let config = TrendyolConfig {
        seller_id: text("seller_id"),
        api_key: text("api_key"),
        api_secret: text("api_secret"),
        ..TrendyolConfig::default()
    };
    let shop = TrendyolSim::new(config);
    let base = start(&shop).await;
    let ty = connector();
    let mut creds = json!({"seller_id": v["seller_id"], "api_key": v["api_key"], "api_secret": v["api_secret"]});
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    assert_eq!(ty.verify(&connection).await.unwrap(), "Trendyol seller 1234");
    assert_eq!(shop.last_authorization(), Some(text("expected_authorization")));
    assert_eq!(shop.last_user_agent(), Some(text("expected_user_agent_self_integration")));
    creds["integrator"] = "TrendyolSoft".into();
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    ty.orders_since(&connection, None).await.unwrap();
    assert_eq!(shop.last_user_agent(), Some(text("expected_user_agent_integrator")));

    let wrong = json!({"seller_id": "1234", "api_key": "testApiKey", "api_secret": "wrong"});
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &wrong };
    let refused = ty.verify(&connection).await.unwrap_err();
    assert!(
        matches!(refused, ChannelError::Auth { ref message, .. } if message.contains("ClientApiAuthenticationException")),
        "{refused:?}"
    );
    // Without a User-Agent Trendyol answers 403 (the connector always sends one).
    let bare = reqwest::Client::new()
        .get(format!("{base}/order/sellers/1234/orders"))
        .basic_auth("testApiKey", Some("testApiSecret"))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 403);
}

/// Receives webhook calls on 127.0.0.1: each one's headers (lower case) and body.
async fn receiver() -> (String, Calls) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/trendyol", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            let (head, length) = loop {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break (String::new(), 0);
                }
                data.extend_from_slice(&buf[..n]);
                if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&data[..end]).into_owned();
                    data.drain(..end + 4);
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    break (head, length);
                }
            };
            while data.len() < length {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
            }
            let headers = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
            let _ = tx.send((headers, data));
        }
    });
    (url, rx)
}

type Calls = tokio::sync::mpsc::UnboundedReceiver<(Vec<(String, String)>, Vec<u8>)>;

async fn next(calls: &mut Calls) -> (Vec<(String, String)>, Vec<u8>) {
    tokio::time::timeout(Duration::from_secs(10), calls.recv()).await.unwrap().unwrap()
}

#[tokio::test]
async fn webhooks_from_the_fake_pass_with_the_registered_credential_only() {
    let shop = TrendyolSim::new(TrendyolConfig::default());
    start(&shop).await;
    let ty = connector();
    let (url, mut calls) = receiver().await;

    shop.set_webhook(&url, WebhookAuth::ApiKey("hook-key".into()));
    let id = shop.place_package(new_order("MUG-1", 1), Some(yurtici()));
    let (headers, body) = next(&mut calls).await;
    let request = WebhookRequest { headers: &headers, body: &body };
    let inbound = ty.verify_webhook(&json!({"webhook_api_key": "hook-key"}), &request).unwrap();
    assert!(inbound.is_order);
    let order = ty.read_order(&inbound.topic, &body).unwrap();
    assert_eq!(order.external_id, id.to_string());
    assert_eq!(order.assigned.unwrap().tracking_number, LONG_NUMBER, "the full package, every digit");
    assert!(ty.verify_webhook(&json!({"webhook_api_key": "hook-kez"}), &request).is_err());
    assert!(ty.verify_webhook(&json!({"webhook_username": "u", "webhook_password": "p"}), &request).is_err());
    assert!(ty.verify_webhook(&json!({}), &request).is_err(), "no credential configured");

    shop.set_webhook(&url, WebhookAuth::Basic { username: "webhookUser".into(), password: "webhookPass".into() });
    assert!(shop.set_status(id, "Picking"));
    let (headers, body) = next(&mut calls).await;
    let request = WebhookRequest { headers: &headers, body: &body };
    let basic = json!({"webhook_username": "webhookUser", "webhook_password": "webhookPass"});
    assert!(ty.verify_webhook(&basic, &request).is_ok());
    assert_eq!(ty.read_order("package", &body).unwrap().status, "picking");
    let wrong = json!({"webhook_username": "webhookUser", "webhook_password": "webhookPasz"});
    assert!(ty.verify_webhook(&wrong, &request).is_err());
    assert!(ty.verify_webhook(&json!({"webhook_api_key": "hook-key"}), &request).is_err());
}

#[tokio::test]
async fn wrong_keys_throttling_and_an_outage_are_told_apart() {
    let shop = TrendyolSim::new(TrendyolConfig::default());
    let base = start(&shop).await;
    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let ty = connector();

    shop.set_throttle(1, 7);
    let throttled = ty.verify(&connection).await.unwrap_err();
    assert!(throttled.is_transient(), "{throttled:?}");
    assert_eq!(throttled.retry_after(), Some(Duration::from_secs(7)));
    assert!(ty.verify(&connection).await.is_ok(), "the limit passed");

    shop.set_down(true);
    let down = ty.orders_since(&connection, None).await.unwrap_err();
    assert!(matches!(down, ChannelError::Unavailable { .. }), "{down:?}");
    let stock = ty.push_stock(&connection, &[StockItem { sku: "SKU-1", available: 1 }]).await.unwrap_err();
    assert!(stock.is_transient(), "{stock:?}");
    shop.set_down(false);
    assert!(ty.verify(&connection).await.is_ok(), "back when Trendyol is");

    let other_seller = json!({"seller_id": "999", "api_key": "ty_demo_key", "api_secret": "ty_demo_secret"});
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &other_seller };
    assert!(matches!(ty.verify(&connection).await, Err(ChannelError::Auth { .. })));

    let nowhere = Connection { mode: Mode::Test, base_url: Some("http://127.0.0.1:9"), credentials: &creds };
    assert!(ty.verify(&nowhere).await.unwrap_err().is_transient());
    let live = Connection { mode: Mode::Live, base_url: Some("http://127.0.0.1:9"), credentials: &creds };
    let refused = ty.verify(&live).await.unwrap_err();
    assert!(refused.to_string().contains("refused"), "{refused}");
}
