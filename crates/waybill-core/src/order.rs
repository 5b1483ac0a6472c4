//! Orders: what was sold, how it was paid, and where it stands.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::address::Address;
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
