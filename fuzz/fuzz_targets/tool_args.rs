//! Arbitrary JSON → every tool's argument parsing, then the checks that run before any work:
//! the sync tools are called outright (they are pure), the Cost Explorer tools' arguments go
//! through their query builders (`function/src/cost/input.rs`: dates, metrics, group_by,
//! filter), never reaching AWS. Never a panic; parse failures are -32602 errors.
#![no_main]

use std::sync::OnceLock;

use chrono::NaiveDate;
use function::{
    config::RunMode,
    cost::input::{DateRange, Filter, GroupBy, check_dimension, check_filter, check_group_by},
    tools::{
        Call, Deps, ToolEntry,
        cost_explorer::queries::{
            ComparisonRequest, CostAndUsageRequest, DimensionValuesRequest, DriversRequest,
            ForecastRequest, TagValuesRequest, comparisons_query, cost_query, drivers_query,
            forecast_query,
        },
        parse_arguments, registry,
        simulate_job::{SimulateJobRequest, check_job},
    },
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use serverless_mcp_fuzz::offline_cost;

/// A fixed "today", so a crash input reproduces on any day.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 15).expect("a real date")
}

fn tools() -> &'static (Deps, Vec<ToolEntry>) {
    static TOOLS: OnceLock<(Deps, Vec<ToolEntry>)> = OnceLock::new();
    TOOLS.get_or_init(|| {
        (
            Deps::new(RunMode::Local, "local", offline_cost()),
            registry(),
        )
    })
}

/// Parses `value` as `T` the way the server does; a failure must be a -32602 error.
fn parse<T: serde::de::DeserializeOwned>(tool: &str, value: &Value) -> Option<T> {
    match parse_arguments::<T>(tool, value) {
        Ok(args) => Some(args),
        Err(error) => {
            assert_eq!(error.code.0, -32602, "{tool}: {error:?}");
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let (deps, entries) = tools();
    for entry in entries {
        if let Call::Sync(call) = entry.call
            && let Err(error) = call(deps, &value)
        {
            assert_eq!(error.code.0, -32602, "{}: {error:?}", entry.spec.name);
        }
    }
    if let Some(req) = parse::<SimulateJobRequest>("simulate_job", &value) {
        let _ = check_job(&req);
    }
    // As `get_dimension_values` and `get_tag_values` check theirs (tools/cost_explorer/mod.rs).
    if let Some(req) = parse::<DimensionValuesRequest>("get_dimension_values", &value) {
        let _ = check_dimension("dimension", &req.dimension);
        let _ = DateRange::parse_or_last_days(
            req.start_date.as_deref(),
            req.end_date.as_deref(),
            today(),
            30,
        );
    }
    if let Some(req) = parse::<TagValuesRequest>("get_tag_values", &value) {
        let _ = DateRange::parse_or_last_days(
            req.start_date.as_deref(),
            req.end_date.as_deref(),
            today(),
            30,
        );
    }
    if let Some(req) = parse::<CostAndUsageRequest>("get_cost_and_usage", &value) {
        let _ = cost_query(req);
    }
    if let Some(req) = parse::<ForecastRequest>("get_cost_forecast", &value) {
        let _ = forecast_query(req, today());
    }
    if let Some(req) = parse::<ComparisonRequest>("get_cost_and_usage_comparisons", &value) {
        let _ = comparisons_query(req);
    }
    if let Some(req) = parse::<DriversRequest>("get_cost_comparison_drivers", &value) {
        let _ = drivers_query(req);
    }
    // The filter and group_by checks on their own, for inputs that are just one of them.
    if let Ok(filter) = serde_json::from_value::<Filter>(value.clone()) {
        let _ = check_filter(&filter, "filter");
    }
    if let Ok(groups) = serde_json::from_value::<Vec<GroupBy>>(value) {
        let _ = check_group_by(&groups, 2);
    }
});
