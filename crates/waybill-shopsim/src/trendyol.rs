//! A fake Trendyol seller account: the integration API routes a shipping integration uses, with
//! shipment packages shaped as `../shared/notes/channels.md` §4 describes them, and webhooks
//! sent with the credential registered for them. Paths are those under
//! `https://apigw.trendyol.com/integration`, which a connection's `base_url` replaces.
//!
//! | Route | Purpose |
//! | --- | --- |
//! | `GET /order/sellers/{sellerId}/orders` | getShipmentPackages: `startDate`/`endDate` (epoch ms, on the package's last change, at most 14 days apart), `page` (0-based, `page × size` < 10,000), `size` (≤ 200), `status`, `orderNumber`, `shipmentPackageIds` (comma-separated, ≤ 50), `orderByField=PackageLastModifiedDate`, `orderByDirection` |
//! | `PUT /order/sellers/{sellerId}/shipment-packages/{id}` | updatePackage `{"lines": [{"lineId", "quantity"}], "params": {}, "status": "Picking"}` (from `Created`), then `Invoiced` with `params.invoiceNumber` (from `Picking`) |
//! | `PUT /order/sellers/{sellerId}/shipment-packages/{id}/alternative-delivery` | `{"isPhoneNumber", "trackingInfo", "params"}`: from `Created`, `Picking` or `Invoiced` to `Shipped`, the carrier `ADEL` with a tracking number of Trendyol's (the fake shows a link given as `cargoTrackingLink`) |
//! | `PUT /order/sellers/{sellerId}/manual-deliver/{cargoTrackingNumber}`, `…/manual-return/{cargoTrackingNumber}` | manualDeliver / manualReturn: an alternative-delivery package (`cargoProviderName: "ADEL"`, with the number Trendyol gave it) from `Shipped` to `Delivered` / `Returned` |
//! | `GET /product/sellers/{sellerId}/products` | filterProducts: `page` (0-based), `size` (≤ 200), `barcode`, `stockCode` |
//! | `POST /inventory/sellers/{sellerId}/products/price-and-inventory` | `{"items": [{"barcode", "quantity"}]}`, ≤ 1,000 items, quantity ≤ 20,000; the same body again within 15 minutes is refused; answers `{"batchRequestId"}` |
//! | `GET /product/sellers/{sellerId}/products/batch-requests/{id}` | the batch's items with `status` `SUCCESS`/`FAILED` and `failureReasons` |
//! | `POST /_shop/orders` | place a package: the same body as the other fake stores (`NewOrder`), plus optional `"status"` and `"cargo": {"provider", "tracking_number", "tracking_link"}` (Trendyol's own carrier); → 201 `{"id", "orderNumber"}` |
//! | `GET /_shop/orders/{id}` | `{"package", "updates", "alternative_deliveries"}` |
//! | `PUT /_shop/orders/{id}/status`, `POST /_shop/orders/{id}/cancel` | `{"status": "Shipped"}`: move the package as Trendyol or its carrier would; cancel it |
//! | `POST /_shop/products` | `{"barcode", "stockCode"}` |
//! | `PUT /_shop/webhook` | as createWebhook: `{"url", "authenticationType": "API_KEY", "apiKey"}` or `{"url", "authenticationType": "BASIC_AUTHENTICATION", "username", "password"}` |
//! | `PUT /_shop/faults` | `{"down": bool, "throttle": n, "retry_after": seconds}`: answer 503, or 429 with `Retry-After` to the next n calls |
//!
//! Every API call needs HTTP Basic with the API key and secret (else 401 with
//! `ClientApiAuthenticationException`), a User-Agent (else 403) and the account's seller id in the
//! path (else 403). `cargoTrackingNumber` is written as a JSON number with all its digits, even
//! past 64 bits, as Trendyol writes it. Every change to a package is sent to the webhook.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use chrono::Utc;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::NewOrder;

/// The seller account and its integration keys.
#[derive(Debug, Clone)]
pub struct TrendyolConfig {
    pub seller_id: String,
    pub api_key: String,
    pub api_secret: String,
    pub currency: String,
}

impl Default for TrendyolConfig {
    fn default() -> Self {
        Self {
            seller_id: "100200".into(),
            api_key: "ty_demo_key".into(),
            api_secret: "ty_demo_secret".into(),
            currency: "TRY".into(),
        }
    }
}

/// How webhook calls authenticate, as registered with createWebhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookAuth {
    /// `x-api-key: <key>`.
    ApiKey(String),
    /// `Authorization: Basic base64(username:password)`.
    Basic { username: String, password: String },
}

/// The carrier Trendyol booked for a package (its own contract).
#[derive(Debug, Clone, Deserialize)]
pub struct AssignedCargo {
    /// As `cargoProviderName` shows it (`Yurtiçi Kargo Marketplace`).
    pub provider: String,
    /// Digits; may be longer than any integer type.
    pub tracking_number: String,
    pub tracking_link: Option<String>,
}

struct Package {
    /// Every field but `cargoTrackingNumber`.
    body: Value,
    tracking: Option<String>,
}

struct Product {
    barcode: String,
    stock_code: String,
    quantity: Option<i64>,
}

#[derive(Default)]
struct Store {
    next_id: u64,
    next_line: u64,
    last_change: i64,
    packages: BTreeMap<u64, Package>,
    products: Vec<Product>,
    webhook: Option<(String, WebhookAuth)>,
    down: bool,
    throttle: u32,
    retry_after: u64,
    api_calls: u64,
    last_user_agent: Option<String>,
    last_authorization: Option<String>,
    updates: Vec<(u64, Value)>,
    alternative_deliveries: Vec<(u64, Value)>,
    /// Packages set `Delivered` or `Returned` by the seller (manualDeliver / manualReturn).
    manual_steps: Vec<(u64, String)>,
    inventory_calls: Vec<Value>,
    recent_inventory: Vec<(Instant, String)>,
    batches: BTreeMap<String, Value>,
}

impl Store {
    /// A change time later than every one before it.
    fn tick(&mut self) -> i64 {
        self.last_change = Utc::now().timestamp_millis().max(self.last_change + 1);
        self.last_change
    }
}

/// The seller account. Cheap to clone; clones share its state.
#[derive(Clone)]
pub struct TrendyolSim {
    config: Arc<TrendyolConfig>,
    state: Arc<Mutex<Store>>,
    client: reqwest::Client,
}

/// A package as Trendyol writes it: the body with `cargoTrackingNumber` as a JSON number of
/// exactly its digits.
struct Wire<'a>(&'a Package);

impl Serialize for Wire<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (k, v) in self.0.body.as_object().into_iter().flatten() {
            map.serialize_entry(k, v)?;
        }
        if let Some(number) = &self.0.tracking {
            let digits = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) && !number.starts_with('0');
            match RawValue::from_string(number.clone()) {
                Ok(raw) if digits => map.serialize_entry("cargoTrackingNumber", &raw)?,
                _ => map.serialize_entry("cargoTrackingNumber", number)?,
            }
        }
        map.end()
    }
}

fn render(package: &Package) -> String {
    serde_json::to_string(&Wire(package)).expect("a package serializes")
}

/// A JSON answer from text already serialized.
fn json_text(status: StatusCode, text: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// Trendyol's error shape.
fn problem(status: StatusCode, exception: &str, message: &str) -> Response {
    let body = json!({"timestamp": Utc::now().timestamp_millis(), "status": status.as_u16(), "exception": exception,
        "errors": [{"key": exception, "message": message, "errorParams": []}]});
    (status, axum::Json(body)).into_response()
}

fn bad_request(message: &str) -> Response {
    problem(StatusCode::BAD_REQUEST, "TrendyolBusinessException", message)
}

fn not_found(what: &str) -> Response {
    problem(StatusCode::NOT_FOUND, "ResourceNotFoundException", &format!("{what} bulunamadı"))
}

/// Moves a package to `status` at `at`, its lines and its history with it.
fn set_state(package: &mut Value, status: &str, at: i64) {
    package["status"] = status.into();
    package["shipmentPackageStatus"] = status.into();
    package["lastModifiedDate"] = at.into();
    for line in package["lines"].as_array_mut().into_iter().flatten() {
        line["orderLineItemStatusName"] = status.into();
    }
    if let Some(history) = package["packageHistories"].as_array_mut() {
        history.push(json!({"createdDate": at, "status": status}));
    }
}

impl TrendyolSim {
    pub fn new(config: TrendyolConfig) -> Self {
        // Ids from the clock, so a fake restarted under the same Waybill never reuses one.
        let first = 3_000_000_000 + u64::try_from(Utc::now().timestamp() % 100_000_000).unwrap_or(0) * 10;
        Self {
            config: Arc::new(config),
            state: Arc::new(Mutex::new(Store { next_id: first, next_line: first * 10, ..Store::default() })),
            client: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("a plain client builds"),
        }
    }

    pub fn config(&self) -> &TrendyolConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/order/sellers/{seller}/orders", get(list_packages))
            .route("/order/sellers/{seller}/shipment-packages/{id}", put(update_package))
            .route("/order/sellers/{seller}/shipment-packages/{id}/alternative-delivery", put(alternative_delivery))
            .route("/order/sellers/{seller}/manual-deliver/{number}", put(manual_deliver))
            .route("/order/sellers/{seller}/manual-return/{number}", put(manual_return))
            .route("/product/sellers/{seller}/products", get(list_products))
            .route("/product/sellers/{seller}/products/batch-requests/{batch}", get(batch_result))
            .route("/inventory/sellers/{seller}/products/price-and-inventory", post(price_and_inventory))
            .route("/_shop/orders", post(place))
            .route("/_shop/orders/{id}", get(show))
            .route("/_shop/orders/{id}/status", put(move_status))
            .route("/_shop/orders/{id}/cancel", post(cancel))
            .route("/_shop/products", post(add_product_route))
            .route("/_shop/webhook", put(set_webhook_route))
            .route("/_shop/faults", put(set_faults))
            .with_state(self.clone())
    }

    /// Serves the account until the process ends.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// Where package webhooks go from now on, and how they authenticate.
    pub fn set_webhook(&self, url: &str, auth: WebhookAuth) {
        self.lock().webhook = Some((url.to_owned(), auth));
    }

    /// Answer 503 to every API call while `down`.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Answer 429 with `Retry-After: retry_after` to the next `calls` API calls.
    pub fn set_throttle(&self, calls: u32, retry_after: u64) {
        let mut state = self.lock();
        state.throttle = calls;
        state.retry_after = retry_after;
    }

    /// API calls received so far (every route but `/_shop`).
    pub fn api_calls(&self) -> u64 {
        self.lock().api_calls
    }

    /// The `User-Agent` and `Authorization` of the last API call.
    pub fn last_user_agent(&self) -> Option<String> {
        self.lock().last_user_agent.clone()
    }

    pub fn last_authorization(&self) -> Option<String> {
        self.lock().last_authorization.clone()
    }

    /// Adds a product with a barcode and a stock code (the seller's SKU; may be empty).
    pub fn add_product(&self, barcode: &str, stock_code: &str) {
        let mut state = self.lock();
        state.products.retain(|p| p.barcode != barcode);
        state.products.push(Product { barcode: barcode.to_owned(), stock_code: stock_code.to_owned(), quantity: None });
    }

    /// The stock a barcode shows, once set.
    pub fn stock(&self, barcode: &str) -> Option<i64> {
        self.lock().products.iter().find(|p| p.barcode == barcode).and_then(|p| p.quantity)
    }

    /// Every `updatePackage` body received, with its package id.
    pub fn package_updates(&self) -> Vec<(u64, Value)> {
        self.lock().updates.clone()
    }

    /// The packages the seller said were delivered or came back, with the state set, in order.
    pub fn manual_steps(&self) -> Vec<(u64, String)> {
        self.lock().manual_steps.clone()
    }

    /// Every `alternative-delivery` body received, with its package id.
    pub fn alternative_deliveries(&self) -> Vec<(u64, Value)> {
        self.lock().alternative_deliveries.clone()
    }

    /// Every `price-and-inventory` body received.
    pub fn inventory_calls(&self) -> Vec<Value> {
        self.lock().inventory_calls.clone()
    }

    /// The package as the API writes it (exact JSON text).
    pub fn package(&self, id: u64) -> Option<String> {
        self.lock().packages.get(&id).map(render)
    }

    /// The package's status (`Created`, `Picking`, …).
    pub fn status(&self, id: u64) -> Option<String> {
        self.lock().packages.get(&id).and_then(|p| p.body["status"].as_str().map(str::to_owned))
    }

    /// Places a package shipped with the seller's own carrier; sends the webhook; returns its id.
    pub fn place_order(&self, new: NewOrder) -> u64 {
        self.place_package(new, None)
    }

    /// Places a `Created` package, with the carrier and tracking number Trendyol booked for it
    /// when `cargo` is given; sends the webhook; returns its id.
    pub fn place_package(&self, new: NewOrder, cargo: Option<AssignedCargo>) -> u64 {
        let (id, text) = {
            let mut state = self.lock();
            state.next_id += 1;
            let id = state.next_id;
            let at = state.tick();
            let a = &new.shipping_address;
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            let full_name = text(&a["name"]);
            let (first, last) = full_name.split_once(' ').unwrap_or((full_name.as_str(), ""));
            let phone = a["phone"].as_str().map(str::to_owned).or_else(|| new.phone.clone());
            let currency = new.currency.clone().unwrap_or_else(|| self.config.currency.clone());
            let mut lines = Vec::new();
            let mut total = 0.0;
            for l in &new.line_items {
                state.next_line += 1;
                let line_id = state.next_line;
                let barcode = state
                    .products
                    .iter()
                    .find(|p| p.stock_code == l.sku || p.barcode == l.sku)
                    .map_or_else(|| format!("8680{line_id:09}"), |p| p.barcode.clone());
                let price = l.price.parse::<f64>().unwrap_or(0.0);
                total += price * f64::from(l.quantity);
                lines.push(json!({"id": line_id, "quantity": l.quantity, "barcode": barcode, "merchantSku": l.sku,
                    "sku": barcode, "productName": l.name, "price": price, "amount": price, "discount": 0.0,
                    "tyDiscount": 0.0, "currencyCode": currency, "orderLineItemStatusName": "Created"}));
            }
            let address = json!({"id": id, "firstName": first, "lastName": last, "fullName": full_name,
                "company": a["company"], "address1": a["address1"], "address2": a["address2"],
                "city": a.get("province").cloned().unwrap_or_else(|| a["city"].clone()),
                "district": a.get("district").cloned().unwrap_or(Value::Null),
                "postalCode": a["zip"], "countryCode": a["country_code"], "phone": phone});
            let body = json!({
                "id": id, "orderNumber": format!("10{id}"), "orderDate": at, "status": "Created",
                "shipmentPackageStatus": "Created", "lastModifiedDate": at,
                "packageHistories": [{"createdDate": at, "status": "Created"}],
                "currencyCode": currency, "totalPrice": total, "grossAmount": total, "totalDiscount": 0.0,
                "customerId": 1000 + id % 1000, "customerFirstName": first, "customerLastName": last,
                "customerEmail": new.email, "cargoProviderName": cargo.as_ref().map(|c| c.provider.clone()),
                "cargoTrackingLink": cargo.as_ref().and_then(|c| c.tracking_link.clone()),
                "deliveryType": "normal", "fastDelivery": false, "commercial": false,
                "shipmentAddress": address, "invoiceAddress": address, "lines": lines,
            });
            let package = Package { body, tracking: cargo.map(|c| c.tracking_number) };
            let text = render(&package);
            state.packages.insert(id, package);
            (id, text)
        };
        self.send_webhook(text);
        id
    }

    /// Moves a package to `status` as Trendyol or its carrier would; sends the webhook. `false`
    /// when there is no such package.
    pub fn set_status(&self, id: u64, status: &str) -> bool {
        let text = {
            let mut state = self.lock();
            let at = state.tick();
            let Some(package) = state.packages.get_mut(&id) else { return false };
            set_state(&mut package.body, status, at);
            render(package)
        };
        self.send_webhook(text);
        true
    }

    /// Sets when a package last changed (for tests of the sync's date windows); no webhook.
    pub fn set_last_modified(&self, id: u64, at: i64) -> bool {
        let mut state = self.lock();
        let Some(package) = state.packages.get_mut(&id) else { return false };
        package.body["lastModifiedDate"] = at.into();
        true
    }

    fn send_webhook(&self, body: String) {
        let Some((url, auth)) = self.lock().webhook.clone() else { return };
        let headers = match auth {
            WebhookAuth::ApiKey(key) => vec![("x-api-key", key)],
            WebhookAuth::Basic { username, password } => {
                let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
                vec![("authorization", format!("Basic {token}"))]
            }
        };
        crate::deliver(self.client.clone(), url, headers, body);
    }

    /// The account's check of an API call: its faults (503, 429), the User-Agent (403), the
    /// keys (401) and the seller id in the path (403).
    fn refuse(&self, headers: &HeaderMap, seller: &str) -> Option<Response> {
        let mut state = self.lock();
        state.api_calls += 1;
        let text = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        state.last_user_agent = text(header::USER_AGENT);
        state.last_authorization = text(header::AUTHORIZATION);
        if state.down {
            return Some((StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response());
        }
        if state.throttle > 0 {
            state.throttle -= 1;
            let wait = state.retry_after.to_string();
            return Some(
                (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, wait)], "Too Many Requests").into_response(),
            );
        }
        if state.last_user_agent.as_deref().is_none_or(|ua| ua.trim().is_empty()) {
            return Some(problem(StatusCode::FORBIDDEN, "ClientApiAuthenticationException", "User-Agent is required"));
        }
        let expected = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.config.api_key, self.config.api_secret));
        let given = state.last_authorization.as_deref().and_then(|v| v.strip_prefix("Basic "));
        if given != Some(expected.as_str()) {
            let body = json!({"timestamp": Utc::now().timestamp_millis(), "status": 401,
                "exception": "ClientApiAuthenticationException", "message": "Unauthorized"});
            return Some((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response());
        }
        if seller != self.config.seller_id {
            return Some(problem(
                StatusCode::FORBIDDEN,
                "ClientApiAuthenticationException",
                "seller id does not match",
            ));
        }
        None
    }
}

/// A page in Trendyol's list shape.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    total_elements: usize,
    total_pages: usize,
    page: usize,
    size: usize,
    content: Vec<T>,
}

/// The query's numbers `names`, in order; the first that is not a number is named.
fn numbers<const N: usize>(q: &BTreeMap<String, String>, names: [&str; N]) -> Result<[Option<i64>; N], String> {
    let mut out = [None; N];
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = q.get(name).map(|v| v.parse::<i64>().map_err(|_| format!("{name} is not a number"))).transpose()?;
    }
    Ok(out)
}

async fn list_packages(
    State(shop): State<TrendyolSim>,
    Path(seller): Path<String>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(refused) = shop.refuse(&headers, &seller) {
        return refused;
    }
    let (start, end, page, size) = match numbers(&q, ["startDate", "endDate", "page", "size"]) {
        Ok([start, end, page, size]) => (start, end, page.unwrap_or(0), size.unwrap_or(200)),
        Err(message) => return bad_request(&message),
    };
    if !(1..=200).contains(&size) || page < 0 {
        return bad_request("size en fazla 200 olabilir");
    }
    if page * size >= 10_000 {
        return bad_request("en fazla 10.000 kayda erişilebilir");
    }
    if let (Some(s), Some(e)) = (start, end)
        && e - s > 14 * 24 * 60 * 60 * 1000
    {
        return bad_request("startDate ve endDate arası en fazla 2 hafta olabilir");
    }
    let ids: Option<Vec<u64>> =
        q.get("shipmentPackageIds").map(|s| s.split(',').filter_map(|i| i.trim().parse().ok()).collect());
    if ids.as_ref().is_some_and(|i| i.len() > 50) {
        return bad_request("en fazla 50 paket id verilebilir");
    }
    let state = shop.lock();
    let changed = |p: &Package| p.body["lastModifiedDate"].as_i64().unwrap_or_default();
    let mut matching: Vec<&Package> = state
        .packages
        .iter()
        .filter(|(id, _)| ids.as_ref().is_none_or(|ids| ids.contains(id)))
        .map(|(_, p)| p)
        .filter(|p| start.is_none_or(|s| changed(p) >= s) && end.is_none_or(|e| changed(p) <= e))
        .filter(|p| q.get("status").is_none_or(|s| p.body["status"].as_str() == Some(s.as_str())))
        .filter(|p| q.get("orderNumber").is_none_or(|n| p.body["orderNumber"].as_str() == Some(n.as_str())))
        .collect();
    matching.sort_by_key(|p| (changed(p), p.body["id"].as_u64()));
    if q.get("orderByDirection").is_some_and(|d| d.eq_ignore_ascii_case("DESC")) {
        matching.reverse();
    }
    let (page, size) = (page as usize, size as usize);
    let total = matching.len();
    let content: Vec<Wire<'_>> = matching.into_iter().skip(page * size).take(size).map(Wire).collect();
    let answer = Page { total_elements: total, total_pages: total.div_ceil(size), page, size, content };
    json_text(StatusCode::OK, serde_json::to_string(&answer).expect("a page serializes"))
}

async fn update_package(
    State(shop): State<TrendyolSim>,
    Path((seller, id)): Path<(String, u64)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(refused) = shop.refuse(&headers, &seller) {
        return refused;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else { return bad_request("gövde JSON değil") };
    let text = {
        let mut state = shop.lock();
        let at = state.tick();
        let Some(package) = state.packages.get_mut(&id) else { return not_found("Paket") };
        let now = package.body["status"].as_str().unwrap_or_default().to_owned();
        let wanted = body["status"].as_str().unwrap_or_default();
        match (wanted, now.as_str()) {
            ("Picking", "Created") => {}
            ("Invoiced", "Picking") if body["params"]["invoiceNumber"].as_str().is_some_and(|n| !n.is_empty()) => {}
            ("Invoiced", "Picking") => return bad_request("invoiceNumber zorunludur"),
            ("Picking" | "Invoiced", _) => {
                return bad_request(&format!("{now} statüsündeki paket {wanted} statüsüne çekilemez"));
            }
            _ => return bad_request("status Picking veya Invoiced olmalıdır"),
        }
        let known: BTreeMap<u64, u64> = package.body["lines"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| Some((l["id"].as_u64()?, l["quantity"].as_u64()?)))
            .collect();
        let lines = body["lines"].as_array().cloned().unwrap_or_default();
        let fits = !lines.is_empty()
            && lines.iter().all(|l| {
                let (line, quantity) = (l["lineId"].as_u64(), l["quantity"].as_u64());
                line.and_then(|line| known.get(&line)).is_some_and(|max| quantity.is_some_and(|q| q >= 1 && q <= *max))
            });
        if !fits {
            return bad_request("lines pakettekilerle uyuşmuyor");
        }
        set_state(&mut package.body, wanted, at);
        let text = render(package);
        state.updates.push((id, body));
        text
    };
    shop.send_webhook(text);
    StatusCode::OK.into_response()
}

async fn alternative_delivery(
    State(shop): State<TrendyolSim>,
    Path((seller, id)): Path<(String, u64)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(refused) = shop.refuse(&headers, &seller) {
        return refused;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else { return bad_request("gövde JSON değil") };
    let (Some(phone), Some(info)) = (body["isPhoneNumber"].as_bool(), body["trackingInfo"].as_str()) else {
        return bad_request("isPhoneNumber ve trackingInfo zorunludur");
    };
    if info.trim().is_empty() || !body["params"].is_object() {
        return bad_request("trackingInfo ve params zorunludur");
    }
    let text = {
        let mut state = shop.lock();
        let at = state.tick();
        let Some(package) = state.packages.get_mut(&id) else { return not_found("Paket") };
        let now = package.body["status"].as_str().unwrap_or_default().to_owned();
        if !matches!(now.as_str(), "Created" | "Picking" | "Invoiced") {
            return bad_request(&format!("{now} statüsündeki paket için alternatif teslimat yapılamaz"));
        }
        set_state(&mut package.body, "Shipped", at);
        if !phone {
            package.body["cargoTrackingLink"] = info.into();
        }
        // Trendyol marks the package as alternative delivery and gives it a number of its own,
        // which the seller names to say it was delivered or came back.
        package.body["cargoProviderName"] = "ADEL".into();
        package.tracking = Some(format!("7330{id:012}"));
        let text = render(package);
        state.alternative_deliveries.push((id, body));
        text
    };
    shop.send_webhook(text);
    StatusCode::OK.into_response()
}

/// manualDeliver / manualReturn: an alternative-delivery package, named by the tracking number
/// Trendyol gave it, delivered or back at the seller.
async fn manual_step(shop: TrendyolSim, seller: String, number: String, headers: HeaderMap, to: &str) -> Response {
    if let Some(refused) = shop.refuse(&headers, &seller) {
        return refused;
    }
    let text = {
        let mut state = shop.lock();
        let at = state.tick();
        let Some((id, package)) =
            state.packages.iter_mut().find(|(_, p)| p.tracking.as_deref() == Some(number.as_str()))
        else {
            return not_found("Paket");
        };
        let id = *id;
        if package.body["cargoProviderName"] != "ADEL" || package.body["status"] != "Shipped" {
            return bad_request("yalnızca alternatif teslimatla gönderilmiş (Shipped) paketler için");
        }
        set_state(&mut package.body, to, at);
        let text = render(package);
        state.manual_steps.push((id, to.to_owned()));
        text
    };
    shop.send_webhook(text);
    StatusCode::OK.into_response()
}

async fn manual_deliver(
    State(shop): State<TrendyolSim>,
    Path((seller, number)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    manual_step(shop, seller, number, headers, "Delivered").await
}

async fn manual_return(
    State(shop): State<TrendyolSim>,
    Path((seller, number)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    manual_step(shop, seller, number, headers, "Returned").await
}

async fn list_products(
    State(shop): State<TrendyolSim>,
    Path(seller): Path<String>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(refused) = shop.refuse(&headers, &seller) {
        return refused;
    }
    let (page, size) = match numbers(&q, ["page", "size"]) {
        Ok([page, size]) => (page.unwrap_or(0), size.unwrap_or(50)),
        Err(message) => return bad_request(&message),
    };
    if !(1..=200).contains(&size) || page < 0 {
        return bad_request("size en fazla 200 olabilir");
    }
    let (page, size) = (page as usize, size as usize);
    let state = shop.lock();
    let matching: Vec<&Product> = state
        .products
        .iter()
        .filter(|p| q.get("barcode").is_none_or(|b| *b == p.barcode))
        .filter(|p| q.get("stockCode").is_none_or(|c| *c == p.stock_code))
        .collect();
    let total = matching.len();
    let content: Vec<Value> = matching
        .into_iter()
        .skip(page * size)
        .take(size)
        .map(|p| {
            json!({"barcode": p.barcode, "stockCode": p.stock_code, "quantity": p.quantity.unwrap_or(0),
                "approved": true, "archived": false, "onSale": true, "title": format!("Ürün {}", p.barcode)})
        })
        .collect();
    axum::Json(Page { total_elements: total, total_pages: total.div_ceil(size), page, size, content }).into_response()
}

async fn price_and_inventory(
    State(shop): State<TrendyolSim>,
    Path(seller): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(refused) = shop.refuse(&headers, &seller) {
        return refused;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else { return bad_request("gövde JSON değil") };
    let items = body["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() || items.len() > 1000 {
        return bad_request("items 1 ile 1000 arasında olmalıdır");
    }
    let mut state = shop.lock();
    let key = body.to_string();
    state.recent_inventory.retain(|(at, _)| at.elapsed() < Duration::from_secs(15 * 60));
    if state.recent_inventory.iter().any(|(_, k)| *k == key) {
        return bad_request("15 dakika boyunca aynı isteği tekrarlı olarak atamazsınız!");
    }
    state.recent_inventory.push((Instant::now(), key));
    let mut results = Vec::new();
    for item in &items {
        let barcode = item["barcode"].as_str().unwrap_or_default().to_owned();
        let quantity = item["quantity"].as_i64();
        let failure = match (state.products.iter_mut().find(|p| p.barcode == barcode), quantity) {
            (None, _) => Some("Ürün bulunamadı"),
            (Some(_), Some(q)) if !(0..=20_000).contains(&q) => Some("Stok en fazla 20.000 olabilir"),
            (Some(p), Some(q)) => {
                p.quantity = Some(q);
                None
            }
            (Some(_), None) => None,
        };
        results.push(json!({"requestItem": item, "status": if failure.is_some() { "FAILED" } else { "SUCCESS" },
            "failureReasons": failure.into_iter().collect::<Vec<_>>()}));
    }
    state.inventory_calls.push(body);
    let id =
        format!("{:08x}-{:04x}-fake-batch-{}", state.api_calls, state.batches.len(), Utc::now().timestamp_millis());
    state.batches.insert(id.clone(), json!({"batchRequestId": id, "status": "COMPLETED", "items": results}));
    axum::Json(json!({"batchRequestId": id})).into_response()
}

async fn batch_result(
    State(shop): State<TrendyolSim>,
    Path((seller, batch)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = shop.refuse(&headers, &seller) {
        return refused;
    }
    match shop.lock().batches.get(&batch) {
        Some(result) => axum::Json(result.clone()).into_response(),
        None => not_found("Batch request"),
    }
}

/// The control body of `POST /_shop/orders`.
#[derive(Deserialize)]
struct Place {
    #[serde(flatten)]
    order: NewOrder,
    status: Option<String>,
    cargo: Option<AssignedCargo>,
}

async fn place(State(shop): State<TrendyolSim>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Place>(&body) {
        Ok(p) => {
            let id = shop.place_package(p.order, p.cargo);
            if let Some(status) = p.status.filter(|s| s != "Created") {
                shop.set_status(id, &status);
            }
            (StatusCode::CREATED, axum::Json(json!({"id": id, "orderNumber": format!("10{id}")}))).into_response()
        }
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(json!({"errors": e.to_string()}))).into_response(),
    }
}

async fn show(State(shop): State<TrendyolSim>, Path(id): Path<u64>) -> Response {
    let Some(package) = shop.package(id) else { return not_found("Paket") };
    let mine = |list: Vec<(u64, Value)>| list.into_iter().filter(|(p, _)| *p == id).map(|(_, b)| b).collect::<Vec<_>>();
    #[derive(Serialize)]
    struct Shown {
        package: Box<RawValue>,
        updates: Vec<Value>,
        alternative_deliveries: Vec<Value>,
    }
    let shown = Shown {
        package: RawValue::from_string(package).expect("a package is JSON"),
        updates: mine(shop.package_updates()),
        alternative_deliveries: mine(shop.alternative_deliveries()),
    };
    json_text(StatusCode::OK, serde_json::to_string(&shown).expect("serializes"))
}

async fn move_status(
    State(shop): State<TrendyolSim>,
    Path(id): Path<u64>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let Some(status) = body.get("status").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
        return StatusCode::UNPROCESSABLE_ENTITY.into_response();
    };
    if shop.set_status(id, status) { StatusCode::NO_CONTENT.into_response() } else { not_found("Paket") }
}

async fn cancel(State(shop): State<TrendyolSim>, Path(id): Path<u64>) -> Response {
    if shop.set_status(id, "Cancelled") { StatusCode::OK.into_response() } else { not_found("Paket") }
}

async fn add_product_route(State(shop): State<TrendyolSim>, axum::Json(body): axum::Json<Value>) -> StatusCode {
    match body.get("barcode").and_then(Value::as_str).filter(|b| !b.is_empty()) {
        Some(barcode) => {
            shop.add_product(barcode, body.get("stockCode").and_then(Value::as_str).unwrap_or_default());
            StatusCode::CREATED
        }
        None => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

async fn set_webhook_route(State(shop): State<TrendyolSim>, axum::Json(body): axum::Json<Value>) -> StatusCode {
    let text = |name: &str| body.get(name).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    let auth = match body.get("authenticationType").and_then(Value::as_str) {
        Some("API_KEY") => text("apiKey").map(WebhookAuth::ApiKey),
        Some("BASIC_AUTHENTICATION") => {
            text("username").zip(text("password")).map(|(username, password)| WebhookAuth::Basic { username, password })
        }
        _ => None,
    };
    match (text("url"), auth) {
        (Some(url), Some(auth)) => {
            shop.set_webhook(&url, auth);
            StatusCode::NO_CONTENT
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

async fn set_faults(State(shop): State<TrendyolSim>, axum::Json(body): axum::Json<Value>) -> StatusCode {
    shop.set_down(body.get("down").and_then(Value::as_bool).unwrap_or(false));
    let throttle = body.get("throttle").and_then(Value::as_u64).unwrap_or(0);
    shop.set_throttle(
        u32::try_from(throttle).unwrap_or(u32::MAX),
        body.get("retry_after").and_then(Value::as_u64).unwrap_or(1),
    );
    StatusCode::NO_CONTENT
}
