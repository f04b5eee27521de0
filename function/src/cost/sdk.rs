//! The Cost Explorer calls: validated queries in, our output types out.

use std::collections::BTreeMap;

use aws_sdk_costexplorer::{
    Client,
    types::{
        ComparisonMetricValue, Context, CostCategoryValues, DateInterval, Dimension,
        DimensionValues as SdkDimensionValues, Expression, Granularity, GroupDefinition,
        GroupDefinitionType, MatchOption, Metric, TagValues as SdkTagValues,
    },
};
use serde::{Deserialize, Serialize};

use super::{
    Cacheable, CostError, CostErrorKind, CostExplorer, PageProgress,
    errors::map_sdk_error,
    input::{DateRange, Filter, GroupBy, KeyValues},
    output::*,
};

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
    ) -> Result<DimensionValues, CostError> {
        let max_pages = self.settings().max_pages;
        self.cached("GetDimensionValues", query, |client: Client| async move {
            let mut values = Vec::new();
            let mut token: Option<String> = None;
            for _ in 0..max_pages {
                let page = client
                    .get_dimension_values()
                    .time_period(interval(&query.period))
                    .dimension(Dimension::from(query.dimension.as_str()))
                    .context(Context::CostAndUsage)
                    .set_search_string(query.search.clone())
                    .set_next_page_token(token.take())
                    .send()
                    .await
                    .map_err(|e| map_sdk_error("ce:GetDimensionValues", e))?;
                values.extend(page.dimension_values().iter().map(|v| {
                    DimensionValue {
                        value: v.value().unwrap_or_default().to_owned(),
                        attributes: v
                            .attributes()
                            .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                            .unwrap_or_default(),
                    }
                }));
                token = page.next_page_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
            Ok(DimensionValues {
                dimension: query.dimension.clone(),
                period: query.period,
                values,
                cached: false,
            })
        })
        .await
    }

    pub async fn tag_values(&self, query: &TagQuery) -> Result<TagValues, CostError> {
        let max_pages = self.settings().max_pages;
        self.cached("GetTags", query, |client: Client| async move {
            let mut values = Vec::new();
            let mut token: Option<String> = None;
            for _ in 0..max_pages {
                let page = client
                    .get_tags()
                    .time_period(interval(&query.period))
                    .tag_key(&query.tag_key)
                    .set_search_string(query.search.clone())
                    .set_next_page_token(token.take())
                    .send()
                    .await
                    .map_err(|e| map_sdk_error("ce:GetTags", e))?;
                values.extend(page.tags().iter().cloned());
                token = page.next_page_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
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
            let mut results = Vec::new();
            let mut token: Option<String> = None;
            let mut pages = 0;
            loop {
                let page = client
                    .get_cost_and_usage()
                    .time_period(interval(&query.period))
                    .granularity(Granularity::from(query.granularity.as_str()))
                    .set_metrics(Some(query.metrics.clone()))
                    .set_group_by(group_definitions(&query.group_by))
                    .set_filter(query.filter.as_ref().map(to_expression))
                    .set_next_page_token(token.take())
                    .send()
                    .await
                    .map_err(|e| map_sdk_error("ce:GetCostAndUsage", e))?;
                pages += 1;
                for r in page.results_by_time() {
                    let metrics = |m: Option<&std::collections::HashMap<String, aws_sdk_costexplorer::types::MetricValue>>| {
                        m.map(|m| m.iter().map(|(k, v)| (k.clone(), amount(v.amount(), v.unit()))).collect()).unwrap_or_default()
                    };
                    results.push(PeriodCost {
                        start: r.time_period().map(|p| p.start().to_owned()).unwrap_or_default(),
                        end: r.time_period().map(|p| p.end().to_owned()).unwrap_or_default(),
                        estimated: r.estimated(),
                        totals: metrics(r.total()),
                        groups: r.groups().iter().map(|g| GroupCost { keys: g.keys().to_vec(), metrics: metrics(g.metrics()) }).collect(),
                    });
                }
                progress.page_done(pages).await;
                token = page.next_page_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
                if pages >= max_pages {
                    return Err(CostError::new(
                        CostErrorKind::InvalidRequest,
                        format!("The answer has more than {max_pages} pages; narrow the date range, group by fewer keys or add a filter."),
                    ));
                }
            }
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
                let mut items = Vec::new();
                let mut total = None;
                let mut token: Option<String> = None;
                let mut pages = 0;
                loop {
                    let page = client
                        .get_cost_and_usage_comparisons()
                        .baseline_time_period(interval(&query.baseline))
                        .comparison_time_period(interval(&query.comparison))
                        .metric_for_comparison(&query.metric)
                        .set_group_by(group_definitions(&query.group_by))
                        .set_filter(query.filter.as_ref().map(to_expression))
                        .set_next_page_token(token.take())
                        .send()
                        .await
                        .map_err(|e| map_sdk_error("ce:GetCostAndUsageComparisons", e))?;
                    pages += 1;
                    if total.is_none() {
                        total = page
                            .total_cost_and_usage()
                            .and_then(|t| t.get(&query.metric))
                            .map(comparison_change);
                    }
                    for c in page.cost_and_usage_comparisons() {
                        if let Some(value) = c.metrics().and_then(|m| m.get(&query.metric)) {
                            items.push(ComparisonItem {
                                selector: c.cost_and_usage_selector().map(from_expression),
                                change: comparison_change(value),
                            });
                        }
                    }
                    progress.page_done(pages).await;
                    token = page.next_page_token().map(str::to_owned);
                    if token.is_none() || pages >= max_pages {
                        break;
                    }
                }
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
                let mut groups = Vec::new();
                let mut token: Option<String> = None;
                let mut pages = 0;
                loop {
                    let page = client
                        .get_cost_comparison_drivers()
                        .baseline_time_period(interval(&query.baseline))
                        .comparison_time_period(interval(&query.comparison))
                        .metric_for_comparison(&query.metric)
                        .set_group_by(group_definitions(&query.group_by))
                        .set_filter(query.filter.as_ref().map(to_expression))
                        .set_next_page_token(token.take())
                        .send()
                        .await
                        .map_err(|e| map_sdk_error("ce:GetCostComparisonDrivers", e))?;
                    pages += 1;
                    for d in page.cost_comparison_drivers() {
                        groups.push(DriverGroup {
                            selector: d.cost_selector().map(from_expression),
                            change: d
                                .metrics()
                                .and_then(|m| m.get(&query.metric))
                                .map(comparison_change),
                            drivers: d
                                .cost_drivers()
                                .iter()
                                .map(|c| Driver {
                                    kind: c.r#type().unwrap_or_default().to_owned(),
                                    name: c.name().unwrap_or_default().to_owned(),
                                    change: c
                                        .metrics()
                                        .and_then(|m| m.get(&query.metric))
                                        .map(comparison_change),
                                })
                                .collect(),
                        });
                    }
                    progress.page_done(pages).await;
                    token = page.next_page_token().map(str::to_owned);
                    if token.is_none() || pages >= max_pages {
                        break;
                    }
                }
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
