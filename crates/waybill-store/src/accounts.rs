//! Carrier accounts. Credentials and the push secret are sealed before they are written.

use serde::{Deserialize, Serialize};
use waybill_core::account::CarrierAccount;
use waybill_core::ids::{CarrierAccountId, TenantId};
use waybill_core::{Mode, Page, Scope};

use crate::db::Tx;
use crate::{Result, Store, StoreError, args, named};

/// The sealed part of a carrier account: never shown by the API, never stored in the clear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSecrets {
    pub credentials: serde_json::Value,
    /// The secret the carrier signs its pushes to us with.
    pub push_secret: String,
}

/// An account to create, with its secrets still in the clear.
#[derive(Debug, Clone)]
pub struct NewCarrierAccount {
    pub account: CarrierAccount,
    pub secrets: AccountSecrets,
    /// For generic accounts with a number range: its first free number.
    pub next_number: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    tenant_id: String,
    carrier: String,
    mode: String,
    description: Option<String>,
    base_url: Option<String>,
    settings: Option<String>,
    created_at: i64,
    updated_at: i64,
}
crate::sqlite_row!(AccountRow {
    id,
    tenant_id,
    carrier,
    mode,
    description,
    base_url,
    settings,
    created_at,
    updated_at
});

macro_rules! account_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, tenant_id, carrier, mode, description, base_url, settings, created_at, updated_at \
             FROM carrier_accounts ",
            $rest
        )
    };
}

impl AccountRow {
    fn into_record(self) -> Result<CarrierAccount> {
        let corrupt = || StoreError::Corrupt(format!("carrier account {}", self.id));
        Ok(CarrierAccount {
            id: CarrierAccountId::parse(&self.id).ok_or_else(corrupt)?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(corrupt)?,
            mode: named(&self.mode, Mode::parse, "account mode")?,
            carrier: self.carrier,
            description: self.description,
            base_url: self.base_url,
            settings: self.settings.map(|s| crate::parse(&s, "account settings")).transpose()?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    sealed_secrets: String,
}
crate::sqlite_row!(SealedRow { sealed_secrets });

impl Store {
    /// Seals `new`'s secrets for [`Tx::insert_carrier_account`].
    pub fn seal_secrets(&self, secrets: &AccountSecrets) -> String {
        self.sealer.seal(crate::json(secrets).as_bytes())
    }

    pub async fn carrier_account(&self, scope: &Scope, id: &CarrierAccountId) -> Result<CarrierAccount> {
        let row: AccountRow = self
            .pool
            .fetch_optional(
                account_select!("WHERE id = $1 AND tenant_id = $2 AND mode = $3"),
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// An account found by id alone: only for carrier pushes, whose URL names the account and
    /// whose signature (checked with the account's secret) proves the sender.
    pub async fn carrier_account_for_push(&self, id: &CarrierAccountId) -> Result<CarrierAccount> {
        let row: AccountRow = self
            .pool
            .fetch_optional(account_select!("WHERE id = $1"), args![id.as_str()])
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    pub async fn account_secrets(&self, scope: &Scope, id: &CarrierAccountId) -> Result<AccountSecrets> {
        let row: SealedRow = self
            .pool
            .fetch_optional(
                "SELECT sealed_secrets FROM carrier_accounts WHERE id = $1 AND tenant_id = $2 AND mode = $3",
                args![id.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        let plain = self.sealer.open(&row.sealed_secrets)?;
        serde_json::from_slice(&plain).map_err(|e| StoreError::Corrupt(format!("account secrets: {e}")))
    }

    pub async fn list_carrier_accounts(
        &self,
        scope: &Scope,
        after: Option<&CarrierAccountId>,
        limit: u32,
    ) -> Result<Page<CarrierAccount>> {
        let rows: Vec<AccountRow> = self
            .pool
            .fetch_all(
                account_select!("WHERE tenant_id = $1 AND mode = $2 AND id > $3 ORDER BY id LIMIT $4"),
                crate::page_args(scope, after.map(|a| a.as_str()), limit),
            )
            .await?;
        let items = rows.into_iter().map(AccountRow::into_record).collect::<Result<_>>()?;
        Ok(crate::page(items, limit, |a: &CarrierAccount| a.id.to_string()))
    }
}

impl Tx {
    /// Writes a new account with its sealed secrets (see [`Store::seal_secrets`]).
    pub async fn insert_carrier_account(&mut self, new: &NewCarrierAccount, sealed: String) -> Result<()> {
        let a = &new.account;
        self.execute(
            "INSERT INTO carrier_accounts (id, tenant_id, carrier, mode, description, base_url, sealed_secrets, created_at, \
             settings, next_number, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            args![
                a.id.as_str(),
                a.tenant_id.as_str(),
                &a.carrier,
                a.mode.as_str(),
                a.description.clone(),
                a.base_url.clone(),
                sealed,
                a.created_at,
                a.settings.as_ref().map(crate::json),
                new.next_number,
                a.updated_at
            ],
        )
        .await?;
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct HolidayRow {
    day: String,
    name: String,
}
crate::sqlite_row!(HolidayRow { day, name });

impl Store {
    /// The days the account's carrier does not deliver on, by date.
    pub async fn carrier_holidays(
        &self,
        scope: &Scope,
        account: &waybill_core::ids::CarrierAccountId,
    ) -> Result<Vec<waybill_core::account::Holiday>> {
        let rows: Vec<HolidayRow> = self
            .pool
            .fetch_all(
                "SELECT day, name FROM carrier_holidays WHERE carrier_account_id = $1 AND tenant_id = $2 \
                 AND mode = $3 ORDER BY day",
                args![account.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
            )
            .await?;
        rows.into_iter()
            .map(|r| {
                let date = r
                    .day
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("holiday `{}` of carrier account {account}", r.day)))?;
                Ok(waybill_core::account::Holiday { date, name: r.name })
            })
            .collect()
    }
}

impl Tx {
    /// Replaces the account's whole calendar.
    pub async fn replace_carrier_holidays(
        &mut self,
        scope: &Scope,
        account: &waybill_core::ids::CarrierAccountId,
        days: &[waybill_core::account::Holiday],
    ) -> Result<()> {
        self.execute(
            "DELETE FROM carrier_holidays WHERE carrier_account_id = $1 AND tenant_id = $2 AND mode = $3",
            args![account.as_str(), scope.tenant.as_str(), scope.mode.as_str()],
        )
        .await?;
        for day in days {
            self.execute(
                "INSERT INTO carrier_holidays (carrier_account_id, tenant_id, mode, day, name) VALUES ($1, $2, $3, $4, $5)",
                args![account.as_str(), scope.tenant.as_str(), scope.mode.as_str(), day.date.to_string(), &day.name],
            )
            .await?;
        }
        Ok(())
    }
}
