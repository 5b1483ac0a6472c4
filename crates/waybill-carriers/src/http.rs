//! Sending a request to a carrier through the outbound policy, and sorting failures into
//! [`CarrierError`] kinds.

use std::time::Duration;

use serde::de::DeserializeOwned;
use waybill_core::Mode;
use waybill_outbound::{DEFAULT_MAX_RESPONSE_BYTES, Outbound, ReadError, read_limited, refused_reason};

use crate::{Account, CarrierError};

/// Whether sending the same request twice is harmless. Decides what a timeout means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeatable {
    Yes,
    No,
}

/// How adapters reach carriers: every call goes through the outbound policy.
#[derive(Clone)]
pub struct Http {
    outbound: Outbound,
}

/// The most of an answer's body [`read_body`] reads: [`Http::send`] puts the policy's limit on
/// every answer, so the adapters' answer helpers need not carry it.
#[derive(Clone, Copy)]
struct BodyLimit(usize);

impl Http {
    pub fn new(outbound: Outbound) -> Self {
        Self { outbound }
    }

    /// The client for `account`'s calls: only a test account may reach private, loopback and
    /// metadata addresses (tests and the demo run carriers on 127.0.0.1); every other account's
    /// `base_url` is the tenant's choice, so its calls go through the guarded client.
    pub fn client(&self, account: &Account<'_>) -> &reqwest::Client {
        self.outbound.client(!matches!(account.mode, Mode::Test))
    }

    /// Sends `request` (built on [`Http::client`]); transport failures become the right
    /// [`CarrierError`]. A timeout on a request that changes something is `Unknown`: the carrier
    /// may have acted on it.
    pub async fn send(
        &self,
        carrier: &'static str,
        request: reqwest::RequestBuilder,
        repeatable: Repeatable,
    ) -> Result<reqwest::Response, CarrierError> {
        let mut response = request.send().await.map_err(|e| transport_error(carrier, e, repeatable))?;
        response.extensions_mut().insert(BodyLimit(self.outbound.max_response_bytes()));
        Ok(response)
    }
}

fn transport_error(carrier: &'static str, e: reqwest::Error, repeatable: Repeatable) -> CarrierError {
    if let Some(reason) = refused_reason(&e) {
        // A refused redirect comes after the carrier answered the first hop, so it may have acted;
        // any other refusal happens before connecting, so nothing reached anyone.
        return if e.is_redirect() {
            after_accept(
                repeatable,
                CarrierError::Protocol { carrier, message: format!("a redirect was refused: {reason}") },
            )
        } else {
            CarrierError::Unavailable { carrier, message: reason, retry_after: None }
        };
    }
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
/// [`after_accept`]. A body over the outbound policy's size limit is not read: it is a
/// `Protocol` error (`Unknown` once a non-repeatable request was accepted). An error body is
/// never echoed: only what `fault` reads from it, or the status, reaches the error.
pub async fn read_body(
    carrier: &'static str,
    response: reqwest::Response,
    what: &str,
    repeatable: Repeatable,
    fault: impl FnOnce(u16, &[u8]) -> Option<CarrierFault>,
) -> Result<Vec<u8>, CarrierError> {
    let status = response.status();
    let wait = retry_after(&response);
    let max = response.extensions().get::<BodyLimit>().map_or(DEFAULT_MAX_RESPONSE_BYTES, |limit| limit.0);
    let body = read_limited(response, max).await.map_err(|e| match e {
        ReadError::TooLarge { max } => {
            let error =
                CarrierError::Protocol { carrier, message: format!("the {what} answer is larger than {max} bytes") };
            if status.is_success() { after_accept(repeatable, error) } else { error }
        }
        ReadError::Body(e) => {
            let message = format!("the {what} answer was cut off: {e}");
            match (repeatable, status.is_success()) {
                (Repeatable::No, true) => CarrierError::Unknown { carrier, message },
                _ => CarrierError::Unavailable { carrier, message, retry_after: None },
            }
        }
    })?;
    if status.is_success() {
        return Ok(body);
    }
    let fault = fault(status.as_u16(), &body).unwrap_or_else(|| {
        // Not the carrier's error shape: the body may be any service's page, so only its status
        // is told to the caller.
        tracing::debug!(carrier, %status, bytes = body.len(), "error answer in an unknown shape");
        let message = match status.canonical_reason() {
            Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
            None => format!("HTTP {}", status.as_u16()),
        };
        CarrierFault { code: format!("HTTP_{}", status.as_u16()), message, field: None }
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
