//! The HTTP edge: routes, CORS, the Host/Origin guard, API-key auth and the access log, in
//! front of the MCP layer ([`crate::mcp`]). The same app is served locally and on Lambda.

mod access_log;
pub mod auth;
pub mod guard;
mod oauth;

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Request, State},
    http::{HeaderName, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{any, get},
};
use rmcp::ServerHandler;
use serde_json::{Value, json};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{
    config::{AppConfig, RunMode},
    mcp::{Endpoint, McpServer, header_str},
    tools::Deps,
};
use access_log::{AccessLog, KeyId};

struct AppState {
    config: AppConfig,
    endpoint: Endpoint,
}

/// The path prefix API Gateway's stage put before the app's routes (`/dev`), set by the
/// Lambda serving module when it strips it: OAuth URLs (issuer, resource) must include it.
#[derive(Clone, Debug)]
pub struct BasePath(pub String);

/// Builds the app: `GET /health` (no auth) and the MCP endpoint at `/mcp`, serving every tool
/// of the registry.
pub fn app(config: AppConfig) -> Router {
    let deps = Deps::new(config.mode, config.region.clone(), config.cost.clone());
    let server = McpServer::new(deps).with_metrics(config.metrics.clone());
    app_with_server(config, server)
}

/// The app around a given [`McpServer`] (e.g. one with other tools). `config.metrics` is not
/// applied here: give the server [`McpServer::with_metrics`] before.
pub fn app_with_server(config: AppConfig, server: McpServer) -> Router {
    let endpoint = Endpoint::new(server, config.fast_path, config.max_body_bytes);
    router(config, endpoint)
}

/// The app around any rmcp handler, served entirely by rmcp (no fast path): for handlers that
/// wrap [`McpServer`] with more capabilities. Auth, guards and envelope checks are the same.
pub fn app_with_handler<S>(config: AppConfig, handler: S) -> Router
where
    S: ServerHandler + Clone + Send + Sync + 'static,
{
    let endpoint = Endpoint::with_handler(handler, config.max_body_bytes);
    router(config, endpoint)
}

fn router(config: AppConfig, endpoint: Endpoint) -> Router {
    let cors = cors(&config);
    let with_oauth = config.oauth.is_some() && config.auth.accepts_tokens();
    let state = Arc::new(AppState { config, endpoint });
    // `/mcp/` too: a trailing slash pasted into a client config should not be a 404.
    let mut routes = Router::new()
        .route("/mcp", any(mcp_endpoint))
        .route("/mcp/", any(mcp_endpoint));
    if with_oauth {
        routes = routes.merge(oauth::routes());
    }
    let routes = routes
        .route_layer(cors)
        .route("/health", get(health))
        .fallback(not_found)
        .with_state(state);
    // Around the whole router once (`Router::layer` would wrap each route in turn).
    Router::new().fallback_service(AccessLog(routes))
}

/// `/mcp`. Plain function calls rather than middleware layers: one handler call per request
/// instead of a boxed, cloned service stack per layer.
async fn mcp_endpoint(State(state): State<Arc<AppState>>, request: Request) -> Response {
    if let Some(refusal) = guard::refusal(&state.config, &request) {
        return closing(&state.config, &request, refusal);
    }
    let key_id = match auth::caller(&state, request.headers(), request.extensions()).await {
        Ok(id) => id,
        Err(refusal) => return closing(&state.config, &request, refusal),
    };
    let mut response = state.endpoint.serve(request).await;
    if crate::mcp::access_log_enabled() {
        response.extensions_mut().insert(KeyId(key_id));
    }
    response
}

/// A refusal sent before the request's body was read: hyper will not reuse that connection
/// (the unread body is in the way) and closes it, so the local server says so. Otherwise a
/// client reuses it for its next request (a POST, not retried) and fails with the peer gone.
/// On Lambda there is no connection of ours: nothing to say.
fn closing(config: &AppConfig, request: &Request, mut refusal: Response) -> Response {
    let headers = request.headers();
    let body_unread = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length != "0");
    if config.mode == RunMode::Local && body_unread {
        refusal.headers_mut().insert(
            header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    refusal
}

/// CORS for browser-based MCP clients from the allowed origins (loopback locally,
/// `MCP_ALLOWED_ORIGINS` on Lambda). Preflights are answered here, before the key check, as
/// browsers send them without credentials. With no allowed origins, no CORS headers at all.
fn cors(config: &AppConfig) -> CorsLayer {
    let origins = config.allowed_origins.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            origin
                .to_str()
                .is_ok_and(|o| guard::origin_allowed(o, &origins))
        }))
        .allow_methods([Method::POST, Method::GET, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::AUTHORIZATION,
            HeaderName::from_static("x-api-key"),
            HeaderName::from_static("mcp-protocol-version"),
            HeaderName::from_static("mcp-session-id"),
            HeaderName::from_static("mcp-method"),
            HeaderName::from_static("last-event-id"),
        ])
        // Browser clients must read the OAuth challenge to start signing in.
        .expose_headers([
            header::WWW_AUTHENTICATE,
            HeaderName::from_static("mcp-session-id"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

async fn health() -> Json<Value> {
    Json(json!({
        "status": "ok",
        "server": crate::SERVER_NAME,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn not_found() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such endpoint. The MCP endpoint is /mcp.",
    )
}

/// A plain HTTP error with a small JSON body (for failures before JSON-RPC is involved).
fn error_response(status: StatusCode, error: &str, message: &str) -> Response {
    (status, Json(json!({ "error": error, "message": message }))).into_response()
}
