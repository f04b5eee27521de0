//! The Cost Explorer tools against SDK clients with mocked responses (aws-smithy-mocks):
//! every operation, pagination, the cache, error mapping, and validation through MCP.

use std::sync::Arc;

use crate::common::*;
use authorizer::StaticKeys;
use aws_sdk_costexplorer::{
    Client,
    config::http::HttpResponse,
    operation::{
        get_cost_and_usage::GetCostAndUsageOutput,
        get_cost_and_usage_comparisons::GetCostAndUsageComparisonsOutput,
        get_cost_comparison_drivers::GetCostComparisonDriversOutput,
        get_cost_forecast::GetCostForecastOutput, get_dimension_values::GetDimensionValuesOutput,
        get_tags::GetTagsOutput,
    },
    types::{
        ComparisonMetricValue, CostAndUsageComparison, CostComparisonDriver, CostDriver,
        DateInterval, Dimension, DimensionValues, DimensionValuesWithAttributes, Expression,
        ForecastResult, Group, MetricValue, ResultByTime,
    },
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::body::SdkBody;
use axum::body::Body;
use function::{
    AppConfig, app,
    cost::{CostExplorer, CostSettings},
};
use serde_json::{Value, json};

fn interval(start: &str, end: &str) -> DateInterval {
    DateInterval::builder()
        .start(start)
        .end(end)
        .build()
        .unwrap()
}

fn money(amount: &str) -> MetricValue {
    MetricValue::builder().amount(amount).unit("USD").build()
}

fn service_group(name: &str, amount: &str) -> Group {
    Group::builder()
        .keys(name)
        .metrics("UnblendedCost", money(amount))
        .build()
}

fn service(name: &str) -> Expression {
    Expression::builder()
        .dimensions(
            DimensionValues::builder()
                .key(Dimension::Service)
                .values(name)
                .build(),
        )
        .build()
}

fn comparison(baseline: &str, comparison: &str) -> ComparisonMetricValue {
    ComparisonMetricValue::builder()
        .baseline_time_period_amount(baseline)
        .comparison_time_period_amount(comparison)
        .difference(format!(
            "{:.2}",
            comparison.parse::<f64>().unwrap() - baseline.parse::<f64>().unwrap()
        ))
        .unit("USD")
        .build()
}

/// The app with a Cost Explorer client answered by `client`.
fn app_with(client: Client) -> axum::Router {
    let mut config = AppConfig::local(Arc::new(StaticKeys::single(KEY)));
    config.cost = Arc::new(CostExplorer::with_client(client, CostSettings::default()));
    app(config)
}

/// A service error on the wire, parsed by the SDK like a real one.
fn error_response(status: u16, error_type: &str, message: &str) -> HttpResponse {
    let mut response = HttpResponse::new(
        status.try_into().unwrap(),
        SdkBody::from(json!({"__type": error_type, "Message": message}).to_string()),
    );
    response
        .headers_mut()
        .insert("content-type", "application/x-amz-json-1.1");
    response
}

fn two_month_query() -> Value {
    json!({"start_date": "2026-01-01", "end_date": "2026-03-01", "group_by": [{"Type": "DIMENSION", "Key": "SERVICE"}]})
}

#[tokio::test]
async fn cost_and_usage_follows_every_page_and_sums() {
    let page1 = mock!(Client::get_cost_and_usage)
        .match_requests(|r| {
            r.next_page_token().is_none() && r.granularity().map(|g| g.as_str()) == Some("MONTHLY")
        })
        .then_output(|| {
            GetCostAndUsageOutput::builder()
                .results_by_time(
                    ResultByTime::builder()
                        .time_period(interval("2026-01-01", "2026-02-01"))
                        .groups(service_group("Amazon EC2", "100.50"))
                        .groups(service_group("Amazon S3", "20.25"))
                        .estimated(false)
                        .build(),
                )
                .next_page_token("page-2")
                .build()
        });
    let page2 = mock!(Client::get_cost_and_usage)
        .match_requests(|r| r.next_page_token() == Some("page-2"))
        .then_output(|| {
            GetCostAndUsageOutput::builder()
                .results_by_time(
                    ResultByTime::builder()
                        .time_period(interval("2026-02-01", "2026-03-01"))
                        .groups(service_group("Amazon EC2", "150.00"))
                        .groups(service_group("AWS Lambda", "1.25"))
                        .estimated(true)
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_costexplorer, RuleMode::Sequential, [&page1, &page2]);
    let app = app_with(client);
    let result = call_tool(&app, "get_cost_and_usage", two_month_query()).await;
    assert_eq!(result["isError"], false, "{result}");
    let s = &result["structuredContent"];
    assert_eq!(s["pages"], 2);
    assert_eq!(s["totals"]["UnblendedCost"]["amount"], 272.0);
    assert_eq!(s["top_groups"][0]["keys"], json!(["Amazon EC2"]));
    assert_eq!(
        s["top_groups"][0]["metrics"]["UnblendedCost"]["amount"],
        250.5
    );
    assert_eq!(s["cached"], false);
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("272.00 USD")
            && text.contains("Amazon EC2 250.50 USD")
            && text.contains("estimated"),
        "{text}"
    );
    assert_eq!(page1.num_calls() + page2.num_calls(), 2);
}

#[tokio::test]
async fn identical_queries_are_answered_from_the_cache() {
    let rule = mock!(Client::get_cost_and_usage).then_output(|| {
        GetCostAndUsageOutput::builder()
            .results_by_time(
                ResultByTime::builder()
                    .time_period(interval("2026-01-01", "2026-02-01"))
                    .total("UnblendedCost", money("5"))
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, [&rule]);
    let app = app_with(client);
    let query = json!({"start_date": "2026-01-01", "end_date": "2026-02-01"});
    let first = call_tool(&app, "get_cost_and_usage", query.clone()).await;
    assert_eq!(first["structuredContent"]["cached"], false);
    for _ in 0..4 {
        let again = call_tool(&app, "get_cost_and_usage", query.clone()).await;
        assert_eq!(again["structuredContent"]["cached"], true);
        assert_eq!(
            again["structuredContent"]["totals"],
            first["structuredContent"]["totals"]
        );
    }
    assert_eq!(rule.num_calls(), 1, "5 identical calls, 1 API call");
    // Normalization: the same question spelled differently is the same query.
    let same = json!({"start_date": "2026-01-01", "end_date": "2026-02-01", "granularity": "monthly", "metrics": ["unblendedcost"]});
    assert_eq!(
        call_tool(&app, "get_cost_and_usage", same).await["structuredContent"]["cached"],
        true
    );
    call_tool(
        &app,
        "get_cost_and_usage",
        json!({"start_date": "2026-01-01", "end_date": "2026-02-02"}),
    )
    .await;
    assert_eq!(rule.num_calls(), 2, "a different period is a new query");
}

#[tokio::test]
async fn progress_notifications_report_pages() {
    let rule = mock!(Client::get_cost_and_usage)
        .sequence()
        .output(|| {
            GetCostAndUsageOutput::builder()
                .next_page_token("p2")
                .build()
        })
        .output(|| GetCostAndUsageOutput::builder().build())
        .build();
    let client = mock_client!(aws_sdk_costexplorer, RuleMode::Sequential, [&rule]);
    let message = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_cost_and_usage",
        "arguments": {"start_date": "2026-01-01", "end_date": "2026-02-01"}, "_meta": {"progressToken": "ce"}}});
    let request = mcp_post().body(Body::from(message.to_string())).unwrap();
    let (status, headers, body) = send(&app_with(client), request).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(body.matches("notifications/progress").count(), 2, "{body}");
    assert!(body.contains("fetched 2 page(s)"), "{body}");
}

#[tokio::test]
async fn an_answer_beyond_the_page_limit_is_an_error_not_a_truncation() {
    // Every page says there is another: the tool stops at the limit (20) and says how to narrow.
    let rule = mock!(Client::get_cost_and_usage).then_compute_output(|r| {
        let page = r.next_page_token().map_or(1, |t| t.parse::<u32>().unwrap());
        GetCostAndUsageOutput::builder()
            .next_page_token((page + 1).to_string())
            .build()
    });
    let client = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, [&rule]);
    let r = call_tool(&app_with(client), "get_cost_and_usage", two_month_query()).await;
    assert_eq!(r["isError"], true, "{r}");
    let text = r["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("more than 20 pages") && text.contains("add a filter"),
        "{text}"
    );
    assert_eq!(rule.num_calls(), 20, "no request beyond the limit");
}

#[tokio::test]
async fn a_repeated_page_token_is_an_error_not_a_truncation() {
    // The SDK's paginator (used for the comparison operations) stops on a repeated token.
    let rule = mock!(Client::get_cost_comparison_drivers).then_output(|| {
        GetCostComparisonDriversOutput::builder()
            .next_page_token("same")
            .build()
    });
    let client = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, [&rule]);
    let r = call_tool(
        &app_with(client),
        "get_cost_comparison_drivers",
        json!({"baseline_start": "2026-09-01", "baseline_end": "2026-10-01",
        "comparison_start": "2026-10-01", "comparison_end": "2026-11-01"}),
    )
    .await;
    assert_eq!(r["isError"], true, "{r}");
    let text = r["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("repeated its page token after 2 page(s)"),
        "{text}"
    );
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn dimension_values_report_progress_per_page() {
    let rule = mock!(Client::get_dimension_values)
        .sequence()
        .output(|| {
            GetDimensionValuesOutput::builder()
                .dimension_values(DimensionValuesWithAttributes::builder().value("a").build())
                .return_size(1)
                .total_size(2)
                .next_page_token("p2")
                .build()
                .unwrap()
        })
        .output(|| {
            GetDimensionValuesOutput::builder()
                .dimension_values(DimensionValuesWithAttributes::builder().value("b").build())
                .return_size(1)
                .total_size(2)
                .build()
                .unwrap()
        })
        .build();
    let client = mock_client!(aws_sdk_costexplorer, RuleMode::Sequential, [&rule]);
    let message = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_dimension_values",
        "arguments": {"dimension": "SERVICE"}, "_meta": {"progressToken": "dims"}}});
    let request = mcp_post().body(Body::from(message.to_string())).unwrap();
    let (status, _, body) = send(&app_with(client), request).await;
    assert_eq!(status, 200);
    assert_eq!(body.matches("notifications/progress").count(), 2, "{body}");
    assert!(
        body.contains(r#""values":[{"value":"a"},{"value":"b"}]"#),
        "{body}"
    );
}

#[tokio::test]
async fn dimension_and_tag_values() {
    let dims = mock!(Client::get_dimension_values)
        .match_requests(|r| {
            r.dimension().map(|d| d.as_str()) == Some("SERVICE")
                && r.search_string() == Some("Amazon")
        })
        .then_output(|| {
            GetDimensionValuesOutput::builder()
                .dimension_values(
                    DimensionValuesWithAttributes::builder()
                        .value("Amazon EC2")
                        .build(),
                )
                .dimension_values(
                    DimensionValuesWithAttributes::builder()
                        .value("Amazon S3")
                        .build(),
                )
                .return_size(2)
                .total_size(2)
                .build()
                .unwrap()
        });
    let tags = mock!(Client::get_tags)
        .match_requests(|r| r.tag_key() == Some("team"))
        .then_output(|| {
            GetTagsOutput::builder()
                .tags("payments")
                .tags("search")
                .return_size(2)
                .total_size(2)
                .build()
                .unwrap()
        });
    let client = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, [&dims, &tags]);
    let app = app_with(client);
    let r = call_tool(
        &app,
        "get_dimension_values",
        json!({"dimension": "service", "search": "Amazon"}),
    )
    .await;
    assert_eq!(
        r["structuredContent"]["values"].as_array().unwrap().len(),
        2,
        "{r}"
    );
    assert_eq!(r["structuredContent"]["dimension"], "SERVICE");
    let period = &r["structuredContent"]["period"];
    let (start, end) = (
        period["start"].as_str().unwrap(),
        period["end"].as_str().unwrap(),
    );
    let days = (chrono::NaiveDate::parse_from_str(end, "%Y-%m-%d").unwrap()
        - chrono::NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap())
    .num_days();
    assert_eq!(days, 30, "default window");
    let r = call_tool(
        &app,
        "get_tag_values",
        json!({"tag_key": "team", "start_date": "2026-01-01", "end_date": "2026-02-01"}),
    )
    .await;
    assert_eq!(
        r["structuredContent"]["values"],
        json!(["payments", "search"])
    );
    let r = call_tool(&app, "get_dimension_values", json!({"dimension": "COLOUR"})).await;
    assert_eq!(r["isError"], true);
    assert!(
        r["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("`dimension`")
    );
}

#[tokio::test]
async fn forecast_for_a_future_period() {
    let rule = mock!(Client::get_cost_forecast)
        .match_requests(|r| {
            r.metric().map(|m| m.as_str()) == Some("UNBLENDED_COST")
                && r.prediction_interval_level() == Some(90)
        })
        .then_output(|| {
            GetCostForecastOutput::builder()
                .total(money("1234.5"))
                .forecast_results_by_time(
                    ForecastResult::builder()
                        .time_period(interval("2030-01-01", "2030-02-01"))
                        .mean_value("1234.5")
                        .prediction_interval_lower_bound("1100")
                        .prediction_interval_upper_bound("1400")
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, [&rule]);
    let app = app_with(client);
    let today = chrono::Utc::now().date_naive();
    let end = today + chrono::Months::new(1);
    let r = call_tool(
        &app,
        "get_cost_forecast",
        json!({"start_date": today.to_string(), "end_date": end.to_string(),
        "metric": "UnblendedCost", "prediction_interval": 90}),
    )
    .await;
    assert_eq!(r["isError"], false, "{r}");
    assert_eq!(r["structuredContent"]["total"]["amount"], 1234.5);
    assert_eq!(r["structuredContent"]["results"][0]["upper_bound"], 1400.0);
    let past = call_tool(
        &app,
        "get_cost_forecast",
        json!({"start_date": "2020-01-01", "end_date": "2020-02-01", "metric": "UNBLENDED_COST"}),
    )
    .await;
    assert_eq!(past["isError"], true);
    assert!(
        past["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("future"),
        "{past}"
    );
    assert_eq!(rule.num_calls(), 1, "a refused request costs nothing");
}

#[tokio::test]
async fn comparisons_rank_the_top_movers() {
    let rule = mock!(Client::get_cost_and_usage_comparisons)
        .match_requests(|r| {
            r.metric_for_comparison() == Some("UnblendedCost")
                && r.baseline_time_period().map(|p| p.start()) == Some("2026-09-01")
        })
        .then_output(|| {
            GetCostAndUsageComparisonsOutput::builder()
                .cost_and_usage_comparisons(
                    CostAndUsageComparison::builder()
                        .cost_and_usage_selector(service("Amazon S3"))
                        .metrics("UnblendedCost", comparison("20", "25"))
                        .build(),
                )
                .cost_and_usage_comparisons(
                    CostAndUsageComparison::builder()
                        .cost_and_usage_selector(service("Amazon EC2"))
                        .metrics("UnblendedCost", comparison("100", "180"))
                        .build(),
                )
                .total_cost_and_usage("UnblendedCost", comparison("120", "205"))
                .build()
        });
    let client = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, [&rule]);
    let app = app_with(client);
    let r = call_tool(
        &app,
        "get_cost_and_usage_comparisons",
        json!({"baseline_start": "2026-09-01", "baseline_end": "2026-10-01",
        "comparison_start": "2026-10-01", "comparison_end": "2026-11-01"}),
    )
    .await;
    let s = &r["structuredContent"];
    assert_eq!(s["total"]["difference"], 85.0, "{r}");
    assert_eq!(s["total"]["percent_change"], 70.83);
    assert_eq!(
        s["items"][0]["selector"]["Dimensions"]["Values"],
        json!(["Amazon EC2"]),
        "largest mover first"
    );
    let text = r["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("SERVICE=Amazon EC2") && text.contains("+80.00"),
        "{text}"
    );
    let bad = call_tool(
        &app,
        "get_cost_and_usage_comparisons",
        json!({"baseline_start": "2026-09-15", "baseline_end": "2026-10-15",
        "comparison_start": "2026-10-01", "comparison_end": "2026-11-01"}),
    )
    .await;
    assert_eq!(bad["isError"], true);
    assert!(
        bad["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("`baseline_start`")
    );
}

#[tokio::test]
async fn drivers_explain_the_change() {
    let rule = mock!(Client::get_cost_comparison_drivers).then_output(|| {
        GetCostComparisonDriversOutput::builder()
            .cost_comparison_drivers(
                CostComparisonDriver::builder()
                    .cost_selector(service("Amazon EC2"))
                    .metrics("UnblendedCost", comparison("100", "180"))
                    .cost_drivers(
                        CostDriver::builder()
                            .r#type("USAGE_CHANGE")
                            .name("BoxUsage:m7g.large")
                            .metrics("UnblendedCost", comparison("50", "120"))
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, [&rule]);
    let r = call_tool(
        &app_with(client),
        "get_cost_comparison_drivers",
        json!({"baseline_start": "2026-09-01", "baseline_end": "2026-10-01",
        "comparison_start": "2026-10-01", "comparison_end": "2026-11-01"}),
    )
    .await;
    let s = &r["structuredContent"];
    assert_eq!(s["groups"][0]["drivers"][0]["kind"], "USAGE_CHANGE", "{r}");
    assert_eq!(s["groups"][0]["drivers"][0]["change"]["difference"], 70.0);
    assert!(
        r["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("BoxUsage:m7g.large")
    );
}

#[tokio::test]
async fn aws_errors_become_actionable_tool_errors() {
    for (status, error_type, expect) in [
        (400, "AccessDeniedException", "ce:GetCostAndUsage"),
        (400, "DataUnavailableException", "DataUnavailable"),
        (400, "LimitExceededException", "LimitExceeded"),
        (400, "BillExpirationException", "BillExpiration"),
        (
            400,
            "ValidationException",
            "rejected the request: bad things",
        ),
    ] {
        let rule = mock!(Client::get_cost_and_usage)
            .then_http_response(move || error_response(status, error_type, "bad things"));
        let client = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, [&rule]);
        let r = call_tool(
            &app_with(client),
            "get_cost_and_usage",
            json!({"start_date": "2026-01-01", "end_date": "2026-02-01"}),
        )
        .await;
        assert_eq!(r["isError"], true, "{error_type}: {r}");
        let text = r["content"][0]["text"].as_str().unwrap();
        assert!(text.contains(expect), "{error_type}: {text}");
    }
}

#[tokio::test]
async fn invalid_filters_name_the_field_and_cost_nothing() {
    let rule =
        mock!(Client::get_cost_and_usage).then_output(|| GetCostAndUsageOutput::builder().build());
    let client = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, [&rule]);
    let app = app_with(client);
    let r = call_tool(&app, "get_cost_and_usage", json!({"start_date": "2026-01-01", "end_date": "2026-02-01",
        "filter": {"And": [{"Dimensions": {"Key": "SERVICE", "Values": ["x"]}}, {"Dimensions": {"Key": "PLANET", "Values": ["y"]}}]}})).await;
    assert_eq!(r["isError"], true);
    assert!(
        r["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("filter.And[1].Dimensions.Key"),
        "{r}"
    );
    let r = call_tool(
        &app,
        "get_cost_and_usage",
        json!({"start_date": "2026-02-01", "end_date": "2026-01-01"}),
    )
    .await;
    assert!(
        r["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("`end_date`"),
        "{r}"
    );
    let r = call_tool(
        &app,
        "get_cost_and_usage",
        json!({"start_date": "2026-02-30", "end_date": "2026-03-01"}),
    )
    .await;
    assert!(
        r["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("`start_date`"),
        "{r}"
    );
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn today_date_tool() {
    let client = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, []);
    let r = call_tool(&app_with(client), "get_today_date", json!({})).await;
    let today = chrono::Utc::now().date_naive();
    assert_eq!(r["structuredContent"]["today"], today.to_string());
    assert_eq!(
        r["structuredContent"]["current_month"],
        today.format("%Y-%m").to_string()
    );
}
