//! Locations: the warehouses and stores a tenant ships from. A booking that names no sender
//! ships from its location (the one it names, its channel connection's, or the default one).

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::ids::{LocationId, TenantId};
use crate::scope::{Mode, Scope};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub id: LocationId,
    pub tenant_id: TenantId,
    pub mode: Mode,
    pub name: String,
    pub address: Address,
    /// The sender of bookings that name neither a `ship_from` nor a location.
    pub is_default: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Location {
    pub fn scope(&self) -> Scope {
        Scope::new(self.tenant_id.clone(), self.mode)
    }
}
