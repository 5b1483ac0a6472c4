//! `/v1/orders`: create, list, fetch.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use waybill_core::error::Problems;
use waybill_core::ids::OrderId;
use waybill_core::order::order_problems;
use waybill_store::{NewOrder, StoreError};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Auth};
use crate::routes::ListQuery;
use crate::views::{List, OrderCreate, OrderView};

/// Create an order.
#[utoipa::path(post, path = "/v1/orders", tag = "orders", request_body = OrderCreate,
    responses((status = 201, body = OrderView), (status = 409, description = "an order with this channel and external_id exists", body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiJson(body, _): ApiJson<OrderCreate>,
) -> ApiResult<(StatusCode, Json<OrderView>)> {
    let mut problems = Problems::new();
    if body.external_id.trim().is_empty() || body.external_id.len() > 100 {
        problems.add("/external_id", "external_id must be 1 to 100 characters");
    }
    let channel = body.channel.unwrap_or_else(|| "api".into());
    if channel.trim().is_empty() || channel.len() > 50 {
        problems.add("/channel", "channel must be 1 to 50 characters");
    }
    problems.extend(order_problems(&body.line_items, &body.payment, body.currency));
    problems.extend(body.ship_to.problems("/ship_to"));
    problems.finish(())?;
    let new = NewOrder {
        channel,
        external_id: body.external_id,
        currency: body.currency,
        payment: body.payment,
        ship_to: body.ship_to.normalized(),
        line_items: body.line_items,
    };
    match state.engine.store().create_order(&me.tenant_id, new).await {
        Ok(order) => Ok((StatusCode::CREATED, Json(order.into()))),
        Err(StoreError::Conflict(existing)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "duplicate_order",
            format!("an order with this channel and external_id already exists: {existing}"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// List orders, oldest first.
#[utoipa::path(get, path = "/v1/orders", tag = "orders", params(ListQuery), responses((status = 200, body = List<OrderView>)), security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(me): Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<List<OrderView>>> {
    let page = state.engine.store().list_orders(&me.tenant_id, q.after.as_deref(), q.limit()?).await?;
    Ok(Json(List { data: page.items.into_iter().map(Into::into).collect(), next_after: page.next_after }))
}

/// Fetch one order.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders", params(("id" = String, Path, description = "order id (`ord_…`)")),
    responses((status = 200, body = OrderView), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn get(State(state): State<AppState>, Auth(me): Auth, Path(id): Path<String>) -> ApiResult<Json<OrderView>> {
    let id = OrderId::parse(&id).ok_or_else(|| ApiError::not_found(format!("order {id}")))?;
    let order =
        state.engine.store().order(&me.tenant_id, &id).await.map_err(|_| ApiError::not_found(format!("order {id}")))?;
    Ok(Json(order.into()))
}
