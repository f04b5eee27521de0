//! The Cost Explorer tools end to end: the local server, a real MCP client (Python SDK), and
//! Cost Explorer emulated on loopback — moto for GetCostAndUsage (results injected through its
//! API), a local stub for the operations moto lacks.

use std::process::Command;

use e2e::{CostExplorerStub, LocalServer, Moto, Response, Tools, post};
use serde_json::{Value, json};

const KEY: &str = "e2e-cost-key-51b0";

fn client_calls(tools: &Tools, url: &str, calls: &Value) -> Vec<Value> {
    let output = Command::new(&tools.python)
        .arg(tools.repo.join("tests/python/cost_client_check.py"))
        .args([url, KEY, &calls.to_string()])
        .output()
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or("null"))
        .unwrap_or_else(|_| {
            panic!(
                "no report: {stdout} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    assert!(output.status.success(), "client failed: {report}");
    serde_json::from_value(report).unwrap()
}

fn result_by_time(start: &str, end: &str, groups: &[(&str, &str)]) -> Value {
    json!({
        "TimePeriod": {"Start": start, "End": end},
        "Total": {},
        "Groups": groups.iter().map(|(k, v)| json!({"Keys": [k], "Metrics": {"UnblendedCost": {"Amount": v, "Unit": "USD"}}})).collect::<Vec<_>>(),
        "Estimated": false
    })
}

#[test]
fn cost_and_usage_against_moto_with_pages_progress_and_cache() {
    let tools = Tools::from_env();
    let moto = Moto::start(&tools);
    // Two pages: moto hands out queued results, one per distinct request body.
    let queued = json!({"results": [
        {"ResultsByTime": [result_by_time("2026-01-01", "2026-02-01", &[("Amazon EC2", "100.5"), ("Amazon S3", "20.25")])],
         "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}], "NextPageToken": "page-2"},
        {"ResultsByTime": [result_by_time("2026-02-01", "2026-03-01", &[("Amazon EC2", "150"), ("AWS Lambda", "1.25")])],
         "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}]}
    ]});
    let Response { status, body, .. } = post(
        &format!(
            "{}/moto-api/static/ce/cost-and-usage-results",
            moto.endpoint
        ),
        &[("content-type", "application/json")],
        &queued.to_string(),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");

    let mut env = moto.env();
    env.push(("MCP_API_KEY", KEY.into()));
    let server = LocalServer::start_with_env(&tools.function, &env);
    let query = json!({"start_date": "2026-01-01", "end_date": "2026-03-01", "group_by": [{"Type": "DIMENSION", "Key": "SERVICE"}]});
    let results = client_calls(
        &tools,
        &server.url,
        &json!([["get_cost_and_usage", query], ["get_cost_and_usage", query]]),
    );

    let first = &results[0];
    assert_eq!(first["is_error"], false, "{first}");
    let s = &first["structured"];
    assert_eq!(s["pages"], 2, "{s}");
    assert_eq!(s["totals"]["UnblendedCost"]["amount"], 272.0);
    assert_eq!(s["top_groups"][0]["keys"], json!(["Amazon EC2"]));
    assert_eq!(s["cached"], false);
    assert_eq!(
        first["progress"].as_array().unwrap().len(),
        2,
        "one progress notification per page: {first}"
    );
    assert!(first["text"].as_str().unwrap().contains("272.00 USD"));
    let second = &results[1];
    assert_eq!(
        second["structured"]["cached"], true,
        "the identical query comes from the cache"
    );
    assert_eq!(second["structured"]["totals"], s["totals"]);
    tools.record_figure("Cost Explorer get_cost_and_usage via moto: 2 pages, 2 progress notifications, second identical call cached");
}

#[test]
fn every_other_operation_against_the_local_stub() {
    let tools = Tools::from_env();
    let stub = CostExplorerStub::start(e2e::cost_stub_answers());
    let server = LocalServer::start_with_env(
        &tools.function,
        &[
            ("MCP_API_KEY", KEY.into()),
            ("AWS_ENDPOINT_URL_COST_EXPLORER", stub.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_MAX_ATTEMPTS", "1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ],
    );
    let today = tools_today();
    let next_month = first_of_next_month(&today);
    let months = json!({"baseline_start": "2026-09-01", "baseline_end": "2026-10-01", "comparison_start": "2026-10-01", "comparison_end": "2026-11-01"});
    let results = client_calls(
        &tools,
        &server.url,
        &json!([
            ["get_today_date", {}],
            ["get_dimension_values", {"dimension": "SERVICE"}],
            ["get_tag_values", {"tag_key": "team"}],
            ["get_cost_forecast", {"start_date": today, "end_date": next_month, "metric": "UNBLENDED_COST"}],
            ["get_cost_and_usage_comparisons", months],
            ["get_cost_comparison_drivers", months],
            ["get_cost_and_usage_comparisons", months],
            ["get_cost_forecast", {"start_date": "2020-01-01", "end_date": "2020-02-01", "metric": "UNBLENDED_COST"}]
        ]),
    );
    assert_eq!(results[0]["structured"]["today"], today);
    assert_eq!(
        results[1]["structured"]["values"][1]["value"], "Amazon S3",
        "{}",
        results[1]
    );
    assert_eq!(
        results[2]["structured"]["values"],
        json!(["payments", "search"])
    );
    assert_eq!(
        results[3]["structured"]["total"]["amount"], 321.5,
        "{}",
        results[3]
    );
    assert_eq!(
        results[4]["structured"]["total"]["difference"], 85.0,
        "{}",
        results[4]
    );
    assert!(
        results[4]["text"]
            .as_str()
            .unwrap()
            .contains("SERVICE=Amazon EC2")
    );
    assert_eq!(
        results[5]["structured"]["groups"][0]["drivers"][0]["name"], "BoxUsage:m7g.large",
        "{}",
        results[5]
    );
    assert_eq!(results[6]["structured"]["cached"], true);
    assert_eq!(results[7]["is_error"], true, "a past forecast is refused");
    for op in [
        "GetDimensionValues",
        "GetTags",
        "GetCostForecast",
        "GetCostAndUsageComparisons",
        "GetCostComparisonDrivers",
    ] {
        assert_eq!(stub.calls(op), 1, "{op} called once (cache, refused input)");
    }
    tools.record_figure("Cost Explorer tools via the local stub: 6 operations answered, repeated comparison cached, past forecast refused");
}

fn tools_today() -> String {
    // Today in UTC as the server sees it (the machine clock).
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    civil_from_days(secs.div_euclid(86_400))
}

/// Days since 1970-01-01 to YYYY-MM-DD (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn first_of_next_month(date: &str) -> String {
    let (y, m) = (
        date[..4].parse::<i32>().unwrap(),
        date[5..7].parse::<u32>().unwrap(),
    );
    if m == 12 {
        format!("{:04}-01-01", y + 1)
    } else {
        format!("{y:04}-{:02}-01", m + 1)
    }
}

#[test]
fn without_credentials_cost_tools_explain_and_the_rest_works() {
    let tools = Tools::from_env();
    let stub = CostExplorerStub::start(vec![]);
    let server = LocalServer::start_with_env(
        &tools.function,
        &[
            ("MCP_API_KEY", KEY.into()),
            ("AWS_ACCESS_KEY_ID", String::new()),
            ("AWS_SECRET_ACCESS_KEY", String::new()),
            ("AWS_SESSION_TOKEN", String::new()),
            ("AWS_PROFILE", String::new()),
            ("AWS_CONFIG_FILE", "/nonexistent/config".into()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/credentials".into(),
            ),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_ENDPOINT_URL_COST_EXPLORER", stub.endpoint.clone()),
        ],
    );
    let results = client_calls(
        &tools,
        &server.url,
        &json!([
            ["get_cost_and_usage", {"start_date": "2026-01-01", "end_date": "2026-02-01"}],
            ["get_weather", {"city": "Lisbon"}]
        ]),
    );
    assert_eq!(results[0]["is_error"], true);
    assert!(
        results[0]["text"]
            .as_str()
            .unwrap()
            .contains("No AWS credentials"),
        "{}",
        results[0]
    );
    assert_eq!(results[1]["is_error"], false);
    assert_eq!(
        stub.calls("GetCostAndUsage"),
        0,
        "nothing unsigned was sent"
    );
}
