//! `/v1/inventory`: stock per SKU and location; counts, adjustments, and what shipments moved.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waybill_core::FieldError;
use waybill_core::api::requests::{StockAdjust, StockSet};
use waybill_core::api::views::{List, StockLevelView};
use waybill_core::ids::LocationId;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::routes::{ListQuery, NoQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, set)).routes(routes!(adjust))
}

/// `?location_id=` (the default location when absent) and paging by SKU.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockQuery {
    /// A location id (`loc_…`); the default location when absent.
    #[param(max_length = 40)]
    pub location_id: Option<String>,
    /// How many to list, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// The `next_after` of the previous page (a SKU).
    #[param(max_length = 100)]
    pub after: Option<String>,
}

/// A location's stock by SKU: on hand, reserved (booked, not yet picked up) and available.
#[utoipa::path(get, path = "/v1/inventory", tag = "inventory", params(StockQuery),
    responses((status = 200, body = List<StockLevelView>), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiQuery(q): ApiQuery<StockQuery>,
) -> ApiResult<Json<List<StockLevelView>>> {
    let location = match q.location_id.as_deref().filter(|l| !l.is_empty()) {
        None => None,
        Some(raw) => Some(LocationId::parse(raw).ok_or_else(|| {
            ApiError::invalid(vec![FieldError::new(
                "/query/location_id",
                format!("`{raw}` is not a location id (`loc_…`)"),
            )])
        })?),
    };
    let limit = ListQuery { limit: q.limit, after: None }.limit()?;
    let after = q.after.as_deref().filter(|a| !a.is_empty());
    let page = state.engine.list_stock(&me, location.as_ref(), after, limit).await?;
    Ok(Json(List { data: page.items.into_iter().map(Into::into).collect(), next_after: page.next_after }))
}

/// Set what is on hand (a count); the difference is recorded as a movement.
#[utoipa::path(put, path = "/v1/inventory", tag = "inventory", request_body = StockSet,
    responses((status = 200, body = StockLevelView), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn set(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<StockSet>,
) -> ApiResult<Json<StockLevelView>> {
    Ok(Json(state.engine.set_stock(&me, body).await?.into()))
}

/// Add to (or take from) what is on hand, with the reason.
#[utoipa::path(post, path = "/v1/inventory/adjustments", tag = "inventory", request_body = StockAdjust,
    responses((status = 200, body = StockLevelView), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn adjust(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<StockAdjust>,
) -> ApiResult<Json<StockLevelView>> {
    Ok(Json(state.engine.adjust_stock(&me, body).await?.into()))
}
