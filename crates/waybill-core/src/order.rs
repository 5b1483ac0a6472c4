//! Orders: what was sold, how it was paid, and where it stands.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::channel::AssignedShipping;
use crate::error::FieldError;
use crate::ids::{ChannelConnectionId, OrderId, TenantId};
use crate::money::{Currency, Money};
use crate::scope::{Mode, Scope};
use crate::text;
use crate::tracking::TrackingStatus;

crate::named_enum! {
    /// An order's place in its life. A delivered order is closed by a follow-up job, once the
    /// work that hangs off delivery (channel fulfilment, notifications) has been queued.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum OrderStatus as "snake_case" {
        Open,
        Ready,
        Shipped,
        InTransit,
        Delivered,
        Closed,
        Cancelled,
        Returned,
    }
}

/// What was sold, to whom, and how it was paid; one per tenant, mode, channel and the
/// channel's own id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    pub channel: String,
    pub external_id: String,
    pub status: OrderStatus,
    pub currency: Currency,
    pub payment: Payment,
    pub ship_to: Address,
    pub line_items: Vec<LineItem>,
    /// The customer's language (`tr`, `fr-CA`), for messages and pages; absent on orders stored
    /// before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The channel connection the order came in through; `None` for API and CSV orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<ChannelConnectionId>,
    /// The number the channel shows (`#1001`) when it differs from `external_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// When the channel last changed the order (epoch ms), so an older payload never wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_updated_at: Option<i64>,
    /// The carrier and tracking number the channel booked for the order itself (Trendyol's
    /// marketplace shipping): a booking on a generic carrier account uses that number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_shipping: Option<AssignedShipping>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Order {
    pub fn scope(&self) -> Scope {
        Scope::new(self.tenant_id.clone(), self.mode)
    }
}

impl OrderStatus {
    /// Whether a shipment may be booked for an order in this state.
    pub fn can_ship(self) -> bool {
        matches!(self, Self::Open | Self::Ready)
    }

    /// Whether an order in this state may still be cancelled: not once delivered or returned
    /// (what comes back then is a return).
    pub fn can_cancel(self) -> bool {
        !matches!(self, Self::Delivered | Self::Closed | Self::Returned)
    }

    /// Whether another part of an order in this state may still be booked (when some of its
    /// lines are in no shipment).
    pub fn can_ship_more(self) -> bool {
        !matches!(self, Self::Closed | Self::Cancelled | Self::Returned)
    }

    /// The order's state once its active shipment reaches `shipment`. Orders only move
    /// forward; a cancelled booking hands the order back to `open` for a new one.
    pub fn after_shipment(self, shipment: TrackingStatus) -> OrderStatus {
        use TrackingStatus as T;
        if matches!(self, Self::Closed | Self::Cancelled | Self::Returned) {
            return self;
        }
        let next = match shipment {
            T::InfoReceived => Self::Shipped,
            T::PickedUp
            | T::InTransit
            | T::OutForDelivery
            | T::DeliveryFailed
            | T::AvailableForPickup
            | T::Exception
            | T::ReturnToOrigin => Self::InTransit,
            T::Delivered => Self::Delivered,
            T::Returned => Self::Returned,
            T::Cancelled => return if matches!(self, Self::Shipped) { Self::Open } else { self },
        };
        if next.rank() >= self.rank() { next } else { self }
    }

    /// The order's state from its active shipments (booked or being booked; not cancelled,
    /// not customer returns), given as their tracking statuses, and whether some of its lines
    /// are in none of them. The order stands where its least advanced part stands: it is in
    /// transit or delivered only when every line is; it is returned when every shipment came
    /// back; with no shipment left (all cancelled) it is open again.
    pub fn with_shipments(self, shipments: &[TrackingStatus], lines_left: bool) -> OrderStatus {
        if matches!(self, Self::Closed | Self::Cancelled | Self::Returned) {
            return self;
        }
        let stages: Vec<OrderStatus> = shipments.iter().map(|t| Self::Open.after_shipment(*t)).collect();
        if stages.is_empty() {
            return if self.rank() > 0 { Self::Open } else { self };
        }
        if !lines_left && stages.iter().all(|s| *s == Self::Returned) {
            return Self::Returned;
        }
        let least =
            stages.into_iter().filter(|s| *s != Self::Returned).min_by_key(|s| s.rank()).unwrap_or(Self::Shipped);
        if lines_left && least.rank() > Self::Shipped.rank() { Self::Shipped } else { least }
    }

    fn rank(self) -> u8 {
        match self {
            Self::Open | Self::Ready => 0,
            Self::Shipped => 1,
            Self::InTransit => 2,
            Self::Delivered => 3,
            Self::Closed | Self::Cancelled | Self::Returned => 4,
        }
    }
}

/// How the order was paid. Cash on delivery carries the amount the courier must collect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Payment {
    Prepaid,
    Cod {
        #[serde(with = "rust_decimal::serde::str")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "249.90", max_length = 32))]
        amount: Decimal,
    },
}

impl Payment {
    pub fn cod(&self, currency: Currency) -> Option<Money> {
        match self {
            Payment::Prepaid => None,
            Payment::Cod { amount } => Some(Money::new(*amount, currency)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineItem {
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub sku: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub name: Option<String>,
    pub quantity: u32,
    #[serde(with = "rust_decimal::serde::str")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "49.90", max_length = 32))]
    pub unit_price: Decimal,
}

/// A quantity of one SKU of an order, as a shipment carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShipmentLine {
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub sku: String,
    pub quantity: u32,
}

/// What of an order's lines is in none of `shipped` (the lines of its active shipments), per
/// SKU in the order's own order. A shipment without lines is one of the time before partial
/// shipments, and holds the whole order.
pub fn lines_left(items: &[LineItem], shipped: &[&[ShipmentLine]]) -> Vec<ShipmentLine> {
    if shipped.iter().any(|lines| lines.is_empty()) {
        return Vec::new();
    }
    let mut left: Vec<ShipmentLine> = Vec::new();
    for item in items {
        match left.iter_mut().find(|l| l.sku == item.sku) {
            Some(l) => l.quantity = l.quantity.saturating_add(item.quantity),
            None => left.push(ShipmentLine { sku: item.sku.clone(), quantity: item.quantity }),
        }
    }
    for line in shipped.iter().flat_map(|lines| lines.iter()) {
        if let Some(l) = left.iter_mut().find(|l| l.sku == line.sku) {
            l.quantity = l.quantity.saturating_sub(line.quantity);
        }
    }
    left.retain(|l| l.quantity > 0);
    left
}

/// Problems with the lines a booking asks for, against what of the order is `left`.
pub fn shipment_line_problems(wanted: &[ShipmentLine], left: &[ShipmentLine]) -> Vec<FieldError> {
    let mut out = Vec::new();
    for (i, line) in wanted.iter().enumerate() {
        if wanted[..i].iter().any(|w| w.sku == line.sku) {
            out.push(FieldError::new(format!("/lines/{i}/sku"), format!("`{}` is listed twice", line.sku)));
            continue;
        }
        if line.quantity == 0 {
            out.push(FieldError::new(format!("/lines/{i}/quantity"), "must be at least 1"));
            continue;
        }
        match left.iter().find(|l| l.sku == line.sku) {
            None => out.push(FieldError::new(
                format!("/lines/{i}/sku"),
                format!("`{}` is not among the order's lines still to ship", line.sku),
            )),
            Some(l) if l.quantity < line.quantity => out.push(FieldError::new(
                format!("/lines/{i}/quantity"),
                format!("only {} of `{}` are left to ship", l.quantity, line.sku),
            )),
            Some(_) => {}
        }
    }
    out
}

/// Checks line items and payment of an order in `currency`.
pub fn order_problems(items: &[LineItem], payment: &Payment, currency: Currency) -> Vec<FieldError> {
    let mut out = Vec::new();
    if items.is_empty() {
        out.push(FieldError::new("/line_items", "an order needs at least one line item"));
    }
    for (i, item) in items.iter().enumerate() {
        out.extend(text::SKU.check(&format!("/line_items/{i}/sku"), &item.sku));
        if let Some(name) = &item.name {
            out.extend(text::ITEM_NAME.check(&format!("/line_items/{i}/name"), name));
        }
        if item.quantity == 0 {
            out.push(FieldError::new(format!("/line_items/{i}/quantity"), "quantity must be at least 1"));
        }
        if let Err(mut e) = Money::new(item.unit_price, currency).check("") {
            e.pointer = format!("/line_items/{i}/unit_price");
            out.push(e);
        }
    }
    if let Some(cod) = payment.cod(currency) {
        if cod.amount.is_zero() {
            out.push(FieldError::new("/payment/amount", "a cash-on-delivery amount must be greater than 0"));
        } else if let Err(mut e) = cod.check("") {
            e.pointer = "/payment/amount".into();
            out.push(e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn orders_follow_their_shipment_forward_only() {
        use TrackingStatus as T;
        let mut s = OrderStatus::Open;
        for (t, want) in [
            (T::InfoReceived, OrderStatus::Shipped),
            (T::PickedUp, OrderStatus::InTransit),
            (T::InfoReceived, OrderStatus::InTransit),
            (T::Delivered, OrderStatus::Delivered),
            (T::InTransit, OrderStatus::Delivered),
        ] {
            s = s.after_shipment(t);
            assert_eq!(s, want, "after {t:?}");
        }
        assert_eq!(OrderStatus::Shipped.after_shipment(T::Cancelled), OrderStatus::Open);
        assert_eq!(OrderStatus::InTransit.after_shipment(T::Returned), OrderStatus::Returned);
        assert_eq!(OrderStatus::Closed.after_shipment(T::Returned), OrderStatus::Closed);
    }

    #[test]
    fn an_order_stands_where_its_least_advanced_part_stands() {
        use OrderStatus as O;
        use TrackingStatus as T;
        assert_eq!(O::Open.with_shipments(&[T::InfoReceived], false), O::Shipped);
        assert_eq!(O::Shipped.with_shipments(&[T::Delivered, T::InTransit], false), O::InTransit);
        assert_eq!(O::InTransit.with_shipments(&[T::Delivered, T::Delivered], false), O::Delivered);
        // Lines still in no shipment: shipped at most, however far the parts went.
        assert_eq!(O::Open.with_shipments(&[T::Delivered], true), O::Shipped);
        // A new part booked after the first arrived: the order is shipped again, not delivered.
        assert_eq!(O::Delivered.with_shipments(&[T::Delivered, T::InfoReceived], false), O::Shipped);
        assert_eq!(O::InTransit.with_shipments(&[T::Returned, T::Delivered], false), O::Delivered);
        assert_eq!(O::InTransit.with_shipments(&[T::Returned, T::Returned], false), O::Returned);
        assert_eq!(O::Shipped.with_shipments(&[], true), O::Open);
        assert_eq!(O::Ready.with_shipments(&[], false), O::Ready);
        assert_eq!(O::Closed.with_shipments(&[T::InfoReceived], false), O::Closed);
    }

    fn line(sku: &str, quantity: u32) -> ShipmentLine {
        ShipmentLine { sku: sku.into(), quantity }
    }

    fn item(sku: &str, quantity: u32) -> LineItem {
        LineItem { sku: sku.into(), name: None, quantity, unit_price: Decimal::ONE }
    }

    #[test]
    fn lines_left_are_what_no_active_shipment_holds() {
        let items = [item("A", 2), item("B", 1), item("A", 1)];
        assert_eq!(lines_left(&items, &[]), [line("A", 3), line("B", 1)]);
        assert_eq!(lines_left(&items, &[&[line("A", 2)]]), [line("A", 1), line("B", 1)]);
        assert_eq!(lines_left(&items, &[&[line("A", 2)], &[line("A", 1), line("B", 1)]]), []);
        assert_eq!(lines_left(&items, &[&[]]), [], "a shipment without lines holds the whole order");
    }

    #[test]
    fn a_bookings_lines_are_checked_against_what_is_left() {
        let left = [line("A", 2), line("B", 1)];
        assert!(shipment_line_problems(&[line("A", 2)], &left).is_empty());
        let problems: Vec<_> = shipment_line_problems(&[line("A", 3), line("C", 1), line("B", 0), line("A", 1)], &left)
            .into_iter()
            .map(|e| (e.pointer, e.detail))
            .collect();
        assert_eq!(
            problems,
            [
                ("/lines/0/quantity".to_owned(), "only 2 of `A` are left to ship".to_owned()),
                ("/lines/1/sku".to_owned(), "`C` is not among the order's lines still to ship".to_owned()),
                ("/lines/2/quantity".to_owned(), "must be at least 1".to_owned()),
                ("/lines/3/sku".to_owned(), "`A` is listed twice".to_owned()),
            ]
        );
    }

    proptest::proptest! {
        /// However an order is split, what is left plus what was shipped is never more than
        /// what was ordered, and a split that the check accepts always fits.
        #[test]
        fn splitting_an_order_never_ships_more_than_it_holds(
            quantities in proptest::collection::vec(1u32..5, 1..4),
            takes in proptest::collection::vec((0usize..4, 1u32..4), 0..6),
        ) {
            let items: Vec<LineItem> =
                quantities.iter().enumerate().map(|(i, q)| item(&format!("S{i}"), *q)).collect();
            let mut shipped: Vec<Vec<ShipmentLine>> = Vec::new();
            for (sku, q) in takes {
                let views: Vec<&[ShipmentLine]> = shipped.iter().map(Vec::as_slice).collect();
                let left = lines_left(&items, &views);
                let wanted = vec![line(&format!("S{sku}"), q)];
                if shipment_line_problems(&wanted, &left).is_empty() {
                    shipped.push(wanted);
                }
            }
            for (i, ordered) in quantities.iter().enumerate() {
                let sku = format!("S{i}");
                let total: u32 = shipped.iter().flatten().filter(|l| l.sku == sku).map(|l| l.quantity).sum();
                proptest::prop_assert!(total <= *ordered);
            }
        }
    }

    #[test]
    fn payment_is_tagged_by_method() {
        let p: Payment = serde_json::from_str(r#"{"method":"cod","amount":"249.90"}"#).unwrap();
        assert_eq!(p, Payment::Cod { amount: Decimal::from_str("249.90").unwrap() });
        let p: Payment = serde_json::from_str(r#"{"method":"prepaid"}"#).unwrap();
        assert_eq!(p.cod("TRY".parse().unwrap()), None);
    }

    #[test]
    fn line_item_and_cod_problems_are_pointed_at() {
        let items =
            vec![LineItem { sku: "".into(), name: None, quantity: 0, unit_price: Decimal::from_str("1.005").unwrap() }];
        let pointers: Vec<_> = order_problems(&items, &Payment::Cod { amount: Decimal::ZERO }, "TRY".parse().unwrap())
            .into_iter()
            .map(|e| e.pointer)
            .collect();
        assert_eq!(
            pointers,
            vec!["/line_items/0/sku", "/line_items/0/quantity", "/line_items/0/unit_price", "/payment/amount"]
        );
    }
}
