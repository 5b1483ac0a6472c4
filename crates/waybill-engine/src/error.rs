//! Why a workflow did not do what was asked, in terms the API can answer with.

use waybill_carriers::CarrierError;
use waybill_core::Invalid;
use waybill_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The request itself is wrong; every problem has a pointer.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// A resource the request names does not exist for this tenant.
    #[error("{0} not found")]
    NotFound(String),
    /// The resource is in a state that does not allow this.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Carrier(#[from] CarrierError),
    /// A carrier push that is not signed right or cannot be read.
    #[error(transparent)]
    Push(#[from] waybill_carriers::PushError),
    #[error(transparent)]
    Label(#[from] waybill_labels::LabelError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => EngineError::NotFound("resource".into()),
            other => EngineError::Store(other),
        }
    }
}
