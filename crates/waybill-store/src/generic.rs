//! Generic (no-API) carrier accounts: their settings and their tracking-number counter.

use waybill_core::ids::{CarrierAccountId, TenantId};

use crate::{CarrierAccount, NewCarrierAccount, Result, Store, args};

#[derive(sqlx::FromRow)]
struct NumberRow {
    number: i64,
}
crate::sqlite_row!(NumberRow { number });

impl Store {
    /// Creates an account that carries `settings` (shown by the API, not sealed) and, for
    /// accounts with a number range, its first free number.
    pub async fn create_configured_carrier_account(
        &self,
        tenant: &TenantId,
        new: NewCarrierAccount,
        settings: serde_json::Value,
        next_number: Option<i64>,
    ) -> Result<CarrierAccount> {
        self.insert_carrier_account(tenant, new, Some(settings), next_number).await
    }

    /// Takes the account's next tracking number, or `None` once it is past `last`. One
    /// statement reads and moves the counter under the row's write lock, so two bookings (on
    /// any node) never get the same number; a crash after this leaves a gap, never a repeat.
    pub async fn take_tracking_number(
        &self,
        tenant: &TenantId,
        id: &CarrierAccountId,
        last: i64,
    ) -> Result<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        let row: Option<NumberRow> = tx
            .fetch_optional(
                "UPDATE carrier_accounts SET next_number = next_number + 1 \
                 WHERE id = $1 AND tenant_id = $2 AND next_number <= $3 RETURNING next_number - 1 AS number",
                args![id.as_str(), tenant.as_str(), last],
            )
            .await?;
        tx.commit().await?;
        Ok(row.map(|r| r.number))
    }
}
