//! `/v1/ndr` and `/v1/ndr-settings`: failed deliveries, what to do about them, and the
//! tenant's rules for when nobody says.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waybill_core::api::requests::{NdrDispute, NdrSettingsUpdate};
use waybill_core::api::views::{List, NdrCaseView};
use waybill_core::ids::{NdrCaseId, ShipmentId};
use waybill_core::ndr::{NdrAction, NdrActor, NdrSettings, NdrState};
use waybill_core::{FieldError, Page};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::routes::{ListQuery, NoQuery, named_param, unknown_id};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(act))
        .routes(routes!(dispute))
        .routes(routes!(get_settings, put_settings))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NdrListQuery {
    /// How many to list, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// The `next_after` of the previous page (empty: the first page).
    #[param(max_length = 40)]
    pub after: Option<String>,
    /// Only cases in these states, comma-separated: `awaiting_action`, `action_requested`,
    /// `delivered`, `returned_to_origin` (e.g. `awaiting_action` for the cases waiting on you).
    #[param(max_length = 80)]
    pub state: Option<String>,
    /// Only the case of this shipment (`shp_…`).
    #[param(max_length = 40)]
    pub shipment_id: Option<String>,
}

/// List NDR cases, oldest first.
#[utoipa::path(get, path = "/v1/ndr", tag = "ndr", params(NdrListQuery),
    responses((status = 200, body = List<NdrCaseView>), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiQuery(q): ApiQuery<NdrListQuery>,
) -> ApiResult<Json<List<NdrCaseView>>> {
    let states = q
        .state
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| named_param(name, "state", NdrState::parse, NdrState::ALL, NdrState::as_str))
        .collect::<Result<Vec<_>, _>>()?;
    let paging = ListQuery { limit: q.limit, after: q.after };
    let limit = paging.limit()?;
    let after = paging.after(NdrCaseId::parse, "NDR case")?;
    let page = match q.shipment_id.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => {
            let shipment = ShipmentId::parse(raw).ok_or_else(|| {
                ApiError::invalid(vec![FieldError::new("/query/shipment_id", "is not a shipment id (`shp_…`)")])
            })?;
            let found = state.engine.ndr_case_of_shipment(&me, &shipment).await?;
            let items = found.into_iter().filter(|c| states.is_empty() || states.contains(&c.case.state)).collect();
            Page { items, next_after: None }
        }
        None => state.engine.list_ndr_cases(&me, &states, after.as_ref(), limit).await?,
    };
    Ok(Json(List { data: page.items.into_iter().map(Into::into).collect(), next_after: page.next_after }))
}

/// One NDR case: its attempts, what was asked after each and what the carrier made of it.
#[utoipa::path(get, path = "/v1/ndr/{id}", tag = "ndr", params(("id" = String, Path, description = "NDR case id (`ndr_…`)")),
    responses((status = 200, body = NdrCaseView), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
    _: ApiQuery<NoQuery>,
) -> ApiResult<Json<NdrCaseView>> {
    let id = NdrCaseId::parse(&id).ok_or_else(|| unknown_id("NDR case", &id))?;
    Ok(Json(state.engine.ndr_case(&me, &id).await?.into()))
}

/// Ask for an action on the latest failed attempt: `reattempt`, `reschedule` (with `date`),
/// `update_and_reattempt` (with `street1`, `street2`, `phone` and/or `landmark`) or `rto`.
/// `allowed_actions` on the case says which this carrier and reason take; one action per
/// attempt. The carrier is told by a job (its NDR API, or the daily report for its contact).
#[utoipa::path(post, path = "/v1/ndr/{id}/actions", tag = "ndr", request_body = NdrAction,
    params(("id" = String, Path, description = "NDR case id (`ndr_…`)")),
    responses((status = 200, body = NdrCaseView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
pub async fn act(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
    _: ApiQuery<NoQuery>,
    ApiJson(action, _): ApiJson<NdrAction>,
) -> ApiResult<Json<NdrCaseView>> {
    let id = NdrCaseId::parse(&id).ok_or_else(|| unknown_id("NDR case", &id))?;
    Ok(Json(state.engine.request_ndr_action(&me, &id, action, NdrActor::Merchant).await?.into()))
}

/// Record that the customer says the latest attempt never happened ("I was home"), for a
/// dispute with the carrier.
#[utoipa::path(post, path = "/v1/ndr/{id}/dispute", tag = "ndr", request_body = NdrDispute,
    params(("id" = String, Path, description = "NDR case id (`ndr_…`)")),
    responses((status = 200, body = NdrCaseView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
pub async fn dispute(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<NdrDispute>,
) -> ApiResult<Json<NdrCaseView>> {
    let id = NdrCaseId::parse(&id).ok_or_else(|| unknown_id("NDR case", &id))?;
    Ok(Json(state.engine.dispute_ndr_attempt(&me, &id, &body.statement).await?.into()))
}

/// The key's NDR rules: how long a case waits, and what is asked of the carrier then.
#[utoipa::path(get, path = "/v1/ndr-settings", tag = "ndr",
    responses((status = 200, body = NdrSettings)), security(("api_key" = [])))]
pub async fn get_settings(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
) -> ApiResult<Json<NdrSettings>> {
    Ok(Json(state.engine.ndr_settings(&me).await?))
}

/// Change the NDR rules (fields left out keep their value). Open cases keep their deadline.
#[utoipa::path(put, path = "/v1/ndr-settings", tag = "ndr", request_body = NdrSettingsUpdate,
    responses((status = 200, body = NdrSettings), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn put_settings(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<NdrSettingsUpdate>,
) -> ApiResult<Json<NdrSettings>> {
    Ok(Json(state.engine.set_ndr_settings(&me, body).await?))
}
