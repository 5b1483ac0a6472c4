//! `/v1/notification-settings`, `/v1/notification-templates`, `/v1/notification-opt-outs` and
//! `/v1/shipments/{id}/notifications`: what customers are told, in which words, and the log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waybill_core::api::views::{List, NotificationView, TemplateView};
use waybill_core::ids::ShipmentId;
use waybill_core::notification::{
    NotificationSettings, NotificationSettingsUpdate, OptOut, TemplatePreview, TemplatePut,
};
use waybill_core::{FieldError, Language, MessageChannel, Milestone};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::routes::{NoQuery, unknown_id};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(list_templates, put_template))
        .routes(routes!(preview))
        .routes(routes!(opt_out))
        .routes(routes!(shipment_notifications))
}

/// What the key's mode tells customers, and how (SMS credentials are never shown).
#[utoipa::path(get, path = "/v1/notification-settings", tag = "notifications",
    responses((status = 200, body = NotificationSettings)), security(("api_key" = [])))]
pub async fn get_settings(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
) -> ApiResult<Json<NotificationSettings>> {
    Ok(Json(state.engine.notification_settings(&me).await?))
}

/// Replace the settings: triggers per milestone and channel, sender, quiet hours, SMS provider.
#[utoipa::path(put, path = "/v1/notification-settings", tag = "notifications", request_body = NotificationSettingsUpdate,
    responses((status = 200, body = NotificationSettings), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn put_settings(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<NotificationSettingsUpdate>,
) -> ApiResult<Json<NotificationSettings>> {
    Ok(Json(state.engine.update_notification_settings(&me, body).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplateQuery {
    /// Only this milestone (`booked`, `out_for_delivery`, …).
    #[param(max_length = 32)]
    pub milestone: Option<String>,
    /// Only `email` or `sms`.
    #[param(max_length = 8)]
    pub channel: Option<String>,
    /// Only `en`, `fr`, `ko` or `tr`.
    #[param(max_length = 2)]
    pub language: Option<String>,
}

/// The query parameter `name` read as one of `all` (by its name); a problem when it is none.
fn filter<T: Copy + Into<&'static str>>(
    value: &Option<String>,
    name: &str,
    all: &[T],
    problems: &mut Vec<FieldError>,
) -> Option<T> {
    let v = value.as_deref().filter(|v| !v.is_empty())?;
    let found = all.iter().copied().find(|t| (*t).into() == v);
    if found.is_none() {
        let names: Vec<&str> = all.iter().map(|t| (*t).into()).collect();
        problems.push(FieldError::new(format!("/query/{name}"), format!("one of: {}", names.join(", "))));
    }
    found
}

/// The templates that apply: yours where you saved one (`source: custom`), else Waybill's.
#[utoipa::path(get, path = "/v1/notification-templates", tag = "notifications", params(TemplateQuery),
    responses((status = 200, body = List<TemplateView>), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn list_templates(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiQuery(q): ApiQuery<TemplateQuery>,
) -> ApiResult<Json<List<TemplateView>>> {
    let mut problems = Vec::new();
    let milestone = filter(&q.milestone, "milestone", Milestone::ALL, &mut problems);
    let channel = filter(&q.channel, "channel", MessageChannel::ALL, &mut problems);
    let language = filter(&q.language, "language", Language::ALL, &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let data = state.engine.notification_templates(&me, milestone, channel, language).await?;
    Ok(Json(List { data, next_after: None }))
}

/// Save your own template for one milestone, channel and language. It must parse and use only
/// the documented variables; each problem names the part, line and column. SMS longer than one
/// message come back with a warning.
#[utoipa::path(put, path = "/v1/notification-templates", tag = "notifications", request_body = TemplatePut,
    responses((status = 200, body = TemplateView), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn put_template(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<TemplatePut>,
) -> ApiResult<Json<TemplateView>> {
    Ok(Json(state.engine.put_notification_template(&me, body).await?))
}

/// Render a template (the one in the body, else yours, else Waybill's) against one of your
/// shipments or a sample one.
#[utoipa::path(post, path = "/v1/notification-templates/preview", tag = "notifications", request_body = TemplatePreview,
    responses((status = 200, body = TemplateView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
pub async fn preview(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<TemplatePreview>,
) -> ApiResult<Json<TemplateView>> {
    Ok(Json(state.engine.preview_notification(&me, body).await?))
}

/// Record that a recipient wants no more messages on a channel (an SMS `STOP`, an unsubscribe).
#[utoipa::path(post, path = "/v1/notification-opt-outs", tag = "notifications", request_body = OptOut,
    responses((status = 204), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn opt_out(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<OptOut>,
) -> ApiResult<StatusCode> {
    state.engine.opt_out(&me, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every message sent (or not) about a shipment: channel, template, language, masked
/// recipient, state with its reason, the provider's message id.
#[utoipa::path(get, path = "/v1/shipments/{id}/notifications", tag = "notifications",
    params(("id" = String, Path, description = "shipment id (`shp_…`)")),
    responses((status = 200, body = List<NotificationView>), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn shipment_notifications(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
) -> ApiResult<Json<List<NotificationView>>> {
    let id = ShipmentId::parse(&id).ok_or_else(|| unknown_id("shipment", &id))?;
    let data = state.engine.shipment_notifications(&me, &id).await?.into_iter().map(Into::into).collect();
    Ok(Json(List { data, next_after: None }))
}
