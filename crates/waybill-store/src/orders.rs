//! Orders: one row each, unique per tenant, mode, channel and the channel's own id.

use waybill_core::ids::{ChannelConnectionId, OrderId, TenantId};
use waybill_core::{Mode, Order, OrderStatus, Page, Scope};

use crate::db::{Backend, Tx};
use crate::{Result, Store, StoreError, args, json, named, parse};

#[derive(sqlx::FromRow)]
pub(crate) struct OrderRow {
    id: String,
    tenant_id: String,
    mode: String,
    channel: String,
    external_id: String,
    status: String,
    currency: String,
    payment: String,
    ship_to: String,
    line_items: String,
    locale: Option<String>,
    connection_id: Option<String>,
    number: Option<String>,
    channel_updated_at: Option<i64>,
    assigned_shipping: Option<String>,
    created_at: i64,
    updated_at: i64,
}
crate::sqlite_row!(OrderRow {
    id,
    tenant_id,
    mode,
    channel,
    external_id,
    status,
    currency,
    payment,
    ship_to,
    line_items,
    locale,
    connection_id,
    number,
    channel_updated_at,
    assigned_shipping,
    created_at,
    updated_at
});

macro_rules! order_select {
    ($($rest:literal)*) => {
        concat!(
            "SELECT id, tenant_id, mode, channel, external_id, status, currency, payment, ship_to, line_items, \
             locale, connection_id, number, channel_updated_at, assigned_shipping, created_at, updated_at FROM orders ",
            $($rest),*
        )
    };
}

impl OrderRow {
    pub(crate) fn into_record(self) -> Result<Order> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("order {}: {what}", self.id));
        Ok(Order {
            id: OrderId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(|| corrupt("tenant"))?,
            mode: named(&self.mode, Mode::parse, "order mode")?,
            status: named(&self.status, OrderStatus::parse, "order status")?,
            currency: self.currency.parse().map_err(|_| corrupt("currency"))?,
            payment: parse(&self.payment, "order payment")?,
            ship_to: parse(&self.ship_to, "order address")?,
            line_items: parse(&self.line_items, "order line items")?,
            channel: self.channel,
            external_id: self.external_id,
            locale: self.locale,
            connection_id: self
                .connection_id
                .map(|c| ChannelConnectionId::parse(&c).ok_or_else(|| corrupt("connection")))
                .transpose()?,
            number: self.number,
            channel_updated_at: self.channel_updated_at,
            assigned_shipping: self.assigned_shipping.map(|a| parse(&a, "order's assigned shipping")).transpose()?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct IdRow {
    id: String,
}
crate::sqlite_row!(IdRow { id });

impl Store {
    pub async fn order(&self, scope: &Scope, id: &OrderId) -> Result<Order> {
        let row: OrderRow = self
            .pool
            .fetch_optional(
                order_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3"),
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// The order of the scope with this channel and external id, if there is one.
    pub async fn order_by_external_id(&self, scope: &Scope, channel: &str, external_id: &str) -> Result<Option<Order>> {
        let row: Option<OrderRow> = self
            .pool
            .fetch_optional(
                order_select!("WHERE tenant_id = $1 AND mode = $2 AND channel = $3 AND external_id = $4"),
                args![scope.tenant.as_str(), scope.mode.as_str(), channel, external_id],
            )
            .await?;
        row.map(OrderRow::into_record).transpose()
    }

    pub async fn list_orders(&self, scope: &Scope, after: Option<&OrderId>, limit: u32) -> Result<Page<Order>> {
        let rows: Vec<OrderRow> = self
            .pool
            .fetch_all(
                order_select!("WHERE tenant_id = $1 AND mode = $2 AND id > $3 ORDER BY id LIMIT $4"),
                crate::page_args(scope, after.map(|a| a.as_str()), limit),
            )
            .await?;
        let items = rows.into_iter().map(OrderRow::into_record).collect::<Result<_>>()?;
        Ok(crate::page(items, limit, |o: &Order| o.id.to_string()))
    }
}

impl Tx {
    /// Writes a new order. Another order of the scope with the same channel and external id is
    /// a [`StoreError::Conflict`] naming it (and nothing is written).
    pub async fn insert_order(&mut self, order: &Order) -> Result<()> {
        let inserted = self
            .execute(
                "INSERT INTO orders (id, tenant_id, mode, channel, external_id, status, currency, payment, ship_to, line_items, \
                 created_at, updated_at, locale, connection_id, number, channel_updated_at, assigned_shipping) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
                 ON CONFLICT (tenant_id, mode, channel, external_id) DO NOTHING",
                args![
                    order.id.as_str(),
                    order.tenant_id.as_str(),
                    order.mode.as_str(),
                    &order.channel,
                    &order.external_id,
                    order.status.as_str(),
                    order.currency.code(),
                    json(&order.payment),
                    json(&order.ship_to),
                    json(&order.line_items),
                    order.created_at,
                    order.updated_at,
                    order.locale.clone(),
                    order.connection_id.as_ref().map(|c| c.as_str()),
                    order.number.clone(),
                    order.channel_updated_at,
                    order.assigned_shipping.as_ref().map(json)
                ],
            )
            .await?;
        if inserted == 1 {
            return Ok(());
        }
        let existing: Option<IdRow> = self
            .fetch_optional(
                "SELECT id FROM orders WHERE tenant_id = $1 AND mode = $2 AND channel = $3 AND external_id = $4",
                args![order.tenant_id.as_str(), order.mode.as_str(), &order.channel, &order.external_id],
            )
            .await?;
        Err(StoreError::Conflict(existing.map_or_else(String::new, |e| e.id)))
    }

    /// The order, locked for this transaction on PostgreSQL (SQLite's `BEGIN IMMEDIATE`
    /// already holds the only write lock).
    pub async fn lock_order(&mut self, scope: &Scope, id: &OrderId) -> Result<Order> {
        let a = args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()];
        let row: Option<OrderRow> = match self.backend() {
            Backend::Sqlite => {
                self.fetch_optional(order_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3"), a).await?
            }
            Backend::Postgres => {
                self.fetch_optional(order_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3 FOR UPDATE"), a)
                    .await?
            }
        };
        row.ok_or(StoreError::NotFound)?.into_record()
    }

    /// The order a channel knows as `external_id`, locked like [`Tx::lock_order`].
    pub async fn lock_channel_order(
        &mut self,
        scope: &Scope,
        channel: &str,
        external_id: &str,
    ) -> Result<Option<Order>> {
        let a = args![scope.tenant.as_str(), scope.mode.as_str(), channel, external_id];
        let row: Option<OrderRow> = match self.backend() {
            Backend::Sqlite => {
                self.fetch_optional(
                    order_select!("WHERE tenant_id = $1 AND mode = $2 AND channel = $3 AND external_id = $4"),
                    a,
                )
                .await?
            }
            Backend::Postgres => {
                self.fetch_optional(
                    order_select!(
                        "WHERE tenant_id = $1 AND mode = $2 AND channel = $3 AND external_id = $4 FOR UPDATE"
                    ),
                    a,
                )
                .await?
            }
        };
        row.map(OrderRow::into_record).transpose()
    }

    /// Writes what a channel may change on an order (locked first): its address, lines,
    /// payment, language, status, number, the carrier it assigned and the channel's change time.
    pub async fn update_channel_order(&mut self, order: &Order) -> Result<()> {
        self.execute(
            "UPDATE orders SET ship_to = $1, line_items = $2, payment = $3, currency = $4, locale = $5, status = $6, \
             number = $7, channel_updated_at = $8, updated_at = $9, assigned_shipping = $13 \
             WHERE id = $10 AND tenant_id = $11 AND mode = $12",
            args![
                json(&order.ship_to),
                json(&order.line_items),
                json(&order.payment),
                order.currency.code(),
                order.locale.clone(),
                order.status.as_str(),
                order.number.clone(),
                order.channel_updated_at,
                order.updated_at,
                order.id.as_str(),
                order.tenant_id.as_str(),
                order.mode.as_str(),
                order.assigned_shipping.as_ref().map(json)
            ],
        )
        .await?;
        Ok(())
    }

    /// Writes the order's status (locked by [`Tx::lock_order`]).
    pub async fn update_order_status(&mut self, order: &Order) -> Result<()> {
        self.execute(
            "UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND tenant_id = $4 AND mode = $5",
            args![
                order.status.as_str(),
                order.updated_at,
                order.id.as_str(),
                order.tenant_id.as_str(),
                order.mode.as_str()
            ],
        )
        .await?;
        Ok(())
    }
}
