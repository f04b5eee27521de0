//! Per-tool EMF metrics: one line per `tools/call`, on the fast path and through rmcp, captured
//! through the injected sink.

use std::sync::{Arc, Mutex};

use authorizer::StaticKeys;
use axum::Router;
use function::{
    AppConfig, app,
    metrics::{Metrics, NAMESPACE},
};
use serde_json::{Value, json};

use crate::common::{KEY, call_tool, rpc};

const FUNCTION: &str = "mcp-dev-function-1a2b";

/// The app with metrics captured into a list; `fast_path: false` serves every call by rmcp.
fn app_with_metrics(fast_path: bool) -> (Router, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let captured = lines.clone();
    let mut config = AppConfig::local(Arc::new(StaticKeys::single(KEY)));
    config.fast_path = fast_path;
    config.metrics = Some(Metrics::new(
        FUNCTION,
        Arc::new(move |line: &str| captured.lock().unwrap().push(line.to_owned())),
    ));
    (app(config), lines)
}

/// The captured lines as JSON, each checked to be one newline-terminated line; the timestamp
/// and duration (which vary) are checked for range and replaced by 0.
fn emf_lines(lines: &Mutex<Vec<String>>) -> Vec<Value> {
    lines
        .lock()
        .unwrap()
        .iter()
        .map(|line| {
            assert!(
                line.ends_with('\n') && line.matches('\n').count() == 1,
                "{line:?}"
            );
            let mut value: Value = serde_json::from_str(line).unwrap();
            let timestamp = value["_aws"]["Timestamp"].as_u64().expect("a ms timestamp");
            assert!(timestamp > 1_700_000_000_000, "{timestamp}");
            let duration = value["Duration"].as_f64().expect("a duration");
            assert!((0.0..10_000.0).contains(&duration), "{duration}");
            value["_aws"]["Timestamp"] = json!(0);
            value["Duration"] = json!(0);
            value
        })
        .collect()
}

/// The one line a call of `tool` must write (timestamp and duration zeroed).
fn expected(tool: &str, errors: u8) -> Value {
    json!({
        "_aws": {
            "Timestamp": 0,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["FunctionName", "Tool"]],
                "Metrics": [
                    {"Name": "Calls", "Unit": "Count"},
                    {"Name": "Errors", "Unit": "Count"},
                    {"Name": "Duration", "Unit": "Milliseconds"}
                ]
            }]
        },
        "FunctionName": FUNCTION,
        "Tool": tool,
        "Calls": 1,
        "Errors": errors,
        "Duration": 0
    })
}

fn call(name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
           "params": {"name": name, "arguments": arguments}})
}

#[tokio::test]
async fn a_successful_call_writes_one_emf_line_on_both_paths() {
    assert_eq!(NAMESPACE, "serverless-mcp");
    for fast_path in [true, false] {
        let (app, lines) = app_with_metrics(fast_path);
        let result = call_tool(
            &app,
            "calculate",
            json!({"operation": "add", "a": 1, "b": 2}),
        )
        .await;
        assert_eq!(result["structuredContent"]["result"], 3.0);
        assert_eq!(
            emf_lines(&lines),
            [expected("calculate", 0)],
            "fast path: {fast_path}"
        );
    }
}

#[tokio::test]
async fn a_tool_error_counts_as_an_error_on_both_paths() {
    for fast_path in [true, false] {
        let (app, lines) = app_with_metrics(fast_path);
        let result = call_tool(
            &app,
            "calculate",
            json!({"operation": "divide", "a": 1, "b": 0}),
        )
        .await;
        assert_eq!(result["isError"], true, "{result}");
        assert_eq!(
            emf_lines(&lines),
            [expected("calculate", 1)],
            "fast path: {fast_path}"
        );
    }
}

#[tokio::test]
async fn bad_arguments_count_as_an_error() {
    let (app, lines) = app_with_metrics(true);
    let (_, reply) = rpc(&app, call("calculate", json!({"operation": "add", "a": 1}))).await;
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    assert_eq!(emf_lines(&lines), [expected("calculate", 1)]);
}

#[tokio::test]
async fn an_unknown_tool_is_counted_under_one_fixed_name() {
    let (app, lines) = app_with_metrics(true);
    // Whatever the client sends, the dimension stays bounded (each value is a billed metric).
    let (_, reply) = rpc(&app, call("no_such_tool_\u{1F600}", json!({}))).await;
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    assert_eq!(emf_lines(&lines), [expected("(unknown)", 1)]);
}

#[tokio::test]
async fn a_tool_served_by_rmcp_writes_its_line() {
    let (app, lines) = app_with_metrics(true);
    let result = call_tool(&app, "simulate_job", json!({"steps": 1, "step_ms": 0})).await;
    assert_ne!(result["isError"], true, "{result}");
    assert_eq!(emf_lines(&lines), [expected("simulate_job", 0)]);
}

#[tokio::test]
async fn other_methods_and_metrics_off_write_nothing() {
    let (app, lines) = app_with_metrics(true);
    let (status, _) = rpc(
        &app,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(lines.lock().unwrap().is_empty());
    // Off (the default of AppConfig::local): calls are served the same, nothing is recorded.
    let config = AppConfig::local(Arc::new(StaticKeys::single(KEY)));
    assert!(config.metrics.is_none());
}
