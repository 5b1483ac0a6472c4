//! Health, readiness and metrics for operators.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: its database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "ready"), (status = 503, description = "database unreachable")))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.engine.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => ApiError::unavailable(e).into_response(),
    }
}

/// Prometheus text, for the metrics listener (no key: it is meant for a private address).
pub async fn metrics_open(State(state): State<AppState>) -> Response {
    render(&state).await
}

/// Prometheus text on the API's own address, for holders of the metrics token only.
pub async fn metrics_with_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let given =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let expected = state.metrics_token.as_deref().unwrap_or_default();
    let ok = given.is_some_and(|g| {
        !expected.is_empty() && waybill_core::secret::same_secret(g.trim().as_bytes(), expected.as_bytes())
    });
    if !ok {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the metrics token as `Authorization: Bearer …`",
        )
        .into_response();
    }
    render(&state).await
}

async fn render(state: &AppState) -> Response {
    match crate::metrics::render(&state.engine).await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
