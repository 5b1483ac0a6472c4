//! Sending a request to a carrier and sorting failures into [`CarrierError`] kinds.

use std::time::Duration;

use serde::de::DeserializeOwned;

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

/// A carrier's own account of what went wrong, read from its error body.
#[derive(Debug, Clone)]
pub struct CarrierFault {
    pub code: String,
    pub message: String,
    /// The carrier's name for the field at fault, when it gives one.
    pub field: Option<String>,
}

/// Reads a carrier's answer: a 2xx body as `T`; an error status as the matching
/// [`CarrierError`] kind, keeping the carrier's code and message that `fault` reads from the
/// status and body. For a request that is not `repeatable`, an answer lost or unreadable after the
/// carrier accepted it is `Unknown`: the carrier acted, so it must be reconciled, not re-sent.
pub async fn read_answer<T: DeserializeOwned>(
    carrier: &'static str,
    response: reqwest::Response,
    what: &str,
    repeatable: Repeatable,
    fault: impl FnOnce(u16, &[u8]) -> Option<CarrierFault>,
) -> Result<T, CarrierError> {
    let body = read_body(carrier, response, what, repeatable, fault).await?;
    let parsed = serde_json::from_slice(&body)
        .map_err(|e| CarrierError::Protocol { carrier, message: format!("unexpected {what} answer: {e}") });
    parsed.map_err(|e| after_accept(repeatable, e))
}

/// Like [`read_answer`], but hands back a 2xx body unread, for adapters whose answers are
/// read by their own public `parse_…_answer` functions. Pass what those return through
/// [`after_accept`].
pub async fn read_body(
    carrier: &'static str,
    response: reqwest::Response,
    what: &str,
    repeatable: Repeatable,
    fault: impl FnOnce(u16, &[u8]) -> Option<CarrierFault>,
) -> Result<Vec<u8>, CarrierError> {
    let status = response.status();
    let wait = retry_after(&response);
    let body = response.bytes().await.map_err(|e| {
        let message = format!("the {what} answer was cut off: {e}");
        match (repeatable, status.is_success()) {
            (Repeatable::No, true) => CarrierError::Unknown { carrier, message },
            _ => CarrierError::Unavailable { carrier, message, retry_after: None },
        }
    })?;
    if status.is_success() {
        return Ok(body.to_vec());
    }
    let fault = fault(status.as_u16(), &body).unwrap_or_else(|| CarrierFault {
        code: format!("HTTP_{}", status.as_u16()),
        message: String::from_utf8_lossy(&body).chars().take(200).collect(),
        field: None,
    });
    Err(match status.as_u16() {
        401 | 403 => CarrierError::Auth { carrier, message: format!("{}: {}", fault.code, fault.message) },
        404 => CarrierError::NotFound { carrier, what: what.to_owned() },
        429 | 500..=599 => CarrierError::Unavailable {
            carrier,
            message: format!("{}: {}", fault.code, fault.message),
            retry_after: wait,
        },
        _ => CarrierError::Rejected { carrier, code: fault.code, message: fault.message, field: fault.field },
    })
}

/// What an unreadable 2xx answer means: for a request that is not `repeatable` the carrier
/// acted, so a [`CarrierError::Protocol`] becomes `Unknown` (reconcile, never re-send).
pub fn after_accept(repeatable: Repeatable, error: CarrierError) -> CarrierError {
    match (repeatable, error) {
        (Repeatable::No, CarrierError::Protocol { carrier, message }) => CarrierError::Unknown {
            carrier,
            message: format!("unreadable answer after {carrier} accepted it: {message}"),
        },
        (_, other) => other,
    }
}
