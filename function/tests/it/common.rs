//! Helpers for driving the app in-process.
#![allow(dead_code)]

use std::sync::Arc;

use authorizer::StaticKeys;
use axum::{Router, body::Body};
use function::{AppConfig, app};
use http::{Request, Response};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub const KEY: &str = "test-key-0123456789";
pub const JSON_AND_SSE: &str = "application/json, text/event-stream";

pub fn test_app() -> Router {
    app(AppConfig::local(Arc::new(StaticKeys::single(KEY))))
}

/// A POST to /mcp with the headers a well-behaved client sends.
pub fn mcp_post() -> http::request::Builder {
    Request::post("/mcp")
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/json")
        .header("accept", JSON_AND_SSE)
        .header("x-api-key", KEY)
}

pub async fn send(
    app: &Router,
    request: Request<Body>,
) -> (http::StatusCode, http::HeaderMap, String) {
    let response: Response<Body> = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// Sends one JSON-RPC message with a protocol version header and returns status and JSON body.
pub async fn rpc(app: &Router, message: Value) -> (http::StatusCode, Value) {
    let request = mcp_post()
        .header("mcp-protocol-version", "2025-11-25")
        .body(Body::from(message.to_string()))
        .unwrap();
    let (status, headers, body) = send(app, request).await;
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "expected a JSON reply, got {body}"
    );
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}")),
    )
}

/// Calls a tool and returns the JSON-RPC `result` (or panics with the error).
pub async fn call_tool(app: &Router, name: &str, arguments: Value) -> Value {
    let (status, reply) = rpc(
        app,
        serde_json::json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": name, "arguments": arguments}}),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    reply
        .get("result")
        .cloned()
        .unwrap_or_else(|| panic!("no result: {reply}"))
}
