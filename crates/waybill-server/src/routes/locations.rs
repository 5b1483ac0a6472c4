//! `/v1/locations`: the warehouses and stores that ship.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waybill_core::api::requests::LocationCreate;
use waybill_core::api::views::{List, LocationView};
use waybill_core::ids::LocationId;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::routes::{ListQuery, NoQuery, unknown_id};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(get))
}

/// Add a location. With `"default": true` it becomes the sender of every booking that names
/// neither `ship_from` nor `location_id` (the former default stops being one).
#[utoipa::path(post, path = "/v1/locations", tag = "locations", request_body = LocationCreate,
    responses((status = 201, body = LocationView), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<LocationCreate>,
) -> ApiResult<(StatusCode, Json<LocationView>)> {
    let location = state.engine.create_location(&me, body).await?;
    Ok((StatusCode::CREATED, Json(location.into())))
}

/// List the key's locations, oldest first.
#[utoipa::path(get, path = "/v1/locations", tag = "locations", params(ListQuery),
    responses((status = 200, body = List<LocationView>), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<List<LocationView>>> {
    let after = q.after(LocationId::parse, "location")?;
    let page = state.engine.list_locations(&me, after.as_ref(), q.limit()?).await?;
    Ok(Json(List { data: page.items.into_iter().map(Into::into).collect(), next_after: page.next_after }))
}

/// One location.
#[utoipa::path(get, path = "/v1/locations/{id}", tag = "locations", params(("id" = String, Path, description = "location id (`loc_…`)")),
    responses((status = 200, body = LocationView), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
    _: ApiQuery<NoQuery>,
) -> ApiResult<Json<LocationView>> {
    let id = LocationId::parse(&id).ok_or_else(|| unknown_id("location", &id))?;
    Ok(Json(state.engine.location(&me, &id).await?.into()))
}
