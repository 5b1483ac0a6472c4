//! `/v1/branding`: how the tenant's public tracking page presents the store.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waybill_core::api::views::BrandingView;
use waybill_core::branding::BrandingUpdate;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::routes::NoQuery;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get, put))
}

/// The branding of the tracking page: the saved one, or the defaults (the tenant's name in
/// Waybill's colours, under a slug derived from the tenant's id).
#[utoipa::path(get, path = "/v1/branding", tag = "branding",
    responses((status = 200, body = BrandingView)), security(("api_key" = [])))]
pub async fn get(State(state): State<AppState>, Auth(me): Auth, _: ApiQuery<NoQuery>) -> ApiResult<Json<BrandingView>> {
    Ok(Json(state.engine.branding(&me).await?.into()))
}

/// Replace the branding, all or nothing. The logo (PNG or JPEG, at most 100 KB) comes as
/// base64 in `logo`, or from `logo_url`, fetched once now and kept: the page never sends a
/// customer's browser to another site. Without either the stored logo stays.
#[utoipa::path(put, path = "/v1/branding", tag = "branding", request_body = BrandingUpdate,
    responses((status = 200, body = BrandingView), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn put(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<BrandingUpdate>,
) -> ApiResult<Json<BrandingView>> {
    Ok(Json(state.engine.update_branding(&me, body).await?.into()))
}
