//! Order cancellations, each scope's setting for customers cancelling their own orders, and
//! the sealed tokens of the customers' cancellation links.

use waybill_core::cancellation::{CancelledBy, OrderCancellation};
use waybill_core::ids::{OrderId, TenantId};
use waybill_core::{Mode, Scope};

use crate::db::Tx;
use crate::{Result, Store, StoreError, args, named};

#[derive(sqlx::FromRow)]
struct CancellationRow {
    order_id: String,
    tenant_id: String,
    mode: String,
    cancelled_by: String,
    reason: Option<String>,
    cancelled_at: i64,
}
crate::sqlite_row!(CancellationRow { order_id, tenant_id, mode, cancelled_by, reason, cancelled_at });

const SELECT: &str = "SELECT order_id, tenant_id, mode, cancelled_by, reason, cancelled_at FROM order_cancellations \
                      WHERE order_id = $1 AND tenant_id = $2 AND mode = $3";

impl CancellationRow {
    fn into_record(self) -> Result<OrderCancellation> {
        let corrupt = || StoreError::Corrupt(format!("cancellation of {}", self.order_id));
        Ok(OrderCancellation {
            order_id: OrderId::parse(&self.order_id).ok_or_else(corrupt)?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(corrupt)?,
            mode: named(&self.mode, Mode::parse, "cancellation mode")?,
            by: named(&self.cancelled_by, CancelledBy::parse, "who cancelled")?,
            reason: self.reason,
            cancelled_at: self.cancelled_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SettingRow {
    customers_may_cancel: i64,
}
crate::sqlite_row!(SettingRow { customers_may_cancel });

const CANCEL_LINK: &str = "cancel";

impl Store {
    /// The order's cancellation, if it was cancelled.
    pub async fn order_cancellation(&self, scope: &Scope, order: &OrderId) -> Result<Option<OrderCancellation>> {
        let row: Option<CancellationRow> =
            self.pool.fetch_optional(SELECT, args![order.as_str(), scope.tenant.as_str(), scope.mode.as_str()]).await?;
        row.map(CancellationRow::into_record).transpose()
    }

    /// Whether the scope's customers may cancel their own orders (off until turned on).
    pub async fn customers_may_cancel(&self, scope: &Scope) -> Result<bool> {
        let row: Option<SettingRow> = self
            .pool
            .fetch_optional(
                "SELECT customers_may_cancel FROM cancellation_settings WHERE tenant_id = $1 AND mode = $2",
                args![scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        Ok(row.is_some_and(|r| r.customers_may_cancel != 0))
    }

    /// The token of an order's cancellation link for its customer: the tenant, the mode, the
    /// order.
    pub fn cancel_token(&self, scope: &Scope, order: &OrderId) -> String {
        self.sealer
            .seal_token(CANCEL_LINK, &format!("{}\n{}\n{}", scope.tenant.as_str(), scope.mode.as_str(), order.as_str()))
    }

    /// What a cancellation link's token names; `None` when it is not one this deployment made.
    pub fn open_cancel_token(&self, token: &str) -> Option<(Scope, OrderId)> {
        let text = self.sealer.open_token(CANCEL_LINK, token)?;
        let mut parts = text.splitn(3, '\n');
        let tenant = TenantId::parse(parts.next()?)?;
        let mode = Mode::parse(parts.next()?)?;
        Some((Scope::new(tenant, mode), OrderId::parse(parts.next()?)?))
    }
}

impl Tx {
    pub async fn order_cancellation(&mut self, scope: &Scope, order: &OrderId) -> Result<Option<OrderCancellation>> {
        let row: Option<CancellationRow> =
            self.fetch_optional(SELECT, args![order.as_str(), scope.tenant.as_str(), scope.mode.as_str()]).await?;
        row.map(CancellationRow::into_record).transpose()
    }

    /// Records a cancellation unless the order has one; the cancellation as it stands.
    pub async fn insert_order_cancellation(&mut self, c: &OrderCancellation) -> Result<OrderCancellation> {
        self.execute(
            "INSERT INTO order_cancellations (order_id, tenant_id, mode, cancelled_by, reason, cancelled_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id) DO NOTHING",
            args![
                c.order_id.as_str(),
                c.tenant_id.as_str(),
                c.mode.as_str(),
                c.by.as_str(),
                c.reason.as_deref(),
                c.cancelled_at
            ],
        )
        .await?;
        let row: Option<CancellationRow> =
            self.fetch_optional(SELECT, args![c.order_id.as_str(), c.tenant_id.as_str(), c.mode.as_str()]).await?;
        row.ok_or(StoreError::NotFound)?.into_record()
    }

    pub async fn put_customers_may_cancel(&mut self, scope: &Scope, on: bool, now: i64) -> Result<()> {
        self.execute(
            "INSERT INTO cancellation_settings (tenant_id, mode, customers_may_cancel, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, mode) DO UPDATE SET \
             customers_may_cancel = excluded.customers_may_cancel, updated_at = excluded.updated_at",
            args![scope.tenant.as_str(), scope.mode.as_str(), i64::from(on), now],
        )
        .await?;
        Ok(())
    }
}
