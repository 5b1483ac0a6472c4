//! Sending a request to a channel through the outbound policy, and sorting failures into
//! [`ChannelError`] kinds. An error body is never echoed: only its status, and what a
//! connector reads from the channel's own error shape, reach the error.

use std::time::Duration;

use waybill_core::Mode;
use waybill_outbound::{Outbound, ReadError, read_limited, refused_reason};

use crate::ChannelError;

/// How connectors reach channels: every call goes through the outbound policy.
#[derive(Clone)]
pub(crate) struct Http {
    outbound: Outbound,
}

/// A 2xx answer's body, or the error status with its body (for the connector to read).
pub(crate) struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Http {
    pub fn new(outbound: Outbound) -> Self {
        Self { outbound }
    }

    /// The client for a connection in `mode`: only test connections may reach loopback and
    /// private addresses (tests and the demo run channels on 127.0.0.1).
    pub fn client(&self, mode: Mode) -> &reqwest::Client {
        self.outbound.client(mode != Mode::Test)
    }

    /// Sends `request` and reads its answer within the policy's size limit. A failure before
    /// the channel could act is `Unavailable`; a lost answer is `Unknown`.
    pub async fn send(&self, channel: &'static str, request: reqwest::RequestBuilder) -> Result<Answer, ChannelError> {
        let response = request.send().await.map_err(|e| transport_error(channel, e))?;
        let status = response.status().as_u16();
        let retry_after = retry_after(&response);
        let headers = response.headers().clone();
        let body = read_limited(response, self.outbound.max_response_bytes()).await.map_err(|e| match e {
            ReadError::TooLarge { max } => {
                ChannelError::Protocol { channel, message: format!("an answer larger than {max} bytes") }
            }
            ReadError::Body(e) => ChannelError::Unknown { channel, message: format!("the answer was cut off: {e}") },
        })?;
        Ok(Answer { status, retry_after, headers, body })
    }
}

impl Answer {
    /// The error kind of a non-2xx answer; `detail` is what the connector could read from it.
    pub fn error(&self, channel: &'static str, what: &str, detail: Option<String>) -> ChannelError {
        let message = detail.unwrap_or_else(|| format!("HTTP {}", self.status));
        match self.status {
            401 | 403 => ChannelError::Auth { channel, message },
            404 => ChannelError::NotFound { channel, what: what.to_owned() },
            408 | 429 | 500..=599 => ChannelError::Unavailable { channel, message, retry_after: self.retry_after },
            _ => ChannelError::Rejected { channel, message },
        }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

fn transport_error(channel: &'static str, e: reqwest::Error) -> ChannelError {
    if let Some(reason) = refused_reason(&e) {
        return ChannelError::Unavailable { channel, message: reason, retry_after: None };
    }
    let message = e.to_string();
    if e.is_connect() {
        ChannelError::Unavailable { channel, message, retry_after: None }
    } else {
        ChannelError::Unknown { channel, message }
    }
}

/// `Retry-After` in seconds, when the channel sent one.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3_600.0)))
}
