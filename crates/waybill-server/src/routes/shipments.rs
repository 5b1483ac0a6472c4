//! `/v1/shipments` and `/v1/trackers`: book, list, fetch, label, cancel, track.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use waybill_core::api::requests::{RtoAcknowledge, RtoRequestCreate, ShipmentCreate, ShipmentPatch};
use waybill_core::api::views::{
    List, RtoReceiptView, RtoRequestView, ShipmentChangeView, ShipmentChangedView, ShipmentDetails, ShipmentView,
    TrackerView,
};
use waybill_core::ids::{CarrierAccountId, ShipmentId};
use waybill_core::{BookingState, FieldError, Scope};
use waybill_engine::EngineError;
use waybill_labels::LabelFormat;
use waybill_store::ShipmentFilter;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::idempotency::{Idempotency, Settle, Settled};
use crate::routes::{ListQuery, NoQuery, named_param, unknown_id};

const BOOK: &str = "POST /v1/shipments";

fn view_json(details: ShipmentDetails) -> String {
    serde_json::to_string(&ShipmentView::from(details)).expect("views serialize")
}

/// Book a shipment with a carrier.
///
/// With an `Idempotency-Key` header, a repeat of the same request returns the first answer
/// and never books twice, even while the first is still in flight. `201` means booked; `202`
/// means the carrier may have booked but its answer was lost or could not be recorded: the
/// booking is `unknown` and is settled by asking the carrier (poll the shipment), never by
/// booking again.
#[utoipa::path(post, path = "/v1/shipments", tag = "shipments", request_body = ShipmentCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a repeat return the first answer (1–255 visible ASCII characters)")),
    responses((status = 201, body = ShipmentView), (status = 202, body = ShipmentView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    headers: HeaderMap,
    ApiJson(body, raw): ApiJson<ShipmentCreate>,
) -> ApiResult<Response> {
    let settle: Settle = |state, scope, id| Box::pin(settle_abandoned(state, scope, id));
    let idempotency = match Idempotency::check(&state, &me, &headers, BOOK, &raw, settle).await? {
        Ok(fresh) => fresh,
        Err(repeat) => return Ok(repeat),
    };
    let input = state.engine.check_booking(&me, body).await.map_err(|e| match e {
        EngineError::Conflict(c) => ApiError::new(StatusCode::CONFLICT, "order_not_shippable", c),
        other => other.into(),
    })?;
    let id = ShipmentId::generate();
    if let Some(repeat) = idempotency.claim(id.as_str()).await? {
        return Ok(repeat);
    }
    let outcome = match state.engine.book(&me, id, input).await {
        Ok(shipment) => {
            let status = match shipment.booking_state {
                BookingState::Booked => StatusCode::CREATED,
                _ => StatusCode::ACCEPTED,
            };
            // The booking stands even if its view cannot be read back now: answer from what
            // the booking returned.
            let details = match state.engine.details_of(shipment.clone(), true).await {
                Ok(d) => d,
                Err(_) => ShipmentDetails { shipment, events: Some(vec![]), tracking_url: None },
            };
            Ok((status, view_json(details)))
        }
        Err(e) => Err(e),
    };
    idempotency.finish(outcome).await
}

/// A key whose first request died before answering (its node crashed): once the booking's
/// own outcome is settled (by the sweep of orphaned bookings), that outcome is the answer; a
/// booking the carrier never got frees the key.
async fn settle_abandoned(state: &AppState, scope: &Scope, id: &str) -> ApiResult<Settled> {
    let Some(id) = ShipmentId::parse(id) else { return Ok(Settled::Release) };
    let details = match state.engine.shipment_details(scope, &id).await {
        Ok(d) => d,
        // The intent was never recorded: nothing reached the carrier.
        Err(EngineError::NotFound(_)) => return Ok(Settled::Release),
        Err(e) => return Err(e.into()),
    };
    let status = match details.shipment.booking_state {
        BookingState::Pending => return Ok(Settled::Pending),
        BookingState::Failed if details.shipment.error.as_ref().is_some_and(|e| e.code == "NOT_BOOKED") => {
            return Ok(Settled::Release);
        }
        BookingState::Booked => StatusCode::CREATED,
        BookingState::Failed => StatusCode::UNPROCESSABLE_ENTITY,
        BookingState::Unknown => StatusCode::ACCEPTED,
    };
    Ok(Settled::Answer((status, view_json(details))))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShipmentListQuery {
    /// How many to list, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// The `next_after` of the previous page (empty: the first page).
    #[param(max_length = 40)]
    pub after: Option<String>,
    /// Only shipments in this booking state: `pending`, `booked`, `failed` or `unknown`
    /// (e.g. `failed` for bookings a carrier refused).
    #[param(max_length = 16)]
    pub booking_state: Option<String>,
}

/// List shipments, oldest first; failed and unknown bookings are listed too (filter with
/// `booking_state`).
#[utoipa::path(get, path = "/v1/shipments", tag = "shipments", params(ShipmentListQuery), responses((status = 200, body = List<ShipmentView>), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiQuery(q): ApiQuery<ShipmentListQuery>,
) -> ApiResult<Json<List<ShipmentView>>> {
    let paging = ListQuery { limit: q.limit, after: q.after };
    let booking_state = q
        .booking_state
        .as_deref()
        .map(|s| named_param(s, "booking_state", BookingState::parse, BookingState::ALL, BookingState::as_str))
        .transpose()?;
    let page = state
        .engine
        .list_shipments(
            &me,
            ShipmentFilter { booking_state },
            paging.after(ShipmentId::parse, "shipment")?.as_ref(),
            paging.limit()?,
        )
        .await?;
    Ok(Json(List { data: page.items.into_iter().map(Into::into).collect(), next_after: page.next_after }))
}

fn shipment_id(id: &str) -> ApiResult<ShipmentId> {
    ShipmentId::parse(id).ok_or_else(|| unknown_id("shipment", id))
}

/// Fetch one shipment with its full scan history.
#[utoipa::path(get, path = "/v1/shipments/{id}", tag = "shipments", params(("id" = String, Path, description = "shipment id (`shp_…`)")),
    responses((status = 200, body = ShipmentView), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
) -> ApiResult<Json<ShipmentView>> {
    let id = shipment_id(&id)?;
    Ok(Json(state.engine.shipment_details(&me, &id).await?.into()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LabelQuery {
    /// `pdf` (default), `zpl` or `png`.
    #[param(max_length = 8)]
    pub format: Option<String>,
}

/// The shipment's 4×6 in label.
#[utoipa::path(get, path = "/v1/shipments/{id}/label", tag = "shipments", params(("id" = String, Path, description = "shipment id"), LabelQuery),
    responses((status = 200, description = "the label document", content(("application/pdf"), ("application/zpl"), ("image/png"))),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
pub async fn label(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LabelQuery>,
) -> ApiResult<Response> {
    let id = shipment_id(&id)?;
    let requested = q.format.as_deref().unwrap_or("pdf");
    let format = LabelFormat::parse(requested).ok_or_else(|| {
        ApiError::invalid(vec![FieldError::new("/query/format", "unknown label format; use pdf, zpl or png")])
    })?;
    let bytes = state.engine.label(&me, &id, format).await?;
    let mut r = Response::new(Body::from(bytes));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
    let disposition = format!("inline; filename=\"{id}.{}\"", format.extension());
    r.headers_mut().insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).expect("ids are ASCII"));
    Ok(r)
}

/// Change a booked shipment: the delivery address or the recipient's phone (`ship_to`, given
/// whole), the cash to collect (`cod`, in its currency) or the parcels.
///
/// Where the carrier's update call takes the change (`capabilities.update`: the recipient's
/// name, phone and street lines, and the COD amount at the sandbox), the booking is updated and
/// keeps its tracking number (`method: carrier_update`). Otherwise, before pickup, the booking is
/// voided and the shipment booked again (`method: rebooked`): `shipment` is the new one, with a
/// new tracking number and label to print; the channel and the customer hear of it as of any
/// booking. After pickup, or after delivery, the change is refused with `409` and changes
/// nothing. Every change is kept: `GET /v1/shipments/{id}/changes`.
#[utoipa::path(patch, path = "/v1/shipments/{id}", tag = "shipments", params(("id" = String, Path, description = "shipment id")),
    request_body = ShipmentPatch,
    responses((status = 200, body = ShipmentChangedView), (status = 404, body = Problem),
        (status = 409, description = "too late for this change, or the carrier refused it", body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = [])))]
pub async fn change(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
    ApiJson(body, _): ApiJson<ShipmentPatch>,
) -> ApiResult<Json<ShipmentChangedView>> {
    let id = shipment_id(&id)?;
    let changed = state.engine.change_shipment(&me, &id, body).await.map_err(|e| match e {
        EngineError::Carrier(c) => ApiError::carrier(c, StatusCode::CONFLICT),
        other => other.into(),
    })?;
    let shipment = state.engine.shipment_details(&me, &changed.shipment.id).await?;
    Ok(Json(ShipmentChangedView { change: changed.change.into(), shipment: shipment.into() }))
}

/// The shipment's audit trail of changes, oldest first (with the change that booked it in
/// another shipment's place).
#[utoipa::path(get, path = "/v1/shipments/{id}/changes", tag = "shipments", params(("id" = String, Path, description = "shipment id")),
    responses((status = 200, body = List<ShipmentChangeView>), (status = 404, body = Problem)),
    security(("api_key" = [])))]
pub async fn changes(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
) -> ApiResult<Json<List<ShipmentChangeView>>> {
    let id = shipment_id(&id)?;
    let changes = state.engine.shipment_changes(&me, &id).await?;
    Ok(Json(List { data: changes.into_iter().map(Into::into).collect(), next_after: None }))
}

/// Void a booking at the carrier, while the carrier still allows it (before pickup).
#[utoipa::path(post, path = "/v1/shipments/{id}/cancel", tag = "shipments", params(("id" = String, Path, description = "shipment id")),
    responses((status = 200, body = ShipmentView), (status = 404, body = Problem), (status = 409, description = "too late to cancel", body = Problem)),
    security(("api_key" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
) -> ApiResult<Json<ShipmentView>> {
    let id = shipment_id(&id)?;
    state.engine.cancel(&me, &id).await.map_err(|e| match e {
        EngineError::Carrier(c) => ApiError::carrier(c, StatusCode::CONFLICT),
        other => other.into(),
    })?;
    Ok(Json(state.engine.shipment_details(&me, &id).await?.into()))
}

/// Bring a moving parcel back to you (return to origin), e.g. for an order cancelled after
/// dispatch: between pickup and delivery, once.
///
/// Where the carrier takes the request through its API (`capabilities.rto_request`: the
/// sandbox), it is sent and the parcel turns back (`via: carrier`); the shipment then goes
/// `return_to_origin` → `returned` with the carrier's scans. Otherwise the request is kept as a
/// marked request (`via: merchant`): ask the carrier yourself. `201` when asked now, `200` with
/// the first request when asked again. Before pickup, cancel the shipment instead (`409`).
#[utoipa::path(post, path = "/v1/shipments/{id}/rto", tag = "shipments", request_body = RtoRequestCreate,
    params(("id" = String, Path, description = "shipment id")),
    responses((status = 201, body = RtoRequestView), (status = 200, description = "asked before: the first request", body = RtoRequestView),
        (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 409, description = "not picked up yet, already delivered or returning, or the carrier refused", body = Problem)),
    security(("api_key" = [])))]
pub async fn request_rto(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
    ApiJson(body, _): ApiJson<RtoRequestCreate>,
) -> ApiResult<(StatusCode, Json<RtoRequestView>)> {
    let id = shipment_id(&id)?;
    let (request, new) = state.engine.request_rto(&me, &id, body).await.map_err(|e| match e {
        EngineError::Carrier(c) => ApiError::carrier(c, StatusCode::CONFLICT),
        other => other.into(),
    })?;
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(request.into())))
}

/// The request to bring the shipment back, if one was made.
#[utoipa::path(get, path = "/v1/shipments/{id}/rto", tag = "shipments", params(("id" = String, Path, description = "shipment id")),
    responses((status = 200, body = RtoRequestView), (status = 404, description = "no such shipment, or no request", body = Problem)),
    security(("api_key" = [])))]
pub async fn get_rto_request(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
) -> ApiResult<Json<RtoRequestView>> {
    let id = shipment_id(&id)?;
    let request = state.engine.rto_request(&me, &id).await?;
    Ok(Json(request.ok_or_else(|| ApiError::not_found(format!("a return request for shipment {id}")))?.into()))
}

/// Acknowledge a parcel the carrier returned to you (`returned`), with the condition of the
/// goods: `restockable` puts the shipment's lines back into stock at its location, `damaged`
/// writes them off. Once per shipment.
#[utoipa::path(post, path = "/v1/shipments/{id}/rto/acknowledge", tag = "shipments", request_body = RtoAcknowledge,
    params(("id" = String, Path, description = "shipment id")),
    responses((status = 200, body = RtoReceiptView), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 409, description = "not back with you yet, a customer's return, or already acknowledged", body = Problem)),
    security(("api_key" = [])))]
pub async fn acknowledge_rto(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
    ApiJson(body, _): ApiJson<RtoAcknowledge>,
) -> ApiResult<Json<RtoReceiptView>> {
    let id = shipment_id(&id)?;
    Ok(Json(state.engine.acknowledge_rto(&me, &id, body).await?.into()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrackerQuery {
    /// Only the shipment booked on this carrier account (for generic accounts whose tracking
    /// numbers another account may also use).
    #[param(max_length = 40)]
    pub carrier_account_id: Option<String>,
}

/// Tracking by tracking number: the normalized status and every scan.
///
/// A tracking number is unique per carrier account. Generic (no-API) accounts of one tenant
/// may share a number; then the answer is `409 ambiguous_tracking_number` listing the
/// shipments, and `?carrier_account_id=` picks one.
#[utoipa::path(get, path = "/v1/trackers/{tracking_number}", tag = "tracking",
    params(("tracking_number" = String, Path, description = "the carrier's tracking number"), TrackerQuery),
    responses((status = 200, body = TrackerView), (status = 404, body = Problem), (status = 409, description = "several shipments have this number", body = Problem)),
    security(("api_key" = [])))]
pub async fn tracker(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(tracking_number): Path<String>,
    ApiQuery(q): ApiQuery<TrackerQuery>,
) -> ApiResult<Json<TrackerView>> {
    let account = match q.carrier_account_id.as_deref() {
        None => None,
        Some(a) => Some(CarrierAccountId::parse(a).ok_or_else(|| {
            ApiError::invalid(vec![FieldError::new("/query/carrier_account_id", "not a carrier account id (`car_…`)")])
        })?),
    };
    if tracking_number.chars().count() > 64 {
        return Err(unknown_id("tracking number", &tracking_number));
    }
    let mut found = state.engine.trackers(&me, &tracking_number, account.as_ref()).await.map_err(|e| match e {
        EngineError::NotFound(_) => unknown_id("tracking number", &tracking_number),
        other => other.into(),
    })?;
    if found.len() > 1 {
        let matches: Vec<_> = found
            .iter()
            .map(|d| format!("{} on carrier account {}", d.shipment.id, d.shipment.carrier_account_id))
            .collect();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "ambiguous_tracking_number",
            format!(
                "{} shipments have this tracking number ({}); add ?carrier_account_id= to pick one",
                found.len(),
                matches.join(", ")
            ),
        ));
    }
    Ok(Json(found.remove(0).into()))
}
