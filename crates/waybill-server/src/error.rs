//! Every error the API answers with, as `application/problem+json` (RFC 9457), with a list of
//! `{pointer, detail}` for field errors. Our own faults answer 500 with the request's id and
//! are logged with it, never shown; a database that cannot serve now answers 503 with
//! `Retry-After`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use waybill_carriers::{CarrierError, PushError};
use waybill_channels::ChannelError;
use waybill_core::{FieldError, Invalid};
use waybill_engine::EngineError;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A stable, machine-readable name for the kind of problem, e.g. `invalid_request`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// One entry per offending field, with a JSON pointer into the request (`/query/…` for
    /// query parameters, `/headers/…` for headers).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The carrier's own error code, when a carrier refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier_code: Option<String>,
    /// On 500s: quote it when reporting the problem; the server's log has the details under it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    // Boxed: handlers return `Result<_, ApiError>` everywhere, and the error path is the cold one.
    problem: Box<Problem>,
    retry_after: Option<u64>,
}

tokio::task_local! {
    /// The id of the request being served (set by the request-id middleware).
    pub static REQUEST_ID: String;
}

/// The current request's id, if a request is being served.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// A 413 for a body over the limit.
pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the body is larger than {} bytes", crate::MAX_BODY_BYTES),
    )
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            problem: Box::new(Problem {
                kind: kind.to_owned(),
                title: status.canonical_reason().unwrap_or("Error").to_owned(),
                status: status.as_u16(),
                detail: detail.into(),
                errors: vec![],
                carrier_code: None,
                request_id: None,
            }),
            retry_after: None,
        }
    }

    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.len() {
            // A problem with the whole body has no pointer to name.
            1 if errors[0].pointer.is_empty() => errors[0].detail.clone(),
            1 => format!("{}: {}", errors[0].pointer, errors[0].detail),
            n => format!("the request has {n} problems; see `errors`"),
        };
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", detail);
        e.problem.errors = errors;
        e
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{} not found", what.into()))
    }

    /// Our own fault: logged with the request's id, answered 500 with the id and nothing else.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        let id = request_id();
        tracing::error!(request_id = id.as_deref().unwrap_or("-"), error = %e, "internal error");
        let mut out = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on our side; it has been logged under this request_id",
        );
        out.problem.request_id = id;
        out
    }

    /// The database cannot serve now: 503 with a `Retry-After`.
    pub fn unavailable(e: impl std::fmt::Display) -> Self {
        tracing::warn!(request_id = request_id().as_deref().unwrap_or("-"), error = %e, "database unavailable");
        let mut out = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "the database is busy or unreachable; nothing was done, send the request again shortly",
        );
        out.retry_after = Some(2);
        out
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn body(&self) -> String {
        serde_json::to_string(&self.problem).expect("problems serialize")
    }

    /// A carrier error answered as the API would: refusals keep the carrier's code.
    pub fn carrier(e: CarrierError, refused_status: StatusCode) -> Self {
        let mut out = match &e {
            CarrierError::Rejected { field, .. } => {
                let mut out = Self::new(refused_status, "carrier_refused", e.to_string());
                if let Some(field) = field {
                    out.problem
                        .errors
                        .push(FieldError::new(format!("/carrier/{}", field.replace('.', "/")), e.to_string()));
                }
                out
            }
            CarrierError::Unavailable { retry_after, .. } => {
                let mut out = Self::new(StatusCode::SERVICE_UNAVAILABLE, "carrier_unavailable", e.to_string());
                out.retry_after = Some(retry_after.map_or(5, |d| d.as_secs().max(1)));
                out
            }
            CarrierError::Unknown { .. } => Self::new(StatusCode::GATEWAY_TIMEOUT, "carrier_timeout", e.to_string()),
            CarrierError::Auth { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "carrier_credentials_refused", e.to_string())
            }
            CarrierError::NotFound { .. } => Self::new(StatusCode::CONFLICT, "carrier_not_found", e.to_string()),
            CarrierError::Unsupported { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "carrier_unsupported", e.to_string())
            }
            CarrierError::Protocol { .. } => {
                Self::new(StatusCode::BAD_GATEWAY, "carrier_protocol_error", e.to_string())
            }
        };
        out.problem.carrier_code = e.carrier_code().map(str::to_owned);
        out
    }
}

impl ApiError {
    /// A channel's refusal or outage, met while acting for the caller.
    pub fn channel(e: ChannelError) -> Self {
        use ChannelError as C;
        match &e {
            C::Unavailable { retry_after, .. } => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "channel_unavailable", e.to_string())
                    .with_retry_after(retry_after.map_or(5, |d| d.as_secs().max(1)))
            }
            C::Unknown { .. } => Self::new(StatusCode::GATEWAY_TIMEOUT, "channel_timeout", e.to_string()),
            C::Auth { .. } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "channel_credentials_refused", e.to_string()),
            C::Rejected { .. } | C::NotFound { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "channel_refused", e.to_string())
            }
            C::Protocol { .. } => Self::new(StatusCode::BAD_GATEWAY, "channel_protocol_error", e.to_string()),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        Self::invalid(e.0)
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid(i) => i.into(),
            EngineError::NotFound(what) => Self::not_found(what),
            EngineError::Conflict(c) => Self::new(StatusCode::CONFLICT, "conflict", c),
            EngineError::Carrier(c) => Self::carrier(c, StatusCode::UNPROCESSABLE_ENTITY),
            EngineError::PushRefused => {
                Self::new(StatusCode::UNAUTHORIZED, "push_refused", "the push is not signed for this endpoint")
            }
            EngineError::Push(PushError::BadSignature(m)) => Self::new(StatusCode::UNAUTHORIZED, "push_refused", m),
            EngineError::Push(PushError::Malformed(m)) => Self::new(StatusCode::BAD_REQUEST, "malformed_push", m),
            EngineError::Label(l) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "label_error", l.to_string()),
            EngineError::Channel(c) => Self::channel(c),
            EngineError::HookRefused => {
                Self::new(StatusCode::UNAUTHORIZED, "webhook_refused", "the webhook is not signed for this endpoint")
            }
            EngineError::Unavailable(e) => Self::unavailable(e),
            EngineError::Internal(e) => Self::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body()).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
