//! The HTTP routes: request validation, the handlers, and API-key auth.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{NaiveDate, NaiveTime, Utc};
use serde_json::json;

use crate::Inner;
use crate::coverage;
use crate::error::ApiError;
use crate::faults::{self, Faults};
use crate::geo;
use crate::model::{self, Address, Money, NdrInstruction, Parcel, Pickup, Shipment, ShipmentUpdate};
use crate::rates::{self, Service};
use crate::scenario::{self, NdrAct, Scenario};
use crate::validate::{Obj, parse_body};

/// Longest client reference accepted.
const MAX_REFERENCE_CHARS: usize = 64;

/// Longest pickup instructions accepted.
const MAX_INSTRUCTIONS_CHARS: usize = 200;

/// What a pickup costs, in cents of [`rates::CURRENCY`].
const PICKUP_CENTS: u64 = 450;

/// The caller's API key: the partition its data lives in.
#[derive(Clone)]
struct ApiKey(String);

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    let api = Router::new()
        .route("/api/v1/rates", post(quote_rates))
        .route("/api/v1/shipments", post(create_shipment).get(find_shipments))
        .route("/api/v1/shipments/{awb}", get(get_shipment))
        .route("/api/v1/shipments/{awb}/cancel", post(cancel_shipment))
        .route("/api/v1/shipments/{awb}/ndr", post(instruct_ndr))
        .route("/api/v1/shipments/{awb}/update", post(update_shipment))
        .route("/api/v1/shipments/{awb}/rto", post(request_rto))
        .route("/api/v1/tracking/{awb}", get(track))
        .route("/api/v1/subscriptions", post(subscribe))
        .route("/api/v1/addresses/validate", post(validate_address))
        .route("/api/v1/serviceability", get(serviceability))
        .route("/api/v1/pickups", post(schedule_pickup).get(find_pickups))
        .route("/api/v1/pickups/{confirmation_number}/cancel", post(cancel_pickup))
        .route("/api/v1/manifests", post(close_manifest).get(find_manifests))
        .route_layer(middleware::from_fn(authenticate))
        // Added last so it runs first: faults strike before anything else.
        .route_layer(middleware::from_fn_with_state(inner.clone(), faults::inject));
    Router::new()
        .merge(api)
        .route("/_sim/faults", get(get_faults).put(put_faults))
        .route("/_sim/health", get(health))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(inner)
}

async fn authenticate(mut request: Request, next: Next) -> Response {
    let key = request
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned);
    match key {
        Some(key) => {
            request.extensions_mut().insert(ApiKey(key));
            next.run(request).await
        }
        None => ApiError::unauthorized().into_response(),
    }
}

fn address(obj: &Obj) -> Result<Address, ApiError> {
    let own = |s: Option<&str>| s.map(str::to_owned);
    let address = Address {
        name: obj.req_str("name")?.to_owned(),
        company: own(obj.opt_str("company")?),
        phone: own(obj.opt_str("phone")?),
        email: own(obj.opt_str("email")?),
        street1: obj.req_str("street1")?.to_owned(),
        street2: own(obj.opt_str("street2")?),
        city: obj.req_str("city")?.to_owned(),
        state: own(obj.opt_str("state")?),
        postal_code: obj.req_str("postal_code")?.to_owned(),
        country: obj.req_str("country")?.to_owned(),
    };
    let country = &address.country;
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ApiError::validation(obj.path("country"), "must be an ISO 3166-1 alpha-2 code in upper case"));
    }
    Ok(address)
}

fn parcels(root: &Obj) -> Result<Vec<Parcel>, ApiError> {
    let items = root.req_array("parcels")?;
    if items.is_empty() {
        return Err(ApiError::validation(root.path("parcels"), "must hold at least one parcel"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let obj = Obj::at(item, format!("{}[{i}]", root.path("parcels")))?;
            let weight_g =
                obj.opt_u64("weight_g")?.ok_or_else(|| ApiError::validation(obj.path("weight_g"), "is required"))?;
            if weight_g == 0 {
                return Err(ApiError::validation(obj.path("weight_g"), "must be greater than 0"));
            }
            Ok(Parcel {
                weight_g,
                length_mm: obj.opt_u64("length_mm")?,
                width_mm: obj.opt_u64("width_mm")?,
                height_mm: obj.opt_u64("height_mm")?,
            })
        })
        .collect()
}

/// Shipper, consignee and parcels: what rating and booking share.
struct Route {
    shipper: Address,
    consignee: Address,
    parcels: Vec<Parcel>,
}

impl Route {
    fn read(root: &Obj) -> Result<Self, ApiError> {
        Ok(Self {
            shipper: address(&root.req_obj("shipper")?)?,
            consignee: address(&root.req_obj("consignee")?)?,
            parcels: parcels(root)?,
        })
    }

    fn quote(&self, service: Service) -> rates::Quote {
        let weight_g = self.parcels.iter().map(|p| p.weight_g).fold(0, u64::saturating_add);
        rates::quote(service, weight_g, self.shipper.country != self.consignee.country)
    }
}

fn charge(quote: rates::Quote) -> Money {
    Money { amount: rates::format_cents(quote.cents), currency: rates::CURRENCY.to_owned() }
}

/// `12`, `12.5`, `12.50`: digits with an optional fraction.
fn is_decimal(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match text.split_once('.') {
        Some((units, fraction)) => digits(units) && digits(fraction),
        None => digits(text),
    }
}

fn money(obj: &Obj) -> Result<Money, ApiError> {
    let amount = obj.req_str("amount")?;
    if !is_decimal(amount) {
        return Err(ApiError::validation(
            obj.path("amount"),
            "must be a non-negative decimal string such as \"12.50\"",
        ));
    }
    let currency = obj.req_str("currency")?;
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ApiError::validation(obj.path("currency"), "must be an ISO 4217 code in upper case"));
    }
    Ok(Money { amount: amount.to_owned(), currency: currency.to_owned() })
}

async fn quote_rates(body: Bytes) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let route = Route::read(&Obj::at(&body, "")?)?;
    let rates: Vec<_> = Service::ALL
        .into_iter()
        .map(|service| {
            let quote = route.quote(service);
            json!({
                "service": service,
                "charge": charge(quote),
                "transit_days": quote.transit_days,
            })
        })
        .collect();
    Ok(Json(json!({ "rates": rates })).into_response())
}

/// The client's `reference`, unique per key.
fn reference<'a>(root: &Obj<'a>) -> Result<&'a str, ApiError> {
    let reference = root.req_str("reference")?;
    if reference.chars().count() > MAX_REFERENCE_CHARS {
        return Err(ApiError::validation("reference", format!("must be at most {MAX_REFERENCE_CHARS} characters")));
    }
    Ok(reference)
}

/// Where to push scans and the secret to sign them with: `url` and `secret` of `target`
/// (a subscription, or a booking's `webhook`).
fn push_target<'a>(target: &Obj<'a>) -> Result<(&'a str, &'a str), ApiError> {
    let url = target.req_str("url")?;
    if !reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
        return Err(ApiError::validation(target.path("url"), "must be an http or https URL"));
    }
    Ok((url, target.req_str("secret")?))
}

/// How long after a booking its webhook (`webhook` in the booking) first pushes.
const WEBHOOK_AFTER_BOOKING: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

async fn create_shipment(
    State(inner): State<Arc<Inner>>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let root = Obj::at(&body, "")?;
    let reference = reference(&root)?;
    let service = Service::parse(root.req_str("service")?)
        .ok_or_else(|| ApiError::validation("service", "must be one of express, standard, economy"))?;
    let route = Route::read(&root)?;
    let cod = root.opt_obj("cod")?.map(|o| money(&o)).transpose()?;
    let scenario = match root.opt_str("scenario")? {
        None => Scenario::Delivered,
        Some(name) => Scenario::parse(name).ok_or_else(|| {
            ApiError::validation(
                "scenario",
                "must be one of delivered, ndr_then_delivered, ndr, rto, lost, exception, info",
            )
        })?,
    };
    let webhook = root.opt_obj("webhook")?.map(|hook| push_target(&hook)).transpose()?;
    if coverage::NO_SERVICE.contains(&(route.consignee.country.as_str(), route.consignee.postal_code.as_str())) {
        return Err(ApiError::unprocessable(
            "PINCODE_NOT_SERVICEABLE",
            "consignee.postal_code",
            format!("no delivery service at postal code {}", route.consignee.postal_code),
        ));
    }

    let now = Utc::now();
    let quote = route.quote(service);
    let origin = geo::hub_for(&route.shipper.country, &route.shipper.postal_code);
    let destination = geo::hub_for(&route.consignee.country, &route.consignee.postal_code);
    let utc_offset_minutes = geo::utc_offset_minutes(&route.shipper.country);
    // The promise is kept in simulated days, like the scans.
    let edd = model::days_after(now, f64::from(quote.transit_days), inner.day_seconds)
        .with_timezone(&geo::fixed_offset(utc_offset_minutes))
        .date_naive();

    let mut store = inner.store();
    let shipment = Shipment {
        shipment_id: format!("ss_{}", ulid::Ulid::new()),
        awb: store.fresh_awb(),
        reference: reference.to_owned(),
        service,
        scenario,
        sort_code: geo::sort_code(&destination, &route.consignee.postal_code),
        route: geo::route(&origin, &destination),
        shipper: route.shipper,
        consignee: route.consignee,
        parcels: route.parcels,
        cod,
        charge: charge(quote),
        edd,
        origin,
        destination,
        utc_offset_minutes,
        day_seconds: inner.day_seconds,
        created_at: now,
        cancelled_at: None,
        ndr_instruction: None,
        rto_requested_at: None,
        updates: Vec::new(),
    };
    let awb = store.book(&key, shipment)?.awb.clone();
    if let Some((url, secret)) = webhook {
        // Like a carrier's webhooks, the first push trails the booking's answer, so it does
        // not reach the client before the client has recorded the booking.
        store.subscribe(&key, &awb, url, secret, now + WEBHOOK_AFTER_BOOKING)?;
        inner.wake.notify_one();
    }
    let booked = store.shipment(&key, &awb).ok_or_else(|| ApiError::internal("booked shipment vanished"))?;
    Ok((StatusCode::CREATED, Json(booked.view("BK"))).into_response())
}

/// The `?reference=` a lookup by reference must have.
fn reference_query(query: &HashMap<String, String>) -> Result<&str, ApiError> {
    query
        .get("reference")
        .map(String::as_str)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::validation("reference", "is required"))
}

async fn find_shipments(
    State(inner): State<Arc<Inner>>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let reference = reference_query(&query)?;
    let now = Utc::now();
    let store = inner.store();
    let shipments: Vec<_> = store.by_reference(&key, reference).map(|s| s.view(s.status_at(now))).into_iter().collect();
    Ok(Json(json!({ "shipments": shipments })).into_response())
}

async fn get_shipment(
    State(inner): State<Arc<Inner>>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    Path(awb): Path<String>,
) -> Result<Response, ApiError> {
    let store = inner.store();
    let shipment =
        store.shipment(&key, &awb).ok_or_else(|| ApiError::not_found(format!("shipment {awb} not found")))?;
    Ok(Json(shipment.view(shipment.status_at(Utc::now()))).into_response())
}

async fn cancel_shipment(
    State(inner): State<Arc<Inner>>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    Path(awb): Path<String>,
) -> Result<Response, ApiError> {
    inner.store().cancel(&key, &awb, Utc::now())?;
    inner.wake.notify_one();
    Ok(Json(json!({ "awb": awb, "status_code": scenario::CANCELLED })).into_response())
}

async fn request_rto(
    State(inner): State<Arc<Inner>>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    Path(awb): Path<String>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let mut store = inner.store();
    let asked = store.request_rto(&key, &awb, now)?;
    drop(store);
    inner.wake.notify_one();
    Ok(Json(json!({ "awb": awb, "status": "rto_requested", "requested_at": asked.to_rfc3339() })).into_response())
}

async fn update_shipment(
    State(inner): State<Arc<Inner>>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    Path(awb): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let root = Obj::at(&body, "")?;
    let text = |name: &str| -> Result<Option<String>, ApiError> {
        match root.opt_str(name)?.map(str::trim) {
            Some("") => Err(ApiError::validation(name, "must not be blank")),
            Some(v) if v.chars().count() > MAX_NDR_TEXT => {
                Err(ApiError::validation(name, format!("must be at most {MAX_NDR_TEXT} characters")))
            }
            v => Ok(v.map(str::to_owned)),
        }
    };
    let cod = match root.opt_obj("cod")? {
        Some(cod) => Some(money(&cod)?),
        None => None,
    };
    let update = ShipmentUpdate {
        name: text("name")?,
        phone: text("phone")?,
        street1: text("street1")?,
        street2: text("street2")?,
        cod,
        at: Utc::now(),
    };
    if update == (ShipmentUpdate { at: update.at, name: None, phone: None, street1: None, street2: None, cod: None }) {
        return Err(ApiError::validation("", "give at least one of name, phone, street1, street2, cod"));
    }
    let mut store = inner.store();
    let shipment = store.update(&key, &awb, update)?;
    let status = shipment.status_at(Utc::now());
    Ok(Json(shipment.view(status)).into_response())
}

/// How far ahead a failed delivery may be rescheduled, in days.
const MAX_RESCHEDULE_DAYS: i64 = 7;
/// The longest corrected address, phone or landmark taken.
const MAX_NDR_TEXT: usize = 200;

async fn instruct_ndr(
    State(inner): State<Arc<Inner>>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    Path(awb): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let root = Obj::at(&body, "")?;
    let action = NdrAct::parse(root.req_str("action")?)
        .ok_or_else(|| ApiError::validation("action", "must be one of reattempt, reschedule, update, rto"))?;
    let text = |name: &str| -> Result<Option<String>, ApiError> {
        match root.opt_str(name)?.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) if v.chars().count() > MAX_NDR_TEXT => {
                Err(ApiError::validation(name, format!("must be at most {MAX_NDR_TEXT} characters")))
            }
            v => Ok(v.map(str::to_owned)),
        }
    };
    let now = Utc::now();
    let mut instruction = NdrInstruction {
        action,
        at: now,
        lead_days: 0.0,
        date: None,
        address: text("address")?,
        phone: text("phone")?,
        landmark: text("landmark")?,
    };
    let mut store = inner.store();
    let shipment =
        store.shipment(&key, &awb).ok_or_else(|| ApiError::not_found(format!("shipment {awb} not found")))?;
    match action {
        NdrAct::Reschedule => {
            let date = root.req_str("date")?;
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| ApiError::validation("date", "must be a date as YYYY-MM-DD"))?;
            let today = now.with_timezone(&geo::fixed_offset(shipment.utc_offset_minutes)).date_naive();
            let ahead = (date - today).num_days();
            if !(1..=MAX_RESCHEDULE_DAYS).contains(&ahead) {
                return Err(ApiError::validation(
                    "date",
                    format!("must be 1 to {MAX_RESCHEDULE_DAYS} days after today ({today})"),
                ));
            }
            instruction.date = Some(date);
            instruction.lead_days = (ahead - 1) as f64;
        }
        NdrAct::Update
            if instruction.address.is_none() && instruction.phone.is_none() && instruction.landmark.is_none() =>
        {
            return Err(ApiError::validation("address", "give at least one of address, phone or landmark"));
        }
        _ => {}
    }
    let status_code = store.instruct_ndr(&key, &awb, instruction)?;
    inner.wake.notify_one();
    Ok(Json(json!({
        "awb": awb,
        "action": action.name(),
        "instructed_at": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "status_code": status_code,
    }))
    .into_response())
}

async fn track(
    State(inner): State<Arc<Inner>>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    Path(awb): Path<String>,
) -> Result<Response, ApiError> {
    let store = inner.store();
    let shipment =
        store.shipment(&key, &awb).ok_or_else(|| ApiError::not_found(format!("shipment {awb} not found")))?;
    let scans = shipment.scans_until(Utc::now());
    let status_code = scans.last().map_or("BK", |scan| scan.code);
    let events: Vec<_> = scans.iter().map(|scan| shipment.event(scan)).collect();
    Ok(Json(json!({ "awb": awb, "status_code": status_code, "events": events })).into_response())
}

async fn subscribe(
    State(inner): State<Arc<Inner>>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let root = Obj::at(&body, "")?;
    let awb = root.req_str("awb")?;
    let (url, secret) = push_target(&root)?;
    let (id, created) = inner.store().subscribe(&key, awb, url, secret, Utc::now())?;
    inner.wake.notify_one();
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!({ "subscription_id": id }))).into_response())
}

async fn validate_address(body: Bytes) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let address = address(&Obj::at(&body, "")?.req_obj("address")?)?;
    Ok(Json(coverage::check_address(&address)).into_response())
}

async fn serviceability(Query(query): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let field = |name: &str| {
        query
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::validation(name, "is required"))
    };
    let country = field("country")?;
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ApiError::validation("country", "must be an ISO 3166-1 alpha-2 code in upper case"));
    }
    Ok(Json(coverage::coverage(country, field("postal_code")?)).into_response())
}

/// The earliest day that is still today somewhere (UTC−12): a pickup date
/// before it has passed everywhere.
fn earliest_pickup_day() -> NaiveDate {
    (Utc::now() - chrono::Duration::hours(12)).date_naive()
}

fn clock_time(root: &Obj, key: &str) -> Result<NaiveTime, ApiError> {
    NaiveTime::parse_from_str(root.req_str(key)?, "%H:%M")
        .map_err(|_| ApiError::validation(root.path(key), "must be a time as HH:MM"))
}

async fn schedule_pickup(
    State(inner): State<Arc<Inner>>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let root = Obj::at(&body, "")?;
    let reference = reference(&root)?;
    let address = address(&root.req_obj("address")?)?;
    let date = NaiveDate::parse_from_str(root.req_str("date")?, "%Y-%m-%d")
        .map_err(|_| ApiError::validation("date", "must be a date as YYYY-MM-DD"))?;
    if date < earliest_pickup_day() {
        return Err(ApiError::validation("date", "must not be in the past"));
    }
    let ready = clock_time(&root, "ready_time")?;
    let close = clock_time(&root, "close_time")?;
    if close <= ready {
        return Err(ApiError::validation("close_time", "must be after ready_time"));
    }
    let parcels = match root.opt_array("parcels")? {
        Some(items) if !items.is_empty() => parcels(&root)?,
        _ => vec![],
    };
    let awbs = root
        .opt_array("awbs")?
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str().map(str::to_owned).ok_or_else(|| ApiError::validation(format!("awbs[{i}]"), "must be a string"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if parcels.is_empty() && awbs.is_empty() {
        return Err(ApiError::validation("parcels", "give at least one parcel or awb"));
    }
    let instructions = root.opt_str("instructions")?;
    if instructions.is_some_and(|t| t.chars().count() > MAX_INSTRUCTIONS_CHARS) {
        return Err(ApiError::validation(
            "instructions",
            format!("must be at most {MAX_INSTRUCTIONS_CHARS} characters"),
        ));
    }
    if !coverage::coverage(&address.country, &address.postal_code).pickup {
        return Err(ApiError::validation("address.postal_code", "no pickups at this postal code"));
    }

    let mut store = inner.store();
    if let Some(i) = awbs.iter().position(|awb| store.shipment(&key, awb).is_none()) {
        return Err(ApiError::validation(format!("awbs[{i}]"), format!("shipment {} not found", awbs[i])));
    }
    let hub = geo::hub_for(&address.country, &address.postal_code);
    let pickup = Pickup {
        pickup_id: format!("pk_{}", ulid::Ulid::new()),
        confirmation_number: store.fresh_confirmation(),
        reference: reference.to_owned(),
        date,
        ready_time: ready.format("%H:%M").to_string(),
        close_time: close.format("%H:%M").to_string(),
        parcels,
        awbs,
        instructions: instructions.map(str::to_owned),
        charge: Money { amount: rates::format_cents(PICKUP_CENTS), currency: rates::CURRENCY.to_owned() },
        note: format!("courier from {}", hub.location()),
        created_at: Utc::now(),
        cancelled_at: None,
        address,
    };
    let pickup = store.schedule_pickup(&key, pickup)?;
    Ok((StatusCode::CREATED, Json(pickup)).into_response())
}

async fn cancel_pickup(
    State(inner): State<Arc<Inner>>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    Path(confirmation_number): Path<String>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let pickup = inner.store().cancel_pickup(&key, &confirmation_number, earliest_pickup_day(), now)?;
    Ok(Json(json!({ "confirmation_number": pickup.confirmation_number, "status": "cancelled" })).into_response())
}

/// Most parcels one close takes.
const MAX_MANIFEST_AWBS: usize = 10_000;

async fn close_manifest(
    State(inner): State<Arc<Inner>>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let root = Obj::at(&body, "")?;
    let reference = reference(&root)?;
    let items = root.opt_array("awbs")?.unwrap_or_default();
    if items.is_empty() || items.len() > MAX_MANIFEST_AWBS {
        return Err(ApiError::validation("awbs", format!("give 1 to {MAX_MANIFEST_AWBS} awbs")));
    }
    let awbs = items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str().map(str::to_owned).ok_or_else(|| ApiError::validation(format!("awbs[{i}]"), "must be a string"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (manifest, created) = inner.store().close_manifest(&key, reference, awbs, Utc::now())?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(manifest)).into_response())
}

async fn find_manifests(
    State(inner): State<Arc<Inner>>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let reference = reference_query(&query)?;
    let manifests: Vec<_> = inner.store().manifests_by_reference(&key, reference).cloned().collect();
    Ok(Json(json!({ "manifests": manifests })).into_response())
}

async fn find_pickups(
    State(inner): State<Arc<Inner>>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let reference = reference_query(&query)?;
    let store = inner.store();
    let pickups: Vec<_> = store.pickups_by_reference(&key, reference).collect();
    Ok(Json(json!({ "pickups": pickups })).into_response())
}

async fn get_faults(State(inner): State<Arc<Inner>>) -> Json<Faults> {
    Json(inner.faults())
}

async fn put_faults(State(inner): State<Arc<Inner>>, body: Bytes) -> Result<Json<Faults>, ApiError> {
    let body = parse_body(&body)?;
    let root = Obj::at(&body, "")?;
    let faults = Faults {
        latency_ms: root.opt_u64("latency_ms")?.unwrap_or(0),
        error_rate: root.opt_f64("error_rate")?.unwrap_or(0.0),
        timeout_rate: root.opt_f64("timeout_rate")?.unwrap_or(0.0),
        hang_ms: root.opt_u64("hang_ms")?.unwrap_or(0),
    };
    faults.check()?;
    inner.set_faults(faults.clone());
    Ok(Json(faults))
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}
