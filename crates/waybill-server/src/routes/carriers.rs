//! `/v1/carriers`, `/v1/carrier-accounts` and `/v1/rates`.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use waybill_carriers::RateRequest;
use waybill_core::error::Problems;
use waybill_engine::NewAccountInput;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, Auth};
use crate::routes::ListQuery;
use crate::views::{CarrierAccountCreate, CarrierAccountView, CarrierView, List, RateCreate, RateView};

/// Every carrier this build speaks to: services, capabilities and credential schema.
#[utoipa::path(get, path = "/v1/carriers", tag = "carriers", responses((status = 200, body = List<CarrierView>)), security(("api_key" = [])))]
pub async fn list_carriers(State(state): State<AppState>, _auth: Auth) -> Json<List<CarrierView>> {
    let data = state.engine.carriers().iter().map(|c| CarrierView { info: c.info().clone() }).collect();
    Json(List { data, next_after: None })
}

/// Connect a carrier account. Credentials are checked against the carrier's schema, sealed
/// at rest, and never shown again.
#[utoipa::path(post, path = "/v1/carrier-accounts", tag = "carriers", request_body = CarrierAccountCreate,
    responses((status = 201, body = CarrierAccountView), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn create_account(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiJson(body, _): ApiJson<CarrierAccountCreate>,
) -> ApiResult<(StatusCode, Json<CarrierAccountView>)> {
    let input = NewAccountInput {
        carrier: body.carrier,
        mode: body.mode,
        description: body.description,
        base_url: body.base_url,
        credentials: body.credentials,
    };
    let account = state.engine.create_carrier_account_with_settings(&me.tenant_id, input, body.settings).await?;
    let secrets = state.engine.store().account_secrets(&me.tenant_id, &account.id).await?;
    let push_url = state.engine.push_url(&account);
    Ok((StatusCode::CREATED, Json(CarrierAccountView::new(account, push_url, Some(secrets.push_secret)))))
}

/// List the tenant's carrier accounts (without credentials).
#[utoipa::path(get, path = "/v1/carrier-accounts", tag = "carriers", params(ListQuery), responses((status = 200, body = List<CarrierAccountView>)), security(("api_key" = [])))]
pub async fn list_accounts(
    State(state): State<AppState>,
    Auth(me): Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<List<CarrierAccountView>>> {
    let page = state.engine.store().list_carrier_accounts(&me.tenant_id, q.after.as_deref(), q.limit()?).await?;
    Ok(Json(List {
        data: page
            .items
            .into_iter()
            .map(|a| {
                let url = state.engine.push_url(&a);
                CarrierAccountView::new(a, url, None)
            })
            .collect(),
        next_after: page.next_after,
    }))
}

/// Ask a carrier account for prices and transit times.
#[utoipa::path(post, path = "/v1/rates", tag = "carriers", request_body = RateCreate,
    responses((status = 200, body = List<RateView>), (status = 422, body = Problem), (status = 503, body = Problem)), security(("api_key" = [])))]
pub async fn rates(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiJson(body, _): ApiJson<RateCreate>,
) -> ApiResult<Json<List<RateView>>> {
    let mut problems = Problems::new();
    problems.extend(body.ship_from.problems("/ship_from"));
    problems.extend(body.ship_to.problems("/ship_to"));
    let mut parcels = Vec::new();
    if body.parcels.is_empty() {
        problems.add("/parcels", "at least one parcel is required");
    }
    for (i, p) in body.parcels.iter().enumerate() {
        match p.resolve(&format!("/parcels/{i}")) {
            Ok(p) => parcels.push(p),
            Err(e) => problems.extend(e),
        }
    }
    problems.finish(())?;
    let request = RateRequest { ship_from: body.ship_from, ship_to: body.ship_to, parcels };
    let (account, rates) = state.engine.rates(&me.tenant_id, &body.carrier_account_id, &request).await?;
    let data = rates
        .into_iter()
        .map(|r| RateView {
            carrier: account.carrier.clone(),
            carrier_account_id: account.id.clone(),
            service: r.service,
            charge: r.charge,
            transit_days: r.transit_days,
        })
        .collect();
    Ok(Json(List { data, next_after: None }))
}
