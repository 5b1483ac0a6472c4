//! `/v1/webhooks` (merchant endpoints and their delivery logs) and `/v1/events/{id}/redeliver`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waybill_core::api::requests::{Redeliver, WebhookCreate};
use waybill_core::api::views::{List, RedeliveryView, WebhookDeliveryView, WebhookEndpointView};
use waybill_core::ids::{EventId, WebhookDeliveryId, WebhookEndpointId};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::routes::{ListQuery, NoQuery, unknown_id};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get, delete))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver))
}

fn endpoint_id(raw: &str) -> Result<WebhookEndpointId, ApiError> {
    WebhookEndpointId::parse(raw).ok_or_else(|| unknown_id("webhook endpoint", raw))
}

/// Register an endpoint for the key's mode. The answer carries its `whsec_…` secret, shown
/// this once: deliveries are signed with it as the Standard Webhooks specification says.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = WebhookCreate,
    responses((status = 201, body = WebhookEndpointView), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<WebhookCreate>,
) -> ApiResult<(StatusCode, Json<WebhookEndpointView>)> {
    let (endpoint, secret) = state.engine.create_webhook(&me, body).await?;
    Ok((StatusCode::CREATED, Json(WebhookEndpointView::new(endpoint, Some(secret)))))
}

/// List the key's endpoints (without their secrets).
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", params(ListQuery),
    responses((status = 200, body = List<WebhookEndpointView>), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<List<WebhookEndpointView>>> {
    let after = q.after(WebhookEndpointId::parse, "webhook endpoint")?;
    let page = state.engine.list_webhooks(&me, after.as_ref(), q.limit()?).await?;
    let data = page.items.into_iter().map(|e| WebhookEndpointView::new(e, None)).collect();
    Ok(Json(List { data, next_after: page.next_after }))
}

/// One endpoint: its events, and whether it is enabled (or why it was disabled).
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "endpoint id (`wh_…`)")),
    responses((status = 200, body = WebhookEndpointView), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookEndpointView>> {
    let id = endpoint_id(&id)?;
    Ok(Json(WebhookEndpointView::new(state.engine.webhook(&me, &id).await?, None)))
}

/// Delete an endpoint: nothing more is sent to it; its delivery log stays readable.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "endpoint id (`wh_…`)")),
    responses((status = 204), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = endpoint_id(&id)?;
    state.engine.delete_webhook(&me, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An endpoint's delivery log, oldest first: every attempt with its status code, latency and
/// the start of the receiver's answer.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path, description = "endpoint id (`wh_…`)"), ListQuery),
    responses((status = 200, body = List<WebhookDeliveryView>), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
    Path(id): Path<String>,
) -> ApiResult<Json<List<WebhookDeliveryView>>> {
    let id = endpoint_id(&id)?;
    let after = q.after(WebhookDeliveryId::parse, "webhook delivery")?;
    let page = state.engine.webhook_deliveries(&me, &id, after.as_ref(), q.limit()?).await?;
    Ok(Json(List { data: page.items.into_iter().map(Into::into).collect(), next_after: page.next_after }))
}

/// Send an event again (same `webhook-id`, so a receiver that has it already can tell), to one
/// endpoint or to every enabled endpoint that wants its type. Body: `{}` or `{"endpoint_id": …}`.
#[utoipa::path(post, path = "/v1/events/{id}/redeliver", tag = "webhooks", params(("id" = String, Path, description = "event id (`evt_…`)")),
    request_body = Redeliver,
    responses((status = 202, body = RedeliveryView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("api_key" = [])))]
pub async fn redeliver(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
    ApiJson(body, _): ApiJson<Redeliver>,
) -> ApiResult<(StatusCode, Json<RedeliveryView>)> {
    let event_id = EventId::parse(&id).ok_or_else(|| unknown_id("event", &id))?;
    let messages = state.engine.redeliver(&me, &event_id, body).await?;
    Ok((StatusCode::ACCEPTED, Json(RedeliveryView { event_id, messages })))
}
