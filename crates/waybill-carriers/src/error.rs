//! What can go wrong talking to a carrier, sorted by what the caller may safely do next.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarrierError {
    /// The carrier refused the request; sending it again fails the same way.
    #[error("{carrier} refused the request: {code}: {message}")]
    Rejected { carrier: &'static str, code: String, message: String, field: Option<String> },
    /// The carrier did not act (could not connect, 5xx before acting, 429): safe to retry.
    #[error("{carrier} is unavailable: {message}")]
    Unavailable { carrier: &'static str, message: String, retry_after: Option<Duration> },
    /// The request went out and no answer came back: the carrier may have acted. Reconcile.
    #[error("{carrier} did not answer in time; the outcome is unknown: {message}")]
    Unknown { carrier: &'static str, message: String },
    /// The account's credentials were refused.
    #[error("{carrier} refused the account's credentials: {message}")]
    Auth { carrier: &'static str, message: String },
    /// The shipment or tracking number is not known to the carrier.
    #[error("{carrier} does not know {what}")]
    NotFound { carrier: &'static str, what: String },
    /// The carrier (or this adapter) does not offer the operation.
    #[error("{carrier} does not offer {operation}")]
    Unsupported { carrier: &'static str, operation: &'static str },
    /// The carrier answered with something that does not follow its own API.
    #[error("{carrier} sent an answer Waybill cannot read: {message}")]
    Protocol { carrier: &'static str, message: String },
}

impl CarrierError {
    /// Whether trying the same call again later may succeed without risk of doing it twice.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// The carrier's own error code, kept for the merchant.
    pub fn carrier_code(&self) -> Option<&str> {
        match self {
            Self::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }
}
