//! `Idempotency-Key` for requests that make a carrier act (bookings, pickups). Carriers do not
//! deduplicate them, so a repeat of the same request must return the first answer and never
//! reach the carrier again, even while the first is still in flight.

use std::pin::Pin;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use waybill_core::FieldError;
use waybill_core::ids::TenantId;
use waybill_engine::EngineError;
use waybill_store::{IdemBegin, IdemRecord, StoreError, now_ms, request_hash};

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// How long a repeat waits for the first request with its key to finish; a first request older
/// than this with no answer is taken as abandoned (its node died).
pub const IDEMPOTENT_WAIT: Duration = Duration::from_secs(60);

/// An answer as it is stored for replay: status and JSON body.
pub type Answer = (StatusCode, String);

/// Turns the resource id of a first request that died before answering into its answer, from
/// what the store holds for that resource; `None` while it is still unsettled.
pub type Settle = for<'a> fn(
    &'a AppState,
    &'a TenantId,
    &'a str,
) -> Pin<Box<dyn Future<Output = ApiResult<Option<Answer>>> + Send + 'a>>;

/// One request's idempotency key (if it has one) for one operation.
pub struct Idempotency<'a> {
    state: &'a AppState,
    tenant: &'a TenantId,
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
        tenant: &'a TenantId,
        headers: &HeaderMap,
        operation: &'static str,
        raw: &'a [u8],
        settle: Settle,
    ) -> ApiResult<Result<Self, Response>> {
        let key = match headers.get("idempotency-key") {
            None => None,
            Some(v) => match v.to_str().ok().map(str::trim).filter(|k| !k.is_empty() && k.len() <= 255) {
                Some(k) => Some(k.to_owned()),
                None => {
                    return Err(ApiError::invalid(vec![FieldError::new(
                        "/headers/idempotency-key",
                        "must be 1 to 255 visible ASCII characters",
                    )]));
                }
            },
        };
        let this = Self { state, tenant, operation, raw, settle, key };
        if let Some(key) = &this.key {
            match state.engine.store().idempotency_get(tenant, key).await {
                Ok(first) => return Ok(Err(this.repeat_of(key, first).await?)),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Ok(this))
    }

    /// Claims the key for the resource about to be made (`resource_id`); `Some(response)` when
    /// another request claimed it first, with that request's answer.
    pub async fn claim(&self, resource_id: &str) -> ApiResult<Option<Response>> {
        let Some(key) = &self.key else { return Ok(None) };
        let store = self.state.engine.store();
        match store.idempotency_begin(self.tenant, key, self.operation, self.raw, resource_id).await? {
            IdemBegin::Started => Ok(None),
            IdemBegin::Seen(first) => Ok(Some(self.repeat_of(key, first).await?)),
        }
    }

    /// Keeps the answer for repeats. A carrier's refusal is the answer for good; an error after
    /// which nothing was done and a retry may succeed (carrier down, our own error) frees the key.
    pub async fn finish(&self, outcome: Result<Answer, EngineError>) -> ApiResult<Response> {
        let store = self.state.engine.store();
        match outcome {
            Ok((status, body)) => {
                if let Some(key) = &self.key {
                    store.idempotency_finish(self.tenant, key, status.as_u16(), &body).await?;
                }
                Ok(json_response(status, body, false))
            }
            Err(e) => {
                let keep = matches!(&e, EngineError::Carrier(c) if !c.is_transient());
                let err = ApiError::from(e);
                if let Some(key) = &self.key {
                    if keep {
                        store.idempotency_finish(self.tenant, key, err.status().as_u16(), &err.body()).await?;
                    } else {
                        store.idempotency_release(self.tenant, key).await?;
                    }
                }
                Err(err)
            }
        }
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
        let mut record = first;
        loop {
            if let (Some(status), Some(body)) = (record.response_status, &record.response_body)
                && let Some(status) = u16::try_from(status).ok().and_then(|s| StatusCode::from_u16(s).ok())
            {
                return Ok(json_response(status, body.clone(), true));
            }
            let abandoned =
                record.state == "in_progress" && now_ms() - record.created_at > IDEMPOTENT_WAIT.as_millis() as i64;
            if let Some(id) = record.resource_id.as_deref().filter(|_| abandoned)
                && let Some((status, body)) = (self.settle)(self.state, self.tenant, id).await?
            {
                store.idempotency_finish(self.tenant, key, status.as_u16(), &body).await?;
                return Ok(json_response(status, body, true));
            }
            if started.elapsed() > IDEMPOTENT_WAIT {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency_in_progress",
                    "the first request with this Idempotency-Key is still being processed; retry later",
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            record = match store.idempotency_get(self.tenant, key).await {
                Ok(r) => r,
                // The first request freed the key (the carrier did nothing): this one may go ahead.
                Err(StoreError::NotFound) => {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "idempotency_retry",
                        "the first request with this key failed without reaching the carrier; send it again",
                    ));
                }
                Err(e) => return Err(e.into()),
            };
        }
    }
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
