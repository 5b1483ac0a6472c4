//! Orders: one row each, unique per tenant, channel and the channel's own id.

use waybill_core::OrderStatus;
use waybill_core::ids::{OrderId, TenantId};

use crate::{NewOrder, Order, Page, Result, Store, StoreError, args, is_unique_violation, json, now_ms, parse};

#[derive(sqlx::FromRow)]
pub(crate) struct OrderRow {
    id: String,
    tenant_id: String,
    channel: String,
    external_id: String,
    status: String,
    currency: String,
    payment: String,
    ship_to: String,
    line_items: String,
    created_at: i64,
    updated_at: i64,
}
crate::sqlite_row!(OrderRow {
    id,
    tenant_id,
    channel,
    external_id,
    status,
    currency,
    payment,
    ship_to,
    line_items,
    created_at,
    updated_at
});

impl OrderRow {
    pub(crate) fn into_record(self) -> Result<Order> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("order {}: {what}", self.id));
        Ok(Order {
            id: OrderId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(|| corrupt("tenant"))?,
            status: OrderStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            currency: self.currency.parse().map_err(|_| corrupt("currency"))?,
            payment: parse(&self.payment, "order payment")?,
            ship_to: parse(&self.ship_to, "order address")?,
            line_items: parse(&self.line_items, "order line items")?,
            channel: self.channel,
            external_id: self.external_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl Store {
    /// Creates an order; a second order with the same channel and external id is a conflict
    /// that names the first one.
    pub async fn create_order(&self, tenant: &TenantId, new: NewOrder) -> Result<Order> {
        let now = now_ms();
        let order = Order {
            id: OrderId::generate(),
            tenant_id: tenant.clone(),
            channel: new.channel,
            external_id: new.external_id,
            status: OrderStatus::Open,
            currency: new.currency,
            payment: new.payment,
            ship_to: new.ship_to,
            line_items: new.line_items,
            created_at: now,
            updated_at: now,
        };
        let inserted = self
            .pool
            .execute(
                "INSERT INTO orders (id, tenant_id, channel, external_id, status, currency, payment, ship_to, line_items, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                args![
                    order.id.as_str(),
                    tenant.as_str(),
                    &order.channel,
                    &order.external_id,
                    order.status.as_str(),
                    order.currency.code(),
                    json(&order.payment),
                    json(&order.ship_to),
                    json(&order.line_items),
                    now,
                    now
                ],
            )
            .await;
        match inserted {
            Ok(_) => Ok(order),
            Err(e) if is_unique_violation(&e) => {
                #[derive(sqlx::FromRow)]
                struct Existing {
                    id: String,
                }
                crate::sqlite_row!(Existing { id });
                let existing: Option<Existing> = self
                    .pool
                    .fetch_optional(
                        "SELECT id FROM orders WHERE tenant_id = $1 AND channel = $2 AND external_id = $3",
                        args![tenant.as_str(), &order.channel, &order.external_id],
                    )
                    .await?;
                Err(StoreError::Conflict(existing.map_or_else(String::new, |e| e.id)))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn order(&self, tenant: &TenantId, id: &OrderId) -> Result<Order> {
        let row: OrderRow = self
            .pool
            .fetch_optional(
                "SELECT id, tenant_id, channel, external_id, status, currency, payment, ship_to, line_items, created_at, updated_at \
                 FROM orders WHERE id = $1 AND tenant_id = $2",
                args![id.as_str(), tenant.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    pub async fn list_orders(&self, tenant: &TenantId, after: Option<&str>, limit: u32) -> Result<Page<Order>> {
        let rows: Vec<OrderRow> = self
            .pool
            .fetch_all(
                "SELECT id, tenant_id, channel, external_id, status, currency, payment, ship_to, line_items, created_at, updated_at \
                 FROM orders WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                args![tenant.as_str(), after.unwrap_or(""), i64::from(limit) + 1],
            )
            .await?;
        crate::page(rows.into_iter().map(OrderRow::into_record).collect::<Result<_>>()?, limit, |o: &Order| {
            o.id.to_string()
        })
    }

    /// Closes a delivered order. Returns whether it was closed now.
    pub async fn close_order(&self, tenant: &TenantId, id: &OrderId) -> Result<bool> {
        let n = self
            .pool
            .execute(
                "UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND tenant_id = $4 AND status = $5",
                args![
                    OrderStatus::Closed.as_str(),
                    now_ms(),
                    id.as_str(),
                    tenant.as_str(),
                    OrderStatus::Delivered.as_str()
                ],
            )
            .await?;
        Ok(n == 1)
    }
}
