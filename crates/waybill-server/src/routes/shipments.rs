//! `/v1/shipments` and `/v1/trackers`: book, list, fetch, label, cancel, track.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use waybill_carriers::sandbox::SCENARIOS;
use waybill_core::error::Problems;
use waybill_core::ids::{ShipmentId, TenantId};
use waybill_core::{Address, FieldError, Mode, Payment};
use waybill_engine::{BookInput, EngineError};
use waybill_labels::LabelFormat;
use waybill_store::BookingState;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Auth};
use crate::idempotency::{Answer, Idempotency, Settle};
use crate::routes::ListQuery;
use crate::views::{List, ShipmentCreate, ShipmentView, TrackerView};

const BOOK: &str = "POST /v1/shipments";

/// Checks the request and fills in what the order provides, without writing anything.
async fn book_input(
    state: &AppState,
    tenant: &TenantId,
    mode: Mode,
    body: ShipmentCreate,
    id: ShipmentId,
) -> ApiResult<BookInput> {
    let mut problems = Problems::new();
    let order = match &body.order_id {
        Some(order_id) => match state.engine.store().order(tenant, order_id).await {
            Ok(order) if order.status.can_ship() => Some(order),
            Ok(order) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "order_not_shippable",
                    format!("order {order_id} is `{}`; only open or ready orders can be booked", order.status.as_str()),
                ));
            }
            Err(_) => return Err(ApiError::not_found(format!("order {order_id}"))),
        },
        None => None,
    };
    problems.extend(body.ship_from.problems("/ship_from"));
    let ship_to: Option<Address> = match (body.ship_to, &order) {
        (Some(a), _) => {
            problems.extend(a.problems("/ship_to"));
            Some(a)
        }
        (None, Some(o)) => Some(o.ship_to.clone()),
        (None, None) => {
            problems.add("/ship_to", "ship_to is required when no order_id is given");
            None
        }
    };
    if body.parcels.is_empty() {
        problems.add("/parcels", "at least one parcel is required");
    }
    let mut parcels = Vec::new();
    for (i, p) in body.parcels.iter().enumerate() {
        match p.resolve(&format!("/parcels/{i}")) {
            Ok(p) => parcels.push(p),
            Err(errors) => problems.extend(errors),
        }
    }
    let cod = body.cod.or_else(|| {
        order.as_ref().and_then(|o| match o.payment {
            Payment::Cod { .. } => o.payment.cod(o.currency),
            Payment::Prepaid => None,
        })
    });
    if let Some(Err(e)) = cod.as_ref().map(|c| c.check("/cod")) {
        problems.extend(vec![e]);
    }
    match (&body.options.simulate, mode) {
        (Some(s), Mode::Test) if !SCENARIOS.contains(&s.as_str()) => problems
            .add("/options/simulate", format!("unknown scenario `{s}`; choose one of: {}", SCENARIOS.join(", "))),
        (Some(_), Mode::Live) => problems.add("/options/simulate", "scenarios can only be chosen with a test key"),
        _ => {}
    }
    let label_format = match body.options.label_format.as_deref() {
        None => None,
        Some(f) => {
            let parsed = LabelFormat::parse(f);
            if parsed.is_none() {
                problems.add("/options/label_format", format!("unknown label format `{f}`; use pdf, zpl or png"));
            }
            parsed
        }
    };
    if body.reference.as_ref().is_some_and(|r| r.chars().count() > 64) {
        problems.add("/reference", "reference must be at most 64 characters");
    }
    problems.finish(())?;
    Ok(BookInput {
        id,
        order_id: body.order_id,
        carrier_account_id: body.carrier_account_id,
        service: body.service,
        ship_from: body.ship_from.normalized(),
        ship_to: ship_to.expect("checked above").normalized(),
        parcels,
        cod,
        simulate: body.options.simulate,
        is_return: body.is_return,
        reference: body.reference.or_else(|| order.map(|o| o.external_id)),
        tracking_number: body.tracking_number.map(|n| n.trim().to_owned()),
        label_format,
    })
}

/// Book a shipment with a carrier.
///
/// With an `Idempotency-Key` header, a repeat of the same request returns the first answer
/// and never books twice, even while the first is still in flight. `201` means booked; `202`
/// means the carrier did not answer in time and the booking is being reconciled (poll the
/// shipment).
#[utoipa::path(post, path = "/v1/shipments", tag = "shipments", request_body = ShipmentCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a repeat return the first answer")),
    responses((status = 201, body = ShipmentView), (status = 202, body = ShipmentView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(me): Auth,
    headers: HeaderMap,
    ApiJson(body, raw): ApiJson<ShipmentCreate>,
) -> ApiResult<Response> {
    let tenant = &me.tenant_id;
    let settle: Settle = |state, tenant, id| Box::pin(settle_abandoned(state, tenant, id));
    let idempotency = match Idempotency::check(&state, tenant, &headers, BOOK, &raw, settle).await? {
        Ok(fresh) => fresh,
        Err(repeat) => return Ok(repeat),
    };
    let id = ShipmentId::generate();
    let input = book_input(&state, tenant, me.mode, body, id.clone()).await?;
    if let Some(repeat) = idempotency.claim(id.as_str()).await? {
        return Ok(repeat);
    }
    let outcome = match state.engine.book(tenant, input).await {
        Ok(shipment) => {
            let status = if shipment.booking_state == BookingState::Unknown {
                StatusCode::ACCEPTED
            } else {
                StatusCode::CREATED
            };
            // A shipment no scan has reached yet has no history to read.
            let events = match shipment.last_scan_at {
                Some(_) => state.engine.store().tracking_events(tenant, &shipment.id).await?,
                None => vec![],
            };
            let url = state.engine.tracking_url(tenant, &shipment).await?;
            let view = ShipmentView::new(shipment, Some(events)).with_tracking_url(url);
            Ok((status, serde_json::to_string(&view).expect("views serialize")))
        }
        Err(e) => Err(e),
    };
    idempotency.finish(outcome).await
}

/// A key whose first request died before answering (its node crashed): once the booking's
/// own outcome is settled (by the pending-booking sweep, if need be), that outcome is the answer.
async fn settle_abandoned(state: &AppState, tenant: &TenantId, id: &str) -> ApiResult<Option<Answer>> {
    let Some(id) = ShipmentId::parse(id) else { return Ok(None) };
    let store = state.engine.store();
    let Ok(shipment) = store.shipment(tenant, &id).await else { return Ok(None) };
    let status = match shipment.booking_state {
        BookingState::Pending => return Ok(None),
        BookingState::Booked => StatusCode::CREATED,
        BookingState::Failed => StatusCode::UNPROCESSABLE_ENTITY,
        BookingState::Unknown => StatusCode::ACCEPTED,
    };
    let events = store.tracking_events(tenant, &id).await?;
    let url = state.engine.tracking_url(tenant, &shipment).await?;
    let view = ShipmentView::new(shipment, Some(events)).with_tracking_url(url);
    Ok(Some((status, serde_json::to_string(&view).expect("views serialize"))))
}

/// List shipments, oldest first.
#[utoipa::path(get, path = "/v1/shipments", tag = "shipments", params(ListQuery), responses((status = 200, body = List<ShipmentView>)), security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(me): Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<List<ShipmentView>>> {
    let page = state.engine.store().list_shipments(&me.tenant_id, q.after.as_deref(), q.limit()?).await?;
    let mut data = Vec::with_capacity(page.items.len());
    for s in page.items {
        let url = state.engine.tracking_url(&me.tenant_id, &s).await?;
        data.push(ShipmentView::new(s, None).with_tracking_url(url));
    }
    Ok(Json(List { data, next_after: page.next_after }))
}

fn shipment_id(id: &str) -> ApiResult<ShipmentId> {
    ShipmentId::parse(id).ok_or_else(|| ApiError::not_found(format!("shipment {id}")))
}

/// Fetch one shipment with its full scan history.
#[utoipa::path(get, path = "/v1/shipments/{id}", tag = "shipments", params(("id" = String, Path, description = "shipment id (`shp_…`)")),
    responses((status = 200, body = ShipmentView), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ShipmentView>> {
    let id = shipment_id(&id)?;
    let store = state.engine.store();
    let shipment =
        store.shipment(&me.tenant_id, &id).await.map_err(|_| ApiError::not_found(format!("shipment {id}")))?;
    let events = store.tracking_events(&me.tenant_id, &id).await?;
    let url = state.engine.tracking_url(&me.tenant_id, &shipment).await?;
    Ok(Json(ShipmentView::new(shipment, Some(events)).with_tracking_url(url)))
}

#[derive(Deserialize, IntoParams)]
pub struct LabelQuery {
    /// `pdf` (default), `zpl` or `png`.
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
    Query(q): Query<LabelQuery>,
) -> ApiResult<Response> {
    let id = shipment_id(&id)?;
    let requested = q.format.as_deref().unwrap_or("pdf");
    let format = LabelFormat::parse(requested).ok_or_else(|| {
        ApiError::invalid(vec![FieldError::new(
            "/format",
            format!("unknown label format `{requested}`; use pdf, zpl or png"),
        )])
    })?;
    let bytes = state.engine.label(&me.tenant_id, &id, format).await?;
    let mut r = Response::new(Body::from(bytes));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
    let disposition = format!("inline; filename=\"{id}.{}\"", format.extension());
    r.headers_mut().insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).expect("ids are ASCII"));
    Ok(r)
}

/// Void a booking at the carrier, while the carrier still allows it (before pickup).
#[utoipa::path(post, path = "/v1/shipments/{id}/cancel", tag = "shipments", params(("id" = String, Path, description = "shipment id")),
    responses((status = 200, body = ShipmentView), (status = 404, body = Problem), (status = 409, description = "too late to cancel", body = Problem)),
    security(("api_key" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ShipmentView>> {
    let id = shipment_id(&id)?;
    let shipment = state.engine.cancel(&me.tenant_id, &id).await.map_err(|e| match e {
        EngineError::Carrier(c) => ApiError::carrier(c, StatusCode::CONFLICT),
        other => other.into(),
    })?;
    let events = state.engine.store().tracking_events(&me.tenant_id, &id).await?;
    let url = state.engine.tracking_url(&me.tenant_id, &shipment).await?;
    Ok(Json(ShipmentView::new(shipment, Some(events)).with_tracking_url(url)))
}

/// Tracking by tracking number: the normalized status and every scan.
#[utoipa::path(get, path = "/v1/trackers/{tracking_number}", tag = "tracking", params(("tracking_number" = String, Path, description = "the carrier's tracking number")),
    responses((status = 200, body = TrackerView), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn tracker(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(tracking_number): Path<String>,
) -> ApiResult<Json<TrackerView>> {
    let store = state.engine.store();
    let shipment = store
        .shipment_by_tracking_number(&me.tenant_id, &tracking_number)
        .await
        .map_err(|_| ApiError::not_found(format!("tracking number {tracking_number}")))?;
    let events = store.tracking_events(&me.tenant_id, &shipment.id).await?;
    let tracking_url = state.engine.tracking_url(&me.tenant_id, &shipment).await?;
    Ok(Json(TrackerView {
        tracking_number,
        carrier: shipment.carrier,
        shipment_id: shipment.id,
        status: shipment.status,
        ndr_reason: shipment.ndr_reason,
        edd: shipment.edd.map(|d| d.to_string()),
        tracking_url,
        events: events.into_iter().map(Into::into).collect(),
    }))
}
