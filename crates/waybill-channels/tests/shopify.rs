//! The Shopify connector over real HTTP against the fake store (`waybill-shopsim`), and every
//! GraphQL document and variable set it sends checked against Shopify's Admin API schema.

mod support;

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use support::schema::Schema;
use waybill_channels::shopify::{DOCUMENTS, Shopify};
use waybill_channels::{
    Channel, ChannelError, Connection, Fulfilment, Posted, Progress, SYNC_TOPIC, StockItem, StockOutcome,
};
use waybill_core::{Mode, TrackingStatus};
use waybill_shopsim::{NewLine, NewOrder, ShopConfig, ShopSim};

#[test]
fn every_document_the_connector_sends_is_valid_against_shopifys_schema() {
    let schema = Schema::load();
    for (name, document) in DOCUMENTS {
        let problems = schema.check_document(document);
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }
    // The check itself finds what is wrong.
    let wrong = "query Q($id: String!) { order(id: $id) { nme lineItems { nodes { sku } } } }";
    let problems = schema.check_document(wrong);
    assert!(problems.iter().any(|p| p.contains("has no field `nme`")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("$id is `String!`, the argument is `ID!`")), "{problems:?}");
}

async fn start(shop: &ShopSim) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(shop.clone().serve(listener));
    base
}

fn credentials(config: &ShopConfig) -> Value {
    json!({"shop": config.shop, "access_token": config.access_token, "client_secret": config.client_secret})
}

fn new_order(sku: &str, quantity: u32) -> NewOrder {
    NewOrder {
        email: Some("ayse@example.com".into()),
        phone: None,
        currency: Some("TRY".into()),
        gateway: None,
        locale: Some("tr".into()),
        shipping_address: json!({"name": "Ayşe Yılmaz", "address1": "Bağdat Cd. 12", "city": "İstanbul",
            "zip": "34710", "country_code": "TR", "phone": "+90 532 000 00 00"}),
        line_items: vec![NewLine { sku: sku.into(), name: "T-shirt".into(), quantity, price: "249.90".into() }],
    }
}

/// Every call the store received, its variables checked against the schema.
fn assert_calls_fit_the_schema(shop: &ShopSim) {
    let schema = Schema::load();
    for call in shop.calls() {
        let problems = schema.check_variables(&call.query, &call.variables);
        assert!(problems.is_empty(), "{}: {problems:#?} in {}", call.field, call.variables);
    }
}

#[tokio::test]
async fn orders_are_synced_fulfilled_once_and_their_progress_posted_once() {
    let shop = ShopSim::new(ShopConfig::default());
    let base = start(&shop).await;
    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let shopify = Shopify::new(waybill_outbound::Outbound::default());

    assert_eq!(shopify.verify(&connection).await.unwrap(), "Demo Store");

    let first = shop.place_order(new_order("TSHIRT-M", 2));
    let second = shop.place_order(new_order("MUG-1", 1));
    let page = shopify.orders_since(&connection, None).await.unwrap();
    let read: Vec<_> = page.orders.iter().map(|o| shopify.read_order(SYNC_TOPIC, o).unwrap()).collect();
    assert_eq!(read.iter().map(|o| o.external_id.clone()).collect::<Vec<_>>(), [first.to_string(), second.to_string()]);
    assert!(read.iter().all(|o| o.parts().is_ok()), "{read:?}");
    assert!(!page.more);
    // Nothing changed since: the next sync brings back only orders changed at the cursor's
    // instant (already read, the same change), and a later order once it is placed.
    let again = shopify.orders_since(&connection, Some(&page.cursor)).await.unwrap();
    let newest = read.iter().map(|o| o.updated_at).max().unwrap();
    for o in &again.orders {
        assert_eq!(shopify.read_order(SYNC_TOPIC, o).unwrap().updated_at, newest);
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    let third = shop.place_order(new_order("CAP-1", 1));
    let later = shopify.orders_since(&connection, Some(&again.cursor)).await.unwrap();
    let ids: Vec<_> = later.orders.iter().map(|o| shopify.read_order(SYNC_TOPIC, o).unwrap().external_id).collect();
    assert_eq!(ids.last(), Some(&third.to_string()), "{ids:?}");

    let order_id = first.to_string();
    let fulfilment = Fulfilment {
        order_id: &order_id,
        tracking_number: "SIM0000000001",
        tracking_url: Some("https://track.example/t/demo/SIM0000000001"),
        carrier_name: "Sandbox Express",
        lines: &[],
        notify_customer: true,
    };
    let made = shopify.fulfil(&connection, &fulfilment).await.unwrap();
    // A retry (its answer lost) finds the same fulfilment instead of making another.
    assert_eq!(shopify.fulfil(&connection, &fulfilment).await.unwrap(), made);
    let seen = shop.fulfilments(first);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].tracking_number, "SIM0000000001");
    assert_eq!(seen[0].company.as_deref(), Some("Sandbox Express"));
    assert_eq!(seen[0].lines, [("TSHIRT-M".to_owned(), 2)]);
    assert!(seen[0].notify_customer);

    let step = |status| Progress {
        status,
        happened_at: Utc::now().fixed_offset(),
        city: Some("İstanbul"),
        edd: None,
        delayed: false,
    };
    assert_eq!(
        shopify.post_progress(&connection, &made, &step(TrackingStatus::InfoReceived)).await.unwrap(),
        Posted::NoSuchStep
    );
    assert_eq!(
        shopify.post_progress(&connection, &made, &step(TrackingStatus::InTransit)).await.unwrap(),
        Posted::Sent
    );
    assert_eq!(
        shopify.post_progress(&connection, &made, &step(TrackingStatus::InTransit)).await.unwrap(),
        Posted::AlreadyThere
    );
    assert_eq!(
        shopify.post_progress(&connection, &made, &step(TrackingStatus::Delivered)).await.unwrap(),
        Posted::Sent
    );
    assert_eq!(shop.fulfilments(first)[0].events, ["IN_TRANSIT", "DELIVERED"]);

    // A cancelled booking withdraws its fulfilment, once; its lines can be fulfilled again.
    let second_id = second.to_string();
    let mug = Fulfilment { order_id: &second_id, tracking_number: "SIM0000000003", ..fulfilment.clone() };
    let withdrawn = shopify.fulfil(&connection, &mug).await.unwrap();
    assert_eq!(shopify.cancel_fulfilment(&connection, &withdrawn).await.unwrap(), Posted::Sent);
    assert_eq!(shopify.cancel_fulfilment(&connection, &withdrawn).await.unwrap(), Posted::AlreadyThere);
    let again = Fulfilment { tracking_number: "SIM0000000004", ..mug.clone() };
    let rebooked = shopify.fulfil(&connection, &again).await.unwrap();
    assert_ne!(rebooked, withdrawn);
    let seen = shop.fulfilments(second);
    assert_eq!(seen.iter().map(|f| f.cancelled).collect::<Vec<_>>(), [true, false]);
    assert_eq!(seen[1].lines, [("MUG-1".to_owned(), 1)]);

    // Nothing is left of the first order; part of the second is fulfilled by SKU.
    let refused = shopify
        .fulfil(&connection, &Fulfilment { tracking_number: "SIM0000000009", ..fulfilment.clone() })
        .await
        .unwrap_err();
    assert!(matches!(refused, ChannelError::Rejected { .. }), "{refused:?}");
    assert_calls_fit_the_schema(&shop);
}

#[tokio::test]
async fn stock_is_set_by_sku_in_batches_and_unknown_or_untracked_skus_are_reported() {
    let shop = ShopSim::new(ShopConfig::default());
    let base = start(&shop).await;
    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let shopify = Shopify::new(waybill_outbound::Outbound::default());

    let skus: Vec<String> = (0..300).map(|i| format!("SKU-{i:03}")).collect();
    for sku in &skus {
        shop.add_inventory_item(sku, true);
    }
    // One SKU on two variants (Shopify allows it): both are set.
    shop.add_inventory_item("SKU-000", true);
    shop.add_inventory_item("GIFT-CARD", false);
    shop.add_inventory_item("it's-quoted", true);
    let mut items: Vec<StockItem<'_>> =
        skus.iter().enumerate().map(|(i, sku)| StockItem { sku, available: i as i64 }).collect();
    items.push(StockItem { sku: "NOT-IN-SHOP", available: 4 });
    items.push(StockItem { sku: "GIFT-CARD", available: 4 });
    items.push(StockItem { sku: "it's-quoted", available: 7 });

    let outcomes = shopify.push_stock(&connection, &items).await.unwrap();
    assert_eq!(outcomes.len(), items.len());
    assert!(outcomes[..300].iter().all(|o| *o == StockOutcome::Set));
    assert!(matches!(&outcomes[300], StockOutcome::UnknownSku(why) if why.contains("NOT-IN-SHOP")));
    assert!(matches!(&outcomes[301], StockOutcome::UnknownSku(why) if why.contains("does not track")));
    assert_eq!(outcomes[302], StockOutcome::Set);
    assert_eq!(shop.stock("SKU-000"), [0, 0]);
    assert_eq!(shop.stock("SKU-299"), [299]);
    assert_eq!(shop.stock("it's-quoted"), [7]);

    // 303 SKUs: the primary location, four lookups of a hundred, two sets of up to 250.
    let calls = shop.calls();
    let count = |field: &str| calls.iter().filter(|c| c.field == field).count();
    assert_eq!((count("location"), count("inventoryItems"), count("inventorySetQuantities")), (1, 4, 2));
    assert_calls_fit_the_schema(&shop);

    // A connection naming its location uses it without asking; a location the store does not
    // have is refused.
    let elsewhere = json!({"shop": "demo-store", "access_token": "shpat_demo", "client_secret": "x",
        "location_id": "999"});
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &elsewhere };
    let refused = shopify.push_stock(&connection, &items[..1]).await.unwrap_err();
    assert!(matches!(&refused, ChannelError::Rejected { message, .. } if message.contains("location")), "{refused:?}");
    assert_eq!(shop.calls().iter().filter(|c| c.field == "location").count(), 1);
}

#[tokio::test]
async fn a_wrong_token_throttling_and_an_outage_are_told_apart() {
    let shop = ShopSim::new(ShopConfig::default());
    let base = start(&shop).await;
    let shopify = Shopify::new(waybill_outbound::Outbound::default());
    let wrong = json!({"shop": "demo-store", "access_token": "shpat_wrong", "client_secret": "x"});
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &wrong };
    assert!(matches!(shopify.verify(&connection).await, Err(ChannelError::Auth { .. })));

    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    shop.set_faults(false, 1);
    let throttled = shopify.verify(&connection).await.unwrap_err();
    assert!(throttled.is_transient());
    assert!(throttled.retry_after().is_some_and(|d| d >= Duration::from_secs(1)), "{throttled:?}");
    assert!(shopify.verify(&connection).await.is_ok(), "the budget came back");

    shop.set_faults(true, 0);
    let down = shopify.orders_since(&connection, None).await.unwrap_err();
    assert!(matches!(down, ChannelError::Unavailable { .. }), "{down:?}");
    shop.set_faults(false, 0);

    let nowhere = Connection { mode: Mode::Test, base_url: Some("http://127.0.0.1:9"), credentials: &creds };
    assert!(shopify.verify(&nowhere).await.unwrap_err().is_transient());
}

#[tokio::test]
async fn a_live_connection_never_reaches_a_private_address() {
    let shopify = Shopify::new(waybill_outbound::Outbound::default());
    let creds = json!({"shop": "demo-store", "access_token": "t", "client_secret": "s"});
    let live = Connection { mode: Mode::Live, base_url: Some("http://127.0.0.1:9"), credentials: &creds };
    let refused = shopify.verify(&live).await.unwrap_err();
    assert!(refused.to_string().contains("refused"), "{refused}");
}
