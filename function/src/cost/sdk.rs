//! The Cost Explorer calls: validated queries in, our output types out.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_costexplorer::{
    Client,
    types::{
        ComparisonMetricValue, Context, CostCategoryValues, DateInterval, Dimension,
        DimensionValues as SdkDimensionValues, Expression, Granularity, GroupDefinition,
        GroupDefinitionType, MatchOption, Metric, MetricValue, ResultByTime,
        TagValues as SdkTagValues,
    },
};
use serde::{Deserialize, Serialize};

use super::{
    Cacheable, CostError, CostExplorer, PageProgress,
    errors::map_sdk_error,
    input::{DateRange, Filter, GroupBy, KeyValues},
    output::*,
    paging::{fetch_pages, paginator, token_loop},
};

/// How to ask for fewer pages, per operation (ends the page-limit error).
const NARROW_COSTS: &str = "narrow the date range, group by fewer keys or add a filter";
const NARROW_COMPARISONS: &str = "group by fewer keys or add a filter";
const NARROW_DRIVERS: &str = "add a filter (for example to one SERVICE or LINKED_ACCOUNT)";
const NARROW_VALUES: &str = "narrow the date range or add a search text";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionQuery {
    pub dimension: String,
    pub period: DateRange,
    pub search: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagQuery {
    pub tag_key: String,
    pub period: DateRange,
    pub search: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostQuery {
    pub period: DateRange,
    pub granularity: String,
    pub metrics: Vec<String>,
    pub group_by: Vec<GroupBy>,
    pub filter: Option<Filter>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastQuery {
    pub period: DateRange,
    pub metric: String,
    pub granularity: String,
    pub prediction_interval_level: u8,
    pub filter: Option<Filter>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonQuery {
    pub baseline: DateRange,
    pub comparison: DateRange,
    pub metric: String,
    pub group_by: Vec<GroupBy>,
    pub filter: Option<Filter>,
}

macro_rules! cacheable {
    ($($t:ty),*) => {$(
        impl Cacheable for $t {
            fn set_cached(&mut self, cached: bool) {
                self.cached = cached;
            }
        }
    )*};
}
cacheable!(
    DimensionValues,
    TagValues,
    CostAndUsage,
    Forecast,
    Comparison,
    Drivers
);

fn interval(range: &DateRange) -> DateInterval {
    DateInterval::builder()
        .start(range.start.to_string())
        .end(range.end.to_string())
        .build()
        .expect("start and end are set")
}

fn group_definitions(groups: &[GroupBy]) -> Option<Vec<GroupDefinition>> {
    (!groups.is_empty()).then(|| {
        groups
            .iter()
            .map(|g| {
                GroupDefinition::builder()
                    .r#type(GroupDefinitionType::from(g.kind.as_str()))
                    .key(&g.key)
                    .build()
            })
            .collect()
    })
}

/// Our (validated) filter as the SDK's `Expression`.
pub fn to_expression(filter: &Filter) -> Expression {
    let options = |kv: &KeyValues| -> Option<Vec<MatchOption>> {
        (!kv.match_options.is_empty()).then(|| {
            kv.match_options
                .iter()
                .map(|m| MatchOption::from(m.as_str()))
                .collect()
        })
    };
    let mut builder = Expression::builder();
    if let Some(list) = &filter.and {
        builder = builder.set_and(Some(list.iter().map(to_expression).collect()));
    }
    if let Some(list) = &filter.or {
        builder = builder.set_or(Some(list.iter().map(to_expression).collect()));
    }
    if let Some(inner) = &filter.not {
        builder = builder.not(to_expression(inner));
    }
    if let Some(kv) = &filter.dimensions {
        builder = builder.dimensions(
            SdkDimensionValues::builder()
                .key(Dimension::from(kv.key.to_ascii_uppercase().as_str()))
                .set_values(Some(kv.values.clone()))
                .set_match_options(options(kv))
                .build(),
        );
    }
    if let Some(kv) = &filter.tags {
        builder = builder.tags(
            SdkTagValues::builder()
                .key(&kv.key)
                .set_values(Some(kv.values.clone()))
                .set_match_options(options(kv))
                .build(),
        );
    }
    if let Some(kv) = &filter.cost_categories {
        builder = builder.cost_categories(
            CostCategoryValues::builder()
                .key(&kv.key)
                .set_values(Some(kv.values.clone()))
                .set_match_options(options(kv))
                .build(),
        );
    }
    builder.build()
}

/// The SDK's `Expression` (a comparison's selector) in our JSON shape.
pub fn from_expression(expression: &Expression) -> Filter {
    let options = |m: &[MatchOption]| m.iter().map(|o| o.as_str().to_owned()).collect();
    Filter {
        and: (!expression.and().is_empty())
            .then(|| expression.and().iter().map(from_expression).collect()),
        or: (!expression.or().is_empty())
            .then(|| expression.or().iter().map(from_expression).collect()),
        not: expression.not().map(|n| Box::new(from_expression(n))),
        dimensions: expression.dimensions().map(|d| KeyValues {
            key: d.key().map(|k| k.as_str().to_owned()).unwrap_or_default(),
            values: d.values().to_vec(),
            match_options: options(d.match_options()),
        }),
        tags: expression.tags().map(|t| KeyValues {
            key: t.key().unwrap_or_default().to_owned(),
            values: t.values().to_vec(),
            match_options: options(t.match_options()),
        }),
        cost_categories: expression.cost_categories().map(|c| KeyValues {
            key: c.key().unwrap_or_default().to_owned(),
            values: c.values().to_vec(),
            match_options: options(c.match_options()),
        }),
    }
}

fn comparison_change(value: &ComparisonMetricValue) -> Change {
    change(
        value.baseline_time_period_amount(),
        value.comparison_time_period_amount(),
        value.difference(),
        value.unit(),
    )
}

/// One period of a GetCostAndUsage answer.
fn period_cost(r: &ResultByTime) -> PeriodCost {
    let metrics = |m: Option<&HashMap<String, MetricValue>>| {
        m.map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), amount(v.amount(), v.unit())))
                .collect()
        })
        .unwrap_or_default()
    };
    PeriodCost {
        start: r
            .time_period()
            .map(|p| p.start().to_owned())
            .unwrap_or_default(),
        end: r
            .time_period()
            .map(|p| p.end().to_owned())
            .unwrap_or_default(),
        estimated: r.estimated(),
        totals: metrics(r.total()),
        groups: r
            .groups()
            .iter()
            .map(|g| GroupCost {
                keys: g.keys().to_vec(),
                metrics: metrics(g.metrics()),
            })
            .collect(),
    }
}

fn add(totals: &mut BTreeMap<String, Amount>, metric: &str, value: &Amount) {
    let entry = totals.entry(metric.to_owned()).or_insert_with(|| Amount {
        amount: 0.0,
        unit: value.unit.clone(),
    });
    entry.amount += value.amount;
}

fn round_cents(map: &mut BTreeMap<String, Amount>) {
    for a in map.values_mut() {
        a.amount = (a.amount * 1e6).round() / 1e6;
    }
}

impl CostExplorer {
    pub async fn dimension_values(
        &self,
        query: &DimensionQuery,
        progress: &impl PageProgress,
    ) -> Result<DimensionValues, CostError> {
        let max_pages = self.settings().max_pages;
        self.cached("GetDimensionValues", query, |client: Client| async move {
            let pages = token_loop("ce:GetDimensionValues", |token| {
                client
                    .get_dimension_values()
                    .time_period(interval(&query.period))
                    .dimension(Dimension::from(query.dimension.as_str()))
                    .context(Context::CostAndUsage)
                    .set_search_string(query.search.clone())
                    .set_next_page_token(token)
                    .send()
            });
            let mut values = Vec::new();
            fetch_pages(pages, max_pages, NARROW_VALUES, progress, |page| {
                values.extend(page.dimension_values().iter().map(|v| {
                    DimensionValue {
                        value: v.value().unwrap_or_default().to_owned(),
                        attributes: v
                            .attributes()
                            .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                            .unwrap_or_default(),
                    }
                }));
            })
            .await?;
            Ok(DimensionValues {
                dimension: query.dimension.clone(),
                period: query.period,
                values,
                cached: false,
            })
        })
        .await
    }

    pub async fn tag_values(
        &self,
        query: &TagQuery,
        progress: &impl PageProgress,
    ) -> Result<TagValues, CostError> {
        let max_pages = self.settings().max_pages;
        self.cached("GetTags", query, |client: Client| async move {
            let pages = token_loop("ce:GetTags", |token| {
                client
                    .get_tags()
                    .time_period(interval(&query.period))
                    .tag_key(&query.tag_key)
                    .set_search_string(query.search.clone())
                    .set_next_page_token(token)
                    .send()
            });
            let mut values = Vec::new();
            fetch_pages(pages, max_pages, NARROW_VALUES, progress, |page| {
                values.extend(page.tags().iter().cloned());
            })
            .await?;
            Ok(TagValues {
                tag_key: query.tag_key.clone(),
                period: query.period,
                values,
                cached: false,
            })
        })
        .await
    }

    pub async fn cost_and_usage(
        &self,
        query: &CostQuery,
        progress: &impl PageProgress,
    ) -> Result<CostAndUsage, CostError> {
        let max_pages = self.settings().max_pages;
        self.cached("GetCostAndUsage", query, |client: Client| async move {
            let pages = token_loop("ce:GetCostAndUsage", |token| {
                client
                    .get_cost_and_usage()
                    .time_period(interval(&query.period))
                    .granularity(Granularity::from(query.granularity.as_str()))
                    .set_metrics(Some(query.metrics.clone()))
                    .set_group_by(group_definitions(&query.group_by))
                    .set_filter(query.filter.as_ref().map(to_expression))
                    .set_next_page_token(token)
                    .send()
            });
            let mut results = Vec::new();
            let pages = fetch_pages(pages, max_pages, NARROW_COSTS, progress, |page| {
                results.extend(page.results_by_time().iter().map(period_cost));
            })
            .await?;
            Ok(summarize_costs(query, results, pages))
        })
        .await
    }

    pub async fn forecast(&self, query: &ForecastQuery) -> Result<Forecast, CostError> {
        self.cached("GetCostForecast", query, |client: Client| async move {
            let out = client
                .get_cost_forecast()
                .time_period(interval(&query.period))
                .metric(Metric::from(query.metric.as_str()))
                .granularity(Granularity::from(query.granularity.as_str()))
                .prediction_interval_level(i32::from(query.prediction_interval_level))
                .set_filter(query.filter.as_ref().map(to_expression))
                .send()
                .await
                .map_err(|e| map_sdk_error("ce:GetCostForecast", e))?;
            let parse = |v: Option<&str>| v.and_then(|v| v.parse::<f64>().ok());
            Ok(Forecast {
                period: query.period,
                metric: query.metric.clone(),
                granularity: query.granularity.clone(),
                prediction_interval_level: query.prediction_interval_level,
                total: out
                    .total()
                    .map(|t| amount(t.amount(), t.unit()))
                    .unwrap_or(Amount {
                        amount: 0.0,
                        unit: String::new(),
                    }),
                results: out
                    .forecast_results_by_time()
                    .iter()
                    .map(|r| ForecastPoint {
                        start: r
                            .time_period()
                            .map(|p| p.start().to_owned())
                            .unwrap_or_default(),
                        end: r
                            .time_period()
                            .map(|p| p.end().to_owned())
                            .unwrap_or_default(),
                        mean: parse(r.mean_value()).unwrap_or(0.0),
                        lower_bound: parse(r.prediction_interval_lower_bound()),
                        upper_bound: parse(r.prediction_interval_upper_bound()),
                    })
                    .collect(),
                cached: false,
            })
        })
        .await
    }

    pub async fn comparisons(
        &self,
        query: &ComparisonQuery,
        progress: &impl PageProgress,
    ) -> Result<Comparison, CostError> {
        let max_pages = self.settings().max_pages;
        self.cached(
            "GetCostAndUsageComparisons",
            query,
            |client: Client| async move {
                let mut stream = client
                    .get_cost_and_usage_comparisons()
                    .baseline_time_period(interval(&query.baseline))
                    .comparison_time_period(interval(&query.comparison))
                    .metric_for_comparison(&query.metric)
                    .set_group_by(group_definitions(&query.group_by))
                    .set_filter(query.filter.as_ref().map(to_expression))
                    .into_paginator()
                    .send();
                let pages = paginator("ce:GetCostAndUsageComparisons", move |cx| {
                    stream.poll_next(cx)
                });
                let mut items = Vec::new();
                let mut total = None;
                let pages = fetch_pages(pages, max_pages, NARROW_COMPARISONS, progress, |page| {
                    if total.is_none() {
                        total = page
                            .total_cost_and_usage()
                            .and_then(|t| t.get(&query.metric))
                            .map(comparison_change);
                    }
                    items.extend(page.cost_and_usage_comparisons().iter().filter_map(|c| {
                        let value = c.metrics().and_then(|m| m.get(&query.metric))?;
                        Some(ComparisonItem {
                            selector: c.cost_and_usage_selector().map(from_expression),
                            change: comparison_change(value),
                        })
                    }));
                })
                .await?;
                items.sort_by(|a, b| {
                    b.change
                        .difference
                        .abs()
                        .total_cmp(&a.change.difference.abs())
                });
                Ok(Comparison {
                    baseline: query.baseline,
                    comparison: query.comparison,
                    metric: query.metric.clone(),
                    total,
                    items,
                    pages,
                    cached: false,
                })
            },
        )
        .await
    }

    pub async fn drivers(
        &self,
        query: &ComparisonQuery,
        progress: &impl PageProgress,
    ) -> Result<Drivers, CostError> {
        let max_pages = self.settings().max_pages;
        self.cached(
            "GetCostComparisonDrivers",
            query,
            |client: Client| async move {
                let mut stream = client
                    .get_cost_comparison_drivers()
                    .baseline_time_period(interval(&query.baseline))
                    .comparison_time_period(interval(&query.comparison))
                    .metric_for_comparison(&query.metric)
                    .set_group_by(group_definitions(&query.group_by))
                    .set_filter(query.filter.as_ref().map(to_expression))
                    .into_paginator()
                    .send();
                let pages = paginator("ce:GetCostComparisonDrivers", move |cx| {
                    stream.poll_next(cx)
                });
                let metric = |m: Option<&HashMap<String, ComparisonMetricValue>>| {
                    m.and_then(|m| m.get(&query.metric)).map(comparison_change)
                };
                let mut groups = Vec::new();
                let pages = fetch_pages(pages, max_pages, NARROW_DRIVERS, progress, |page| {
                    groups.extend(page.cost_comparison_drivers().iter().map(|d| {
                        DriverGroup {
                            selector: d.cost_selector().map(from_expression),
                            change: metric(d.metrics()),
                            drivers: d
                                .cost_drivers()
                                .iter()
                                .map(|c| Driver {
                                    kind: c.r#type().unwrap_or_default().to_owned(),
                                    name: c.name().unwrap_or_default().to_owned(),
                                    change: metric(c.metrics()),
                                })
                                .collect(),
                        }
                    }));
                })
                .await?;
                groups.sort_by(|a, b| {
                    let size = |g: &DriverGroup| {
                        g.change.as_ref().map(|c| c.difference.abs()).unwrap_or(0.0)
                    };
                    size(b).total_cmp(&size(a))
                });
                Ok(Drivers {
                    baseline: query.baseline,
                    comparison: query.comparison,
                    metric: query.metric.clone(),
                    groups,
                    pages,
                    cached: false,
                })
            },
        )
        .await
    }
}

/// Totals per metric over all periods, and the largest groups by the first metric.
pub fn summarize_costs(query: &CostQuery, results: Vec<PeriodCost>, pages: u32) -> CostAndUsage {
    let mut totals = BTreeMap::new();
    let mut by_group: BTreeMap<Vec<String>, BTreeMap<String, Amount>> = BTreeMap::new();
    for r in &results {
        if r.groups.is_empty() {
            for (metric, value) in &r.totals {
                add(&mut totals, metric, value);
            }
        }
        for g in &r.groups {
            for (metric, value) in &g.metrics {
                add(&mut totals, metric, value);
                add(by_group.entry(g.keys.clone()).or_default(), metric, value);
            }
        }
    }
    round_cents(&mut totals);
    let first = query.metrics.first().cloned().unwrap_or_default();
    let mut top_groups: Vec<GroupCost> = by_group
        .into_iter()
        .map(|(keys, mut metrics)| {
            round_cents(&mut metrics);
            GroupCost { keys, metrics }
        })
        .collect();
    let size = |g: &GroupCost| g.metrics.get(&first).map(|a| a.amount).unwrap_or(0.0);
    top_groups.sort_by(|a, b| size(b).total_cmp(&size(a)));
    top_groups.truncate(10);
    CostAndUsage {
        period: query.period,
        granularity: query.granularity.clone(),
        metrics: query.metrics.clone(),
        group_by: query.group_by.clone(),
        results,
        totals,
        top_groups,
        pages,
        cached: false,
    }
}

#[cfg(test)]
mod tests {
    //! The paging rule, for every paged operation: all pages up to `max_pages` are followed and
    //! reported as progress; an answer that needs more is a PageLimit error, found out without
    //! requesting the page beyond the limit.

    use std::{sync::Mutex, time::Duration};

    use aws_sdk_costexplorer::{
        operation::{
            get_cost_and_usage::GetCostAndUsageOutput,
            get_cost_and_usage_comparisons::GetCostAndUsageComparisonsOutput,
            get_cost_comparison_drivers::GetCostComparisonDriversOutput,
            get_dimension_values::GetDimensionValuesOutput, get_tags::GetTagsOutput,
        },
        types::{CostAndUsageComparison, CostComparisonDriver, DimensionValuesWithAttributes},
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

    use super::*;
    use crate::cost::{CostErrorKind, CostSettings};

    const MAX_PAGES: u32 = 2;

    /// Records every progress report.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<u32>>);

    impl PageProgress for Recorder {
        async fn page_done(&self, pages: u32) {
            self.0.lock().unwrap().push(pages);
        }
    }

    /// The token asking for page `n` is `p{n}`; the first request has none.
    fn page_number(token: Option<&str>) -> u32 {
        token.map_or(1, |t| t[1..].parse().expect("a token we made"))
    }

    /// The next page's token, while the answer (of `available` pages) has more.
    fn next_token(token: Option<&str>, available: u32) -> Option<String> {
        let n = page_number(token);
        (n < available).then(|| format!("p{}", n + 1))
    }

    /// A mock of operation `$op` whose answer has `$available` pages: `$fill` completes page
    /// `$n`, given as the `$output` builder `$page` that already holds the next page's token.
    macro_rules! paged {
        ($op:ident, $output:ident, $available:expr, |$page:ident, $n:ident| $fill:expr) => {{
            let available = $available;
            mock!(Client::$op).then_compute_output(move |r| {
                let $n = page_number(r.next_page_token());
                let $page = $output::builder()
                    .set_next_page_token(next_token(r.next_page_token(), available));
                $fill
            })
        }};
    }

    fn range(start: &str, end: &str) -> DateRange {
        DateRange::parse("start", start, "end", end).unwrap()
    }

    fn comparison_query() -> ComparisonQuery {
        ComparisonQuery {
            baseline: range("2026-01-01", "2026-02-01"),
            comparison: range("2026-02-01", "2026-03-01"),
            metric: "UnblendedCost".into(),
            group_by: vec![],
            filter: None,
        }
    }

    fn metric_change() -> ComparisonMetricValue {
        ComparisonMetricValue::builder()
            .baseline_time_period_amount("1")
            .comparison_time_period_amount("2")
            .unit("USD")
            .build()
    }

    /// Runs `op` (which returns how many items it collected) against answers of 1, `MAX_PAGES`
    /// and `MAX_PAGES + 1` pages, one item a page, made by `rule(available)`.
    async fn check_paging(
        operation: &str,
        rule: impl Fn(u32) -> Rule,
        op: impl AsyncFn(&CostExplorer, &Recorder) -> Result<usize, CostError>,
    ) {
        let settings = CostSettings {
            cache_ttl: Duration::ZERO,
            max_pages: MAX_PAGES,
            ..CostSettings::default()
        };
        for available in [1, MAX_PAGES, MAX_PAGES + 1] {
            let rule = rule(available);
            let client = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, [&rule]);
            let cost = CostExplorer::with_client(client, settings.clone());
            let progress = Recorder::default();
            let result = op(&cost, &progress).await;
            let fetched = available.min(MAX_PAGES);
            assert_eq!(
                *progress.0.lock().unwrap(),
                (1..=fetched).collect::<Vec<_>>(),
                "{operation}, {available} page(s): progress for every page"
            );
            assert_eq!(
                rule.num_calls(),
                fetched as usize,
                "{operation}, {available} page(s): no request beyond the limit"
            );
            if available <= MAX_PAGES {
                assert_eq!(
                    result,
                    Ok(available as usize),
                    "{operation}: every page's items"
                );
            } else {
                let error = result.unwrap_err();
                assert_eq!(error.kind, CostErrorKind::PageLimit, "{operation}");
                assert!(
                    error
                        .message
                        .starts_with("The answer has more than 2 pages; "),
                    "{operation}: {}",
                    error.message
                );
            }
        }
    }

    #[tokio::test]
    async fn cost_and_usage_pages() {
        let query = CostQuery {
            period: range("2026-01-01", "2026-03-01"),
            granularity: "MONTHLY".into(),
            metrics: vec!["UnblendedCost".into()],
            group_by: vec![],
            filter: None,
        };
        check_paging(
            "GetCostAndUsage",
            |available| {
                paged!(
                    get_cost_and_usage,
                    GetCostAndUsageOutput,
                    available,
                    |page, _n| page
                        .results_by_time(ResultByTime::builder().build())
                        .build()
                )
            },
            async |cost, progress| {
                let out = cost.cost_and_usage(&query, progress).await?;
                assert_eq!(out.pages as usize, out.results.len());
                Ok(out.results.len())
            },
        )
        .await;
    }

    #[tokio::test]
    async fn dimension_values_pages() {
        let query = DimensionQuery {
            dimension: "SERVICE".into(),
            period: range("2026-01-01", "2026-02-01"),
            search: None,
        };
        check_paging(
            "GetDimensionValues",
            |available| {
                paged!(
                    get_dimension_values,
                    GetDimensionValuesOutput,
                    available,
                    |page, n| {
                        let value =
                            DimensionValuesWithAttributes::builder().value(format!("value {n}"));
                        page.dimension_values(value.build())
                            .return_size(1)
                            .total_size(available as i32)
                            .build()
                            .unwrap()
                    }
                )
            },
            async |cost, progress| Ok(cost.dimension_values(&query, progress).await?.values.len()),
        )
        .await;
    }

    #[tokio::test]
    async fn tag_values_pages() {
        let query = TagQuery {
            tag_key: "team".into(),
            period: range("2026-01-01", "2026-02-01"),
            search: None,
        };
        check_paging(
            "GetTags",
            |available| {
                paged!(get_tags, GetTagsOutput, available, |page, n| page
                    .tags(format!("team {n}"))
                    .return_size(1)
                    .total_size(available as i32)
                    .build()
                    .unwrap())
            },
            async |cost, progress| Ok(cost.tag_values(&query, progress).await?.values.len()),
        )
        .await;
    }

    #[tokio::test]
    async fn comparisons_pages() {
        let query = comparison_query();
        check_paging(
            "GetCostAndUsageComparisons",
            |available| {
                let item =
                    CostAndUsageComparison::builder().metrics("UnblendedCost", metric_change());
                paged!(
                    get_cost_and_usage_comparisons,
                    GetCostAndUsageComparisonsOutput,
                    available,
                    |page, _n| page
                        .cost_and_usage_comparisons(item.clone().build())
                        .build()
                )
            },
            async |cost, progress| {
                let out = cost.comparisons(&query, progress).await?;
                assert_eq!(out.pages as usize, out.items.len());
                Ok(out.items.len())
            },
        )
        .await;
    }

    #[tokio::test]
    async fn drivers_pages() {
        let query = comparison_query();
        check_paging(
            "GetCostComparisonDrivers",
            |available| {
                let item =
                    CostComparisonDriver::builder().metrics("UnblendedCost", metric_change());
                paged!(
                    get_cost_comparison_drivers,
                    GetCostComparisonDriversOutput,
                    available,
                    |page, _n| page.cost_comparison_drivers(item.clone().build()).build()
                )
            },
            async |cost, progress| {
                let out = cost.drivers(&query, progress).await?;
                assert_eq!(out.pages as usize, out.groups.len());
                Ok(out.groups.len())
            },
        )
        .await;
    }

    #[tokio::test]
    async fn a_repeated_token_ends_the_token_loop_with_an_error() {
        let rule = mock!(Client::get_tags).then_compute_output(|_| {
            let page = GetTagsOutput::builder().tags("t").next_page_token("same");
            page.return_size(1).total_size(1).build().unwrap()
        });
        let client = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, [&rule]);
        let cost = CostExplorer::with_client(client, CostSettings::default());
        let query = TagQuery {
            tag_key: "team".into(),
            period: range("2026-01-01", "2026-02-01"),
            search: None,
        };
        let progress = Recorder::default();
        let error = cost.tag_values(&query, &progress).await.unwrap_err();
        assert!(
            error
                .message
                .contains("repeated its page token after 2 page(s)"),
            "{error}"
        );
        assert_eq!((rule.num_calls(), progress.0.lock().unwrap().len()), (2, 2));
    }
}
