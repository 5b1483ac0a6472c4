//! Why a workflow did not do what was asked, in terms the API can answer with.

use waybill_carriers::CarrierError;
use waybill_core::Invalid;
use waybill_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The request itself is wrong; every problem has a pointer.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// A resource the request names does not exist in the caller's scope.
    #[error("{0} not found")]
    NotFound(String),
    /// The resource is in a state that does not allow this.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Carrier(#[from] CarrierError),
    /// A push to an account that does not exist, is another carrier's, or whose signature
    /// does not check: answered alike, so a stranger learns nothing about which accounts exist.
    #[error("the push is not signed for this endpoint")]
    PushRefused,
    #[error(transparent)]
    Channel(#[from] waybill_channels::ChannelError),
    /// A channel webhook for a connection that does not exist, is another channel's, or whose
    /// signature (or registered secret) does not check: answered alike.
    #[error("the webhook is not signed for this endpoint")]
    HookRefused,
    /// A correctly signed carrier push that cannot be read.
    #[error(transparent)]
    Push(#[from] waybill_carriers::PushError),
    #[error(transparent)]
    Label(#[from] waybill_labels::LabelError),
    /// The database cannot serve now (busy, full, unreachable): nothing was done; try later.
    #[error(transparent)]
    Unavailable(StoreError),
    /// Our own fault (a database error, stored data that cannot be read): logged, answered 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for EngineError {
    /// A store error met in the middle of a workflow is never "not found" for the caller: a
    /// missing row there is our fault. Lookups of what the caller named use [`Found`].
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => EngineError::Unavailable(e),
            other => EngineError::Internal(other.to_string()),
        }
    }
}

/// Turns a store lookup of something the caller named into a real "not found".
pub(crate) trait Found<T> {
    fn found(self, what: impl FnOnce() -> String) -> Result<T, EngineError>;
}

impl<T> Found<T> for Result<T, StoreError> {
    fn found(self, what: impl FnOnce() -> String) -> Result<T, EngineError> {
        match self {
            Ok(v) => Ok(v),
            Err(StoreError::NotFound) => Err(EngineError::NotFound(what())),
            Err(e) => Err(e.into()),
        }
    }
}

impl EngineError {
    /// Whether a carrier answered and refused: the one error that is an answer for good (an
    /// `Idempotency-Key` keeps it). Every other error means no carrier acted, so the request may
    /// be sent again; a booking whose carrier may have acted is never an error at all: it is
    /// answered `unknown` and reconciled.
    pub fn is_carrier_refusal(&self) -> bool {
        matches!(self, EngineError::Carrier(c) if !c.is_transient())
    }
}
