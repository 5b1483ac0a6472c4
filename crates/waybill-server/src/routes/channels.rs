//! `/v1/channels`, `/v1/channel-connections`, `/v1/channel-imports` and the channels' webhooks
//! (`/v1/hooks/channels/{channel}/{connection_id}`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waybill_channels::ChannelInfo;
use waybill_core::FieldError;
use waybill_core::api::requests::ChannelConnectionCreate;
use waybill_core::api::views::{ChannelConnectionView, ChannelImportView, List};
use waybill_core::channel::ImportStatus;
use waybill_core::ids::{ChannelConnectionId, ChannelImportId};
use waybill_engine::EngineError;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::routes::{ListQuery, NoQuery, named_param, unknown_id};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_channels))
        .routes(routes!(create, list))
        .routes(routes!(get, delete))
        .routes(routes!(sync))
        .routes(routes!(stock))
        .routes(routes!(list_imports))
        .routes(routes!(get_import))
        .routes(routes!(retry_import))
        .routes(routes!(webhook))
}

#[derive(Serialize, ToSchema)]
pub struct ChannelView {
    #[serde(flatten)]
    pub info: ChannelInfo,
}

fn connection_id(raw: &str) -> Result<ChannelConnectionId, ApiError> {
    ChannelConnectionId::parse(raw).ok_or_else(|| unknown_id("channel connection", raw))
}

fn import_id(raw: &str) -> Result<ChannelImportId, ApiError> {
    ChannelImportId::parse(raw).ok_or_else(|| unknown_id("channel import", raw))
}

/// Every sales channel this build connects to: what each supports and its credential schema.
#[utoipa::path(get, path = "/v1/channels", tag = "channels", responses((status = 200, body = List<ChannelView>)), security(("api_key" = [])))]
pub async fn list_channels(
    State(state): State<AppState>,
    _auth: Auth,
    _: ApiQuery<NoQuery>,
) -> Json<List<ChannelView>> {
    let data = state.engine.channels().iter().map(|c| ChannelView { info: c.info().clone() }).collect();
    Json(List { data, next_after: None })
}

/// Connect a sales channel in the key's mode. The credentials are checked against the
/// channel's schema and with the channel itself, sealed at rest, and never shown again. The
/// answer carries the `webhook_url` to register in the channel.
#[utoipa::path(post, path = "/v1/channel-connections", tag = "channels", request_body = ChannelConnectionCreate,
    responses((status = 201, body = ChannelConnectionView), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(me): Auth,
    _: ApiQuery<NoQuery>,
    ApiJson(body, _): ApiJson<ChannelConnectionCreate>,
) -> ApiResult<(StatusCode, Json<ChannelConnectionView>)> {
    let (connection, verified_as) = state.engine.create_channel_connection(&me, body).await?;
    let url = state.engine.channel_webhook_url(&connection);
    Ok((StatusCode::CREATED, Json(ChannelConnectionView::new(connection, url, Some(verified_as)))))
}

/// List the key's channel connections (without credentials).
#[utoipa::path(get, path = "/v1/channel-connections", tag = "channels", params(ListQuery),
    responses((status = 200, body = List<ChannelConnectionView>), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<List<ChannelConnectionView>>> {
    let after = q.after(ChannelConnectionId::parse, "channel connection")?;
    let page = state.engine.list_channel_connections(&me, after.as_ref(), q.limit()?).await?;
    let data = page
        .items
        .into_iter()
        .map(|c| {
            let url = state.engine.channel_webhook_url(&c);
            ChannelConnectionView::new(c, url, None)
        })
        .collect();
    Ok(Json(List { data, next_after: page.next_after }))
}

/// One channel connection (without credentials).
#[utoipa::path(get, path = "/v1/channel-connections/{id}", tag = "channels",
    params(("id" = String, Path, description = "connection id (`chc_…`)")),
    responses((status = 200, body = ChannelConnectionView), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
    _: ApiQuery<NoQuery>,
) -> ApiResult<Json<ChannelConnectionView>> {
    let connection = state.engine.channel_connection(&me, &connection_id(&id)?).await?;
    let url = state.engine.channel_webhook_url(&connection);
    Ok(Json(ChannelConnectionView::new(connection, url, None)))
}

/// Disconnect a channel: its credentials are destroyed and its webhooks refused from now on;
/// the orders it brought in stay.
#[utoipa::path(delete, path = "/v1/channel-connections/{id}", tag = "channels",
    params(("id" = String, Path, description = "connection id (`chc_…`)")),
    responses((status = 204), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
    _: ApiQuery<NoQuery>,
) -> ApiResult<StatusCode> {
    state.engine.delete_channel_connection(&me, &connection_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Fetch the orders changed in the channel since the last sync, now (the sync also runs on the
/// connection's own schedule). Answers at once; the orders arrive as imports.
#[utoipa::path(post, path = "/v1/channel-connections/{id}/sync", tag = "channels",
    params(("id" = String, Path, description = "connection id (`chc_…`)")),
    responses((status = 202), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn sync(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
    _: ApiQuery<NoQuery>,
) -> ApiResult<StatusCode> {
    state.engine.sync_channel_now(&me, &connection_id(&id)?).await?;
    Ok(StatusCode::ACCEPTED)
}

/// What a connection was told of a SKU's stock.
#[derive(Serialize, ToSchema)]
pub struct ChannelStockView {
    pub sku: String,
    /// The available number sent (or to send).
    pub quantity: i64,
    /// `pending` (to send), `sent`, or `unknown` (the channel has no such SKU; sent again only
    /// when its stock changes).
    pub state: String,
    pub reason: Option<String>,
    pub updated_at: String,
}

/// `?state=` and paging by SKU.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockQuery {
    /// `pending`, `sent` or `unknown`.
    #[param(max_length = 16)]
    pub state: Option<String>,
    /// How many to list, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// The `next_after` of the previous page (a SKU).
    #[param(max_length = 100)]
    pub after: Option<String>,
}

/// The stock this connection's channel was told, by SKU: `?state=unknown` lists the SKUs the
/// channel does not have.
#[utoipa::path(get, path = "/v1/channel-connections/{id}/stock", tag = "channels", params(("id" = String, Path, description = "connection id (`chc_…`)"), StockQuery),
    responses((status = 200, body = List<ChannelStockView>), (status = 404, body = Problem), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn stock(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<StockQuery>,
) -> ApiResult<Json<List<ChannelStockView>>> {
    let id = connection_id(&id)?;
    state.engine.channel_connection(&me, &id).await?;
    let wanted = q.state.as_deref().filter(|s| !s.is_empty());
    if let Some(s) = wanted.filter(|s| !["pending", "sent", "unknown"].contains(s)) {
        return Err(ApiError::invalid(vec![FieldError::new(
            "/query/state",
            format!("`{s}` is not pending, sent or unknown"),
        )]));
    }
    let limit = ListQuery { limit: q.limit, after: None }.limit()?;
    let page = state
        .engine
        .store()
        .channel_stock(&me, &id, wanted, q.after.as_deref().filter(|a| !a.is_empty()), limit)
        .await
        .map_err(waybill_engine::EngineError::from)?;
    let data = page
        .items
        .into_iter()
        .map(|s| ChannelStockView {
            sku: s.sku,
            quantity: s.quantity,
            state: s.state,
            reason: s.reason,
            updated_at: waybill_core::api::time(s.updated_at),
        })
        .collect();
    Ok(Json(List { data, next_after: page.next_after }))
}

/// `?status=` and key-set paging, newest first.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportsQuery {
    /// Only imports in this state (`failed` lists what needs a person).
    #[param(value_type = Option<ImportStatus>)]
    pub status: Option<String>,
    /// How many to list, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// The `next_after` of the previous page.
    #[param(max_length = 40)]
    pub after: Option<String>,
}

/// The payloads channels sent (and syncs fetched), newest first, with what became of each:
/// `failed` ones carry the reason and are read again with `…/retry` after a fix.
#[utoipa::path(get, path = "/v1/channel-imports", tag = "channels", params(ImportsQuery),
    responses((status = 200, body = List<ChannelImportView>), (status = 422, body = Problem)), security(("api_key" = [])))]
pub async fn list_imports(
    State(state): State<AppState>,
    Auth(me): Auth,
    ApiQuery(q): ApiQuery<ImportsQuery>,
) -> ApiResult<Json<List<ChannelImportView>>> {
    let status = q
        .status
        .as_deref()
        .map(|s| named_param(s, "status", ImportStatus::parse, ImportStatus::ALL, ImportStatus::as_str))
        .transpose()?;
    let paging = ListQuery { limit: q.limit, after: q.after };
    let after = paging.after(ChannelImportId::parse, "channel import")?;
    let page = state.engine.list_channel_imports(&me, status, after.as_ref(), paging.limit()?).await?;
    let data = page.items.into_iter().map(|i| ChannelImportView::new(i, None)).collect();
    Ok(Json(List { data, next_after: page.next_after }))
}

/// One import, with the payload as the channel sent it.
#[utoipa::path(get, path = "/v1/channel-imports/{id}", tag = "channels",
    params(("id" = String, Path, description = "import id (`chi_…`)")),
    responses((status = 200, body = ChannelImportView), (status = 404, body = Problem)), security(("api_key" = [])))]
pub async fn get_import(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
    _: ApiQuery<NoQuery>,
) -> ApiResult<Json<ChannelImportView>> {
    let (import, payload) = state.engine.channel_import(&me, &import_id(&id)?).await?;
    // A payload that is not JSON is shown as the text it is.
    let shown = serde_json::from_slice(&payload)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&payload).into_owned()));
    Ok(Json(ChannelImportView::new(import, Some(shown))))
}

/// Read a failed import again, after fixing what its reason says (in the channel, or in the
/// connection's settings).
#[utoipa::path(post, path = "/v1/channel-imports/{id}/retry", tag = "channels",
    params(("id" = String, Path, description = "import id (`chi_…`)")),
    responses((status = 202, body = ChannelImportView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("api_key" = [])))]
pub async fn retry_import(
    State(state): State<AppState>,
    Auth(me): Auth,
    Path(id): Path<String>,
    _: ApiQuery<NoQuery>,
) -> ApiResult<(StatusCode, Json<ChannelImportView>)> {
    let import = state.engine.retry_channel_import(&me, &import_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(ChannelImportView::new(import, None))))
}

/// Receive a channel's webhook. No API key: the channel signs each call (Shopify,
/// WooCommerce) or sends the secret registered with it, and the connector checks it before
/// the body is read. An unknown connection, another channel's slug and a bad signature get
/// the same 401. Accepted calls are kept and answered at once; the order is read by a job.
#[utoipa::path(post, path = "/v1/hooks/channels/{channel}/{connection_id}", tag = "channels",
    params(("channel" = String, Path, description = "channel slug"), ("connection_id" = String, Path, description = "connection id (`chc_…`)")),
    request_body(content = String, description = "the channel's own webhook payload", content_type = "application/json"),
    responses((status = 200, description = "received"), (status = 401, body = Problem)))]
pub async fn webhook(
    State(state): State<AppState>,
    Path((channel, connection)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let connection = ChannelConnectionId::parse(&connection).ok_or_else(|| ApiError::from(EngineError::HookRefused))?;
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned())))
        .collect();
    state.engine.receive_channel_webhook(&channel, &connection, &headers, &body).await?;
    Ok(StatusCode::OK)
}
