//! A fake WooCommerce store: the REST API v3 routes a shipping integration uses, with the
//! order JSON WooCommerce documents (`../shared/notes/channels.md` §3), and signed webhooks.
//!
//! | Route | Purpose |
//! | --- | --- |
//! | `GET /wp-json/wc/v3/orders` | `per_page` (≤ 100), `page`, `modified_after`, `status` (comma-separated), `orderby=modified`, `order=asc`; `X-WP-Total` and `X-WP-TotalPages` |
//! | `GET`/`PUT /wp-json/wc/v3/orders/{id}` | one order; `PUT` takes `status` and `meta_data` (merged by key) |
//! | `GET`/`POST /wp-json/wc/v3/orders/{id}/notes` | the order's notes; `POST` `{"note", "customer_note"}` |
//! | `POST /_shop/orders`, `POST /_shop/orders/{id}/cancel`, `GET /_shop/orders/{id}` | place, cancel and show orders (as for the Shopify store); placing sends `order.created`, cancelling `order.updated` |
//! | `GET /wp-json/wc/v3/products`, `GET /wp-json/wc/v3/variations` | by `sku` (comma-separated), ≤ 100 per page |
//! | `POST /wp-json/wc/v3/products/batch`, `POST /wp-json/wc/v3/products/{id}/variations/batch` | `{"update": [{"id", "stock_quantity", "manage_stock"}]}`, ≤ 100 |
//! | `PUT /_shop/webhook`, `PUT /_shop/faults` | where webhooks go (`X-WC-Webhook-Signature` = base64 HMAC-SHA256 of the body with the webhook secret); `{"down": bool}` |
//!
//! Every API route needs HTTP Basic with the consumer key and secret (else 401 in WooCommerce's
//! error shape).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::NewOrder;

/// The store's keys and webhook secret.
#[derive(Debug, Clone)]
pub struct WooConfig {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub webhook_secret: String,
    pub currency: String,
}

impl Default for WooConfig {
    fn default() -> Self {
        Self {
            consumer_key: "ck_demo".into(),
            consumer_secret: "cs_demo".into(),
            webhook_secret: "demo-webhook-secret".into(),
            currency: "TRY".into(),
        }
    }
}

#[derive(Default)]
struct Store {
    next_id: u64,
    orders: BTreeMap<u64, Value>,
    notes: BTreeMap<u64, Vec<Value>>,
    webhook: Option<String>,
    down: bool,
    deliveries: u64,
    /// Products and variations by id: `{id, sku, stock_quantity, manage_stock, parent_id?}`.
    products: BTreeMap<u64, Value>,
    api_calls: u64,
}

/// The store. Cheap to clone; clones share its state.
#[derive(Clone)]
pub struct WooSim {
    config: Arc<WooConfig>,
    state: Arc<Mutex<Store>>,
    client: reqwest::Client,
}

/// WooCommerce writes GMT times without an offset.
fn gmt_now() -> String {
    Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}

impl WooSim {
    pub fn new(config: WooConfig) -> Self {
        Self {
            config: Arc::new(config),
            state: Arc::new(Mutex::new(Store { next_id: 4820, ..Store::default() })),
            client: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("a plain client builds"),
        }
    }

    pub fn config(&self) -> &WooConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/wp-json/wc/v3/orders", get(list))
            .route("/wp-json/wc/v3/orders/{id}", get(one).put(update))
            .route("/wp-json/wc/v3/orders/{id}/notes", get(notes).post(add_note))
            .route("/wp-json/wc/v3/products", get(products))
            .route("/wp-json/wc/v3/variations", get(variations))
            .route("/wp-json/wc/v3/products/batch", post(batch))
            .route("/wp-json/wc/v3/products/{id}/variations/batch", post(batch))
            .route("/_shop/orders", post(place))
            .route("/_shop/orders/{id}", get(show))
            .route("/_shop/orders/{id}/cancel", post(cancel))
            .route("/_shop/webhook", put(set_webhook))
            .route("/_shop/faults", put(set_faults))
            .with_state(self.clone())
    }

    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    pub fn set_webhook(&self, url: &str) {
        self.lock().webhook = Some(url.to_owned());
    }

    /// Answer 503 to every API call while `down`.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// The `X-WC-Webhook-Signature` of a body.
    pub fn sign(&self, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.config.webhook_secret.as_bytes()).expect("any key length");
        mac.update(body);
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    /// Adds a product (or, with `parent`, a variation of it) with a SKU; returns its id.
    pub fn add_product(&self, sku: &str, parent: Option<u64>) -> u64 {
        let mut state = self.lock();
        let id = 10_000 + state.products.len() as u64;
        let mut product = json!({"id": id, "sku": sku, "stock_quantity": null, "manage_stock": false});
        if let Some(parent) = parent {
            product["parent_id"] = parent.into();
        }
        state.products.insert(id, product);
        id
    }

    /// The stock a product or variation shows, by SKU.
    pub fn stock(&self, sku: &str) -> Option<i64> {
        self.lock().products.values().find(|p| p["sku"] == sku).and_then(|p| p["stock_quantity"].as_i64())
    }

    /// Every SKU that shows a stock number, with it.
    pub fn stocks(&self) -> BTreeMap<String, i64> {
        let state = self.lock();
        state
            .products
            .values()
            .filter_map(|p| Some((p["sku"].as_str()?.to_owned(), p["stock_quantity"].as_i64()?)))
            .collect()
    }

    /// API calls received so far (every route under `/wp-json`).
    pub fn api_calls(&self) -> u64 {
        self.lock().api_calls
    }

    /// The order as the API shows it.
    pub fn order(&self, id: u64) -> Option<Value> {
        self.lock().orders.get(&id).cloned()
    }

    /// The order's notes, oldest first.
    pub fn notes(&self, id: u64) -> Vec<Value> {
        self.lock().notes.get(&id).cloned().unwrap_or_default()
    }

    /// Places an order (`processing`, or `processing` with `cod` for a cash-on-delivery
    /// gateway) and sends `order.created`; returns its id.
    pub fn place_order(&self, new: NewOrder) -> u64 {
        let order = {
            let mut state = self.lock();
            state.next_id += 1;
            let id = state.next_id;
            let a = &new.shipping_address;
            let (first, last) = a["name"]
                .as_str()
                .unwrap_or_default()
                .split_once(' ')
                .unwrap_or((a["name"].as_str().unwrap_or_default(), ""));
            let total: f64 =
                new.line_items.iter().map(|l| l.price.parse::<f64>().unwrap_or(0.0) * f64::from(l.quantity)).sum();
            let cod = new.gateway.as_deref().is_some_and(|g| g.to_lowercase().contains("cash on delivery"));
            let stamp = gmt_now();
            let order = json!({
                "id": id, "number": id.to_string(), "status": "processing",
                "currency": new.currency.clone().unwrap_or_else(|| self.config.currency.clone()),
                "date_created_gmt": stamp, "date_modified_gmt": stamp, "total": format!("{total:.2}"),
                "payment_method": if cod { "cod" } else { "bacs" },
                "billing": {"first_name": first, "last_name": last, "email": new.email, "phone": new.phone},
                "shipping": {"first_name": first, "last_name": last, "company": a["company"], "address_1": a["address1"],
                    "address_2": a["address2"], "city": a["city"], "state": a["province_code"], "postcode": a["zip"],
                    "country": a["country_code"], "phone": a["phone"]},
                "line_items": new.line_items.iter().enumerate().map(|(i, l)| json!({
                    "id": id * 10 + i as u64, "name": l.name, "sku": l.sku, "quantity": l.quantity,
                    "price": l.price.parse::<f64>().unwrap_or(0.0),
                    "subtotal": format!("{:.2}", l.price.parse::<f64>().unwrap_or(0.0) * f64::from(l.quantity))
                })).collect::<Vec<_>>(),
                "meta_data": [],
            });
            state.orders.insert(id, order.clone());
            order
        };
        self.send_webhook("order.created", &order);
        order["id"].as_u64().unwrap_or_default()
    }

    /// Cancels an order and sends `order.updated`; `false` when there is no such order.
    pub fn cancel_order(&self, id: u64) -> bool {
        let order = {
            let mut state = self.lock();
            let Some(order) = state.orders.get_mut(&id) else { return false };
            order["status"] = "cancelled".into();
            order["date_modified_gmt"] = gmt_now().into();
            order.clone()
        };
        self.send_webhook("order.updated", &order);
        true
    }

    fn send_webhook(&self, topic: &'static str, order: &Value) {
        let (url, delivery) = {
            let mut state = self.lock();
            state.deliveries += 1;
            (state.webhook.clone(), state.deliveries)
        };
        let Some(url) = url else { return };
        let body = order.to_string();
        let (resource, event) = topic.split_once('.').unwrap_or((topic, ""));
        let headers = vec![
            ("x-wc-webhook-topic", topic.to_owned()),
            ("x-wc-webhook-resource", resource.to_owned()),
            ("x-wc-webhook-event", event.to_owned()),
            ("x-wc-webhook-signature", self.sign(body.as_bytes())),
            ("x-wc-webhook-id", "1".to_owned()),
            ("x-wc-webhook-delivery-id", format!("{delivery:032x}")),
            ("x-wc-webhook-source", "https://shop.example/".to_owned()),
        ];
        crate::deliver(self.client.clone(), url, headers, body);
    }

    /// The store's check of an API call: its keys (401) and its faults (503).
    fn refuse(&self, headers: &HeaderMap) -> Option<Response> {
        self.lock().api_calls += 1;
        if self.lock().down {
            return Some((StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response());
        }
        let expected = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.config.consumer_key, self.config.consumer_secret));
        let given = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "));
        (given != Some(expected.as_str())).then(|| {
            let body = json!({"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.", "data": {"status": 401}});
            (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
        })
    }
}

fn not_found() -> Response {
    let body =
        json!({"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID.", "data": {"status": 404}});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

async fn list(State(shop): State<WooSim>, headers: HeaderMap, Query(q): Query<BTreeMap<String, String>>) -> Response {
    if let Some(refused) = shop.refuse(&headers) {
        return refused;
    }
    let per_page: usize = q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(10).clamp(1, 100);
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let statuses: Option<Vec<&str>> = q.get("status").map(|s| s.split(',').collect());
    let after = q.get("modified_after");
    let state = shop.lock();
    let mut matching: Vec<&Value> = state
        .orders
        .values()
        .filter(|o| statuses.as_ref().is_none_or(|s| s.contains(&o["status"].as_str().unwrap_or_default())))
        .filter(|o| after.is_none_or(|a| o["date_modified_gmt"].as_str().unwrap_or_default() > a.as_str()))
        .collect();
    matching.sort_by(|a, b| {
        a["date_modified_gmt"]
            .as_str()
            .cmp(&b["date_modified_gmt"].as_str())
            .then(a["id"].as_u64().cmp(&b["id"].as_u64()))
    });
    let total = matching.len();
    let pages = total.div_ceil(per_page);
    let items: Vec<Value> = matching.into_iter().skip((page - 1) * per_page).take(per_page).cloned().collect();
    let mut response = axum::Json(items).into_response();
    response.headers_mut().insert("x-wp-total", HeaderValue::from(total));
    response.headers_mut().insert("x-wp-totalpages", HeaderValue::from(pages));
    response
}

async fn one(State(shop): State<WooSim>, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    if let Some(refused) = shop.refuse(&headers) {
        return refused;
    }
    shop.order(id).map_or_else(not_found, |o| axum::Json(o).into_response())
}

async fn update(
    State(shop): State<WooSim>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Some(refused) = shop.refuse(&headers) {
        return refused;
    }
    let mut state = shop.lock();
    let Some(order) = state.orders.get_mut(&id) else { return not_found() };
    if let Some(status) = body.get("status").and_then(Value::as_str) {
        order["status"] = status.into();
    }
    for meta in body.get("meta_data").and_then(Value::as_array).into_iter().flatten() {
        let list = order["meta_data"].as_array_mut().expect("meta_data is a list");
        match list.iter_mut().find(|m| m["key"] == meta["key"]) {
            Some(existing) => existing["value"] = meta["value"].clone(),
            None => list.push(json!({"id": list.len() + 1, "key": meta["key"], "value": meta["value"]})),
        }
    }
    order["date_modified_gmt"] = gmt_now().into();
    axum::Json(order.clone()).into_response()
}

/// Products (`variations: false`) or variations whose SKU is in `sku`.
fn by_sku(shop: &WooSim, headers: &HeaderMap, q: &BTreeMap<String, String>, variations: bool) -> Response {
    if let Some(refused) = shop.refuse(headers) {
        return refused;
    }
    let per_page: usize = q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(10).clamp(1, 100);
    let skus: Vec<&str> = q.get("sku").map(|s| s.split(',').collect()).unwrap_or_default();
    let state = shop.lock();
    let found: Vec<Value> = state
        .products
        .values()
        .filter(|p| p.get("parent_id").is_some() == variations)
        .filter(|p| skus.is_empty() || skus.contains(&p["sku"].as_str().unwrap_or_default()))
        .take(per_page)
        .cloned()
        .collect();
    axum::Json(found).into_response()
}

async fn products(
    State(shop): State<WooSim>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    by_sku(&shop, &headers, &q, false)
}

async fn variations(
    State(shop): State<WooSim>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    by_sku(&shop, &headers, &q, true)
}

async fn batch(State(shop): State<WooSim>, headers: HeaderMap, axum::Json(body): axum::Json<Value>) -> Response {
    if let Some(refused) = shop.refuse(&headers) {
        return refused;
    }
    let updates = body.get("update").and_then(Value::as_array).cloned().unwrap_or_default();
    if updates.len() > 100 {
        let problem = json!({"code": "woocommerce_rest_request_entity_too_large", "message": "Unable to accept more than 100 items for this request.", "data": {"status": 413}});
        return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(problem)).into_response();
    }
    let mut state = shop.lock();
    let mut done = Vec::new();
    for u in updates {
        let Some(p) = u.get("id").and_then(Value::as_u64).and_then(|id| state.products.get_mut(&id)) else { continue };
        if let Some(q) = u.get("stock_quantity") {
            p["stock_quantity"] = q.clone();
        }
        if let Some(m) = u.get("manage_stock") {
            p["manage_stock"] = m.clone();
        }
        done.push(p.clone());
    }
    axum::Json(json!({"update": done})).into_response()
}

async fn notes(State(shop): State<WooSim>, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    if let Some(refused) = shop.refuse(&headers) {
        return refused;
    }
    if shop.order(id).is_none() {
        return not_found();
    }
    axum::Json(shop.notes(id)).into_response()
}

async fn add_note(
    State(shop): State<WooSim>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Some(refused) = shop.refuse(&headers) {
        return refused;
    }
    let Some(text) = body.get("note").and_then(Value::as_str).filter(|n| !n.trim().is_empty()) else {
        let problem = json!({"code": "rest_missing_callback_param", "message": "Missing parameter(s): note", "data": {"status": 400}});
        return (StatusCode::BAD_REQUEST, axum::Json(problem)).into_response();
    };
    let mut state = shop.lock();
    if !state.orders.contains_key(&id) {
        return not_found();
    }
    let notes = state.notes.entry(id).or_default();
    let note = json!({"id": id * 100 + notes.len() as u64 + 1, "note": text,
        "customer_note": body.get("customer_note").and_then(Value::as_bool).unwrap_or(false), "date_created_gmt": gmt_now()});
    notes.push(note.clone());
    (StatusCode::CREATED, axum::Json(note)).into_response()
}

async fn place(State(shop): State<WooSim>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<NewOrder>(&body) {
        Ok(new) => {
            let id = shop.place_order(new);
            (StatusCode::CREATED, axum::Json(json!({"id": id}))).into_response()
        }
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(json!({"errors": e.to_string()}))).into_response(),
    }
}

async fn show(State(shop): State<WooSim>, Path(id): Path<u64>) -> Response {
    match shop.order(id) {
        Some(order) => axum::Json(json!({"order": order, "notes": shop.notes(id)})).into_response(),
        None => not_found(),
    }
}

async fn cancel(State(shop): State<WooSim>, Path(id): Path<u64>) -> Response {
    if shop.cancel_order(id) { StatusCode::OK.into_response() } else { not_found() }
}

async fn set_webhook(State(shop): State<WooSim>, axum::Json(body): axum::Json<Value>) -> StatusCode {
    match body.get("url").and_then(Value::as_str) {
        Some(url) => {
            shop.set_webhook(url);
            StatusCode::NO_CONTENT
        }
        None => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

async fn set_faults(State(shop): State<WooSim>, axum::Json(body): axum::Json<Value>) -> StatusCode {
    shop.set_down(body.get("down").and_then(Value::as_bool).unwrap_or(false));
    StatusCode::NO_CONTENT
}
