//! Cost Explorer tool inputs: dates, group-by and filter in the API's own JSON shapes, validated
//! before any (paid) API call, with the offending field named in every error.

use aws_sdk_costexplorer::types::{Dimension, MatchOption};
use chrono::{Datelike, Months, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The dimensions Cost Explorer groups and filters by (the API's names), as the SDK lists them.
pub const DIMENSIONS: &[&str] = Dimension::values();

/// Cost and usage metrics (the API's names).
pub const METRICS: &[&str] = &[
    "AmortizedCost",
    "BlendedCost",
    "NetAmortizedCost",
    "NetUnblendedCost",
    "NormalizedUsageAmount",
    "UnblendedCost",
    "UsageQuantity",
];

/// Forecast metrics (GetCostForecast spells them differently): the cost ones of the SDK's
/// `Metric` (its usage metrics belong to GetUsageForecast).
pub const FORECAST_METRICS: &[&str] = &[
    "AMORTIZED_COST",
    "BLENDED_COST",
    "NET_AMORTIZED_COST",
    "NET_UNBLENDED_COST",
    "UNBLENDED_COST",
];

/// The match options of a filter's `Dimensions`, `Tags` or `CostCategories`, as the SDK lists them.
pub const MATCH_OPTIONS: &[&str] = MatchOption::values();

/// A validation failure: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}`: {message}")]
pub struct InputError {
    pub field: String,
    pub message: String,
}

pub fn bad(field: impl Into<String>, message: impl Into<String>) -> InputError {
    InputError {
        field: field.into(),
        message: message.into(),
    }
}

pub fn parse_date(field: &str, value: &str) -> Result<NaiveDate, InputError> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        bad(
            field,
            format!("must be a real date written YYYY-MM-DD, got {value:?}"),
        )
    })
}

/// A half-open date range `[start, end)`, as Cost Explorer takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DateRange {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl DateRange {
    pub fn parse(
        start_field: &str,
        start: &str,
        end_field: &str,
        end: &str,
    ) -> Result<Self, InputError> {
        let (start, end) = (parse_date(start_field, start)?, parse_date(end_field, end)?);
        if start >= end {
            return Err(bad(
                end_field,
                format!("must be after `{start_field}` ({start}); the end date is exclusive"),
            ));
        }
        Ok(Self { start, end })
    }

    /// Optional dates default to the last `days` days up to today (end exclusive = today).
    pub fn parse_or_last_days(
        start: Option<&str>,
        end: Option<&str>,
        today: NaiveDate,
        days: u64,
    ) -> Result<Self, InputError> {
        let end = match end {
            Some(end) => end.to_owned(),
            None => today.to_string(),
        };
        let start = match start {
            Some(start) => start.to_owned(),
            None => {
                let end = parse_date("end_date", &end)?;
                // Checked: chrono's `-` panics before its first representable date (fuzzing
                // found `end_date` "-262143-01-01").
                end.checked_sub_days(chrono::Days::new(days))
                    .ok_or_else(|| bad("end_date", "date out of range"))?
                    .to_string()
            }
        };
        Self::parse("start_date", &start, "end_date", &end)
    }

    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days()
    }
}

/// A comparison period must be one whole calendar month: from the 1st to the 1st of the next
/// month (a GetCostAndUsageComparisons / GetCostComparisonDrivers rule).
pub fn month_period(
    start_field: &str,
    start: &str,
    end_field: &str,
    end: &str,
) -> Result<DateRange, InputError> {
    let range = DateRange::parse(start_field, start, end_field, end)?;
    if range.start.day() != 1 {
        return Err(bad(
            start_field,
            format!(
                "comparison periods are whole months: use the 1st of a month, got {}",
                range.start
            ),
        ));
    }
    let next_month = range
        .start
        .checked_add_months(Months::new(1))
        .ok_or_else(|| bad(start_field, "date out of range"))?;
    if range.end != next_month {
        return Err(bad(
            end_field,
            format!(
                "comparison periods are one month: expected {next_month} for a period starting {}",
                range.start
            ),
        ));
    }
    Ok(range)
}

pub fn check_granularity(
    value: Option<&str>,
    allowed: &[&str],
    default: &str,
) -> Result<String, InputError> {
    let value = value.unwrap_or(default).trim().to_ascii_uppercase();
    if allowed.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(bad(
            "granularity",
            format!("must be one of {}, got {value:?}", allowed.join(", ")),
        ))
    }
}

pub fn check_metric(field: &str, value: &str, allowed: &[&str]) -> Result<String, InputError> {
    allowed
        .iter()
        .find(|m| m.eq_ignore_ascii_case(value.trim()))
        .map(|m| m.to_string())
        .ok_or_else(|| {
            bad(
                field,
                format!(
                    "unknown metric {value:?}; use one of {}",
                    allowed.join(", ")
                ),
            )
        })
}

pub fn check_dimension(field: &str, value: &str) -> Result<String, InputError> {
    let upper = value.trim().to_ascii_uppercase();
    if DIMENSIONS.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(bad(
            field,
            format!(
                "unknown dimension {value:?}; use one of {}",
                DIMENSIONS.join(", ")
            ),
        ))
    }
}

/// One `GroupBy` entry, as the API spells it: `{"Type": "DIMENSION", "Key": "SERVICE"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupBy {
    /// DIMENSION, TAG or COST_CATEGORY.
    #[serde(rename = "Type")]
    pub kind: String,
    /// A dimension name (SERVICE, LINKED_ACCOUNT, ...), a tag key, or a cost category name.
    #[serde(rename = "Key")]
    pub key: String,
}

pub fn check_group_by(groups: &[GroupBy], max: usize) -> Result<Vec<GroupBy>, InputError> {
    if groups.len() > max {
        return Err(bad(
            "group_by",
            format!("at most {max} groupings are allowed, got {}", groups.len()),
        ));
    }
    groups
        .iter()
        .enumerate()
        .map(|(i, group)| {
            let kind = group.kind.trim().to_ascii_uppercase();
            let key = match kind.as_str() {
                "DIMENSION" => check_dimension(&format!("group_by[{i}].Key"), &group.key)?,
                "TAG" | "COST_CATEGORY" if !group.key.trim().is_empty() => {
                    group.key.trim().to_owned()
                }
                "TAG" | "COST_CATEGORY" => {
                    return Err(bad(format!("group_by[{i}].Key"), "must not be empty"));
                }
                other => {
                    return Err(bad(
                        format!("group_by[{i}].Type"),
                        format!("must be DIMENSION, TAG or COST_CATEGORY, got {other:?}"),
                    ));
                }
            };
            Ok(GroupBy { kind, key })
        })
        .collect()
}

/// A key with values and match options, as in the API's `Dimensions`, `Tags`, `CostCategories`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyValues {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Values", default)]
    pub values: Vec<String>,
    #[serde(
        rename = "MatchOptions",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub match_options: Vec<String>,
}

/// A Cost Explorer filter `Expression`, in the API's JSON shape. Exactly one of its fields is set:
/// `{"Dimensions": {"Key": "SERVICE", "Values": ["Amazon EC2"]}}`,
/// `{"And": [...]}`, `{"Or": [...]}`, `{"Not": {...}}`, `{"Tags": {...}}`, `{"CostCategories": {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    #[serde(rename = "And", default, skip_serializing_if = "Option::is_none")]
    pub and: Option<Vec<Filter>>,
    #[serde(rename = "Or", default, skip_serializing_if = "Option::is_none")]
    pub or: Option<Vec<Filter>>,
    #[serde(rename = "Not", default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Filter>>,
    #[serde(
        rename = "Dimensions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub dimensions: Option<KeyValues>,
    #[serde(rename = "Tags", default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<KeyValues>,
    #[serde(
        rename = "CostCategories",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cost_categories: Option<KeyValues>,
}

/// Checks a filter the way the API would, but before paying for the call; `path` names the
/// place of each problem (`filter.And[1].Dimensions.Key`).
pub fn check_filter(filter: &Filter, path: &str) -> Result<(), InputError> {
    let set = [
        filter.and.is_some(),
        filter.or.is_some(),
        filter.not.is_some(),
        filter.dimensions.is_some(),
        filter.tags.is_some(),
        filter.cost_categories.is_some(),
    ]
    .iter()
    .filter(|s| **s)
    .count();
    if set != 1 {
        return Err(bad(
            path,
            "must set exactly one of And, Or, Not, Dimensions, Tags, CostCategories (combine several with And)",
        ));
    }
    for (name, list) in [("And", &filter.and), ("Or", &filter.or)] {
        if let Some(list) = list {
            if list.len() < 2 {
                return Err(bad(
                    format!("{path}.{name}"),
                    "needs at least two expressions",
                ));
            }
            for (i, inner) in list.iter().enumerate() {
                check_filter(inner, &format!("{path}.{name}[{i}]"))?;
            }
        }
    }
    if let Some(inner) = &filter.not {
        check_filter(inner, &format!("{path}.Not"))?;
    }
    if let Some(kv) = &filter.dimensions {
        check_dimension(&format!("{path}.Dimensions.Key"), &kv.key)?;
        check_values(kv, &format!("{path}.Dimensions"))?;
    }
    if let Some(kv) = &filter.tags {
        check_values(kv, &format!("{path}.Tags"))?;
    }
    if let Some(kv) = &filter.cost_categories {
        check_values(kv, &format!("{path}.CostCategories"))?;
    }
    Ok(())
}

fn check_values(kv: &KeyValues, path: &str) -> Result<(), InputError> {
    if kv.key.trim().is_empty() {
        return Err(bad(format!("{path}.Key"), "must not be empty"));
    }
    let absent = kv.match_options.iter().any(|m| m == "ABSENT");
    if kv.values.is_empty() && !absent {
        return Err(bad(
            format!("{path}.Values"),
            "needs at least one value (or MatchOptions [\"ABSENT\"])",
        ));
    }
    for (i, option) in kv.match_options.iter().enumerate() {
        if !MATCH_OPTIONS.contains(&option.as_str()) {
            return Err(bad(
                format!("{path}.MatchOptions[{i}]"),
                format!(
                    "unknown match option {option:?}; use {}",
                    MATCH_OPTIONS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_default_start_before_the_first_date_is_an_input_error() {
        // From fuzzing (fuzz/corpus/tool_args/crash_end_date_at_min): this panicked.
        let err = DateRange::parse_or_last_days(None, Some("-262143-01-01"), d("2026-06-15"), 30)
            .unwrap_err();
        assert_eq!(err.field, "end_date");
    }

    #[test]
    fn dates_must_be_real_and_ordered() {
        assert!(DateRange::parse("start_date", "2025-01-01", "end_date", "2025-02-01").is_ok());
        assert_eq!(
            parse_date("start_date", "2025-02-30").unwrap_err().field,
            "start_date"
        );
        assert_eq!(
            parse_date("end_date", "01/02/2025").unwrap_err().field,
            "end_date"
        );
        let err =
            DateRange::parse("start_date", "2025-02-01", "end_date", "2025-02-01").unwrap_err();
        assert_eq!(err.field, "end_date");
        assert!(err.message.contains("exclusive"));
    }

    #[test]
    fn optional_dates_default_to_the_last_30_days() {
        let r = DateRange::parse_or_last_days(None, None, d("2026-03-15"), 30).unwrap();
        assert_eq!((r.start, r.end), (d("2026-02-13"), d("2026-03-15")));
        let r =
            DateRange::parse_or_last_days(Some("2026-01-01"), None, d("2026-03-15"), 30).unwrap();
        assert_eq!(r.start, d("2026-01-01"));
    }

    #[test]
    fn comparison_periods_are_whole_months() {
        assert!(month_period("baseline_start", "2026-01-01", "baseline_end", "2026-02-01").is_ok());
        assert!(month_period("baseline_start", "2025-12-01", "baseline_end", "2026-01-01").is_ok());
        assert_eq!(
            month_period("baseline_start", "2026-01-02", "baseline_end", "2026-02-02")
                .unwrap_err()
                .field,
            "baseline_start"
        );
        assert_eq!(
            month_period("baseline_start", "2026-01-01", "baseline_end", "2026-03-01")
                .unwrap_err()
                .field,
            "baseline_end"
        );
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(check_dimension("dimension", "service").unwrap(), "SERVICE");
        assert_eq!(
            check_dimension("dimension", "SERVICES").unwrap_err().field,
            "dimension"
        );
        assert_eq!(
            check_metric("metrics[0]", "unblendedcost", METRICS).unwrap(),
            "UnblendedCost"
        );
        assert!(check_metric("metric", "Cost", METRICS).is_err());
        assert_eq!(
            check_granularity(None, &["DAILY", "MONTHLY"], "MONTHLY").unwrap(),
            "MONTHLY"
        );
        assert_eq!(
            check_granularity(Some("hourly"), &["DAILY", "MONTHLY"], "MONTHLY")
                .unwrap_err()
                .field,
            "granularity"
        );
    }

    #[test]
    fn name_lists_are_the_sdks() {
        for name in [
            "SERVICE",
            "LINKED_ACCOUNT",
            "REGION",
            "USAGE_TYPE",
            "RECORD_TYPE",
        ] {
            assert!(DIMENSIONS.contains(&name), "{name}");
        }
        assert!(MATCH_OPTIONS.contains(&"ABSENT") && MATCH_OPTIONS.contains(&"EQUALS"));
        let sdk_metrics = aws_sdk_costexplorer::types::Metric::values();
        for metric in FORECAST_METRICS {
            assert!(sdk_metrics.contains(metric), "{metric}");
        }
        let err = check_dimension("dimension", "COLOUR").unwrap_err();
        assert!(err.message.contains("SERVICE, SERVICE_CODE"), "{err}");
        let filter: Filter = serde_json::from_value(
            serde_json::json!({"Tags": {"Key": "team", "Values": ["a"], "MatchOptions": ["LIKE"]}}),
        )
        .unwrap();
        let err = check_filter(&filter, "filter").unwrap_err();
        assert_eq!(err.field, "filter.Tags.MatchOptions[0]");
        assert!(err.message.contains("CASE_INSENSITIVE"), "{err}");
        let as_error: &dyn std::error::Error = &err;
        assert_eq!(
            as_error.to_string(),
            format!("`filter.Tags.MatchOptions[0]`: {}", err.message)
        );
    }

    #[test]
    fn group_by_is_checked_per_entry() {
        let ok = vec![
            GroupBy {
                kind: "dimension".into(),
                key: "service".into(),
            },
            GroupBy {
                kind: "TAG".into(),
                key: "team".into(),
            },
        ];
        assert_eq!(
            check_group_by(&ok, 2).unwrap()[0],
            GroupBy {
                kind: "DIMENSION".into(),
                key: "SERVICE".into()
            }
        );
        let bad_key = vec![GroupBy {
            kind: "DIMENSION".into(),
            key: "COLOR".into(),
        }];
        assert_eq!(
            check_group_by(&bad_key, 2).unwrap_err().field,
            "group_by[0].Key"
        );
        let bad_type = vec![GroupBy {
            kind: "RESOURCE".into(),
            key: "x".into(),
        }];
        assert_eq!(
            check_group_by(&bad_type, 2).unwrap_err().field,
            "group_by[0].Type"
        );
        assert_eq!(
            check_group_by(&[ok[0].clone(), ok[1].clone(), ok[0].clone()], 2)
                .unwrap_err()
                .field,
            "group_by"
        );
    }

    #[test]
    fn filters_are_checked_recursively_with_paths() {
        let parse = |v: serde_json::Value| serde_json::from_value::<Filter>(v).unwrap();
        let good = parse(serde_json::json!({"And": [
            {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon EC2"]}},
            {"Not": {"Tags": {"Key": "env", "Values": ["dev"]}}}
        ]}));
        assert!(check_filter(&good, "filter").is_ok());
        let bad_dim = parse(serde_json::json!({"And": [
            {"Dimensions": {"Key": "SERVICE", "Values": ["x"]}},
            {"Dimensions": {"Key": "NOPE", "Values": ["y"]}}
        ]}));
        assert_eq!(
            check_filter(&bad_dim, "filter").unwrap_err().field,
            "filter.And[1].Dimensions.Key"
        );
        let two = parse(
            serde_json::json!({"Dimensions": {"Key": "SERVICE", "Values": ["x"]}, "Tags": {"Key": "t", "Values": ["v"]}}),
        );
        assert_eq!(check_filter(&two, "filter").unwrap_err().field, "filter");
        let lonely_and = parse(
            serde_json::json!({"And": [{"Dimensions": {"Key": "SERVICE", "Values": ["x"]}}]}),
        );
        assert_eq!(
            check_filter(&lonely_and, "filter").unwrap_err().field,
            "filter.And"
        );
        let no_values = parse(serde_json::json!({"Tags": {"Key": "team"}}));
        assert_eq!(
            check_filter(&no_values, "filter").unwrap_err().field,
            "filter.Tags.Values"
        );
        let absent =
            parse(serde_json::json!({"Tags": {"Key": "team", "MatchOptions": ["ABSENT"]}}));
        assert!(check_filter(&absent, "filter").is_ok());
        assert!(
            serde_json::from_value::<Filter>(serde_json::json!({"Dimension": {}})).is_err(),
            "unknown fields are refused"
        );
    }
}
