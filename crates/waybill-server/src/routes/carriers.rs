//! `/v1/carriers`, `/v1/carrier-accounts` and `/v1/rates`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use waybill_carriers::CarrierInfo;
use waybill_core::account::Holiday;
use waybill_core::api::requests::{CarrierAccountCreate, HolidaysPut, RateCreate};
use waybill_core::api::views::{CarrierAccountView, List, RateView};
use waybill_core::ids::CarrierAccountId;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::routes::{ListQuery, NoQuery, unknown_id};

#[derive(Serialize, ToSchema)]
pub struct CarrierView {
    #[serde(flatten)]
    pub info: CarrierInfo,
}

/// Every carrier this build speaks to: services, capabilities and credential schema.
#[utoipa::path(get, path = "/v1/carriers", tag = "carriers", responses((status = 200, body = List<CarrierView>)), security(("api_key" = [])))]
pub async fn list_carriers(
    State(state): State<AppState>,
    _auth: Auth,
    _: ApiQuery<NoQuery>,
) -> Json<List<CarrierView>> {
    let data = state.engine.carriers().iter().map(|c| CarrierView { info: c.info().clone() }).collect();
    Json(List { data, next_after: None })
}

/// Connect a carrier account in the key's mode. Credentials are checked against the
/// carrier's schema, sealed at rest, and never shown again.
#[utoipa::path(post, path = "/v1/carrier-accounts", tag = "carriers", request_body = CarrierAccountCreate,
    responses((status = 201, body = CarrierAccountView), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn create_account(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<CarrierAccountCreate>,
) -> ApiResult<(StatusCode, Json<CarrierAccountView>)> {
    let (account, push_secret) = state.engine.create_carrier_account(&me, body).await?;
    let push_url = state.engine.push_url(&account);
    Ok((StatusCode::CREATED, Json(CarrierAccountView::new(account, push_url, Some(push_secret)))))
}

/// List the key's carrier accounts (without credentials).
#[utoipa::path(get, path = "/v1/carrier-accounts", tag = "carriers", params(ListQuery), responses((status = 200, body = List<CarrierAccountView>), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn list_accounts(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<List<CarrierAccountView>>> {
    let after = q.after(CarrierAccountId::parse, "carrier account")?;
    let page = state.engine.list_carrier_accounts(&me, after.as_ref(), q.limit()?).await?;
    let data = page
        .items
        .into_iter()
        .map(|a| {
            let url = state.engine.push_url(&a);
            CarrierAccountView::new(a, url, None)
        })
        .collect();
    Ok(Json(List { data, next_after: page.next_after }))
}

/// Ask a carrier account for prices and transit times.
#[utoipa::path(post, path = "/v1/rates", tag = "carriers", request_body = RateCreate,
    responses((status = 200, body = List<RateView>), (status = 422, body = Problem), (status = 503, body = Problem)), security(("api_key" = [])))]
pub async fn rates(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<RateCreate>,
) -> ApiResult<Json<List<RateView>>> {
    let (account_id, carrier, rates) = state.engine.rates(&me, body).await?;
    let data = rates
        .into_iter()
        .map(|r| RateView {
            carrier: carrier.clone(),
            carrier_account_id: account_id.clone(),
            service: r.service,
            charge: r.charge,
            transit_days: r.transit_days,
        })
        .collect();
    Ok(Json(List { data, next_after: None }))
}

/// A carrier account's calendar of days its carrier does not deliver on.
#[derive(Serialize, ToSchema)]
pub struct HolidaysView {
    pub holidays: Vec<Holiday>,
}

/// The days the account's carrier does not deliver on, by date.
#[utoipa::path(get, path = "/v1/carrier-accounts/{id}/holidays", tag = "carriers",
    params(("id" = String, Path, description = "carrier account id (`car_…`)")),
    responses((status = 200, body = HolidaysView), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn get_holidays(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
) -> ApiResult<Json<HolidaysView>> {
    let id = CarrierAccountId::parse(&id).ok_or_else(|| unknown_id("carrier account", &id))?;
    Ok(Json(HolidaysView { holidays: state.engine.carrier_holidays(&me, &id).await? }))
}

/// Replace the account's calendar of days its carrier does not deliver on (public holidays,
/// strike days). A failed delivery is not rescheduled to one of them, by you or by the
/// customer. The whole calendar is checked first: a pointer per problem, nothing replaced.
#[utoipa::path(put, path = "/v1/carrier-accounts/{id}/holidays", tag = "carriers", request_body = HolidaysPut,
    params(("id" = String, Path, description = "carrier account id (`car_…`)")),
    responses((status = 200, body = HolidaysView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
pub async fn put_holidays(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
    ApiJson(body, _): ApiJson<HolidaysPut>,
) -> ApiResult<Json<HolidaysView>> {
    let id = CarrierAccountId::parse(&id).ok_or_else(|| unknown_id("carrier account", &id))?;
    Ok(Json(HolidaysView { holidays: state.engine.set_carrier_holidays(&me, &id, body).await? }))
}
