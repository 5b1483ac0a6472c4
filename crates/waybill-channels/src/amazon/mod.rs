//! Amazon, through the Selling Partner API (SP-API), for merchant-fulfilled (MFN) orders.
//!
//! Follows: the official SP-API models `../shared/specs/amazon/models/orders_2026-01-01.json`
//! (searchOrders, getOrder), `ordersV0.json` (confirmShipment), `listingsItems_2021-08-01.json`
//! (patchListingsItem), `feeds_2021-06-30.json`, `sellers.json`, the listings feed and processing
//! report schemas in `../shared/specs/amazon/schemas/feeds/`, and Amazon's auth helpers, as
//! summarised with sources in `../shared/notes/channels.md` §1.
//!
//! - Hosts: `https://sellingpartnerapi-{na,eu,fe}.amazon.com` by the connection's `region`; a
//!   test connection without `base_url` uses the static sandbox
//!   `https://sandbox.sellingpartnerapi-{region}.amazon.com` (which answers only the models'
//!   `x-amzn-api-sandbox` requests). A `base_url` replaces the SP-API host and the Login with
//!   Amazon host alike (`{base_url}/auth/o2/token`), so one fake serves both.
//! - Auth: Login with Amazon. `POST https://api.amazon.com/auth/o2/token` with the form
//!   `grant_type=refresh_token, refresh_token, client_id, client_secret`; the access token is
//!   kept per token address and credentials (client id, client secret, refresh token) until 30 s
//!   before `expires_in` runs out, and every SP-API call sends it as `x-amz-access-token`. A
//!   401/403 from SP-API forgets it.
//! - One marketplace per connection (`marketplace_id`): every search, confirmation, patch and
//!   feed names it. A seller in several marketplaces makes one connection for each; Amazon's
//!   order ids are unique across marketplaces, so such connections never share an order.
//! - Orders in: no webhooks. Amazon's notifications (`ORDER_CHANGE`) go to the seller's own AWS
//!   queue (SQS or EventBridge), never to an https address, so `verify_webhook` refuses every
//!   call and the sync is how orders arrive: `GET /orders/2026-01-01/orders` with
//!   `lastUpdatedAfter` (inclusive), `marketplaceIds`, `fulfilledBy=MERCHANT`,
//!   `maxResultsPerPage=100`, `includedData=BUYER,RECIPIENT,FULFILLMENT,PACKAGES,PROCEEDS,PAYMENT`
//!   and `paginationToken` (arrays comma-separated, Swagger 2.0's default `csv`).
//!   - Only MERCHANT orders are asked for: FBA orders are Amazon's to ship, and asking for them
//!     would spend the search's small budget (0.0056 requests a second) on orders Waybill never
//!     ships. An FBA payload that arrives anyway reads as `not_ours`.
//!   - The cursor is JSON: `since` (the `lastUpdatedAfter` of the run), and while a run pages,
//!     `token` (Amazon's `nextToken`), `until` and `first`. When a run ends, `since` moves to
//!     `until`: the `lastUpdatedBefore` Amazon says it searched up to, or, when it says none,
//!     five minutes before the run began (Amazon shows changes up to two minutes late). Orders
//!     changed in that overlap come again and are recognised as repeats.
//!   - A connection's first sync asks for the last 30 days' orders that are still to ship
//!     (`fulfillmentStatuses=UNSHIPPED,PARTIALLY_SHIPPED`); later syncs ask for every change.
//!   - Addresses and buyer data are personal information: Amazon sends the name and street only
//!     to an application with the restricted role (the older Orders v0 wanted a Restricted Data
//!     Token from the Tokens API 2021-03-01 for them). Without them an order reads with no
//!     `ship_to`, and its import fails saying the channel has no shipping address. This
//!     connector asks for no Restricted Data Token.
//! - Back: `POST /orders/v0/orders/{orderId}/shipmentConfirmation` (204), after `getOrder`
//!   showed no package with the tracking number: a package that has it is the fulfilment made
//!   before, and its `packageReferenceId` is returned (never confirmed twice). The
//!   `packageReferenceId` Waybill sends is a positive number derived from the tracking number, so
//!   a retry sends the same one; carriers map to Amazon's `carrierCode` ([`carrier_code`]), and
//!   `Other` with `carrierName` for the rest. Amazon follows the parcel with the carrier itself:
//!   progress has no step to post ([`Posted::NoSuchStep`]).
//! - Stock: up to [`PATCH_LIMIT`] SKUs are patched one by one (`PATCH
//!   /listings/2021-08-01/items/{sellerId}/{sku}`, 5 a second, replacing
//!   `/attributes/fulfillment_availability` with `[{fulfillment_channel_code: DEFAULT, quantity}]`,
//!   `productType` `PRODUCT`); more go in one `JSON_LISTINGS_FEED` per [`FEED_MAX_MESSAGES`]:
//!   createFeedDocument, upload to the address it gives, createFeed, then getFeed with a growing
//!   wait ([`FeedPolling`]) and the processing report. A SKU Amazon answers 404 for, or refuses
//!   (`INVALID`, a 400 to its patch, or an `ERROR` issue of its message in the report), is an
//!   unknown SKU with Amazon's words (the one outcome the trait has for a SKU refused for
//!   good); a feed not done within the wait counts its SKUs as set (and says so in the log).
//!   10,000 SKUs in one call take 6 calls (createFeedDocument, the upload, createFeed, getFeed,
//!   getFeedDocument, the report's download) plus one getFeed per further wait; by patches they
//!   would take 10,000 calls, over half an hour at 5 a second. (The engine sends at most 500
//!   SKUs a run: 10,000 changed SKUs are 20 feeds there, and createFeed's documented budget of
//!   15 at once, then one every 2 minutes, spreads them over about 10 minutes.)
//! - Rate limits: a 429 is `Unavailable`, to be retried after `Retry-After`, else after one
//!   request's worth of the rate Amazon states in `x-amzn-RateLimit-Limit`, else of the
//!   operation's documented default rate. Errors are read from `{errors: [{code, message,
//!   details}]}`.

mod carrier;
mod payload;
mod queue;

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use waybill_core::FieldError;
use waybill_core::Mode;
use waybill_core::channel::ChannelOrder;
use waybill_core::credentials::{CredentialField, CredentialSchema};

pub use self::carrier::{carrier_code, package_reference_id};
pub use self::payload::read_order;
use self::payload::{Order, still_to_ship};
pub use self::queue::{Notice, QUEUE_CREDENTIALS, QueueAccess, queue_access, read_notice};
use crate::credential;
use crate::http::{Answer, Http};
use crate::{
    Channel, ChannelError, ChannelInfo, Connection, Fulfilment, Inbound, Posted, Progress, Queued, ReadError, Refused,
    StockItem, StockOutcome, Supports, SyncPage, WebhookRequest,
};

pub const SLUG: &str = "amazon";
const NAME: &str = "Amazon";
/// Login with Amazon's token address (every region).
pub const LWA_TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";
/// Up to this many SKUs are patched one by one; more go in a feed.
pub const PATCH_LIMIT: usize = 10;
/// Messages in one `JSON_LISTINGS_FEED` (the feed schema's `maxItems`).
pub const FEED_MAX_MESSAGES: usize = 25_000;
/// Orders per sync page (the most searchOrders gives).
const SYNC_PAGE: u32 = 100;
/// How far back a connection's first sync looks.
const FIRST_SYNC_DAYS: i64 = 30;
/// How far behind a run's start the next one begins when Amazon does not say where it stopped.
const LAG_MINUTES: i64 = 5;
/// The data sets every order is fetched with.
const INCLUDED_DATA: &str = "BUYER,RECIPIENT,FULFILLMENT,PACKAGES,PROCEEDS,PAYMENT";
/// The product type an offer-only patch names.
const PRODUCT_TYPE: &str = "PRODUCT";
const FEED_CONTENT_TYPE: &str = "application/json; charset=UTF-8";
/// The longest wait between two looks at a feed.
const MAX_FEED_POLL: Duration = Duration::from_secs(30);
/// The most a processing report may unpack to.
const MAX_REPORT_BYTES: u64 = 64 * 1024 * 1024;

/// An SP-API operation and its documented default rate (requests a second), which sets the wait
/// after a 429 that names none.
struct Op {
    name: &'static str,
    rate: f64,
}

const PARTICIPATIONS: Op = Op { name: "getMarketplaceParticipations", rate: 0.016 };
const SEARCH_ORDERS: Op = Op { name: "searchOrders", rate: 0.0056 };
const GET_ORDER: Op = Op { name: "getOrder", rate: 0.5 };
const CONFIRM_SHIPMENT: Op = Op { name: "confirmShipment", rate: 2.0 };
const PATCH_LISTING: Op = Op { name: "patchListingsItem", rate: 5.0 };
const CREATE_FEED_DOCUMENT: Op = Op { name: "createFeedDocument", rate: 0.5 };
const CREATE_FEED: Op = Op { name: "createFeed", rate: 0.0083 };
const GET_FEED: Op = Op { name: "getFeed", rate: 2.0 };
const GET_FEED_DOCUMENT: Op = Op { name: "getFeedDocument", rate: 0.0222 };

/// One SP-API request: the operation, where, and (for an error) what it was about.
struct Req<'a> {
    op: &'a Op,
    method: reqwest::Method,
    url: reqwest::Url,
    query: &'a [(&'a str, &'a str)],
    body: Option<&'a Value>,
    what: &'a str,
}

impl<'a> Req<'a> {
    fn get(op: &'a Op, url: reqwest::Url, what: &'a str) -> Self {
        Self { op, method: reqwest::Method::GET, url, query: &[], body: None, what }
    }

    fn send(op: &'a Op, method: reqwest::Method, url: reqwest::Url, body: &'a Value, what: &'a str) -> Self {
        Self { op, method, url, query: &[], body: Some(body), what }
    }

    fn query(self, query: &'a [(&'a str, &'a str)]) -> Self {
        Self { query, ..self }
    }
}

/// How long a stock feed is waited for: the first look after `first_wait`, each wait after
/// twice the one before (at most 30 s), until `max_wait` has passed.
#[derive(Debug, Clone, Copy)]
pub struct FeedPolling {
    pub first_wait: Duration,
    pub max_wait: Duration,
}

impl Default for FeedPolling {
    /// Looks at 2, 6, 14, 30 and 60 s: the whole call stays well inside a job's two-minute
    /// lease, so no other worker takes the job (and sends the feed again) meanwhile.
    fn default() -> Self {
        Self { first_wait: Duration::from_secs(2), max_wait: Duration::from_secs(60) }
    }
}

/// Whose access token: the token address, the client id, the client secret and the refresh token.
type TokenKey = (String, String, String, String);

pub struct Amazon {
    info: ChannelInfo,
    http: Http,
    tokens: Mutex<HashMap<TokenKey, (String, Instant)>>,
    feed_polling: FeedPolling,
}

impl Amazon {
    pub fn new(outbound: waybill_outbound::Outbound) -> Self {
        let field = |name, description, required| CredentialField { name, description, required };
        Self {
            info: ChannelInfo {
                slug: SLUG,
                name: NAME,
                api: "Selling Partner API: Orders 2026-01-01 and v0 confirmShipment, Listings Items 2021-08-01, \
                      Feeds 2021-06-30 (JSON_LISTINGS_FEED); Login with Amazon; no webhooks (the sync polls, and \
                      reads ORDER_CHANGE from the seller's SQS queue when one is given)",
                supports: Supports {
                    order_webhooks: false,
                    order_sync: true,
                    fulfilment: true,
                    progress: false,
                    inventory: true,
                    order_queue: true,
                },
                credentials: CredentialSchema {
                    fields: vec![
                        field(
                            "client_id",
                            "the LWA client identifier of the SP-API application (`amzn1.application-oa2-client.…`)",
                            true,
                        ),
                        field("client_secret", "the LWA client secret of the application", true),
                        field(
                            "refresh_token",
                            "the LWA refresh token the seller's authorisation of the application gave (`Atzr|…`)",
                            true,
                        ),
                        field("seller_id", "the seller's selling partner id (merchant token, `A2…`)", true),
                        field(
                            "marketplace_id",
                            "the one marketplace this connection serves (`ATVPDKIKX0DER` Amazon.com, `A33AVAJ2PDY3EV` \
                             Amazon.com.tr, …); a seller in several connects each",
                            true,
                        ),
                        field(
                            "region",
                            "the marketplace's SP-API region: `na` (Americas), `eu` (Europe, Middle East, India, \
                             Turkey) or `fe` (Japan, Singapore, Australia)",
                            true,
                        ),
                        field(
                            "sqs_queue_url",
                            "optional: the seller's SQS queue that receives SP-API ORDER_CHANGE notifications \
                             (`https://sqs.{region}.amazonaws.com/{account}/{queue}`); orders then arrive within \
                             seconds, and the sync stays on to find what a notification missed",
                            false,
                        ),
                        field(
                            "aws_access_key_id",
                            "with `sqs_queue_url`: an AWS access key allowed sqs:ReceiveMessage, sqs:DeleteMessage \
                             and sqs:GetQueueAttributes on that queue",
                            false,
                        ),
                        field("aws_secret_access_key", "with `sqs_queue_url`: that key's secret", false),
                        field(
                            "aws_region",
                            "with `sqs_queue_url`, only when its address does not name the region (`eu-west-1`, …)",
                            false,
                        ),
                    ],
                },
                default_ready_statuses: vec!["unshipped", "partially_shipped"],
                base_url_replaces: "https://sellingpartnerapi-{region}.amazon.com and https://api.amazon.com (Login with \
                                    Amazon, at {base_url}/auth/o2/token); a test connection without one uses \
                                    https://sandbox.sellingpartnerapi-{region}.amazon.com",
                site_is_base_url: false,
            },
            http: Http::new(outbound),
            tokens: Mutex::new(HashMap::new()),
            feed_polling: FeedPolling::default(),
        }
    }

    /// The same connector waiting for stock feeds as `polling` says (tests wait milliseconds).
    pub fn with_feed_polling(mut self, polling: FeedPolling) -> Self {
        self.feed_polling = polling;
        self
    }

    fn base(connection: &Connection<'_>) -> Result<reqwest::Url, ChannelError> {
        let base = match connection.base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let region = region(credential(connection.credentials, "region").trim()).ok_or_else(|| {
                    ChannelError::Rejected { channel: SLUG, message: "the region is not na, eu or fe".into() }
                })?;
                sp_api_host(region, connection.mode)
            }
        };
        reqwest::Url::parse(&base)
            .map_err(|e| ChannelError::Rejected { channel: SLUG, message: format!("`{base}` is not an address: {e}") })
    }

    /// `base` with the path `segments`, each percent-encoded (a SKU may hold `/`).
    fn url(connection: &Connection<'_>, segments: &[&str]) -> Result<reqwest::Url, ChannelError> {
        let mut url = Self::base(connection)?;
        url.path_segments_mut()
            .map_err(|()| ChannelError::Rejected { channel: SLUG, message: "the base_url cannot have a path".into() })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    fn token_key(connection: &Connection<'_>) -> TokenKey {
        let url = match connection.base_url {
            Some(base) => format!("{}/auth/o2/token", base.trim_end_matches('/')),
            None => LWA_TOKEN_URL.to_owned(),
        };
        let c = connection.credentials;
        let given = |name| credential(c, name).trim().to_owned();
        (url, given("client_id"), given("client_secret"), given("refresh_token"))
    }

    fn lock_tokens(&self) -> std::sync::MutexGuard<'_, HashMap<TokenKey, (String, Instant)>> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn forget_token(&self, connection: &Connection<'_>) {
        self.lock_tokens().remove(&Self::token_key(connection));
    }

    /// The connection's LWA access token: the kept one while it lasts, else a fresh one.
    async fn access_token(&self, connection: &Connection<'_>) -> Result<String, ChannelError> {
        let key = Self::token_key(connection);
        let now = Instant::now();
        if let Some((token, until)) = self.lock_tokens().get(&key)
            && now < *until
        {
            return Ok(token.clone());
        }
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", key.3.as_str()),
            ("client_id", key.1.as_str()),
            ("client_secret", key.2.as_str()),
        ];
        let request = self.http.client(connection.mode).post(&key.0).form(&form);
        let answer = self.http.send(SLUG, request).await?;
        if !answer.is_success() {
            return Err(lwa_error(&answer));
        }
        #[derive(Deserialize)]
        struct Token {
            access_token: String,
            expires_in: Option<u64>,
        }
        let token: Token = serde_json::from_slice(&answer.body).map_err(|e| ChannelError::Protocol {
            channel: SLUG,
            message: format!("Login with Amazon's token answer: {e}"),
        })?;
        // As Amazon's own helpers do: 1800 s when it says nothing, and 30 s to spare.
        let lasts = Duration::from_secs(token.expires_in.unwrap_or(1800)).saturating_sub(Duration::from_secs(30));
        let mut tokens = self.lock_tokens();
        tokens.retain(|_, (_, until)| *until > now);
        tokens.insert(key, (token.access_token.clone(), now + lasts));
        Ok(token.access_token)
    }

    /// Calls an SP-API operation with the connection's access token; a non-2xx answer is the
    /// error it stands for.
    async fn call(&self, connection: &Connection<'_>, call: Req<'_>) -> Result<Answer, ChannelError> {
        let Req { op, method, url, query, body, what } = call;
        let token = self.access_token(connection).await?;
        let mut request = self
            .http
            .client(connection.mode)
            .request(method, url)
            .header("x-amz-access-token", token)
            .header(reqwest::header::ACCEPT, "application/json");
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = self.http.send(SLUG, request).await?;
        if answer.is_success() {
            return Ok(answer);
        }
        let detail = error_detail(&answer.body);
        Err(match answer.status {
            401 | 403 => {
                self.forget_token(connection);
                ChannelError::Auth {
                    channel: SLUG,
                    message: detail.unwrap_or_else(|| format!("HTTP {}", answer.status)),
                }
            }
            429 => ChannelError::Unavailable {
                channel: SLUG,
                message: format!("{} throttled: {}", op.name, detail.unwrap_or_else(|| "HTTP 429".into())),
                retry_after: Some(throttle_wait(&answer, op)),
            },
            _ => answer.error(SLUG, what, detail),
        })
    }

    /// [`Self::call`], reading a JSON answer.
    async fn call_json(&self, connection: &Connection<'_>, call: Req<'_>) -> Result<Value, ChannelError> {
        let op = call.op;
        let answer = self.call(connection, call).await?;
        serde_json::from_slice(&answer.body)
            .map_err(|e| ChannelError::Protocol { channel: SLUG, message: format!("{}: not JSON: {e}", op.name) })
    }

    /// `getOrder` with `includedData`; its `order`.
    async fn get_order(
        &self,
        connection: &Connection<'_>,
        order_id: &str,
        included: &str,
    ) -> Result<(Value, Order), ChannelError> {
        let url = Self::url(connection, &["orders", "2026-01-01", "orders", order_id])?;
        let what = format!("order {order_id}");
        let answer =
            self.call_json(connection, Req::get(&GET_ORDER, url, &what).query(&[("includedData", included)])).await?;
        let raw = answer.get("order").cloned().unwrap_or(Value::Null);
        let order = Order::parse(raw.to_string().as_bytes())
            .map_err(|e| ChannelError::Protocol { channel: SLUG, message: format!("getOrder: {e}") })?;
        Ok((raw, order))
    }
}

/// `na`, `eu` or `fe`, in any case.
fn region(given: &str) -> Option<&'static str> {
    ["na", "eu", "fe"].into_iter().find(|r| r.eq_ignore_ascii_case(given.trim()))
}

/// The SP-API host of a region: the static sandbox for a test connection.
pub fn sp_api_host(region: &str, mode: Mode) -> String {
    match mode {
        Mode::Test => format!("https://sandbox.sellingpartnerapi-{region}.amazon.com"),
        Mode::Live => format!("https://sellingpartnerapi-{region}.amazon.com"),
    }
}

/// What SP-API's `{errors: [{code, message, details}]}` says, shortened.
fn error_detail(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let errors = v.get("errors")?.as_array()?;
    let text = errors
        .iter()
        .map(|e| {
            let code = e.get("code").and_then(Value::as_str).unwrap_or("error");
            let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
            match e.get("details").and_then(Value::as_str).filter(|d| !d.is_empty() && *d != message) {
                Some(details) => format!("{code}: {message} ({details})"),
                None => format!("{code}: {message}"),
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    (!text.is_empty()).then(|| text.chars().take(300).collect())
}

/// Login with Amazon's refusal (`{error, error_description}`): a 4xx is the credentials.
fn lwa_error(answer: &Answer) -> ChannelError {
    let detail = serde_json::from_slice::<Value>(&answer.body).ok().and_then(|v| {
        let error = v.get("error")?.as_str()?.to_owned();
        let description = v.get("error_description").and_then(Value::as_str).unwrap_or_default();
        Some(format!("{error}: {}", description.chars().take(200).collect::<String>()))
    });
    let message = format!("Login with Amazon: {}", detail.unwrap_or_else(|| format!("HTTP {}", answer.status)));
    match answer.status {
        408 | 429 | 500..=599 => ChannelError::Unavailable { channel: SLUG, message, retry_after: answer.retry_after },
        _ => ChannelError::Auth { channel: SLUG, message },
    }
}

/// How long to wait after a 429: `Retry-After`, else one request at the stated rate
/// (`x-amzn-RateLimit-Limit`, requests a second), else at the operation's documented rate.
fn throttle_wait(answer: &Answer, op: &Op) -> Duration {
    if let Some(wait) = answer.retry_after {
        return wait;
    }
    let stated = answer
        .headers
        .get("x-amzn-ratelimit-limit")
        .and_then(|v| v.to_str().ok()?.trim().parse::<f64>().ok())
        .filter(|r| r.is_finite() && *r > 0.0);
    let rate = stated.unwrap_or(op.rate);
    Duration::from_secs_f64((1.0 / rate).clamp(1.0, 600.0).ceil())
}

/// Where the sync stands (see the module's documentation).
#[derive(Serialize, Deserialize, Default)]
struct Cursor {
    since: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    until: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    first: bool,
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// The JSON Patch that sets a SKU's merchant-fulfilled quantity.
fn quantity_patch(available: i64) -> Value {
    json!([{"op": "replace", "path": "/attributes/fulfillment_availability",
        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": available.max(0)}]}])
}

/// The `JSON_LISTINGS_FEED` document setting `items`' quantities; message `i + 1` is `items[i]`.
pub fn stock_feed(seller_id: &str, items: &[StockItem<'_>]) -> Value {
    let messages: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            json!({"messageId": i + 1, "sku": item.sku, "operationType": "PATCH", "productType": PRODUCT_TYPE,
                "patches": quantity_patch(item.available)})
        })
        .collect();
    json!({"header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"}, "messages": messages})
}

/// What a listings feed processing report (`listings-feed-processing-report-schema-v2`) says of
/// each of `items`: its message's `ERROR` issues make it unknown. Feed-wide errors with no
/// message accepted are the feed's refusal.
pub fn report_outcomes(report: &Value, items: &[StockItem<'_>]) -> Result<Vec<StockOutcome>, ChannelError> {
    let mut refused: Vec<Vec<String>> = vec![Vec::new(); items.len()];
    let mut feed_wide = Vec::new();
    for issue in report.get("issues").and_then(Value::as_array).into_iter().flatten() {
        if issue.get("severity").and_then(Value::as_str) != Some("ERROR") {
            continue;
        }
        let text = match (issue.get("code").and_then(Value::as_str), issue.get("message").and_then(Value::as_str)) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (None, Some(message)) => message.to_owned(),
            (code, None) => code.unwrap_or("an error without a message").to_owned(),
        };
        let index = issue.get("messageId").and_then(Value::as_u64).and_then(|m| usize::try_from(m).ok());
        match index.and_then(|m| m.checked_sub(1)).filter(|i| *i < items.len()) {
            Some(i) => refused[i].push(text),
            None => feed_wide.push(text),
        }
    }
    let accepted = report.pointer("/summary/messagesAccepted").and_then(Value::as_u64).unwrap_or(0);
    if !feed_wide.is_empty() && accepted == 0 {
        return Err(ChannelError::Rejected {
            channel: SLUG,
            message: format!(
                "the stock feed was refused: {}",
                feed_wide.join("; ").chars().take(300).collect::<String>()
            ),
        });
    }
    Ok(items
        .iter()
        .zip(refused)
        .map(|(item, issues)| match issues.is_empty() {
            true => StockOutcome::Set,
            false => StockOutcome::UnknownSku(format!(
                "Amazon refused the stock of `{}`: {}",
                item.sku,
                issues.join("; ").chars().take(300).collect::<String>()
            )),
        })
        .collect())
}

/// Amazon's `ListingsItemSubmissionResponse` to a patch: set, or refused with its issues.
fn patch_outcome(answer: &Value, sku: &str) -> Result<StockOutcome, ChannelError> {
    match answer.get("status").and_then(Value::as_str) {
        Some("ACCEPTED" | "VALID") => Ok(StockOutcome::Set),
        Some("INVALID") => {
            let issues: Vec<String> = answer
                .get("issues")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|i| i.get("severity").and_then(Value::as_str) != Some("INFO"))
                .map(|i| {
                    let code = i.get("code").and_then(Value::as_str).unwrap_or("issue");
                    format!("{code}: {}", i.get("message").and_then(Value::as_str).unwrap_or_default())
                })
                .collect();
            let why = if issues.is_empty() { "no reason given".to_owned() } else { issues.join("; ") };
            Ok(StockOutcome::UnknownSku(format!(
                "Amazon refused the stock of `{sku}`: {}",
                why.chars().take(300).collect::<String>()
            )))
        }
        other => Err(ChannelError::Protocol {
            channel: SLUG,
            message: format!("patchListingsItem: a submission status of {other:?}"),
        }),
    }
}

impl Amazon {
    async fn push_by_patches(
        &self,
        connection: &Connection<'_>,
        items: &[StockItem<'_>],
    ) -> Result<Vec<StockOutcome>, ChannelError> {
        let seller = credential(connection.credentials, "seller_id").trim();
        let marketplace = credential(connection.credentials, "marketplace_id").trim();
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            if item.sku.trim().is_empty() {
                outcomes.push(StockOutcome::UnknownSku("an empty SKU".into()));
                continue;
            }
            let url = Self::url(connection, &["listings", "2021-08-01", "items", seller, item.sku])?;
            let query = [("marketplaceIds", marketplace), ("issueLocale", "en_US")];
            let body = json!({"productType": PRODUCT_TYPE, "patches": quantity_patch(item.available)});
            let what = format!("listing with the SKU `{}` in marketplace {marketplace}", item.sku);
            let answer = self
                .call_json(
                    connection,
                    Req::send(&PATCH_LISTING, reqwest::Method::PATCH, url, &body, &what).query(&query),
                )
                .await;
            outcomes.push(match answer {
                Ok(answer) => patch_outcome(&answer, item.sku)?,
                Err(ChannelError::NotFound { what, .. }) => StockOutcome::UnknownSku(format!("Amazon has no {what}")),
                // A request about one SKU refused (400): that SKU's, not the others'.
                Err(ChannelError::Rejected { message, .. }) => {
                    StockOutcome::UnknownSku(format!("Amazon refused the stock of `{}`: {message}", item.sku))
                }
                Err(e) => return Err(e),
            });
        }
        Ok(outcomes)
    }

    async fn push_by_feed(
        &self,
        connection: &Connection<'_>,
        items: &[StockItem<'_>],
    ) -> Result<Vec<StockOutcome>, ChannelError> {
        let seller = credential(connection.credentials, "seller_id").trim();
        let marketplace = credential(connection.credentials, "marketplace_id").trim();
        let document = serde_json::to_vec(&stock_feed(seller, items)).expect("a feed serializes");
        let protocol = |message: String| ChannelError::Protocol { channel: SLUG, message };
        let field = |v: &Value, name: &str, op: &str| {
            v.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| protocol(format!("{op}: an answer without {name}")))
        };

        let url = Self::url(connection, &["feeds", "2021-06-30", "documents"])?;
        let body = json!({"contentType": FEED_CONTENT_TYPE});
        let what = "a feed document";
        let created = self
            .call_json(connection, Req::send(&CREATE_FEED_DOCUMENT, reqwest::Method::POST, url, &body, what))
            .await?;
        let document_id = field(&created, "feedDocumentId", "createFeedDocument")?;
        let upload = field(&created, "url", "createFeedDocument")?;
        // The upload address is signed for this content type; it takes no access token.
        let request = self
            .http
            .client(connection.mode)
            .put(&upload)
            .header(reqwest::header::CONTENT_TYPE, FEED_CONTENT_TYPE)
            .body(document);
        let answer = self.http.send(SLUG, request).await?;
        if !answer.is_success() {
            return Err(answer.error(SLUG, "the feed document's upload address", None));
        }

        let url = Self::url(connection, &["feeds", "2021-06-30", "feeds"])?;
        let body = json!({"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [marketplace],
            "inputFeedDocumentId": document_id});
        let created =
            self.call_json(connection, Req::send(&CREATE_FEED, reqwest::Method::POST, url, &body, "a feed")).await?;
        let feed_id = field(&created, "feedId", "createFeed")?;

        let Some(feed) = self.wait_for_feed(connection, &feed_id).await? else {
            tracing::warn!(feed = %feed_id, skus = items.len(), "Amazon has not processed the stock feed in time; its SKUs count as set");
            return Ok(vec![StockOutcome::Set; items.len()]);
        };
        let status = feed.get("processingStatus").and_then(Value::as_str).unwrap_or_default();
        let Some(result) = feed.get("resultFeedDocumentId").and_then(Value::as_str) else {
            return match status {
                "DONE" => {
                    tracing::warn!(feed = %feed_id, "a stock feed done without a processing report; its SKUs count as set");
                    Ok(vec![StockOutcome::Set; items.len()])
                }
                "CANCELLED" => Err(ChannelError::Unavailable {
                    channel: SLUG,
                    message: format!("stock feed {feed_id} was cancelled before Amazon processed it"),
                    retry_after: None,
                }),
                _ => Err(ChannelError::Rejected {
                    channel: SLUG,
                    message: format!("stock feed {feed_id} failed ({status}) without a processing report"),
                }),
            };
        };
        let report = self.feed_report(connection, result).await?;
        report_outcomes(&report, items)
    }

    /// Looks at the feed until it is done (or failed, or cancelled); `None` when the wait ran
    /// out first. A look that fails for a while (a 429, an outage) is only a look missed.
    async fn wait_for_feed(&self, connection: &Connection<'_>, feed_id: &str) -> Result<Option<Value>, ChannelError> {
        let mut wait = self.feed_polling.first_wait;
        let mut waited = Duration::ZERO;
        loop {
            tokio::time::sleep(wait).await;
            waited += wait;
            let url = Self::url(connection, &["feeds", "2021-06-30", "feeds", feed_id])?;
            let what = format!("feed {feed_id}");
            match self.call_json(connection, Req::get(&GET_FEED, url, &what)).await {
                Ok(feed) => {
                    let status = feed.get("processingStatus").and_then(Value::as_str).unwrap_or_default();
                    if matches!(status, "DONE" | "FATAL" | "CANCELLED") {
                        return Ok(Some(feed));
                    }
                }
                Err(e) if e.is_transient() => {
                    tracing::debug!(feed = %feed_id, error = %e, "a look at the stock feed failed")
                }
                Err(e) => return Err(e),
            }
            if waited >= self.feed_polling.max_wait {
                return Ok(None);
            }
            wait = (wait * 2).clamp(Duration::from_millis(1), MAX_FEED_POLL).min(self.feed_polling.max_wait - waited);
        }
    }

    /// The processing report of a feed: getFeedDocument, then its address (gzip unpacked).
    async fn feed_report(&self, connection: &Connection<'_>, document_id: &str) -> Result<Value, ChannelError> {
        let url = Self::url(connection, &["feeds", "2021-06-30", "documents", document_id])?;
        let what = format!("feed document {document_id}");
        let document = self.call_json(connection, Req::get(&GET_FEED_DOCUMENT, url, &what)).await?;
        let address = document.get("url").and_then(Value::as_str).ok_or_else(|| ChannelError::Protocol {
            channel: SLUG,
            message: "getFeedDocument: an answer without url".into(),
        })?;
        let answer = self.http.send(SLUG, self.http.client(connection.mode).get(address)).await?;
        if !answer.is_success() {
            return Err(answer.error(SLUG, "the processing report", None));
        }
        let gzip = document.get("compressionAlgorithm").and_then(Value::as_str) == Some("GZIP")
            || answer.body.starts_with(&[0x1f, 0x8b]);
        let bytes = if gzip {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(answer.body.as_slice()).take(MAX_REPORT_BYTES).read_to_end(&mut out).map_err(
                |e| ChannelError::Protocol { channel: SLUG, message: format!("the report is not gzip: {e}") },
            )?;
            out
        } else {
            answer.body
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| ChannelError::Protocol { channel: SLUG, message: format!("the report is not JSON: {e}") })
    }
}

impl Amazon {
    /// The seller's store and marketplace, proving the credentials work.
    async fn seller_name(&self, connection: &Connection<'_>) -> Result<String, ChannelError> {
        let url = Self::url(connection, &["sellers", "v1", "marketplaceParticipations"])?;
        let what = "the seller's marketplaces";
        let answer = self.call_json(connection, Req::get(&PARTICIPATIONS, url, what)).await?;
        let participations = answer.get("payload").and_then(Value::as_array).ok_or_else(|| ChannelError::Protocol {
            channel: SLUG,
            message: "getMarketplaceParticipations: an answer without payload".into(),
        })?;
        let wanted = credential(connection.credentials, "marketplace_id").trim();
        let found = participations.iter().find(|p| {
            p.pointer("/marketplace/id").and_then(Value::as_str) == Some(wanted)
                && p.pointer("/participation/isParticipating").and_then(Value::as_bool) != Some(false)
        });
        match found {
            Some(p) => {
                let marketplace = p.pointer("/marketplace/name").and_then(Value::as_str).unwrap_or(wanted);
                Ok(match p.get("storeName").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                    Some(store) => format!("{store} on {marketplace}"),
                    None => marketplace.to_owned(),
                })
            }
            None => {
                let sells_in: Vec<String> = participations
                    .iter()
                    .filter_map(|p| {
                        let id = p.pointer("/marketplace/id")?.as_str()?;
                        let name = p.pointer("/marketplace/name").and_then(Value::as_str).unwrap_or_default();
                        Some(format!("{id} {name}").trim().to_owned())
                    })
                    .collect();
                Err(ChannelError::NotFound {
                    channel: SLUG,
                    what: format!(
                        "marketplace {wanted} as one this seller sells in (it sells in: {})",
                        sells_in.join(", ")
                    ),
                })
            }
        }
    }
}

#[async_trait::async_trait]
impl Channel for Amazon {
    fn info(&self) -> &ChannelInfo {
        &self.info
    }

    fn check_credentials(&self, credentials: &Value) -> Result<(), Vec<FieldError>> {
        let mut errors = self.info.credentials.check(credentials).err().unwrap_or_default();
        let given = |name: &str| credentials.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
        if let Some(r) = given("region")
            && region(r).is_none()
        {
            errors.push(FieldError::new(
                "/credentials/region",
                format!("`{r}` is not an SP-API region: use na (Americas), eu (Europe, Middle East, India, Turkey) or fe (Far East)"),
            ));
        }
        for (name, what) in [("seller_id", "a selling partner id"), ("marketplace_id", "a marketplace id")] {
            if let Some(v) = given(name)
                && !(v.len() <= 32 && v.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
            {
                errors.push(FieldError::new(
                    format!("/credentials/{name}"),
                    format!("`{v}` is not {what}: capital letters and digits, as Seller Central shows it"),
                ));
            }
        }
        if let Err(queue) = queue_access(credentials) {
            errors.extend(queue);
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    fn verify_webhook(&self, _credentials: &Value, _request: &WebhookRequest<'_>) -> Result<Inbound, Refused> {
        Err(Refused(
            "Amazon calls no webhooks: its notifications go to the seller's own AWS queue (SQS or EventBridge); \
             Amazon orders come in by the sync"
                .into(),
        ))
    }

    fn read_order(&self, _topic: &str, body: &[u8]) -> Result<ChannelOrder, ReadError> {
        read_order(body)
    }

    async fn verify(&self, connection: &Connection<'_>) -> Result<String, ChannelError> {
        let seller = self.seller_name(connection).await?;
        match queue_access(connection.credentials) {
            Ok(Some(access)) => {
                let arn = self.check_queue(connection, &access).await?;
                Ok(format!("{seller}, with ORDER_CHANGE read from {arn}"))
            }
            _ => Ok(seller),
        }
    }

    async fn receive_queued(&self, connection: &Connection<'_>) -> Result<Option<Queued>, ChannelError> {
        match queue_access(connection.credentials) {
            Ok(Some(access)) => self.receive(connection, &access).await.map(Some),
            _ => Ok(None),
        }
    }

    async fn ack_queued(&self, connection: &Connection<'_>, receipts: &[String]) -> Result<(), ChannelError> {
        match queue_access(connection.credentials) {
            Ok(Some(access)) if !receipts.is_empty() => self.ack(connection, &access, receipts).await,
            _ => Ok(()),
        }
    }

    async fn orders_since(&self, connection: &Connection<'_>, cursor: Option<&str>) -> Result<SyncPage, ChannelError> {
        let started = Utc::now();
        let cursor: Cursor = cursor.and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default();
        let (since, first) = match cursor.since.as_deref().and_then(parse_time) {
            Some(since) => (since, cursor.first),
            None => (started - TimeDelta::days(FIRST_SYNC_DAYS), true),
        };
        let since_text = stamp(since);
        let page_size = SYNC_PAGE.to_string();
        let mut query = vec![
            ("lastUpdatedAfter", since_text.as_str()),
            ("marketplaceIds", credential(connection.credentials, "marketplace_id").trim()),
            ("fulfilledBy", "MERCHANT"),
            ("maxResultsPerPage", page_size.as_str()),
            ("includedData", INCLUDED_DATA),
        ];
        if first {
            query.push(("fulfillmentStatuses", "UNSHIPPED,PARTIALLY_SHIPPED"));
        }
        if let Some(token) = &cursor.token {
            query.push(("paginationToken", token.as_str()));
        }
        let url = Self::url(connection, &["orders", "2026-01-01", "orders"])?;
        let answer = self.call_json(connection, Req::get(&SEARCH_ORDERS, url, "the orders").query(&query)).await?;
        let orders = answer.get("orders").and_then(Value::as_array).ok_or_else(|| ChannelError::Protocol {
            channel: SLUG,
            message: "searchOrders: an answer without orders".into(),
        })?;
        // Where this run's search ends: where Amazon says, else a little before the run began.
        let until = cursor
            .until
            .as_deref()
            .and_then(parse_time)
            .or_else(|| answer.get("lastUpdatedBefore").and_then(Value::as_str).and_then(parse_time))
            .unwrap_or(started - TimeDelta::minutes(LAG_MINUTES));
        let token = answer
            .pointer("/pagination/nextToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let more = token.is_some();
        let next = match token {
            Some(token) => Cursor { since: Some(since_text), token: Some(token), until: Some(stamp(until)), first },
            None => Cursor { since: Some(stamp(until.max(since))), token: None, until: None, first: false },
        };
        Ok(SyncPage {
            orders: orders.iter().map(|o| o.to_string().into_bytes()).collect(),
            cursor: serde_json::to_string(&next).expect("a cursor serializes"),
            more,
        })
    }

    async fn fulfil(&self, connection: &Connection<'_>, fulfilment: &Fulfilment<'_>) -> Result<String, ChannelError> {
        let order_id = fulfilment.order_id;
        let tracking = fulfilment.tracking_number.trim();
        let (_, order) = self.get_order(connection, order_id, "FULFILLMENT,PACKAGES").await?;
        let made_before = |order: &Order| {
            order
                .packages
                .iter()
                .find(|p| p.tracking_number.as_deref().is_some_and(|t| t.trim().eq_ignore_ascii_case(tracking)))
                .map(|p| p.package_reference_id.clone())
        };
        if let Some(id) = made_before(&order) {
            return Ok(id);
        }
        let refuse = |message: String| ChannelError::Rejected { channel: SLUG, message };
        if order.fulfilled_by_amazon() {
            return Err(refuse(format!("order {order_id} is fulfilled by Amazon")));
        }
        if order.status().as_deref() == Some("cancelled") {
            return Err(refuse(format!("order {order_id} is cancelled")));
        }
        // (order item id, units) for the shipment: the lines asked for, or all still to ship.
        let mut left: Vec<(String, Option<&str>, i64)> =
            order.order_items.iter().map(|i| (i.order_item_id.clone(), i.sku(), still_to_ship(&order, i))).collect();
        let mut items: Vec<(String, i64)> = Vec::new();
        if fulfilment.lines.is_empty() {
            items.extend(left.iter().filter(|(_, _, n)| *n > 0).map(|(id, _, n)| (id.clone(), *n)));
        } else {
            for (sku, quantity) in fulfilment.lines {
                let mut wanted = i64::from(*quantity);
                for (id, _, n) in left.iter_mut().filter(|(_, s, _)| *s == Some(sku.as_str())) {
                    let take = wanted.min(*n);
                    if take > 0 {
                        items.push((id.clone(), take));
                        *n -= take;
                        wanted -= take;
                    }
                }
                if wanted > 0 {
                    return Err(refuse(format!(
                        "order {order_id} has {wanted} fewer of `{sku}` left to ship than asked"
                    )));
                }
            }
        }
        if items.is_empty() {
            return Err(refuse(format!(
                "nothing in order {order_id} is left to ship (Amazon shows it {})",
                order.status().unwrap_or_else(|| "without a status".into())
            )));
        }
        let package = package_reference_id(tracking);
        let code = carrier_code(fulfilment.carrier_name);
        let body = json!({
            "marketplaceId": credential(connection.credentials, "marketplace_id").trim(),
            "packageDetail": {
                "packageReferenceId": package,
                "carrierCode": code,
                "carrierName": fulfilment.carrier_name,
                "trackingNumber": tracking,
                "shipDate": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
                "orderItems": items.iter().map(|(id, n)| json!({"orderItemId": id, "quantity": n})).collect::<Vec<_>>(),
            },
        });
        let url = Self::url(connection, &["orders", "v0", "orders", order_id, "shipmentConfirmation"])?;
        let what = format!("order {order_id}");
        match self.call(connection, Req::send(&CONFIRM_SHIPMENT, reqwest::Method::POST, url, &body, &what)).await {
            Ok(_) => Ok(package),
            // Amazon refuses to confirm items twice: a confirmation whose answer was lost, not
            // yet in the order when it was read, shows up now.
            Err(refused @ ChannelError::Rejected { .. }) => {
                let (_, again) = self.get_order(connection, order_id, "FULFILLMENT,PACKAGES").await?;
                made_before(&again).ok_or(refused)
            }
            Err(e) => Err(e),
        }
    }

    async fn push_stock(
        &self,
        connection: &Connection<'_>,
        items: &[StockItem<'_>],
    ) -> Result<Vec<StockOutcome>, ChannelError> {
        if items.len() <= PATCH_LIMIT {
            return self.push_by_patches(connection, items).await;
        }
        let mut outcomes = Vec::with_capacity(items.len());
        for chunk in items.chunks(FEED_MAX_MESSAGES) {
            outcomes.extend(self.push_by_feed(connection, chunk).await?);
        }
        Ok(outcomes)
    }

    /// Amazon takes the parcel's progress from the carrier, not from the seller.
    async fn post_progress(
        &self,
        _connection: &Connection<'_>,
        _fulfilment_id: &str,
        _progress: &Progress<'_>,
    ) -> Result<Posted, ChannelError> {
        Ok(Posted::NoSuchStep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amazon() -> Amazon {
        Amazon::new(waybill_outbound::Outbound::default())
    }

    fn credentials() -> Value {
        json!({"client_id": "amzn1.application-oa2-client.x", "client_secret": "s", "refresh_token": "Atzr|x",
            "seller_id": "A2SELLER1234", "marketplace_id": "A33AVAJ2PDY3EV", "region": "eu"})
    }

    #[test]
    fn credentials_name_a_region_and_plain_ids() {
        assert!(amazon().check_credentials(&credentials()).is_ok());
        let mut wrong = credentials();
        wrong["region"] = "us".into();
        wrong["seller_id"] = "A2/../x".into();
        let errors = amazon().check_credentials(&wrong).unwrap_err();
        let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/credentials/region", "/credentials/seller_id"]);
        let mut missing = credentials();
        missing.as_object_mut().unwrap().remove("marketplace_id");
        assert_eq!(amazon().check_credentials(&missing).unwrap_err()[0].pointer, "/credentials/marketplace_id");
    }

    #[test]
    fn hosts_follow_the_region_and_the_mode() {
        assert_eq!(sp_api_host("eu", Mode::Live), "https://sellingpartnerapi-eu.amazon.com");
        assert_eq!(sp_api_host("na", Mode::Test), "https://sandbox.sellingpartnerapi-na.amazon.com");
        let creds = credentials();
        let live = Connection { mode: Mode::Live, base_url: None, credentials: &creds };
        let url = Amazon::url(&live, &["listings", "2021-08-01", "items", "A2SELLER1234", "MUG/1 a"]).unwrap();
        assert_eq!(
            url.as_str(),
            "https://sellingpartnerapi-eu.amazon.com/listings/2021-08-01/items/A2SELLER1234/MUG%2F1%20a"
        );
        assert_eq!(Amazon::token_key(&live).0, LWA_TOKEN_URL);
        let fake = Connection { mode: Mode::Test, base_url: Some("http://127.0.0.1:9/"), credentials: &creds };
        assert_eq!(Amazon::token_key(&fake).0, "http://127.0.0.1:9/auth/o2/token");
        assert_eq!(Amazon::url(&fake, &["orders"]).unwrap().as_str(), "http://127.0.0.1:9/orders");
    }

    #[test]
    fn webhooks_are_always_refused() {
        let refused = amazon().verify_webhook(&credentials(), &WebhookRequest { headers: &[], body: b"{}" });
        assert!(refused.unwrap_err().0.contains("AWS queue"));
        assert!(!amazon().info().supports.order_webhooks);
    }

    #[test]
    fn errors_are_read_from_the_error_list() {
        let body = br#"{"errors":[{"code":"InvalidInput","message":"Invalid Input","details":"shipDate"}]}"#;
        assert_eq!(error_detail(body).as_deref(), Some("InvalidInput: Invalid Input (shipDate)"));
        assert_eq!(error_detail(b"<html>").as_deref(), None);
    }

    fn answer(status: u16, headers: &[(&'static str, &str)], retry_after: Option<u64>) -> Answer {
        let mut map = reqwest::header::HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().unwrap());
        }
        Answer { status, retry_after: retry_after.map(Duration::from_secs), headers: map, body: vec![] }
    }

    #[test]
    fn a_throttled_call_waits_as_amazon_says_or_as_the_operation_is_documented() {
        assert_eq!(throttle_wait(&answer(429, &[], Some(7)), &SEARCH_ORDERS), Duration::from_secs(7));
        assert_eq!(
            throttle_wait(&answer(429, &[("x-amzn-ratelimit-limit", "0.5")], None), &SEARCH_ORDERS),
            Duration::from_secs(2)
        );
        assert_eq!(throttle_wait(&answer(429, &[], None), &SEARCH_ORDERS), Duration::from_secs(179), "1 / 0.0056");
        assert_eq!(throttle_wait(&answer(429, &[], None), &CREATE_FEED), Duration::from_secs(121), "1 / 0.0083");
        assert_eq!(throttle_wait(&answer(429, &[], None), &PATCH_LISTING), Duration::from_secs(1));
    }

    /// `../shared/specs/amazon/schemas/feeds/listings-feed-processing-report-schema-v2.example.json`:
    /// messages 4 and 5 have errors; message 4's two are both told.
    #[test]
    fn the_documented_report_makes_its_refused_messages_unknown() {
        let report: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/amazon/listings-feed-processing-report-schema-v2.example.json"
        ))
        .unwrap();
        let skus = ["My-SKU-A", "My-SKU-X", "My-SKU-Y", "My-SKU-B", "My-SKU-C"];
        let items: Vec<_> = skus.iter().map(|sku| StockItem { sku, available: 1 }).collect();
        let outcomes = report_outcomes(&report, &items).unwrap();
        assert_eq!(outcomes[..3], [StockOutcome::Set, StockOutcome::Set, StockOutcome::Set]);
        let StockOutcome::UnknownSku(why) = &outcomes[3] else { panic!("{outcomes:?}") };
        assert!(why.contains("batteries_required") && why.contains("supplier_declared_dg_hz_regulation"), "{why}");
        assert!(matches!(&outcomes[4], StockOutcome::UnknownSku(w) if w.contains("99022")));
        let refused = json!({"issues": [{"severity": "ERROR", "message": "The feed is not valid JSON."}],
            "summary": {"errors": 1, "warnings": 0, "messagesProcessed": 0, "messagesAccepted": 0, "messagesInvalid": 0}});
        assert!(matches!(report_outcomes(&refused, &items), Err(ChannelError::Rejected { .. })));
    }

    #[test]
    fn a_patch_answer_is_set_or_refused_with_amazons_words() {
        let accepted = json!({"sku": "A", "status": "ACCEPTED", "submissionId": "x", "issues": []});
        assert_eq!(patch_outcome(&accepted, "A").unwrap(), StockOutcome::Set);
        // patchListingsItem's documented INVALID example (listingsItems_2021-08-01.json).
        let invalid = json!({"sku": "VALIDATION_INVALID", "status": "INVALID", "submissionId": "a1c5",
            "issues": [{"code": "90000900", "message": "The attributes are invalid.", "severity": "ERROR",
                "attributeNames": ["fake_attribute"], "categories": ["INVALID_ATTRIBUTE"]}]});
        let StockOutcome::UnknownSku(why) = patch_outcome(&invalid, "VALIDATION_INVALID").unwrap() else { panic!() };
        assert_eq!(why, "Amazon refused the stock of `VALIDATION_INVALID`: 90000900: The attributes are invalid.");
    }

    #[test]
    fn the_feed_patches_each_sku_under_its_message_number() {
        let items = [StockItem { sku: "A", available: 3 }, StockItem { sku: "B", available: -2 }];
        let feed = stock_feed("A2SELLER1234", &items);
        assert_eq!(feed["header"], json!({"sellerId": "A2SELLER1234", "version": "2.0", "issueLocale": "en_US"}));
        assert_eq!(feed["messages"][1]["messageId"], 2);
        assert_eq!(feed["messages"][1]["sku"], "B");
        assert_eq!(feed["messages"][1]["patches"][0]["value"][0]["quantity"], 0, "never below 0");
    }
}
