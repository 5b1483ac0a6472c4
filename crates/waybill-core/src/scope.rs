//! Who a request or a job acts for: one tenant, in one mode. Every read and write of tenant
//! data takes a [`Scope`], so test objects are invisible to live keys and the other way round,
//! exactly as another tenant's objects are.

use serde::{Deserialize, Serialize};

use crate::ids::TenantId;

crate::named_enum! {
    /// Test or live: which of a carrier's environments an API key, a carrier account, an order or
    /// a shipment belongs to. Objects of one mode are never seen or touched from the other.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum Mode as "lowercase" {
        Test,
        Live,
    }
}

/// One tenant in one mode: what an API key acts as, and what every stored object belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Scope {
    pub tenant: TenantId,
    pub mode: Mode,
}

impl Scope {
    pub fn new(tenant: TenantId, mode: Mode) -> Self {
        Self { tenant, mode }
    }

    pub fn test(tenant: TenantId) -> Self {
        Self { tenant, mode: Mode::Test }
    }

    pub fn live(tenant: TenantId) -> Self {
        Self { tenant, mode: Mode::Live }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_names_round_trip() {
        for mode in Mode::ALL {
            assert_eq!(Mode::parse(mode.as_str()), Some(*mode));
            assert_eq!(serde_json::to_value(mode).unwrap(), mode.as_str());
        }
        assert_eq!(Mode::parse("Live"), None, "names are exact");
    }
}
