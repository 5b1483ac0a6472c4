//! A fake Shopify store. What it answers, in Shopify's shapes (Admin API 2026-07, as `../shared/notes/channels.md` §2
//! describes them):
//!
//! | Route | Purpose |
//! | --- | --- |
//! | `POST /admin/api/{version}/graphql.json` | the GraphQL Admin API: `shop`, `orders(first, after, query)` (with `updated_at:>='…'` and `fulfillment_status:unshipped`), `order(id){fulfillments, fulfillmentOrders}`, `fulfillment(id){events}`, `fulfillmentCreate`, `fulfillmentEventCreate`, `fulfillmentCancel` (its lines open again), `location` (the primary one), `inventoryItems(query: "sku:'A' OR …")`, `inventorySetQuantities` (every quantity must carry `changeFromQuantity` and the mutation an `@idempotent` key, as from 2026-04); `X-Shopify-Access-Token` required (else 401) |
//! | `POST /_shop/orders` | place an order: `{"email", "currency", "gateway", "locale", "shipping_address": {…}, "line_items": [{"sku", "name", "quantity", "price"}]}` → 201 `{"id", "name"}`; sends the signed `orders/create` webhook |
//! | `POST /_shop/orders/{id}/cancel` | cancel it; sends `orders/cancelled` |
//! | `GET /_shop/orders/{id}` | the order as Shopify's REST JSON, with `fulfillments` and their `events` |
//! | `GET /_shop/inventory` | `{"SKU": [available, …]}`: the stock of each SKU's inventory items at the primary location |
//! | `PUT /_shop/webhook` | `{"url"}`: where order webhooks go (HMAC-SHA256 of the body with the client secret, base64, in `X-Shopify-Hmac-Sha256`) |
//! | `PUT /_shop/faults` | `{"down": bool, "throttle": n}`: answer 503, or `THROTTLED` to the next n queries |
//!
//! Webhooks are retried five times, a second apart, until the receiver answers 2xx.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use chrono::{SecondsFormat, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

/// Who the store is and the secrets a connection to it needs.
#[derive(Debug, Clone)]
pub struct ShopConfig {
    /// The store's handle: its domain is `{shop}.myshopify.com`.
    pub shop: String,
    pub name: String,
    pub access_token: String,
    /// Signs the webhooks.
    pub client_secret: String,
    pub currency: String,
}

impl Default for ShopConfig {
    fn default() -> Self {
        Self {
            shop: "demo-store".into(),
            name: "Demo Store".into(),
            access_token: "shpat_demo".into(),
            client_secret: "demo-client-secret".into(),
            currency: "TRY".into(),
        }
    }
}

/// One GraphQL call as the store received it, for tests to check.
#[derive(Debug, Clone)]
pub struct Call {
    /// The root field asked for (`orders`, `fulfillmentCreate`, …).
    pub field: String,
    pub query: String,
    pub variables: Value,
}

/// What a test sees of an order: its fulfillments, each with tracking and the events posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenFulfilment {
    pub id: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub company: Option<String>,
    pub notify_customer: bool,
    /// Event statuses, oldest first (`IN_TRANSIT`, `DELIVERED`, …).
    pub events: Vec<String>,
    /// Quantities fulfilled per SKU.
    pub lines: Vec<(String, u32)>,
    /// Cancelled (`fulfillmentCancel`): its lines are open to fulfil again.
    pub cancelled: bool,
}

#[derive(Default)]
struct Store {
    next_id: u64,
    orders: BTreeMap<u64, Order>,
    webhook: Option<String>,
    calls: Vec<Call>,
    down: bool,
    throttle: u32,
    fulfilments: u64,
    /// SKU → its inventory items at the primary location.
    inventory: BTreeMap<String, Vec<Item>>,
    items: u64,
}

struct Item {
    id: String,
    tracked: bool,
    available: i64,
}

/// The store's one location.
pub const PRIMARY_LOCATION: &str = "gid://shopify/Location/1";

struct Order {
    rest: Value,
    /// SKU, remaining quantity, fulfillment order line id.
    remaining: Vec<(String, u32, String)>,
    fulfilments: Vec<SeenFulfilment>,
}

/// The store. Cheap to clone; clones share the store's state.
#[derive(Clone)]
pub struct ShopSim {
    config: Arc<ShopConfig>,
    state: Arc<Mutex<Store>>,
    client: reqwest::Client,
}

/// An order to place.
#[derive(Debug, Clone, Deserialize)]
pub struct NewOrder {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub currency: Option<String>,
    /// The payment gateway's name (`Cash on Delivery (COD)` makes a COD order).
    pub gateway: Option<String>,
    pub locale: Option<String>,
    pub shipping_address: Value,
    pub line_items: Vec<NewLine>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewLine {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub price: String,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl ShopSim {
    pub fn new(config: ShopConfig) -> Self {
        // Ids from the clock, so a store restarted under the same Waybill never reuses one.
        let first = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(1) * 100;
        let state = Store { next_id: first, ..Store::default() };
        Self {
            config: Arc::new(config),
            state: Arc::new(Mutex::new(state)),
            client: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("a plain client builds"),
        }
    }

    pub fn config(&self) -> &ShopConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/admin/api/{version}/graphql.json", post(graphql))
            .route("/_shop/orders", post(place))
            .route("/_shop/orders/{id}", get(show))
            .route("/_shop/orders/{id}/cancel", post(cancel))
            .route("/_shop/inventory", get(inventory))
            .route("/_shop/webhook", put(set_webhook))
            .route("/_shop/faults", put(set_faults))
            .with_state(self.clone())
    }

    /// Serves the store until the process ends.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// Where order webhooks go from now on.
    pub fn set_webhook(&self, url: &str) {
        self.lock().webhook = Some(url.to_owned());
    }

    /// Answer 503 to every GraphQL call while `down`; `THROTTLED` to the next `throttle` ones.
    pub fn set_faults(&self, down: bool, throttle: u32) {
        let mut state = self.lock();
        state.down = down;
        state.throttle = throttle;
    }

    /// Every GraphQL call received so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The fulfilments of an order, with their events.
    pub fn fulfilments(&self, id: u64) -> Vec<SeenFulfilment> {
        self.lock().orders.get(&id).map(|o| o.fulfilments.clone()).unwrap_or_default()
    }

    /// Adds a product variant with this SKU whose stock Shopify tracks (or not); returns its
    /// inventory item's id.
    pub fn add_inventory_item(&self, sku: &str, tracked: bool) -> String {
        let mut state = self.lock();
        state.items += 1;
        let id = format!("gid://shopify/InventoryItem/{}", 30_000 + state.items);
        state.inventory.entry(sku.to_owned()).or_default().push(Item { id: id.clone(), tracked, available: 0 });
        id
    }

    /// The available stock of each item with this SKU at the primary location.
    pub fn stock(&self, sku: &str) -> Vec<i64> {
        self.lock().inventory.get(sku).map(|items| items.iter().map(|i| i.available).collect()).unwrap_or_default()
    }

    /// Places an order and sends `orders/create`; returns its id.
    pub fn place_order(&self, new: NewOrder) -> u64 {
        let (id, rest) = {
            let mut state = self.lock();
            state.next_id += 1;
            let id = state.next_id;
            let number = 1000 + state.orders.len() + 1;
            let stamp = now();
            let lines: Vec<Value> = new
                .line_items
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    json!({"id": id * 100 + i as u64, "sku": l.sku, "name": l.name, "title": l.name,
                        "quantity": l.quantity, "current_quantity": l.quantity, "fulfillable_quantity": l.quantity,
                        "price": l.price, "requires_shipping": true})
                })
                .collect();
            let total: f64 =
                new.line_items.iter().map(|l| l.price.parse::<f64>().unwrap_or(0.0) * f64::from(l.quantity)).sum();
            let cod = new.gateway.as_deref().is_some_and(|g| g.to_lowercase().contains("cash on delivery"));
            let rest = json!({
                "id": id,
                "admin_graphql_api_id": format!("gid://shopify/Order/{id}"),
                "name": format!("#{number}"),
                "email": new.email,
                "phone": new.phone,
                "currency": new.currency.clone().unwrap_or_else(|| self.config.currency.clone()),
                "created_at": stamp,
                "updated_at": stamp,
                "cancelled_at": null,
                "financial_status": if cod { "pending" } else { "paid" },
                "fulfillment_status": null,
                "customer_locale": new.locale,
                "payment_gateway_names": [new.gateway.clone().unwrap_or_else(|| "shopify_payments".into())],
                "total_price": format!("{total:.2}"),
                "total_outstanding": if cod { format!("{total:.2}") } else { "0.00".into() },
                "shipping_address": new.shipping_address,
                "line_items": lines,
            });
            let remaining = new
                .line_items
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    (
                        l.sku.clone(),
                        l.quantity,
                        format!("gid://shopify/FulfillmentOrderLineItem/{}", id * 100 + i as u64),
                    )
                })
                .collect();
            state.orders.insert(id, Order { rest: rest.clone(), remaining, fulfilments: vec![] });
            (id, rest)
        };
        self.send_webhook("orders/create", rest);
        id
    }

    /// Fulfils everything left of an order as the merchant would in Shopify's admin (not
    /// through the API), with `tracking_number`; sends `orders/updated`. `false` when there is
    /// no such order.
    pub fn fulfil_in_admin(&self, id: u64, tracking_number: &str) -> bool {
        let rest = {
            let mut state = self.lock();
            state.fulfilments += 1;
            let fulfilment_id = format!("gid://shopify/Fulfillment/{}", 255_858_046 + state.fulfilments);
            let Some(order) = state.orders.get_mut(&id) else { return false };
            let lines: Vec<(String, u32)> = order
                .remaining
                .iter_mut()
                .filter(|(_, q, _)| *q > 0)
                .map(|(sku, q, _)| (sku.clone(), std::mem::take(q)))
                .collect();
            order.fulfilments.push(SeenFulfilment {
                id: fulfilment_id,
                tracking_number: tracking_number.to_owned(),
                tracking_url: None,
                company: None,
                notify_customer: false,
                events: vec![],
                lines,
                cancelled: false,
            });
            order.rest["fulfillment_status"] = "fulfilled".into();
            order.rest["updated_at"] = now().into();
            order.rest.clone()
        };
        self.send_webhook("orders/updated", rest);
        true
    }

    /// Cancels an order and sends `orders/cancelled`; `false` when there is no such order.
    pub fn cancel_order(&self, id: u64) -> bool {
        let rest = {
            let mut state = self.lock();
            let Some(order) = state.orders.get_mut(&id) else { return false };
            let stamp = now();
            order.rest["cancelled_at"] = stamp.clone().into();
            order.rest["updated_at"] = stamp.into();
            order.rest.clone()
        };
        self.send_webhook("orders/cancelled", rest);
        true
    }

    /// The order as REST JSON, with its fulfilments.
    pub fn order_json(&self, id: u64) -> Option<Value> {
        let state = self.lock();
        let order = state.orders.get(&id)?;
        let mut out = order.rest.clone();
        out["fulfillments"] = order
            .fulfilments
            .iter()
            .map(|f| {
                json!({"id": f.id, "tracking_number": f.tracking_number, "tracking_url": f.tracking_url,
                    "tracking_company": f.company, "events": f.events, "line_items": f.lines,
                    "status": if f.cancelled { "cancelled" } else { "success" }})
            })
            .collect();
        Some(out)
    }

    /// The `X-Shopify-Hmac-Sha256` of a body, as the store signs its webhooks.
    pub fn sign(&self, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.config.client_secret.as_bytes()).expect("any key length");
        mac.update(body);
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    /// Sends a signed webhook in the background, retried until the receiver takes it.
    fn send_webhook(&self, topic: &'static str, order: Value) {
        let Some(url) = self.lock().webhook.clone() else { return };
        let body = order.to_string();
        let headers = vec![
            ("x-shopify-topic", topic.to_owned()),
            ("x-shopify-hmac-sha256", self.sign(body.as_bytes())),
            ("x-shopify-shop-domain", format!("{}.myshopify.com", self.config.shop)),
            ("x-shopify-api-version", "2026-07".to_owned()),
            ("x-shopify-webhook-id", ulid::Ulid::new().to_string().to_lowercase()),
        ];
        crate::deliver(self.client.clone(), url, headers, body);
    }
}

async fn place(State(shop): State<ShopSim>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<NewOrder>(&body) {
        Ok(new) => {
            let id = shop.place_order(new);
            let name = shop.order_json(id).map(|o| o["name"].clone()).unwrap_or_default();
            (StatusCode::CREATED, axum::Json(json!({"id": id, "name": name}))).into_response()
        }
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(json!({"errors": e.to_string()}))).into_response(),
    }
}

async fn show(State(shop): State<ShopSim>, Path(id): Path<u64>) -> Response {
    match shop.order_json(id) {
        Some(order) => axum::Json(json!({"order": order})).into_response(),
        None => (StatusCode::NOT_FOUND, axum::Json(json!({"errors": "Not Found"}))).into_response(),
    }
}

async fn cancel(State(shop): State<ShopSim>, Path(id): Path<u64>) -> Response {
    if shop.cancel_order(id) {
        StatusCode::OK.into_response()
    } else {
        (StatusCode::NOT_FOUND, axum::Json(json!({"errors": "Not Found"}))).into_response()
    }
}

async fn inventory(State(shop): State<ShopSim>) -> Response {
    let state = shop.lock();
    let stock: BTreeMap<&String, Vec<i64>> =
        state.inventory.iter().map(|(sku, items)| (sku, items.iter().map(|i| i.available).collect())).collect();
    axum::Json(stock).into_response()
}

async fn set_webhook(State(shop): State<ShopSim>, axum::Json(body): axum::Json<Value>) -> StatusCode {
    match body.get("url").and_then(Value::as_str) {
        Some(url) => {
            shop.set_webhook(url);
            StatusCode::NO_CONTENT
        }
        None => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

async fn set_faults(State(shop): State<ShopSim>, axum::Json(body): axum::Json<Value>) -> StatusCode {
    let down = body.get("down").and_then(Value::as_bool).unwrap_or(false);
    let throttle = body.get("throttle").and_then(Value::as_u64).unwrap_or(0) as u32;
    shop.set_faults(down, throttle);
    StatusCode::NO_CONTENT
}

/// The cost figures every answer carries, as Shopify's do.
fn cost(available: f64) -> Value {
    json!({"cost": {"requestedQueryCost": 52, "actualQueryCost": 12,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": available, "restoreRate": 100.0}}})
}

fn data(value: Value) -> Response {
    axum::Json(json!({"data": value, "extensions": cost(1990.0)})).into_response()
}

fn error(message: &str) -> Response {
    axum::Json(json!({"errors": [{"message": message}], "extensions": cost(1990.0)})).into_response()
}

/// The root fields the store answers, in the order they are looked for in a document.
const FIELDS: &[&str] = &[
    "fulfillmentEventCreate",
    "fulfillmentCreate",
    "fulfillmentCancel",
    "fulfillment",
    "orders",
    "order",
    "shop",
    "inventorySetQuantities",
    "inventoryItems",
    "location",
];

/// The root field a document asks for: the first of [`FIELDS`] followed by `(` or ` {`.
fn root_field(query: &str) -> Option<&'static str> {
    let body = &query[query.find('{')? + 1..];
    FIELDS.iter().copied().find(|f| {
        body.match_indices(f).any(|(i, _)| {
            let before = body[..i].chars().last();
            let after = body[i + f.len()..].trim_start().chars().next();
            !before.is_some_and(|c| c.is_alphanumeric()) && matches!(after, Some('(' | '{'))
        })
    })
}

async fn graphql(State(shop): State<ShopSim>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let token = headers.get("x-shopify-access-token").and_then(|v| v.to_str().ok());
    if token != Some(shop.config.access_token.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(
                json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
            ),
        )
            .into_response();
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"errors": "Bad Request"}))).into_response();
    };
    let query = request.get("query").and_then(Value::as_str).unwrap_or_default().to_owned();
    let variables = request.get("variables").cloned().unwrap_or(json!({}));
    let Some(field) = root_field(&query) else { return error("Field is not defined on QueryRoot") };
    {
        let mut state = shop.lock();
        state.calls.push(Call { field: field.to_owned(), query: query.clone(), variables: variables.clone() });
        if state.down {
            return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
        }
        if state.throttle > 0 {
            state.throttle -= 1;
            return axum::Json(json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                "extensions": cost(2.0)}))
            .into_response();
        }
    }
    match field {
        "shop" => data(
            json!({"shop": {"name": shop.config.name, "myshopifyDomain": format!("{}.myshopify.com", shop.config.shop)}}),
        ),
        "orders" => orders(&shop, &variables),
        "order" => order(&shop, &variables),
        "fulfillment" => fulfillment(&shop, &variables),
        "fulfillmentCreate" => fulfillment_create(&shop, &variables),
        "fulfillmentCancel" => fulfillment_cancel(&shop, &variables),
        "location" => data(json!({"location": {"id": PRIMARY_LOCATION}})),
        "inventoryItems" => inventory_items(&shop, &variables),
        "inventorySetQuantities" => inventory_set_quantities(&shop, &query, &variables),
        _ => fulfillment_event_create(&shop, &variables),
    }
}

fn numeric_id(gid: &str) -> Option<u64> {
    gid.rsplit('/').next()?.parse().ok()
}

/// The GraphQL `Order` node of a REST order, with the fields the connector selects.
fn node(rest: &Value) -> Value {
    let money = |v: &Value| json!({"shopMoney": {"amount": v.as_str().unwrap_or("0.00")}});
    let address = &rest["shipping_address"];
    json!({
        "id": rest["admin_graphql_api_id"],
        "legacyResourceId": rest["id"].to_string(),
        "name": rest["name"],
        "updatedAt": rest["updated_at"],
        "cancelledAt": rest["cancelled_at"],
        "displayFinancialStatus": rest["financial_status"].as_str().map(str::to_uppercase),
        "displayFulfillmentStatus": if rest["fulfillment_status"] == "fulfilled" { "FULFILLED" } else { "UNFULFILLED" },
        "email": rest["email"],
        "phone": rest["phone"],
        "currencyCode": rest["currency"],
        "customerLocale": rest["customer_locale"],
        "paymentGatewayNames": rest["payment_gateway_names"],
        "totalOutstandingSet": money(&rest["total_outstanding"]),
        "shippingAddress": if address.is_null() { Value::Null } else { json!({
            "name": address["name"], "company": address["company"], "address1": address["address1"],
            "address2": address["address2"], "city": address["city"], "province": address["province"],
            "provinceCode": address["province_code"], "zip": address["zip"], "countryCodeV2": address["country_code"],
            "phone": address["phone"]}) },
        "lineItems": {"nodes": rest["line_items"].as_array().into_iter().flatten().map(|l| json!({
            "sku": l["sku"], "name": l["name"], "quantity": l["quantity"], "currentQuantity": l["current_quantity"],
            "requiresShipping": l["requires_shipping"], "originalUnitPriceSet": money(&l["price"])})).collect::<Vec<_>>()},
    })
}

fn orders(shop: &ShopSim, variables: &Value) -> Response {
    let first = variables.get("first").and_then(Value::as_u64).unwrap_or(50).min(250) as usize;
    let query = variables.get("query").and_then(Value::as_str).unwrap_or_default();
    let since = query.split("updated_at:>='").nth(1).and_then(|r| r.split('\'').next()).map(str::to_owned);
    let unshipped = query.contains("fulfillment_status:unshipped");
    let skip: usize = variables
        .get("after")
        .and_then(Value::as_str)
        .and_then(|a| a.strip_prefix("cursor:")?.parse().ok())
        .unwrap_or(0);
    let state = shop.lock();
    let mut matching: Vec<&Value> = state
        .orders
        .values()
        .map(|o| &o.rest)
        .filter(|o| since.as_deref().is_none_or(|s| o["updated_at"].as_str().unwrap_or_default() >= s))
        .filter(|o| !unshipped || (o["fulfillment_status"].is_null() && o["cancelled_at"].is_null()))
        .collect();
    matching.sort_by(|a, b| {
        a["updated_at"].as_str().cmp(&b["updated_at"].as_str()).then(a["id"].as_u64().cmp(&b["id"].as_u64()))
    });
    let page: Vec<Value> = matching.iter().skip(skip).take(first).map(|o| node(o)).collect();
    let more = matching.len() > skip + first;
    data(
        json!({"orders": {"pageInfo": {"hasNextPage": more, "endCursor": format!("cursor:{}", skip + page.len())}, "nodes": page}}),
    )
}

fn order(shop: &ShopSim, variables: &Value) -> Response {
    let id = variables.get("id").and_then(Value::as_str).and_then(numeric_id);
    let state = shop.lock();
    let Some(order) = id.and_then(|id| state.orders.get(&id)) else { return data(json!({"order": null})) };
    let id = id.unwrap_or_default();
    let open = order.rest["cancelled_at"].is_null() && order.remaining.iter().any(|(_, q, _)| *q > 0);
    data(json!({"order": {
        "fulfillments": order.fulfilments.iter().map(|f| json!({"id": f.id, "status": if f.cancelled { "CANCELLED" } else { "SUCCESS" },
            "trackingInfo": [{"number": f.tracking_number}]})).collect::<Vec<_>>(),
        "fulfillmentOrders": {"nodes": [{
            "id": format!("gid://shopify/FulfillmentOrder/{id}"),
            "status": if open { "OPEN" } else { "CLOSED" },
            "supportedActions": if open { json!([{"action": "CREATE_FULFILLMENT"}]) } else { json!([]) },
            "lineItems": {"nodes": order.remaining.iter().map(|(sku, q, line)| json!({"id": line, "sku": sku, "remainingQuantity": q})).collect::<Vec<_>>()}
        }]}
    }}))
}

fn fulfillment(shop: &ShopSim, variables: &Value) -> Response {
    let id = variables.get("id").and_then(Value::as_str).unwrap_or_default();
    let state = shop.lock();
    let found = state.orders.values().flat_map(|o| &o.fulfilments).find(|f| f.id == id);
    match found {
        Some(f) => {
            let last: Vec<Value> = f.events.last().map(|s| json!({"status": s})).into_iter().collect();
            let status = if f.cancelled { "CANCELLED" } else { "SUCCESS" };
            data(json!({"fulfillment": {"status": status, "events": {"nodes": last}}}))
        }
        None => data(json!({"fulfillment": null})),
    }
}

fn user_error(field: &str, payload: &str, message: &str) -> Response {
    let mut answer = serde_json::Map::new();
    answer.insert(payload.to_owned(), Value::Null);
    answer.insert("userErrors".into(), json!([{"field": ["fulfillment"], "message": message}]));
    let mut root = serde_json::Map::new();
    root.insert(field.to_owned(), Value::Object(answer));
    data(Value::Object(root))
}

fn fulfillment_create(shop: &ShopSim, variables: &Value) -> Response {
    let input = &variables["fulfillment"];
    let Some(groups) = input["lineItemsByFulfillmentOrder"].as_array().filter(|g| !g.is_empty()) else {
        return error(
            "Variable $fulfillment of type FulfillmentInput! was provided invalid value for lineItemsByFulfillmentOrder",
        );
    };
    let Some(number) = input.pointer("/trackingInfo/number").and_then(Value::as_str) else {
        return user_error("fulfillmentCreate", "fulfillment", "Tracking number can't be blank");
    };
    let mut state = shop.lock();
    state.fulfilments += 1;
    let fulfilment_id = format!("gid://shopify/Fulfillment/{}", 255_858_046 + state.fulfilments);
    let mut lines = Vec::new();
    let mut touched = None;
    for group in groups {
        let Some(order_id) = group["fulfillmentOrderId"].as_str().and_then(numeric_id) else {
            return error("Invalid id: fulfillmentOrderId");
        };
        let Some(order) = state.orders.get_mut(&order_id) else {
            return user_error("fulfillmentCreate", "fulfillment", "Fulfillment order does not exist.");
        };
        if !order.rest["cancelled_at"].is_null() || order.remaining.iter().all(|(_, q, _)| *q == 0) {
            return user_error("fulfillmentCreate", "fulfillment", "Fulfillment order is not in an open state.");
        }
        match group["fulfillmentOrderLineItems"].as_array() {
            None => {
                for (sku, q, _) in order.remaining.iter_mut().filter(|(_, q, _)| *q > 0) {
                    lines.push((sku.clone(), *q));
                    *q = 0;
                }
            }
            Some(items) => {
                for item in items {
                    let (Some(line), Some(quantity)) = (item["id"].as_str(), item["quantity"].as_u64()) else {
                        return error("Invalid fulfillmentOrderLineItems");
                    };
                    let Some((sku, q, _)) = order.remaining.iter_mut().find(|(_, _, l)| l == line) else {
                        return user_error(
                            "fulfillmentCreate",
                            "fulfillment",
                            "Invalid fulfillment order line item id.",
                        );
                    };
                    if quantity as u32 > *q {
                        return user_error(
                            "fulfillmentCreate",
                            "fulfillment",
                            "Quantity exceeds the remaining quantity.",
                        );
                    }
                    *q -= quantity as u32;
                    lines.push((sku.clone(), quantity as u32));
                }
            }
        }
        touched = Some(order_id);
    }
    let Some(order_id) = touched else { return error("no fulfillment order") };
    let order = state.orders.get_mut(&order_id).expect("touched above");
    order.fulfilments.push(SeenFulfilment {
        id: fulfilment_id.clone(),
        tracking_number: number.to_owned(),
        tracking_url: input.pointer("/trackingInfo/url").and_then(Value::as_str).map(str::to_owned),
        company: input.pointer("/trackingInfo/company").and_then(Value::as_str).map(str::to_owned),
        notify_customer: input["notifyCustomer"].as_bool().unwrap_or(false),
        events: vec![],
        lines,
        cancelled: false,
    });
    let done = order.remaining.iter().all(|(_, q, _)| *q == 0);
    order.rest["fulfillment_status"] = if done { "fulfilled".into() } else { "partial".into() };
    order.rest["updated_at"] = now().into();
    let rest = order.rest.clone();
    drop(state);
    shop.send_webhook("orders/updated", rest);
    data(json!({"fulfillmentCreate": {"fulfillment": {"id": fulfilment_id}, "userErrors": []}}))
}

fn fulfillment_cancel(shop: &ShopSim, variables: &Value) -> Response {
    let id = variables.get("id").and_then(Value::as_str).unwrap_or_default();
    let mut state = shop.lock();
    let Some(order) = state.orders.values_mut().find(|o| o.fulfilments.iter().any(|f| f.id == id)) else {
        return user_error("fulfillmentCancel", "fulfillment", "Fulfillment does not exist.");
    };
    let f = order.fulfilments.iter_mut().find(|f| f.id == id).expect("found above");
    if f.cancelled {
        return user_error("fulfillmentCancel", "fulfillment", "Fulfillment is already cancelled.");
    }
    f.cancelled = true;
    for (sku, quantity) in f.lines.clone() {
        if let Some((_, left, _)) = order.remaining.iter_mut().find(|(s, _, _)| *s == sku) {
            *left += quantity;
        }
    }
    order.rest["fulfillment_status"] =
        if order.fulfilments.iter().any(|f| !f.cancelled) { "partial".into() } else { Value::Null };
    order.rest["updated_at"] = now().into();
    let rest = order.rest.clone();
    drop(state);
    shop.send_webhook("orders/updated", rest);
    data(json!({"fulfillmentCancel": {"fulfillment": {"id": id, "status": "CANCELLED"}, "userErrors": []}}))
}

/// `FulfillmentEventStatus` in Admin API 2025-01.
const EVENT_STATUSES: &[&str] = &[
    "LABEL_PURCHASED",
    "LABEL_PRINTED",
    "READY_FOR_PICKUP",
    "CONFIRMED",
    "IN_TRANSIT",
    "OUT_FOR_DELIVERY",
    "ATTEMPTED_DELIVERY",
    "DELAYED",
    "DELIVERED",
    "FAILURE",
];

fn fulfillment_event_create(shop: &ShopSim, variables: &Value) -> Response {
    let event = &variables["event"];
    let status = event["status"].as_str().unwrap_or_default();
    if !EVENT_STATUSES.contains(&status) {
        return error(&format!(
            "Variable $event of type FulfillmentEventInput! was provided invalid value for status ({status})"
        ));
    }
    if event["happenedAt"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).is_none() {
        return error("Variable $event of type FulfillmentEventInput! was provided invalid value for happenedAt");
    }
    let id = event["fulfillmentId"].as_str().unwrap_or_default();
    let mut state = shop.lock();
    let Some(f) = state.orders.values_mut().flat_map(|o| o.fulfilments.iter_mut()).find(|f| f.id == id) else {
        return user_error("fulfillmentEventCreate", "fulfillmentEvent", "Fulfillment does not exist.");
    };
    f.events.push(status.to_owned());
    let n = f.events.len();
    data(
        json!({"fulfillmentEventCreate": {"fulfillmentEvent": {"id": format!("gid://shopify/FulfillmentEvent/{n}"), "status": status}, "userErrors": []}}),
    )
}

/// The SKUs of a search like `sku:'A' OR sku:'B\\'s'`.
fn searched_skus(query: &str) -> Vec<String> {
    let mut skus = Vec::new();
    let mut rest = query;
    while let Some(start) = rest.find("sku:'") {
        let mut sku = String::new();
        let mut chars = rest[start + 5..].char_indices();
        let mut end = rest.len() - start - 5;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => sku.extend(chars.next().map(|(_, c)| c)),
                '\'' => {
                    end = i + 1;
                    break;
                }
                c => sku.push(c),
            }
        }
        skus.push(sku);
        rest = &rest[start + 5 + end..];
    }
    skus
}

fn inventory_items(shop: &ShopSim, variables: &Value) -> Response {
    let first = variables.get("first").and_then(Value::as_u64).unwrap_or(50);
    if first > 250 {
        return error("The maximum number of items that can be requested is 250");
    }
    let query = variables.get("query").and_then(Value::as_str).unwrap_or_default();
    let state = shop.lock();
    let nodes: Vec<Value> = searched_skus(query)
        .iter()
        .filter_map(|sku| state.inventory.get(sku).map(|items| (sku, items)))
        .flat_map(|(sku, items)| items.iter().map(move |i| json!({"id": i.id, "sku": sku, "tracked": i.tracked})))
        .take(first as usize)
        .collect();
    data(json!({"inventoryItems": {"nodes": nodes}}))
}

fn inventory_set_quantities(shop: &ShopSim, query: &str, variables: &Value) -> Response {
    if !query.contains("@idempotent(") || variables["key"].as_str().is_none_or(str::is_empty) {
        return error("An idempotency key is required: use the @idempotent directive");
    }
    let input = &variables["input"];
    if input["name"] != "available" && input["name"] != "on_hand" {
        return error("Variable $input of type InventorySetQuantitiesInput! was provided invalid value for name");
    }
    let Some(quantities) = input["quantities"].as_array() else {
        return error("Variable $input of type InventorySetQuantitiesInput! was provided invalid value for quantities");
    };
    if quantities.len() > 250 {
        return error("quantities: at most 250 per call");
    }
    let set_error = |message: &str, code: &str| {
        data(json!({"inventorySetQuantities": {"inventoryAdjustmentGroup": null,
            "userErrors": [{"code": code, "field": ["input", "quantities"], "message": message}]}}))
    };
    let mut state = shop.lock();
    for q in quantities {
        if q.get("changeFromQuantity").is_none() {
            return set_error(
                "changeFromQuantity is required (pass null to skip the check)",
                "INVALID_QUANTITY_CHANGE_FROM",
            );
        }
        if q["locationId"] != PRIMARY_LOCATION {
            return set_error("The specified location could not be found.", "INVALID_LOCATION");
        }
        let id = q["inventoryItemId"].as_str().unwrap_or_default();
        let Some(item) = state.inventory.values_mut().flatten().find(|i| i.id == id) else {
            return set_error("The specified inventory item could not be found.", "INVALID_INVENTORY_ITEM");
        };
        if !item.tracked {
            return set_error("The inventory item is not tracked.", "ITEM_NOT_STOCKED_AT_LOCATION");
        }
        if let Some(from) = q["changeFromQuantity"].as_i64()
            && from != item.available
        {
            return set_error("The quantity changed since it was read.", "CHANGE_FROM_QUANTITY_STALE");
        }
    }
    for q in quantities {
        let id = q["inventoryItemId"].as_str().unwrap_or_default();
        if let Some(item) = state.inventory.values_mut().flatten().find(|i| i.id == id) {
            item.available = q["quantity"].as_i64().unwrap_or_default();
        }
    }
    data(
        json!({"inventorySetQuantities": {"inventoryAdjustmentGroup": {"id": "gid://shopify/InventoryAdjustmentGroup/1"}, "userErrors": []}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_field_is_found_whatever_the_operation_is_called() {
        assert_eq!(root_field("query Anything { shop { name } }"), Some("shop"));
        assert_eq!(root_field("query X($id: ID!) { order(id: $id) { fulfillments(first: 5) { id } } }"), Some("order"));
        assert_eq!(root_field("query X { orders(first: 1) { nodes { id } } }"), Some("orders"));
        assert_eq!(
            root_field(
                "mutation M($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) { userErrors { message } } }"
            ),
            Some("fulfillmentCreate")
        );
        assert_eq!(
            root_field("query { fulfillment(id: \"x\") { events(first: 1) { nodes { status } } } }"),
            Some("fulfillment")
        );
        assert_eq!(root_field("query { products(first: 1) { nodes { id } } }"), None);
        assert_eq!(root_field("query { location { id } }"), Some("location"));
    }

    #[test]
    fn searched_skus_are_read_with_their_escapes() {
        assert_eq!(searched_skus(r"sku:'A-1' OR sku:'it\'s' OR sku:'back\\slash'"), ["A-1", "it's", "back\\slash"]);
    }
}
