//! The AWS Cost Explorer tools (names as users know them from other Cost Explorer MCP servers).
//! Inputs are validated here (dates, names, group-by, filter) before any paid API call.

use chrono::{Datelike, Months, NaiveDate, Utc};
use rmcp::{
    ErrorData, RoleServer,
    handler::server::tool::schema_for_output,
    model::{CallToolResult, ProgressNotificationParam, ProgressToken},
    service::{Peer, RequestContext},
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::{
    cost::{
        CostError, PageProgress,
        input::{
            self, DateRange, FORECAST_METRICS, Filter, GroupBy, InputError, METRICS,
            check_dimension, check_filter, check_granularity, check_group_by, check_metric,
            month_period,
        },
        output::TodayDate,
        sdk::{ComparisonQuery, CostQuery, DimensionQuery, ForecastQuery, TagQuery},
    },
    params::Parameters,
    server::McpServer,
    tools::{structured, tool_error},
};

fn input_error(error: InputError) -> CallToolResult {
    tool_error(format!("Invalid {error}"))
}

fn cost_error(error: CostError) -> CallToolResult {
    tool_error(error.message)
}

/// Progress notifications per page fetched, when the client sent a progress token.
struct McpProgress {
    peer: Peer<RoleServer>,
    token: Option<ProgressToken>,
}

impl McpProgress {
    fn of(context: &RequestContext<RoleServer>) -> Self {
        Self {
            peer: context.peer.clone(),
            token: context.meta.get_progress_token(),
        }
    }
}

impl PageProgress for McpProgress {
    async fn page_done(&self, pages: u32) {
        if let Some(token) = &self.token {
            let param = ProgressNotificationParam::new(token.clone(), f64::from(pages))
                .with_message(format!("fetched {pages} page(s) from Cost Explorer"));
            let _ = self.peer.notify_progress(param).await;
        }
    }
}

pub fn today_date(today: NaiveDate) -> TodayDate {
    let first = today.with_day(1).expect("day 1 exists");
    TodayDate {
        today: today.to_string(),
        current_month: today.format("%Y-%m").to_string(),
        first_day_of_month: first.to_string(),
        first_day_of_next_month: (first + Months::new(1)).to_string(),
        first_day_of_previous_month: (first - Months::new(1)).to_string(),
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DimensionValuesRequest {
    /// A Cost Explorer dimension: SERVICE, LINKED_ACCOUNT, REGION, USAGE_TYPE, INSTANCE_TYPE, AZ, RECORD_TYPE, OPERATION, ...
    pub dimension: String,
    /// Start date YYYY-MM-DD (default: 30 days before end_date).
    pub start_date: Option<String>,
    /// End date YYYY-MM-DD, exclusive (default: today).
    pub end_date: Option<String>,
    /// Only values containing this text.
    pub search: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagValuesRequest {
    /// The cost allocation tag key, for example "team".
    pub tag_key: String,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub search: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CostAndUsageRequest {
    /// Start date YYYY-MM-DD (inclusive).
    pub start_date: String,
    /// End date YYYY-MM-DD (exclusive).
    pub end_date: String,
    /// DAILY, MONTHLY (default) or HOURLY.
    pub granularity: Option<String>,
    /// Metrics (default ["UnblendedCost"]): UnblendedCost, BlendedCost, AmortizedCost, NetUnblendedCost, NetAmortizedCost, UsageQuantity, NormalizedUsageAmount.
    pub metrics: Option<Vec<String>>,
    /// Up to two groupings in the API's shape, e.g. [{"Type": "DIMENSION", "Key": "SERVICE"}].
    pub group_by: Option<Vec<GroupBy>>,
    /// A Cost Explorer filter expression, e.g. {"Dimensions": {"Key": "REGION", "Values": ["us-east-1"]}}.
    pub filter: Option<Filter>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForecastRequest {
    /// Start date YYYY-MM-DD: today or later.
    pub start_date: String,
    /// End date YYYY-MM-DD (exclusive).
    pub end_date: String,
    /// UNBLENDED_COST, AMORTIZED_COST, BLENDED_COST, NET_UNBLENDED_COST or NET_AMORTIZED_COST.
    pub metric: String,
    /// DAILY or MONTHLY (default).
    pub granularity: Option<String>,
    /// Prediction interval in percent, 51 to 99 (default 80).
    pub prediction_interval: Option<u8>,
    pub filter: Option<Filter>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComparisonRequest {
    /// First day of the baseline month, YYYY-MM-01.
    pub baseline_start: String,
    /// First day of the month after the baseline month.
    pub baseline_end: String,
    /// First day of the comparison month, YYYY-MM-01.
    pub comparison_start: String,
    /// First day of the month after the comparison month.
    pub comparison_end: String,
    /// Metric to compare (default UnblendedCost).
    pub metric: Option<String>,
    /// Groupings in the API's shape (default: by SERVICE).
    pub group_by: Option<Vec<GroupBy>>,
    pub filter: Option<Filter>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriversRequest {
    pub baseline_start: String,
    pub baseline_end: String,
    pub comparison_start: String,
    pub comparison_end: String,
    /// Metric to compare (default UnblendedCost).
    pub metric: Option<String>,
    pub filter: Option<Filter>,
}

fn checked_filter(filter: Option<Filter>) -> Result<Option<Filter>, InputError> {
    if let Some(filter) = &filter {
        check_filter(filter, "filter")?;
    }
    Ok(filter)
}

pub fn cost_query(req: CostAndUsageRequest) -> Result<CostQuery, InputError> {
    let period = DateRange::parse("start_date", &req.start_date, "end_date", &req.end_date)?;
    let granularity = check_granularity(
        req.granularity.as_deref(),
        &["DAILY", "MONTHLY", "HOURLY"],
        "MONTHLY",
    )?;
    if granularity == "DAILY" && period.days() > 366 {
        return Err(input::bad(
            "granularity",
            "DAILY covers at most a year; use MONTHLY for longer ranges",
        ));
    }
    if granularity == "HOURLY" && period.days() > 14 {
        return Err(input::bad("granularity", "HOURLY covers at most 14 days"));
    }
    let metrics = req.metrics.unwrap_or_else(|| vec!["UnblendedCost".into()]);
    if metrics.is_empty() {
        return Err(input::bad("metrics", "needs at least one metric"));
    }
    let metrics = metrics
        .iter()
        .enumerate()
        .map(|(i, m)| check_metric(&format!("metrics[{i}]"), m, METRICS))
        .collect::<Result<Vec<_>, _>>()?;
    let group_by = check_group_by(&req.group_by.unwrap_or_default(), 2)?;
    Ok(CostQuery {
        period,
        granularity,
        metrics,
        group_by,
        filter: checked_filter(req.filter)?,
    })
}

/// Forecasts are for the future: the start may be today, and the API looks at most 18 months ahead
/// (3 months with DAILY granularity).
pub fn forecast_query(req: ForecastRequest, today: NaiveDate) -> Result<ForecastQuery, InputError> {
    let period = DateRange::parse("start_date", &req.start_date, "end_date", &req.end_date)?;
    if period.start < today {
        return Err(input::bad(
            "start_date",
            format!(
                "forecasts need a future period: start on today ({today}) or later; use get_cost_and_usage for past costs"
            ),
        ));
    }
    let granularity =
        check_granularity(req.granularity.as_deref(), &["DAILY", "MONTHLY"], "MONTHLY")?;
    let horizon = if granularity == "DAILY" {
        today + Months::new(3)
    } else {
        today + Months::new(18)
    };
    if period.end > horizon {
        return Err(input::bad(
            "end_date",
            format!("{granularity} forecasts reach at most {horizon}"),
        ));
    }
    // Accept the GetCostAndUsage spelling too (UnblendedCost → UNBLENDED_COST).
    let spelled = METRICS
        .iter()
        .find(|m| m.eq_ignore_ascii_case(req.metric.trim()))
        .map(|m| {
            m.chars().fold(String::new(), |mut s, c| {
                if c.is_uppercase() && !s.is_empty() {
                    s.push('_');
                }
                s.push(c.to_ascii_uppercase());
                s
            })
        })
        .unwrap_or_else(|| req.metric.clone());
    let metric = check_metric("metric", &spelled, FORECAST_METRICS)?;
    let level = req.prediction_interval.unwrap_or(80);
    if !(51..=99).contains(&level) {
        return Err(input::bad(
            "prediction_interval",
            format!("must be from 51 to 99, got {level}"),
        ));
    }
    Ok(ForecastQuery {
        period,
        metric,
        granularity,
        prediction_interval_level: level,
        filter: checked_filter(req.filter)?,
    })
}

#[allow(clippy::too_many_arguments)]
fn comparison_query(
    baseline: (&str, &str),
    comparison: (&str, &str),
    metric: Option<&str>,
    group_by: Option<Vec<GroupBy>>,
    filter: Option<Filter>,
) -> Result<ComparisonQuery, InputError> {
    let baseline = month_period("baseline_start", baseline.0, "baseline_end", baseline.1)?;
    let comparison = month_period(
        "comparison_start",
        comparison.0,
        "comparison_end",
        comparison.1,
    )?;
    if baseline == comparison {
        return Err(input::bad(
            "comparison_start",
            "the comparison month must differ from the baseline month",
        ));
    }
    let metric = check_metric("metric", metric.unwrap_or("UnblendedCost"), METRICS)?;
    let group_by = check_group_by(&group_by.unwrap_or_default(), 2)?;
    Ok(ComparisonQuery {
        baseline,
        comparison,
        metric,
        group_by,
        filter: checked_filter(filter)?,
    })
}

pub fn comparisons_query(req: ComparisonRequest) -> Result<ComparisonQuery, InputError> {
    let group_by = req.group_by.or_else(|| {
        Some(vec![GroupBy {
            kind: "DIMENSION".into(),
            key: "SERVICE".into(),
        }])
    });
    comparison_query(
        (&req.baseline_start, &req.baseline_end),
        (&req.comparison_start, &req.comparison_end),
        req.metric.as_deref(),
        group_by,
        req.filter,
    )
}

pub fn drivers_query(req: DriversRequest) -> Result<ComparisonQuery, InputError> {
    comparison_query(
        (&req.baseline_start, &req.baseline_end),
        (&req.comparison_start, &req.comparison_end),
        req.metric.as_deref(),
        None,
        req.filter,
    )
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

#[tool_router(router = cost_tool_router, vis = "pub(crate)")]
impl McpServer {
    #[tool(
        title = "Today's date",
        description = "Today's date and the current month in UTC, with the first days of this, the next and the previous month, to build Cost Explorer date ranges.",
        output_schema = schema_for_output::<TodayDate>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    pub(crate) async fn get_today_date(&self) -> Result<CallToolResult, ErrorData> {
        let t = today_date(today());
        structured(
            format!(
                "Today is {} (UTC); the current month is {}.",
                t.today, t.current_month
            ),
            &t,
        )
    }

    #[tool(
        title = "Cost Explorer dimension values",
        description = "Values of a Cost Explorer dimension (SERVICE, LINKED_ACCOUNT, REGION, USAGE_TYPE, INSTANCE_TYPE, AZ, RECORD_TYPE, ...) seen in a period (default: the last 30 days). Use them in group_by and filter.",
        output_schema = schema_for_output::<crate::cost::output::DimensionValues>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_dimension_values(
        &self,
        Parameters(req): Parameters<DimensionValuesRequest>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let query = match (|| {
            Ok(DimensionQuery {
                dimension: check_dimension("dimension", &req.dimension)?,
                period: DateRange::parse_or_last_days(
                    req.start_date.as_deref(),
                    req.end_date.as_deref(),
                    today(),
                    30,
                )?,
                search: req.search.filter(|s| !s.trim().is_empty()),
            })
        })() {
            Ok(query) => query,
            Err(e) => return Ok(input_error(e)),
        };
        match self
            .cost()
            .dimension_values(&query, &McpProgress::of(&context))
            .await
        {
            Ok(out) => {
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
                structured(
                    format!(
                        "{} values of {} ({}..{}): {}{tail}.",
                        out.values.len(),
                        out.dimension,
                        out.period.start,
                        out.period.end,
                        shown.join(", ")
                    ),
                    &out,
                )
            }
            Err(e) => Ok(cost_error(e)),
        }
    }

    #[tool(
        title = "Cost allocation tag values",
        description = "Values of a cost allocation tag key seen in a period (default: the last 30 days), via Cost Explorer GetTags.",
        output_schema = schema_for_output::<crate::cost::output::TagValues>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_tag_values(
        &self,
        Parameters(req): Parameters<TagValuesRequest>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        if req.tag_key.trim().is_empty() {
            return Ok(input_error(input::bad("tag_key", "must not be empty")));
        }
        let period = match DateRange::parse_or_last_days(
            req.start_date.as_deref(),
            req.end_date.as_deref(),
            today(),
            30,
        ) {
            Ok(period) => period,
            Err(e) => return Ok(input_error(e)),
        };
        let query = TagQuery {
            tag_key: req.tag_key.trim().to_owned(),
            period,
            search: req.search.filter(|s| !s.trim().is_empty()),
        };
        match self
            .cost()
            .tag_values(&query, &McpProgress::of(&context))
            .await
        {
            Ok(out) => structured(
                format!(
                    "{} values of tag {} ({}..{}): {}.",
                    out.values.len(),
                    out.tag_key,
                    out.period.start,
                    out.period.end,
                    out.values.join(", ")
                ),
                &out,
            ),
            Err(e) => Ok(cost_error(e)),
        }
    }

    #[tool(
        title = "Cost and usage",
        description = "AWS cost and usage for a period (end date exclusive), by DAILY, MONTHLY (default) or HOURLY granularity, optionally grouped (up to two group_by entries) and filtered, in Cost Explorer's own shapes. Follows every page. Default metric UnblendedCost. Returns totals, top groups and per-period results.",
        output_schema = schema_for_output::<crate::cost::output::CostAndUsage>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_cost_and_usage(
        &self,
        Parameters(req): Parameters<CostAndUsageRequest>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let query = match cost_query(req) {
            Ok(query) => query,
            Err(e) => return Ok(input_error(e)),
        };
        match self
            .cost()
            .cost_and_usage(&query, &McpProgress::of(&context))
            .await
        {
            Ok(out) => structured(out.summary(), &out),
            Err(e) => Ok(cost_error(e)),
        }
    }

    #[tool(
        title = "Cost forecast",
        description = "Forecast of AWS cost for a future period (the start may be today), with a prediction interval. Past periods are refused: use get_cost_and_usage for them.",
        output_schema = schema_for_output::<crate::cost::output::Forecast>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_cost_forecast(
        &self,
        Parameters(req): Parameters<ForecastRequest>,
    ) -> Result<CallToolResult, ErrorData> {
        let query = match forecast_query(req, today()) {
            Ok(query) => query,
            Err(e) => return Ok(input_error(e)),
        };
        match self.cost().forecast(&query).await {
            Ok(out) => structured(out.summary(), &out),
            Err(e) => Ok(cost_error(e)),
        }
    }

    #[tool(
        title = "Compare two months of cost",
        description = "Compares cost between two whole months (each from the 1st to the 1st of the next month) with Cost Explorer's GetCostAndUsageComparisons, grouped (default by SERVICE) and optionally filtered. Returns the total change and the top movers.",
        output_schema = schema_for_output::<crate::cost::output::Comparison>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_cost_and_usage_comparisons(
        &self,
        Parameters(req): Parameters<ComparisonRequest>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let query = match comparisons_query(req) {
            Ok(query) => query,
            Err(e) => return Ok(input_error(e)),
        };
        match self
            .cost()
            .comparisons(&query, &McpProgress::of(&context))
            .await
        {
            Ok(out) => structured(out.summary(), &out),
            Err(e) => Ok(cost_error(e)),
        }
    }

    #[tool(
        title = "What drove a cost change",
        description = "Explains the change in cost between two whole months (each from the 1st to the 1st of the next month) with Cost Explorer's GetCostComparisonDrivers: usage changes, pricing, savings plans and reservation coverage, credits, per service.",
        output_schema = schema_for_output::<crate::cost::output::Drivers>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_cost_comparison_drivers(
        &self,
        Parameters(req): Parameters<DriversRequest>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let query = match drivers_query(req) {
            Ok(query) => query,
            Err(e) => return Ok(input_error(e)),
        };
        match self
            .cost()
            .drivers(&query, &McpProgress::of(&context))
            .await
        {
            Ok(out) => structured(out.summary(), &out),
            Err(e) => Ok(cost_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn today_date_builds_month_boundaries() {
        let t = today_date(d("2026-01-15"));
        assert_eq!(t.current_month, "2026-01");
        assert_eq!(t.first_day_of_month, "2026-01-01");
        assert_eq!(t.first_day_of_next_month, "2026-02-01");
        assert_eq!(t.first_day_of_previous_month, "2025-12-01");
    }

    fn forecast(
        start: &str,
        end: &str,
        metric: &str,
        granularity: Option<&str>,
        level: Option<u8>,
    ) -> Result<ForecastQuery, InputError> {
        forecast_query(
            ForecastRequest {
                start_date: start.into(),
                end_date: end.into(),
                metric: metric.into(),
                granularity: granularity.map(String::from),
                prediction_interval: level,
                filter: None,
            },
            d("2026-11-21"),
        )
    }

    #[test]
    fn forecasts_accept_today_and_refuse_the_past() {
        let q = forecast("2026-11-21", "2027-01-01", "UNBLENDED_COST", None, None).unwrap();
        assert_eq!(
            (q.granularity.as_str(), q.prediction_interval_level),
            ("MONTHLY", 80)
        );
        assert_eq!(
            forecast("2026-11-20", "2027-01-01", "UNBLENDED_COST", None, None)
                .unwrap_err()
                .field,
            "start_date"
        );
        assert_eq!(
            forecast("2026-12-01", "2028-12-01", "UNBLENDED_COST", None, None)
                .unwrap_err()
                .field,
            "end_date"
        );
        assert_eq!(
            forecast(
                "2026-12-01",
                "2027-06-01",
                "UNBLENDED_COST",
                Some("DAILY"),
                None
            )
            .unwrap_err()
            .field,
            "end_date"
        );
        assert_eq!(
            forecast("2026-12-01", "2027-01-01", "UnblendedCost", None, None)
                .unwrap()
                .metric,
            "UNBLENDED_COST"
        );
        assert_eq!(
            forecast("2026-12-01", "2027-01-01", "USAGE", None, None)
                .unwrap_err()
                .field,
            "metric"
        );
        assert_eq!(
            forecast("2026-12-01", "2027-01-01", "AMORTIZED_COST", None, Some(50))
                .unwrap_err()
                .field,
            "prediction_interval"
        );
    }

    #[test]
    fn cost_queries_default_and_validate() {
        let req = |granularity: Option<&str>, end: &str| CostAndUsageRequest {
            start_date: "2026-01-01".into(),
            end_date: end.into(),
            granularity: granularity.map(String::from),
            metrics: None,
            group_by: None,
            filter: None,
        };
        let q = cost_query(req(None, "2026-03-01")).unwrap();
        assert_eq!(
            (q.granularity.as_str(), q.metrics.clone()),
            ("MONTHLY", vec!["UnblendedCost".to_string()])
        );
        assert_eq!(
            cost_query(req(Some("HOURLY"), "2026-03-01"))
                .unwrap_err()
                .field,
            "granularity"
        );
        assert_eq!(
            cost_query(req(Some("WEEKLY"), "2026-03-01"))
                .unwrap_err()
                .field,
            "granularity"
        );
        let mut bad_metric = req(None, "2026-03-01");
        bad_metric.metrics = Some(vec!["UnblendedCost".into(), "Dollars".into()]);
        assert_eq!(cost_query(bad_metric).unwrap_err().field, "metrics[1]");
    }

    #[test]
    fn comparisons_need_two_different_whole_months() {
        let req = |b: (&str, &str), c: (&str, &str)| ComparisonRequest {
            baseline_start: b.0.into(),
            baseline_end: b.1.into(),
            comparison_start: c.0.into(),
            comparison_end: c.1.into(),
            metric: None,
            group_by: None,
            filter: None,
        };
        let q = comparisons_query(req(
            ("2026-09-01", "2026-10-01"),
            ("2026-10-01", "2026-11-01"),
        ))
        .unwrap();
        assert_eq!(
            q.group_by,
            vec![GroupBy {
                kind: "DIMENSION".into(),
                key: "SERVICE".into()
            }]
        );
        assert_eq!(q.metric, "UnblendedCost");
        assert_eq!(
            comparisons_query(req(
                ("2026-09-02", "2026-10-02"),
                ("2026-10-01", "2026-11-01")
            ))
            .unwrap_err()
            .field,
            "baseline_start"
        );
        assert_eq!(
            comparisons_query(req(
                ("2026-09-01", "2026-10-01"),
                ("2026-10-01", "2026-12-01")
            ))
            .unwrap_err()
            .field,
            "comparison_end"
        );
        assert_eq!(
            comparisons_query(req(
                ("2026-09-01", "2026-10-01"),
                ("2026-09-01", "2026-10-01")
            ))
            .unwrap_err()
            .field,
            "comparison_start"
        );
    }
}
