//! Serving the app on AWS Lambda: buffered behind API Gateway HTTP API v2, streamed behind a
//! Function URL with `InvokeMode: RESPONSE_STREAM`. The mode is fixed at start-up.
//!
//! The only module that knows lambda_http: it turns what API Gateway put in the request
//! context (the stage, the authorizer's verdict) into a plain request the app understands.

use axum::{Router, extract::Request};
use lambda_http::{RequestExt, request::RequestContext};
use tower::ServiceExt;

use crate::{
    config::{AppConfig, RunMode},
    http::{BasePath, app, auth::GatewayAuthorized},
    metrics::RequestId,
};

/// API Gateway puts a named stage in the path (`/dev/mcp`); the app serves `/mcp`.
/// Returns the path without the stage prefix, or `None` when there is nothing to strip.
pub fn strip_stage<'a>(path: &'a str, stage: Option<&str>) -> Option<&'a str> {
    let stage = stage.filter(|s| !s.is_empty() && *s != "$default")?;
    let rest = path.strip_prefix('/')?.strip_prefix(stage)?;
    match rest {
        "" => Some("/"),
        r if r.starts_with('/') => Some(r),
        _ => None,
    }
}

/// A Lambda request as the app expects it: the stage prefix removed from the path, API
/// Gateway's authorizer verdict as a [`GatewayAuthorized`] extension, and the invocation's
/// [`RequestId`] (for the metrics lines).
fn from_lambda(mut request: Request) -> Request {
    if let Some(id) = request
        .lambda_context_ref()
        .map(|context| context.request_id.clone())
        .filter(|id| !id.is_empty())
    {
        request.extensions_mut().insert(RequestId(id));
    }
    let (stage, key_id) = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => (
            context.stage.clone(),
            context
                .authorizer
                .as_ref()
                .and_then(|a| a.fields.get("keyId"))
                .and_then(|id| id.as_str())
                .map(str::to_owned),
        ),
        _ => (None, None),
    };
    // An empty keyId is the `both`-mode authorizer letting an unkeyed request through for the
    // function to check its OAuth token.
    if let Some(key_id) = key_id.filter(|id| !id.is_empty()) {
        request
            .extensions_mut()
            .insert(GatewayAuthorized { key_id });
    }
    let uri = request.uri().clone();
    if let Some(path) = strip_stage(uri.path(), stage.as_deref()) {
        if let Some(stage) = stage.as_deref() {
            request
                .extensions_mut()
                .insert(BasePath(format!("/{stage}")));
        }
        let path_and_query = match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        };
        let mut parts = uri.clone().into_parts();
        if let Ok(pq) = path_and_query.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(new_uri) = http::Uri::from_parts(parts) {
                *request.uri_mut() = new_uri;
            }
        }
    }
    request
}

/// The app as Lambda sees it: requests translated by [`from_lambda`] before routing.
pub fn lambda_app(config: AppConfig) -> Router {
    let app = app(config);
    Router::new().fallback_service(app.map_request(from_lambda))
}

/// Runs the Lambda runtime loop until the runtime stops the process.
pub async fn run(config: AppConfig) -> Result<(), lambda_http::Error> {
    let mode = config.mode;
    let app = lambda_app(config);
    match mode {
        RunMode::FunctionUrl => lambda_http::run_with_streaming_response(app).await,
        RunMode::ApiGateway | RunMode::Local => lambda_http::run(app).await,
    }
}

#[cfg(test)]
mod tests {
    use super::strip_stage;

    #[test]
    fn strips_named_stages_only() {
        assert_eq!(strip_stage("/dev/mcp", Some("dev")), Some("/mcp"));
        assert_eq!(strip_stage("/dev", Some("dev")), Some("/"));
        assert_eq!(strip_stage("/mcp", Some("$default")), None);
        assert_eq!(strip_stage("/mcp", None), None);
        assert_eq!(strip_stage("/mcp", Some("dev")), None);
        assert_eq!(strip_stage("/devices/mcp", Some("dev")), None);
    }
}
