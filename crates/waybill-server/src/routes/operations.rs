//! `/v1/addresses/validate`, `/v1/serviceability` and `/v1/pickups`: asking a carrier about an
//! address or a postcode, and booking a courier to collect parcels.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waybill_carriers::{AddressCheck, Serviceability};
use waybill_core::api::requests::{AddressValidate, PickupCreate};
use waybill_core::api::views::{List, PickupView};
use waybill_core::error::Problems;
use waybill_core::ids::{CarrierAccountId, PickupId};
use waybill_core::pickup::{Pickup, PickupStatus};
use waybill_core::{Scope, text};
use waybill_engine::EngineError;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::idempotency::{Answer, Idempotency, Settle, Settled};
use crate::routes::{ListQuery, NoQuery, unknown_id};

const SCHEDULE: &str = "POST /v1/pickups";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(validate_address))
        .routes(routes!(serviceability))
        .routes(routes!(schedule_pickup, list_pickups))
        .routes(routes!(get_pickup))
        .routes(routes!(cancel_pickup))
}

/// Ask a carrier whether it can deliver to an address, and how it would write it.
#[utoipa::path(post, path = "/v1/addresses/validate", tag = "operations", request_body = AddressValidate,
    responses((status = 200, body = AddressCheck), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = [])))]
pub async fn validate_address(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<AddressValidate>,
) -> ApiResult<Json<AddressCheck>> {
    Ok(Json(state.engine.validate_address(&me, body).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ServiceabilityQuery {
    /// The carrier account to ask.
    #[param(max_length = 40)]
    pub carrier_account_id: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[param(max_length = 2)]
    pub country: Option<String>,
    #[param(max_length = 12)]
    pub postal_code: Option<String>,
}

/// What a carrier offers at a postcode: delivery, prepaid, cash on delivery, pickup.
#[utoipa::path(get, path = "/v1/serviceability", tag = "operations", params(ServiceabilityQuery),
    responses((status = 200, body = Serviceability), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = [])))]
pub async fn serviceability(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiQuery(q): ApiQuery<ServiceabilityQuery>,
) -> ApiResult<Json<Serviceability>> {
    let mut problems = Problems::new();
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let account = match given(&q.carrier_account_id) {
        None => {
            problems.add("/query/carrier_account_id", "carrier_account_id is required");
            None
        }
        Some(id) => CarrierAccountId::parse(&id).or_else(|| {
            problems.add("/query/carrier_account_id", "not a carrier account id (`car_…`)");
            None
        }),
    };
    let country = given(&q.country).map(|c| c.to_ascii_uppercase());
    match &country {
        None => problems.add("/query/country", "country is required"),
        Some(c) if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) => {
            problems.add("/query/country", "not an ISO 3166-1 alpha-2 country code")
        }
        Some(_) => {}
    }
    let postal_code = given(&q.postal_code).map(|p| p.to_ascii_uppercase());
    match &postal_code {
        None => problems.add("/query/postal_code", "postal_code is required"),
        Some(p) => problems.extend(text::POSTCODE.check("/query/postal_code", p).into_iter().collect()),
    }
    problems.finish(())?;
    let (Some(account), Some(country), Some(postal_code)) = (account, country, postal_code) else {
        unreachable!("every missing field is a problem above")
    };
    Ok(Json(state.engine.serviceability(&me, &account, &country, &postal_code).await.map_err(|e| match e {
        EngineError::Invalid(mut i) => {
            for error in &mut i.0 {
                error.pointer = format!("/query{}", error.pointer);
            }
            EngineError::Invalid(i)
        }
        other => other,
    })?))
}

/// The earliest day that is still today somewhere on Earth (UTC−12): before it, a date has
/// passed for every pickup address.
fn earliest_pickup_day() -> NaiveDate {
    (Utc::now() - chrono::Duration::hours(12)).date_naive()
}

/// `201` when scheduled, `422` when the carrier refused, `202` otherwise (the carrier's answer
/// was lost: `unknown`).
fn pickup_answer(pickup: Pickup) -> Answer {
    let status = match pickup.status {
        // A pickup cancelled since was scheduled first.
        PickupStatus::Scheduled | PickupStatus::Cancelled => StatusCode::CREATED,
        PickupStatus::Failed => StatusCode::UNPROCESSABLE_ENTITY,
        PickupStatus::Requested | PickupStatus::Unknown => StatusCode::ACCEPTED,
    };
    (status, serde_json::to_string(&PickupView::from(pickup)).expect("views serialize"))
}

/// Ask a carrier to send a courier for parcels.
///
/// Booking a pickup is not idempotent at carriers: a repeat sends a second courier. With an
/// `Idempotency-Key` header, a repeat of the same request returns the first answer and reaches
/// the carrier only once, even while the first is in flight. `201` means scheduled; `202`
/// means the carrier's answer was lost (`status: unknown`): check with the carrier before
/// asking again.
#[utoipa::path(post, path = "/v1/pickups", tag = "operations", request_body = PickupCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a repeat return the first answer (1–255 visible ASCII characters)")),
    responses((status = 201, body = PickupView), (status = 202, body = PickupView), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = [])))]
pub async fn schedule_pickup(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    headers: HeaderMap,
    ApiJson(body, raw): ApiJson<PickupCreate>,
) -> ApiResult<Response> {
    let settle: Settle = |state, scope, id| Box::pin(settle_abandoned(state, scope, id));
    let idempotency = match Idempotency::check(&state, &me, &headers, SCHEDULE, &raw, settle).await? {
        Ok(fresh) => fresh,
        Err(repeat) => return Ok(repeat),
    };
    let input = body.check(earliest_pickup_day())?;
    state.engine.check_pickup(&me, &input).await?;
    let id = PickupId::generate();
    if let Some(repeat) = idempotency.claim(id.as_str()).await? {
        return Ok(repeat);
    }
    let outcome = state.engine.schedule_pickup(&me, id, input).await.map(pickup_answer);
    idempotency.finish(outcome).await
}

/// A key whose first request died before answering (its node crashed). Its pickup's outcome
/// becomes the answer; one still `requested` by then may have reached the carrier, so it is
/// settled as `unknown` rather than asked again.
async fn settle_abandoned(state: &AppState, scope: &Scope, id: &str) -> ApiResult<Settled> {
    let Some(id) = PickupId::parse(id) else { return Ok(Settled::Release) };
    match state.engine.settle_abandoned_pickup(scope, &id).await {
        Ok(pickup) => Ok(Settled::Answer(pickup_answer(pickup))),
        // The pickup was never recorded: nothing reached the carrier.
        Err(EngineError::NotFound(_)) => Ok(Settled::Release),
        Err(e) => Err(e.into()),
    }
}

/// List pickups, oldest first.
#[utoipa::path(get, path = "/v1/pickups", tag = "operations", params(ListQuery),
    responses((status = 200, body = List<PickupView>), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn list_pickups(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<List<PickupView>>> {
    let after = q.after(PickupId::parse, "pickup")?;
    let page = state.engine.list_pickups(&me, after.as_ref(), q.limit()?).await?;
    Ok(Json(List { data: page.items.into_iter().map(Into::into).collect(), next_after: page.next_after }))
}

/// Fetch one pickup.
#[utoipa::path(get, path = "/v1/pickups/{id}", tag = "operations", params(("id" = String, Path, description = "pickup id (`pku_…`)")),
    responses((status = 200, body = PickupView), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn get_pickup(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
) -> ApiResult<Json<PickupView>> {
    let id = PickupId::parse(&id).ok_or_else(|| unknown_id("pickup", &id))?;
    Ok(Json(state.engine.pickup(&me, &id).await?.into()))
}

/// Call a scheduled pickup off at the carrier (where its API allows: `capabilities.pickup_cancel`).
/// Calling it off again answers the cancelled pickup.
#[utoipa::path(post, path = "/v1/pickups/{id}/cancel", tag = "operations", params(("id" = String, Path, description = "pickup id (`pku_…`)")),
    responses((status = 200, body = PickupView), (status = 404, body = Problem),
        (status = 409, description = "not scheduled, the carrier cannot cancel through its API, or it refused", body = Problem)),
    security(("api_key" = [])))]
pub async fn cancel_pickup(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
) -> ApiResult<Json<PickupView>> {
    let id = PickupId::parse(&id).ok_or_else(|| unknown_id("pickup", &id))?;
    let cancelled = state.engine.cancel_pickup(&me, &id).await.map_err(|e| match e {
        EngineError::Carrier(c) => ApiError::carrier(c, StatusCode::CONFLICT),
        other => other.into(),
    })?;
    Ok(Json(cancelled.into()))
}
