//! `/v1/addresses/validate`, `/v1/serviceability` and `/v1/pickups`: asking a carrier about an
//! address or a postcode, and booking a courier to collect parcels.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waybill_carriers::{AddressCheck, Serviceability};
use waybill_core::error::Problems;
use waybill_core::ids::{CarrierAccountId, PickupId, ShipmentId, TenantId};
use waybill_core::parcel::{Parcel, ParcelInput};
use waybill_core::{Address, Money};
use waybill_engine::PickupInput;
use waybill_store::{Pickup, PickupError, PickupOutcome, PickupStatus};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Auth};
use crate::idempotency::{Answer, Idempotency, Settle};
use crate::routes::ListQuery;
use crate::views::{List, time};

const SCHEDULE: &str = "POST /v1/pickups";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(validate_address))
        .routes(routes!(serviceability))
        .routes(routes!(schedule_pickup, list_pickups))
        .routes(routes!(get_pickup))
}

#[derive(Deserialize, ToSchema)]
pub struct AddressValidate {
    pub carrier_account_id: CarrierAccountId,
    pub address: Address,
}

/// Ask a carrier whether it can deliver to an address, and how it would write it.
#[utoipa::path(post, path = "/v1/addresses/validate", tag = "operations", request_body = AddressValidate,
    responses((status = 200, body = AddressCheck), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = [])))]
pub async fn validate_address(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiJson(body, _): ApiJson<AddressValidate>,
) -> ApiResult<Json<AddressCheck>> {
    let problems = body.address.problems("/address");
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let address = body.address.normalized();
    Ok(Json(state.engine.validate_address(&me.tenant_id, &body.carrier_account_id, &address).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct ServiceabilityQuery {
    /// The carrier account to ask.
    pub carrier_account_id: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub postal_code: Option<String>,
}

/// What a carrier offers at a postcode: delivery, prepaid, cash on delivery, pickup.
#[utoipa::path(get, path = "/v1/serviceability", tag = "operations", params(ServiceabilityQuery),
    responses((status = 200, body = Serviceability), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = [])))]
pub async fn serviceability(
    State(state): State<AppState>,
    Auth(me): Auth,
    Query(q): Query<ServiceabilityQuery>,
) -> ApiResult<Json<Serviceability>> {
    let mut problems = Problems::new();
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let account = match given(&q.carrier_account_id) {
        None => {
            problems.add("/carrier_account_id", "carrier_account_id is required");
            None
        }
        Some(id) => CarrierAccountId::parse(&id).or_else(|| {
            problems.add("/carrier_account_id", format!("`{id}` is not a carrier account id"));
            None
        }),
    };
    let country = given(&q.country).map(|c| c.to_ascii_uppercase());
    match &country {
        None => problems.add("/country", "country is required"),
        Some(c) if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) => {
            problems.add("/country", format!("`{c}` is not an ISO 3166-1 alpha-2 country code"))
        }
        Some(_) => {}
    }
    let postal_code = given(&q.postal_code).map(|p| p.to_ascii_uppercase());
    if postal_code.is_none() {
        problems.add("/postal_code", "postal_code is required");
    }
    problems.finish(())?;
    let (Some(account), Some(country), Some(postal_code)) = (account, country, postal_code) else {
        unreachable!("every missing field is a problem above")
    };
    Ok(Json(state.engine.serviceability(&me.tenant_id, &account, &country, &postal_code).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct PickupCreate {
    pub carrier_account_id: CarrierAccountId,
    /// Where the courier collects.
    pub address: Address,
    /// The day, `YYYY-MM-DD`, local to the address.
    pub date: String,
    /// `HH:MM` from which the parcels are ready.
    pub ready_time: String,
    /// `HH:MM` by which the courier must have come.
    pub close_time: String,
    /// Defaults to the parcels of `shipment_ids`.
    #[serde(default)]
    pub parcels: Vec<ParcelInput>,
    /// Booked shipments (on the same carrier account) to hand over.
    #[serde(default)]
    pub shipment_ids: Vec<String>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub instructions: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PickupErrorView {
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct PickupView {
    pub id: PickupId,
    pub carrier_account_id: CarrierAccountId,
    pub carrier: String,
    /// `requested`, `scheduled`, `failed` or `unknown` (the carrier's answer was lost: check
    /// with the carrier before asking again).
    pub status: String,
    pub confirmation_number: Option<String>,
    pub date: String,
    pub ready_time: String,
    pub close_time: String,
    pub address: Address,
    pub parcels: Vec<Parcel>,
    pub shipment_ids: Vec<ShipmentId>,
    pub service: Option<String>,
    pub instructions: Option<String>,
    pub charge: Option<Money>,
    pub note: Option<String>,
    pub error: Option<PickupErrorView>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Pickup> for PickupView {
    fn from(p: Pickup) -> Self {
        Self {
            id: p.id,
            carrier_account_id: p.carrier_account_id,
            carrier: p.carrier,
            status: p.status.as_str().to_owned(),
            confirmation_number: p.confirmation_number,
            date: p.date.to_string(),
            ready_time: p.ready_time.format("%H:%M").to_string(),
            close_time: p.close_time.format("%H:%M").to_string(),
            address: p.address,
            parcels: p.parcels,
            shipment_ids: p.shipment_ids,
            service: p.service,
            instructions: p.instructions,
            charge: p.charge,
            note: p.note,
            error: p.error.map(|e| PickupErrorView { code: e.code, message: e.message }),
            created_at: time(p.created_at),
            updated_at: time(p.updated_at),
        }
    }
}

/// The earliest day that is still today somewhere on Earth (UTC−12): before it, a date has
/// passed for every pickup address.
fn earliest_pickup_day() -> NaiveDate {
    (Utc::now() - chrono::Duration::hours(12)).date_naive()
}

/// Checks the request without writing anything.
fn pickup_input(body: PickupCreate, id: PickupId) -> ApiResult<PickupInput> {
    let mut problems = Problems::new();
    problems.extend(body.address.problems("/address"));
    let date = NaiveDate::parse_from_str(body.date.trim(), "%Y-%m-%d").ok();
    match date {
        None => problems.add("/date", format!("`{}` is not a date as YYYY-MM-DD", body.date)),
        Some(d) if d < earliest_pickup_day() => problems.add("/date", format!("{d} is in the past")),
        Some(_) => {}
    }
    let clock = |problems: &mut Problems, pointer: &str, text: &str| {
        let parsed = NaiveTime::parse_from_str(text.trim(), "%H:%M").ok();
        if parsed.is_none() {
            problems.add(pointer, format!("`{text}` is not a time as HH:MM"));
        }
        parsed
    };
    let ready = clock(&mut problems, "/ready_time", &body.ready_time);
    let close = clock(&mut problems, "/close_time", &body.close_time);
    if let (Some(r), Some(c)) = (ready, close)
        && c <= r
    {
        problems.add("/close_time", "close_time must be after ready_time");
    }
    let mut parcels = Vec::new();
    for (i, p) in body.parcels.iter().enumerate() {
        match p.resolve(&format!("/parcels/{i}")) {
            Ok(p) => parcels.push(p),
            Err(errors) => problems.extend(errors),
        }
    }
    let mut shipment_ids = Vec::new();
    for (i, s) in body.shipment_ids.iter().enumerate() {
        match ShipmentId::parse(s) {
            Some(id) => shipment_ids.push(id),
            None => problems.add(format!("/shipment_ids/{i}"), format!("no shipment `{s}`")),
        }
    }
    if body.parcels.is_empty() && body.shipment_ids.is_empty() {
        problems.add("/parcels", "give at least one parcel or shipment id");
    }
    if body.instructions.as_ref().is_some_and(|t| t.chars().count() > 200) {
        problems.add("/instructions", "instructions must be at most 200 characters");
    }
    problems.finish(())?;
    let (Some(date), Some(ready_time), Some(close_time)) = (date, ready, close) else {
        unreachable!("every unreadable field is a problem above")
    };
    Ok(PickupInput {
        id,
        carrier_account_id: body.carrier_account_id,
        address: body.address.normalized(),
        date,
        ready_time,
        close_time,
        parcels,
        shipment_ids,
        service: body.service,
        instructions: body.instructions,
    })
}

/// `201` when scheduled, `422` when the carrier refused, `202` otherwise (the carrier's answer
/// was lost: `unknown`).
fn pickup_answer(pickup: Pickup) -> (StatusCode, String) {
    let status = match pickup.status {
        PickupStatus::Scheduled => StatusCode::CREATED,
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
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a repeat return the first answer")),
    responses((status = 201, body = PickupView), (status = 202, body = PickupView), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = [])))]
pub async fn schedule_pickup(
    State(state): State<AppState>,
    Auth(me): Auth,
    headers: HeaderMap,
    ApiJson(body, raw): ApiJson<PickupCreate>,
) -> ApiResult<Response> {
    let tenant = &me.tenant_id;
    let settle: Settle = |state, tenant, id| Box::pin(settle_abandoned(state, tenant, id));
    let idempotency = match Idempotency::check(&state, tenant, &headers, SCHEDULE, &raw, settle).await? {
        Ok(fresh) => fresh,
        Err(repeat) => return Ok(repeat),
    };
    let id = PickupId::generate();
    let input = pickup_input(body, id.clone())?;
    if let Some(repeat) = idempotency.claim(id.as_str()).await? {
        return Ok(repeat);
    }
    let outcome = state.engine.schedule_pickup(tenant, input).await.map(pickup_answer);
    idempotency.finish(outcome).await
}

/// A key whose first request died before answering (its node crashed). Its pickup's outcome
/// becomes the answer; one still `requested` by then may have reached the carrier, so it is
/// settled as `unknown` rather than asked again.
async fn settle_abandoned(state: &AppState, tenant: &TenantId, id: &str) -> ApiResult<Option<Answer>> {
    let Some(id) = PickupId::parse(id) else { return Ok(None) };
    let store = state.engine.store();
    let Ok(mut pickup) = store.pickup(tenant, &id).await else { return Ok(None) };
    if pickup.status == PickupStatus::Requested {
        let error = PickupError {
            code: "NEEDS_ATTENTION".into(),
            message: format!(
                "the request for this pickup was interrupted; check with {} (reference {id}) before asking again",
                pickup.carrier
            ),
        };
        pickup = store.record_pickup_outcome(tenant, &id, PickupOutcome::Unknown(error)).await?;
    }
    Ok(Some(pickup_answer(pickup)))
}

/// List pickups, oldest first.
#[utoipa::path(get, path = "/v1/pickups", tag = "operations", params(ListQuery),
    responses((status = 200, body = List<PickupView>)), security(("api_key" = [])))]
pub async fn list_pickups(
    State(state): State<AppState>,
    Auth(me): Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<List<PickupView>>> {
    let page = state.engine.list_pickups(&me.tenant_id, q.after.as_deref(), q.limit()?).await?;
    Ok(Json(List { data: page.items.into_iter().map(Into::into).collect(), next_after: page.next_after }))
}

/// Fetch one pickup.
#[utoipa::path(get, path = "/v1/pickups/{id}", tag = "operations", params(("id" = String, Path, description = "pickup id (`pku_…`)")),
    responses((status = 200, body = PickupView), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn get_pickup(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<PickupView>> {
    let id = PickupId::parse(&id).ok_or_else(|| ApiError::not_found(format!("pickup {id}")))?;
    Ok(Json(state.engine.pickup(&me.tenant_id, &id).await?.into()))
}
