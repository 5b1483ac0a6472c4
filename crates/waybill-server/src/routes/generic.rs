//! Scans of generic (no-API) carrier accounts, reported by the merchant:
//! `POST /v1/trackers/{tracking_number}/events` (JSON) and
//! `POST /v1/carrier-accounts/{id}/scans` (a CSV file).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waybill_core::FieldError;
use waybill_core::api::requests::ScanEventsCreate;
use waybill_core::api::views::ScanReportView;
use waybill_core::error::Problems;
use waybill_core::ids::CarrierAccountId;
use waybill_engine::{EngineError, MAX_REPORTED_SCANS, ReportedScan, ScanReport};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::routes::{NoQuery, unknown_id};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(report_events)).routes(routes!(upload_scans))
}

/// The CSV header, in this order; `tracking_number`, `status` and `occurred_at` are required.
const CSV_COLUMNS: [&str; 6] = ["tracking_number", "status", "occurred_at", "location", "description", "ndr_reason"];
const REQUIRED_COLUMNS: [&str; 3] = ["tracking_number", "status", "occurred_at"];

fn report_view(r: ScanReport) -> ScanReportView {
    ScanReportView { received: r.received, applied: r.applied, duplicates: r.duplicates, clock_skewed: r.clock_skewed }
}

/// Report scans of one shipment booked with a generic (no-API) carrier account.
///
/// All or nothing: one bad event refuses the request with a pointer per bad field. Sending the
/// same events again records nothing new. Accounts of carriers with an API are refused (their
/// scans come from the carrier).
#[utoipa::path(post, path = "/v1/trackers/{tracking_number}/events", tag = "tracking", request_body = ScanEventsCreate,
    params(("tracking_number" = String, Path, description = "the shipment's tracking number")),
    responses((status = 200, body = ScanReportView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)),
    security(("api_key" = [])))]
pub async fn report_events(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(tracking_number): Path<String>,
    ApiJson(body, _): ApiJson<ScanEventsCreate>,
) -> ApiResult<Json<ScanReportView>> {
    let account_id = body.carrier_account_id;
    if body.events.is_empty() {
        return Err(ApiError::invalid(vec![FieldError::new("/events", "at least one event is required")]));
    }
    let store = state.engine.store();
    let not_found = || unknown_id("tracking number", &tracking_number);
    if tracking_number.chars().count() > 64
        || store.shipments_by_tracking_number(&me, &tracking_number).await.map_err(EngineError::from)?.is_empty()
    {
        return Err(not_found());
    }
    let account = match store.carrier_account(&me, &account_id).await {
        Ok(account) => account,
        Err(waybill_store::StoreError::NotFound) => {
            return Err(ApiError::invalid(vec![FieldError::new(
                "/carrier_account_id",
                "no such carrier account for this key",
            )]));
        }
        Err(e) => return Err(EngineError::from(e).into()),
    };
    if account.carrier == waybill_carriers::generic::SLUG
        && store.shipment_for_account(&me, &account.id, &tracking_number).await.map_err(EngineError::from)?.is_none()
    {
        return Err(ApiError::not_found(format!("tracking number {tracking_number} on carrier account {account_id}")));
    }
    let reported = body
        .events
        .into_iter()
        .enumerate()
        .map(|(i, e)| ReportedScan {
            at: format!("/events/{i}"),
            tracking_number: tracking_number.clone(),
            status: e.status,
            occurred_at: e.occurred_at,
            location: e.location,
            description: e.description,
            code: e.code,
            ndr_reason: e.ndr_reason,
        })
        .collect();
    Ok(Json(report_view(state.engine.report_scans(&me, &account_id, reported).await?)))
}

/// Upload scans of a generic (no-API) carrier account as a CSV file.
///
/// Send `Content-Type: text/csv` (UTF-8, at most 1 MiB and 10,000 rows per file) with the header
/// row `tracking_number,status,occurred_at,location,description,ndr_reason`. All or nothing:
/// every row is checked first and any problem answers 422 with a pointer per bad cell,
/// `/rows/{line}/{column}` (line 1 is the header). Uploading the same file again adds nothing.
#[utoipa::path(post, path = "/v1/carrier-accounts/{id}/scans", tag = "tracking",
    request_body(content = String, content_type = "text/csv", description = "tracking_number,status,occurred_at,location,description,ndr_reason"),
    params(("id" = String, Path, description = "generic carrier account id")),
    responses((status = 200, body = ScanReportView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
pub async fn upload_scans(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ScanReportView>> {
    let account_id = CarrierAccountId::parse(&id).ok_or_else(|| unknown_id("carrier account", &id))?;
    if let Err(waybill_store::StoreError::NotFound) = state.engine.store().carrier_account(&me, &account_id).await {
        return Err(unknown_id("carrier account", &id));
    }
    crate::routes::require_csv(&headers)?;
    let reported = read_csv(&body)?;
    let report = state.engine.report_scans(&me, &account_id, reported).await?;
    Ok(Json(report_view(report)))
}

/// The file's rows as reported scans; problems of shape (header, field counts) point at
/// `/rows/{line}`.
fn read_csv(bytes: &[u8]) -> ApiResult<Vec<ReportedScan>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| ApiError::invalid(vec![FieldError::new("/rows/1", format!("the header cannot be read: {e}"))]))?
        .clone();
    let mut problems = Problems::new();
    for name in header.iter().filter(|h| !CSV_COLUMNS.contains(h)) {
        problems.add("/rows/1", format!("unknown column `{name}`; the columns are {}", CSV_COLUMNS.join(",")));
    }
    for name in REQUIRED_COLUMNS.iter().filter(|c| !header.iter().any(|h| h == **c)) {
        problems.add("/rows/1", format!("the column `{name}` is required"));
    }
    problems.finish(()).map_err(ApiError::from)?;
    let column = |name: &str| header.iter().position(|h| h == name);
    let columns: Vec<Option<usize>> = CSV_COLUMNS.iter().map(|c| column(c)).collect();

    let mut problems = Problems::new();
    let mut reported = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if i >= MAX_REPORTED_SCANS {
            problems.add("/rows", format!("at most {MAX_REPORTED_SCANS} rows per file; split the rest"));
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(i as u64 + 2, |p| p.line());
                problems.add(format!("/rows/{line}"), format!("the row cannot be read: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(i as u64 + 2, |p| p.line());
        if record.len() != header.len() {
            problems.add(
                format!("/rows/{line}"),
                format!("the row has {} fields; the header has {}", record.len(), header.len()),
            );
            continue;
        }
        let cell = |k: usize| columns[k].and_then(|c| record.get(c)).unwrap_or("").to_owned();
        let optional = |k: usize| Some(cell(k)).filter(|v| !v.is_empty());
        reported.push(ReportedScan {
            at: format!("/rows/{line}"),
            tracking_number: cell(0),
            status: cell(1),
            occurred_at: cell(2),
            location: optional(3),
            description: optional(4),
            code: None,
            ndr_reason: optional(5),
        });
    }
    problems.finish(()).map_err(ApiError::from)?;
    if reported.is_empty() {
        return Err(ApiError::invalid(vec![FieldError::new("/rows", "the file has no rows below its header")]));
    }
    Ok(reported)
}
