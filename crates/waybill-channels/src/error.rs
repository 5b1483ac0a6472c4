//! What can go wrong talking to a channel, sorted by what the caller may safely do next.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// The channel refused the request; sending it again fails the same way.
    #[error("{channel} refused the request: {message}")]
    Rejected { channel: &'static str, message: String },
    /// The channel did not act (could not connect, 5xx, throttled): safe to retry, after
    /// `retry_after` when the channel said how long.
    #[error("{channel} is unavailable: {message}")]
    Unavailable { channel: &'static str, message: String, retry_after: Option<Duration> },
    /// The request went out and no answer came back: the channel may have acted.
    #[error("{channel} did not answer in time; the outcome is unknown: {message}")]
    Unknown { channel: &'static str, message: String },
    /// The connection's credentials were refused (or lack a permission).
    #[error("{channel} refused the connection's credentials: {message}")]
    Auth { channel: &'static str, message: String },
    /// The order (or fulfilment) is not known to the channel.
    #[error("{channel} does not know {what}")]
    NotFound { channel: &'static str, what: String },
    /// The channel answered with something that does not follow its own API.
    #[error("{channel} sent an answer Waybill cannot read: {message}")]
    Protocol { channel: &'static str, message: String },
}

impl ChannelError {
    /// Whether trying again later may succeed. Every call a connector makes is safe to repeat
    /// (fulfilments are looked up before they are made), so an unknown outcome retries too.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Unknown { .. })
    }

    /// How long the channel asked to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
