//! `serve --demo`: the carrier simulator and a fake Shopify store in-process, a demo tenant with
//! a sandbox carrier account, the store connected as its sales channel, a few sample orders,
//! and a walkthrough printed to copy and paste. Idempotent across restarts.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result};
use rust_decimal::Decimal;
use waybill_core::api::requests::{CarrierAccountCreate, ChannelConnectionCreate, LocationCreate, OrderCreate};
use waybill_core::{Address, LineItem, Mode, Payment, Scope};
use waybill_engine::Engine;

const DEMO_TENANT: &str = "demo";

/// Where the demo keeps its files and where each of its parts listens.
pub struct Places<'a> {
    pub data_dir: &'a Path,
    pub sim: SocketAddr,
    pub shop: SocketAddr,
    pub api: SocketAddr,
}

pub async fn start(engine: &Engine, places: Places<'_>, day_seconds: f64) -> Result<()> {
    let Places { data_dir, sim: sim_listen, shop: shop_listen, api: listen } = places;
    let config = waybill_sim::SimConfig {
        day_seconds,
        state_file: Some(data_dir.join("sim-state.jsonl")),
        faults: Default::default(),
    };
    let sim = waybill_sim::Simulator::new(config).await.context("starting the carrier simulator")?;
    let sim_listener = tokio::net::TcpListener::bind(sim_listen)
        .await
        .with_context(|| format!("the simulator cannot listen on {sim_listen}"))?;
    tokio::spawn(async move {
        if let Err(e) = sim.serve(sim_listener).await {
            tracing::error!(error = %e, "the carrier simulator stopped");
        }
    });

    let store = engine.store();
    let key_file = data_dir.join("demo-api-key.txt");
    let (tenant, key) = match store.tenant_by_name(DEMO_TENANT).await? {
        Some(t) if key_file.exists() => (t, std::fs::read_to_string(&key_file)?.trim().to_owned()),
        existing => {
            let tenant = match existing {
                Some(t) => t,
                None => store.create_tenant(DEMO_TENANT).await?,
            };
            let key = store.create_api_key(&tenant.id, Mode::Test).await?;
            // The demo key is a test-mode key for this local demo; it is kept so restarts can print it.
            std::fs::write(&key_file, &key)?;
            (tenant, key)
        }
    };
    let scope = Scope::test(tenant.id.clone());
    let accounts = store.list_carrier_accounts(&scope, None, 100).await?;
    let sim_url = format!("http://{sim_listen}");
    let account = match accounts
        .items
        .into_iter()
        .find(|a| a.carrier == "sandbox" && a.base_url.as_deref() == Some(sim_url.as_str()))
    {
        Some(a) => a,
        None => {
            let input = CarrierAccountCreate {
                carrier: "sandbox".into(),
                mode: Mode::Test,
                description: Some("Demo sandbox (in-process simulator)".into()),
                base_url: Some(sim_url),
                credentials: serde_json::json!({ "api_key": "demo" }),
                settings: None,
            };
            engine.create_carrier_account(&scope, input).await.map_err(|e| anyhow::anyhow!("{e}"))?.0
        }
    };
    if store.default_location(&scope).await?.is_none() {
        let depot = LocationCreate { name: "Demo Depo".into(), address: demo_depot(), default: true };
        engine.create_location(&scope, depot).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    if store.list_orders(&scope, None, 1).await?.items.is_empty() {
        for order in sample_orders() {
            engine.create_order(&scope, order).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    // Customers may cancel their own orders in the demo: the second order's page is printed.
    engine.set_customers_may_cancel(&scope, true).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let orders = store.list_orders(&scope, None, 2).await?;
    let order_id = orders.items.first().map(|o| o.id.to_string()).unwrap_or_default();
    let cancel_page = match orders.items.get(1) {
        Some(second) => {
            engine.order_cancellation(&scope, &second.id).await.map_err(|e| anyhow::anyhow!("{e}"))?.customer_page
        }
        None => None,
    };
    let shop = start_shop(engine, &scope, shop_listen).await?;
    println!("{}", walkthrough(listen, &key, account.id.as_str(), &order_id, cancel_page.as_deref()));
    println!("{}", shop_walkthrough(shop_listen, &shop));
    Ok(())
}

/// The fake Shopify store, connected to the demo tenant (once: a restart finds the
/// connection), with one order placed in it so the import shows at once.
async fn start_shop(engine: &Engine, scope: &Scope, listen: SocketAddr) -> Result<waybill_shopsim::ShopSim> {
    let shop = waybill_shopsim::ShopSim::new(waybill_shopsim::ShopConfig::default());
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("the demo store cannot listen on {listen}"))?;
    let serving = shop.clone();
    tokio::spawn(async move {
        if let Err(e) = serving.serve(listener).await {
            tracing::error!(error = %e, "the demo store stopped");
        }
    });
    let shop_url = format!("http://{listen}");
    let existing = engine.store().list_channel_connections(scope, None, 100).await?;
    let connection = match existing.items.into_iter().find(|c| c.base_url.as_deref() == Some(shop_url.as_str())) {
        Some(c) => c,
        None => {
            let c = shop.config();
            let input = ChannelConnectionCreate {
                channel: "shopify".into(),
                name: "Demo Store (a fake Shopify store, in-process)".into(),
                mode: Mode::Test,
                base_url: Some(shop_url),
                credentials: serde_json::json!({
                    "shop": c.shop, "access_token": c.access_token, "client_secret": c.client_secret
                }),
                settings: Default::default(),
            };
            engine.create_channel_connection(scope, input).await.map_err(|e| anyhow::anyhow!("{e}"))?.0
        }
    };
    shop.set_webhook(&engine.channel_webhook_url(&connection).context("Shopify takes webhooks")?);
    // The store sells the sample order's T-shirt; the depot counts 25, and every booking's
    // reservation reaches the store's stock by itself.
    shop.add_inventory_item(DEMO_SKU, true);
    let depot = engine.store().default_location(scope).await?;
    if let Some(depot) = depot
        && engine.store().stock_level(scope, &depot.id, DEMO_SKU).await?.is_none()
    {
        let count = serde_json::from_value(serde_json::json!({"sku": DEMO_SKU, "on_hand": 25}))?;
        engine.set_stock(scope, count).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    shop.place_order(sample_shop_order());
    Ok(shop)
}

/// The SKU the fake store sells and the demo depot stocks.
const DEMO_SKU: &str = "TSHIRT-M-BLUE";

fn sample_shop_order() -> waybill_shopsim::NewOrder {
    serde_json::from_value(sample_shop_order_json()).expect("the sample order reads")
}

fn sample_shop_order_json() -> serde_json::Value {
    serde_json::json!({
        "email": "elif@example.com", "locale": "tr",
        "shipping_address": {"name": "Elif Demir", "address1": "Kızılay Meydanı 5", "city": "Ankara",
            "zip": "06420", "country_code": "TR", "phone": "+90 555 000 11 22"},
        "line_items": [{"sku": "TSHIRT-M-BLUE", "name": "Tişört, mavi, M", "quantity": 1, "price": "249.95"}]
    })
}

/// The demo's warehouse: the sender of every booking that names none.
fn demo_depot() -> Address {
    Address {
        name: "Demo Depo".into(),
        company: None,
        phone: Some("+90 312 000 00 00".into()),
        email: None,
        street1: "Atatürk Cd. 1".into(),
        street2: None,
        city: "Ankara".into(),
        state: None,
        postal_code: "06100".into(),
        country: "TR".into(),
    }
}

fn istanbul_customer() -> Address {
    Address {
        name: "Şükrü Çağlayan".into(),
        company: None,
        phone: Some("+90 532 123 45 67".into()),
        email: Some("sukru@example.com".into()),
        street1: "Bağdat Caddesi No: 12 Daire 4".into(),
        street2: None,
        city: "İstanbul".into(),
        state: Some("Kadıköy".into()),
        postal_code: "34710".into(),
        country: "TR".into(),
    }
}

fn seoul_customer() -> Address {
    Address {
        name: "김민준".into(),
        company: None,
        phone: Some("+82 10-1234-5678".into()),
        email: None,
        street1: "테헤란로 152".into(),
        street2: Some("강남파이낸스센터 10층".into()),
        city: "서울특별시 강남구".into(),
        state: None,
        postal_code: "06236".into(),
        country: "KR".into(),
    }
}

fn sample_orders() -> Vec<OrderCreate> {
    let item = |sku: &str, name: &str, qty: u32, price: &str| LineItem {
        sku: sku.into(),
        name: Some(name.into()),
        quantity: qty,
        unit_price: price.parse::<Decimal>().expect("sample prices are decimals"),
    };
    vec![
        OrderCreate {
            channel: Some("demo".into()),
            external_id: "1001".into(),
            currency: "TRY".parse().expect("TRY is known"),
            payment: Payment::Cod { amount: "749.90".parse().expect("decimal") },
            ship_to: istanbul_customer(),
            line_items: vec![
                item("TSHIRT-M-BLUE", "Tişört, mavi, M", 2, "249.95"),
                item("CAP-RED", "Şapka", 1, "250.00"),
            ],
            locale: Some("tr-TR".into()),
        },
        OrderCreate {
            channel: Some("demo".into()),
            external_id: "1002".into(),
            currency: "KRW".parse().expect("KRW is known"),
            payment: Payment::Prepaid,
            ship_to: seoul_customer(),
            line_items: vec![item("MUG-01", "머그컵", 1, "15000")],
            locale: Some("ko-KR".into()),
        },
    ]
}

fn shop_walkthrough(listen: SocketAddr, shop: &waybill_shopsim::ShopSim) -> String {
    let shop_url = format!("http://{listen}");
    format!(
        r#"  # a fake Shopify store ({name}) is connected as a sales channel: an order placed in it
  # comes in by webhook within a second (one is placed now); book it like any order, and the
  # store gets the fulfilment with the tracking number and each step of the parcel
  curl -s {shop_url}/_shop/orders -H 'Content-Type: application/json' -d '{order}'
  curl -s $WB/v1/channel-imports -H "Authorization: Bearer $KEY"
  curl -s {shop_url}/_shop/orders/ORDER_ID          # the store's view: fulfilments and their events
  curl -s {shop_url}/_shop/inventory                 # its stock, set from the depot's available count
"#,
        name = shop.config().name,
        order = sample_shop_order_json(),
    )
}

fn walkthrough(listen: SocketAddr, key: &str, account: &str, order: &str, cancel_page: Option<&str>) -> String {
    let base = format!("http://{listen}");
    let cancelling = match cancel_page {
        Some(path) => format!(
            "  # the second order's customer may still cancel it (docs/cancellation.md): their page\n  \
             open {base}{path}\n\n"
        ),
        None => String::new(),
    };
    format!(
        r#"
Waybill demo is running at {base}  (API docs: {base}/docs)
Demo API key (test mode): {key}

Try it:
  export WB={base} KEY={key}

  # the demo orders
  curl -s $WB/v1/orders -H "Authorization: Bearer $KEY"

  # book the first one with the sandbox carrier; it ships from the demo's default location
  # (GET $WB/v1/locations), so the booking names no sender
  curl -s $WB/v1/shipments -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -H "Idempotency-Key: demo-1001" -d '{{
      "order_id": "{order}", "carrier_account_id": "{account}", "service": "express",
      "parcels": [{{"weight": {{"value": 1.2, "unit": "kg"}}}}],
      "options": {{"simulate": "ndr"}}
    }}'

  # then, with the shipment id (shp_…) and tracking number from that answer:
  curl -s $WB/v1/shipments/SHIPMENT_ID/label?format=pdf -H "Authorization: Bearer $KEY" -o label.pdf
  curl -s $WB/v1/trackers/TRACKING_NUMBER -H "Authorization: Bearer $KEY"

  # the customer is emailed (in Turkish) at each milestone: the emails appear in this log
  # as they go out, and the shipment's log lists them
  curl -s $WB/v1/shipments/SHIPMENT_ID/notifications -H "Authorization: Bearer $KEY"

  # about two minutes in, the courier finds nobody home: an NDR case waits for your decision
  # (the carrier waits three minutes, then returns the parcel). Ask for another attempt,
  # or a date, a corrected address, or the return (see docs/ndr.md):
  curl -s "$WB/v1/ndr?state=awaiting_action" -H "Authorization: Bearer $KEY"
  curl -s $WB/v1/ndr/NDR_ID/actions -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{{"action": "reattempt"}}'

  # a parcel booked with "simulate": "info" stops at the hub: the carrier asks for the
  # recipient's phone. The request waits on you (and, with the information_needed milestone
  # on, the customer gets a page that asks for just that); the fix goes to the carrier and the
  # parcel moves on (docs/information-requests.md)
  curl -s "$WB/v1/information-requests?state=open" -H "Authorization: Bearer $KEY"
  curl -s $WB/v1/information-requests/REQUEST_ID/resolve -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' -d '{{"value": "+90 532 111 22 33"}}'

  # close the day before the courier comes (here about 12 s after a booking): every parcel
  # waiting for its pickup goes on one manifest, the sandbox confirms the close, and the
  # driver signs the PDF (docs/manifests.md)
  curl -s $WB/v1/manifests -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{{"carrier_account_id": "{account}"}}'
  curl -s $WB/v1/manifests/MANIFEST_ID/document -H "Authorization: Bearer $KEY" -o manifest.pdf

  # the customer's tracking page (enter the postcode 34710 to see the delivery details)
  open {base}/t/TRACKING_NUMBER

{cancelling}  # or cancel an order yourself: a booking not yet picked up is voided at the carrier
  curl -s $WB/v1/orders/ORDER_ID/cancel -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{{"reason": "customer changed their mind"}}'

  # your systems can be told too: a webhook endpoint (see docs/webhooks.md)
  curl -s $WB/v1/webhooks -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{{"url": "http://127.0.0.1:9000/hook", "events": ["shipment.status_changed"]}}'
"#
    )
}
