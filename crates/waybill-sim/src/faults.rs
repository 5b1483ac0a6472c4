//! Fault injection for the `/api` routes: latency, outright 503s and
//! "did the work but never answered in time" hangs.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::Inner;
use crate::error::ApiError;

/// Hang used when `timeout_rate > 0` but `hang_ms` is left at 0.
const DEFAULT_HANG_MS: u64 = 30_000;

/// Faults injected into every `/api` request. Also the JSON body of
/// `GET`/`PUT /_sim/faults` (missing fields default to 0).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added to every API response.
    pub latency_ms: u64,
    /// Share of requests (0..1) answered 503 `SERVICE_UNAVAILABLE` before
    /// anything is done.
    pub error_rate: f64,
    /// Share of requests (0..1) that do their work, then hang for `hang_ms`
    /// before answering: an unknown outcome for a client with a timeout.
    pub timeout_rate: f64,
    /// How long a timeout fault hangs; 30000 when 0 and `timeout_rate > 0`.
    pub hang_ms: u64,
}

impl Faults {
    /// The first field that is out of range, for a 422 on `PUT /_sim/faults`.
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        for (field, rate) in [("error_rate", self.error_rate), ("timeout_rate", self.timeout_rate)] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(ApiError::validation(field, "must be between 0 and 1"));
            }
        }
        Ok(())
    }

    fn hang(&self) -> Duration {
        Duration::from_millis(if self.hang_ms == 0 { DEFAULT_HANG_MS } else { self.hang_ms })
    }
}

/// `rate` of 0 never fires, 1 always does.
fn roll(rate: f64) -> bool {
    rate > 0.0 && rand::random::<f64>() < rate
}

/// Middleware applying the faults in force to one request.
pub(crate) async fn inject(State(inner): State<Arc<Inner>>, request: Request, next: Next) -> Response {
    let faults = inner.faults();
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if roll(faults.error_rate) {
        return ApiError::unavailable().into_response();
    }
    let response = next.run(request).await;
    if roll(faults.timeout_rate) {
        tokio::time::sleep(faults.hang()).await;
    }
    response
}
