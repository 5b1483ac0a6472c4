//! `/v1/orders`: create, list, fetch.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use waybill_core::api::requests::OrderCreate;
use waybill_core::api::views::{List, OrderView};
use waybill_core::ids::OrderId;
use waybill_engine::EngineError;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::routes::{ListQuery, NoQuery, unknown_id};

/// Create an order.
#[utoipa::path(post, path = "/v1/orders", tag = "orders", request_body = OrderCreate,
    responses((status = 201, body = OrderView), (status = 409, description = "an order with this channel and external_id exists", body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<OrderCreate>,
) -> ApiResult<(StatusCode, Json<OrderView>)> {
    match state.engine.create_order(&me, body).await {
        Ok(order) => Ok((StatusCode::CREATED, Json(order.into()))),
        Err(EngineError::Conflict(detail)) => Err(ApiError::new(StatusCode::CONFLICT, "duplicate_order", detail)),
        Err(e) => Err(e.into()),
    }
}

/// List orders, oldest first.
#[utoipa::path(get, path = "/v1/orders", tag = "orders", params(ListQuery), responses((status = 200, body = List<OrderView>), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<List<OrderView>>> {
    let page = state.engine.list_orders(&me, q.after(OrderId::parse, "order")?.as_ref(), q.limit()?).await?;
    Ok(Json(List { data: page.items.into_iter().map(Into::into).collect(), next_after: page.next_after }))
}

/// Fetch one order.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders", params(("id" = String, Path, description = "order id (`ord_…`)")),
    responses((status = 200, body = OrderView), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
) -> ApiResult<Json<OrderView>> {
    let id = OrderId::parse(&id).ok_or_else(|| unknown_id("order", &id))?;
    Ok(Json(state.engine.order(&me, &id).await?.into()))
}
