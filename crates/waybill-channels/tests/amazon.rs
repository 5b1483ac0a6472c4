//! The Amazon connector over real HTTP against the fake SP-API and Login with Amazon
//! (`waybill-shopsim`), with every body Waybill sends checked against Amazon's models and feed
//! schemas (`fixtures/amazon/`, from `../shared/specs/amazon/`).

#[allow(dead_code)] // `support::schema` is the Shopify tests'.
mod support;

use std::io::Read as _;
use std::time::Duration;

use serde_json::{Value, json};
use support::amazon_schema::{definition, documented_bodies, feed_schema, feed_schema_as_given, violations};
use waybill_channels::amazon::{Amazon, FeedPolling, package_reference_id};
use waybill_channels::{Channel, ChannelError, Connection, Fulfilment, SYNC_TOPIC, StockItem, StockOutcome};
use waybill_core::Mode;
use waybill_shopsim::amazon::{AmazonConfig, AmazonSim, FulfilledBy};
use waybill_shopsim::{NewLine, NewOrder};

async fn start(shop: &AmazonSim) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(shop.clone().serve(listener));
    base
}

fn credentials(c: &AmazonConfig) -> Value {
    json!({"client_id": c.client_id, "client_secret": c.client_secret, "refresh_token": c.refresh_token,
        "seller_id": c.seller_id, "marketplace_id": c.marketplace_id, "region": "eu"})
}

/// The connector, waiting milliseconds for feeds instead of minutes.
fn amazon() -> Amazon {
    Amazon::new(waybill_outbound::Outbound::default())
        .with_feed_polling(FeedPolling { first_wait: Duration::from_millis(1), max_wait: Duration::from_millis(300) })
}

fn line(sku: &str, quantity: u32, price: &str) -> NewLine {
    NewLine { sku: sku.into(), name: format!("Ürün {sku}"), quantity, price: price.into() }
}

fn new_order(lines: Vec<NewLine>, gateway: Option<&str>) -> NewOrder {
    NewOrder {
        email: None,
        phone: None,
        currency: None,
        gateway: gateway.map(str::to_owned),
        locale: None,
        shipping_address: json!({"name": "Ayşe Yılmaz", "address1": "Bağdat Cd. 12", "address2": "D:4",
            "city": "İstanbul", "province": "İstanbul", "zip": "34710", "country_code": "TR", "phone": "+90 532 000 00 00"}),
        line_items: lines,
    }
}

fn assert_valid(validator: &jsonschema::Validator, body: &Value, what: &str) {
    let found = violations(validator, body);
    assert!(found.is_empty(), "{what} does not follow Amazon's model: {found:?}\n{body:#}");
}

#[tokio::test]
async fn the_token_is_fetched_once_and_reused_and_bad_credentials_are_told_apart() {
    let shop = AmazonSim::new(AmazonConfig::default());
    let base = start(&shop).await;
    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let amazon = amazon();
    assert_eq!(amazon.verify(&connection).await.unwrap(), "Demo Store on Amazon.com.tr");
    amazon.orders_since(&connection, None).await.unwrap();
    amazon.verify(&connection).await.unwrap();
    assert_eq!(shop.token_requests(), 1, "one token for every call while it lasts");
    assert_eq!(shop.api_calls(), 3);
    assert!(shop.calls().iter().all(|c| c.access_token.as_deref().is_some_and(|t| t.starts_with("Atza|"))));

    // A revoked token is refused once, forgotten, and replaced by the next call.
    shop.revoke_tokens();
    let refused = amazon.verify(&connection).await.unwrap_err();
    assert!(matches!(&refused, ChannelError::Auth { message, .. } if message.contains("Unauthorized")), "{refused:?}");
    assert!(amazon.verify(&connection).await.is_ok());
    assert_eq!(shop.token_requests(), 2);

    let mut wrong = creds.clone();
    wrong["refresh_token"] = "Atzr|revoked".into();
    let call = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &wrong };
    let refused = amazon.verify(&call).await.unwrap_err();
    assert!(matches!(&refused, ChannelError::Auth { message, .. } if message.contains("invalid_grant")), "{refused:?}");
    wrong = creds.clone();
    wrong["client_secret"] = "nope".into();
    let call = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &wrong };
    let refused = amazon.verify(&call).await.unwrap_err();
    assert!(
        matches!(&refused, ChannelError::Auth { message, .. } if message.contains("invalid_client")),
        "{refused:?}"
    );

    wrong = creds.clone();
    wrong["marketplace_id"] = "ATVPDKIKX0DER".into();
    let call = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &wrong };
    let missing = amazon.verify(&call).await.unwrap_err();
    assert!(
        matches!(&missing, ChannelError::NotFound { what, .. } if what.contains("ATVPDKIKX0DER") && what.contains("A33AVAJ2PDY3EV")),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_token_about_to_expire_is_not_used() {
    // Amazon's helpers keep a token until 30 s before it runs out: one of 30 s is never kept.
    let shop = AmazonSim::new(AmazonConfig { token_lifetime: 30, ..AmazonConfig::default() });
    let base = start(&shop).await;
    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let amazon = amazon();
    amazon.verify(&connection).await.unwrap();
    amazon.verify(&connection).await.unwrap();
    assert_eq!(shop.token_requests(), 2);
}

#[tokio::test]
async fn the_sync_pages_through_merchant_orders_and_an_fba_order_is_not_ours() {
    let shop = AmazonSim::new(AmazonConfig::default());
    let base = start(&shop).await;
    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let amazon = amazon();
    let mut merchant = Vec::new();
    for i in 0..120 {
        merchant.push(
            shop.place_order(new_order(vec![line(&format!("MUG-{i}"), 2, "99.90")], None), FulfilledBy::Merchant),
        );
    }
    let fba = shop.place_order(new_order(vec![line("ECHO-1", 1, "1999.00")], None), FulfilledBy::Amazon);
    let cod =
        shop.place_order(new_order(vec![line("TS-M", 3, "149.50")], Some("Cash on delivery")), FulfilledBy::Merchant);
    merchant.push(cod.clone());

    let order_schema = definition("orders_2026-01-01.json", "Order");
    let first = amazon.orders_since(&connection, None).await.unwrap();
    assert!(first.more);
    assert_eq!(first.orders.len(), 100);
    let second = amazon.orders_since(&connection, Some(&first.cursor)).await.unwrap();
    assert!(!second.more);
    assert_eq!(second.orders.len(), 21);
    let mut seen = Vec::new();
    for payload in first.orders.iter().chain(&second.orders) {
        let raw: Value = serde_json::from_slice(payload).unwrap();
        assert_valid(&order_schema, &raw, "the fake's order");
        let order = amazon.read_order(SYNC_TOPIC, payload).unwrap();
        assert_eq!(order.not_ours, None);
        assert!(order.parts().is_ok(), "{:?}", order.parts());
        assert!(order.is_ready(&[], &amazon.info().default_ready_statuses));
        seen.push(order);
    }
    assert_eq!(seen.iter().map(|o| o.external_id.clone()).collect::<Vec<_>>(), merchant, "oldest first, FBA left out");
    let cod_order = seen.iter().find(|o| o.external_id == cod).unwrap();
    assert_eq!(cod_order.payment, waybill_core::Payment::Cod { amount: "448.5".parse().unwrap() });
    let to = cod_order.ship_to.as_ref().unwrap();
    assert_eq!((to.name.as_str(), to.city.as_str(), to.postal_code.as_str()), ("Ayşe Yılmaz", "İstanbul", "34710"));
    assert!(to.email.as_deref().unwrap().ends_with("@marketplace.amazon.com.tr"), "masked, still an email");

    // What was asked: merchant orders of the marketplace, with the data sets read; the second
    // page repeats the search with Amazon's token (the fake refuses a token with other terms).
    let searches = shop.calls_to("GET", "/orders/2026-01-01/orders");
    let query = |i: usize| -> Vec<(String, String)> {
        reqwest::Url::parse(&format!("http://x/?{}", searches[i].query)).unwrap().query_pairs().into_owned().collect()
    };
    let asked = |i: usize, k: &str| query(i).into_iter().find(|(n, _)| n == k).map(|(_, v)| v);
    assert_eq!(asked(0, "fulfilledBy").as_deref(), Some("MERCHANT"));
    assert_eq!(asked(0, "marketplaceIds").as_deref(), Some("A33AVAJ2PDY3EV"));
    assert_eq!(asked(0, "maxResultsPerPage").as_deref(), Some("100"));
    assert_eq!(asked(0, "fulfillmentStatuses").as_deref(), Some("UNSHIPPED,PARTIALLY_SHIPPED"), "the first sync");
    assert_eq!(asked(0, "includedData").as_deref(), Some("BUYER,RECIPIENT,FULFILLMENT,PACKAGES,PROCEEDS,PAYMENT"));
    assert!(asked(0, "paginationToken").is_none() && asked(1, "paginationToken").is_some());
    assert_eq!(asked(0, "lastUpdatedAfter"), asked(1, "lastUpdatedAfter"));

    // The FBA order, as Amazon shows it, is not Waybill's to ship.
    let fba_order = amazon.read_order(SYNC_TOPIC, shop.order(&fba).unwrap().to_string().as_bytes()).unwrap();
    assert_eq!(fba_order.not_ours.as_deref(), Some("fulfilled by Amazon (FBA): Amazon ships it"));

    // The next sync starts where Amazon said the last one ended: only the change since.
    assert!(shop.cancel_order(&merchant[5]));
    let next = amazon.orders_since(&connection, Some(&second.cursor)).await.unwrap();
    assert!(!next.more);
    let changed: Vec<_> = next.orders.iter().map(|o| amazon.read_order(SYNC_TOPIC, o).unwrap()).collect();
    assert!(changed.iter().any(|o| o.external_id == merchant[5] && o.cancelled), "{changed:?}");
    // Anything else is a repeat of a change already seen (at the edge of the last search).
    for other in changed.iter().filter(|o| o.external_id != merchant[5]) {
        assert!(seen.iter().any(|s| s.external_id == other.external_id && s.updated_at == other.updated_at));
    }
    assert!(changed.len() < 10, "{}", changed.len());
    let later = searches.len();
    let searches = shop.calls_to("GET", "/orders/2026-01-01/orders");
    assert!(!searches[later].query.contains("fulfillmentStatuses"), "later syncs see every change");
}

#[tokio::test]
async fn without_the_restricted_role_an_order_has_no_address_and_says_so() {
    let shop = AmazonSim::new(AmazonConfig { restricted_data: false, ..AmazonConfig::default() });
    let base = start(&shop).await;
    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let amazon = amazon();
    shop.place_order(new_order(vec![line("MUG-1", 1, "10.00")], None), FulfilledBy::Merchant);
    let page = amazon.orders_since(&connection, None).await.unwrap();
    let order = amazon.read_order(SYNC_TOPIC, &page.orders[0]).unwrap();
    assert_eq!(order.ship_to, None);
    let problems = order.parts().unwrap_err();
    assert_eq!(problems[0].pointer, "/ship_to");
    assert!(problems[0].detail.contains("no shipping address"));
}

#[tokio::test]
async fn a_shipment_is_confirmed_once_and_a_retry_finds_its_package() {
    let shop = AmazonSim::new(AmazonConfig::default());
    let base = start(&shop).await;
    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let amazon = amazon();
    let request_schema = definition("ordersV0.json", "ConfirmShipmentRequest");
    // The model's own example is what the schema takes (and its 400 example, a US date, is not).
    for (status, body) in documented_bodies("ordersV0.json", "/orders/v0/orders/{orderId}/shipmentConfirmation", "post")
    {
        assert_eq!(violations(&request_schema, &body).is_empty(), status == "204", "{status}: {body}");
    }

    let id = shop.place_order(
        new_order(vec![line("MUG-1", 2, "99.90"), line("TS-M", 1, "149.50")], None),
        FulfilledBy::Merchant,
    );
    let fulfilment = Fulfilment {
        order_id: &id,
        tracking_number: "1Z999AA10123456784",
        tracking_url: Some("https://www.ups.com/track?tracknum=1Z999AA10123456784"),
        carrier_name: "UPS",
        lines: &[],
        notify_customer: true,
    };
    let made = amazon.fulfil(&connection, &fulfilment).await.unwrap();
    assert_eq!(made, package_reference_id("1Z999AA10123456784"));
    assert_eq!(amazon.fulfil(&connection, &fulfilment).await.unwrap(), made, "a retry finds its package");
    let sent = shop.confirmations(&id);
    assert_eq!(sent.len(), 1, "never confirmed twice: {sent:?}");
    assert_eq!(shop.calls_to("POST", "/orders/v0/orders/").len(), 1);
    assert_valid(&request_schema, &sent[0], "the confirmation");
    let detail = &sent[0]["packageDetail"];
    assert_eq!(sent[0]["marketplaceId"], "A33AVAJ2PDY3EV");
    assert_eq!((detail["carrierCode"].as_str(), detail["carrierName"].as_str()), (Some("UPS"), Some("UPS")));
    assert_eq!(detail["trackingNumber"], "1Z999AA10123456784");
    let items = detail["orderItems"].as_array().unwrap();
    assert_eq!(items.iter().map(|i| i["quantity"].as_i64().unwrap()).collect::<Vec<_>>(), [2, 1], "everything to ship");
    let shipped = amazon.read_order(SYNC_TOPIC, shop.order(&id).unwrap().to_string().as_bytes()).unwrap();
    assert_eq!(shipped.status, "shipped");
    assert_eq!(shipped.not_ours.as_deref(), Some("already shipped in Amazon"));
    assert_eq!(shipped.lines.iter().map(|l| l.quantity).collect::<Vec<_>>(), [2, 1], "read as the order shipped");

    // A confirmation Amazon does not show yet: the second one is refused, and the order,
    // read again, shows the package.
    shop.set_package_lag(1);
    assert_eq!(amazon.fulfil(&connection, &fulfilment).await.unwrap(), made);
    assert_eq!(shop.confirmations(&id).len(), 1);
    assert_eq!(shop.calls_to("POST", "/orders/v0/orders/").len(), 2, "the refused second one");

    // A carrier without an Amazon code goes as Other with its name; a shipment of one line
    // confirms that line only. The order still reads as ordered (Waybill's shipments know which
    // part each holds), and the rest is confirmed by the next shipment.
    let two = shop.place_order(
        new_order(vec![line("MUG-1", 2, "99.90"), line("TS-M", 1, "149.50")], None),
        FulfilledBy::Merchant,
    );
    let lines = [("MUG-1".to_owned(), 2)];
    let partial = Fulfilment {
        order_id: &two,
        tracking_number: "YK123456789",
        tracking_url: None,
        carrier_name: "Yurtiçi Kargo",
        lines: &lines,
        notify_customer: false,
    };
    amazon.fulfil(&connection, &partial).await.unwrap();
    let sent = shop.confirmations(&two);
    assert_valid(&request_schema, &sent[0], "the confirmation");
    assert_eq!(sent[0]["packageDetail"]["carrierCode"], "Other");
    assert_eq!(sent[0]["packageDetail"]["carrierName"], "Yurtiçi Kargo");
    assert_eq!(sent[0]["packageDetail"]["orderItems"].as_array().unwrap().len(), 1);
    let left = amazon.read_order(SYNC_TOPIC, shop.order(&two).unwrap().to_string().as_bytes()).unwrap();
    assert_eq!(left.status, "partially_shipped");
    assert_eq!(
        left.lines.iter().map(|l| (l.sku.as_str(), l.quantity)).collect::<Vec<_>>(),
        [("MUG-1", 2), ("TS-M", 1)]
    );
    assert!(left.not_ours.is_none(), "part of it is still to ship");
    let rest = Fulfilment { tracking_number: "YK123456790", lines: &[], ..partial.clone() };
    amazon.fulfil(&connection, &rest).await.unwrap();
    let sent = shop.confirmations(&two);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["packageDetail"]["orderItems"][0]["quantity"], 1, "only what was left: {}", sent[1]);

    // Orders that are not Waybill's to confirm.
    let fba = shop.place_order(new_order(vec![line("ECHO-1", 1, "1.00")], None), FulfilledBy::Amazon);
    let refused = amazon.fulfil(&connection, &Fulfilment { order_id: &fba, ..fulfilment.clone() }).await.unwrap_err();
    assert!(matches!(&refused, ChannelError::Rejected { message, .. } if message.contains("fulfilled by Amazon")));
    let missing = Fulfilment { order_id: "999-0000000-0000000", ..fulfilment.clone() };
    assert!(matches!(amazon.fulfil(&connection, &missing).await, Err(ChannelError::NotFound { .. })));
    assert_eq!(
        amazon.post_progress(&connection, &made, &progress()).await.unwrap(),
        waybill_channels::Posted::NoSuchStep,
        "Amazon follows the carrier itself"
    );
}

fn progress() -> waybill_channels::Progress<'static> {
    waybill_channels::Progress {
        status: waybill_core::TrackingStatus::Delivered,
        happened_at: chrono::Utc::now().fixed_offset(),
        city: None,
        edd: None,
        delayed: false,
    }
}

#[tokio::test]
async fn a_few_skus_are_patched_and_many_go_in_one_feed() {
    let shop = AmazonSim::new(AmazonConfig::default());
    let base = start(&shop).await;
    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let amazon = amazon();
    shop.add_listings(["MUG-1", "MUG/2 XL"]);

    // Patches: one call a SKU, a SKU without a listing reported as unknown.
    let items = [
        StockItem { sku: "MUG-1", available: 7 },
        StockItem { sku: "MUG/2 XL", available: -3 },
        StockItem { sku: "GONE", available: 1 },
    ];
    let outcomes = amazon.push_stock(&connection, &items).await.unwrap();
    assert_eq!(outcomes[..2], [StockOutcome::Set, StockOutcome::Set]);
    assert!(matches!(&outcomes[2], StockOutcome::UnknownSku(why) if why.contains("GONE")), "{outcomes:?}");
    assert_eq!((shop.stock("MUG-1"), shop.stock("MUG/2 XL")), (Some(7), Some(0)));
    let patches = shop.calls_to("PATCH", "/listings/2021-08-01/items/A2DEMOSELLER01/");
    assert_eq!(patches.len(), 3);
    let patch_schema = definition("listingsItems_2021-08-01.json", "ListingsItemPatchRequest");
    for call in &patches {
        assert_valid(&patch_schema, &call.json(), "the listings patch");
        assert!(call.query.contains("marketplaceIds=A33AVAJ2PDY3EV"), "{}", call.query);
    }
    assert_eq!(patches[1].path, "/listings/2021-08-01/items/A2DEMOSELLER01/MUG%2F2%20XL");

    // A feed: 10,000 SKUs, one of them unknown, in six calls.
    let skus: Vec<String> = (0..10_000).map(|i| format!("SKU-{i:05}")).collect();
    shop.add_listings(skus.iter().skip(1).map(String::as_str));
    let items: Vec<StockItem<'_>> =
        skus.iter().enumerate().map(|(i, sku)| StockItem { sku, available: i as i64 % 50 }).collect();
    let (tokens, api, all) = (shop.token_requests(), shop.api_calls(), shop.calls().len());
    let outcomes = amazon.push_stock(&connection, &items).await.unwrap();
    assert_eq!(outcomes.len(), 10_000);
    assert!(matches!(&outcomes[0], StockOutcome::UnknownSku(why) if why.contains("SKU-00000")), "{:?}", outcomes[0]);
    assert!(outcomes[1..].iter().all(|o| *o == StockOutcome::Set));
    assert_eq!(shop.stock("SKU-09999"), Some(9_999 % 50));
    assert_eq!(shop.token_requests(), tokens, "the token is reused");
    assert_eq!(shop.api_calls() - api, 4, "createFeedDocument, createFeed, getFeed, getFeedDocument");
    let calls = shop.calls();
    let made: Vec<_> = calls[all..]
        .iter()
        .map(|c| format!("{} {}", c.method, c.path.split('/').take(4).collect::<Vec<_>>().join("/")))
        .collect();
    assert_eq!(made.len(), 6, "{made:?}");

    let feeds = definition("feeds_2021-06-30.json", "CreateFeedDocumentSpecification");
    let document_request = &shop.calls_to("POST", "/feeds/2021-06-30/documents")[0];
    assert_valid(&feeds, &document_request.json(), "createFeedDocument");
    let feed_request = &shop.calls_to("POST", "/feeds/2021-06-30/feeds")[0];
    assert_valid(&definition("feeds_2021-06-30.json", "CreateFeedSpecification"), &feed_request.json(), "createFeed");
    assert_eq!(feed_request.json()["feedType"], "JSON_LISTINGS_FEED");
    let upload = &shop.calls_to("PUT", "/_s3/")[0];
    assert_eq!(upload.access_token, None, "the upload address is presigned: no token goes there");
    assert_eq!(upload.content_type.as_deref(), document_request.json()["contentType"].as_str());
    let document = upload.json();
    assert_valid(&feed_schema("listings-feed-schema-v2.json"), &document, "the listings feed");
    assert_eq!(document["messages"].as_array().unwrap().len(), 10_000);

    // The fake's report follows Amazon's report schema (and is what the connector read).
    let report = &shop.calls_to("GET", "/_s3/")[0];
    assert_eq!(report.access_token, None);
    let document_id = report.path.trim_start_matches("/_s3/");
    let gz = reqwest::get(format!("{base}/_s3/{document_id}")).await.unwrap().bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).unwrap();
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_valid(&feed_schema("listings-feed-processing-report-schema-v2.json"), &report, "the fake's report");
    assert_eq!(report["summary"]["messagesInvalid"], 1);
}

#[tokio::test]
async fn a_feed_is_waited_for_and_given_up_on_after_the_wait() {
    let shop = AmazonSim::new(AmazonConfig { gzip_reports: false, ..AmazonConfig::default() });
    let base = start(&shop).await;
    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let amazon = amazon();
    let skus: Vec<String> = (0..20).map(|i| format!("SKU-{i}")).collect();
    shop.add_listings(skus.iter().map(String::as_str));
    let items: Vec<StockItem<'_>> = skus.iter().map(|sku| StockItem { sku, available: 1 }).collect();

    // In the queue for two looks: done on the third.
    shop.set_feed_pending_polls(2);
    let before = shop.calls_to("GET", "/feeds/2021-06-30/feeds/").len();
    let outcomes = amazon.push_stock(&connection, &items).await.unwrap();
    assert!(outcomes.iter().all(|o| *o == StockOutcome::Set));
    assert_eq!(shop.calls_to("GET", "/feeds/2021-06-30/feeds/").len() - before, 3);

    // Never done within the wait: counted as set, the report never read.
    shop.set_feed_pending_polls(1_000_000);
    let reports = shop.calls_to("GET", "/feeds/2021-06-30/documents/").len();
    let outcomes = amazon.push_stock(&connection, &items).await.unwrap();
    assert!(outcomes.iter().all(|o| *o == StockOutcome::Set));
    assert_eq!(shop.calls_to("GET", "/feeds/2021-06-30/documents/").len(), reports);
}

#[tokio::test]
async fn throttling_and_outages_are_transient_with_amazons_wait_or_the_documented_rate() {
    let shop = AmazonSim::new(AmazonConfig::default());
    let base = start(&shop).await;
    let creds = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let amazon = amazon();

    // No Retry-After: a request's worth of getMarketplaceParticipations' rate, 0.016 a second.
    shop.set_throttle(1, None);
    let throttled = amazon.verify(&connection).await.unwrap_err();
    assert!(throttled.is_transient(), "{throttled:?}");
    assert_eq!(throttled.retry_after(), Some(Duration::from_secs(63)));
    assert!(matches!(&throttled, ChannelError::Unavailable { message, .. } if message.contains("QuotaExceeded")));
    // searchOrders (0.0056 a second), unless Amazon says how long.
    shop.set_throttle(1, None);
    assert_eq!(amazon.orders_since(&connection, None).await.unwrap_err().retry_after(), Some(Duration::from_secs(179)));
    shop.set_throttle(1, Some(4));
    assert_eq!(amazon.orders_since(&connection, None).await.unwrap_err().retry_after(), Some(Duration::from_secs(4)));

    shop.set_down(true);
    let id = "999-0000000-0000001";
    let fulfilment = Fulfilment {
        order_id: id,
        tracking_number: "X1",
        tracking_url: None,
        carrier_name: "UPS",
        lines: &[],
        notify_customer: false,
    };
    for error in [
        amazon.verify(&connection).await.unwrap_err(),
        amazon.orders_since(&connection, None).await.unwrap_err(),
        amazon.fulfil(&connection, &fulfilment).await.unwrap_err(),
        amazon.push_stock(&connection, &[StockItem { sku: "A", available: 1 }]).await.unwrap_err(),
    ] {
        assert!(error.is_transient(), "{error:?}");
    }
    shop.set_down(false);
    assert!(amazon.verify(&connection).await.is_ok(), "back when Amazon is");

    // Nothing listening: an outage too.
    let nowhere = Connection { mode: Mode::Test, base_url: Some("http://127.0.0.1:9"), credentials: &creds };
    assert!(amazon.verify(&nowhere).await.unwrap_err().is_transient());
}

#[tokio::test]
async fn the_control_surface_places_shows_and_cancels_orders() {
    let shop = AmazonSim::new(AmazonConfig::default());
    let base = start(&shop).await;
    let client = reqwest::Client::new();
    let placed: Value = client
        .post(format!("{base}/_shop/orders"))
        .json(&json!({"shipping_address": {"name": "Ayşe Yılmaz", "address1": "Bağdat Cd. 12", "city": "İstanbul",
            "zip": "34710", "country_code": "TR"}, "line_items": [{"sku": "MUG-1", "name": "Kupa", "quantity": 1, "price": "99.90"}],
            "fulfilled_by": "AMAZON"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = placed["orderId"].as_str().unwrap();
    assert_eq!(id.len(), 19, "3-7-7: {id}");
    let shown: Value = client.get(format!("{base}/_shop/orders/{id}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(shown["order"]["fulfillment"]["fulfilledBy"], "AMAZON");
    assert_valid(&definition("orders_2026-01-01.json", "Order"), &shown["order"], "the fake's order");
    assert!(client.post(format!("{base}/_shop/orders/{id}/cancel")).send().await.unwrap().status().is_success());
    assert_eq!(shop.order(id).unwrap()["fulfillment"]["fulfillmentStatus"], "CANCELLED");
    let faults = client.put(format!("{base}/_shop/faults")).json(&json!({"down": true})).send().await.unwrap();
    assert!(faults.status().is_success());
    let down = client.get(format!("{base}/sellers/v1/marketplaceParticipations")).send().await.unwrap();
    assert_eq!(down.status().as_u16(), 503, "a fake that is down answers every SP-API call 503");
    let stats: Value = client.get(format!("{base}/_shop/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["api_calls"], 1, "the refused call is counted, the control calls are not");
}

#[test]
fn the_schemas_refuse_what_amazon_would_not_take() {
    let confirm = definition("ordersV0.json", "ConfirmShipmentRequest");
    let good = json!({"marketplaceId": "A33AVAJ2PDY3EV", "packageDetail": {"packageReferenceId": "1", "carrierCode": "UPS",
        "trackingNumber": "1Z", "shipDate": "2026-03-01T10:00:00.000Z", "orderItems": [{"orderItemId": "1", "quantity": 1}]}});
    assert_valid(&confirm, &good, "a confirmation");
    let mut misspelt = good.clone();
    misspelt["packageDetail"]["shippingMethd"] = "Ground".into();
    assert!(
        violations(&confirm, &misspelt)[0].starts_with("at /packageDetail: "),
        "{:?}",
        violations(&confirm, &misspelt)
    );
    let mut missing = good.clone();
    missing["packageDetail"].as_object_mut().unwrap().remove("trackingNumber");
    assert_eq!(violations(&confirm, &missing).len(), 1);
    let mut quantity = good;
    quantity["packageDetail"]["orderItems"][0]["quantity"] = "1".into();
    assert!(violations(&confirm, &quantity)[0].starts_with("at /packageDetail/orderItems/0/quantity: "));

    let feed = feed_schema("listings-feed-schema-v2.json");
    let message = json!({"messageId": 1, "sku": "A", "operationType": "PATCH", "productType": "PRODUCT",
        "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 1}]}]});
    let mut document = json!({"header": {"sellerId": "A2", "version": "2.0"}, "messages": [message]});
    assert_valid(&feed, &document, "a feed");
    document["messages"][0]["attributes"] = json!({"item_name": []});
    assert!(!violations(&feed, &document).is_empty(), "a PATCH message carries no attributes");
    document["messages"][0].as_object_mut().unwrap().remove("attributes");
    document["header"]["version"] = "1.0".into();
    assert!(!violations(&feed, &document).is_empty());
}

#[tokio::test]
async fn the_fakes_answers_follow_amazons_models() {
    let shop = AmazonSim::new(AmazonConfig::default());
    let base = start(&shop).await;
    let c = shop.config().clone();
    shop.place_order(new_order(vec![line("MUG-1", 1, "10.00")], Some("Cash on delivery")), FulfilledBy::Merchant);
    let client = reqwest::Client::new();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", c.refresh_token.as_str()),
        ("client_id", c.client_id.as_str()),
        ("client_secret", c.client_secret.as_str()),
    ];
    let token: Value =
        client.post(format!("{base}/auth/o2/token")).form(&form).send().await.unwrap().json().await.unwrap();
    assert_eq!(token["expires_in"], 3600);
    let token = token["access_token"].as_str().unwrap();
    let get = |path: &str| client.get(format!("{base}{path}")).header("x-amz-access-token", token).send();
    let participations: Value = get("/sellers/v1/marketplaceParticipations").await.unwrap().json().await.unwrap();
    assert_valid(
        &definition("sellers.json", "GetMarketplaceParticipationsResponse"),
        &participations,
        "participations",
    );
    let search = get(
        "/orders/2026-01-01/orders?lastUpdatedAfter=2020-01-01T00:00:00Z&marketplaceIds=A33AVAJ2PDY3EV&includedData=BUYER,RECIPIENT,FULFILLMENT,PACKAGES,PROCEEDS,PAYMENT,TAX",
    )
    .await
    .unwrap();
    assert!(search.headers().contains_key("x-amzn-ratelimit-limit"));
    let search: Value = search.json().await.unwrap();
    assert_valid(&definition("orders_2026-01-01.json", "SearchOrdersResponse"), &search, "searchOrders");
    let both = get("/orders/2026-01-01/orders?createdAfter=2020-01-01T00:00:00Z&lastUpdatedAfter=2020-01-01T00:00:00Z")
        .await
        .unwrap();
    assert_eq!(both.status(), 400, "exactly one of createdAfter and lastUpdatedAfter");
    let errors: Value = both.json().await.unwrap();
    assert_valid(&definition("orders_2026-01-01.json", "ErrorList"), &errors, "an error");
    let unauthorised = client.get(format!("{base}/sellers/v1/marketplaceParticipations")).send().await.unwrap();
    assert_eq!(unauthorised.status(), 403);
}

/// The connection's credentials with the fake's SQS queue.
fn with_queue(shop: &AmazonSim, base: &str) -> Value {
    let mut creds = credentials(shop.config());
    let q = shop.queue().config();
    creds["sqs_queue_url"] = shop.queue().queue_url(base).into();
    creds["aws_access_key_id"] = q.access_key_id.clone().into();
    creds["aws_secret_access_key"] = q.secret_access_key.clone().into();
    creds["aws_region"] = q.region.clone().into();
    creds
}

#[tokio::test]
async fn order_changes_on_the_queue_are_fetched_and_deleted_only_when_acknowledged() {
    let shop = AmazonSim::new(AmazonConfig::default());
    let base = start(&shop).await;
    let creds = with_queue(&shop, &base);
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    let amazon = amazon();
    assert!(amazon.check_credentials(&creds).is_ok());
    assert_eq!(
        amazon.verify(&connection).await.unwrap(),
        "Demo Store on Amazon.com.tr, with ORDER_CHANGE read from arn:aws:sqs:eu-west-1:123456789012:sp-api-notifications"
    );

    let mine = shop.place_order(new_order(vec![line("MUG-01", 2, "149.90")], None), FulfilledBy::Merchant);
    let fba = shop.place_order(new_order(vec![line("MUG-02", 1, "99.90")], None), FulfilledBy::Amazon);
    assert!(shop.cancel_order(&mine));
    assert_eq!(shop.queue().pending(), 3);
    let schema = feed_schema_as_given("OrderChangeNotification.json");
    for body in shop.queue().bodies() {
        assert_valid(&schema, &serde_json::from_str(&body).unwrap(), "the fake's ORDER_CHANGE notification");
    }

    let queued = amazon.receive_queued(&connection).await.unwrap().expect("the connection has a queue");
    // Two messages name the MFN order: it is fetched once, as it is now. The FBA order is not read.
    assert_eq!(queued.orders.len(), 1);
    let order = amazon.read_order(SYNC_TOPIC, &queued.orders[0]).unwrap();
    assert_eq!(order.external_id, mine);
    assert_eq!(order.status, "cancelled");
    assert_eq!(queued.receipts.len(), 3);
    assert!(!queued.more);
    let gets = shop.calls_to("GET", "/orders/2026-01-01/orders/");
    assert_eq!(gets.len(), 1);
    assert!(gets[0].query.contains("includedData=BUYER%2CRECIPIENT"), "{}", gets[0].query);
    assert!(!gets.iter().any(|c| c.path.ends_with(&fba)));

    // Not acknowledged (the engine crashed before keeping them): they come again.
    assert_eq!(shop.queue().pending(), 3);
    shop.queue().expire_in_flight();
    let again = amazon.receive_queued(&connection).await.unwrap().unwrap();
    assert_eq!(again.receipts.len(), 3);
    amazon.ack_queued(&connection, &again.receipts).await.unwrap();
    assert_eq!(shop.queue().pending(), 0);
    assert_eq!(shop.queue().deleted(), 3);
    let empty = amazon.receive_queued(&connection).await.unwrap().unwrap();
    assert!(empty.orders.is_empty() && empty.receipts.is_empty());
    assert_eq!(
        shop.queue().actions(),
        ["GetQueueAttributes", "ReceiveMessage", "ReceiveMessage", "DeleteMessageBatch", "ReceiveMessage"]
    );

    // Without a queue there is nothing to receive, and nothing is called.
    let plain = credentials(shop.config());
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &plain };
    assert!(amazon.receive_queued(&connection).await.unwrap().is_none());
    assert_eq!(shop.queue().actions().len(), 5);
}

#[tokio::test]
async fn a_wrong_aws_key_or_queue_is_refused_as_the_credentials_and_an_outage_is_transient() {
    let shop = AmazonSim::new(AmazonConfig::default());
    let base = start(&shop).await;
    let amazon = amazon();

    let mut wrong = with_queue(&shop, &base);
    wrong["aws_secret_access_key"] = "not-the-secret".into();
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &wrong };
    let refused = amazon.verify(&connection).await.unwrap_err();
    assert!(
        matches!(&refused, ChannelError::Auth { message, .. } if message.contains("SignatureDoesNotMatch")),
        "{refused:?}"
    );

    wrong = with_queue(&shop, &base);
    wrong["aws_access_key_id"] = "AKIAUNKNOWN".into();
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &wrong };
    let refused = amazon.receive_queued(&connection).await.unwrap_err();
    assert!(
        matches!(&refused, ChannelError::Auth { message, .. } if message.contains("InvalidClientTokenId")),
        "{refused:?}"
    );

    wrong = with_queue(&shop, &base);
    wrong["sqs_queue_url"] = format!("{base}/123456789012/another-queue").into();
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &wrong };
    let refused = amazon.verify(&connection).await.unwrap_err();
    assert!(matches!(&refused, ChannelError::NotFound { what, .. } if what.contains("another-queue")), "{refused:?}");

    let creds = with_queue(&shop, &base);
    let connection = Connection { mode: Mode::Test, base_url: Some(&base), credentials: &creds };
    shop.queue().set_down(true);
    let down = amazon.receive_queued(&connection).await.unwrap_err();
    assert!(down.is_transient(), "{down:?}");
    assert_eq!(
        shop.queue().actions(),
        [
            "refused:GetQueueAttributes",
            "refused:ReceiveMessage",
            "refused:GetQueueAttributes",
            "refused:ReceiveMessage"
        ]
    );

    // A queue half configured is refused before anything is saved, with a pointer per problem.
    let mut half = credentials(shop.config());
    half["sqs_queue_url"] = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders".into();
    let problems = amazon.check_credentials(&half).unwrap_err();
    let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
    assert_eq!(pointers, ["/credentials/aws_access_key_id", "/credentials/aws_secret_access_key"]);
}
