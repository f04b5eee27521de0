//! The AWS Cost Explorer tools (names as users know them from other Cost Explorer MCP servers).
//! Arguments are checked in [`queries`] before any paid API call; the calls, paging, caching
//! and errors live in [`crate::cost`].

pub mod queries;

use std::sync::Arc;

use crate::cost::{
    input::{self, DateRange, check_dimension},
    output::{Comparison, CostAndUsage, DimensionValues, Drivers, Forecast, TagValues, TodayDate},
    sdk::{DimensionQuery, TagQuery},
};

use self::queries::{
    ComparisonRequest, CostAndUsageRequest, DimensionValuesRequest, DriversRequest,
    ForecastRequest, TagValuesRequest, comparisons_query, cost_query, drivers_query,
    forecast_query, today, today_date,
};
use super::{
    CallContext, Deps, Hints, NoArguments, Reply, Tool, ToolError, ToolSpec, ToolWithContext,
};

/// What the server instructions say about all Cost Explorer tools.
pub const NOTES: &str = "Cost Explorer: start with get_today_date to build date ranges. Dates \
are YYYY-MM-DD with exclusive end dates; group_by and filter use Cost Explorer's own JSON \
shapes. Cost answers are cached for an hour (each Cost Explorer request costs $0.01). Every \
tool is read-only.";

pub struct GetTodayDate;

impl Tool for GetTodayDate {
    const SPEC: ToolSpec = ToolSpec {
        name: "get_today_date",
        title: "Today's date",
        description: "Today's date and the current month in UTC, with the first days of this, the next and the previous month, to build Cost Explorer date ranges.",
        summary: "start here to build Cost Explorer date ranges",
        // Not idempotent: the answer changes at midnight.
        hints: Hints {
            idempotent: false,
            ..Hints::LOCAL
        },
        iam_actions: &[],
        example: "{}",
    };
    type Args = NoArguments;
    type Output = TodayDate;

    fn call(_: &Deps, _: NoArguments) -> Result<Reply<TodayDate>, ToolError> {
        let t = today_date(today());
        let summary = format!(
            "Today is {} (UTC); the current month is {}.",
            t.today, t.current_month
        );
        Ok(Reply::new(summary, t))
    }
}

pub struct GetDimensionValues;

impl ToolWithContext for GetDimensionValues {
    const SPEC: ToolSpec = ToolSpec {
        name: "get_dimension_values",
        title: "Cost Explorer dimension values",
        description: "Values of a Cost Explorer dimension (SERVICE, LINKED_ACCOUNT, REGION, USAGE_TYPE, INSTANCE_TYPE, AZ, RECORD_TYPE, ...) seen in a period (default: the last 30 days). Use them in group_by and filter.",
        summary: "values of a dimension such as SERVICE or REGION",
        hints: Hints::AWS,
        iam_actions: &["ce:GetDimensionValues"],
        example: r#"{"dimension": "SERVICE"}"#,
    };
    type Args = DimensionValuesRequest;
    type Output = DimensionValues;

    async fn call(
        deps: Arc<Deps>,
        req: DimensionValuesRequest,
        context: CallContext,
    ) -> Result<Reply<DimensionValues>, ToolError> {
        let query = DimensionQuery {
            dimension: check_dimension("dimension", &req.dimension)?,
            period: DateRange::parse_or_last_days(
                req.start_date.as_deref(),
                req.end_date.as_deref(),
                today(),
                30,
            )?,
            search: req.search.filter(|s| !s.trim().is_empty()),
        };
        let out = deps.cost.dimension_values(&query, &context).await?;
        let shown: Vec<&str> = out
            .values
            .iter()
            .take(20)
            .map(|v| v.value.as_str())
            .collect();
        let more = out.values.len().saturating_sub(shown.len());
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let summary = format!(
            "{} values of {} ({}..{}): {}{tail}.",
            out.values.len(),
            out.dimension,
            out.period.start,
            out.period.end,
            shown.join(", ")
        );
        Ok(Reply::new(summary, out))
    }
}

pub struct GetTagValues;

impl ToolWithContext for GetTagValues {
    const SPEC: ToolSpec = ToolSpec {
        name: "get_tag_values",
        title: "Cost allocation tag values",
        description: "Values of a cost allocation tag key seen in a period (default: the last 30 days), via Cost Explorer GetTags.",
        summary: "values of a cost allocation tag",
        hints: Hints::AWS,
        iam_actions: &["ce:GetTags"],
        example: r#"{"tag_key": "team"}"#,
    };
    type Args = TagValuesRequest;
    type Output = TagValues;

    async fn call(
        deps: Arc<Deps>,
        req: TagValuesRequest,
        context: CallContext,
    ) -> Result<Reply<TagValues>, ToolError> {
        if req.tag_key.trim().is_empty() {
            return Err(input::bad("tag_key", "must not be empty").into());
        }
        let query = TagQuery {
            tag_key: req.tag_key.trim().to_owned(),
            period: DateRange::parse_or_last_days(
                req.start_date.as_deref(),
                req.end_date.as_deref(),
                today(),
                30,
            )?,
            search: req.search.filter(|s| !s.trim().is_empty()),
        };
        let out = deps.cost.tag_values(&query, &context).await?;
        let summary = format!(
            "{} values of tag {} ({}..{}): {}.",
            out.values.len(),
            out.tag_key,
            out.period.start,
            out.period.end,
            out.values.join(", ")
        );
        Ok(Reply::new(summary, out))
    }
}

pub struct GetCostAndUsage;

impl ToolWithContext for GetCostAndUsage {
    const SPEC: ToolSpec = ToolSpec {
        name: "get_cost_and_usage",
        title: "Cost and usage",
        description: "AWS cost and usage for a period (end date exclusive), by DAILY, MONTHLY (default) or HOURLY granularity, optionally grouped (up to two group_by entries) and filtered, in Cost Explorer's own shapes. Follows every page, up to 20 (more is an error that says how to narrow the query). Default metric UnblendedCost. Returns totals, top groups and per-period results.",
        summary: "cost for a period, grouped and filtered",
        hints: Hints::AWS,
        iam_actions: &["ce:GetCostAndUsage"],
        example: r#"{"start_date": "2026-01-01", "end_date": "2026-02-01", "group_by": [{"Type": "DIMENSION", "Key": "SERVICE"}]}"#,
    };
    type Args = CostAndUsageRequest;
    type Output = CostAndUsage;

    async fn call(
        deps: Arc<Deps>,
        req: CostAndUsageRequest,
        context: CallContext,
    ) -> Result<Reply<CostAndUsage>, ToolError> {
        let out = deps
            .cost
            .cost_and_usage(&cost_query(req)?, &context)
            .await?;
        Ok(Reply::new(out.summary(), out))
    }
}

pub struct GetCostForecast;

impl ToolWithContext for GetCostForecast {
    const SPEC: ToolSpec = ToolSpec {
        name: "get_cost_forecast",
        title: "Cost forecast",
        description: "Forecast of AWS cost for a future period (the start may be today), with a prediction interval. Past periods are refused: use get_cost_and_usage for them.",
        summary: "forecast for a future period",
        hints: Hints::AWS,
        iam_actions: &["ce:GetCostForecast"],
        example: r#"{"start_date": "2099-01-01", "end_date": "2099-02-01", "metric": "UNBLENDED_COST"}"#,
    };
    type Args = ForecastRequest;
    type Output = Forecast;

    async fn call(
        deps: Arc<Deps>,
        req: ForecastRequest,
        _: CallContext,
    ) -> Result<Reply<Forecast>, ToolError> {
        let out = deps.cost.forecast(&forecast_query(req, today())?).await?;
        Ok(Reply::new(out.summary(), out))
    }
}

pub struct GetCostAndUsageComparisons;

impl ToolWithContext for GetCostAndUsageComparisons {
    const SPEC: ToolSpec = ToolSpec {
        name: "get_cost_and_usage_comparisons",
        title: "Compare two months of cost",
        description: "Compares cost between two whole months (each from the 1st to the 1st of the next month) with Cost Explorer's GetCostAndUsageComparisons, grouped (default by SERVICE) and optionally filtered. Returns the total change and the top movers.",
        summary: "compare two months, top movers",
        hints: Hints::AWS,
        iam_actions: &["ce:GetCostAndUsageComparisons"],
        example: r#"{"baseline_start": "2026-01-01", "baseline_end": "2026-02-01", "comparison_start": "2026-02-01", "comparison_end": "2026-03-01"}"#,
    };
    type Args = ComparisonRequest;
    type Output = Comparison;

    async fn call(
        deps: Arc<Deps>,
        req: ComparisonRequest,
        context: CallContext,
    ) -> Result<Reply<Comparison>, ToolError> {
        let out = deps
            .cost
            .comparisons(&comparisons_query(req)?, &context)
            .await?;
        Ok(Reply::new(out.summary(), out))
    }
}

pub struct GetCostComparisonDrivers;

impl ToolWithContext for GetCostComparisonDrivers {
    const SPEC: ToolSpec = ToolSpec {
        name: "get_cost_comparison_drivers",
        title: "What drove a cost change",
        description: "Explains the change in cost between two whole months (each from the 1st to the 1st of the next month) with Cost Explorer's GetCostComparisonDrivers: usage changes, pricing, savings plans and reservation coverage, credits, per service.",
        summary: "why spend changed between two months",
        hints: Hints::AWS,
        iam_actions: &["ce:GetCostComparisonDrivers"],
        example: r#"{"baseline_start": "2026-01-01", "baseline_end": "2026-02-01", "comparison_start": "2026-02-01", "comparison_end": "2026-03-01"}"#,
    };
    type Args = DriversRequest;
    type Output = Drivers;

    async fn call(
        deps: Arc<Deps>,
        req: DriversRequest,
        context: CallContext,
    ) -> Result<Reply<Drivers>, ToolError> {
        let out = deps.cost.drivers(&drivers_query(req)?, &context).await?;
        Ok(Reply::new(out.summary(), out))
    }
}
