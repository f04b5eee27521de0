//! The benchmark's report: every figure typed and present (a figure that could not be
//! measured stops the run with an error instead of becoming NaN), written as JSON and rendered
//! as the Markdown table in bench/results/.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Lambda prices used for the cost estimate (us-east-1, x86_64, as published by AWS in 2026).
pub const PRICE_PER_GB_SECOND: f64 = 0.000_016_666_7;
pub const PRICE_PER_MILLION_REQUESTS: f64 = 0.20;
/// Concurrent connections of the local load (wrk -c).
pub const CONCURRENCY: u32 = 32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub machine: Machine,
    pub samples: Samples,
    pub lambda: LambdaSubjects<LambdaFigures>,
    pub local: LocalSubjects,
    pub artifact: Artifact,
    pub cost: Costs,
    /// Only with `--baseline` (and only then in the JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// Ours on Lambda in `MCP_AUTH_MODE=oauth`, bearer tokens instead of API keys, measured in
    /// turn with the other subjects (absent from results made before OAuth existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<LambdaFigures>,
}

/// The OAuth mode's targets (issue 14): warm tools/call within 10% of the API-key path, Lambda
/// init within 0.5 ms of it.
pub const OAUTH_WARM_CALL_MAX_RATIO: f64 = 1.10;
pub const OAUTH_INIT_MAX_EXTRA_MS: f64 = 0.5;

/// The product built at another git revision (`cargo xtask bench --baseline <rev>`), measured
/// in the same run as ours, in turn with it, with the same environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// The revision as given, and the commit it resolved to.
    pub rev: String,
    pub commit: String,
    pub lambda: LambdaFigures,
    pub local: LocalFigures,
    /// Its x86_64 binary zipped as `ours_x86_64_zip_bytes` is.
    pub x86_64_zip_bytes: u64,
    pub cost: Cost,
}

impl Baseline {
    /// How the table's column names it: the revision and its short commit.
    pub fn label(&self) -> String {
        let short = &self.commit[..self.commit.len().min(7)];
        if self.commit.starts_with(&self.rev) {
            short.to_owned()
        } else {
            format!("{}, {short}", self.rev.replace('|', "\\|"))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory: String,
    pub os: String,
}

/// How much is measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Samples {
    pub cold: usize,
    pub warm: usize,
    pub load_seconds: u32,
    /// Load rounds per local server, taken in turn (ours, reference, floor, stock, ours, ...)
    /// so a slow spell of the machine falls on every subject alike; the median round counts.
    pub load_rounds: usize,
}

/// One figure per Lambda subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaSubjects<T> {
    pub ours: T,
    pub reference: T,
    pub floor: T,
}

impl<T> LambdaSubjects<T> {
    /// From the figures in the order ours, reference, floor.
    pub fn from_ordered(figures: Vec<T>) -> Result<Self> {
        let count = figures.len();
        let [ours, reference, floor]: [T; 3] = figures
            .try_into()
            .ok()
            .with_context(|| format!("3 Lambda subjects expected, got {count}"))?;
        Ok(Self {
            ours,
            reference,
            floor,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaFigures {
    pub cold_first_response_ms: Stats,
    pub init_ms: Stats,
    pub warm_tools_list_ms: Stats,
    pub warm_tools_call_ms: Stats,
    pub peak_rss_mib: f64,
}

/// Median and p99 of a non-empty series of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stats {
    pub median: f64,
    pub p99: f64,
    pub samples: usize,
}

impl Stats {
    /// `figure` names the series in the error when there is nothing to summarize.
    pub fn of(figure: &str, values: &[f64]) -> Result<Self> {
        let missing = || format!("no samples of {figure}");
        Ok(Self {
            median: devkit::median(values).with_context(missing)?,
            p99: devkit::percentile(values, 99.0).with_context(missing)?,
            samples: values.len(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalSubjects {
    pub ours: LocalFigures,
    pub reference: LocalFigures,
    pub floor: LocalFigures,
    #[serde(rename = "stock-rmcp")]
    pub stock_rmcp: LocalFigures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalFigures {
    pub start_to_first_response_ms: f64,
    pub concurrency: u32,
    /// Medians over the load rounds.
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub rounds_requests_per_second: Vec<f64>,
    /// wrk's count of non-2xx/3xx responses, if it saw any.
    pub non_2xx: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    pub ours_zip_bytes: u64,
    pub ours_zip: String,
    pub ours_x86_64_zip_bytes: u64,
    pub reference_zip_bytes: u64,
    pub reference_with_node_runtime_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Costs {
    pub ours: Cost,
    pub reference: Cost,
    pub floor: Cost,
    pub price_table: PriceTable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    pub memory_mb: f64,
    pub billed_ms: f64,
    pub usd_per_million_calls: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    pub usd_per_gb_second: f64,
    pub usd_per_million_requests: f64,
    pub architecture: String,
}

impl Cost {
    /// Cost per million tools/call: warm duration (billed per started ms) at the smallest
    /// memory size that holds the measured peak RSS with 50% headroom (128 MB minimum).
    pub fn of(figures: &LambdaFigures) -> Self {
        let memory_mb = [128.0, 256.0, 512.0, 1024.0, 2048.0]
            .into_iter()
            .find(|m| *m >= figures.peak_rss_mib * 1.5)
            .unwrap_or(3008.0);
        let billed_ms = figures.warm_tools_call_ms.median.ceil().max(1.0);
        Cost {
            memory_mb,
            billed_ms,
            usd_per_million_calls: PRICE_PER_MILLION_REQUESTS
                + 1e6 * billed_ms / 1000.0 * memory_mb / 1024.0 * PRICE_PER_GB_SECOND,
        }
    }
}

impl Costs {
    /// Each subject's `Cost::of`, with the price table.
    pub fn estimate(lambda: &LambdaSubjects<LambdaFigures>) -> Self {
        Self {
            ours: Cost::of(&lambda.ours),
            reference: Cost::of(&lambda.reference),
            floor: Cost::of(&lambda.floor),
            price_table: PriceTable {
                usd_per_gb_second: PRICE_PER_GB_SECOND,
                usd_per_million_requests: PRICE_PER_MILLION_REQUESTS,
                architecture: "x86_64 (the emulator here); arm64 is 20% cheaper per GB-s".into(),
            },
        }
    }
}

impl Report {
    /// Pretty JSON with every object's keys sorted, whatever serde_json's features (the
    /// committed results files are in that form).
    pub fn to_json(&self) -> Result<String> {
        let mut value = serde_json::to_value(self)?;
        value.sort_all_objects();
        Ok(serde_json::to_string_pretty(&value)?)
    }

    /// A report read back; a missing or unknown figure is an error that names it. (Only the
    /// tests read reports back: the run writes them.)
    #[cfg(test)]
    pub fn from_json(text: &str) -> Result<Self> {
        let mut json = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut json).context("not a complete benchmark report")
    }

    /// The report as a Markdown table with every ratio. "× better than reference" is
    /// reference ÷ ours for times and sizes, ours ÷ reference for throughput; "× the floor"
    /// says how far ours is from the bare endpoint (1.0x = no overhead). With a baseline, two
    /// columns follow ours: the baseline's figure and ours' change against it (`change`).
    pub fn markdown(&self) -> String {
        let (l, lo, b) = (&self.lambda, &self.local, self.baseline.as_ref());
        // The baseline's two cells (with their leading space), or nothing without one.
        let baseline_cells = |figure: String, change: String| match b {
            Some(_) => [figure, change]
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        " |".to_string()
                    } else {
                        format!(" {c} |")
                    }
                })
                .collect::<String>(),
            None => String::new(),
        };
        let mut rows = vec![
            format!(
                "| figure | ours |{} reference (Node + LWA) | floor | stock rmcp | ours: × better than reference | ours: × the floor |",
                baseline_cells(
                    b.map(|b| format!("baseline ({})", b.label()))
                        .unwrap_or_default(),
                    "ours vs baseline".into()
                )
            ),
            format!(
                "|---|---|{}---|---|---|---|---|",
                if b.is_some() { "---|---|" } else { "" }
            ),
        ];
        let mut row = |label: &str,
                       [ours, reference, floor]: [f64; 3],
                       baseline: Option<f64>,
                       stock: Option<f64>,
                       unit: &str,
                       higher_is_better: bool| {
            let (better, floor_factor) = if higher_is_better {
                (ratio(ours, reference), ratio(floor, ours))
            } else {
                (ratio(reference, ours), ratio(ours, floor))
            };
            let baseline = baseline_cells(
                baseline.map_or_else(|| "–".into(), |v| format!("{v:.2} {unit}")),
                baseline.map_or_else(|| "–".into(), |v| change(ours, v, higher_is_better)),
            );
            rows.push(format!(
                "| {label} | {ours:.2} {unit} |{baseline} {reference:.2} {unit} | {floor:.2} {unit} | {} | {better} | {floor_factor} |",
                stock.map(|s| format!("{s:.2} {unit}")).unwrap_or_else(|| "–".into()),
            ));
        };
        let lambda =
            |get: fn(&LambdaFigures) -> f64| [get(&l.ours), get(&l.reference), get(&l.floor)];
        let lambda_rows: [Row<LambdaFigures>; 7] = [
            ("Lambda cold start, invoke→first response (median)", |f| {
                f.cold_first_response_ms.median
            }),
            ("Lambda cold start (p99)", |f| f.cold_first_response_ms.p99),
            ("Lambda init duration (median)", |f| f.init_ms.median),
            ("warm tools/list (median)", |f| f.warm_tools_list_ms.median),
            ("warm tools/list (p99)", |f| f.warm_tools_list_ms.p99),
            ("warm tools/call (median)", |f| f.warm_tools_call_ms.median),
            ("warm tools/call (p99)", |f| f.warm_tools_call_ms.p99),
        ];
        for (label, get) in lambda_rows {
            row(
                label,
                lambda(get),
                b.map(|b| get(&b.lambda)),
                None,
                "ms",
                false,
            );
        }
        row(
            "peak RSS under the emulator",
            lambda(|f| f.peak_rss_mib),
            b.map(|b| b.lambda.peak_rss_mib),
            None,
            "MiB",
            false,
        );
        let local_rows: [Row<LocalFigures>; 3] = [
            ("local start→first response", |f| {
                f.start_to_first_response_ms
            }),
            ("local tools/call p50", |f| f.p50_ms),
            ("local tools/call p99", |f| f.p99_ms),
        ];
        let local =
            |get: fn(&LocalFigures) -> f64| [get(&lo.ours), get(&lo.reference), get(&lo.floor)];
        for (label, get) in local_rows {
            row(
                label,
                local(get),
                b.map(|b| get(&b.local)),
                Some(get(&lo.stock_rmcp)),
                "ms",
                false,
            );
        }
        row(
            &format!(
                "local tools/call throughput ({} conns)",
                lo.ours.concurrency
            ),
            local(|f| f.requests_per_second),
            b.map(|b| b.local.requests_per_second),
            Some(lo.stock_rmcp.requests_per_second),
            "req/s",
            true,
        );
        rows.push(format!(
            "| ours vs stock rmcp throughput | {} |{} | | | | |",
            ratio(
                lo.ours.requests_per_second,
                lo.stock_rmcp.requests_per_second
            ),
            baseline_cells(
                b.map(|b| ratio(
                    b.local.requests_per_second,
                    lo.stock_rmcp.requests_per_second
                ))
                .unwrap_or_default(),
                String::new()
            ),
        ));
        let a = &self.artifact;
        let mb = |bytes: u64| bytes as f64 / 1e6;
        rows.push(format!(
            "| deploy artifact (zip) | {:.2} MB (arm64 as shipped; x86_64 {:.2} MB) |{} {:.2} MB; with the Node runtime (image) {:.2} MB | – | – | {} (vs image {}) | – |",
            mb(a.ours_zip_bytes),
            mb(a.ours_x86_64_zip_bytes),
            baseline_cells(
                b.map(|b| format!("x86_64 {:.2} MB", mb(b.x86_64_zip_bytes)))
                    .unwrap_or_default(),
                b.map(|b| change(
                    a.ours_x86_64_zip_bytes as f64,
                    b.x86_64_zip_bytes as f64,
                    false
                ))
                .unwrap_or_default(),
            ),
            mb(a.reference_zip_bytes),
            mb(a.reference_with_node_runtime_bytes),
            ratio(a.reference_zip_bytes as f64, a.ours_zip_bytes as f64),
            ratio(
                a.reference_with_node_runtime_bytes as f64,
                a.ours_zip_bytes as f64
            )
        ));
        let c = &self.cost;
        rows.push(format!(
            "| est. Lambda cost per 1M tools/call | ${:.3} ({:?} MB) |{} ${:.3} ({:?} MB) | ${:.3} | – | {} | – |",
            c.ours.usd_per_million_calls,
            c.ours.memory_mb,
            baseline_cells(
                b.map(|b| format!(
                    "${:.3} ({:?} MB)",
                    b.cost.usd_per_million_calls, b.cost.memory_mb
                ))
                .unwrap_or_default(),
                b.map(|b| change(
                    c.ours.usd_per_million_calls,
                    b.cost.usd_per_million_calls,
                    false
                ))
                .unwrap_or_default(),
            ),
            c.reference.usd_per_million_calls,
            c.reference.memory_mb,
            c.floor.usd_per_million_calls,
            ratio(c.reference.usd_per_million_calls, c.ours.usd_per_million_calls)
        ));
        if let Some(o) = &self.oauth {
            rows.push(String::new());
            rows.push("| OAuth mode (bearer token) vs API-key mode, ours on Lambda | OAuth | API key | OAuth ÷ API key | target |".into());
            rows.push("|---|---|---|---|---|".into());
            let call = (
                o.warm_tools_call_ms.median,
                l.ours.warm_tools_call_ms.median,
            );
            rows.push(format!(
                "| warm tools/call (median) | {:.2} ms | {:.2} ms | {:.2} | ≤ {OAUTH_WARM_CALL_MAX_RATIO:.2} |",
                call.0,
                call.1,
                ratio_of(call.0, call.1).unwrap_or(f64::NAN)
            ));
            let init = (o.init_ms.median, l.ours.init_ms.median);
            rows.push(format!(
                "| Lambda init (median) | {:.2} ms | {:.2} ms | {:+.2} ms | ≤ +{OAUTH_INIT_MAX_EXTRA_MS:.1} ms |",
                init.0,
                init.1,
                init.0 - init.1
            ));
            rows.push(format!(
                "| peak RSS | {:.2} MiB | {:.2} MiB | {:+.2} MiB | |",
                o.peak_rss_mib,
                l.ours.peak_rss_mib,
                o.peak_rss_mib - l.ours.peak_rss_mib
            ));
        }
        let (m, s) = (&self.machine, &self.samples);
        let baseline_note = b.map_or_else(String::new, |b| {
            format!(
                "\nBaseline: `{}` (commit {}), the `function` binary built at that revision with the same \
                 `dist` profile, measured in turn with ours in every round with the same environment. \
                 \"ours vs baseline\" is ours' change against it, better or worse by the figure's direction; \
                 the machine's noise is a few percent (more on p99s).\n",
                b.rev, b.commit
            )
        });
        format!(
            "{}\n\nMachine: {} ({} cores), {}. Samples: {} cold starts, {} warm invokes each, {} s of tools/call load per local server in each of {} rounds taken in turn (median round shown). \
             Prices: ${}/GB-s, ${}/1M requests.\n{baseline_note}",
            rows.join("\n"),
            m.cpu,
            m.cores,
            m.memory,
            s.cold,
            s.warm,
            s.load_seconds,
            s.load_rounds,
            c.price_table.usd_per_gb_second,
            c.price_table.usd_per_million_requests,
        )
    }
}

/// Ours against the baseline as a signed percentage, with which way that goes for the figure:
/// "-3.1% (better)" for a time that dropped, "+3.1% (better)" for throughput that rose; "±0.0%"
/// when the change rounds to nothing, "n/a" without two positive figures.
pub fn change(ours: f64, baseline: f64, higher_is_better: bool) -> String {
    let Some(r) = ratio_of(ours, baseline) else {
        return "n/a".into();
    };
    let shown = format!("{:+.1}%", (r - 1.0) * 100.0);
    if shown == "+0.0%" || shown == "-0.0%" {
        return "±0.0%".into();
    }
    let better = (r > 1.0) == higher_is_better;
    format!("{shown} ({})", if better { "better" } else { "worse" })
}

/// A table row: its label and how to read its figure from one subject's figures.
type Row<T> = (&'static str, fn(&T) -> f64);

/// `a ÷ b`, when both are positive and finite.
pub fn ratio_of(a: f64, b: f64) -> Option<f64> {
    (a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite()).then(|| a / b)
}

fn ratio(a: f64, b: f64) -> String {
    ratio_of(a, b).map_or_else(|| "n/a".into(), |r| format!("{r:.1}x"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(name: &str) -> String {
        let path = crate::repo_root().join("bench/results").join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn the_committed_results_are_reproduced_from_their_json() {
        for run in ["latest", "quick"] {
            let json = committed(&format!("{run}.json"));
            let report: Report = serde_json::from_value(exact_floats(&json)).unwrap();
            assert_eq!(
                report.markdown(),
                committed(&format!("{run}.md")),
                "{run}.md"
            );
            assert_eq!(report.to_json().unwrap(), json, "{run}.json");
            assert_eq!(
                Report::from_json(&json).unwrap().markdown(),
                report.markdown()
            );
        }
    }

    /// The JSON with every float parsed by std (correctly rounded): serde_json's own parser,
    /// without its float_roundtrip feature (which would reach the product's build too), can be
    /// one ulp off, and the file would not be written back byte for byte.
    fn exact_floats(pretty: &str) -> serde_json::Value {
        fn walk(value: &mut serde_json::Value, tokens: &mut impl Iterator<Item = String>) {
            match value {
                serde_json::Value::Number(n) => {
                    let token = tokens.next().expect("a number token per number");
                    if n.is_f64() {
                        *value = serde_json::json!(token.parse::<f64>().unwrap());
                    }
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(|v| walk(v, tokens)),
                serde_json::Value::Object(map) => map.values_mut().for_each(|v| walk(v, tokens)),
                _ => {}
            }
        }
        // Pretty JSON holds one scalar a line, in the order the (sorted) maps iterate.
        let mut tokens = pretty.lines().filter_map(|line| {
            let scalar = line.split_once("\": ").map_or(line, |(_, v)| v);
            let scalar = scalar.trim().trim_end_matches(',');
            scalar.parse::<f64>().is_ok().then(|| scalar.to_owned())
        });
        let mut value = serde_json::from_str(pretty).unwrap();
        walk(&mut value, &mut tokens);
        assert!(tokens.next().is_none());
        value
    }

    #[test]
    fn a_missing_figure_is_an_error() {
        let mut value: serde_json::Value = serde_json::from_str(&committed("quick.json")).unwrap();
        value["lambda"]["ours"]["init_ms"]["median"] = serde_json::Value::Null;
        let error = Report::from_json(&value.to_string()).unwrap_err();
        assert!(
            format!("{error:#}").contains("lambda.ours.init_ms.median"),
            "{error:#}"
        );
        value["lambda"]["ours"]
            .as_object_mut()
            .unwrap()
            .remove("init_ms");
        assert!(Report::from_json(&value.to_string()).is_err());
        let error = Stats::of("init_ms", &[]).unwrap_err();
        assert_eq!(error.to_string(), "no samples of init_ms");
    }

    /// The quick run with a baseline: ours' figures, 10% slower and 5% bigger, throughput 10%
    /// lower (so ours shows as better everywhere).
    fn with_baseline() -> Report {
        let mut report: Report =
            serde_json::from_value(exact_floats(&committed("quick.json"))).unwrap();
        let mut lambda = report.lambda.ours.clone();
        for stats in [
            &mut lambda.cold_first_response_ms,
            &mut lambda.init_ms,
            &mut lambda.warm_tools_list_ms,
            &mut lambda.warm_tools_call_ms,
        ] {
            stats.median *= 1.1;
            stats.p99 *= 1.1;
        }
        lambda.peak_rss_mib *= 1.05;
        let mut local = report.local.ours.clone();
        local.requests_per_second *= 0.9;
        local.p50_ms *= 1.1;
        local.p99_ms *= 1.1;
        local.start_to_first_response_ms *= 1.1;
        report.baseline = Some(Baseline {
            rev: "HEAD~1".into(),
            commit: "c1aa1c3ae1e7c0de00000000000000000000beef".into(),
            cost: Cost::of(&lambda),
            lambda,
            local,
            x86_64_zip_bytes: report.artifact.ours_x86_64_zip_bytes * 21 / 20,
        });
        report
    }

    #[test]
    fn a_baseline_adds_two_columns_to_every_row() {
        let plain: Report = serde_json::from_value(exact_floats(&committed("quick.json"))).unwrap();
        let report = with_baseline();
        let table = report.markdown();
        let rows: Vec<&str> = table.lines().take_while(|l| l.starts_with('|')).collect();
        let plain_rows: Vec<String> = plain
            .markdown()
            .lines()
            .take_while(|l| l.starts_with('|'))
            .map(str::to_owned)
            .collect();
        assert_eq!(rows.len(), plain_rows.len());
        for (row, plain_row) in rows.iter().zip(&plain_rows) {
            assert_eq!(row.matches('|').count(), 10, "{row}");
            assert_eq!(plain_row.matches('|').count(), 8, "{plain_row}");
            // Ours and everything after the baseline's two columns are as without one.
            let cells: Vec<&str> = row.split('|').collect();
            let plain_cells: Vec<&str> = plain_row.split('|').collect();
            assert_eq!(cells[..3], plain_cells[..3], "{row}");
            assert_eq!(cells[5..], plain_cells[3..], "{row}");
        }
        assert_eq!(
            rows[0],
            "| figure | ours | baseline (HEAD~1, c1aa1c3) | ours vs baseline | reference (Node + LWA) | floor | stock rmcp | ours: × better than reference | ours: × the floor |"
        );
        assert_eq!(rows[1], "|---|---|---|---|---|---|---|---|---|");
        let row = |label: &str| {
            *rows
                .iter()
                .find(|r| r.starts_with(&format!("| {label}")))
                .unwrap_or_else(|| panic!("no row {label}"))
        };
        let l = &report.lambda.ours;
        let b = &report.baseline.as_ref().unwrap().lambda;
        assert!(
            row("Lambda init duration (median)").starts_with(&format!(
                "| Lambda init duration (median) | {:.2} ms | {:.2} ms | -9.1% (better) |",
                l.init_ms.median, b.init_ms.median
            )),
            "{}",
            row("Lambda init duration (median)")
        );
        assert!(row("peak RSS").contains("MiB | -4.8% (better) |"));
        assert!(row("local tools/call throughput").contains("req/s | +11.1% (better) |"));
        assert!(row("ours vs stock rmcp throughput").contains("x | |"));
        assert!(row("deploy artifact").contains("| x86_64 "));
        assert!(row("deploy artifact").contains("MB | -4.8% (better) |"));
        assert!(row("est. Lambda cost").contains("MB) | ±0.0% |"));
        assert!(table.ends_with(
            "\nBaseline: `HEAD~1` (commit c1aa1c3ae1e7c0de00000000000000000000beef), the `function` binary built at that revision with the same `dist` profile, measured in turn with ours in every round with the same environment. \"ours vs baseline\" is ours' change against it, better or worse by the figure's direction; the machine's noise is a few percent (more on p99s).\n"
        ), "{table}");
        // Without one, the table is the committed one.
        assert_eq!(plain.markdown(), committed("quick.md"));
    }

    #[test]
    fn the_oauth_subject_adds_its_comparison_with_the_targets() {
        let plain = Report::from_json(&committed("quick.json")).unwrap();
        let mut oauth = plain.lambda.ours.clone();
        oauth.warm_tools_call_ms.median = plain.lambda.ours.warm_tools_call_ms.median * 1.05;
        oauth.init_ms.median = plain.lambda.ours.init_ms.median + 0.2;
        let report = Report {
            oauth: Some(oauth),
            ..plain.clone()
        };
        let table = report.markdown();
        assert!(
            table.starts_with(
                &plain
                    .markdown()
                    .split("\n\nMachine")
                    .next()
                    .unwrap()
                    .to_owned()
            )
        );
        assert!(table.contains("| warm tools/call (median) |"), "{table}");
        assert!(table.contains("| 1.05 | ≤ 1.10 |"), "{table}");
        assert!(table.contains("| +0.20 ms | ≤ +0.5 ms |"), "{table}");
        assert_eq!(
            Report::from_json(&report.to_json().unwrap()).unwrap(),
            report
        );
    }

    #[test]
    fn a_baseline_is_in_the_json_only_when_measured() {
        let report = with_baseline();
        let json = report.to_json().unwrap();
        assert!(json.contains("\"baseline\": {"), "{json}");
        assert_eq!(
            Report::from_json(&json).unwrap().markdown(),
            report.markdown()
        );
        let plain = Report {
            baseline: None,
            ..report
        };
        assert!(!plain.to_json().unwrap().contains("baseline"));
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        value["baseline"]["lambda"]
            .as_object_mut()
            .unwrap()
            .remove("init_ms");
        let error = Report::from_json(&value.to_string()).unwrap_err();
        assert!(
            format!("{error:#}").contains("baseline.lambda"),
            "{error:#}"
        );
    }

    #[test]
    fn the_change_against_the_baseline_says_which_way_it_goes() {
        assert_eq!(change(0.9, 1.0, false), "-10.0% (better)");
        assert_eq!(change(1.1, 1.0, false), "+10.0% (worse)");
        assert_eq!(change(1.1, 1.0, true), "+10.0% (better)");
        assert_eq!(change(0.9, 1.0, true), "-10.0% (worse)");
        assert_eq!(change(1.0004, 1.0, false), "±0.0%");
        assert_eq!(change(0.9996, 1.0, true), "±0.0%");
        assert_eq!(change(1.0, 0.0, false), "n/a");
        assert_eq!(change(f64::NAN, 1.0, false), "n/a");
    }

    #[test]
    fn the_baseline_is_named_by_revision_and_short_commit() {
        let mut baseline = with_baseline().baseline.unwrap();
        assert_eq!(baseline.label(), "HEAD~1, c1aa1c3");
        baseline.rev = "c1aa1c3a".into();
        assert_eq!(baseline.label(), "c1aa1c3");
        baseline.rev = "a|b".into();
        assert_eq!(baseline.label(), "a\\|b, c1aa1c3");
    }

    #[test]
    fn cost_is_billed_per_started_ms_at_the_memory_that_fits() {
        for run in ["latest", "quick"] {
            let json = exact_floats(&committed(&format!("{run}.json")));
            let report: Report = serde_json::from_value(json).unwrap();
            assert_eq!(Costs::estimate(&report.lambda), report.cost, "{run}");
        }
    }
}
