//! The WooCommerce connector over real HTTP against the fake store (`waybill-shopsim`).

use chrono::Utc;
use serde_json::{Value, json};
use waybill_channels::woocommerce::WooCommerce;
use waybill_channels::{Channel, ChannelError, Connection, Fulfilment, Posted, Progress, SYNC_TOPIC};
use waybill_core::{Mode, TrackingStatus};
use waybill_shopsim::woocommerce::{WooConfig, WooSim};
use waybill_shopsim::{NewLine, NewOrder};

async fn start(shop: &WooSim) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(shop.clone().serve(listener));
    base
}

fn credentials(c: &WooConfig) -> Value {
    json!({"consumer_key": c.consumer_key, "consumer_secret": c.consumer_secret, "webhook_secret": c.webhook_secret})
}

fn new_order(gateway: Option<&str>) -> NewOrder {
    NewOrder {
        email: Some("ayse@example.com".into()),
        phone: Some("+90 532 000 00 00".into()),
        currency: Some("TRY".into()),
        gateway: gateway.map(str::to_owned),
        locale: None,
        shipping_address: json!({"name": "Ayşe Yılmaz", "address1": "Bağdat Cd. 12", "city": "İstanbul",
            "zip": "34710", "country_code": "TR"}),
        line_items: vec![NewLine { sku: "MUG-1".into(), name: "Kupa".into(), quantity: 3, price: "99.90".into() }],
    }
}

#[tokio::test]
async fn orders_are_synced_noted_once_and_completed_on_delivery() {
    let shop = WooSim::new(WooConfig::default());
    let base = start(&shop).await;
    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let woo = WooCommerce::new(waybill_outbound::Outbound::default());
    assert_eq!(woo.verify(&connection).await.unwrap(), "127.0.0.1");

    let prepaid = shop.place_order(new_order(None));
    let cod = shop.place_order(new_order(Some("Cash on delivery")));
    let page = woo.orders_since(&connection, None).await.unwrap();
    let read: Vec<_> = page.orders.iter().map(|o| woo.read_order(SYNC_TOPIC, o).unwrap()).collect();
    assert_eq!(read.iter().map(|o| o.external_id.clone()).collect::<Vec<_>>(), [prepaid.to_string(), cod.to_string()]);
    assert_eq!(read[1].payment, waybill_core::Payment::Cod { amount: "299.70".parse().unwrap() });
    assert!(read.iter().all(|o| o.parts().is_ok()));
    // The next sync starts a second before the newest change: at most those orders again.
    let again = woo.orders_since(&connection, Some(&page.cursor)).await.unwrap();
    assert!(again.orders.len() <= 2);

    let order_id = prepaid.to_string();
    let fulfilment = Fulfilment {
        order_id: &order_id,
        tracking_number: "SIM0000000002",
        tracking_url: Some("https://track.example/t/demo/SIM0000000002"),
        carrier_name: "Waybill Sandbox",
        lines: &[],
        notify_customer: true,
    };
    let made = woo.fulfil(&connection, &fulfilment).await.unwrap();
    assert_eq!(woo.fulfil(&connection, &fulfilment).await.unwrap(), made, "a retry finds its note");
    let notes = shop.notes(prepaid);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0]["note"].as_str().unwrap().contains("SIM0000000002"));
    assert_eq!(notes[0]["customer_note"], true);
    let order = shop.order(prepaid).unwrap();
    let meta =
        |key: &str| order["meta_data"].as_array().unwrap().iter().find(|m| m["key"] == key).map(|m| m["value"].clone());
    assert_eq!(meta("_tracking_number"), Some(json!("SIM0000000002")));
    assert_eq!(meta("_tracking_provider"), Some(json!("Waybill Sandbox")));

    let step =
        |status| Progress { status, happened_at: Utc::now().fixed_offset(), city: None, edd: None, delayed: false };
    assert_eq!(
        woo.post_progress(&connection, &made, &step(TrackingStatus::InTransit)).await.unwrap(),
        Posted::NoSuchStep
    );
    assert_eq!(woo.post_progress(&connection, &made, &step(TrackingStatus::Delivered)).await.unwrap(), Posted::Sent);
    assert_eq!(shop.order(prepaid).unwrap()["status"], "completed");
    assert_eq!(
        woo.post_progress(&connection, &made, &step(TrackingStatus::Delivered)).await.unwrap(),
        Posted::AlreadyThere
    );
}

#[tokio::test]
async fn wrong_keys_a_missing_order_and_an_outage_are_told_apart() {
    let shop = WooSim::new(WooConfig::default());
    let base = start(&shop).await;
    let woo = WooCommerce::new(waybill_outbound::Outbound::default());
    let wrong = json!({"consumer_key": "ck_x", "consumer_secret": "cs_x", "webhook_secret": "s"});
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &wrong };
    let refused = woo.verify(&connection).await.unwrap_err();
    assert!(
        matches!(refused, ChannelError::Auth { ref message, .. } if message.contains("woocommerce_rest_cannot_view")),
        "{refused:?}"
    );

    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let missing = Fulfilment {
        order_id: "999999",
        tracking_number: "X",
        tracking_url: None,
        carrier_name: "C",
        lines: &[],
        notify_customer: false,
    };
    assert!(matches!(woo.fulfil(&connection, &missing).await, Err(ChannelError::NotFound { .. })));
    shop.set_down(true);
    let down = woo.orders_since(&connection, None).await.unwrap_err();
    assert!(down.is_transient(), "{down:?}");
    shop.set_down(false);
    assert!(woo.verify(&connection).await.is_ok(), "back when the store is");
}
