//! Waybill's domain: the types and rules every other crate shares.
//!
//! This crate does no I/O. It knows nothing about HTTP, SQL or any carrier; it says what an
//! order, a parcel, an address, a tracking status and a money amount are, which inputs are
//! valid (with a JSON pointer for every problem), and how statuses may move.

pub mod address;
pub mod error;
pub mod ids;
pub mod money;
pub mod order;
pub mod parcel;
pub mod tracking;
pub mod units;

pub use address::Address;
pub use error::{FieldError, Invalid};
pub use money::{Currency, Money};
pub use order::{LineItem, OrderStatus, Payment};
pub use parcel::{Parcel, Routing};
pub use tracking::{NdrReason, TrackingState, TrackingStatus};

/// Test or live: which of a carrier's environments an API key or carrier account talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "test" => Some(Mode::Test),
            "live" => Some(Mode::Live),
            _ => None,
        }
    }
}
