//! The API's error answer: `{"error": {"code", "message", "field"?, "awb"?}}`
//! with a fitting HTTP status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer of the HTTP API.
#[derive(Debug, Serialize)]
pub(crate) struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// The existing shipment's AWB, on `DUPLICATE_REFERENCE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    awb: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, awb: None }
    }

    /// 422 about one request field, named by its path (`parcels[0].weight_g`).
    pub(crate) fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: Some(field.into()), ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR", message) }
    }

    /// 422 with a code of its own about one request field.
    pub(crate) fn unprocessable(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        Self { field: Some(field.into()), ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message) }
    }

    pub(crate) fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_JSON", message)
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "missing X-Api-Key header")
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    pub(crate) fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "method not allowed on this route")
    }

    pub(crate) fn duplicate_reference(reference: &str, awb: &str) -> Self {
        Self {
            field: Some("reference".into()),
            awb: Some(awb.into()),
            ..Self::new(
                StatusCode::CONFLICT,
                "DUPLICATE_REFERENCE",
                format!("reference {reference:?} is already used by shipment {awb}"),
            )
        }
    }

    pub(crate) fn cancel_not_allowed() -> Self {
        Self::new(StatusCode::CONFLICT, "CANCEL_NOT_ALLOWED", "shipment already picked up")
    }

    pub(crate) fn pickup_cancel_not_allowed() -> Self {
        Self::new(StatusCode::CONFLICT, "PICKUP_CANCEL_NOT_ALLOWED", "the pickup's day has passed")
    }

    pub(crate) fn rto_not_allowed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "RTO_NOT_ALLOWED", message)
    }

    pub(crate) fn update_not_allowed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "UPDATE_NOT_ALLOWED", message)
    }

    pub(crate) fn already_manifested(awb: &str, manifest_number: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "AWB_ALREADY_MANIFESTED",
            format!("shipment {awb} is on manifest {manifest_number} already"),
        )
    }

    pub(crate) fn ndr_not_allowed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "NDR_NOT_ALLOWED", message)
    }

    pub(crate) fn ndr_already_instructed(action: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "NDR_ALREADY_INSTRUCTED",
            format!("this failed attempt already has an instruction ({action})"),
        )
    }

    pub(crate) fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "service temporarily unavailable, try again later",
        )
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Envelope<'a> {
            error: &'a ApiError,
        }
        (self.status, Json(Envelope { error: &self })).into_response()
    }
}
