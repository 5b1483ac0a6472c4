//! A fake Amazon seller: the Selling Partner API routes a shipping integration uses and the Login
//! with Amazon token endpoint, in the shapes of the official SP-API models
//! (`../shared/specs/amazon/models/`, as `../shared/notes/channels.md` §1 describes them).
//!
//! | Route | Purpose |
//! | --- | --- |
//! | `POST /auth/o2/token` | Login with Amazon: the form `grant_type=refresh_token, refresh_token, client_id, client_secret` → `{access_token, token_type, expires_in, refresh_token}`; a wrong client is `401 invalid_client`, a wrong refresh token `400 invalid_grant` |
//! | `GET /sellers/v1/marketplaceParticipations` | the seller's one marketplace |
//! | `GET /orders/2026-01-01/orders` | searchOrders: exactly one of `createdAfter` / `lastUpdatedAfter` (inclusive), `marketplaceIds`, `fulfilledBy`, `fulfillmentStatuses` (comma-separated), `maxResultsPerPage` (1–100), `includedData` (only the data sets asked for are shown), `paginationToken` (valid only with the same other parameters); answers `lastUpdatedBefore` |
//! | `GET /orders/2026-01-01/orders/{orderId}` | getOrder, with `includedData` |
//! | `POST /orders/v0/orders/{orderId}/shipmentConfirmation` | confirmShipment: checks the body (required fields, a positive numeric `packageReferenceId`, `carrierName` with `Other`, the marketplace, the items and what is left of them); items already confirmed, or a package id used before, are refused with 400 as Amazon does; 204 |
//! | `PATCH /listings/2021-08-01/items/{sellerId}/{sku}` | patchListingsItem: sets the SKU's `fulfillment_availability` quantity; a SKU without a listing is `INVALID` |
//! | `POST /feeds/2021-06-30/documents`, `PUT`/`GET /_s3/{documentId}` | createFeedDocument; the upload address it gives is this server's (the content type must be the one declared) |
//! | `POST /feeds/2021-06-30/feeds`, `GET /feeds/2021-06-30/feeds/{feedId}`, `GET /feeds/2021-06-30/documents/{documentId}` | createFeed (`JSON_LISTINGS_FEED` only, processed at once), getFeed (`IN_QUEUE` for the set number of looks, then `DONE`), getFeedDocument (the processing report, gzip unless configured otherwise) |
//! | `POST /_shop/orders` | place an order: the body of the Shopify fake's `/_shop/orders` (`email`, `currency`, `gateway` — `Cash on delivery` makes it COD — `shipping_address`, `line_items`) plus `"fulfilled_by": "MERCHANT"` (default) or `"AMAZON"` → 201 `{"orderId"}` |
//! | `GET /_shop/orders/{orderId}`, `POST /_shop/orders/{orderId}/cancel` | the whole order with the confirmations received; cancel it |
//! | `PUT /_shop/listings`, `GET /_shop/listings` | `{"skus": [...]}`: add listings; every listing's quantity |
//! | `POST /` | the seller's SQS queue ([`crate::sqs`]), at `{base}/123456789012/sp-api-notifications`: each order placed, cancelled or confirmed puts an `ORDER_CHANGE` notification on it |
//! | `PUT /_shop/faults`, `GET /_shop/stats` | `{"down", "throttle", "retry_after", "feed_pending_polls", "package_lag", "revoke_tokens"}` (`package_lag`: the next n getOrder answers show the order as before its latest confirmation); the token requests and SP-API calls received |
//!
//! Every SP-API route needs a live access token in `x-amz-access-token` (else 403 in SP-API's
//! error shape); answers carry `x-amzn-RateLimit-Limit` with the operation's documented rate.
//! Issue codes of the fake's own (a missing SKU) are marked as such.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::NewOrder;
use crate::sqs::{SqsConfig, SqsQueue};

/// The seller, its one marketplace and the application's credentials.
#[derive(Debug, Clone)]
pub struct AmazonConfig {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    pub seller_id: String,
    pub marketplace_id: String,
    pub marketplace_name: String,
    pub country_code: String,
    pub currency: String,
    pub language: String,
    pub domain_name: String,
    pub store_name: String,
    /// The access tokens' `expires_in`, in seconds.
    pub token_lifetime: u64,
    /// The application has the restricted role: orders show the buyer and the address.
    pub restricted_data: bool,
    /// Processing reports are gzip-compressed (`compressionAlgorithm: GZIP`).
    pub gzip_reports: bool,
    /// The seller's SQS queue, subscribed to `ORDER_CHANGE`: every order placed, cancelled or
    /// confirmed puts a notification on it.
    pub queue: SqsConfig,
}

impl Default for AmazonConfig {
    fn default() -> Self {
        Self {
            client_id: "amzn1.application-oa2-client.demo".into(),
            client_secret: "demo-lwa-client-secret".into(),
            refresh_token: "Atzr|demo-refresh-token".into(),
            seller_id: "A2DEMOSELLER01".into(),
            marketplace_id: "A33AVAJ2PDY3EV".into(),
            marketplace_name: "Amazon.com.tr".into(),
            country_code: "TR".into(),
            currency: "TRY".into(),
            language: "tr_TR".into(),
            domain_name: "www.amazon.com.tr".into(),
            store_name: "Demo Store".into(),
            token_lifetime: 3600,
            restricted_data: true,
            gzip_reports: true,
            queue: SqsConfig::default(),
        }
    }
}

/// Who ships an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FulfilledBy {
    /// The seller (MFN, FBM): Waybill's to ship.
    #[default]
    Merchant,
    /// Amazon (FBA).
    Amazon,
}

impl FulfilledBy {
    fn as_str(self) -> &'static str {
        match self {
            Self::Merchant => "MERCHANT",
            Self::Amazon => "AMAZON",
        }
    }
}

/// The body of `POST /_shop/orders`.
#[derive(Debug, Clone, Deserialize)]
pub struct NewAmazonOrder {
    #[serde(flatten)]
    pub order: NewOrder,
    #[serde(default)]
    pub fulfilled_by: FulfilledBy,
}

/// One request as the fake received it (the token endpoint's are only counted).
#[derive(Debug, Clone)]
pub struct AmazonCall {
    pub method: String,
    pub path: String,
    pub query: String,
    pub access_token: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl AmazonCall {
    /// The body as JSON (`Null` when it is none).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

struct Document {
    content_type: String,
    bytes: Option<Vec<u8>>,
    gzip: bool,
}

struct Feed {
    marketplace_ids: Vec<String>,
    created: String,
    /// Looks still to answer `IN_QUEUE`.
    pending: u32,
    result: String,
}

#[derive(Default)]
struct Store {
    seq: u64,
    orders: BTreeMap<String, Value>,
    confirmations: BTreeMap<String, Vec<Value>>,
    /// Each order as it was before its latest confirmation (what a late read still shows).
    unconfirmed: HashMap<String, Value>,
    tokens: HashMap<String, Instant>,
    token_requests: u64,
    api_calls: u64,
    listings: BTreeMap<String, Option<i64>>,
    documents: HashMap<String, Document>,
    feeds: BTreeMap<String, Feed>,
    /// `nextToken` → (the search's other parameters, the offset it continues at).
    pages: HashMap<String, (String, usize)>,
    calls: Vec<AmazonCall>,
    down: bool,
    throttle: u32,
    retry_after: Option<u64>,
    feed_pending_polls: u32,
    package_lag: u32,
}

/// The fake. Cheap to clone; clones share its state.
#[derive(Clone)]
pub struct AmazonSim {
    config: Arc<AmazonConfig>,
    state: Arc<Mutex<Store>>,
    queue: SqsQueue,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

fn errors(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({"errors": [{"code": code, "message": message}]}))).into_response()
}

fn invalid(message: &str) -> Response {
    errors(StatusCode::BAD_REQUEST, "InvalidInput", message)
}

/// A 2xx answer with the headers SP-API sends.
fn answer(status: StatusCode, rate: &'static str, body: Option<Value>) -> Response {
    let mut response = match body {
        Some(body) => (status, axum::Json(body)).into_response(),
        None => status.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert("x-amzn-ratelimit-limit", rate.parse().expect("a header value"));
    headers.insert("x-amzn-requestid", ulid::Ulid::new().to_string().parse().expect("a header value"));
    response
}

/// The data sets of `included` shown of `order` (the rest is left out, as Amazon does).
fn view(order: &Value, included: &[&str], restricted: bool) -> Value {
    let mut v = order.clone();
    let o = v.as_object_mut().expect("an order is an object");
    let has = |set: &str| included.contains(&set);
    for (set, field) in [
        ("BUYER", "buyer"),
        ("RECIPIENT", "recipient"),
        ("PROCEEDS", "proceeds"),
        ("PAYMENT", "payment"),
        ("FULFILLMENT", "fulfillment"),
        ("PACKAGES", "packages"),
    ] {
        if !has(set) {
            o.remove(field);
        }
    }
    if !restricted {
        o.remove("buyer");
        if let Some(address) = o.get_mut("recipient").and_then(|r| r.get_mut("deliveryAddress")) {
            let keep = ["city", "stateOrRegion", "postalCode", "countryCode", "addressType"];
            address.as_object_mut().expect("an address is an object").retain(|k, _| keep.contains(&k.as_str()));
        }
    }
    for item in o.get_mut("orderItems").and_then(Value::as_array_mut).into_iter().flatten() {
        let item = item.as_object_mut().expect("an item is an object");
        if !has("PROCEEDS") {
            item.remove("proceeds");
        }
        if !has("FULFILLMENT") {
            item.remove("fulfillment");
        }
    }
    v
}

/// `a,b` and repeated parameters alike, by name.
fn params(pairs: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in pairs {
        out.entry(k.clone())
            .or_default()
            .extend(v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned));
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

fn money(amount: f64, currency: &str) -> Value {
    json!({"amount": format!("{amount:.2}"), "currencyCode": currency})
}

impl AmazonSim {
    pub fn new(config: AmazonConfig) -> Self {
        // Ids from the clock, so a fake restarted under the same Waybill never reuses one.
        let seq = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(1);
        let queue = SqsQueue::new(config.queue.clone());
        Self { config: Arc::new(config), state: Arc::new(Mutex::new(Store { seq, ..Store::default() })), queue }
    }

    /// The seller's SQS queue, where `ORDER_CHANGE` notifications go.
    pub fn queue(&self) -> &SqsQueue {
        &self.queue
    }

    /// Puts an `ORDER_CHANGE` notification about `order` on the queue, in the shape of
    /// `../shared/specs/amazon/schemas/notifications/OrderChangeNotification.json`.
    fn notify_change(&self, order: &Value, change: &str, reason: &str) {
        let c = &self.config;
        let fulfilled_by = order.pointer("/fulfillment/fulfilledBy").and_then(Value::as_str);
        let status = match order.pointer("/fulfillment/fulfillmentStatus").and_then(Value::as_str) {
            Some("CANCELLED") => "Canceled",
            Some("SHIPPED") => "Shipped",
            Some("PARTIALLY_SHIPPED") => "PartiallyShipped",
            _ => "Unshipped",
        };
        let items: Vec<Value> = order["orderItems"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                let ordered = i["quantityOrdered"].as_u64().unwrap_or(0);
                let left = i.pointer("/fulfillment/quantityUnfulfilled").and_then(Value::as_u64).unwrap_or(ordered);
                json!({"OrderItemId": i["orderItemId"], "SellerSKU": i.pointer("/product/sellerSku"),
                    "SupplySourceId": null, "OrderItemStatus": if left == 0 { "Shipped" } else { "Unshipped" },
                    "Quantity": ordered, "QuantityShipped": ordered - left.min(ordered)})
            })
            .collect();
        let stamp = now();
        let notification = json!({
            "NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
            "EventTime": stamp,
            "Payload": {"OrderChangeNotification": {
                "NotificationLevel": "OrderLevel", "SellerId": c.seller_id, "AmazonOrderId": order["orderId"],
                "OrderChangeType": change,
                "OrderChangeTrigger": {"TimeOfOrderChange": order["lastUpdatedTime"], "ChangeReason": reason},
                "Summary": {"MarketplaceId": c.marketplace_id, "OrderStatus": status,
                    "PurchaseDate": order["createdTime"],
                    "DestinationPostalCode": order.pointer("/recipient/deliveryAddress/postalCode"),
                    "OrderItems": items,
                    "FulfillmentType": if fulfilled_by == Some("AMAZON") { "AFN" } else { "MFN" },
                    "OrderType": "StandardOrder"}}},
            "NotificationMetadata": {"ApplicationId": "amzn1.sellerapps.app.waybill-demo",
                "SubscriptionId": "waybill-demo-subscription", "PublishTime": stamp,
                "NotificationId": ulid::Ulid::new().to_string()},
        });
        self.queue.send(notification.to_string());
    }

    pub fn config(&self) -> &AmazonConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/auth/o2/token", post(token))
            .route("/sellers/v1/marketplaceParticipations", get(participations))
            .route("/orders/2026-01-01/orders", get(search_orders))
            .route("/orders/2026-01-01/orders/{id}", get(get_order))
            .route("/orders/v0/orders/{id}/shipmentConfirmation", post(confirm_shipment))
            .route("/listings/2021-08-01/items/{seller}/{sku}", patch(patch_listing))
            .route("/feeds/2021-06-30/documents", post(create_document))
            .route("/feeds/2021-06-30/documents/{id}", get(get_document))
            .route("/feeds/2021-06-30/feeds", post(create_feed))
            .route("/feeds/2021-06-30/feeds/{id}", get(get_feed))
            .route("/_s3/{id}", put(upload).get(download))
            .route("/_shop/orders", post(place))
            .route("/_shop/orders/{id}", get(show))
            .route("/_shop/orders/{id}/cancel", post(cancel))
            .route("/_shop/listings", put(add_listings).get(listings))
            .route("/_shop/faults", put(set_faults))
            .route("/_shop/stats", get(stats))
            // Feed documents are larger than axum's default limit of 2 MB.
            .layer(axum::extract::DefaultBodyLimit::max(256 * 1024 * 1024))
            .with_state(self.clone())
            .merge(self.queue.router())
    }

    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// Answer 503 to every SP-API call while `down`.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Answer 429 (`QuotaExceeded`) to the next `calls` SP-API calls, with `Retry-After` when given.
    pub fn set_throttle(&self, calls: u32, retry_after: Option<u64>) {
        let mut state = self.lock();
        state.throttle = calls;
        state.retry_after = retry_after;
    }

    /// Feeds created from now on answer `IN_QUEUE` to their first `looks` getFeed calls.
    pub fn set_feed_pending_polls(&self, looks: u32) {
        self.lock().feed_pending_polls = looks;
    }

    /// The next `reads` getOrder answers show the order as it was before its latest
    /// confirmation (Amazon shows a confirmation late).
    pub fn set_package_lag(&self, reads: u32) {
        self.lock().package_lag = reads;
    }

    /// Every access token issued so far stops working.
    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    /// Token requests received (`POST /auth/o2/token`).
    pub fn token_requests(&self) -> u64 {
        self.lock().token_requests
    }

    /// SP-API calls received (every route but the token's, the upload address's and `/_shop`).
    pub fn api_calls(&self) -> u64 {
        self.lock().api_calls
    }

    /// Every SP-API and upload-address request received, oldest first.
    pub fn calls(&self) -> Vec<AmazonCall> {
        self.lock().calls.clone()
    }

    /// The requests to paths starting with `prefix` (`/orders/v0`, `/_s3/`, …).
    pub fn calls_to(&self, method: &str, prefix: &str) -> Vec<AmazonCall> {
        self.lock().calls.iter().filter(|c| c.method == method && c.path.starts_with(prefix)).cloned().collect()
    }

    /// Adds listings (their quantity unset) for SKUs.
    pub fn add_listings<'a>(&self, skus: impl IntoIterator<Item = &'a str>) {
        let mut state = self.lock();
        for sku in skus {
            state.listings.entry(sku.to_owned()).or_insert(None);
        }
    }

    /// A listing's merchant-fulfilled quantity (`None`: no listing or no quantity yet).
    pub fn stock(&self, sku: &str) -> Option<i64> {
        self.lock().listings.get(sku).copied().flatten()
    }

    /// Every listing with a quantity.
    pub fn stocks(&self) -> BTreeMap<String, i64> {
        self.lock().listings.iter().filter_map(|(k, v)| Some((k.clone(), (*v)?))).collect()
    }

    /// The whole order (every data set).
    pub fn order(&self, id: &str) -> Option<Value> {
        self.lock().orders.get(id).cloned()
    }

    /// The confirmShipment bodies accepted for an order, oldest first.
    pub fn confirmations(&self, id: &str) -> Vec<Value> {
        self.lock().confirmations.get(id).cloned().unwrap_or_default()
    }

    /// Places an order (`UNSHIPPED`) in the marketplace; returns its id.
    pub fn place_order(&self, new: NewOrder, fulfilled_by: FulfilledBy) -> String {
        let c = &self.config;
        let mut state = self.lock();
        state.seq += 1;
        let n = 40_000_000_000_000_000 + state.seq;
        let digits = format!("{n:017}");
        let id = format!("{}-{}-{}", &digits[..3], &digits[3..10], &digits[10..]);
        let stamp = now();
        let currency = new.currency.clone().unwrap_or_else(|| c.currency.clone());
        let a = &new.shipping_address;
        let text = |key: &str| a.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
        let mut address = serde_json::Map::new();
        for (key, from) in [
            ("name", "name"),
            ("companyName", "company"),
            ("addressLine1", "address1"),
            ("addressLine2", "address2"),
            ("city", "city"),
            ("stateOrRegion", "province_code"),
            ("postalCode", "zip"),
            ("countryCode", "country_code"),
            ("phone", "phone"),
        ] {
            if let Some(v) = text(from).or_else(|| (key == "stateOrRegion").then(|| text("province")).flatten()) {
                address.insert(key.into(), v.into());
            }
        }
        address.insert("addressType".into(), "RESIDENTIAL".into());
        let total: f64 =
            new.line_items.iter().map(|l| l.price.parse::<f64>().unwrap_or(0.0) * f64::from(l.quantity)).sum();
        let cod = new.gateway.as_deref().is_some_and(|g| g.to_lowercase().contains("cash on delivery"));
        let masked = hex(&Sha256::digest(id.as_bytes())[..8]);
        let domain = c.domain_name.trim_start_matches("www.");
        let items: Vec<Value> = new
            .line_items
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let price = l.price.parse::<f64>().unwrap_or(0.0);
                let asin = format!("B0{}", hex(&Sha256::digest(l.sku.as_bytes())[..4]).to_uppercase());
                json!({
                    "orderItemId": format!("{:014}", (state.seq % 1_000_000_000_000) * 100 + i as u64),
                    "quantityOrdered": l.quantity,
                    "product": {"asin": asin, "title": l.name, "sellerSku": l.sku,
                        "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                        "price": {"unitPrice": money(price, &currency)}},
                    "proceeds": {"proceedsTotal": money(price * f64::from(l.quantity), &currency)},
                    "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": l.quantity},
                })
            })
            .collect();
        let order = json!({
            "orderId": id, "createdTime": stamp, "lastUpdatedTime": stamp,
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": c.marketplace_id, "marketplaceName": c.marketplace_name},
            "buyer": {"buyerName": text("name").unwrap_or("Buyer"), "buyerEmail": format!("{masked}@marketplace.{domain}")},
            "recipient": {"deliveryAddress": Value::Object(address)},
            "proceeds": {"grandTotal": money(total, &currency)},
            "payment": {"paymentExecutions": [{"paymentMethod": if cod { "CashOnDelivery" } else { "CreditCard" },
                "paymentAmount": money(total, &currency)}]},
            "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": fulfilled_by.as_str(),
                "fulfillmentServiceLevel": "STANDARD"},
            "orderItems": items,
            "packages": [],
        });
        state.orders.insert(id.clone(), order.clone());
        drop(state);
        self.notify_change(&order, "OrderStatusChange", "Order placed");
        id
    }

    /// Cancels an order; `false` when there is no such order.
    pub fn cancel_order(&self, id: &str) -> bool {
        let mut state = self.lock();
        let Some(order) = state.orders.get_mut(id) else { return false };
        order["fulfillment"]["fulfillmentStatus"] = "CANCELLED".into();
        order["lastUpdatedTime"] = now().into();
        let order = order.clone();
        drop(state);
        self.notify_change(&order, "OrderStatusChange", "Order cancelled");
        true
    }

    /// The fake's check of an SP-API call: recorded, then its faults (503, 429) and its access
    /// token (403).
    fn gate(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Option<Response> {
        let mut state = self.lock();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let token = header("x-amz-access-token");
        state.api_calls += 1;
        state.calls.push(AmazonCall {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or_default().to_owned(),
            access_token: token.clone(),
            content_type: header("content-type"),
            body: body.to_vec(),
        });
        if state.down {
            return Some(errors(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "Service Unavailable"));
        }
        if state.throttle > 0 {
            state.throttle -= 1;
            let mut response = errors(
                StatusCode::TOO_MANY_REQUESTS,
                "QuotaExceeded",
                "You exceeded your quota for the requested resource.",
            );
            if let Some(seconds) = state.retry_after {
                response.headers_mut().insert("retry-after", seconds.into());
            }
            return Some(response);
        }
        let live = token.as_deref().and_then(|t| state.tokens.get(t)).is_some_and(|until| Instant::now() < *until);
        (!live).then(|| {
            errors(
                StatusCode::FORBIDDEN,
                "Unauthorized",
                "Access to requested resource is denied. The access token is missing, expired or revoked.",
            )
        })
    }

    /// Records a request to the upload address (no token, no faults).
    fn record_storage(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        self.lock().calls.push(AmazonCall {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or_default().to_owned(),
            access_token: header("x-amz-access-token"),
            content_type: header("content-type"),
            body: body.to_vec(),
        });
    }

    /// Where this fake is reached, from the request's `Host`.
    fn base(headers: &HeaderMap) -> String {
        let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
        format!("http://{host}")
    }

    fn next_id(&self, prefix: &str) -> String {
        let mut state = self.lock();
        state.seq += 1;
        format!("{prefix}{}", state.seq)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn token(State(shop): State<AmazonSim>, axum::Form(form): axum::Form<BTreeMap<String, String>>) -> Response {
    let c = &shop.config;
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    shop.lock().token_requests += 1;
    if field("grant_type") != "refresh_token" {
        let body = json!({"error": "unsupported_grant_type", "error_description": "The authorization grant type is not supported."});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    if field("client_id") != c.client_id || field("client_secret") != c.client_secret {
        let body = json!({"error": "invalid_client", "error_description": "Client authentication failed"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    if field("refresh_token") != c.refresh_token {
        let body = json!({"error": "invalid_grant", "error_description": "The request has an invalid grant parameter : refresh_token"});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    let access = format!("Atza|{}", shop.next_id("fake-"));
    shop.lock().tokens.insert(access.clone(), Instant::now() + Duration::from_secs(c.token_lifetime));
    let body = json!({"access_token": access, "token_type": "bearer", "expires_in": c.token_lifetime,
        "refresh_token": c.refresh_token});
    axum::Json(body).into_response()
}

async fn participations(State(shop): State<AmazonSim>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(refused) = shop.gate(&method, &uri, &headers, &[]) {
        return refused;
    }
    let c = &shop.config;
    let body = json!({"payload": [{
        "marketplace": {"id": c.marketplace_id, "name": c.marketplace_name, "countryCode": c.country_code,
            "defaultCurrencyCode": c.currency, "defaultLanguageCode": c.language, "domainName": c.domain_name},
        "storeName": c.store_name,
        "participation": {"isParticipating": true, "hasSuspendedListings": false}}]});
    answer(StatusCode::OK, "0.016", Some(body))
}

const DATA_SETS: &[&str] = &[
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
];

/// The data sets asked for, or the one that is none.
fn included(p: &BTreeMap<String, Vec<String>>) -> Result<Vec<&'static str>, String> {
    let mut out = Vec::new();
    for set in p.get("includedData").into_iter().flatten() {
        match DATA_SETS.iter().find(|s| **s == set) {
            Some(s) => out.push(*s),
            None => return Err(format!("includedData: `{set}` is not a data set")),
        }
    }
    Ok(out)
}

async fn search_orders(
    State(shop): State<AmazonSim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(refused) = shop.gate(&method, &uri, &headers, &[]) {
        return refused;
    }
    let p = params(&pairs);
    let one = |k: &str| p.get(k).and_then(|v| v.first()).map(String::as_str);
    let (after, field) = match (one("createdAfter"), one("lastUpdatedAfter")) {
        (Some(t), None) => (t, "createdTime"),
        (None, Some(t)) => (t, "lastUpdatedTime"),
        _ => return invalid("Exactly one of createdAfter and lastUpdatedAfter must be given."),
    };
    let Some(after) = time(after) else { return invalid("The date must be in ISO 8601 format.") };
    let size: usize = match one("maxResultsPerPage").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return invalid("maxResultsPerPage must be between 1 and 100."),
    };
    let included = match included(&p) {
        Ok(i) => i,
        Err(wrong) => return invalid(&wrong),
    };
    let signature: String =
        p.iter().filter(|(k, _)| *k != "paginationToken").map(|(k, v)| format!("{k}={};", v.join(","))).collect();
    let mut state = shop.lock();
    let offset = match one("paginationToken") {
        None => 0,
        Some(t) => match state.pages.get(t) {
            Some((s, offset)) if *s == signature => *offset,
            _ => return invalid("Invalid paginationToken: it does not belong to these search parameters."),
        },
    };
    let wanted = |k: &str, v: &str| p.get(k).is_none_or(|list| list.iter().any(|x| x == v));
    let mut matching: Vec<&Value> = state
        .orders
        .values()
        .filter(|o| time(o[field].as_str().unwrap_or_default()).is_some_and(|t| t >= after))
        .filter(|o| wanted("marketplaceIds", o["salesChannel"]["marketplaceId"].as_str().unwrap_or_default()))
        .filter(|o| wanted("fulfilledBy", o["fulfillment"]["fulfilledBy"].as_str().unwrap_or_default()))
        .filter(|o| wanted("fulfillmentStatuses", o["fulfillment"]["fulfillmentStatus"].as_str().unwrap_or_default()))
        .collect();
    matching.sort_by(|a, b| {
        (time(a[field].as_str().unwrap_or_default()), a["orderId"].as_str())
            .cmp(&(time(b[field].as_str().unwrap_or_default()), b["orderId"].as_str()))
    });
    let total = matching.len();
    let page: Vec<Value> =
        matching.into_iter().skip(offset).take(size).map(|o| view(o, &included, shop.config.restricted_data)).collect();
    let mut body = json!({"orders": page});
    if offset + size < total {
        state.seq += 1;
        let token = format!("NT{}", state.seq);
        state.pages.insert(token.clone(), (signature, offset + size));
        body["pagination"] = json!({"nextToken": token});
    }
    body[if field == "createdTime" { "createdBefore" } else { "lastUpdatedBefore" }] = now().into();
    answer(StatusCode::OK, "0.0056", Some(body))
}

async fn get_order(
    State(shop): State<AmazonSim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(refused) = shop.gate(&method, &uri, &headers, &[]) {
        return refused;
    }
    let included = match included(&params(&pairs)) {
        Ok(i) => i,
        Err(wrong) => return invalid(&wrong),
    };
    let mut state = shop.lock();
    let Some(order) = state.orders.get(&id) else {
        return errors(StatusCode::NOT_FOUND, "NotFound", "The order was not found.");
    };
    let mut shown = view(order, &included, shop.config.restricted_data);
    if state.package_lag > 0
        && let Some(before) = state.unconfirmed.get(&id)
    {
        shown = view(before, &included, shop.config.restricted_data);
        state.package_lag -= 1;
    }
    answer(StatusCode::OK, "0.5", Some(json!({"order": shown})))
}

async fn confirm_shipment(
    State(shop): State<AmazonSim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(refused) = shop.gate(&method, &uri, &headers, &body) {
        return refused;
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else { return invalid("The body is not JSON.") };
    let mut state = shop.lock();
    let Some(order) = state.orders.get(&id) else {
        return errors(StatusCode::NOT_FOUND, "NotFound", "The order was not found.");
    };
    let d = &request["packageDetail"];
    let text = |v: &Value| v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    if request["marketplaceId"].as_str() != order["salesChannel"]["marketplaceId"].as_str() {
        return invalid("marketplaceId is not the order's marketplace.");
    }
    let Some(reference) = text(&d["packageReferenceId"]) else { return invalid("packageReferenceId is required.") };
    if !reference.bytes().all(|b| b.is_ascii_digit()) || reference.trim_start_matches('0').is_empty() {
        return invalid("packageReferenceId: only positive numeric values are supported.");
    }
    let Some(carrier) = text(&d["carrierCode"]) else { return invalid("carrierCode is required.") };
    if carrier == "Other" && text(&d["carrierName"]).is_none() {
        return invalid("carrierName is required when carrierCode is Other.");
    }
    let Some(tracking) = text(&d["trackingNumber"]) else { return invalid("trackingNumber is required.") };
    if d["shipDate"].as_str().and_then(time).is_none() {
        return invalid("shipDate must be an ISO 8601 date and time.");
    }
    if order["fulfillment"]["fulfilledBy"] == "AMAZON" {
        return invalid("The order is fulfilled by Amazon.");
    }
    if order["fulfillment"]["fulfillmentStatus"] == "CANCELLED" {
        return invalid("The order is cancelled.");
    }
    if order["packages"].as_array().into_iter().flatten().any(|p| p["packageReferenceId"] == reference.as_str()) {
        return invalid("packageReferenceId is already used in this order.");
    }
    let asked = d["orderItems"].as_array().cloned().unwrap_or_default();
    if asked.is_empty() {
        return invalid("orderItems is required.");
    }
    let before = order.clone();
    let mut order = order.clone();
    for a in &asked {
        let (Some(item_id), Some(quantity)) = (a["orderItemId"].as_str(), a["quantity"].as_i64()) else {
            return invalid("Each order item needs orderItemId and quantity.");
        };
        let Some(item) = order["orderItems"].as_array_mut().into_iter().flatten().find(|i| i["orderItemId"] == item_id)
        else {
            return invalid(&format!("orderItemId {item_id} is not in the order."));
        };
        let left = item["fulfillment"]["quantityUnfulfilled"].as_i64().unwrap_or_default();
        if quantity <= 0 || quantity > left {
            return invalid(&format!(
                "orderItemId {item_id}: {quantity} cannot be confirmed; {left} left to ship (shipment already confirmed)"
            ));
        }
        item["fulfillment"]["quantityUnfulfilled"] = (left - quantity).into();
        let done = item["fulfillment"]["quantityFulfilled"].as_i64().unwrap_or_default();
        item["fulfillment"]["quantityFulfilled"] = (done + quantity).into();
    }
    let all_shipped = order["orderItems"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|i| i["fulfillment"]["quantityUnfulfilled"].as_i64().unwrap_or_default() == 0);
    let stamp = now();
    order["fulfillment"]["fulfillmentStatus"] = if all_shipped { "SHIPPED" } else { "PARTIALLY_SHIPPED" }.into();
    order["lastUpdatedTime"] = stamp.clone().into();
    let mut package = json!({"packageReferenceId": reference, "createdTime": stamp, "shipTime": d["shipDate"],
        "packageStatus": {"status": "SHIPPED", "detailedStatus": "PICKED_UP"},
        "carrier": text(&d["carrierName"]).unwrap_or(carrier), "trackingNumber": tracking,
        "packageItems": asked.iter().map(|a| json!({"orderItemId": a["orderItemId"], "quantity": a["quantity"]})).collect::<Vec<_>>()});
    if let Some(method) = text(&d["shippingMethod"]) {
        package["shippingService"] = method.into();
    }
    order["packages"].as_array_mut().expect("packages is a list").push(package);
    state.orders.insert(id.clone(), order.clone());
    state.unconfirmed.insert(id.clone(), before);
    state.confirmations.entry(id).or_default().push(request);
    drop(state);
    shop.notify_change(&order, "OrderStatusChange", "Shipment confirmed");
    answer(StatusCode::NO_CONTENT, "2", None)
}

async fn patch_listing(
    State(shop): State<AmazonSim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path((seller, sku)): Path<(String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    if let Some(refused) = shop.gate(&method, &uri, &headers, &body) {
        return refused;
    }
    let c = &shop.config;
    if seller != c.seller_id {
        return errors(StatusCode::FORBIDDEN, "Unauthorized", "The sellerId is not the authorising seller's.");
    }
    if !params(&pairs).get("marketplaceIds").is_some_and(|m| m.contains(&c.marketplace_id)) {
        return invalid("marketplaceIds is required and must name the seller's marketplace.");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else { return invalid("The body is not JSON.") };
    if request["productType"].as_str().is_none_or(str::is_empty) {
        return invalid("productType is required.");
    }
    let quantity = request["patches"].as_array().into_iter().flatten().find_map(|p| {
        (p["path"] == "/attributes/fulfillment_availability"
            && matches!(p["op"].as_str(), Some("replace" | "add" | "merge")))
        .then(|| {
            p["value"].as_array()?.iter().find(|v| v["fulfillment_channel_code"] == "DEFAULT")?["quantity"].as_i64()
        })
        .flatten()
    });
    let Some(quantity) = quantity else {
        return invalid("patches: no fulfillment_availability quantity for DEFAULT.");
    };
    let submission = shop.next_id("sub-");
    let mut state = shop.lock();
    let body = match state.listings.get_mut(&sku) {
        Some(listing) => {
            *listing = Some(quantity);
            json!({"sku": sku, "status": "ACCEPTED", "submissionId": submission, "issues": []})
        }
        None => json!({"sku": sku, "status": "INVALID", "submissionId": submission, "issues": [{
            // The fake's own code.
            "code": "FAKE_SKU_NOT_FOUND", "message": format!("The SKU '{sku}' has no listing for this seller."),
            "severity": "ERROR", "categories": []}]}),
    };
    answer(StatusCode::OK, "5", Some(body))
}

async fn create_document(
    State(shop): State<AmazonSim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = shop.gate(&method, &uri, &headers, &body) {
        return refused;
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else { return invalid("The body is not JSON.") };
    let Some(content_type) = request["contentType"].as_str().filter(|s| !s.is_empty()) else {
        return invalid("contentType is required.");
    };
    let id = shop.next_id("amzn1.tortuga.4.eu.");
    shop.lock()
        .documents
        .insert(id.clone(), Document { content_type: content_type.to_owned(), bytes: None, gzip: false });
    let url = format!("{}/_s3/{id}", AmazonSim::base(&headers));
    answer(StatusCode::CREATED, "0.5", Some(json!({"feedDocumentId": id, "url": url})))
}

async fn upload(
    State(shop): State<AmazonSim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    shop.record_storage(&method, &uri, &headers, &body);
    let mut state = shop.lock();
    let Some(document) = state.documents.get_mut(&id) else {
        return (StatusCode::NOT_FOUND, "NoSuchKey").into_response();
    };
    let given = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if given != document.content_type {
        return (
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch: the Content-Type is not the one the URL was signed for",
        )
            .into_response();
    }
    document.bytes = Some(body.to_vec());
    StatusCode::OK.into_response()
}

async fn download(
    State(shop): State<AmazonSim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    shop.record_storage(&method, &uri, &headers, &[]);
    match shop.lock().documents.get(&id).and_then(|d| d.bytes.clone()) {
        Some(bytes) => bytes.into_response(),
        None => (StatusCode::NOT_FOUND, "NoSuchKey").into_response(),
    }
}

/// The listings feed processing report (`listings-feed-processing-report-schema-v2`) of a feed:
/// each message's quantity set, or an issue when its SKU has no listing.
fn process_feed(shop: &AmazonSim, state: &mut Store, feed_id: &str, document: &[u8]) -> Value {
    let c = &shop.config;
    let header = json!({"sellerId": c.seller_id, "version": "2.0", "feedId": feed_id});
    let summary = |errors: usize, processed: usize, accepted: usize, invalid: usize| {
        json!({"errors": errors, "warnings": 0, "messagesProcessed": processed, "messagesAccepted": accepted,
            "messagesInvalid": invalid})
    };
    let feed: Value = match serde_json::from_slice(document) {
        Ok(f) => f,
        Err(e) => {
            let issue = json!({"severity": "ERROR", "message": format!("The feed is not valid JSON: {e}")});
            return json!({"header": header, "issues": [issue], "summary": summary(1, 0, 0, 0)});
        }
    };
    if feed["header"]["sellerId"] != c.seller_id.as_str() || feed["header"]["version"] != "2.0" {
        let issue = json!({"severity": "ERROR", "message": "The header's sellerId or version is not valid."});
        return json!({"header": header, "issues": [issue], "summary": summary(1, 0, 0, 0)});
    }
    let mut issues = Vec::new();
    let messages = feed["messages"].as_array().cloned().unwrap_or_default();
    for m in &messages {
        let sku = m["sku"].as_str().unwrap_or_default();
        let quantity = m["patches"].as_array().into_iter().flatten().find_map(|p| {
            (p["path"] == "/attributes/fulfillment_availability")
                .then(|| {
                    p["value"].as_array()?.iter().find(|v| v["fulfillment_channel_code"] == "DEFAULT")?["quantity"]
                        .as_i64()
                })
                .flatten()
        });
        match (state.listings.get_mut(sku), quantity) {
            (Some(listing), Some(q)) => *listing = Some(q),
            (None, _) => issues.push(json!({"messageId": m["messageId"], "sku": sku, "code": "FAKE_SKU_NOT_FOUND",
                "severity": "ERROR", "message": format!("The SKU '{sku}' has no listing for this seller.")})),
            (Some(_), None) => issues.push(json!({"messageId": m["messageId"], "sku": sku, "code": "FAKE_NO_QUANTITY",
                "severity": "ERROR", "message": "The message sets no fulfillment_availability quantity for DEFAULT."})),
        }
    }
    let invalid = issues.len();
    json!({"header": header, "issues": issues,
        "summary": summary(invalid, messages.len(), messages.len() - invalid, invalid)})
}

async fn create_feed(
    State(shop): State<AmazonSim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = shop.gate(&method, &uri, &headers, &body) {
        return refused;
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else { return invalid("The body is not JSON.") };
    if request["feedType"] != "JSON_LISTINGS_FEED" {
        return invalid("This fake processes JSON_LISTINGS_FEED only.");
    }
    let marketplaces: Vec<String> = request["marketplaceIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(str::to_owned))
        .collect();
    if !marketplaces.contains(&shop.config.marketplace_id) {
        return invalid("marketplaceIds must name the seller's marketplace.");
    }
    let input = request["inputFeedDocumentId"].as_str().unwrap_or_default().to_owned();
    let feed_id = shop.next_id("");
    let result_id = shop.next_id("amzn1.tortuga.4.eu.");
    let mut state = shop.lock();
    let Some(uploaded) = state.documents.get(&input).and_then(|d| d.bytes.clone()) else {
        return invalid("inputFeedDocumentId names no uploaded document.");
    };
    let report = serde_json::to_vec(&process_feed(&shop, &mut state, &feed_id, &uploaded)).expect("JSON");
    let gzip_reports = shop.config.gzip_reports;
    let bytes = if gzip_reports { gzip(&report) } else { report };
    state.documents.insert(
        result_id.clone(),
        Document { content_type: "application/json".into(), bytes: Some(bytes), gzip: gzip_reports },
    );
    let pending = state.feed_pending_polls;
    state
        .feeds
        .insert(feed_id.clone(), Feed { marketplace_ids: marketplaces, created: now(), pending, result: result_id });
    answer(StatusCode::ACCEPTED, "0.0083", Some(json!({"feedId": feed_id})))
}

async fn get_feed(
    State(shop): State<AmazonSim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = shop.gate(&method, &uri, &headers, &[]) {
        return refused;
    }
    let mut state = shop.lock();
    let Some(feed) = state.feeds.get_mut(&id) else {
        return errors(StatusCode::NOT_FOUND, "NotFound", "The feed was not found.");
    };
    let mut body = json!({"feedId": id, "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": feed.marketplace_ids,
        "createdTime": feed.created});
    if feed.pending > 0 {
        feed.pending -= 1;
        body["processingStatus"] = "IN_QUEUE".into();
    } else {
        body["processingStatus"] = "DONE".into();
        body["processingStartTime"] = feed.created.clone().into();
        body["processingEndTime"] = now().into();
        body["resultFeedDocumentId"] = feed.result.clone().into();
    }
    answer(StatusCode::OK, "2", Some(body))
}

async fn get_document(
    State(shop): State<AmazonSim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = shop.gate(&method, &uri, &headers, &[]) {
        return refused;
    }
    let state = shop.lock();
    let Some(document) = state.documents.get(&id) else {
        return errors(StatusCode::NOT_FOUND, "NotFound", "The feed document was not found.");
    };
    let mut body = json!({"feedDocumentId": id, "url": format!("{}/_s3/{id}", AmazonSim::base(&headers))});
    if document.gzip {
        body["compressionAlgorithm"] = "GZIP".into();
    }
    answer(StatusCode::OK, "0.0222", Some(body))
}

async fn place(State(shop): State<AmazonSim>, body: Bytes) -> Response {
    match serde_json::from_slice::<NewAmazonOrder>(&body) {
        Ok(new) => {
            let id = shop.place_order(new.order, new.fulfilled_by);
            (StatusCode::CREATED, axum::Json(json!({"orderId": id}))).into_response()
        }
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(json!({"errors": e.to_string()}))).into_response(),
    }
}

async fn show(State(shop): State<AmazonSim>, Path(id): Path<String>) -> Response {
    match shop.order(&id) {
        Some(order) => axum::Json(json!({"order": order, "confirmations": shop.confirmations(&id)})).into_response(),
        None => errors(StatusCode::NOT_FOUND, "NotFound", "The order was not found."),
    }
}

async fn cancel(State(shop): State<AmazonSim>, Path(id): Path<String>) -> Response {
    if shop.cancel_order(&id) {
        StatusCode::OK.into_response()
    } else {
        errors(StatusCode::NOT_FOUND, "NotFound", "The order was not found.")
    }
}

async fn add_listings(State(shop): State<AmazonSim>, axum::Json(body): axum::Json<Value>) -> StatusCode {
    let skus: Vec<String> =
        body["skus"].as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_owned)).collect();
    if skus.is_empty() {
        return StatusCode::UNPROCESSABLE_ENTITY;
    }
    shop.add_listings(skus.iter().map(String::as_str));
    StatusCode::NO_CONTENT
}

async fn listings(State(shop): State<AmazonSim>) -> Response {
    let all: BTreeMap<String, Option<i64>> = shop.lock().listings.clone();
    axum::Json(all).into_response()
}

async fn set_faults(State(shop): State<AmazonSim>, axum::Json(body): axum::Json<Value>) -> StatusCode {
    shop.set_down(body["down"].as_bool().unwrap_or(false));
    let throttle = body["throttle"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    shop.set_throttle(throttle, body["retry_after"].as_u64());
    shop.set_feed_pending_polls(body["feed_pending_polls"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0));
    shop.set_package_lag(body["package_lag"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0));
    if body["revoke_tokens"].as_bool() == Some(true) {
        shop.revoke_tokens();
    }
    StatusCode::NO_CONTENT
}

async fn stats(State(shop): State<AmazonSim>) -> Response {
    axum::Json(json!({"token_requests": shop.token_requests(), "api_calls": shop.api_calls()})).into_response()
}
