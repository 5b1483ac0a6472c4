//! `/v1/orders`: create, list, fetch, cancel, and import a CSV file; whether customers may
//! cancel their own orders (`/v1/cancellation-settings`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;
use waybill_channels::orders_csv::{self, CsvProblem};
use waybill_core::api::requests::{CancellationSettingsUpdate, OrderCancel, OrderCreate};
use waybill_core::api::views::{CancellationSettingsView, List, OrderCancellationAnswer, OrderView};
use waybill_core::cancellation::CancelledBy;
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

/// Cancel an order, before delivery. Its bookings not yet picked up are voided at the carrier
/// (the channel's fulfilment with them, and their reserved stock released); its parcels already
/// on their way are asked back (return to origin: through the carrier where it takes the
/// request, else marked for you on `GET /v1/shipments/{id}/rto`). Both happen in the background
/// within seconds, retried while a carrier is down; a booking whose outcome is still unknown is
/// waited for. `201` when cancelled now; `200` with the first cancellation when asked again.
#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "orders", request_body = OrderCancel,
    params(("id" = String, Path, description = "order id (`ord_…`)")),
    responses((status = 201, body = OrderCancellationAnswer),
        (status = 200, description = "cancelled before: the first cancellation", body = OrderCancellationAnswer),
        (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 409, description = "the order is delivered, closed or returned", body = Problem)),
    security(("api_key" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
    ApiJson(body, _): ApiJson<OrderCancel>,
) -> ApiResult<(StatusCode, Json<OrderCancellationAnswer>)> {
    let id = OrderId::parse(&id).ok_or_else(|| unknown_id("order", &id))?;
    let (cancellation, order, new) =
        state.engine.cancel_order(&me, &id, CancelledBy::Merchant, body.reason.as_deref()).await?;
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    let answer =
        OrderCancellationAnswer { order: order.into(), cancellation: Some(cancellation.into()), customer_page: None };
    Ok((status, Json(answer)))
}

/// Where an order's cancellation stands: who cancelled it and why, or, while customers may
/// cancel (`/v1/cancellation-settings`), the path of the customer's cancellation page to put
/// in your own order confirmation.
#[utoipa::path(get, path = "/v1/orders/{id}/cancellation", tag = "orders",
    params(("id" = String, Path, description = "order id (`ord_…`)")),
    responses((status = 200, body = OrderCancellationAnswer), (status = 404, body = Problem)),
    security(("api_key" = [])))]
pub async fn cancellation(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
) -> ApiResult<Json<OrderCancellationAnswer>> {
    let id = OrderId::parse(&id).ok_or_else(|| unknown_id("order", &id))?;
    let state = state.engine.order_cancellation(&me, &id).await?;
    Ok(Json(OrderCancellationAnswer {
        order: state.order.into(),
        cancellation: state.cancellation.map(Into::into),
        customer_page: state.customer_page,
    }))
}

/// Whether customers may cancel their own orders (off until turned on).
#[utoipa::path(get, path = "/v1/cancellation-settings", tag = "orders",
    responses((status = 200, body = CancellationSettingsView)), security(("api_key" = [])))]
pub async fn get_cancellation_settings(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
) -> ApiResult<Json<CancellationSettingsView>> {
    Ok(Json(CancellationSettingsView { customers_may_cancel: state.engine.customers_may_cancel(&me).await? }))
}

/// Let customers cancel their own orders on their cancellation page until a parcel has left
/// (`customers_may_cancel: true`), or stop it. The page is linked from the tracking page and
/// from messages whose template uses `cancel_url`.
#[utoipa::path(put, path = "/v1/cancellation-settings", tag = "orders", request_body = CancellationSettingsUpdate,
    responses((status = 200, body = CancellationSettingsView), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn put_cancellation_settings(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<CancellationSettingsUpdate>,
) -> ApiResult<Json<CancellationSettingsView>> {
    let on = state.engine.set_customers_may_cancel(&me, body.customers_may_cancel).await?;
    Ok(Json(CancellationSettingsView { customers_may_cancel: on }))
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
