//! Sales channels: the [`Channel`] trait every connector implements, and one module per channel.
//!
//! A connector checks the channel's webhook calls, reads the channel's order payloads into a
//! [`ChannelOrder`], fetches the orders changed since a cursor, and sends fulfilments (carrier,
//! tracking number and URL) and the parcel's progress back. Like a carrier adapter it never
//! touches the store: the engine hands it the connection's opened credentials and keeps what it
//! returns. Every call goes through the outbound policy (`waybill-outbound`). Orders from CSV
//! files are read by [`orders_csv`].

pub mod amazon;
mod error;
mod http;
pub mod orders_csv;
pub mod shipments_csv;
pub mod shopify;
pub mod stock_csv;
pub mod trendyol;
pub mod woocommerce;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
pub use error::ChannelError;
use serde::Serialize;
use waybill_core::channel::ChannelOrder;
use waybill_core::credentials::CredentialSchema;
use waybill_core::{FieldError, Mode, TrackingStatus};

/// What a channel is and can do; shown by `GET /v1/channels` and `waybill channels`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelInfo {
    pub slug: &'static str,
    pub name: &'static str,
    /// The channel's API and the version this connector follows.
    pub api: &'static str,
    pub supports: Supports,
    pub credentials: CredentialSchema,
    /// The channel states (lower case) in which an order is ready to ship unless a connection
    /// says otherwise.
    pub default_ready_statuses: Vec<&'static str>,
    /// What `base_url` replaces, for a connection that points elsewhere.
    pub base_url_replaces: &'static str,
    /// The channel has no host of its own: `base_url` is the merchant's own site (required;
    /// a live one must be a public https address).
    pub site_is_base_url: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Supports {
    /// The channel calls Waybill when an order changes.
    pub order_webhooks: bool,
    /// Orders changed since the last sync can be fetched (the sync that finds missed webhooks).
    pub order_sync: bool,
    /// Fulfilments with carrier and tracking number go back.
    pub fulfilment: bool,
    /// The parcel's progress (in transit, out for delivery, delivered, …) goes back.
    pub progress: bool,
    /// Stock by SKU goes back.
    pub inventory: bool,
    /// Orders can also come from the seller's own notification queue, where a connection names
    /// one (Amazon's SQS).
    pub order_queue: bool,
}

/// The connection a call acts for: its mode, where to reach the channel, its opened credentials.
#[derive(Debug, Clone, Copy)]
pub struct Connection<'a> {
    pub mode: Mode,
    /// The connection's `base_url` override, if any.
    pub base_url: Option<&'a str>,
    pub credentials: &'a serde_json::Value,
}

/// A webhook call as received: header names in lower case, the body's raw bytes.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl WebhookRequest<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A webhook call that proved it comes from the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// The channel's topic (`orders/create`).
    pub topic: String,
    /// The channel's id of this delivery, when it gives one: a repeat is recognised by it.
    pub delivery_id: Option<String>,
    /// Whether the payload is an order Waybill reads (other topics are acknowledged and dropped).
    pub is_order: bool,
}

/// Why a webhook call was refused. Every kind gets the same answer (401), so a caller learns
/// nothing; the reason is for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Why an order payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub String);

/// The topic a sync's payloads are stored under.
pub const SYNC_TOPIC: &str = "sync";

/// One page of orders changed since a cursor.
#[derive(Debug, Clone)]
pub struct SyncPage {
    /// Each order's payload as the channel sent it, read later by [`Channel::read_order`] with
    /// [`SYNC_TOPIC`].
    pub orders: Vec<Vec<u8>>,
    /// Where the next sync starts.
    pub cursor: String,
    /// Another page is ready at once (the next call should follow without waiting).
    pub more: bool,
}

/// Orders a connection's notification queue named, fetched.
#[derive(Debug, Clone, Default)]
pub struct Queued {
    /// Each order's payload, read later by [`Channel::read_order`] with [`SYNC_TOPIC`].
    pub orders: Vec<Vec<u8>>,
    /// The messages to delete once the orders are kept ([`Channel::ack_queued`]).
    pub receipts: Vec<String>,
    /// The queue held a full batch: more may be waiting.
    pub more: bool,
}

/// A shipment to record as the channel's fulfilment of an order.
#[derive(Debug, Clone)]
pub struct Fulfilment<'a> {
    /// The channel's order id (`ChannelOrder::external_id`).
    pub order_id: &'a str,
    pub tracking_number: &'a str,
    /// The carrier's page for the number.
    pub tracking_url: Option<&'a str>,
    /// The carrier's name as customers know it.
    pub carrier_name: &'a str,
    /// SKUs and quantities in this shipment; empty means every line still to ship.
    pub lines: &'a [(String, u32)],
    pub notify_customer: bool,
}

/// A step of the parcel's progress to show in the channel.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    pub status: TrackingStatus,
    pub happened_at: DateTime<FixedOffset>,
    pub city: Option<&'a str>,
    pub edd: Option<NaiveDate>,
    /// The shipment's EDD passed with the parcel still on its way.
    pub delayed: bool,
}

/// What became of a progress step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    Sent,
    /// The channel already shows this step (a retry after a lost answer).
    AlreadyThere,
    /// The channel has no state for this step.
    NoSuchStep,
}

/// A SKU's number to show in the channel.
#[derive(Debug, Clone, Copy)]
pub struct StockItem<'a> {
    pub sku: &'a str,
    /// Available to sell (on hand and not reserved), never below 0.
    pub available: i64,
}

/// What the channel made of one SKU's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StockOutcome {
    Set,
    /// The channel has no product with this SKU (reported, not retried until it changes).
    UnknownSku(String),
}

/// One sales channel's API, as the import and fulfilment workflows need it.
#[async_trait::async_trait]
pub trait Channel: Send + Sync {
    fn info(&self) -> &ChannelInfo;

    /// Checks credentials against the channel's schema before a connection is saved.
    fn check_credentials(&self, credentials: &serde_json::Value) -> Result<(), Vec<FieldError>> {
        self.info().credentials.check(credentials)
    }

    /// Checks that a webhook call comes from the channel, before anything reads its body.
    fn verify_webhook(&self, credentials: &serde_json::Value, request: &WebhookRequest<'_>)
    -> Result<Inbound, Refused>;

    /// Reads one order payload, received under `topic` (or fetched by a sync, [`SYNC_TOPIC`]).
    fn read_order(&self, topic: &str, body: &[u8]) -> Result<ChannelOrder, ReadError>;

    /// A cheap call that proves the credentials work; returns the channel's name for the account.
    async fn verify(&self, connection: &Connection<'_>) -> Result<String, ChannelError>;

    /// Orders changed since `cursor` (`None`: the first sync of a new connection).
    async fn orders_since(&self, connection: &Connection<'_>, cursor: Option<&str>) -> Result<SyncPage, ChannelError>;

    /// Waits briefly for the connection's notification queue and fetches the orders its
    /// messages name (`supports.order_queue`); `None` when the connection has no queue (the
    /// default).
    async fn receive_queued(&self, _connection: &Connection<'_>) -> Result<Option<Queued>, ChannelError> {
        Ok(None)
    }

    /// Deletes the queue's messages whose orders are kept.
    async fn ack_queued(&self, _connection: &Connection<'_>, _receipts: &[String]) -> Result<(), ChannelError> {
        Ok(())
    }

    /// Records the shipment as a fulfilment of the order; returns the channel's id of it. A
    /// repeat for the same tracking number finds the fulfilment made before instead of making
    /// a second one.
    async fn fulfil(&self, connection: &Connection<'_>, fulfilment: &Fulfilment<'_>) -> Result<String, ChannelError>;

    /// Sets the channel's stock of each SKU (`supports.inventory`); one outcome per item, in
    /// order. Channels without it keep this default.
    async fn push_stock(
        &self,
        _connection: &Connection<'_>,
        _items: &[StockItem<'_>],
    ) -> Result<Vec<StockOutcome>, ChannelError> {
        Err(ChannelError::Rejected {
            channel: self.info().slug,
            message: "stock is not sent to this channel yet".into(),
        })
    }

    /// Withdraws the fulfilment `fulfilment_id` of a shipment whose booking was cancelled, so
    /// its lines can be fulfilled again. `NoSuchStep` where the channel has no such call (the
    /// default); `AlreadyThere` when the channel shows it withdrawn already.
    async fn cancel_fulfilment(
        &self,
        _connection: &Connection<'_>,
        _fulfilment_id: &str,
    ) -> Result<Posted, ChannelError> {
        Ok(Posted::NoSuchStep)
    }

    /// Shows a step of the parcel's progress on the fulfilment `fulfilment_id`.
    async fn post_progress(
        &self,
        connection: &Connection<'_>,
        fulfilment_id: &str,
        progress: &Progress<'_>,
    ) -> Result<Posted, ChannelError>;
}

/// Every connector this build knows, by slug.
#[derive(Clone)]
pub struct Channels {
    by_slug: BTreeMap<&'static str, Arc<dyn Channel>>,
}

impl Channels {
    /// All connectors, sharing the outbound policy's clients: live connections' calls go
    /// through its guarded client, test connections' through its open one.
    pub fn new(outbound: waybill_outbound::Outbound) -> Self {
        let all: Vec<Arc<dyn Channel>> = vec![
            Arc::new(amazon::Amazon::new(outbound.clone())),
            Arc::new(shopify::Shopify::new(outbound.clone())),
            Arc::new(trendyol::Trendyol::new(outbound.clone())),
            Arc::new(woocommerce::WooCommerce::new(outbound)),
        ];
        Self { by_slug: all.into_iter().map(|c| (c.info().slug, c)).collect() }
    }

    pub fn get(&self, slug: &str) -> Option<&Arc<dyn Channel>> {
        self.by_slug.get(slug)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Channel>> {
        self.by_slug.values()
    }
}

/// Checks that `given` (as a header `name` carries it) is the base64 HMAC-SHA256 of `body` keyed
/// with `secret`, comparing in constant time: how Shopify and WooCommerce sign their webhooks.
pub(crate) fn check_hmac_base64(secret: &str, body: &[u8], given: &str, name: &str) -> Result<(), Refused> {
    use base64::Engine as _;
    use hmac::{Hmac, KeyInit, Mac};
    let given = base64::engine::general_purpose::STANDARD
        .decode(given.trim())
        .map_err(|_| Refused(format!("{name} is not base64")))?;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| Refused("no secret".into()))?;
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| Refused("the signature does not match".into()))
}

/// A credential of a connection as given (empty when absent: the schema check runs before a
/// connection is saved).
pub(crate) fn credential<'a>(credentials: &'a serde_json::Value, name: &str) -> &'a str {
    credentials.get(name).and_then(serde_json::Value::as_str).unwrap_or_default()
}

/// Epoch milliseconds of an RFC 3339 time.
pub(crate) fn millis(rfc3339: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(rfc3339).ok().map(|t| t.with_timezone(&Utc).timestamp_millis())
}
