//! `Idempotency-Key` records, per tenant and mode: the first request with a key does the work;
//! every repeat gets the first answer back, and a concurrent repeat waits for it instead of
//! doing it again. A record names the node holding it, so a repeat can tell a first request
//! still in flight from one whose node died.

use sha2::{Digest, Sha256};
use waybill_core::Scope;

use crate::{Result, Store, StoreError, args, now_ms};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdemRecord {
    pub operation: String,
    pub request_hash: String,
    pub resource_id: Option<String>,
    pub state: String,
    pub response_status: Option<i64>,
    pub response_body: Option<String>,
    pub created_at: i64,
    /// The node whose request holds the key.
    pub node_id: Option<String>,
}
crate::sqlite_row!(IdemRecord {
    operation,
    request_hash,
    resource_id,
    state,
    response_status,
    response_body,
    created_at,
    node_id
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
    /// Claims `key` in `scope` for this request (made on `node`), or returns what the earlier
    /// request with it recorded.
    pub async fn idempotency_begin(
        &self,
        scope: &Scope,
        key: &str,
        operation: &str,
        body: &[u8],
        resource_id: &str,
        node: &str,
    ) -> Result<IdemBegin> {
        let inserted = self
            .pool
            .execute(
                "INSERT INTO idempotency_keys (tenant_id, mode, key, operation, request_hash, resource_id, state, created_at, node_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'in_progress', $7, $8) ON CONFLICT (tenant_id, mode, key) DO NOTHING",
                args![
                    scope.tenant.as_str(),
                    scope.mode.as_str(),
                    key,
                    operation,
                    request_hash(operation, body),
                    resource_id,
                    now_ms(),
                    node
                ],
            )
            .await?;
        if inserted == 1 {
            return Ok(IdemBegin::Started);
        }
        Ok(IdemBegin::Seen(self.idempotency_get(scope, key).await?))
    }

    pub async fn idempotency_get(&self, scope: &Scope, key: &str) -> Result<IdemRecord> {
        self.pool
            .fetch_optional(
                "SELECT operation, request_hash, resource_id, state, response_status, response_body, created_at, node_id \
                 FROM idempotency_keys WHERE tenant_id = $1 AND mode = $2 AND key = $3",
                args![scope.tenant.as_str(), scope.mode.as_str(), key],
            )
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Stores the answer every repeat of this key will get.
    pub async fn idempotency_finish(&self, scope: &Scope, key: &str, status: u16, body: &str) -> Result<()> {
        self.pool
            .execute(
                "UPDATE idempotency_keys SET state = 'done', response_status = $1, response_body = $2 \
                 WHERE tenant_id = $3 AND mode = $4 AND key = $5",
                args![i64::from(status), body, scope.tenant.as_str(), scope.mode.as_str(), key],
            )
            .await?;
        Ok(())
    }

    /// Lets the key be used again: only for answers that say nothing reached the carrier.
    pub async fn idempotency_release(&self, scope: &Scope, key: &str) -> Result<()> {
        self.pool
            .execute(
                "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND mode = $2 AND key = $3",
                args![scope.tenant.as_str(), scope.mode.as_str(), key],
            )
            .await?;
        Ok(())
    }
}
