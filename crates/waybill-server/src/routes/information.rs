//! `/v1/information-requests`: what carriers ask for (one field of a delivery address), and
//! the fixes that answer them.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waybill_core::api::requests::InformationResolve;
use waybill_core::api::views::{InformationRequestView, List};
use waybill_core::ids::InformationRequestId;
use waybill_core::information::{InfoActor, InfoState};
use waybill_engine::EngineError;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::routes::{ListQuery, NoQuery, named_param, unknown_id};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(get)).routes(routes!(resolve))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InformationListQuery {
    /// How many to list, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// The `next_after` of the previous page (empty: the first page).
    #[param(max_length = 40)]
    pub after: Option<String>,
    /// Only requests in this state: `open` (the queue waiting on you), `resolved`, `withdrawn`.
    #[param(max_length = 20)]
    pub state: Option<String>,
}

/// List information requests, oldest first.
#[utoipa::path(get, path = "/v1/information-requests", tag = "information", params(InformationListQuery),
    responses((status = 200, body = List<InformationRequestView>), (status = 422, body = Problem)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiQuery(q): ApiQuery<InformationListQuery>,
) -> ApiResult<Json<List<InformationRequestView>>> {
    let wanted = q
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|name| named_param(name, "state", InfoState::parse, InfoState::ALL, InfoState::as_str))
        .transpose()?;
    let paging = ListQuery { limit: q.limit, after: q.after };
    let limit = paging.limit()?;
    let after = paging.after(InformationRequestId::parse, "information request")?;
    let page = state.engine.list_information_requests(&me, wanted, after.as_ref(), limit).await?;
    Ok(Json(List { data: page.items.into_iter().map(Into::into).collect(), next_after: page.next_after }))
}

/// One information request: the field, the carrier's code and words, and how it was answered.
#[utoipa::path(get, path = "/v1/information-requests/{id}", tag = "information",
    params(("id" = String, Path, description = "information request id (`inf_…`)")),
    responses((status = 200, body = InformationRequestView), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
    _: ApiQuery<NoQuery>,
) -> ApiResult<Json<InformationRequestView>> {
    let id = InformationRequestId::parse(&id).ok_or_else(|| unknown_id("information request", &id))?;
    Ok(Json(state.engine.information_request(&me, &id).await?.into()))
}

/// Answer an information request with the corrected value of its field. It is checked like that
/// field of an address, then sent to the carrier: a refused booking is booked again (a new
/// shipment: `resolution.new_shipment_id`); a booked parcel is updated at the carrier where it
/// takes the change, else voided and booked again before pickup (a new shipment, tracking number
/// and label to print). A refusal, or a carrier that cannot be reached, leaves the request open.
#[utoipa::path(post, path = "/v1/information-requests/{id}/resolve", tag = "information", request_body = InformationResolve,
    params(("id" = String, Path, description = "information request id (`inf_…`)")),
    responses((status = 200, body = InformationRequestView), (status = 404, body = Problem),
        (status = 422, description = "the value is not valid for the field (`/value`)", body = Problem),
        (status = 409, description = "already resolved or withdrawn, or the carrier cannot take the fix now", body = Problem)),
    security(("api_key" = [])))]
pub async fn resolve(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<InformationResolve>,
) -> ApiResult<Json<InformationRequestView>> {
    let id = InformationRequestId::parse(&id).ok_or_else(|| unknown_id("information request", &id))?;
    let resolved =
        state.engine.resolve_information(&me, &id, &body.value, InfoActor::Merchant).await.map_err(|e| match e {
            EngineError::Carrier(c) => ApiError::carrier(c, axum::http::StatusCode::CONFLICT),
            other => other.into(),
        })?;
    Ok(Json(resolved.into()))
}
