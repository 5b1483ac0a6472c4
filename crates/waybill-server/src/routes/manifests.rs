//! `/v1/manifests`: closing a carrier account's day, and the manifest the driver signs.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waybill_core::FieldError;
use waybill_core::Scope;
use waybill_core::api::requests::ManifestCreate;
use waybill_core::api::views::{List, ManifestView};
use waybill_core::ids::ManifestId;
use waybill_core::manifest::Manifest;
use waybill_engine::EngineError;
use waybill_engine::manifests::ManifestFormat;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::idempotency::{Answer, Idempotency, Settle, Settled};
use crate::routes::{ListQuery, NoQuery, unknown_id};

const CREATE: &str = "POST /v1/manifests";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_manifest, list_manifests))
        .routes(routes!(get_manifest))
        .routes(routes!(retry_manifest))
        .routes(routes!(manifest_document))
}

fn manifest_id(id: &str) -> Result<ManifestId, ApiError> {
    ManifestId::parse(id).ok_or_else(|| unknown_id("manifest", id))
}

fn created(manifest: Manifest) -> Answer {
    (StatusCode::CREATED, serde_json::to_string(&ManifestView::from(manifest)).expect("views serialize"))
}

/// Close the day on a carrier account.
///
/// Every shipment booked on the account that still waits for its pickup and is on no manifest
/// yet goes on a new manifest (at most 5,000; the rest wait for the next). Where the carrier
/// has a close call (`capabilities.manifest`) the manifest is `closing` until the carrier
/// confirms it; otherwise it is `closed` at once. Its PDF and CSV can be fetched straight away.
/// With an `Idempotency-Key` header a repeat returns the first answer.
#[utoipa::path(post, path = "/v1/manifests", tag = "operations", request_body = ManifestCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a repeat return the first answer (1–255 visible ASCII characters)")),
    responses((status = 201, body = ManifestView),
        (status = 409, description = "no shipment on the account waits for a manifest", body = Problem),
        (status = 422, body = Problem)),
    security(("api_key" = [])))]
pub async fn create_manifest(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    headers: HeaderMap,
    ApiJson(body, raw): ApiJson<ManifestCreate>,
) -> ApiResult<Response> {
    let settle: Settle = |state, scope, id| Box::pin(settle_abandoned(state, scope, id));
    let idempotency = match Idempotency::check(&state, &me, &headers, CREATE, &raw, settle).await? {
        Ok(fresh) => fresh,
        Err(repeat) => return Ok(repeat),
    };
    let id = ManifestId::generate();
    if let Some(repeat) = idempotency.claim(id.as_str()).await? {
        return Ok(repeat);
    }
    let outcome = state.engine.create_manifest(&me, id, body).await.map(created);
    idempotency.finish(outcome).await
}

/// A key whose first request died before answering: its manifest, if it was written, is the
/// answer; if not, nothing happened and the request may be sent again.
async fn settle_abandoned(state: &AppState, scope: &Scope, id: &str) -> ApiResult<Settled> {
    let Some(id) = ManifestId::parse(id) else { return Ok(Settled::Release) };
    match state.engine.manifest(scope, &id).await {
        Ok(manifest) => Ok(Settled::Answer(created(manifest))),
        Err(EngineError::NotFound(_)) => Ok(Settled::Release),
        Err(e) => Err(e.into()),
    }
}

/// List manifests, oldest first.
#[utoipa::path(get, path = "/v1/manifests", tag = "operations", params(ListQuery),
    responses((status = 200, body = List<ManifestView>), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn list_manifests(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<List<ManifestView>>> {
    let after = q.after(ManifestId::parse, "manifest")?;
    let page = state.engine.list_manifests(&me, after.as_ref(), q.limit()?).await?;
    Ok(Json(List { data: page.items.into_iter().map(Into::into).collect(), next_after: page.next_after }))
}

/// Fetch one manifest.
#[utoipa::path(get, path = "/v1/manifests/{id}", tag = "operations", params(("id" = String, Path, description = "manifest id (`mft_…`)")),
    responses((status = 200, body = ManifestView), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn get_manifest(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
) -> ApiResult<Json<ManifestView>> {
    let id = manifest_id(&id)?;
    Ok(Json(state.engine.manifest(&me, &id).await?.into()))
}

/// Send a close the carrier refused again (`status: failed`); its parcels stay as they were.
#[utoipa::path(post, path = "/v1/manifests/{id}/retry", tag = "operations", params(("id" = String, Path, description = "manifest id (`mft_…`)")),
    responses((status = 200, body = ManifestView), (status = 404, body = Problem),
        (status = 409, description = "the manifest is not `failed`", body = Problem)),
    security(("api_key" = [])))]
pub async fn retry_manifest(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
) -> ApiResult<Json<ManifestView>> {
    let id = manifest_id(&id)?;
    Ok(Json(state.engine.retry_manifest(&me, &id).await?.into()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DocumentQuery {
    /// `pdf` (default: an A4 list with a barcode per parcel, totals and signature lines) or `csv`.
    #[param(max_length = 8)]
    pub format: Option<String>,
}

/// The manifest for the driver: PDF to print and sign, or CSV.
#[utoipa::path(get, path = "/v1/manifests/{id}/document", tag = "operations",
    params(("id" = String, Path, description = "manifest id (`mft_…`)"), DocumentQuery),
    responses((status = 200, description = "the manifest document", content(("application/pdf"), ("text/csv"))),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
pub async fn manifest_document(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DocumentQuery>,
) -> ApiResult<Response> {
    let id = manifest_id(&id)?;
    let requested = q.format.as_deref().unwrap_or("pdf");
    let format = ManifestFormat::parse(requested).ok_or_else(|| {
        ApiError::invalid(vec![FieldError::new(
            "/query/format",
            format!("`{requested}` is not a manifest format; use pdf or csv"),
        )])
    })?;
    let bytes = state.engine.manifest_document(&me, &id, format).await?;
    let mut r = Response::new(Body::from(bytes));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
    let disposition = format!("inline; filename=\"{id}.{}\"", format.extension());
    r.headers_mut().insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).expect("ids are ASCII"));
    Ok(r)
}
