//! Shopify, through the GraphQL Admin API, version [`API_VERSION`].
//!
//! Follows: shopify.dev's Admin GraphQL reference and webhook guide, as summarised with sources
//! in `../shared/notes/channels.md` §2. Every document in `graphql/` is checked in this crate's
//! tests against the Admin API introspection we hold (2025-01, the newest under a licence that
//! lets us keep it), with the one documented change since that the connector uses: from 2026-04
//! each quantity of `inventorySetQuantities` carries `changeFromQuantity`, and the mutation
//! takes an `@idempotent(key:)` directive.
//!
//! - Orders in: `orders/create`, `orders/updated`, `orders/cancelled` (and the other `orders/…`
//!   topics whose body is an order) webhooks, signed with `X-Shopify-Hmac-Sha256` =
//!   base64(HMAC-SHA256(signing key, raw body)), the key being the app's API secret key or the
//!   store's webhook signing key; and the sync, `orders(query: "updated_at:>=…", sortKey:
//!   UPDATED_AT)`, which finds what a missed webhook lost.
//! - Back: `fulfillmentCreate` on the order's open fulfillment orders, with the tracking number,
//!   URL and carrier; then `fulfillmentEventCreate` as the parcel moves; `fulfillmentCancel`
//!   when the booking is cancelled, so the lines can be fulfilled again.
//! - Stock: SKUs are found a hundred at a time (`inventoryItems(query: "sku:'A' OR …")`) and
//!   their `available` quantity set at the connection's location (the `location_id`
//!   credential, else the store's primary location) with `inventorySetQuantities`, 250 per call,
//!   `changeFromQuantity: null` (Waybill is the source of truth for what it pushes) and the
//!   idempotency key 2026-04 requires.
//! - Rate limits: a `THROTTLED` answer waits as long as the query's cost needs to be restored
//!   (`extensions.cost.throttleStatus`); HTTP 429 honours `Retry-After`.

mod payload;

use std::time::Duration;

use chrono::Utc;

use serde_json::{Value, json};
use waybill_core::channel::ChannelOrder;
use waybill_core::credentials::{CredentialField, CredentialSchema};
use waybill_core::{FieldError, TrackingStatus};

pub use self::payload::{read_graphql, read_rest};
use crate::credential;
use crate::http::Http;
use crate::{
    Channel, ChannelError, ChannelInfo, Connection, Fulfilment, Inbound, Posted, Progress, ReadError, Refused,
    SYNC_TOPIC, StockItem, StockOutcome, Supports, SyncPage, WebhookRequest,
};

pub const SLUG: &str = "shopify";
const NAME: &str = "Shopify";
/// The Admin API version every call names.
pub const API_VERSION: &str = "2026-07";
/// Orders per sync page: a page costs about this many points of the query budget.
const SYNC_PAGE: u32 = 50;

const SHOP: &str = include_str!("graphql/shop.graphql");
const ORDERS_SINCE: &str = include_str!("graphql/orders_since.graphql");
const FULFILMENT_STATE: &str = include_str!("graphql/fulfilment_state.graphql");
const FULFILLMENT_CREATE: &str = include_str!("graphql/fulfillment_create.graphql");
const LAST_EVENT: &str = include_str!("graphql/last_event.graphql");
const FULFILLMENT_EVENT_CREATE: &str = include_str!("graphql/fulfillment_event_create.graphql");
const FULFILLMENT_CANCEL: &str = include_str!("graphql/fulfillment_cancel.graphql");
const PRIMARY_LOCATION: &str = include_str!("graphql/primary_location.graphql");
const INVENTORY_ITEMS: &str = include_str!("graphql/inventory_items.graphql");
const INVENTORY_SET_QUANTITIES: &str = include_str!("graphql/inventory_set_quantities.graphql");
/// SKUs looked up per `inventoryItems` query.
const SKUS_PER_LOOKUP: usize = 100;
/// Quantities set per `inventorySetQuantities` call (Shopify's limit is 250).
const QUANTITIES_PER_SET: usize = 250;

/// Every GraphQL document the connector sends, by file name (for the schema check in tests).
pub const DOCUMENTS: &[(&str, &str)] = &[
    ("shop.graphql", SHOP),
    ("orders_since.graphql", ORDERS_SINCE),
    ("fulfilment_state.graphql", FULFILMENT_STATE),
    ("fulfillment_create.graphql", FULFILLMENT_CREATE),
    ("last_event.graphql", LAST_EVENT),
    ("fulfillment_event_create.graphql", FULFILLMENT_EVENT_CREATE),
    ("fulfillment_cancel.graphql", FULFILLMENT_CANCEL),
    ("primary_location.graphql", PRIMARY_LOCATION),
    ("inventory_items.graphql", INVENTORY_ITEMS),
    ("inventory_set_quantities.graphql", INVENTORY_SET_QUANTITIES),
];

/// Webhook topics whose body is a REST `Order`.
const ORDER_TOPICS: &[&str] = &[
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "orders/paid",
    "orders/fulfilled",
    "orders/partially_fulfilled",
];

pub struct Shopify {
    info: ChannelInfo,
    http: Http,
}

impl Shopify {
    pub fn new(outbound: waybill_outbound::Outbound) -> Self {
        let field = |name, description, required| CredentialField { name, description, required };
        Self {
            info: ChannelInfo {
                slug: SLUG,
                name: NAME,
                api: "GraphQL Admin API 2026-07; webhooks (REST order JSON) signed with X-Shopify-Hmac-Sha256",
                supports: Supports {
                    order_webhooks: true,
                    order_sync: true,
                    fulfilment: true,
                    progress: true,
                    inventory: true,
                    order_queue: false,
                },
                credentials: CredentialSchema {
                    fields: vec![
                        field("shop", "the store's handle or domain: `acme` or `acme.myshopify.com`", true),
                        field(
                            "access_token",
                            "the Admin API access token of the app (`shpat_…`); scopes: read_orders, \
                             read_merchant_managed_fulfillment_orders, write_merchant_managed_fulfillment_orders, \
                             and read_inventory, write_inventory to receive stock",
                            true,
                        ),
                        field(
                            "client_secret",
                            "the key Shopify signs webhooks with: the signing key under Settings → Notifications → \
                             Webhooks for webhooks made there, or the app's API secret key for webhooks it subscribes",
                            true,
                        ),
                        field(
                            "location_id",
                            "the Shopify location whose stock Waybill sets (`gid://shopify/Location/…` or its number); \
                             the store's primary location when absent",
                            false,
                        ),
                    ],
                },
                default_ready_statuses: vec!["paid", "partially_paid", "authorized"],
                base_url_replaces: "https://{shop}.myshopify.com",
                site_is_base_url: false,
            },
            http: Http::new(outbound),
        }
    }

    fn endpoint(connection: &Connection<'_>) -> String {
        let base = match connection.base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("https://{}", shop_domain(credential(connection.credentials, "shop"))),
        };
        format!("{base}/admin/api/{API_VERSION}/graphql.json")
    }

    /// Runs a GraphQL document; returns its `data`.
    async fn graphql(
        &self,
        connection: &Connection<'_>,
        document: &str,
        variables: Value,
    ) -> Result<Value, ChannelError> {
        let request = self
            .http
            .client(connection.mode)
            .post(Self::endpoint(connection))
            .header("X-Shopify-Access-Token", credential(connection.credentials, "access_token"))
            .json(&json!({"query": document, "variables": variables}));
        let answer = self.http.send(SLUG, request).await?;
        if !answer.is_success() {
            let detail = serde_json::from_slice::<Value>(&answer.body).ok().and_then(|v| error_messages(&v));
            return Err(answer.error(SLUG, "the store", detail));
        }
        let body: Value = serde_json::from_slice(&answer.body)
            .map_err(|e| ChannelError::Protocol { channel: SLUG, message: format!("not JSON: {e}") })?;
        if let Some(errors) = body.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty()) {
            return Err(graphql_error(errors, &body));
        }
        body.get("data")
            .filter(|d| !d.is_null())
            .cloned()
            .ok_or_else(|| ChannelError::Protocol { channel: SLUG, message: "an answer without data".into() })
    }
}

/// The `shop` credential as a domain: `acme` → `acme.myshopify.com`.
pub fn shop_domain(shop: &str) -> String {
    let shop = shop.trim().trim_start_matches("https://").trim_end_matches('/').to_ascii_lowercase();
    if shop.contains('.') { shop } else { format!("{shop}.myshopify.com") }
}

/// The messages of Shopify's `errors` (a list of `{message}`, or a string), shortened.
fn error_messages(body: &Value) -> Option<String> {
    let errors = body.get("errors")?;
    let text = match errors {
        Value::String(s) => s.clone(),
        Value::Array(list) => list
            .iter()
            .filter_map(|e| e.get("message").and_then(Value::as_str).or(e.as_str()))
            .collect::<Vec<_>>()
            .join("; "),
        _ => return None,
    };
    Some(text.chars().take(300).collect())
}

/// A 200 answer with `errors`: throttled (wait for the budget), access denied, or refused.
fn graphql_error(errors: &[Value], body: &Value) -> ChannelError {
    let code = |e: &Value| e.pointer("/extensions/code").and_then(Value::as_str).map(str::to_owned);
    let message = error_messages(body).unwrap_or_else(|| "an error without a message".into());
    if errors.iter().any(|e| code(e).as_deref() == Some("THROTTLED")) {
        return ChannelError::Unavailable { channel: SLUG, message, retry_after: Some(throttle_wait(body)) };
    }
    if errors.iter().any(|e| code(e).as_deref() == Some("ACCESS_DENIED")) {
        return ChannelError::Auth { channel: SLUG, message };
    }
    ChannelError::Rejected { channel: SLUG, message }
}

/// How long until the bucket holds what the query costs: (cost − available) / restore rate.
pub fn throttle_wait(body: &Value) -> Duration {
    let cost = body.pointer("/extensions/cost/requestedQueryCost").and_then(Value::as_f64).unwrap_or(50.0);
    let status = body.pointer("/extensions/cost/throttleStatus");
    let available = status.and_then(|s| s.get("currentlyAvailable")).and_then(Value::as_f64).unwrap_or(0.0);
    let restore =
        status.and_then(|s| s.get("restoreRate")).and_then(Value::as_f64).filter(|r| *r > 0.0).unwrap_or(50.0);
    let seconds = ((cost - available).max(0.0) / restore).clamp(1.0, 60.0);
    Duration::from_secs_f64(seconds.ceil())
}

/// `userErrors` of a mutation, as one refusal.
fn user_errors(payload: &Value) -> Result<(), ChannelError> {
    let errors = payload.get("userErrors").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if errors.is_empty() {
        return Ok(());
    }
    let message = errors
        .iter()
        .map(|e| {
            let field = e
                .get("field")
                .and_then(Value::as_array)
                .map(|f| f.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("."));
            let text = e.get("message").and_then(Value::as_str).unwrap_or("refused");
            match field.filter(|f| !f.is_empty()) {
                Some(f) => format!("{f}: {text}"),
                None => text.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(ChannelError::Rejected { channel: SLUG, message: message.chars().take(300).collect() })
}

fn protocol(message: impl Into<String>) -> ChannelError {
    ChannelError::Protocol { channel: SLUG, message: message.into() }
}

/// Shopify's fulfillment event status for a Waybill tracking status; `None` where Shopify has
/// no step for it (the fulfilment itself says the label exists).
pub fn event_status(status: TrackingStatus, delayed: bool) -> Option<&'static str> {
    use TrackingStatus as T;
    Some(match status {
        T::InfoReceived => return None,
        _ if delayed && !status.is_final() => "DELAYED",
        T::PickedUp | T::InTransit => "IN_TRANSIT",
        T::OutForDelivery => "OUT_FOR_DELIVERY",
        T::DeliveryFailed => "ATTEMPTED_DELIVERY",
        T::AvailableForPickup => "READY_FOR_PICKUP",
        T::Delivered => "DELIVERED",
        T::Exception => "DELAYED",
        T::ReturnToOrigin | T::Returned | T::Cancelled => "FAILURE",
    })
}

/// A SKU as a quoted value in Shopify's search syntax.
fn search_quoted(sku: &str) -> String {
    sku.replace('\\', "\\\\").replace('\'', "\\'")
}

/// A fresh key per call. Setting an absolute number again is harmless, whereas a key tied to
/// the batch's content would make Shopify replay an old answer (and set nothing) when a SKU
/// comes back to a number it had before.
fn idempotency_key(input: &Value) -> String {
    use sha2::Digest as _;
    let now = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let digest = sha2::Sha256::digest(format!("{now}:{input}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The GraphQL id of an order from its numeric id.
fn order_gid(id: &str) -> String {
    format!("gid://shopify/Order/{id}")
}

/// The sync cursor: the newest `updatedAt` fully read, and the page cursor within a run of
/// changes at or after it.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Cursor {
    since: Option<String>,
    after: Option<String>,
}

#[async_trait::async_trait]
impl Channel for Shopify {
    fn info(&self) -> &ChannelInfo {
        &self.info
    }

    fn check_credentials(&self, credentials: &Value) -> Result<(), Vec<FieldError>> {
        let mut errors = self.info.credentials.check(credentials).err().unwrap_or_default();
        if let Some(shop) = credentials.get("shop").and_then(Value::as_str).filter(|s| !s.trim().is_empty()) {
            let domain = shop_domain(shop);
            let handle = domain.strip_suffix(".myshopify.com").unwrap_or(&domain);
            let valid = !handle.is_empty()
                && handle.len() <= 60
                && handle.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && domain.ends_with(".myshopify.com");
            if !valid {
                errors.push(FieldError::new(
                    "/credentials/shop",
                    format!("`{shop}` is not a Shopify store: give its handle (`acme`) or `acme.myshopify.com`"),
                ));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    fn verify_webhook(&self, credentials: &Value, request: &WebhookRequest<'_>) -> Result<Inbound, Refused> {
        let given = request
            .header("x-shopify-hmac-sha256")
            .or(request.header("shopify-hmac-sha256"))
            .ok_or_else(|| Refused("no X-Shopify-Hmac-Sha256 header".into()))?;
        let secret = credential(credentials, "client_secret");
        crate::check_hmac_base64(secret, request.body, given, "X-Shopify-Hmac-Sha256")?;
        if let Some(domain) = request.header("x-shopify-shop-domain").or(request.header("shopify-shop-domain"))
            && !domain.eq_ignore_ascii_case(&shop_domain(credential(credentials, "shop")))
        {
            return Err(Refused(format!("signed for another shop, `{domain}`")));
        }
        let topic = request.header("x-shopify-topic").or(request.header("shopify-topic")).unwrap_or_default();
        Ok(Inbound {
            topic: topic.to_owned(),
            delivery_id: request
                .header("x-shopify-webhook-id")
                .or(request.header("shopify-webhook-id"))
                .or(request.header("x-shopify-event-id"))
                .map(str::to_owned),
            is_order: ORDER_TOPICS.contains(&topic),
        })
    }

    fn read_order(&self, topic: &str, body: &[u8]) -> Result<ChannelOrder, ReadError> {
        if topic == SYNC_TOPIC { read_graphql(body) } else { read_rest(body) }
    }

    async fn verify(&self, connection: &Connection<'_>) -> Result<String, ChannelError> {
        let data = self.graphql(connection, SHOP, json!({})).await?;
        data.pointer("/shop/name").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| protocol("no shop name"))
    }

    async fn orders_since(&self, connection: &Connection<'_>, cursor: Option<&str>) -> Result<SyncPage, ChannelError> {
        let cursor: Cursor = cursor.and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default();
        // The first sync of a connection brings the orders still to ship; later ones every change.
        let query = match &cursor.since {
            Some(since) => format!("updated_at:>='{since}'"),
            None => "fulfillment_status:unshipped status:open".to_owned(),
        };
        let data = self
            .graphql(connection, ORDERS_SINCE, json!({"first": SYNC_PAGE, "after": cursor.after, "query": query}))
            .await?;
        let orders = data.pointer("/orders/nodes").and_then(Value::as_array).ok_or_else(|| protocol("no orders"))?;
        let more = data.pointer("/orders/pageInfo/hasNextPage").and_then(Value::as_bool).unwrap_or(false);
        let newest =
            orders.iter().filter_map(|o| o.get("updatedAt").and_then(Value::as_str)).max_by_key(|t| crate::millis(t));
        let next = if more {
            let end = data.pointer("/orders/pageInfo/endCursor").and_then(Value::as_str).map(str::to_owned);
            Cursor { since: cursor.since.clone(), after: end }
        } else {
            let since = newest.map(str::to_owned).or(cursor.since);
            Cursor { since, after: None }
        };
        Ok(SyncPage {
            orders: orders.iter().map(|o| o.to_string().into_bytes()).collect(),
            cursor: serde_json::to_string(&next).expect("a cursor serializes"),
            more,
        })
    }

    async fn fulfil(&self, connection: &Connection<'_>, fulfilment: &Fulfilment<'_>) -> Result<String, ChannelError> {
        let state = self.graphql(connection, FULFILMENT_STATE, json!({"id": order_gid(fulfilment.order_id)})).await?;
        let order = state
            .get("order")
            .filter(|o| !o.is_null())
            .ok_or_else(|| ChannelError::NotFound { channel: SLUG, what: format!("order {}", fulfilment.order_id) })?;
        // Made before (its answer lost): found by its tracking number, never made twice. A
        // cancelled one does not count: its lines are open again.
        let made = order.get("fulfillments").and_then(Value::as_array).into_iter().flatten().find(|f| {
            f.get("status").and_then(Value::as_str) != Some("CANCELLED")
                && f.get("trackingInfo").and_then(Value::as_array).is_some_and(|t| {
                    t.iter().any(|t| t.get("number").and_then(Value::as_str) == Some(fulfilment.tracking_number))
                })
        });
        if let Some(id) = made.and_then(|f| f.get("id")).and_then(Value::as_str) {
            return Ok(id.to_owned());
        }
        let by_order = lines_to_fulfil(order, fulfilment.lines);
        if by_order.is_empty() {
            return Err(ChannelError::Rejected {
                channel: SLUG,
                message: format!("order {} has nothing left to fulfil from this location", fulfilment.order_id),
            });
        }
        let input = json!({
            "lineItemsByFulfillmentOrder": by_order,
            "notifyCustomer": fulfilment.notify_customer,
            "trackingInfo": {
                "number": fulfilment.tracking_number,
                "url": fulfilment.tracking_url,
                "company": fulfilment.carrier_name,
            },
        });
        let data = self.graphql(connection, FULFILLMENT_CREATE, json!({"fulfillment": input})).await?;
        let payload = data.get("fulfillmentCreate").ok_or_else(|| protocol("no fulfillmentCreate"))?;
        user_errors(payload)?;
        payload
            .pointer("/fulfillment/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| protocol("a fulfillment without an id"))
    }

    async fn push_stock(
        &self,
        connection: &Connection<'_>,
        items: &[StockItem<'_>],
    ) -> Result<Vec<StockOutcome>, ChannelError> {
        let location = match credential(connection.credentials, "location_id").trim() {
            "" => {
                let data = self.graphql(connection, PRIMARY_LOCATION, json!({})).await?;
                data.pointer("/location/id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| protocol("the store has no primary location"))?
            }
            id if id.starts_with("gid://") => id.to_owned(),
            id => format!("gid://shopify/Location/{id}"),
        };
        // SKU → its inventory items (a SKU may be on several variants) and whether stock is tracked.
        let mut found: std::collections::HashMap<String, Vec<(String, bool)>> = std::collections::HashMap::new();
        for batch in items.chunks(SKUS_PER_LOOKUP) {
            let query =
                batch.iter().map(|i| format!("sku:'{}'", search_quoted(i.sku))).collect::<Vec<_>>().join(" OR ");
            let data = self.graphql(connection, INVENTORY_ITEMS, json!({"first": 250, "query": query})).await?;
            let nodes =
                data.pointer("/inventoryItems/nodes").and_then(Value::as_array).ok_or_else(|| protocol("no items"))?;
            for node in nodes {
                let (Some(id), Some(sku)) =
                    (node.get("id").and_then(Value::as_str), node.get("sku").and_then(Value::as_str))
                else {
                    continue;
                };
                let tracked = node.get("tracked").and_then(Value::as_bool).unwrap_or(false);
                found.entry(sku.to_owned()).or_default().push((id.to_owned(), tracked));
            }
        }
        let mut outcomes = Vec::with_capacity(items.len());
        let mut quantities = Vec::new();
        for item in items {
            match found.get(item.sku) {
                None => outcomes
                    .push(StockOutcome::UnknownSku(format!("no Shopify product variant has the SKU `{}`", item.sku))),
                Some(ids) if !ids.iter().any(|(_, tracked)| *tracked) => outcomes.push(StockOutcome::UnknownSku(
                    format!("Shopify does not track inventory for the SKU `{}`", item.sku),
                )),
                Some(ids) => {
                    outcomes.push(StockOutcome::Set);
                    for (id, _) in ids.iter().filter(|(_, tracked)| *tracked) {
                        quantities.push(json!({
                            "inventoryItemId": id,
                            "locationId": location,
                            "quantity": item.available.clamp(0, i64::from(i32::MAX)),
                            "changeFromQuantity": null,
                        }));
                    }
                }
            }
        }
        for batch in quantities.chunks(QUANTITIES_PER_SET) {
            let input = json!({
                "name": "available",
                "reason": "correction",
                "referenceDocumentUri": "waybill://inventory",
                "quantities": batch,
            });
            let key = idempotency_key(&input);
            let data = self.graphql(connection, INVENTORY_SET_QUANTITIES, json!({"input": input, "key": key})).await?;
            let payload = data.get("inventorySetQuantities").ok_or_else(|| protocol("no inventorySetQuantities"))?;
            user_errors(payload)?;
        }
        Ok(outcomes)
    }

    async fn cancel_fulfilment(
        &self,
        connection: &Connection<'_>,
        fulfilment_id: &str,
    ) -> Result<Posted, ChannelError> {
        let state = self.graphql(connection, LAST_EVENT, json!({"id": fulfilment_id})).await?;
        match state.pointer("/fulfillment/status").and_then(Value::as_str) {
            None => return Err(ChannelError::NotFound { channel: SLUG, what: format!("fulfillment {fulfilment_id}") }),
            Some("CANCELLED") => return Ok(Posted::AlreadyThere),
            Some(_) => {}
        }
        let data = self.graphql(connection, FULFILLMENT_CANCEL, json!({"id": fulfilment_id})).await?;
        let payload = data.get("fulfillmentCancel").ok_or_else(|| protocol("no fulfillmentCancel"))?;
        user_errors(payload)?;
        Ok(Posted::Sent)
    }

    async fn post_progress(
        &self,
        connection: &Connection<'_>,
        fulfilment_id: &str,
        progress: &Progress<'_>,
    ) -> Result<Posted, ChannelError> {
        let Some(status) = event_status(progress.status, progress.delayed) else {
            return Ok(Posted::NoSuchStep);
        };
        let last = self.graphql(connection, LAST_EVENT, json!({"id": fulfilment_id})).await?;
        let shown = last.pointer("/fulfillment/events/nodes/0/status").and_then(Value::as_str);
        if shown == Some(status) {
            return Ok(Posted::AlreadyThere);
        }
        let mut event = json!({
            "fulfillmentId": fulfilment_id,
            "status": status,
            "happenedAt": progress.happened_at.to_rfc3339(),
        });
        if let Some(city) = progress.city {
            event["city"] = city.into();
        }
        if let Some(edd) = progress.edd.and_then(|d| d.and_hms_opt(23, 59, 59)) {
            event["estimatedDeliveryAt"] = edd.and_utc().to_rfc3339().into();
        }
        let data = self.graphql(connection, FULFILLMENT_EVENT_CREATE, json!({"event": event})).await?;
        let payload = data.get("fulfillmentEventCreate").ok_or_else(|| protocol("no fulfillmentEventCreate"))?;
        user_errors(payload)?;
        Ok(Posted::Sent)
    }
}

/// `lineItemsByFulfillmentOrder` for the open fulfillment orders that can be fulfilled: all
/// their lines when `wanted` is empty, else the SKUs and quantities wanted.
fn lines_to_fulfil(order: &Value, wanted: &[(String, u32)]) -> Vec<Value> {
    let open = order
        .pointer("/fulfillmentOrders/nodes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|fo| matches!(fo.get("status").and_then(Value::as_str), Some("OPEN" | "IN_PROGRESS")))
        .filter(|fo| {
            fo.get("supportedActions").and_then(Value::as_array).is_some_and(|a| {
                a.iter().any(|a| a.get("action").and_then(Value::as_str) == Some("CREATE_FULFILLMENT"))
            })
        });
    let mut left: Vec<(String, u32)> = wanted.to_vec();
    let mut out = Vec::new();
    for fo in open {
        let Some(id) = fo.get("id").and_then(Value::as_str) else { continue };
        let items = fo.pointer("/lineItems/nodes").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let remaining = |item: &Value| item.get("remainingQuantity").and_then(Value::as_u64).unwrap_or(0) as u32;
        if wanted.is_empty() {
            if items.iter().any(|i| remaining(i) > 0) {
                out.push(json!({"fulfillmentOrderId": id}));
            }
            continue;
        }
        let mut picked = Vec::new();
        for item in items {
            let sku = item.get("sku").and_then(Value::as_str).unwrap_or_default();
            let Some(want) = left.iter_mut().find(|(s, q)| s == sku && *q > 0) else { continue };
            let take = want.1.min(remaining(item));
            if take > 0 {
                want.1 -= take;
                picked.push(json!({"id": item.get("id"), "quantity": take}));
            }
        }
        if !picked.is_empty() {
            out.push(json!({"fulfillmentOrderId": id, "fulfillmentOrderLineItems": picked}));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shopify() -> Shopify {
        Shopify::new(waybill_outbound::Outbound::default())
    }

    fn vector(name: &str) -> Value {
        let path = format!("{}/tests/fixtures/shopify/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned())).collect()
    }

    /// Shopify's own SDK test vector (`../shared/specs/shopify/fixtures_shopify-app-js/
    /// webhook_hmac_vector.json`) and ours over a sample order (`../shared/specs/shopify/
    /// test_vectors/webhook_hmac_vector.json`): both verify, and a changed body does not.
    #[test]
    fn published_webhook_signatures_verify_and_a_changed_body_does_not() {
        let sdk = vector("webhook_hmac_vector_sdk.json");
        let credentials = json!({"shop": "shop1", "client_secret": sdk["secret"]});
        let body = sdk["raw_body"].as_str().unwrap().as_bytes();
        let signed = headers(&[
            ("X-Shopify-Hmac-Sha256", sdk["expected_x_shopify_hmac_sha256"].as_str().unwrap()),
            ("X-Shopify-Topic", "products/create"),
            ("X-Shopify-Webhook-Id", "123456789"),
        ]);
        let inbound = shopify().verify_webhook(&credentials, &WebhookRequest { headers: &signed, body }).unwrap();
        assert_eq!(inbound.delivery_id.as_deref(), Some("123456789"));
        assert!(!inbound.is_order, "products/create is not an order");

        let ours = vector("webhook_hmac_vector.json");
        let body =
            std::fs::read(format!("{}/tests/fixtures/shopify/orders_create_body.json", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        let credentials = json!({"shop": "example-shop", "client_secret": ours["secret"]});
        let signed = headers(&[
            ("X-Shopify-Hmac-Sha256", ours["expected_header_X-Shopify-Hmac-Sha256"].as_str().unwrap()),
            ("X-Shopify-Topic", "orders/create"),
            ("X-Shopify-Shop-Domain", "example-shop.myshopify.com"),
        ]);
        let inbound =
            shopify().verify_webhook(&credentials, &WebhookRequest { headers: &signed, body: &body }).unwrap();
        assert!(inbound.is_order);
        let order = shopify().read_order(&inbound.topic, &body).unwrap();
        assert_eq!(order.external_id, "450789469");

        let mutated = String::from_utf8(body.clone()).unwrap().replace("409.94", "409.95");
        let refused =
            shopify().verify_webhook(&credentials, &WebhookRequest { headers: &signed, body: mutated.as_bytes() });
        assert_eq!(refused.unwrap_err().0, "the signature does not match");
        let other_shop = json!({"shop": "someone-else", "client_secret": ours["secret"]});
        let refused = shopify().verify_webhook(&other_shop, &WebhookRequest { headers: &signed, body: &body });
        assert!(refused.unwrap_err().0.contains("another shop"));
        let unsigned = headers(&[("X-Shopify-Topic", "orders/create")]);
        assert!(shopify().verify_webhook(&credentials, &WebhookRequest { headers: &unsigned, body: &body }).is_err());
    }

    #[test]
    fn credentials_need_a_store_a_token_and_the_client_secret() {
        let ok = json!({"shop": "acme", "access_token": "shpat_x", "client_secret": "s"});
        assert!(shopify().check_credentials(&ok).is_ok());
        assert_eq!(shop_domain("ACME.myshopify.com/"), "acme.myshopify.com");
        let errors =
            shopify().check_credentials(&json!({"shop": "evil.example.com", "access_token": "x"})).unwrap_err();
        let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/credentials/client_secret", "/credentials/shop"]);
    }

    #[test]
    fn throttling_waits_for_the_query_cost_to_be_restored() {
        let body = json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": {"cost": {"requestedQueryCost": 202, "throttleStatus":
                {"maximumAvailable": 2000.0, "currentlyAvailable": 2, "restoreRate": 100.0}}}});
        let error = graphql_error(body["errors"].as_array().unwrap(), &body);
        assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));
        assert!(error.is_transient());
        let denied = json!({"errors": [{"message": "Access denied", "extensions": {"code": "ACCESS_DENIED"}}]});
        assert!(matches!(graphql_error(denied["errors"].as_array().unwrap(), &denied), ChannelError::Auth { .. }));
    }

    #[test]
    fn wanted_skus_are_taken_from_the_open_fulfillment_orders_only() {
        let order = json!({"fulfillmentOrders": {"nodes": [
            {"id": "gid://shopify/FulfillmentOrder/1", "status": "CLOSED", "supportedActions": [],
             "lineItems": {"nodes": [{"id": "a", "sku": "A", "remainingQuantity": 0}]}},
            {"id": "gid://shopify/FulfillmentOrder/2", "status": "OPEN", "supportedActions": [{"action": "CREATE_FULFILLMENT"}],
             "lineItems": {"nodes": [{"id": "b", "sku": "A", "remainingQuantity": 3}, {"id": "c", "sku": "B", "remainingQuantity": 1}]}}
        ]}});
        assert_eq!(
            lines_to_fulfil(&order, &[]),
            vec![json!({"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/2"})]
        );
        assert_eq!(
            lines_to_fulfil(&order, &[("A".into(), 2)]),
            vec![json!({"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/2",
                "fulfillmentOrderLineItems": [{"id": "b", "quantity": 2}]})]
        );
        assert!(lines_to_fulfil(&order, &[("Z".into(), 1)]).is_empty());
    }

    #[test]
    fn every_status_past_the_label_has_a_shopify_step() {
        for status in TrackingStatus::ALL {
            let step = event_status(*status, false);
            assert_eq!(step.is_none(), *status == TrackingStatus::InfoReceived, "{status:?}");
        }
        assert_eq!(event_status(TrackingStatus::InTransit, true), Some("DELAYED"));
        assert_eq!(event_status(TrackingStatus::Delivered, true), Some("DELIVERED"));
    }
}
