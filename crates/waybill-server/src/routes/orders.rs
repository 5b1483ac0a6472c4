//! `/v1/orders`: create, list, fetch, and import a CSV file.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;
use waybill_channels::orders_csv::{self, CsvProblem};
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

/// What an import of orders did.
#[derive(Serialize, ToSchema)]
pub struct OrdersImportView {
    /// Orders created.
    pub imported: usize,
    /// Every problem, by row (line 1 is the header) and column: an order with one is left out
    /// whole, and so is an order whose channel and external id exist already.
    pub problems: Vec<CsvProblem>,
}

/// Import orders from a CSV file: one row per line item, the rows of one order sharing its
/// `external_id` (columns as `waybill export orders` writes them: see the README). Each order
/// is all or nothing; the answer lists every problem by row and column. At most 1 MiB per
/// request: `waybill import orders` takes files of any size.
#[utoipa::path(post, path = "/v1/orders/import", tag = "orders",
    request_body(content = String, content_type = "text/csv", description = "external_id,channel,currency,payment,cod_amount,locale,ship_to_name,…,sku,item_name,quantity,unit_price"),
    responses((status = 200, body = OrdersImportView), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, description = "the header is not the documented one", body = Problem)),
    security(("api_key" = [])))]
pub async fn import(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<OrdersImportView>> {
    crate::routes::require_csv(&headers)?;
    let read = orders_csv::read_orders(body.as_ref()).map_err(|problems| {
        ApiError::invalid(
            problems
                .into_iter()
                .map(|p| waybill_core::FieldError::new(format!("/rows/{}/{}", p.row, p.column), p.detail))
                .collect(),
        )
    })?;
    let report = state.engine.import_orders(&me, read.orders, &|_| {}).await?;
    let mut problems = read.problems;
    problems.extend(report.duplicates);
    problems.sort_by(|a, b| (a.row, &a.column).cmp(&(b.row, &b.column)));
    Ok(Json(OrdersImportView { imported: report.imported, problems }))
}
