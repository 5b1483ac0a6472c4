//! Sales channels: a tenant's connection to one Shopify store, WooCommerce site, Trendyol seller
//! or Amazon seller; the orders a connector reads out of a channel's payloads; and the rule that
//! decides what an incoming channel order does to the order Waybill already has.
//!
//! Credentials are sealed by the store and never part of these records.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::error::FieldError;
use crate::ids::{ChannelConnectionId, ChannelImportId, LocationId, OrderId, TenantId};
use crate::money::Currency;
use crate::order::{LineItem, Order, OrderStatus, Payment, order_problems};
use crate::scope::{Mode, Scope};
use crate::text;
use crate::tracking::TrackingStatus;

/// A tenant's link to one sales channel, in one mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelConnection {
    pub id: ChannelConnectionId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    /// The connector's slug (`shopify`, `woocommerce`, …).
    pub channel: String,
    pub name: String,
    /// Overrides the channel's host (tests, the demo, a channel's regional host).
    pub base_url: Option<String>,
    pub settings: ConnectionSettings,
    /// Where the periodic sync picks up (the channel's own cursor: a time or a token).
    pub sync_cursor: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ChannelConnection {
    pub fn scope(&self) -> Scope {
        Scope::new(self.tenant_id.clone(), self.mode)
    }
}

/// How a connection behaves. Every field has a default, so `{}` is a working setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConnectionSettings {
    /// Orders come in by themselves (the channel's webhooks and the periodic sync). When
    /// `false`, webhooks are acknowledged and dropped, and only an asked sync imports.
    #[serde(default = "yes")]
    pub auto_import: bool,
    /// The channel's own order states (as the connector reads them, lower case) in which an
    /// order is ready to ship; empty means the connector's default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(max_items = 20, value_type = Vec<ChannelStatusName>))]
    pub ready_statuses: Vec<String>,
    /// Seconds between two syncs (orders changed since the last one): 60 to 86,400; 300 by default.
    #[serde(default = "default_sync_interval")]
    pub sync_interval_seconds: u32,
    /// Send fulfilments (carrier, tracking number and URL) and the parcel's progress back.
    #[serde(default = "yes")]
    pub push_fulfilment: bool,
    /// Ask the channel to tell the customer about the fulfilment (where it can).
    #[serde(default)]
    pub notify_customer: bool,
    /// Send the location's available stock of every SKU that changes (where the channel takes it).
    #[serde(default = "yes")]
    pub push_stock: bool,
    /// The location that ships this connection's orders (their bookings' sender when a
    /// booking names none); the default location when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<LocationId>,
}

/// A channel's own order state (`paid`, `processing`), in the OpenAPI document.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, max_length = 50, example = "paid")]
pub struct ChannelStatusName(pub String);

fn yes() -> bool {
    true
}

fn default_sync_interval() -> u32 {
    300
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        Self {
            auto_import: true,
            ready_statuses: vec![],
            sync_interval_seconds: default_sync_interval(),
            push_fulfilment: true,
            notify_customer: false,
            push_stock: true,
            location_id: None,
        }
    }
}

impl ConnectionSettings {
    /// Problems with the settings, pointed at under `at` (`/settings`).
    pub fn problems(&self, at: &str) -> Vec<FieldError> {
        let mut out = Vec::new();
        if !(60..=86_400).contains(&self.sync_interval_seconds) {
            out.push(FieldError::new(
                format!("{at}/sync_interval_seconds"),
                "must be between 60 (a minute) and 86400 (a day)",
            ));
        }
        if self.ready_statuses.len() > 20 {
            out.push(FieldError::new(format!("{at}/ready_statuses"), "at most 20 statuses"));
        }
        for (i, s) in self.ready_statuses.iter().enumerate() {
            out.extend(text::CHANNEL.check(&format!("{at}/ready_statuses/{i}"), s));
        }
        out
    }
}

crate::named_enum! {
    /// Where one received channel payload stands.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum ImportStatus as "snake_case" {
        /// Received, not yet read.
        Pending,
        /// Created or changed a Waybill order.
        Imported,
        /// Nothing new: a repeat, or older than what the order already has.
        Unchanged,
        /// The order already has a shipment: the change was recorded, not applied.
        Held,
        /// Not an order Waybill ships (nothing to ship, fulfilled by the channel, another topic).
        Skipped,
        /// Could not be read or is not a valid order: see the reason; retried after a fix.
        Failed,
    }
}

/// One payload a channel sent (or a sync fetched), and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelImport {
    pub id: ChannelImportId,
    pub connection_id: ChannelConnectionId,
    /// The channel's topic (`orders/create`) or `sync`.
    pub topic: String,
    /// The channel's order id, once the payload was read.
    pub external_id: Option<String>,
    pub status: ImportStatus,
    /// Why it failed, was held or skipped.
    pub reason: Option<String>,
    pub order_id: Option<OrderId>,
    pub received_at: i64,
    pub updated_at: i64,
}

/// One line of a channel order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelLine {
    /// Empty when the channel has none for the line (the import then fails, saying which).
    pub sku: String,
    pub name: Option<String>,
    pub quantity: u32,
    pub unit_price: Decimal,
}

/// What a connector reads out of a channel's order: only what the channel says, nothing
/// invented (absent stays `None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelOrder {
    /// The channel's own id of the order (Shopify's numeric id, WooCommerce's post id, …).
    pub external_id: String,
    /// The number the merchant and customer see (`#1001`), when it differs from the id.
    pub number: Option<String>,
    /// The channel's own state of the order, lower case (checked against `ready_statuses`).
    pub status: String,
    pub cancelled: bool,
    /// When the channel last changed the order (epoch ms): older payloads never win.
    pub updated_at: i64,
    pub currency: String,
    pub payment: Payment,
    /// `None` when the channel has no shipping address for the order.
    pub ship_to: Option<Address>,
    /// Lines that need shipping, at their current quantities.
    pub lines: Vec<ChannelLine>,
    pub locale: Option<String>,
    /// Why Waybill does not ship this order although the payload is fine (fulfilled by the
    /// channel itself, a digital good, …).
    pub not_ours: Option<String>,
    /// The carrier and tracking number the channel itself chose for the order (marketplaces
    /// such as Trendyol book the parcel with their own contract): honoured, never replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned: Option<AssignedShipping>,
    /// Where the parcel of an `assigned` booking stands, as the channel reports it (Trendyol
    /// follows its own carrier): recorded as a scan on the shipment with that tracking number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_status: Option<TrackingStatus>,
}

/// A carrier booking the channel made for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignedShipping {
    /// The channel's code of the carrier (Trendyol's `YKMP`), when it gives one.
    pub carrier_code: Option<String>,
    /// The carrier as customers know it.
    pub carrier_name: String,
    /// Kept as text: some are longer than any integer type (Trendyol sends 20-digit numbers).
    pub tracking_number: String,
    pub tracking_url: Option<String>,
}

/// A channel order as the parts of a Waybill order, or every problem with it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderParts {
    pub currency: Currency,
    pub payment: Payment,
    pub ship_to: Address,
    pub line_items: Vec<LineItem>,
    pub locale: Option<String>,
    pub assigned_shipping: Option<AssignedShipping>,
}

impl ChannelOrder {
    /// The order's parts, checked as an API order would be; each problem points into the
    /// Waybill order the channel order would become.
    pub fn parts(&self) -> Result<OrderParts, Vec<FieldError>> {
        let mut problems = Vec::new();
        problems.extend(text::EXTERNAL_ID.check("/external_id", &self.external_id));
        let currency = match self.currency.parse::<Currency>() {
            Ok(c) => Some(c),
            Err(_) => {
                problems.push(FieldError::new("/currency", format!("`{}` is not an ISO 4217 currency", self.currency)));
                None
            }
        };
        let ship_to = match &self.ship_to {
            Some(a) => a.clone().normalized(),
            None => {
                problems.push(FieldError::new("/ship_to", "the channel has no shipping address for this order"));
                Address::default()
            }
        };
        if self.ship_to.is_some() {
            problems.extend(ship_to.problems("/ship_to"));
        }
        let line_items: Vec<LineItem> = self
            .lines
            .iter()
            .map(|l| LineItem {
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
            })
            .collect();
        if let Some(currency) = currency {
            problems.extend(order_problems(&line_items, &self.payment, currency));
        }
        match currency {
            Some(currency) if problems.is_empty() => Ok(OrderParts {
                currency,
                payment: self.payment.clone(),
                ship_to,
                line_items,
                locale: self.locale.clone(),
                assigned_shipping: self.assigned.clone(),
            }),
            _ => Err(problems),
        }
    }

    /// Whether the order is ready to ship: its channel state is one of `ready` (or, with
    /// none given, of `default_ready`); an order paid on delivery is ready unless cancelled.
    pub fn is_ready(&self, ready: &[String], default_ready: &[&str]) -> bool {
        if self.cancelled {
            return false;
        }
        let listed = if ready.is_empty() {
            default_ready.contains(&self.status.as_str())
        } else {
            ready.iter().any(|r| r.eq_ignore_ascii_case(&self.status))
        };
        listed || matches!(self.payment, Payment::Cod { .. })
    }
}

/// What an incoming channel order does to Waybill's order with the same external id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportDecision {
    /// No such order yet: create it.
    Create,
    /// Not shipped yet: apply these changes (pointers into the order, and `/status`).
    Update(Vec<&'static str>),
    /// Cancelled in the channel before delivery: cancel it (its bookings are voided, or its
    /// parcels asked back, as for a cancellation through the API).
    Cancel,
    /// Already shipped (or closed): record these changes for a person, apply nothing; a
    /// cancellation only once the order is delivered or returned.
    Hold(Vec<&'static str>),
    /// A repeat, an older payload, or nothing that Waybill keeps changed.
    Unchanged,
    /// Not an order to create: cancelled before Waybill saw it.
    Skip(&'static str),
}

/// Decides what `incoming` (already checked into `parts`, ready or not) does to `existing`.
pub fn decide(existing: Option<&Order>, incoming: &ChannelOrder, parts: &OrderParts, ready: bool) -> ImportDecision {
    let Some(order) = existing else {
        return if incoming.cancelled {
            ImportDecision::Skip("the order was cancelled in the channel before Waybill saw it")
        } else {
            ImportDecision::Create
        };
    };
    if order.channel_updated_at.is_some_and(|seen| seen >= incoming.updated_at) {
        return ImportDecision::Unchanged;
    }
    let open = order.status.can_ship();
    if incoming.cancelled {
        return match order.status {
            OrderStatus::Cancelled => ImportDecision::Unchanged,
            s if s.can_cancel() => ImportDecision::Cancel,
            _ => ImportDecision::Hold(vec!["/status"]),
        };
    }
    let mut changes = changed_parts(order, parts);
    if !open {
        return if changes.is_empty() { ImportDecision::Unchanged } else { ImportDecision::Hold(changes) };
    }
    let status = if ready { OrderStatus::Ready } else { OrderStatus::Open };
    if status != order.status {
        changes.push("/status");
    }
    if changes.is_empty() { ImportDecision::Unchanged } else { ImportDecision::Update(changes) }
}

/// The parts of `order` that `parts` would change, as pointers.
pub fn changed_parts(order: &Order, parts: &OrderParts) -> Vec<&'static str> {
    let mut out = Vec::new();
    if order.ship_to != parts.ship_to {
        out.push("/ship_to");
    }
    if order.line_items != parts.line_items {
        out.push("/line_items");
    }
    if order.payment != parts.payment || order.currency != parts.currency {
        out.push("/payment");
    }
    if order.locale != parts.locale {
        out.push("/locale");
    }
    if order.assigned_shipping != parts.assigned_shipping {
        out.push("/assigned_shipping");
    }
    out
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;

    use super::*;

    fn channel_order() -> ChannelOrder {
        ChannelOrder {
            external_id: "450789469".into(),
            number: Some("#1001".into()),
            status: "paid".into(),
            cancelled: false,
            updated_at: 1_000,
            currency: "TRY".into(),
            payment: Payment::Prepaid,
            ship_to: Some(Address {
                name: "Ayşe Yılmaz".into(),
                street1: "Bağdat Cd. 12".into(),
                city: "İstanbul".into(),
                postal_code: "34710".into(),
                country: "TR".into(),
                ..Address::default()
            }),
            lines: vec![ChannelLine {
                sku: "TSHIRT-M".into(),
                name: Some("T-shirt".into()),
                quantity: 2,
                unit_price: Decimal::from_str("249.90").unwrap(),
            }],
            locale: Some("tr".into()),
            not_ours: None,
            assigned: None,
            carrier_status: None,
        }
    }

    fn order_from(c: &ChannelOrder, status: OrderStatus) -> Order {
        let parts = c.parts().unwrap();
        Order {
            id: OrderId::generate(),
            tenant_id: TenantId::generate(),
            mode: Mode::Test,
            channel: "shopify".into(),
            external_id: c.external_id.clone(),
            status,
            currency: parts.currency,
            payment: parts.payment,
            ship_to: parts.ship_to,
            line_items: parts.line_items,
            locale: parts.locale,
            connection_id: None,
            number: c.number.clone(),
            channel_updated_at: Some(c.updated_at),
            assigned_shipping: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn a_new_order_is_created_unless_already_cancelled() {
        let c = channel_order();
        let parts = c.parts().unwrap();
        assert_eq!(decide(None, &c, &parts, true), ImportDecision::Create);
        let cancelled = ChannelOrder { cancelled: true, ..c };
        assert!(matches!(decide(None, &cancelled, &parts, false), ImportDecision::Skip(_)));
    }

    #[test]
    fn before_shipping_changes_apply_and_after_they_are_held() {
        let c = channel_order();
        let moved = ChannelOrder {
            updated_at: 2_000,
            ship_to: Some(Address { street1: "Moda Cd. 3".into(), ..c.ship_to.clone().unwrap() }),
            ..c.clone()
        };
        let parts = moved.parts().unwrap();
        let ready = order_from(&c, OrderStatus::Ready);
        assert_eq!(decide(Some(&ready), &moved, &parts, true), ImportDecision::Update(vec!["/ship_to"]));
        let shipped = order_from(&c, OrderStatus::Shipped);
        assert_eq!(decide(Some(&shipped), &moved, &parts, true), ImportDecision::Hold(vec!["/ship_to"]));
        let cancelled = ChannelOrder { cancelled: true, ..moved };
        assert_eq!(decide(Some(&ready), &cancelled, &parts, false), ImportDecision::Cancel);
        assert_eq!(decide(Some(&shipped), &cancelled, &parts, false), ImportDecision::Cancel, "voided or asked back");
        let delivered = order_from(&c, OrderStatus::Delivered);
        assert_eq!(decide(Some(&delivered), &cancelled, &parts, false), ImportDecision::Hold(vec!["/status"]));
    }

    #[test]
    fn payment_moves_an_open_order_to_ready() {
        let c = channel_order();
        let open = order_from(&c, OrderStatus::Open);
        let paid = ChannelOrder { updated_at: 2_000, ..c };
        let parts = paid.parts().unwrap();
        assert_eq!(decide(Some(&open), &paid, &parts, true), ImportDecision::Update(vec!["/status"]));
        assert_eq!(decide(Some(&open), &paid, &parts, false), ImportDecision::Unchanged);
    }

    #[test]
    fn readiness_follows_the_settings_and_cod_is_always_ready() {
        let c = channel_order();
        assert!(c.is_ready(&[], &["paid"]));
        assert!(!c.is_ready(&["processing".into()], &["paid"]));
        assert!(c.is_ready(&["PAID".into()], &[]));
        let cod = ChannelOrder { status: "pending".into(), payment: Payment::Cod { amount: Decimal::TEN }, ..c };
        assert!(cod.is_ready(&[], &["paid"]));
        assert!(!ChannelOrder { cancelled: true, ..cod }.is_ready(&[], &["pending"]));
    }

    #[test]
    fn problems_point_into_the_order_it_would_become() {
        let mut c = channel_order();
        c.currency = "XXY".into();
        c.lines[0].sku = String::new();
        c.ship_to = None;
        let pointers: Vec<_> = c.parts().unwrap_err().into_iter().map(|e| e.pointer).collect();
        assert_eq!(pointers, ["/currency", "/ship_to"]);
        let mut c = channel_order();
        c.lines[0].sku = String::new();
        let pointers: Vec<_> = c.parts().unwrap_err().into_iter().map(|e| e.pointer).collect();
        assert_eq!(pointers, ["/line_items/0/sku"]);
    }

    #[test]
    fn settings_default_from_an_empty_object_and_refuse_unknown_fields() {
        let s: ConnectionSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, ConnectionSettings::default());
        assert!(s.problems("/settings").is_empty());
        assert!(serde_json::from_str::<ConnectionSettings>(r#"{"auto_imprt": true}"#).is_err());
        let slow = ConnectionSettings { sync_interval_seconds: 5, ..s };
        assert_eq!(slow.problems("/settings")[0].pointer, "/settings/sync_interval_seconds");
    }

    proptest! {
        /// Whatever arrives, a shipped order is never changed (only cancelled, before delivery)
        /// and a payload never wins over a newer one already applied.
        #[test]
        fn shipped_orders_are_never_changed_and_old_payloads_never_win(
            updated_at in 0i64..3_000,
            cancelled: bool,
            street in "[A-Za-z][A-Za-z ]{0,19}",
            quantity in 1u32..5,
            ready: bool,
            status_index in 0usize..OrderStatus::ALL.len(),
        ) {
            let base = channel_order();
            let status = OrderStatus::ALL[status_index];
            let existing = order_from(&base, status);
            let mut incoming = ChannelOrder { updated_at, cancelled, ..base.clone() };
            incoming.ship_to.as_mut().unwrap().street1 = street;
            incoming.lines[0].quantity = quantity;
            let parts = incoming.parts().unwrap();
            let decision = decide(Some(&existing), &incoming, &parts, ready);
            if updated_at <= base.updated_at {
                prop_assert_eq!(decision, ImportDecision::Unchanged);
            } else if cancelled && status.can_cancel() && status != OrderStatus::Cancelled {
                prop_assert_eq!(decision, ImportDecision::Cancel);
            } else if !status.can_ship() {
                prop_assert!(matches!(decision, ImportDecision::Hold(_) | ImportDecision::Unchanged), "{decision:?}");
            }
            let same = decide(Some(&order_from(&incoming, status)), &incoming, &parts, ready);
            prop_assert_eq!(same, ImportDecision::Unchanged, "a repeat changes nothing");
        }
    }
}
