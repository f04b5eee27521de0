//! The common requests answered without rmcp's per-request service: `tools/list` and
//! `tools/call` of the plain tools, as single JSON messages of protocol versions up to
//! 2025-11-25 (what clients send today). Same handler code, same JSON as rmcp's stateless JSON
//! replies (a test compares the two), minus a spawned service, channels and a second parse.
//! Anything else — another method or tool, a progress token, a task, a cursor, a 2026-07-28
//! request with its extra headers, a version rmcp must refuse — goes to rmcp unchanged.

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};
use rmcp::{ErrorData, model::ServerResult};
use serde::Serialize;
use serde_json::Value;

use super::handler::McpServer;

/// Protocol versions whose `tools/list` / `tools/call` exchange is plain JSON-RPC (absent
/// header = 2025-03-26, as rmcp assumes).
const PLAIN_VERSIONS: [&str; 3] = ["2025-03-26", "2025-06-18", "2025-11-25"];

/// The reply, when this message is one the fast path answers. `request_id` (the Lambda
/// invocation's) is for the metrics line.
pub fn answer(
    server: &McpServer,
    headers: &HeaderMap,
    message: &Value,
    request_id: Option<&str>,
) -> Option<Response> {
    let version = match headers.get("mcp-protocol-version") {
        None => "2025-03-26",
        Some(value) => value.to_str().ok()?,
    };
    if !PLAIN_VERSIONS.contains(&version) || message["jsonrpc"] != "2.0" {
        return None;
    }
    let id = match &message["id"] {
        id @ (Value::String(_) | Value::Number(_)) => id,
        _ => return None,
    };
    let params = match message.get("params") {
        None => &Value::Null,
        Some(p @ Value::Object(_)) => p,
        Some(_) => return None,
    };
    let plain_meta = params
        .get("_meta")
        .is_none_or(|meta| meta.is_object() && meta.get("progressToken").is_none());
    if !plain_meta {
        return None;
    }
    match message["method"].as_str()? {
        "tools/list" => {
            if !only_keys(params, &["_meta"]) {
                return None; // a cursor, or something rmcp should judge
            }
            // Serialized once: the list is the bulk of the work otherwise.
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"result":{}}}"#,
                server.legacy_tool_list_json()
            );
            Some(json_response(body.into_bytes()))
        }
        "tools/call" => {
            if !only_keys(params, &["name", "arguments", "_meta"]) {
                return None; // e.g. a task-augmented call
            }
            let name = params["name"].as_str()?;
            let empty = Value::Object(Default::default());
            let arguments = match params.get("arguments") {
                None | Some(Value::Null) => &empty,
                Some(args @ Value::Object(_)) => args,
                Some(_) => return None,
            };
            let result = server.call_sync_for(name, arguments, request_id)?;
            Some(reply(id, result.map(ServerResult::CallToolResult)))
        }
        _ => None,
    }
}

fn only_keys(params: &Value, allowed: &[&str]) -> bool {
    params
        .as_object()
        .is_none_or(|o| o.keys().all(|k| allowed.contains(&k.as_str())))
}

#[derive(Serialize)]
struct Reply<'a, T> {
    jsonrpc: &'static str,
    id: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorData>,
}

/// A JSON-RPC response as rmcp writes it in JSON mode for a pre-2026-07-28 peer: 200,
/// `application/json`, without the newer `resultType: "complete"`.
fn reply(id: &Value, outcome: Result<ServerResult, ErrorData>) -> Response {
    let (result, error) = match outcome {
        Ok(mut result) => {
            result.strip_result_type_for_legacy_peer();
            (Some(result), None)
        }
        Err(error) => (None, Some(error)),
    };
    let body = serde_json::to_vec(&Reply {
        jsonrpc: "2.0",
        id,
        result,
        error,
    })
    .expect("JSON-RPC replies serialize");
    json_response(body)
}

fn json_response(body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::{
        config::RunMode,
        cost::{CostExplorer, CostSettings},
        tools::Deps,
    };

    fn server() -> McpServer {
        McpServer::new(Deps::new(
            RunMode::Local,
            "local",
            Arc::new(CostExplorer::new(CostSettings::default())),
        ))
    }

    fn headers(version: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(v) = version {
            headers.insert("mcp-protocol-version", HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    fn call(name: &str) -> Value {
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": name, "arguments": {"operation": "add", "a": 1, "b": 2}}})
    }

    #[test]
    fn takes_plain_lists_and_calls_of_legacy_versions() {
        let server = server();
        for version in [
            None,
            Some("2025-03-26"),
            Some("2025-06-18"),
            Some("2025-11-25"),
        ] {
            let h = headers(version);
            assert!(answer(&server, &h, &call("calculate"), None).is_some());
            let list = json!({"jsonrpc": "2.0", "id": "x", "method": "tools/list"});
            assert!(answer(&server, &h, &list, None).is_some());
        }
    }

    #[test]
    fn leaves_everything_else_to_rmcp() {
        let server = server();
        let legacy = headers(Some("2025-11-25"));
        for message in [
            call("simulate_job"),
            call("get_cost_and_usage"),
            call("no_such_tool"),
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"cursor": "c"}}),
            json!({"jsonrpc": "2.0", "method": "tools/list"}),
            json!({"jsonrpc": "2.0", "id": null, "method": "tools/list"}),
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}),
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "calculate", "arguments": {}, "_meta": {"progressToken": 1}}}),
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "calculate", "arguments": {}, "task": {}}}),
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "calculate", "arguments": [1]}}),
        ] {
            assert!(
                answer(&server, &legacy, &message, None).is_none(),
                "{message}"
            );
        }
        for version in ["2026-07-28", "2024-11-05", "bogus"] {
            assert!(answer(&server, &headers(Some(version)), &call("calculate"), None).is_none());
        }
    }
}
