//! Carrier accounts: a tenant's credentials for one carrier, in one mode. The credentials
//! themselves are sealed by the store and never part of this record.

use serde::{Deserialize, Serialize};

use crate::ids::{CarrierAccountId, TenantId};
use crate::scope::{Mode, Scope};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CarrierAccount {
    pub id: CarrierAccountId,
    pub tenant_id: TenantId,
    pub carrier: String,
    pub mode: Mode,
    pub description: Option<String>,
    /// Overrides the carrier's host for this account (tests, the demo, a carrier's regional host).
    pub base_url: Option<String>,
    /// What the tenant told us about a carrier without an API (`generic`); `None` for others.
    pub settings: Option<serde_json::Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl CarrierAccount {
    pub fn scope(&self) -> Scope {
        Scope::new(self.tenant_id.clone(), self.mode)
    }
}
