//! Operations, opt-in: CloudWatch alarms notifying an SNS topic (`alarms`) and a dashboard
//! (`dashboard`). They read the metrics AWS publishes (AWS/ApiGateway, AWS/Lambda) and the ones
//! the functions write as Embedded Metric Format log lines ([`METRICS_NAMESPACE`]: `Calls`,
//! `Errors`, `Duration` per `FunctionName` and `Tool`; the authorizer's `Denials`).

use std::collections::HashMap;

use pulumi_gestalt_rust::{Context, Output, pulumi_combine};
use serde_json::{Value, json};

use super::{collect, name};
use crate::{
    aws::{
        cloudwatch::{dashboard, metric_alarm},
        sns::{topic, topic_subscription},
    },
    settings::{AlarmTopic, Alarms, Settings},
};

/// The namespace of the functions' own metrics (`function/src/metrics.rs`, `NAMESPACE`).
pub const METRICS_NAMESPACE: &str = "serverless-mcp";
/// The authorizer's metric of denied requests (`authorizer/src/lambda.rs`).
pub const DENIALS_METRIC: &str = "Denials";

/// Every alarm looks at 5-minute sums (or percentiles), one period at a time.
const PERIOD_SECONDS: i32 = 300;
/// API Gateway 5xx answers in 5 minutes that raise the alarm.
const API_5XX_THRESHOLD: f64 = 5.0;
/// The p99 duration alarm fires at this share of the function's timeout.
const DURATION_SHARE_OF_TIMEOUT: f64 = 0.8;

/// One function the stage runs.
pub struct Watched<'a> {
    /// `function`, `streaming` or `authorizer`: in alarm names and labels.
    pub part: &'static str,
    pub name: &'a Output<String>,
    pub timeout_seconds: u32,
    /// Serves MCP (writes the per-tool metrics).
    pub mcp: bool,
}

/// The topic the alarms notify: the given one, or a new one (with an email subscription).
fn alarm_topic(ctx: &Context, s: &Settings, alarms: &Alarms) -> Output<String> {
    match &alarms.topic {
        AlarmTopic::Existing(arn) => ctx.new_output(arn),
        AlarmTopic::Create { email } => {
            let topic = topic::create(
                ctx,
                &name(s, "alarms"),
                topic::TopicArgs::builder()
                    .display_name(format!("serverless-mcp {} alarms", s.stack))
                    .build_struct(),
            );
            if let Some(email) = email {
                topic_subscription::create(
                    ctx,
                    &name(s, "alarms-email"),
                    topic_subscription::TopicSubscriptionArgs::builder()
                        .topic(topic.arn.clone())
                        .protocol("email")
                        .endpoint(email.clone())
                        .build_struct(),
                );
            }
            topic.arn
        }
    }
}

/// What one alarm watches.
struct AlarmSpec {
    /// The logical name's last part: `mcp-<stack>-alarm-<suffix>`.
    suffix: String,
    description: String,
    namespace: &'static str,
    metric: &'static str,
    dimensions: Output<HashMap<String, String>>,
    /// `Sum`, or a percentile such as `p99` (an extended statistic).
    statistic: &'static str,
    threshold: f64,
}

fn alarm(ctx: &Context, s: &Settings, topic_arn: &Output<String>, spec: AlarmSpec) {
    let percentile = spec.statistic.starts_with('p');
    let actions = topic_arn.map(|arn| vec![arn]);
    metric_alarm::create(
        ctx,
        &name(s, &format!("alarm-{}", spec.suffix)),
        metric_alarm::MetricAlarmArgs::builder()
            .alarm_description(spec.description)
            .namespace(spec.namespace)
            .metric_name(spec.metric)
            .dimensions(spec.dimensions)
            .statistic((!percentile).then(|| spec.statistic.to_string()))
            .extended_statistic(percentile.then(|| spec.statistic.to_string()))
            .period(PERIOD_SECONDS)
            .evaluation_periods(1)
            .threshold(spec.threshold)
            .comparison_operator("GreaterThanOrEqualToThreshold")
            // No traffic is not a problem.
            .treat_missing_data("notBreaching")
            .alarm_actions(actions.clone())
            .ok_actions(actions)
            .build_struct(),
    );
}

/// `FunctionName` = the function's name (AWS/Lambda's dimension, and the EMF lines').
fn by_function(name: &Output<String>) -> Output<HashMap<String, String>> {
    name.map(|name| HashMap::from([("FunctionName".to_string(), name)]))
}

/// The stage's alarms: API Gateway 5xx; per function errors, throttles and p99 duration near
/// the timeout; a spike of the authorizer's denials.
pub fn alarms(
    ctx: &Context,
    s: &Settings,
    alarms: &Alarms,
    api_id: &Output<String>,
    functions: &[Watched],
) {
    let topic_arn = alarm_topic(ctx, s, alarms);
    alarm(
        ctx,
        s,
        &topic_arn,
        AlarmSpec {
            suffix: "api-5xx".into(),
            description: format!(
                "serverless-mcp {}: API Gateway answered 5xx at least {API_5XX_THRESHOLD} times \
                 in 5 minutes (the function failed, timed out or was throttled).",
                s.stack
            ),
            namespace: "AWS/ApiGateway",
            metric: "5xx",
            dimensions: {
                let stage = s.stack.clone();
                api_id.map(move |id| {
                    HashMap::from([
                        ("ApiId".to_string(), id),
                        ("Stage".to_string(), stage.clone()),
                    ])
                })
            },
            statistic: "Sum",
            threshold: API_5XX_THRESHOLD,
        },
    );
    for f in functions {
        let by_name = || by_function(f.name);
        let part = f.part;
        alarm(
            ctx,
            s,
            &topic_arn,
            AlarmSpec {
                suffix: format!("{part}-errors"),
                description: format!(
                    "serverless-mcp {}: the {part} function failed (crash, timeout or out of \
                     memory) in the last 5 minutes.",
                    s.stack
                ),
                namespace: "AWS/Lambda",
                metric: "Errors",
                dimensions: by_name(),
                statistic: "Sum",
                threshold: 1.0,
            },
        );
        alarm(
            ctx,
            s,
            &topic_arn,
            AlarmSpec {
                suffix: format!("{part}-throttles"),
                description: format!(
                    "serverless-mcp {}: Lambda throttled the {part} function (concurrency limit) \
                     in the last 5 minutes.",
                    s.stack
                ),
                namespace: "AWS/Lambda",
                metric: "Throttles",
                dimensions: by_name(),
                statistic: "Sum",
                threshold: 1.0,
            },
        );
        let near_timeout_ms = f64::from(f.timeout_seconds) * 1000.0 * DURATION_SHARE_OF_TIMEOUT;
        alarm(
            ctx,
            s,
            &topic_arn,
            AlarmSpec {
                suffix: format!("{part}-duration"),
                description: format!(
                    "serverless-mcp {}: the {part} function's p99 duration reached {:.0}% of \
                     its {} s timeout in the last 5 minutes.",
                    s.stack,
                    DURATION_SHARE_OF_TIMEOUT * 100.0,
                    f.timeout_seconds
                ),
                namespace: "AWS/Lambda",
                metric: "Duration",
                dimensions: by_name(),
                statistic: "p99",
                threshold: near_timeout_ms,
            },
        );
        if f.part == "authorizer" {
            alarm(
                ctx,
                s,
                &topic_arn,
                AlarmSpec {
                    suffix: "authorizer-denials".into(),
                    description: format!(
                        "serverless-mcp {}: the authorizer denied at least {} requests in 5 \
                         minutes (a client with a wrong or revoked key, or someone guessing).",
                        s.stack, alarms.denials_threshold
                    ),
                    namespace: METRICS_NAMESPACE,
                    metric: DENIALS_METRIC,
                    dimensions: by_name(),
                    statistic: "Sum",
                    threshold: f64::from(alarms.denials_threshold),
                },
            );
        }
    }
}

/// The dashboard `serverless-mcp-<stack>` (a dashboard name is unique in the account).
pub fn dashboard(ctx: &Context, s: &Settings, api_id: &Output<String>, functions: &[Watched]) {
    let names: Vec<Output<String>> = functions.iter().map(|f| f.name.clone()).collect();
    let parts: Vec<(&'static str, bool)> = functions.iter().map(|f| (f.part, f.mcp)).collect();
    let (region, stage) = (s.region.clone(), s.stack.clone());
    let body = pulumi_combine!(api_id.clone(), collect(ctx, &names)).map(move |(api, names)| {
        let functions: Vec<(&str, bool, &str)> = parts
            .iter()
            .zip(&names)
            .map(|((part, mcp), name)| (*part, *mcp, name.as_str()))
            .collect();
        dashboard_body(&region, &api, &stage, &functions)
    });
    dashboard::create(
        ctx,
        &name(s, "dashboard"),
        dashboard::DashboardArgs::builder()
            .dashboard_name(format!("serverless-mcp-{}", s.stack))
            .dashboard_body(body)
            .build_struct(),
    );
}

/// The dashboard's JSON: per-tool calls, errors and duration (a SEARCH over the EMF metrics of
/// each MCP function), the API's requests, 4xx, 5xx and latency, each function's duration,
/// errors, throttles and concurrency, and the authorizer's denials. `functions`: (part, serves
/// MCP, function name).
pub fn dashboard_body(
    region: &str,
    api_id: &str,
    stage: &str,
    functions: &[(&str, bool, &str)],
) -> String {
    let mcp: Vec<&(&str, bool, &str)> = functions.iter().filter(|f| f.1).collect();
    let per_tool = |metric: &str, stat: &str| -> Vec<Value> {
        mcp.iter()
            .enumerate()
            .map(|(i, (part, _, name))| {
                json!([{
                    "id": format!("{}{i}", metric.to_lowercase()),
                    "label": format!("{part}"),
                    "expression": format!(
                        "SEARCH('{{\"{METRICS_NAMESPACE}\",FunctionName,Tool}} MetricName=\"{metric}\" FunctionName=\"{name}\"', '{stat}', {PERIOD_SECONDS})"
                    ),
                }])
            })
            .collect()
    };
    let api = |metric: &str, stat: &str| json!(["AWS/ApiGateway", metric, "ApiId", api_id, "Stage", stage, {"stat": stat, "label": format!("{metric} ({stat})")}]);
    let lambda = |metric: &str, stat: &str| -> Vec<Value> {
        functions
            .iter()
            .map(|(part, _, name)| {
                json!(["AWS/Lambda", metric, "FunctionName", name, {"stat": stat, "label": format!("{part} {metric}")}])
            })
            .collect()
    };
    let mut graphs: Vec<(&str, Vec<Value>)> = vec![
        ("Tool calls (per tool)", per_tool("Calls", "Sum")),
        ("Tool errors (per tool)", per_tool("Errors", "Sum")),
        (
            "Tool duration, p99 ms (per tool)",
            per_tool("Duration", "p99"),
        ),
        (
            "API requests, 4xx, 5xx",
            vec![api("Count", "Sum"), api("4xx", "Sum"), api("5xx", "Sum")],
        ),
        (
            "API latency, ms",
            vec![api("Latency", "p50"), api("Latency", "p99")],
        ),
        ("Lambda duration, p99 ms", lambda("Duration", "p99")),
        (
            "Lambda errors and throttles",
            [lambda("Errors", "Sum"), lambda("Throttles", "Sum")].concat(),
        ),
        (
            "Lambda concurrent executions",
            lambda("ConcurrentExecutions", "Maximum"),
        ),
    ];
    if let Some((_, _, name)) = functions.iter().find(|f| f.0 == "authorizer") {
        graphs.push((
            "Authorizer denials",
            vec![json!([METRICS_NAMESPACE, DENIALS_METRIC, "FunctionName", name, {"stat": "Sum"}])],
        ));
    }
    let widgets: Vec<Value> = graphs
        .into_iter()
        .enumerate()
        .map(|(i, (title, metrics))| {
            json!({
                "type": "metric",
                "x": (i % 2) * 12,
                "y": (i / 2) * 6,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": title,
                    "region": region,
                    "view": "timeSeries",
                    "stacked": false,
                    "period": PERIOD_SECONDS,
                    "metrics": metrics,
                },
            })
        })
        .collect();
    json!({ "widgets": widgets }).to_string()
}
