//! Health, readiness and metrics for operators.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::AppState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: its database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "ready"), (status = 503, description = "database unreachable")))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.engine.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// Prometheus text: queued jobs per kind.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::from(
        "# HELP waybill_jobs_queued Jobs waiting in the queue, by kind.\n# TYPE waybill_jobs_queued gauge\n",
    );
    match state.engine.store().queued_jobs().await {
        Ok(counts) => {
            for (kind, n) in counts {
                out.push_str(&format!("waybill_jobs_queued{{kind=\"{kind}\"}} {n}\n"));
            }
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics unavailable");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
