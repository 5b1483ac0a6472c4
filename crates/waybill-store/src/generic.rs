//! Generic (no-API) carrier accounts: their tracking-number counter.

use waybill_core::Scope;
use waybill_core::ids::CarrierAccountId;

use crate::{Result, Store, args};

#[derive(sqlx::FromRow)]
struct NumberRow {
    number: i64,
}
crate::sqlite_row!(NumberRow { number });

impl Store {
    /// Takes the account's next tracking number, or `None` once it is past `last`. One
    /// statement reads and moves the counter under the row's write lock, so two bookings (on
    /// any node) never get the same number; a crash after this leaves a gap, never a repeat.
    pub async fn take_tracking_number(&self, scope: &Scope, id: &CarrierAccountId, last: i64) -> Result<Option<i64>> {
        let rows: Vec<NumberRow> = self
            .pool
            .write_returning(
                "UPDATE carrier_accounts SET next_number = next_number + 1 \
                 WHERE id = $1 AND tenant_id = $2 AND mode = $3 AND next_number <= $4 RETURNING next_number - 1 AS number",
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str(), last],
            )
            .await?;
        Ok(rows.into_iter().next().map(|r| r.number))
    }
}
