//! Alarms and the dashboard (settings `alarms`, `alarmEmail`, `alarmTopicArn`,
//! `alarmDenialsThreshold`, `dashboard`): off by default, and when on, pointing at the stage's
//! real resources and metrics.

use std::{collections::BTreeSet, path::Path};

use serde_json::{Value, json};

use crate::{
    engine::{Registered, Run, run_program},
    graph::{ARM64, KEY, env_of, id_of, references, root_with_zips},
};

const ALARM: &str = "aws:cloudwatch/metricAlarm:MetricAlarm";
const DASHBOARD: &str = "aws:cloudwatch/dashboard:Dashboard";
const TOPIC: &str = "aws:sns/topic:Topic";
const SUBSCRIPTION: &str = "aws:sns/topicSubscription:TopicSubscription";
/// What the mock engine answers for the API's id and a topic's ARN.
const API_ID: &str = "abc123defg";
const EXISTING_TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:ops-alerts";

fn up(root: &Path, extra: &[(&str, &str)]) -> Run {
    let mut config = vec![("aws:region", "eu-west-1"), ("serverless-mcp:apiKey", KEY)];
    config.extend_from_slice(extra);
    let run = run_program(root, false, &config, &["serverless-mcp:apiKey"]);
    assert!(run.status.success(), "the program failed:\n{}", run.stderr);
    run
}

fn alarm_names(run: &Run) -> BTreeSet<String> {
    run.of_type(ALARM).iter().map(|a| a.name.clone()).collect()
}

/// The inputs of an alarm that say what it watches and when it fires.
fn watches(alarm: &Registered) -> Value {
    let i = &alarm.inputs;
    json!({
        "namespace": i["namespace"],
        "metricName": i["metricName"],
        "dimensions": i["dimensions"],
        "statistic": i["statistic"],
        "extendedStatistic": i["extendedStatistic"],
        "threshold": i["threshold"].as_f64(),
        "comparisonOperator": i["comparisonOperator"],
        // The engine's protobuf numbers are doubles.
        "period": i["period"].as_f64(),
        "evaluationPeriods": i["evaluationPeriods"].as_f64(),
        "treatMissingData": i["treatMissingData"],
    })
}

fn sum_alarm(namespace: &str, metric: &str, dimensions: Value, threshold: f64) -> Value {
    json!({
        "namespace": namespace, "metricName": metric, "dimensions": dimensions,
        "statistic": "Sum", "extendedStatistic": null, "threshold": threshold,
        "comparisonOperator": "GreaterThanOrEqualToThreshold", "period": 300.0,
        "evaluationPeriods": 1.0, "treatMissingData": "notBreaching",
    })
}

#[test]
fn monitoring_is_off_by_default() {
    let root = root_with_zips(ARM64);
    let run = up(root.path(), &[]);
    for type_ in [ALARM, DASHBOARD, TOPIC, SUBSCRIPTION] {
        assert!(run.of_type(type_).is_empty(), "{type_} registered");
    }
    for function in ["mcp-dev-function", "mcp-dev-streaming"] {
        assert_eq!(env_of(run.named(function))["MCP_METRICS"], "off");
    }
}

#[test]
fn alarms_watch_the_stage_and_notify_a_new_topic() {
    let root = root_with_zips(ARM64);
    let run = up(
        root.path(),
        &[
            ("serverless-mcp:alarms", "true"),
            ("serverless-mcp:alarmEmail", "ops@example.com"),
            ("serverless-mcp:alarmDenialsThreshold", "40"),
            ("serverless-mcp:timeout", "60"),
        ],
    );
    let topic = run.named("mcp-dev-alarms");
    let topic_arn = topic.outputs["arn"].as_str().unwrap();
    let subscription = run.named("mcp-dev-alarms-email");
    assert_eq!(subscription.inputs["protocol"], "email");
    assert_eq!(subscription.inputs["endpoint"], "ops@example.com");
    assert_eq!(subscription.inputs["topic"], topic_arn);

    let expected: BTreeSet<String> = [
        "api-5xx",
        "function-errors",
        "function-throttles",
        "function-duration",
        "streaming-errors",
        "streaming-throttles",
        "streaming-duration",
        "authorizer-errors",
        "authorizer-throttles",
        "authorizer-duration",
        "authorizer-denials",
    ]
    .iter()
    .map(|s| format!("mcp-dev-alarm-{s}"))
    .collect();
    assert_eq!(alarm_names(&run), expected);
    for alarm in run.of_type(ALARM) {
        assert_eq!(
            alarm.inputs["alarmActions"],
            json!([topic_arn]),
            "{}",
            alarm.name
        );
        assert_eq!(
            alarm.inputs["okActions"],
            json!([topic_arn]),
            "{}",
            alarm.name
        );
        let description = alarm.inputs["alarmDescription"].as_str().unwrap();
        assert!(
            description.starts_with("serverless-mcp dev: "),
            "{description}"
        );
    }

    assert_eq!(
        watches(run.named("mcp-dev-alarm-api-5xx")),
        sum_alarm(
            "AWS/ApiGateway",
            "5xx",
            json!({"ApiId": API_ID, "Stage": "dev"}),
            5.0
        )
    );
    for (part, timeout_ms) in [
        ("function", 60_000.0),
        ("streaming", 60_000.0),
        ("authorizer", 10_000.0),
    ] {
        let by_name = json!({"FunctionName": id_of(&format!("mcp-dev-{part}"))});
        let alarm = |what: &str| watches(run.named(&format!("mcp-dev-alarm-{part}-{what}")));
        assert_eq!(
            alarm("errors"),
            sum_alarm("AWS/Lambda", "Errors", by_name.clone(), 1.0)
        );
        assert_eq!(
            alarm("throttles"),
            sum_alarm("AWS/Lambda", "Throttles", by_name.clone(), 1.0)
        );
        let mut duration = sum_alarm("AWS/Lambda", "Duration", by_name, timeout_ms * 0.8);
        duration["statistic"] = Value::Null;
        duration["extendedStatistic"] = json!("p99");
        assert_eq!(alarm("duration"), duration, "{part}");
    }
    assert_eq!(
        watches(run.named("mcp-dev-alarm-authorizer-denials")),
        sum_alarm(
            infra::stack::METRICS_NAMESPACE,
            infra::stack::DENIALS_METRIC,
            json!({"FunctionName": id_of("mcp-dev-authorizer")}),
            40.0
        )
    );

    // Every reference the alarms make is one the destroy order knows.
    for (from, to) in references(&run) {
        assert!(
            infra::teardown::may_refer(&from.type_, &to.type_),
            "{} refers to {}",
            from.name,
            to.name
        );
    }
}

#[test]
fn alarms_notify_an_existing_topic_and_follow_the_stage_shape() {
    let root = root_with_zips(ARM64);
    let run = up(
        root.path(),
        &[
            ("serverless-mcp:alarms", "true"),
            ("serverless-mcp:alarmTopicArn", EXISTING_TOPIC),
            ("serverless-mcp:functionUrl", "false"),
        ],
    );
    assert!(run.of_type(TOPIC).is_empty() && run.of_type(SUBSCRIPTION).is_empty());
    let names = alarm_names(&run);
    assert_eq!(names.len(), 8, "{names:?}");
    assert!(names.iter().all(|n| !n.contains("streaming")), "{names:?}");
    for alarm in run.of_type(ALARM) {
        assert_eq!(alarm.inputs["alarmActions"], json!([EXISTING_TOPIC]));
    }
}

#[test]
fn the_dashboard_names_the_real_metrics_of_the_stage() {
    let root = root_with_zips(ARM64);
    let run = up(root.path(), &[("serverless-mcp:dashboard", "true")]);
    assert!(run.of_type(ALARM).is_empty());
    let dashboards = run.of_type(DASHBOARD);
    assert_eq!(dashboards.len(), 1);
    assert_eq!(dashboards[0].inputs["dashboardName"], "serverless-mcp-dev");
    let body: Value =
        serde_json::from_str(dashboards[0].inputs["dashboardBody"].as_str().unwrap()).unwrap();
    let widgets = body["widgets"].as_array().unwrap();
    let titles: Vec<&str> = widgets
        .iter()
        .map(|w| w["properties"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Tool calls (per tool)",
            "Tool errors (per tool)",
            "Tool duration, p99 ms (per tool)",
            "API requests, 4xx, 5xx",
            "API latency, ms",
            "Lambda duration, p99 ms",
            "Lambda errors and throttles",
            "Lambda concurrent executions",
            "Authorizer denials",
        ]
    );
    for widget in widgets {
        assert_eq!(widget["type"], "metric");
        assert_eq!(widget["properties"]["region"], "eu-west-1");
        assert!(
            !widget["properties"]["metrics"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
    let metrics = |i: usize| widgets[i]["properties"]["metrics"].clone();
    // Per tool: one SEARCH over the functions' EMF metrics per MCP function.
    assert_eq!(
        metrics(0),
        json!([
            [{"id": "calls0", "label": "function", "expression": format!(
                "SEARCH('{{\"serverless-mcp\",FunctionName,Tool}} MetricName=\"Calls\" FunctionName=\"{}\"', 'Sum', 300)",
                id_of("mcp-dev-function"))}],
            [{"id": "calls1", "label": "streaming", "expression": format!(
                "SEARCH('{{\"serverless-mcp\",FunctionName,Tool}} MetricName=\"Calls\" FunctionName=\"{}\"', 'Sum', 300)",
                id_of("mcp-dev-streaming"))}]
        ])
    );
    assert_eq!(
        metrics(3)[2],
        json!(["AWS/ApiGateway", "5xx", "ApiId", API_ID, "Stage", "dev", {"stat": "Sum", "label": "5xx (Sum)"}])
    );
    let concurrency = metrics(7);
    let lambda_names: Vec<&str> = concurrency
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(
                m.as_array().unwrap()[0..3],
                [
                    json!("AWS/Lambda"),
                    json!("ConcurrentExecutions"),
                    json!("FunctionName")
                ]
            );
            m[3].as_str().unwrap()
        })
        .collect();
    let physical: Vec<String> = ["function", "streaming", "authorizer"]
        .iter()
        .map(|part| id_of(&format!("mcp-dev-{part}")))
        .collect();
    assert_eq!(lambda_names, physical);
    assert_eq!(
        metrics(8),
        json!([["serverless-mcp", "Denials", "FunctionName", id_of("mcp-dev-authorizer"), {"stat": "Sum"}]])
    );
    // The tool metrics are written only where the dashboard shows them.
    for function in ["mcp-dev-function", "mcp-dev-streaming"] {
        assert_eq!(env_of(run.named(function))["MCP_METRICS"], "emf");
    }
}

#[test]
fn the_namespace_is_the_one_the_functions_write() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |path: &str| std::fs::read_to_string(repo.join(path)).unwrap();
    // Read from the sources: a dependency on the function crate would build the whole server
    // into the Pulumi program's tests.
    let namespace = infra::stack::METRICS_NAMESPACE;
    assert!(
        read("function/src/metrics.rs")
            .contains(&format!("pub const NAMESPACE: &str = \"{namespace}\";"))
    );
    let authorizer = read("authorizer/src/lambda.rs");
    assert!(authorizer.contains(&format!(
        "pub const METRICS_NAMESPACE: &str = \"{namespace}\";"
    )));
    assert!(authorizer.contains(&format!(
        "pub const DENIALS_METRIC: &str = \"{}\";",
        infra::stack::DENIALS_METRIC
    )));
}
