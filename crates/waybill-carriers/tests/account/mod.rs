//! The carrier account an adapter test acts for: a fresh id, where its fake carrier listens,
//! and the credentials that carrier expects.

use serde_json::Value;
use waybill_carriers::Account;
use waybill_core::Mode;
use waybill_core::ids::CarrierAccountId;

pub struct TestAccount {
    pub id: CarrierAccountId,
    pub base_url: String,
    pub credentials: Value,
}

impl TestAccount {
    pub fn new(base_url: impl Into<String>, credentials: Value) -> Self {
        Self { id: CarrierAccountId::generate(), base_url: base_url.into(), credentials }
    }

    /// The call context a test-mode account of this carrier gets from the engine.
    pub fn account(&self) -> Account<'_> {
        Account { id: &self.id, mode: Mode::Test, base_url: &self.base_url, credentials: &self.credentials }
    }
}
