//! The fast path (plain `tools/list` / `tools/call` without rmcp's per-request service) must
//! answer exactly as rmcp does: same status, content type and JSON, for every request shape
//! it takes, and leave every other shape to rmcp.

use std::sync::Arc;

use crate::common::{KEY, mcp_post, send};
use authorizer::StaticKeys;
use axum::{Router, body::Body};
use function::{AppConfig, app};
use serde_json::{Value, json};

fn apps() -> (Router, Router) {
    let config = || AppConfig::local(Arc::new(StaticKeys::single(KEY)));
    let mut rmcp_only = config();
    rmcp_only.fast_path = false;
    (app(config()), app(rmcp_only))
}

/// Replies of both apps, with values that change between calls (clock, uptime) removed.
async fn both(version: Option<&str>, message: &Value) -> [(u16, String, Value); 2] {
    let (fast, rmcp) = apps();
    let mut out = Vec::new();
    for app in [&fast, &rmcp] {
        let mut request = mcp_post();
        if let Some(v) = version {
            request = request.header("mcp-protocol-version", v);
        }
        let (status, headers, body) =
            send(app, request.body(Body::from(message.to_string())).unwrap()).await;
        let mut json: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
        for volatile in ["timestamp", "uptime_seconds", "elapsed_ms"] {
            if let Some(s) = json.pointer_mut("/result/structuredContent")
                && let Some(o) = s.as_object_mut()
            {
                o.remove(volatile);
            }
        }
        if let Some(content) = json.pointer_mut("/result/content/0/text")
            && content
                .as_str()
                .is_some_and(|t| t.contains(" up ") || t.starts_with("Job finished"))
        {
            *content = Value::Null;
        }
        let content_type = headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        out.push((status.as_u16(), content_type, json));
    }
    [out.remove(0), out.remove(0)]
}

#[tokio::test]
async fn fast_path_answers_exactly_like_rmcp() {
    let call = |name: &str, arguments: Value| json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": name, "arguments": arguments}});
    let messages = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": "s-1", "method": "tools/list", "params": {}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": {"x": 1}}}),
        call(
            "calculate",
            json!({"operation": "multiply", "a": 6, "b": 7}),
        ),
        call("calculate", json!({"operation": "divide", "a": 1, "b": 0})),
        call("calculate", json!({"operation": "pow", "a": 1, "b": 2})),
        call("calculate", json!({"a": 1})),
        call(
            "get_weather",
            json!({"city": "Lisbon", "units": "imperial"}),
        ),
        call("get_weather", json!({"city": ""})),
        call("lookup_user", json!({"user_id": "u-1001"})),
        call("lookup_user", json!({"user_id": "nobody"})),
        call("get_server_status", json!({})),
        call("get_today_date", json!({})),
        json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "get_server_status"}}),
        json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "calculate", "arguments": {"operation": "add", "a": 1, "b": 2}, "_meta": {"trace": "t"}}}),
        // Left to rmcp, compared all the same:
        call("no_such_tool", json!({})),
        call("simulate_job", json!({"steps": 1, "step_ms": 0})),
        json!({"jsonrpc": "2.0", "id": 10, "method": "tools/list", "params": {"cursor": "x"}}),
        json!({"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": {"name": "calculate", "arguments": {"operation": "add", "a": 1, "b": 2}, "_meta": {"progressToken": "p"}}}),
    ];
    // Every plain tool's example call too, so a new tool is compared without editing this list.
    let examples = function::tools::registry()
        .into_iter()
        .filter(|e| matches!(e.call, function::tools::Call::Sync(_)))
        .map(|e| call(e.spec.name, serde_json::from_str(e.spec.example).unwrap()));
    let messages: Vec<Value> = messages.into_iter().chain(examples).collect();
    for version in [
        None,
        Some("2025-03-26"),
        Some("2025-06-18"),
        Some("2025-11-25"),
        Some("2026-07-28"),
        Some("1999-01-01"),
    ] {
        for message in &messages {
            let [fast, rmcp] = both(version, message).await;
            assert_eq!(fast, rmcp, "version {version:?}, message {message}");
        }
    }
}

#[tokio::test]
async fn fast_path_replies_are_real_answers() {
    let (fast, _) = apps();
    let request = mcp_post()
        .header("mcp-protocol-version", "2025-11-25")
        .body(Body::from(
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "calculate", "arguments": {"operation": "multiply", "a": 6, "b": 7}}}).to_string(),
        ))
        .unwrap();
    let (status, headers, body) = send(&fast, request).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["id"], 3);
    assert_eq!(reply["result"]["structuredContent"]["result_text"], "42");
    assert_eq!(reply["result"]["isError"], false);
}
