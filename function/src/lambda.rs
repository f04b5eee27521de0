//! Serving the app on AWS Lambda: buffered behind API Gateway HTTP API v2, streamed behind a
//! Function URL with `InvokeMode: RESPONSE_STREAM`. The mode is fixed at start-up.
//!
//! The only module that knows lambda_http: it turns what API Gateway put in the request
//! context (the stage, the authorizer's verdict) into a plain request the app understands.

use axum::{Router, extract::Request};
use http::{HeaderValue, header::HOST};
use lambda_http::{
    Adapter, RequestExt, StreamAdapter,
    lambda_runtime::LambdaEvent,
    request::{LambdaRequest, RequestContext},
};
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

/// Runs the Lambda runtime loop until the runtime stops the process. What
/// `lambda_http::run{,_with_streaming_response}` do, with [`safe_event`] in front.
pub async fn run(config: AppConfig) -> Result<(), lambda_http::Error> {
    let mode = config.mode;
    let app = lambda_app(config);
    match mode {
        RunMode::FunctionUrl => {
            lambda_http::lambda_runtime::run(StreamAdapter::from(app).map_request(safe_event)).await
        }
        RunMode::ApiGateway | RunMode::Local => {
            lambda_http::lambda_runtime::run(Adapter::from(app).map_request(safe_event)).await
        }
    }
}

/// lambda_http builds the request URI from the Host and X-Forwarded-Proto headers, the path and
/// the query, and panics when that does not parse (a Host of `h:99999`, found by the hostile
/// corpus). An event it would choke on is made one the app refuses: an unusable scheme is
/// dropped (https is assumed), an unusable Host becomes `invalid.invalid` (403 from the Host
/// guard), and a target that still does not parse becomes `/` (404).
pub fn safe_event(mut event: LambdaEvent<LambdaRequest>) -> LambdaEvent<LambdaRequest> {
    #[allow(irrefutable_let_patterns)] // only the HTTP API v2 event type is compiled in
    if let LambdaRequest::ApiGatewayV2(request) = &mut event.payload {
        let headers = &mut request.headers;
        let proto = headers.get("x-forwarded-proto").map(|p| p.to_str());
        if proto.is_some_and(|p| !matches!(p, Ok("https" | "http"))) {
            headers.remove("x-forwarded-proto");
        }
        let proto = headers
            .get("x-forwarded-proto")
            .and_then(|p| p.to_str().ok())
            .unwrap_or("https");
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .or(request.request_context.domain_name.as_deref())
            .unwrap_or("localhost");
        let path = request.raw_path.as_deref().unwrap_or("");
        let query = request.raw_query_string.as_deref().unwrap_or("");
        if !uri_builds(proto, host, path, query) {
            let path_ok = uri_builds(proto, "invalid.invalid", path, query);
            headers.insert(HOST, HeaderValue::from_static("invalid.invalid"));
            if !path_ok {
                request.raw_path = Some("/".into());
                request.raw_query_string = None;
            }
        }
    }
    event
}

/// Would lambda_http's `build_request_uri` and `Request::builder().uri(..)` accept these, with
/// `host` read as a host (a Host of `evil@h` or `h/x` would parse as something else)?
fn uri_builds(proto: &str, host: &str, path: &str, query: &str) -> bool {
    if host.is_empty() || host.contains(['/', '\\', '?', '#', '@', ' ']) {
        return false;
    }
    let Ok(url) = url::Url::parse(&format!("{proto}://{host}{path}")) else {
        return false;
    };
    let mut uri = url.to_string();
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(query);
    }
    uri.parse::<http::Uri>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::{strip_stage, uri_builds};

    #[test]
    fn uris_lambda_http_would_panic_on_are_recognised() {
        assert!(uri_builds(
            "https",
            "abc.execute-api.us-east-1.amazonaws.com",
            "/mcp",
            "a=1"
        ));
        assert!(!uri_builds("https", "127.0.0.1:99999", "/mcp", ""));
        assert!(!uri_builds("a b", "example.com", "/mcp", ""));
        assert!(!uri_builds("https", "example.com", "/mcp", "a b"));
        assert!(uri_builds("https", "invalid.invalid", "/mcp", ""));
        assert!(!uri_builds("https", "evil@example.com", "/mcp", ""));
        assert!(!uri_builds("https", "example.com/x", "/mcp", ""));
        assert!(!uri_builds("https", "", "/mcp", ""));
    }

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
