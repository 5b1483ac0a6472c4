//! Waybill's HTTP API (v1): routes, authentication, problem+json errors, the OpenAPI document
//! at `/openapi.json` and its browsable docs at `/docs` (assets served from the binary, so it
//! works without internet access).
//!
//! Only this crate knows HTTP routes; it hands all work to the engine and shows what the engine
//! returns in the shapes of `waybill_core::api`. Every error from every route, including the
//! ones axum and tower-http produce themselves (no route, wrong method, body too large), is
//! `application/problem+json`, and every answer carries an `X-Request-Id`.

mod error;
pub mod extract;
mod idempotency;
mod metrics;
mod pages;
/// The route handlers; public so the fuzz targets can feed their query types to the extractors.
pub mod routes;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;
use waybill_core::ids::RequestId;
use waybill_engine::Engine;

use error::REQUEST_ID;
pub use error::{ApiError, Problem};

/// The largest request body the API reads.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    engine: Engine,
    keys: Arc<extract::KeyCache>,
    metrics_token: Option<Arc<str>>,
}

/// How the API is served beyond the engine's own settings.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// With a token, `/metrics` is served on the API's address to `Authorization: Bearer
    /// <token>`; without one it is not served there (see [`metrics_router`]).
    pub metrics_token: Option<String>,
    /// How often one client may look up tracking pages and try proofs.
    pub page_limits: waybill_web::RateLimits,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Waybill API", version = "1", description = "Orders, shipments, labels and tracking across carriers. \
        Authenticate with `Authorization: Bearer wb_test_…` (test mode) or `wb_live_…` (live mode): a key sees and \
        touches only objects of its own mode. Errors are `application/problem+json` with a JSON pointer per field."),
    modifiers(&BearerAuth),
    tags((name = "orders"), (name = "shipments"), (name = "tracking"), (name = "carriers"), (name = "operations"), (name = "webhooks"), (name = "notifications"), (name = "branding"), (name = "channels"), (name = "locations"), (name = "inventory"), (name = "ndr"), (name = "information"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("wb_test_… / wb_live_…").build(),
            ),
        );
    }
}

/// The whole API with its OpenAPI document and docs page.
pub fn router(engine: Engine, config: ServerConfig) -> Router {
    metrics::install();
    let state = AppState { engine, keys: Arc::default(), metrics_token: config.metrics_token.map(Into::into) };
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::orders::create, routes::orders::list))
        .routes(routes!(routes::orders::get))
        .routes(routes!(routes::orders::import))
        .routes(routes!(routes::orders::cancel))
        .routes(routes!(routes::orders::cancellation))
        .routes(routes!(routes::orders::get_cancellation_settings, routes::orders::put_cancellation_settings))
        .routes(routes!(routes::shipments::create, routes::shipments::list))
        .routes(routes!(routes::shipments::get, routes::shipments::change))
        .routes(routes!(routes::shipments::changes))
        .routes(routes!(routes::shipments::label))
        .routes(routes!(routes::shipments::cancel))
        .routes(routes!(routes::shipments::acknowledge_rto))
        .routes(routes!(routes::shipments::request_rto, routes::shipments::get_rto_request))
        .routes(routes!(routes::shipments::tracker))
        .routes(routes!(routes::carriers::list_carriers))
        .routes(routes!(routes::carriers::create_account, routes::carriers::list_accounts))
        .routes(routes!(routes::carriers::rates))
        .routes(routes!(routes::carriers::get_holidays, routes::carriers::put_holidays))
        .routes(routes!(routes::hooks::carrier_push))
        .routes(routes!(routes::ops::healthz))
        .routes(routes!(routes::ops::readyz))
        .merge(routes::operations::routes())
        .merge(routes::generic::routes())
        .merge(routes::webhooks::routes())
        .merge(routes::notifications::routes())
        .merge(routes::branding::routes())
        .merge(routes::channels::routes())
        .merge(routes::locations::routes())
        .merge(routes::inventory::routes())
        .merge(routes::ndr::routes())
        .merge(routes::information::routes())
        .merge(routes::manifests::routes())
        .with_state(state.clone())
        .split_for_parts();
    let mut app = api
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .merge(pages::router(state.engine.clone(), config.page_limits));
    if state.metrics_token.is_some() {
        app = app.route("/metrics", axum::routing::get(routes::ops::metrics_with_token).with_state(state));
    }
    app.fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(middleware::from_fn(problems))
        .layer(TraceLayer::new_for_http())
}

/// `/metrics` alone, unauthenticated: to serve on a private address (`--metrics-listen`).
pub fn metrics_router(engine: Engine) -> Router {
    metrics::install();
    let state = AppState { engine, keys: Arc::default(), metrics_token: None };
    Router::new()
        .route("/metrics", axum::routing::get(routes::ops::metrics_open))
        .with_state(state)
        .fallback(no_route)
        .layer(middleware::from_fn(problems))
}

async fn no_route(method: Method, uri: axum::http::Uri) -> ApiError {
    let path: String = uri.path().chars().take(200).collect();
    ApiError::new(StatusCode::NOT_FOUND, "no_route", format!("there is no route for {method} {path}"))
}

async fn wrong_method(method: Method, uri: axum::http::Uri) -> ApiError {
    let path: String = uri.path().chars().take(200).collect();
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", format!("{method} is not allowed on {path}"))
}

/// Gives every request an id (its `X-Request-Id`, and the id 500s and logs name), counts the
/// answers, and turns any error answer that is not problem+json yet (axum's and tower-http's
/// own: body too large, unreadable path, …) into one, keeping its status and headers.
async fn problems(request: Request, next: Next) -> Response {
    let id = RequestId::generate().to_string();
    let method = request.method().clone();
    let mut response = REQUEST_ID.scope(id.clone(), next.run(request)).await;
    let status = response.status();
    ::metrics::counter!("waybill_http_responses_total", "status" => status.as_u16().to_string()).increment(1);
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"application/problem+json"));
    // The public pages answer their errors (not found, too many requests) as pages.
    let is_page =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|ct| ct.as_bytes().starts_with(b"text/html"));
    if (status.is_client_error() || status.is_server_error()) && !is_problem && !is_page {
        let (parts, body) = response.into_parts();
        let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&text).trim().chars().take(300).collect::<String>();
        let problem = match status {
            StatusCode::PAYLOAD_TOO_LARGE => error::too_large(),
            StatusCode::METHOD_NOT_ALLOWED => {
                ApiError::new(status, "method_not_allowed", format!("{method} is not allowed here"))
            }
            StatusCode::INTERNAL_SERVER_ERROR => REQUEST_ID.sync_scope(id.clone(), || ApiError::internal(&text)),
            _ if text.is_empty() => ApiError::new(status, "error", status.canonical_reason().unwrap_or("error")),
            _ => ApiError::new(status, "invalid_request", text),
        };
        let mut rebuilt = problem.into_response();
        for (name, value) in
            parts.headers.iter().filter(|(n, _)| *n != header::CONTENT_TYPE && *n != header::CONTENT_LENGTH)
        {
            rebuilt.headers_mut().insert(name.clone(), value.clone());
        }
        response = rebuilt;
    }
    response.headers_mut().insert("x-request-id", HeaderValue::from_str(&id).expect("ids are ASCII"));
    response
}

/// Serves `/metrics` alone on `listener` (see [`metrics_router`]) until the process ends.
pub async fn serve_metrics(listener: tokio::net::TcpListener, engine: Engine) -> std::io::Result<()> {
    axum::serve(listener, metrics_router(engine)).await
}

/// Serves the API on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, engine: Engine) -> std::io::Result<()> {
    let app = router(engine, ServerConfig::default());
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
}

/// Serves the API until `shutdown` completes, then lets requests in flight finish.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    engine: Engine,
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(engine, config).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
