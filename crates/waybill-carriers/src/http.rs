//! Sending a request to a carrier and sorting failures into [`CarrierError`] kinds.

use std::time::Duration;

use crate::CarrierError;

/// Whether sending the same request twice is harmless. Decides what a timeout means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeatable {
    Yes,
    No,
}

/// Sends `request`; transport failures become the right [`CarrierError`]. A timeout on a
/// request that changes something is `Unknown`: the carrier may have acted on it.
pub async fn send(
    carrier: &'static str,
    request: reqwest::RequestBuilder,
    repeatable: Repeatable,
) -> Result<reqwest::Response, CarrierError> {
    request.send().await.map_err(|e| {
        let message = e.to_string();
        if e.is_connect() || (e.is_timeout() && repeatable == Repeatable::Yes) {
            CarrierError::Unavailable { carrier, message, retry_after: None }
        } else if e.is_timeout() || e.is_request() {
            if repeatable == Repeatable::Yes {
                CarrierError::Unavailable { carrier, message, retry_after: None }
            } else {
                CarrierError::Unknown { carrier, message }
            }
        } else {
            CarrierError::Protocol { carrier, message }
        }
    })
}

/// `Retry-After` in seconds, when the carrier sent one.
pub fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}
