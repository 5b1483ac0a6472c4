//! `Idempotency-Key` for requests that make a carrier act (bookings, pickups), scoped per
//! tenant and mode. Carriers do not deduplicate them, so a repeat of the same request must
//! return the first answer and never reach the carrier again, even while the first is still in
//! flight, and even when the first one's node died before answering.

use std::pin::Pin;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use waybill_core::{FieldError, Scope};
use waybill_engine::EngineError;
use waybill_store::{IdemBegin, IdemRecord, StoreError, now_ms, request_hash};

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// How long a repeat waits for the first request with its key to finish. A first request older
/// than this with no answer is taken as abandoned even if its node still looks alive.
pub const IDEMPOTENT_WAIT: Duration = Duration::from_secs(60);

/// How often a waiting repeat asks whether the first request's node is still alive.
const LIVENESS_EVERY: Duration = Duration::from_secs(1);

/// An answer as it is stored for replay: status and JSON body.
pub type Answer = (StatusCode, String);

/// What became of the resource of a first request that died before answering.
pub enum Settled {
    /// Not settled yet (the sweep reconciles it shortly).
    Pending,
    /// This is the answer for every repeat.
    Answer(Answer),
    /// Nothing reached the carrier: the key is freed and the request may be sent again.
    Release,
}

/// Settles the resource id of an abandoned first request from what the store holds.
pub type Settle =
    for<'a> fn(&'a AppState, &'a Scope, &'a str) -> Pin<Box<dyn Future<Output = ApiResult<Settled>> + Send + 'a>>;

/// One request's idempotency key (if it has one) for one operation.
pub struct Idempotency<'a> {
    state: &'a AppState,
    scope: &'a Scope,
    operation: &'static str,
    raw: &'a [u8],
    settle: Settle,
    key: Option<String>,
}

impl<'a> Idempotency<'a> {
    /// Reads the key. A key seen before is answered from its first request before this one is
    /// even checked (`Err(response)`): what it refers to may have moved on, the answer must not.
    pub async fn check(
        state: &'a AppState,
        scope: &'a Scope,
        headers: &HeaderMap,
        operation: &'static str,
        raw: &'a [u8],
        settle: Settle,
    ) -> ApiResult<Result<Self, Response>> {
        let key = match headers.get_all("idempotency-key").iter().collect::<Vec<_>>().as_slice() {
            [] => None,
            [v] => match v
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
            {
                Some(k) => Some(k.to_owned()),
                None => {
                    return Err(ApiError::invalid(vec![FieldError::new(
                        "/headers/idempotency-key",
                        "must be 1 to 255 visible ASCII characters",
                    )]));
                }
            },
            _ => {
                return Err(ApiError::invalid(vec![FieldError::new(
                    "/headers/idempotency-key",
                    "give one Idempotency-Key header",
                )]));
            }
        };
        let this = Self { state, scope, operation, raw, settle, key };
        if let Some(key) = &this.key {
            match state.engine.store().idempotency_get(scope, key).await {
                Ok(first) => return Ok(Err(this.repeat_of(key, first).await?)),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(EngineError::from(e).into()),
            }
        }
        Ok(Ok(this))
    }

    /// Claims the key for the resource about to be made (`resource_id`); `Some(response)` when
    /// another request claimed it first, with that request's answer.
    pub async fn claim(&self, resource_id: &str) -> ApiResult<Option<Response>> {
        let Some(key) = &self.key else { return Ok(None) };
        let store = self.state.engine.store();
        let node = &self.state.engine.config().node;
        let begun = store.idempotency_begin(self.scope, key, self.operation, self.raw, resource_id, node).await;
        match begun.map_err(EngineError::from)? {
            IdemBegin::Started => Ok(None),
            IdemBegin::Seen(first) => Ok(Some(self.repeat_of(key, first).await?)),
        }
    }

    /// Keeps the answer for repeats. A carrier's refusal is an answer for good; any other
    /// error means nothing reached a carrier (a booking the carrier may have made is never an
    /// error), so the key is freed for the request to be sent again.
    pub async fn finish(&self, outcome: Result<Answer, EngineError>) -> ApiResult<Response> {
        let store = self.state.engine.store();
        match outcome {
            Ok((status, body)) => {
                if let Some(key) = &self.key
                    && let Err(e) = store.idempotency_finish(self.scope, key, status.as_u16(), &body).await
                {
                    // The work is done and its answer is given; a repeat settles it from the resource.
                    tracing::error!(error = %e, "cannot keep an idempotent answer");
                }
                Ok(json_response(status, body, false))
            }
            Err(e) => {
                let keep = e.is_carrier_refusal();
                let err = ApiError::from(e);
                if let Some(key) = &self.key {
                    let kept = if keep {
                        store.idempotency_finish(self.scope, key, err.status().as_u16(), &err.body()).await
                    } else {
                        store.idempotency_release(self.scope, key).await
                    };
                    if let Err(e) = kept {
                        tracing::error!(error = %e, "cannot settle an idempotency key");
                    }
                }
                Err(err)
            }
        }
    }

    /// Whether the first request with `record` is gone without answering: its node died or
    /// restarted since, or it has been in flight longer than [`IDEMPOTENT_WAIT`].
    async fn abandoned(&self, record: &IdemRecord) -> ApiResult<bool> {
        if record.state != "in_progress" {
            return Ok(false);
        }
        if now_ms() - record.created_at > IDEMPOTENT_WAIT.as_millis() as i64 {
            return Ok(true);
        }
        let Some(node) = record.node_id.as_deref() else { return Ok(false) };
        let engine = &self.state.engine;
        let alive_since = now_ms() - engine.config().node_timeout.as_millis() as i64;
        let started = engine.store().node_started(node, alive_since).await.map_err(EngineError::from)?;
        Ok(started.is_none_or(|started| started > record.created_at))
    }

    /// A request whose key was seen before: the first answer, once there is one.
    async fn repeat_of(&self, key: &str, first: IdemRecord) -> ApiResult<Response> {
        if first.operation != self.operation || first.request_hash != request_hash(self.operation, self.raw) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request; use a new key for a new request",
            ));
        }
        let store = self.state.engine.store();
        let started = tokio::time::Instant::now();
        let mut next_liveness_check = started;
        let mut record = first;
        loop {
            if let (Some(status), Some(body)) = (record.response_status, &record.response_body)
                && let Some(status) = u16::try_from(status).ok().and_then(|s| StatusCode::from_u16(s).ok())
            {
                return Ok(json_response(status, body.clone(), true));
            }
            if tokio::time::Instant::now() >= next_liveness_check {
                next_liveness_check += LIVENESS_EVERY;
                if let Some(id) = record.resource_id.as_deref()
                    && self.abandoned(&record).await?
                {
                    match (self.settle)(self.state, self.scope, id).await? {
                        Settled::Pending => {}
                        Settled::Answer((status, body)) => {
                            store
                                .idempotency_finish(self.scope, key, status.as_u16(), &body)
                                .await
                                .map_err(EngineError::from)?;
                            return Ok(json_response(status, body, true));
                        }
                        Settled::Release => {
                            store.idempotency_release(self.scope, key).await.map_err(EngineError::from)?;
                            return Err(retry());
                        }
                    }
                }
            }
            if started.elapsed() > IDEMPOTENT_WAIT {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency_in_progress",
                    "the first request with this Idempotency-Key is still being settled; retry later",
                )
                .with_retry_after(5));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            record = match store.idempotency_get(self.scope, key).await {
                Ok(r) => r,
                // The first request freed the key (no carrier acted): this one may go ahead.
                Err(StoreError::NotFound) => return Err(retry()),
                Err(e) => return Err(EngineError::from(e).into()),
            };
        }
    }
}

fn retry() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_retry",
        "the first request with this key failed without reaching the carrier; send it again",
    )
}

/// A stored JSON answer as a response; `replayed` marks answers given from a key.
pub fn json_response(status: StatusCode, body: String, replayed: bool) -> Response {
    let mut r = (status, body).into_response();
    let content_type = if status.is_success() { "application/json" } else { "application/problem+json" };
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if replayed {
        r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    r
}
