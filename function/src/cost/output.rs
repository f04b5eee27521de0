//! What the Cost Explorer tools return: `structuredContent` (with an `outputSchema`) and a short
//! summary for the model to read.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::input::{DateRange, Filter, GroupBy};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Amount {
    pub amount: f64,
    pub unit: String,
}

pub fn amount(value: Option<&str>, unit: Option<&str>) -> Amount {
    Amount {
        amount: value.and_then(|v| v.parse().ok()).unwrap_or(0.0),
        unit: unit.unwrap_or("").to_owned(),
    }
}

fn money(a: &Amount) -> String {
    format!("{:.2} {}", a.amount, a.unit)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TodayDate {
    /// Today in UTC, YYYY-MM-DD.
    pub today: String,
    /// The current month, YYYY-MM.
    pub current_month: String,
    pub first_day_of_month: String,
    pub first_day_of_next_month: String,
    pub first_day_of_previous_month: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DimensionValue {
    pub value: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DimensionValues {
    pub dimension: String,
    pub period: DateRange,
    pub values: Vec<DimensionValue>,
    /// Whether this answer came from the server's cache (no Cost Explorer charge).
    pub cached: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TagValues {
    pub tag_key: String,
    pub period: DateRange,
    pub values: Vec<String>,
    pub cached: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GroupCost {
    pub keys: Vec<String>,
    pub metrics: BTreeMap<String, Amount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PeriodCost {
    pub start: String,
    pub end: String,
    pub estimated: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub totals: BTreeMap<String, Amount>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupCost>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CostAndUsage {
    pub period: DateRange,
    pub granularity: String,
    pub metrics: Vec<String>,
    pub group_by: Vec<GroupBy>,
    pub results: Vec<PeriodCost>,
    /// Each metric summed over all periods (and groups).
    pub totals: BTreeMap<String, Amount>,
    /// Largest groups by the first metric, summed over all periods.
    pub top_groups: Vec<GroupCost>,
    pub pages: u32,
    pub cached: bool,
}

impl CostAndUsage {
    pub fn summary(&self) -> String {
        let totals: Vec<String> = self
            .totals
            .iter()
            .map(|(m, a)| format!("{m} {}", money(a)))
            .collect();
        let mut text = format!(
            "Cost {}..{} ({}, {} period(s)): {}.",
            self.period.start,
            self.period.end,
            self.granularity.to_lowercase(),
            self.results.len(),
            if totals.is_empty() {
                "no cost".to_owned()
            } else {
                totals.join(", ")
            }
        );
        if let Some(metric) = self.metrics.first() {
            let top: Vec<String> = self
                .top_groups
                .iter()
                .take(5)
                .filter_map(|g| {
                    g.metrics
                        .get(metric)
                        .map(|a| format!("{} {}", g.keys.join("/"), money(a)))
                })
                .collect();
            if !top.is_empty() {
                text.push_str(&format!(" Top: {}.", top.join(", ")));
            }
        }
        if self.results.iter().any(|r| r.estimated) {
            text.push_str(" Some periods are estimated (not final).");
        }
        text
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ForecastPoint {
    pub start: String,
    pub end: String,
    pub mean: f64,
    pub lower_bound: Option<f64>,
    pub upper_bound: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Forecast {
    pub period: DateRange,
    pub metric: String,
    pub granularity: String,
    pub prediction_interval_level: u8,
    pub total: Amount,
    pub results: Vec<ForecastPoint>,
    pub cached: bool,
}

impl Forecast {
    pub fn summary(&self) -> String {
        format!(
            "Forecast {} {}..{}: {} ({}% prediction interval, {} {} point(s)).",
            self.metric,
            self.period.start,
            self.period.end,
            money(&self.total),
            self.prediction_interval_level,
            self.results.len(),
            self.granularity.to_lowercase()
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    pub baseline: f64,
    pub comparison: f64,
    pub difference: f64,
    /// Percent change from the baseline (absent when the baseline is zero).
    pub percent_change: Option<f64>,
    pub unit: String,
}

pub fn change(
    baseline: Option<&str>,
    comparison: Option<&str>,
    difference: Option<&str>,
    unit: Option<&str>,
) -> Change {
    let parse = |v: Option<&str>| v.and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let (b, c) = (parse(baseline), parse(comparison));
    let d = difference
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(c - b);
    Change {
        baseline: b,
        comparison: c,
        difference: d,
        percent_change: (b != 0.0).then(|| (d / b * 10_000.0).round() / 100.0),
        unit: unit.unwrap_or("").to_owned(),
    }
}

fn describe_change(c: &Change) -> String {
    let pct = c
        .percent_change
        .map(|p| format!(" ({p:+.1}%)"))
        .unwrap_or_default();
    format!(
        "{:.2} → {:.2} {} ({:+.2}{pct})",
        c.baseline, c.comparison, c.unit, c.difference
    )
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComparisonItem {
    /// What this line is about, as a Cost Explorer expression (e.g. one SERVICE).
    pub selector: Option<Filter>,
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comparison {
    pub baseline: DateRange,
    pub comparison: DateRange,
    pub metric: String,
    pub total: Option<Change>,
    /// Sorted by the size of the change, largest first.
    pub items: Vec<ComparisonItem>,
    pub pages: u32,
    pub cached: bool,
}

pub fn selector_label(selector: &Option<Filter>) -> String {
    fn label(f: &Filter) -> String {
        if let Some(kv) = f
            .dimensions
            .as_ref()
            .or(f.tags.as_ref())
            .or(f.cost_categories.as_ref())
        {
            return format!("{}={}", kv.key, kv.values.join("|"));
        }
        if let Some(list) = f.and.as_ref().or(f.or.as_ref()) {
            return list.iter().map(label).collect::<Vec<_>>().join(" & ");
        }
        f.not
            .as_ref()
            .map(|n| format!("not {}", label(n)))
            .unwrap_or_else(|| "all".into())
    }
    selector.as_ref().map(label).unwrap_or_else(|| "all".into())
}

impl Comparison {
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} {}..{} vs {}..{}",
            self.metric,
            self.baseline.start,
            self.baseline.end,
            self.comparison.start,
            self.comparison.end
        );
        match &self.total {
            Some(total) => text.push_str(&format!(": total {}.", describe_change(total))),
            None => text.push('.'),
        }
        let movers: Vec<String> = self
            .items
            .iter()
            .take(5)
            .map(|i| {
                format!(
                    "{} {}",
                    selector_label(&i.selector),
                    describe_change(&i.change)
                )
            })
            .collect();
        if !movers.is_empty() {
            text.push_str(&format!(" Top movers: {}.", movers.join("; ")));
        }
        text
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Driver {
    /// The kind of driver Cost Explorer found (for example USAGE_CHANGE, SAVINGS_PLAN_COVERAGE_CHANGE).
    pub kind: String,
    pub name: String,
    pub change: Option<Change>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DriverGroup {
    pub selector: Option<Filter>,
    pub change: Option<Change>,
    pub drivers: Vec<Driver>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Drivers {
    pub baseline: DateRange,
    pub comparison: DateRange,
    pub metric: String,
    pub groups: Vec<DriverGroup>,
    pub pages: u32,
    pub cached: bool,
}

impl Drivers {
    pub fn summary(&self) -> String {
        let mut lines = vec![format!(
            "Cost drivers of {} {}..{} vs {}..{}:",
            self.metric,
            self.baseline.start,
            self.baseline.end,
            self.comparison.start,
            self.comparison.end
        )];
        for group in self.groups.iter().take(5) {
            let drivers: Vec<String> = group
                .drivers
                .iter()
                .take(3)
                .map(|d| match &d.change {
                    Some(c) => format!("{} {} {:+.2} {}", d.kind, d.name, c.difference, c.unit),
                    None => format!("{} {}", d.kind, d.name),
                })
                .collect();
            let total = group
                .change
                .as_ref()
                .map(describe_change)
                .unwrap_or_default();
            lines.push(format!(
                "- {} {total}: {}",
                selector_label(&group.selector),
                drivers.join("; ")
            ));
        }
        if self.groups.is_empty() {
            lines.push("no drivers reported.".into());
        }
        lines.join("\n")
    }
}
