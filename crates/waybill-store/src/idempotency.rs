//! `Idempotency-Key` records: the first request with a key does the work; every repeat gets
//! the first answer back, and a concurrent repeat waits for it instead of doing it again.

use sha2::{Digest, Sha256};
use waybill_core::ids::TenantId;

use crate::{Result, Store, StoreError, args, is_unique_violation, now_ms};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdemRecord {
    pub operation: String,
    pub request_hash: String,
    pub resource_id: Option<String>,
    pub state: String,
    pub response_status: Option<i64>,
    pub response_body: Option<String>,
    pub created_at: i64,
}
crate::sqlite_row!(IdemRecord {
    operation,
    request_hash,
    resource_id,
    state,
    response_status,
    response_body,
    created_at
});

#[derive(Debug, Clone)]
pub enum IdemBegin {
    /// This request holds the key: do the work, then [`Store::idempotency_finish`].
    Started,
    /// The key was used before; here is what that request recorded.
    Seen(IdemRecord),
}

/// A digest of what was asked, so a key reused for a different request is caught.
pub fn request_hash(operation: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(operation.as_bytes());
    h.update([0]);
    h.update(body);
    hex::encode(h.finalize())
}

impl Store {
    /// Claims `key` for this request, or returns what the earlier request with it recorded.
    pub async fn idempotency_begin(
        &self,
        tenant: &TenantId,
        key: &str,
        operation: &str,
        body: &[u8],
        resource_id: &str,
    ) -> Result<IdemBegin> {
        let inserted = self
            .pool
            .execute(
                "INSERT INTO idempotency_keys (tenant_id, key, operation, request_hash, resource_id, state, created_at) \
                 VALUES ($1, $2, $3, $4, $5, 'in_progress', $6)",
                args![tenant.as_str(), key, operation, request_hash(operation, body), resource_id, now_ms()],
            )
            .await;
        match inserted {
            Ok(_) => Ok(IdemBegin::Started),
            Err(e) if is_unique_violation(&e) => Ok(IdemBegin::Seen(self.idempotency_get(tenant, key).await?)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn idempotency_get(&self, tenant: &TenantId, key: &str) -> Result<IdemRecord> {
        self.pool
            .fetch_optional(
                "SELECT operation, request_hash, resource_id, state, response_status, response_body, created_at \
                 FROM idempotency_keys WHERE tenant_id = $1 AND key = $2",
                args![tenant.as_str(), key],
            )
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Stores the answer every repeat of this key will get.
    pub async fn idempotency_finish(&self, tenant: &TenantId, key: &str, status: u16, body: &str) -> Result<()> {
        self.pool
            .execute(
                "UPDATE idempotency_keys SET state = 'done', response_status = $1, response_body = $2 WHERE tenant_id = $3 AND key = $4",
                args![i64::from(status), body, tenant.as_str(), key],
            )
            .await?;
        Ok(())
    }

    /// Lets the key be used again: for answers that say nothing happened and a retry is safe.
    pub async fn idempotency_release(&self, tenant: &TenantId, key: &str) -> Result<()> {
        self.pool
            .execute("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2", args![tenant.as_str(), key])
            .await?;
        Ok(())
    }
}
