//! Waybill's domain: the types and rules every other crate shares.
//!
//! This crate does no I/O. It knows nothing about HTTP, SQL or any carrier; it says what an
//! order, a shipment, a parcel, an address, a tracking status and a money amount are, which
//! inputs are valid (with a JSON pointer for every problem), how statuses may move, which
//! [events](event::Event) a change emits, and the JSON shapes the API, webhooks and pages
//! show ([`api`]).

pub mod account;
pub mod address;
pub mod api;
pub mod branding;
pub mod cancellation;
pub mod change;
pub mod channel;
pub mod credentials;
pub mod error;
pub mod event;
pub mod ids;
pub mod information;
pub mod inventory;
pub mod location;
pub mod manifest;
pub mod message;
pub mod money;
pub mod ndr;
pub mod notification;
pub mod order;
pub mod parcel;
pub mod pickup;
pub mod rto;
pub mod scope;
pub mod secret;
pub mod shipment;
pub mod text;
pub mod tracking;
pub mod units;
pub mod webhook;

pub use address::Address;
pub use error::{FieldError, Invalid};
pub use event::Event;
pub use message::{Language, MessageChannel, Milestone};
pub use money::{Currency, Money};
pub use order::{LineItem, Order, OrderStatus, Payment};
pub use parcel::{Parcel, Routing};
pub use scope::{Mode, Scope};
pub use shipment::{BookingError, BookingState, ScanSource, Shipment, TrackingEvent};
pub use tracking::{NdrReason, TrackingState, TrackingStatus};

/// Declares an enum whose variants travel as names (in JSON and in the database), written in
/// `$case` (`"snake_case"`, `"lowercase"`): serde and strum derive the names, and the enum gets
/// the `as_str`, `parse` and `ALL` its callers use.
#[macro_export]
#[doc(hidden)]
macro_rules! named_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident as $case:literal { $($(#[$vmeta:meta])* $variant:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
            strum::IntoStaticStr, strum::EnumString, strum::VariantArray,
        )]
        #[serde(rename_all = $case)]
        #[strum(serialize_all = $case)]
        $vis enum $name { $($(#[$vmeta])* $variant),* }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = <$name as strum::VariantArray>::VARIANTS;

            /// The name used in JSON and in the database.
            pub fn as_str(self) -> &'static str {
                self.into()
            }

            /// The variant with this exact name.
            pub fn parse(s: &str) -> Option<Self> {
                s.parse().ok()
            }
        }
    };
}

/// One page of a list, and the cursor for the next page when there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<String>,
}
