//! Per-tool metrics as CloudWatch Embedded Metric Format (EMF) log lines: after each
//! `tools/call`, one JSON line on stdout that CloudWatch Logs turns into the metrics `Calls`,
//! `Errors` and `Duration` in the [`NAMESPACE`] namespace, per function and tool. No API call,
//! nothing waited on: one small serialization and one write.
//!
//! Spec: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use std::{
    fmt,
    io::Write,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde::Serialize;

/// The CloudWatch namespace of the tool metrics (the Pulumi program's dashboard reads it).
pub const NAMESPACE: &str = "serverless-mcp";

/// The `Tool` dimension of calls to a name the server does not have: client-chosen names
/// would otherwise each become a new custom metric (billed per metric).
pub const UNKNOWN_TOOL: &str = "(unknown)";

/// The Lambda invocation's request id, as a request extension (set by `lambda.rs`).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Where the EMF lines go: stdout on Lambda, a buffer in tests.
pub type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// The tool metrics of one function.
#[derive(Clone)]
pub struct Metrics {
    /// The `FunctionName` dimension (`AWS_LAMBDA_FUNCTION_NAME`): keeps stages and the two
    /// MCP functions of a stage apart, under the dimension name AWS/Lambda uses.
    function_name: Arc<str>,
    sink: Sink,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("function_name", &self.function_name)
            .finish_non_exhaustive()
    }
}

/// How one tool call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// A tool error (`isError: true`) or a JSON-RPC error (unknown tool, bad arguments).
    Error,
}

impl Metrics {
    pub fn new(function_name: &str, sink: Sink) -> Self {
        Self {
            function_name: function_name.into(),
            sink,
        }
    }

    /// Lines to stdout, where Lambda sends them to the function's log group.
    pub fn stdout(function_name: &str) -> Self {
        Self::new(
            function_name,
            Arc::new(|line: &str| {
                // One write of the whole line: never interleaved with a log line.
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(line.as_bytes());
                let _ = out.flush();
            }),
        )
    }

    /// Records one `tools/call`.
    pub fn tool_call(
        &self,
        tool: &str,
        outcome: Outcome,
        duration: Duration,
        request_id: Option<&str>,
    ) {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let line = emf_line(
            &self.function_name,
            tool,
            outcome,
            duration,
            request_id,
            now_ms,
        );
        (self.sink)(&line);
    }
}

/// One EMF line (with its newline): the metadata under `_aws`, the dimension and metric values
/// as top-level members, and the request id as a plain property (searchable, not a dimension).
/// Only names, numbers and the request id: never arguments, keys or tokens.
pub fn emf_line(
    function_name: &str,
    tool: &str,
    outcome: Outcome,
    duration: Duration,
    request_id: Option<&str>,
    timestamp_ms: u64,
) -> String {
    let line = Line {
        aws: Aws {
            timestamp: timestamp_ms,
            cloud_watch_metrics: [Directive {
                namespace: NAMESPACE,
                dimensions: [["FunctionName", "Tool"]],
                metrics: [
                    MetricDefinition {
                        name: "Calls",
                        unit: "Count",
                    },
                    MetricDefinition {
                        name: "Errors",
                        unit: "Count",
                    },
                    MetricDefinition {
                        name: "Duration",
                        unit: "Milliseconds",
                    },
                ],
            }],
        },
        function_name,
        tool,
        calls: 1,
        errors: u8::from(outcome == Outcome::Error),
        // Microsecond resolution is plenty; fewer digits, shorter line.
        duration: (duration.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        request_id,
    };
    let mut text = serde_json::to_string(&line).expect("EMF lines serialize");
    text.push('\n');
    text
}

#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "_aws")]
    aws: Aws,
    #[serde(rename = "FunctionName")]
    function_name: &'a str,
    #[serde(rename = "Tool")]
    tool: &'a str,
    #[serde(rename = "Calls")]
    calls: u8,
    #[serde(rename = "Errors")]
    errors: u8,
    #[serde(rename = "Duration")]
    duration: f64,
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Aws {
    timestamp: u64,
    cloud_watch_metrics: [Directive; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive {
    namespace: &'static str,
    dimensions: [[&'static str; 2]; 1],
    metrics: [MetricDefinition; 3],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MetricDefinition {
    name: &'static str,
    unit: &'static str,
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn an_emf_line_follows_the_specification() {
        let line = emf_line(
            "mcp-dev-function-1a2b",
            "calculate",
            Outcome::Error,
            Duration::from_micros(1_234_567),
            Some("8f5c1a2e-0000-4000-8000-000000000001"),
            1_764_672_000_123,
        );
        assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            json!({
                "_aws": {
                    "Timestamp": 1_764_672_000_123_u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "serverless-mcp",
                        "Dimensions": [["FunctionName", "Tool"]],
                        "Metrics": [
                            {"Name": "Calls", "Unit": "Count"},
                            {"Name": "Errors", "Unit": "Count"},
                            {"Name": "Duration", "Unit": "Milliseconds"}
                        ]
                    }]
                },
                "FunctionName": "mcp-dev-function-1a2b",
                "Tool": "calculate",
                "Calls": 1,
                "Errors": 1,
                "Duration": 1234.567,
                "requestId": "8f5c1a2e-0000-4000-8000-000000000001"
            })
        );
    }

    #[test]
    fn the_authorizer_publishes_in_the_same_namespace() {
        assert_eq!(NAMESPACE, authorizer::lambda::METRICS_NAMESPACE);
    }

    #[test]
    fn a_success_counts_no_error_and_a_line_without_request_id_omits_it() {
        let line = emf_line("f", "t", Outcome::Success, Duration::ZERO, None, 1);
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["Errors"], 0);
        assert_eq!(value["Calls"], 1);
        assert_eq!(value["Duration"], 0.0);
        assert!(value.get("requestId").is_none());
    }

    #[test]
    fn the_sink_gets_each_line() {
        let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let captured = lines.clone();
        let metrics = Metrics::new(
            "f",
            Arc::new(move |line: &str| captured.lock().unwrap().push(line.to_owned())),
        );
        metrics.tool_call("t", Outcome::Success, Duration::from_millis(2), Some("r"));
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 1);
        let value: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(value["requestId"], "r");
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let stamped = value["_aws"]["Timestamp"].as_u64().unwrap();
        assert!(stamped <= now_ms && now_ms - stamped < 60_000, "{stamped}");
    }
}
