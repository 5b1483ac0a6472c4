//! Tenants and their API keys. Keys are random; only their SHA-256 is stored.

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};
use waybill_core::ids::{ApiKeyId, TenantId};
use waybill_core::{Mode, Scope};

use crate::{Result, Store, StoreError, args, now_ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: String,
    name: String,
    created_at: i64,
}
crate::sqlite_row!(TenantRow { id, name, created_at });

#[derive(sqlx::FromRow)]
struct KeyRow {
    tenant_id: String,
    mode: String,
}
crate::sqlite_row!(KeyRow { tenant_id, mode });

fn key_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl Store {
    pub async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        let tenant = Tenant { id: TenantId::generate(), name: name.to_owned(), created_at: now_ms() };
        self.pool
            .execute(
                "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)",
                args![tenant.id.as_str(), name, tenant.created_at],
            )
            .await?;
        Ok(tenant)
    }

    pub async fn tenant(&self, id: &TenantId) -> Result<Tenant> {
        let row: TenantRow = self
            .pool
            .fetch_optional("SELECT id, name, created_at FROM tenants WHERE id = $1", args![id.as_str()])
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Tenant {
            id: TenantId::parse(&row.id).ok_or_else(|| StoreError::Corrupt(row.id.clone()))?,
            name: row.name,
            created_at: row.created_at,
        })
    }

    pub async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>> {
        let row: Option<TenantRow> = self
            .pool
            .fetch_optional("SELECT id, name, created_at FROM tenants WHERE name = $1 ORDER BY id LIMIT 1", args![name])
            .await?;
        Ok(row.and_then(|r| Some(Tenant { id: TenantId::parse(&r.id)?, name: r.name, created_at: r.created_at })))
    }

    /// Makes a key for `tenant` and returns it. This is the only time the key is visible.
    pub async fn create_api_key(&self, tenant: &TenantId, mode: Mode) -> Result<String> {
        self.tenant(tenant).await?;
        let random: String = rand::rng().sample_iter(&Alphanumeric).take(32).map(char::from).collect();
        let secret = format!("wb_{}_{random}", mode.as_str());
        let hint = format!("{}…{}", &secret[..11], &secret[secret.len() - 4..]);
        self.pool
            .execute(
                "INSERT INTO api_keys (id, tenant_id, mode, key_hash, hint, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                args![ApiKeyId::generate().as_str(), tenant.as_str(), mode.as_str(), key_hash(&secret), hint, now_ms()],
            )
            .await?;
        Ok(secret)
    }

    /// The tenant and mode of an unrevoked key, or `None`.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Scope>> {
        let row: Option<KeyRow> = self
            .pool
            .fetch_optional(
                "SELECT tenant_id, mode FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
                args![key_hash(secret)],
            )
            .await?;
        Ok(row.and_then(|r| Some(Scope::new(TenantId::parse(&r.tenant_id)?, Mode::parse(&r.mode)?))))
    }
}
