//! Carrier accounts. Credentials and the push secret are sealed before they are written.

use waybill_core::Mode;
use waybill_core::ids::{CarrierAccountId, TenantId};

use crate::{AccountSecrets, CarrierAccount, NewCarrierAccount, Page, Result, Store, StoreError, args, now_ms};

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
}
crate::sqlite_row!(AccountRow { id, tenant_id, carrier, mode, description, base_url, settings, created_at });

impl AccountRow {
    fn into_record(self) -> Result<CarrierAccount> {
        let corrupt = || StoreError::Corrupt(format!("carrier account {}", self.id));
        Ok(CarrierAccount {
            id: CarrierAccountId::parse(&self.id).ok_or_else(corrupt)?,
            tenant_id: TenantId::parse(&self.tenant_id).ok_or_else(corrupt)?,
            mode: Mode::parse(&self.mode).ok_or_else(corrupt)?,
            carrier: self.carrier,
            description: self.description,
            base_url: self.base_url,
            settings: self.settings.map(|s| crate::parse(&s, "account settings")).transpose()?,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    sealed_secrets: String,
}
crate::sqlite_row!(SealedRow { sealed_secrets });

impl Store {
    pub async fn create_carrier_account(&self, tenant: &TenantId, new: NewCarrierAccount) -> Result<CarrierAccount> {
        self.insert_carrier_account(tenant, new, None, None).await
    }

    /// The account row, with the settings and number counter only generic carriers use.
    pub(crate) async fn insert_carrier_account(
        &self,
        tenant: &TenantId,
        new: NewCarrierAccount,
        settings: Option<serde_json::Value>,
        next_number: Option<i64>,
    ) -> Result<CarrierAccount> {
        let account = CarrierAccount {
            id: CarrierAccountId::generate(),
            tenant_id: tenant.clone(),
            carrier: new.carrier,
            mode: new.mode,
            description: new.description,
            base_url: new.base_url,
            settings,
            created_at: now_ms(),
        };
        let sealed = self.sealer.seal(crate::json(&new.secrets).as_bytes());
        self.pool
            .execute(
                "INSERT INTO carrier_accounts (id, tenant_id, carrier, mode, description, base_url, sealed_secrets, created_at, \
                 settings, next_number) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                args![
                    account.id.as_str(),
                    tenant.as_str(),
                    &account.carrier,
                    account.mode.as_str(),
                    account.description.clone(),
                    account.base_url.clone(),
                    sealed,
                    account.created_at,
                    account.settings.as_ref().map(crate::json),
                    next_number
                ],
            )
            .await?;
        Ok(account)
    }

    pub async fn carrier_account(&self, tenant: &TenantId, id: &CarrierAccountId) -> Result<CarrierAccount> {
        let row: AccountRow = self
            .pool
            .fetch_optional(
                "SELECT id, tenant_id, carrier, mode, description, base_url, settings, created_at FROM carrier_accounts WHERE id = $1 AND tenant_id = $2",
                args![id.as_str(), tenant.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        row.into_record()
    }

    /// An account found by id alone: only for carrier pushes, whose URL names the account and
    /// whose signature (checked with the account's secret) proves the sender.
    pub async fn carrier_account_for_push(&self, id: &CarrierAccountId) -> Result<(CarrierAccount, AccountSecrets)> {
        let row: AccountRow = self
            .pool
            .fetch_optional(
                "SELECT id, tenant_id, carrier, mode, description, base_url, settings, created_at FROM carrier_accounts WHERE id = $1",
                args![id.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        let account = row.into_record()?;
        let secrets = self.account_secrets(&account.tenant_id, &account.id).await?;
        Ok((account, secrets))
    }

    pub async fn account_secrets(&self, tenant: &TenantId, id: &CarrierAccountId) -> Result<AccountSecrets> {
        let row: SealedRow = self
            .pool
            .fetch_optional(
                "SELECT sealed_secrets FROM carrier_accounts WHERE id = $1 AND tenant_id = $2",
                args![id.as_str(), tenant.as_str()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        let plain = self.sealer.open(&row.sealed_secrets)?;
        serde_json::from_slice(&plain).map_err(|e| StoreError::Corrupt(format!("account secrets: {e}")))
    }

    pub async fn list_carrier_accounts(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<CarrierAccount>> {
        let rows: Vec<AccountRow> = self
            .pool
            .fetch_all(
                "SELECT id, tenant_id, carrier, mode, description, base_url, settings, created_at FROM carrier_accounts \
                 WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                args![tenant.as_str(), after.unwrap_or(""), i64::from(limit) + 1],
            )
            .await?;
        crate::page(
            rows.into_iter().map(AccountRow::into_record).collect::<Result<_>>()?,
            limit,
            |a: &CarrierAccount| a.id.to_string(),
        )
    }
}
