//! `/v1/hooks/carriers/{carrier}/{account_id}`: where carriers push scans. No API key: the
//! carrier signs each push with the account's secret, and the adapter checks it. An unknown
//! account, another carrier's slug and a bad signature get the same answer.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use waybill_carriers::PushRequest;
use waybill_core::api::views::PushReceiptView;
use waybill_core::ids::CarrierAccountId;
use waybill_engine::EngineError;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};

/// Receive a carrier's tracking push.
#[utoipa::path(post, path = "/v1/hooks/carriers/{carrier}/{account_id}", tag = "tracking",
    params(("carrier" = String, Path, description = "carrier slug"), ("account_id" = String, Path, description = "carrier account id")),
    request_body(content = String, description = "the carrier's own push payload", content_type = "application/json"),
    responses((status = 200, body = PushReceiptView), (status = 400, body = Problem), (status = 409, description = "scans for a tracking number not booked (yet): send again later", body = Problem), (status = 401, description = "not signed for this endpoint (or no such endpoint)", body = Problem)))]
pub async fn carrier_push(
    State(state): State<AppState>,
    Path((carrier, account_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<PushReceiptView>> {
    let account_id = CarrierAccountId::parse(&account_id).ok_or_else(|| ApiError::from(EngineError::PushRefused))?;
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned())))
        .collect();
    let receipt =
        state.engine.ingest_push(&carrier, &account_id, &PushRequest { headers: &headers, body: &body }).await?;
    if receipt.unknown > 0 {
        // A push can overtake the booking it belongs to (the carrier pushes as soon as it
        // books). A non-2xx answer makes the carrier send it again; scans already recorded
        // are dropped as duplicates then.
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "unknown_tracking_number",
            format!(
                "{} scan(s) are for tracking numbers this account has not booked (yet); send them again later",
                receipt.unknown
            ),
        ));
    }
    Ok(Json(PushReceiptView {
        scans: receipt.scans,
        recorded: receipt.recorded,
        unknown_tracking_numbers: receipt.unknown,
        clock_skewed: receipt.clock_skewed,
    }))
}
