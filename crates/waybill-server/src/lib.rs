//! Waybill's HTTP API (v1): routes, authentication, problem+json errors, the OpenAPI document
//! at `/openapi.json` and its browsable docs at `/docs` (assets served from the binary, so it
//! works without internet access).
//!
//! Only this crate knows HTTP routes and the JSON shapes of the API; it hands all work to the
//! engine.

mod error;
mod extract;
mod idempotency;
mod routes;
mod views;

use std::sync::Arc;

use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;
use waybill_engine::Engine;

pub use error::Problem;

#[derive(Clone)]
pub struct AppState {
    engine: Engine,
    keys: Arc<extract::KeyCache>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Waybill API", version = "1", description = "Orders, shipments, labels and tracking across carriers. \
        Authenticate with `Authorization: Bearer wb_test_…`. Errors are `application/problem+json` with a JSON pointer per field."),
    modifiers(&BearerAuth),
    tags((name = "orders"), (name = "shipments"), (name = "tracking"), (name = "carriers"), (name = "operations"))
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
pub fn router(engine: Engine) -> Router {
    let state = AppState { engine, keys: Arc::default() };
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::orders::create, routes::orders::list))
        .routes(routes!(routes::orders::get))
        .routes(routes!(routes::shipments::create, routes::shipments::list))
        .routes(routes!(routes::shipments::get))
        .routes(routes!(routes::shipments::label))
        .routes(routes!(routes::shipments::cancel))
        .routes(routes!(routes::shipments::tracker))
        .routes(routes!(routes::carriers::list_carriers))
        .routes(routes!(routes::carriers::create_account, routes::carriers::list_accounts))
        .routes(routes!(routes::carriers::rates))
        .routes(routes!(routes::hooks::carrier_push))
        .routes(routes!(routes::ops::healthz))
        .routes(routes!(routes::ops::readyz))
        .routes(routes!(routes::ops::metrics))
        .merge(routes::operations::routes())
        .merge(routes::generic::routes())
        .with_state(state)
        .split_for_parts();
    api.merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .layer(RequestBodyLimitLayer::new(1024 * 1024))
        .layer(TraceLayer::new_for_http())
}

/// Serves the API on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, engine: Engine) -> std::io::Result<()> {
    axum::serve(listener, router(engine)).await
}

/// Serves the API until `shutdown` completes, then lets requests in flight finish.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    engine: Engine,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(engine)).with_graceful_shutdown(shutdown).await
}
